//! Lookups: re-queue one contact's lookup, read its latest job, and the
//! queue's state for the caller's organization.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Caller, Writer};
use super::extract::ContactId;
use crate::error::{AppError, AppResult};
use crate::model::contact::ContactView;
use crate::model::time::format_ms;
use crate::store::{contacts, lookups};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest, requeue))
        .routes(routes!(status))
}

/// A contact's latest lookup job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupJob {
    pub contact_id: String,
    pub phone: String,
    /// `pending`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: i64,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub run_after: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Lookup jobs of each status.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    pub cancelled: i64,
}

/// The lookup queue of the caller's organization.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupStatus {
    /// `offline`, `twilio` or `none`.
    pub provider: &'static str,
    pub paused: bool,
    /// Why the worker is paused (for example the provider refused the credentials).
    #[schema(required = true)]
    pub paused_reason: Option<String>,
    pub jobs: JobCounts,
}

/// `POST /api/contacts/:id/lookup`: looks the contact's phone up again.
#[utoipa::path(
    post, path = "/contacts/{id}/lookup", tag = "lookups", operation_id = "requeueLookup",
    params(ContactId),
    responses(
        (status = 202, description = "Queued; the contact shows `lookupStatus: pending`", body = ContactView),
        (status = 409, description = "The contact has no phone", body = crate::error::ErrorBody),
    ),
)]
pub async fn requeue(caller: Writer, ContactId(id): ContactId) -> AppResult<Response> {
    let contact = caller
        .write(move |tx, org| {
            contacts::require(tx, org, &id)?;
            if !lookups::requeue(tx, org, &id)? {
                return Err(AppError::Conflict(
                    "this contact has no phone to look up".into(),
                ));
            }
            contacts::require(tx, org, &id)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(contact.view(caller.org_id()))).into_response())
}

/// `GET /api/contacts/:id/lookup`: the contact's latest lookup job.
#[utoipa::path(
    get, path = "/contacts/{id}/lookup", tag = "lookups", operation_id = "getLookup",
    params(ContactId), responses((status = 200, description = "The latest job", body = LookupJob)),
)]
pub async fn latest(caller: Caller, ContactId(id): ContactId) -> AppResult<Json<LookupJob>> {
    let key = id.clone();
    let job = caller
        .read(move |conn, org| {
            contacts::require(conn, org, &key)?;
            lookups::latest(conn, org, &key)
        })
        .await?
        .ok_or_else(|| AppError::NotFound("this contact has never been looked up".into()))?;
    Ok(Json(LookupJob {
        contact_id: id,
        phone: job.phone,
        status: job.status,
        attempts: job.attempts,
        last_error: job.last_error,
        run_after: format_ms(job.run_after),
        created_at: format_ms(job.created_at),
        updated_at: format_ms(job.updated_at),
    }))
}

/// `GET /api/lookups/status`: queue depth by status for the caller's
/// organization, the provider, and whether the worker is paused.
#[utoipa::path(
    get, path = "/lookups/status", tag = "lookups", operation_id = "getLookupStatus",
    responses((status = 200, description = "The queue", body = LookupStatus)),
)]
pub async fn status(caller: Caller) -> AppResult<Json<LookupStatus>> {
    let counts = caller.read(lookups::counts).await?;
    let count = |status: &str| {
        counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let jobs = JobCounts {
        pending: count("pending"),
        running: count("running"),
        done: count("done"),
        failed: count("failed"),
        cancelled: count("cancelled"),
    };
    let paused = caller.state.lookups.paused();
    Ok(Json(LookupStatus {
        provider: caller.state.lookups.provider(),
        paused: paused.is_some(),
        paused_reason: paused,
        jobs,
    }))
}
