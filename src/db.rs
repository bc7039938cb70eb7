//! The SQLite database: per-connection pragmas, the embedded schema, a pool of
//! readers, one writer, and the helpers that run blocking work off the async
//! executor's threads.
//!
//! All writes in this process go through the single writer connection behind
//! a mutex, so writers queue in-process instead of spinning on SQLITE_BUSY.
//! Other processes (the CLI while a server runs) meet the busy timeout.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{self, AppError, AppResult};
use crate::health::{self, Health, Part};

pub const SCHEMA: &str = include_str!("../schema.sql");
/// The version `schema.sql` brings a fresh database to.
pub const SCHEMA_VERSION: i64 = 7;

/// The start of `schema.sql`'s last section, the webhook tables, which the
/// version 4 migration applies as it stands.
const WEBHOOK_SECTION: &str = "-- Outbound webhooks: endpoints";

fn webhook_tables() -> &'static str {
    let start = SCHEMA
        .find(WEBHOOK_SECTION)
        .expect("schema.sql has its webhook section");
    &SCHEMA[start..]
}

/// The indexes of the contacts, as `schema.sql` defines them: version 6
/// made them again without the text id.
const CONTACT_INDEXES: [&str; 10] = [
    "CREATE INDEX contacts_org_updated",
    "CREATE INDEX contacts_org_created",
    "CREATE UNIQUE INDEX contacts_org_phone",
    "CREATE UNIQUE INDEX contacts_org_email",
    "CREATE INDEX contacts_org_state",
    "CREATE INDEX contacts_org_zip",
    "CREATE INDEX contacts_org_opted_out",
    "CREATE INDEX contacts_org_not_textable",
    "CREATE INDEX contacts_org_no_email",
    "CREATE INDEX contacts_org_no_phone",
];

/// `schema.sql`'s statement that starts with `head` (`CREATE INDEX x`), up
/// to `end` (`;`, or `END;` for a trigger).
fn definition(head: &str, end: &str) -> &'static str {
    let start = SCHEMA
        .find(&format!("{head} "))
        .unwrap_or_else(|| panic!("schema.sql has {head}"));
    let len = SCHEMA[start..].find(end).expect("a statement ends") + end.len();
    &SCHEMA[start..start + len]
}

fn index_definition(name: &str) -> &'static str {
    definition(&format!("CREATE INDEX {name}"), ";")
}

/// Version 6's contacts: each with an integer key, given in id order, which
/// the contacts' indexes and the tag index hold instead of the text id
/// (version 5 gave the tag rows their contact's `updated_at`). Reads the
/// tag rows of version 4 or 5.
///
/// It builds today's `contacts` and copies today's columns: a later version
/// that adds a column to `contacts` must copy version 5's columns here and
/// add its own in its own step.
fn rekey_contacts(tx: &Transaction) -> rusqlite::Result<()> {
    // What would keep the old tables' names goes first.
    tx.execute_batch("DROP TRIGGER IF EXISTS contact_tags_updated_at;")?;
    let indexes: Vec<String> = tx
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
                AND tbl_name IN ('contacts', 'contact_tags')",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\";"))?;
    }
    tx.execute_batch(
        "ALTER TABLE contacts RENAME TO contacts_v5;
         ALTER TABLE contact_tags RENAME TO contact_tags_v5;",
    )?;
    tx.execute_batch(definition("CREATE TABLE contacts", ";"))?;
    let columns = format!("{}, email_key", crate::store::contacts::columns());
    tx.execute_batch(&format!(
        "INSERT INTO contacts ({columns}) SELECT {columns} FROM contacts_v5 ORDER BY id;
         DROP TABLE contacts_v5;"
    ))?;
    tx.execute_batch(definition("CREATE TABLE contact_tags", ";"))?;
    tx.execute_batch(
        "INSERT INTO contact_tags (org, contact, tag, updated_at)
         SELECT t.org, c.key, t.tag, c.updated_at
           FROM contact_tags_v5 t JOIN contacts c ON c.id = t.contact_id;
         DROP TABLE contact_tags_v5;",
    )?;
    for head in CONTACT_INDEXES {
        tx.execute_batch(definition(head, ";"))?;
    }
    tx.execute_batch(index_definition("contact_tags_order"))?;
    tx.execute_batch(definition("CREATE TRIGGER contact_tags_updated_at", "END;"))
}

/// Version 7's lookup jobs and timeline events: each names its contact by
/// key, as the tag index does, where version 6 held the 37-byte text id in
/// the row and in an index. Rows of contacts no longer there (the cancelled
/// jobs of a deleted contact) are not copied: a deleted contact's jobs now
/// go with it, since its key may be given to a later contact. Ids and
/// sequence numbers stay as they were, and so do the tables' counters.
fn side_tables_by_key(tx: &Transaction) -> rusqlite::Result<()> {
    for (table, columns, indexes) in [
        (
            "lookup_jobs",
            "id, org, phone, status, attempts, last_error, run_after, created_at, updated_at",
            &[
                "lookup_jobs_ready",
                "lookup_jobs_contact",
                "lookup_jobs_org_status",
            ][..],
        ),
        (
            "timeline_events",
            "seq, id, org, type, data, created_at",
            &["timeline_contact"][..],
        ),
    ] {
        for index in indexes {
            tx.execute_batch(&format!("DROP INDEX {index};"))?;
        }
        let old = format!("{table}_v6");
        tx.execute_batch(&format!("ALTER TABLE {table} RENAME TO {old};"))?;
        tx.execute_batch(definition(&format!("CREATE TABLE {table}"), ";"))?;
        let copied = columns
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        tx.execute_batch(&format!(
            "INSERT INTO {table} ({columns}, contact)
             SELECT {copied}, c.key FROM {old} o JOIN contacts c ON c.id = o.contact_id AND c.org = o.org
              ORDER BY 1;
             DELETE FROM sqlite_sequence WHERE name = '{table}';
             UPDATE sqlite_sequence SET name = '{table}' WHERE name = '{old}';
             DROP TABLE {old};"
        ))?;
        for index in indexes {
            tx.execute_batch(index_definition(index))?;
        }
    }
    Ok(())
}

