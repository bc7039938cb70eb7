//! What one client may take of the server: API requests at once (shed with
//! a 503 beyond that), time per request and per pause in a body, requests
//! per second per API key (optional), and which browser origins may call
//! the API (CORS, off unless configured).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::load_shed::error::Overloaded;
use tower::timeout::TimeoutLayer;
use tower::timeout::error::Elapsed;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, ResponseBodyTimeoutLayer};

use super::AppState;
use crate::config::LimitsConfig;
use crate::error::{AppError, AppResult};

/// Requests per second per API key, when configured.
pub struct KeyRateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyRateLimit {
    pub fn new(per_second: u32) -> Option<Self> {
        let quota = Quota::per_second(NonZeroU32::new(per_second)?);
        Some(Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        })
    }

    /// Spends one request of `key_id`'s allowance, or says how long to wait.
    pub fn check(&self, key_id: &str) -> AppResult<()> {
        match self.limiter.check_key(&key_id.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(AppError::RateLimited {
                    retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
        }
    }
}

/// The API router with its limits: at most `max_concurrent_requests` at
/// once (one count across every route and connection), each answered
/// within `request_timeout`, no pause in a body longer than `body_timeout`,
/// and `Cache-Control: no-store` on every answer (they carry contacts).
pub fn limit_api(api: Router<AppState>, limits: &LimitsConfig) -> Router<AppState> {
    let timeout = limits.request_timeout;
    api.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(
                move |err: tower::BoxError| async move {
                    if err.is::<Overloaded>() {
                        AppError::Overloaded.into_response()
                    } else if err.is::<Elapsed>() {
                        AppError::Unavailable(format!(
                            "the request took longer than {}; try again, or ask for less at once",
                            humantime::format_duration(timeout)
                        ))
                        .into_response()
                    } else {
                        AppError::internal(err).into_response()
                    }
                },
            ))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(
                limits.max_concurrent_requests as usize,
            ))
            .layer(TimeoutLayer::new(timeout)),
    )
    .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
    .layer(ResponseBodyTimeoutLayer::new(limits.body_timeout))
    .layer(
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
    )
}

/// The CORS layer for the configured origins, or None (no CORS headers)
/// when there are none.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-organization-id"),
            ])
            .expose_headers([header::LOCATION, header::RETRY_AFTER])
            .max_age(Duration::from_secs(3600)),
    )
}

/// The rate limiter for `limits`, shared by every request.
pub fn key_rate_limit(limits: &LimitsConfig) -> Option<Arc<KeyRateLimit>> {
    limits.rate_limit.and_then(KeyRateLimit::new).map(Arc::new)
}

/// An answer that asks the client to come back after `secs`.
pub fn retry_after(mut resp: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}
