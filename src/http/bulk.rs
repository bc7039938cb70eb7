//! `POST /api/contacts/bulk`: one action over ids, a filter or a segment,
//! in chunked transactions.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Writer;
use super::extract::JsonBody;
use crate::error::{AppError, AppResult};
use crate::listing::{Selection, Walk};
use crate::model::bulk::{BulkAction, BulkInput, BulkRequest, BulkTarget};
use crate::model::{ContactFilter, SortBy};
use crate::store::{bulk, contacts};

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(run))
}

/// Contacts per transaction: short enough that other writers are not held
/// up for long, large enough to amortize the commit.
pub const CHUNK: usize = 500;

/// What a bulk action did.
#[derive(Debug, Default, Clone, Copy, Serialize, ToSchema)]
#[schema(as = BulkResult)]
pub struct Tally {
    /// Contacts the target selected.
    matched: usize,
    /// Contacts the action changed.
    updated: usize,
}

/// Runs one action over ids, a filter or a segment.
#[utoipa::path(
    post, path = "/contacts/bulk", tag = "bulk", operation_id = "bulkContacts",
    request_body = BulkInput,
    responses(
        (status = 200, description = "What the action did", body = Tally),
        (status = 404, description = "No such segment", body = crate::error::ErrorBody),
    ),
)]
pub async fn run(caller: Writer, JsonBody(body): JsonBody) -> AppResult<Json<Tally>> {
    let req = BulkRequest::from_json(&body)?;
    let filter = match req.target.clone() {
        BulkTarget::Ids(ids) => None.ok_or(ids),
        BulkTarget::Filter(filter) => Ok(filter),
        BulkTarget::Segment(raw) => Ok(caller
            .read(move |conn, org| Selection::Segment(raw).resolve(conn, org))
            .await?),
    };
    let tally = match filter {
        Err(ids) => by_ids(&caller, req.action.clone(), ids).await,
        Ok(filter) => {
            check_filter(&req, &filter)?;
            if filter.search.is_some() {
                // The index answers search filters: take the matching ids
                // first, then act on them in chunks like an id list.
                let search = caller.state.search.clone();
                let ids = caller
                    .read(move |conn, org| {
                        let mut ids = Vec::new();
                        Walk::new(filter, SortBy::CreatedAt, 1_000).for_each(
                            conn,
                            &search,
                            org,
                            |page| {
                                ids.extend(page.contacts.into_iter().map(|c| c.id));
                                Ok(())
                            },
                        )?;
                        Ok(ids)
                    })
                    .await?;
                by_ids(&caller, req.action.clone(), ids).await
            } else {
                by_filter(&caller, req.action.clone(), filter).await
            }
        }
    };
    // Chunks already committed stay committed even if a later one failed;
    // each woke the workers when it committed.
    Ok(Json(tally?))
}

/// Deleting everything needs `"all": true`.
fn check_filter(req: &BulkRequest, filter: &ContactFilter) -> AppResult<()> {
    if req.action == BulkAction::Delete && filter.is_empty() && !req.all {
        return Err(AppError::validation(
            "all",
            "this would delete every contact; send \"all\": true to confirm",
        ));
    }
    Ok(())
}

async fn by_ids(caller: &Writer, action: BulkAction, ids: Vec<String>) -> AppResult<Tally> {
    let mut tally = Tally::default();
    for chunk in ids.chunks(CHUNK) {
        let chunk = chunk.to_vec();
        let action = action.clone();
        let t = caller
            .write(move |tx, org| {
                let mut t = Tally::default();
                for c in contacts::get_many(tx, org, &chunk)? {
                    t.matched += 1;
                    if bulk::apply(tx, &action, c)? {
                        t.updated += 1;
                    }
                }
                Ok(t)
            })
            .await?;
        tally.matched += t.matched;
        tally.updated += t.updated;
    }
    Ok(tally)
}

/// Walks the filter's matches newest-created first by keyset on
/// `(created_at, id)`, which no action changes, so each contact is visited
/// once even as the action moves it in or out of the filter. Contacts
/// created after the walk started sort above its position and are not
/// touched.
async fn by_filter(caller: &Writer, action: BulkAction, filter: ContactFilter) -> AppResult<Tally> {
    let mut tally = Tally::default();
    let mut walk = Walk::new(filter, SortBy::CreatedAt, CHUNK as u32);
    loop {
        let action = action.clone();
        let search = caller.state.search.clone();
        let (t, rest) = caller
            .write(move |tx, org| {
                let mut t = Tally::default();
                let Some(page) = walk.next_page(tx, &search, org)? else {
                    return Ok((t, None));
                };
                for c in page.contacts {
                    t.matched += 1;
                    if bulk::apply(tx, &action, c)? {
                        t.updated += 1;
                    }
                }
                Ok((t, Some(walk)))
            })
            .await?;
        tally.matched += t.matched;
        tally.updated += t.updated;
        match rest {
            Some(rest) => walk = rest,
            None => return Ok(tally),
        }
    }
}