/// Version 7's email keys: NULL where the email is its own key (stored
/// lower-case already), which the uniqueness index reads through
/// `coalesce(email_key, email)`.
fn email_keys_where_needed(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP INDEX contacts_org_email;
         UPDATE contacts SET email_key = NULL WHERE email_key = email;",
    )?;
    tx.execute_batch(definition("CREATE UNIQUE INDEX contacts_org_email", ";"))
}

pub const DB_FILE: &str = "roster.db";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Clone)]
pub struct Db {
    read: Pool,
    writer: Arc<Mutex<Connection>>,
    /// Writes queued for the group-commit thread.
    jobs: mpsc::Sender<Job>,
    /// Degraded while writes fail for want of disk space.
    health: Health,
    /// The data directory (whose free space ends a full-disk episode).
    dir: PathBuf,
}

/// Delivers a job's result once its group has committed (or failed to).
type Finish = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
/// A queued write: runs inside the group's transaction (or is told why
/// there is none) and returns how to deliver its result, and whether it
/// succeeded.
type Job = Box<dyn FnOnce(Slot<'_>) -> (Finish, bool) + Send>;

/// Where a queued write runs.
enum Slot<'a> {
    /// First in its transaction. A failure rolls the transaction back, which
    /// holds nothing else yet, so the write needs no savepoint: a savepoint
    /// copies every page the write touches before changing it, about a
    /// tenth of a create's time on the writer thread.
    First(&'a Transaction<'a>),
    /// After others in its transaction: its own savepoint undoes it alone.
    After(&'a Transaction<'a>),
    /// No transaction could begin.
    Failed(&'a rusqlite::Error),
}

/// A write that SQLite refused: the full disk as itself, anything else as
/// an internal error.
fn write_failure(context: &str, err: &rusqlite::Error) -> AppError {
    if error::is_disk_full(err) {
        AppError::InsufficientStorage
    } else {
        AppError::internal(format!("{context}: {err}"))
    }
}

/// At most this many queued writes share one commit.
const MAX_GROUP: usize = 64;

/// The writer connection checkpoints by itself only once the WAL holds this
/// many pages (a safety net); normally the checkpoint thread copies the WAL
/// back into the database in the background, on its own connection, so
/// writers never pay for it. Under a sustained load (an import) the WAL
/// starts over only when the writer checkpoints: the higher this is, the
/// less is left for it to copy (the thread has done the rest), at the price
/// of a larger WAL file. This many frames (a page and its 24-byte header
/// each) fit in [`WAL_KEEP_BYTES`].
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 30_000;
/// How much WAL file is kept between bursts of writes. Each time the WAL
/// starts over, SQLite cuts the file to this size (`journal_size_limit`)
/// and not to nothing, and the checkpoint thread truncates only a WAL
/// larger than this (one huge transaction), so a burst of writes reuses the
/// file's blocks. A WAL file that grew from empty cost each write the file
/// system's allocation and zeroing of new blocks: 8,000 creates right after
/// an idle spell ran at about 3,400/s, and at about 5,500/s once the WAL
/// had its size.
const WAL_KEEP_BYTES: u64 = 128 << 20;
/// How often the checkpoint thread looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Page cache per connection, in KiB (negative: SQLite's unit is KiB).
/// The database file is read, not memory-mapped: each connection maps the
/// file on its own, so a scan (an export) through a pool of them counted up
/// to the map size once per connection in the server's resident memory, for
/// no measurable gain in read latency over the kernel's page cache. The
/// resident memory SQLite adds is bounded by these caches.
const READER_CACHE_KIB: i64 = 4_000;
const WRITER_CACHE_KIB: i64 = 16_000;

fn configure(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The write path alone uses a few dozen statements; keep them all parsed.
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = 0;"
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

/// The database file of an existing data directory; a directory without one
/// is a plain error (and nothing is created).
pub fn require(data_dir: &Path) -> AppResult<PathBuf> {
    let path = data_dir.join(DB_FILE);
    if path.is_file() {
        Ok(path)
    } else {
        Err(AppError::NotFound(format!(
            "no Roster database in {} (pass the --data-dir a server uses; \
             `roster serve` creates one)",
            data_dir.display()
        )))
    }
}

/// A configured connection to an existing database file, as it is: no
/// migration, nothing created.
pub fn open_file(path: &Path) -> AppResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn, READER_CACHE_KIB)?;
    Ok(conn)
}

/// Flushes a file's contents and metadata to disk.
pub fn sync_file(path: &Path) -> AppResult<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| AppError::setup(format!("cannot sync {}: {e}", path.display())))
}

/// Flushes a directory, so that a rename inside it survives a power cut.
pub fn sync_dir(dir: &Path) -> AppResult<()> {
    sync_file(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
}

/// Writes a consistent, compacted copy of the database `conn` reads to
/// `dest` (which must not exist): `VACUUM INTO` a temporary name beside it,
/// a single read transaction, so writers go on meanwhile; then `check` on
/// the copy, a flush, the rename, and a flush of the directory. A failed
/// copy leaves nothing behind.
pub fn copy_to<T>(
    conn: &Connection,
    dest: &Path,
    check: impl FnOnce(&Path) -> AppResult<T>,
) -> AppResult<T> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| AppError::validation("dest", "the destination has no file name"))?;
    let partial = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let written = (|| -> AppResult<T> {
        let target = partial
            .to_str()
            .ok_or_else(|| AppError::setup(format!("{} is not UTF-8", partial.display())))?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(|e| {
            AppError::setup(format!("cannot write a copy to {}: {e}", dest.display()))
        })?;
        let checked = check(&partial)?;
        sync_file(&partial)?;
        std::fs::rename(&partial, dest).map_err(|e| {
            AppError::setup(format!("cannot rename the copy to {}: {e}", dest.display()))
        })?;
        Ok(checked)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let checked = written?;
    sync_dir(dir)?;
    Ok(checked)
}

/// Before a migration changes anything: a copy of the database as it is,
/// beside it, named for its schema version (Roster never removes it).
fn copy_before_migration(conn: &Connection, data_dir: &Path, version: i64) -> AppResult<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H-%M-%SZ");
    let dest = data_dir.join(format!("{DB_FILE}.before-migration-v{version}-{stamp}"));
    copy_to(conn, &dest, |_| Ok(()))?;
    tracing::info!(
        path = %dest.display(),
        from = version,
        to = SCHEMA_VERSION,
        "copied the database before migrating it"
    );
    Ok(dest)
}

