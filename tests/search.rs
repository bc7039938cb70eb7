//! Search through the list endpoint: fuzzy semantics, filters and paging,
//! consistency with writes, tenancy, crash recovery and rebuild.

mod common;

use std::collections::HashSet;

use common::{Client, Server, roster_cli, wait_for};
use serde_json::{Value, json};

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The ids a search returns (first page of 200), or None while search is
/// not yet available.
fn try_search(c: &Client, q: &str, extra: &str) -> Option<Vec<String>> {
    let r = c.get(&format!("/api/contacts?limit=200&search={}{extra}", enc(q)));
    if r.status == 503 {
        return None;
    }
    assert_eq!(r.status, 200, "search {q:?}: {}", r.text);
    Some(
        r.body["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect(),
    )
}

/// Waits until searching `q` returns exactly `want` (as a set).
fn expect_search(c: &Client, q: &str, want: &[&str]) {
    let want: HashSet<String> = want.iter().map(|s| s.to_string()).collect();
    let mut last = HashSet::new();
    let ok = (0..250).any(|_| {
        if let Some(ids) = try_search(c, q, "") {
            last = ids.into_iter().collect();
            if last == want {
                return true;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        false
    });
    assert!(ok, "search {q:?}: wanted {want:?}, got {last:?}");
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn fuzzy_prefix_and_accent_matching() {
    let s = Server::start();
    let c = s.client("acme");
    let maria = id(&c
        .create(&json!({"firstName": "Maria", "lastName": "Gonzalez", "email": "mg@example.com"})));
    let smith = id(&c
        .create(&json!({"firstName": "Jonathan", "lastName": "Smith", "email": "js@example.com"})));
    let maria_s = id(&c
        .create(&json!({"firstName": "Maria", "lastName": "Smithers", "email": "ms@example.com"})));
    let jose =
        id(&c
            .create(&json!({"firstName": "José", "lastName": "Núñez", "email": "jn@example.com"})));

    // Transposition (one edit for a 5-letter term).
    expect_search(&c, "Mraia", &[&maria, &maria_s]);
    // Substitution.
    expect_search(&c, "Gonzales", &[&maria]);
    expect_search(&c, "smoth", &[&smith, &maria_s]);
    // Deletion.
    expect_search(&c, "Jonthan", &[&smith]);
    // Prefix, including a short term (prefix only).
    expect_search(&c, "Jonat", &[&smith]);
    expect_search(&c, "gonz", &[&maria]);
    // Three letters are fuzzy too: "gon" is one edit from "jon".
    expect_search(&c, "gon", &[&maria, &smith]);
    expect_search(&c, "Nu", &[&jose]);
    // Two terms: both must match.
    expect_search(&c, "maria smithers", &[&maria_s]);
    expect_search(&c, "maria gonzalez", &[&maria]);
    // Accents and case.
    expect_search(&c, "jose nunez", &[&jose]);
    expect_search(&c, "JOSÉ", &[&jose]);
    // Too far away, and a short term is not fuzzy.
    expect_search(&c, "xylophone", &[]);
    expect_search(&c, "mx", &[]);
}

#[test]
fn email_whole_and_partial() {
    let s = Server::start();
    let c = s.client("acme");
    let alice = id(&c.create(&json!({"email": "Alice.Walker@Example.org"})));
    let bob = id(&c.create(&json!({"email": "bob@another.net"})));
    expect_search(&c, "alice.walker@example.org", &[&alice]);
    expect_search(&c, "alice.walker@exa", &[&alice]);
    expect_search(&c, "alice.wal", &[&alice]);
    expect_search(&c, "walker", &[&alice]);
    expect_search(&c, "example.org", &[&alice]);
    expect_search(&c, "another", &[&bob]);
    expect_search(&c, "bob@another.net", &[&bob]);
}

#[test]
fn phone_in_any_format_and_fragment() {
    let s = Server::start();
    let c = s.client("acme");
    let a = id(&c.create(&json!({"phone": "(919) 264-7731", "firstName": "Pat"})));
    let _b = id(&c.create(&json!({"phone": "704-330-1188", "firstName": "Lee"})));
    for q in [
        "9192647731",
        "919-264-7731",
        "(919) 264",
        "+1 919 264 7731",
        "+19192647731",
        "2647731",
        "264-7731",
    ] {
        expect_search(&c, q, &[&a]);
    }
    expect_search(&c, "555 0000", &[]);
}

#[test]
fn search_with_tag_and_state_filters_pages_by_cursor() {
    let s = Server::start();
    let c = s.client("acme");
    let mut want = HashSet::new();
    for i in 0..24 {
        let tags = if i % 2 == 0 {
            json!(["VIP", "donor"])
        } else {
            json!(["donor"])
        };
        let state = if i % 3 == 0 { "SC" } else { "NC" };
        let v = c.create(&json!({
            "firstName": "Taylor", "lastName": format!("Number{i}"),
            "email": format!("taylor{i}@example.com"), "tags": tags, "state": state,
        }));
        if i % 2 == 0 && state == "NC" {
            want.insert(id(&v));
        }
    }
    // Others that must not appear.
    c.create(
        &json!({"firstName": "Morgan", "email": "m@example.com", "tags": ["vip"], "state": "NC"}),
    );
    // Wait for the last write to be searchable.
    wait_for(10, "index caught up", || {
        try_search(&c, "morgan", "").filter(|v| v.len() == 1)
    });

    let query = "/api/contacts?search=taylr&tags=vip&state=NC&limit=3&includeTotal=true";
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut prev: Option<(String, String)> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("{query}&cursor={}", enc(cur)),
            None => query.to_string(),
        };
        let r = c.get(&path);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["total"], json!(want.len()));
        for ct in r.body["contacts"].as_array().unwrap() {
            let key = (ct["updatedAt"].as_str().unwrap().to_string(), id(ct));
            if let Some(p) = &prev {
                assert!(key < *p, "order is updatedAt desc, id desc");
            }
            prev = Some(key);
            assert_eq!(ct["state"], "NC");
            seen.push(id(ct));
        }
        if r.body["hasMore"] == json!(true) {
            cursor = Some(r.body["cursor"].as_str().unwrap().to_string());
        } else {
            assert_eq!(r.body["cursor"], Value::Null);
            break;
        }
    }
    let seen_set: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), seen_set.len(), "no contact repeated");
    assert_eq!(seen_set, want);

    // Offset paging over the same filter gives the same order.
    let mut by_offset = Vec::new();
    for off in (0..want.len()).step_by(3) {
        let r = c.get(&format!(
            "/api/contacts?search=taylr&tags=vip&state=NC&limit=3&offset={off}"
        ));
        for ct in r.body["contacts"].as_array().unwrap() {
            by_offset.push(id(ct));
        }
    }
    assert_eq!(by_offset, seen);
    // An offset past the end is an empty page, not an error.
    let r = c.get("/api/contacts?search=taylor&offset=1000000000000&includeTotal=true");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contacts"], json!([]));
    assert_eq!(r.body["hasMore"], json!(false));
    assert_eq!(r.body["total"], json!(24));

    // Relevance: exact matches first, offset only.
    let r = c.get("/api/contacts?search=taylor&sortBy=relevance&limit=5");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["sortBy"], "relevance");
    assert_eq!(r.body["contacts"].as_array().unwrap().len(), 5);
    let r = c.get("/api/contacts?sortBy=relevance");
    assert_eq!(r.status, 400);
}

