//! `/api/segments`: saved filters with a live contact count.

use axum::Json;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Caller, Writer};
use super::extract::{JsonBody, SegmentId};
use super::openapi::Deleted;
use crate::error::{AppError, AppResult};
use crate::listing;
use crate::model::segment;
use crate::model::time::format_ms;
use crate::store::segments::{self, Segment};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// A saved filter and how many contacts it matches now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Segment)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    #[schema(value_type = crate::model::filter::FilterInput)]
    pub filters: Value,
    pub contact_count: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn segment_view(seg: &Segment, contact_count: i64) -> SegmentView {
    SegmentView {
        id: seg.id.clone(),
        name: seg.name.clone(),
        filters: seg.filter.to_json(),
        contact_count,
        created_at: format_ms(seg.created_at),
        updated_at: format_ms(seg.updated_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub segments: Vec<SegmentView>,
}

/// The body of a segment's create or update.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SegmentInput {
    /// Required on create.
    name: Option<String>,
    filters: Option<crate::model::filter::FilterInput>,
}

/// A segment's answer with its count, counted on a reader after the write
/// committed, so counting never holds up other writers.
async fn counted(caller: &Caller, seg: Segment) -> AppResult<SegmentView> {
    let search = caller.state.search.clone();
    caller
        .read(move |conn, org| {
            let count = listing::count(conn, &search, org, &seg.filter)?;
            Ok(segment_view(&seg, count))
        })
        .await
}

/// The organization's segments.
#[utoipa::path(
    get, path = "/segments", tag = "segments", operation_id = "listSegments",
    responses((status = 200, description = "Every segment, with its count", body = SegmentList)),
)]
pub async fn list(caller: Caller) -> AppResult<Json<SegmentList>> {
    let search = caller.state.search.clone();
    let out = caller
        .read(move |conn, org| {
            segments::list(conn, org)?
                .iter()
                .map(|s| {
                    Ok(segment_view(
                        s,
                        listing::count(conn, &search, org, &s.filter)?,
                    ))
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(SegmentList { segments: out }))
}

/// Saves a filter as a segment.
#[utoipa::path(
    post, path = "/segments", tag = "segments", operation_id = "createSegment",
    request_body = SegmentInput,
    responses((status = 201, description = "The segment", body = SegmentView,
        headers(("Location" = String, description = "The segment's URL")))),
)]
pub async fn create(caller: Writer, JsonBody(body): JsonBody) -> AppResult<Response> {
    let input = segment::SegmentInput::from_json(&body, true)?;
    let seg = caller
        .write(move |tx, org| {
            let name = input.name.expect("required on create");
            let filter = input.filter.expect("defaulted on create");
            segments::create(tx, org, &name, &filter)
        })
        .await?;
    let out = counted(&caller, seg).await?;
    let location = format!("/api/segments/{}", out.id);
    Ok(super::created(location, out))
}

/// One segment.
#[utoipa::path(
    get, path = "/segments/{id}", tag = "segments", operation_id = "getSegment", params(SegmentId),
    responses((status = 200, description = "The segment", body = SegmentView)),
)]
pub async fn get(caller: Caller, SegmentId(id): SegmentId) -> AppResult<Json<SegmentView>> {
    let seg = caller
        .read(move |conn, org| listing::segment(conn, org, &id))
        .await?;
    Ok(Json(counted(&caller, seg).await?))
}

/// Renames a segment or replaces its filters.
#[utoipa::path(
    put, path = "/segments/{id}", tag = "segments", operation_id = "updateSegment",
    params(SegmentId), request_body = SegmentInput,
    responses((status = 200, description = "The segment", body = SegmentView)),
)]
pub async fn update(
    caller: Writer,
    SegmentId(id): SegmentId,
    JsonBody(body): JsonBody,
) -> AppResult<Json<SegmentView>> {
    let existing = caller
        .read({
            let id = id.clone();
            move |conn, org| listing::segment(conn, org, &id)
        })
        .await?;
    let input = segment::SegmentInput::from_json(&body, false)?;
    let seg = caller
        .write(move |tx, org| {
            segments::update(
                tx,
                org,
                &existing.id,
                input.name.as_deref(),
                input.filter.as_ref(),
            )?
            .ok_or_else(|| AppError::not_found("segment"))
        })
        .await?;
    Ok(Json(counted(&caller, seg).await?))
}

/// Deletes a segment (not its contacts).
#[utoipa::path(
    delete, path = "/segments/{id}", tag = "segments", operation_id = "deleteSegment",
    params(SegmentId), responses((status = 200, description = "Deleted", body = Deleted)),
)]
pub async fn delete(caller: Writer, SegmentId(id): SegmentId) -> AppResult<Json<Deleted>> {
    let id = caller
        .write(move |tx, org| {
            let seg = listing::segment(tx, org, &id)?;
            segments::delete(tx, org, &seg.id)?;
            Ok(seg.id)
        })
        .await?;
    Ok(Json(Deleted::new(id)))
}