/// Why a database written by a newer Roster is left as it is.
fn newer_schema_message(version: i64) -> String {
    format!(
        "the database has schema version {version}, written by a newer Roster; \
         this roster ({}) knows schema versions up to {SCHEMA_VERSION}; \
         run a newer roster (the database was not changed)",
        env!("CARGO_PKG_VERSION")
    )
}

fn newer_schema(version: i64) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(newer_schema_message(version)),
    )
}

/// Brings the database to the current schema version. Safe to call from any
/// number of processes at once: the check and the change share one
/// immediate transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    // Checked before anything is changed, even the journal mode.
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(version));
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA)?;
    }
    // Forward steps, one `if version < N` block per schema version.
    if (1..2).contains(&version) {
        tx.execute_batch(
            "ALTER TABLE search_outbox ADD COLUMN new INTEGER NOT NULL DEFAULT 0;
             DROP INDEX contacts_org_updated;
             DROP INDEX contacts_org_created;
             CREATE INDEX contacts_org_updated ON contacts (org, updated_at, id);
             CREATE INDEX contacts_org_created ON contacts (org, created_at, id);
             DROP INDEX lookup_jobs_ready;
             CREATE INDEX lookup_jobs_ready ON lookup_jobs (status, run_after)
                 WHERE status IN ('pending', 'running');
             CREATE TABLE field_counts (
                 org INTEGER NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL,
                 PRIMARY KEY (org, key)
             ) WITHOUT ROWID;
             INSERT INTO field_counts (org, key, count)
                 SELECT c.org, j.key, count(*) FROM contacts c, json_each(c.custom_fields) j
                  GROUP BY c.org, j.key;",
        )?;
    }
    if (1..3).contains(&version) {
        rewrite_checks(&tx)?;
    }
    if (1..4).contains(&version) {
        let has_bootstrap: bool = tx
            .prepare("SELECT 1 FROM pragma_table_info('api_keys') WHERE name = 'bootstrap'")?
            .exists([])?;
        if !has_bootstrap {
            tx.execute_batch(
                "ALTER TABLE api_keys ADD COLUMN bootstrap INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        tx.execute_batch(webhook_tables())?;
    }
    if (1..6).contains(&version) {
        rekey_contacts(&tx)?;
    }
    if (1..7).contains(&version) {
        side_tables_by_key(&tx)?;
        email_keys_where_needed(&tx)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// Version 3's CHECK constraints: each (table, as version 2 wrote it, as
/// `schema.sql` writes it now). The same rule either way, so no row changes.
const CHECK_REWRITES: [(&str, &str, &str); 3] = [
    (
        "contacts",
        "CHECK (lookup_status IN ('pending', 'done', 'failed'))",
        "CHECK (lookup_status = 'pending' OR lookup_status = 'done'
                                OR lookup_status = 'failed')",
    ),
    (
        "lookup_jobs",
        "CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled'))",
        "CHECK (status = 'pending' OR status = 'running' OR status = 'done'
                                     OR status = 'failed' OR status = 'cancelled')",
    ),
    (
        "imports",
        "CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled'))",
        "CHECK (status = 'queued' OR status = 'running' OR status = 'completed'
                                     OR status = 'failed' OR status = 'cancelled')",
    ),
];

/// Rewrites the CHECK constraints in the stored table definitions, the way
/// SQLite documents for constraint changes that leave the stored rows as they
/// are (<https://sqlite.org/lang_altertable.html#otheralter>): no table is
/// copied, so this takes no longer on a million contacts than on none.
fn rewrite_checks(tx: &Transaction) -> rusqlite::Result<()> {
    tx.pragma_update(None, "writable_schema", true)?;
    let rewritten = replace_checks(tx);
    // Whatever happened, the schema is read-only again. RESET also makes
    // this connection parse it anew: a definition it cannot parse fails the
    // next statement, inside the transaction, which then leaves the
    // database as it was.
    let reset = tx.execute_batch("PRAGMA writable_schema = RESET");
    rewritten?;
    reset?;
    tx.prepare("SELECT 1 FROM contacts, lookup_jobs, imports")?;
    Ok(())
}

/// The edit itself, with the schema writable; bumps the schema version so
/// that every connection reads the new definitions.
fn replace_checks(tx: &Transaction) -> rusqlite::Result<()> {
    let schema_version: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    for (table, old, new) in CHECK_REWRITES {
        tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
              WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
            rusqlite::params![table, old, new],
        )?;
        let rewritten: bool = tx.query_row(
            "SELECT instr(sql, ?2) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            rusqlite::params![table, new],
            |r| r.get(0),
        )?;
        if !rewritten {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!(
                    "cannot migrate the schema: the table {table} has a CHECK constraint \
                     this version does not know"
                )),
            ));
        }
    }
    tx.pragma_update(None, "schema_version", schema_version + 1)
}

/// Refreshes the query planner's statistics where they are stale (cheap:
/// with an analysis limit it samples, and it skips tables whose size has not
/// changed much). Rare filter values (a small state, a ZIP) need these
/// statistics to be answered from their own index.
pub fn optimize(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
}

/// Re-takes the statistics of contacts and its indexes, sampled (a few
/// milliseconds at a million contacts): for a change that leaves the table's
/// size as it was, which [`optimize`] does not count as stale.
pub fn reanalyze_contacts(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE contacts;")
}

impl Db {
    /// [`optimize`] on the writer connection.
    pub async fn optimize(&self) -> AppResult<()> {
        self.write(|tx| Ok(optimize(tx)?)).await
    }

    /// [`Db::open`] for a data directory that must already hold a database.
    pub fn open_existing(data_dir: &Path) -> AppResult<Self> {
        require(data_dir)?;
        Self::open(data_dir)
    }

