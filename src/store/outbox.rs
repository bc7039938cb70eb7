//! The search outbox: the intent "reindex contact X", committed with the
//! change that caused it.

use rusqlite::{Connection, params};

use crate::error::AppResult;

pub fn record(conn: &Connection, org: i64, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached("INSERT INTO search_outbox (org, contact_id) VALUES (?1, ?2)")?
        .execute(params![org, contact_id])?;
    Ok(())
}
