//! The tantivy index: schema, rebuild, the one index writer, and queries.
//!
//! SQLite is the truth; the index is derived from it. Every contact write
//! leaves a `search_outbox` row in its own transaction. The index writer
//! applies outbox rows in batches (reading each contact's current row),
//! commits, reloads the reader, and only then deletes the rows it applied,
//! so a crash at any point replays instead of losing. An index that is
//! missing, unreadable or of another version is rebuilt from SQLite at start;
//! meanwhile `search` answers 503 and everything else works.

mod bits;
pub mod query;
pub mod schema;
mod union;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use tokio_util::sync::CancellationToken;

use crate::db::{Db, run_blocking};
use crate::error::{AppError, AppResult};
use crate::health::Part;
use crate::store;
pub use query::{Hit, Hits, Order, Start};
pub use schema::{Fields, INDEX_VERSION};

pub const INDEX_DIR: &str = "index";
/// Beside the index: the index version it was built with.
pub const VERSION_FILE: &str = "index.version";
/// Outbox rows per index commit: small batches under normal load (whatever
/// is pending), large ones while an import floods the outbox.
const BATCH: usize = 50_000;
/// Outbox rows a batch reads (with their contacts) at a time.
const CHUNK: usize = 5_000;
/// The writer also looks for outbox rows this often, for writes it was not
/// woken for (another process).
const POLL: Duration = Duration::from_secs(2);
/// The least time between two index commits.
const COMMIT_GAP: Duration = Duration::from_millis(150);
/// The gap after a commit that applied at least [`STREAM_ROWS`] outbox rows:
/// under a stream of writes, fewer and larger segments (each commit makes
/// one, and tantivy merges them again and again as they accumulate).
const STREAM_COMMIT_GAP: Duration = Duration::from_millis(500);
const STREAM_ROWS: usize = 100;
const WRITER_MEMORY: usize = 100_000_000;
const REBUILD_MEMORY: usize = 400_000_000;

fn err(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("search index: {e}"))
}

/// An open index and its reader.
pub struct Ready {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
}

/// How far a rebuild has come.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

#[derive(Clone)]
enum Status {
    Starting,
    Rebuilding(Arc<Progress>),
    Ready(Arc<Ready>),
    Failed(String),
}

/// How long a request the index answers waits for the index a server is
/// still opening after its start (about a second at a million contacts),
/// before it is told to come back (search) or SQL reads the long way (a
/// filtered page).
pub const START_WAIT: Duration = Duration::from_secs(2);

/// The search side of the application state.
pub struct Search {
    status: RwLock<Status>,
    /// True once the status has left `Starting`, with the condition the
    /// first readers after a start wait on.
    started: (Mutex<bool>, Condvar),
}

impl Default for Search {
    fn default() -> Self {
        Self::new()
    }
}

impl Search {
    /// The search side of a server, whose index writer opens the index.
    pub fn new() -> Self {
        Self {
            status: RwLock::new(Status::Starting),
            started: (Mutex::new(false), Condvar::new()),
        }
    }

    /// For a command that never opens the index: nothing waits for it, and
    /// pages come from SQL.
    pub fn without_index() -> Self {
        Self {
            started: (Mutex::new(true), Condvar::new()),
            ..Self::new()
        }
    }

    fn set(&self, s: Status) {
        *self.status.write().unwrap_or_else(|p| p.into_inner()) = s;
        let (started, changed) = &self.started;
        *started.lock().unwrap_or_else(|p| p.into_inner()) = true;
        changed.notify_all();
    }

    /// The open index; while the server is still opening it (a moment after
    /// a start), waits up to `limit` for it first. A page the index answers
    /// in a millisecond would otherwise be read from the whole table.
    pub fn ready_within(&self, limit: Duration) -> AppResult<Arc<Ready>> {
        let (started, changed) = &self.started;
        let guard = started.lock().unwrap_or_else(|p| p.into_inner());
        let _started = changed
            .wait_timeout_while(guard, limit, |started| !*started)
            .unwrap_or_else(|p| p.into_inner());
        self.ready()
    }

