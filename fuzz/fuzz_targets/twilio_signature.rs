//! The Twilio signature check: never panics, and accepts a signature only
//! when it is the one computed for the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::model::inbound;

fuzz_target!(|input: (&str, &str, Vec<(String, String)>, &str)| {
    let (token, url, params, given) = input;
    let urls = [url.to_string()];
    let right = inbound::twilio_signature(token, url, &params);
    assert!(inbound::twilio_signature_valid(
        token, &urls, &params, &right
    ));
    if given.trim() != right {
        assert!(!inbound::twilio_signature_valid(
            token, &urls, &params, given
        ));
    }
});
