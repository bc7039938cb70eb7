//! One bulk action applied to one contact, through the write path.

use rusqlite::Connection;

use super::contacts::{self, Source};
use crate::error::AppResult;
use crate::model::Contact;
use crate::model::bulk::BulkAction;

/// Applies `action` to `before` (a contact of its organization, read in this
/// transaction). Returns whether the contact changed.
pub fn apply(conn: &Connection, action: &BulkAction, before: Contact) -> AppResult<bool> {
    if *action == BulkAction::Delete {
        return contacts::delete(conn, before.org, &before.id);
    }
    let Some(after) = action.edit(&before) else {
        return Ok(false);
    };
    contacts::save(conn, Some(&before), after, Source::Bulk, false)?;
    Ok(true)
}
