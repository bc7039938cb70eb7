//! Phone normalization: never panics; a normalized number normalizes to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::model::fields::Phone;

fuzz_target!(|input: &str| {
    if let Ok(phone) = Phone::parse(input) {
        let again = Phone::parse(phone.as_str()).expect("an E.164 number parses");
        assert_eq!(again.as_str(), phone.as_str());
    }
});
