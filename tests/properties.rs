//! Properties of the parsers every request and file goes through, over
//! generated input: nothing panics, errors stay short, and where a value
//! has a canonical form, the form is a fixed point (a normalized phone
//! normalizes to itself, a cursor encodes and decodes to itself, an export
//! cell imports back to the value it came from).

use proptest::prelude::*;
use roster::csvio::{formula, mapping};
use roster::error::{AppError, MESSAGE_MAX};
use roster::model::fields::{Email, Phone, State, Timezone};
use roster::model::filter::{ContactFilter, Cursor, ListParams, SortBy};
use roster::model::inbound;

fn short(err: &AppError) -> bool {
    err.to_string().chars().count() <= MESSAGE_MAX + 1
}

/// Query strings as clients (and fuzzers) send them.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        Just("tags".to_string()),
        Just("tagsLogic".to_string()),
        Just("state".to_string()),
        Just("zip".to_string()),
        Just("isTextable".to_string()),
        Just("optedOut".to_string()),
        Just("hasEmail".to_string()),
        Just("hasPhone".to_string()),
        Just("limit".to_string()),
        Just("offset".to_string()),
        Just("sortBy".to_string()),
        Just("cursor".to_string()),
        Just("includeTotal".to_string()),
        Just("search".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    proptest::collection::vec((key, any::<String>()), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_normalized_phone_normalizes_to_itself(input in "\\+?[0-9 ()+.-]{0,20}") {
        if let Ok(phone) = Phone::parse(&input) {
            let again = Phone::parse(phone.as_str()).expect("an E.164 number parses");
            prop_assert_eq!(again.as_str(), phone.as_str());
            prop_assert!(phone.as_str().starts_with('+'));
        }
    }

    #[test]
    fn a_us_number_in_any_format_is_one_e164_number(
        area in prop_oneof![Just("919"), Just("415"), Just("212"), Just("704")],
        exchange in 200u32..999,
        line in 0u32..9999,
        style in 0usize..5,
    ) {
        let (e, l) = (exchange, line);
        let written = match style {
            0 => format!("{area}{e}{l:04}"),
            1 => format!("({area}) {e}-{l:04}"),
            2 => format!("+1 {area} {e} {l:04}"),
            3 => format!("1-{area}-{e}-{l:04}"),
            _ => format!("{area}.{e}.{l:04}"),
        };
        let canonical = format!("+1{area}{e}{l:04}");
        match Phone::parse(&written) {
            Ok(phone) => prop_assert_eq!(phone.as_str(), canonical.as_str()),
            // A number the numbering plan does not allow is refused in
            // every format alike.
            Err(_) => prop_assert!(Phone::parse(&canonical).is_err()),
        }
    }

    #[test]
    fn phone_parsing_never_panics_and_errors_are_short(input in any::<String>()) {
        if let Err(e) = Phone::parse(&input) {
            prop_assert!(short(&e));
        }
    }

    #[test]
    fn other_field_parsers_never_panic_and_settle(input in any::<String>()) {
        match Email::parse(&input) {
            Ok(email) => {
                let again = Email::parse(email.as_str()).expect("a stored email parses");
                prop_assert_eq!(again.as_str(), email.as_str());
            }
            Err(e) => prop_assert!(short(&e)),
        }
        if let Ok(state) = State::parse(&input, "state") {
            let again = State::parse(state.as_str(), "state").expect("a stored state parses");
            prop_assert_eq!(again.as_str(), state.as_str());
        }
        if let Err(e) = Timezone::parse(&input) {
            prop_assert!(short(&e));
        }
    }

    #[test]
    fn a_cursor_encodes_and_decodes_to_itself(
        ts in 0i64..4_102_444_800_000,
        id in "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        created in any::<bool>(),
    ) {
        let sort = if created { SortBy::CreatedAt } else { SortBy::UpdatedAt };
        let cursor = Cursor { ts, id };
        let decoded = Cursor::parse(&cursor.encode(sort), sort).expect("its own cursor");
        prop_assert_eq!(decoded, cursor);
    }

    #[test]
    fn cursor_decoding_never_panics(input in any::<String>()) {
        if let Err(e) = Cursor::parse(&input, SortBy::UpdatedAt) {
            prop_assert!(short(&e));
        }
    }

    #[test]
    fn query_strings_become_a_filter_or_a_short_400(pairs in query()) {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        for result in [
            ContactFilter::from_query(&get).map(|_| ()),
            ListParams::from_query(&get).map(|_| ()),
        ] {
            if let Err(e) = result {
                prop_assert_eq!(e.status().as_u16(), 400);
                prop_assert!(short(&e));
            }
        }
    }

    #[test]
    fn csv_headers_and_rows_map_without_panicking(
        headers in proptest::collection::vec(any::<String>(), 1..8),
        cells in proptest::collection::vec(any::<String>(), 0..10),
    ) {
        for h in &headers {
            let n = mapping::normalize(h);
            prop_assert_eq!(mapping::normalize(&n), n.clone());
        }
        if let Ok(plan) = mapping::Plan::new(headers, &[])
            && let Err(e) = mapping::row_to_json(&plan, &cells)
        {
            prop_assert!(!e.error.is_empty());
            prop_assert!(e.error.chars().count() <= MESSAGE_MAX + 1);
        }
    }

    #[test]
    fn an_export_cell_imports_back_to_its_value(cell in any::<String>()) {
        let written = formula::neutralize(&cell);
        prop_assert!(!matches!(written.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')));
        // The importer's view of a cell it reads back, unless the value
        // itself was `'` and a formula character (documented).
        if !(cell.starts_with('\'') && formula::restore(&cell) != cell) {
            prop_assert_eq!(formula::restore(&written), cell.as_str());
        }
    }

    #[test]
    fn a_twilio_signature_verifies_and_any_other_does_not(
        token in "[a-f0-9]{32}",
        url in "https://[a-z]{3,10}\\.example\\.org/[a-z/]{0,20}",
        params in proptest::collection::vec(("[A-Za-z]{1,10}", any::<String>()), 0..6),
        forged in any::<String>(),
    ) {
        let signature = inbound::twilio_signature(&token, &url, &params);
        prop_assert!(inbound::twilio_signature_valid(&token, std::slice::from_ref(&url), &params, &signature));
        if forged != signature {
            prop_assert!(!inbound::twilio_signature_valid(&token, &[url], &params, &forged));
        }
    }
}
