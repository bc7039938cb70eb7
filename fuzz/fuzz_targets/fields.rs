//! Email, state, time zone, tags and custom fields: never panic; an email
//! or a state parses to itself again; errors are short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::error::MESSAGE_MAX;
use roster::model::fields::{CustomFields, Email, State, Tags, Timezone};

fuzz_target!(|input: &str| {
    match Email::parse(input) {
        Ok(email) => assert_eq!(
            Email::parse(email.as_str()).unwrap().as_str(),
            email.as_str()
        ),
        Err(e) => assert!(e.to_string().chars().count() <= MESSAGE_MAX + 1),
    }
    if let Ok(state) = State::parse(input, "state") {
        assert_eq!(
            State::parse(state.as_str(), "state").unwrap().as_str(),
            state.as_str()
        );
    }
    let _ = Timezone::parse(input);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(input) {
        let _ = Tags::parse_value(&json, "tags");
        let _ = CustomFields::parse_value(&json);
    }
});
