//! Timestamps: INTEGER milliseconds in storage, ISO 8601 UTC with
//! milliseconds on the wire.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2025-03-01T09:12:00.000Z`
pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp into milliseconds.
pub fn parse_ms(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_milliseconds() {
        let s = "2025-03-01T09:12:00.123Z";
        let ms = parse_ms(s).unwrap();
        assert_eq!(format_ms(ms), s);
        assert_eq!(parse_ms("not a time"), None);
    }
}
