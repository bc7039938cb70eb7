//! The search outbox: the intent "reindex contact X", committed with the
//! change that caused it.

use rusqlite::{Connection, params};

use crate::error::AppResult;

pub fn record(conn: &Connection, org: i64, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached("INSERT INTO search_outbox (org, contact_id) VALUES (?1, ?2)")?
        .execute(params![org, contact_id])?;
    Ok(())
}

/// One outbox row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub org: i64,
    pub contact_id: String,
}

/// The oldest `limit` rows, in commit order.
pub fn pending(conn: &Connection, limit: usize) -> AppResult<Vec<Entry>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, org, contact_id FROM search_outbox ORDER BY seq LIMIT ?1")?;
    let rows = stmt
        .query_map([limit as i64], |r| {
            Ok(Entry {
                seq: r.get(0)?,
                org: r.get(1)?,
                contact_id: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The newest row's seq (0 when empty).
pub fn max_seq(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM search_outbox")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes every row up to `seq`: called once the index holds their changes.
pub fn delete_through(conn: &Connection, seq: i64) -> AppResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM search_outbox WHERE seq <= ?1")?
        .execute([seq])?)
}

/// How many rows wait.
pub fn count(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM search_outbox")?
        .query_row([], |r| r.get(0))?)
}
