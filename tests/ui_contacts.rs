//! Admin UI journeys, part 1: sign-in, the contacts list, the detail panel
//! and the create and edit forms, in headless Chromium against the real
//! server. Each journey fails on a console error or a CSP violation.

mod browser;
mod common;

use browser::{Browser, DESKTOP, PHONE, tid};
use common::{Client, Server, page_ids, roster_cli, wait_for};
use serde_json::{Value, json};
use thirtyfour::Key;

/// A server, a write client for its `default` organization, and a browser
/// signed in with that key; None when the machine has no Chromium.
fn signed_in(name: &str) -> Option<(Server, Client, Browser)> {
    let server = Server::start_without_lookups();
    let key = server.bootstrap_key.clone().expect("bootstrap key");
    let b = Browser::launch(&server.base, name)?;
    b.sign_in(&key);
    let api = server.client_with_key(&key);
    Some((server, api, b))
}

/// Waits until the search index answers `query` with `n` contacts.
fn wait_searchable(api: &Client, query: &str, n: usize) {
    wait_for(20, &format!("search '{query}' to find {n}"), || {
        let r = api.get(&format!("/api/contacts?search={query}"));
        (r.body["contacts"].as_array().map(Vec::len) == Some(n)).then_some(())
    });
}

/// Waits until the list shows exactly `ids`, in order.
fn wait_rows(b: &Browser, ids: &[String]) {
    b.wait_until(&format!("the list shows {ids:?}"), |b| {
        !b.exists(&tid("loading")) && b.row_ids() == ids
    });
}

fn seed(api: &Client) -> Vec<Value> {
    let people = [
        json!({"firstName": "Margaret", "lastName": "Okafor", "phone": "9195550101", "email": "margaret@example.org", "state": "NC", "tags": ["volunteer", "donor"]}),
        json!({"firstName": "Luis", "lastName": "Hernández", "phone": "9195550102", "state": "SC", "tags": ["volunteer"]}),
        json!({"firstName": "Priya", "lastName": "Raman", "email": "priya@example.org", "state": "NC", "tags": ["donor"]}),
        json!({"firstName": "Tomasz", "lastName": "Wójcik", "phone": "+442079460000", "state": "VA", "tags": ["board"]}),
        json!({"firstName": "Aisha", "lastName": "Bello", "phone": "3365550199", "email": "aisha@example.org", "state": "NC"}),
    ];
    let created = people.iter().map(|p| api.create(p)).collect();
    api.settle_lookups();
    created
}

#[test]
fn sign_in_refuses_a_bad_key_and_keeps_a_good_one_only_in_the_session() {
    let server = Server::start_without_lookups();
    let key = server.bootstrap_key.clone().unwrap();
    let Some(b) = Browser::launch(&server.base, "sign-in") else {
        return;
    };
    b.open("/");
    b.testid("login-key");
    b.screenshot("sign-in");
    b.testid("login-key").type_text("rst_not-a-real-key");
    b.testid("login-submit").click();
    let error = b.testid("login-error").text();
    assert!(error.contains("not accepted"), "{error}");
    assert!(!b.exists(&tid("whoami")));
    b.screenshot("sign-in-error");

    b.testid("login-key").replace_text(&key);
    b.testid("login-submit").click();
    let who = b.testid("whoami").text();
    assert!(who.contains("default"), "{who}");
    assert!(who.contains("write"), "{who}");
    assert!(!b.url().contains(&key), "the key must never be in the URL");
    // The sidebar links the API's machine-readable description.
    let doc = b.testid("nav-api-doc").attr("href");
    assert_eq!(doc.as_deref(), Some("/api/openapi.json"));
    let stored = b.js(
        "return [sessionStorage.getItem('roster.apiKey'), JSON.stringify(localStorage)]",
        vec![],
    );
    assert_eq!(stored[0], json!(key), "the key is kept in sessionStorage");
    assert_eq!(stored[1], json!("{}"), "nothing is written to localStorage");

    b.testid("sign-out").click();
    b.testid("login-key");
    let after = b.js("return sessionStorage.getItem('roster.apiKey')", vec![]);
    assert_eq!(after, Value::Null, "sign-out forgets the key");
    b.resize(PHONE);
    b.screenshot("sign-in");
    b.finish();
}

