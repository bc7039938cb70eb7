//! Admin UI journeys, part 2: bulk actions, segments, tags, CSV import with
//! a column mapping, and export, in headless Chromium against the real
//! server. Each journey fails on a console error or a CSP violation.

mod browser;
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use browser::{Browser, DESKTOP, PHONE, tid};
use common::{Client, Server, wait_for};
use serde_json::{Value, json};
use thirtyfour::Key;

fn signed_in(name: &str) -> Option<(Server, Client, Browser)> {
    let server = Server::start_without_lookups();
    let key = server.bootstrap_key.clone().expect("bootstrap key");
    let b = Browser::launch(&server.base, name)?;
    let api = server.client_with_key(&key);
    b.sign_in(&key);
    Some((server, api, b))
}

/// `n` contacts; every third carries `phonebank`, every fifth is in NC.
fn seed(api: &Client, n: usize) -> Vec<Value> {
    let people = (0..n)
        .map(|i| {
            let mut tags = vec!["member"];
            if i % 3 == 0 {
                tags.push("phonebank");
            }
            api.create(&json!({
                "firstName": format!("Person{i:03}"),
                "lastName": "Tester",
                "phone": format!("919555{:04}", 1000 + i),
                "state": if i % 5 == 0 { "NC" } else { "VA" },
                "tags": tags,
            }))
        })
        .collect();
    api.settle_lookups();
    people
}

