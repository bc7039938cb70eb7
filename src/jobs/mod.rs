//! Textability lookups: the providers that answer them and the worker pool
//! that drains the `lookup_jobs` queue (see `docs/lookups.md`).
//!
//! The queue lives in SQLite (`store::lookups`); this module only claims
//! jobs, asks a provider, and hands the answers back to the store.

pub mod offline;
pub mod retention;
pub mod twilio;
pub mod webhooks;
pub mod worker;

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::config::{LookupConfig, LookupProvider};
use crate::db::Db;
use crate::error::AppResult;
use crate::model::fields::Phone;
use crate::store::lookups::{Answer, Inline};

pub use worker::start;

/// Wakes the background workers after a commit. Only a hint: the tables
/// they read are the truth.
#[derive(Default)]
pub struct Wake {
    pub search: Arc<Notify>,
    pub lookups: Arc<Notify>,
    pub webhooks: Arc<Notify>,
}

impl Wake {
    /// Tells every worker that new rows may be waiting.
    pub fn all(&self) {
        self.search.notify_one();
        self.lookups.notify_one();
        self.webhooks.notify_one();
    }
}

/// What the lookup worker works with.
#[derive(Clone)]
pub struct LookupWorker {
    pub db: Db,
    pub config: LookupConfig,
    /// The provider and paused state the API reports.
    pub status: Arc<Status>,
    /// Notified after commits that may have queued a job.
    pub wake: Arc<Notify>,
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupError {
    /// Worth another attempt later (timeouts, connection errors, 429, 5xx).
    Transient(String),
    /// Will not change by asking again; the job fails at once.
    Permanent(String),
    /// The provider refused our credentials: the worker pauses.
    Unauthorized(String),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::Transient(m)
            | LookupError::Permanent(m)
            | LookupError::Unauthorized(m) => f.write_str(m),
        }
    }
}

pub type LookupResult = Result<Answer, LookupError>;

/// The provider as the write path sees it: a local provider (offline, none)
/// answers in the write itself, so bulk writes need no job per contact.
pub fn inline(provider: LookupProvider) -> Option<Inline> {
    fn no_verdict(_: &Phone) -> Answer {
        Answer {
            is_textable: None,
            line_type: None,
        }
    }
    match provider {
        LookupProvider::Offline => Some(Inline {
            provider: "offline",
            answer: offline::lookup,
        }),
        LookupProvider::None => Some(Inline {
            provider: "none",
            answer: no_verdict,
        }),
        LookupProvider::Twilio => None,
    }
}

/// The configured provider.
pub enum Provider {
    Offline,
    Twilio(twilio::Twilio),
    None,
}

impl Provider {
    pub fn from_config(cfg: &LookupConfig) -> AppResult<Self> {
        Ok(match cfg.provider {
            LookupProvider::Offline => Provider::Offline,
            LookupProvider::Twilio => Provider::Twilio(twilio::Twilio::new(cfg)?),
            LookupProvider::None => Provider::None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::Offline => "offline",
            Provider::Twilio(_) => "twilio",
            Provider::None => "none",
        }
    }

    /// Answers without I/O (offline, none): the worker settles these in
    /// batches inside one transaction instead of one task per job.
    pub fn local_answer(&self, phone: &str) -> Option<Answer> {
        match self {
            Provider::Offline => Some(offline::lookup(&Phone::from_stored(phone.to_string()))),
            Provider::None => Some(Answer {
                is_textable: None,
                line_type: None,
            }),
            Provider::Twilio(_) => None,
        }
    }

    pub async fn lookup(&self, phone: &str) -> LookupResult {
        match self {
            Provider::Twilio(t) => t.lookup(phone).await,
            local => Ok(local.local_answer(phone).expect("local provider")),
        }
    }
}

/// What `/api/lookups/status` reports about the worker besides the queue.
pub struct Status {
    provider: LookupProvider,
    paused: Mutex<Option<String>>,
}

impl Status {
    pub fn new(provider: LookupProvider) -> Self {
        Self {
            provider,
            paused: Mutex::new(None),
        }
    }

    pub fn provider(&self) -> &'static str {
        self.provider.as_str()
    }

    /// Why the worker is paused, if it is.
    pub fn paused(&self) -> Option<String> {
        self.paused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn is_paused(&self) -> bool {
        self.paused().is_some()
    }

    /// Pauses the worker; true only for the call that paused it.
    pub fn pause(&self, reason: &str) -> bool {
        let mut slot = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason.to_string());
        true
    }
}
