//! List filters and pagination parameters, parsed from a query string (the
//! list endpoint) or from JSON (segments, bulk actions, export).

use serde_json::{Map, Value, json};

use super::fields::{State, tag_key};
use super::time::{format_ms, parse_ms};
use crate::error::{AppError, AppResult, quote};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
pub const MAX_SEARCH_LEN: usize = 200;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TagsLogic {
    #[default]
    Or,
    And,
}

impl TagsLogic {
    fn parse(s: &str, field: &str) -> AppResult<Self> {
        match s.to_ascii_uppercase().as_str() {
            "OR" => Ok(Self::Or),
            "AND" => Ok(Self::And),
            _ => Err(AppError::invalid_parameter(
                field,
                format!("{field} must be AND or OR, not {}", quote(s)),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Or => "OR",
            Self::And => "AND",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortBy {
    #[default]
    UpdatedAt,
    CreatedAt,
}

impl SortBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpdatedAt => "updated_at",
            Self::CreatedAt => "created_at",
        }
    }

    /// The column the keyset index orders by.
    pub fn column(self) -> &'static str {
        self.as_str()
    }
}

/// The ad-hoc filters of the list endpoint. Tags are held as lower-case keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    pub search: Option<String>,
    pub tags: Vec<String>,
    pub tags_logic: TagsLogic,
    pub is_textable: Option<bool>,
    pub opted_out: Option<bool>,
    pub has_email: Option<bool>,
    pub has_phone: Option<bool>,
    pub states: Vec<String>,
    pub zip: Option<String>,
}

fn parse_bool(s: &str, field: &str) -> AppResult<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::invalid_parameter(
            field,
            format!("{field} must be true or false, not {}", quote(s)),
        )),
    }
}

fn parse_search(s: &str, field: &str) -> AppResult<Option<String>> {
    let s = s.trim();
    if s.chars().count() > MAX_SEARCH_LEN {
        return Err(AppError::invalid_parameter(
            field,
            format!("search is at most {MAX_SEARCH_LEN} characters"),
        ));
    }
    Ok((!s.is_empty()).then(|| s.to_string()))
}

/// At most this many tags in one filter.
pub const MAX_FILTER_TAGS: usize = 100;

fn parse_tag_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
    field: &str,
) -> AppResult<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    for t in items {
        let key = tag_key(t.trim());
        if !key.is_empty() && !tags.contains(&key) {
            tags.push(key);
        }
    }
    if tags.len() > MAX_FILTER_TAGS {
        return Err(AppError::invalid_parameter(
            field,
            format!("a filter names at most {MAX_FILTER_TAGS} tags"),
        ));
    }
    Ok(tags)
}

fn parse_states<'a>(
    items: impl IntoIterator<Item = &'a str>,
    field: &str,
) -> AppResult<Vec<String>> {
    let mut states = Vec::new();
    for s in items {
        if s.trim().is_empty() {
            continue;
        }
        let code = State::parse(s, field)
            .map_err(|_| {
                AppError::invalid_parameter(
                    field,
                    format!("{} is not a two-letter US state code", quote(s)),
                )
            })?
            .into_string();
        if !states.contains(&code) {
            states.push(code);
        }
    }
    Ok(states)
}

impl ContactFilter {
    /// Reads the filter parameters of a list query (`name -> value`).
    pub fn from_query(get: &dyn Fn(&str) -> Option<String>) -> AppResult<Self> {
        let mut f = ContactFilter::default();
        if let Some(s) = get("search") {
            f.search = parse_search(&s, "search")?;
        }
        if let Some(s) = get("tags") {
            f.tags = parse_tag_list(s.split(','), "tags")?;
        }
        if let Some(s) = get("tagsLogic") {
            f.tags_logic = TagsLogic::parse(&s, "tagsLogic")?;
        }
        f.is_textable = get("isTextable")
            .map(|s| parse_bool(&s, "isTextable"))
            .transpose()?;
        f.opted_out = get("optedOut")
            .map(|s| parse_bool(&s, "optedOut"))
            .transpose()?;
        f.has_email = get("hasEmail")
            .map(|s| parse_bool(&s, "hasEmail"))
            .transpose()?;
        f.has_phone = get("hasPhone")
            .map(|s| parse_bool(&s, "hasPhone"))
            .transpose()?;
        if let Some(s) = get("state") {
            f.states = parse_states(s.split(','), "state")?;
        }
        f.zip = get("zip")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok(f)
    }

