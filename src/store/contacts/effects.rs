//! What follows from a write besides the row: the kept counts, the tag
//! index, the search outbox, the lookup queue, the timeline and webhook
//! events.

use std::collections::HashSet;

use rusqlite::{Connection, params};
use serde_json::json;

use super::Source;
use super::counts::Batch;
use crate::error::AppResult;
use crate::model::contact::Answer;
use crate::model::fields::tag_key;
use crate::model::{Contact, Tags};
use crate::store::{lookups, outbox, timeline, webhooks};

/// One saved write: the contact before (None for a create) and after.
pub struct Write<'a> {
    pub before: Option<&'a Contact>,
    pub after: &'a Contact,
    /// The contact's internal key (its row is written).
    pub key: i64,
    /// The API names of the fields the client changed.
    pub changed: &'a [&'static str],
    pub source: Source,
    /// A create that merged into an existing contact.
    pub merged: bool,
}

impl Write<'_> {
    /// The changed fields but the opt-in, whose changes have events of
    /// their own.
    fn edited(&self) -> Vec<&'static str> {
        self.changed
            .iter()
            .copied()
            .filter(|f| *f != "isOptedIn")
            .collect()
    }

    /// The write opted the contact out or back in (a new contact starts
    /// opted in).
    fn opt_changed(&self) -> bool {
        self.before.is_none_or(|b| b.is_opted_in) != self.after.is_opted_in
    }
}

/// Counts the new contact and its custom-field keys.
pub fn count(w: &Write, batch: &mut Batch) {
    let (before, after) = (w.before, w.after);
    if before.is_none() {
        batch.count_contact(after.org, 1);
    }
    if before.map(|b| &b.custom_fields) != Some(&after.custom_fields) {
        batch.count_fields(
            after.org,
            before.map(|b| &b.custom_fields),
            Some(&after.custom_fields),
        );
    }
}

/// Moves the contact's tag index rows to its tags.
pub fn tag_index(conn: &Connection, w: &Write, batch: &mut Batch) -> AppResult<()> {
    let old_keys = w.before.map(|b| b.tags.keys()).unwrap_or_default();
    let new_keys = w.after.tags.keys();
    if old_keys == new_keys {
        return Ok(());
    }
    update_tag_index(
        conn,
        w.after.org,
        w.key,
        (&old_keys, &new_keys),
        &w.after.tags,
        w.after.updated_at,
        batch,
    )
}

/// Tells the search index.
pub fn outbox(conn: &Connection, w: &Write) -> AppResult<()> {
    if w.before.is_none() {
        outbox::record_new(conn, w.after.org, &w.after.id)
    } else {
        outbox::record(conn, w.after.org, &w.after.id)
    }
}

