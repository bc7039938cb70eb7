//! Contacts: the one write path and the SQL read path, a file per job.
//!
//! Every change goes through [`save`], which writes in the caller's
//! transaction: the row, the tag index and tag counts, a search outbox row,
//! a lookup job when the phone is new or changed, and the timeline events that
//! describe the change.

mod counts;
mod effects;
mod list;
pub mod read;
pub mod rows;
mod write;

pub use counts::{Batch, tag_count};
pub use list::{
    Drive, Page, WALK_BOUND, Where, build_where, cheap_count, count, count_where, list,
    list_bounded, matching_keys,
};
pub use read::{count_all, find_existing, for_each, get, get_many, id_by_phone, require};
pub use rows::{columns, from_row, from_row_at, prefixed_columns};
pub use write::{
    create_or_merge, create_or_merge_into, delete, save, save_in, set_opted_in, try_create, update,
};

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

#[cfg(test)]
mod tests {
    //! Every field of the table reaches every consumer: a new field added
    //! to `FIELDS` (with its migration) is stored, read back, shown, counted
    //! as a change and documented without another edit.

    use super::*;
    use crate::db::Db;
    use crate::model::Contact;
    use crate::model::contact::{FIELDS, Kind, Stored};
    use crate::store::orgs;

    /// A contact whose every field holds a value of its own, `salt` apart.
    fn distinct(org: i64, salt: i64) -> Contact {
        let values = FIELDS.iter().enumerate().map(|(i, f)| match f.kind {
            Kind::Id => Stored::Text(format!("00000000-0000-7000-8000-{:012}", salt)),
            Kind::Org => Stored::Int(org),
            // The one text column with a CHECK.
            Kind::Text if f.column == "lookup_status" => {
                Stored::Text(["pending", "done"][salt as usize % 2].into())
            }
            Kind::Text => Stored::Text(format!("{}-{salt}", f.column)),
            Kind::Bool | Kind::OptBool => Stored::Int(salt % 2),
            Kind::Time | Kind::OptTime => Stored::Int(1_700_000_000_000 + salt * 100 + i as i64),
            Kind::Tags => Stored::Text(format!("[\"tag-{salt}\"]")),
            Kind::CustomFields => Stored::Text(format!("{{\"k{salt}\": {salt}}}")),
        });
        Contact::load(values).unwrap()
    }

    #[test]
    fn every_field_is_stored_read_shown_compared_and_documented() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let org = db
            .write_blocking(|tx| Ok(orgs::get_or_create(tx, "fields")?.org))
            .unwrap();
        let c = distinct(org, 1);
        let read = db
            .write_blocking(|tx| {
                rows::insert(tx, &c)?;
                get(tx, org, &c.id)
            })
            .unwrap()
            .unwrap();
        assert_eq!(read, c, "a row holds every field");

        let json = c.to_json("org-uuid");
        let schema = serde_json::to_value(
            <crate::model::contact::ContactView as utoipa::PartialSchema>::schema(),
        )
        .unwrap();
        for f in FIELDS {
            assert!(
                columns().split(", ").any(|col| col == f.column),
                "{}",
                f.column
            );
            assert!(json.get(f.api).is_some(), "{} missing from the JSON", f.api);
            assert!(
                schema["properties"].get(f.api).is_some(),
                "{} missing from the document",
                f.api
            );
        }
        assert_eq!(json.as_object().unwrap().len(), FIELDS.len());

        let other = distinct(org, 2);
        for (i, f) in FIELDS.iter().enumerate() {
            // `c` with this one field taken from `other`.
            let mut values: Vec<Stored> = Vec::new();
            for j in 0..FIELDS.len() {
                let from = if i == j { &other } else { &c };
                values.push(stored_of(from, j));
            }
            let changed = Contact::load(values).unwrap();
            let expected: Vec<&str> = if f.writable { vec![f.api] } else { vec![] };
            assert_eq!(c.changed_fields(&changed), expected, "{}", f.api);
            if !matches!(f.kind, Kind::Id | Kind::Org) {
                let saved = db
                    .write_blocking(|tx| {
                        rows::update_changed(tx, &c, &changed)?;
                        let back = get(tx, org, &c.id)?.unwrap();
                        rows::update_changed(tx, &changed, &c)?;
                        Ok(back)
                    })
                    .unwrap();
                assert_eq!(saved, changed, "an update writes {}", f.column);
            }
        }
    }

    /// Field `j` of `c` as its row stores it.
    fn stored_of(c: &Contact, j: usize) -> Stored {
        use crate::model::contact::FieldValue;
        match c.values()[j] {
            FieldValue::Text(s) => s.map_or(Stored::Null, |s| Stored::Text(s.to_string())),
            FieldValue::Int(n) => n.map_or(Stored::Null, Stored::Int),
            FieldValue::Bool(b) => b.map_or(Stored::Null, |b| Stored::Int(b.into())),
            FieldValue::Tags(t) => Stored::Text(t.to_json()),
            FieldValue::CustomFields(f) => Stored::Text(f.to_json()),
        }
    }
}