/// Every contact id the API lists for `query`, across pages.
fn all_ids(api: &Client, query: &str) -> BTreeSet<String> {
    api.all_contacts(query)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn row(id: &str) -> String {
    format!("[data-testid=contact-row][data-id=\"{id}\"]")
}

#[test]
fn two_selected_contacts_are_tagged_and_shift_click_selects_a_range() {
    let Some((_server, api, b)) = signed_in("bulk-tag") else {
        return;
    };
    seed(&api, 8);
    b.reload();
    b.wait_until("eight rows", |b| b.row_ids().len() == 8);
    let ids = b.row_ids();
    b.el(&format!("{} {}", row(&ids[1]), tid("select-row")))
        .click();
    b.el(&format!("{} {}", row(&ids[4]), tid("select-row")))
        .click();
    assert!(b.testid("bulk-bar").text().contains("2 selected"));
    b.testid("bulk-add-tag").click();
    b.testid("bulk-tag-input").type_text("canvass");
    b.testid("confirm").click();
    assert_eq!(b.testid("confirm-count").text(), "2");
    b.screenshot("bulk-confirm");
    b.resize(PHONE);
    b.screenshot("bulk-confirm");
    b.resize(DESKTOP);
    b.testid("confirm").click();
    let toast = b.testid("toast").text();
    assert!(toast.contains("2 matched, 2 updated"), "{toast}");
    b.wait_gone(&tid("bulk-bar"));
    let tagged = all_ids(&api, "tags=canvass");
    assert_eq!(tagged, BTreeSet::from([ids[1].clone(), ids[4].clone()]));

    // Shift-click selects the range between two clicks.
    b.wait_until("eight rows", |b| b.row_ids().len() == 8);
    let ids = b.row_ids();
    b.el(&format!("{} {}", row(&ids[2]), tid("select-row")))
        .click();
    b.el(&format!("{} {}", row(&ids[5]), tid("select-row")))
        .shift_click();
    assert!(b.testid("bulk-bar").text().contains("4 selected"));
    let checked = b.js(
        "return [...document.querySelectorAll('[data-testid=select-row]')].map(c => c.checked)",
        vec![],
    );
    assert_eq!(
        checked,
        json!([false, false, true, true, true, true, false, false])
    );
    // Changing the view clears the selection.
    b.testid("filter-state-input").type_text("NC" + Key::Enter);
    b.wait_gone(&tid("bulk-bar"));
    b.finish();
}

#[test]
fn opting_out_everything_matching_a_filter_changes_exactly_those_contacts() {
    let Some((_server, api, b)) = signed_in("bulk-all") else {
        return;
    };
    seed(&api, 130);
    let matching = all_ids(&api, "tags=phonebank");
    assert_eq!(matching.len(), 44);
    b.open("/#/contacts?tags=phonebank");
    b.wait_until("a full first page", |b| b.row_ids().len() == 44);
    b.wait_until("the total", |b| b.testid("total").text() == "44 contacts");
    b.testid("select-page").click();
    // A small view fits one page: selecting the page selects all of it.
    assert!(b.testid("bulk-bar").text().contains("44 selected"));
    b.testid("clear-filters").click();
    b.wait_gone(&tid("bulk-bar"));
    b.wait_until("the first page of everyone", |b| b.row_ids().len() == 50);
    b.testid("filter-tags-input")
        .type_text("member" + Key::Enter);
    b.testid("filter-state-input").type_text("VA" + Key::Enter);
    let va_members = all_ids(&api, "tags=member&state=VA");
    assert_eq!(va_members.len(), 104);
    b.wait_until("104 contacts", |b| {
        b.testid("total").text() == "104 contacts"
    });
    b.testid("select-page").click();
    let all = b.testid("select-all-matching");
    assert!(all.text().contains("104"), "{}", all.text());
    all.click();
    assert!(b.testid("bulk-bar").text().contains("All 104 selected"));

    // Created after the selection: the filter, not a list of ids, decides.
    let late = api.create(&json!({"phone": "3365550111", "state": "VA", "tags": ["member"]}));
    let late_id = late["id"].as_str().unwrap().to_string();

    b.testid("bulk-opt-out").click();
    assert_eq!(b.testid("confirm-count").text(), "104");
    b.testid("confirm").click();
    let toast = b.testid("toast").text();
    assert!(toast.contains("105 matched, 105 updated"), "{toast}");

    let opted_out = all_ids(&api, "optedOut=true");
    let mut expected = va_members.clone();
    expected.insert(late_id);
    assert_eq!(
        opted_out, expected,
        "exactly the matching contacts opted out"
    );
    let still_in = all_ids(&api, "optedOut=false");
    assert_eq!(still_in.len(), 130 - 104, "no other contact changed");
    b.finish();
}

#[test]
fn a_segment_is_saved_reopened_after_reload_renamed_edited_and_deleted() {
    let Some((_server, api, b)) = signed_in("segments") else {
        return;
    };
    seed(&api, 20);
    api.post("/api/segments", &json!({"name": "Taken", "filters": {}}));
    let zipped = api
        .post(
            "/api/segments",
            &json!({"name": "By ZIP", "filters": {"zip": "27601", "state": ["NC"]}}),
        )
        .body;
    b.reload();
    b.testid("filter-state-input").type_text("NC" + Key::Enter);
    b.wait_until("four NC rows", |b| b.row_ids().len() == 4);
    b.testid("save-segment").click();
    b.testid("segment-name").type_text("taken");
    b.testid("confirm").click();
    let error = b.el("[role=dialog] .error").text();
    assert!(
        error.contains("already"),
        "a duplicate name says so: {error}"
    );
    b.testid("segment-name").replace_text("North Carolina");
    b.testid("confirm").click();
    b.wait_gone("[role=dialog]");
    let item = b.el("[data-testid=segment-item]:not([data-id=''])");
    b.wait_until("the sidebar lists the segment with its count", |b| {
        b.all(&tid("segment-item"))
            .iter()
            .any(|s| s.text().contains("North Carolina") && s.text().contains('4'))
    });
    let _ = item;
    let segment = api.get("/api/segments").body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "North Carolina")
        .cloned()
        .expect("the segment was saved");
    let id = segment["id"].as_str().unwrap().to_string();
    assert_eq!(segment["filters"], json!({"state": ["NC"]}));
    assert!(b.url().contains(&format!("segment={id}")));

    b.reload();
    b.wait_until("the segment's title", |b| {
        b.el("#contacts-title").text() == "North Carolina"
    });
    let listed: BTreeSet<String> = b.row_ids().into_iter().collect();
    assert_eq!(listed, all_ids(&api, &format!("segmentId={id}")));
    b.screenshot("segment");

    // Rename from the segment's header.
    b.el(".segment-head button").click();
    b.testid("segment-name").replace_text("NC members");
    b.testid("confirm").click();
    b.wait_until("the new name shows", |b| {
        b.el("#contacts-title").text() == "NC members"
    });

    // Change its filters from the current view.
    b.all(".segment-head button")
        .into_iter()
        .find(|e| e.text() == "Edit filters")
        .expect("edit filters")
        .click();
    b.testid("filter-tags-input")
        .type_text("phonebank" + Key::Enter);
    b.testid("update-segment").click();
    b.wait_until("the segment's title", |b| {
        b.el("#contacts-title").text() == "NC members"
    });
    let saved = api.get(&format!("/api/segments/{id}")).body;
    assert_eq!(saved["filters"]["tags"], json!(["phonebank"]));
    assert_eq!(saved["filters"]["state"], json!(["NC"]));
    b.wait_until("two contacts", |b| b.row_ids().len() == 2);

    // Editing a segment keeps the filters the UI shows (a ZIP among them).
    let zid = zipped["id"].as_str().unwrap();
    b.open(&format!("/#/contacts?segment={zid}"));
    b.wait_until("its title", |b| b.el("#contacts-title").text() == "By ZIP");
    b.all(".segment-head button")
        .into_iter()
        .find(|e| e.text() == "Edit filters")
        .expect("edit filters")
        .click();
    assert_eq!(b.testid("filter-zip").value(), "27601");
    b.testid("update-segment").click();
    b.wait_until("back on the segment", |b| {
        b.el("#contacts-title").text() == "By ZIP"
    });
    let kept = api.get(&format!("/api/segments/{zid}")).body;
    assert_eq!(kept["filters"]["zip"], "27601");
    assert_eq!(kept["filters"]["state"], json!(["NC"]));

    b.testid("nav-segments").click();
    b.el(&format!("[data-testid=segment-item][data-id=\"{id}\"]"));
    b.screenshot("segments");
    b.resize(PHONE);
    b.screenshot("segments");
    b.resize(DESKTOP);
    b.all(&format!("tr[data-id=\"{id}\"] button"))
        .into_iter()
        .find(|e| e.text() == "Delete")
        .expect("delete")
        .click();
    b.testid("confirm").click();
    b.wait_gone(&format!("[data-testid=segment-item][data-id=\"{id}\"]"));
    assert_eq!(api.get(&format!("/api/segments/{id}")).status, 404);
    b.finish();
}

