//! Contacts: the one write path and the SQL read path.
//!
//! Every change goes through [`save`], which writes in the caller's
//! transaction: the row, the tag index and tag counts, a search outbox row,
//! a lookup job when the phone is new or changed, and the timeline events that
//! describe the change.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params, params_from_iter};
use serde_json::json;

use super::{lookups, new_id, outbox, timeline, webhooks};
use crate::error::{AppError, AppResult};
use crate::model::contact::Field;
use crate::model::fields::{MAX_TAGS, Phone, email_key, tag_key};
use crate::model::time::now_ms;
use crate::model::{
    Contact, ContactFilter, ContactPatch, Cursor, CustomFields, ListParams, Outcome, Tags,
    TagsLogic,
};

pub const COLUMNS: &str = "id, org, phone, email, first_name, last_name, address, city, state, \
     zip, tags, custom_fields, is_textable, line_type, lookup_status, looked_up_at, is_opted_in, \
     opted_out_at, timezone, is_starred, is_archived, created_at, updated_at";

/// Where an opt-out or opt-in came from, as the timeline records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Keyword,
    Bulk,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Keyword => "keyword",
            Source::Bulk => "bulk",
            Source::Import => "import",
        }
    }
}

/// What the writes of one transaction share. The kept counts (contacts per
/// organization, per tag and per custom-field key) add up here and are
/// written once by
/// [`Batch::flush`], before the transaction commits; a bulk write (an
/// import) saves thousands of count updates that way. A local lookup
/// provider, when given, answers a new phone inside the write itself
/// instead of queueing a job.
#[derive(Default)]
pub struct Batch {
    contacts: HashMap<i64, i64>,
    /// (org, tag key) -> (first spelling seen, change in count).
    tags: HashMap<(i64, String), (String, i64)>,
    /// (org, custom-field key) -> change in count.
    fields: HashMap<(i64, String), i64>,
    lookup: Option<lookups::Inline>,
    /// Answers of the local provider worked out ahead (off the writer).
    answers: HashMap<String, lookups::Answer>,
}

impl Batch {
    pub fn with_lookup(lookup: Option<lookups::Inline>) -> Self {
        Self {
            lookup,
            ..Self::default()
        }
    }

    /// Gives the local provider's answer for `phone`, worked out ahead.
    pub fn known_answer(&mut self, phone: String, answer: lookups::Answer) {
        self.answers.insert(phone, answer);
    }

    fn answer(&mut self, phone: &str) -> Option<(lookups::Inline, lookups::Answer)> {
        let inline = self.lookup?;
        let answer = self
            .answers
            .remove(phone)
            .unwrap_or_else(|| (inline.answer)(&Phone::from_stored(phone.to_string())));
        Some((inline, answer))
    }

    fn count_contact(&mut self, org: i64, delta: i64) {
        *self.contacts.entry(org).or_default() += delta;
    }

    fn count_tag(&mut self, org: i64, key: &str, display: &str, delta: i64) {
        self.tags
            .entry((org, key.to_string()))
            .or_insert_with(|| (display.to_string(), 0))
            .1 += delta;
    }

    /// Counts the custom-field keys `after` has and `before` had not, and
    /// the other way round.
    fn count_fields(
        &mut self,
        org: i64,
        before: Option<&CustomFields>,
        after: Option<&CustomFields>,
    ) {
        let empty = serde_json::Map::new();
        let old = before.map_or(&empty, |f| f.as_map());
        let new = after.map_or(&empty, |f| f.as_map());
        for key in new.keys().filter(|k| !old.contains_key(*k)) {
            *self.fields.entry((org, key.clone())).or_default() += 1;
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            *self.fields.entry((org, key.clone())).or_default() -= 1;
        }
    }

    /// Writes the counts gathered so far; must run before the commit.
    pub fn flush(&mut self, conn: &Connection) -> AppResult<()> {
        for (org, delta) in self.contacts.drain() {
            if delta != 0 {
                adjust_contact_count(conn, org, delta)?;
            }
        }
        let mut inc = conn.prepare_cached(
            "INSERT INTO tag_counts (org, tag, display, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (org, tag) DO UPDATE SET count = count + excluded.count",
        )?;
        let mut dec = conn.prepare_cached(
            "UPDATE tag_counts SET count = count + ?3 WHERE org = ?1 AND tag = ?2",
        )?;
        let mut emptied = HashSet::new();
        for ((org, key), (display, delta)) in self.tags.drain() {
            if delta > 0 {
                inc.execute(params![org, key, display, delta])?;
            } else if delta < 0 {
                dec.execute(params![org, key, delta])?;
                emptied.insert(org);
            }
        }
        for org in emptied {
            conn.prepare_cached("DELETE FROM tag_counts WHERE org = ?1 AND count <= 0")?
                .execute([org])?;
        }
        let mut add = conn.prepare_cached(
            "INSERT INTO field_counts (org, key, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (org, key) DO UPDATE SET count = count + excluded.count",
        )?;
        let mut emptied = HashSet::new();
        for ((org, key), delta) in self.fields.drain() {
            if delta != 0 {
                add.execute(params![org, key, delta])?;
            }
            if delta < 0 {
                emptied.insert(org);
            }
        }
        for org in emptied {
            conn.prepare_cached("DELETE FROM field_counts WHERE org = ?1 AND count <= 0")?
                .execute([org])?;
        }
        Ok(())
    }
}

