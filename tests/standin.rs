//! Roster as a stand-in: a known key at start, generated data, a throwaway
//! data directory, and deleting an organization.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{BIN, Client, Server, roster_cli, wait_for};
use serde_json::{Value, json};

const KEY: &str = "rst_test_0123456789abcdefghij";
const OTHER_KEY: &str = "rst_test_zyxwvutsrqponmlkjihg";

#[test]
fn a_bootstrap_key_is_made_for_its_organization_and_follows_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--bootstrap-key", KEY, "--bootstrap-org", "Test Suite"];
    let mut server = Server::start_in(&data, &args, &[]);
    assert!(
        server.bootstrap_key.is_none(),
        "no random key is made besides"
    );
    let api = server.client_with_key(KEY);
    let me = api.get("/api/me");
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["organization"]["name"], "Test Suite");
    assert_eq!(me.body["access"], "write");
    let id = api.create(&json!({"phone": "9195550100"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db = std::fs::read(data.join("roster.db")).unwrap();
    assert!(
        !db.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "the key is stored hashed"
    );
    server.terminate();

    // The same key again: nothing changes.
    let mut server = Server::start_in(&data, &args, &[]);
    let api = server.client_with_key(KEY);
    assert_eq!(api.get(&format!("/api/contacts/{id}")).status, 200);
    let keys = roster_cli(&["keys", "list"], &data);
    assert_eq!(
        keys.lines().filter(|l| l.contains("active")).count(),
        1,
        "{keys}"
    );
    server.terminate();

    // A changed key (from the environment): the new one works, the old one
    // no longer does.
    let server = Server::start_in(
        &data,
        &[],
        &[
            ("ROSTER_BOOTSTRAP_KEY", OTHER_KEY),
            ("ROSTER_BOOTSTRAP_ORG", "Test Suite"),
        ],
    );
    assert_eq!(
        server
            .client_with_key(OTHER_KEY)
            .get(&format!("/api/contacts/{id}"))
            .status,
        200
    );
    assert_eq!(server.client_with_key(KEY).get("/api/me").status, 401);
}

fn serve_fails(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should be refused");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_short_or_malformed_bootstrap_key_is_refused_plainly() {
    let err = serve_fails(&["--bootstrap-key", "short"]);
    assert!(err.contains("24 to 200 characters"), "{err}");
    let err = serve_fails(&["--bootstrap-key", "has a space in it, which keys cannot"]);
    assert!(err.contains("printable ASCII"), "{err}");
}

#[test]
fn a_bootstrap_key_of_another_organization_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(
        &data,
        &["--bootstrap-key", KEY, "--bootstrap-org", "a"],
        &[],
    );
    server.terminate();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--bootstrap-key",
            KEY,
            "--bootstrap-org",
            "b",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another organization"), "{err}");
}

/// Names, phones and emails of every contact of an organization.
fn people(api: &Client) -> BTreeSet<String> {
    api.all_contacts("")
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {} {}",
                c["firstName"], c["lastName"], c["phone"], c["email"], c["state"], c["zip"]
            )
        })
        .collect()
}

#[test]
fn seeded_contacts_are_realistic_and_the_same_for_the_same_seed() {
    let server = Server::start_without_lookups();
    let seed = |org: &str, seed: &str| {
        roster_cli(
            &["seed", "--org", org, "--count", "400", "--seed", seed],
            &server.data_dir,
        )
    };
    let said = seed("one", "7");
    assert!(said.contains("Created organization 'one'"), "{said}");
    assert!(said.contains("400 contacts"), "{said}");
    seed("two", "7");
    seed("three", "8");
    let one = server.client("one");
    let two = server.client("two");
    let three = server.client("three");
    let a = people(&one);
    assert_eq!(a.len(), 400);
    assert_eq!(a, people(&two), "the same seed gives the same contacts");
    assert_ne!(a, people(&three), "another seed gives others");

    let contacts = one.all_contacts("");
    let area_codes: BTreeSet<&str> = contacts
        .iter()
        .filter_map(|c| c["phone"].as_str())
        .map(|p| &p[2..5])
        .collect();
    assert!(
        area_codes.len() > 50,
        "phones across area codes: {}",
        area_codes.len()
    );
    assert!(
        contacts
            .iter()
            .any(|c| c["firstName"].as_str().is_some_and(|n| !n.is_ascii())
                || c["lastName"].as_str().is_some_and(|n| !n.is_ascii())),
        "names with accents"
    );
    let with_email = contacts.iter().filter(|c| c["email"].is_string()).count();
    assert!(
        (300..400).contains(&with_email),
        "most have an email: {with_email}"
    );
    assert!(
        contacts
            .iter()
            .all(|c| c["customFields"].as_object().is_some_and(|m| m.len() >= 2))
    );
    let nc: Vec<&Value> = contacts.iter().filter(|c| c["state"] == "NC").collect();
    assert!(!nc.is_empty());
    assert!(
        nc.iter()
            .all(|c| c["zip"].as_str().unwrap().starts_with("27")
                || c["zip"].as_str().unwrap().starts_with("28")),
        "ZIPs match their state"
    );
    let tags = one.get("/api/tags").body;
    let counts: Vec<i64> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_i64().unwrap())
        .collect();
    assert!(
        counts.len() > 5 && counts[0] > 4 * counts[counts.len() - 1],
        "skewed tags: {counts:?}"
    );
}