#[test]
fn updates_and_deletes_are_reflected() {
    let s = Server::start();
    let c = s.client("acme");
    let a = id(
        &c.create(&json!({"firstName": "Quentin", "lastName": "Blake", "email": "qb@example.com"}))
    );
    expect_search(&c, "quentin", &[&a]);
    let r = c.put(
        &format!("/api/contacts/{a}"),
        &json!({"firstName": "Roald"}),
    );
    assert_eq!(r.status, 200);
    expect_search(&c, "roald blake", &[&a]);
    expect_search(&c, "quentin", &[]);
    // Filters follow updates too.
    let r = c.put(&format!("/api/contacts/{a}"), &json!({"tags": ["author"]}));
    assert_eq!(r.status, 200);
    wait_for(10, "tag indexed", || {
        try_search(&c, "roald", "&tags=author").filter(|v| v.len() == 1)
    });
    let r = c.delete(&format!("/api/contacts/{a}"));
    assert_eq!(r.status, 200);
    expect_search(&c, "roald", &[]);
    expect_search(&c, "blake", &[]);
}

#[test]
fn organizations_never_see_each_other() {
    let s = Server::start();
    let a = s.client("alpha");
    let b = s.client("beta");
    let in_a = id(
        &a.create(&json!({"firstName": "Dana", "lastName": "Scully", "phone": "(202) 555-0143"}))
    );
    let in_b = id(
        &b.create(&json!({"firstName": "Dana", "lastName": "Scully", "phone": "(202) 555-0143"}))
    );
    expect_search(&a, "dana scully", &[&in_a]);
    expect_search(&b, "dana scully", &[&in_b]);
    expect_search(&a, "2025550143", &[&in_a]);
    expect_search(&b, "scul", &[&in_b]);
    let r = a.get("/api/contacts?search=dana&includeTotal=true");
    assert_eq!(r.body["total"], json!(1));
}