    /// The open index, or 503 with the reason search is not available.
    pub fn ready(&self) -> AppResult<Arc<Ready>> {
        let status = self
            .status
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match status {
            Status::Ready(r) => Ok(r),
            Status::Starting => Err(AppError::Unavailable(
                "search is starting up; try again in a moment (listing without search works)"
                    .into(),
            )),
            Status::Rebuilding(p) => {
                let done = p.done.load(Ordering::Relaxed);
                let total = p.total.load(Ordering::Relaxed).max(1);
                Err(AppError::Unavailable(format!(
                    "the search index is being rebuilt ({done} of {total} contacts, {}%); \
                     search is back when it finishes, everything else works meanwhile",
                    done * 100 / total
                )))
            }
            Status::Failed(why) => Err(AppError::Unavailable(format!(
                "search is unavailable: {why}; run `roster reindex` with the server stopped"
            ))),
        }
    }

    /// Marks the index as being rebuilt (also used by tests of the 503).
    pub fn mark_rebuilding(&self) -> Arc<Progress> {
        let p = Arc::new(Progress::default());
        self.set(Status::Rebuilding(p.clone()));
        p
    }

    /// One page of ids matching `filter` (which may lack `search`).
    #[allow(clippy::too_many_arguments)]
    pub fn page(
        &self,
        org: i64,
        filter: &crate::model::ContactFilter,
        order: Order,
        start: &Start,
        limit: usize,
        include_total: bool,
    ) -> AppResult<Hits> {
        let ready = self.ready_within(START_WAIT)?;
        let searcher = ready.reader.searcher();
        query::page(
            &searcher,
            &ready.fields,
            org,
            filter,
            order,
            start,
            limit,
            include_total,
        )
    }

    /// How many documents match `filter`, and how many of them are among
    /// `ids`, read from one searcher so the two agree.
    pub fn counts(
        &self,
        org: i64,
        filter: &crate::model::ContactFilter,
        ids: &[String],
    ) -> AppResult<(u64, u64)> {
        let ready = self.ready_within(START_WAIT)?;
        let searcher = ready.reader.searcher();
        Ok((
            query::count(&searcher, &ready.fields, org, filter, None)?,
            query::count(&searcher, &ready.fields, org, filter, Some(ids))?,
        ))
    }

    /// A page of `filter`'s matches and, when `count_ids` is given, how
    /// many documents match among those ids, read from one searcher so the
    /// two agree (see `listing` for how the outbox completes them).
    #[allow(clippy::too_many_arguments)]
    pub fn page_and_count(
        &self,
        org: i64,
        filter: &crate::model::ContactFilter,
        sort: crate::model::SortBy,
        start: &Start,
        limit: usize,
        count_ids: Option<&[String]>,
    ) -> AppResult<(Hits, Option<(u64, u64)>)> {
        let ready = self.ready_within(START_WAIT)?;
        let searcher = ready.reader.searcher();
        let hits = query::page(
            &searcher,
            &ready.fields,
            org,
            filter,
            Order::Field(sort),
            start,
            limit,
            false,
        )?;
        let counts = match count_ids {
            None => None,
            Some(ids) => Some((
                query::count(&searcher, &ready.fields, org, filter, None)?,
                query::count(&searcher, &ready.fields, org, filter, Some(ids))?,
            )),
        };
        Ok((hits, counts))
    }
}

pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(INDEX_DIR)
}

fn version_path(data_dir: &Path) -> PathBuf {
    data_dir.join(VERSION_FILE)
}

