//! The contact record and the validated body of a create or update.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::fields::{
    CustomFields, Email, MAX_TAGS, MAX_TEXT_LEN, Phone, State, Tags, Timezone, parse_text,
};
use super::time::format_ms;
use crate::error::{AppError, AppResult};

/// How a field's value is stored, shown (JSON, CSV, the document) and
/// compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The contact's id (a UUID).
    Id,
    /// The organization: stored as its key, shown as its public id.
    Org,
    /// Text, or null.
    Text,
    Bool,
    /// true, false or null.
    OptBool,
    /// Milliseconds since the epoch, shown as RFC 3339 in UTC.
    Time,
    /// A time, or null.
    OptTime,
    Tags,
    CustomFields,
}

/// One field of a contact, as [`FIELDS`] declares it.
#[derive(Debug)]
pub struct FieldDef {
    /// The camelCase name of the API, the CSV files and the timeline.
    pub api: &'static str,
    /// The column of the `contacts` table.
    pub column: &'static str,
    pub kind: Kind,
    /// A client sets it (create, update, import); otherwise Roster does.
    pub writable: bool,
    /// A column of CSV exports (custom fields have a column per key).
    pub exported: bool,
    /// CSV header spellings an import maps to it besides the API name,
    /// normalized (lower-case letters and digits).
    pub synonyms: &'static [&'static str],
    /// What the document says of it.
    pub doc: &'static str,
}

/// A field's value, borrowed from a contact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Tags(&'a Tags),
    CustomFields(&'a CustomFields),
}

/// A value as a database row holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Null,
    Int(i64),
    Text(String),
}

/// What a contact field's Rust type must do: give its value and take its
/// stored form back.
pub trait Slot: Sized {
    fn value(&self) -> FieldValue<'_>;
    fn load(stored: Stored) -> Result<Self, String>;
}

fn wrong(stored: &Stored, want: &str) -> String {
    format!("expected {want}, found {stored:?}")
}

impl Slot for String {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Text(Some(self))
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::Text(s) => Ok(s),
            other => Err(wrong(&other, "text")),
        }
    }
}

impl Slot for Option<String> {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Text(self.as_deref())
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::Null => Ok(None),
            other => String::load(other).map(Some),
        }
    }
}

impl Slot for i64 {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Int(Some(*self))
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::Int(n) => Ok(n),
            other => Err(wrong(&other, "an integer")),
        }
    }
}

impl Slot for Option<i64> {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Int(*self)
    }
    fn load(stored: Stored) -> Result<Self, String> {
        match stored {
            Stored::Null => Ok(None),
            other => i64::load(other).map(Some),
        }
    }
}

impl Slot for bool {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Bool(Some(*self))
    }
    fn load(stored: Stored) -> Result<Self, String> {
        i64::load(stored).map(|n| n != 0)
    }
}

impl Slot for Option<bool> {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Bool(*self)
    }
    fn load(stored: Stored) -> Result<Self, String> {
        Option::<i64>::load(stored).map(|n| n.map(|n| n != 0))
    }
}

impl Slot for Tags {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Tags(self)
    }
    fn load(stored: Stored) -> Result<Self, String> {
        String::load(stored).map(|json| Tags::from_stored(&json))
    }
}

impl Slot for CustomFields {
    fn value(&self) -> FieldValue<'_> {
        FieldValue::CustomFields(self)
    }
    fn load(stored: Stored) -> Result<Self, String> {
        String::load(stored).map(|json| CustomFields::from_stored(&json))
    }
}

/// Declares the contact's fields once: the struct, and [`FIELDS`] that the
/// SQL, the row mapping, change detection, the JSON shape and its document,
/// CSV export and import header mapping all read.
macro_rules! contact_fields {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty => $api:literal, $kind:ident, $access:ident, $export:ident,
            [$($syn:literal),*];
    )*) => {
        /// A contact as stored: the fields of [`FIELDS`], in its order.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Contact {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        /// Every field of a contact, in the order the API shows them.
        pub static FIELDS: &[FieldDef] = &[$(
            FieldDef {
                api: $api,
                column: stringify!($field),
                kind: Kind::$kind,
                writable: contact_fields!(@writable $access),
                exported: contact_fields!(@exported $export),
                synonyms: &[$($syn),*],
                doc: concat!($($doc, "\n",)* ""),
            },
        )*];

        /// How many fields [`FIELDS`] has.
        pub const FIELD_COUNT: usize = [$(stringify!($field)),*].len();

        impl Contact {
            /// Every field's value, in the order of [`FIELDS`].
            pub fn values(&self) -> [FieldValue<'_>; FIELD_COUNT] {
                [$( Slot::value(&self.$field), )*]
            }

            /// A contact from its stored values, in the order of [`FIELDS`].
            pub fn load(values: impl IntoIterator<Item = Stored>) -> Result<Self, String> {
                let mut values = values.into_iter();
                Ok(Contact {
                    $( $field: values
                        .next()
                        .ok_or_else(|| "too few stored values".to_string())
                        .and_then(Slot::load)
                        .map_err(|e| format!("{}: {e}", stringify!($field)))?, )*
                })
            }
        }
    };
    (@writable writable) => { true };
    (@writable read_only) => { false };
    (@exported exported) => { true };
    (@exported not_exported) => { false };
}

