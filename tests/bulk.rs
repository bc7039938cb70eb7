//! Bulk actions over ids, filters and segments.

mod common;

use common::{Client, Server};
use serde_json::{Value, json};

fn total(c: &Client, query: &str) -> i64 {
    let r = c.get(&format!("/api/contacts?{query}&includeTotal=true&limit=1"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["total"].as_i64().unwrap()
}

fn bulk(c: &Client, body: Value) -> Value {
    let r = c.post("/api/contacts/bulk", &body);
    assert_eq!(r.status, 200, "{body}: {}", r.text);
    r.body
}

fn ids(contacts: &[Value]) -> Vec<String> {
    contacts
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn events(c: &Client, id: &str) -> Vec<Value> {
    c.get(&format!("/api/contacts/{id}/timeline?limit=200"))
        .body["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn bulk_delete_by_filter_deletes_exactly_the_matches() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let mut doomed = Vec::new();
    for i in 0..12 {
        let tags = if i % 2 == 0 {
            json!(["gone", "x"])
        } else {
            json!(["stay"])
        };
        let created = c.create(&json!({"phone": format!("919555{:04}", 1000 + i), "tags": tags}));
        if i % 2 == 0 {
            doomed.push(created);
        }
    }
    let r = bulk(
        &c,
        json!({"action": "delete", "filter": {"tags": ["GONE"]}}),
    );
    assert_eq!(r, json!({"matched": 6, "updated": 6}));
    assert_eq!(total(&c, ""), 6);
    assert_eq!(total(&c, "tags=stay"), 6);
    for d in &doomed {
        assert_eq!(
            c.get(&format!("/api/contacts/{}", d["id"].as_str().unwrap()))
                .status,
            404
        );
    }
    assert_eq!(
        c.get("/api/tags").body["tags"],
        json!([{"tag": "stay", "count": 6}])
    );
    // Safe to rerun: nothing left to match.
    let r = bulk(
        &c,
        json!({"action": "delete", "filter": {"tags": ["gone"]}}),
    );
    assert_eq!(r, json!({"matched": 0, "updated": 0}));
}

#[test]
fn deleting_everything_needs_all_true() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    for i in 0..3 {
        c.create(&json!({"phone": format!("919555{:04}", 1000 + i)}));
    }
    let everyone = c
        .post("/api/segments", &json!({"name": "all", "filters": {}}))
        .body;
    for body in [
        json!({"action": "delete", "filter": {}}),
        json!({"action": "delete", "filter": {}, "all": false}),
        json!({"action": "delete", "filter": {"tags": []}}),
        json!({"action": "delete", "segmentId": everyone["id"]}),
    ] {
        let r = c.post("/api/contacts/bulk", &body);
        assert_eq!((r.status, r.code()), (400, "validation_error"), "{body}");
        assert_eq!(r.body["field"], "all");
    }
    assert_eq!(total(&c, ""), 3);
    // Other actions may cover everyone without confirmation.
    let r = bulk(&c, json!({"action": "archive", "filter": {}}));
    assert_eq!(r, json!({"matched": 3, "updated": 3}));
    let r = bulk(&c, json!({"action": "delete", "filter": {}, "all": true}));
    assert_eq!(r, json!({"matched": 3, "updated": 3}));
    assert_eq!(total(&c, ""), 0);
}

#[test]
fn every_action_by_ids_applies_once_and_reruns_harmlessly() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let contacts: Vec<Value> = (0..4)
        .map(|i| c.create(&json!({"phone": format!("919555{:04}", 1000 + i), "tags": ["base"]})))
        .collect();
    let all = ids(&contacts);
    let two = &all[..2];
    let get = |id: &str| c.get(&format!("/api/contacts/{id}")).body;

    let r = bulk(
        &c,
        json!({"action": "addTags", "ids": two, "tags": ["New", "base"]}),
    );
    assert_eq!(r, json!({"matched": 2, "updated": 2}));
    assert_eq!(get(&two[0])["tags"], json!(["base", "New"]));
    assert_eq!(get(&all[3])["tags"], json!(["base"]));
    let r = bulk(
        &c,
        json!({"action": "addTags", "ids": two, "tags": ["new"]}),
    );
    assert_eq!(r, json!({"matched": 2, "updated": 0}));

    let r = bulk(
        &c,
        json!({"action": "removeTags", "ids": all, "tags": ["NEW"]}),
    );
    assert_eq!(r, json!({"matched": 4, "updated": 2}));
    assert_eq!(get(&two[0])["tags"], json!(["base"]));

    let r = bulk(&c, json!({"action": "optOut", "ids": two}));
    assert_eq!(r, json!({"matched": 2, "updated": 2}));
    let c0 = get(&two[0]);
    assert_eq!(c0["isOptedIn"], false);
    assert!(c0["optedOutAt"].is_string());
    let ev = events(&c, &two[0]);
    assert_eq!(ev[0]["type"], "opted_out");
    assert_eq!(ev[0]["data"], json!({"source": "bulk"}));
    assert_eq!(
        bulk(&c, json!({"action": "optOut", "ids": two}))["updated"],
        0
    );

    let r = bulk(&c, json!({"action": "optIn", "ids": all}));
    assert_eq!(r, json!({"matched": 4, "updated": 2}));
    let c0 = get(&two[0]);
    assert_eq!(c0["isOptedIn"], true);
    assert!(c0["optedOutAt"].is_null());
    assert_eq!(events(&c, &two[0])[0]["data"], json!({"source": "bulk"}));

    let r = bulk(
        &c,
        json!({"action": "archive", "ids": [&all[0], &all[0], &all[1]]}),
    );
    assert_eq!(r, json!({"matched": 2, "updated": 2}));
    assert_eq!(get(&all[1])["isArchived"], true);
    assert_eq!(
        bulk(&c, json!({"action": "archive", "ids": two}))["updated"],
        0
    );
    let r = bulk(&c, json!({"action": "unarchive", "ids": all}));
    assert_eq!(r, json!({"matched": 4, "updated": 2}));
    assert_eq!(get(&all[1])["isArchived"], false);

    // Unknown ids simply do not match.
    let r = bulk(
        &c,
        json!({"action": "delete", "ids": ["0190a5d2-0000-7000-8000-000000000001", &all[3]]}),
    );
    assert_eq!(r, json!({"matched": 1, "updated": 1}));
    assert_eq!(total(&c, ""), 3);
}

#[test]
fn bulk_by_filter_and_segment_walks_every_chunk() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    // More than two chunks of 500.
    for i in 0..1_050 {
        let tags = if i % 3 == 0 {
            json!(["third"])
        } else {
            json!([])
        };
        c.create(&json!({"phone": format!("91955{:05}", 10_000 + i), "tags": tags}));
    }
    let r = bulk(
        &c,
        json!({"action": "addTags", "filter": {}, "tags": ["wave"]}),
    );
    assert_eq!(r, json!({"matched": 1050, "updated": 1050}));
    assert_eq!(total(&c, "tags=wave"), 1050);
    // Removing the very tag being filtered on: each contact is visited once.
    let r = bulk(
        &c,
        json!({"action": "removeTags", "filter": {"tags": ["wave"]}, "tags": ["wave"]}),
    );
    assert_eq!(r, json!({"matched": 1050, "updated": 1050}));
    assert_eq!(total(&c, "tags=wave"), 0);

    let seg = c
        .post(
            "/api/segments",
            &json!({"name": "thirds", "filters": {"tags": ["third"]}}),
        )
        .body;
    let r = bulk(&c, json!({"action": "optOut", "segmentId": seg["id"]}));
    assert_eq!(r, json!({"matched": 350, "updated": 350}));
    assert_eq!(total(&c, "optedOut=true"), 350);
    assert_eq!(total(&c, "optedOut=true&tags=third"), 350);
    let r = bulk(&c, json!({"action": "optOut", "segmentId": seg["id"]}));
    assert_eq!(r, json!({"matched": 350, "updated": 0}));
}

#[test]
fn bulk_validation_errors_change_nothing() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550001", "tags": ["a"]}));
    c.settle_lookups();
    let one = c
        .post("/api/contacts", &json!({"phone": "9195550001"}))
        .body;
    let id = one["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"ids": [id]}), Some("action")),
        (json!({"action": "explode", "ids": [id]}), Some("action")),
        (json!({"action": "addTags", "ids": [id]}), Some("tags")),
        (
            json!({"action": "addTags", "ids": [id], "tags": []}),
            Some("tags"),
        ),
        (
            json!({"action": "addTags", "ids": [id], "tags": ["a,b"]}),
            Some("tags"),
        ),
        (
            json!({"action": "archive", "ids": [id], "tags": ["a"]}),
            Some("tags"),
        ),
        (json!({"action": "archive"}), None),
        (
            json!({"action": "archive", "ids": [id], "filter": {}}),
            None,
        ),
        (json!({"action": "archive", "ids": []}), Some("ids")),
        (json!({"action": "archive", "ids": "all"}), Some("ids")),
        (json!({"action": "archive", "ids": ["nope"]}), Some("ids")),
        (
            json!({"action": "archive", "filter": {"colour": "red"}}),
            Some("filter.colour"),
        ),
        (
            json!({"action": "archive", "filter": {"optedOut": "yes"}}),
            Some("filter.optedOut"),
        ),
        (
            json!({"action": "archive", "filter": {}, "all": "yes"}),
            Some("all"),
        ),
        (
            json!({"action": "archive", "filter": {}, "everything": true}),
            Some("everything"),
        ),
    ] {
        let r = c.post("/api/contacts/bulk", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body["field"].as_str(), field, "{body}: {}", r.text);
    }
    let r = c.post(
        "/api/contacts/bulk",
        &json!({"action": "archive", "segmentId": "nope"}),
    );
    assert_eq!(r.status, 404);
    let after = c.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(
        after,
        one.as_object()
            .map(|o| {
                let mut o = o.clone();
                o.remove("_outcome");
                Value::Object(o)
            })
            .unwrap()
    );
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    let r = reader.post(
        "/api/contacts/bulk",
        &json!({"action": "archive", "ids": [id]}),
    );
    assert_eq!(r.status, 403);
}

