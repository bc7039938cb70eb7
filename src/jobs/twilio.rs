//! The twilio provider: Lookup v2 with Line Type Intelligence.
//!
//! `GET {base}/v2/PhoneNumbers/{E.164}?Fields=line_type_intelligence` with
//! HTTP Basic auth. A 404 or `valid: false` is a definite "not textable";
//! 401/403 pause the worker; 429, 5xx, timeouts and connection errors are
//! retried; other answers fail the job.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{LookupError, LookupResult};
use crate::config::LookupConfig;
use crate::error::{AppError, AppResult};
use crate::store::lookups::Answer;

pub struct Twilio {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: String,
    textable: HashSet<String>,
}

impl Twilio {
    pub fn new(cfg: &LookupConfig) -> AppResult<Self> {
        let need = |v: &Option<String>, name: &str| {
            v.clone().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                AppError::internal(format!(
                    "the twilio lookup provider needs {name} (or choose --lookup-provider offline|none)"
                ))
            })
        };
        let account_sid = need(&cfg.twilio_account_sid, "ROSTER_TWILIO_ACCOUNT_SID")?;
        let auth_token = need(&cfg.twilio_auth_token, "ROSTER_TWILIO_AUTH_TOKEN")?;
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(cfg.concurrency as usize)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AppError::internal(format!("http client: {e}")))?;
        Ok(Self {
            http,
            base: cfg.twilio_base_url.trim_end_matches('/').to_string(),
            account_sid,
            auth_token,
            textable: cfg
                .textable_types
                .iter()
                .map(|t| t.trim().to_string())
                .collect(),
        })
    }

    pub async fn lookup(&self, e164: &str) -> LookupResult {
        let url = format!("{}/v2/PhoneNumbers/{}", self.base, e164.replace('+', "%2B"));
        let resp = self
            .http
            .get(&url)
            .query(&[("Fields", "line_type_intelligence")])
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(|e| LookupError::Transient(describe(&e)))?;
        let status = resp.status();
        match status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                return Ok(Answer {
                    is_textable: Some(false),
                    line_type: None,
                });
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(LookupError::Unauthorized(format!(
                    "Twilio refused the credentials (HTTP {}): check ROSTER_TWILIO_ACCOUNT_SID and ROSTER_TWILIO_AUTH_TOKEN",
                    status.as_u16()
                )));
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                return Err(LookupError::Transient(format!("HTTP {}", s.as_u16())));
            }
            s => {
                let body = resp.text().await.unwrap_or_default();
                return Err(LookupError::Permanent(format!(
                    "HTTP {}: {}",
                    s.as_u16(),
                    snippet(&body)
                )));
            }
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| LookupError::Transient(describe(&e)))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| LookupError::Permanent(format!("unreadable Lookup response: {e}")))?;
        self.answer(&json)
    }

    /// Reads a 200 response body.
    fn answer(&self, json: &Value) -> LookupResult {
        if json.get("valid") == Some(&Value::Bool(false)) {
            return Ok(Answer {
                is_textable: Some(false),
                line_type: None,
            });
        }
        let lti = &json["line_type_intelligence"];
        match lti["type"].as_str() {
            Some(kind) => Ok(Answer {
                is_textable: Some(self.textable.contains(kind)),
                line_type: Some(kind.to_string()),
            }),
            None => {
                let code = match &lti["error_code"] {
                    Value::Null => "none".to_string(),
                    v => v.to_string(),
                };
                Err(LookupError::Permanent(format!(
                    "no line type in the Lookup response (error_code {code})"
                )))
            }
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        format!("request failed: {e}")
    }
}

fn snippet(body: &str) -> String {
    let mut s: String = body.chars().take(200).collect();
    if s.len() < body.len() {
        s.push('…');
    }
    s
}