#[test]
fn kill_9_after_acknowledged_writes_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = s.client("acme");
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for i in 0..60 {
        let v = c.create(&json!({"firstName": "Burst", "lastName": format!("Writer{i}"), "email": format!("burst{i}@example.com")}));
        if i % 5 == 0 {
            let r = c.delete(&format!("/api/contacts/{}", id(&v)));
            assert_eq!(r.status, 200);
            deleted.push(id(&v));
        } else {
            kept.push(id(&v));
        }
    }
    s.kill9();
    let s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    let want: Vec<&str> = kept.iter().map(String::as_str).collect();
    expect_search(&c, "burst", &want);
    for d in &deleted {
        let ids = try_search(&c, "burst", "").unwrap();
        assert!(!ids.contains(d));
    }
}

#[test]
fn a_creation_replayed_after_a_crash_is_indexed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = s.client("acme");
    let v = c.create(&json!({"firstName": "Replayed", "email": "replayed@example.com"}));
    let contact = id(&v);
    expect_search(&c, "replayed", &[contact.as_str()]);
    s.terminate();
    // As if the process had died after the index commit but before it
    // deleted the outbox row recording the creation: the row is applied
    // again at the next start.
    s.sql(&format!(
        "INSERT INTO search_outbox (org, contact_id, new) SELECT org, id, 1 FROM contacts WHERE id = '{contact}'"
    ));
    let s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    wait_for(30, "the replayed outbox row applied", || {
        (s.sql_count("SELECT count(*) FROM search_outbox") == 0).then_some(())
    });
    let ids = try_search(&c, "replayed", "").expect("search is up");
    assert_eq!(ids, std::slice::from_ref(&contact), "one document, not two");
    let r = c.get("/api/contacts?search=replayed&includeTotal=true");
    assert_eq!(r.body["total"], 1, "{}", r.text);
}

#[test]
fn missing_index_is_rebuilt_at_start_and_by_reindex() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = s.client("acme");
    let a = id(&c
        .create(&json!({"firstName": "Ingrid", "lastName": "Bergman", "email": "ib@example.com"})));
    expect_search(&c, "ingrid", &[&a]);
    s.terminate();

    std::fs::remove_dir_all(dir.join("index")).unwrap();
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    // Listing without search works whatever the index is doing.
    assert_eq!(c.get("/api/contacts").status, 200);
    expect_search(&c, "bergmann", &[&a]);
    // `reindex` refuses to touch an index a running server writes.
    let out = std::process::Command::new(common::BIN)
        .args(["reindex", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_search(&c, "bergman", &[&a]);
    s.terminate();

    // A version file from another index version also means a rebuild.
    std::fs::write(dir.join("index.version"), "0\n").unwrap();
    let out = roster_cli(&["reindex"], &dir);
    assert!(
        out.contains("Rebuilt the search index: 1 contacts"),
        "{out}"
    );
    let s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    expect_search(&c, "ingrid bergman", &[&a]);
}

#[test]
fn search_is_503_while_the_index_is_unavailable_and_the_rest_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = s.client("acme");
    let a = id(&c.create(&json!({"firstName": "Greta", "email": "g@example.com"})));
    expect_search(&c, "greta", &[&a]);
    s.terminate();

    // The index is gone and its rebuild cannot write its directory.
    std::fs::remove_dir_all(dir.join("index")).unwrap();
    std::fs::remove_file(dir.join("index.version")).unwrap();
    std::fs::write(dir.join("index.new"), "in the way").unwrap();
    let s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    let r = wait_for(10, "search to give up", || {
        let r = c.get("/api/contacts?search=greta");
        (r.status == 503 && r.body["error"].as_str()?.contains("unavailable")).then_some(r)
    });
    assert_eq!(r.code(), "unavailable");
    assert_eq!(c.get("/api/contacts").status, 200);
    assert_eq!(c.get(&format!("/api/contacts/{a}")).status, 200);
    assert_eq!(
        c.post("/api/contacts", &json!({"email": "h@example.com"}))
            .status,
        201
    );
}

