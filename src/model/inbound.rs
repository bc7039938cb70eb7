//! Inbound SMS: keyword classification and Twilio's request signature.
//! No I/O.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// What an inbound message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    OptOut,
    OptIn,
    Message,
}

const OPT_OUT: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const OPT_IN: &[&str] = &["START", "YES", "UNSTOP"];

/// A body that is exactly one keyword (ignoring case and surrounding
/// whitespace) opts out or in; anything else is a message.
pub fn classify(body: &str) -> Inbound {
    let word = body.trim().to_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        Inbound::OptOut
    } else if OPT_IN.contains(&word.as_str()) {
        Inbound::OptIn
    } else {
        Inbound::Message
    }
}

/// Twilio's signature: HMAC-SHA1, keyed by the auth token, over the full URL
/// Twilio requested followed by every POST parameter's name and value,
/// sorted by name, with no separators; base64-encoded.
fn signing_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(signing_mac(auth_token, url, params).finalize().into_bytes())
}

/// Checks `signature` against every URL Twilio may have signed (callers pass
/// the variants, e.g. with and without an explicit port), in constant time
/// per comparison.
pub fn twilio_signature_valid(
    auth_token: &str,
    urls: &[String],
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    urls.iter().any(|url| {
        signing_mac(auth_token, url, params)
            .verify_slice(&given)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keywords_ignore_case_and_spaces_but_need_one_word() {
        for w in [
            "STOP",
            " stop ",
            "StopAll",
            "unsubscribe\n",
            "cancel",
            "END",
            "quit",
        ] {
            assert_eq!(classify(w), Inbound::OptOut, "{w}");
        }
        for w in ["start", " YES", "Unstop"] {
            assert_eq!(classify(w), Inbound::OptIn, "{w}");
        }
        for w in ["stop please", "", "yes!", "hello"] {
            assert_eq!(classify(w), Inbound::Message, "{w}");
        }
    }

    #[test]
    fn signature_matches_twilios_published_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let sig = twilio_signature("12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(twilio_signature_valid(
            "12345",
            &[url.to_string()],
            &params,
            &sig
        ));
        assert!(!twilio_signature_valid(
            "12346",
            &[url.to_string()],
            &params,
            &sig
        ));
        assert!(!twilio_signature_valid(
            "12345",
            &[url.to_string()],
            &params,
            "garbage"
        ));
    }
}
