//! The HTTP surface: one router per resource, mounted by [`router`].

pub mod assets;
pub mod auth;
pub mod bulk;
pub mod contacts;
pub mod export;
pub mod extract;
pub mod imports;
pub mod inbound;
pub mod limits;
pub mod lookups;
pub mod me;
pub mod metrics;
pub mod notes;
pub mod openapi;
pub mod segments;
pub mod serve;
pub mod state;
pub mod tags;
pub mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;
pub use state::AppState;

/// The API under `/api`: each resource module's routes, registered from
/// its handlers' annotations, so a route cannot exist without its place in
/// the document.
pub fn api() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(openapi::router())
        .merge(me::router())
        .merge(contacts::router())
        .merge(bulk::router())
        .merge(notes::router())
        .merge(segments::router())
        .merge(tags::router())
        .merge(webhooks::router())
        .merge(inbound::router())
        .merge(lookups::router())
        .merge(export::router())
        .merge(imports::router())
        // A module's own limit (uploads) is nearer the handler, so it wins.
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY));
    // The outer router carries the document's `info`; `nest` keeps only paths.
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api", api)
}

pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    let api = limits::limit_api(api, &state.config.limits);

    let counted = state.metrics.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .merge(api)
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
pub fn created(location: String, body: impl serde::Serialize) -> Response {
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
