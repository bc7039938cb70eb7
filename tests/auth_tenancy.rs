//! Keys, access levels, x-organization-id, and isolation between
//! organizations on every contact endpoint.

mod common;

use common::{Client, Server, roster_cli};
use serde_json::{Value, json};

#[test]
fn missing_unknown_and_revoked_keys_are_401() {
    let server = Server::start();
    let r = server.anonymous().get("/api/contacts");
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthorized");
    assert_eq!(
        r.headers["www-authenticate"], "Bearer",
        "RFC 6750's challenge"
    );
    let bogus = server.client_with_key("rst_not-a-real-key");
    assert_eq!(bogus.get("/api/contacts").status, 401);

    let key = server.create_key("acme", "write");
    let api = server.client_with_key(&key);
    assert_eq!(api.get("/api/contacts").status, 200);
    let listing = roster_cli(&["keys", "list"], &server.data_dir);
    assert!(!listing.contains(&key), "keys list never shows a key");
    let id = listing
        .lines()
        .find(|l| l.contains("acme"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    roster_cli(&["keys", "revoke", &id], &server.data_dir);
    assert_eq!(
        api.get("/api/contacts").status,
        401,
        "revocation takes effect on a running server"
    );
    assert!(roster_cli(&["keys", "list"], &server.data_dir).contains("revoked"));
}

#[test]
fn keys_are_stored_only_as_hashes() {
    let server = Server::start();
    let key = server.create_key("acme", "read");
    let db = std::fs::read(server.data_dir.join("roster.db")).unwrap();
    let wal = std::fs::read(server.data_dir.join("roster.db-wal")).unwrap_or_default();
    let needle = key.as_bytes();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "plaintext key found on disk"
        );
    }
}

#[test]
fn read_keys_read_and_cannot_write() {
    let server = Server::start();
    let writer = server.client("acme");
    let c = writer.create(&json!({"phone": "9195550301"}));
    let id = c["id"].as_str().unwrap();
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(reader.get("/api/contacts").status, 200);
    assert_eq!(reader.get(&format!("/api/contacts/{id}")).status, 200);
    for r in [
        reader.post("/api/contacts", &json!({"phone": "9195550302"})),
        reader.put(&format!("/api/contacts/{id}"), &json!({"firstName": "X"})),
        reader.delete(&format!("/api/contacts/{id}")),
        reader.post_empty(&format!("/api/contacts/{id}/opt-out")),
        reader.post_empty(&format!("/api/contacts/{id}/opt-in")),
    ] {
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.code(), "forbidden");
    }
    assert_eq!(
        writer.get("/api/contacts?includeTotal=true").body["total"],
        1
    );
}

#[test]
fn x_organization_id_must_name_the_keys_organization() {
    let server = Server::start();
    let api = server.client("acme");
    let c = api.create(&json!({"phone": "9195550303"}));
    let org_id = c["organizationId"].as_str().unwrap().to_string();
    let with = |value: &str| {
        Client::send(
            api.request(reqwest::Method::GET, "/api/contacts")
                .header("x-organization-id", value),
        )
    };
    assert_eq!(with(&org_id).status, 200);
    assert_eq!(with(&org_id.to_uppercase()).status, 200);
    let other = server
        .client("globex")
        .create(&json!({"phone": "9195550304"}));
    let r = with(other["organizationId"].as_str().unwrap());
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "forbidden");
    assert_eq!(with("garbage").status, 403);
}

#[test]
fn organizations_never_see_or_touch_each_other() {
    let server = Server::start();
    let acme = server.client("acme");
    let globex = server.client("globex");
    let a = acme.create(&json!({"phone": "9195550305", "email": "same@example.com", "tags": ["shared"], "state": "NC"}));
    // The same phone and email in another organization is another contact.
    let g = globex.post("/api/contacts", &json!({"phone": "9195550305", "email": "same@example.com", "tags": ["shared"], "state": "NC"}));
    assert_eq!(g.status, 201, "no cross-organization merge");
    assert_ne!(g.body["id"], a["id"]);
    let a_id = a["id"].as_str().unwrap();

    let r = globex.get(&format!("/api/contacts/{a_id}"));
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found");
    assert_eq!(
        globex
            .put(
                &format!("/api/contacts/{a_id}"),
                &json!({"firstName": "Hacked"})
            )
            .status,
        404
    );
    assert_eq!(
        globex
            .post_empty(&format!("/api/contacts/{a_id}/opt-out"))
            .status,
        404
    );
    assert_eq!(globex.delete(&format!("/api/contacts/{a_id}")).status, 404);

    for query in [
        "",
        "tags=shared",
        "state=NC",
        "hasPhone=true",
        "offset=0&includeTotal=true",
    ] {
        let page = globex.get(&format!(
            "/api/contacts?limit=200&includeTotal=true&{query}"
        ));
        let list: Vec<&Value> = page.body["contacts"].as_array().unwrap().iter().collect();
        assert_eq!(list.len(), 1, "{query}");
        assert_eq!(list[0]["id"], g.body["id"], "{query}");
        assert_eq!(page.body["total"], 1, "{query}");
    }
    let untouched = acme.get(&format!("/api/contacts/{a_id}")).body;
    assert_eq!(untouched["firstName"], Value::Null);
    assert_eq!(untouched["isOptedIn"], true);
}

#[test]
fn another_organizations_cursor_reveals_nothing() {
    let server = Server::start();
    let acme = server.client("acme");
    let globex = server.client("globex");
    for i in 0..3 {
        acme.create(&json!({"phone": format!("91955504{i:02}")}));
    }
    let page = acme.get("/api/contacts?limit=1");
    let cursor = page.body["cursor"].as_str().unwrap();
    let encoded: String = cursor
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let own = globex.create(&json!({"phone": "9195550499"}));
    // A cursor is only a position: another organization's cursor pages the
    // caller's own contacts and says nothing about whose id it holds.
    let r = globex.get(&format!("/api/contacts?cursor={encoded}&limit=200"));
    assert_eq!(r.status, 200, "{}", r.text);
    let random = globex.get(
        "/api/contacts?limit=200&cursor=%7B%22updated_at%22%3A%222999-01-01T00%3A00%3A00.000Z%22%2C%22id%22%3A%2201a21f74-9d9e-7055-be77-6343dd41d0cd%22%7D",
    );
    assert_eq!(random.status, 200);
    for page in [&r.body, &random.body] {
        for c in page["contacts"].as_array().unwrap() {
            assert_eq!(
                c["organizationId"], own["organizationId"],
                "only the caller's contacts"
            );
        }
    }
}

#[test]
fn serve_bootstraps_a_default_key_once() {
    let server = Server::start();
    let key = server
        .bootstrap_key
        .clone()
        .expect("first start prints a key");
    let api = server.client_with_key(&key);
    let c = api.create(&json!({"phone": "9195550399"}));
    assert!(c["organizationId"].is_string());
    let orgs = roster_cli(&["orgs", "list"], &server.data_dir);
    assert!(orgs.contains("default"), "{orgs}");
    let dir = server.data_dir.clone();
    let tmp_owner = server;
    drop_keep_dir(tmp_owner, &dir);
}

/// Restarting on the same directory prints no new key.
fn drop_keep_dir(mut server: Server, dir: &std::path::Path) {
    server.kill9();
    let again = Server::start_in(dir, &[], &[]);
    assert!(
        again.bootstrap_key.is_none(),
        "a key is printed only on first start"
    );
}
