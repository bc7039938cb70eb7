//! A webhook receiver run inside the test process: it keeps every request
//! (headers and body) and answers with scripted statuses or delays.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Waits this long before answering 200.
    Slow(u64),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub json: Value,
    /// What the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    otherwise: Mutex<Option<Answer>>,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Answers 200 unless told otherwise.
    pub fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let addr = crate::common::serve_in_background(app);
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
        }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, answers: &[Answer]) {
        self.inner
            .script
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
    }

    /// Requests after the script get this answer (200 when None).
    pub fn otherwise(&self, answer: Option<Answer>) {
        *self.inner.otherwise.lock().unwrap() = answer;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = inner
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or(*inner.otherwise.lock().unwrap())
        .unwrap_or(Answer::Status(200));
    let status = match answer {
        Answer::Status(s) => s,
        Answer::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            200
        }
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let text = String::from_utf8_lossy(&body).to_string();
    inner.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        body: text,
        answered: status,
    });
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
