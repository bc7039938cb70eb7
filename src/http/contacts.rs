//! `/api/contacts`: the five documented endpoints plus opt-out and opt-in.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Auth, Caller, Writer};
use super::extract::{ContactId, JsonBody, QueryMap};
use super::openapi::Deleted;
use crate::error::{AppError, AppResult};
use crate::listing::{self, Selection};
use crate::model::contact::{ContactInput, ContactView};
use crate::model::filter::{FilterQuery, PageQuery};
use crate::model::{ContactPatch, ListParams, Mode};
use crate::store::contacts::{self, Page, Source};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(opt_out))
        .routes(routes!(opt_in))
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactPage<'a> {
    pub contacts: Vec<ContactView<'a>>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; `null` on the last page and
    /// with `sortBy=relevance`.
    #[schema(required = true)]
    pub cursor: Option<String>,
    pub has_more: bool,
    pub sort_by: &'static str,
    /// Every match, with `includeTotal=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<i64>,
}

/// A created or merged contact, and which it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedContact<'a> {
    #[serde(flatten)]
    pub contact: ContactView<'a>,
    /// `created` (201) or `merged` into the contact with the same phone or email (200).
    #[serde(rename = "_outcome")]
    pub outcome: &'static str,
}

/// Lists the organization's contacts, newest first, filtered.
#[utoipa::path(
    get, path = "/contacts", tag = "contacts", operation_id = "listContacts",
    params(PageQuery, FilterQuery),
    responses((status = 200, description = "A page of contacts", body = ContactPage)),
)]
pub async fn list(caller: Caller, query: QueryMap) -> AppResult<Response> {
    let get = query.getter();
    let params = ListParams::from_query(&get)?;
    let selection = Selection::from_query(&get)?;
    let search = caller.state.search.clone();
    let page = caller
        .read(move |conn, org| {
            let filter = selection.resolve(conn, org)?;
            let page = listing::list_contacts(conn, &search, org, &filter, &params)?;
            Ok((page, params))
        })
        .await?;
    let (page, params) = page;
    Ok(Json(page_view(&caller, &page, &params)).into_response())
}

/// The documented list response.
pub fn page_view<'a>(auth: &'a Auth, page: &'a Page, params: &ListParams) -> ContactPage<'a> {
    let cursor = page
        .next_cursor(params.sort_by)
        .filter(|_| !params.by_relevance)
        .map(|c| c.encode(params.sort_by));
    ContactPage {
        contacts: page
            .contacts
            .iter()
            .map(|c| c.view(auth.org_id()))
            .collect(),
        limit: params.limit,
        cursor,
        has_more: page.has_more,
        sort_by: params.sort_label(),
        total: page.total,
    }
}

const CREATED_CONTACT: &str = "/api/contacts/{id}";

/// Creates a contact, or merges into the one with the same phone or email.
#[utoipa::path(
    post, path = "/contacts", tag = "contacts", operation_id = "createContact",
    request_body = ContactInput,
    responses(
        (status = 201, description = "Created", body = CreatedContact,
            headers(("Location" = String, description = "The new contact's URL"))),
        (status = 200, description = "Merged into an existing contact", body = CreatedContact),
        (status = 409, description = "The phone and the email belong to two different contacts", body = crate::error::ErrorBody),
    ),
)]
pub async fn create(caller: Writer, JsonBody(body): JsonBody) -> AppResult<Response> {
    let patch = ContactPatch::from_json(&body, Mode::Create)?;
    let (contact, outcome) = caller
        .write(move |tx, org| contacts::create_or_merge(tx, org, patch, Source::Api))
        .await?;
    let body = CreatedContact {
        contact: contact.view(caller.org_id()),
        outcome: outcome.as_str(),
    };
    Ok(match outcome {
        crate::model::Outcome::Created => {
            super::created(CREATED_CONTACT.replace("{id}", &contact.id), body)
        }
        crate::model::Outcome::Merged => (StatusCode::OK, Json(body)).into_response(),
    })
}

/// One contact's answer.
fn one(auth: &Auth, contact: &crate::model::Contact) -> Response {
    Json(contact.view(auth.org_id())).into_response()
}

/// Reads one contact.
#[utoipa::path(
    get, path = "/contacts/{id}", tag = "contacts", operation_id = "getContact", params(ContactId),
    responses((status = 200, description = "The contact", body = ContactView)),
)]
pub async fn get(caller: Caller, ContactId(id): ContactId) -> AppResult<Response> {
    let contact = caller
        .read(move |conn, org| contacts::require(conn, org, &id))
        .await?;
    Ok(one(&caller, &contact))
}

/// Updates the fields the body names; `null` clears one.
#[utoipa::path(
    put, path = "/contacts/{id}", tag = "contacts", operation_id = "updateContact",
    params(ContactId), request_body = ContactInput,
    responses(
        (status = 200, description = "The updated contact", body = ContactView),
        (status = 409, description = "The new phone or email belongs to another contact", body = crate::error::ErrorBody),
    ),
)]
pub async fn update(
    caller: Writer,
    ContactId(id): ContactId,
    JsonBody(body): JsonBody,
) -> AppResult<Response> {
    let patch = ContactPatch::from_json(&body, Mode::Update)?;
    let contact = caller
        .write(move |tx, org| contacts::update(tx, org, &id, patch, Source::Api))
        .await?
        .ok_or_else(|| AppError::not_found("contact"))?;
    Ok(one(&caller, &contact))
}

/// Deletes a contact.
#[utoipa::path(
    delete, path = "/contacts/{id}", tag = "contacts", operation_id = "deleteContact",
    params(ContactId), responses((status = 200, description = "Deleted", body = Deleted)),
)]
pub async fn delete(caller: Writer, ContactId(id): ContactId) -> AppResult<Json<Deleted>> {
    let key = id.clone();
    let deleted = caller
        .write(move |tx, org| contacts::delete(tx, org, &key))
        .await?;
    if !deleted {
        return Err(AppError::not_found("contact"));
    }
    Ok(Json(Deleted::new(id)))
}

async fn set_opted_in(caller: Writer, id: String, opted_in: bool) -> AppResult<Response> {
    let contact = caller
        .write(move |tx, org| contacts::set_opted_in(tx, org, &id, opted_in, Source::Api))
        .await?
        .ok_or_else(|| AppError::not_found("contact"))?;
    Ok(one(&caller, &contact))
}

/// Opts the contact out of messages (`isOptedIn: false`, `optedOutAt` set).
#[utoipa::path(
    post, path = "/contacts/{id}/opt-out", tag = "contacts", operation_id = "optOutContact",
    params(ContactId),
    responses((status = 200, description = "The contact, opted out", body = ContactView)),
)]
pub async fn opt_out(caller: Writer, ContactId(id): ContactId) -> AppResult<Response> {
    set_opted_in(caller, id, false).await
}

/// Opts the contact back in.
#[utoipa::path(
    post, path = "/contacts/{id}/opt-in", tag = "contacts", operation_id = "optInContact",
    params(ContactId),
    responses((status = 200, description = "The contact, opted in", body = ContactView)),
)]
pub async fn opt_in(caller: Writer, ContactId(id): ContactId) -> AppResult<Response> {
    set_opted_in(caller, id, true).await
}
