//! Organization-wide tag operations. Counts come from `tag_counts`; every
//! contact a rename or delete touches is written through
//! [`contacts::save`], so `updatedAt`, the tag index, the counts, the search
//! outbox and the timeline follow.

use rusqlite::{Connection, params};

use super::contacts::{self, Source};
use crate::error::AppResult;
use crate::model::Tags;
use crate::model::fields::tag_key;

/// A tag and how many contacts carry it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

/// Every tag of the organization with how many contacts carry it, most
/// used first.
pub fn list(conn: &Connection, org: i64) -> AppResult<Vec<TagCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT display, count FROM tag_counts WHERE org = ?1 AND count > 0
         ORDER BY count DESC, tag ASC",
    )?;
    let rows = stmt.query_map([org], |r| {
        Ok(TagCount {
            tag: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of the organization's contacts carrying the tag `key`.
fn contacts_with(conn: &Connection, org: i64, key: &str) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id FROM contact_tags t JOIN contacts c ON c.key = t.contact
              WHERE t.org = ?1 AND t.tag = ?2",
    )?;
    let rows = stmt.query_map(params![org, key], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Rewrites each contact carrying `from` with `edit(tags)`; returns how many
/// changed.
fn rewrite(
    conn: &Connection,
    org: i64,
    from_key: &str,
    edit: impl Fn(&Tags) -> AppResult<Tags>,
) -> AppResult<usize> {
    let mut updated = 0;
    for id in contacts_with(conn, org, from_key)? {
        let Some(before) = contacts::get(conn, org, &id)? else {
            continue;
        };
        let mut after = before.clone();
        after.tags = edit(&before.tags)?;
        if after.tags != before.tags {
            contacts::save(conn, Some(&before), after, Source::Api, false)?;
            updated += 1;
        }
    }
    Ok(updated)
}

/// Renames tag `from` to `to` on every contact. A contact that already has
/// `to` keeps it once (the two merge). Returns the number of contacts
/// changed; 0 means no contact had `from`.
pub fn rename(conn: &Connection, org: i64, from: &str, to: &str) -> AppResult<usize> {
    let from_key = tag_key(from);
    let to_key = tag_key(to);
    let updated = rewrite(conn, org, &from_key, |tags| tags.renamed(from, to))?;
    if from_key == to_key {
        // Only the spelling changed: the index key stays, the display follows.
        conn.prepare_cached("UPDATE tag_counts SET display = ?3 WHERE org = ?1 AND tag = ?2")?
            .execute(params![org, to_key, to])?;
    }
    Ok(updated)
}

/// Removes tag `tag` from every contact; returns how many changed.
pub fn delete(conn: &Connection, org: i64, tag: &str) -> AppResult<usize> {
    let key = tag_key(tag);
    rewrite(conn, org, &key, |tags| Ok(tags.without(tag)))
}
