//! A contact's row: the columns, reading a row into a [`Contact`], and the
//! values an insert or update writes, all from the field table
//! ([`FIELDS`]).

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, Type, Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row};

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

/// The stored column no field shows: the email's uniqueness key.
const EMAIL_KEY: &str = "email_key";

fn email_key_of(c: &Contact) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(
        c.email
            .as_deref()
            .map_or(SqlValue::Null, |e| SqlValue::Text(email_key(e))),
    )
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
