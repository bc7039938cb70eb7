//! One bulk action applied to one contact, through the write path.

use std::collections::HashSet;

use rusqlite::Connection;

use super::contacts::{self, Source};
use crate::error::AppResult;
use crate::model::Contact;
use crate::model::bulk::BulkAction;
use crate::model::fields::MAX_TAGS;

/// Applies `action` to `before` (a contact of its organization, read in this
/// transaction). Returns whether the contact changed; an action that is
/// already in effect changes nothing, which makes a rerun harmless.
pub fn apply(conn: &Connection, action: &BulkAction, before: Contact) -> AppResult<bool> {
    let mut after = before.clone();
    match action {
        BulkAction::Delete => return contacts::delete(conn, before.org, &before.id),
        BulkAction::AddTags(tags) => {
            after.tags.union(tags);
            if after.tags.len() > MAX_TAGS {
                // Left as it is rather than over the per-contact limit.
                return Ok(false);
            }
        }
        BulkAction::RemoveTags(tags) => {
            let keys: HashSet<String> = tags.keys().into_iter().collect();
            after.tags.remove_keys(&keys);
        }
        BulkAction::OptOut => after.is_opted_in = false,
        BulkAction::OptIn => after.is_opted_in = true,
        BulkAction::Archive => after.is_archived = true,
        BulkAction::Unarchive => after.is_archived = false,
    }
    if after == before {
        return Ok(false);
    }
    contacts::save(conn, Some(&before), after, Source::Bulk, false)?;
    Ok(true)
}