#[test]
fn renaming_a_tag_into_an_existing_one_merges_them_with_the_counts_said() {
    let Some((_server, api, b)) = signed_in("tags") else {
        return;
    };
    for (phone, tags) in [
        ("9195550001", json!(["volunteer"])),
        ("9195550002", json!(["volunteer", "volunteers"])),
        ("9195550003", json!(["volunteers"])),
        ("9195550004", json!(["volunteers"])),
        ("9195550005", json!(["board"])),
    ] {
        api.create(&json!({"phone": phone, "tags": tags}));
    }
    b.testid("nav-tags").click();
    b.wait_until("three tags", |b| b.all(&tid("tag-item")).len() == 3);
    let order: Vec<String> = b
        .all(&tid("tag-item"))
        .iter()
        .map(|t| t.attr("data-tag").unwrap())
        .collect();
    assert_eq!(order, ["volunteers", "volunteer", "board"], "by count");
    b.screenshot("tags");
    b.resize(PHONE);
    b.screenshot("tags");
    b.resize(DESKTOP);

    b.el("[data-tag=volunteers] [data-testid=tag-rename]")
        .click();
    b.testid("tag-new-name").replace_text("volunteer");
    b.testid("confirm").click();
    let merge = b.el("[role=dialog]").text();
    assert!(
        merge.contains("already exists on 2 contacts") && merge.contains("(3 contacts)"),
        "{merge}"
    );
    b.screenshot("tag-merge");
    b.testid("confirm").click();
    b.wait_until("two tags", |b| b.all(&tid("tag-item")).len() == 2);
    let count = b.el("[data-tag=volunteer] [data-testid=tag-count]").text();
    assert_eq!(count, "4");
    let api_tags = api.get("/api/tags").body;
    assert_eq!(api_tags["tags"][0], json!({"tag": "volunteer", "count": 4}));

    b.el("[data-tag=board] [data-testid=tag-delete]").click();
    assert_eq!(b.testid("confirm-count").text(), "1");
    b.testid("confirm").click();
    b.wait_until("one tag", |b| b.all(&tid("tag-item")).len() == 1);

    b.testid("tag-filter").type_text("zzz");
    b.el(".empty");
    b.testid("tag-filter").clear();
    b.el("[data-tag=volunteer] a").click();
    b.wait_until("the contacts carrying it", |b| b.row_ids().len() == 4);
    assert!(b.url().contains("tags=volunteer"));
    b.finish();
}

