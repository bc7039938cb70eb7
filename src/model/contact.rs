//! The contact record and the validated body of a create or update.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::fields::{CustomFields, Email, MAX_TEXT_LEN, Phone, State, Tags, Timezone, parse_text};
use super::time::format_ms;
use crate::error::{AppError, AppResult};

/// A contact as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub org: i64,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub tags: Tags,
    pub custom_fields: CustomFields,
    pub is_textable: Option<bool>,
    pub line_type: Option<String>,
    pub lookup_status: Option<String>,
    pub looked_up_at: Option<i64>,
    pub is_opted_in: bool,
    pub opted_out_at: Option<i64>,
    pub timezone: Option<String>,
    pub is_starred: bool,
    pub is_archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Whether a create made a new contact or merged into an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Merged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Merged => "merged",
        }
    }
}

/// A contact as the API shows it: the contract's full field set plus
/// Roster's additive lookup fields (`lineType`, `lookupStatus`,
/// `lookedUpAt`). Times are RFC 3339 in UTC with milliseconds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Contact)]
pub struct ContactView<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    /// E.164, e.g. `+19195551234`.
    #[schema(required = true)]
    pub phone: Option<&'a str>,
    /// As sent; matched without regard to case.
    #[schema(required = true)]
    pub email: Option<&'a str>,
    #[schema(required = true)]
    pub first_name: Option<&'a str>,
    #[schema(required = true)]
    pub last_name: Option<&'a str>,
    #[schema(required = true)]
    pub address: Option<&'a str>,
    #[schema(required = true)]
    pub city: Option<&'a str>,
    /// Two-letter US state or territory code.
    #[schema(required = true)]
    pub state: Option<&'a str>,
    #[schema(required = true)]
    pub zip: Option<&'a str>,
    #[schema(value_type = Vec<String>)]
    pub tags: &'a [String],
    /// Keys to strings, numbers, booleans or null.
    #[schema(value_type = Object)]
    pub custom_fields: &'a Map<String, Value>,
    /// `null` until a lookup has answered.
    #[schema(required = true)]
    pub is_textable: Option<bool>,
    /// The provider's line type: Twilio's (`mobile`, `landline`,
    /// `fixedVoip`, ...) or the offline provider's (`offline:...`).
    #[schema(required = true)]
    pub line_type: Option<&'a str>,
    /// `pending`, `done` or `failed`; `null` without a phone.
    #[schema(required = true)]
    pub lookup_status: Option<&'a str>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[schema(required = true)]
    pub looked_up_at: Option<String>,
    pub is_opted_in: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[schema(required = true)]
    pub opted_out_at: Option<String>,
    /// IANA time zone name.
    #[schema(required = true)]
    pub timezone: Option<&'a str>,
    pub is_starred: bool,
    pub is_archived: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl Contact {
    /// The API's shape of this contact; `org_uuid` is the public
    /// organization id.
    pub fn view<'a>(&'a self, org_uuid: &'a str) -> ContactView<'a> {
        ContactView {
            id: &self.id,
            organization_id: org_uuid,
            phone: self.phone.as_deref(),
            email: self.email.as_deref(),
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
            address: self.address.as_deref(),
            city: self.city.as_deref(),
            state: self.state.as_deref(),
            zip: self.zip.as_deref(),
            tags: self.tags.as_slice(),
            custom_fields: self.custom_fields.as_map(),
            is_textable: self.is_textable,
            line_type: self.line_type.as_deref(),
            lookup_status: self.lookup_status.as_deref(),
            looked_up_at: self.looked_up_at.map(format_ms),
            is_opted_in: self.is_opted_in,
            opted_out_at: self.opted_out_at.map(format_ms),
            timezone: self.timezone.as_deref(),
            is_starred: self.is_starred,
            is_archived: self.is_archived,
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
        }
    }

    /// [`Contact::view`] as a JSON value, for event payloads.
    pub fn to_json(&self, org_uuid: &str) -> Value {
        serde_json::to_value(self.view(org_uuid)).unwrap_or(Value::Null)
    }
}

// The document's shape of what `ContactPatch::from_json` reads.
/// The body of a create or update. A create needs a phone or an email. On
/// update, `null` clears a field; read-only and unknown fields are ignored.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ContactInput {
    /// Any common US format, or E.164; stored as E.164.
    phone: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    address: Option<String>,
    city: Option<String>,
    /// A two-letter code or a state's name.
    state: Option<String>,
    zip: Option<String>,
    /// IANA time zone name.
    timezone: Option<String>,
    /// Replaces the contact's tags; `null` clears them.
    tags: Option<Vec<String>>,
    /// Replaces the custom fields; values are strings, numbers, booleans or null.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<Value>,
    #[schema(nullable = false)]
    is_starred: Option<bool>,
    #[schema(nullable = false)]
    is_archived: Option<bool>,
    #[schema(nullable = false)]
    is_opted_in: Option<bool>,
}

/// A field in a request body: absent, explicitly `null`, or a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The stored value after applying this field to `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Field::Absent => current,
            Field::Null => None,
            Field::Set(v) => Some(v),
        }
    }
}

/// Create treats `null` like an absent field; update treats it as "clear".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// A validated create or update body. Read-only fields (id, organizationId,
/// createdAt, updatedAt, isTextable and the lookup fields) are ignored.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub phone: Field<Phone>,
    pub email: Field<Email>,
    pub first_name: Field<String>,
    pub last_name: Field<String>,
    pub address: Field<String>,
    pub city: Field<String>,
    pub state: Field<State>,
    pub zip: Field<String>,
    pub tags: Field<Tags>,
    pub custom_fields: Field<CustomFields>,
    pub timezone: Field<Timezone>,
    pub is_starred: Option<bool>,
    pub is_archived: Option<bool>,
    pub is_opted_in: Option<bool>,
}