#[test]
fn a_new_organization_sees_the_first_run_state() {
    let Some((_server, _api, b)) = signed_in("first-run") else {
        return;
    };
    let empty = b.testid("empty-first-run");
    assert!(empty.text().contains("No contacts yet"));
    assert!(!b.exists(&tid("empty-no-results")));
    assert!(b.exists(&format!(
        "{} {}",
        tid("empty-first-run"),
        tid("new-contact")
    )));
    assert_eq!(b.testid("total").text(), "0 contacts");
    b.screenshot("empty-first-run");
    b.resize(PHONE);
    b.screenshot("empty-first-run");
    b.finish();
}

#[test]
fn creating_says_created_then_the_same_phone_says_merged() {
    let Some((_server, api, b)) = signed_in("create") else {
        return;
    };
    b.testid("new-contact").click();
    let form = b.testid("contact-form");
    form.find("[name=firstName]").type_text("Jane");
    form.find("[name=lastName]").type_text("Smith");
    form.find("[name=phone]").type_text("(919) 555-1234");
    b.screenshot("create-form");
    b.testid("save").click();
    assert_eq!(b.testid("outcome").text(), "created");
    let detail = b.testid("detail");
    let id = detail.attr("data-id").unwrap();
    b.wait_until("the detail shows the new contact", |b| {
        b.testid("detail").text().contains("Jane Smith")
    });
    let stored = api.get(&format!("/api/contacts/{id}"));
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body["phone"], "+19195551234");

    b.keys(Key::Escape);
    b.wait_gone(&tid("detail"));
    b.testid("new-contact").click();
    let form = b.testid("contact-form");
    form.find("[name=phone]").type_text("919.555.1234");
    form.find("[name=email]").type_text("jane@example.org");
    b.testid("save").click();
    assert_eq!(b.testid("outcome").text(), "merged");
    assert_eq!(b.testid("detail").attr("data-id").unwrap(), id);
    b.screenshot("detail-merged");
    let all = api.get("/api/contacts?includeTotal=true");
    assert_eq!(
        all.body["total"], 1,
        "the second create merged: {}",
        all.text
    );
    assert_eq!(all.body["contacts"][0]["email"], "jane@example.org");
    wait_rows(&b, &[id]);
    b.finish();
}

#[test]
fn a_search_with_a_typo_finds_the_contact_and_marks_the_match() {
    let Some((_server, api, b)) = signed_in("search") else {
        return;
    };
    let people = seed(&api);
    wait_searchable(&api, "Margret", 1);
    b.reload();
    b.testid("search").type_text("Margret");
    wait_rows(&b, &[people[0]["id"].as_str().unwrap().to_string()]);
    let marked = b.el("[data-testid=contact-row] mark").text();
    assert!(
        "Margaret".starts_with(&marked) && marked.len() >= 5,
        "the matched name is highlighted: {marked:?}"
    );
    assert!(
        b.url().contains("search=Margret"),
        "the search is in the URL"
    );
    b.screenshot("list-search");

    // Typing on supersedes the earlier request; the last answer wins.
    b.testid("search").replace_text("priya@exam");
    wait_rows(&b, &[people[2]["id"].as_str().unwrap().to_string()]);
    b.testid("search").replace_text("zzzzqq");
    let none = b.testid("empty-no-results").text();
    assert!(
        none.contains("zzzzqq"),
        "no results names the search: {none}"
    );
    b.screenshot("empty-no-results");
    b.testid("clear-filters").click();
    b.wait_until("every contact is listed again", |b| b.row_ids().len() == 5);
    assert_eq!(b.testid("search").value(), "");
    b.finish();
}

