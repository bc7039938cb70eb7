//! `/api/webhooks`: outbound webhook endpoints of the caller's organization,
//! their deliveries, retries and a test ping. Write keys only: endpoints
//! carry URLs and signing secrets.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Writer;
use super::extract::{DeliveryId, JsonBody, NewestFirst, WebhookId};
use super::openapi::Deleted;
use crate::error::{AppError, AppResult};
use crate::model::webhook::WebhookPatch;
use crate::model::webhook::{Delivery, WebhookView};
use crate::store::webhooks;

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
        .routes(routes!(deliveries))
        .routes(routes!(retry))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList<'a> {
    pub webhooks: Vec<WebhookView<'a>>,
}

/// The body of a webhook's create (`url` and `events` required) or update.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct WebhookInput {
    /// `http` or `https`; a private address only if `--webhook-allowed-hosts` allows it.
    url: Option<String>,
    /// Event types, or `["*"]` for all.
    events: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingQueued {
    pub event_id: String,
    /// Always `ping`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub limit: usize,
    #[schema(required = true)]
    pub cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetryQueued {
    pub id: String,
    /// Always `pending`.
    pub status: &'static str,
}

/// The organization's webhook endpoints (write keys only).
#[utoipa::path(
    get, path = "/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    responses((status = 200, description = "The endpoints", body = WebhookList)),
)]
pub async fn list(caller: Writer) -> AppResult<Response> {
    let list = caller.read(webhooks::list).await?;
    Ok(Json(WebhookList {
        webhooks: list.iter().map(|w| w.view(false)).collect(),
    })
    .into_response())
}

/// 201 with the endpoint and its signing secret, shown this once.
#[utoipa::path(
    post, path = "/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = WebhookInput,
    responses((status = 201, description = "The endpoint, with its secret", body = WebhookView,
        headers(("Location" = String, description = "The endpoint's URL")))),
)]
pub async fn create(caller: Writer, JsonBody(body): JsonBody) -> AppResult<Response> {
    let patch = WebhookPatch::from_json(&body, true, &caller.state.config.webhooks.allowed_hosts)?;
    let w = caller
        .write(move |tx, org| webhooks::create(tx, org, patch))
        .await?;
    let location = format!("/api/webhooks/{}", w.id);
    Ok(super::created(location, w.view(true)))
}

/// One endpoint (without its secret).
#[utoipa::path(
    get, path = "/webhooks/{id}", tag = "webhooks", operation_id = "getWebhook", params(WebhookId),
    responses((status = 200, description = "The endpoint", body = WebhookView)),
)]
pub async fn get(caller: Writer, WebhookId(id): WebhookId) -> AppResult<Response> {
    let w = caller
        .read(move |c, org| webhooks::require(c, org, &id))
        .await?;
    Ok(Json(w.view(false)).into_response())
}

/// Changes an endpoint; enabling it again resumes its deliveries.
#[utoipa::path(
    put, path = "/webhooks/{id}", tag = "webhooks", operation_id = "updateWebhook",
    params(WebhookId), request_body = WebhookInput,
    responses((status = 200, description = "The endpoint", body = WebhookView)),
)]
pub async fn update(
    caller: Writer,
    WebhookId(id): WebhookId,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    let patch = WebhookPatch::from_json(&body, false, &caller.state.config.webhooks.allowed_hosts)?;
    let w = caller
        .write(move |tx, org| webhooks::update(tx, org, &id, patch))
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))?;
    Ok(Json(w.view(false)).into_response())
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(WebhookId), responses((status = 200, description = "Deleted", body = Deleted)),
)]
pub async fn delete(caller: Writer, WebhookId(id): WebhookId) -> AppResult<Json<Deleted>> {
    let key = id.clone();
    if !caller
        .write(move |tx, org| webhooks::delete(tx, org, &key))
        .await?
    {
        return Err(AppError::not_found("webhook"));
    }
    Ok(Json(Deleted::new(id)))
}

/// A new signing secret, shown once; the old one stops signing at once.
#[utoipa::path(
    post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    operation_id = "rotateWebhookSecret", params(WebhookId),
    responses((status = 200, description = "The endpoint, with its new secret", body = WebhookView)),
)]
pub async fn rotate_secret(caller: Writer, WebhookId(id): WebhookId) -> AppResult<Response> {
    let w = caller
        .write(move |tx, org| webhooks::rotate_secret(tx, org, &id))
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))?;
    Ok(Json(w.view(true)).into_response())
}

/// Sends a `ping` to the endpoint (enabled or not: a disabled endpoint gets
/// it once it is enabled again).
#[utoipa::path(
    post, path = "/webhooks/{id}/test", tag = "webhooks", operation_id = "testWebhook",
    params(WebhookId),
    responses((status = 202, description = "The ping is queued", body = PingQueued)),
)]
pub async fn test(caller: Writer, WebhookId(id): WebhookId) -> AppResult<Response> {
    let event = caller
        .write(move |tx, org| {
            webhooks::require(tx, org, &id)?;
            webhooks::enqueue_ping(tx, org, &id)
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PingQueued {
            event_id: event,
            kind: "ping",
        }),
    )
        .into_response())
}

/// `GET /api/webhooks/:id/deliveries?limit=&cursor=`: newest first, each
/// with its attempts.
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listDeliveries",
    params(WebhookId, NewestFirst),
    responses((status = 200, description = "A page of deliveries, newest first", body = DeliveryPage)),
)]
pub async fn deliveries(
    caller: Writer,
    WebhookId(id): WebhookId,
    NewestFirst { limit, before }: NewestFirst,
) -> AppResult<Json<DeliveryPage>> {
    let limit = limit as usize;
    let (list, next) = caller
        .read(move |c, org| {
            webhooks::require(c, org, &id)?;
            webhooks::deliveries(c, org, &id, limit, before)
        })
        .await?;
    Ok(Json(DeliveryPage {
        deliveries: list,
        limit,
        cursor: next.map(|n| n.to_string()),
        has_more: next.is_some(),
    }))
}

/// Sends one delivery again (whatever its status), soon.
#[utoipa::path(
    post, path = "/webhooks/{id}/deliveries/{delivery}/retry", tag = "webhooks",
    operation_id = "retryDelivery", params(WebhookId, DeliveryId),
    responses((status = 202, description = "Queued again", body = RetryQueued)),
)]
pub async fn retry(
    caller: Writer,
    WebhookId(id): WebhookId,
    DeliveryId(delivery): DeliveryId,
) -> AppResult<Response> {
    let key = delivery.clone();
    if !caller
        .write(move |tx, org| webhooks::retry(tx, org, &id, &key))
        .await?
    {
        return Err(AppError::not_found("delivery"));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RetryQueued {
            id: delivery,
            status: "pending",
        }),
    )
        .into_response())
}
