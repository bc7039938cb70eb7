//! The `imports` table: one row per CSV import, with its counters and the
//! first errors. The importer updates a row in the same transaction as the
//! batch of contacts it reports, so the counters always match what landed.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::model::import::{Counters, Import, Status};
use crate::model::time::now_ms;

const COLUMNS: &str = "id, org, status, options, source_path, total_rows, processed, created, \
     merged, skipped, failed, errors, message, created_at, updated_at, finished_at";

fn from_row(r: &Row) -> rusqlite::Result<Import> {
    let options: String = r.get(3)?;
    let errors: String = r.get(11)?;
    Ok(Import {
        id: r.get(0)?,
        org: r.get(1)?,
        status: Status::parse(&r.get::<_, String>(2)?),
        options: serde_json::from_str(&options).unwrap_or_else(|_| json!({})),
        source_path: r.get(4)?,
        total_rows: r.get(5)?,
        counters: Counters {
            processed: r.get(6)?,
            created: r.get(7)?,
            merged: r.get(8)?,
            skipped: r.get(9)?,
            failed: r.get(10)?,
        },
        errors: serde_json::from_str(&errors).unwrap_or_else(|_| json!([])),
        message: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        finished_at: r.get(15)?,
    })
}

pub fn create(
    conn: &Connection,
    id: &str,
    org: i64,
    options: &Value,
    source_path: &str,
) -> AppResult<()> {
    let now = now_ms();
    conn.execute(
        "INSERT INTO imports (id, org, status, options, source_path, created_at, updated_at)
         VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?5)",
        params![id, org, options.to_string(), source_path, now],
    )?;
    Ok(())
}

/// One import of `org` (None when it is another organization's or unknown).
pub fn get(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Import>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM imports WHERE id = ?1 AND org = ?2"),
            params![id, org],
            from_row,
        )
        .optional()?)
}

/// An import by id alone, for the worker that runs it.
pub fn get_by_id(conn: &Connection, id: &str) -> AppResult<Option<Import>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM imports WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The organization's most recent imports, newest first.
pub fn list(conn: &Connection, org: i64, limit: u32) -> AppResult<Vec<Import>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM imports WHERE org = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![org, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Imports that were queued or running, oldest first.
pub fn unfinished(conn: &Connection) -> AppResult<Vec<Import>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM imports WHERE status IN ('queued', 'running') ORDER BY created_at"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn status(conn: &Connection, id: &str) -> AppResult<Option<Status>> {
    Ok(conn
        .prepare_cached("SELECT status FROM imports WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|s| Status::parse(&s)))
}

/// Queued or running -> running, with the row count. False when the import
/// was cancelled or finished meanwhile.
pub fn start(conn: &Connection, id: &str, total_rows: i64) -> AppResult<bool> {
    Ok(conn.execute(
        "UPDATE imports SET status = 'running', total_rows = ?2, updated_at = ?3
         WHERE id = ?1 AND status IN ('queued', 'running')",
        params![id, total_rows, now_ms()],
    )? > 0)
}

/// Records the counters, and the kept errors when `errors` is given.
pub fn save_progress(
    conn: &Connection,
    id: &str,
    c: &Counters,
    errors: Option<&Value>,
) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE imports SET processed = ?2, created = ?3, merged = ?4, skipped = ?5,
             failed = ?6, errors = COALESCE(?7, errors), updated_at = ?8
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        c.processed,
        c.created,
        c.merged,
        c.skipped,
        c.failed,
        errors.map(Value::to_string),
        now_ms()
    ])?;
    Ok(())
}

/// Running (or queued) -> `status`. False when it had already finished
/// (for instance, cancelled).
pub fn finish(
    conn: &Connection,
    id: &str,
    status: Status,
    message: Option<&str>,
) -> AppResult<bool> {
    let now = now_ms();
    let finished = conn.execute(
        "UPDATE imports SET status = ?2, message = ?3, updated_at = ?4, finished_at = ?4
         WHERE id = ?1 AND status IN ('queued', 'running')",
        params![id, status.as_str(), message, now],
    )? > 0;
    if finished
        && status == Status::Completed
        && let Some(imp) = get_by_id(conn, id)?
    {
        super::webhooks::enqueue(
            conn,
            imp.org,
            "import.completed",
            &format!("import:{id}"),
            |_| Ok(json!({ "import": imp.to_json(false) })),
        )?;
    }
    Ok(finished)
}

/// Cancels a queued or running import of `org`. False when it is not
/// cancellable (unknown, another org's, or finished).
pub fn cancel(conn: &Connection, org: i64, id: &str) -> AppResult<bool> {
    let now = now_ms();
    Ok(conn.execute(
        "UPDATE imports SET status = 'cancelled', updated_at = ?3, finished_at = ?3,
             message = 'cancelled on request; the ' || processed || ' rows processed before it stay'
         WHERE id = ?1 AND org = ?2 AND status IN ('queued', 'running')",
        params![id, org, now],
    )? > 0)
}

/// Every custom-field key some contact of `org` has, sorted (from the kept
/// counts).
pub fn all_custom_field_keys(conn: &Connection, org: i64) -> AppResult<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT key FROM field_counts WHERE org = ?1 AND count > 0 ORDER BY key")?;
    let rows = stmt.query_map([org], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The custom-field keys present on the contacts a filter matches, sorted.
pub fn custom_field_keys(conn: &Connection, w: &super::contacts::Where) -> AppResult<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT j.key FROM {}, json_each(c.custom_fields) j WHERE {} ORDER BY 1",
        w.source(),
        w.condition()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(w.params.iter()), |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