    /// Reads the JSON form used by segments, bulk actions and export:
    /// `{"search", "tags": [..], "tagsLogic", "isTextable", "optedOut",
    /// "hasEmail", "hasPhone", "state": [..], "zip"}`. Unknown keys are 400.
    pub fn from_json(value: &Value, field: &str) -> AppResult<Self> {
        let Value::Object(obj) = value else {
            return Err(AppError::validation(
                field,
                format!("{field} must be an object"),
            ));
        };
        let mut f = ContactFilter::default();
        for (key, v) in obj {
            let name = format!("{field}.{key}");
            if v.is_null() {
                continue;
            }
            let string = |v: &Value| -> AppResult<String> {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| AppError::validation(&name, format!("{name} must be a string")))
            };
            let boolean = |v: &Value| -> AppResult<bool> {
                v.as_bool().ok_or_else(|| {
                    AppError::validation(&name, format!("{name} must be true or false"))
                })
            };
            let strings = |v: &Value| -> AppResult<Vec<String>> {
                let arr = v.as_array().ok_or_else(|| {
                    AppError::validation(&name, format!("{name} must be an array of strings"))
                })?;
                arr.iter()
                    .map(|x| {
                        x.as_str().map(str::to_string).ok_or_else(|| {
                            AppError::validation(
                                &name,
                                format!("{name} must be an array of strings"),
                            )
                        })
                    })
                    .collect()
            };
            match key.as_str() {
                "search" => f.search = parse_search(&string(v)?, &name)?,
                "tags" => f.tags = parse_tag_list(strings(v)?.iter().map(String::as_str), &name)?,
                "tagsLogic" => f.tags_logic = TagsLogic::parse(&string(v)?, &name)?,
                "isTextable" => f.is_textable = Some(boolean(v)?),
                "optedOut" => f.opted_out = Some(boolean(v)?),
                "hasEmail" => f.has_email = Some(boolean(v)?),
                "hasPhone" => f.has_phone = Some(boolean(v)?),
                "state" => f.states = parse_states(strings(v)?.iter().map(String::as_str), &name)?,
                "zip" => f.zip = Some(string(v)?.trim().to_string()).filter(|s| !s.is_empty()),
                other => {
                    return Err(AppError::validation(
                        &name,
                        format!(
                            "unknown filter {}; filters are search, tags, tagsLogic, isTextable, optedOut, hasEmail, hasPhone, state and zip",
                            quote(other)
                        ),
                    ));
                }
            }
        }
        Ok(f)
    }

    /// The JSON form, as segments store and answer it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(s) = &self.search {
            m.insert("search".into(), json!(s));
        }
        if !self.tags.is_empty() {
            m.insert("tags".into(), json!(self.tags));
            m.insert("tagsLogic".into(), json!(self.tags_logic.as_str()));
        }
        for (k, v) in [
            ("isTextable", self.is_textable),
            ("optedOut", self.opted_out),
            ("hasEmail", self.has_email),
            ("hasPhone", self.has_phone),
        ] {
            if let Some(b) = v {
                m.insert(k.into(), json!(b));
            }
        }
        if !self.states.is_empty() {
            m.insert("state".into(), json!(self.states));
        }
        if let Some(z) = &self.zip {
            m.insert("zip".into(), json!(z));
        }
        Value::Object(m)
    }

    /// True when the filter matches every contact.
    pub fn is_empty(&self) -> bool {
        self.search.is_none()
            && self.tags.is_empty()
            && self.is_textable.is_none()
            && self.opted_out.is_none()
            && self.has_email.is_none()
            && self.has_phone.is_none()
            && self.states.is_empty()
            && self.zip.is_none()
    }
}

/// A keyset position: the sort field's value and the contact id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub ts: i64,
    pub id: String,
}

impl Cursor {
    /// The position just after `c` in the order of `sort`.
    pub fn after(c: &crate::model::Contact, sort: SortBy) -> Self {
        let ts = match sort {
            SortBy::UpdatedAt => c.updated_at,
            SortBy::CreatedAt => c.created_at,
        };
        Self {
            ts,
            id: c.id.clone(),
        }
    }

