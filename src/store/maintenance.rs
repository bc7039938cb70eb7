//! What `roster check`, `roster status` and the metrics ask of the
//! database: SQLite's own checks, the derived tables (kept counts,
//! the tag index) compared with the rows they derive from and rebuilt from
//! them, and the queues' depths.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rusqlite::{Connection, Transaction, params};

use super::{lookups, outbox};
use crate::error::{AppError, AppResult};
use crate::model::fields::tag_key;

/// At most this many examples of one kind of problem are named.
const EXAMPLES: usize = 5;

/// `PRAGMA integrity_check` (or the faster `quick_check`, which skips
/// comparing indexes with their tables): the problems found, none when the
/// database is sound.
pub fn integrity(conn: &Connection, quick: bool) -> AppResult<Vec<String>> {
    let pragma = if quick {
        "PRAGMA quick_check"
    } else {
        "PRAGMA integrity_check"
    };
    let mut stmt = conn.prepare(pragma)?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}

/// Contacts whose key sorts otherwise than their id, which the write path
/// never makes (see `schema.sql`): pages would list them out of the
/// documented order.
pub fn key_order(conn: &Connection) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM (SELECT id, lag(id) OVER (ORDER BY key) AS before FROM contacts)
          WHERE before >= id",
    )?;
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = vec![format!(
        "{} contacts have a key that does not follow their id's order; \
         listings show them out of order",
        ids.len()
    )];
    found.extend(ids.iter().take(EXAMPLES).map(|id| format!("contact {id}")));
    Ok(found)
}

pub fn schema_version(conn: &Connection) -> AppResult<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Every way the kept counts differ from the rows: contacts per
/// organization, contacts per tag, contacts per custom-field key.
pub fn count_mismatches(conn: &Connection) -> AppResult<Vec<String>> {
    let names = org_names(conn)?;
    let name = |org: i64| names.get(&org).cloned().unwrap_or_else(|| org.to_string());
    let mut found = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT o.org, o.contact_count, (SELECT count(*) FROM contacts c WHERE c.org = o.org)
           FROM organizations o",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (org, kept, real): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if kept != real {
            found.push(format!(
                "organization '{}' counts {kept} contacts but has {real}",
                name(org)
            ));
        }
    }
    let pairs = [
        (
            "tag",
            "SELECT coalesce(k.org, t.org), coalesce(k.tag, t.tag), coalesce(k.count, 0),
                    coalesce(t.n, 0)
               FROM tag_counts k
               FULL JOIN (SELECT org, tag, count(*) AS n FROM contact_tags GROUP BY org, tag) t
                 ON k.org = t.org AND k.tag = t.tag
              WHERE coalesce(k.count, 0) <> coalesce(t.n, 0)",
        ),
        (
            "custom field",
            "SELECT coalesce(k.org, f.org), coalesce(k.key, f.key), coalesce(k.count, 0),
                    coalesce(f.n, 0)
               FROM field_counts k
               FULL JOIN (SELECT c.org AS org, j.key AS key, count(*) AS n
                            FROM contacts c, json_each(c.custom_fields) j GROUP BY 1, 2) f
                 ON k.org = f.org AND k.key = f.key
              WHERE coalesce(k.count, 0) <> coalesce(f.n, 0)",
        ),
    ];
    for (what, sql) in pairs {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (org, key, kept, real): (i64, String, i64, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            found.push(format!(
                "{what} '{key}' of organization '{}' counts {kept} contacts but {real} carry it",
                name(org)
            ));
        }
    }
    Ok(found)
}