pub fn from_row(r: &Row) -> rusqlite::Result<Contact> {
    from_row_at(r, 0)
}

/// A contact read from [`COLUMNS`] starting at column `at` of `r`.
pub fn from_row_at(r: &Row, at: usize) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: r.get(at)?,
        org: r.get(at + 1)?,
        phone: r.get(at + 2)?,
        email: r.get(at + 3)?,
        first_name: r.get(at + 4)?,
        last_name: r.get(at + 5)?,
        address: r.get(at + 6)?,
        city: r.get(at + 7)?,
        state: r.get(at + 8)?,
        zip: r.get(at + 9)?,
        tags: Tags::from_stored(&r.get::<_, String>(at + 10)?),
        custom_fields: CustomFields::from_stored(&r.get::<_, String>(at + 11)?),
        is_textable: r.get(at + 12)?,
        line_type: r.get(at + 13)?,
        lookup_status: r.get(at + 14)?,
        looked_up_at: r.get(at + 15)?,
        is_opted_in: r.get(at + 16)?,
        opted_out_at: r.get(at + 17)?,
        timezone: r.get(at + 18)?,
        is_starred: r.get(at + 19)?,
        is_archived: r.get(at + 20)?,
        created_at: r.get(at + 21)?,
        updated_at: r.get(at + 22)?,
    })
}

pub fn get(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Contact>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contacts WHERE id = ?1 AND org = ?2"
        ))?
        .query_row(params![id, org], from_row)
        .optional()?)
}

/// Loads contacts by id, in the order of `ids`; ids not in `org` are skipped.
pub fn get_many(conn: &Connection, org: i64, ids: &[String]) -> AppResult<Vec<Contact>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE id = ?1 AND org = ?2"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = stmt.query_row(params![id, org], from_row).optional()? {
            out.push(c);
        }
    }
    Ok(out)
}

pub fn id_by_phone(conn: &Connection, org: i64, phone: &str) -> AppResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM contacts WHERE org = ?1 AND phone = ?2")?
        .query_row(params![org, phone], |r| r.get(0))
        .optional()?)
}

/// Names (camelCase, as on the wire) of the fields that differ.
fn changed_fields(a: &Contact, b: &Contact) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("phone", a.phone != b.phone);
    check("email", a.email != b.email);
    check("firstName", a.first_name != b.first_name);
    check("lastName", a.last_name != b.last_name);
    check("address", a.address != b.address);
    check("city", a.city != b.city);
    check("state", a.state != b.state);
    check("zip", a.zip != b.zip);
    check("tags", a.tags != b.tags);
    check("customFields", a.custom_fields != b.custom_fields);
    check("isOptedIn", a.is_opted_in != b.is_opted_in);
    check("timezone", a.timezone != b.timezone);
    check("isStarred", a.is_starred != b.is_starred);
    check("isArchived", a.is_archived != b.is_archived);
    out
}

fn conflict(what: &str) -> AppError {
    AppError::Conflict(format!(
        "another contact in this organization already has this {what}"
    ))
}

/// Applies the fields every write shares. `merge` selects create-merge
/// semantics (tags unioned, custom fields merged, opt-in never restored);
/// otherwise update semantics (tags and custom fields replaced).
fn apply(c: &mut Contact, patch: ContactPatch, merge: bool) -> AppResult<()> {
    let map_phone = |f: Field<crate::model::Phone>| match f {
        Field::Set(p) => Field::Set(p.into_string()),
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    };
    c.phone = map_phone(patch.phone).apply(c.phone.take());
    c.email = match patch.email {
        Field::Set(e) => Some(e.as_str().to_string()),
        Field::Null => None,
        Field::Absent => c.email.take(),
    };
    c.first_name = patch.first_name.apply(c.first_name.take());
    c.last_name = patch.last_name.apply(c.last_name.take());
    c.address = patch.address.apply(c.address.take());
    c.city = patch.city.apply(c.city.take());
    c.zip = patch.zip.apply(c.zip.take());
    c.state = match patch.state {
        Field::Set(s) => Some(s.into_string()),
        Field::Null => None,
        Field::Absent => c.state.take(),
    };
    c.timezone = match patch.timezone {
        Field::Set(t) => Some(t.into_string()),
        Field::Null => None,
        Field::Absent => c.timezone.take(),
    };
    if let Field::Set(tags) = patch.tags {
        if merge {
            c.tags.union(&tags);
            if c.tags.len() > MAX_TAGS {
                return Err(AppError::validation(
                    "tags",
                    format!(
                        "a contact has at most {MAX_TAGS} tags; merging these would give it {}",
                        c.tags.len()
                    ),
                ));
            }
        } else {
            c.tags = tags;
        }
    }
    if let Field::Set(fields) = patch.custom_fields {
        if merge {
            c.custom_fields.merge(&fields)?;
        } else {
            c.custom_fields = fields;
        }
    }
    if let Some(v) = patch.is_starred {
        c.is_starred = v;
    }
    if let Some(v) = patch.is_archived {
        c.is_archived = v;
    }
    match patch.is_opted_in {
        Some(false) => c.is_opted_in = false,
        // A create that merges never opts anyone back in: opting in is an
        // explicit act (PUT isOptedIn or POST /opt-in).
        Some(true) if !merge => c.is_opted_in = true,
        _ => {}
    }
    Ok(())
}

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