/// Opens the index in `data_dir` when it exists, is readable and was built
/// by this version; the error says why not otherwise.
pub fn open(data_dir: &Path) -> Result<(Ready, IndexWriter), String> {
    let version = std::fs::read_to_string(version_path(data_dir))
        .map_err(|_| "no index version file (missing or unfinished index)".to_string())?;
    if version.trim() != INDEX_VERSION.to_string() {
        return Err(format!(
            "index version {} is not {INDEX_VERSION}",
            version.trim()
        ));
    }
    let index = Index::open_in_dir(index_dir(data_dir)).map_err(|e| format!("unreadable: {e}"))?;
    if index.schema() != schema::build_schema() {
        return Err("index schema differs from this version's".into());
    }
    schema::register_analyzers(&index).map_err(|e| e.to_string())?;
    let fields = Fields::new(&index.schema()).map_err(|e| e.to_string())?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| format!("unreadable: {e}"))?;
    let writer = index
        .writer_with_num_threads(1, WRITER_MEMORY)
        .map_err(|e| format!("cannot open the index writer: {e}"))?;
    Ok((
        Ready {
            index,
            reader,
            fields,
        },
        writer,
    ))
}

/// Rebuilds the index from SQLite into a new directory, then swaps it in.
/// Outbox rows the snapshot covers are deleted afterwards. Returns the
/// number of contacts indexed.
/// `stop` is checked as the rebuild goes: a stopped rebuild leaves no
/// version file, so the next start rebuilds again.
pub fn rebuild(
    db: &Db,
    data_dir: &Path,
    progress: &Progress,
    stop: &dyn Fn() -> bool,
) -> AppResult<u64> {
    let started = Instant::now();
    let live = index_dir(data_dir);
    let fresh = data_dir.join(format!("{INDEX_DIR}.new"));
    let _ = std::fs::remove_file(version_path(data_dir));
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(err)?;
    }
    std::fs::create_dir_all(&fresh).map_err(err)?;
    let index = Index::create_in_dir(&fresh, schema::build_schema()).map_err(err)?;
    schema::register_analyzers(&index).map_err(err)?;
    let fields = Fields::new(&index.schema()).map_err(err)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer: IndexWriter = index
        .writer_with_num_threads(threads, REBUILD_MEMORY)
        .map_err(err)?;
    writer.set_merge_policy(Box::new(NoMergePolicy));
    let covered = db.read_blocking(|conn| {
        // One read transaction: the snapshot and the outbox position agree.
        let tx = conn.unchecked_transaction()?;
        let covered = store::outbox::max_seq(&tx)?;
        let total = store::contacts::count_all(&tx)? as u64;
        progress.total.store(total, Ordering::Relaxed);
        tracing::info!(total, "rebuilding the search index");
        let mut done = 0u64;
        store::contacts::for_each(&tx, |c| {
            writer
                .add_document(schema::document(&fields, &c))
                .map_err(err)?;
            done += 1;
            progress.done.store(done, Ordering::Relaxed);
            if done.is_multiple_of(10_000) && stop() {
                return Err(AppError::Unavailable(
                    "the search index rebuild was stopped".into(),
                ));
            }
            if done.is_multiple_of(100_000) {
                tracing::info!(done, total, "search index rebuild progress");
            }
            Ok(())
        })?;
        Ok(covered)
    })?;
    let scanned = started.elapsed().as_secs_f64();
    writer.commit().map_err(err)?;
    writer.wait_merging_threads().map_err(err)?;
    tracing::info!(
        scan_and_add_seconds = scanned,
        commit_seconds = started.elapsed().as_secs_f64() - scanned,
        "search index rebuild committed"
    );
    drop(index);
    if live.exists() {
        std::fs::remove_dir_all(&live).map_err(err)?;
    }
    std::fs::rename(&fresh, &live).map_err(err)?;
    std::fs::write(version_path(data_dir), format!("{INDEX_VERSION}\n")).map_err(err)?;
    let removed = db.write_blocking(|tx| store::outbox::delete_through(tx, covered))?;
    let done = progress.done.load(Ordering::Relaxed);
    tracing::info!(
        contacts = done,
        outbox_rows_covered = removed,
        seconds = started.elapsed().as_secs_f64(),
        "search index rebuilt"
    );
    Ok(done)
}