/// Starts `roster serve --ephemeral ...`; returns the child, its base URL
/// and the data directory it printed.
fn ephemeral(args: &[&str]) -> (std::process::Child, String, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--ephemeral", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut dir = String::new();
    let mut base = String::new();
    let mut ui = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Ephemeral data directory ") {
            dir = rest.split(" (").next().unwrap().to_string();
        }
        if let Some(rest) = line.strip_prefix("Admin UI: ") {
            ui = rest.to_string();
        }
        if let Some(addr) = line.strip_prefix("roster listening on ") {
            base = addr.to_string();
            break;
        }
    }
    assert_eq!(ui, format!("{base}/"), "the UI URL is printed");
    (child, base, dir)
}

fn signal(child: &std::process::Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn an_ephemeral_seeded_server_leaves_nothing_behind_after_sigterm() {
    let (mut child, base, dir) = ephemeral(&["--bootstrap-key", KEY, "--seed-count", "250"]);
    assert!(
        std::path::Path::new(&dir).join("roster.db").exists(),
        "{dir}"
    );
    let api = Client::new(&base, Some(KEY.to_string()));
    let total = api.get("/api/contacts?includeTotal=true&limit=1");
    assert_eq!(total.body["total"], 250, "{}", total.text);
    api.create(&json!({"phone": "9195550142"}));
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!std::path::Path::new(&dir).exists(), "{dir} is removed");
}

#[test]
fn an_ephemeral_server_prints_its_key_and_is_removed_on_ctrl_c() {
    let mut child = Command::new(BIN)
        .args(["serve", "--ephemeral", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut key = String::new();
    let mut dir = String::new();
    let mut base = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let t = line.trim();
        if t.starts_with("rst_") {
            key = t.to_string();
        }
        if let Some(rest) = t.strip_prefix("Ephemeral data directory ") {
            dir = rest.split(" (").next().unwrap().to_string();
        }
        if let Some(addr) = t.strip_prefix("roster listening on ") {
            base = addr.to_string();
            break;
        }
    }
    assert!(!key.is_empty(), "the key is printed");
    assert_eq!(Client::new(&base, Some(key)).get("/api/me").status, 200);
    signal(&child, "-INT");
    child.wait().unwrap();
    wait_for(10, "the directory to go", || {
        (!std::path::Path::new(&dir).exists()).then_some(())
    });
}

/// Documents of `org` in the server's search index, read from its files.
fn indexed(data: &std::path::Path) -> Vec<i64> {
    let index = tantivy::Index::open_in_dir(data.join("index")).unwrap();
    let reader = index.reader().unwrap();
    let searcher = reader.searcher();
    let mut orgs = Vec::new();
    for seg in searcher.segment_readers() {
        let col = seg.fast_fields().i64("org").unwrap();
        for doc in seg.doc_ids_alive() {
            orgs.push(col.first(doc).unwrap());
        }
    }
    orgs
}

#[test]
fn deleting_an_organization_removes_all_it_owns_and_nothing_else() {
    let server = Server::start_without_lookups();
    let doomed = server.client("doomed");
    let kept = server.client("kept");
    for i in 0..20 {
        let c = doomed.create(
            &json!({"phone": format!("91955501{i:02}"), "firstName": "Doomed", "tags": ["gone"]}),
        );
        doomed.post(
            &format!("/api/contacts/{}/notes", c["id"].as_str().unwrap()),
            &json!({"body": "note"}),
        );
        kept.create(
            &json!({"phone": format!("91955501{i:02}"), "firstName": "Kept", "tags": ["stays"]}),
        );
    }
    doomed.post("/api/segments", &json!({"name": "all", "filters": {}}));
    kept.post("/api/segments", &json!({"name": "all", "filters": {}}));
    wait_for(20, "everything indexed", || {
        (indexed(&server.data_dir).len() == 40).then_some(())
    });

    let dry = roster_cli(&["orgs", "delete", "--org", "doomed"], &server.data_dir);
    assert!(dry.contains("Would delete organization 'doomed'"), "{dry}");
    assert!(
        dry.contains("20 contacts") && dry.contains("20 notes") && dry.contains("1 segments"),
        "{dry}"
    );
    assert_eq!(
        doomed.get("/api/me").status,
        200,
        "a dry run changes nothing"
    );

    let done = roster_cli(
        &["orgs", "delete", "--org", "doomed", "--yes"],
        &server.data_dir,
    );
    assert!(done.contains("Deleted organization 'doomed'"), "{done}");
    assert_eq!(doomed.get("/api/me").status, 401, "its keys are gone");
    assert!(!roster_cli(&["orgs", "list"], &server.data_dir).contains("doomed"));
    for table in [
        "contacts",
        "notes",
        "timeline_events",
        "segments",
        "contact_tags",
        "tag_counts",
        "lookup_jobs",
        "api_keys",
    ] {
        let left = server.sql_count(&format!(
            "SELECT count(*) FROM {table} WHERE org NOT IN (SELECT org FROM organizations)"
        ));
        assert_eq!(left, 0, "{table} keeps nothing of the deleted organization");
    }
    wait_for(20, "its documents to leave the index", || {
        let orgs = indexed(&server.data_dir);
        (orgs.len() == 20).then_some(())
    });
    // The other organization is untouched, search included.
    assert_eq!(
        kept.get("/api/contacts?includeTotal=true&limit=1").body["total"],
        20
    );
    assert_eq!(
        kept.get("/api/contacts?search=Kept&limit=100").body["contacts"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(
        kept.get("/api/tags").body["tags"],
        json!([{"tag": "stays", "count": 20}])
    );
    assert_eq!(
        kept.get("/api/segments").body["segments"][0]["contactCount"],
        20
    );
}
