//! `/api/contacts`: the five documented endpoints plus opt-out and opt-in.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Auth;
use super::extract::{JsonBody, QueryMap};
use super::filters;
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::model::{ContactFilter, ContactPatch, Cursor, ListParams, Mode};
use crate::store::contacts::{self, Page, Source};

/// Contact ids are UUIDs; anything else names no contact.
pub fn contact_id(raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| AppError::not_found("contact"))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    query: QueryMap,
) -> AppResult<Json<Value>> {
    let get = query.getter();
    let params = ListParams::from_query(&get)?;
    let org = auth.org();
    // With segmentId the segment's filters replace the ad-hoc ones, which
    // are ignored (as documented).
    let filter = match query.get("segmentId") {
        Some(segment_id) => {
            state
                .db
                .read(move |conn| filters::segment_filter(conn, org, &segment_id))
                .await?
        }
        None => ContactFilter::from_query(&get)?,
    };
    let search = state.search.clone();
    let page = state
        .db
        .read(move |conn| {
            let page = filters::list(conn, &search, org, &filter, &params)?;
            Ok((page, params))
        })
        .await?;
    let (page, params) = page;
    Ok(Json(page_json(&auth, page, &params)))
}

/// The documented list response.
pub fn page_json(auth: &Auth, page: Page, params: &ListParams) -> Value {
    let cursor = match (page.has_more, page.contacts.last()) {
        (true, Some(last)) if !params.by_relevance => {
            let ts = match params.sort_by {
                crate::model::SortBy::UpdatedAt => last.updated_at,
                crate::model::SortBy::CreatedAt => last.created_at,
            };
            Some(
                Cursor {
                    ts,
                    id: last.id.clone(),
                }
                .encode(params.sort_by),
            )
        }
        _ => None,
    };
    let mut body = json!({
        "contacts": page.contacts.iter().map(|c| c.to_json(auth.org_id())).collect::<Vec<_>>(),
        "limit": params.limit,
        "cursor": cursor,
        "hasMore": page.has_more,
        "sortBy": params.sort_label(),
    });
    if let Some(total) = page.total {
        body["total"] = json!(total);
    }
    body
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    auth.require_write()?;
    let patch = ContactPatch::from_json(&body, Mode::Create)?;
    let org = auth.org();
    let (contact, outcome) = state
        .db
        .write(move |tx| contacts::create_or_merge(tx, org, patch, Source::Api))
        .await?;
    state.notify_writers();
    let mut json = contact.to_json(auth.org_id());
    json["_outcome"] = json!(outcome.as_str());
    Ok(match outcome {
        crate::model::Outcome::Created => {
            super::created(format!("/api/contacts/{}", contact.id), json)
        }
        crate::model::Outcome::Merged => (StatusCode::OK, Json(json)).into_response(),
    })
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = contact_id(&id)?;
    let org = auth.org();
    let contact = state
        .db
        .read(move |conn| contacts::get(conn, org, &id))
        .await?
        .ok_or_else(|| AppError::not_found("contact"))?;
    Ok(Json(contact.to_json(auth.org_id())))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let patch = ContactPatch::from_json(&body, Mode::Update)?;
    let org = auth.org();
    let contact = state
        .db
        .write(move |tx| contacts::update(tx, org, &id, patch, Source::Api))
        .await?
        .ok_or_else(|| AppError::not_found("contact"))?;
    state.notify_writers();
    Ok(Json(contact.to_json(auth.org_id())))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let org = auth.org();
    let key = id.clone();
    let deleted = state
        .db
        .write(move |tx| contacts::delete(tx, org, &key))
        .await?;
    if !deleted {
        return Err(AppError::not_found("contact"));
    }
    state.notify_writers();
    Ok(Json(json!({ "id": id, "deleted": true })))
}

async fn set_opted_in(
    state: AppState,
    auth: Auth,
    id: String,
    opted_in: bool,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let org = auth.org();
    let contact = state
        .db
        .write(move |tx| contacts::set_opted_in(tx, org, &id, opted_in, Source::Api))
        .await?
        .ok_or_else(|| AppError::not_found("contact"))?;
    state.notify_writers();
    Ok(Json(contact.to_json(auth.org_id())))
}

pub async fn opt_out(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    set_opted_in(state, auth, id, false).await
}

pub async fn opt_in(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    set_opted_in(state, auth, id, true).await
}
