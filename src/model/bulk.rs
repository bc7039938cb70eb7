//! The body of `POST /api/contacts/bulk`, and what each action does to a
//! contact.

use std::collections::HashSet;

use serde_json::Value;

use super::Contact;
use super::fields::{MAX_TAGS, Tags};
use super::filter::ContactFilter;
use crate::error::{AppError, AppResult, quote};

/// Most ids one request may name.
pub const MAX_BULK_IDS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    AddTags(Tags),
    RemoveTags(Tags),
    Delete,
    OptOut,
    OptIn,
    Archive,
    Unarchive,
}

impl BulkAction {
    /// `c` as the action leaves it; None when the action changes nothing
    /// (already in effect, which makes a rerun harmless, or adding tags
    /// past the per-contact limit, which leaves the contact as it is).
    /// Deleting is not an edit: the caller deletes.
    pub fn edit(&self, c: &Contact) -> Option<Contact> {
        let mut after = c.clone();
        match self {
            BulkAction::Delete => return None,
            BulkAction::AddTags(tags) => {
                after.tags.union(tags);
                if after.tags.len() > MAX_TAGS {
                    return None;
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
        (after != *c).then_some(after)
    }
}

/// Which contacts an action applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkTarget {
    /// Contact ids (UUIDs, de-duplicated). Ids of no contact in the
    /// organization simply do not match.
    Ids(Vec<String>),
    Filter(ContactFilter),
    /// A segment id as sent; resolved (or 404) by the caller.
    Segment(String),
}

// The document's shape of what `BulkRequest::from_json` reads.
/// The body of a bulk action. Exactly one of `ids`, `filter` and
/// `segmentId` names the contacts (or `"all": true` alone, with `delete`).
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BulkInput {
    #[schema(inline)]
    action: ActionName,
    /// Up to 10,000 contact ids.
    ids: Option<Vec<String>>,
    filter: Option<super::filter::FilterInput>,
    segment_id: Option<String>,
    /// For `addTags` and `removeTags`.
    tags: Option<Vec<String>>,
    /// Confirms a `delete` of every contact the filter matches when it
    /// matches them all.
    all: Option<bool>,
}

#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
enum ActionName {
    AddTags,
    RemoveTags,
    Delete,
    OptOut,
    OptIn,
    Archive,
    Unarchive,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    pub action: BulkAction,
    pub target: BulkTarget,
    /// Confirms a delete whose filter matches every contact.
    pub all: bool,
}

fn tags_for(obj: &serde_json::Map<String, Value>, action: &str) -> AppResult<Tags> {
    let value = obj
        .get("tags")
        .filter(|v| !v.is_null())
        .ok_or_else(|| AppError::validation("tags", format!("{action} needs tags")))?;
    let tags = Tags::parse_value(value, "tags")?;
    if tags.is_empty() {
        return Err(AppError::validation("tags", format!("{action} needs tags")));
    }
    Ok(tags)
}

impl BulkRequest {
    pub fn from_json(body: &Value) -> AppResult<Self> {
        let obj = super::body_object(body)?;
        if let Some(other) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "action" | "ids" | "filter" | "segmentId" | "tags" | "all"
            )
        }) {
            return Err(AppError::validation(
                other.as_str(),
                format!(
                    "unknown field {}; send action, one of ids, filter or segmentId, and tags or all where needed",
                    quote(other)
                ),
            ));
        }
        let action_name = obj
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| AppError::validation("action", "action is required"))?;
        let action = match action_name {
            "addTags" => BulkAction::AddTags(tags_for(obj, action_name)?),
            "removeTags" => BulkAction::RemoveTags(tags_for(obj, action_name)?),
            "delete" => BulkAction::Delete,
            "optOut" => BulkAction::OptOut,
            "optIn" => BulkAction::OptIn,
            "archive" => BulkAction::Archive,
            "unarchive" => BulkAction::Unarchive,
            other => {
                return Err(AppError::validation(
                    "action",
                    format!(
                        "unknown action {}; actions are addTags, removeTags, delete, optOut, optIn, archive and unarchive",
                        quote(other)
                    ),
                ));
            }
        };
        if !matches!(action, BulkAction::AddTags(_) | BulkAction::RemoveTags(_))
            && obj.get("tags").is_some_and(|v| !v.is_null())
        {
            return Err(AppError::validation(
                "tags",
                format!("tags apply only to addTags and removeTags, not {action_name}"),
            ));
        }
        let all = match obj.get("all") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(AppError::validation("all", "all must be true or false")),
        };
        let given: Vec<&str> = ["ids", "filter", "segmentId"]
            .into_iter()
            .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let target = match given.as_slice() {
            ["ids"] => BulkTarget::Ids(parse_ids(&obj["ids"])?),
            ["filter"] => BulkTarget::Filter(ContactFilter::from_json(&obj["filter"], "filter")?),
            ["segmentId"] => BulkTarget::Segment(
                obj["segmentId"]
                    .as_str()
                    .ok_or_else(|| AppError::validation("segmentId", "segmentId must be a string"))?
                    .to_string(),
            ),
            // `{"action": "delete", "all": true}` means every contact.
            [] if all => BulkTarget::Filter(ContactFilter::default()),
            [] => {
                return Err(AppError::bad_request(
                    "validation_error",
                    None,
                    "send one of ids, filter or segmentId",
                ));
            }
            _ => {
                return Err(AppError::bad_request(
                    "validation_error",
                    None,
                    "send only one of ids, filter or segmentId",
                ));
            }
        };
        Ok(Self {
            action,
            target,
            all,
        })
    }
}