    /// Opens (creating if needed) the database in `data_dir` and migrates it.
    pub fn open(data_dir: &Path) -> AppResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| AppError::setup(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = data_dir.join(DB_FILE);
        let mut writer = open_connection(&path).map_err(|e| {
            AppError::setup(format!("cannot open the database {}: {e}", path.display()))
        })?;
        let version: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(AppError::setup(newer_schema_message(version)));
        }
        if (1..SCHEMA_VERSION).contains(&version) {
            copy_before_migration(&writer, data_dir, version)?;
        }
        migrate(&mut writer)?;
        optimize(&writer)?;
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES as i64)?;
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
            // A connection to a local file does not go stale: no test
            // statement on every checkout.
            .test_on_check_out(false)
            .build(manager)?;
        let writer = Arc::new(Mutex::new(writer));
        let (jobs, queue) = mpsc::channel::<Job>();
        let conn = writer.clone();
        std::thread::Builder::new()
            .name("roster-writer".into())
            .spawn(move || group_commit(&conn, &queue))
            .map_err(|e| AppError::internal(format!("cannot start the writer: {e}")))?;
        let checkpointer = open_connection(&path)?;
        let alive = Arc::downgrade(&writer);
        let wal = data_dir.join(format!("{DB_FILE}-wal"));
        std::thread::Builder::new()
            .name("roster-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &wal, &alive))
            .map_err(|e| AppError::internal(format!("cannot start the checkpointer: {e}")))?;
        Ok(Self {
            read,
            writer,
            jobs,
            health: Health::default(),
            dir: data_dir.to_path_buf(),
        })
    }

    /// The faults met by this database's writers (and the search index
    /// writer, which reports here too).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Notes a write refused for want of space: that starts a full-disk
    /// episode, which [`Db::check_disk`] ends.
    fn observe<T>(&self, result: AppResult<T>) -> AppResult<T> {
        if let Err(e) = &result
            && e.is_disk_full()
        {
            self.health.degrade(Part::Database, health::DISK_FULL);
        }
        result
    }

    /// Ends a full-disk episode once the disk has room again and a write
    /// reaches it. A write that fits in space SQLite already holds (its
    /// journal's) proves nothing, so free space decides: the episode does
    /// not flap while the disk stays nearly full.
    pub async fn check_disk(&self) {
        if !self.health.is_degraded(Part::Database) {
            return;
        }
        if health::disk_space(&self.dir).is_some_and(|(free, _)| free < health::ROOM) {
            return;
        }
        // A write that changes one header field to the value it has, so
        // that it reaches the disk.
        let probed = self
            .write(|tx| {
                let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
                tx.pragma_update(None, "user_version", version)?;
                Ok(())
            })
            .await;
        if probed.is_ok() {
            self.health.recover(Part::Database);
        }
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

    /// Runs `f`, a point read through an index (microseconds), on the
    /// calling thread when a pooled connection is free at once, and like
    /// [`Db::read`] otherwise. Handing a read that small to the blocking pool
    /// and back costs more than the read: for the API key check on every
    /// request, the two thread switches were a tenth of the server's CPU
    /// under a create load.
    pub async fn read_point<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.read.try_get() {
            Some(conn) => f(&conn),
            None => self.read(f).await,
        }
    }

    /// Runs `f` as one atomic write on the writer connection and answers
    /// once it is committed. Writes queued at the same moment share one
    /// `BEGIN IMMEDIATE` transaction (group commit): a write whose `f`
    /// returns `Err` or panics is rolled back alone and changes nothing (see
    /// [`Slot`]), and none is acknowledged before the commit.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Transaction) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<AppResult<T>>();
        let job: Job = Box::new(move |slot: Slot<'_>| -> (Finish, bool) {
            let outcome = match slot {
                Slot::First(tx) => unwinding(|| f(tx)),
                Slot::After(tx) => in_savepoint(tx, f),
                Slot::Failed(err) => Err(write_failure("database", err)),
            };
            let ok = outcome.is_ok();
            let finish: Finish = Box::new(move |commit_error: Option<&rusqlite::Error>| {
                let result = match (outcome, commit_error) {
                    (Ok(_), Some(err)) => Err(write_failure("commit", err)),
                    (outcome, _) => outcome,
                };
                let _ = reply.send(result);
            });
            (finish, ok)
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::internal("the database writer has stopped"))?;
        let result = answer
            .await
            .map_err(|_| AppError::internal("the database writer dropped a write"))?;
        self.observe(result)
    }

    /// The blocking form of [`Db::write`], for code already off the executor.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        self.observe(result)
    }

    /// Copies the whole WAL back into the database and truncates it (for a
    /// command that wrote a lot and is about to exit, leaving no large WAL
    /// behind). Waits for readers up to the busy timeout.
    pub fn checkpoint_truncate(&self) -> AppResult<()> {
        let conn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The blocking form of [`Db::read`].
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        let conn = self.read.get()?;
        f(&conn)
    }
}

/// Runs `f` inside a savepoint of `tx`: kept on `Ok`, undone on `Err` or
/// panic.
fn in_savepoint<T>(tx: &Transaction, f: impl FnOnce(&Transaction) -> AppResult<T>) -> AppResult<T> {
    let run = |sql: &str| tx.prepare_cached(sql).and_then(|mut st| st.execute([]));
    run("SAVEPOINT job")?;
    let out = unwinding(|| f(tx));
    if out.is_err() {
        run("ROLLBACK TO job")?;
    }
    run("RELEASE job")?;
    out
}

/// `f`'s result, or an internal error if it panicked.
fn unwinding<T>(f: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(AppError::internal("a write panicked")))
}

/// How long the writer keeps looking for the next write, yielding the core
/// to whatever else is runnable, before it sleeps until one comes.
const WRITER_SPIN: Duration = Duration::from_micros(50);

/// The next queued write, or `None` once every sender is gone. A write
/// usually follows within microseconds under load (the next request of a
/// client whose last one just committed); a writer that went to sleep at
/// once would have to be woken for it, which on a virtual machine's idle
/// core costs more than the write.
fn next_write(queue: &mpsc::Receiver<Job>) -> Option<Job> {
    let started = Instant::now();
    while started.elapsed() < WRITER_SPIN {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
            Err(mpsc::TryRecvError::Disconnected) => return None,
        }
    }
    queue.recv().ok()
}

