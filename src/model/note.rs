//! The body of a note create or update.

use serde_json::Value;

use crate::error::{AppError, AppResult, quote};

/// Largest note body, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 10 * 1024;

/// `{"body": "..."}`: a non-empty string of at most 10 KB, trimmed.
pub fn parse_note_body(body: &Value) -> AppResult<String> {
    let obj = super::body_object(body)?;
    if let Some(other) = obj.keys().find(|k| {
        !matches!(
            k.as_str(),
            "body" | "id" | "contactId" | "createdAt" | "updatedAt"
        )
    }) {
        return Err(AppError::validation(
            other.as_str(),
            format!("unknown field {}; a note has a body", quote(other)),
        ));
    }
    let text = obj
        .get("body")
        .ok_or_else(|| AppError::validation("body", "body is required"))?
        .as_str()
        .ok_or_else(|| AppError::validation("body", "body must be a string"))?
        .trim();
    if text.is_empty() {
        return Err(AppError::validation("body", "body must not be empty"));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(AppError::validation(
            "body",
            format!("body is at most {MAX_NOTE_BYTES} bytes"),
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_bounded() {
        assert_eq!(parse_note_body(&json!({"body": " hi "})).unwrap(), "hi");
        assert!(parse_note_body(&json!({"body": ""})).is_err());
        assert!(parse_note_body(&json!({"body": 5})).is_err());
        assert!(parse_note_body(&json!({"text": "x"})).is_err());
        assert!(parse_note_body(&json!({"body": "x".repeat(MAX_NOTE_BYTES)})).is_ok());
        assert!(parse_note_body(&json!({"body": "x".repeat(MAX_NOTE_BYTES + 1)})).is_err());
    }
}
