//! The state every handler receives, and the narrow handles the background
//! workers are given from it.

use std::sync::Arc;

use rusqlite::{Connection, Transaction};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppResult;
use crate::{csvio, jobs, metrics, search};

/// Shared state every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Wakes background workers after a commit.
    pub wake: Arc<jobs::Wake>,
    /// The server's stop: fired by the shutdown signal, so workers stop
    /// claiming and imports pause between batches while requests finish.
    pub stopping: CancellationToken,
    /// The lookup worker's provider and paused state.
    pub lookups: Arc<jobs::Status>,
    /// The search index (503 until it is open).
    pub search: Arc<search::Search>,
    /// Unused single-use export download links.
    pub export_links: Arc<super::export::ExportLinks>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<metrics::Metrics>,
    /// Requests per second per API key, when limited.
    pub rate_limit: Option<Arc<super::limits::KeyRateLimit>>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            rate_limit: super::limits::key_rate_limit(&config.limits),
            lookups: Arc::new(jobs::Status::new(config.lookups.provider)),
            db,
            config: Arc::new(config),
            wake: Arc::new(jobs::Wake::default()),
            stopping: CancellationToken::new(),
            search: Arc::new(search::Search::new()),
            export_links: Arc::default(),
            metrics: Arc::default(),
        }
    }

    /// Tells the background workers that new rows may be waiting.
    pub fn notify_writers(&self) {
        self.wake.all();
    }

    /// Runs `f` on a reader.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db.read(f).await
    }

    /// Runs `f` in the write transaction and, once it has committed, wakes
    /// the workers that act on the outbox, jobs and deliveries it recorded.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Transaction) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let out = self.db.write(f).await?;
        self.wake.all();
        Ok(out)
    }

    /// The lookup worker's handle.
    pub fn lookup_worker(&self) -> jobs::LookupWorker {
        jobs::LookupWorker {
            db: self.db.clone(),
            config: self.config.lookups.clone(),
            status: self.lookups.clone(),
            wake: self.wake.lookups.clone(),
        }
    }

    /// The index writer's handle.
    pub fn indexer(&self) -> search::Indexer {
        search::Indexer {
            db: self.db.clone(),
            data_dir: self.config.data.data_dir.clone(),
            search: self.search.clone(),
            wake: self.wake.search.clone(),
        }
    }

    /// The handle imports run with.
    pub fn importer(&self) -> csvio::Importer {
        csvio::Importer {
            db: self.db.clone(),
            data_dir: self.config.data.data_dir.clone(),
            provider: self.config.lookups.provider,
            wake: self.wake.clone(),
            stop: self.stopping.clone(),
        }
    }
}
