//! A contact's row: the columns, reading a row into a [`Contact`], and the
//! values an insert or update writes, all from the field table
//! ([`FIELDS`]).

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, Type, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use crate::model::Contact;
use crate::model::contact::{FIELDS, FieldValue, Stored};
use crate::model::fields::email_key;

/// The columns a contact is read from, in the order of [`FIELDS`].
pub fn columns() -> &'static str {
    static COLUMNS: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<&str> = FIELDS.iter().map(|f| f.column).collect();
        names.join(", ")
    });
    &COLUMNS
}

/// [`columns`] of the table aliased `c`.
pub fn prefixed_columns() -> &'static str {
    static PREFIXED: LazyLock<String> = LazyLock::new(|| {
        let names: Vec<String> = FIELDS.iter().map(|f| format!("c.{}", f.column)).collect();
        names.join(", ")
    });
    &PREFIXED
}

pub fn from_row(r: &Row) -> rusqlite::Result<Contact> {
    from_row_at(r, 0)
}

/// A contact read from [`columns`] starting at column `at` of `r`.
pub fn from_row_at(r: &Row, at: usize) -> rusqlite::Result<Contact> {
    let mut values = Vec::with_capacity(FIELDS.len());
    for i in at..at + FIELDS.len() {
        values.push(match r.get_ref(i)? {
            ValueRef::Null => Stored::Null,
            ValueRef::Integer(n) => Stored::Int(n),
            ValueRef::Text(t) => Stored::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Real(_) | ValueRef::Blob(_) => {
                return Err(rusqlite::Error::InvalidColumnType(
                    i,
                    FIELDS[i - at].column.into(),
                    r.get_ref(i)?.data_type(),
                ));
            }
        });
    }
    Contact::load(values)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(at, Type::Text, e.into()))
}

/// The stored form of one field's value.
fn sql(value: FieldValue<'_>) -> ToSqlOutput<'_> {
    match value {
        FieldValue::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        FieldValue::Int(Some(n)) => ToSqlOutput::Owned(SqlValue::Integer(n)),
        FieldValue::Bool(Some(b)) => ToSqlOutput::Owned(SqlValue::Integer(b.into())),
        FieldValue::Text(None) | FieldValue::Int(None) | FieldValue::Bool(None) => {
            ToSqlOutput::Owned(SqlValue::Null)
        }
        FieldValue::Tags(t) => ToSqlOutput::Owned(SqlValue::Text(t.to_json())),
        FieldValue::CustomFields(f) => ToSqlOutput::Owned(SqlValue::Text(f.to_json())),
    }
}

/// The stored column no field shows: the email's uniqueness key, when it
/// is not the email itself (`coalesce(email_key, email)` is the key; see
/// `schema.sql`).
const EMAIL_KEY: &str = "email_key";

fn email_key_of(c: &Contact) -> ToSqlOutput<'static> {
    let key = c
        .email
        .as_deref()
        .map(|e| (e, email_key(e)))
        .filter(|(email, key)| email != key);
    ToSqlOutput::Owned(key.map_or(SqlValue::Null, |(_, key)| SqlValue::Text(key)))
}

/// The id of a contact about to be inserted: a UUID v7 (time-ordered)
/// after the newest contact's id, even when the clock has gone back since,
/// so that keys, assigned in insert order, sort as ids do (see
/// `schema.sql`). Call it in the transaction that inserts the contact.
pub fn next_id(conn: &Connection) -> rusqlite::Result<String> {
    let newest: Option<String> = conn
        .prepare_cached("SELECT id FROM contacts ORDER BY key DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let id = Uuid::now_v7();
    Ok(match newest.and_then(|n| Uuid::parse_str(&n).ok()) {
        Some(newest) if id <= newest => successor(newest),
        _ => id,
    }
    .hyphenated()
    .to_string())
}

/// The UUID v7 right after `id`: its random bits counted up by one, into
/// the millisecond when they are all ones.
fn successor(id: Uuid) -> Uuid {
    const RAND_B: u128 = (1 << 62) - 1;
    const RAND_A: u128 = 0xfff << 64;
    let v = id.as_u128();
    let next = if v & RAND_B != RAND_B {
        v + 1
    } else if v & RAND_A != RAND_A {
        (v & !RAND_B) + (1 << 64)
    } else {
        (((v >> 80) + 1) << 80) | (v & !(RAND_A | RAND_B) & ((1 << 80) - 1))
    };
    Uuid::from_u128(next)
}

/// The internal key of the contact `id` of `org`, if it is there.
pub fn key(conn: &Connection, org: i64, id: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT key FROM contacts WHERE id = ?1 AND org = ?2")?
        .query_row(params![id, org], |r| r.get(0))
        .optional()
}

/// Inserts a new contact's row.
pub fn insert(conn: &Connection, c: &Contact) -> rusqlite::Result<usize> {
    static INSERT: LazyLock<String> = LazyLock::new(|| {
        let marks: Vec<String> = (1..=FIELDS.len() + 1).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO contacts ({}, {EMAIL_KEY}) VALUES ({})",
            columns(),
            marks.join(", ")
        )
    });
    let mut stmt = conn.prepare_cached(&INSERT)?;
    for (i, value) in c.values().into_iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, sql(value))?;
    }
    stmt.raw_bind_parameter(FIELDS.len() + 1, email_key_of(c))?;
    stmt.raw_execute()
}

