//! Roster: a self-hosted contacts server serving the Amplifi contacts API.

pub mod config;
pub mod csvio;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod jobs;
pub mod listing;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod search;
pub mod seed;
pub mod store;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
use db::Db;
use error::AppResult;
pub use http::AppState;

pub fn app(state: AppState) -> Router {
    http::router(state)
}

/// On a database with no API key yet, creates the `default` organization and
/// a write key, and returns the key so the caller can show it once.
pub fn bootstrap(db: &Db) -> AppResult<Option<String>> {
    db.write_blocking(|tx| {
        if store::keys::count(tx)? > 0 {
            return Ok(None);
        }
        let org = store::orgs::get_or_create(tx, "default")?;
        let (_, key) = store::keys::create(tx, org.org, store::keys::Access::Write)?;
        Ok(Some(key))
    })
}

/// Serves Roster on `listener` until `shutdown` resolves, then stops in
/// order: stop accepting, finish requests, stop the workers.
pub async fn run(
    config: Config,
    db: Db,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    let state = AppState::new(db, config);
    if let Err(err) = state.importer().resume() {
        tracing::error!(%err, "could not resume unfinished imports");
    }
    let stopping = state.stopping.clone();
    let lookups = jobs::start(state.lookup_worker(), stopping.clone()).await?;
    let webhooks = tokio::spawn(jobs::webhooks::run(
        state.db.clone(),
        state.config.webhooks.clone(),
        state.wake.webhooks.clone(),
        stopping.clone(),
    ));
    // The index writer runs until the server has finished its requests, so
    // every acknowledged write reaches the index before it stops: it has a
    // stop of its own, fired after the server's.
    let stop_index = CancellationToken::new();
    let search_writer = tokio::spawn(search::run_writer(state.indexer(), stop_index.clone()));
    let backups = state.config.backups.dir.clone().map(|dir| {
        let schedule = ops::backup::Schedule {
            dir,
            every: state.config.backups.interval,
            keep: state.config.backups.keep as usize,
        };
        tokio::spawn(ops::backup::run_schedule(
            state.config.data.data_dir.clone(),
            schedule,
            stopping.clone(),
        ))
    });
    tokio::spawn(jobs::retention::run(
        state.db.clone(),
        state.config.lookups.history,
        stopping.clone(),
    ));
    // While the disk is full, a look every second notices when space is
    // back, even if no client writes.
    let db = state.db.clone();
    let stop_probing = stopping.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = every.tick() => db.check_disk().await,
                () = stop_probing.cancelled() => break,
            }
        }
    });
    // Planner statistics follow the data as it grows.
    let db = state.db.clone();
    let stop_optimizing = stopping.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if let Err(err) = db.optimize().await
                        && !err.is_disk_full()
                    {
                        tracing::warn!(%err, "refreshing planner statistics failed");
                    }
                }
                () = stop_optimizing.cancelled() => break,
            }
        }
    });
    let app = app(state.clone());
    let signal = stopping.clone();
    // Requests in flight at the signal get the drain deadline to finish;
    // idle connections are closed at once, so they never hold it up.
    let drain = Duration::from_secs(state.config.drain_secs);
    http::serve::serve(
        listener,
        app,
        state.config.limits.header_timeout,
        async move {
            shutdown.await;
            signal.cancel();
        },
        drain,
    )
    .await;
    stopping.cancel();
    let _ = lookups.await;
    let _ = webhooks.await;
    if let Some(backups) = backups {
        let _ = backups.await;
    }
    stop_index.cancel();
    let _ = search_writer.await;
    Ok(())
}
