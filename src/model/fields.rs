//! Validated contact field types. Each `parse` returns the contract's 400 on
//! bad input, naming the field at fault.

use std::collections::HashSet;
use std::sync::LazyLock;

use quick_cache::sync::Cache;
use serde_json::{Map, Value};

use crate::error::{AppError, AppResult, quote};

pub const MAX_CUSTOM_FIELDS: usize = 20;
pub const MAX_CUSTOM_FIELD_KEY: usize = 100;
pub const MAX_CUSTOM_FIELD_VALUE: usize = 2_000;
pub const MAX_TAGS: usize = 100;
pub const MAX_TAG_LEN: usize = 100;
pub const MAX_TEXT_LEN: usize = 500;

/// A phone number, always E.164 (`+19195551234`). A number just parsed also
/// knows the line type libphonenumber's metadata gives it (worked out by the
/// validity check anyway), so the offline lookup provider need not parse it
/// again.
#[derive(Debug, Clone)]
pub struct Phone {
    e164: String,
    kind: Option<phonenumber::Type>,
}

/// How many recently parsed numbers keep their line type in [`RECENT_KINDS`].
const RECENT_KINDS_CAPACITY: usize = 16_384;

/// The line types of recently parsed numbers, by E.164 form. A create
/// validates its phone on the request's thread, and the lookup worker answers
/// the same number moments later from the stored E.164 form: this spares it
/// a second parse and type check, the costliest steps of libphonenumber (a
/// number not found here, after a restart say, is parsed again).
static RECENT_KINDS: LazyLock<Cache<String, phonenumber::Type>> =
    LazyLock::new(|| Cache::new(RECENT_KINDS_CAPACITY));

impl PartialEq for Phone {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for Phone {}

impl Phone {
    /// Any US format, or an international number written with `+`.
    pub fn parse(input: &str) -> AppResult<Self> {
        let invalid = || {
            AppError::bad_request(
                "invalid_phone",
                Some("phone".into()),
                format!(
                    "{} is not a valid phone number; use a US number or E.164 (+country code)",
                    quote(input)
                ),
            )
        };
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 40 {
            return Err(invalid());
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::US), trimmed)
            .map_err(|_| invalid())?;
        if number.extension().is_some() {
            return Err(invalid());
        }
        // `parse` accepts numbers such as "123"; only valid numbers are
        // stored. For a national number without leading zeros (all but a
        // few countries') libphonenumber's validity check is "the metadata
        // gives it a type", so the type is worked out once for both.
        let kind = if number.national().zeros() == 0 {
            let kind = number.number_type(&phonenumber::metadata::DATABASE);
            if kind == phonenumber::Type::Unknown {
                return Err(invalid());
            }
            Some(kind)
        } else if number.is_valid() {
            None
        } else {
            return Err(invalid());
        };
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        // Letters (vanity numbers) are rewritten by the parser, and a
        // national prefix it recognizes is dropped; keep only a number whose
        // E.164 form is itself valid, so what is stored is always accepted
        // again. A number written with exactly the digits of its E.164 form
        // (a US number also without its country code) was just checked.
        let plain = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c));
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let same_digits = e164[1..] == digits
            || (!trimmed.contains('+') && e164.strip_prefix("+1") == Some(digits.as_str()));
        let checked = plain && same_digits;
        if !checked && !Phone::parse(&e164).is_ok_and(|again| again.e164 == e164) {
            return Err(invalid());
        }
        if let Some(kind) = kind {
            RECENT_KINDS.insert(e164.clone(), kind);
        }
        Ok(Self { e164, kind })
    }

    /// Wraps a value read back from storage (already E.164).
    pub fn from_stored(e164: String) -> Self {
        Self { e164, kind: None }
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn into_string(self) -> String {
        self.e164
    }

    /// The line type found when the number was parsed (None for a stored
    /// number, or one whose type was not worked out).
    pub fn kind(&self) -> Option<phonenumber::Type> {
        self.kind
    }

    /// The line type found when this number was last parsed, if that was
    /// recent enough to be remembered.
    pub fn recent_kind(&self) -> Option<phonenumber::Type> {
        self.kind.or_else(|| RECENT_KINDS.get(self.e164.as_str()))
    }
}

