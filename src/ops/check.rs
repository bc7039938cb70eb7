//! `roster check`: the database's own integrity, then everything derived
//! from the contact rows (kept counts, the tag index, the search index)
//! compared with them, then the queues; `--repair` rebuilds what is derived
//! and never changes a contact.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::lock::{self, DataDirLock};
use crate::db::{self, Db};
use crate::error::{AppError, AppResult};
use crate::search::{self, DocVersion};
use crate::store::{maintenance, outbox};

/// More changes than this waiting for a running server's index writer is
/// reported as lag.
const OUTBOX_LAG_ROWS: i64 = 10_000;
/// At most this many contacts are named for each kind of index difference.
const EXAMPLES: usize = 5;

/// One part of the check and what it found.
#[derive(Debug)]
pub struct Section {
    pub name: &'static str,
    pub problems: Vec<String>,
    /// What is worth knowing but needs no action (work a server will do).
    pub notes: Vec<String>,
    /// Found by comparing derived data: `--repair` rebuilds it.
    pub repairable: bool,
}

impl Section {
    fn new(name: &'static str, problems: Vec<String>, repairable: bool) -> Self {
        Self {
            name,
            problems,
            notes: Vec::new(),
            repairable,
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub sections: Vec<Section>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.sections.iter().all(|s| s.problems.is_empty())
    }

    fn failing(&self, name: &str) -> bool {
        self.sections
            .iter()
            .any(|s| s.name == name && !s.problems.is_empty())
    }
}

pub const INTEGRITY: &str = "database integrity";
pub const COUNTS: &str = "kept counts";
pub const TAG_INDEX: &str = "tag index";
pub const SEARCH_INDEX: &str = "search index";
pub const QUEUES: &str = "queues";

/// Checks the data directory; works while a server runs (it only reads).
pub fn check(data_dir: &Path) -> AppResult<Report> {
    let conn = db::open_file(&db::require(data_dir)?)?;
    conn.pragma_update(None, "query_only", true)?;
    let version = maintenance::schema_version(&conn)?;
    if version != db::SCHEMA_VERSION {
        return Ok(Report {
            sections: vec![Section::new(
                INTEGRITY,
                vec![format!(
                    "the database has schema version {version}, this roster {}; \
                     start the server once to migrate it, then check again",
                    db::SCHEMA_VERSION
                )],
                false,
            )],
        });
    }
    let mut integrity = maintenance::integrity(&conn, false)?;
    let sound = integrity.is_empty();
    if sound {
        integrity.extend(maintenance::key_order(&conn)?);
    }
    let mut sections = vec![Section::new(INTEGRITY, integrity, false)];
    // Comparisons read a damaged database no further.
    if sound {
        let server = lock::holder(data_dir).is_some();
        sections.push(Section::new(
            COUNTS,
            maintenance::count_mismatches(&conn)?,
            true,
        ));
        sections.push(Section::new(
            TAG_INDEX,
            maintenance::tag_index_mismatches(&conn)?,
            true,
        ));
        sections.push(search_index(&conn, data_dir, server)?);
        sections.push(queues(&conn, server)?);
    }
    Ok(Report { sections })
}

fn queues(conn: &Connection, server: bool) -> AppResult<Section> {
    let mut section = Section::new(QUEUES, maintenance::queue_problems(conn)?, true);
    let waiting = maintenance::queues(conn)?.outbox_rows;
    if server && waiting > OUTBOX_LAG_ROWS {
        section.problems.push(format!(
            "{waiting} changes wait for the search index (the server's index writer is behind)"
        ));
    } else if waiting > 0 {
        section.notes.push(format!(
            "{waiting} changes wait for the search index (a running server applies them)"
        ));
    }
    Ok(section)
}

/// The search index against the contact rows. Contacts with a change the
/// index has not applied yet are left out; with a server running, what
/// differs is looked at again a moment later, so a change landing between
/// the two reads is not reported. An index not built yet, or built by
/// another version, is no problem: the next start builds it.
fn search_index(conn: &Connection, data_dir: &Path, server: bool) -> AppResult<Section> {
    let mut section = Section::new(SEARCH_INDEX, Vec::new(), true);
    match search::on_disk(data_dir) {
        search::OnDisk::Absent => {
            section
                .notes
                .push("the search index is not built yet; the next start builds it".into());
            return Ok(section);
        }
        search::OnDisk::Outdated => {
            section.notes.push(
                "the search index is unfinished or from another version; \
                 the next start rebuilds it"
                    .into(),
            );
            return Ok(section);
        }
        search::OnDisk::Current => {}
    }
    let mut differing = match compare_index(conn, data_dir) {
        Ok(d) => d,
        Err(err) => {
            section
                .problems
                .push(format!("the search index cannot be read: {err}"));
            return Ok(section);
        }
    };
    if server && !differing.is_empty() {
        std::thread::sleep(Duration::from_secs(2));
        let again = compare_index(conn, data_dir)?;
        differing.retain(|d| again.contains(d));
    }
    for (kind, what) in [
        (Diff::Missing, "are not in the search index"),
        (
            Diff::Stale,
            "are in the search index as they were before a later change",
        ),
        (
            Diff::Extra,
            "are in the search index but not in the database",
        ),
    ] {
        let ids: Vec<&Difference> = differing.iter().filter(|d| d.kind == kind).collect();
        if ids.is_empty() {
            continue;
        }
        let named: Vec<String> = ids
            .iter()
            .take(EXAMPLES)
            .map(|d| uuid::Uuid::from_u128(d.id).hyphenated().to_string())
            .collect();
        section.problems.push(format!(
            "{} contacts {what}: {}",
            ids.len(),
            named.join(", ")
        ));
    }
    Ok(section)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Diff {
    Missing,
    Stale,
    Extra,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Difference {
    id: u128,
    kind: Diff,
}

fn compare_index(conn: &Connection, data_dir: &Path) -> AppResult<HashSet<Difference>> {
    // One read transaction: the rows and the changes not yet applied agree.
    conn.execute_batch("BEGIN")?;
    let read = (|| -> AppResult<_> {
        let mut rows = Vec::new();
        maintenance::for_each_contact_version(conn, |org, id, updated_at| {
            if let Ok(u) = uuid::Uuid::parse_str(id) {
                rows.push(DocVersion {
                    id: u.as_u128(),
                    org,
                    updated_at,
                });
            }
        })?;
        let (pending, pending_orgs) = outbox::everything_pending(conn)?;
        Ok((rows, pending, pending_orgs))
    })();
    conn.execute_batch("COMMIT")?;
    let (mut rows, pending, pending_orgs) = read?;
    rows.sort_unstable();
    let pending: HashSet<u128> = pending
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .map(|u| u.as_u128())
        .collect();
    let docs = search::documents(data_dir)?;
    let settled = |d: &DocVersion| !pending.contains(&d.id) && !pending_orgs.contains(&d.org);
    let mut out = HashSet::new();
    let (mut a, mut b) = (rows.iter().peekable(), docs.iter().peekable());
    loop {
        let kind_id = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => a
                .next()
                .filter(|r| settled(r))
                .map(|r| (Diff::Missing, r.id)),
            (None, Some(_)) => b.next().filter(|d| settled(d)).map(|d| (Diff::Extra, d.id)),
            (Some(r), Some(d)) if r.id < d.id => {
                let r = **r;
                a.next();
                settled(&r).then_some((Diff::Missing, r.id))
            }
            (Some(r), Some(d)) if r.id > d.id => {
                let d = **d;
                b.next();
                settled(&d).then_some((Diff::Extra, d.id))
            }
            (Some(r), Some(d)) => {
                let (r, d) = (**r, **d);
                a.next();
                b.next();
                (settled(&r) && (r.org != d.org || r.updated_at != d.updated_at))
                    .then_some((Diff::Stale, r.id))
            }
        };
        if let Some((kind, id)) = kind_id {
            out.insert(Difference { id, kind });
        }
    }
    Ok(out)
}

/// What `--repair` did.
#[derive(Debug, Default)]
pub struct Repaired {
    pub derived: Option<maintenance::Rebuilt>,
    pub reindexed: Option<u64>,
}

/// Rebuilds what `report` found wrong among the derived data, with no
/// server running. Contacts are only read.
pub fn repair(data_dir: &Path, report: &Report) -> AppResult<Repaired> {
    if report.failing(INTEGRITY) {
        return Err(AppError::Conflict(
            "the database itself is damaged, and --repair rebuilds only what derives from it; \
             restore the newest backup (`roster restore`)"
                .into(),
        ));
    }
    let _lock = DataDirLock::acquire(data_dir)?;
    let db = Db::open_existing(data_dir)?;
    let mut done = Repaired::default();
    if report.failing(COUNTS) || report.failing(TAG_INDEX) || report.failing(QUEUES) {
        done.derived = Some(db.write_blocking(maintenance::rebuild_derived)?);
    }
    if report.failing(SEARCH_INDEX) {
        done.reindexed = Some(search::reindex(&db, data_dir)?);
    }
    Ok(done)
}
