//! The two endpoints the admin UI added to the API: the import preview and
//! the single-use export download link.

mod common;

use std::time::Duration;

use common::{Client, Server};
use reqwest::Method;
use serde_json::json;

fn preview_csv(c: &Client, body: impl Into<Vec<u8>>, query: &str) -> common::Resp {
    Client::send(
        c.request(Method::POST, &format!("/api/imports/preview{query}"))
            .header("content-type", "text/csv")
            .body(body.into()),
    )
}

#[test]
fn the_preview_shows_delimiter_encoding_header_mapping_and_five_rows() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let mut csv = String::from("Given Name;Mob. No;E-mail;Chapter;id\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "Ana {i};919-555-01{i:02};ana{i}@example.org;North;x\n"
        ));
    }
    let r = c.post_multipart("/api/imports/preview", csv.as_bytes(), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["delimiter"], ";");
    assert_eq!(r.body["encoding"], "UTF-8");
    assert_eq!(r.body["bom"], false);
    assert_eq!(
        r.body["headers"],
        json!(["Given Name", "Mob. No", "E-mail", "Chapter", "id"])
    );
    assert_eq!(
        r.body["mapping"],
        json!([
            "firstName",
            "customFields.Mob. No",
            "email",
            "customFields.Chapter",
            null
        ]),
        "the importer's own synonym rules"
    );
    let rows = r.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0],
        json!(["Ana 0", "919-555-0100", "ana0@example.org", "North", "x"])
    );

    // Nothing was written.
    assert_eq!(c.get("/api/contacts?includeTotal=true").body["total"], 0);
    assert_eq!(c.get("/api/imports").body["imports"], json!([]));
}

#[test]
fn the_preview_reads_windows_1252_a_bom_and_a_given_delimiter() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let r = preview_csv(&c, b"first\tlast\nRen\xe9e\tO'Brien\n".to_vec(), "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["encoding"], "Windows-1252");
    assert_eq!(r.body["delimiter"], "tab");
    assert_eq!(r.body["rows"][0][0], "Renée");

    let r = preview_csv(
        &c,
        b"\xEF\xBB\xBFphone|email\n9195550100|a@b.org\n".to_vec(),
        "",
    );
    assert_eq!(r.body["bom"], true);
    assert_eq!(r.body["delimiter"], "|");
    assert_eq!(r.body["headers"], json!(["phone", "email"]));

    let r = preview_csv(&c, "a,b;c\n1,2;3\n", "?delimiter=%3B");
    assert_eq!(r.body["headers"], json!(["a,b", "c"]), "{}", r.text);
}

#[test]
fn the_preview_is_limited_authorized_and_checks_its_input() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let big = "email\n".to_string() + &"someone@example.org\n".repeat(60_000);
    assert!(big.len() > 1024 * 1024);
    let r = preview_csv(&c, big, "");
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "payload_too_large");

    assert_eq!(preview_csv(&c, "", "").status, 400);
    assert_eq!(
        preview_csv(&c, "a\n1\n", "?delimiter=toolong").code(),
        "validation_error"
    );
    let r = Client::send(
        c.request(Method::POST, "/api/imports/preview")
            .header("content-type", "application/json")
            .body("{}"),
    );
    assert_eq!(r.status, 415);

    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(preview_csv(&reader, "phone\n", "").status, 403);
    assert_eq!(preview_csv(&server.anonymous(), "phone\n", "").status, 401);
}

fn seed(c: &Client) {
    for (phone, tags) in [
        ("9195550101", json!(["vip"])),
        ("9195550102", json!(["vip", "donor"])),
        ("9195550103", json!(["donor"])),
    ] {
        c.create(&json!({"phone": phone, "tags": tags}));
    }
}

