//! Listing: keyset and offset pagination, includeTotal, and every filter.

mod common;

use std::collections::HashSet;

use common::{Client, Server};
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    common::page_ids(page)
}

fn enc(s: &str) -> String {
    common::urlencode(s)
}

/// Walks every keyset page of `query`, `limit` contacts a page; returns the
/// contacts.
fn walk(api: &Client, query: &str, limit: usize) -> Vec<Value> {
    api.walk(query, limit)
}

#[test]
fn keyset_pages_are_complete_and_ordered_under_both_sorts() {
    let server = Server::start();
    let api = server.client("acme");
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(
            api.create(&json!({"phone": format!("91955510{i:02}"), "firstName": format!("C{i}")})),
        );
    }
    // Touch a few so updated_at order differs from created_at order.
    for c in created.iter().step_by(4) {
        let id = c["id"].as_str().unwrap();
        api.put(&format!("/api/contacts/{id}"), &json!({"city": "Durham"}));
    }
    // Lookups finishing would move contacts in updated_at order mid-walk.
    api.settle_lookups();
    for sort in ["updated_at", "created_at"] {
        let all = walk(&api, &format!("sortBy={sort}"), 5);
        assert_eq!(all.len(), 23, "{sort}: every contact exactly once");
        let unique: HashSet<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(unique.len(), 23, "{sort}: no repeats");
        let field = if sort == "updated_at" {
            "updatedAt"
        } else {
            "createdAt"
        };
        for pair in all.windows(2) {
            let a = (
                pair[0][field].as_str().unwrap(),
                pair[0]["id"].as_str().unwrap(),
            );
            let b = (
                pair[1][field].as_str().unwrap(),
                pair[1]["id"].as_str().unwrap(),
            );
            assert!(a > b, "{sort}: {a:?} must come before {b:?}");
        }
    }
    let first = api.get("/api/contacts?limit=5&sortBy=created_at");
    assert_eq!(first.body["sortBy"], "created_at");
    let cursor: Value = serde_json::from_str(first.body["cursor"].as_str().unwrap()).unwrap();
    assert!(
        cursor["created_at"].is_string() && cursor["id"].is_string(),
        "documented cursor shape: {cursor}"
    );
    // A cursor made for the other sort is refused.
    let r = api.get(&format!(
        "/api/contacts?sortBy=updated_at&cursor={}",
        enc(first.body["cursor"].as_str().unwrap())
    ));
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "invalid_cursor");
}

#[test]
fn offset_limit_clamp_and_include_total() {
    let server = Server::start();
    let api = server.client("acme");
    for i in 0..12 {
        api.create(&json!({"email": format!("p{i}@example.com")}));
    }
    let all = ids(&api.get("/api/contacts?limit=200").body);
    assert_eq!(all.len(), 12);
    let page = api.get("/api/contacts?limit=5&offset=5&includeTotal=true");
    assert_eq!(ids(&page.body), all[5..10].to_vec());
    assert_eq!(page.body["total"], 12);
    assert_eq!(page.body["hasMore"], true);
    let last = api.get("/api/contacts?limit=5&offset=10");
    assert_eq!(ids(&last.body), all[10..].to_vec());
    assert_eq!(last.body["hasMore"], false);
    assert!(last.body.get("total").is_none(), "total only when asked");
    let clamped = api.get("/api/contacts?limit=1000");
    assert_eq!(clamped.body["limit"], 200);
    assert_eq!(api.get("/api/contacts").body["limit"], 50);
}

struct Fixture {
    counts_inflated: bool,
    server: Server,
    api: Client,
    by_name: std::collections::HashMap<String, String>,
}