    /// Parses the documented shape, `{"updated_at": "...", "id": "..."}` (or
    /// `created_at` for that sort). A cursor made for the other sort is 400.
    pub fn parse(s: &str, sort: SortBy) -> AppResult<Self> {
        let bad = |why: &str| {
            AppError::bad_request(
                "invalid_cursor",
                Some("cursor".into()),
                format!("cursor is not valid: {why}"),
            )
        };
        let value: Value = serde_json::from_str(s)
            .map_err(|_| bad("it is not the JSON a list response returned"))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("it is not a JSON object"))?;
        let other = match sort {
            SortBy::UpdatedAt => SortBy::CreatedAt,
            SortBy::CreatedAt => SortBy::UpdatedAt,
        };
        if obj.contains_key(other.as_str()) && !obj.contains_key(sort.as_str()) {
            return Err(bad(&format!(
                "it was made for sortBy={}, not sortBy={}",
                other.as_str(),
                sort.as_str()
            )));
        }
        let ts = obj
            .get(sort.as_str())
            .and_then(Value::as_str)
            .and_then(parse_ms)
            .ok_or_else(|| bad(&format!("it has no valid '{}' timestamp", sort.as_str())))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .ok_or_else(|| bad("it has no valid 'id'"))?
            .hyphenated()
            .to_string();
        if obj.len() != 2 {
            return Err(bad("it has unexpected keys"));
        }
        Ok(Self { ts, id })
    }

    pub fn encode(&self, sort: SortBy) -> String {
        let mut m = Map::new();
        m.insert(sort.as_str().into(), json!(format_ms(self.ts)));
        m.insert("id".into(), json!(self.id));
        Value::Object(m).to_string()
    }
}

// The document's shape of what `ListParams::from_query` reads.
/// The list's paging and sort parameters.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct PageQuery {
    /// Contacts per page, 1 or more; above 200 counts as 200. Default 50.
    #[param(minimum = 1)]
    limit: Option<u32>,
    /// The `cursor` of the previous page.
    cursor: Option<String>,
    /// Default `updated_at`, newest first; `relevance` orders a `search` by score.
    #[param(inline)]
    sortBy: Option<SortParam>,
    /// Contacts to skip; with `sortBy=relevance`, which pages by offset.
    #[param(minimum = 0)]
    offset: Option<u64>,
    /// Also count every match (`total`).
    includeTotal: Option<bool>,
}

#[derive(Debug, utoipa::ToSchema)]
#[allow(non_camel_case_types, dead_code)]
enum SortParam {
    updated_at,
    created_at,
    relevance,
}

// The document's shape of what `ContactFilter::from_query` reads.
/// The filter parameters of a list or export.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct FilterQuery {
    /// A saved segment whose filters replace every filter below.
    segmentId: Option<String>,
    /// Fuzzy search across names, email and phone.
    search: Option<String>,
    /// Comma-separated tags.
    tags: Option<String>,
    /// How `tags` combine; default `OR`.
    #[param(inline)]
    tagsLogic: Option<TagsLogicParam>,
    isTextable: Option<bool>,
    optedOut: Option<bool>,
    hasEmail: Option<bool>,
    hasPhone: Option<bool>,
    /// Comma-separated two-letter state codes.
    state: Option<String>,
    zip: Option<String>,
}

#[derive(Debug, utoipa::ToSchema)]
#[allow(clippy::upper_case_acronyms, dead_code)]
enum TagsLogicParam {
    OR,
    AND,
}

// The document's shape of what `ContactFilter::from_json` reads.
/// A filter as a JSON object (a segment's `filters`, a bulk action's
/// `filter`). Unknown keys are 400.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(as = Filter)]
#[allow(dead_code)]
pub struct FilterInput {
    search: Option<String>,
    tags: Option<Vec<String>>,
    #[schema(inline)]
    tags_logic: Option<TagsLogicParam>,
    is_textable: Option<bool>,
    opted_out: Option<bool>,
    has_email: Option<bool>,
    has_phone: Option<bool>,
    /// Two-letter state codes.
    state: Option<Vec<String>>,
    zip: Option<String>,
}

