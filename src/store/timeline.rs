//! Timeline events, written in the same transaction as their cause.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::new_id;
use crate::error::AppResult;
use crate::model::time::now_ms;

pub fn record(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    kind: &str,
    data: &Value,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO timeline_events (id, org, contact_id, type, data, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        new_id(),
        org,
        contact_id,
        kind,
        data.to_string(),
        now_ms()
    ])?;
    Ok(())
}
