//! Outbound webhooks: the event types, an endpoint and its settings as a
//! client sends them, deliveries and their attempts, and the Standard
//! Webhooks signature. No I/O.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, quote};
use crate::model::time::format_ms;

/// Every event an endpoint can ask for.
pub const EVENT_TYPES: &[&str] = &[
    "contact.created",
    "contact.updated",
    "contact.merged",
    "contact.deleted",
    "contact.opted_out",
    "contact.opted_in",
    "contact.lookup_completed",
    "import.completed",
];

/// The event sent by `POST /api/webhooks/:id/test`, to every endpoint.
pub const PING: &str = "ping";

/// Longest target URL accepted.
const MAX_URL: usize = 2_000;
const MAX_DESCRIPTION: usize = 500;

/// An endpoint's writable settings; `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl WebhookPatch {
    /// Reads a create (`url` and `events` required) or update body. Unknown
    /// keys are refused; read-only ones (`id`, `createdAt`, ...) ignored.
    pub fn from_json(body: &Value, create: bool, allowed_hosts: &[String]) -> AppResult<Self> {
        let Value::Object(map) = body else {
            return Err(AppError::validation(
                "body",
                "the body must be a JSON object",
            ));
        };
        let mut patch = WebhookPatch::default();
        for (key, value) in map {
            match key.as_str() {
                "url" => {
                    let url = value
                        .as_str()
                        .ok_or_else(|| AppError::validation("url", "url must be a string"))?;
                    patch.url = Some(check_url(url, allowed_hosts)?);
                }
                "events" => patch.events = Some(parse_events(value)?),
                "description" => {
                    let text = match value {
                        Value::Null => String::new(),
                        Value::String(s) => s.trim().to_string(),
                        _ => {
                            return Err(AppError::validation(
                                "description",
                                "description must be a string",
                            ));
                        }
                    };
                    if text.chars().count() > MAX_DESCRIPTION {
                        return Err(AppError::validation(
                            "description",
                            format!("description is at most {MAX_DESCRIPTION} characters"),
                        ));
                    }
                    patch.description = Some(text);
                }
                "enabled" => {
                    patch.enabled = Some(value.as_bool().ok_or_else(|| {
                        AppError::validation("enabled", "enabled must be true or false")
                    })?);
                }
                "id" | "createdAt" | "updatedAt" | "disabledReason" | "failingSince" | "secret" => {
                }
                other => {
                    return Err(AppError::validation(
                        other,
                        format!("{} is not a webhook setting", quote(other)),
                    ));
                }
            }
        }
        if create && patch.url.is_none() {
            return Err(AppError::validation("url", "url is required"));
        }
        if create && patch.events.is_none() {
            return Err(AppError::validation(
                "events",
                format!(
                    "events is required: a list of {}, or [\"*\"] for all",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !create && patch == WebhookPatch::default() {
            return Err(AppError::validation(
                "body",
                "send at least one of url, events, description, enabled",
            ));
        }
        Ok(patch)
    }
}

/// `["*"]` or known event types, each once.
fn parse_events(value: &Value) -> AppResult<Vec<String>> {
    let Value::Array(items) = value else {
        return Err(AppError::validation(
            "events",
            "events must be an array of event types",
        ));
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Some(name) = item.as_str() else {
            return Err(AppError::validation(
                "events",
                "events must be an array of event types",
            ));
        };
        if name != "*" && !EVENT_TYPES.contains(&name) {
            return Err(AppError::validation(
                "events",
                format!(
                    "'{name}' is not an event type; use {} or \"*\"",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.iter().any(|e| e == name) {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        return Err(AppError::validation(
            "events",
            "events must name at least one event type",
        ));
    }
    if out.iter().any(|e| e == "*") {
        out = vec!["*".to_string()];
    }
    Ok(out)
}

/// Whether an endpoint asking for `events` wants `event`.
pub fn wants(events: &[String], event: &str) -> bool {
    event == PING || events.iter().any(|e| e == "*" || e == event)
}

/// An absolute http(s) URL whose host `allowed_hosts` lets through (every
/// host when it is empty).
pub fn check_url(url: &str, allowed_hosts: &[String]) -> AppResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(AppError::validation(
            "url",
            format!("url is at most {MAX_URL} characters"),
        ));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| AppError::validation("url", format!("url is not a valid URL: {e}")))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(AppError::validation(
            "url",
            "url must start with http:// or https://",
        ));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| AppError::validation("url", "url must name a host"))?
        .to_ascii_lowercase();
    if !host_allowed(&host, allowed_hosts) {
        return Err(AppError::validation(
            "url",
            format!(
                "the host {} is not one this server may call (--webhook-allowed-hosts)",
                quote(&host)
            ),
        ));
    }
    Ok(parsed.to_string())
}

/// `host` is allowed when the list is empty, names it, or names a parent
/// domain as `.example.org`.
pub fn host_allowed(host: &str, allowed_hosts: &[String]) -> bool {
    allowed_hosts.is_empty()
        || allowed_hosts.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            host == a.trim_start_matches('.') || (a.starts_with('.') && host.ends_with(&a))
        })
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", B64.encode(bytes))
}

/// The `webhook-signature` header value for one message: `v1,` and the
/// base64 HMAC-SHA256 of `id.timestamp.body` under the secret's bytes.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempt + 1` (1-based `attempt` failed):
/// `base` doubled per attempt up to an hour, with ±20% jitter.
pub fn backoff_ms(base_ms: u64, attempt: u32, jitter: f64) -> u64 {
    const MAX: u64 = 60 * 60 * 1000;
    let exp = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(MAX) as f64;
    (capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u64
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub org: i64,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub enabled: bool,
    pub secret: String,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A webhook endpoint as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Webhook)]
pub struct WebhookView<'a> {
    pub id: &'a str,
    pub url: &'a str,
    /// Event types sent, or `["*"]` for all.
    pub events: &'a [String],
    pub description: &'a str,
    pub enabled: bool,
    /// Why Roster disabled it (failing for too long), if it did.
    #[schema(required = true)]
    pub disabled_reason: Option<&'a str>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[schema(required = true)]
    pub failing_since: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The signing secret: only when created or rotated, shown that once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub secret: Option<&'a str>,
}

impl Webhook {
    /// The API shape; the secret only when it is being shown once.
    pub fn view(&self, with_secret: bool) -> WebhookView<'_> {
        WebhookView {
            id: &self.id,
            url: &self.url,
            events: &self.events,
            description: &self.description,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.as_deref(),
            failing_since: self.failing_since.map(format_ms),
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
            secret: with_secret.then_some(self.secret.as_str()),
        }
    }
}

/// One event's delivery to an endpoint, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempt_count: i64,
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub next_attempt_at: Option<String>,
    #[schema(required = true)]
    pub last_status_code: Option<i64>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub delivered_at: Option<String>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    #[schema(format = DateTime)]
    pub at: String,
    /// The endpoint's HTTP status; `null` when it could not be reached.
    #[schema(required = true)]
    pub status_code: Option<i64>,
    #[schema(required = true)]
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One attempt's outcome.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: i64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    /// Why an endpoint that has been failing for longer than
    /// `disable_after_ms`, this attempt the last, is disabled.
    pub fn disabled_reason(&self, disable_after_ms: i64) -> String {
        let answer = match (self.status_code, &self.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(e)) => e.clone(),
            (None, None) => "nothing".into(),
        };
        format!(
            "disabled after failing for more than {} hours; the last attempt answered {answer}",
            disable_after_ms / 3_600_000
        )
    }
}

