//! The documented contact endpoints: create, merge, get, update, delete,
//! opt-out/opt-in, and the full field set on every response.

mod common;

use common::{DOCUMENTED_FIELDS, Server};
use serde_json::{Value, json};

fn assert_full_contact(c: &Value) {
    for f in DOCUMENTED_FIELDS {
        assert!(c.get(*f).is_some(), "field {f} missing from {c}");
    }
    for ts in ["createdAt", "updatedAt"] {
        let s = c[ts].as_str().unwrap();
        assert_eq!(
            s.len(),
            24,
            "{ts} should look like 2025-03-01T09:12:00.000Z, got {s}"
        );
        assert!(s.ends_with('Z'));
    }
}

#[test]
fn create_returns_201_with_normalized_fields_and_the_full_field_set() {
    let server = Server::start();
    let api = server.client("acme");
    let r = api.post(
        "/api/contacts",
        &json!({
            "phone": "(919) 555-1234", "firstName": "Jane", "lastName": "Smith",
            "email": " jane@Example.com ", "state": "nc", "zip": "27601",
            "tags": ["vip", " donor ", "VIP"], "timezone": "America/New_York",
            "customFields": {"memberId": "M-10042", "dues": 25, "active": true, "note": null}
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.body;
    assert_full_contact(c);
    assert_eq!(c["_outcome"], "created");
    assert_eq!(c["phone"], "+19195551234");
    assert_eq!(c["email"], "jane@Example.com");
    assert_eq!(c["state"], "NC");
    assert_eq!(c["tags"], json!(["vip", "donor"]));
    assert_eq!(c["customFields"]["dues"], 25);
    assert_eq!(c["isTextable"], Value::Null);
    assert_eq!(c["isOptedIn"], true);
    assert_eq!(c["optedOutAt"], Value::Null);
    assert_eq!(c["isStarred"], false);

    let got = api.get(&format!("/api/contacts/{}", c["id"].as_str().unwrap()));
    assert_eq!(got.status, 200);
    assert_full_contact(&got.body);
    assert_eq!(got.body["customFields"]["memberId"], "M-10042");
    assert!(got.body.get("_outcome").is_none());
}

#[test]
fn create_merges_on_phone_in_any_format_and_on_email_case() {
    let server = Server::start();
    let api = server.client("acme");
    let first = api.post(
        "/api/contacts",
        &json!({"phone": "919-555-0101", "firstName": "Ann", "tags": ["a"], "customFields": {"x": "1", "y": "1"}}),
    );
    assert_eq!(first.status, 201);
    let id = first.body["id"].as_str().unwrap().to_string();

    for (i, variant) in [
        "9195550101",
        "(919) 555-0101",
        "+1 919 555 0101",
        "1.919.555.0101",
    ]
    .iter()
    .enumerate()
    {
        let r = api.post(
            "/api/contacts",
            &json!({"phone": variant, "tags": [format!("t{i}")], "customFields": {"y": "2"}}),
        );
        assert_eq!(r.status, 200, "{variant}: {}", r.text);
        assert_eq!(r.body["_outcome"], "merged");
        assert_eq!(r.body["id"], id.as_str());
    }
    let merged = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(merged["tags"], json!(["a", "t0", "t1", "t2", "t3"]));
    assert_eq!(merged["customFields"], json!({"x": "1", "y": "2"}));
    assert_eq!(merged["firstName"], "Ann", "fields not given are kept");

    let e = api.post(
        "/api/contacts",
        &json!({"email": "Bob@Example.com", "firstName": "Bob"}),
    );
    assert_eq!(e.status, 201);
    let again = api.post(
        "/api/contacts",
        &json!({"email": "bob@example.COM", "lastName": "Jones"}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], e.body["id"]);
    assert_eq!(again.body["firstName"], "Bob");
    assert_eq!(again.body["lastName"], "Jones");
    // A lower-case email is its own key; a mixed-case one finds it too.
    let lower = api.create(&json!({"email": "carol@example.com"}));
    let mixed = api.post("/api/contacts", &json!({"email": "Carol@Example.com"}));
    assert_eq!(mixed.status, 200, "{}", mixed.text);
    assert_eq!(mixed.body["id"], lower["id"]);
    assert_eq!(mixed.body["email"], "Carol@Example.com");

    let list = api.get("/api/contacts?includeTotal=true");
    assert_eq!(list.body["total"], 3, "merges never duplicate");
}

#[test]
fn phone_of_one_contact_and_email_of_another_is_409_and_changes_nothing() {
    let server = Server::start();
    let api = server.client("acme");
    let a = api.create(&json!({"phone": "9195550001", "firstName": "A"}));
    let b = api.create(&json!({"email": "b@example.com", "firstName": "B"}));
    let r = api.post(
        "/api/contacts",
        &json!({"phone": "9195550001", "email": "B@example.com", "firstName": "Z"}),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "conflict");
    assert_eq!(
        api.get(&format!("/api/contacts/{}", a["id"].as_str().unwrap()))
            .body["firstName"],
        "A"
    );
    assert_eq!(
        api.get(&format!("/api/contacts/{}", b["id"].as_str().unwrap()))
            .body["firstName"],
        "B"
    );
}

#[test]
fn update_is_partial_replaces_tags_and_fields_and_null_clears() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({
        "email": "upd@example.com", "firstName": "Jane", "city": "Raleigh",
        "tags": ["a", "b"], "customFields": {"k1": "v1", "k2": "v2"}
    }));
    let id = c["id"].as_str().unwrap();
    let r = api.put(
        &format!("/api/contacts/{id}"),
        &json!({
            "lastName": "Doe", "tags": ["c"], "customFields": {"k3": 3},
            "city": null, "isStarred": true, "id": "ignored", "createdAt": "1999-01-01T00:00:00.000Z",
            "isTextable": true
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let u = &r.body;
    assert_full_contact(u);
    assert_eq!(u["id"], id, "read-only fields are ignored");
    assert_eq!(u["createdAt"], c["createdAt"]);
    assert_eq!(u["isTextable"], Value::Null);
    assert_eq!(u["firstName"], "Jane");
    assert_eq!(u["lastName"], "Doe");
    assert_eq!(u["city"], Value::Null);
    assert_eq!(u["tags"], json!(["c"]));
    assert_eq!(u["customFields"], json!({"k3": 3}));
    assert_eq!(u["isStarred"], true);
    assert!(u["updatedAt"].as_str().unwrap() >= c["updatedAt"].as_str().unwrap());
    let kinds = api.event_kinds(id);
    let updates = kinds.iter().filter(|k| *k == "updated").count();
    assert_eq!(updates, 1, "the update was recorded once: {kinds:?}");
    // An update that changes nothing leaves updatedAt and the timeline alone.
    let count_events = || api.event_kinds(id).len();
    let before = count_events();
    let same = api.put(
        &format!("/api/contacts/{id}"),
        &json!({"lastName": "Doe", "tags": ["c"]}),
    );
    assert_eq!(same.body["updatedAt"], u["updatedAt"]);
    assert_eq!(count_events(), before);

    // The tag index follows the replacement.
    assert_eq!(
        api.get("/api/contacts?tags=a&includeTotal=true").body["total"],
        0
    );
    assert_eq!(
        api.get("/api/contacts?tags=c&includeTotal=true").body["total"],
        1
    );
}

#[test]
fn update_taking_another_contacts_phone_or_email_is_409() {
    let server = Server::start();
    let api = server.client("acme");
    let a = api.create(&json!({"phone": "9195550003", "email": "a@example.com"}));
    let b = api.create(&json!({"phone": "9195550004", "email": "b@example.com"}));
    let b_id = b["id"].as_str().unwrap();
    let r = api.put(
        &format!("/api/contacts/{b_id}"),
        &json!({"phone": "919 555 0003"}),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    let r = api.put(
        &format!("/api/contacts/{b_id}"),
        &json!({"email": "A@EXAMPLE.COM"}),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    let after = api.get(&format!("/api/contacts/{b_id}")).body;
    assert_eq!(after["phone"], "+19195550004");
    assert_eq!(after["email"], "b@example.com");
    assert_eq!(a["phone"], "+19195550003");

    // Clearing both phone and email would leave an unreachable contact.
    let r = api.put(
        &format!("/api/contacts/{b_id}"),
        &json!({"phone": null, "email": null}),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn changing_the_phone_resets_textability_and_queues_a_lookup() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({"email": "p@example.com"}));
    assert_eq!(c["lookupStatus"], Value::Null, "no phone, no lookup");
    let id = c["id"].as_str().unwrap();
    let u = api
        .put(
            &format!("/api/contacts/{id}"),
            &json!({"phone": "9195550005"}),
        )
        .body;
    assert_eq!(u["phone"], "+19195550005");
    assert_eq!(u["lookupStatus"], "pending", "a lookup is queued: {u}");

    // Arrange a finished lookup, then change the number.
    server.sql(&format!(
        "UPDATE contacts SET is_textable = 1, line_type = 'mobile', lookup_status = 'done' WHERE id = '{id}';
         UPDATE lookup_jobs SET status = 'done' WHERE contact = (SELECT key FROM contacts WHERE id = '{id}') AND status IN ('pending', 'running');"
    ));
    assert_eq!(
        api.get(&format!("/api/contacts/{id}")).body["isTextable"],
        true
    );
    let u = api
        .put(
            &format!("/api/contacts/{id}"),
            &json!({"phone": "(919) 555-0015"}),
        )
        .body;
    assert_eq!(
        u["isTextable"],
        Value::Null,
        "a new number is not known to be textable"
    );
    assert_eq!(u["lineType"], Value::Null);
    assert_eq!(u["lookupStatus"], "pending");
    let key = server.sql_count(&format!("SELECT key FROM contacts WHERE id = '{id}'"));
    let live_new = server.sql_count(&format!(
        "SELECT count(*) FROM lookup_jobs WHERE contact = {key} AND phone = '+19195550015' AND status <> 'cancelled'"
    ));
    assert_eq!(live_new, 1, "one live job for the new number");
    let live_old = server.sql_count(&format!(
        "SELECT count(*) FROM lookup_jobs WHERE contact = {key} AND phone <> '+19195550015' AND status IN ('pending', 'running')"
    ));
    assert_eq!(live_old, 0, "no job left for an old number");
    // Deleting the contact deletes its jobs.
    assert!(
        server.sql_count(&format!(
            "SELECT count(*) FROM lookup_jobs WHERE contact = {key}"
        )) > 0
    );
    api.delete(&format!("/api/contacts/{id}"));
    let left = server.sql_count(&format!(
        "SELECT count(*) FROM lookup_jobs WHERE contact = {key}"
    ));
    assert_eq!(left, 0);
}

#[test]
fn blank_strings_in_a_merging_create_erase_nothing() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({
        "phone": "9195550016", "email": "jane@x.com", "firstName": "Jane",
        "state": "NC", "timezone": "America/New_York"
    }));
    let r = api.post(
        "/api/contacts",
        &json!({"email": "JANE@x.com", "phone": "", "firstName": " ", "state": "", "timezone": "", "city": "Cary"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], c["id"]);
    assert_eq!(r.body["phone"], "+19195550016");
    assert_eq!(r.body["firstName"], "Jane");
    assert_eq!(r.body["state"], "NC");
    assert_eq!(r.body["timezone"], "America/New_York");
    assert_eq!(r.body["city"], "Cary");
}

#[test]
fn a_merge_cannot_push_a_contact_past_one_hundred_tags() {
    let server = Server::start();
    let api = server.client("acme");
    let first: Vec<String> = (0..60).map(|i| format!("a{i}")).collect();
    let more: Vec<String> = (0..60).map(|i| format!("b{i}")).collect();
    let c = api.create(&json!({"phone": "9195550017", "tags": first}));
    let r = api.post(
        "/api/contacts",
        &json!({"phone": "9195550017", "tags": more}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["field"], "tags");
    let after = api
        .get(&format!("/api/contacts/{}", c["id"].as_str().unwrap()))
        .body;
    assert_eq!(
        after["tags"].as_array().unwrap().len(),
        60,
        "nothing merged"
    );
}

#[test]
fn delete_answers_the_documented_body_and_the_contact_is_gone() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({"phone": "9195550006"}));
    let id = c["id"].as_str().unwrap();
    api.put(
        &format!("/api/contacts/{id}"),
        &json!({"tags": ["gone", "kept"]}),
    );
    api.create(&json!({"phone": "9195550026", "tags": ["kept"]}));
    let r = api.delete(&format!("/api/contacts/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"id": id, "deleted": true}));
    // The tag index and the kept counts let go of it.
    assert_eq!(api.tag_count("gone"), 0);
    assert_eq!(api.tag_count("kept"), 1);
    assert_eq!(
        api.get("/api/contacts?tags=gone,kept&includeTotal=true")
            .body["total"],
        1
    );
    assert_eq!(api.get(&format!("/api/contacts/{id}")).status, 404);
    assert_eq!(api.delete(&format!("/api/contacts/{id}")).status, 404);
    // The phone is free again.
    assert_eq!(
        api.post("/api/contacts", &json!({"phone": "9195550006"}))
            .status,
        201
    );
}

#[test]
fn opt_out_and_opt_in_set_and_clear_opted_out_at() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({"phone": "9195550007"}));
    let id = c["id"].as_str().unwrap();
    let out = api.post_empty(&format!("/api/contacts/{id}/opt-out"));
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body["isOptedIn"], false);
    assert!(out.body["optedOutAt"].is_string());
    assert_full_contact(&out.body);

    // A create that merges never opts the contact back in.
    let merged = api.post(
        "/api/contacts",
        &json!({"phone": "9195550007", "isOptedIn": true}),
    );
    assert_eq!(merged.body["isOptedIn"], false);

    let back = api.post_empty(&format!("/api/contacts/{id}/opt-in"));
    assert_eq!(back.body["isOptedIn"], true);
    assert_eq!(back.body["optedOutAt"], Value::Null);

    // PUT isOptedIn is the other documented way.
    let put = api.put(&format!("/api/contacts/{id}"), &json!({"isOptedIn": false}));
    assert_eq!(put.body["isOptedIn"], false);
    assert!(put.body["optedOutAt"].is_string());
    assert_eq!(
        api.post_empty("/api/contacts/00000000-0000-0000-0000-000000000000/opt-out")
            .status,
        404
    );
}

#[test]
fn unknown_ids_and_routes_are_404_with_the_error_body() {
    let server = Server::start();
    let api = server.client("acme");
    for path in [
        "/api/contacts/00000000-0000-7000-8000-000000000000",
        "/api/contacts/not-a-uuid",
        "/api/nothing-here",
    ] {
        let r = api.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.code(), "not_found");
        assert!(r.body["error"].is_string());
    }
}
