//! The OpenAPI 3.1 document, made from the handlers' `#[utoipa::path]`
//! annotations and the types their answers serialize, so the two cannot
//! disagree. Served at `GET /api/openapi.json`; the repository's
//! `openapi.json` is a copy a test keeps current.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi as Document, Ref, RefOr, Response as Doc,
    ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::error::ErrorBody;

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(serve))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster contacts API",
        description = "The Amplifi contacts API as Roster serves it. Every endpoint \
                       but this document, export downloads and the Twilio webhook takes \
                       `Authorization: Bearer <key>`.",
    ),
    components(schemas(ErrorBody)),
    security(("bearer" = [])),
    tags(
        (name = "contacts", description = "Contacts: create (merging on phone or email), read, update, delete, opt out and in"),
        (name = "bulk", description = "One action over many contacts"),
        (name = "notes", description = "Notes on a contact, and its timeline"),
        (name = "segments", description = "Saved filters with a live count"),
        (name = "tags", description = "Tags across the organization"),
        (name = "lookups", description = "Textability lookups"),
        (name = "imports", description = "CSV imports"),
        (name = "exports", description = "CSV and NDJSON exports"),
        (name = "webhooks", description = "Outbound webhooks and the Twilio inbound webhook"),
        (name = "meta", description = "The key in use, and this document"),
    ),
)]
pub struct ApiDoc;

/// The document, built once.
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = super::api().split_for_parts().1;
        // After the routes are in: the derive's own modifiers run before.
        Answers.modify(&mut doc);
        // utoipa fills a license from Cargo.toml, which names none.
        doc.info.license = None;
        doc
    })
}

/// The document as the committed `openapi.json` holds it.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// `GET /api/openapi.json`: this document, without a key.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "getOpenApi", security(()),
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
)]
pub async fn serve() -> Response {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(document_json).clone();
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

/// `{"id", "deleted": true}`, the answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

impl Deleted {
    pub fn new(id: String) -> Self {
        Self { id, deleted: true }
    }
}

/// The answers every operation shares, added where they apply so that each
/// handler's annotation lists only its own: the bearer scheme, the optional
/// `x-organization-id` check, and the error statuses any request can meet.
struct Answers;

impl Modify for Answers {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for item in doc.paths.paths.values_mut() {
            let path_ids = !item
                .parameters
                .as_ref()
                .is_none_or(|p| p.iter().all(|p| !is_in(p, ParameterIn::Path)));
            for (writes, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.delete.as_mut()),
            ] {
                if let Some(op) = op {
                    shared_answers(op, writes, path_ids);
                }
            }
        }
    }
}

fn is_in(param: &RefOr<Parameter>, place: ParameterIn) -> bool {
    matches!(param, RefOr::T(p) if p.parameter_in == place)
}

fn names(param: &RefOr<Parameter>, name: &str) -> bool {
    matches!(param, RefOr::T(p) if p.name == name)
}

fn secured(op: &Operation) -> bool {
    match &op.security {
        None => true,
        Some(reqs) => reqs
            .iter()
            .any(|r| serde_json::to_value(r).is_ok_and(|v| v != serde_json::json!({}))),
    }
}

fn shared_answers(op: &mut Operation, writes: bool, path_ids: bool) {
    let secured = secured(op);
    let params = op.parameters.get_or_insert_with(Vec::new);
    let has_query = params.iter().any(|p| is_in(p, ParameterIn::Query));
    // A segmentId names a segment as a path id does.
    let has_path = path_ids
        || params
            .iter()
            .any(|p| is_in(p, ParameterIn::Path) || names(p, "segmentId"));
    if secured {
        params.push(RefOr::T(
            ParameterBuilder::new()
                .name("x-organization-id")
                .parameter_in(ParameterIn::Header)
                .description(Some(
                    "Optional: the organization the caller means; a key of another \
                     organization is refused with 403.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ));
    }
    if op.parameters.as_ref().is_some_and(Vec::is_empty) {
        op.parameters = None;
    }
    let any_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str, retry_after: bool| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_answer(description, retry_after));
    };
    if has_query || any_body {
        add(
            "400",
            "The request is not valid: `validation_error`, `invalid_parameter`, \
             `invalid_json` or a field's own code, with `field` naming it",
            false,
        );
    }
    if secured {
        add("401", "Missing, unknown or revoked API key", false);
        add(
            "403",
            "A read key on an endpoint that needs a write key, or an \
             `x-organization-id` of another organization",
            false,
        );
        add(
            "429",
            "This API key is over its rate limit (`--rate-limit`); `Retry-After` says when to try again",
            true,
        );
    }
    if has_path {
        add(
            "404",
            "No such resource in the caller's organization",
            false,
        );
    }
    if any_body {
        add("413", "The request body is too large", false);
        add(
            "415",
            "The body is not of the documented content type",
            false,
        );
    }
    if writes {
        add(
            "507",
            "The disk is full: nothing was changed; reads go on",
            false,
        );
    }
    add(
        "503",
        "The server is busy (`overloaded`, with `Retry-After`) or the request took longer than `--request-timeout`",
        true,
    );
    add("500", "An unexpected error, logged on the server", false);
}

fn error_answer(description: &str, retry_after: bool) -> RefOr<Doc> {
    let mut answer = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if retry_after {
        answer = answer.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some("Seconds to wait, at least 1"))
                .build(),
        );
    }
    RefOr::T(answer.build())
}