contact_fields! {
    id: String => "id", Id, read_only, exported, [];
    org: i64 => "organizationId", Org, read_only, not_exported, [];
    /// E.164, e.g. `+19195551234`.
    phone: Option<String> => "phone", Text, writable, exported, [
        "mobile", "cell", "phonenumber", "mobilephone", "mobilenumber", "cellphone",
        "cellnumber", "telephone", "tel"
    ];
    /// As sent; matched without regard to case.
    email: Option<String> => "email", Text, writable, exported, ["emailaddress"];
    first_name: Option<String> => "firstName", Text, writable, exported, [
        "first", "givenname", "fname", "forename"
    ];
    last_name: Option<String> => "lastName", Text, writable, exported, [
        "last", "surname", "familyname", "lname"
    ];
    address: Option<String> => "address", Text, writable, exported, [
        "street", "streetaddress", "address1", "addressline1"
    ];
    city: Option<String> => "city", Text, writable, exported, ["town"];
    /// Two-letter US state or territory code.
    state: Option<String> => "state", Text, writable, exported, ["statecode"];
    zip: Option<String> => "zip", Text, writable, exported, [
        "zipcode", "postalcode", "postcode", "postal"
    ];
    tags: Tags => "tags", Tags, writable, exported, ["tag", "labels"];
    /// Keys to strings, numbers, booleans or null.
    custom_fields: CustomFields => "customFields", CustomFields, writable, not_exported, [];
    /// `null` until a lookup has answered.
    is_textable: Option<bool> => "isTextable", OptBool, read_only, exported, [];
    /// The provider's line type: Twilio's (`mobile`, `landline`,
    /// `fixedVoip`, ...) or the offline provider's (`offline:...`).
    line_type: Option<String> => "lineType", Text, read_only, exported, [];
    /// `pending`, `done` or `failed`; `null` without a phone.
    lookup_status: Option<String> => "lookupStatus", Text, read_only, exported, [];
    looked_up_at: Option<i64> => "lookedUpAt", OptTime, read_only, exported, [];
    is_opted_in: bool => "isOptedIn", Bool, writable, exported, ["optedin"];
    opted_out_at: Option<i64> => "optedOutAt", OptTime, read_only, exported, [];
    /// IANA time zone name.
    timezone: Option<String> => "timezone", Text, writable, exported, ["tz"];
    is_starred: bool => "isStarred", Bool, writable, exported, ["starred"];
    is_archived: bool => "isArchived", Bool, writable, exported, ["archived"];
    created_at: i64 => "createdAt", Time, read_only, exported, [];
    updated_at: i64 => "updatedAt", Time, read_only, exported, [];
}

/// What a lookup learned about a phone.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// None when the provider gives no verdict (`none`).
    pub is_textable: Option<bool>,
    pub line_type: Option<String>,
}

impl Contact {
    /// What a write changes besides the fields a client set, at `now`: a
    /// new or changed phone starts its lookup over (settled at once by
    /// `answer`, else pending); a change of opt-in sets or clears
    /// `optedOutAt`; an update moves `updatedAt`.
    pub fn settle(&mut self, before: Option<&Contact>, answer: Option<&Answer>, now: i64) {
        if before.map(|b| &b.phone) != Some(&self.phone) {
            self.is_textable = None;
            self.line_type = None;
            self.looked_up_at = None;
            self.lookup_status = self.phone.as_ref().map(|_| "pending".to_string());
            if let Some(answer) = answer {
                self.is_textable = answer.is_textable;
                self.line_type = answer.line_type.clone();
                self.looked_up_at = answer.is_textable.map(|_| now);
                self.lookup_status = answer.is_textable.map(|_| "done".to_string());
            }
        }
        let was_opted_in = before.map(|b| b.is_opted_in).unwrap_or(true);
        if was_opted_in != self.is_opted_in {
            self.opted_out_at = (!self.is_opted_in).then_some(now);
        }
        if before.is_some() {
            self.updated_at = now.max(self.updated_at);
        }
    }