/// The contact a create merges into: the one with the patch's phone or its
/// email, as (id, createdAt). 409 when the phone matches one contact and the
/// email another.
pub fn find_existing(
    conn: &Connection,
    org: i64,
    patch: &ContactPatch,
) -> AppResult<Option<(String, i64)>> {
    let mut by_phone = None;
    if let Some(p) = patch.phone.value() {
        by_phone = conn
            .prepare_cached("SELECT id, created_at FROM contacts WHERE org = ?1 AND phone = ?2")?
            .query_row(params![org, p.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    }
    let mut by_email: Option<(String, i64)> = None;
    if let Some(e) = patch.email.value() {
        by_email = conn
            .prepare_cached(
                "SELECT id, created_at FROM contacts WHERE org = ?1 AND email_key = ?2",
            )?
            .query_row(params![org, e.key()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    }
    match (by_phone, by_email) {
        (Some(a), Some(b)) if a.0 != b.0 => Err(AppError::Conflict(
            "the phone matches one contact and the email another; update them separately".into(),
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) => Ok(None),
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
            apply(&mut after, patch, true)?;
            let after = save_in(conn, Some(&before), after, source, true, batch)?;
            Ok((after, Outcome::Merged))
        }
        None => {
            let now = now_ms();
            let mut c = Contact {
                id: new_id(),
                org,
                phone: None,
                email: None,
                first_name: None,
                last_name: None,
                address: None,
                city: None,
                state: None,
                zip: None,
                tags: Tags::default(),
                custom_fields: CustomFields::default(),
                is_textable: None,
                line_type: None,
                lookup_status: None,
                looked_up_at: None,
                is_opted_in: true,
                opted_out_at: None,
                timezone: None,
                is_starred: false,
                is_archived: false,
                created_at: now,
                updated_at: now,
            };
            apply(&mut c, patch, true)?;
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
    let Some(before) = get(conn, org, id)? else {
        return Ok(None);
    };
    let mut after = before.clone();
    apply(&mut after, patch, false)?;
    if after.phone.is_none() && after.email.is_none() {
        return Err(AppError::bad_request(
            "validation_error",
            None,
            "a contact needs a phone or an email; this update would remove both",
        ));
    }
    Ok(Some(save(conn, Some(&before), after, source, false)?))
}

/// Sets opt-in state. `None` when the contact is not in `org`.
pub fn set_opted_in(
    conn: &Connection,
    org: i64,
    id: &str,
    opted_in: bool,
    source: Source,
) -> AppResult<Option<Contact>> {
    let Some(before) = get(conn, org, id)? else {
        return Ok(None);
    };
    let mut after = before.clone();
    after.is_opted_in = opted_in;
    Ok(Some(save(conn, Some(&before), after, source, false)?))
}

/// Deletes the contact with its tag rows, notes and timeline, cancels its
/// lookups and tells the search index. False when it is not in `org`.
pub fn delete(conn: &Connection, org: i64, id: &str) -> AppResult<bool> {
    let Some(before) = get(conn, org, id)? else {
        return Ok(false);
    };
    let mut batch = Batch::default();
    update_tag_index(
        conn,
        org,
        id,
        &before.tags.keys(),
        &[],
        &before.tags,
        &mut batch,
    )?;
    batch.count_contact(org, -1);
    batch.count_fields(org, Some(&before.custom_fields), None);
    batch.flush(conn)?;
    conn.prepare_cached("DELETE FROM notes WHERE contact_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM timeline_events WHERE contact_id = ?1")?
        .execute([id])?;
    lookups::cancel_pending(conn, id)?;
    conn.prepare_cached("DELETE FROM contacts WHERE id = ?1 AND org = ?2")?
        .execute(params![id, org])?;
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
            let fields = changed_fields(b, &after);
            if fields.is_empty() {
                return Ok(b.clone());
            }
            fields
        }
        None => Vec::new(),
    };
    let now = now_ms();
    let phone_changed = before.map(|b| &b.phone) != Some(&after.phone);
    // A local provider answers a new phone here, in the write itself.
    let answered = match &after.phone {
        Some(phone) if phone_changed => batch.answer(phone),
        _ => None,
    };
    if phone_changed {
        after.is_textable = None;
        after.line_type = None;
        after.looked_up_at = None;
        after.lookup_status = after.phone.as_ref().map(|_| "pending".to_string());
        if let Some((_, answer)) = &answered {
            after.is_textable = answer.is_textable;
            after.line_type = answer.line_type.clone();
            after.looked_up_at = answer.is_textable.map(|_| now);
            after.lookup_status = answer.is_textable.map(|_| "done".to_string());
        }
    }
    let was_opted_in = before.map(|b| b.is_opted_in).unwrap_or(true);
    if was_opted_in != after.is_opted_in {
        after.opted_out_at = (!after.is_opted_in).then_some(now);
    }
    if before.is_some() {
        after.updated_at = now.max(after.updated_at);
    }

    let derived = stored_values(&after);
    let row = stored_row(&after, &derived);
    let result = match before {
        None => conn.prepare_cached(&INSERT_CONTACT)?.execute(&row[..]),
        Some(b) => update_changed(conn, b, &row),
    };
    if let Err(err) = result {
        if super::is_unique_violation(&err) {
            let phone_taken = match &after.phone {
                Some(p) => id_by_phone(conn, after.org, p)?.is_some_and(|id| id != after.id),
                None => false,
            };
            return Err(conflict(if phone_taken { "phone" } else { "email" }));
        }
        return Err(err.into());
    }

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
    let old_keys = before.map(|b| b.tags.keys()).unwrap_or_default();
    let new_keys = after.tags.keys();
    if old_keys != new_keys {
        update_tag_index(
            conn,
            after.org,
            &after.id,
            &old_keys,
            &new_keys,
            &after.tags,
            batch,
        )?;
    }
    if before.is_none() {
        outbox::record_new(conn, after.org, &after.id)?;
    } else {
        outbox::record(conn, after.org, &after.id)?;
    }
    if phone_changed {
        match (&after.phone, &answered) {
            // A new contact has no older job to supersede.
            (Some(phone), Some(_)) if before.is_none() => {
                lookups::insert_answered(conn, after.org, &after.id, phone)?
            }
            (Some(phone), None) if before.is_none() => {
                lookups::insert(conn, after.org, &after.id, phone)?
            }
            (Some(phone), Some(_)) => {
                lookups::cancel_pending(conn, &after.id)?;
                lookups::insert_answered(conn, after.org, &after.id, phone)?
            }
            (Some(phone), None) => lookups::enqueue(conn, after.org, &after.id, phone)?,
            (None, _) => lookups::cancel_pending(conn, &after.id)?,
        }
    }
    record_events(conn, before, &after, &changed, source, merged)?;
    webhook_events(conn, before, &after, &changed, merged)?;
    // An import answers every new phone as it goes; the contact's fields say
    // what was found, without an event per contact.
    let imported = before.is_none() && source == Source::Import;
    if let (Some(phone), Some((inline, answer)), false) = (&after.phone, &answered, imported) {
        lookups::record_answer(conn, after.org, &after.id, phone, answer, inline.provider)?;
    }
    Ok(after)
}

/// The stored columns of a contact row, in the order of [`stored_row`].
const STORED_COLUMNS: [&str; 24] = [
    "id",
    "org",
    "phone",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "address",
    "city",
    "state",
    "zip",
    "tags",
    "custom_fields",
    "is_textable",
    "line_type",
    "lookup_status",
    "looked_up_at",
    "is_opted_in",
    "opted_out_at",
    "timezone",
    "is_starred",
    "is_archived",
    "created_at",
    "updated_at",
];

/// Inserts a contact row: every one of [`STORED_COLUMNS`], in order.
static INSERT_CONTACT: LazyLock<String> = LazyLock::new(|| {
    let marks: Vec<String> = (1..=STORED_COLUMNS.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT INTO contacts ({}) VALUES ({})",
        STORED_COLUMNS.join(", "),
        marks.join(", ")
    )
});

/// The stored values a contact's fields do not hold as such: the email's
/// uniqueness key and the JSON of the tags and custom fields.
type Derived = (Option<String>, String, String);

/// Works out a contact's [`Derived`] values.
fn stored_values(c: &Contact) -> Derived {
    (
        c.email.as_deref().map(email_key),
        c.tags.to_json(),
        c.custom_fields.to_json(),
    )
}

/// A contact as the values of [`STORED_COLUMNS`].
fn stored_row<'a>(c: &'a Contact, derived: &'a Derived) -> [&'a dyn ToSql; 24] {
    let (email_key, tags, fields) = derived;
    [
        &c.id,
        &c.org,
        &c.phone,
        &c.email,
        email_key,
        &c.first_name,
        &c.last_name,
        &c.address,
        &c.city,
        &c.state,
        &c.zip,
        tags,
        fields,
        &c.is_textable,
        &c.line_type,
        &c.lookup_status,
        &c.looked_up_at,
        &c.is_opted_in,
        &c.opted_out_at,
        &c.timezone,
        &c.is_starred,
        &c.is_archived,
        &c.created_at,
        &c.updated_at,
    ]
}

/// Updates the stored row of `before` to `row`, setting only the columns
/// whose values differ: SQLite rewrites the entry of every index on a
/// column that an UPDATE sets, changed or not, and the phone, email and ZIP
/// entries sit at random places in large indexes.
fn update_changed(
    conn: &Connection,
    before: &Contact,
    row: &[&dyn ToSql; 24],
) -> rusqlite::Result<usize> {
    let derived = stored_values(before);
    let old = stored_row(before, &derived);
    let mut changed = Vec::new();
    for i in 2..STORED_COLUMNS.len() {
        if old[i].to_sql()? != row[i].to_sql()? {
            changed.push(i);
        }
    }
    if changed.is_empty() {
        return Ok(0);
    }
    let set: Vec<String> = changed
        .iter()
        .map(|&i| format!("{} = ?{}", STORED_COLUMNS[i], i + 1))
        .collect();
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE contacts SET {} WHERE id = ?1 AND org = ?2",
        set.join(", ")
    ))?;
    for i in [0, 1].into_iter().chain(changed) {
        stmt.raw_bind_parameter(i + 1, row[i])?;
    }
    stmt.raw_execute()
}

fn record_events(
    conn: &Connection,
    before: Option<&Contact>,
    after: &Contact,
    changed: &[&'static str],
    source: Source,
    merged: bool,
) -> AppResult<()> {
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
            timeline::record(conn, org, id, "created", &data)?;
        }
        None => timeline::record(
            conn,
            org,
            id,
            "created",
            &json!({ "source": source.as_str() }),
        )?,
        Some(_) => {
            // Opt changes have events of their own.
            let fields: Vec<&str> = changed
                .iter()
                .copied()
                .filter(|f| *f != "isOptedIn")
                .collect();
            if !fields.is_empty() {
                let kind = if merged { "merged" } else { "updated" };
                timeline::record(conn, org, id, kind, &json!({ "fields": fields }))?;
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
        timeline::record(
            conn,
            org,
            id,
            "tags_changed",
            &json!({ "added": added, "removed": removed }),
        )?;
    }
    let was_opted_in = before.map(|b| b.is_opted_in).unwrap_or(true);
    if was_opted_in != after.is_opted_in {
        let kind = if after.is_opted_in {
            "opted_in"
        } else {
            "opted_out"
        };
        timeline::record(conn, org, id, kind, &json!({ "source": source.as_str() }))?;
    }
    Ok(())
}

/// The webhook events of a write, in the order they happened: written with
/// it, for every endpoint of the organization that wants them.
fn webhook_events(
    conn: &Connection,
    before: Option<&Contact>,
    after: &Contact,
    changed: &[&'static str],
    merged: bool,
) -> AppResult<()> {
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
            let fields: Vec<&str> = changed
                .iter()
                .copied()
                .filter(|f| *f != "isOptedIn")
                .collect();
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
    let was_opted_in = before.map(|b| b.is_opted_in).unwrap_or(true);
    if was_opted_in != after.is_opted_in {
        let kind = if after.is_opted_in {
            "contact.opted_in"
        } else {
            "contact.opted_out"
        };
        webhooks::enqueue(conn, org, kind, id, contact)?;
    }
    Ok(())
}

/// Moves the contact's rows in the tag index from `old` keys to `new` keys
/// and counts the change in `batch`.
fn update_tag_index(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    old: &[String],
    new: &[String],
    tags: &Tags,
    batch: &mut Batch,
) -> AppResult<()> {
    let mut del = conn.prepare_cached(
        "DELETE FROM contact_tags WHERE org = ?1 AND tag = ?2 AND contact_id = ?3",
    )?;
    for key in old.iter().filter(|k| !new.contains(k)) {
        if del.execute(params![org, key, contact_id])? > 0 {
            batch.count_tag(org, key, key, -1);
        }
    }
    let mut ins = conn.prepare_cached(
        "INSERT OR IGNORE INTO contact_tags (org, tag, contact_id) VALUES (?1, ?2, ?3)",
    )?;
    for (key, display) in new.iter().zip(tags.as_slice()) {
        if old.contains(key) {
            continue;
        }
        if ins.execute(params![org, key, contact_id])? > 0 {
            batch.count_tag(org, key, display, 1);
        }
    }
    Ok(())
}

/// How many contacts carry the tag `key` (0 when none).
pub fn tag_count(conn: &Connection, org: i64, key: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count FROM tag_counts WHERE org = ?1 AND tag = ?2")?
        .query_row(params![org, key], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// A filter matching fewer contacts than this drives the query from its own
/// index (tags, state or ZIP) and sorts the matches; above it, the query
/// walks the sort index and checks each row, which finds a page of common
/// matches quickly.
const DRIVE_LIMIT: i64 = 1_000;

/// Index entries a walk of the sort index reads at most for one page of a
/// filter: past this, the search index answers the page (see `listing`).
pub const WALK_BOUND: i64 = 1_000;

/// Where a listing starts reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Drive {
    /// Walk the `(org, sort field, id)` index in order.
    SortIndex,
    /// Start from the tag index rows of these tag placeholders.
    Tags(String),
    /// Start from one of the contacts indexes (state or ZIP).
    Index(&'static str),
}

/// A SQL `WHERE` clause over `contacts c` for a filter, with its parameters
/// and the plan chosen for it. `?1` is the org.
pub struct Where {
    pub clause: String,
    pub params: Vec<SqlValue>,
    pub drive: Drive,
}

/// The keyset index of a sort order.
fn sort_index(sort: crate::model::SortBy) -> &'static str {
    match sort {
        crate::model::SortBy::UpdatedAt => "contacts_org_updated",
        crate::model::SortBy::CreatedAt => "contacts_org_created",
    }
}

impl Where {
    /// The `FROM` of a listing in `sort` order.
    pub fn sorted_source(&self, sort: crate::model::SortBy) -> String {
        match &self.drive {
            Drive::SortIndex => format!("contacts c INDEXED BY {}", sort_index(sort)),
            other => drive_source(other),
        }
    }

    /// The `FROM` of a count.
    pub fn source(&self) -> String {
        drive_source(&self.drive)
    }
}

/// The `FROM` clause a plan reads through (any order).
fn drive_source(drive: &Drive) -> String {
    match drive {
        Drive::SortIndex => "contacts c".to_string(),
        // CROSS JOIN keeps the tag rows as the outer loop.
        Drive::Tags(tags) => format!(
            "(SELECT DISTINCT contact_id FROM contact_tags WHERE org = ?1 AND tag IN ({tags})) d \
                 CROSS JOIN contacts c ON c.id = d.contact_id"
        ),
        Drive::Index(index) => format!("contacts c INDEXED BY {index}"),
    }
}

/// The index that holds exactly the contacts with a flag's value, and the
/// predicate it is partial on: `(flag, value) -> (index, predicate)`. The
/// rare side of each flag in most lists has its own small index, so a
/// filter on it (opted out, not textable, no email, no phone) reads only
/// the contacts it matches; email and phone presence use the uniqueness
/// indexes.
fn flag_index(flag: Flag, value: bool) -> Option<(&'static str, &'static str)> {
    match (flag, value) {
        (Flag::OptedOut, true) => Some(("contacts_org_opted_out", "is_opted_in = 0")),
        (Flag::Textable, false) => Some(("contacts_org_not_textable", "is_textable = 0")),
        (Flag::HasEmail, false) => Some(("contacts_org_no_email", "email IS NULL")),
        (Flag::HasEmail, true) => Some(("contacts_org_email", "email_key IS NOT NULL")),
        (Flag::HasPhone, false) => Some(("contacts_org_no_phone", "phone IS NULL")),
        (Flag::HasPhone, true) => Some(("contacts_org_phone", "phone IS NOT NULL")),
        (Flag::OptedOut, false) | (Flag::Textable, true) => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Flag {
    OptedOut,
    Textable,
    HasEmail,
    HasPhone,
}

/// How many contacts (up to [`DRIVE_LIMIT`]) a partial index holds.
fn probe_partial(conn: &Connection, index: &str, predicate: &str, org: i64) -> AppResult<i64> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM contacts INDEXED BY {index}
          WHERE org = ?1 AND {predicate} LIMIT {DRIVE_LIMIT})"
    );
    Ok(conn.prepare_cached(&sql)?.query_row([org], |r| r.get(0))?)
}

/// How many contacts (up to [`DRIVE_LIMIT`]) an index range holds: a cheap,
/// bounded probe of a filter's selectivity.
fn probe(
    conn: &Connection,
    index: &str,
    column: &str,
    org: i64,
    values: &[String],
) -> AppResult<i64> {
    let placeholders: Vec<String> = (0..values.len()).map(|i| format!("?{}", i + 2)).collect();
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM contacts INDEXED BY {index}
          WHERE org = ?1 AND {column} IN ({}) LIMIT {DRIVE_LIMIT})",
        placeholders.join(", ")
    );
    let mut args: Vec<SqlValue> = vec![SqlValue::Integer(org)];
    args.extend(values.iter().map(|v| SqlValue::Text(v.clone())));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// Builds the query for `filter` (never `search`, which the search index
/// answers). The tag filter picks its plan from the tag counts.
pub fn build_where(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<Where> {
    let mut clause = String::from("c.org = ?1");
    let mut params: Vec<SqlValue> = vec![SqlValue::Integer(org)];
    let push = |params: &mut Vec<SqlValue>, v: SqlValue| {
        params.push(v);
        params.len()
    };
    // The most selective of the indexed filters drives, if it is selective
    // enough; otherwise the sort index does.
    let mut drive = Drive::SortIndex;
    let mut best = DRIVE_LIMIT;
    if !filter.states.is_empty() {
        let n = probe(conn, "contacts_org_state", "state", org, &filter.states)?;
        if n < best {
            best = n;
            drive = Drive::Index("contacts_org_state");
        }
    }
    if let Some(zip) = &filter.zip {
        let n = probe(
            conn,
            "contacts_org_zip",
            "zip",
            org,
            std::slice::from_ref(zip),
        )?;
        if n < best {
            best = n;
            drive = Drive::Index("contacts_org_zip");
        }
    }
    let mut drive_predicate = None;
    for (flag, value) in [
        (Flag::OptedOut, filter.opted_out),
        (Flag::Textable, filter.is_textable),
        (Flag::HasEmail, filter.has_email),
        (Flag::HasPhone, filter.has_phone),
    ] {
        let Some((index, predicate)) = value.and_then(|v| flag_index(flag, v)) else {
            continue;
        };
        let n = probe_partial(conn, index, predicate, org)?;
        if n < best {
            best = n;
            drive = Drive::Index(index);
            drive_predicate = Some(predicate);
        }
    }

    if !filter.tags.is_empty() {
        let counts: Vec<i64> = filter
            .tags
            .iter()
            .map(|t| tag_count(conn, org, t))
            .collect::<AppResult<_>>()?;
        let estimate = match filter.tags_logic {
            TagsLogic::Or => counts.iter().sum::<i64>(),
            TagsLogic::And => counts.iter().copied().min().unwrap_or(0),
        };
        let by_tags = estimate < best;
        match filter.tags_logic {
            TagsLogic::Or => {
                let placeholders: Vec<String> = filter
                    .tags
                    .iter()
                    .map(|t| format!("?{}", push(&mut params, SqlValue::Text(t.clone()))))
                    .collect();
                if by_tags {
                    // The join yields exactly the tagged contacts.
                    drive = Drive::Tags(placeholders.join(", "));
                } else {
                    clause.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.org = ?1 AND t.tag IN ({}) AND t.contact_id = c.id)",
                        placeholders.join(", ")
                    ));
                }
            }
            TagsLogic::And => {
                // Drive from the rarest tag; probe the others.
                let mut order: Vec<usize> = (0..filter.tags.len()).collect();
                order.sort_by_key(|&i| counts[i]);
                for (n, &i) in order.iter().enumerate() {
                    let p = push(&mut params, SqlValue::Text(filter.tags[i].clone()));
                    if by_tags && n == 0 {
                        drive = Drive::Tags(format!("?{p}"));
                    } else {
                        clause.push_str(&format!(
                            " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.org = ?1 AND t.tag = ?{p} AND t.contact_id = c.id)"
                        ));
                    }
                }
            }
        }
    }
    if let Some(b) = filter.is_textable {
        clause.push_str(if b {
            " AND c.is_textable = 1"
        } else {
            " AND c.is_textable = 0"
        });
    }
    if let Some(b) = filter.opted_out {
        clause.push_str(if b {
            " AND c.is_opted_in = 0"
        } else {
            " AND c.is_opted_in = 1"
        });
    }
    if let Some(b) = filter.has_email {
        clause.push_str(if b {
            " AND c.email IS NOT NULL"
        } else {
            " AND c.email IS NULL"
        });
    }
    if let Some(b) = filter.has_phone {
        clause.push_str(if b {
            " AND c.phone IS NOT NULL"
        } else {
            " AND c.phone IS NULL"
        });
    }
    if !filter.states.is_empty() {
        let placeholders: Vec<String> = filter
            .states
            .iter()
            .map(|s| format!("?{}", push(&mut params, SqlValue::Text(s.clone()))))
            .collect();
        clause.push_str(&format!(" AND c.state IN ({})", placeholders.join(", ")));
    }
    if let Some(zip) = &filter.zip {
        let p = push(&mut params, SqlValue::Text(zip.clone()));
        clause.push_str(&format!(" AND c.zip = ?{p}"));
    }
    if let (Drive::Index(_), Some(predicate)) = (&drive, drive_predicate) {
        // Said in the index's own words, so SQLite may read through it.
        clause.push_str(&format!(" AND c.{predicate}"));
    }
    Ok(Where {
        clause,
        params,
        drive,
    })
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page {
    pub contacts: Vec<Contact>,
    pub has_more: bool,
    pub total: Option<i64>,
}

impl Page {
    /// Where the next page starts in the order of `sort`; None on the last.
    pub fn next_cursor(&self, sort: crate::model::SortBy) -> Option<Cursor> {
        match (self.has_more, self.contacts.last()) {
            (true, Some(last)) => Some(Cursor::after(last, sort)),
            _ => None,
        }
    }
}

/// Lists contacts matching `filter` in the documented order (sort field
/// descending, then id descending), by keyset or offset.
pub fn list(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Page> {
    let col = params.sort_by.column();
    let mut w = build_where(conn, org, filter)?;
    let total = if params.include_total {
        Some(count(conn, org, filter)?)
    } else {
        None
    };
    if let Some(Cursor { ts, id }) = &params.cursor {
        w.params.push(SqlValue::Integer(*ts));
        let a = w.params.len();
        w.params.push(SqlValue::Text(id.clone()));
        let b = w.params.len();
        w.clause
            .push_str(&format!(" AND (c.{col}, c.id) < (?{a}, ?{b})"));
    }
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY c.{col} DESC, c.id DESC LIMIT {}",
        prefixed_columns(),
        w.sorted_source(params.sort_by),
        w.clause,
        params.limit + 1
    );
    if params.cursor.is_none() && params.offset > 0 {
        sql.push_str(&format!(" OFFSET {}", params.offset));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut contacts: Vec<Contact> = stmt
        .query_map(params_from_iter(w.params.iter()), from_row)?
        .collect::<Result<_, _>>()?;
    let has_more = contacts.len() > params.limit as usize;
    contacts.truncate(params.limit as usize);
    Ok(Page {
        contacts,
        has_more,
        total,
    })
}

/// [`list`], unless the page would need a walk of the sort index longer
/// than [`WALK_BOUND`] entries: then None, and the caller asks the search
/// index. Offset pages and unfiltered or index-driven listings always answer.
pub fn list_bounded(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    params: &ListParams,
) -> AppResult<Option<Page>> {
    let w = build_where(conn, org, filter)?;
    if w.drive != Drive::SortIndex || filter.is_empty() || params.offset > 0 {
        return list(conn, org, filter, params).map(Some);
    }
    let col = params.sort_by.column();
    let index = sort_index(params.sort_by);
    // The window: the next WALK_BOUND entries of the sort index, after the
    // cursor; `?1` is the org, the cursor's placeholders start at `first`.
    let window = |first: usize| {
        let after = if params.cursor.is_some() {
            format!(" AND ({col}, id) < (?{first}, ?{})", first + 1)
        } else {
            String::new()
        };
        format!(
            "SELECT rowid FROM contacts INDEXED BY {index} WHERE org = ?1{after}
              ORDER BY {col} DESC, id DESC LIMIT {WALK_BOUND}"
        )
    };
    let cursor_args: Vec<SqlValue> = match &params.cursor {
        Some(Cursor { ts, id }) => vec![SqlValue::Integer(*ts), SqlValue::Text(id.clone())],
        None => Vec::new(),
    };
    let mut args = w.params.clone();
    let first = args.len() + 1;
    args.extend(cursor_args.iter().cloned());
    // CROSS JOIN keeps the window as the outer loop, whatever other index
    // the filter's columns have.
    let sql = format!(
        "SELECT {} FROM ({}) wnd CROSS JOIN contacts c ON c.rowid = wnd.rowid
          WHERE {} ORDER BY c.{col} DESC, c.id DESC LIMIT {}",
        prefixed_columns(),
        window(first),
        w.clause,
        params.limit + 1
    );
    let mut contacts: Vec<Contact> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), from_row)?
        .collect::<Result<_, _>>()?;
    let has_more = contacts.len() > params.limit as usize;
    if !has_more {
        // A short page is the whole answer only if the window held every
        // entry left.
        let mut count_args = vec![SqlValue::Integer(org)];
        count_args.extend(cursor_args);
        let read: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM ({})", window(2)))?
            .query_row(params_from_iter(count_args.iter()), |r| r.get(0))?;
        if read >= WALK_BOUND {
            return Ok(None);
        }
    }
    contacts.truncate(params.limit as usize);
    let total = if params.include_total {
        Some(count(conn, org, filter)?)
    } else {
        None
    };
    Ok(Some(Page {
        contacts,
        has_more,
        total,
    }))
}

