//! `POST /api/webhooks/twilio/inbound/:secret`: Twilio's inbound-SMS
//! webhook. The secret in the path picks the organization (no API key);
//! when the organization has a Twilio auth token, `X-Twilio-Signature` must
//! match. STOP-style keywords opt the sender out, START-style keywords opt
//! them back in, anything else lands on the sender's timeline.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::error::{AppError, AppResult};
use crate::model::inbound::{InboundSms, twilio_signature_valid};
use crate::store::{inbound, orgs};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(twilio_inbound))
}

pub const TWILIO_INBOUND_PATH: &str = "/api/webhooks/twilio/inbound";

fn twiml() -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/xml; charset=utf-8")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        // A proxy chain may list several values; the first is the client's.
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The URL Twilio requested: `public_url` (or, without it, the scheme and
/// host the request names) followed by the path and query as received.
/// Twilio may sign with or without an explicit default port, so both forms
/// are returned.
pub fn signed_urls(public_url: Option<&str>, headers: &HeaderMap, uri: &Uri) -> Vec<String> {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_else(|| uri.path());
    let base = match public_url {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => {
            let proto = header(headers, "x-forwarded-proto").unwrap_or("http");
            let host = header(headers, "x-forwarded-host")
                .or_else(|| header(headers, HOST.as_str()))
                .unwrap_or("localhost");
            format!("{proto}://{host}")
        }
    };
    let url = format!("{base}{path}");
    let mut urls = vec![url.clone()];
    if let Ok(parsed) = url.parse::<Uri>()
        && let (Some(scheme), Some(auth)) = (parsed.scheme_str(), parsed.authority())
    {
        let default_port = if scheme == "https" { 443 } else { 80 };
        let rest = parsed.path_and_query().map_or("", |p| p.as_str());
        match auth.port_u16() {
            None => urls.push(format!("{scheme}://{}:{default_port}{rest}", auth.host())),
            Some(p) if p == default_port => {
                urls.push(format!("{scheme}://{}{rest}", auth.host()));
            }
            Some(_) => {}
        }
    }
    urls
}

/// Twilio's inbound-SMS form fields that Roster reads.
#[derive(Debug, utoipa::ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct TwilioInbound {
    From: String,
    Body: Option<String>,
    MessageSid: Option<String>,
}

/// Twilio's inbound-SMS webhook: set the organization's URL (with its
/// secret) as the number's messaging webhook.
#[utoipa::path(
    post, path = "/webhooks/twilio/inbound/{secret}", tag = "webhooks",
    operation_id = "twilioInbound", security(()),
    params(
        ("secret" = String, Path, description = "The organization's inbound secret"),
        ("X-Twilio-Signature" = Option<String>, Header, description = "Required when the organization has a Twilio auth token"),
    ),
    request_body(content = TwilioInbound, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An empty TwiML answer", content_type = "text/xml", body = String),
        (status = 403, description = "The signature does not match", body = crate::error::ErrorBody),
    ),
)]
pub async fn twilio_inbound(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let lookup = secret.clone();
    let org = state
        .read(move |conn| orgs::by_webhook_secret(conn, &lookup))
        .await?
        .ok_or_else(|| AppError::NotFound("no such webhook".into()))?;
    let mime = header(&headers, CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/x-www-form-urlencoded" {
        return Err(AppError::UnsupportedMediaType(
            "send the webhook form-encoded (application/x-www-form-urlencoded), as Twilio does"
                .into(),
        ));
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(super::extract::MAX_JSON_BODY)
        } else {
            AppError::bad_request(
                "invalid_parameter",
                None,
                "the request body could not be read",
            )
        }
    })?;
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    if let Some(token) = org.twilio_auth_token.as_deref() {
        let urls = signed_urls(state.config.public_url.as_deref(), &headers, &uri);
        let valid = header(&headers, "x-twilio-signature")
            .is_some_and(|sig| twilio_signature_valid(token, &urls, &params, sig));
        if !valid {
            tracing::warn!(org = %org.name, url = %urls[0], "inbound webhook with a bad signature");
            return Err(AppError::Forbidden(
                "X-Twilio-Signature is missing or does not match this request".into(),
            ));
        }
    }
    let Some(sms) = InboundSms::from_form(&params)? else {
        tracing::info!(org = %org.name, "inbound message from a non-phone sender ignored");
        return Ok(twiml());
    };
    let org_key = org.org;
    let changed = state
        .db
        .write(move |tx| inbound::apply(tx, org_key, sms))
        .await?;
    if changed {
        state.notify_writers();
    }
    Ok(twiml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_follow_public_url_or_host_with_port_variants() {
        let uri: Uri = "/api/webhooks/twilio/inbound/s?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            signed_urls(None, &headers, &uri),
            ["http://127.0.0.1:8080/api/webhooks/twilio/inbound/s?x=1"]
        );
        assert_eq!(
            signed_urls(Some("https://example.org/roster/"), &headers, &uri),
            [
                "https://example.org/roster/api/webhooks/twilio/inbound/s?x=1",
                "https://example.org:443/roster/api/webhooks/twilio/inbound/s?x=1",
            ]
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "hooks.example.org:443".parse().unwrap());
        assert_eq!(
            signed_urls(None, &headers, &uri),
            [
                "https://hooks.example.org:443/api/webhooks/twilio/inbound/s?x=1",
                "https://hooks.example.org/api/webhooks/twilio/inbound/s?x=1",
            ]
        );
    }
}
