//! Which contact field each CSV column feeds, and how one row becomes the
//! JSON body of a create (validated by `ContactPatch::from_json`, exactly as
//! the API validates it).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{AppError, AppResult, quote};
use crate::model::contact::{FIELDS, FieldDef, Kind};
use crate::model::fields::MAX_CUSTOM_FIELDS;

/// Where a column's cells go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A contact field, by its camelCase API name.
    Field(&'static str),
    /// `optedOut`: true opts the contact out (the inverse of `isOptedIn`).
    OptedOut,
    /// A custom field with this key.
    Custom(String),
    Ignore,
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Field(f) => (*f).to_string(),
            Target::OptedOut => "optedOut".into(),
            Target::Custom(k) => format!("{CUSTOM_PREFIX}{k}"),
            Target::Ignore => "null".into(),
        }
    }
}

const OPTED_OUT: &[&str] = &["optedout", "isoptedout", "optout", "unsubscribed"];

/// The fields a column can feed: the writable fields of [`FIELDS`] but
/// the custom fields, which have a column per key.
fn targets() -> impl Iterator<Item = &'static FieldDef> {
    FIELDS
        .iter()
        .filter(|f| f.writable && f.kind != Kind::CustomFields)
}

/// Prefix of a header (or mapping target) naming a custom field key.
pub const CUSTOM_PREFIX: &str = "customFields.";

