//! A fake Twilio Lookup v2 server, run inside the test process: it speaks the
//! v2 JSON, checks HTTP Basic auth and `Fields=line_type_intelligence`,
//! counts requests per number, and plays scripted replies.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};

pub const SID: &str = "ACfake0000000000000000000000000000";
pub const TOKEN: &str = "fake-auth-token";

/// What the fake answers for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this `line_type_intelligence.type`.
    Type(&'static str),
    /// 200 with `valid: false`.
    Invalid,
    /// A Twilio error body with this HTTP status.
    Status(u16),
    /// Sleeps this long, then answers `mobile`.
    Slow(u64),
    /// Waits until [`Fake::release`], then answers `mobile`.
    Hold,
}

#[derive(Default)]
pub struct FakeState {
    script: Mutex<HashMap<String, VecDeque<Reply>>>,
    fallback: Mutex<HashMap<String, Reply>>,
    counts: Mutex<HashMap<String, u32>>,
    held: AtomicBool,
    released: AtomicBool,
    delay_ms: AtomicU64,
    unauthorized: AtomicU64,
}

pub struct Fake {
    pub base: String,
    pub state: Arc<FakeState>,
}

impl Fake {
    /// Starts the fake on 127.0.0.1:0 on its own runtime thread.
    pub fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/v2/PhoneNumbers/{number}", get(lookup))
            .with_state(state.clone());
        let addr = crate::common::serve_in_background(app);
        Fake {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// Replies for `number`, used in order; after them, the fallback.
    pub fn script(&self, number: &str, replies: &[Reply]) {
        self.state
            .script
            .lock()
            .unwrap()
            .insert(number.to_string(), replies.iter().cloned().collect());
    }

    /// The reply once the script for `number` is used up (default mobile).
    pub fn always(&self, number: &str, reply: Reply) {
        self.state
            .fallback
            .lock()
            .unwrap()
            .insert(number.to_string(), reply);
    }

    /// Requests seen for `number` (the auth check comes after counting).
    pub fn count(&self, number: &str) -> u32 {
        self.state
            .counts
            .lock()
            .unwrap()
            .get(number)
            .copied()
            .unwrap_or(0)
    }

    pub fn counts(&self) -> HashMap<String, u32> {
        self.state.counts.lock().unwrap().clone()
    }

    pub fn total(&self) -> u32 {
        self.state.counts.lock().unwrap().values().sum()
    }

    pub fn unauthorized(&self) -> u64 {
        self.state.unauthorized.load(Ordering::SeqCst)
    }

    /// Every request (not only `Hold` ones) waits while held.
    pub fn hold_all(&self, on: bool) {
        self.state.held.store(on, Ordering::SeqCst);
    }

    /// Lets `Hold` replies (and a `hold_all`) go.
    pub fn release(&self) {
        self.state.released.store(true, Ordering::SeqCst);
        self.hold_all(false);
    }

    pub fn set_delay_ms(&self, ms: u64) {
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// The env that points Roster at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ROSTER_LOOKUP_PROVIDER", "twilio".to_string()),
            ("ROSTER_TWILIO_ACCOUNT_SID", SID.to_string()),
            ("ROSTER_TWILIO_AUTH_TOKEN", TOKEN.to_string()),
            ("ROSTER_TWILIO_BASE_URL", self.base.clone()),
        ]
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        })),
    )
        .into_response()
}

fn national(number: &str) -> String {
    number.trim_start_matches("+1").to_string()
}

fn found(number: &str, kind: &str) -> Value {
    json!({
        "calling_country_code": "1",
        "country_code": "US",
        "phone_number": number,
        "national_format": national(number),
        "valid": true,
        "validation_errors": [],
        "caller_name": null,
        "sim_swap": null,
        "call_forwarding": null,
        "line_status": null,
        "line_type_intelligence": {
            "error_code": null,
            "mobile_country_code": if kind == "mobile" { json!("310") } else { Value::Null },
            "mobile_network_code": if kind == "mobile" { json!("456") } else { Value::Null },
            "carrier_name": "Fake Carrier",
            "type": kind,
        },
        "identity_match": null,
        "reassigned_number": null,
        "sms_pumping_risk": null,
        "phone_number_quality_score": null,
        "pre_fill": null,
        "url": format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}"),
    })
}

fn invalid(number: &str) -> Value {
    json!({
        "calling_country_code": null,
        "country_code": null,
        "phone_number": number,
        "national_format": null,
        "valid": false,
        "validation_errors": ["INVALID_BUT_POSSIBLE"],
        "caller_name": null,
        "sim_swap": null,
        "call_forwarding": null,
        "line_status": null,
        "line_type_intelligence": null,
        "identity_match": null,
        "reassigned_number": null,
        "sms_pumping_risk": null,
        "phone_number_quality_score": null,
        "pre_fill": null,
        "url": format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}"),
    })
}

async fn lookup(
    State(state): State<Arc<FakeState>>,
    Path(number): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    *state
        .counts
        .lock()
        .unwrap()
        .entry(number.clone())
        .or_default() += 1;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        state.unauthorized.fetch_add(1, Ordering::SeqCst);
        return twilio_error(401, 20003, "Authenticate");
    }
    if query.as_deref() != Some("Fields=line_type_intelligence") {
        return twilio_error(400, 60200, "Invalid parameter: Fields");
    }
    while state.held.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let scripted = state
        .script
        .lock()
        .unwrap()
        .get_mut(&number)
        .and_then(|q| q.pop_front());
    let reply = scripted
        .or_else(|| state.fallback.lock().unwrap().get(&number).cloned())
        .unwrap_or(Reply::Type("mobile"));
    match reply {
        Reply::Type(kind) => axum::Json(found(&number, kind)).into_response(),
        Reply::Invalid => axum::Json(invalid(&number)).into_response(),
        Reply::Status(404) => twilio_error(
            404,
            20404,
            &format!("The requested resource /PhoneNumbers/{number} was not found"),
        ),
        Reply::Status(s) => twilio_error(s, 20500, "fake failure"),
        Reply::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            axum::Json(found(&number, "mobile")).into_response()
        }
        Reply::Hold => {
            while !state.released.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            axum::Json(found(&number, "mobile")).into_response()
        }
    }
}
