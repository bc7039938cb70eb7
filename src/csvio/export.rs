//! Export: every contact a filter matches, as CSV or NDJSON, read in keyset
//! pages so memory stays constant.

use std::io::Write;

use rusqlite::Connection;

use super::mapping::{CUSTOM_PREFIX, render_value};
use crate::error::{AppError, AppResult, quote};
use crate::listing::Walk;
use crate::model::time::format_ms;
use crate::model::{Contact, ContactFilter, SortBy};
use crate::search::Search;
use crate::store::{contacts, imports};

/// Contacts per page read from SQLite.
pub const PAGE: u32 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        match s.map(str::to_ascii_lowercase).as_deref() {
            None | Some("csv") => Ok(Format::Csv),
            Some("ndjson") => Ok(Format::Ndjson),
            Some(other) => Err(AppError::invalid_parameter(
                "format",
                format!("format must be csv or ndjson, not {}", quote(other)),
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// The fixed CSV columns, before one `customFields.<key>` column per key.
pub const COLUMNS: &[&str] = &[
    "id",
    "phone",
    "email",
    "firstName",
    "lastName",
    "address",
    "city",
    "state",
    "zip",
    "tags",
    "timezone",
    "isOptedIn",
    "optedOutAt",
    "isStarred",
    "isArchived",
    "isTextable",
    "lineType",
    "lookupStatus",
    "lookedUpAt",
    "createdAt",
    "updatedAt",
];

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// A contact's CSV cells, any that a spreadsheet would run as a formula
/// neutralized (see [`super::formula`]), the phone (E.164) aside.
fn csv_row(c: &Contact, keys: &[String]) -> Vec<String> {
    let mut row = raw_row(c, keys);
    for (i, cell) in row.iter_mut().enumerate() {
        if i != PHONE_COLUMN
            && let std::borrow::Cow::Owned(safe) = super::formula::neutralize(cell)
        {
            *cell = safe;
        }
    }
    row
}

/// Where the phone is in [`COLUMNS`].
const PHONE_COLUMN: usize = 1;

fn raw_row(c: &Contact, keys: &[String]) -> Vec<String> {
    let mut row = vec![
        c.id.clone(),
        opt(&c.phone).to_string(),
        opt(&c.email).to_string(),
        opt(&c.first_name).to_string(),
        opt(&c.last_name).to_string(),
        opt(&c.address).to_string(),
        opt(&c.city).to_string(),
        opt(&c.state).to_string(),
        opt(&c.zip).to_string(),
        c.tags.as_slice().join(";"),
        opt(&c.timezone).to_string(),
        c.is_opted_in.to_string(),
        c.opted_out_at.map(format_ms).unwrap_or_default(),
        c.is_starred.to_string(),
        c.is_archived.to_string(),
        c.is_textable.map(|b| b.to_string()).unwrap_or_default(),
        opt(&c.line_type).to_string(),
        opt(&c.lookup_status).to_string(),
        c.looked_up_at.map(format_ms).unwrap_or_default(),
        format_ms(c.created_at),
        format_ms(c.updated_at),
    ];
    for k in keys {
        row.push(
            c.custom_fields
                .as_map()
                .get(k)
                .map(render_value)
                .unwrap_or_default(),
        );
    }
    row
}

fn io(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("writing the export: {e}"))
}

/// Writes every contact of `org` matching `filter` (newest first by
/// creation, which never moves under concurrent updates) to `out`. Returns
/// how many were written.
pub fn write(
    conn: &Connection,
    search: &Search,
    org: i64,
    org_uuid: &str,
    filter: &ContactFilter,
    format: Format,
    out: &mut dyn Write,
) -> AppResult<u64> {
    enum Sink<'a> {
        Csv(Box<csv::Writer<&'a mut dyn Write>>),
        Ndjson(&'a mut dyn Write),
    }
    let mut keys = Vec::new();
    let mut sink = if format == Format::Csv {
        keys = if filter.is_empty() {
            imports::all_custom_field_keys(conn, org)?
        } else if filter.search.is_none() {
            let w = contacts::build_where(conn, org, filter)?;
            imports::custom_field_keys(conn, &w)?
        } else {
            search_custom_field_keys(conn, search, org, filter)?
        };
        let mut wtr = csv::WriterBuilder::new().from_writer(out);
        let mut header: Vec<String> = COLUMNS.iter().map(|s| s.to_string()).collect();
        header.extend(keys.iter().map(|k| format!("{CUSTOM_PREFIX}{k}")));
        wtr.write_record(&header).map_err(io)?;
        Sink::Csv(Box::new(wtr))
    } else {
        Sink::Ndjson(out)
    };
    let mut written = 0u64;
    let mut ndjson = Vec::new();
    Walk::new(filter.clone(), SortBy::CreatedAt, PAGE).for_each(conn, search, org, |page| {
        for c in &page.contacts {
            match &mut sink {
                Sink::Csv(wtr) => wtr.write_record(csv_row(c, &keys)).map_err(io)?,
                Sink::Ndjson(out) => {
                    ndjson.clear();
                    serde_json::to_writer(&mut ndjson, &c.to_json(org_uuid))?;
                    ndjson.push(b'\n');
                    out.write_all(&ndjson).map_err(io)?;
                }
            }
            written += 1;
        }
        Ok(())
    })?;
    match sink {
        Sink::Csv(mut wtr) => wtr.flush().map_err(io)?,
        Sink::Ndjson(out) => out.flush().map_err(io)?,
    }
    Ok(written)
}

/// The custom-field keys of the contacts a search filter matches, sorted.
fn search_custom_field_keys(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
) -> AppResult<Vec<String>> {
    let mut keys = std::collections::BTreeSet::new();
    Walk::new(filter.clone(), SortBy::CreatedAt, PAGE).for_each(conn, search, org, |page| {
        for c in page.contacts {
            keys.extend(c.custom_fields.as_map().keys().cloned());
        }
        Ok(())
    })?;
    Ok(keys.into_iter().collect())
}