/// Six contacts whose fields make every filter distinguishable.
fn fixture() -> Fixture {
    let server = Server::start();
    let api = server.client("acme");
    let people = [
        json!({"firstName": "ann", "phone": "9195550201", "email": "ann@example.com", "state": "NC", "zip": "27601", "tags": ["vip", "donor"]}),
        json!({"firstName": "ben", "phone": "(800) 555-0202", "state": "SC", "zip": "29201", "tags": ["vip"]}),
        json!({"firstName": "cat", "email": "cat@example.com", "state": "NC", "zip": "27601", "tags": ["Donor"]}),
        json!({"firstName": "dan", "phone": "9195550204", "email": "dan@example.com", "state": "VA", "tags": []}),
        json!({"firstName": "eve", "phone": "9195550205", "state": "NC", "zip": "27605", "tags": ["member"]}),
        json!({"firstName": "fay", "email": "fay@example.com", "tags": ["vip", "member"]}),
    ];
    let mut by_name = std::collections::HashMap::new();
    for p in people {
        let c = api.create(&p);
        by_name.insert(
            p["firstName"].as_str().unwrap().to_string(),
            c["id"].as_str().unwrap().to_string(),
        );
    }
    // Textability comes from the lookup worker (the offline provider by
    // default): US numbers are textable, a toll-free number is not.
    common::wait_for(30, "lookups to finish", || {
        let page = api.get("/api/contacts?hasPhone=true&limit=200");
        page.body["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["lookupStatus"] == "done")
            .then_some(())
    });
    let dan = &by_name["dan"];
    api.post_empty(&format!("/api/contacts/{dan}/opt-out"));
    Fixture {
        counts_inflated: false,
        server,
        api,
        by_name,
    }
}

fn names(f: &Fixture, query: &str) -> Vec<String> {
    let r = f.api.get(&format!(
        "/api/contacts?limit=200&includeTotal=true&{query}"
    ));
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    let id_to_name: std::collections::HashMap<&String, &String> =
        f.by_name.iter().map(|(n, i)| (i, n)).collect();
    let mut out: Vec<String> = ids(&r.body)
        .iter()
        .map(|i| id_to_name[i].to_string())
        .collect();
    // Single-tag totals come from the kept tag counts, which one test
    // inflates on purpose.
    if !f.counts_inflated {
        assert_eq!(
            r.body["total"],
            out.len(),
            "{query}: total agrees with the page"
        );
    }
    out.sort();
    out
}

#[test]
fn every_filter_alone_and_combined() {
    let f = fixture();
    let _keep = &f.server;
    let cases: &[(&str, &[&str])] = &[
        ("tags=vip", &["ann", "ben", "fay"]),
        ("tags=VIP,member", &["ann", "ben", "eve", "fay"]),
        (
            "tags=vip,member&tagsLogic=OR",
            &["ann", "ben", "eve", "fay"],
        ),
        ("tags=vip,donor&tagsLogic=AND", &["ann"]),
        ("tags=vip,member&tagsLogic=and", &["fay"]),
        ("tags=donor", &["ann", "cat"]),
        ("tags=nobody", &[]),
        ("isTextable=true", &["ann", "dan", "eve"]),
        ("isTextable=false", &["ben"]),
        ("optedOut=true", &["dan"]),
        ("optedOut=false", &["ann", "ben", "cat", "eve", "fay"]),
        ("hasEmail=true", &["ann", "cat", "dan", "fay"]),
        ("hasEmail=false", &["ben", "eve"]),
        ("hasPhone=true", &["ann", "ben", "dan", "eve"]),
        ("hasPhone=false", &["cat", "fay"]),
        ("state=NC", &["ann", "cat", "eve"]),
        ("state=nc,sc", &["ann", "ben", "cat", "eve"]),
        ("zip=27601", &["ann", "cat"]),
        ("state=NC&tags=donor", &["ann", "cat"]),
        ("state=NC&hasPhone=true&isTextable=true", &["ann", "eve"]),
        (
            "tags=vip,member&tagsLogic=OR&hasEmail=true&optedOut=false",
            &["ann", "fay"],
        ),
        ("state=NC,VA&optedOut=false&hasEmail=true", &["ann", "cat"]),
        ("zip=27601&tags=vip,donor&tagsLogic=AND&state=NC", &["ann"]),
    ];
    for (query, expected) in cases {
        assert_eq!(names(&f, query), expected.to_vec(), "{query}");
    }
    // Every plan (tag index, state or ZIP index, sort index) pages by
    // cursor to the same set, one contact at a time.
    for query in [
        "tags=vip,member",
        "tags=vip,donor&tagsLogic=AND",
        "state=NC",
        "zip=27601&hasEmail=true",
    ] {
        let seen: Vec<String> = walk(&f.api, query, 1)
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        let all = f.api.get(&format!("/api/contacts?limit=200&{query}"));
        assert_eq!(
            seen,
            ids(&all.body),
            "{query}: same contacts in the same order"
        );
    }
    // Filters page by cursor like any list.
    let page = f.api.get("/api/contacts?state=NC&limit=2");
    assert_eq!(page.body["hasMore"], true);
    let cursor = enc(page.body["cursor"].as_str().unwrap());
    let next = f
        .api
        .get(&format!("/api/contacts?state=NC&limit=2&cursor={cursor}"));
    assert_eq!(ids(&next.body).len(), 1);
    assert_eq!(next.body["hasMore"], false);
}

#[test]
fn ties_on_the_sort_field_are_broken_by_id_without_skips_or_repeats() {
    let server = Server::start();
    let api = server.client("acme");
    for i in 0..17 {
        api.create(&json!({"phone": format!("91955520{i:02}")}));
    }
    api.settle_lookups();
    // Every contact gets the same timestamps: only the id orders them.
    server.sql("UPDATE contacts SET updated_at = 1700000000000, created_at = 1700000000000");
    for sort in ["updated_at", "created_at"] {
        let all = walk(&api, &format!("sortBy={sort}"), 5);
        let got: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
        let mut expected = got.clone();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        expected.dedup();
        assert_eq!(got, expected, "{sort}: id descending, each once");
        assert_eq!(got.len(), 17);
    }
}

#[test]
fn a_cursor_whose_contact_was_deleted_goes_on_where_it_stood() {
    let server = Server::start();
    let api = server.client("acme");
    for i in 0..12 {
        api.create(&json!({"phone": format!("91955521{i:02}"), "tags": ["vip"]}));
    }
    api.settle_lookups();
    // Ties on the time: the page boundary falls inside them.
    server.sql("UPDATE contacts SET updated_at = 1700000000000 + key % 2");
    for filter in ["", "&tags=vip", "&optedOut=false&tags=vip"] {
        let query = format!("limit=5{filter}");
        let whole = ids(&api.get(&format!("/api/contacts?limit=100{filter}")).body);
        let first = api.get(&format!("/api/contacts?{query}"));
        assert_eq!(first.status, 200, "{}", first.text);
        let cursor = first.body["cursor"].as_str().unwrap().to_string();
        let last = ids(&first.body).last().unwrap().clone();
        assert_eq!(api.delete(&format!("/api/contacts/{last}")).status, 200);
        let next = api.get(&format!("/api/contacts?{query}&cursor={}", enc(&cursor)));
        assert_eq!(next.status, 200, "{}", next.text);
        let at = whole.iter().position(|id| *id == last).unwrap();
        assert_eq!(
            ids(&next.body),
            whole[at + 1..at + 6].to_vec(),
            "{query}: the page after the deleted contact"
        );
        // Put it back (as a new contact) for the next query.
        api.create(&json!({"phone": format!("91955531{}", whole.len()), "tags": ["vip"]}));
        api.settle_lookups();
        server.sql("UPDATE contacts SET updated_at = 1700000000000 + key % 2");
    }
}

#[test]
fn common_tags_take_the_other_plan_with_the_same_answers() {
    let mut f = fixture();
    let expected: Vec<(&str, Vec<String>)> = [
        "tags=vip",
        "tags=vip,member",
        "tags=vip,donor&tagsLogic=AND",
        "tags=vip,member&tagsLogic=AND&hasEmail=true",
        "state=NC&tags=donor",
    ]
    .into_iter()
    .map(|q| (q, names(&f, q)))
    .collect();
    // Pretend every tag is carried by a million contacts: the planner walks
    // the sort index and probes the tag index instead.
    f.server
        .sql("UPDATE tag_counts SET count = count + 1000000");
    f.counts_inflated = true;
    for (query, names_before) in expected {
        assert_eq!(names(&f, query), names_before, "{query}");
    }
}

#[test]
fn huge_offsets_and_limits_are_handled() {
    let server = Server::start();
    let api = server.client("acme");
    api.create(&json!({"phone": "9195550901"}));
    let r = api.get("/api/contacts?offset=9223372036854775807");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contacts"].as_array().unwrap().len(), 0);
    let r = api.get("/api/contacts?offset=9223372036854775808");
    assert_eq!(r.status, 400);
    let r = api.get("/api/contacts?limit=99999999999999999999");
    assert_eq!(r.status, 200, "a huge limit is clamped: {}", r.text);
    assert_eq!(r.body["limit"], 200);
    let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    let r = api.get(&format!(
        "/api/contacts?tags={}&tagsLogic=AND",
        many.join(",")
    ));
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "invalid_parameter");
}