/// `roster reindex`: rebuilds the index while no server uses it.
pub fn reindex(db: &Db, data_dir: &Path) -> AppResult<u64> {
    if let Ok(index) = Index::open_in_dir(index_dir(data_dir)) {
        // Taking the writer lock proves no server is writing this index.
        match index.writer_with_num_threads::<tantivy::TantivyDocument>(1, 15_000_000) {
            Ok(w) => drop(w),
            Err(tantivy::TantivyError::LockFailure(..)) => {
                return Err(AppError::Conflict(
                    "the search index is in use by a running server; stop it first \
                     (a server rebuilds a missing or outdated index by itself)"
                        .into(),
                ));
            }
            Err(_) => {}
        }
    }
    rebuild(db, data_dir, &Progress::default(), &|| false)
}

/// Applies up to one batch of outbox rows; returns how many it applied.
///
/// A contact created after the writer started (`replay_through` is the
/// newest outbox row at that moment) cannot have a document yet, so it is
/// added without a delete; deletes are what make bulk indexing slow, since
/// each one is looked up in every segment. Rows from before the writer
/// opened may have been applied by a process that died before deleting
/// them, so those always replace.
///
/// Rows in a batch whose commit was tried count as possibly applied from
/// then on (`replay_through` moves past them): if the commit, the reload or
/// the outbox delete fails, the retry replaces instead of adding twice. A
/// chunk that cannot be read rolls back what the batch added before it, so
/// the retry starts from what the index holds.
fn apply_batch(
    db: &Db,
    ready: &Ready,
    writer: &mut IndexWriter,
    replay_through: &mut i64,
) -> Result<usize, BatchError> {
    let f = &ready.fields;
    let mut applied = 0;
    let mut last = 0;
    // The batch is read a chunk at a time, so a pass holds one chunk's
    // contacts and documents, not the whole batch's; it commits once.
    while applied < BATCH {
        let entries = match db.read_blocking(|conn| {
            store::outbox::pending_with_contacts(conn, last, CHUNK.min(BATCH - applied))
        }) {
            Ok(entries) => entries,
            Err(e) => {
                if applied > 0 {
                    writer.rollback().map_err(BatchError::index)?;
                }
                return Err(BatchError::Database(e));
            }
        };
        let Some(chunk_last) = entries.last().map(|(e, _)| e.seq) else {
            break;
        };
        // A deleted organization first: its documents go, and nothing of it
        // is added again below (its contacts are gone from the database).
        for (e, _) in &entries {
            if e.contact_id.is_empty() {
                writer.delete_term(Term::from_field_i64(f.org, e.org));
            }
        }
        // contact id -> (created in this chunk, its current row). A contact
        // met again in a later chunk is replaced there: a delete applies to
        // the documents added before it in the same commit.
        let mut latest: HashMap<&str, (bool, Option<&crate::model::Contact>)> = HashMap::new();
        for (e, row) in entries.iter().filter(|(e, _)| !e.contact_id.is_empty()) {
            let fresh = e.new && e.seq > *replay_through;
            let slot = latest
                .entry(e.contact_id.as_str())
                .or_insert((false, row.as_ref()));
            slot.0 |= fresh;
        }
        for (id, (fresh, row)) in latest {
            if !fresh {
                writer.delete_term(Term::from_field_text(f.id, id));
            }
            if let Some(contact) = row {
                writer
                    .add_document(schema::document(f, contact))
                    .map_err(BatchError::index)?;
            }
        }
        applied += entries.len();
        last = chunk_last;
    }
    if applied == 0 {
        return Ok(0);
    }
    // While a backlog drains (a full batch), segments are not merged: each
    // merge would rewrite documents the next batches merge again. Merging
    // resumes with the first commit after the backlog.
    if applied == BATCH {
        writer.set_merge_policy(Box::new(NoMergePolicy));
    } else {
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
    }
    *replay_through = (*replay_through).max(last);
    writer.commit().map_err(BatchError::index)?;
    ready.reader.reload().map_err(BatchError::index)?;
    db.write_blocking(|tx| store::outbox::delete_through(tx, last))
        .map_err(BatchError::Database)?;
    Ok(applied)
}

