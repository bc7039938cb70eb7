//! `/api/webhooks`: outbound webhook endpoints of the caller's organization,
//! their deliveries, retries and a test ping. Write keys only: endpoints
//! carry URLs and signing secrets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Auth;
use super::extract::{JsonBody, QueryMap};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::model::webhook::WebhookPatch;
use crate::store::webhooks;

fn webhook_id(raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| AppError::not_found("webhook"))
}

pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let org = auth.org();
    let list = state.db.read(move |c| webhooks::list(c, org)).await?;
    Ok(Json(json!({
        "webhooks": list.iter().map(|w| w.to_json(false)).collect::<Vec<_>>()
    })))
}

/// 201 with the endpoint and its signing secret, shown this once.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    auth.require_write()?;
    let patch = WebhookPatch::from_json(&body, true, &state.config.webhooks.allowed_hosts)?;
    let org = auth.org();
    let w = state
        .db
        .write(move |tx| webhooks::create(tx, org, patch))
        .await?;
    let location = format!("/api/webhooks/{}", w.id);
    Ok(super::created(location, w.to_json(true)))
}

pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let org = auth.org();
    let w = state
        .db
        .read(move |c| webhooks::get(c, org, &id))
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))?;
    Ok(Json(w.to_json(false)))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let patch = WebhookPatch::from_json(&body, false, &state.config.webhooks.allowed_hosts)?;
    let org = auth.org();
    let w = state
        .db
        .write(move |tx| webhooks::update(tx, org, &id, patch))
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))?;
    state.notify_writers();
    Ok(Json(w.to_json(false)))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let org = auth.org();
    let key = id.clone();
    if !state
        .db
        .write(move |tx| webhooks::delete(tx, org, &key))
        .await?
    {
        return Err(AppError::not_found("webhook"));
    }
    Ok(Json(json!({ "id": id, "deleted": true })))
}

/// A new signing secret, shown once; the old one stops signing at once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let org = auth.org();
    let w = state
        .db
        .write(move |tx| webhooks::rotate_secret(tx, org, &id))
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))?;
    Ok(Json(w.to_json(true)))
}

/// Sends a `ping` to the endpoint (enabled or not: a disabled endpoint gets
/// it once it is enabled again).
pub async fn test(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Response> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let org = auth.org();
    let event = state
        .db
        .write(move |tx| {
            if webhooks::get(tx, org, &id)?.is_none() {
                return Err(AppError::not_found("webhook"));
            }
            webhooks::enqueue_ping(tx, org, &id)
        })
        .await?;
    state.notify_writers();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "eventId": event, "type": "ping" })),
    )
        .into_response())
}

/// `GET /api/webhooks/:id/deliveries?limit=&cursor=`: newest first, each
/// with its attempts.
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    query: QueryMap,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let limit = match query.get("limit") {
        None => 50,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                AppError::invalid_parameter("limit", "limit must be a number of 1 or more")
            })?
            .min(200),
    };
    let before = match query.get("cursor") {
        None => None,
        Some(raw) => Some(raw.trim().parse::<i64>().map_err(|_| {
            AppError::bad_request(
                "invalid_cursor",
                Some("cursor".into()),
                "cursor is not valid",
            )
        })?),
    };
    let org = auth.org();
    let (list, next) = state
        .db
        .read(move |c| {
            if webhooks::get(c, org, &id)?.is_none() {
                return Err(AppError::not_found("webhook"));
            }
            webhooks::deliveries(c, org, &id, limit, before)
        })
        .await?;
    Ok(Json(json!({
        "deliveries": list,
        "limit": limit,
        "cursor": next.map(|n| n.to_string()),
        "hasMore": next.is_some(),
    })))
}

/// Sends one delivery again (whatever its status), soon.
pub async fn retry(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, delivery)): Path<(String, String)>,
) -> AppResult<Response> {
    auth.require_write()?;
    let id = webhook_id(&id)?;
    let delivery = uuid::Uuid::parse_str(&delivery)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| AppError::not_found("delivery"))?;
    let org = auth.org();
    let key = delivery.clone();
    if !state
        .db
        .write(move |tx| webhooks::retry(tx, org, &id, &key))
        .await?
    {
        return Err(AppError::not_found("delivery"));
    }
    state.notify_writers();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": delivery, "status": "pending" })),
    )
        .into_response())
}