#[test]
fn search_pages_order_ties_on_the_time_by_id_across_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = Server::start_in(&dir, &[], &[]);
    let c = s.client("acme");
    for i in 0..40 {
        c.create(&json!({"firstName": "Tilda", "lastName": format!("Tie{i}"),
            "phone": format!("91955530{i:02}")}));
    }
    c.create(&json!({"firstName": "Other", "lastName": "Person", "email": "o@example.org"}));
    c.settle_lookups();
    s.terminate();
    // Four times for 40 contacts: every page boundary falls inside a run
    // of contacts the time alone cannot order; then the index is rebuilt
    // from those rows.
    s.sql(
        "UPDATE contacts SET updated_at = 1700000000000 + rowid % 4,
                             created_at = 1600000000000 + rowid % 3",
    );
    let out = roster_cli(&["reindex"], &dir);
    assert!(
        out.contains("Rebuilt the search index: 41 contacts"),
        "{out}"
    );
    let s = Server::start_in(&dir, &[], &[]);
    let c = Client::new(&s.base, c.key.clone());
    // Edited from the highest id down, the contacts' documents follow one
    // another in the index against the order of their ids (creation times
    // stay tied).
    let mut ids: Vec<String> = c.walk("search=tilda", 100).iter().map(id).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    for (i, contact) in ids.iter().enumerate() {
        let last = if i + 1 == ids.len() {
            "Zzyzx"
        } else {
            "Edited"
        };
        c.put(
            &format!("/api/contacts/{contact}"),
            &json!({ "lastName": last }),
        );
    }
    expect_search(&c, "zzyzx", &[ids.last().unwrap()]);
    for sort in ["updated_at", "created_at"] {
        // The database's own order (no search): time, then id, descending.
        let all: Vec<Value> = c
            .walk(&format!("sortBy={sort}"), 100)
            .into_iter()
            .filter(|v| v["firstName"] == "Tilda")
            .collect();
        let expected: Vec<String> = all.iter().map(id).collect();
        assert_eq!(expected.len(), 40);
        let field = if sort == "created_at" {
            "createdAt"
        } else {
            "updatedAt"
        };
        let mut by_time_then_id: Vec<(String, String)> = all
            .iter()
            .map(|v| (v[field].as_str().unwrap().to_string(), id(v)))
            .collect();
        by_time_then_id.sort_unstable_by(|a, b| b.cmp(a));
        let by_time_then_id: Vec<String> = by_time_then_id.into_iter().map(|(_, i)| i).collect();
        assert_eq!(expected, by_time_then_id, "{sort}: time, then id");
        if sort == "created_at" {
            let times: HashSet<&str> = all
                .iter()
                .map(|v| v["createdAt"].as_str().unwrap())
                .collect();
            assert_eq!(times.len(), 3, "the creation times were made equal");
        }
        for limit in [3, 7, 12, 40] {
            let walked: Vec<String> = c
                .walk(&format!("search=tilda&sortBy={sort}"), limit)
                .iter()
                .map(id)
                .collect();
            assert_eq!(walked, expected, "{sort}, {limit} a page, by cursor");
        }
        for offset in [0, 5, 9, 33] {
            let page = c.get(&format!(
                "/api/contacts?search=tilda&sortBy={sort}&limit=6&offset={offset}&includeTotal=true"
            ));
            let got: Vec<String> = page.body["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(id)
                .collect();
            let end = (offset + 6).min(40);
            assert_eq!(got, expected[offset..end], "{sort}, offset {offset}");
            assert_eq!(page.body["hasMore"], end < 40, "{sort}, offset {offset}");
            assert_eq!(page.body["total"], 40);
        }
    }
}
