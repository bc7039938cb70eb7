//! The HTTP surface: one router per resource, mounted by [`router`].

pub mod auth;
pub mod contacts;
pub mod extract;
pub mod imports;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::AppError;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get)
                .put(contacts::update)
                .delete(contacts::delete),
        )
        .route("/contacts/{id}/opt-out", post(contacts::opt_out))
        .route("/contacts/{id}/opt-in", post(contacts::opt_in))
        .route(
            "/contacts/import",
            // Uploads stream to disk with their own size limit.
            post(imports::create).layer(DefaultBodyLimit::disable()),
        )
        .route("/contacts/export", get(imports::export))
        .route("/imports", get(imports::list))
        .route("/imports/{id}", get(imports::get).delete(imports::cancel))
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY));

    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(60),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("a request handler panicked").into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "ok" })),
    )
        .into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("this endpoint does not accept that method".into())
}