/// A header's letters and digits, lower-cased. Lower-casing comes first:
/// it can add marks (`İ` becomes `i` and a combining dot), which are dropped,
/// so a normalized header normalizes to itself.
pub fn normalize(header: &str) -> String {
    header
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn custom_key(header: &str) -> Option<&str> {
    let h = header.trim();
    let n = CUSTOM_PREFIX.len();
    (h.len() > n && h.is_char_boundary(n) && h[..n].eq_ignore_ascii_case(CUSTOM_PREFIX))
        .then(|| &h[n..])
}

/// Parses a `mapping` option value: a field name, `optedOut`,
/// `customFields.<key>`, or null / "" / "ignore" to skip the column.
pub fn parse_target(value: &Value, name: &str) -> AppResult<Target> {
    let s = match value {
        Value::Null => return Ok(Target::Ignore),
        Value::String(s) => s.trim(),
        _ => {
            return Err(AppError::validation(
                name,
                format!("{name} must be a field name, \"customFields.<key>\" or null"),
            ));
        }
    };
    if s.is_empty() || s.eq_ignore_ascii_case("ignore") {
        return Ok(Target::Ignore);
    }
    if s == "optedOut" {
        return Ok(Target::OptedOut);
    }
    if let Some(f) = targets().find(|f| f.api == s) {
        return Ok(Target::Field(f.api));
    }
    if let Some(key) = custom_key(s) {
        return Ok(Target::Custom(key.to_string()));
    }
    Err(AppError::validation(
        name,
        format!(
            "{} is not a target; use one of {}, optedOut, \"customFields.<key>\" or null to skip the column",
            quote(s),
            targets().map(|f| f.api).collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// The target a header maps to when no explicit mapping names it.
fn auto_target(header: &str) -> Target {
    if let Some(key) = custom_key(header) {
        return Target::Custom(key.to_string());
    }
    let n = normalize(header);
    if n.is_empty() {
        return Target::Ignore;
    }
    let named = |f: &&FieldDef| normalize(f.api) == n || f.synonyms.contains(&n.as_str());
    if let Some(f) = targets().find(named) {
        return Target::Field(f.api);
    }
    if OPTED_OUT.contains(&n.as_str()) {
        return Target::OptedOut;
    }
    // Roster's own export carries the read-only fields: skipped, so an
    // export imports back cleanly.
    if FIELDS.iter().filter(|f| !f.writable).any(|f| named(&f)) {
        return Target::Ignore;
    }
    Target::Custom(header.trim().to_string())
}

/// The column plan of one file.
#[derive(Debug, Clone)]
pub struct Plan {
    pub headers: Vec<String>,
    pub targets: Vec<Target>,
    /// API field name -> the header that feeds it (to name the column of an
    /// error).
    field_columns: HashMap<String, String>,
}

impl Plan {
    /// Maps `headers`. Explicit `mapping` entries (header -> target) win;
    /// they match a header exactly, or else by normalized spelling. When two
    /// headers map to one field automatically, the first wins and the later
    /// ones become custom fields.
    pub fn new(headers: Vec<String>, mapping: &[(String, Target)]) -> AppResult<Self> {
        let mut targets: Vec<Option<Target>> = vec![None; headers.len()];
        for (name, target) in mapping {
            let idx = headers
                .iter()
                .position(|h| h.trim() == name.trim())
                .or_else(|| {
                    let n = normalize(name);
                    headers.iter().position(|h| normalize(h) == n)
                })
                .ok_or_else(|| {
                    AppError::validation(
                        "mapping",
                        format!(
                            "the mapping names the column {}, which the file does not have",
                            quote(name)
                        ),
                    )
                })?;
            targets[idx] = Some(target.clone());
        }
        let mut taken: Vec<Target> = targets.iter().flatten().cloned().collect();
        for t in &taken {
            if !matches!(t, Target::Ignore) && taken.iter().filter(|x| *x == t).count() > 1 {
                return Err(AppError::validation(
                    "mapping",
                    format!("the mapping sends two columns to {}", t.describe()),
                ));
            }
        }
        let mut out = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let t = match targets[i].take() {
                Some(t) => t,
                None => {
                    let t = auto_target(h);
                    if t != Target::Ignore && taken.contains(&t) {
                        Target::Custom(h.trim().to_string())
                    } else {
                        taken.push(t.clone());
                        t
                    }
                }
            };
            out.push(t);
        }
        let mut field_columns = HashMap::new();
        for (h, t) in headers.iter().zip(&out) {
            let name = match t {
                Target::Field(f) => f.to_string(),
                Target::OptedOut => "isOptedIn".to_string(),
                _ => continue,
            };
            field_columns.entry(name).or_insert_with(|| h.clone());
        }
        Ok(Self {
            headers,
            targets: out,
            field_columns,
        })
    }

    /// The header of the column behind an API field name, if one feeds it.
    pub fn column_of(&self, field: &str) -> Option<String> {
        self.field_columns.get(field).cloned()
    }
}

/// A row that cannot become a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub column: Option<String>,
    pub error: String,
}

/// A yes/no cell.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// A custom field cell: `true`/`false` become booleans and numbers written
/// the way JSON writes them become numbers (so `02134` stays text); the rest
/// is text.
pub fn infer_value(s: &str) -> Value {
    match s {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = s.parse::<serde_json::Number>()
        && n.to_string() == s
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

/// How a custom field value is written in a CSV cell.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds the create body for one row. Empty cells are left out, so they
/// never clear what a contact already has. `isOptedIn`/`optedOut` cells can
/// only opt out: a cell asking to opt in is dropped.
pub fn row_to_json(plan: &Plan, cells: &[String]) -> Result<Value, RowError> {
    let mut obj = Map::new();
    let mut custom = Map::new();
    if cells.len() > plan.headers.len()
        && cells[plan.headers.len()..]
            .iter()
            .any(|c| !c.trim().is_empty())
    {
        return Err(RowError {
            column: None,
            error: format!(
                "the row has {} cells but the header has {} columns",
                cells.len(),
                plan.headers.len()
            ),
        });
    }
    for (i, target) in plan.targets.iter().enumerate() {
        let Some(cell) = cells.get(i) else { break };
        let cell = super::formula::restore(cell.trim());
        if cell.is_empty() {
            continue;
        }
        let flag = || {
            parse_flag(cell).ok_or_else(|| RowError {
                column: Some(plan.headers[i].clone()),
                error: format!(
                    "{} is not a yes/no value (true, false, yes, no, 1, 0)",
                    quote(cell)
                ),
            })
        };
        match target {
            Target::Ignore => {}
            Target::Field("tags") => {
                let tags: Vec<Value> = cell
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_string()))
                    .collect();
                if let Some(Value::Array(existing)) = obj.get_mut("tags") {
                    existing.extend(tags);
                } else {
                    obj.insert("tags".into(), Value::Array(tags));
                }
            }
            Target::Field(f @ ("isStarred" | "isArchived")) => {
                obj.insert((*f).into(), Value::Bool(flag()?));
            }
            Target::Field("isOptedIn") => {
                if !flag()? {
                    obj.insert("isOptedIn".into(), Value::Bool(false));
                }
            }
            Target::OptedOut => {
                if flag()? {
                    obj.insert("isOptedIn".into(), Value::Bool(false));
                }
            }
            Target::Field(f) => {
                obj.insert((*f).into(), Value::String(cell.to_string()));
            }
            Target::Custom(key) => {
                custom.insert(key.clone(), infer_value(cell));
            }
        }
    }
    if custom.len() > MAX_CUSTOM_FIELDS {
        let keys: Vec<&str> = custom.keys().map(String::as_str).collect();
        return Err(RowError {
            column: None,
            error: format!(
                "this row has {} unmapped columns with values ({}); a contact has at most {MAX_CUSTOM_FIELDS} custom fields: map the extra columns with the mapping option or set them to null to skip them",
                custom.len(),
                crate::error::some_of(keys, 5)
            ),
        });
    }
    if !custom.is_empty() {
        obj.insert("customFields".into(), Value::Object(custom));
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(h: &[&str]) -> Plan {
        Plan::new(h.iter().map(|s| s.to_string()).collect(), &[]).unwrap()
    }

    #[test]
    fn every_field_maps_from_its_api_name_and_synonyms() {
        for f in FIELDS {
            let want = if f.kind == Kind::CustomFields {
                Target::Custom(f.api.to_string())
            } else if f.writable {
                Target::Field(f.api)
            } else {
                Target::Ignore
            };
            assert_eq!(auto_target(f.api), want, "{}", f.api);
            for s in f.synonyms {
                assert_eq!(auto_target(s), want, "{s}");
            }
            if f.writable && f.kind != Kind::CustomFields {
                assert_eq!(parse_target(&Value::from(f.api), "m").unwrap(), want);
            }
        }
    }

    #[test]
    fn synonyms_map_case_and_punctuation_insensitively() {
        let p = plan(&[
            "Given Name",
            "SURNAME",
            "Mobile",
            "E-mail",
            "Street",
            "Postal Code",
            "Time Zone",
            "Favorite Color",
            "Cell",
            "id",
            "customFields.Mobile",
        ]);
        assert_eq!(p.targets[0], Target::Field("firstName"));
        assert_eq!(p.targets[1], Target::Field("lastName"));
        assert_eq!(p.targets[2], Target::Field("phone"));
        assert_eq!(p.targets[3], Target::Field("email"));
        assert_eq!(p.targets[4], Target::Field("address"));
        assert_eq!(p.targets[5], Target::Field("zip"));
        assert_eq!(p.targets[6], Target::Field("timezone"));
        assert_eq!(p.targets[7], Target::Custom("Favorite Color".into()));
        assert_eq!(p.targets[8], Target::Custom("Cell".into()));
        assert_eq!(p.targets[9], Target::Ignore);
        assert_eq!(p.targets[10], Target::Custom("Mobile".into()));
    }

    #[test]
    fn values_infer_only_canonical_numbers() {
        assert_eq!(infer_value("42"), Value::from(42));
        assert_eq!(infer_value("2.5"), Value::from(2.5));
        assert_eq!(infer_value("02134"), Value::from("02134"));
        assert_eq!(infer_value("true"), Value::from(true));
        assert_eq!(
            infer_value("12345678901234567890123"),
            Value::from("12345678901234567890123")
        );
    }

    #[test]
    fn opt_in_cells_never_opt_in() {
        let p = plan(&["phone", "isOptedIn", "optedOut"]);
        let v = row_to_json(&p, &["9195551234".into(), "true".into(), "no".into()]).unwrap();
        assert!(v.get("isOptedIn").is_none());
        let v = row_to_json(&p, &["9195551234".into(), "".into(), "yes".into()]).unwrap();
        assert_eq!(v["isOptedIn"], Value::Bool(false));
    }
}
