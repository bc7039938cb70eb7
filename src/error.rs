//! The one error type every handler returns. It renders the contract's error
//! body `{"error", "code", "field"?}`; a 5xx is logged in full and answered
//! with a generic sentence.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub type AppResult<T> = Result<T, AppError>;

/// The most of a client's value an error quotes, in characters.
pub const QUOTE_MAX: usize = 40;
/// The longest error message, in characters.
pub const MESSAGE_MAX: usize = 300;

/// A client's value quoted in an error message: `'value'`, or its first
/// [`QUOTE_MAX`] characters and how long it was. A 5 MB cell must not come
/// back as a 5 MB message, nor sit in an import's errors a thousand times.
pub fn quote(value: &str) -> String {
    let n = value.chars().count();
    if n <= QUOTE_MAX {
        format!("'{value}'")
    } else {
        let head: String = value.chars().take(QUOTE_MAX).collect();
        format!("'{head}…' ({n} characters)")
    }
}

/// Some of a list for a message: the first `n` items, then how many more.
pub fn some_of<'a>(items: impl IntoIterator<Item = &'a str>, n: usize) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    let mut shown: Vec<String> = items.iter().take(n).map(|s| quote(s)).collect();
    if items.len() > n {
        shown.push(format!("and {} more", items.len() - n));
    }
    shown.join(", ")
}

/// A message cut to [`MESSAGE_MAX`] characters, whatever it quotes.
pub fn cap(message: String) -> String {
    if message.chars().count() <= MESSAGE_MAX {
        return message;
    }
    let mut short: String = message.chars().take(MESSAGE_MAX).collect();
    short.push('…');
    short
}

/// The contract's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for a person.
    pub error: String,
    /// A stable code for a program: `validation_error`, `not_found`, ...
    pub code: String,
    /// The request field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A 400 with a specific code (`validation_error`, `invalid_phone`, ...).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("missing, unknown or revoked API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A 429 for a key over its rate limit, with `Retry-After`.
    #[error("this API key is over its rate limit; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A 503 with `Retry-After: 1`: more requests at once than the server
    /// serves; the request was not started.
    #[error("the server is busy; try again in a moment")]
    Overloaded,
    #[error("{0}")]
    Unavailable(String),
    /// A 507: the disk is full. Logged once per episode by the database's
    /// [`crate::health::Health`], not once per request.
    #[error("{}", crate::health::DISK_FULL)]
    InsufficientStorage,
    #[error("internal error: {0}")]
    Internal(String),
    /// What stops a command or a server from starting (an address in use, a
    /// directory it cannot write): said plainly, since the user can fix it.
    #[error("{0}")]
    Setup(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request("validation_error", Some(field.into()), message)
    }

    pub fn invalid_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request("invalid_parameter", Some(field.into()), message)
    }

    pub fn bad_request(
        code: &'static str,
        field: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::BadRequest {
            code,
            message: cap(message.into()),
            field: field.map(cap),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    /// A failed file operation: the full disk as itself, anything else as
    /// an internal error saying what was being done.
    pub fn io(context: impl std::fmt::Display, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::StorageFull {
            Self::InsufficientStorage
        } else {
            Self::Internal(format!("{context}: {err}"))
        }
    }

    pub fn setup(message: impl Into<String>) -> Self {
        Self::Setup(message.into())
    }

    /// Whether this is the full disk, which is reported once per episode
    /// rather than logged wherever it is met.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::InsufficientStorage)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests(_) | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) | Self::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::TooManyRequests(_) | Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::Unavailable(_) => "unavailable",
            Self::InsufficientStorage => "insufficient_storage",
            Self::Internal(_) | Self::Setup(_) => "internal_error",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(detail) | Self::Setup(detail) => {
                tracing::error!(%detail, "internal error");
                "Something went wrong on the server; the error has been logged.".to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            Self::BadRequest { field, .. } => field.clone(),
            _ => None,
        };
        let body = ErrorBody {
            error: message,
            code: self.code().to_string(),
            field,
        };
        let resp = (status, Json(body)).into_response();
        match self {
            Self::RateLimited { retry_after_secs } => {
                crate::http::limits::retry_after(resp, retry_after_secs)
            }
            Self::Overloaded => crate::http::limits::retry_after(resp, 1),
            Self::Unauthorized => {
                let mut resp = resp;
                resp.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                resp
            }
            _ => resp,
        }
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(err: rusqlite::Error) -> Self {
        if is_disk_full(&err) {
            return Self::InsufficientStorage;
        }
        Self::Internal(format!("database: {err}"))
    }
}

/// Whether SQLite failed for want of disk space.
pub fn is_disk_full(err: &rusqlite::Error) -> bool {
    err.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        Self::Internal(format!("database pool: {err}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("json: {err}"))
    }
}
