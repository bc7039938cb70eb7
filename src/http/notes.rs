//! `/api/contacts/:id/notes` and `/api/contacts/:id/timeline`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Caller, Writer};
use super::extract::{ContactId, JsonBody, NewestFirst, NoteId};
use super::openapi::Deleted;
use crate::error::{AppError, AppResult};
use crate::model::note::parse_note_body;
use crate::model::time::format_ms;
use crate::store::notes::{self, Note};
use crate::store::{contacts, timeline};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(timeline))
}

/// A note on a contact.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Note)]
pub struct NoteView<'a> {
    pub id: &'a str,
    pub contact_id: &'a str,
    pub body: &'a str,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn note_view(n: &Note) -> NoteView<'_> {
    NoteView {
        id: &n.id,
        contact_id: &n.contact_id,
        body: &n.body,
        created_at: format_ms(n.created_at),
        updated_at: format_ms(n.updated_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList<'a> {
    /// Newest first.
    pub notes: Vec<NoteView<'a>>,
}

/// The body of a note.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct NoteInput {
    /// The note's text, 1 to 10,240 bytes after trimming.
    body: String,
}

/// One event on a contact's timeline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent<'a> {
    pub id: &'a str,
    /// `contact.created`, `contact.updated`, `note.created`, `opted_out`, ...
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// What the event carries, by type.
    #[schema(value_type = Object)]
    pub data: &'a Value,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A page of a contact's timeline, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeline<'a> {
    pub events: Vec<TimelineEvent<'a>>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub cursor: Option<String>,
    pub has_more: bool,
}

/// A contact's notes.
#[utoipa::path(
    get, path = "/contacts/{id}/notes", tag = "notes", operation_id = "listNotes", params(ContactId),
    responses((status = 200, description = "The notes, newest first", body = NoteList)),
)]
pub async fn list(caller: Caller, ContactId(id): ContactId) -> AppResult<Response> {
    let list = caller
        .read(move |conn, org| {
            contacts::require(conn, org, &id)?;
            notes::list(conn, org, &id)
        })
        .await?;
    Ok(Json(NoteList {
        notes: list.iter().map(note_view).collect(),
    })
    .into_response())
}

/// Adds a note to a contact.
#[utoipa::path(
    post, path = "/contacts/{id}/notes", tag = "notes", operation_id = "createNote",
    params(ContactId), request_body = NoteInput,
    responses((status = 201, description = "The note", body = NoteView,
        headers(("Location" = String, description = "The note's URL")))),
)]
pub async fn create(
    caller: Writer,
    ContactId(id): ContactId,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    let body = parse_note_body(&body)?;
    let note = caller
        .write(move |tx, org| {
            contacts::require(tx, org, &id)?;
            notes::create(tx, org, &id, &body)
        })
        .await?;
    let location = format!("/api/contacts/{}/notes/{}", note.contact_id, note.id);
    Ok(super::created(location, note_view(&note)))
}

/// Rewrites a note.
#[utoipa::path(
    put, path = "/contacts/{id}/notes/{note_id}", tag = "notes", operation_id = "updateNote",
    params(ContactId, NoteId), request_body = NoteInput,
    responses((status = 200, description = "The note", body = NoteView)),
)]
pub async fn update(
    caller: Writer,
    ContactId(id): ContactId,
    NoteId(nid): NoteId,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    let body = parse_note_body(&body)?;
    let note = caller
        .write(move |tx, org| {
            contacts::require(tx, org, &id)?;
            notes::update(tx, org, &id, &nid, &body)?.ok_or_else(|| AppError::not_found("note"))
        })
        .await?;
    Ok(Json(note_view(&note)).into_response())
}

/// Deletes a note.
#[utoipa::path(
    delete, path = "/contacts/{id}/notes/{note_id}", tag = "notes", operation_id = "deleteNote",
    params(ContactId, NoteId), responses((status = 200, description = "Deleted", body = Deleted)),
)]
pub async fn delete(
    caller: Writer,
    ContactId(id): ContactId,
    NoteId(nid): NoteId,
) -> AppResult<Json<Deleted>> {
    let key = nid.clone();
    caller
        .write(move |tx, org| {
            contacts::require(tx, org, &id)?;
            if notes::delete(tx, org, &id, &key)? {
                Ok(())
            } else {
                Err(AppError::not_found("note"))
            }
        })
        .await?;
    Ok(Json(Deleted::new(nid)))
}

/// `GET /api/contacts/:id/timeline?limit=&cursor=`: newest first. The cursor
/// is opaque (today the position of the last event returned).
#[utoipa::path(
    get, path = "/contacts/{id}/timeline", tag = "notes", operation_id = "getTimeline",
    params(ContactId, NewestFirst),
    responses((status = 200, description = "A page of events, newest first", body = Timeline)),
)]
pub async fn timeline(
    caller: Caller,
    ContactId(id): ContactId,
    NewestFirst { limit, before }: NewestFirst,
) -> AppResult<Response> {
    let mut events = caller
        .read(move |conn, org| {
            contacts::require(conn, org, &id)?;
            timeline::list(conn, org, &id, before, limit + 1)
        })
        .await?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let cursor = match (has_more, events.last()) {
        (true, Some(last)) => Some(last.seq.to_string()),
        _ => None,
    };
    let events = events
        .iter()
        .map(|e| TimelineEvent {
            id: &e.id,
            kind: &e.kind,
            data: &e.data,
            created_at: format_ms(e.created_at),
        })
        .collect();
    Ok(Json(Timeline {
        events,
        limit,
        cursor,
        has_more,
    })
    .into_response())
}