/// Imports `csv` into `api`'s organization and waits for the end.
fn import_csv(api: &Client, csv: String) {
    let r = Client::send(
        api.request(reqwest::Method::POST, "/api/contacts/import")
            .header("content-type", "text/csv")
            .body(csv),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["importId"].as_str().unwrap().to_string();
    common::wait_for(120, "the import", || {
        let s = api.get(&format!("/api/imports/{id}")).body;
        (s["status"] == "completed").then_some(())
    });
}

#[test]
fn rare_and_absent_flag_values_list_and_count_exactly_on_a_large_organization() {
    let server = Server::start_without_lookups();
    let api = server.client("acme");
    // 6,000 contacts, more than the planner reads through a driving index:
    // 60 of the oldest opted out, none without a phone, every tenth
    // without an email.
    let mut csv = String::from("phone,email,opted out\n");
    for i in 0..6_000 {
        let email = if i % 10 == 0 {
            String::new()
        } else {
            format!("p{i}@example.org")
        };
        let out = if i < 60 { "true" } else { "" };
        csv.push_str(&format!("+1919{:07},{email},{out}\n", 5_000_000 + i));
    }
    import_csv(&api, csv);
    let check = |query: &str, expected: usize| {
        let total = api.get(&format!("/api/contacts?includeTotal=true&limit=1&{query}"));
        assert_eq!(
            total.body["total"], expected as i64,
            "{query}: {}",
            total.text
        );
        for sort in ["updated_at", "created_at"] {
            let all = walk(&api, &format!("{query}&sortBy={sort}"), 50);
            assert_eq!(all.len(), expected, "{query} by {sort}");
            let mut ids: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
            ids.dedup();
            assert_eq!(ids.len(), expected, "{query}: no contact twice");
        }
    };
    check("optedOut=true", 60);
    check("optedOut=true&hasEmail=false", 6);
    check("hasPhone=false", 0);
    check("hasEmail=false", 600);
    check("hasEmail=true&optedOut=true", 54);
    check("isTextable=false", 0);
    let opted = walk(&api, "optedOut=true", 7);
    assert!(opted.iter().all(|c| c["isOptedIn"] == false));
    let no_email = walk(&api, "hasEmail=false&optedOut=false", 200);
    assert_eq!(no_email.len(), 594);
    assert!(
        no_email
            .iter()
            .all(|c| c["email"].is_null() && c["isOptedIn"] == true)
    );
}

#[test]
fn a_filter_met_far_down_the_order_lists_exactly_what_the_database_holds() {
    let server = Server::start_without_lookups();
    let api = server.client("acme");
    // 3,000 contacts; the oldest 1,500 carry "early", so the newest entries
    // of the sort index hold none of them.
    let mut csv = String::from("phone,tags\n");
    for i in 0..3_000 {
        let tag = if i < 1_500 { "early;member" } else { "member" };
        csv.push_str(&format!("+1919{:07},{tag}\n", 6_000_000 + i));
    }
    import_csv(&api, csv);
    common::wait_for(30, "the index to hold them", || {
        let r = api.get("/api/contacts?search=9196001499&limit=1");
        (r.body["contacts"].as_array().map(Vec::len) == Some(1)).then_some(())
    });
    let ids = |query: &str| -> Vec<String> {
        walk(&api, query, 50)
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let early = ids("tags=early&tagsLogic=AND&hasPhone=true");
    assert_eq!(early.len(), 1_500);
    let unique: HashSet<&String> = early.iter().collect();
    assert_eq!(unique.len(), 1_500, "no contact twice across the pages");

    // Changes the index has not applied yet show at once: a new match, a
    // contact that stops matching.
    let fresh = api.create(&json!({"phone": "+19197000001", "tags": ["early"]}));
    let leaving = &early[10];
    api.put(
        &format!("/api/contacts/{leaving}"),
        &json!({"tags": ["member"]}),
    );
    let now = api.get("/api/contacts?tags=early&hasPhone=true&limit=50&includeTotal=true");
    assert_eq!(now.body["total"], 1_500, "{}", now.text);
    let first = &now.body["contacts"];
    assert_eq!(first[0]["id"], fresh["id"], "the newest match comes first");
    let listed = ids("tags=early&hasPhone=true");
    assert_eq!(listed.len(), 1_500);
    assert!(!listed.contains(leaving));
    assert!(listed.contains(&fresh["id"].as_str().unwrap().to_string()));
}

/// Which of the whole list's contacts a filter should keep.
type Wanted = dyn Fn(&Value) -> bool;

fn tagged(c: &Value, tag: &str) -> bool {
    c["tags"].as_array().unwrap().iter().any(|t| t == tag)
}

#[test]
fn a_common_state_or_flag_lists_the_same_contacts_in_the_same_order_as_the_whole_list() {
    let server = Server::start_without_lookups();
    let api = server.client("acme");
    // 3,000 contacts: more opted out, in NC and without an email than the
    // planner sorts itself, spread through the order so that each kind of
    // page meets them at a different depth.
    let mut csv = String::from("phone,email,state,zip,opted out,tags\n");
    for i in 0..3_000 {
        let email = if i % 3 == 0 {
            String::new()
        } else {
            format!("c{i}@example.org")
        };
        let state = if i % 5 < 2 { "NC" } else { "VA" };
        let zip = if i % 7 == 0 { "27601" } else { "22201" };
        let opted = if i % 2 == 0 { "true" } else { "" };
        let tags = match i % 4 {
            0 => "donor;member",
            1 => "member",
            2 => "donor",
            _ => "",
        };
        csv.push_str(&format!(
            "+1919{:07},{email},{state},{zip},{opted},{tags}\n",
            6_000_000 + i
        ));
    }
    import_csv(&api, csv);
    common::wait_for(30, "the index to hold them", || {
        let r = api.get("/api/contacts?search=9196002999&limit=1");
        (r.body["contacts"].as_array().map(Vec::len) == Some(1)).then_some(())
    });
    for sort in ["updated_at", "created_at"] {
        let all = walk(&api, &format!("sortBy={sort}"), 100);
        assert_eq!(all.len(), 3_000);
        let checks: [(&str, &Wanted); 12] = [
            ("tags=donor", &|c| tagged(c, "donor")),
            // Both tags' lists merged in order, a cursor into each.
            ("tags=donor,member&tagsLogic=OR", &|c| {
                tagged(c, "donor") || tagged(c, "member")
            }),
            ("tags=member,donor&tagsLogic=OR&hasEmail=true", &|c| {
                (tagged(c, "donor") || tagged(c, "member")) && !c["email"].is_null()
            }),
            ("tags=donor,member&tagsLogic=AND", &|c| {
                tagged(c, "donor") && tagged(c, "member")
            }),
            ("tags=member&optedOut=true&state=VA", &|c| {
                tagged(c, "member") && c["isOptedIn"] == false && c["state"] == "VA"
            }),
            ("optedOut=true", &|c| c["isOptedIn"] == false),
            ("state=NC", &|c| c["state"] == "NC"),
            ("zip=27601", &|c| c["zip"] == "27601"),
            ("hasEmail=false", &|c| c["email"].is_null()),
            ("state=NC&optedOut=true", &|c| {
                c["state"] == "NC" && c["isOptedIn"] == false
            }),
            ("optedOut=true&hasEmail=false&zip=22201", &|c| {
                c["isOptedIn"] == false && c["email"].is_null() && c["zip"] == "22201"
            }),
            ("state=NC&hasEmail=false&optedOut=false", &|c| {
                c["state"] == "NC" && c["email"].is_null() && c["isOptedIn"] == true
            }),
        ];
        for (query, wanted) in checks {
            let expected: Vec<&Value> =
                all.iter().filter(|c| wanted(c)).map(|c| &c["id"]).collect();
            let query = format!("sortBy={sort}&{query}");
            let listed = walk(&api, &query, 50);
            let listed: Vec<&Value> = listed.iter().map(|c| &c["id"]).collect();
            assert_eq!(
                listed, expected,
                "{query}: the whole list's matches, in its order"
            );
            let counted = api.get(&format!("/api/contacts?{query}&limit=1&includeTotal=true"));
            assert_eq!(counted.body["total"], expected.len(), "{query}");
        }
    }
    // An edit moves the contact to the top of each of its lists.
    let oldest = walk(&api, "tags=donor", 100).pop().unwrap();
    let id = oldest["id"].as_str().unwrap();
    api.put(&format!("/api/contacts/{id}"), &json!({"city": "Durham"}));
    // The oldest donor is the first row written: in NC, without an email.
    assert_eq!(oldest["state"], "NC");
    assert!(oldest["email"].is_null());
    for query in [
        "tags=donor",
        "tags=donor&state=NC",
        "tags=donor&hasEmail=false",
    ] {
        let first = api.get(&format!("/api/contacts?{query}&limit=1"));
        assert_eq!(
            first.body["contacts"][0]["id"], id,
            "{query}: {}",
            first.text
        );
    }
}