fn expect_string<'a>(value: &'a Value, field: &str) -> AppResult<&'a str> {
    value
        .as_str()
        .ok_or_else(|| AppError::validation(field, format!("{field} must be a string")))
}

fn expect_bool(value: &Value, field: &str) -> AppResult<bool> {
    value
        .as_bool()
        .ok_or_else(|| AppError::validation(field, format!("{field} must be true or false")))
}

impl ContactPatch {
    /// Validates a JSON body. Every field is checked before anything is
    /// written, so a bad field changes nothing.
    pub fn from_json(body: &Value, mode: Mode) -> AppResult<Self> {
        let obj = super::body_object(body)?;
        let patch = Self::from_map(obj, mode)?;
        if mode == Mode::Create && patch.phone.value().is_none() && patch.email.value().is_none() {
            return Err(AppError::bad_request(
                "validation_error",
                None,
                "a contact needs a phone or an email",
            ));
        }
        Ok(patch)
    }

    fn from_map(obj: &Map<String, Value>, mode: Mode) -> AppResult<Self> {
        let mut p = ContactPatch::default();
        for (key, value) in obj {
            let key = key.as_str();
            // On create, an empty string is "not given", like null: a merge
            // must never erase a stored value because a column was blank.
            if mode == Mode::Create && value.as_str().is_some_and(|s| s.trim().is_empty()) {
                continue;
            }
            if value.is_null() {
                if mode == Mode::Update {
                    p.clear(key)?;
                }
                continue;
            }
            match key {
                "phone" => {
                    let s = expect_string(value, key)?;
                    p.phone = if s.trim().is_empty() {
                        Field::Null
                    } else {
                        Field::Set(Phone::parse(s)?)
                    };
                }
                "email" => {
                    let s = expect_string(value, key)?;
                    p.email = if s.trim().is_empty() {
                        Field::Null
                    } else {
                        Field::Set(Email::parse(s)?)
                    };
                }
                "firstName" => p.first_name = text(value, key)?,
                "lastName" => p.last_name = text(value, key)?,
                "address" => p.address = text(value, key)?,
                "city" => p.city = text(value, key)?,
                "zip" => p.zip = text_max(value, key, 20)?,
                "state" => {
                    let s = expect_string(value, key)?;
                    p.state = if s.trim().is_empty() {
                        Field::Null
                    } else {
                        Field::Set(State::parse(s, "state")?)
                    };
                }
                "timezone" => {
                    let s = expect_string(value, key)?;
                    p.timezone = if s.trim().is_empty() {
                        Field::Null
                    } else {
                        Field::Set(Timezone::parse(s)?)
                    };
                }
                "tags" => p.tags = Field::Set(Tags::parse_value(value, "tags")?),
                "customFields" => p.custom_fields = Field::Set(CustomFields::parse_value(value)?),
                "isStarred" => p.is_starred = Some(expect_bool(value, key)?),
                "isArchived" => p.is_archived = Some(expect_bool(value, key)?),
                "isOptedIn" => p.is_opted_in = Some(expect_bool(value, key)?),
                // Read-only and unknown fields are ignored, as Amplifi does.
                _ => {}
            }
        }
        Ok(p)
    }

    fn clear(&mut self, key: &str) -> AppResult<()> {
        match key {
            "phone" => self.phone = Field::Null,
            "email" => self.email = Field::Null,
            "firstName" => self.first_name = Field::Null,
            "lastName" => self.last_name = Field::Null,
            "address" => self.address = Field::Null,
            "city" => self.city = Field::Null,
            "state" => self.state = Field::Null,
            "zip" => self.zip = Field::Null,
            "timezone" => self.timezone = Field::Null,
            "tags" => self.tags = Field::Set(Tags::default()),
            "customFields" => self.custom_fields = Field::Set(CustomFields::default()),
            "isStarred" | "isArchived" | "isOptedIn" => {
                return Err(AppError::validation(
                    key,
                    format!("{key} must be true or false"),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

fn text(value: &Value, field: &str) -> AppResult<Field<String>> {
    text_max(value, field, MAX_TEXT_LEN)
}

fn text_max(value: &Value, field: &str, max: usize) -> AppResult<Field<String>> {
    let s = expect_string(value, field)?;
    Ok(match parse_text(s, field, max)? {
        Some(t) => Field::Set(t),
        None => Field::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_needs_phone_or_email() {
        assert!(ContactPatch::from_json(&json!({"firstName": "Jane"}), Mode::Create).is_err());
        assert!(ContactPatch::from_json(&json!({"phone": "9195551234"}), Mode::Create).is_ok());
    }

    #[test]
    fn update_null_clears_and_create_null_is_absent() {
        let p = ContactPatch::from_json(&json!({"city": null}), Mode::Update).unwrap();
        assert_eq!(p.city, Field::Null);
        let p = ContactPatch::from_json(&json!({"city": null, "email": "a@b.co"}), Mode::Create)
            .unwrap();
        assert_eq!(p.city, Field::Absent);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err =
            ContactPatch::from_json(&json!({"firstName": 5, "email": "a@b.co"}), Mode::Create)
                .unwrap_err();
        assert!(matches!(err, AppError::BadRequest { field: Some(ref f), .. } if f == "firstName"));
        let err = ContactPatch::from_json(&json!({"tags": "vip", "email": "a@b.co"}), Mode::Create)
            .unwrap_err();
        assert!(matches!(err, AppError::BadRequest { field: Some(ref f), .. } if f == "tags"));
    }
}