/// 3,000 good rows with an unusual header, then two bad rows and a row for
/// a contact who opted out.
fn import_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut csv = String::from("Given name,Surname,Digits,E-mail,Congregation,Unsubscribed\n");
    for i in 0..3_000 {
        csv.push_str(&format!(
            "Ana{i},Lopez,(704) 555-{:04},ana{i}@example.org,St. Mark's,no\n",
            i % 10_000
        ));
    }
    csv.push_str("Bad,Phone,123,,North,no\n");
    csv.push_str("Bad,Email,,not-an-email,North,no\n");
    csv.push_str("Opted,Out,(336) 555-0100,,South,no\n");
    let path = dir.join("members.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn an_import_is_mapped_previewed_followed_and_summed_up_truthfully() {
    let Some((_server, api, b)) = signed_in("import") else {
        return;
    };
    let gone = api.create(&json!({"phone": "3365550100", "firstName": "Opted"}));
    let gone_id = gone["id"].as_str().unwrap();
    api.post_empty(&format!("/api/contacts/{gone_id}/opt-out"));
    let dir = tempfile::tempdir().unwrap();
    let file = import_file(dir.path());

    b.testid("nav-imports").click();
    b.testid("import-file").type_text(file.to_str().unwrap());
    b.wait_until("six mapping rows", |b| {
        b.all(&tid("import-mapping-row")).len() == 6
    });
    let target = |column: &str| {
        b.el(&format!(
            "[data-testid=import-mapping-row][data-column=\"{column}\"] [data-testid=import-target]"
        ))
        .value()
    };
    assert_eq!(target("Given name"), "firstName");
    assert_eq!(target("Surname"), "lastName");
    assert_eq!(
        target("Digits"),
        "custom",
        "an unknown header becomes a custom field"
    );
    assert_eq!(target("E-mail"), "email");
    assert_eq!(target("Congregation"), "custom");
    assert_eq!(target("Unsubscribed"), "optedOut");
    assert!(b.el(".import-preview").text().contains("UTF-8"));
    b.el("[data-column=Digits] [data-testid=import-target]")
        .select("phone");
    b.el("[data-column=Congregation] [data-testid=import-custom-name]")
        .replace_text("parish");
    b.testid("import-tags-input")
        .type_text("spring-fair" + Key::Enter);
    b.screenshot("import-preview");
    b.resize(PHONE);
    assert!(
        !b.overflows_horizontally(),
        "{:?}",
        b.overflowing_elements()
    );
    b.screenshot("import-preview");
    b.resize(DESKTOP);

    b.testid("import-start").click();
    let started = Instant::now();
    let mut saw_progress = false;
    while started.elapsed() < Duration::from_secs(60) {
        if b.exists(&tid("import-progress")) {
            if !saw_progress {
                b.screenshot("import-progress");
                saw_progress = true;
            }
        } else if b.exists(&tid("import-summary")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saw_progress, "the progress is shown while the import runs");
    let url = b.url();
    assert!(url.contains("import="), "{url}");
    b.reload();
    let summary = b.testid("import-summary");
    b.screenshot("import-summary");
    let id = url
        .split("import=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let imp = api.get(&format!("/api/imports/{id}")).body;
    assert_eq!(imp["status"], "completed");
    for stat in ["created", "merged", "skipped", "failed"] {
        let shown = summary
            .find(&format!("[data-stat={stat}] strong"))
            .text()
            .replace(',', "");
        assert_eq!(
            shown,
            imp[stat].to_string(),
            "{stat} is the server's number"
        );
    }
    assert_eq!(imp["failed"], 2);
    assert_eq!(imp["created"], 3_000);
    assert!(
        summary.text().contains("Finished with 2 failed rows"),
        "failures never look like success: {}",
        summary.text()
    );
    let errors: Vec<(String, String)> = b
        .all(&tid("import-error-row"))
        .iter()
        .map(|r| (r.attr("data-row").unwrap(), r.text()))
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, "3002");
    assert!(errors[0].1.contains("Digits"), "{errors:?}");
    assert_eq!(errors[1].0, "3003");
    assert!(errors[1].1.contains("E-mail"), "{errors:?}");
    b.resize(PHONE);
    b.screenshot("import-summary");
    b.resize(DESKTOP);

    let stays = api.get(&format!("/api/contacts/{gone_id}")).body;
    assert_eq!(
        stays["isOptedIn"], false,
        "an import never opts anyone back in"
    );
    assert_eq!(stays["customFields"]["parish"], "South");
    let one = api.get("/api/contacts?search=ana17%40example.org").body;
    let c = &one["contacts"][0];
    assert_eq!(c["phone"], "+17045550017");
    assert_eq!(c["customFields"], json!({"parish": "St. Mark's"}));
    assert_eq!(c["tags"], json!(["spring-fair"]));

    b.testid("download-errors").click();
    let failed = wait_for(20, "the failed rows download", || {
        std::fs::read_dir(b.downloads.path())
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "csv"))
    });
    let text = std::fs::read_to_string(failed).unwrap();
    assert!(text.starts_with("row,column,error"));
    assert_eq!(text.lines().count(), 3);

    b.testid("nav-imports").click();
    b.el(&format!("[data-testid=import-item][data-id=\"{id}\"]"));
    assert!(
        b.el(&format!("[data-testid=import-item][data-id=\"{id}\"]"))
            .text()
            .contains("completed with failures")
    );
    b.finish();
}