    /// A contact that has just been created: opted in, nothing else set.
    pub fn new(id: String, org: i64, now: i64) -> Self {
        Self {
            id,
            org,
            is_opted_in: true,
            created_at: now,
            updated_at: now,
            ..Self::default()
        }
    }

    /// The API names of the fields a client sets that differ in `other`.
    pub fn changed_fields(&self, other: &Contact) -> Vec<&'static str> {
        let (a, b) = (self.values(), other.values());
        FIELDS
            .iter()
            .zip(a.iter().zip(b.iter()))
            .filter(|(f, (x, y))| f.writable && x != y)
            .map(|(f, _)| f.api)
            .collect()
    }

    /// The API's shape of this contact; `org_uuid` is the public
    /// organization id.
    pub fn view<'a>(&'a self, org_uuid: &'a str) -> ContactView<'a> {
        ContactView {
            contact: self,
            org_uuid,
        }
    }

    /// [`Contact::view`] as a JSON value, for event payloads.
    pub fn to_json(&self, org_uuid: &str) -> Value {
        serde_json::to_value(self.view(org_uuid)).unwrap_or(Value::Null)
    }
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

/// A contact as the API shows it: every field of [`FIELDS`] by its API
/// name.
#[derive(Debug, Clone, Copy)]
pub struct ContactView<'a> {
    contact: &'a Contact,
    org_uuid: &'a str,
}

impl Serialize for ContactView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(FIELD_COUNT))?;
        for (field, value) in FIELDS.iter().zip(self.contact.values()) {
            match (field.kind, value) {
                (Kind::Org, _) => map.serialize_entry(field.api, self.org_uuid)?,
                (Kind::Time | Kind::OptTime, FieldValue::Int(t)) => {
                    map.serialize_entry(field.api, &t.map(format_ms))?
                }
                (_, FieldValue::Text(s)) => map.serialize_entry(field.api, &s)?,
                (_, FieldValue::Int(n)) => map.serialize_entry(field.api, &n)?,
                (_, FieldValue::Bool(b)) => map.serialize_entry(field.api, &b)?,
                (_, FieldValue::Tags(t)) => map.serialize_entry(field.api, t.as_slice())?,
                (_, FieldValue::CustomFields(f)) => map.serialize_entry(field.api, f.as_map())?,
            }
        }
        map.end()
    }
}

impl utoipa::ToSchema for ContactView<'_> {
    fn name() -> std::borrow::Cow<'static, str> {
        "Contact".into()
    }
}

