//! Lookup history does not grow forever: finished jobs superseded by a
//! newer one for the same contact (or whose contact is gone) are deleted
//! once they are older than `--lookup-history`. The newest job of every
//! contact stays, as does its answer on the contact. Timelines and notes
//! are the user's data and are never pruned; applied search outbox rows
//! and finished import uploads are removed as they finish, elsewhere.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::error::AppResult;
use crate::model::time::now_ms;
use crate::store::lookups;

/// How often the history is pruned: hourly, or as often as it is kept
/// when that is shorter.
fn every(history: Duration) -> Duration {
    history.clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Prunes now, then on the schedule, until `stop`.
pub async fn run(db: Db, history: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(every(history));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => break,
        }
        match prune(&db, history, &stop).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned lookup history"),
            Err(err) if err.is_disk_full() => {}
            Err(err) => tracing::warn!(%err, "pruning lookup history failed"),
        }
    }
}

/// One pass over every job, a chunk of ids per transaction.
pub async fn prune(db: &Db, history: Duration, stop: &CancellationToken) -> AppResult<usize> {
    let before = now_ms() - history.as_millis() as i64;
    let Some((lo, hi)) = db.read(lookups::id_range).await? else {
        return Ok(0);
    };
    let mut deleted = 0;
    let mut from = lo;
    while from <= hi && !stop.is_cancelled() {
        deleted += db
            .write(move |tx| lookups::prune_history(tx, before, from))
            .await?;
        from += lookups::PRUNE_CHUNK;
    }
    Ok(deleted)
}
