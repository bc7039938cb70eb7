//! The counts the write path keeps (contacts per organization, per tag and
//! per custom-field key), gathered per transaction.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::AppResult;
use crate::model::CustomFields;
use crate::model::contact::Answer;

/// What the writes of one transaction share. The kept counts (contacts per
/// organization, per tag and per custom-field key) add up here and are
/// written once by [`Batch::flush`], before the transaction commits; a bulk
/// write (an import) saves thousands of count updates that way. Answers of
/// a local lookup provider, worked out before the transaction, settle new
/// phones in the write itself instead of queueing a job each.
#[derive(Default)]
pub struct Batch {
    contacts: HashMap<i64, i64>,
    /// (org, tag key) -> (first spelling seen, change in count).
    tags: HashMap<(i64, String), (String, i64)>,
    /// (org, custom-field key) -> change in count.
    fields: HashMap<(i64, String), i64>,
    /// The local provider whose answers the writer brings.
    provider: Option<&'static str>,
    /// Its answers, worked out before the transaction.
    answers: HashMap<String, Answer>,
}

impl Batch {
    /// A batch whose new phones `provider` (a local one) answers: the
    /// caller hands each answer in with [`Batch::known_answer`].
    pub fn answered_by(provider: Option<&'static str>) -> Self {
        Self {
            provider,
            ..Self::default()
        }
    }

    /// Gives the local provider's answer for `phone`, worked out ahead.
    pub fn known_answer(&mut self, phone: String, answer: Answer) {
        self.answers.insert(phone, answer);
    }

    /// The answer given for `phone`, with its provider; None queues a job.
    pub(super) fn answer(&mut self, phone: &str) -> Option<(&'static str, Answer)> {
        let provider = self.provider?;
        self.answers.remove(phone).map(|a| (provider, a))
    }

    pub(super) fn count_contact(&mut self, org: i64, delta: i64) {
        *self.contacts.entry(org).or_default() += delta;
    }

    pub(super) fn count_tag(&mut self, org: i64, key: &str, display: &str, delta: i64) {
        self.tags
            .entry((org, key.to_string()))
            .or_insert_with(|| (display.to_string(), 0))
            .1 += delta;
    }

    /// Counts the custom-field keys `after` has and `before` had not, and
    /// the other way round.
    pub(super) fn count_fields(
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

fn adjust_contact_count(conn: &Connection, org: i64, by: i64) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE organizations SET contact_count = contact_count + ?2 WHERE org = ?1",
    )?
    .execute(params![org, by])?;
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

/// The kept count of contacts in `org`.
pub fn contact_count(conn: &Connection, org: i64) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT contact_count FROM organizations WHERE org = ?1")?
        .query_row([org], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}
