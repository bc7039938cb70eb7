//! Notes on a contact. Adding one records `note_added` on the timeline in
//! the same transaction. Deleting the contact deletes its notes
//! (`contacts::delete`).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use super::{new_id, timeline};
use crate::error::AppResult;
use crate::model::time::now_ms;

#[derive(Debug, Clone)]
pub struct Note {
    pub id: String,
    pub contact_id: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, contact_id, body, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Note> {
    Ok(Note {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        body: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// The contact's notes, newest first.
pub fn list(conn: &Connection, org: i64, contact_id: &str) -> AppResult<Vec<Note>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notes WHERE contact_id = ?1 AND org = ?2
         ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map(params![contact_id, org], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, org: i64, contact_id: &str, id: &str) -> AppResult<Option<Note>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM notes WHERE id = ?1 AND contact_id = ?2 AND org = ?3"
        ))?
        .query_row(params![id, contact_id, org], from_row)
        .optional()?)
}

/// Adds a note to a contact the caller has already found in `org`.
pub fn create(conn: &Connection, org: i64, contact_id: &str, body: &str) -> AppResult<Note> {
    let now = now_ms();
    let note = Note {
        id: new_id(),
        contact_id: contact_id.to_string(),
        body: body.to_string(),
        created_at: now,
        updated_at: now,
    };
    conn.prepare_cached(
        "INSERT INTO notes (id, org, contact_id, body, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        note.id,
        org,
        note.contact_id,
        note.body,
        note.created_at
    ])?;
    timeline::record(
        conn,
        org,
        contact_id,
        "note_added",
        &json!({ "noteId": note.id }),
    )?;
    Ok(note)
}

pub fn update(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    id: &str,
    body: &str,
) -> AppResult<Option<Note>> {
    let Some(mut note) = get(conn, org, contact_id, id)? else {
        return Ok(None);
    };
    note.body = body.to_string();
    note.updated_at = now_ms().max(note.updated_at);
    conn.prepare_cached("UPDATE notes SET body = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, note.body, note.updated_at])?;
    Ok(Some(note))
}

pub fn delete(conn: &Connection, org: i64, contact_id: &str, id: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM notes WHERE id = ?1 AND contact_id = ?2 AND org = ?3")?
        .execute(params![id, contact_id, org])?
        > 0)
}
