//! The one write path: every change to a contact goes through [`save`].

use rusqlite::{Connection, params};
use serde_json::json;

use super::Source;
use super::counts::Batch;
use super::effects;
use super::read::{find_existing, get, id_by_phone};
use super::rows;
use crate::error::{AppError, AppResult};
use crate::model::time::now_ms;
use crate::model::{Contact, ContactPatch, Outcome};
use crate::store::{outbox, webhooks};

/// Create, or merge into the contact with the same phone or email.
pub fn create_or_merge(
    conn: &Connection,
    org: i64,
    patch: ContactPatch,
    source: Source,
) -> AppResult<(Contact, Outcome)> {
    let mut batch = Batch::default();
    let out = match try_create(conn, org, &patch, source, &mut batch)? {
        Some(created) => created,
        None => {
            let existing = find_existing(conn, org, &patch)?.map(|(id, _)| id);
            create_or_merge_into(conn, org, existing.as_deref(), patch, source, &mut batch)?
        }
    };
    batch.flush(conn)?;
    Ok(out)
}

/// Creates a contact from `patch` unless a contact already holds its phone or
/// email; then it returns None and has written nothing (the insert is the
/// write's first statement, and SQLite undoes a failed statement). Most
/// creates are new contacts: the uniqueness indexes the insert consults
/// anyway answer "is there a match?" without looking first.
pub fn try_create(
    conn: &Connection,
    org: i64,
    patch: &ContactPatch,
    source: Source,
    batch: &mut Batch,
) -> AppResult<Option<(Contact, Outcome)>> {
    match create_or_merge_into(conn, org, None, patch.clone(), source, batch) {
        Err(AppError::Conflict(_)) => Ok(None),
        other => other.map(Some),
    }
}

/// Creates a contact from `patch`, or merges it into `existing` (found by
/// [`find_existing`] or an equivalent lookup) with create semantics.
pub fn create_or_merge_into(
    conn: &Connection,
    org: i64,
    existing: Option<&str>,
    patch: ContactPatch,
    source: Source,
    batch: &mut Batch,
) -> AppResult<(Contact, Outcome)> {
    match existing {
        Some(id) => {
            let before = get(conn, org, id)?
                .ok_or_else(|| AppError::internal("matched contact vanished"))?;
            let mut after = before.clone();
            patch.apply_to(&mut after, true)?;
            let after = save_in(conn, Some(&before), after, source, true, batch)?;
            Ok((after, Outcome::Merged))
        }
        None => {
            let mut c = Contact::new(rows::next_id(conn)?, org, now_ms());
            patch.apply_to(&mut c, true)?;
            let c = save_in(conn, None, c, source, false, batch)?;
            Ok((c, Outcome::Created))
        }
    }
}

/// Partial update. `None` when the contact is not in `org`.
pub fn update(
    conn: &Connection,
    org: i64,
    id: &str,
    patch: ContactPatch,
    source: Source,
) -> AppResult<Option<Contact>> {
    edit(conn, org, id, source, |after| {
        patch.apply_to(after, false)?;
        if after.phone.is_none() && after.email.is_none() {
            return Err(AppError::bad_request(
                "validation_error",
                None,
                "a contact needs a phone or an email; this update would remove both",
            ));
        }
        Ok(())
    })
}

/// Sets opt-in state. `None` when the contact is not in `org`.
pub fn set_opted_in(
    conn: &Connection,
    org: i64,
    id: &str,
    opted_in: bool,
    source: Source,
) -> AppResult<Option<Contact>> {
    edit(conn, org, id, source, |after| {
        after.is_opted_in = opted_in;
        Ok(())
    })
}

/// Loads the contact, lets `change` edit a copy and saves what changed.
fn edit(
    conn: &Connection,
    org: i64,
    id: &str,
    source: Source,
    change: impl FnOnce(&mut Contact) -> AppResult<()>,
) -> AppResult<Option<Contact>> {
    let Some(before) = get(conn, org, id)? else {
        return Ok(None);
    };
    let mut after = before.clone();
    change(&mut after)?;
    Ok(Some(save(conn, Some(&before), after, source, false)?))
}