/// A new or changed phone: a job is queued (superseding an older one),
/// unless the write answered it already. An answer with a verdict is on the
/// contact, the lookup's whole record, and no job is written (an import
/// writes a million of these); one without (the `none` provider) leaves a
/// done job, which says the phone was asked about. No phone cancels the
/// lookups.
pub fn lookup(
    conn: &Connection,
    w: &Write,
    answered: Option<&(&'static str, Answer)>,
) -> AppResult<()> {
    let (org, id, created) = (w.after.org, w.after.id.as_str(), w.before.is_none());
    // A new contact has no older job to supersede.
    if !created {
        lookups::cancel_pending(conn, id)?;
    }
    match (&w.after.phone, answered) {
        (Some(_), Some((_, answer))) if answer.is_textable.is_some() => Ok(()),
        (Some(phone), Some(_)) => lookups::insert_answered(conn, org, w.key, phone),
        (Some(phone), None) => lookups::insert(conn, org, w.key, phone),
        (None, _) => Ok(()),
    }
}

/// The timeline events that describe the write.
pub fn timeline(
    conn: &Connection,
    w: &Write,
    answered: Option<&(&'static str, Answer)>,
) -> AppResult<()> {
    let (before, after, source, merged) = (w.before, w.after, w.source, w.merged);
    let (org, id) = (after.org, after.id.as_str());
    match before {
        // An imported contact's history starts with one event that carries
        // its tags (an import writes a million of these; see
        // docs/segments-tags-bulk.md).
        None if source == Source::Import => {
            let mut data = json!({ "source": source.as_str() });
            if !after.tags.is_empty() {
                data["tags"] = json!(after.tags.as_slice());
            }
            timeline::record_key(conn, org, w.key, "created", &data)?;
        }
        None => timeline::record_key(
            conn,
            org,
            w.key,
            "created",
            &json!({ "source": source.as_str() }),
        )?,
        Some(_) => {
            let fields = w.edited();
            if !fields.is_empty() {
                let kind = if merged { "merged" } else { "updated" };
                timeline::record_key(conn, org, w.key, kind, &json!({ "fields": fields }))?;
            }
        }
    }
    let old_tags = before.map(|b| b.tags.clone()).unwrap_or_default();
    let imported = before.is_none() && source == Source::Import;
    if !imported && !old_tags.same_as(&after.tags) {
        let old: HashSet<String> = old_tags.keys().into_iter().collect();
        let new: HashSet<String> = after.tags.keys().into_iter().collect();
        let added: Vec<&String> = after
            .tags
            .as_slice()
            .iter()
            .filter(|t| !old.contains(&tag_key(t)))
            .collect();
        let removed: Vec<&String> = old_tags
            .as_slice()
            .iter()
            .filter(|t| !new.contains(&tag_key(t)))
            .collect();
        timeline::record_key(
            conn,
            org,
            w.key,
            "tags_changed",
            &json!({ "added": added, "removed": removed }),
        )?;
    }
    if w.opt_changed() {
        let kind = if after.is_opted_in {
            "opted_in"
        } else {
            "opted_out"
        };
        timeline::record_key(
            conn,
            org,
            w.key,
            kind,
            &json!({ "source": source.as_str() }),
        )?;
    }
    // An import answers every new phone as it goes; the contact's fields say
    // what was found, without an event per contact.
    let imported = before.is_none() && source == Source::Import;
    if let (Some(phone), Some((provider, answer)), false) = (&after.phone, answered, imported) {
        lookups::record_answer(conn, org, id, phone, answer, provider)?;
    }
    Ok(())
}

/// The webhook events of a write, in the order they happened: written with
/// it, for every endpoint of the organization that wants them.
pub fn webhooks(conn: &Connection, w: &Write) -> AppResult<()> {
    let (before, after, merged) = (w.before, w.after, w.merged);
    if !webhooks::any_enabled(conn, after.org)? {
        return Ok(());
    }
    let (org, id) = (after.org, after.id.as_str());
    let contact = |uuid: &str| Ok(json!({ "contact": after.to_json(uuid) }));
    match before {
        None => {
            webhooks::enqueue(conn, org, "contact.created", id, contact)?;
        }
        Some(_) => {
            let fields = w.edited();
            if !fields.is_empty() {
                let kind = if merged {
                    "contact.merged"
                } else {
                    "contact.updated"
                };
                webhooks::enqueue(conn, org, kind, id, |uuid| {
                    Ok(json!({ "contact": after.to_json(uuid), "changedFields": fields }))
                })?;
            }
        }
    }
    if w.opt_changed() {
        let kind = if after.is_opted_in {
            "contact.opted_in"
        } else {
            "contact.opted_out"
        };
        webhooks::enqueue(conn, org, kind, id, contact)?;
    }
    Ok(())
}

/// Moves the contact's rows in the tag index from the old keys to the new
/// ones (new rows carry the contact's `updated_at`) and counts the change
/// in `batch`. The contact's row is written (a delete removes it after).
pub fn update_tag_index(
    conn: &Connection,
    org: i64,
    contact: i64,
    (old, new): (&[String], &[String]),
    tags: &Tags,
    updated_at: i64,
    batch: &mut Batch,
) -> AppResult<()> {
    let mut del = conn
        .prepare_cached("DELETE FROM contact_tags WHERE org = ?1 AND tag = ?2 AND contact = ?3")?;
    for key in old.iter().filter(|k| !new.contains(k)) {
        if del.execute(params![org, key, contact])? > 0 {
            batch.count_tag(org, key, key, -1);
        }
    }
    let mut ins = conn.prepare_cached(
        "INSERT OR IGNORE INTO contact_tags (org, tag, contact, updated_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (key, display) in new.iter().zip(tags.as_slice()) {
        if old.contains(key) {
            continue;
        }
        if ins.execute(params![org, key, contact, updated_at])? > 0 {
            batch.count_tag(org, key, display, 1);
        }
    }
    Ok(())
}