/// A page size from the query string: 1 or more; above [`MAX_LIMIT`] (even
/// past any integer) counts as [`MAX_LIMIT`].
pub fn parse_limit(s: &str) -> AppResult<u32> {
    let t = s.trim();
    let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let n: i64 = match t.parse() {
        Ok(n) => n,
        Err(_) if digits => i64::MAX,
        Err(_) => {
            return Err(AppError::invalid_parameter(
                "limit",
                format!("limit must be a whole number, not {}", quote(s)),
            ));
        }
    };
    if n < 1 {
        return Err(AppError::invalid_parameter(
            "limit",
            "limit must be at least 1",
        ));
    }
    Ok(n.min(i64::from(MAX_LIMIT)) as u32)
}

/// The cursor of a list paged by sequence number (a timeline, deliveries):
/// the positive number the previous page returned.
pub fn parse_seq_cursor(s: &str) -> AppResult<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_cursor",
                Some("cursor".into()),
                "cursor is not valid: pass the cursor the previous page returned",
            )
        })
}

/// Pagination and sort for a list request.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub offset: u64,
    pub sort_by: SortBy,
    pub include_total: bool,
    /// The `sortBy=relevance` extension: order by search score.
    pub by_relevance: bool,
}

impl ListParams {
    pub fn from_query(get: &dyn Fn(&str) -> Option<String>) -> AppResult<Self> {
        let mut p = ListParams {
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        if let Some(s) = get("sortBy") {
            match s.as_str() {
                "updated_at" => p.sort_by = SortBy::UpdatedAt,
                "created_at" => p.sort_by = SortBy::CreatedAt,
                "relevance" => p.by_relevance = true,
                _ => {
                    return Err(AppError::invalid_parameter(
                        "sortBy",
                        format!("sortBy must be updated_at or created_at, not {}", quote(&s)),
                    ));
                }
            }
        }
        if let Some(s) = get("limit") {
            p.limit = parse_limit(&s)?;
        }
        if let Some(s) = get("offset") {
            let n: i64 = s.trim().parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
                AppError::invalid_parameter(
                    "offset",
                    format!(
                        "offset must be a whole number from 0 to {}, not {}",
                        i64::MAX,
                        quote(&s)
                    ),
                )
            })?;
            p.offset = n as u64;
        }
        if let Some(s) = get("cursor") {
            if p.by_relevance {
                return Err(AppError::invalid_parameter(
                    "cursor",
                    "sortBy=relevance pages with offset, not cursor",
                ));
            }
            p.cursor = Some(Cursor::parse(&s, p.sort_by)?);
        }
        if let Some(s) = get("includeTotal") {
            p.include_total = parse_bool(&s, "includeTotal")?;
        }
        Ok(p)
    }

    /// The `sortBy` the response reports.
    pub fn sort_label(&self) -> &'static str {
        if self.by_relevance {
            "relevance"
        } else {
            self.sort_by.as_str()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn cursor_round_trips_and_refuses_the_other_sort() {
        let c = Cursor {
            ts: 1_700_000_000_123,
            id: "0190a5d2-0000-7000-8000-000000000001".into(),
        };
        let s = c.encode(SortBy::UpdatedAt);
        assert_eq!(Cursor::parse(&s, SortBy::UpdatedAt).unwrap(), c);
        assert_eq!(
            Cursor::parse(&s, SortBy::CreatedAt).unwrap_err().code(),
            "invalid_cursor"
        );
        assert!(Cursor::parse("garbage", SortBy::UpdatedAt).is_err());
    }

    #[test]
    fn limits_clamp_and_reject() {
        assert_eq!(
            ListParams::from_query(&q(&[("limit", "500")]))
                .unwrap()
                .limit,
            200
        );
        assert!(ListParams::from_query(&q(&[("limit", "0")])).is_err());
        assert!(ListParams::from_query(&q(&[("limit", "ten")])).is_err());
        assert!(ListParams::from_query(&q(&[("sortBy", "name")])).is_err());
    }

    #[test]
    fn filter_json_round_trips_and_rejects_unknown_keys() {
        let f = ContactFilter::from_query(&q(&[
            ("tags", "VIP, donor"),
            ("tagsLogic", "and"),
            ("state", "nc,sc"),
            ("hasEmail", "true"),
        ]))
        .unwrap();
        assert_eq!(f.tags, ["vip", "donor"]);
        assert_eq!(
            ContactFilter::from_json(&f.to_json(), "filters").unwrap(),
            f
        );
        assert!(ContactFilter::from_json(&json!({"color": "red"}), "filters").is_err());
        assert!(ContactFilter::from_query(&q(&[("isTextable", "yes")])).is_err());
    }
}