#[test]
fn bulk_never_reaches_another_organization() {
    let server = Server::start_without_lookups();
    let a = server.client("acme");
    let b = server.client("globex");
    a.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    b.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    a.settle_lookups();
    let theirs = a
        .post("/api/contacts", &json!({"phone": "9195550001"}))
        .body;
    let id = theirs["id"].as_str().unwrap();
    let r = bulk(&b, json!({"action": "delete", "ids": [id]}));
    assert_eq!(r, json!({"matched": 0, "updated": 0}));
    let r = bulk(
        &b,
        json!({"action": "addTags", "ids": [id], "tags": ["pwned"]}),
    );
    assert_eq!(r, json!({"matched": 0, "updated": 0}));
    let r = bulk(&b, json!({"action": "delete", "filter": {"tags": ["vip"]}}));
    assert_eq!(r, json!({"matched": 1, "updated": 1}));
    let r = bulk(&b, json!({"action": "optOut", "filter": {}}));
    assert_eq!(r, json!({"matched": 0, "updated": 0}));
    let still = a.get(&format!("/api/contacts/{id}"));
    assert_eq!(still.status, 200);
    assert_eq!(still.body["tags"], json!(["vip"]));
    assert_eq!(still.body["isOptedIn"], true);
    assert_eq!(still.body["updatedAt"], theirs["updatedAt"]);
}