/// Deletes the contact with its tag rows, notes, timeline and lookup jobs,
/// and tells the search index. False when it is not in `org`.
pub fn delete(conn: &Connection, org: i64, id: &str) -> AppResult<bool> {
    let Some(before) = get(conn, org, id)? else {
        return Ok(false);
    };
    let key = rows::key(conn, org, id)?
        .ok_or_else(|| AppError::internal(format!("contact {id} vanished")))?;
    let mut batch = Batch::default();
    effects::update_tag_index(
        conn,
        org,
        key,
        (&before.tags.keys(), &[]),
        &before.tags,
        before.updated_at,
        &mut batch,
    )?;
    batch.count_contact(org, -1);
    batch.count_fields(org, Some(&before.custom_fields), None);
    batch.flush(conn)?;
    // Any tag row its tags do not name goes too: a deleted contact's key
    // may be given to the next contact created.
    conn.prepare_cached("DELETE FROM contact_tags WHERE org = ?1 AND contact = ?2")?
        .execute(params![org, key])?;
    conn.prepare_cached("DELETE FROM notes WHERE contact_id = ?1")?
        .execute([id])?;
    // Timeline events and lookup jobs name the contact by key too: they go
    // with it (a lookup in flight then finds no job, and its answer is
    // dropped).
    for table in ["timeline_events", "lookup_jobs"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE contact = ?1 AND org = ?2"
        ))?
        .execute(params![key, org])?;
    }
    conn.prepare_cached("DELETE FROM contacts WHERE key = ?1")?
        .execute([key])?;
    outbox::record(conn, org, id)?;
    webhooks::enqueue(conn, org, "contact.deleted", id, |uuid| {
        Ok(json!({ "contact": before.to_json(uuid) }))
    })?;
    Ok(true)
}

/// Writes `after` (an insert when `before` is None) with everything that
/// follows from the change. A change that alters nothing writes nothing.
pub fn save(
    conn: &Connection,
    before: Option<&Contact>,
    after: Contact,
    source: Source,
    merged: bool,
) -> AppResult<Contact> {
    let mut batch = Batch::default();
    let saved = save_in(conn, before, after, source, merged, &mut batch)?;
    batch.flush(conn)?;
    Ok(saved)
}

/// [`save`] as one write of `batch`, whose counts the caller flushes.
pub fn save_in(
    conn: &Connection,
    before: Option<&Contact>,
    mut after: Contact,
    source: Source,
    merged: bool,
    batch: &mut Batch,
) -> AppResult<Contact> {
    let changed = match before {
        Some(b) => {
            let fields = b.changed_fields(&after);
            if fields.is_empty() {
                return Ok(b.clone());
            }
            fields
        }
        None => Vec::new(),
    };
    let now = now_ms();
    let phone_changed = before.map(|b| &b.phone) != Some(&after.phone);
    // A local provider's answer, worked out ahead, settles a new phone in
    // the write itself.
    let answered = match &after.phone {
        Some(phone) if phone_changed => batch.answer(phone),
        _ => None,
    };
    after.settle(before, answered.as_ref().map(|(_, a)| a), now);

    let result = match before {
        None => rows::insert(conn, &after),
        Some(b) => rows::update_changed(conn, b, &after),
    };
    if let Err(err) = result {
        // Nothing was written: the answer stays for the write that follows
        // (a create that meets a contact with its phone or email merges).
        if let (Some(phone), Some((_, answer))) = (&after.phone, &answered) {
            batch.known_answer(phone.clone(), answer.clone());
        }
        if crate::store::is_unique_violation(&err) {
            let phone_taken = match &after.phone {
                Some(p) => id_by_phone(conn, after.org, p)?.is_some_and(|id| id != after.id),
                None => false,
            };
            return Err(conflict(if phone_taken { "phone" } else { "email" }));
        }
        return Err(err.into());
    }
    // The row's key for the rows that name it: a new row's is the rowid
    // just inserted.
    let key = match before {
        None => conn.last_insert_rowid(),
        Some(_) => rows::key(conn, after.org, &after.id)?
            .ok_or_else(|| AppError::internal(format!("contact {} vanished", after.id)))?,
    };
    let write = effects::Write {
        before,
        after: &after,
        key,
        changed: &changed,
        source,
        merged,
    };
    effects::count(&write, batch);
    effects::tag_index(conn, &write, batch)?;
    effects::outbox(conn, &write)?;
    if phone_changed {
        effects::lookup(conn, &write, answered.as_ref())?;
    }
    effects::timeline(conn, &write, answered.as_ref())?;
    effects::webhooks(conn, &write)?;
    Ok(after)
}

fn conflict(what: &str) -> AppError {
    AppError::Conflict(format!(
        "another contact in this organization already has this {what}"
    ))
}