/// What the worker decided about a failed attempt.
pub enum Next {
    /// Try again at this time.
    Retry(i64),
    /// Give up: the delivery fails.
    GiveUp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1614265330;
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, ts, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn events_are_known_types_or_everything() {
        let hosts: Vec<String> = vec![];
        let p = WebhookPatch::from_json(
            &json!({"url": "http://127.0.0.1:9/h", "events": ["contact.created", "contact.created"]}),
            true,
            &hosts,
        )
        .unwrap();
        assert_eq!(p.events.unwrap(), ["contact.created"]);
        let all = parse_events(&json!(["contact.created", "*"])).unwrap();
        assert_eq!(all, ["*"]);
        assert!(wants(&all, "import.completed"));
        assert!(wants(&["contact.created".to_string()], PING));
        assert!(!wants(&["contact.created".to_string()], "contact.deleted"));
        assert!(parse_events(&json!(["contact.exploded"])).is_err());
        assert!(parse_events(&json!([])).is_err());
        assert!(WebhookPatch::from_json(&json!({"url": "http://x.org"}), true, &hosts).is_err());
        assert!(WebhookPatch::from_json(&json!({"colour": 1}), false, &hosts).is_err());
    }

    #[test]
    fn urls_are_http_and_allowed_hosts_restrict_them() {
        assert!(check_url("ftp://example.org/x", &[]).is_err());
        assert!(check_url("not a url", &[]).is_err());
        let allowed = vec!["hooks.example.org".to_string(), ".corp.example".to_string()];
        assert!(check_url("https://hooks.example.org/in", &allowed).is_ok());
        assert!(check_url("https://a.corp.example/in", &allowed).is_ok());
        assert!(check_url("http://127.0.0.1/in", &allowed).is_err());
        assert!(check_url("http://evil-hooks.example.org/in", &allowed).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        assert_eq!(backoff_ms(1000, 1, 0.5), 1000);
        assert_eq!(backoff_ms(1000, 3, 0.5), 4000);
        assert_eq!(backoff_ms(1000, 40, 0.5), 3_600_000);
        assert_eq!(backoff_ms(1000, 1, 0.0), 800);
        assert_eq!(backoff_ms(1000, 1, 1.0), 1200);
    }
}
