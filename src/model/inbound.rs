//! Inbound SMS: what a message asks for, what Roster does about it, and
//! Twilio's request signature. No I/O.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use super::Phone;
use crate::error::{AppError, AppResult};

/// Longest message body kept on the timeline (Twilio's own limit is 1600).
const MAX_STORED_BODY: usize = 2000;

/// An inbound message, read from Twilio's form fields.
#[derive(Debug, Clone)]
pub struct InboundSms {
    pub from: Phone,
    pub kind: Inbound,
    pub message_sid: Option<String>,
    /// What the sender's timeline records.
    pub event: Value,
}

/// What an inbound message does, given whether its sender is a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Opt the sender out; an unknown sender is created opted out, so the
    /// number stays suppressed.
    OptOut,
    /// Opt the contact back in.
    OptIn(String),
    /// Record the message on the contact's timeline (once per message id).
    Record(String),
    /// Nothing: no contact to opt in or to note a message on; a stranger's
    /// text does not create a contact.
    Ignore,
}

impl InboundSms {
    /// From the form's fields; None for a sender that cannot be a contact
    /// (a short code, an alphanumeric sender). `From` is required.
    pub fn from_form(params: &[(String, String)]) -> AppResult<Option<Self>> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let from = get("From")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| AppError::validation("From", "From is required"))?;
        let Ok(phone) = Phone::parse(from) else {
            return Ok(None);
        };
        let text = get("Body").unwrap_or("");
        Ok(Some(Self {
            event: json!({
                "from": phone.as_str(),
                "to": get("To"),
                "body": text.chars().take(MAX_STORED_BODY).collect::<String>(),
                "messageSid": get("MessageSid"),
            }),
            from: phone,
            kind: classify(text),
            message_sid: get("MessageSid").map(str::to_string),
        }))
    }

    /// What this message does when its sender is the contact `existing`.
    pub fn effect(&self, existing: Option<String>) -> Effect {
        match (self.kind, existing) {
            (Inbound::OptOut, _) => Effect::OptOut,
            (Inbound::OptIn, Some(id)) => Effect::OptIn(id),
            (Inbound::Message, Some(id)) => Effect::Record(id),
            (Inbound::OptIn | Inbound::Message, None) => Effect::Ignore,
        }
    }
}

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
    fn effects_follow_the_keyword_and_the_sender() {
        let sms = |body: &str| {
            InboundSms::from_form(&p(&[("From", "+19195550100"), ("Body", body)]))
                .unwrap()
                .unwrap()
        };
        let known = || Some("c1".to_string());
        assert_eq!(sms("STOP").effect(None), Effect::OptOut);
        assert_eq!(sms("stop").effect(known()), Effect::OptOut);
        assert_eq!(sms("START").effect(known()), Effect::OptIn("c1".into()));
        assert_eq!(sms("START").effect(None), Effect::Ignore);
        assert_eq!(sms("hi").effect(known()), Effect::Record("c1".into()));
        assert_eq!(sms("hi").effect(None), Effect::Ignore);
        let long = sms(&"x".repeat(5000));
        assert_eq!(long.event["body"].as_str().unwrap().len(), MAX_STORED_BODY);
        assert_eq!(long.event["from"], "+19195550100");
        // A short code is no contact; a missing sender is a 400.
        assert!(
            InboundSms::from_form(&p(&[("From", "12345"), ("Body", "STOP")]))
                .unwrap()
                .is_none()
        );
        assert!(InboundSms::from_form(&p(&[("Body", "STOP")])).is_err());
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
