//! Consistent copies of a live database, on demand and on a schedule, and
//! putting one back in place.
//!
//! A copy is one `VACUUM INTO` ([`db::copy_to`]): a single read
//! transaction, so it holds exactly what was committed when it began and
//! writers go on meanwhile (a paced backup through the backup API restarts
//! whenever a writer commits, which under steady writes is forever).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::lock::{self, DataDirLock};
use crate::db::{self, DB_FILE, SCHEMA_VERSION, run_blocking, sync_dir, sync_file};
use crate::error::{AppError, AppResult};
use crate::model::time::now_ms;
use crate::search;
use crate::store::maintenance;

/// Beside the database: what the newest backup was.
const LAST_BACKUP_FILE: &str = "last-backup.json";
/// Scheduled backups are named `roster-<UTC time>.db`; nothing else in the
/// backup directory is ever removed.
const PREFIX: &str = "roster-";
const SUFFIX: &str = ".db";

/// A finished backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub contacts: i64,
    /// When the copy's snapshot was taken (ms since the epoch).
    pub at: i64,
    pub seconds: f64,
}

/// The name a backup taken at `at_ms` gets in a directory.
pub fn file_name(at_ms: i64) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    format!("{PREFIX}{}{SUFFIX}", at.format("%Y-%m-%dT%H-%M-%S%.3fZ"))
}

