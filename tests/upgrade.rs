//! Upgrades: today's server started on a data directory made by each
//! earlier schema version (`tests/fixtures/schema-vN`, made by
//! `tests/fixtures/make.sh` from the commit named in its `MADE_BY`) keeps
//! everything, finds it by search, writes a copy of the old database
//! first, and passes `roster check` afterwards.

mod common;

use std::path::{Path, PathBuf};

use common::{Client, Server, roster_cli, wait_for};
use serde_json::{Value, json};

fn fixture(version: i64) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("schema-v{version}"))
}

/// Copies a fixture into a fresh data directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn by_last_name(contacts: &[Value], last: &str) -> Value {
    contacts
        .iter()
        .find(|c| c["lastName"] == last)
        .unwrap_or_else(|| panic!("no {last} among {contacts:?}"))
        .clone()
}

fn search(c: &Client, q: &str) -> Vec<String> {
    let r = c.get(&format!("/api/contacts?search={}", common::urlencode(q)));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lastName"].as_str().unwrap_or("").to_string())
        .collect()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn every_earlier_schema_version_has_a_fixture() {
    for version in 1..roster::db::SCHEMA_VERSION {
        assert!(
            fixture(version).join("roster.db").is_file(),
            "no upgrade fixture for schema version {version}: make one with \
             tests/fixtures/make.sh COMMIT schema-v{version}"
        );
    }
}

fn upgrades_from(version: i64) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture(version), &data);
    let mut server = Server::start_in(&data, &[], &[]);
    assert!(
        server.bootstrap_key.is_none(),
        "the fixture's organization and key were kept"
    );

    // A copy of the old database beside it, from before the migration.
    let copies: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("roster.db.before-migration-v{version}-")))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let old = rusqlite::Connection::open(data.join(&copies[0])).unwrap();
    let old_version: i64 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(old_version, version);

    let c = server.client("default");
    let contacts = c.all_contacts("");
    assert_eq!(contacts.len(), 7, "four created and three imported");
    let mut copied: Vec<String> = old
        .prepare("SELECT id FROM contacts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut listed: Vec<String> = contacts
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    copied.sort();
    listed.sort();
    assert_eq!(copied, listed, "the copy holds the contacts as they were");

    let ada = by_last_name(&contacts, "Lovelace");
    assert_eq!(sorted(&ada["tags"]), ["donor", "volunteer"]);
    assert_eq!(ada["customFields"], json!({"shirt": "M"}));
    assert_eq!(ada["state"], "NC");
    assert_eq!(ada["phone"], "+14155550101");
    assert_eq!(ada["lookupStatus"], "done", "the lookup's answer was kept");
    assert!(ada["isTextable"].is_boolean(), "{ada}");
    let id = ada["id"].as_str().unwrap();
    let notes = c.get(&format!("/api/contacts/{id}/notes"));
    assert_eq!(notes.status, 200, "{}", notes.text);
    assert_eq!(notes.body["notes"][0]["body"], "Prefers evening calls");
    let timeline = c.get(&format!("/api/contacts/{id}/timeline"));
    let types: Vec<&str> = timeline.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"note_added"), "{types:?}");
    assert_eq!(types.last(), Some(&"created"), "{types:?}");
    let lookup = c.get(&format!("/api/contacts/{id}/lookup"));
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert_eq!(lookup.body["phone"], "+14155550101");
    assert_eq!(lookup.body["status"], "done");

    let hedy = by_last_name(&contacts, "Lamarr");
    assert_eq!(hedy["isOptedIn"], false);
    assert!(hedy["optedOutAt"].is_string());
    let opted_out = c.all_contacts("optedOut=true");
    assert_eq!(opted_out.len(), 1);

    let dorothy = by_last_name(&contacts, "Vaughan");
    assert_eq!(sorted(&dorothy["tags"]), ["imported", "member"]);

    // Tags with their counts, the segment and the import.
    let tags = c.get("/api/tags").body["tags"].clone();
    let count = |tag: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == tag)
            .map(|t| t["count"].as_i64().unwrap())
    };
    assert_eq!(count("volunteer"), Some(2));
    assert_eq!(count("donor"), Some(2));
    assert_eq!(count("member"), Some(3));
    assert_eq!(count("imported"), Some(3));
    let segments = c.get("/api/segments").body["segments"].clone();
    let segment = &segments[0];
    assert_eq!(segment["name"], "NC volunteers");
    assert_eq!(segment["contactCount"], 1);
    let in_segment = c.all_contacts(&format!("segmentId={}", segment["id"].as_str().unwrap()));
    assert_eq!(in_segment.len(), 1);
    assert_eq!(in_segment[0]["lastName"], "Lovelace");
    let imports = c.get("/api/imports").body.clone();
    let import = &imports["imports"][0];
    assert_eq!(import["status"], "completed", "{imports}");
    assert_eq!(import["created"], 3, "{imports}");

    // Searchable: a typo, a prefix, a phone, an email, an imported name.
    assert_eq!(search(&c, "lovlace"), ["Lovelace"]);
    assert!(search(&c, "hop").contains(&"Hopper".to_string()));
    assert_eq!(search(&c, "415-555-0105"), ["Vaughan"]);
    assert_eq!(search(&c, "katherine@example.com"), ["Johnson"]);
    assert_eq!(search(&c, "Easley"), ["Easley"]);

    // And it goes on working: a new contact is stored and found.
    let r = c.post(
        "/api/contacts",
        &json!({"firstName": "Joan", "lastName": "Clarke", "email": "joan@example.com"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_for(30, "the new contact to be searchable", || {
        (search(&c, "clarke") == ["Clarke"]).then_some(())
    });

    server.terminate();
    let report = roster_cli(&["check"], &data);
    assert!(report.contains("No problems found."), "{report}");
}

#[test]
fn upgrades_from_schema_1() {
    upgrades_from(1);
}

#[test]
fn upgrades_from_schema_2() {
    upgrades_from(2);
}

#[test]
fn upgrades_from_schema_3() {
    upgrades_from(3);
}

#[test]
fn upgrades_from_schema_4() {
    upgrades_from(4);
}

#[test]
fn upgrades_from_schema_5() {
    upgrades_from(5);
}

#[test]
fn upgrades_from_schema_6() {
    upgrades_from(6);
}
