//! The offline provider: decides from libphonenumber's metadata, with no
//! network. It cannot tell US (NANP) mobiles from landlines: the metadata
//! calls them all `FixedLineOrMobile`, which counts as textable here. Only
//! the twilio provider gives carrier-verified answers.

use phonenumber::{Type, metadata::DATABASE};

use crate::store::lookups::Answer;

/// The `lineType` this provider reports (always prefixed `offline:`) and
/// whether it counts as textable.
fn classify(kind: Type) -> (&'static str, bool) {
    match kind {
        Type::Mobile => ("offline:mobile", true),
        Type::FixedLineOrMobile => ("offline:fixedLineOrMobile", true),
        Type::FixedLine => ("offline:fixedLine", false),
        Type::TollFree => ("offline:tollFree", false),
        Type::PremiumRate => ("offline:premiumRate", false),
        Type::SharedCost => ("offline:sharedCost", false),
        Type::PersonalNumber => ("offline:personal", false),
        Type::Voip => ("offline:voip", false),
        Type::Pager => ("offline:pager", false),
        Type::Uan => ("offline:uan", false),
        Type::Voicemail => ("offline:voicemail", false),
        Type::Emergency => ("offline:emergency", false),
        Type::ShortCode => ("offline:shortCode", false),
        Type::StandardRate => ("offline:standardRate", false),
        Type::Carrier => ("offline:carrier", false),
        Type::NoInternational => ("offline:noInternational", false),
        Type::Unknown => ("offline:unknown", false),
    }
}

/// Classifies an E.164 number. Never fails: a number the metadata cannot
/// place is `offline:unknown`, not textable.
pub fn lookup(e164: &str) -> Answer {
    let kind = match phonenumber::parse(None, e164) {
        Ok(n) => n.number_type(&DATABASE),
        Err(_) => Type::Unknown,
    };
    let (line_type, textable) = classify(kind);
    Answer {
        is_textable: Some(textable),
        line_type: Some(line_type.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_numbers() {
        let us = lookup("+14155552671");
        assert_eq!(us.line_type.as_deref(), Some("offline:fixedLineOrMobile"));
        assert_eq!(us.is_textable, Some(true));
        assert_eq!(
            lookup("+447911123456").line_type.as_deref(),
            Some("offline:mobile")
        );
        assert_eq!(
            lookup("+442079460000").line_type.as_deref(),
            Some("offline:fixedLine")
        );
        assert_eq!(
            lookup("+18005550199").line_type.as_deref(),
            Some("offline:tollFree")
        );
        assert_eq!(lookup("+18005550199").is_textable, Some(false));
    }
}
