//! Domain types and their validation. No I/O: once a value of one of these
//! types exists, it is valid.

pub mod bulk;
pub mod contact;
pub mod fields;
pub mod filter;
pub mod inbound;
pub mod note;
pub mod segment;
pub mod time;

pub use contact::{Contact, ContactPatch, Mode, Outcome};
pub use fields::{CustomFields, Email, Phone, State, Tags, Timezone};
pub use filter::{ContactFilter, Cursor, ListParams, SortBy, TagsLogic};