#[test]
fn filters_by_tags_with_and_or_and_by_state_match_the_api() {
    let Some((_server, api, b)) = signed_in("filters") else {
        return;
    };
    seed(&api);
    b.reload();
    b.wait_until("five rows", |b| b.row_ids().len() == 5);
    b.screenshot("list");
    let tags = b.testid("filter-tags-input");
    tags.type_text("volunteer");
    tags.type_text(Key::Enter);
    wait_rows(&b, &page_ids(&api.get("/api/contacts?tags=volunteer").body));
    b.testid("filter-tags-input")
        .type_text("donor" + Key::Enter);
    let or = page_ids(&api.get("/api/contacts?tags=volunteer,donor").body);
    assert_eq!(or.len(), 3);
    wait_rows(&b, &or);
    b.testid("filter-tags-logic").select("AND");
    let and = page_ids(
        &api.get("/api/contacts?tags=volunteer,donor&tagsLogic=AND")
            .body,
    );
    assert_eq!(and.len(), 1);
    wait_rows(&b, &and);
    b.wait_until("the total says 1 contact", |b| {
        b.testid("total").text() == "1 contact"
    });

    b.testid("filter-tags-logic").select("OR");
    b.testid("filter-state-input").type_text("nc" + Key::Enter);
    let or_nc = page_ids(&api.get("/api/contacts?tags=volunteer,donor&state=NC").body);
    assert_eq!(or_nc.len(), 2);
    wait_rows(&b, &or_nc);
    b.screenshot("list-filters");
    b.resize(PHONE);
    b.screenshot("list-filters");
    b.resize(DESKTOP);

    // Removing the chips widens the list again.
    let remove = format!("{} .chip-remove", tid("filter-tags"));
    while b.exists(&remove) {
        b.el(&remove).click();
    }
    wait_rows(&b, &page_ids(&api.get("/api/contacts?state=NC").body));
    b.testid("filter-has-email").select("false");
    wait_rows(
        &b,
        &page_ids(&api.get("/api/contacts?state=NC&hasEmail=false").body),
    );
    b.finish();
}

#[test]
fn reload_and_back_restore_the_view() {
    let Some((_server, api, b)) = signed_in("reload") else {
        return;
    };
    let people = seed(&api);
    b.reload();
    b.wait_until("five rows", |b| b.row_ids().len() == 5);
    b.testid("filter-state-input").type_text("NC" + Key::Enter);
    let nc = page_ids(&api.get("/api/contacts?state=NC").body);
    wait_rows(&b, &nc);
    b.testid("sort").select("created_at");
    let nc_created = page_ids(&api.get("/api/contacts?state=NC&sortBy=created_at").body);
    wait_rows(&b, &nc_created);
    let target = people[4]["id"].as_str().unwrap();
    b.el(&format!("[data-testid=contact-row][data-id=\"{target}\"]"))
        .click();
    b.el(&format!("[data-testid=detail][data-id=\"{target}\"]"));

    b.reload();
    b.el(&format!("[data-testid=detail][data-id=\"{target}\"]"));
    wait_rows(&b, &nc_created);
    assert_eq!(b.testid("sort").value(), "created_at");
    let chips: Vec<String> = b
        .all(&format!("{} .chip-text", tid("filter-state")))
        .iter()
        .map(|c| c.text())
        .collect();
    assert_eq!(chips, ["NC"]);

    b.back();
    b.wait_gone(&tid("detail"));
    wait_rows(&b, &nc_created);
    b.back();
    wait_rows(&b, &nc);
    assert_eq!(b.testid("sort").value(), "updated_at");
    b.finish();
}

#[test]
fn an_invalid_email_is_refused_beside_the_field_and_nothing_is_saved() {
    let Some((_server, api, b)) = signed_in("edit") else {
        return;
    };
    let people = seed(&api);
    let id = people[1]["id"].as_str().unwrap();
    let before = api.get(&format!("/api/contacts/{id}")).body;
    b.reload();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("edit").click();
    let form = b.testid("contact-form");
    form.find("[name=email]").type_text("luis(at)example");
    form.find("[name=city]").type_text("Columbia");
    b.testid("save").click();
    let error = b.el("[data-testid=field-error][data-field=email]");
    assert!(!error.text().is_empty());
    b.wait_until("the email input is marked invalid", |b| {
        b.el("[name=email]").attr("aria-invalid").as_deref() == Some("true")
    });
    b.screenshot("edit-error");
    assert_eq!(
        api.get(&format!("/api/contacts/{id}")).body,
        before,
        "a refused edit changes nothing"
    );
    b.resize(PHONE);
    b.screenshot("edit-error");
    b.resize(DESKTOP);

    b.el("[name=email]").replace_text("luis@example.org");
    b.testid("save").click();
    b.wait_gone(&tid("contact-form"));
    let after = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(after["email"], "luis@example.org");
    assert_eq!(after["city"], "Columbia");
    assert!(b.testid("detail").text().contains("luis@example.org"));
    b.screenshot("detail");
    b.resize(PHONE);
    b.screenshot("detail");
    b.finish();
}

