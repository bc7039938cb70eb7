//! `GET /metrics` for Prometheus, behind its own bearer token, and the
//! middleware that counts and times every request by its matched route.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::error::AppError;
use crate::metrics::{self, Metrics};

/// The route a request matched, carried on its response to [`record`].
#[derive(Clone)]
struct Route(Arc<str>);

/// Runs inside routing: notes the matched route on the response.
pub async fn mark_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Arc::<str>::from(metrics::route_label(m.as_str())));
    let mut resp = next.run(req).await;
    if let Some(route) = route {
        resp.extensions_mut().insert(Route(route));
    }
    resp
}

/// Runs around routing: counts and times every request, matched or not.
pub async fn record(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = metrics::method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = resp
        .extensions()
        .get::<Route>()
        .map_or(metrics::UNMATCHED, |r| &r.0);
    metrics.observe(route, method, resp.status().as_u16(), started.elapsed());
    resp
}

/// `GET /metrics`: 404 unless `--metrics-token` is set, 401 without it.
pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return Err(AppError::NotFound(
            "metrics are off (start the server with --metrics-token)".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Digests compared, so the time taken says nothing about the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(token.as_bytes()) {
        return Err(AppError::Unauthorized);
    }
    let (db, metrics, data_dir) = (
        state.db.clone(),
        state.metrics.clone(),
        state.config.data.data_dir.clone(),
    );
    let health = db.health().clone();
    let body = db
        .read(move |conn| metrics.render(conn, &data_dir, &health))
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