/// The group-commit loop: takes every write queued so far (up to
/// [`MAX_GROUP`]), runs them in one transaction, commits once, then
/// answers each. The first write of a transaction runs without a savepoint
/// ([`Slot::First`]); if it fails, the transaction is rolled back and the
/// rest of the group starts a new one.
fn group_commit(conn: &Mutex<Connection>, queue: &mpsc::Receiver<Job>) {
    while let Some(first) = next_write(queue) {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut jobs = group.into_iter().peekable();
        while jobs.peek().is_some() {
            let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
                Ok(tx) => tx,
                Err(err) => {
                    for job in jobs.by_ref() {
                        job(Slot::Failed(&err)).0(None);
                    }
                    break;
                }
            };
            let (finish, ok) = jobs.next().expect("peeked")(Slot::First(&tx));
            if !ok {
                // The transaction holds the failed write alone.
                drop(tx);
                finish(None);
                continue;
            }
            let mut finishers = vec![finish];
            finishers.extend(jobs.by_ref().map(|job| job(Slot::After(&tx)).0));
            let committed = tx.commit();
            for finish in finishers {
                finish(committed.as_ref().err());
            }
        }
    }
}

/// Copies committed WAL pages back into the database file a few times a
/// second (a passive checkpoint: it never blocks readers or the writer), for
/// as long as the `Db` it belongs to exists. Once everything is copied back,
/// the writes have paused, and the WAL file is larger than the size kept
/// (one transaction larger than that wrote it: a migration, a bulk change
/// of a large organization), it truncates the file, if no reader or writer
/// is in the way at that moment. Truncating holds the write lock while the file
/// system frees the file, so it waits for a pause: under a steady stream of
/// writes (whose WAL grows past the limit between two passes) it stalled
/// every writer for tens of milliseconds several times a second.
fn checkpoint_loop(conn: &Connection, wal: &Path, alive: &std::sync::Weak<Mutex<Connection>>) {
    // Never wait for a lock here: a busy database is tried again next time.
    if let Err(err) = conn.busy_timeout(Duration::ZERO) {
        tracing::debug!(%err, "checkpoint connection");
    }
    let mut last = None;
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        let pages = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .map_err(|err| tracing::debug!(%err, "background checkpoint"));
        let now = pages.ok();
        let size = || std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
        if should_truncate(last, now, size)
            && let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::debug!(%err, "truncating checkpoint");
        }
        last = now;
    }
}

