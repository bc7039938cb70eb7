//! Organizations: the tenancy boundary.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::new_id;
use crate::error::AppResult;
use crate::model::time::now_ms;

#[derive(Debug, Clone)]
pub struct Org {
    /// Internal key used by every other table.
    pub org: i64,
    /// The public id (`organizationId`).
    pub id: String,
    pub name: String,
    pub webhook_secret: String,
    pub twilio_auth_token: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "org, id, name, webhook_secret, twilio_auth_token, created_at";

fn from_row(r: &Row) -> rusqlite::Result<Org> {
    Ok(Org {
        org: r.get(0)?,
        id: r.get(1)?,
        name: r.get(2)?,
        webhook_secret: r.get(3)?,
        twilio_auth_token: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn random_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    hex::encode(bytes)
}

pub fn by_name(conn: &Connection, name: &str) -> AppResult<Option<Org>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM organizations WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?)
}

pub fn by_key(conn: &Connection, org: i64) -> AppResult<Option<Org>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM organizations WHERE org = ?1"),
            [org],
            from_row,
        )
        .optional()?)
}

pub fn by_webhook_secret(conn: &Connection, secret: &str) -> AppResult<Option<Org>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM organizations WHERE webhook_secret = ?1"),
            [secret],
            from_row,
        )
        .optional()?)
}

/// The organization called `name`, created if it does not exist yet.
pub fn get_or_create(conn: &Connection, name: &str) -> AppResult<Org> {
    if let Some(org) = by_name(conn, name)? {
        return Ok(org);
    }
    conn.execute(
        "INSERT INTO organizations (id, name, webhook_secret, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![new_id(), name, random_secret(), now_ms()],
    )?;
    Ok(by_name(conn, name)?.expect("organization inserted above"))
}

pub fn list(conn: &Connection) -> AppResult<Vec<Org>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM organizations ORDER BY name"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_twilio_auth_token(conn: &Connection, org: i64, token: Option<&str>) -> AppResult<()> {
    conn.execute(
        "UPDATE organizations SET twilio_auth_token = ?2 WHERE org = ?1",
        params![org, token],
    )?;
    Ok(())
}

pub fn contact_count(conn: &Connection, org: i64) -> AppResult<i64> {
    Ok(conn.query_row(
        "SELECT contact_count FROM organizations WHERE org = ?1",
        [org],
        |r| r.get(0),
    )?)
}

/// What deleting an organization removes, table by table.
pub const OWNED: &[(&str, &str)] = &[
    ("contacts", "contacts"),
    ("notes", "notes"),
    ("timeline events", "timeline_events"),
    ("tags in use", "tag_counts"),
    ("segments", "segments"),
    ("imports", "imports"),
    ("API keys", "api_keys"),
    ("lookup jobs", "lookup_jobs"),
    ("webhooks", "webhooks"),
    ("webhook deliveries", "webhook_deliveries"),
];

/// How many rows of each owned kind `org` has.
pub fn owned_counts(conn: &Connection, org: i64) -> AppResult<Vec<(&'static str, i64)>> {
    OWNED
        .iter()
        .map(|(label, table)| {
            let n = conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE org = ?1"),
                [org],
                |r| r.get(0),
            )?;
            Ok((*label, n))
        })
        .collect()
}

/// Deletes `org` and everything it owns, and records that its search
/// documents go. One transaction: the caller's.
pub fn delete(conn: &Connection, org: i64) -> AppResult<()> {
    conn.execute(
        "DELETE FROM webhook_attempts WHERE webhook_id IN (SELECT id FROM webhooks WHERE org = ?1)",
        [org],
    )?;
    for table in [
        "webhooks",
        "webhook_deliveries",
        "contacts",
        "contact_tags",
        "tag_counts",
        "field_counts",
        "notes",
        "timeline_events",
        "segments",
        "imports",
        "api_keys",
        "lookup_jobs",
        "search_outbox",
    ] {
        conn.execute(&format!("DELETE FROM {table} WHERE org = ?1"), [org])?;
    }
    super::outbox::record_org_deleted(conn, org)?;
    conn.execute("DELETE FROM organizations WHERE org = ?1", [org])?;
    Ok(())
}
