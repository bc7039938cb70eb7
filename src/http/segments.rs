//! `/api/segments`: saved filters with a live contact count.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::Auth;
use super::extract::JsonBody;
use super::filters;
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::model::segment::SegmentInput;
use crate::model::time::format_ms;
use crate::store::segments::{self, Segment};

fn segment_json(seg: &Segment, contact_count: i64) -> Value {
    json!({
        "id": seg.id,
        "name": seg.name,
        "filters": seg.filter.to_json(),
        "contactCount": contact_count,
        "createdAt": format_ms(seg.created_at),
        "updatedAt": format_ms(seg.updated_at),
    })
}

pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    let org = auth.org();
    let search = state.search.clone();
    let out = state
        .db
        .read(move |conn| {
            segments::list(conn, org)?
                .iter()
                .map(|s| {
                    Ok(segment_json(
                        s,
                        filters::count(conn, &search, org, &s.filter)?,
                    ))
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(json!({ "segments": out })))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    auth.require_write()?;
    let input = SegmentInput::from_json(&body, true)?;
    let org = auth.org();
    let search = state.search.clone();
    let out = state
        .db
        .write(move |tx| {
            let name = input.name.expect("required on create");
            let filter = input.filter.expect("defaulted on create");
            let seg = segments::create(tx, org, &name, &filter)?;
            let count = filters::count(tx, &search, org, &seg.filter)?;
            Ok(segment_json(&seg, count))
        })
        .await?;
    let location = format!("/api/segments/{}", out["id"].as_str().unwrap_or_default());
    Ok(super::created(location, out))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let org = auth.org();
    let search = state.search.clone();
    let out = state
        .db
        .read(move |conn| {
            let seg = filters::segment(conn, org, &id)?;
            let count = filters::count(conn, &search, org, &seg.filter)?;
            Ok(segment_json(&seg, count))
        })
        .await?;
    Ok(Json(out))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let org = auth.org();
    let search = state.search.clone();
    let existing = state
        .db
        .read({
            let id = id.clone();
            move |conn| filters::segment(conn, org, &id)
        })
        .await?;
    let input = SegmentInput::from_json(&body, false)?;
    let out = state
        .db
        .write(move |tx| {
            let seg = segments::update(
                tx,
                org,
                &existing.id,
                input.name.as_deref(),
                input.filter.as_ref(),
            )?
            .ok_or_else(|| AppError::not_found("segment"))?;
            let count = filters::count(tx, &search, org, &seg.filter)?;
            Ok(segment_json(&seg, count))
        })
        .await?;
    Ok(Json(out))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let org = auth.org();
    let id = state
        .db
        .write(move |tx| {
            let seg = filters::segment(tx, org, &id)?;
            segments::delete(tx, org, &seg.id)?;
            Ok(seg.id)
        })
        .await?;
    Ok(Json(json!({ "id": id, "deleted": true })))
}
