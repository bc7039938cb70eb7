//! The offline provider: decides from libphonenumber's metadata, with no
//! network. It cannot tell US (NANP) mobiles from landlines: the metadata
//! calls them all `FixedLineOrMobile`, which counts as textable here. Only
//! the twilio provider gives carrier-verified answers.

use phonenumber::{Type, metadata::DATABASE};

use crate::model::fields::Phone;
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

/// Classifies a number, from the type found when it was (recently) parsed or
/// else by parsing its E.164 form. Never fails: a number the metadata cannot
/// place is `offline:unknown`, not textable.
pub fn lookup(phone: &Phone) -> Answer {
    let kind = phone
        .recent_kind()
        .unwrap_or_else(|| kind_by_parsing(phone.as_str()));
    let (line_type, textable) = classify(kind);
    Answer {
        is_textable: Some(textable),
        line_type: Some(line_type.to_string()),
    }
}

/// The type libphonenumber's metadata gives a stored (E.164) number.
fn kind_by_parsing(e164: &str) -> Type {
    phonenumber::parse(None, e164)
        .map(|n| n.number_type(&DATABASE))
        .unwrap_or(Type::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(e164: &str) -> Phone {
        Phone::from_stored(e164.to_string())
    }

    #[test]
    fn classifies_common_numbers() {
        let us = lookup(&stored("+14155552671"));
        assert_eq!(us.line_type.as_deref(), Some("offline:fixedLineOrMobile"));
        assert_eq!(us.is_textable, Some(true));
        assert_eq!(
            lookup(&stored("+447911123456")).line_type.as_deref(),
            Some("offline:mobile")
        );
        assert_eq!(
            lookup(&stored("+442079460000")).line_type.as_deref(),
            Some("offline:fixedLine")
        );
        assert_eq!(
            lookup(&stored("+18005550199")).line_type.as_deref(),
            Some("offline:tollFree")
        );
        assert_eq!(lookup(&stored("+18005550199")).is_textable, Some(false));
    }

    #[test]
    fn a_number_just_parsed_is_classified_as_its_stored_form_is() {
        // The type found while validating stands in for a second parse, on
        // the parsed number and on its stored form read back moments later;
        // an Italian number (its national number keeps a leading zero) takes
        // the parse path.
        for input in [
            "(919) 555-1234",
            "+447911123456",
            "+442079460000",
            "1-800-555-0199",
            "+390612345678",
            "+61412345678",
        ] {
            let parsed = Phone::parse(input).unwrap();
            let (line_type, textable) = classify(kind_by_parsing(parsed.as_str()));
            let expected = Answer {
                is_textable: Some(textable),
                line_type: Some(line_type.to_string()),
            };
            assert_eq!(lookup(&parsed), expected, "{input}");
            let reread = stored(parsed.as_str());
            assert_eq!(reread.recent_kind(), parsed.kind(), "{input}");
            assert_eq!(lookup(&reread), expected, "{input}");
        }
        assert!(Phone::parse("+390612345678").unwrap().kind().is_none());
        assert_eq!(
            Phone::parse("(919) 555-1234").unwrap().kind(),
            Some(Type::FixedLineOrMobile)
        );
    }
}
