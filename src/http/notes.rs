//! `/api/contacts/:id/notes` and `/api/contacts/:id/timeline`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use rusqlite::Connection;
use serde_json::{Value, json};

use super::auth::Auth;
use super::contacts::contact_id;
use super::extract::{JsonBody, QueryMap};
use crate::AppState;
use crate::error::{AppError, AppResult, quote};
use crate::model::filter::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::model::note::parse_note_body;
use crate::model::time::format_ms;
use crate::store::notes::{self, Note};
use crate::store::{contacts, timeline};

fn note_json(n: &Note) -> Value {
    json!({
        "id": n.id,
        "contactId": n.contact_id,
        "body": n.body,
        "createdAt": format_ms(n.created_at),
        "updatedAt": format_ms(n.updated_at),
    })
}

fn note_id(raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| AppError::not_found("note"))
}

/// 404 unless the contact is the caller's.
fn require_contact(conn: &Connection, org: i64, id: &str) -> AppResult<()> {
    contacts::get(conn, org, id)?
        .map(|_| ())
        .ok_or_else(|| AppError::not_found("contact"))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = contact_id(&id)?;
    let org = auth.org();
    let list = state
        .db
        .read(move |conn| {
            require_contact(conn, org, &id)?;
            notes::list(conn, org, &id)
        })
        .await?;
    Ok(Json(
        json!({ "notes": list.iter().map(note_json).collect::<Vec<_>>() }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let body = parse_note_body(&body)?;
    let org = auth.org();
    let note = state
        .db
        .write(move |tx| {
            require_contact(tx, org, &id)?;
            notes::create(tx, org, &id, &body)
        })
        .await?;
    let location = format!("/api/contacts/{}/notes/{}", note.contact_id, note.id);
    Ok(super::created(location, note_json(&note)))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, nid)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let nid = note_id(&nid)?;
    let body = parse_note_body(&body)?;
    let org = auth.org();
    let note = state
        .db
        .write(move |tx| {
            require_contact(tx, org, &id)?;
            notes::update(tx, org, &id, &nid, &body)?.ok_or_else(|| AppError::not_found("note"))
        })
        .await?;
    Ok(Json(note_json(&note)))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, nid)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let nid = note_id(&nid)?;
    let org = auth.org();
    let key = nid.clone();
    state
        .db
        .write(move |tx| {
            require_contact(tx, org, &id)?;
            if notes::delete(tx, org, &id, &key)? {
                Ok(())
            } else {
                Err(AppError::not_found("note"))
            }
        })
        .await?;
    Ok(Json(json!({ "id": nid, "deleted": true })))
}

fn invalid_cursor() -> AppError {
    AppError::bad_request(
        "invalid_cursor",
        Some("cursor".into()),
        "cursor is not valid: pass the cursor a timeline response returned",
    )
}

/// `GET /api/contacts/:id/timeline?limit=&cursor=`: newest first. The cursor
/// is opaque (today the position of the last event returned).
pub async fn timeline(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    query: QueryMap,
) -> AppResult<Json<Value>> {
    let id = contact_id(&id)?;
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => {
            let n: i64 = s.trim().parse().map_err(|_| {
                AppError::invalid_parameter(
                    "limit",
                    format!("limit must be a whole number, not {}", quote(&s)),
                )
            })?;
            if n < 1 {
                return Err(AppError::invalid_parameter(
                    "limit",
                    "limit must be at least 1",
                ));
            }
            n.min(i64::from(MAX_LIMIT)) as u32
        }
    };
    let before = match query.get("cursor") {
        None => None,
        Some(s) => Some(
            s.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(invalid_cursor)?,
        ),
    };
    let org = auth.org();
    let mut events = state
        .db
        .read(move |conn| {
            require_contact(conn, org, &id)?;
            timeline::list(conn, org, &id, before, limit + 1)
        })
        .await?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let cursor = match (has_more, events.last()) {
        (true, Some(last)) => Some(last.seq.to_string()),
        _ => None,
    };
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "type": e.kind,
                "data": e.data,
                "createdAt": format_ms(e.created_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "events": events,
        "limit": limit,
        "cursor": cursor,
        "hasMore": has_more,
    })))
}
