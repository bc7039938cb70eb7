//! All SQL lives here, as plain functions taking a `&Connection` (reads) or a
//! `&Transaction` (writes, always inside `Db::write`).

pub mod bulk;
pub mod contacts;
pub mod imports;
pub mod inbound;
pub mod keys;
pub mod lookups;
pub mod maintenance;
pub mod notes;
pub mod orgs;
pub mod outbox;
pub mod segments;
pub mod tags;
pub mod timeline;
pub mod webhooks;

use rusqlite::ErrorCode;

/// True when `err` is a UNIQUE or PRIMARY KEY constraint violation.
pub fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation
    )
}

/// A new random id (UUID v7: time-ordered, so inserts stay local in indexes).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}