impl utoipa::PartialSchema for ContactView<'_> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
        };
        let mut object = ObjectBuilder::new().description(Some(
            "A contact as the API shows it: the contract's full field set plus\n\
             Roster's additive lookup fields (`lineType`, `lookupStatus`,\n\
             `lookedUpAt`). Times are RFC 3339 in UTC with milliseconds.",
        ));
        for field in FIELDS {
            let (types, time): (&[Type], bool) = match field.kind {
                Kind::Id | Kind::Org => (&[Type::String], false),
                Kind::Text => (&[Type::String, Type::Null], false),
                Kind::Bool => (&[Type::Boolean], false),
                Kind::OptBool => (&[Type::Boolean, Type::Null], false),
                Kind::Time => (&[Type::String], true),
                Kind::OptTime => (&[Type::String, Type::Null], true),
                Kind::Tags => (&[Type::Array], false),
                Kind::CustomFields => (&[Type::Object], false),
            };
            let doc = field
                .doc
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n");
            let doc = (!doc.is_empty()).then_some(doc);
            let schema: utoipa::openapi::schema::Schema = if field.kind == Kind::Tags {
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .description(doc)
                    .into()
            } else {
                let kind = if types.len() == 1 {
                    SchemaType::Type(types[0].clone())
                } else {
                    types.iter().cloned().collect()
                };
                ObjectBuilder::new()
                    .schema_type(kind)
                    .format(time.then_some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(doc)
                    .into()
            };
            object = object.property(field.api, schema).required(field.api);
        }
        utoipa::openapi::RefOr::T(object.into())
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

    /// The same field with its value converted.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Set(v) => Field::Set(f(v)),
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

impl ContactPatch {
    /// Applies the patch to `c`. `merge` selects the rules of a create that
    /// merges into an existing contact: tags unioned, custom fields merged,
    /// opt-in never restored. Otherwise the rules of an update: tags and
    /// custom fields replaced.
    pub fn apply_to(self, c: &mut Contact, merge: bool) -> AppResult<()> {
        c.phone = self.phone.map(Phone::into_string).apply(c.phone.take());
        c.email = self
            .email
            .map(|e| e.as_str().to_string())
            .apply(c.email.take());
        c.first_name = self.first_name.apply(c.first_name.take());
        c.last_name = self.last_name.apply(c.last_name.take());
        c.address = self.address.apply(c.address.take());
        c.city = self.city.apply(c.city.take());
        c.zip = self.zip.apply(c.zip.take());
        c.state = self.state.map(State::into_string).apply(c.state.take());
        c.timezone = self
            .timezone
            .map(Timezone::into_string)
            .apply(c.timezone.take());
        if let Field::Set(tags) = self.tags {
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
        if let Field::Set(fields) = self.custom_fields {
            if merge {
                c.custom_fields.merge(&fields)?;
            } else {
                c.custom_fields = fields;
            }
        }
        if let Some(v) = self.is_starred {
            c.is_starred = v;
        }
        if let Some(v) = self.is_archived {
            c.is_archived = v;
        }
        match self.is_opted_in {
            Some(false) => c.is_opted_in = false,
            // A create that merges never opts anyone back in: opting in is
            // an explicit act (PUT isOptedIn or POST /opt-in).
            Some(true) if !merge => c.is_opted_in = true,
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

    fn patch(body: serde_json::Value, mode: Mode) -> ContactPatch {
        ContactPatch::from_json(&body, mode).unwrap()
    }

    #[test]
    fn a_merge_unions_tags_merges_fields_and_never_opts_back_in() {
        let mut c = Contact::new("c".into(), 1, 0);
        patch(
            json!({"phone": "9195551234", "tags": ["a"], "customFields": {"x": 1}, "isOptedIn": false}),
            Mode::Create,
        )
        .apply_to(&mut c, true)
        .unwrap();
        patch(
            json!({"email": "a@b.co", "tags": ["B"], "customFields": {"y": 2}, "isOptedIn": true, "city": "Durham"}),
            Mode::Create,
        )
        .apply_to(&mut c, true)
        .unwrap();
        assert_eq!(c.tags.as_slice(), ["a", "B"]);
        assert_eq!(c.custom_fields.as_map().len(), 2);
        assert!(!c.is_opted_in, "a merge never opts back in");
        assert_eq!(c.phone.as_deref(), Some("+19195551234"));
        assert_eq!(c.city.as_deref(), Some("Durham"));
    }

    #[test]
    fn an_update_replaces_tags_and_fields_clears_nulls_and_opts_in() {
        let mut c = Contact::new("c".into(), 1, 0);
        c.tags = Tags::parse_value(&json!(["a", "b"]), "tags").unwrap();
        c.city = Some("Durham".into());
        c.is_opted_in = false;
        patch(
            json!({"tags": ["c"], "city": null, "isOptedIn": true}),
            Mode::Update,
        )
        .apply_to(&mut c, false)
        .unwrap();
        assert_eq!(c.tags.as_slice(), ["c"]);
        assert_eq!(c.city, None);
        assert!(c.is_opted_in);
    }

    #[test]
    fn a_merge_past_the_tag_limit_is_refused() {
        let many: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
        let mut c = Contact::new("c".into(), 1, 0);
        c.tags = Tags::parse_value(&json!(many), "tags").unwrap();
        let err = patch(
            json!({"email": "a@b.co", "tags": ["one-more"]}),
            Mode::Create,
        )
        .apply_to(&mut c, true)
        .unwrap_err();
        assert!(matches!(err, AppError::BadRequest { field: Some(ref f), .. } if f == "tags"));
    }

    #[test]
    fn changed_fields_name_what_a_client_changed() {
        let a = Contact::new("c".into(), 1, 0);
        let mut b = a.clone();
        b.city = Some("Durham".into());
        b.is_starred = true;
        b.updated_at = 5;
        b.is_textable = Some(true);
        assert_eq!(a.changed_fields(&b), ["city", "isStarred"]);
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
