//! Outbound webhooks against a local receiver: every event type, signed by
//! the Standard Webhooks scheme; retries, timeouts, kill -9, disabled
//! endpoints and tenancy.

mod common;
mod receiver;

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Client, Server, wait_for};
use hmac::{Hmac, KeyInit, Mac};
use receiver::{Answer, Receiver};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

/// Checks a delivery as a receiver following the published scheme would.
fn verify(secret: &str, r: &receiver::Received) -> bool {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

fn hook(c: &Client, url: &str, events: Value) -> Value {
    let r = c.post(
        "/api/webhooks",
        &json!({"url": url, "events": events, "description": "test"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn post_csv(c: &Client, csv: String) -> String {
    let r = Client::send(
        c.request(Method::POST, "/api/contacts/import")
            .header("content-type", "text/csv")
            .body(csv),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.body["importId"].as_str().unwrap().to_string()
}

#[test]
fn every_event_type_arrives_signed_with_the_contact_in_its_api_shape() {
    let rx = Receiver::start();
    let server = Server::start();
    let c = server.client("acme");
    let org_id = c.get("/api/me").body["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let w = hook(&c, &rx.url, json!(["*"]));
    let secret = w["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert!(
        c.get("/api/webhooks").text.find(&secret).is_none(),
        "the secret is shown once"
    );

    let id = c.create(&json!({"phone": "9195550100", "firstName": "Ana"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.put(&format!("/api/contacts/{id}"), &json!({"city": "Durham"}));
    c.create(&json!({"phone": "9195550100", "email": "ana@example.org"}));
    c.post_empty(&format!("/api/contacts/{id}/opt-out"));
    c.post_empty(&format!("/api/contacts/{id}/opt-in"));
    c.delete(&format!("/api/contacts/{id}"));
    let import = post_csv(&c, "phone\n3365550101\n".into());

    let all: BTreeSet<&str> = [
        "contact.created",
        "contact.updated",
        "contact.merged",
        "contact.deleted",
        "contact.opted_out",
        "contact.opted_in",
        "contact.lookup_completed",
        "import.completed",
    ]
    .into();
    let got = wait_for(30, "every event type", || {
        let got = rx.accepted();
        let types: BTreeSet<String> = got
            .iter()
            .map(|r| r.json["type"].as_str().unwrap().to_string())
            .collect();
        all.iter().all(|t| types.contains(*t)).then_some(got)
    });
    for r in &got {
        assert!(
            verify(&secret, r),
            "signed by the published scheme: {}",
            r.body
        );
        assert_eq!(r.json["id"], json!(r.id), "the webhook-id is the event id");
        let ts: i64 = r.timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 120);
        assert_eq!(r.json["organizationId"], json!(org_id));
        assert!(r.json["createdAt"].as_str().unwrap().ends_with('Z'));
        let ty = r.json["type"].as_str().unwrap();
        if ty.starts_with("contact.") {
            let contact = &r.json["data"]["contact"];
            for field in [
                "id",
                "organizationId",
                "phone",
                "email",
                "tags",
                "customFields",
                "isTextable",
                "isOptedIn",
                "createdAt",
                "updatedAt",
            ] {
                assert!(
                    contact.get(field).is_some(),
                    "{ty} carries the contact's {field}"
                );
            }
        }
    }
    let of_contact: Vec<&str> = got
        .iter()
        .filter(|r| r.json["data"]["contact"]["id"] == json!(id))
        .map(|r| r.json["type"].as_str().unwrap())
        .collect();
    let pos = |t: &str| of_contact.iter().position(|x| *x == t).unwrap();
    assert!(
        pos("contact.created") < pos("contact.updated"),
        "in order: {of_contact:?}"
    );
    assert!(pos("contact.updated") < pos("contact.merged"));
    assert!(pos("contact.opted_out") < pos("contact.opted_in"));
    assert_eq!(of_contact.last(), Some(&"contact.deleted"));
    let updated = got
        .iter()
        .find(|r| r.json["type"] == "contact.updated")
        .unwrap();
    assert_eq!(updated.json["data"]["changedFields"], json!(["city"]));
    assert_eq!(updated.json["data"]["contact"]["city"], "Durham");
    let done = got
        .iter()
        .find(|r| r.json["type"] == "import.completed")
        .unwrap();
    assert_eq!(done.json["data"]["import"]["id"], json!(import));
    assert_eq!(done.json["data"]["import"]["created"], 1);
}

/// The endpoint's deliveries once its newest one is recorded as delivered.
fn once_delivered(c: &Client, webhook: &Value) -> Value {
    let path = format!(
        "/api/webhooks/{}/deliveries",
        webhook["id"].as_str().unwrap()
    );
    wait_for(20, "the delivery to be recorded", || {
        let list = c.get(&path).body;
        (list["deliveries"][0]["status"] == "delivered").then_some(list)
    })
}

#[test]
fn a_receiver_that_fails_twice_gets_the_event_once_more_each_time() {
    let rx = Receiver::start();
    rx.script(&[Answer::Status(500), Answer::Status(500)]);
    let server = Server::start_with(
        &["--lookup-provider", "none", "--webhook-retry-base-ms", "50"],
        &[],
    );
    let c = server.client("acme");
    let w = hook(&c, &rx.url, json!(["contact.created"]));
    c.create(&json!({"phone": "9195550100"}));
    wait_for(20, "the delivery", || {
        (rx.accepted().len() == 1).then_some(())
    });
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "the same event id on every try"
    );
    // The receiver has its answer before the worker records it.
    let list = once_delivered(&c, &w);
    let d = &list["deliveries"][0];
    assert_eq!(d["status"], "delivered");
    let codes: Vec<&Value> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(d["attemptCount"], 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(rx.received().len(), 3, "nothing more once delivered");
}

#[test]
fn a_slow_receiver_times_out_and_is_tried_again() {
    let rx = Receiver::start();
    rx.script(&[Answer::Slow(2_000)]);
    let server = Server::start_with(
        &[
            "--lookup-provider",
            "none",
            "--webhook-retry-base-ms",
            "50",
            "--webhook-timeout-ms",
            "300",
        ],
        &[],
    );
    let c = server.client("acme");
    let w = hook(&c, &rx.url, json!(["contact.created"]));
    c.create(&json!({"phone": "9195550100"}));
    let list = once_delivered(&c, &w);
    let attempts = list["deliveries"][0]["attempts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{attempts:?}"
    );
    assert_eq!(attempts[1]["statusCode"], 200);
}

#[test]
fn kill_9_with_a_thousand_undelivered_events_loses_none() {
    let rx = Receiver::start();
    rx.otherwise(Some(Answer::Slow(1_500)));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--lookup-provider", "none", "--webhook-retry-base-ms", "50"];
    let mut server = Server::start_in(&data, &args, &[]);
    let c = server.client("acme");
    hook(&c, &rx.url, json!(["contact.created"]));
    let mut csv = String::from("phone\n");
    for i in 0..1_000 {
        csv.push_str(&format!("+1919{:07}\n", 2_000_000 + i));
    }
    let import = post_csv(&c, csv);
    wait_for(60, "the import", || {
        (c.get(&format!("/api/imports/{import}")).body["status"] == "completed").then_some(())
    });
    let pending =
        server.sql_count("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'");
    assert!(
        pending > 900,
        "most are undelivered when the process dies: {pending}"
    );
    server.kill9();

    rx.otherwise(None);
    let _server = Server::start_in(&data, &args, &[]);
    let ids = wait_for(90, "every event", || {
        let ids: BTreeSet<String> = rx.accepted().into_iter().map(|r| r.id).collect();
        (ids.len() == 1_000).then_some(ids)
    });
    assert_eq!(ids.len(), 1_000, "none lost");
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in rx.accepted() {
        *per_id.entry(r.id).or_default() += 1;
    }
    assert!(per_id.values().all(|n| *n >= 1), "at least once");
}

#[test]
fn a_disabled_endpoint_gets_nothing_and_another_organization_never_reaches_one() {
    let on = Receiver::start();
    let off = Receiver::start();
    let server = Server::start_without_lookups();
    let acme = server.client("acme");
    let other = server.client("other");
    hook(&acme, &on.url, json!(["*"]));
    let w = hook(&acme, &off.url, json!(["*"]));
    let r = acme.put(
        &format!("/api/webhooks/{}", w["id"].as_str().unwrap()),
        &json!({"enabled": false}),
    );
    assert_eq!(r.body["enabled"], false);
    for i in 0..5 {
        other.create(&json!({"phone": format!("91955502{i:02}")}));
    }
    let mine = acme.create(&json!({"phone": "9195550300"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(20, "acme's event", || {
        on.accepted()
            .iter()
            .any(|r| r.json["data"]["contact"]["id"] == json!(mine))
            .then_some(())
    });
    assert!(
        off.received().is_empty(),
        "the disabled endpoint got nothing"
    );
    assert_eq!(
        on.received().len(),
        1,
        "another organization's changes never reach it"
    );

    // Another organization cannot see or touch the endpoint.
    let path = format!("/api/webhooks/{}", w["id"].as_str().unwrap());
    assert_eq!(other.get(&path).status, 404);
    assert_eq!(other.delete(&path).status, 404);
    assert_eq!(
        Client::send(other.request(Method::POST, &format!("{path}/test"))).status,
        404
    );
    assert_eq!(other.get("/api/webhooks").body["webhooks"], json!([]));
}

#[test]
fn an_endpoint_that_keeps_failing_is_disabled_with_the_reason() {
    let rx = Receiver::start();
    rx.otherwise(Some(Answer::Status(503)));
    let server = Server::start_with(
        &[
            "--lookup-provider",
            "none",
            "--webhook-retry-base-ms",
            "100",
            "--webhook-give-up-secs",
            "1",
        ],
        &[],
    );
    let c = server.client("acme");
    let w = hook(&c, &rx.url, json!(["contact.created"]));
    let path = format!("/api/webhooks/{}", w["id"].as_str().unwrap());
    c.create(&json!({"phone": "9195550100"}));
    let disabled = wait_for(30, "the endpoint to be disabled", || {
        let w = c.get(&path).body;
        (w["enabled"] == false).then_some(w)
    });
    assert!(
        disabled["disabledReason"]
            .as_str()
            .unwrap()
            .contains("HTTP 503"),
        "{disabled}"
    );
    let list = c.get(&format!("{path}/deliveries")).body;
    let d = &list["deliveries"][0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["lastStatusCode"], 503);

    // Enabled again, a manual retry goes through.
    rx.otherwise(None);
    c.put(&path, &json!({"enabled": true}));
    let r = Client::send(c.request(
        Method::POST,
        &format!("{path}/deliveries/{}/retry", d["id"].as_str().unwrap()),
    ));
    assert_eq!(r.status, 202);
    wait_for(20, "the retried delivery", || {
        (!rx.accepted().is_empty()).then_some(())
    });
    assert_eq!(c.get(&path).body["disabledReason"], Value::Null);
}

#[test]
fn a_ping_tests_an_endpoint_and_a_rotated_secret_signs_from_then_on() {
    let rx = Receiver::start();
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let w = hook(&c, &rx.url, json!(["contact.deleted"]));
    let path = format!("/api/webhooks/{}", w["id"].as_str().unwrap());
    let r = Client::send(c.request(Method::POST, &format!("{path}/test")));
    assert_eq!(r.status, 202);
    let ping = wait_for(20, "the ping", || rx.accepted().into_iter().next());
    assert_eq!(ping.json["type"], "ping");
    assert!(verify(w["secret"].as_str().unwrap(), &ping));

    let rotated = Client::send(c.request(Method::POST, &format!("{path}/rotate-secret"))).body;
    let secret = rotated["secret"].as_str().unwrap();
    assert_ne!(secret, w["secret"].as_str().unwrap());
    Client::send(c.request(Method::POST, &format!("{path}/test")));
    let second = wait_for(20, "the second ping", || rx.accepted().get(1).cloned());
    assert!(verify(secret, &second));
    assert!(!verify(w["secret"].as_str().unwrap(), &second));
}

#[test]
fn endpoints_are_validated_need_a_write_key_and_respect_allowed_hosts() {
    let server = Server::start_with(
        &[
            "--lookup-provider",
            "none",
            "--webhook-allowed-hosts",
            "hooks.example.org",
        ],
        &[],
    );
    let c = server.client("acme");
    let r = c.post(
        "/api/webhooks",
        &json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.text.contains("--webhook-allowed-hosts"), "{}", r.text);
    let ok = c.post(
        "/api/webhooks",
        &json!({"url": "https://hooks.example.org/in", "events": ["contact.created"]}),
    );
    assert_eq!(ok.status, 201, "{}", ok.text);
    for (body, field) in [
        (json!({"events": ["*"]}), "url"),
        (json!({"url": "https://hooks.example.org/in"}), "events"),
        (
            json!({"url": "ftp://hooks.example.org/in", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks.example.org/in", "events": ["contact.exploded"]}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.org/in", "events": ["*"], "colour": 1}),
            "colour",
        ),
    ] {
        let r = c.post("/api/webhooks", &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.body["field"], field, "{body}: {}", r.text);
    }
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(reader.get("/api/webhooks").status, 403);
    assert_eq!(c.get("/api/webhooks/not-a-uuid").status, 404);
    let id = ok.body["id"].as_str().unwrap();
    assert_eq!(c.delete(&format!("/api/webhooks/{id}")).status, 200);
    assert_eq!(c.get(&format!("/api/webhooks/{id}")).status, 404);
}
