//! Listing contacts for a filter: the one function the list endpoint,
//! segments, bulk actions and export share.
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
use crate::search::{Order, Search, Start};
use crate::store::contacts::{self, Page};
use crate::store::outbox;

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

/// Calls `f` with the ids of every contact in `org` matching `filter`, in
/// the documented order for `params.sort_by`, `batch` at a time. With
/// `search` the ids come from the index; otherwise from SQL keyset pages.
pub fn for_each_matching_id(
    conn: &Connection,
    search: &Search,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
    batch: usize,
    mut f: impl FnMut(&[String]) -> AppResult<()>,
) -> AppResult<()> {
    if filter.search.is_some() {
        return search.for_each_id_batch(org, filter, params.sort_by, batch, f);
    }
    let mut p = ListParams {
        limit: batch as u32,
        cursor: None,
        offset: 0,
        sort_by: params.sort_by,
        include_total: false,
        by_relevance: false,
    };
    loop {
        let page = contacts::list(conn, org, filter, &p)?;
        let ids: Vec<String> = page.contacts.iter().map(|c| c.id.clone()).collect();
        if !ids.is_empty() {
            f(&ids)?;
        }
        match page.contacts.last() {
            Some(last) if page.has_more => {
                let ts = match p.sort_by {
                    crate::model::SortBy::UpdatedAt => last.updated_at,
                    crate::model::SortBy::CreatedAt => last.created_at,
                };
                p.cursor = Some(crate::model::Cursor {
                    ts,
                    id: last.id.clone(),
                });
            }
            _ => return Ok(()),
        }
    }
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
        search.ready(),
        outbox::pending_ids(conn, org, OUTBOX_LIMIT)?,
    ) && let Ok((_, Some((all, stale)))) = search.page_and_count(
        org,
        filter,
        SortBy::UpdatedAt,
        &Start::Offset(0),
        0,
        Some(&pending),
    ) {
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
    if params.offset > 0 || search.ready().is_err() {
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