/// Copies the database of `data_dir` to `dest` (a new file, or a directory
/// to put a dated file in): to a temporary name, checked, flushed, renamed,
/// and the directory flushed.
pub fn backup(data_dir: &Path, dest: &Path) -> AppResult<Backup> {
    let started = Instant::now();
    let source = db::require(data_dir)?;
    let at = now_ms();
    let target = if dest.is_dir() {
        dest.join(file_name(at))
    } else {
        dest.to_path_buf()
    };
    if target.exists() {
        return Err(AppError::Conflict(format!(
            "{} already exists; a backup never overwrites a file",
            target.display()
        )));
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(AppError::NotFound(format!(
            "no directory {} to write the backup in",
            parent.display()
        )));
    }
    let contacts = db::copy_to(&db::open_file(&source)?, &target, |copy| {
        let copy = Connection::open(copy)?;
        let problems = maintenance::integrity(&copy, true)?;
        if !problems.is_empty() {
            return Err(AppError::internal(format!(
                "the copy failed its check: {}",
                problems.join("; ")
            )));
        }
        Ok(copy.query_row("SELECT count(*) FROM contacts", [], |r| r.get::<_, i64>(0))?)
    })?;
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    let done = Backup {
        path: std::fs::canonicalize(&target).unwrap_or(target),
        bytes,
        contacts,
        at,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Err(err) = record_last(data_dir, &done) {
        tracing::warn!(%err, "could not note the backup in the data directory");
    }
    Ok(done)
}

fn record_last(data_dir: &Path, done: &Backup) -> AppResult<()> {
    let path = data_dir.join(LAST_BACKUP_FILE);
    let tmp = data_dir.join(format!(".{LAST_BACKUP_FILE}.partial"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(done)?).map_err(AppError::internal)?;
    std::fs::rename(&tmp, &path).map_err(AppError::internal)?;
    Ok(())
}

/// The newest backup taken of `data_dir`, by `roster backup` or the schedule.
pub fn last(data_dir: &Path) -> Option<Backup> {
    let text = std::fs::read(data_dir.join(LAST_BACKUP_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// When to back up, and how many backups to keep.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// The scheduled backups in `dir`, oldest first.
fn scheduled(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    found.sort();
    found
}

/// Removes the oldest scheduled backups beyond the newest `keep`.
pub fn prune(dir: &Path, keep: usize) -> Vec<PathBuf> {
    let all = scheduled(dir);
    let surplus = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for old in all.into_iter().take(surplus) {
        match std::fs::remove_file(&old) {
            Ok(()) => removed.push(old),
            Err(err) => tracing::warn!(%err, path = %old.display(), "cannot remove an old backup"),
        }
    }
    removed
}

/// How long until the next backup is due: an interval after the newest one
/// in the directory, so that restarts do not put backups off.
fn due_in(schedule: &Schedule) -> Duration {
    let newest = scheduled(&schedule.dir)
        .last()
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok());
    match newest {
        Some(t) => {
            let age = SystemTime::now().duration_since(t).unwrap_or_default();
            schedule.every.saturating_sub(age)
        }
        None => Duration::ZERO,
    }
}

/// Backs `data_dir` up on `schedule` until `stop`.
pub async fn run_schedule(data_dir: PathBuf, schedule: Schedule, stop: CancellationToken) {
    // After a failure, the next try waits a full interval (at most an hour),
    // whatever the directory holds.
    let mut retry_at: Option<tokio::time::Instant> = None;
    loop {
        let wait = due_in(&schedule);
        let at = retry_at.map_or(tokio::time::Instant::now() + wait, |r| {
            r.max(tokio::time::Instant::now() + wait)
        });
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = stop.cancelled() => return,
        }
        let (src, dir) = (data_dir.clone(), schedule.dir.clone());
        match run_blocking(move || backup(&src, &dir)).await {
            Ok(done) => {
                retry_at = None;
                let removed = prune(&schedule.dir, schedule.keep);
                tracing::info!(
                    path = %done.path.display(),
                    bytes = done.bytes,
                    contacts = done.contacts,
                    seconds = done.seconds,
                    removed_old = removed.len(),
                    "backup written"
                );
            }
            Err(err) => {
                tracing::error!(%err, "scheduled backup failed; trying again later");
                retry_at = Some(
                    tokio::time::Instant::now() + schedule.every.min(Duration::from_secs(3600)),
                );
            }
        }
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub contacts: i64,
    /// Where the database that was in place went (never deleted).
    pub previous: Option<PathBuf>,
}

/// Puts the backup `src` in place as the database of `data_dir`, while no
/// server holds the directory. The current database is moved aside, and the
/// search index is removed so that the next start rebuilds it from the
/// restored rows.
pub fn restore(data_dir: &Path, src: &Path) -> AppResult<Restored> {
    if !src.is_file() {
        return Err(AppError::NotFound(format!(
            "no backup file {}",
            src.display()
        )));
    }
    if lock::holder(data_dir).is_some() {
        return Err(lock::in_use(data_dir));
    }
    let checked = db::open_file(src).and_then(|conn| {
        let version = maintenance::schema_version(&conn)?;
        if version == 0 || version > SCHEMA_VERSION {
            return Err(AppError::Conflict(format!(
                "{} is not a Roster database this version can use (schema version {version}; \
                 this roster knows 1 to {SCHEMA_VERSION})",
                src.display()
            )));
        }
        let problems = maintenance::integrity(&conn, false)?;
        if !problems.is_empty() {
            return Err(AppError::Conflict(format!(
                "{} failed its integrity check: {}",
                src.display(),
                problems.join("; ")
            )));
        }
        Ok(conn.query_row("SELECT count(*) FROM contacts", [], |r| r.get::<_, i64>(0))?)
    });
    let contacts = checked.map_err(|e| match e {
        AppError::Internal(m) => AppError::Conflict(format!(
            "{} is not a readable Roster database: {m}",
            src.display()
        )),
        other => other,
    })?;
    // Held until the copy is in place: no server starts on half of it.
    let _lock = DataDirLock::acquire(data_dir)?;
    let live = data_dir.join(DB_FILE);
    let incoming = data_dir.join(format!(".{DB_FILE}.restoring"));
    std::fs::copy(src, &incoming)
        .map_err(|e| AppError::setup(format!("cannot copy {}: {e}", src.display())))?;
    sync_file(&incoming)?;
    let previous = if live.exists() {
        let stamp = Utc::now().format("%Y-%m-%dT%H-%M-%SZ");
        let aside = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}"));
        // The WAL goes with its database: it may hold its last commits.
        for suffix in ["", "-wal"] {
            let from = data_dir.join(format!("{DB_FILE}{suffix}"));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                std::fs::rename(&from, &to).map_err(|e| {
                    AppError::setup(format!("cannot move {} aside: {e}", from.display()))
                })?;
            }
        }
        let _ = std::fs::remove_file(data_dir.join(format!("{DB_FILE}-shm")));
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, &live)
        .map_err(|e| AppError::setup(format!("cannot put the backup in place: {e}")))?;
    sync_dir(data_dir)?;
    search::remove(data_dir)?;
    Ok(Restored { contacts, previous })
}
