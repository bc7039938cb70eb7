//! Evaluating a contact filter: first resolve a [`ContactFilter`] (from the
//! query string, a saved segment or a bulk body), then list or count it.
//!
//! Listing goes through `listing::list_contacts`, the same path as an
//! ad-hoc filter: SQL without `search`, the search index with it.

use rusqlite::Connection;

use crate::error::{AppError, AppResult};
use crate::listing;
use crate::model::{ContactFilter, ListParams};
use crate::search::Search;
use crate::store::contacts::{self, Page};
use crate::store::segments::{self, Segment};

/// The organization's segment `raw_id`; an unknown, malformed or foreign id
/// is 404.
pub fn segment(conn: &Connection, org: i64, raw_id: &str) -> AppResult<Segment> {
    let id = super::extract::path_id(raw_id, "segment")?;
    segments::get(conn, org, &id)?.ok_or_else(|| AppError::not_found("segment"))
}

/// The filter a saved segment stands for.
pub fn segment_filter(conn: &Connection, org: i64, raw_id: &str) -> AppResult<ContactFilter> {
    Ok(segment(conn, org, raw_id)?.filter)
}

/// One page of the contacts matching a resolved filter.
pub fn list(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Page> {
    listing::list_contacts(conn, search, org, filter, params)
}

/// How many contacts match a resolved filter.
pub fn count(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
) -> AppResult<i64> {
    if filter.search.is_none() {
        return contacts::count(conn, org, filter);
    }
    let params = ListParams {
        limit: 1,
        include_total: true,
        ..ListParams::default()
    };
    Ok(listing::list_contacts(conn, search, org, filter, &params)?
        .total
        .unwrap_or(0))
}

/// The ids of every contact matching a filter that contains `search`, newest
/// created first.
pub fn search_ids(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
) -> AppResult<Vec<String>> {
    let params = ListParams {
        sort_by: crate::model::SortBy::CreatedAt,
        ..ListParams::default()
    };
    let mut ids = Vec::new();
    listing::for_each_matching_id(conn, search, org, filter, &params, 1_000, |batch| {
        ids.extend_from_slice(batch);
        Ok(())
    })?;
    Ok(ids)
}
