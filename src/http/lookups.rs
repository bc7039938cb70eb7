//! Lookups: re-queue one contact's lookup, read its latest job, and the
//! queue's state for the caller's organization.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Auth;
use super::contacts::contact_id;
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::model::time::format_ms;
use crate::store::{contacts, lookups};

/// `POST /api/contacts/:id/lookup`: looks the contact's phone up again.
pub async fn requeue(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require_write()?;
    let id = contact_id(&id)?;
    let org = auth.org();
    let contact = state
        .db
        .write(move |tx| {
            if contacts::get(tx, org, &id)?.is_none() {
                return Err(AppError::not_found("contact"));
            }
            if !lookups::requeue(tx, org, &id)? {
                return Err(AppError::Conflict(
                    "this contact has no phone to look up".into(),
                ));
            }
            contacts::get(tx, org, &id)?.ok_or_else(|| AppError::not_found("contact"))
        })
        .await?;
    state.notify_writers();
    Ok((StatusCode::ACCEPTED, Json(contact.to_json(auth.org_id()))).into_response())
}

/// `GET /api/contacts/:id/lookup`: the contact's latest lookup job.
pub async fn latest(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = contact_id(&id)?;
    let org = auth.org();
    let key = id.clone();
    let job = state
        .db
        .read(move |conn| {
            if contacts::get(conn, org, &key)?.is_none() {
                return Err(AppError::not_found("contact"));
            }
            lookups::latest(conn, org, &key)
        })
        .await?
        .ok_or_else(|| AppError::NotFound("this contact has never been looked up".into()))?;
    Ok(Json(json!({
        "contactId": id,
        "phone": job.phone,
        "status": job.status,
        "attempts": job.attempts,
        "lastError": job.last_error,
        "runAfter": format_ms(job.run_after),
        "createdAt": format_ms(job.created_at),
        "updatedAt": format_ms(job.updated_at),
    })))
}

/// `GET /api/lookups/status`: queue depth by status for the caller's
/// organization, the provider, and whether the worker is paused.
pub async fn status(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    let org = auth.org();
    let counts = state
        .db
        .read(move |conn| lookups::counts(conn, org))
        .await?;
    let jobs: Map<String, Value> = counts.into_iter().map(|(s, n)| (s, json!(n))).collect();
    let paused = state.lookups.paused();
    Ok(Json(json!({
        "provider": state.lookups.provider(),
        "paused": paused.is_some(),
        "pausedReason": paused,
        "jobs": jobs,
    })))
}