/// Why a batch was not applied: the index (whose writer is then reopened)
/// or the database.
#[derive(Debug)]
enum BatchError {
    Index(String),
    Database(AppError),
}

impl BatchError {
    fn index(e: impl std::fmt::Display) -> Self {
        let text = e.to_string();
        // tantivy wraps the cause in its own words; a full disk is said plainly.
        if text.contains("StorageFull") {
            Self::Index("the disk is full".into())
        } else {
            Self::Index(text)
        }
    }
}

fn open_writer(index: &Index) -> Result<IndexWriter, BatchError> {
    index
        .writer_with_num_threads(1, WRITER_MEMORY)
        .map_err(BatchError::index)
}

/// What the index writer works with.
#[derive(Clone)]
pub struct Indexer {
    pub db: Db,
    pub data_dir: PathBuf,
    /// Where readers find the index, and its state.
    pub search: Arc<Search>,
    /// Notified after commits that may have written outbox rows.
    pub wake: Arc<tokio::sync::Notify>,
}

/// Opens (or rebuilds) the index, then runs the index writer until `stop`.
pub async fn run_writer(state: Indexer, stop: CancellationToken) {
    // Outbox rows up to here may have reached the index before a crash;
    // later ones cannot have (no writer ran since). Read before the index
    // opens, so that becoming ready needs no database connection: the
    // first pages after a start wait for it holding theirs.
    let mut replay_through = match state.db.read(store::outbox::max_seq).await {
        Ok(seq) => seq,
        Err(e) => {
            let why = format!("cannot read the search outbox: {e}");
            tracing::error!(reason = %why, "search is unavailable");
            state.search.set(Status::Failed(why));
            return;
        }
    };
    let data_dir = state.data_dir.clone();
    let dir = data_dir.clone();
    let opened = run_blocking(move || Ok(open(&dir))).await;
    let opened = match opened {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(why)) => {
            // A new data directory simply has no index yet.
            if on_disk(&data_dir) == OnDisk::Absent {
                tracing::info!("creating the search index");
            } else {
                tracing::warn!(reason = %why, "search index needs a rebuild");
            }
            let progress = state.search.mark_rebuilding();
            let db = state.db.clone();
            let dir = data_dir.clone();
            let stopping = stop.clone();
            let rebuilt =
                run_blocking(move || rebuild(&db, &dir, &progress, &|| stopping.is_cancelled()))
                    .await;
            match rebuilt {
                Ok(_) => {
                    let dir = data_dir.clone();
                    run_blocking(move || Ok(open(&dir)))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
                Err(e) => Err(format!("rebuild failed: {e}")),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let (ready, writer) = match opened {
        Ok(pair) => pair,
        Err(why) => {
            tracing::error!(reason = %why, "search is unavailable");
            state.search.set(Status::Failed(why));
            return;
        }
    };
    let ready = Arc::new(ready);
    // Empty after the writer failed: a tantivy writer whose commit failed
    // (a full disk) is dead, so the next pass opens a new one.
    let writer = Arc::new(Mutex::new(Some(writer)));
    state.search.set(Status::Ready(ready.clone()));
    tracing::info!("search index ready");
    let health = state.db.health().clone();
    loop {
        let (db, r, w) = (state.db.clone(), ready.clone(), writer.clone());
        let applied = run_blocking(move || {
            let mut slot = w.lock().unwrap_or_else(|p| p.into_inner());
            let writer = match slot.as_mut() {
                Some(writer) => writer,
                None => match open_writer(&r.index) {
                    Ok(writer) => slot.insert(writer),
                    Err(e) => return Ok((Err(e), replay_through)),
                },
            };
            let applied = apply_batch(&db, &r, writer, &mut replay_through);
            if let Err(BatchError::Index(_)) = applied {
                *slot = None;
            }
            Ok((applied, replay_through))
        })
        .await;
        let applied = match applied {
            Ok((applied, through)) => {
                replay_through = through;
                applied
            }
            Err(e) => Err(BatchError::Index(e.to_string())),
        };
        let (full, gap) = match applied {
            Ok(n) => {
                health.recover(Part::SearchIndex);
                if n >= STREAM_ROWS {
                    (n == BATCH, STREAM_COMMIT_GAP)
                } else {
                    (false, COMMIT_GAP)
                }
            }
            Err(BatchError::Index(why)) => {
                health.degrade(
                    Part::SearchIndex,
                    format!("the index writer failed ({why}); changes wait in the outbox"),
                );
                (false, POLL)
            }
            Err(BatchError::Database(e)) => {
                if !e.is_disk_full() {
                    tracing::error!(error = %e, "applying search outbox failed; retrying");
                }
                (false, POLL)
            }
        };
        if stop.is_cancelled() && !full {
            break;
        }
        // Commits are the expensive part (segment files, fsync, reload):
        // under a stream of writes, gather them for a moment so the index
        // commits a few times a second instead of once per write.
        tokio::select! {
            () = tokio::time::sleep(gap) => {}
            () = stop.cancelled() => {}
        }
        if full {
            continue;
        }
        tokio::select! {
            () = state.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            () = stop.cancelled() => {}
        }
    }
    // Everything applied is committed; let merges finish before exit.
    let w = Arc::try_unwrap(writer)
        .ok()
        .and_then(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()));
    if let Some(w) = w {
        let _ = run_blocking(move || w.wait_merging_threads().map_err(err)).await;
    }
    tracing::info!("search index writer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_answers_503_while_rebuilding() {
        let s = Search::new();
        assert_eq!(s.ready().err().map(|e| e.status().as_u16()), Some(503));
        let p = s.mark_rebuilding();
        p.total.store(200, Ordering::Relaxed);
        p.done.store(50, Ordering::Relaxed);
        let e = s.ready().err().expect("unavailable");
        assert_eq!(e.status().as_u16(), 503);
        assert_eq!(e.code(), "unavailable");
        assert!(e.to_string().contains("being rebuilt"), "{e}");
        assert!(e.to_string().contains("25%"), "{e}");
    }

    #[test]
    fn a_reader_waits_for_the_index_a_start_is_opening() {
        let s = Arc::new(Search::new());
        // Still starting when the wait ends: told so.
        let e = s.ready_within(Duration::from_millis(10)).err().unwrap();
        assert!(e.to_string().contains("starting up"), "{e}");
        // The status changes while a reader waits: the reader sees it.
        let other = s.clone();
        let change = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.mark_rebuilding();
        });
        let e = s.ready_within(Duration::from_secs(60)).err().unwrap();
        assert!(e.to_string().contains("being rebuilt"), "{e}");
        change.join().unwrap();
        // A command that never opens the index does not wait for it (an
        // hour here would hang the test).
        let closed = Search::without_index();
        assert!(closed.ready_within(Duration::from_secs(3600)).is_err());
    }
    #[test]
    fn a_chunk_that_cannot_be_read_leaves_no_document_twice() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        rebuild(&db, dir.path(), &Progress::default(), &|| false).unwrap();
        let (ready, mut writer) = open(dir.path()).unwrap();
        let mut replay_through = db.read_blocking(store::outbox::max_seq).unwrap();
        // One contact more than a chunk: the batch reads two chunks.
        let ids: Vec<String> = (0..CHUNK + 1).map(|_| store::new_id()).collect();
        db.write_blocking(|tx| {
            tx.execute(
                "INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (1, 'o', 'o', 's', 0)",
                [],
            )?;
            for id in &ids {
                tx.execute(
                    "INSERT INTO contacts (id, org, created_at, updated_at) VALUES (?1, 1, 1, 1)",
                    [id],
                )?;
                store::outbox::record_new(tx, 1, id)?;
            }
            // The second chunk's contact cannot be read (a blob name).
            tx.execute(
                "UPDATE contacts SET first_name = X'00' WHERE id = ?1",
                [ids.last().unwrap()],
            )?;
            Ok(())
        })
        .unwrap();
        let failed = apply_batch(&db, &ready, &mut writer, &mut replay_through);
        assert!(matches!(failed, Err(BatchError::Database(_))), "{failed:?}");
        // Readable again: the retry applies the whole batch, once.
        db.write_blocking(|tx| {
            tx.execute(
                "UPDATE contacts SET first_name = NULL WHERE id = ?1",
                [ids.last().unwrap()],
            )?;
            Ok(())
        })
        .unwrap();
        let applied = apply_batch(&db, &ready, &mut writer, &mut replay_through).unwrap();
        assert_eq!(applied, CHUNK + 1);
        let searcher = ready.reader.searcher();
        assert_eq!(
            searcher.num_docs(),
            (CHUNK + 1) as u64,
            "documents in the index"
        );
        let first = tantivy::query::TermQuery::new(
            Term::from_field_text(ready.fields.id, &ids[0]),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let n = searcher.search(&first, &tantivy::collector::Count).unwrap();
        assert_eq!(n, 1, "documents for one contact");
    }
}