#[test]
fn tags_and_custom_fields_are_edited_in_place() {
    let Some((_server, api, b)) = signed_in("tags-custom") else {
        return;
    };
    let people = seed(&api);
    let id = people[0]["id"].as_str().unwrap();
    b.reload();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("edit").click();
    b.testid("tag-input").type_text("spring-fair" + Key::Enter);
    let donor = b
        .all(&tid("tag-chip"))
        .into_iter()
        .find(|c| c.text().starts_with("donor"))
        .expect("a donor chip");
    donor.find(".chip-remove").click();
    b.testid("add-custom-field").click();
    let row = b.all(&tid("custom-field-row")).pop().expect("a new row");
    row.find("[name=customFieldKey]").type_text("chapter");
    row.find("[name=customFieldValue]").type_text("Triangle");
    b.testid("add-custom-field").click();
    let row = b.all(&tid("custom-field-row")).pop().expect("a second row");
    row.find("[name=customFieldKey]").type_text("shifts");
    row.find("[name=customFieldType]").select("number");
    row.find("[name=customFieldValue]").type_text("12");
    assert!(b.testid("contact-form").text().contains("2 of 20"));
    b.testid("save").click();
    b.wait_gone(&tid("contact-form"));
    let after = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(after["tags"], json!(["volunteer", "spring-fair"]));
    assert_eq!(
        after["customFields"],
        json!({"chapter": "Triangle", "shifts": 12})
    );

    // Removing a custom field row removes the key.
    b.testid("edit").click();
    let row = b
        .all(&tid("custom-field-row"))
        .into_iter()
        .find(|r| r.find("[name=customFieldKey]").value() == "chapter")
        .expect("the chapter row");
    row.find(".icon-button").click();
    b.chord(Key::Control, "s");
    b.wait_gone(&tid("contact-form"));
    let after = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(after["customFields"], json!({"shifts": 12}), "Ctrl+S saved");
    b.finish();
}

#[test]
fn a_note_shows_in_the_notes_and_the_history() {
    let Some((_server, api, b)) = signed_in("notes") else {
        return;
    };
    let people = seed(&api);
    let id = people[2]["id"].as_str().unwrap();
    b.reload();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("note-input")
        .type_text("Called, left a message about the fair");
    b.testid("add-note").click();
    b.wait_until("the note is listed", |b| {
        b.all(&tid("note"))
            .iter()
            .any(|n| n.text().contains("left a message"))
    });
    b.el("[data-testid=timeline-event][data-type=note_added]");
    let notes = api.get(&format!("/api/contacts/{id}/notes")).body;
    assert_eq!(
        notes["notes"][0]["body"],
        "Called, left a message about the fair"
    );
    let first = b.all(&tid("timeline-event"));
    assert_eq!(
        first[0].attr("data-type").as_deref(),
        Some("note_added"),
        "the newest event comes first"
    );
    b.finish();
}

#[test]
fn opting_out_shows_in_the_panel_and_the_list() {
    let Some((_server, api, b)) = signed_in("opt-out") else {
        return;
    };
    let people = seed(&api);
    let id = people[1]["id"].as_str().unwrap();
    b.reload();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("opt-out").click();
    b.testid("opt-in");
    assert!(b.testid("detail").text().contains("Opted out"));
    let stored = api.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(stored["isOptedIn"], false);
    assert!(stored["optedOutAt"].is_string());
    b.wait_until("the row says opted out", |b| {
        b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
            .text()
            .contains("Opted out")
    });
    b.el("[data-testid=timeline-event][data-type=opted_out]");
    b.finish();
}

#[test]
fn delete_asks_naming_the_contact_and_cancel_keeps_it() {
    let Some((_server, api, b)) = signed_in("delete") else {
        return;
    };
    let people = seed(&api);
    let id = people[3]["id"].as_str().unwrap();
    b.reload();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("delete").click();
    let dialog = b.el("[role=dialog]").text();
    assert!(dialog.contains("Tomasz Wójcik"), "{dialog}");
    b.screenshot("delete-confirm");
    b.testid("cancel").click();
    assert_eq!(api.get(&format!("/api/contacts/{id}")).status, 200);
    b.testid("delete").click();
    b.testid("confirm").click();
    b.wait_gone(&tid("detail"));
    assert_eq!(api.get(&format!("/api/contacts/{id}")).status, 404);
    b.wait_until("the row is gone", |b| {
        !b.row_ids().contains(&id.to_string())
    });
    b.testid("toast");
    b.finish();
}