#[test]
fn the_exported_file_is_exactly_the_filtered_view() {
    let Some((_server, api, b)) = signed_in("export") else {
        return;
    };
    seed(&api, 75);
    b.open("/#/contacts?tags=phonebank&state=VA");
    let expected = all_ids(&api, "tags=phonebank&state=VA");
    b.wait_until("the view", |b| b.row_ids().len() == expected.len());
    b.testid("export").click();
    b.testid("export-csv").click();
    let file = wait_for(30, "the export download", || {
        std::fs::read_dir(b.downloads.path())
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "csv"))
    });
    let text = std::fs::read_to_string(&file).unwrap();
    let ids: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected, "the file holds exactly the view's contacts");
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("contacts-")
    );
    let listed = api.get("/api/contacts/export?tags=phonebank&state=VA").text;
    assert_eq!(text, listed);
    b.finish();
}

#[test]
fn at_390_px_bulk_selection_and_the_import_page_fit_the_screen() {
    let Some((_server, api, b)) = signed_in("narrow-lists") else {
        return;
    };
    seed(&api, 6);
    b.resize(PHONE);
    b.reload();
    b.wait_until("six cards", |b| b.row_ids().len() == 6);
    let ids = b.row_ids();
    b.el(&format!("{} {}", row(&ids[0]), tid("select-row")))
        .click();
    b.el(&format!("{} {}", row(&ids[2]), tid("select-row")))
        .click();
    assert!(b.testid("bulk-bar").text().contains("2 selected"));
    assert!(
        !b.overflows_horizontally(),
        "{:?}",
        b.overflowing_elements()
    );
    b.screenshot("bulk-bar");
    b.testid("bulk-archive").click();
    assert_eq!(b.testid("confirm-count").text(), "2");
    b.testid("confirm").click();
    b.testid("toast");
    wait_for(10, "two archived contacts", || {
        let page = api.get("/api/contacts?limit=200").body;
        let n = page["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["isArchived"] == true)
            .count();
        (n == 2).then_some(())
    });
    b.el("[aria-label=Menu]").click();
    b.testid("nav-imports").click();
    b.testid("import-file");
    assert!(
        !b.overflows_horizontally(),
        "{:?}",
        b.overflowing_elements()
    );
    b.screenshot("imports");
    b.finish();
}