/// The tag index (`contact_tags`) compared with each contact's JSON `tags`:
/// how many contacts differ, with a few of them named.
pub fn tag_index_mismatches(conn: &Connection) -> AppResult<Vec<String>> {
    let mut contacts = conn.prepare("SELECT key, id, org, tags FROM contacts ORDER BY key")?;
    let mut indexed =
        conn.prepare("SELECT contact, org, tag FROM contact_tags ORDER BY contact, org, tag")?;
    let mut contacts = contacts.query([])?;
    let mut indexed = indexed.query([])?;
    let mut next_indexed = || -> rusqlite::Result<Option<(i64, i64, String)>> {
        Ok(match indexed.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        })
    };
    let mut pending = next_indexed()?;
    let mut differing = 0usize;
    let mut examples = Vec::new();
    let mut differ = |id: &str, why: String| {
        differing += 1;
        if examples.len() < EXAMPLES {
            examples.push(format!("contact {id}: {why}"));
        }
    };
    loop {
        let contact = match contacts.next()? {
            Some(r) => Some((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            )),
            None => None,
        };
        // Index rows of contacts that sort before this one have no contact.
        while let Some((cid, _, tag)) = &pending {
            if contact.as_ref().is_some_and(|(key, _, _, _)| cid >= key) {
                break;
            }
            differ(
                &format!("key {cid}"),
                format!("the tag index holds '{tag}' for a contact that does not exist"),
            );
            pending = next_indexed()?;
        }
        let Some((key, id, org, tags)) = contact else {
            break;
        };
        let want: BTreeSet<(i64, String)> =
            tag_keys(&tags)?.into_iter().map(|k| (org, k)).collect();
        let mut have = BTreeSet::new();
        while let Some((cid, o, tag)) = &pending {
            if *cid != key {
                break;
            }
            have.insert((*o, tag.clone()));
            pending = next_indexed()?;
        }
        if want != have {
            let missing: Vec<&str> = want.difference(&have).map(|(_, t)| t.as_str()).collect();
            let extra: Vec<&str> = have.difference(&want).map(|(_, t)| t.as_str()).collect();
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("the tag index lacks {missing:?}"));
            }
            if !extra.is_empty() {
                why.push(format!(
                    "the tag index holds {extra:?}, which the contact does not carry"
                ));
            }
            differ(&id, why.join("; "));
        }
    }
    let mut found = Vec::new();
    if differing > 0 {
        found.push(format!(
            "the tag index differs from the contacts' tags for {differing} contacts"
        ));
        found.extend(examples);
    }
    // The rows' times order a tag's listing: they must be their contacts'.
    let stale: i64 = conn.query_row(
        "SELECT count(DISTINCT t.contact) FROM contact_tags t
           JOIN contacts c ON c.key = t.contact
          WHERE t.updated_at != c.updated_at",
        [],
        |r| r.get(0),
    )?;
    if stale > 0 {
        found.push(format!(
            "the tag index holds another updated_at than the contact for {stale} contacts"
        ));
    }
    Ok(found)
}

fn tag_keys(json: &str) -> AppResult<BTreeSet<String>> {
    let tags: Vec<String> = serde_json::from_str(json)
        .map_err(|e| AppError::internal(format!("a contact's tags are not a JSON array: {e}")))?;
    Ok(tags.iter().map(|t| tag_key(t)).collect())
}

