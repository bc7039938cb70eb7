//! What is wrong with the server right now, for `/healthz`, `roster status`
//! and the log. A fault (a full disk, an index writer that cannot commit) is
//! an episode: it is logged once when it starts and once when it ends, not
//! once per request that meets it, and it ends by itself when the next
//! write through the same part succeeds.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::model::time::now_ms;

/// The parts of the server that can be degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Part {
    /// The database refuses writes (the disk is full).
    Database,
    /// The search index writer cannot commit: new and changed contacts are
    /// kept in the outbox and become searchable once it can.
    SearchIndex,
}

impl Part {
    pub const ALL: [Self; 2] = [Self::Database, Self::SearchIndex];

    fn name(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::SearchIndex => "search index",
        }
    }

    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::SearchIndex => "search_index",
        }
    }
}

/// One part's fault: why, and since when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub part: Part,
    pub reason: String,
    pub since: i64,
}

/// Shared by everything that writes: cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    problems: Arc<Mutex<BTreeMap<Part, Problem>>>,
}

impl Health {
    /// Notes that `part` is failing for `reason`; logs only when this starts
    /// an episode (a later reason replaces the first, quietly).
    pub fn degrade(&self, part: Part, reason: impl Into<String>) {
        let reason = reason.into();
        let mut problems = self.lock();
        match problems.get_mut(&part) {
            Some(p) => {
                tracing::debug!(part = part.name(), %reason, "still degraded");
                p.reason = reason;
            }
            None => {
                tracing::error!(part = part.name(), %reason, "degraded");
                problems.insert(
                    part,
                    Problem {
                        part,
                        reason,
                        since: now_ms(),
                    },
                );
            }
        }
    }

    /// Notes that `part` works again; logs only when that ends an episode.
    pub fn recover(&self, part: Part) {
        if let Some(p) = self.lock().remove(&part) {
            let seconds = (now_ms() - p.since) / 1000;
            tracing::info!(part = part.name(), seconds, "recovered");
        }
    }

    pub fn is_degraded(&self, part: Part) -> bool {
        self.lock().contains_key(&part)
    }

    /// Every current fault, database first.
    pub fn problems(&self) -> Vec<Problem> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Part, Problem>> {
        self.problems.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Free space below this is low: a full-disk episode lasts until the
/// disk has at least this much again.
pub const ROOM: u64 = 8 << 20;

/// Free and total bytes on the file system holding `path`.
#[cfg(unix)]
pub fn disk_space(path: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((s.f_bavail * s.f_frsize, s.f_blocks * s.f_frsize))
}

#[cfg(not(unix))]
pub fn disk_space(_: &Path) -> Option<(u64, u64)> {
    None
}

/// The sentence a full disk is reported with, to clients and in the log.
pub const DISK_FULL: &str =
    "the disk holding the data directory is full; changes are refused until space is freed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_is_one_problem_until_it_recovers() {
        let health = Health::default();
        health.degrade(Part::Database, DISK_FULL);
        health.degrade(Part::Database, DISK_FULL);
        let problems = health.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].part, Part::Database);
        let since = problems[0].since;
        health.degrade(Part::SearchIndex, "commit failed");
        assert_eq!(
            health.problems()[0].since,
            since,
            "the episode keeps its start"
        );
        health.recover(Part::Database);
        assert!(!health.is_degraded(Part::Database));
        assert!(health.is_degraded(Part::SearchIndex));
    }
}