/// An email address: trimmed, case kept for display; `key()` is the
/// case-insensitive identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> AppResult<Self> {
        let invalid = |why: &str| {
            AppError::bad_request(
                "invalid_email",
                Some("email".into()),
                format!("{} is not a valid email address: {why}", quote(input)),
            )
        };
        let email = input.trim();
        if email.len() > 254 {
            return Err(invalid("longer than 254 characters"));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(invalid("it has no '@'"));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid(
                "the part before '@' is empty, too long or has another '@'",
            ));
        }
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if !domain_ok {
            return Err(invalid("the domain is not valid"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains whitespace"));
        }
        Ok(Self(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What makes two emails the same address (see [`email_key`]).
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

/// The uniqueness key of an email: case does not tell two addresses apart.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

const STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", // states
    "DC", // district
    "AS", "GU", "MP", "PR", "VI", "UM", // territories
    "AA", "AE", "AP", // armed forces
];

/// A two-letter US state, district, territory or armed-forces code, upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    pub fn parse(input: &str, field: &str) -> AppResult<Self> {
        let code = input.trim().to_ascii_uppercase();
        if STATES.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(AppError::validation(
                field,
                format!("{} is not a two-letter US state code", quote(input)),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An IANA time zone name such as `America/Chicago`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone(String);

impl Timezone {
    pub fn parse(input: &str) -> AppResult<Self> {
        let name = input.trim();
        name.parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_string()))
            .map_err(|_| {
                AppError::validation(
                    "timezone",
                    format!(
                        "{} is not an IANA time zone name (e.g. America/Chicago)",
                        quote(input)
                    ),
                )
            })
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Tag matching is case-insensitive; this is the key the tag index stores.
pub fn tag_key(tag: &str) -> String {
    tag.to_lowercase()
}

/// A contact's tags: trimmed, non-empty, de-duplicated case-insensitively
/// (the first spelling wins), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse_value(value: &Value, field: &str) -> AppResult<Self> {
        let Value::Array(items) = value else {
            return Err(AppError::validation(
                field,
                format!("{field} must be an array of strings"),
            ));
        };
        let mut tags = Vec::with_capacity(items.len());
        for item in items {
            let Value::String(s) = item else {
                return Err(AppError::validation(
                    field,
                    format!("{field} must be an array of strings"),
                ));
            };
            tags.push(s.as_str());
        }
        Self::parse_strs(tags, field)
    }

    pub fn parse_strs<'a>(
        items: impl IntoIterator<Item = &'a str>,
        field: &str,
    ) -> AppResult<Self> {
        let mut out = Tags::default();
        for raw in items {
            let tag = raw.trim();
            if tag.is_empty() {
                return Err(AppError::validation(field, "tags must not be empty"));
            }
            if tag.chars().count() > MAX_TAG_LEN {
                return Err(AppError::validation(
                    field,
                    format!("tags are at most {MAX_TAG_LEN} characters"),
                ));
            }
            if tag.contains(',') {
                return Err(AppError::validation(
                    field,
                    format!(
                        "tag {} contains a comma; commas separate tags in filters",
                        quote(tag)
                    ),
                ));
            }
            out.push(tag);
        }
        if out.0.len() > MAX_TAGS {
            return Err(AppError::validation(
                field,
                format!("a contact has at most {MAX_TAGS} tags"),
            ));
        }
        Ok(out)
    }

    /// Reads stored JSON (already valid).
    pub fn from_stored(json: &str) -> Self {
        Self(serde_json::from_str(json).unwrap_or_default())
    }

    fn push(&mut self, tag: &str) {
        let key = tag_key(tag);
        if !self.0.iter().any(|t| tag_key(t) == key) {
            self.0.push(tag.to_string());
        }
    }

    /// Adds `other`'s tags that are not already present.
    pub fn union(&mut self, other: &Tags) {
        for tag in &other.0 {
            self.push(tag);
        }
    }

    /// Removes every tag whose key is in `keys`; says whether any went.
    /// These tags with `from` spelled `to`; a contact that already has `to`
    /// keeps it once (the two merge).
    pub fn renamed(&self, from: &str, to: &str) -> AppResult<Tags> {
        let (from_key, to_key) = (tag_key(from), tag_key(to));
        let already_has_to = from_key != to_key && self.keys().contains(&to_key);
        let renamed: Vec<&str> = self
            .0
            .iter()
            .filter_map(|t| {
                if tag_key(t) != from_key {
                    Some(t.as_str())
                } else if already_has_to {
                    None
                } else {
                    Some(to)
                }
            })
            .collect();
        Tags::parse_strs(renamed, "to")
    }

    /// These tags without `tag` (in any spelling).
    pub fn without(&self, tag: &str) -> Tags {
        let mut t = self.clone();
        t.remove_keys(&std::iter::once(tag_key(tag)).collect());
        t
    }

    pub fn remove_keys(&mut self, keys: &HashSet<String>) -> bool {
        let before = self.0.len();
        self.0.retain(|t| !keys.contains(&tag_key(t)));
        self.0.len() != before
    }

    pub fn keys(&self) -> Vec<String> {
        self.0.iter().map(|t| tag_key(t)).collect()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    /// The same tags as `other`, ignoring case and order.
    pub fn same_as(&self, other: &Tags) -> bool {
        let mut a = self.keys();
        let mut b = other.keys();
        a.sort();
        b.sort();
        a == b
    }
}

/// Custom fields: at most 20 keys; values are strings, numbers, booleans or
/// null.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomFields(Map<String, Value>);

impl CustomFields {
    pub fn parse_value(value: &Value) -> AppResult<Self> {
        let Value::Object(map) = value else {
            return Err(AppError::validation(
                "customFields",
                "customFields must be an object of key-value pairs",
            ));
        };
        let fields = Self(map.clone());
        fields.check()?;
        Ok(fields)
    }

    fn check(&self) -> AppResult<()> {
        if self.0.len() > MAX_CUSTOM_FIELDS {
            return Err(AppError::bad_request(
                "too_many_custom_fields",
                Some("customFields".into()),
                format!(
                    "a contact has at most {MAX_CUSTOM_FIELDS} custom fields; this one would have {}",
                    self.0.len()
                ),
            ));
        }
        for (key, value) in &self.0 {
            if key.trim().is_empty() || key.chars().count() > MAX_CUSTOM_FIELD_KEY {
                return Err(AppError::validation(
                    "customFields",
                    format!("custom field keys are 1 to {MAX_CUSTOM_FIELD_KEY} characters"),
                ));
            }
            match value {
                Value::Array(_) | Value::Object(_) => {
                    return Err(AppError::validation(
                        "customFields",
                        format!(
                            "custom field {} must be a string, number, boolean or null, not a nested value",
                            quote(key)
                        ),
                    ));
                }
                Value::String(s) if s.chars().count() > MAX_CUSTOM_FIELD_VALUE => {
                    return Err(AppError::validation(
                        "customFields",
                        format!(
                            "custom field {} is longer than {MAX_CUSTOM_FIELD_VALUE} characters",
                            quote(key)
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn from_stored(json: &str) -> Self {
        Self(serde_json::from_str(json).unwrap_or_default())
    }

    /// Merges `other` into `self` key by key; fails if the result has too
    /// many keys.
    pub fn merge(&mut self, other: &CustomFields) -> AppResult<()> {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
        self.check()
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }
}

/// A free-text field (names, address, city, zip): trimmed; empty means unset.
pub fn parse_text(value: &str, field: &str, max: usize) -> AppResult<Option<String>> {
    let text = value.trim();
    if text.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("{field} is at most {max} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(AppError::validation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Tags {
        Tags::parse_strs(t.to_vec(), "tags").unwrap()
    }

    #[test]
    fn a_rename_keeps_order_and_merges_with_an_existing_tag() {
        assert_eq!(
            tags(&["a", "VIP", "b"])
                .renamed("vip", "gold")
                .unwrap()
                .as_slice(),
            ["a", "gold", "b"]
        );
        assert_eq!(
            tags(&["vip", "gold"])
                .renamed("VIP", "Gold")
                .unwrap()
                .as_slice(),
            ["gold"]
        );
        assert_eq!(
            tags(&["vip"]).renamed("vip", "VIP").unwrap().as_slice(),
            ["VIP"]
        );
        assert_eq!(tags(&["a", "Vip"]).without("vip").as_slice(), ["a"]);
    }

    #[test]
    fn a_vanity_number_is_kept_only_if_its_e164_form_is_valid() {
        // Found by the phone fuzz target: the letters made a number whose
        // E.164 form libphonenumber then refused.
        assert!(Phone::parse("+44111MMMMA 09A8").is_err());
        let vanity = Phone::parse("1-800-FLOWERS").unwrap();
        assert_eq!(Phone::parse(vanity.as_str()).unwrap(), vanity);
    }

    #[test]
    fn a_number_whose_digits_the_parser_changed_is_kept_only_if_its_e164_form_is_valid() {
        // Found by the phone fuzz target: libphonenumber read "11" as a
        // national prefix and dropped it, leaving an E.164 form it refused.
        assert!(Phone::parse("+994111268943 08").is_err());
        // The US exit code before a country code is dropped too, and the
        // number that is left is valid.
        let london = Phone::parse("011 44 7911 123456").unwrap();
        assert_eq!(london.as_str(), "+447911123456");
        assert_eq!(Phone::parse(london.as_str()).unwrap(), london);
    }

    #[test]
    fn phones_normalize_to_e164() {
        for input in [
            "9195551234",
            "(919) 555-1234",
            "919.555.1234",
            "+1 919 555 1234",
            "1-919-555-1234",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_str(),
                "+19195551234",
                "{input}"
            );
        }
        assert_eq!(
            Phone::parse("+44 7911 123456").unwrap().as_str(),
            "+447911123456"
        );
        for bad in ["123", "", "abc", "555-1234", "+1 000 000 0000"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_checked_and_keyed_case_insensitively() {
        let e = Email::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Jane.Doe@Example.COM");
        assert_eq!(e.key(), "jane.doe@example.com");
        for bad in [
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "ja ne@example.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_trim_and_dedupe_case_insensitively() {
        let tags = Tags::parse_strs([" VIP", "vip", "donor "], "tags").unwrap();
        assert_eq!(tags.as_slice(), ["VIP", "donor"]);
        assert!(Tags::parse_strs([" "], "tags").is_err());
    }

    #[test]
    fn custom_fields_reject_nesting_and_excess() {
        assert!(CustomFields::parse_value(&serde_json::json!({"a": {"b": 1}})).is_err());
        assert!(CustomFields::parse_value(&serde_json::json!({"a": [1]})).is_err());
        let many: Map<String, Value> = (0..21).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let err = CustomFields::parse_value(&Value::Object(many)).unwrap_err();
        assert_eq!(err.code(), "too_many_custom_fields");
    }

    #[test]
    fn states_and_timezones() {
        assert_eq!(State::parse("nc", "state").unwrap().as_str(), "NC");
        assert!(State::parse("XX", "state").is_err());
        assert!(Timezone::parse("America/Chicago").is_ok());
        assert!(Timezone::parse("Mars/Base").is_err());
    }
}