#[test]
fn a_read_only_key_sees_no_control_that_writes() {
    let server = Server::start_without_lookups();
    let writer = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let people = seed(&writer);
    let read = server.create_key("default", "read");
    let Some(b) = Browser::launch(&server.base, "read-only") else {
        return;
    };
    b.sign_in(&read);
    assert!(b.testid("whoami").text().contains("read-only"));
    b.wait_until("five rows", |b| b.row_ids().len() == 5);
    let id = people[0]["id"].as_str().unwrap();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    b.testid("lookup-status");
    b.wait_until("the panel has loaded its notes and history", |b| {
        b.testid("detail").text().contains("No notes yet")
    });
    let writes = [
        "new-contact",
        "edit",
        "delete",
        "opt-out",
        "opt-in",
        "note-input",
        "add-note",
        "rerun-lookup",
        "select-row",
        "select-page",
        "select-all-matching",
        "bulk-bar",
        "save-segment",
    ];
    for id in writes {
        assert_eq!(
            b.all(&tid(id)).len(),
            0,
            "a read-only key must not see {id}"
        );
    }
    b.open("/#/contacts?contact=new");
    let notice = b.el("[data-testid=detail] .notice").text();
    assert!(notice.contains("read access"), "{notice}");
    assert!(b.all(&tid("contact-form")).is_empty());
    b.open("/#/tags");
    b.testid("tag-item");
    assert!(b.all(&tid("tag-rename")).is_empty() && b.all(&tid("tag-delete")).is_empty());
    b.open("/#/imports");
    b.el("#imports-title");
    assert!(b.all(&tid("import-file")).is_empty());
    b.finish();
}

#[test]
fn a_revoked_key_returns_to_sign_in_with_a_message() {
    let Some((server, _api, b)) = signed_in("revoked") else {
        return;
    };
    let keys = roster_cli(&["keys", "list"], &server.data_dir);
    let id = keys
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.len() == 36))
        .expect("the key's id")
        .to_string();
    roster_cli(&["keys", "revoke", &id], &server.data_dir);
    b.testid("nav-tags").click();
    let notice = b.el(".notice").text();
    assert!(notice.contains("revoked"), "{notice}");
    b.testid("login-key");
    assert_eq!(
        b.js("return sessionStorage.getItem('roster.apiKey')", vec![]),
        Value::Null
    );
    b.finish();
}

#[test]
fn the_keyboard_alone_finds_opens_edits_and_closes() {
    let Some((_server, api, b)) = signed_in("keyboard") else {
        return;
    };
    let people = seed(&api);
    wait_searchable(&api, "Bello", 1);
    b.reload();
    b.wait_until("five rows", |b| b.row_ids().len() == 5);
    b.el("#contacts-title").click();
    b.keys("/");
    assert_eq!(b.focused(), "search", "/ focuses the search box");
    b.keys("Bello");
    let id = people[4]["id"].as_str().unwrap().to_string();
    wait_rows(&b, std::slice::from_ref(&id));
    // Tab walks past the filters to the row.
    for _ in 0..30 {
        if b.focused() == "contact-row" {
            break;
        }
        b.keys(Key::Tab);
    }
    assert_eq!(b.focused(), "contact-row", "Tab reaches the row");
    b.keys(Key::Enter);
    b.el(&format!("[data-testid=detail][data-id=\"{id}\"]"));
    b.testid("edit").click();
    b.el("[name=city]").type_text("Greensboro");
    b.chord(Key::Control, "s");
    b.wait_gone(&tid("contact-form"));
    assert_eq!(
        api.get(&format!("/api/contacts/{id}")).body["city"],
        "Greensboro"
    );
    b.keys(Key::Escape);
    b.wait_gone(&tid("detail"));
    b.wait_until("focus returns to the row", |b| b.focused() == "contact-row");
    b.finish();
}

