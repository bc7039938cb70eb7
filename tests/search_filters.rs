//! `search` inside saved segments, bulk actions and exports: the same index
//! answers them as the list endpoint.

mod common;

use common::{Client, Server, wait_for};
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Three Jacksons (two tagged vip) and two others; waits until searchable.
fn seed(c: &Client) {
    for (first, last, phone, tags) in [
        ("Maria", "Jackson", "9195551001", vec!["vip"]),
        ("Mario", "Jackson", "9195551002", vec!["vip"]),
        ("Tom", "Jackson", "9195551003", vec![]),
        ("Maria", "Lopez", "9195551004", vec!["vip"]),
        ("Ann", "Smith", "9195551005", vec![]),
    ] {
        c.create(&json!({"firstName": first, "lastName": last, "phone": phone, "tags": tags}));
    }
    wait_for(30, "the index to catch up", || {
        let r = c.get("/api/contacts?search=jackson&includeTotal=true");
        (r.body["total"] == 3).then_some(())
    });
}

#[test]
fn a_segment_with_search_lists_what_the_adhoc_search_lists() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    seed(&c);
    let adhoc = c.get("/api/contacts?search=jackson&tags=vip&includeTotal=true");
    assert_eq!(adhoc.body["total"], 2);
    let seg = c.post(
        "/api/segments",
        &json!({"name": "vip jacksons", "filters": {"search": "jackson", "tags": ["vip"]}}),
    );
    assert_eq!(seg.status, 201, "{}", seg.text);
    assert_eq!(seg.body["contactCount"], 2);
    let id = seg.body["id"].as_str().unwrap();
    let listed = c.get(&format!(
        "/api/contacts?segmentId={id}&search=smith&includeTotal=true"
    ));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        ids(&listed.body),
        ids(&adhoc.body),
        "ad-hoc search is ignored"
    );
    assert_eq!(listed.body["total"], 2);

    // Another organization's contacts never match, through a segment either.
    let other = server.client("globex");
    other.create(
        &json!({"firstName": "Zed", "lastName": "Jackson", "phone": "9195551001", "tags": ["vip"]}),
    );
    assert_eq!(
        c.get(&format!("/api/segments/{id}")).body["contactCount"],
        2
    );
    assert_eq!(
        other.get(&format!("/api/contacts?segmentId={id}")).status,
        404
    );
}

#[test]
fn bulk_actions_and_exports_take_search_filters() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    seed(&c);
    let r = c.post(
        "/api/contacts/bulk",
        &json!({"action": "addTags", "tags": ["jackson-family"], "filter": {"search": "jackson"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"matched": 3, "updated": 3}));
    let tagged = c.get("/api/contacts?tags=jackson-family&includeTotal=true");
    assert_eq!(tagged.body["total"], 3);

    let export = c.get("/api/contacts/export?format=ndjson&search=maria");
    assert_eq!(export.status, 200);
    let mut names: Vec<String> = export
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| {
            format!(
                "{} {}",
                v["firstName"].as_str().unwrap(),
                v["lastName"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    // "maria" also matches Mario by one substitution.
    assert_eq!(names, ["Maria Jackson", "Maria Lopez", "Mario Jackson"]);

    let seg = c.post(
        "/api/segments",
        &json!({"name": "smiths", "filters": {"search": "smith"}}),
    );
    let id = seg.body["id"].as_str().unwrap();
    let csv = c.get(&format!(
        "/api/contacts/export?segmentId={id}&search=jackson"
    ));
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.text.lines().count(),
        2,
        "header and Ann Smith: {}",
        csv.text
    );
    assert!(csv.text.contains("Smith"));
}
