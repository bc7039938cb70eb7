//! API keys: random, shown once, stored only as a SHA-256 hash.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::new_id;
use crate::error::{AppError, AppResult};
use crate::model::time::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            _ => None,
        }
    }
}

/// The caller an API key stands for.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: String,
    pub org: i64,
    pub org_id: String,
    pub access: Access,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: String,
    pub org_name: String,
    pub access: Access,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key for `org`; returns its id and the plaintext, which is never
/// stored.
pub fn create(conn: &Connection, org: i64, access: Access) -> AppResult<(String, String)> {
    let secret: [u8; 32] = rand::random();
    let key = format!("rst_{}", hex::encode(secret));
    let id = insert(conn, org, access, &key, false)?;
    Ok((id, key))
}

fn insert(
    conn: &Connection,
    org: i64,
    access: Access,
    key: &str,
    bootstrap: bool,
) -> AppResult<String> {
    let id = new_id();
    conn.execute(
        "INSERT INTO api_keys (id, org, key_hash, access, created_at, bootstrap)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, org, hash_key(key), access.as_str(), now_ms(), bootstrap],
    )?;
    Ok(id)
}

/// A key given by whoever starts the server (`--bootstrap-key`): printable
/// ASCII without spaces, long enough not to be guessed.
pub fn check_bootstrap_key(key: &str) -> Result<(), String> {
    let n = key.chars().count();
    if !(24..=200).contains(&n) {
        return Err(format!(
            "the bootstrap key must be 24 to 200 characters long; this one has {n}"
        ));
    }
    if !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "the bootstrap key may only hold printable ASCII characters, without spaces".into(),
        );
    }
    Ok(())
}

/// What making sure of a bootstrap key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrapped {
    /// The key was there already.
    Kept,
    /// The key was added (and any earlier bootstrap key of the
    /// organization revoked).
    Created,
}

/// Makes sure `key` is an active write key of `org`. An earlier bootstrap
/// key of the organization is revoked when the key changes, so only the
/// configured one works. A key that belongs to another organization, or was
/// revoked, is refused.
pub fn ensure_bootstrap(conn: &Connection, org: i64, key: &str) -> AppResult<Bootstrapped> {
    let found: Option<(i64, Option<i64>)> = conn
        .query_row(
            "SELECT org, revoked_at FROM api_keys WHERE key_hash = ?1",
            [hash_key(key)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        Some((owner, _)) if owner != org => Err(AppError::Conflict(
            "the bootstrap key already belongs to another organization".into(),
        )),
        Some((_, Some(_))) => Err(AppError::Conflict(
            "the bootstrap key was revoked; choose a new one".into(),
        )),
        Some(_) => Ok(Bootstrapped::Kept),
        None => {
            conn.execute(
                "UPDATE api_keys SET revoked_at = ?2
                  WHERE org = ?1 AND bootstrap = 1 AND revoked_at IS NULL",
                params![org, now_ms()],
            )?;
            insert(conn, org, Access::Write, key, true)?;
            Ok(Bootstrapped::Created)
        }
    }
}

pub fn authenticate(conn: &Connection, key: &str) -> AppResult<Option<KeyOwner>> {
    Ok(conn
        .prepare_cached(
            "SELECT k.id, k.org, o.id, k.access, k.last_used_at
               FROM api_keys k JOIN organizations o ON o.org = k.org
              WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
        )?
        .query_row([hash_key(key)], |r| {
            Ok(KeyOwner {
                key_id: r.get(0)?,
                org: r.get(1)?,
                org_id: r.get(2)?,
                access: Access::parse(&r.get::<_, String>(3)?).unwrap_or(Access::Read),
                last_used_at: r.get(4)?,
            })
        })
        .optional()?)
}

pub fn touch(conn: &Connection, key_id: &str, at: i64) -> AppResult<()> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
        params![key_id, at],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> AppResult<Vec<KeyInfo>> {
    let mut stmt = conn.prepare(
        "SELECT k.id, o.name, k.access, k.created_at, k.last_used_at, k.revoked_at
           FROM api_keys k JOIN organizations o ON o.org = k.org
          ORDER BY k.created_at",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(KeyInfo {
            id: r.get(0)?,
            org_name: r.get(1)?,
            access: Access::parse(&r.get::<_, String>(2)?).unwrap_or(Access::Read),
            created_at: r.get(3)?,
            last_used_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes the key; false if there is no such active key.
pub fn revoke(conn: &Connection, id: &str) -> AppResult<bool> {
    let n = conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now_ms()],
    )?;
    Ok(n == 1)
}

pub fn count(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0))?)
}

/// What `GET /api/me` tells a key about itself: its organization's name and
/// its own creation time.
pub fn describe(conn: &Connection, key_id: &str) -> AppResult<Option<(String, i64)>> {
    Ok(conn
        .query_row(
            "SELECT o.name, k.created_at
               FROM api_keys k JOIN organizations o ON o.org = k.org
              WHERE k.id = ?1",
            [key_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Whether the key `key_id` exists and is not revoked.
pub fn is_active(conn: &Connection, key_id: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM api_keys WHERE id = ?1 AND revoked_at IS NULL")?
        .query_row([key_id], |_| Ok(()))
        .optional()?
        .is_some())
}