#[test]
fn at_390_px_nothing_scrolls_sideways_and_the_panel_is_a_sheet() {
    let Some((_server, api, b)) = signed_in("narrow") else {
        return;
    };
    let people = seed(&api);
    api.create(&json!({
        "firstName": "Bartholomew-Alexander",
        "lastName": "Featherstonehaugh-Cholmondeley",
        "email": "bartholomew.alexander.featherstonehaugh@a-very-long-domain-name.example.org",
        "tags": ["a-rather-long-tag-name", "another-long-tag", "third", "fourth"],
    }));
    b.resize(PHONE);
    b.reload();
    b.wait_until("six cards", |b| b.row_ids().len() == 6);
    assert!(
        !b.overflows_horizontally(),
        "list: {:?}",
        b.overflowing_elements()
    );
    b.screenshot("list");
    let id = people[0]["id"].as_str().unwrap();
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    let width = b.js(
        "return document.querySelector('[data-testid=detail]').getBoundingClientRect().width",
        vec![],
    );
    assert_eq!(
        width.as_f64().unwrap().round(),
        390.0,
        "the panel fills the screen"
    );
    assert!(
        !b.overflows_horizontally(),
        "detail: {:?}",
        b.overflowing_elements()
    );
    b.testid("edit").click();
    b.testid("contact-form");
    assert!(
        !b.overflows_horizontally(),
        "edit: {:?}",
        b.overflowing_elements()
    );
    b.screenshot("edit");
    b.keys(Key::Escape);
    b.keys(Key::Escape);
    b.wait_gone(&tid("detail"));
    // The sidebar folds into a menu.
    assert!(!b.exists(&tid("nav-tags")));
    b.el("[aria-label=Menu]").click();
    b.testid("nav-tags").click();
    b.testid("tag-item");
    assert!(
        !b.overflows_horizontally(),
        "tags: {:?}",
        b.overflowing_elements()
    );
    b.finish();
}

#[test]
fn load_more_follows_the_cursor_and_never_asks_for_more_than_a_page() {
    let Some((_server, api, b)) = signed_in("load-more") else {
        return;
    };
    for i in 0..63 {
        api.create(&json!({"phone": format!("91955520{i:02}"), "firstName": format!("P{i:02}")}));
    }
    api.settle_lookups();
    b.reload();
    b.wait_until("the first page", |b| b.row_ids().len() == 50);
    assert_eq!(b.testid("total").text(), "63 contacts");
    b.screenshot("list-load-more");
    b.testid("load-more").click();
    b.wait_until("all 63 rows", |b| b.row_ids().len() == 63);
    assert!(!b.exists(&tid("load-more")), "no more pages");
    let every: Vec<String> = api
        .all_contacts("")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        b.row_ids(),
        every,
        "the pages in order, none skipped or repeated"
    );
    let requests = b.js(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/api/contacts'))",
        vec![],
    );
    for url in requests.as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(
            url.contains("limit=50") || url.contains("limit=1&"),
            "every list request asks for one page at most: {url}"
        );
    }
    b.finish();
}

#[test]
fn the_lookup_can_be_run_again_and_the_history_pages() {
    let server = Server::start();
    let key = server.bootstrap_key.clone().unwrap();
    let api = server.client_with_key(&key);
    let c = api.create(&json!({"phone": "9195550177", "firstName": "Rosa"}));
    let id = c["id"].as_str().unwrap().to_string();
    for i in 0..24 {
        api.put(
            &format!("/api/contacts/{id}"),
            &json!({"city": format!("Town {i}")}),
        );
    }
    api.settle_lookups();
    let Some(b) = Browser::launch(&server.base, "lookup") else {
        return;
    };
    b.sign_in(&key);
    b.el(&format!("[data-testid=contact-row][data-id=\"{id}\"]"))
        .click();
    let status = b.testid("lookup-status");
    b.wait_until("the offline answer", |b| {
        b.testid("lookup-status").attr("data-status").as_deref() == Some("done")
    });
    assert!(status.text().contains("offline:"), "{}", status.text());
    b.testid("rerun-lookup").click();
    b.wait_until("the lookup to be answered again", |b| {
        b.testid("lookup-status").attr("data-status").as_deref() == Some("done")
            && b.exists("[data-testid=timeline-event][data-type=lookup_requested]")
    });
    let jobs = api.get(&format!("/api/contacts/{id}/lookup")).body;
    assert_eq!(jobs["status"], "done", "{jobs}");

    // The history comes 20 events at a time, newest first.
    b.wait_until("a page of history", |b| {
        b.all(&tid("timeline-event")).len() == 20
    });
    b.testid("timeline-more").click();
    let total = api
        .get(&format!("/api/contacts/{id}/timeline?limit=200"))
        .body["events"]
        .as_array()
        .unwrap()
        .len();
    assert!(total > 20);
    b.wait_until("the older events", |b| {
        b.all(&tid("timeline-event")).len() == total
    });
    b.finish();
}
