//! The body of a segment create or update.

use serde_json::Value;

use super::fields::parse_text;
use super::filter::ContactFilter;
use crate::error::{AppError, AppResult, quote};

pub const MAX_SEGMENT_NAME: usize = 100;

/// A validated segment body. On create `name` is required and `filters`
/// defaults to `{}` (every contact); on update each is optional but one must
/// be given.
#[derive(Debug, Clone, Default)]
pub struct SegmentInput {
    pub name: Option<String>,
    pub filter: Option<ContactFilter>,
}

impl SegmentInput {
    pub fn from_json(body: &Value, create: bool) -> AppResult<Self> {
        let obj = super::body_object(body)?;
        let mut input = SegmentInput::default();
        for (key, value) in obj {
            match key.as_str() {
                "name" => {
                    let s = value.as_str().ok_or_else(|| {
                        AppError::validation("name", "name must be a non-empty string")
                    })?;
                    let name = parse_text(s, "name", MAX_SEGMENT_NAME)?
                        .ok_or_else(|| AppError::validation("name", "name must not be empty"))?;
                    input.name = Some(name);
                }
                "filters" => input.filter = Some(ContactFilter::from_json(value, "filters")?),
                // Read-only fields a client may echo back.
                "id" | "contactCount" | "createdAt" | "updatedAt" => {}
                other => {
                    return Err(AppError::validation(
                        other,
                        format!(
                            "unknown field {}; a segment has name and filters",
                            quote(other)
                        ),
                    ));
                }
            }
        }
        if create {
            if input.name.is_none() {
                return Err(AppError::validation("name", "name is required"));
            }
            input.filter.get_or_insert_with(ContactFilter::default);
        } else if input.name.is_none() && input.filter.is_none() {
            return Err(AppError::bad_request(
                "validation_error",
                None,
                "send name, filters or both",
            ));
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_needs_a_name_and_rejects_unknown_fields() {
        assert!(SegmentInput::from_json(&json!({"filters": {}}), true).is_err());
        assert!(SegmentInput::from_json(&json!({"name": "  "}), true).is_err());
        assert!(SegmentInput::from_json(&json!({"name": "a", "color": 1}), true).is_err());
        let s = SegmentInput::from_json(&json!({"name": " VIPs "}), true).unwrap();
        assert_eq!(s.name.as_deref(), Some("VIPs"));
        assert_eq!(s.filter, Some(ContactFilter::default()));
        assert!(SegmentInput::from_json(&json!({}), false).is_err());
    }
}