/// One document as `roster check` compares it with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DocVersion {
    pub id: u128,
    pub org: i64,
    pub updated_at: i64,
}

/// Every live document of the index in `data_dir`, sorted by id (a reader
/// only: a running server's writer is not disturbed).
pub fn documents(data_dir: &Path) -> AppResult<Vec<DocVersion>> {
    let index = Index::open_in_dir(index_dir(data_dir)).map_err(err)?;
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(err)?;
    let searcher = reader.searcher();
    let mut out = Vec::with_capacity(searcher.num_docs() as usize);
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let hi = ff.u64("id_hi").map_err(err)?.first_or_default_col(0);
        let lo = ff.u64("id_lo").map_err(err)?.first_or_default_col(0);
        let org = ff.i64("org").map_err(err)?.first_or_default_col(0);
        let updated = ff.i64("updated_at").map_err(err)?.first_or_default_col(0);
        for doc in seg.doc_ids_alive() {
            out.push(DocVersion {
                id: (u128::from(hi.get_val(doc)) << 64) | u128::from(lo.get_val(doc)),
                org: org.get_val(doc),
                updated_at: updated.get_val(doc),
            });
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// What a data directory holds of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDisk {
    /// Nothing yet: the next server start builds it.
    Absent,
    /// Unfinished or built by another version: the next start rebuilds it.
    Outdated,
    /// Marked as built by this version (whether it reads is another matter).
    Current,
}

pub fn on_disk(data_dir: &Path) -> OnDisk {
    match std::fs::read_to_string(version_path(data_dir)) {
        Ok(v) if v.trim() == INDEX_VERSION.to_string() => OnDisk::Current,
        Ok(_) => OnDisk::Outdated,
        Err(_) if index_dir(data_dir).exists() => OnDisk::Outdated,
        Err(_) => OnDisk::Absent,
    }
}

/// Removes the index, so that the next server start builds it anew.
pub fn remove(data_dir: &Path) -> AppResult<()> {
    let _ = std::fs::remove_file(version_path(data_dir));
    match std::fs::remove_dir_all(index_dir(data_dir)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(e)),
    }
}
