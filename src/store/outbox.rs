//! The search outbox: the intent "reindex contact X", committed with the
//! change that caused it.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::contacts::rows;
use crate::error::AppResult;
use crate::model::Contact;

pub fn record(conn: &Connection, org: i64, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached("INSERT INTO search_outbox (org, contact_id) VALUES (?1, ?2)")?
        .execute(params![org, contact_id])?;
    Ok(())
}

/// Records a contact that did not exist before this transaction: the index
/// writer adds it without first deleting an older document (see
/// `search::apply_batch` for when it still does).
pub fn record_new(conn: &Connection, org: i64, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached("INSERT INTO search_outbox (org, contact_id, new) VALUES (?1, ?2, 1)")?
        .execute(params![org, contact_id])?;
    Ok(())
}

/// Records that every document of `org` goes (the organization was
/// deleted): a row with an empty contact id.
pub fn record_org_deleted(conn: &Connection, org: i64) -> AppResult<()> {
    conn.prepare_cached("INSERT INTO search_outbox (org, contact_id) VALUES (?1, '')")?
        .execute([org])?;
    Ok(())
}

/// The contacts of `org` with index changes not applied yet, or None when
/// the whole outbox holds more than `limit` rows (a large import running).
pub fn pending_ids(conn: &Connection, org: i64, limit: usize) -> AppResult<Option<Vec<String>>> {
    let mut stmt = conn.prepare_cached("SELECT org, contact_id FROM search_outbox LIMIT ?1")?;
    let rows: Vec<(i64, String)> = stmt
        .query_map([limit as i64 + 1], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if rows.len() > limit {
        return Ok(None);
    }
    let mut ids: Vec<String> = rows
        .into_iter()
        .filter(|(o, id)| *o == org && !id.is_empty())
        .map(|(_, id)| id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(Some(ids))
}

/// One outbox row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub org: i64,
    pub contact_id: String,
    /// The contact was created by the write that recorded this row.
    pub new: bool,
}

/// The oldest `limit` rows after `after` (a seq; 0 for the oldest of
/// all), in commit order, each with its contact's current row (None when
/// the contact is gone), read in one statement.
pub fn pending_with_contacts(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> AppResult<Vec<(Entry, Option<Contact>)>> {
    let columns = rows::prefixed_columns();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT o.seq, o.org, o.contact_id, o.new, c.id IS NOT NULL, {columns}
           FROM (SELECT seq, org, contact_id, new FROM search_outbox
                  WHERE seq > ?2 ORDER BY seq LIMIT ?1) o
           LEFT JOIN contacts c ON c.id = o.contact_id AND c.org = o.org
          ORDER BY o.seq"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params![limit as i64, after], |r| {
            let entry = Entry {
                seq: r.get(0)?,
                org: r.get(1)?,
                contact_id: r.get(2)?,
                new: r.get(3)?,
            };
            let contact = if r.get::<_, bool>(4)? {
                Some(rows::from_row_at(r, 5)?)
            } else {
                None
            };
            Ok((entry, contact))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The newest row's seq (0 when empty).
pub fn max_seq(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM search_outbox")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes every row up to `seq`: called once the index holds their changes.
pub fn delete_through(conn: &Connection, seq: i64) -> AppResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM search_outbox WHERE seq <= ?1")?
        .execute([seq])?)
}

/// How many rows wait.
pub fn count(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM search_outbox")?
        .query_row([], |r| r.get(0))?)
}

/// Every contact with a change the index has not applied yet, and every
/// organization whose deletion it has not applied yet.
pub fn everything_pending(conn: &Connection) -> AppResult<(Vec<String>, HashSet<i64>)> {
    let mut stmt = conn.prepare("SELECT org, contact_id FROM search_outbox")?;
    let mut rows = stmt.query([])?;
    let (mut ids, mut orgs) = (Vec::new(), HashSet::new());
    while let Some(r) = rows.next()? {
        let id: String = r.get(1)?;
        if id.is_empty() {
            orgs.insert(r.get(0)?);
        } else {
            ids.push(id);
        }
    }
    Ok((ids, orgs))
}
