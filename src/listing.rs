//! Listing contacts for a filter: the one function the list endpoint,
//! segments, bulk actions and export share. Without `search` the page comes
//! from SQL; with `search` the index answers the whole page (filters, order,
//! cursor, total) and SQLite loads the page's rows by id.

use rusqlite::Connection;

use crate::error::{AppError, AppResult};
use crate::model::{ContactFilter, ListParams};
use crate::search::{Order, Search, Start};
use crate::store::contacts::{self, Page};

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
