//! Tags: counts, rename (merging) and delete across an organization.

mod common;

use common::{Client, Server};
use serde_json::{Value, json};

fn contact(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/api/contacts/{id}"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn timeline_types(c: &Client, id: &str) -> Vec<String> {
    c.get(&format!("/api/contacts/{id}/timeline?limit=200"))
        .body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// The contact went through the write path: a new `tags_changed` event and
/// an `updatedAt` that moved forward (or stayed, within one millisecond).
fn assert_rewritten(c: &Client, before: &Value, after: &Value) {
    let id = id_of(before);
    let last = c.get(&format!("/api/contacts/{id}/timeline?limit=1")).body["events"][0].clone();
    assert_eq!(last["type"], "tags_changed");
    assert!(after["updatedAt"].as_str().unwrap() >= before["updatedAt"].as_str().unwrap());
}

fn count_with_tag(c: &Client, tag: &str) -> i64 {
    c.get(&format!(
        "/api/contacts?tags={tag}&includeTotal=true&limit=1"
    ))
    .body["total"]
        .as_i64()
        .unwrap()
}

#[test]
fn tag_counts_are_sorted_by_count() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    assert_eq!(c.get("/api/tags").body, json!({"tags": []}));
    c.create(&json!({"phone": "9195550001", "tags": ["VIP", "donor", "lead"]}));
    c.create(&json!({"phone": "9195550002", "tags": ["vip", "donor"]}));
    c.create(&json!({"phone": "9195550003", "tags": ["vip"]}));
    let r = c.get("/api/tags");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"tags": [
            {"tag": "VIP", "count": 3},
            {"tag": "donor", "count": 2},
            {"tag": "lead", "count": 1},
        ]})
    );
}

#[test]
fn renaming_a_tag_merges_with_an_existing_tag() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let both = c.create(&json!({"phone": "9195550001", "tags": ["vip", "Donor", "lead"]}));
    let only_vip = c.create(&json!({"phone": "9195550002", "tags": ["lead", "VIP"]}));
    let only_donor = c.create(&json!({"phone": "9195550003", "tags": ["donor"]}));
    let untouched = c.create(&json!({"phone": "9195550004", "tags": ["other"]}));

    let r = c.post("/api/tags/rename", &json!({"from": "VIP", "to": "donor"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["updated"], 2);

    // The contact that had both keeps one, in its existing spelling.
    let after = contact(&c, &id_of(&both));
    assert_eq!(after["tags"], json!(["Donor", "lead"]));
    assert_rewritten(&c, &both, &after);
    let after = contact(&c, &id_of(&only_vip));
    assert_eq!(after["tags"], json!(["lead", "donor"]));
    assert_rewritten(&c, &only_vip, &after);
    assert_eq!(
        contact(&c, &id_of(&only_donor))["updatedAt"],
        only_donor["updatedAt"]
    );
    assert_eq!(
        contact(&c, &id_of(&untouched))["updatedAt"],
        untouched["updatedAt"]
    );

    // Counts and the tag index follow.
    let tags = c.get("/api/tags").body["tags"].clone();
    assert_eq!(tags[0], json!({"tag": "Donor", "count": 3}));
    assert!(
        !tags
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"].as_str().unwrap().eq_ignore_ascii_case("vip"))
    );
    assert_eq!(count_with_tag(&c, "vip"), 0);
    assert_eq!(count_with_tag(&c, "donor"), 3);
    assert!(timeline_types(&c, &id_of(&only_vip)).contains(&"tags_changed".to_string()));

    // Renaming away a tag nobody has is 404; a spelling change is allowed.
    let r = c.post("/api/tags/rename", &json!({"from": "vip", "to": "x"}));
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = c.post("/api/tags/rename", &json!({"from": "donor", "to": "DONOR"}));
    assert_eq!(r.body["updated"], 3);
    assert_eq!(
        c.get("/api/tags").body["tags"][0],
        json!({"tag": "DONOR", "count": 3})
    );
    assert_eq!(contact(&c, &id_of(&both))["tags"], json!(["DONOR", "lead"]));

    // Validation.
    for body in [
        json!({"from": "a"}),
        json!({"to": "a"}),
        json!({"from": "a", "to": ""}),
        json!({"from": "a", "to": "b,c"}),
        json!({"from": "a", "to": 5}),
        json!({"from": "a", "to": "x".repeat(101)}),
        json!({"from": "a", "to": "b", "extra": true}),
        json!(["a", "b"]),
    ] {
        let r = c.post("/api/tags/rename", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.body["error"].is_string());
    }
}

#[test]
fn deleting_a_tag_removes_it_from_every_contact() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let a = c.create(&json!({"phone": "9195550001", "tags": ["old", "keep"]}));
    let b = c.create(&json!({"phone": "9195550002", "tags": ["OLD"]}));
    let r = c.delete("/api/tags/Old");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["deleted"], true);
    assert_eq!(r.body["updated"], 2);
    assert_eq!(contact(&c, &id_of(&a))["tags"], json!(["keep"]));
    assert_eq!(contact(&c, &id_of(&b))["tags"], json!([]));
    assert_rewritten(&c, &b, &contact(&c, &id_of(&b)));
    assert_eq!(
        c.get("/api/tags").body["tags"],
        json!([{"tag": "keep", "count": 1}])
    );
    assert_eq!(count_with_tag(&c, "old"), 0);
    assert_eq!(c.delete("/api/tags/old").status, 404);
    // Tags with spaces travel percent-encoded in the path.
    c.create(&json!({"phone": "9195550003", "tags": ["big donor", "rename"]}));
    assert_eq!(c.delete("/api/tags/big%20donor").status, 200);
    assert_eq!(c.delete("/api/tags/rename").status, 200);
    assert_eq!(
        c.get("/api/tags").body["tags"],
        json!([{"tag": "keep", "count": 1}])
    );

    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(reader.get("/api/tags").status, 200);
    assert_eq!(reader.delete("/api/tags/keep").status, 403);
    assert_eq!(
        reader
            .post("/api/tags/rename", &json!({"from": "keep", "to": "k"}))
            .status,
        403
    );
}

#[test]
fn tags_are_private_to_their_organization() {
    let server = Server::start_without_lookups();
    let a = server.client("acme");
    let b = server.client("globex");
    a.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    a.settle_lookups();
    let mine = a
        .post("/api/contacts", &json!({"phone": "9195550001"}))
        .body;
    assert_eq!(b.get("/api/tags").body, json!({"tags": []}));
    let r = b.post("/api/tags/rename", &json!({"from": "vip", "to": "x"}));
    assert_eq!(r.status, 404);
    assert_eq!(b.delete("/api/tags/vip").status, 404);
    // B's own tag of the same name is independent.
    b.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    assert_eq!(b.delete("/api/tags/vip").status, 200);
    assert_eq!(contact(&a, &id_of(&mine))["tags"], json!(["vip"]));
    assert_eq!(contact(&a, &id_of(&mine))["updatedAt"], mine["updatedAt"]);
    assert_eq!(
        a.get("/api/tags").body["tags"],
        json!([{"tag": "vip", "count": 1}])
    );
}
