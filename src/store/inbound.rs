//! Applying an inbound SMS to the sender's contact.

use rusqlite::Transaction;

use super::contacts::{self, Source};
use super::timeline;
use crate::error::AppResult;
use crate::model::ContactPatch;
use crate::model::contact::Field;
use crate::model::inbound::{Effect, InboundSms};

/// Does what `sms` asks for in `org`; true when a contact changed.
pub fn apply(tx: &Transaction, org: i64, sms: InboundSms) -> AppResult<bool> {
    let existing = contacts::id_by_phone(tx, org, sms.from.as_str())?;
    match sms.effect(existing) {
        Effect::OptOut => {
            let patch = ContactPatch {
                phone: Field::Set(sms.from),
                is_opted_in: Some(false),
                ..ContactPatch::default()
            };
            contacts::create_or_merge(tx, org, patch, Source::Keyword)?;
            Ok(true)
        }
        Effect::OptIn(id) => {
            contacts::set_opted_in(tx, org, &id, true, Source::Keyword)?;
            Ok(true)
        }
        Effect::Record(id) => {
            let duplicate = match &sms.message_sid {
                Some(sid) => timeline::has_inbound_message(tx, org, &id, sid)?,
                None => false,
            };
            if !duplicate {
                timeline::record(tx, org, &id, "inbound_message", &sms.event)?;
            }
            Ok(false)
        }
        Effect::Ignore => Ok(false),
    }
}
