//! Every class of bad input gets a clear 4xx with the contract's error body
//! and changes nothing.

mod common;

use common::{Client, Server};
use reqwest::Method;
use serde_json::{Value, json};

fn total(api: &Client) -> i64 {
    api.get("/api/contacts?includeTotal=true").body["total"]
        .as_i64()
        .unwrap()
}

fn raw_post(api: &Client, path: &str, content_type: &str, body: Vec<u8>) -> common::Resp {
    Client::send(
        api.request(Method::POST, path)
            .header("content-type", content_type)
            .body(body),
    )
}

#[test]
fn bad_bodies_are_rejected_with_codes_and_write_nothing() {
    let server = Server::start();
    let api = server.client("acme");
    let existing = api.create(&json!({"phone": "9195550501", "firstName": "Keep"}));
    let id = existing["id"].as_str().unwrap();
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("k{i}"), json!(i))).collect();

    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"firstName": "NoContact"}),
            400,
            "validation_error",
            None,
        ),
        (json!({"phone": "123"}), 400, "invalid_phone", Some("phone")),
        (
            json!({"phone": "555-1234"}),
            400,
            "invalid_phone",
            Some("phone"),
        ),
        (
            json!({"phone": "not a phone"}),
            400,
            "invalid_phone",
            Some("phone"),
        ),
        (
            json!({"phone": 9195550502u64}),
            400,
            "validation_error",
            Some("phone"),
        ),
        (
            json!({"email": "nope"}),
            400,
            "invalid_email",
            Some("email"),
        ),
        (json!({"email": "a@b"}), 400, "invalid_email", Some("email")),
        (
            json!({"phone": "9195550503", "state": "Carolina"}),
            400,
            "validation_error",
            Some("state"),
        ),
        (
            json!({"phone": "9195550503", "timezone": "Mars/Olympus"}),
            400,
            "validation_error",
            Some("timezone"),
        ),
        (
            json!({"phone": "9195550503", "tags": "vip"}),
            400,
            "validation_error",
            Some("tags"),
        ),
        (
            json!({"phone": "9195550503", "tags": [1, 2]}),
            400,
            "validation_error",
            Some("tags"),
        ),
        (
            json!({"phone": "9195550503", "tags": [""]}),
            400,
            "validation_error",
            Some("tags"),
        ),
        (
            json!({"phone": "9195550503", "firstName": 42}),
            400,
            "validation_error",
            Some("firstName"),
        ),
        (
            json!({"phone": "9195550503", "isStarred": "yes"}),
            400,
            "validation_error",
            Some("isStarred"),
        ),
        (
            json!({"phone": "9195550503", "customFields": {"a": {"b": 1}}}),
            400,
            "validation_error",
            Some("customFields"),
        ),
        (
            json!({"phone": "9195550503", "customFields": {"a": [1]}}),
            400,
            "validation_error",
            Some("customFields"),
        ),
        (
            json!({"phone": "9195550503", "customFields": "x"}),
            400,
            "validation_error",
            Some("customFields"),
        ),
        (
            json!({"phone": "9195550503", "customFields": Value::Object(many.clone())}),
            400,
            "too_many_custom_fields",
            Some("customFields"),
        ),
        (json!([1, 2, 3]), 400, "validation_error", None),
    ];
    for (body, status, code, field) in cases {
        let r = api.post("/api/contacts", &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.code(), code, "{body}");
        assert!(
            r.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        if let Some(f) = field {
            assert_eq!(r.body["field"], f, "{body}");
        }
    }
    // A merge that would push custom fields past 20 is refused too.
    let twelve: serde_json::Map<String, Value> =
        (0..12).map(|i| (format!("a{i}"), json!(i))).collect();
    let twelve_more: serde_json::Map<String, Value> =
        (0..12).map(|i| (format!("b{i}"), json!(i))).collect();
    api.put(
        &format!("/api/contacts/{id}"),
        &json!({"customFields": twelve}),
    );
    let r = api.post(
        "/api/contacts",
        &json!({"phone": "9195550501", "customFields": twelve_more}),
    );
    assert_eq!(r.code(), "too_many_custom_fields");

    // Updates are validated the same way and change nothing on failure.
    for body in [
        json!({"email": "bad", "firstName": "Changed"}),
        json!({"firstName": "Changed", "state": "ZZ"}),
        json!({"firstName": "Changed", "isArchived": null}),
    ] {
        let r = api.put(&format!("/api/contacts/{id}"), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let after = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(after["firstName"], "Keep");
    assert_eq!(after["customFields"].as_object().unwrap().len(), 12);
    assert_eq!(total(&api), 1, "no bad request created anything");
}

#[test]
fn malformed_json_wrong_content_type_and_oversized_bodies() {
    let server = Server::start();
    let api = server.client("acme");
    let r = raw_post(
        &api,
        "/api/contacts",
        "application/json",
        b"{\"phone\": ".to_vec(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "invalid_json");
    let r = raw_post(&api, "/api/contacts", "application/json", Vec::new());
    assert_eq!(r.code(), "invalid_json");
    let r = raw_post(
        &api,
        "/api/contacts",
        "text/plain",
        b"{\"phone\": \"9195550504\"}".to_vec(),
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.code(), "unsupported_media_type");
    let r = Client::send(
        api.request(Method::POST, "/api/contacts")
            .body("{\"phone\": \"9195550504\"}"),
    );
    assert_eq!(r.status, 415, "no content type");
    let mut big = b"{\"phone\": \"9195550504\", \"address\": \"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1024 * 1024 + 10));
    big.extend(b"\"}");
    let r = raw_post(&api, "/api/contacts", "application/json", big);
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "payload_too_large");
    assert_eq!(total(&api), 0);
}

#[test]
fn bad_query_parameters_and_cursors_are_400() {
    let server = Server::start();
    let api = server.client("acme");
    api.create(&json!({"phone": "9195550505"}));
    let cases = [
        ("isTextable=maybe", "invalid_parameter"),
        ("optedOut=1", "invalid_parameter"),
        ("hasEmail=yes", "invalid_parameter"),
        ("hasPhone=TRUEISH", "invalid_parameter"),
        ("limit=0", "invalid_parameter"),
        ("limit=-5", "invalid_parameter"),
        ("limit=ten", "invalid_parameter"),
        ("offset=-1", "invalid_parameter"),
        ("offset=abc", "invalid_parameter"),
        ("sortBy=name", "invalid_parameter"),
        ("tagsLogic=XOR", "invalid_parameter"),
        ("state=XX", "invalid_parameter"),
        ("includeTotal=sure", "invalid_parameter"),
        ("cursor=garbage", "invalid_cursor"),
        ("cursor=%7B%7D", "invalid_cursor"),
        (
            "cursor=%7B%22updated_at%22%3A%22yesterday%22%2C%22id%22%3A%22x%22%7D",
            "invalid_cursor",
        ),
        (
            "cursor=%7B%22created_at%22%3A%222025-01-01T00%3A00%3A00.000Z%22%2C%22id%22%3A%2201a21f74-9d9e-7055-be77-6343dd41d0cd%22%7D",
            "invalid_cursor",
        ),
    ];
    for (query, code) in cases {
        let r = api.get(&format!("/api/contacts?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert_eq!(r.code(), code, "{query}");
    }
}

#[test]
fn wrong_methods_get_a_json_error() {
    let server = Server::start();
    let api = server.client("acme");
    let r = Client::send(api.request(Method::PATCH, "/api/contacts"));
    assert_eq!(r.status, 405);
    assert!(r.body["code"].is_string());
}

#[test]
fn a_timeline_and_deliveries_reject_a_bad_limit_or_cursor_and_page_on_a_good_one() {
    let server = Server::start();
    let api = server.client("acme");
    let contact = api.create(&json!({"phone": "9195550502", "firstName": "Paged"}));
    let id = contact["id"].as_str().unwrap();
    api.post(
        &format!("/api/contacts/{id}/notes"),
        &json!({"body": "one"}),
    );
    let hook = api.post(
        "/api/webhooks",
        &json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    );
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook_id = hook.body["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = api.post_empty(&format!("/api/webhooks/{hook_id}/test"));
        assert_eq!(r.status, 202, "{}", r.text);
    }
    let lists = [
        (format!("/api/contacts/{id}/timeline"), "events"),
        (format!("/api/webhooks/{hook_id}/deliveries"), "deliveries"),
    ];
    for (path, items) in &lists {
        for (query, code) in [
            ("limit=abc", "invalid_parameter"),
            ("limit=0", "invalid_parameter"),
            ("limit=-3", "invalid_parameter"),
            ("cursor=garbage", "invalid_cursor"),
            ("cursor=0", "invalid_cursor"),
        ] {
            let r = api.get(&format!("{path}?{query}"));
            assert_eq!(r.status, 400, "{path}?{query}: {}", r.text);
            assert_eq!(r.code(), code, "{path}?{query}");
        }
        let first = api.get(&format!("{path}?limit=1"));
        assert_eq!(first.status, 200, "{}", first.text);
        assert_eq!(first.body[*items].as_array().unwrap().len(), 1, "{path}");
        let cursor = first.body["cursor"].as_str().expect("a next page");
        let next = api.get(&format!("{path}?limit=1&cursor={cursor}"));
        assert_eq!(next.status, 200, "{}", next.text);
        let (a, b) = (&first.body[*items][0]["id"], &next.body[*items][0]["id"]);
        assert!(b.is_string() && a != b, "{path}: the next page moves on");
    }
}