fn parse_ids(value: &Value) -> AppResult<Vec<String>> {
    let items = value
        .as_array()
        .ok_or_else(|| AppError::validation("ids", "ids must be an array of contact ids"))?;
    if items.is_empty() {
        return Err(AppError::validation("ids", "ids must not be empty"));
    }
    if items.len() > MAX_BULK_IDS {
        return Err(AppError::validation(
            "ids",
            format!("at most {MAX_BULK_IDS} ids per request; use a filter for more"),
        ));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let id = item
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
            .ok_or_else(|| AppError::validation("ids", format!("{item} is not a contact id")))?
            .hyphenated()
            .to_string();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_in_effect_or_over_the_tag_limit_changes_nothing() {
        let c = Contact::new("c".into(), 1, 0);
        assert_eq!(BulkAction::OptIn.edit(&c), None);
        assert!(!BulkAction::OptOut.edit(&c).unwrap().is_opted_in);
        assert!(BulkAction::Archive.edit(&c).unwrap().is_archived);
        let many: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
        let mut full = c.clone();
        full.tags = Tags::parse_strs(many.iter().map(String::as_str), "tags").unwrap();
        let one = Tags::parse_strs(vec!["new"], "tags").unwrap();
        assert_eq!(BulkAction::AddTags(one.clone()).edit(&full), None);
        let tagged = BulkAction::AddTags(one.clone()).edit(&c).unwrap();
        assert_eq!(tagged.tags.as_slice(), ["new"]);
        assert_eq!(
            BulkAction::RemoveTags(one)
                .edit(&tagged)
                .unwrap()
                .tags
                .len(),
            0
        );
        assert_eq!(BulkAction::Delete.edit(&c), None);
    }
    use serde_json::json;

    #[test]
    fn targets_are_exclusive_and_actions_checked() {
        let ok = BulkRequest::from_json(&json!({"action": "optOut", "filter": {"tags": ["a"]}}));
        assert!(matches!(ok.unwrap().target, BulkTarget::Filter(_)));
        for bad in [
            json!({"action": "optOut"}),
            json!({"action": "explode", "filter": {}}),
            json!({"action": "addTags", "filter": {}}),
            json!({"action": "addTags", "filter": {}, "tags": []}),
            json!({"action": "delete", "filter": {}, "ids": ["x"]}),
            json!({"action": "delete", "ids": ["not-a-uuid"]}),
            json!({"action": "delete", "ids": []}),
            json!({"action": "delete", "filter": {"colour": "red"}}),
            json!({"action": "delete", "filter": {}, "al": true}),
            json!({"action": "archive", "filter": {}, "tags": ["a"]}),
        ] {
            assert!(BulkRequest::from_json(&bad).is_err(), "{bad}");
        }
        let all = BulkRequest::from_json(&json!({"action": "delete", "all": true})).unwrap();
        assert_eq!(all.target, BulkTarget::Filter(ContactFilter::default()));
    }
}
