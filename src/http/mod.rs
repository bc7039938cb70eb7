//! The HTTP surface: one router per resource, mounted by [`router`].

pub mod assets;
pub mod auth;
pub mod bulk;
pub mod contacts;
pub mod export;
pub mod extract;
pub mod filters;
pub mod imports;
pub mod inbound;
pub mod limits;
pub mod lookups;
pub mod me;
pub mod metrics;
pub mod notes;
pub mod segments;
pub mod serve;
pub mod tags;
pub mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::AppError;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/me", get(me::get))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get)
                .put(contacts::update)
                .delete(contacts::delete),
        )
        .route("/contacts/{id}/opt-out", post(contacts::opt_out))
        .route("/contacts/{id}/opt-in", post(contacts::opt_in))
        .route("/contacts/bulk", post(bulk::run))
        .route("/contacts/{id}/notes", get(notes::list).post(notes::create))
        .route(
            "/contacts/{id}/notes/{note_id}",
            put(notes::update).delete(notes::delete),
        )
        .route("/contacts/{id}/timeline", get(notes::timeline))
        .route("/segments", get(segments::list).post(segments::create))
        .route(
            "/segments/{id}",
            get(segments::get)
                .put(segments::update)
                .delete(segments::delete),
        )
        .route("/tags", get(tags::list))
        .route(
            "/tags/rename",
            post(tags::rename).delete(tags::delete_tag_named_rename),
        )
        .route("/tags/{tag}", delete(tags::delete))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::get)
                .put(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/retry",
            post(webhooks::retry),
        )
        .route(
            "/webhooks/twilio/inbound/{secret}",
            post(inbound::twilio_inbound),
        )
        .route(
            "/contacts/{id}/lookup",
            get(lookups::latest).post(lookups::requeue),
        )
        .route("/lookups/status", get(lookups::status))
        .route(
            "/contacts/import",
            // Uploads stream to disk with their own size limit.
            post(imports::create).layer(DefaultBodyLimit::disable()),
        )
        .route("/contacts/export", get(export::export))
        .route("/contacts/export/link", post(export::link))
        .route("/contacts/export/download/{token}", get(export::download))
        .route("/imports", get(imports::list))
        .route(
            "/imports/preview",
            // The file part has its own limit; the body may carry a little more.
            post(imports::preview).layer(DefaultBodyLimit::max(imports::MAX_PREVIEW + 64 * 1024)),
        )
        .route("/imports/{id}", get(imports::get).delete(imports::cancel))
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY));
    let api = limits::limit_api(api, &state.config.limits);

    let counted = state.metrics.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .nest("/api", api)
        .merge(assets::router())
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            counted,
            metrics::record,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("a request handler panicked").into_response()
        }))
        // A 5xx is logged where it arises (an internal error in full, a full
        // disk once per episode), not again for every response.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(()),
        );
    // Outermost, so that every answer (errors, 404s) carries the headers
    // and a preflight is answered before anything else runs.
    let router = match limits::cors(&state.config.limits.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// `{"status": "ok"}`, or `"degraded"` with what is wrong: still 200, since
/// reads are served and a restart would not help (a full disk needs space
/// freed, and recovery is automatic once it is).
async fn healthz(State(state): State<AppState>) -> Response {
    let problems = state.db.health().problems();
    let status = if problems.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    let mut body = serde_json::json!({ "status": status });
    if !problems.is_empty() {
        body["problems"] = serde_json::json!(problems);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The span every request's log lines carry: the method, the path (not the
/// query, which may hold a search for a person's name) and, once the key
/// is checked, the key's id. The key itself is never logged.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        key = tracing::field::Empty,
    )
}

/// A 201 with `Location`, the URL of what was created (`/api/...`).
pub fn created(location: String, body: serde_json::Value) -> Response {
    (
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("this endpoint does not accept that method".into())
}
