//! Segments: saved filters that list exactly what their ad-hoc filter lists.

mod common;

use common::{Client, Server, urlencode};
use serde_json::{Value, json};

/// Follows cursors through every page; returns the ids in order.
fn all_ids(c: &Client, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("/api/contacts?limit=4&{query}");
    loop {
        let r = c.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        for contact in r.body["contacts"].as_array().unwrap() {
            ids.push(contact["id"].as_str().unwrap().to_string());
        }
        if !r.body["hasMore"].as_bool().unwrap() {
            assert!(r.body["cursor"].is_null());
            return ids;
        }
        let cursor = r.body["cursor"].as_str().unwrap();
        path = format!("/api/contacts?limit=4&{query}&cursor={}", urlencode(cursor));
    }
}

/// Twenty contacts spread over tags, states, email/phone and opt-out.
fn seed(c: &Client) {
    let tags = [
        json!(["vip"]),
        json!(["vip", "donor"]),
        json!(["donor"]),
        json!([]),
        json!(["Volunteer", "VIP"]),
    ];
    let states = ["NC", "SC", "VA", "NC"];
    for i in 0..20 {
        let mut body = json!({
            "firstName": format!("P{i}"),
            "tags": tags[i % tags.len()],
            "state": states[i % states.len()],
            "zip": if i % 3 == 0 { "27601" } else { "29401" },
        });
        if i % 2 == 0 {
            body["phone"] = json!(format!("+1919555{:04}", 1000 + i));
        }
        if i % 2 == 1 || i % 5 == 0 {
            body["email"] = json!(format!("p{i}@example.com"));
        }
        let created = c.create(&body);
        if i % 4 == 0 {
            let id = created["id"].as_str().unwrap();
            assert_eq!(
                c.post_empty(&format!("/api/contacts/{id}/opt-out")).status,
                200
            );
        }
    }
}

