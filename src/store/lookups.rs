//! The lookup queue's write side: jobs are enqueued and cancelled in the same
//! transaction as the contact change that calls for them.

use rusqlite::{Connection, params};

use crate::error::AppResult;
use crate::model::time::now_ms;

/// Cancels the contact's unfinished jobs (a newer phone supersedes them, or
/// the contact is gone).
pub fn cancel_pending(conn: &Connection, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE lookup_jobs SET status = 'cancelled', updated_at = ?2
          WHERE contact_id = ?1 AND status IN ('pending', 'running')",
    )?
    .execute(params![contact_id, now_ms()])?;
    Ok(())
}

/// Queues a lookup of `phone` for the contact, superseding any older job.
pub fn enqueue(conn: &Connection, org: i64, contact_id: &str, phone: &str) -> AppResult<()> {
    cancel_pending(conn, contact_id)?;
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO lookup_jobs (org, contact_id, phone, status, run_after, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?4, ?4)",
    )?
    .execute(params![org, contact_id, phone, now])?;
    Ok(())
}