/// What a check found in the queues: states the write path never leaves.
pub fn queue_problems(conn: &Connection) -> AppResult<Vec<String>> {
    let mut found = Vec::new();
    let stranded: i64 = conn.query_row(
        "SELECT count(*) FROM contacts c
          WHERE c.lookup_status = 'pending'
            AND NOT EXISTS (SELECT 1 FROM lookup_jobs j
                             WHERE j.contact = c.key AND j.status IN ('pending', 'running'))",
        [],
        |r| r.get(0),
    )?;
    if stranded > 0 {
        found.push(format!(
            "{stranded} contacts wait for a textability lookup that no job will run"
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT id, status, source_path, processed, total_rows, finished_at FROM imports
          WHERE (status IN ('completed', 'failed', 'cancelled') AND finished_at IS NULL)
             OR (total_rows IS NOT NULL AND processed > total_rows)
             OR status IN ('queued', 'running')",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let status: String = r.get(1)?;
        let source: Option<String> = r.get(2)?;
        let processed: i64 = r.get(3)?;
        let total: Option<i64> = r.get(4)?;
        let finished: Option<i64> = r.get(5)?;
        if matches!(status.as_str(), "queued" | "running") {
            if !source.as_deref().is_some_and(|p| Path::new(p).exists()) {
                found.push(format!(
                    "import {id} is {status} but its uploaded file is gone, so it cannot go on"
                ));
            }
        } else if finished.is_none() {
            found.push(format!("import {id} is {status} but has no finish time"));
        }
        if total.is_some_and(|t| processed > t) {
            found.push(format!(
                "import {id} processed {processed} rows of {}",
                total.unwrap_or_default()
            ));
        }
    }
    Ok(found)
}

/// What [`rebuild_derived`] rebuilt.
#[derive(Debug, Default)]
pub struct Rebuilt {
    pub tag_rows: u64,
    pub lookups_queued: u64,
}

/// Rebuilds every derived table from the contact rows, which it only reads:
/// the tag index, the tag and custom-field counts, the contacts per
/// organization, and a lookup job for each contact left waiting without one.
pub fn rebuild_derived(tx: &Transaction) -> AppResult<Rebuilt> {
    let mut out = Rebuilt::default();
    // The spelling shown for each tag survives the rebuild.
    let mut display: HashMap<(i64, String), String> = HashMap::new();
    {
        let mut stmt = tx.prepare("SELECT org, tag, display FROM tag_counts")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            display.insert((r.get(0)?, r.get(1)?), r.get(2)?);
        }
    }
    tx.execute_batch("DELETE FROM contact_tags; DELETE FROM tag_counts;")?;
    let mut counts: HashMap<(i64, String), (String, i64)> = HashMap::new();
    {
        let mut insert = tx.prepare(
            "INSERT OR IGNORE INTO contact_tags (org, tag, contact, updated_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut stmt = tx.prepare("SELECT id, org, tags, updated_at, key FROM contacts")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, org, json): (String, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let (updated_at, contact): (i64, i64) = (r.get(3)?, r.get(4)?);
            let tags: Vec<String> = serde_json::from_str(&json).map_err(|e| {
                AppError::internal(format!("contact {id}: tags are not a JSON array: {e}"))
            })?;
            for tag in tags {
                let key = tag_key(&tag);
                if insert.execute(params![org, key, contact, updated_at])? == 1 {
                    out.tag_rows += 1;
                    counts.entry((org, key)).or_insert((tag, 0)).1 += 1;
                }
            }
        }
    }
    {
        let mut insert = tx
            .prepare("INSERT INTO tag_counts (org, tag, display, count) VALUES (?1, ?2, ?3, ?4)")?;
        for ((org, key), (first_seen, n)) in counts {
            let shown = display.remove(&(org, key.clone())).unwrap_or(first_seen);
            insert.execute(params![org, key, shown, n])?;
        }
    }
    tx.execute_batch(
        "DELETE FROM field_counts;
         INSERT INTO field_counts (org, key, count)
             SELECT c.org, j.key, count(*) FROM contacts c, json_each(c.custom_fields) j
              GROUP BY c.org, j.key;
         UPDATE organizations
            SET contact_count = (SELECT count(*) FROM contacts c WHERE c.org = organizations.org);",
    )?;
    let stranded: Vec<(i64, i64, String)> = tx
        .prepare(
            "SELECT c.org, c.key, c.phone FROM contacts c
              WHERE c.lookup_status = 'pending' AND c.phone IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM lookup_jobs j
                                 WHERE j.contact = c.key AND j.status IN ('pending', 'running'))",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (org, key, phone) in stranded {
        lookups::insert(tx, org, key, &phone)?;
        out.lookups_queued += 1;
    }
    Ok(out)
}

/// Every contact's organization, id and last change, in id order: what the
/// search index must hold.
pub fn for_each_contact_version(
    conn: &Connection,
    mut f: impl FnMut(i64, &str, i64),
) -> AppResult<()> {
    let mut stmt = conn.prepare("SELECT org, id, updated_at FROM contacts ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        f(r.get(0)?, &r.get::<_, String>(1)?, r.get(2)?);
    }
    Ok(())
}

/// How much work waits in each queue.
#[derive(Debug, Default)]
pub struct Queues {
    pub lookups_pending: i64,
    pub lookups_running: i64,
    pub outbox_rows: i64,
    pub webhook_deliveries_pending: i64,
    pub imports_unfinished: i64,
}

pub fn queues(conn: &Connection) -> AppResult<Queues> {
    let one = |sql: &str| -> AppResult<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(Queues {
        lookups_pending: one("SELECT count(*) FROM lookup_jobs
              WHERE status IN ('pending', 'running') AND status = 'pending'")?,
        lookups_running: one("SELECT count(*) FROM lookup_jobs
              WHERE status IN ('pending', 'running') AND status = 'running'")?,
        outbox_rows: outbox::count(conn)?,
        webhook_deliveries_pending: one(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
        )?,
        imports_unfinished: one(
            "SELECT count(*) FROM imports WHERE status IN ('queued', 'running')",
        )?,
    })
}

fn org_names(conn: &Connection) -> AppResult<HashMap<i64, String>> {
    let mut stmt = conn.prepare("SELECT org, name FROM organizations")?;
    let names = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

/// Lookup jobs by status. Reads a whole index of the jobs: at a million
/// jobs, tens of milliseconds per scrape.
pub fn lookup_jobs_by_status(conn: &Connection) -> AppResult<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT status, count(*) FROM lookup_jobs GROUP BY status")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The search outbox's rows and its oldest row's sequence number.
pub fn outbox_depth(conn: &Connection) -> AppResult<(i64, Option<i64>)> {
    Ok(conn
        .prepare_cached("SELECT count(*), min(seq) FROM search_outbox")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Rows processed by every import on record.
pub fn import_rows_processed(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(sum(processed), 0) FROM imports")?
        .query_row([], |r| r.get(0))?)
}