/// The (sort value, id) of those of `ids` that match `filter` (and follow
/// `after`), in the documented order: the exact check of the search
/// index's candidates against the database.
pub fn matching_keys(
    conn: &Connection,
    org: i64,
    filter: &ContactFilter,
    sort: crate::model::SortBy,
    after: Option<&Cursor>,
    ids: &[String],
) -> AppResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let w = build_where(conn, org, filter)?;
    let col = sort.column();
    let mut args = w.params.clone();
    let marks: Vec<String> = ids
        .iter()
        .map(|id| {
            args.push(SqlValue::Text(id.clone()));
            format!("?{}", args.len())
        })
        .collect();
    let mut sql = format!(
        "SELECT c.{col}, c.id FROM contacts c WHERE {} AND c.id IN ({})",
        w.clause,
        marks.join(", ")
    );
    if let Some(Cursor { ts, id }) = after {
        args.push(SqlValue::Integer(*ts));
        let a = args.len();
        args.push(SqlValue::Text(id.clone()));
        sql.push_str(&format!(" AND (c.{col}, c.id) < (?{a}, ?{})", args.len()));
    }
    sql.push_str(&format!(" ORDER BY c.{col} DESC, c.id DESC"));
    let rows = conn
        .prepare(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The count of `filter`'s matches when it costs little: kept counts, or a
/// plan driven by a selective index. None when it would walk the
/// organization.
pub fn cheap_count(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<Option<i64>> {
    let only_tag = filter.tags.len() == 1
        && *filter
            == ContactFilter {
                tags: filter.tags.clone(),
                tags_logic: filter.tags_logic,
                ..ContactFilter::default()
            };
    if filter.is_empty() || only_tag {
        return count(conn, org, filter).map(Some);
    }
    let w = build_where(conn, org, filter)?;
    if w.drive == Drive::SortIndex {
        return Ok(None);
    }
    count_where(conn, &w).map(Some)
}

/// Counts the contacts a `Where` matches.
pub fn count_where(conn: &Connection, w: &Where) -> AppResult<i64> {
    let sql = format!("SELECT count(*) FROM {} WHERE {}", w.source(), w.clause);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(w.params.iter()), |r| r.get(0))?)
}

