//! Saved segments: a named, stored `ContactFilter` per organization.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::new_id;
use crate::error::{AppError, AppResult};
use crate::model::ContactFilter;
use crate::model::time::now_ms;

#[derive(Debug, Clone)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub filter: ContactFilter,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, filters, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<(String, String, String, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn build(row: (String, String, String, i64, i64)) -> AppResult<Segment> {
    let (id, name, filters, created_at, updated_at) = row;
    let value: serde_json::Value = serde_json::from_str(&filters)?;
    // Stored filters were validated on the way in; a failure here is a bug.
    let filter = ContactFilter::from_json(&value, "filters")
        .map_err(|e| AppError::internal(format!("stored segment {id} has bad filters: {e}")))?;
    Ok(Segment {
        id,
        name,
        filter,
        created_at,
        updated_at,
    })
}

pub fn get(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Segment>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM segments WHERE id = ?1 AND org = ?2"
    ))?
    .query_row(params![id, org], from_row)
    .optional()?
    .map(build)
    .transpose()
}

pub fn list(conn: &Connection, org: i64) -> AppResult<Vec<Segment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM segments WHERE org = ?1 ORDER BY name COLLATE NOCASE, id"
    ))?;
    let rows = stmt
        .query_map([org], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(build).collect()
}

fn name_conflict() -> AppError {
    AppError::Conflict("a segment with this name already exists in this organization".into())
}

/// Names are unique per organization, ignoring case.
fn check_name_free(conn: &Connection, org: i64, name: &str, except: &str) -> AppResult<()> {
    let taken: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM segments WHERE org = ?1 AND name = ?2 COLLATE NOCASE AND id <> ?3",
        )?
        .query_row(params![org, name, except], |r| r.get(0))
        .optional()?;
    match taken {
        Some(_) => Err(name_conflict()),
        None => Ok(()),
    }
}

fn map_unique(err: rusqlite::Error) -> AppError {
    if super::is_unique_violation(&err) {
        name_conflict()
    } else {
        err.into()
    }
}

pub fn create(
    conn: &Connection,
    org: i64,
    name: &str,
    filter: &ContactFilter,
) -> AppResult<Segment> {
    check_name_free(conn, org, name, "")?;
    let id = new_id();
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO segments (id, org, name, filters, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![id, org, name, filter.to_json().to_string(), now])
    .map_err(map_unique)?;
    Ok(Segment {
        id,
        name: name.to_string(),
        filter: filter.clone(),
        created_at: now,
        updated_at: now,
    })
}

/// Changes the name and/or the filters. `None` when the segment is not in
/// `org`.
pub fn update(
    conn: &Connection,
    org: i64,
    id: &str,
    name: Option<&str>,
    filter: Option<&ContactFilter>,
) -> AppResult<Option<Segment>> {
    let Some(mut seg) = get(conn, org, id)? else {
        return Ok(None);
    };
    if let Some(name) = name {
        check_name_free(conn, org, name, id)?;
        seg.name = name.to_string();
    }
    if let Some(filter) = filter {
        seg.filter = filter.clone();
    }
    seg.updated_at = now_ms().max(seg.updated_at);
    conn.prepare_cached(
        "UPDATE segments SET name = ?3, filters = ?4, updated_at = ?5 WHERE id = ?1 AND org = ?2",
    )?
    .execute(params![
        id,
        org,
        seg.name,
        seg.filter.to_json().to_string(),
        seg.updated_at
    ])
    .map_err(map_unique)?;
    Ok(Some(seg))
}

pub fn delete(conn: &Connection, org: i64, id: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM segments WHERE id = ?1 AND org = ?2")?
        .execute(params![id, org])?
        > 0)
}
