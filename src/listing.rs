//! Listing contacts for a filter: the one path the list endpoint, segments,
//! bulk actions and export share, from what a request selects
//! ([`Selection`]) to a page, a count or a walk over every match ([`Walk`]).
//!
//! - With `search`, the index answers the whole page (filters, order,
//!   cursor, total) and SQLite loads the page's rows by id.
//! - Without, SQL answers when it can within a bounded read: no filter, a
//!   selective index, or a page found in the first [`contacts::WALK_BOUND`]
//!   entries of the sort index. Otherwise (a filter matching few contacts,
//!   or matching them far down the order) the index finds the candidates
//!   and SQL checks them: every candidate and every contact with a change
//!   the index has not applied yet (the search outbox) is tested against
//!   the database, so the page is exactly what SQL would answer. When the
//!   index is not open, or the outbox is long (an import running), SQL
//!   walks as far as it must.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::error::{AppError, AppResult};
use crate::model::{ContactFilter, ListParams, SortBy};
use crate::search::{Order, START_WAIT, Search, Start};
use crate::store::contacts::{self, Page};
use crate::store::outbox;
use crate::store::segments::{self, Segment};

/// Pending outbox rows the index path completes itself; past this, SQL.
const OUTBOX_LIMIT: usize = 2_000;

/// One page of the contacts in `org` matching `filter`.
pub fn list_contacts(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Page> {
    if filter.search.is_none() {
        if params.by_relevance {
            return Err(AppError::invalid_parameter(
                "sortBy",
                "sortBy=relevance orders search results; it needs a search",
            ));
        }
        if let Some(mut page) = contacts::list_bounded(conn, org, filter, params)? {
            if params.include_total {
                page.total = Some(total(conn, search, org, filter)?);
            }
            return Ok(page);
        }
        if let Some(page) = from_index(conn, search, org, filter, params)? {
            return Ok(page);
        }
        return contacts::list(conn, org, filter, params);
    }
    let order = if params.by_relevance {
        Order::Relevance
    } else {
        Order::Field(params.sort_by)
    };
    let start = match &params.cursor {
        Some(c) => Start::After(c.ts, c.id.clone()),
        None => Start::Offset(params.offset),
    };
    let hits = search.page(
        org,
        filter,
        order,
        &start,
        params.limit as usize,
        params.include_total,
    )?;
    let ids: Vec<String> = hits.hits.into_iter().map(|h| h.id).collect();
    Ok(Page {
        contacts: contacts::get_many(conn, org, &ids)?,
        has_more: hits.has_more,
        total: hits.total.map(|t| t as i64),
    })
}

/// What a request selects contacts by: a saved segment, whose filter
/// replaces any ad-hoc one (as documented), or an ad-hoc filter.
#[derive(Debug, Clone)]
pub enum Selection {
    /// A segment's id as the client sent it.
    Segment(String),
    Filter(ContactFilter),
}

impl Selection {
    /// From a query string: `segmentId`, else the ad-hoc filters.
    pub fn from_query(get: &dyn Fn(&str) -> Option<String>) -> AppResult<Self> {
        Ok(match get("segmentId") {
            Some(raw) => Self::Segment(raw),
            None => Self::Filter(ContactFilter::from_query(get)?),
        })
    }

    /// The filter selected; an unknown, malformed or foreign segment is 404.
    pub fn resolve(self, conn: &Connection, org: i64) -> AppResult<ContactFilter> {
        match self {
            Self::Segment(raw) => Ok(segment(conn, org, &raw)?.filter),
            Self::Filter(filter) => Ok(filter),
        }
    }
}

/// The organization's segment `raw_id`; an unknown, malformed or foreign id
/// is 404.
pub fn segment(conn: &Connection, org: i64, raw_id: &str) -> AppResult<Segment> {
    let id = crate::model::parse_id(raw_id, "segment")?;
    segments::get(conn, org, &id)?.ok_or_else(|| AppError::not_found("segment"))
}

/// Every contact matching a filter, a keyset page at a time, in the order
/// of `sort`. Each page is read on the connection the caller passes, so a
/// walk can span several transactions (a bulk action commits per page).
#[derive(Debug, Clone)]
pub struct Walk {
    filter: ContactFilter,
    params: ListParams,
    done: bool,
}

impl Walk {
    pub fn new(filter: ContactFilter, sort: SortBy, batch: u32) -> Self {
        Self {
            filter,
            params: ListParams {
                limit: batch,
                sort_by: sort,
                ..ListParams::default()
            },
            done: false,
        }
    }

    /// The next page; None once every match was returned.
    pub fn next_page(
        &mut self,
        conn: &Connection,
        search: &Search,
        org: i64,
    ) -> AppResult<Option<Page>> {
        if self.done {
            return Ok(None);
        }
        let page = list_contacts(conn, search, org, &self.filter, &self.params)?;
        self.params.cursor = page.next_cursor(self.params.sort_by);
        self.done = self.params.cursor.is_none();
        Ok(Some(page))
    }

    /// Calls `f` with each page on one connection.
    pub fn for_each(
        mut self,
        conn: &Connection,
        search: &Search,
        org: i64,
        mut f: impl FnMut(Page) -> AppResult<()>,
    ) -> AppResult<()> {
        while let Some(page) = self.next_page(conn, search, org)? {
            f(page)?;
        }
        Ok(())
    }
}

/// How many contacts match a filter.
pub fn count(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
) -> AppResult<i64> {
    if filter.search.is_none() {
        return total(conn, search, org, filter);
    }
    let params = ListParams {
        limit: 1,
        include_total: true,
        ..ListParams::default()
    };
    Ok(list_contacts(conn, search, org, filter, &params)?
        .total
        .unwrap_or(0))
}

/// How many contacts match `filter` (no `search`): SQL when that is cheap,
/// else the index corrected by the outbox, else SQL anyway.
pub fn total(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
) -> AppResult<i64> {
    if let Some(n) = contacts::cheap_count(conn, org, filter)? {
        return Ok(n);
    }
    let _snapshot = snapshot(conn)?;
    if let (Ok(_), Some(pending)) = (
        search.ready_within(START_WAIT),
        outbox::pending_ids(conn, org, OUTBOX_LIMIT)?,
    ) && let Ok((all, stale)) = search.counts(org, filter, &pending)
    {
        let now = contacts::matching_keys(conn, org, filter, SortBy::UpdatedAt, None, &pending)?;
        return Ok(all as i64 - stale as i64 + now.len() as i64);
    }
    contacts::count(conn, org, filter)
}

/// One page of `filter` (no `search`, keyset or first page) from the index's
/// candidates, checked against the database; None when the index cannot
/// answer exactly (not open, or the outbox too long).
fn from_index(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Option<Page>> {
    if params.offset > 0 || search.ready_within(START_WAIT).is_err() {
        return Ok(None);
    }
    // One snapshot for the outbox and every row read after it.
    let _snapshot = snapshot(conn)?;
    let Some(pending) = outbox::pending_ids(conn, org, OUTBOX_LIMIT)? else {
        return Ok(None);
    };
    let pending_set: HashSet<&str> = pending.iter().map(String::as_str).collect();
    let sort = params.sort_by;
    let start = match &params.cursor {
        Some(c) => Start::After(c.ts, c.id.clone()),
        None => Start::Offset(0),
    };
    let want = params.limit as usize + 1;
    let mut window = want + pending.len();
    let (keys, counts) = loop {
        let count_ids = params.include_total.then_some(pending.as_slice());
        let (hits, counts) =
            match search.page_and_count(org, filter, sort, &start, window, count_ids) {
                Ok(answer) => answer,
                Err(_) => return Ok(None),
            };
        let boundary = hits.hits.last().map(|h| (h.ts, h.id.clone()));
        let mut candidates: Vec<String> = hits
            .hits
            .iter()
            .filter(|h| !pending_set.contains(h.id.as_str()))
            .map(|h| h.id.clone())
            .collect();
        candidates.extend(pending.iter().cloned());
        let keys =
            contacts::matching_keys(conn, org, filter, sort, params.cursor.as_ref(), &candidates)?;
        // Past the window's last hit, a match the index did not return may
        // rank before a pending one: only the rows at or above it are sure.
        let sure = match &boundary {
            Some((ts, id)) if hits.has_more => {
                keys.iter().filter(|(t, i)| (t, i) >= (ts, id)).count()
            }
            _ => keys.len(),
        };
        if sure >= want || !hits.has_more {
            break (
                keys.into_iter().take(want.min(sure)).collect::<Vec<_>>(),
                counts,
            );
        }
        window *= 4;
    };
    let has_more = keys.len() > params.limit as usize;
    let ids: Vec<String> = keys
        .into_iter()
        .take(params.limit as usize)
        .map(|(_, id)| id)
        .collect();
    let contacts = contacts::get_many(conn, org, &ids)?;
    let total = match counts {
        Some((all, stale)) => {
            let now = contacts::matching_keys(conn, org, filter, sort, None, &pending)?;
            Some(all as i64 - stale as i64 + now.len() as i64)
        }
        None => None,
    };
    Ok(Some(Page {
        contacts,
        has_more,
        total,
    }))
}

/// A read transaction on `conn`, so several statements see one state;
/// None when `conn` is already in one (a bulk action's write).
fn snapshot(conn: &Connection) -> AppResult<Option<rusqlite::Transaction<'_>>> {
    Ok(if conn.is_autocommit() {
        Some(conn.unchecked_transaction()?)
    } else {
        None
    })
}