fn create_segment(c: &Client, name: &str, filters: Value) -> Value {
    let r = c.post(
        "/api/segments",
        &json!({ "name": name, "filters": filters }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[test]
fn a_segment_lists_exactly_what_its_adhoc_filter_lists() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    seed(&c);
    let cases = [
        (json!({}), ""),
        (json!({"tags": ["VIP"]}), "tags=vip"),
        (
            json!({"tags": ["vip", "donor"], "tagsLogic": "AND"}),
            "tags=vip,donor&tagsLogic=AND",
        ),
        (
            json!({"tags": ["vip", "donor"], "tagsLogic": "OR"}),
            "tags=vip,donor&tagsLogic=OR",
        ),
        (json!({"state": ["nc", "VA"]}), "state=NC,VA"),
        (json!({"optedOut": true}), "optedOut=true"),
        (
            json!({"hasEmail": true, "hasPhone": false}),
            "hasEmail=true&hasPhone=false",
        ),
        (
            json!({"zip": "27601", "optedOut": false}),
            "zip=27601&optedOut=false",
        ),
        (
            json!({"tags": ["donor"], "state": ["SC"]}),
            "tags=donor&state=SC",
        ),
    ];
    for (n, (filters, query)) in cases.iter().enumerate() {
        let seg = create_segment(&c, &format!("segment {n}"), filters.clone());
        let id = seg["id"].as_str().unwrap();
        for sort in ["updated_at", "created_at"] {
            let by_segment = all_ids(&c, &format!("segmentId={id}&sortBy={sort}"));
            let adhoc = all_ids(&c, &format!("{query}&sortBy={sort}"));
            assert_eq!(by_segment, adhoc, "filters {filters} sort {sort}");
        }
        let total = c.get(&format!("/api/contacts?{query}&includeTotal=true&limit=1"));
        assert_eq!(
            seg["contactCount"], total.body["total"],
            "filters {filters}"
        );
        let got = c.get(&format!("/api/segments/{id}"));
        assert_eq!(got.body["contactCount"], total.body["total"]);
    }
}

#[test]
fn a_segment_ignores_adhoc_filters() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    seed(&c);
    let seg = create_segment(&c, "VIPs", json!({"tags": ["vip"]}));
    let id = seg["id"].as_str().unwrap();
    let plain = all_ids(&c, &format!("segmentId={id}"));
    assert!(!plain.is_empty());
    let with_adhoc = all_ids(
        &c,
        &format!(
            "segmentId={id}&tags=donor&tagsLogic=AND&state=SC&optedOut=true&zip=00000&hasEmail=false"
        ),
    );
    assert_eq!(plain, with_adhoc);
    // Even ad-hoc values that would be invalid on their own are ignored.
    let r = c.get(&format!(
        "/api/contacts?segmentId={id}&isTextable=maybe&state=ZZ"
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    // Pagination parameters still apply and are still validated.
    let r = c.get(&format!(
        "/api/contacts?segmentId={id}&limit=2&includeTotal=true"
    ));
    assert_eq!(r.body["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["total"], seg["contactCount"]);
    assert_eq!(r.body["limit"], 2);
    let r = c.get(&format!("/api/contacts?segmentId={id}&limit=0"));
    assert_eq!(r.status, 400);
}

#[test]
fn segment_crud_validation_and_live_count() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550001", "tags": ["vip"]}));

    let seg = create_segment(&c, "VIPs", json!({"tags": ["VIP"], "state": ["nc"]}));
    let id = seg["id"].as_str().unwrap().to_string();
    assert_eq!(seg["name"], "VIPs");
    assert_eq!(
        seg["filters"],
        json!({"tags": ["vip"], "tagsLogic": "OR", "state": ["NC"]})
    );
    assert_eq!(seg["contactCount"], 0);
    for k in ["createdAt", "updatedAt"] {
        assert!(seg[k].as_str().unwrap().ends_with('Z'));
    }

    // Live count: the segment follows the contacts.
    c.create(&json!({"phone": "9195550002", "tags": ["vip"], "state": "NC"}));
    assert_eq!(
        c.get(&format!("/api/segments/{id}")).body["contactCount"],
        1
    );

    // Names are unique per organization, ignoring case.
    let r = c.post("/api/segments", &json!({"name": "vips", "filters": {}}));
    assert_eq!((r.status, r.code()), (409, "conflict"));

    // Validation: each a 400 with the contract body, and nothing stored.
    for (body, field) in [
        (
            json!({"name": "x", "filters": {"color": "red"}}),
            "filters.color",
        ),
        (
            json!({"name": "x", "filters": {"tags": "vip"}}),
            "filters.tags",
        ),
        (
            json!({"name": "x", "filters": {"isTextable": "yes"}}),
            "filters.isTextable",
        ),
        (
            json!({"name": "x", "filters": {"state": ["XX"]}}),
            "filters.state",
        ),
        (
            json!({"name": "x", "filters": {"tagsLogic": "XOR"}}),
            "filters.tagsLogic",
        ),
        (json!({"name": "x", "filters": []}), "filters"),
        (json!({"filters": {}}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "x", "colour": 1}), "colour"),
    ] {
        let r = c.post("/api/segments", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body["field"], field, "{body}: {}", r.text);
        assert!(r.body["error"].is_string());
    }
    let r = c
        .request(reqwest::Method::POST, "/api/segments")
        .body("{nope")
        .header("content-type", "application/json");
    assert_eq!(Client::send(r).code(), "invalid_json");
    assert_eq!(
        c.get("/api/segments").body["segments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Update: rename, refilter; the count follows.
    let other = create_segment(&c, "Everyone", json!({}));
    assert_eq!(other["contactCount"], 2);
    let r = c.put(&format!("/api/segments/{id}"), &json!({"name": "Top"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Top");
    assert_eq!(r.body["filters"]["tags"], json!(["vip"]));
    let r = c.put(
        &format!("/api/segments/{id}"),
        &json!({"filters": {"tags": ["vip"]}}),
    );
    assert_eq!(r.body["contactCount"], 2);
    assert_eq!(r.body["name"], "Top");
    let r = c.put(&format!("/api/segments/{id}"), &json!({"name": "everyone"}));
    assert_eq!(r.status, 409);
    let r = c.put(&format!("/api/segments/{id}"), &json!({}));
    assert_eq!(r.status, 400);
    let r = c.put(
        &format!("/api/segments/{id}"),
        &json!({"filters": {"nope": 1}}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(c.get(&format!("/api/segments/{id}")).body["name"], "Top");

    let list = c.get("/api/segments");
    let names: Vec<&str> = list.body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Everyone", "Top"]);
    assert_eq!(list.body["segments"][1]["contactCount"], 2);

    // Delete.
    let r = c.delete(&format!("/api/segments/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"id": id, "deleted": true}));
    assert_eq!(c.get(&format!("/api/segments/{id}")).status, 404);
    assert_eq!(c.delete(&format!("/api/segments/{id}")).status, 404);
    let r = c.get(&format!("/api/contacts?segmentId={id}"));
    assert_eq!((r.status, r.code()), (404, "not_found"));
    assert_eq!(c.get("/api/contacts?segmentId=not-a-uuid").status, 404);
    assert_eq!(c.get("/api/segments/not-a-uuid").status, 404);

    // A read key reads but does not write.
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(reader.get("/api/segments").status, 200);
    let r = reader.post("/api/segments", &json!({"name": "r"}));
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let oid = other["id"].as_str().unwrap();
    assert_eq!(
        reader
            .put(&format!("/api/segments/{oid}"), &json!({"name": "r"}))
            .status,
        403
    );
    assert_eq!(reader.delete(&format!("/api/segments/{oid}")).status, 403);
    assert_eq!(server.anonymous().get("/api/segments").status, 401);
}

#[test]
fn segments_are_private_to_their_organization() {
    let server = Server::start_without_lookups();
    let a = server.client("acme");
    let b = server.client("globex");
    a.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    b.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    let seg = create_segment(&a, "VIPs", json!({"tags": ["vip"]}));
    let id = seg["id"].as_str().unwrap();

    assert_eq!(b.get(&format!("/api/segments/{id}")).status, 404);
    assert_eq!(
        b.put(&format!("/api/segments/{id}"), &json!({"name": "mine"}))
            .status,
        404
    );
    assert_eq!(b.delete(&format!("/api/segments/{id}")).status, 404);
    let r = b.get(&format!("/api/contacts?segmentId={id}"));
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = b.post(
        "/api/contacts/bulk",
        &json!({"action": "delete", "segmentId": id}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(b.get("/api/segments").body["segments"], json!([]));
    // Claiming the other organization with B's key is refused outright.
    let a_org_id = a.create(&json!({"phone": "9195550009"}))["organizationId"].clone();
    let r = Client::send(
        b.request(reqwest::Method::GET, &format!("/api/segments/{id}"))
            .header("x-organization-id", a_org_id.as_str().unwrap()),
    );
    assert_eq!((r.status, r.code()), (403, "forbidden"));

    // The same name is free in another organization, and each segment
    // counts only its own organization's contacts.
    let theirs = create_segment(&b, "VIPs", json!({"tags": ["vip"]}));
    assert_eq!(theirs["contactCount"], 1);
    let mine = a.get(&format!("/api/segments/{id}"));
    assert_eq!(mine.body["name"], "VIPs");
    assert_eq!(mine.body["contactCount"], 1);
    assert_eq!(all_ids(&a, &format!("segmentId={id}")).len(), 1);
}
