//! Export: every contact a filter matches, as CSV or NDJSON, read in keyset
//! pages so memory stays constant.

use std::io::Write;

use rusqlite::Connection;

use super::mapping::{CUSTOM_PREFIX, render_value};
use crate::error::{AppError, AppResult, quote};
use crate::listing::Walk;
use crate::model::contact::{FIELDS, FieldDef, FieldValue, Kind};
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

/// The fixed CSV columns, before one `customFields.<key>` column per key:
/// the exported fields of [`FIELDS`].
pub fn columns() -> impl Iterator<Item = &'static FieldDef> {
    FIELDS.iter().filter(|f| f.exported)
}

/// A contact's CSV cells, any that a spreadsheet would run as a formula
/// neutralized (see [`super::formula`]), the phone (E.164) aside.
fn csv_row(c: &Contact, keys: &[String]) -> Vec<String> {
    let mut row = Vec::with_capacity(FIELDS.len() + keys.len());
    let mut phone = None;
    for (f, value) in FIELDS.iter().zip(c.values()).filter(|(f, _)| f.exported) {
        if f.api == "phone" {
            phone = Some(row.len());
        }
        row.push(cell(f.kind, value));
    }
    for k in keys {
        row.push(
            c.custom_fields
                .as_map()
                .get(k)
                .map(render_value)
                .unwrap_or_default(),
        );
    }
    for (i, cell) in row.iter_mut().enumerate() {
        if Some(i) != phone
            && let std::borrow::Cow::Owned(safe) = super::formula::neutralize(cell)
        {
            *cell = safe;
        }
    }
    row
}

/// One field's cell: empty for null, times in RFC 3339, tags joined by `;`.
fn cell(kind: Kind, value: FieldValue<'_>) -> String {
    match (kind, value) {
        (Kind::Time | Kind::OptTime, FieldValue::Int(t)) => t.map(format_ms).unwrap_or_default(),
        (_, FieldValue::Text(s)) => s.unwrap_or_default().to_string(),
        (_, FieldValue::Int(n)) => n.map(|n| n.to_string()).unwrap_or_default(),
        (_, FieldValue::Bool(b)) => b.map(|b| b.to_string()).unwrap_or_default(),
        (_, FieldValue::Tags(t)) => t.as_slice().join(";"),
        (_, FieldValue::CustomFields(_)) => String::new(),
    }
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
        let mut header: Vec<String> = columns().map(|f| f.api.to_string()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exported_field_has_a_column_and_its_cell() {
        let c = Contact::new(
            "00000000-0000-7000-8000-000000000001".into(),
            1,
            1_700_000_000_000,
        );
        let header: Vec<&str> = columns().map(|f| f.api).collect();
        let row = csv_row(&c, &[]);
        assert_eq!(row.len(), header.len());
        for f in FIELDS {
            assert_eq!(header.contains(&f.api), f.exported, "{}", f.api);
        }
        let at = |api: &str| row[header.iter().position(|h| *h == api).unwrap()].clone();
        assert_eq!(at("id"), c.id);
        assert_eq!(at("isOptedIn"), "true");
        assert_eq!(at("createdAt"), "2023-11-14T22:13:20.000Z");
        assert_eq!(at("phone"), "");
    }
}
