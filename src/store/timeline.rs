//! Timeline events, written in the same transaction as their cause. An
//! event names its contact by key (see `schema.sql`); the functions here
//! take the contact's id and look its key up.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::contacts::rows;
use super::new_id;
use crate::error::{AppError, AppResult};
use crate::model::time::now_ms;

/// Records an event of the contact `contact_id` of `org`, which must exist.
pub fn record(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    kind: &str,
    data: &Value,
) -> AppResult<()> {
    // The key first, then a one-row INSERT ... VALUES: an INSERT ... SELECT
    // opens a statement journal, which copies every page it changes.
    let Some(contact) = rows::key(conn, org, contact_id)? else {
        return Err(AppError::internal(format!(
            "a {kind} event for contact {contact_id}, which is not there"
        )));
    };
    record_key(conn, org, contact, kind, data)
}

/// [`record`] for the contact whose key the caller holds (the write path,
/// which has just written its row).
pub fn record_key(
    conn: &Connection,
    org: i64,
    contact: i64,
    kind: &str,
    data: &Value,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO timeline_events (id, org, contact, type, data, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        new_id(),
        org,
        contact,
        kind,
        data.to_string(),
        now_ms()
    ])?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub data: Value,
    pub created_at: i64,
}

/// Up to `limit` of the contact's events older than `before_seq` (all when
/// None), newest first.
pub fn list(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    before_seq: Option<i64>,
    limit: u32,
) -> AppResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, type, data, created_at FROM timeline_events
          WHERE contact = (SELECT key FROM contacts WHERE id = ?1 AND org = ?2)
            AND org = ?2 AND seq < ?3
          ORDER BY seq DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![contact_id, org, before_seq.unwrap_or(i64::MAX), limit],
        |r| {
            let data: String = r.get(3)?;
            Ok(Event {
                seq: r.get(0)?,
                id: r.get(1)?,
                kind: r.get(2)?,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
                created_at: r.get(4)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// True when the contact already has an `inbound_message` event for this
/// provider message id (a webhook delivered twice).
pub fn has_inbound_message(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    message_sid: &str,
) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM timeline_events
              WHERE contact = (SELECT key FROM contacts WHERE id = ?1 AND org = ?2)
                AND org = ?2 AND type = 'inbound_message'
                AND json_extract(data, '$.messageSid') = ?3)",
        )?
        .query_row(params![contact_id, org, message_sid], |r| r.get(0))?)
}
