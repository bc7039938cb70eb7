//! Domain types and their validation. No I/O: once a value of one of these
//! types exists, it is valid.

pub mod bulk;
pub mod contact;
pub mod fields;
pub mod filter;
pub mod import;
pub mod inbound;
pub mod note;
pub mod segment;
pub mod time;
pub mod webhook;

pub use contact::{Contact, ContactPatch, Mode, Outcome};
pub use fields::{CustomFields, Email, Phone, State, Tags, Timezone};
pub use filter::{ContactFilter, Cursor, ListParams, SortBy, TagsLogic};

/// A request body that must be a JSON object (400 otherwise).
pub fn body_object(
    body: &serde_json::Value,
) -> crate::error::AppResult<&serde_json::Map<String, serde_json::Value>> {
    body.as_object().ok_or_else(|| {
        crate::error::AppError::bad_request(
            "validation_error",
            None,
            "the request body must be a JSON object",
        )
    })
}

/// A resource id from a path or a body, in its canonical form. Ids are
/// UUIDs; anything else names nothing, so it is the contract's 404 for
/// `what` ("contact", "note", ...), not a 400.
pub fn parse_id(raw: &str, what: &str) -> crate::error::AppResult<String> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| crate::error::AppError::not_found(what))
}