fn phones(csv: &str) -> Vec<String> {
    let mut out: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn an_export_link_works_once_without_a_key_and_exports_the_filter() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    seed(&c);
    let r = Client::send(c.request(Method::POST, "/api/contacts/export/link?tags=vip"));
    assert_eq!(r.status, 200, "{}", r.text);
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/api/contacts/export/download/"));
    assert!(!url.contains("rst_"), "the link carries no API key");
    assert!(r.body["expiresAt"].as_str().unwrap().ends_with('Z'));

    let anonymous = server.anonymous();
    let file = anonymous.get(&url);
    assert_eq!(file.status, 200);
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"contacts-"),
    );
    assert_eq!(file.headers["cache-control"], "no-store");
    assert_eq!(phones(&file.text), ["+19195550101", "+19195550102"]);
    assert_eq!(file.text, c.get("/api/contacts/export?tags=vip").text);

    let again = anonymous.get(&url);
    assert_eq!(again.status, 404, "a link works once");
    assert_eq!(again.code(), "not_found");
    assert_eq!(
        anonymous
            .get("/api/contacts/export/download/0123abcd")
            .status,
        404
    );

    let r = Client::send(c.request(Method::POST, "/api/contacts/export/link?format=ndjson"));
    let lines = anonymous.get(r.body["url"].as_str().unwrap()).text;
    assert_eq!(lines.lines().count(), 3);

    let bad = Client::send(c.request(Method::POST, "/api/contacts/export/link?format=xml"));
    assert_eq!(bad.status, 400);
    let bad = Client::send(c.request(Method::POST, "/api/contacts/export/link?isTextable=maybe"));
    assert_eq!(bad.status, 400);
    assert_eq!(
        Client::send(anonymous.request(Method::POST, "/api/contacts/export/link")).status,
        401
    );
}

#[test]
fn an_export_link_expires() {
    let server = Server::start_with(
        &["--lookup-provider", "none", "--export-link-ttl-secs", "1"],
        &[],
    );
    let c = server.client("acme");
    seed(&c);
    let r = Client::send(c.request(Method::POST, "/api/contacts/export/link"));
    let url = r.body["url"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.anonymous().get(&url).status, 404);
}

#[test]
fn an_export_link_is_bound_to_its_organization() {
    let server = Server::start_without_lookups();
    let acme = server.client("acme");
    let other = server.client("other");
    seed(&acme);
    other.create(&json!({"phone": "3365550199", "tags": ["vip"]}));
    let segment = acme
        .post(
            "/api/segments",
            &json!({"name": "VIPs", "filters": {"tags": ["vip"]}}),
        )
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another organization cannot name this one's segment.
    let r = Client::send(other.request(
        Method::POST,
        &format!("/api/contacts/export/link?segmentId={segment}"),
    ));
    assert_eq!(r.status, 404);

    // Each link exports its own organization's contacts only, whoever uses it.
    let r = Client::send(other.request(Method::POST, "/api/contacts/export/link?tags=vip"));
    let theirs = acme.get(r.body["url"].as_str().unwrap()).text;
    assert_eq!(phones(&theirs), ["+13365550199"]);
    let r = Client::send(acme.request(
        Method::POST,
        &format!("/api/contacts/export/link?segmentId={segment}"),
    ));
    let ours = other.get(r.body["url"].as_str().unwrap()).text;
    assert_eq!(phones(&ours), ["+19195550101", "+19195550102"]);

    // A read key may export, as it may read.
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    let r = Client::send(reader.request(Method::POST, "/api/contacts/export/link"));
    assert_eq!(r.status, 200);
}

#[test]
fn a_head_does_not_spend_a_link_and_revoking_the_key_voids_it() {
    let server = Server::start_without_lookups();
    let key = server.create_key("acme", "write");
    let c = server.client_with_key(&key);
    seed(&c);
    let url = |c: &Client| {
        Client::send(c.request(Method::POST, "/api/contacts/export/link")).body["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = url(&c);
    let anonymous = server.anonymous();
    let head = Client::send(anonymous.request(Method::HEAD, &first));
    assert_eq!(head.status, 200);
    assert_eq!(
        anonymous.get(&first).status,
        200,
        "the HEAD left the link unspent"
    );

    let second = url(&c);
    let list = common::roster_cli(&["keys", "list"], &server.data_dir);
    let key_id = list
        .lines()
        .filter(|l| l.contains("acme"))
        .find_map(|l| l.split_whitespace().find(|w| w.len() == 36))
        .unwrap()
        .to_string();
    common::roster_cli(&["keys", "revoke", &key_id], &server.data_dir);
    assert_eq!(
        anonymous.get(&second).status,
        404,
        "a revoked key's links stop working"
    );
}

#[test]
fn an_organization_holds_a_bounded_number_of_unused_links() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let other = server.client("other");
    for _ in 0..100 {
        let r = Client::send(c.request(Method::POST, "/api/contacts/export/link"));
        assert_eq!(r.status, 200);
    }
    let r = Client::send(c.request(Method::POST, "/api/contacts/export/link"));
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "rate_limited");
    let r = Client::send(other.request(Method::POST, "/api/contacts/export/link"));
    assert_eq!(r.status, 200, "another organization is not held up");
}

#[test]
fn a_multipart_preview_over_the_limit_is_413() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let big = "email\n".to_string() + &"someone@example.org\n".repeat(60_000);
    let r = c.post_multipart("/api/imports/preview", big.as_bytes(), None);
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code(), "payload_too_large");
}
