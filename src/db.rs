//! The SQLite database: per-connection pragmas, the embedded schema, a pool of
//! readers, one writer, and the helpers that run blocking work off the async
//! executor's threads.
//!
//! All writes in this process go through the single writer connection behind
//! a mutex, so writers queue in-process instead of spinning on SQLITE_BUSY.
//! Other processes (the CLI while a server runs) meet the busy timeout.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{AppError, AppResult};

pub const SCHEMA: &str = include_str!("../schema.sql");
/// The version `schema.sql` brings a fresh database to.
pub const SCHEMA_VERSION: i64 = 1;
pub const DB_FILE: &str = "roster.db";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Clone)]
pub struct Db {
    read: Pool,
    writer: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// Page cache per connection, in KiB (negative: SQLite's unit is KiB).
/// Readers share the memory-mapped file, so their own caches stay small and
/// the server's resident memory stays bounded.
const READER_CACHE_KIB: i64 = 4_000;
const WRITER_CACHE_KIB: i64 = 16_000;

fn configure(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = 134217728;"
    ))
}

/// Opens a configured connection to the database file (creating it if asked).
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn, WRITER_CACHE_KIB)?;
    Ok(conn)
}

/// Brings the database to the current schema version. Safe to call from any
/// number of processes at once: the check and the change share one
/// immediate transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA)?;
    }
    // Later schema versions add their forward steps here, one `if version < N`
    // block each.
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// Refreshes the query planner's statistics where they are stale (cheap:
/// with an analysis limit it samples, and it skips tables whose size has not
/// changed much). Rare filter values (a small state, a ZIP) need these
/// statistics to be answered from their own index.
pub fn optimize(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
}

impl Db {
    /// [`optimize`] on the writer connection.
    pub async fn optimize(&self) -> AppResult<()> {
        self.write(|tx| Ok(optimize(tx)?)).await
    }

    /// Opens (creating if needed) the database in `data_dir` and migrates it.
    pub fn open(data_dir: &Path) -> AppResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            AppError::internal(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join(DB_FILE);
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        optimize(&writer)?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(|c| {
                configure(c, READER_CACHE_KIB)?;
                c.pragma_update(None, "query_only", true)
            });
        let read = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(2))
            .build(manager)?;
        Ok(Self {
            read,
            writer: Arc::new(Mutex::new(writer)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled read-only connection, on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.read.clone();
        run_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction on the writer
    /// connection, on the blocking pool. The transaction commits when `f`
    /// returns `Ok` and rolls back otherwise, so a failed write changes nothing.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Transaction) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.write_blocking(f)).await
    }

    /// The blocking form of [`Db::write`], for code already off the executor.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The blocking form of [`Db::read`].
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        let conn = self.read.get()?;
        f(&conn)
    }
}

/// Runs blocking work (SQLite, tantivy) on tokio's blocking pool.
pub async fn run_blocking<T, F>(f: F) -> AppResult<T>
where
    F: FnOnce() -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}
