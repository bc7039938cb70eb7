//! Notes, the per-contact timeline, and the cascade when a contact goes.

mod common;

use common::{Client, Server};
use reqwest::Method;
use serde_json::{Value, json};

fn events(c: &Client, id: &str, query: &str) -> Value {
    let r = c.get(&format!("/api/contacts/{id}/timeline?{query}"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn types(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn notes_crud_newest_first_with_a_timeline_event() {
    // No lookups: the timeline holds only what the test does.
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let contact = c.create(&json!({"phone": "9195550001"}));
    let id = contact["id"].as_str().unwrap();
    assert_eq!(
        c.get(&format!("/api/contacts/{id}/notes")).body,
        json!({"notes": []})
    );

    let r = c.post(
        &format!("/api/contacts/{id}/notes"),
        &json!({"body": "  first call  "}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let first = r.body;
    assert_eq!(first["body"], "first call");
    assert_eq!(first["contactId"], id);
    assert_eq!(first["createdAt"], first["updatedAt"]);
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "contactId", "body", "createdAt", "updatedAt"]);
    let second = c
        .post(
            &format!("/api/contacts/{id}/notes"),
            &json!({"body": "second"}),
        )
        .body;

    let list = c.get(&format!("/api/contacts/{id}/notes")).body["notes"].clone();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], second["id"]);
    assert_eq!(list[1]["id"], first["id"]);

    let tl = events(&c, id, "");
    assert_eq!(types(&tl), ["note_added", "note_added", "created"]);
    assert_eq!(tl["events"][0]["data"], json!({"noteId": second["id"]}));

    let nid = first["id"].as_str().unwrap();
    let r = c.put(
        &format!("/api/contacts/{id}/notes/{nid}"),
        &json!({"body": "edited"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["body"], "edited");
    assert_eq!(r.body["createdAt"], first["createdAt"]);
    assert_eq!(r.body["id"], first["id"]);

    let r = c.delete(&format!("/api/contacts/{id}/notes/{nid}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"id": nid, "deleted": true}));
    assert_eq!(
        c.delete(&format!("/api/contacts/{id}/notes/{nid}")).status,
        404
    );
    assert_eq!(
        c.put(
            &format!("/api/contacts/{id}/notes/{nid}"),
            &json!({"body": "x"})
        )
        .status,
        404
    );
    assert_eq!(
        c.get(&format!("/api/contacts/{id}/notes")).body["notes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        c.put(
            &format!("/api/contacts/{id}/notes/not-a-uuid"),
            &json!({"body": "x"})
        )
        .status,
        404
    );

    // Validation: at most 10 KB, a non-empty string, JSON.
    let max = "é".repeat(5 * 1024);
    assert_eq!(
        c.post(&format!("/api/contacts/{id}/notes"), &json!({"body": max}))
            .status,
        201
    );
    for body in [
        json!({"body": format!("{max}x")}),
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": 42}),
        json!({}),
        json!({"text": "hi"}),
        json!("hi"),
    ] {
        let r = c.post(&format!("/api/contacts/{id}/notes"), &body);
        assert_eq!(
            (r.status, r.code()),
            (400, "validation_error"),
            "{body}: {}",
            r.text
        );
    }
    let sid = second["id"].as_str().unwrap();
    let r = c.put(
        &format!("/api/contacts/{id}/notes/{sid}"),
        &json!({"body": ""}),
    );
    assert_eq!(r.status, 400);
    let r = Client::send(
        c.request(Method::POST, &format!("/api/contacts/{id}/notes"))
            .body("body=hi"),
    );
    assert_eq!(r.status, 415);
    assert_eq!(
        c.get(&format!("/api/contacts/{id}/notes")).body["notes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.get(&format!("/api/contacts/{id}/notes")).body["notes"][1]["body"],
        "second"
    );

    let missing = "0190a5d2-0000-7000-8000-000000000001";
    assert_eq!(c.get(&format!("/api/contacts/{missing}/notes")).status, 404);
    assert_eq!(
        c.post(
            &format!("/api/contacts/{missing}/notes"),
            &json!({"body": "x"})
        )
        .status,
        404
    );
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(reader.get(&format!("/api/contacts/{id}/notes")).status, 200);
    assert_eq!(
        reader
            .post(&format!("/api/contacts/{id}/notes"), &json!({"body": "x"}))
            .status,
        403
    );
    assert_eq!(
        reader
            .put(
                &format!("/api/contacts/{id}/notes/{sid}"),
                &json!({"body": "x"})
            )
            .status,
        403
    );
    assert_eq!(
        reader
            .delete(&format!("/api/contacts/{id}/notes/{sid}"))
            .status,
        403
    );
}

#[test]
fn the_timeline_records_changes_newest_first_and_pages_by_keyset() {
    // No lookups: the timeline holds only what the test does.
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let contact = c.create(&json!({"phone": "9195550001", "tags": ["a"]}));
    let id = contact["id"].as_str().unwrap();
    c.put(
        &format!("/api/contacts/{id}"),
        &json!({"firstName": "Jane", "city": "Raleigh"}),
    );
    c.put(&format!("/api/contacts/{id}"), &json!({"tags": ["b"]}));
    c.post_empty(&format!("/api/contacts/{id}/opt-out"));
    c.post_empty(&format!("/api/contacts/{id}/opt-in"));
    c.create(&json!({"phone": "9195550001", "lastName": "Doe"}));
    c.post(
        &format!("/api/contacts/{id}/notes"),
        &json!({"body": "hello"}),
    );

    let all = events(&c, id, "");
    assert_eq!(
        types(&all),
        [
            "note_added",
            "merged",
            "opted_in",
            "opted_out",
            "tags_changed",
            "updated",
            "updated",
            "tags_changed",
            "created"
        ]
    );
    assert_eq!(all["hasMore"], false);
    assert!(all["cursor"].is_null());
    let ev = all["events"].as_array().unwrap();
    assert_eq!(ev[1]["data"], json!({"fields": ["lastName"]}));
    assert_eq!(ev[2]["data"], json!({"source": "api"}));
    assert_eq!(ev[4]["data"], json!({"added": ["b"], "removed": ["a"]}));
    assert_eq!(ev[5]["data"], json!({"fields": ["tags"]}));
    assert_eq!(ev[6]["data"], json!({"fields": ["firstName", "city"]}));
    assert_eq!(ev[7]["data"], json!({"added": ["a"], "removed": []}));
    for e in ev {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "type", "data", "createdAt"]);
    }

    // Keyset pages of three cover every event once, in order.
    let mut seen = Vec::new();
    let mut query = "limit=3".to_string();
    loop {
        let page = events(&c, id, &query);
        let n = page["events"].as_array().unwrap().len();
        assert!(n <= 3);
        seen.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        if page["hasMore"] == false {
            assert!(page["cursor"].is_null());
            break;
        }
        query = format!("limit=3&cursor={}", page["cursor"].as_str().unwrap());
    }
    let expected: Vec<Value> = ev.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, expected);

    for bad in ["cursor=abc", "cursor=-4", "limit=0", "limit=ten"] {
        let r = c.get(&format!("/api/contacts/{id}/timeline?{bad}"));
        assert_eq!(r.status, 400, "{bad}");
    }
    assert_eq!(events(&c, id, "limit=500")["limit"], 200);
    assert_eq!(
        c.get("/api/contacts/0190a5d2-0000-7000-8000-000000000001/timeline")
            .status,
        404
    );
}

/// The rows of `table` whose `column` is `value` (notes name their
/// contact by id, timeline events and lookup jobs by key).
fn count_rows(
    db: &rusqlite::Connection,
    table: &str,
    column: &str,
    value: &dyn rusqlite::ToSql,
) -> i64 {
    db.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
        [value],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn deleting_a_contact_leaves_no_notes_or_timeline_behind() {
    let mut server = Server::start();
    let c = server.client("acme");
    let contact = c.create(&json!({"phone": "9195550001", "tags": ["vip"]}));
    let keep = c.create(&json!({"phone": "9195550002", "tags": ["vip"]}));
    let id = contact["id"].as_str().unwrap().to_string();
    let keep_id = keep["id"].as_str().unwrap().to_string();
    for who in [&id, &keep_id] {
        for n in 0..3 {
            let r = c.post(
                &format!("/api/contacts/{who}/notes"),
                &json!({"body": format!("note {n}")}),
            );
            assert_eq!(r.status, 201);
        }
        c.put(&format!("/api/contacts/{who}"), &json!({"firstName": "X"}));
    }
    let db_path = server.data_dir.join("roster.db");
    let key: i64;
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        key = db
            .query_row("SELECT key FROM contacts WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(count_rows(&db, "notes", "contact_id", &id), 3);
        assert!(count_rows(&db, "timeline_events", "contact", &key) >= 5);
        assert_eq!(count_rows(&db, "lookup_jobs", "contact", &key), 1);
    }
    assert_eq!(c.delete(&format!("/api/contacts/{id}")).status, 200);
    assert_eq!(c.get(&format!("/api/contacts/{id}/notes")).status, 404);
    assert_eq!(c.get(&format!("/api/contacts/{id}/timeline")).status, 404);
    assert!(server.terminate().success());

    let db = rusqlite::Connection::open(&db_path).unwrap();
    assert_eq!(
        count_rows(&db, "notes", "contact_id", &id),
        0,
        "notes remain"
    );
    for table in ["timeline_events", "lookup_jobs"] {
        assert_eq!(
            count_rows(&db, table, "contact", &key),
            0,
            "{table} rows remain"
        );
    }
    let kept: i64 = db
        .query_row("SELECT key FROM contacts WHERE id = ?1", [&keep_id], |r| {
            r.get(0)
        })
        .unwrap();
    // The tag index names contacts by key: only the kept contact's row is left.
    let tagged: Vec<String> = db
        .prepare("SELECT c.id FROM contact_tags t LEFT JOIN contacts c ON c.key = t.contact")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tagged, [keep_id.as_str()], "the tag rows left");
    let contacts: i64 = db
        .query_row("SELECT count(*) FROM contacts WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(contacts, 0);
    // The other contact keeps everything.
    assert_eq!(count_rows(&db, "notes", "contact_id", &keep_id), 3);
    assert!(count_rows(&db, "timeline_events", "contact", &kept) >= 5);
    assert_eq!(count_rows(&db, "lookup_jobs", "contact", &kept), 1);
    drop(db);
    // The tag index and the kept counts agree with the contacts left.
    let report = common::roster_cli(&["check"], &server.data_dir);
    assert!(report.contains("No problems found."), "{report}");
}

#[test]
fn notes_and_timelines_are_private_to_their_organization() {
    let server = Server::start_without_lookups();
    let a = server.client("acme");
    let b = server.client("globex");
    let theirs = a.create(&json!({"phone": "9195550001"}));
    let mine = b.create(&json!({"phone": "9195550001"}));
    let id = theirs["id"].as_str().unwrap();
    let my_id = mine["id"].as_str().unwrap();
    let note = a
        .post(
            &format!("/api/contacts/{id}/notes"),
            &json!({"body": "secret"}),
        )
        .body;
    let nid = note["id"].as_str().unwrap();

    assert_eq!(b.get(&format!("/api/contacts/{id}/notes")).status, 404);
    assert_eq!(
        b.post(&format!("/api/contacts/{id}/notes"), &json!({"body": "x"}))
            .status,
        404
    );
    assert_eq!(
        b.put(
            &format!("/api/contacts/{id}/notes/{nid}"),
            &json!({"body": "x"})
        )
        .status,
        404
    );
    assert_eq!(
        b.delete(&format!("/api/contacts/{id}/notes/{nid}")).status,
        404
    );
    assert_eq!(b.get(&format!("/api/contacts/{id}/timeline")).status, 404);
    // Their note id under my own contact is not found either.
    assert_eq!(
        b.put(
            &format!("/api/contacts/{my_id}/notes/{nid}"),
            &json!({"body": "x"})
        )
        .status,
        404
    );
    assert_eq!(
        b.delete(&format!("/api/contacts/{my_id}/notes/{nid}"))
            .status,
        404
    );
    assert_eq!(types(&events(&b, my_id, "")), ["created"]);

    let notes = a.get(&format!("/api/contacts/{id}/notes")).body;
    assert_eq!(notes["notes"][0]["body"], "secret");
    assert_eq!(notes["notes"].as_array().unwrap().len(), 1);
}

#[test]
fn a_deleted_contact_leaves_no_tag_row_for_the_contact_given_its_key() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550001"}));
    let newest = c.create(&json!({"phone": "9195550002", "tags": ["vip"]}));
    let id = newest["id"].as_str().unwrap();
    // A tag row the contact's tags do not name (an index that drifted).
    server.sql(&format!(
        "INSERT INTO contact_tags (org, contact, tag, updated_at)
         SELECT org, key, 'ghost', updated_at FROM contacts WHERE id = '{id}'"
    ));
    assert_eq!(c.delete(&format!("/api/contacts/{id}")).status, 200);
    // The newest contact's key is free again: the next contact may get it.
    let next = c.create(&json!({"phone": "9195550003"}));
    let r = c.get("/api/contacts?tags=ghost&includeTotal=true");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["contacts"],
        json!([]),
        "{} carries no ghost",
        next["id"]
    );
    assert_eq!(r.body["total"], 0);
}
