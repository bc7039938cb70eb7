//! Reading contacts by id, phone or email.

use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{columns, from_row};
use crate::error::{AppError, AppResult};
use crate::model::{Contact, ContactPatch};

pub fn get(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Contact>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {} FROM contacts WHERE id = ?1 AND org = ?2",
            columns()
        ))?
        .query_row(params![id, org], from_row)
        .optional()?)
}

/// The contact, or the contract's 404.
pub fn require(conn: &Connection, org: i64, id: &str) -> AppResult<Contact> {
    get(conn, org, id)?.ok_or_else(|| AppError::not_found("contact"))
}

/// Loads contacts by id, in the order of `ids`; ids not in `org` are skipped.
pub fn get_many(conn: &Connection, org: i64, ids: &[String]) -> AppResult<Vec<Contact>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM contacts WHERE id = ?1 AND org = ?2",
        columns()
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = stmt.query_row(params![id, org], from_row).optional()? {
            out.push(c);
        }
    }
    Ok(out)
}

pub fn id_by_phone(conn: &Connection, org: i64, phone: &str) -> AppResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM contacts WHERE org = ?1 AND phone = ?2")?
        .query_row(params![org, phone], |r| r.get(0))
        .optional()?)
}

/// The contact a create merges into: the one with the patch's phone or its
/// email, as (id, createdAt). 409 when the phone matches one contact and the
/// email another.
pub fn find_existing(
    conn: &Connection,
    org: i64,
    patch: &ContactPatch,
) -> AppResult<Option<(String, i64)>> {
    let mut by_phone = None;
    if let Some(p) = patch.phone.value() {
        by_phone = conn
            .prepare_cached("SELECT id, created_at FROM contacts WHERE org = ?1 AND phone = ?2")?
            .query_row(params![org, p.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    }
    let mut by_email: Option<(String, i64)> = None;
    if let Some(e) = patch.email.value() {
        by_email = conn
            .prepare_cached(
                "SELECT id, created_at FROM contacts
                  WHERE org = ?1 AND coalesce(email_key, email) = ?2 AND email IS NOT NULL",
            )?
            .query_row(params![org, e.key()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    }
    match (by_phone, by_email) {
        (Some(a), Some(b)) if a.0 != b.0 => Err(AppError::Conflict(
            "the phone matches one contact and the email another; update them separately".into(),
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) => Ok(None),
    }
}

/// How many contacts there are, in every organization.
pub fn count_all(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM contacts")?
        .query_row([], |r| r.get(0))?)
}

/// Calls `f` with every contact of every organization (for an index rebuild).
pub fn for_each(conn: &Connection, mut f: impl FnMut(Contact) -> AppResult<()>) -> AppResult<()> {
    let mut stmt = conn.prepare(&format!("SELECT {} FROM contacts", columns()))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(from_row(row)?)?;
    }
    Ok(())
}