/// Counts the contacts matching `filter` (without `search`). The commonest
/// totals, everything and one tag alone, come from counts the write path
/// keeps, not from a scan.
pub fn count(conn: &Connection, org: i64, filter: &ContactFilter) -> AppResult<i64> {
    if filter.is_empty() {
        return Ok(conn
            .prepare_cached("SELECT contact_count FROM organizations WHERE org = ?1")?
            .query_row([org], |r| r.get(0))
            .optional()?
            .unwrap_or(0));
    }
    let only_tags = ContactFilter {
        tags: filter.tags.clone(),
        tags_logic: filter.tags_logic,
        ..ContactFilter::default()
    };
    if filter.tags.len() == 1 && *filter == only_tags {
        return tag_count(conn, org, &filter.tags[0]);
    }
    let w = build_where(conn, org, filter)?;
    count_where(conn, &w)
}

fn adjust_contact_count(conn: &Connection, org: i64, by: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE organizations SET contact_count = contact_count + ?2 WHERE org = ?1",
    )?
    .execute(params![org, by])?;
    Ok(())
}

fn prefixed_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many contacts there are, in every organization.
pub fn count_all(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM contacts")?
        .query_row([], |r| r.get(0))?)
}

/// Calls `f` with every contact of every organization (for an index rebuild).
pub fn for_each(conn: &Connection, mut f: impl FnMut(Contact) -> AppResult<()>) -> AppResult<()> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM contacts"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(from_row(row)?)?;
    }
    Ok(())
}
