//! The admin UI's files: `GET /` and `GET /assets/*`, embedded with
//! rust-embed (read from `assets/` on disk in debug builds), with strict
//! security headers, ETags and compression.

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;
use crate::error::AppError;

#[derive(Embed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Assets;

/// The policy the UI is written to work under: nothing inline, nothing
/// from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Files whose name carries their version never change under that name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is checked with the server on each use (a 304 when the
/// ETag still matches), so a new binary's UI shows at the next reload.
const REVALIDATE: &str = "no-cache";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*path}", get(asset))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if !is_plain_relative(&path) {
        return AppError::NotFound("no such file".into()).into_response();
    }
    serve(&path, &headers)
}

/// A path of ordinary names separated by `/`: no `..`, `.`, empty
/// segments, backslashes or control characters, so nothing outside the
/// assets folder can be named, whatever the embedding does in debug builds.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && !segment
                    .chars()
                    .any(|c| c == '\\' || c == ':' || c.is_control())
        })
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return AppError::NotFound("no such file".into()).into_response();
    };
    let hash = file.metadata.sha256_hash();
    // Weak: the compression layer may send another encoding of the same file.
    let etag = format!("W/\"{}\"", hex::encode(&hash[..16]));
    let cache = if path.starts_with("vendor/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = if if_none_match(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype();
        let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        let mut response = file.data.into_owned().into_response();
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        response
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks
/// for GET).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_name_a_file() {
        for ok in ["app.css", "js/main.js", "vendor/preact-11.2.0.mjs"] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "../Cargo.toml",
            "js/../../src/main.rs",
            "./app.css",
            "js//main.js",
            "/etc/passwd",
            "..\\Cargo.toml",
            "C:/Windows",
            "js/\0main.js",
        ] {
            assert!(!is_plain_relative(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_file_index_html_loads_is_embedded() {
        let index = Assets::get("index.html").expect("index.html");
        let html = String::from_utf8(index.data.into_owned()).unwrap();
        for src in html
            .split(['"', '\''])
            .filter(|s| s.starts_with("/assets/"))
        {
            let path = src.trim_start_matches("/assets/");
            assert!(Assets::get(path).is_some(), "{src} is not in assets/");
        }
    }
}