/// Whether to truncate the WAL after a passive checkpoint that saw `now`
/// (frames in the WAL, frames copied back) where the pass before saw
/// `last`: only when every frame is copied back, nothing was written since
/// the pass before (the same WAL), and the file is larger than it is kept.
fn should_truncate(
    last: Option<(i64, i64)>,
    now: Option<(i64, i64)>,
    wal_bytes: impl FnOnce() -> u64,
) -> bool {
    match now {
        Some((log, copied)) => {
            now == last && log > 0 && log == copied && wal_bytes() > WAL_KEEP_BYTES
        }
        None => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wal_left_large_by_a_burst_of_writes_is_truncated_once_copied_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        // One transaction of some 150 MiB, more than the WAL kept between
        // bursts.
        db.write_blocking(|tx| {
            tx.execute_batch(
                "CREATE TABLE filler (b BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 38000)
                 INSERT INTO filler SELECT randomblob(4000) FROM n;",
            )?;
            Ok(())
        })
        .unwrap();
        let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(size() > WAL_KEEP_BYTES, "the burst grew the WAL");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while size() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(size(), 0, "the checkpoint thread truncated the WAL");
        let rows: i64 = db
            .read_blocking(|c| Ok(c.query_row("SELECT count(*) FROM filler", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(rows, 38_000, "every row is in the database file");
    }

    type TestWrite = Box<dyn FnOnce(&Transaction) -> AppResult<()> + Send>;

    /// Queues `writes` so that they make one group: a write before them
    /// holds the writer thread until all are queued.
    async fn one_group(db: &Db, writes: Vec<TestWrite>) -> Vec<AppResult<()>> {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(move |_| {
                    hold.recv().unwrap();
                    Ok(())
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tasks: Vec<_> = writes
            .into_iter()
            .map(|f| {
                let db = db.clone();
                tokio::spawn(async move { db.write(f).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_failed_write_in_a_group_is_undone_alone_whatever_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write_blocking(|tx| Ok(tx.execute_batch("CREATE TABLE t (v TEXT NOT NULL)")?))
            .unwrap();
        let insert = |v: &'static str, then: fn() -> AppResult<()>| -> TestWrite {
            Box::new(move |tx: &Transaction| {
                tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                then()
            })
        };
        let fail = || Err(AppError::internal("refused"));
        let panic = || -> AppResult<()> { panic!("a write that panics") };
        // The first of a transaction runs without a savepoint, the others
        // each in one: a failure or a panic in either place leaves no row.
        let results = one_group(
            &db,
            vec![
                insert("first fails", fail),
                insert("second", || Ok(())),
                insert("third panics", panic),
                insert("fourth", || Ok(())),
            ],
        )
        .await;
        let oks: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
        assert_eq!(oks, [false, true, false, true]);
        let results = one_group(
            &db,
            vec![insert("first panics", panic), insert("fifth", || Ok(()))],
        )
        .await;
        let oks: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
        assert_eq!(oks, [false, true]);
        let rows: Vec<String> = db
            .read_blocking(|c| {
                let mut st = c.prepare("SELECT v FROM t ORDER BY rowid")?;
                let rows = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .unwrap();
        assert_eq!(rows, ["second", "fourth", "fifth"]);
    }

    #[tokio::test]
    async fn a_point_read_waits_for_a_connection_when_every_one_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let count = |c: &Connection| -> AppResult<i64> {
            Ok(c.query_row("SELECT count(*) FROM organizations", [], |r| r.get(0))?)
        };
        // A free connection: the read runs on this thread.
        assert_eq!(db.read_point(count).await.unwrap(), 0);
        // Every pooled connection busy: the read is handed to the blocking
        // pool, waits there for one, and answers once one is released.
        let held: Vec<_> = (0..db.read.max_size())
            .map(|_| db.read.get().unwrap())
            .collect();
        let waiting = tokio::spawn({
            let db = db.clone();
            async move { db.read_point(count).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "no connection was free");
        drop(held);
        let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("answered once a connection was released")
            .unwrap();
        assert_eq!(answer.unwrap(), 0);
    }

    #[test]
    fn the_wal_is_truncated_only_once_the_writes_pause() {
        let large = || WAL_KEEP_BYTES + 1;
        // A stream of writes: each pass finds new frames, all copied back.
        assert!(!should_truncate(
            Some((900, 900)),
            Some((1200, 1200)),
            large
        ));
        // Paused: the same WAL as the pass before, all copied back.
        assert!(should_truncate(
            Some((1200, 1200)),
            Some((1200, 1200)),
            large
        ));
        // Not all copied back (a reader holds old frames), or small, or empty.
        assert!(!should_truncate(
            Some((1200, 800)),
            Some((1200, 800)),
            large
        ));
        assert!(!should_truncate(Some((5, 5)), Some((5, 5)), || 4096));
        assert!(!should_truncate(Some((0, 0)), Some((0, 0)), large));
        // The first pass, or a failed one, never truncates.
        assert!(!should_truncate(None, Some((1200, 1200)), large));
        assert!(!should_truncate(None, None, large));
    }

    /// A database at the current version, in a directory removed on drop.
    fn new_database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join(DB_FILE)).unwrap();
        migrate(&mut conn).unwrap();
        (dir, conn)
    }

    /// Puts back the CHECK constraints as versions 1 and 2 wrote them.
    fn write_version_2_checks(conn: &Connection) {
        conn.execute_batch("PRAGMA writable_schema = ON").unwrap();
        for (table, old, new) in CHECK_REWRITES {
            let changed = conn
                .execute(
                    "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
                      WHERE name = ?1 AND instr(sql, ?2) > 0",
                    rusqlite::params![table, new, old],
                )
                .unwrap();
            assert_eq!(changed, 1, "{table}");
        }
        let cookie: i64 = conn
            .pragma_query_value(None, "schema_version", |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "schema_version", cookie + 1)
            .unwrap();
        conn.execute_batch("PRAGMA writable_schema = RESET")
            .unwrap();
    }

    /// Gives a fresh database version 6's lookup jobs and timeline events,
    /// each holding its contact's text id, and its email index, on the
    /// email key that every contact with an email has.
    fn to_version_6(conn: &Connection) {
        let by_id = |table: &str| {
            let text = definition(&format!("CREATE TABLE {table}"), ";").replace(
                "contact         INTEGER NOT NULL,   -- contacts.key",
                "contact_id      TEXT NOT NULL,",
            );
            assert!(text.contains("contact_id"), "{text}");
            text
        };
        conn.execute_batch(&format!(
            "DROP TABLE lookup_jobs; DROP TABLE timeline_events;
             {}
             CREATE INDEX lookup_jobs_ready ON lookup_jobs (status, run_after)
                 WHERE status IN ('pending', 'running');
             CREATE INDEX lookup_jobs_contact ON lookup_jobs (contact_id);
             CREATE INDEX lookup_jobs_org_status ON lookup_jobs (org, status);
             {}
             CREATE INDEX timeline_contact ON timeline_events (contact_id, seq DESC);
             DROP INDEX contacts_org_email;
             CREATE UNIQUE INDEX contacts_org_email ON contacts (org, email_key)
                 WHERE email_key IS NOT NULL;",
            by_id("lookup_jobs"),
            by_id("timeline_events"),
        ))
        .unwrap();
    }

    /// Gives a fresh database version 5's contacts and tag rows: the text
    /// id as the primary key, in every index and in the tag rows.
    fn to_version_5(conn: &Connection) {
        to_version_6(conn);
        let contacts = definition("CREATE TABLE contacts", ";").replace(
            "key             INTEGER PRIMARY KEY,\n    id              TEXT NOT NULL UNIQUE,",
            "id              TEXT PRIMARY KEY,",
        );
        assert!(contacts.contains("id              TEXT PRIMARY KEY,"));
        conn.execute_batch(&format!(
            "DROP TABLE contact_tags; DROP TABLE contacts;
             {contacts}
             CREATE INDEX contacts_org_updated ON contacts (org, updated_at, id);
             CREATE INDEX contacts_org_created ON contacts (org, created_at, id);
             CREATE INDEX contacts_org_state ON contacts (org, state, updated_at, id);
             CREATE INDEX contacts_org_opted_out ON contacts (org, updated_at, id)
                 WHERE is_opted_in = 0;
             CREATE INDEX contacts_org_no_email ON contacts (org, updated_at, id)
                 WHERE email IS NULL;
             CREATE TABLE contact_tags (
                 org INTEGER NOT NULL, contact_id TEXT NOT NULL, tag TEXT NOT NULL,
                 updated_at INTEGER NOT NULL, PRIMARY KEY (org, contact_id, tag)
             ) WITHOUT ROWID;
             CREATE INDEX contact_tags_order ON contact_tags (org, tag, updated_at, contact_id);
             CREATE TRIGGER contact_tags_updated_at AFTER UPDATE OF updated_at ON contacts
             BEGIN
                 UPDATE contact_tags SET updated_at = NEW.updated_at
                  WHERE org = NEW.org AND contact_id = NEW.id;
             END;"
        ))
        .unwrap();
    }

    /// The stored definition of every table and index, by name.
    fn definitions(conn: &Connection) -> Vec<(String, Option<String>)> {
        conn.prepare("SELECT name, sql FROM sqlite_schema ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_version_2_database_gets_the_check_constraints_of_a_new_one() {
        let (_dir, mut conn) = new_database();
        let fresh = definitions(&conn);
        to_version_5(&conn);
        write_version_2_checks(&conn);
        conn.execute_batch(
            "INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (1, 'o1', 'acme', 's1', 0);
             INSERT INTO contacts (id, org, phone, lookup_status, created_at, updated_at)
                 VALUES ('c1', 1, '+19195550001', 'pending', 0, 0);
             INSERT INTO lookup_jobs (org, contact_id, phone, status, run_after, created_at,
                 updated_at) VALUES (1, 'c1', '+19195550001', 'pending', 0, 0, 0);
             PRAGMA user_version = 2;",
        )
        .unwrap();
        // Version 2's job holds the contact's id, version 7's its key.
        let insert_job = |contact: &str| {
            format!(
                "INSERT INTO lookup_jobs (org, {contact}, phone, status, run_after, created_at,
                     updated_at) VALUES (1, 'c1', '+19195550001', ?1, 0, 0, 0)"
            )
        };
        let temporary_tables = |conn: &Connection, contact: &str| {
            conn.prepare(&format!("EXPLAIN {}", insert_job(contact)))
                .unwrap()
                .query_map(["done"], |r| r.get::<_, String>(1))
                .unwrap()
                .filter(|op| op.as_deref().ok() == Some("OpenEphemeral"))
                .count()
        };
        assert_eq!(temporary_tables(&conn, "contact_id"), 1);

        migrate(&mut conn).unwrap();
        assert_eq!(definitions(&conn), fresh);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // The connection that migrated uses the new definitions at once.
        assert_eq!(temporary_tables(&conn, "contact"), 0);
        conn.execute(&insert_job("contact"), ["done"]).unwrap();
        let refused = conn
            .execute(&insert_job("contact"), ["finished"])
            .unwrap_err();
        assert!(refused.to_string().contains("CHECK"), "{refused}");
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM contacts WHERE lookup_status = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 1);
    }

    #[test]
    fn a_version_1_database_migrates_forward_keeping_its_rows() {
        let (_dir, mut conn) = new_database();
        to_version_5(&conn);
        // Version 1: IN-list checks, no `new` outbox column, descending
        // keyset indexes.
        write_version_2_checks(&conn);
        conn.execute_batch(
            "ALTER TABLE search_outbox DROP COLUMN new;
             DROP INDEX contacts_org_updated;
             CREATE INDEX contacts_org_updated ON contacts (org, updated_at DESC, id DESC);
             DROP INDEX lookup_jobs_ready;
             CREATE INDEX lookup_jobs_ready ON lookup_jobs (status, run_after);
             DROP TABLE field_counts;
             INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (1, 'o1', 'acme', 's1', 0);
             INSERT INTO contacts (id, org, phone, custom_fields, created_at, updated_at)
                 VALUES ('c1', 1, '+19195550001', '{\"a\": 1, \"b\": \"x\"}', 0, 0),
                        ('c2', 1, '+19195550002', '{\"a\": 2}', 0, 0);
             INSERT INTO search_outbox (org, contact_id) VALUES (1, 'c1');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let (id, new): (String, bool) = conn
            .query_row("SELECT contact_id, new FROM search_outbox", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((id.as_str(), new), ("c1", false));
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'contacts_org_updated'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("DESC"), "{sql}");
        let counts: Vec<(String, i64)> = conn
            .prepare("SELECT key, count FROM field_counts WHERE org = 1 ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(counts, [("a".to_string(), 2), ("b".to_string(), 1)]);
        let ready: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'lookup_jobs_ready'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(ready.contains("WHERE status IN"), "{ready}");
        for (table, old, new) in CHECK_REWRITES {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(sql.contains(new) && !sql.contains(old), "{sql}");
        }
    }

    #[test]
    fn a_check_constraint_this_version_does_not_know_stops_the_migration() {
        let (_dir, mut conn) = new_database();
        to_version_5(&conn);
        write_version_2_checks(&conn);
        conn.execute_batch(
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = replace(sql, 'cancelled', 'abandoned')
              WHERE name = 'lookup_jobs';
             PRAGMA writable_schema = RESET;
             PRAGMA user_version = 2;",
        )
        .unwrap();
        let before = definitions(&conn);
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("lookup_jobs"), "{err}");
        assert_eq!(definitions(&conn), before);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        // Writing the schema is off again.
        let refused = conn.execute("DELETE FROM sqlite_schema WHERE name = 'notes'", []);
        assert!(refused.is_err());
    }

    #[test]
    fn a_version_3_database_gets_the_webhook_tables_and_flag_indexes() {
        let (_dir, mut conn) = new_database();
        let fresh = definitions(&conn);
        to_version_5(&conn);
        conn.execute_batch(
            "DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries; DROP TABLE webhooks;
             DROP INDEX contacts_org_opted_out; DROP INDEX contacts_org_no_email;
             ALTER TABLE api_keys DROP COLUMN bootstrap;
             PRAGMA user_version = 3;",
        )
        .unwrap();
        assert_ne!(definitions(&conn), fresh);
        migrate(&mut conn).unwrap();
        // ALTER TABLE words a table's definition its own way; its columns
        // are what must match.
        let but_keys = |d: Vec<(String, Option<String>)>| {
            d.into_iter()
                .filter(|(n, _)| n != "api_keys")
                .collect::<Vec<_>>()
        };
        assert_eq!(but_keys(definitions(&conn)), but_keys(fresh));
        let bootstrap: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('api_keys') WHERE name = 'bootstrap'")
            .unwrap()
            .exists([])
            .unwrap();
        assert!(bootstrap);
    }

    #[test]
    fn a_version_4_database_gets_its_filter_indexes_in_sort_order_and_timed_tag_rows() {
        let (_dir, mut conn) = new_database();
        let fresh = definitions(&conn);
        to_version_6(&conn);
        conn.execute_batch(
            "DROP INDEX contacts_org_state; DROP INDEX contacts_org_opted_out;
             CREATE INDEX contacts_org_state ON contacts (org, state);
             CREATE INDEX contacts_org_opted_out ON contacts (org) WHERE is_opted_in = 0;
             DROP TABLE contact_tags;
             CREATE TABLE contact_tags (
                 org INTEGER NOT NULL, tag TEXT NOT NULL, contact_id TEXT NOT NULL,
                 PRIMARY KEY (org, tag, contact_id)
             ) WITHOUT ROWID;
             INSERT INTO organizations (org, id, name, webhook_secret, created_at) VALUES (7, 'o', 'o', 's', 0);
             INSERT INTO contacts (id, org, created_at, updated_at) VALUES ('c', 7, 1, 42);
             INSERT INTO contact_tags VALUES (7, 'donor', 'c');
             PRAGMA user_version = 4;",
        )
        .unwrap();
        assert_ne!(definitions(&conn), fresh);
        migrate(&mut conn).unwrap();
        assert_eq!(definitions(&conn), fresh);
        let row: (String, i64) = conn
            .query_row(
                "SELECT tag, updated_at FROM contact_tags
                  WHERE contact = (SELECT key FROM contacts WHERE id = 'c')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            ("donor".to_string(), 42),
            "the tag row keeps its contact's time"
        );
        conn.execute("UPDATE contacts SET updated_at = 50 WHERE id = 'c'", [])
            .unwrap();
        let moved: i64 = conn
            .query_row(
                "SELECT updated_at FROM contact_tags
                  WHERE contact = (SELECT key FROM contacts WHERE id = 'c')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(moved, 50, "the trigger keeps it");
    }

    #[test]
    fn a_version_5_database_gets_keys_in_id_order_and_tag_rows_by_key() {
        let (_dir, mut conn) = new_database();
        let fresh = definitions(&conn);
        to_version_5(&conn);
        conn.execute_batch(
            "INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (7, 'o', 'o', 's', 0);
             INSERT INTO contacts (id, org, state, created_at, updated_at)
                 VALUES ('c3', 7, 'NC', 1, 40), ('c1', 7, 'NC', 1, 40), ('c2', 7, 'VA', 1, 41);
             INSERT INTO contact_tags VALUES (7, 'c1', 'donor', 40), (7, 'c2', 'donor', 41),
                                             (7, 'c2', 'member', 41);
             PRAGMA user_version = 5;",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(definitions(&conn), fresh);
        let keyed: Vec<(String, i64)> = conn
            .prepare("SELECT id, key FROM contacts ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let ids: Vec<&str> = keyed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "c3"], "keys follow the ids");
        let tagged: Vec<(String, String, i64)> = conn
            .prepare(
                "SELECT c.id, t.tag, t.updated_at FROM contact_tags t
                   JOIN contacts c ON c.key = t.contact ORDER BY 1, 2",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("c1", "donor", 40),
            ("c2", "donor", 41),
            ("c2", "member", 41),
        ]
        .map(|(c, t, u)| (c.to_string(), t.to_string(), u));
        assert_eq!(tagged, expected);
        conn.execute("UPDATE contacts SET updated_at = 50 WHERE id = 'c2'", [])
            .unwrap();
        let moved: Vec<i64> = conn
            .prepare(
                "SELECT updated_at FROM contact_tags
                  WHERE contact = (SELECT key FROM contacts WHERE id = 'c2')",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(moved, [50, 50], "the trigger keeps the tag rows' time");
    }

    #[test]
    fn a_version_6_database_gets_jobs_and_events_by_contact_key() {
        let (_dir, mut conn) = new_database();
        let fresh = definitions(&conn);
        to_version_6(&conn);
        conn.execute_batch(
            "INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (7, 'o', 'o', 's', 0), (8, 'p', 'p', 't', 0);
             INSERT INTO contacts (key, id, org, phone, email, email_key, created_at, updated_at)
                 VALUES (1, 'c1', 7, '+19195550001', 'ada@example.com', 'ada@example.com', 1, 1),
                        (2, 'c2', 8, '+19195550002', 'Bob@Example.com', 'bob@example.com', 1, 1);
             INSERT INTO lookup_jobs (id, org, contact_id, phone, status, run_after, created_at,
                 updated_at)
                 VALUES (3, 7, 'c1', '+19195550001', 'done', 0, 0, 0),
                        (4, 7, 'gone', '+19195550009', 'cancelled', 0, 0, 0),
                        (5, 8, 'c2', '+19195550002', 'pending', 0, 0, 0),
                        (9, 7, 'c1', '+19195550001', 'pending', 0, 0, 0);
             DELETE FROM lookup_jobs WHERE id = 9;
             INSERT INTO timeline_events (seq, id, org, contact_id, type, created_at)
                 VALUES (1, 'e1', 7, 'c1', 'created', 0), (2, 'e2', 8, 'c2', 'created', 0),
                        (3, 'e3', 7, 'c1', 'updated', 0);
             PRAGMA user_version = 6;",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(definitions(&conn), fresh);
        let rows = |sql: &str| -> Vec<(i64, i64, i64)> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            rows("SELECT id, org, contact FROM lookup_jobs ORDER BY id"),
            [(3, 7, 1), (5, 8, 2)],
            "each job by its contact's key; the vanished contact's job is not kept"
        );
        assert_eq!(
            rows("SELECT seq, org, contact FROM timeline_events ORDER BY seq"),
            [(1, 7, 1), (2, 8, 2), (3, 7, 1)]
        );
        // The counters go on from where they were, past a deleted job's id.
        conn.execute_batch(
            "INSERT INTO lookup_jobs (org, contact, phone, status, run_after, created_at,
                 updated_at) VALUES (7, 1, '+19195550001', 'pending', 0, 0, 0);
             INSERT INTO timeline_events (id, org, contact, type, created_at)
                 VALUES ('e4', 7, 1, 'updated', 0);",
        )
        .unwrap();
        let next: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT max(id) FROM lookup_jobs), (SELECT max(seq) FROM timeline_events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(next, (10, 4));
        // An email that is its own key no longer holds it twice; the index
        // still tells addresses apart by case alone.
        let keys: Vec<Option<String>> = conn
            .prepare("SELECT email_key FROM contacts ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, [None, Some("bob@example.com".to_string())]);
        let taken = conn
            .execute(
                "INSERT INTO contacts (id, org, email, email_key, created_at, updated_at)
                 VALUES ('c3', 7, 'Ada@Example.com', 'ada@example.com', 1, 1)",
                [],
            )
            .unwrap_err();
        assert!(taken.to_string().contains("UNIQUE"), "{taken}");
    }
}
