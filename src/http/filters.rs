//! Evaluating a contact filter: first resolve a [`ContactFilter`] (from the
//! query string, a saved segment or a bulk body), then list or count it.
//!
//! Filters without `search` are answered by the SQL read path
//! (`store::contacts::list` / `count`), the very same statements an ad-hoc
//! filter uses. Filters with `search` belong to the search index; until it
//! exists, [`search_filters_unavailable`] answers them.

use rusqlite::Connection;

use crate::error::{AppError, AppResult};
use crate::model::{ContactFilter, ListParams};
use crate::store::contacts::{self, Page};
use crate::store::segments::{self, Segment};

/// The answer for a stored or bulk filter that contains `search`, which only
/// the search index can evaluate; it stands in until that index exists.
pub fn search_filters_unavailable() -> AppError {
    AppError::invalid_parameter("search", "search filters are not available yet")
}

/// The organization's segment `raw_id`; an unknown, malformed or foreign id
/// is 404.
pub fn segment(conn: &Connection, org: i64, raw_id: &str) -> AppResult<Segment> {
    let id = uuid::Uuid::parse_str(raw_id.trim())
        .map_err(|_| AppError::not_found("segment"))?
        .hyphenated()
        .to_string();
    segments::get(conn, org, &id)?.ok_or_else(|| AppError::not_found("segment"))
}

/// The filter a saved segment stands for.
pub fn segment_filter(conn: &Connection, org: i64, raw_id: &str) -> AppResult<ContactFilter> {
    Ok(segment(conn, org, raw_id)?.filter)
}

/// Refuses what the SQL path cannot answer.
pub fn require_sql(filter: &ContactFilter) -> AppResult<()> {
    if filter.search.is_some() {
        return Err(search_filters_unavailable());
    }
    Ok(())
}

/// One page of the contacts matching a resolved filter.
pub fn list(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Page> {
    require_sql(filter)?;
    contacts::list(conn, org, filter, params)
}

/// How many contacts match a resolved filter.
pub fn count(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<i64> {
    require_sql(filter)?;
    contacts::count(conn, org, filter)
}