/// Updates the row of `before` to `after`, setting only the columns whose
/// values differ: SQLite rewrites the entry of every index on a column that
/// an UPDATE sets, changed or not, and the phone, email and ZIP entries sit
/// at random places in large indexes.
pub fn update_changed(
    conn: &Connection,
    before: &Contact,
    after: &Contact,
) -> rusqlite::Result<usize> {
    let (old, new) = (before.values(), after.values());
    let mut set = Vec::new();
    let mut args: Vec<ToSqlOutput> = vec![
        ToSqlOutput::Borrowed(ValueRef::Text(after.id.as_bytes())),
        ToSqlOutput::Owned(SqlValue::Integer(after.org)),
    ];
    for (field, (old, new)) in FIELDS.iter().zip(old.into_iter().zip(new)) {
        if field.column != "id" && field.column != "org" && old != new {
            args.push(sql(new));
            set.push(format!("{} = ?{}", field.column, args.len()));
        }
    }
    let key = email_key_of(after);
    if email_key_of(before) != key {
        args.push(key);
        set.push(format!("{EMAIL_KEY} = ?{}", args.len()));
    }
    if set.is_empty() {
        return Ok(0);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE contacts SET {} WHERE id = ?1 AND org = ?2",
        set.join(", ")
    ))?;
    for (i, arg) in args.into_iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, arg)?;
    }
    stmt.raw_execute()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_id_follows_the_newest_even_one_from_a_clock_that_ran_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::open_connection(&dir.path().join("roster.db")).unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let first = next_id(&conn).unwrap();
        assert_eq!(Uuid::parse_str(&first).unwrap().get_version_num(), 7);
        // A contact written when the clock read the year 10889.
        let ahead = "ffffffff-0000-7abc-8000-000000000001";
        conn.execute_batch(&format!(
            "INSERT INTO organizations (org, id, name, webhook_secret, created_at)
                 VALUES (1, 'o', 'o', 's', 0);
             INSERT INTO contacts (id, org, created_at, updated_at) VALUES ('{first}', 1, 0, 0),
                 ('{ahead}', 1, 0, 0);"
        ))
        .unwrap();
        let next = next_id(&conn).unwrap();
        assert_eq!(next, "ffffffff-0000-7abc-8000-000000000002");
    }

    #[test]
    fn the_id_after_another_sorts_after_it_and_stays_a_version_7_uuid() {
        let cases = [
            "0190a7b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
            // Random bits all ones: into rand_a.
            "0190a7b2-3c4d-7e5f-bfff-ffffffffffff",
            // rand_a and rand_b all ones: into the millisecond.
            "0190a7b2-3c4d-7fff-bfff-ffffffffffff",
        ];
        let mut seen = Vec::new();
        for case in cases {
            let id = Uuid::parse_str(case).unwrap();
            let next = successor(id);
            assert!(next > id, "{next} after {id}");
            assert!(next.hyphenated().to_string().as_str() > case);
            assert_eq!(next.get_version_num(), 7, "{next}");
            assert_eq!(next.get_variant(), uuid::Variant::RFC4122, "{next}");
            seen.push(next.hyphenated().to_string());
        }
        assert_eq!(
            seen,
            [
                "0190a7b2-3c4d-7e5f-8a6b-7c8d9e0f1a2c",
                "0190a7b2-3c4d-7e60-8000-000000000000",
                "0190a7b2-3c4e-7000-8000-000000000000",
            ]
        );
    }
}
