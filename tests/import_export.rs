//! CSV import and export over HTTP and the command line.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Client, Resp, Server, roster_cli, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

fn post_csv(c: &Client, body: impl Into<Vec<u8>>, query: &str) -> Resp {
    Client::send(
        c.request(Method::POST, &format!("/api/contacts/import{query}"))
            .header("content-type", "text/csv")
            .body(body.into()),
    )
}

fn post_multipart(c: &Client, file: &[u8], options: Option<&Value>) -> Resp {
    c.post_multipart("/api/contacts/import", file, options)
}

fn finished(c: &Client, id: &str) -> Value {
    wait_for(120, "the import to finish", || {
        let r = c.get(&format!("/api/imports/{id}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let s = r.body["status"].as_str().unwrap_or("").to_string();
        (s != "queued" && s != "running").then_some(r.body)
    })
}

/// Imports and waits for the end; returns the import.
fn import(c: &Client, body: impl Into<Vec<u8>>, query: &str) -> Value {
    let r = post_csv(c, body, query);
    assert_eq!(r.status, 202, "{}", r.text);
    finished(c, r.body["importId"].as_str().expect("importId"))
}

/// Every contact of the caller's org, newest first.
fn all_contacts(c: &Client) -> Vec<Value> {
    c.all_contacts("")
}

fn by_phone(c: &Client, phone: &str) -> Value {
    all_contacts(c)
        .into_iter()
        .find(|x| x["phone"] == phone)
        .unwrap_or_else(|| panic!("no contact with phone {phone}"))
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[test]
fn text_csv_import_maps_synonyms_and_a_bad_row_fails_alone() {
    let server = Server::start();
    let c = server.client("acme");
    let csv = "Given Name,SURNAME,Mobile,E-mail,Street,Town,State,Zip Code,Labels,Time Zone,Favorite Color\n\
               Jane,Doe,(919) 555-1234,jane@example.com,1 Main St,Raleigh,nc,27601,\"vip,donor\",America/New_York,blue\n\
               Bad,Phone,123,,,,,,,,\n\
               Sam,Smith,,sam@example.com,,,ZZ,,,,\n\
               John,Roe,919.555.9876,,,,,,friend;local,,42\n\
               Janet,,+1 919 555 1234,,,,,,new,,\n";
    let imp = import(&c, csv, "?tags=imported");
    assert_eq!(imp["status"], "completed", "{imp}");
    assert_eq!(imp["totalRows"], 5);
    assert_eq!(imp["processed"], 5);
    assert_eq!(imp["created"], 2);
    assert_eq!(imp["merged"], 1, "the in-file duplicate merges");
    assert_eq!(imp["failed"], 2);
    let errors = imp["errors"].as_array().unwrap();
    assert_eq!(errors[0]["row"], 3);
    assert_eq!(errors[0]["column"], "Mobile");
    assert!(errors[0]["error"].as_str().unwrap().contains("123"));
    assert_eq!(errors[1]["row"], 4);
    assert_eq!(errors[1]["column"], "State");

    let all = all_contacts(&c);
    assert_eq!(all.len(), 2, "a bad row writes nothing");
    let jane = by_phone(&c, "+19195551234");
    assert_eq!(
        jane["firstName"], "Janet",
        "a later duplicate overwrites like a create"
    );
    assert_eq!(jane["lastName"], "Doe", "an empty cell keeps the value");
    assert_eq!(jane["email"], "jane@example.com");
    assert_eq!(jane["address"], "1 Main St");
    assert_eq!(jane["city"], "Raleigh");
    assert_eq!(jane["state"], "NC");
    assert_eq!(jane["zip"], "27601");
    assert_eq!(jane["timezone"], "America/New_York");
    assert_eq!(jane["tags"], json!(["vip", "donor", "imported", "new"]));
    assert_eq!(jane["customFields"], json!({"Favorite Color": "blue"}));
    let john = by_phone(&c, "+19195559876");
    assert_eq!(john["tags"], json!(["friend", "local", "imported"]));
    assert_eq!(john["customFields"], json!({"Favorite Color": 42}));
    // The server's provider is local (offline): the import answers each new
    // phone in the batch that writes the contact, with no job.
    for contact in [&jane, &john] {
        assert_eq!(contact["lookupStatus"], "done", "{contact}");
        assert_eq!(contact["isTextable"], true, "{contact}");
        assert_eq!(contact["lineType"], "offline:fixedLineOrMobile");
    }
    for contact in [&jane, &john] {
        let id = contact["id"].as_str().unwrap();
        let job = c.get(&format!("/api/contacts/{id}/lookup"));
        assert_eq!(job.status, 200, "{}", job.text);
        assert_eq!(job.body["status"], "done", "{}", job.text);
        assert_eq!(job.body["attempts"], 1);
        assert_eq!(job.body["phone"], contact["phone"]);
        assert_eq!(job.body["updatedAt"], contact["lookedUpAt"]);
    }
    let queue = c.get("/api/lookups/status").body;
    for status in ["pending", "running", "done", "failed", "cancelled"] {
        assert_eq!(queue["jobs"][status], 0, "no job was queued: {queue}");
    }
    // A re-check queues a job for the same phone, which then is the latest.
    let id = jane["id"].as_str().unwrap();
    let r = c.post_empty(&format!("/api/contacts/{id}/lookup"));
    assert_eq!(r.status, 202, "{}", r.text);
    c.settle_lookups();
    let job = c.get(&format!("/api/contacts/{id}/lookup")).body;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(c.get("/api/lookups/status").body["jobs"]["done"], 1);
    // An imported contact's history starts with one event carrying its tags.
    let id = john["id"].as_str().unwrap();
    let tl = c.get(&format!("/api/contacts/{id}/timeline")).body;
    assert_eq!(tl["events"].as_array().unwrap().len(), 1, "{tl}");
    assert_eq!(tl["events"][0]["type"], "created");
    assert_eq!(
        tl["events"][0]["data"],
        json!({"source": "import", "tags": ["friend", "local", "imported"]})
    );
}

#[test]
fn multipart_import_with_explicit_mapping() {
    let server = Server::start();
    let c = server.client("acme");
    let csv = b"Cell #,Person,Notes,Code,Phone\n9195550001,Ann,skip me,A-1,ignored-number\n";
    let options = json!({
        "mapping": {"Cell #": "phone", "Person": "firstName", "Notes": null, "code": "customFields.memberCode", "Phone": "customFields.otherPhone"},
        "tags": ["mp"],
    });
    let r = post_multipart(&c, csv, Some(&options));
    assert_eq!(r.status, 202, "{}", r.text);
    let imp = finished(&c, r.body["importId"].as_str().unwrap());
    assert_eq!(imp["status"], "completed", "{imp}");
    assert_eq!(imp["created"], 1, "{imp}");
    let ann = by_phone(&c, "+19195550001");
    assert_eq!(ann["firstName"], "Ann");
    assert_eq!(ann["tags"], json!(["mp"]));
    assert_eq!(
        ann["customFields"],
        json!({"memberCode": "A-1", "otherPhone": "ignored-number"})
    );

    // Bad options and bad uploads are 4xx and create no import.
    let r = post_multipart(&c, csv, Some(&json!({"mode": "overwrite"})));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["field"], "options.mode");
    let r = post_multipart(
        &c,
        csv,
        Some(&json!({"mapping": {"Cell #": "phoneNumber"}})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let r = post_csv(&c, "", "");
    assert_eq!(r.status, 400, "{}", r.text);
    let r = c.post("/api/contacts/import", &json!({"phone": "9195550001"}));
    assert_eq!(r.status, 415, "{}", r.text);
    let list = c.get("/api/imports");
    assert_eq!(list.body["imports"].as_array().unwrap().len(), 1);

    // A mapping naming a column the file lacks fails the import clearly.
    let r = post_multipart(&c, csv, Some(&json!({"mapping": {"Nope": "email"}})));
    assert_eq!(r.status, 202);
    let imp = finished(&c, r.body["importId"].as_str().unwrap());
    assert_eq!(imp["status"], "failed");
    assert!(imp["message"].as_str().unwrap().contains("Nope"), "{imp}");
}

#[test]
fn delimiters_are_sniffed_and_encodings_detected() {
    let server = Server::start();
    let c = server.client("acme");
    let imp = import(
        &c,
        "phone;first name;city\n9195550011;Semi;\"Durham, NC\"\n",
        "",
    );
    assert_eq!(imp["created"], 1, "{imp}");
    assert_eq!(by_phone(&c, "+19195550011")["city"], "Durham, NC");

    let imp = import(
        &c,
        "phone\tfirst name\tlast name\n9195550012\tTab\tSeparated\n",
        "",
    );
    assert_eq!(imp["created"], 1, "{imp}");
    assert_eq!(by_phone(&c, "+19195550012")["lastName"], "Separated");

    let mut bom = b"\xEF\xBB\xBFphone,first name\n".to_vec();
    bom.extend_from_slice("9195550013,Zoë\n".as_bytes());
    let imp = import(&c, bom, "");
    assert_eq!(imp["created"], 1, "{imp}");
    assert_eq!(by_phone(&c, "+19195550013")["firstName"], "Zoë");

    // "José Müller" in Windows-1252.
    let cp1252 = b"phone,first name,last name\n9195550014,Jos\xE9,M\xFCller\n".to_vec();
    let imp = import(&c, cp1252, "");
    assert_eq!(imp["created"], 1, "{imp}");
    let j = by_phone(&c, "+19195550014");
    assert_eq!(j["firstName"], "José");
    assert_eq!(j["lastName"], "Müller");

    // An explicit delimiter wins over sniffing.
    let imp = import(&c, "phone|name\n9195550015|Pipe\n", "?delimiter=%7C");
    assert_eq!(imp["created"], 1, "{imp}");
}

#[test]
fn more_than_twenty_unmapped_columns_fail_the_row() {
    let server = Server::start();
    let c = server.client("acme");
    let extra: Vec<String> = (1..=21).map(|i| format!("extra{i}")).collect();
    let mut csv = format!("phone,{}\n", extra.join(","));
    let values: Vec<String> = (1..=21).map(|i| format!("v{i}")).collect();
    csv.push_str(&format!("9195550021,{}\n", values.join(",")));
    // Twenty values (one cell empty) are fine.
    csv.push_str(&format!("9195550022,{},\n", values[..20].join(",")));
    let imp = import(&c, csv, "");
    assert_eq!(imp["created"], 1, "{imp}");
    assert_eq!(imp["failed"], 1);
    let err = &imp["errors"][0];
    assert_eq!(err["row"], 2);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("at most 20 custom fields"),
        "{err}"
    );
    assert_eq!(
        by_phone(&c, "+19195550022")["customFields"]
            .as_object()
            .unwrap()
            .len(),
        20
    );
}

#[test]
fn an_import_never_opts_anyone_back_in() {
    let server = Server::start();
    let c = server.client("acme");
    let a = c.create(&json!({"phone": "9195550031"}));
    let b = c.create(&json!({"phone": "9195550032"}));
    for x in [&a, &b] {
        let id = x["id"].as_str().unwrap();
        assert_eq!(
            c.post_empty(&format!("/api/contacts/{id}/opt-out")).status,
            200
        );
    }
    let csv = "phone,isOptedIn,optedOut,first name\n\
               9195550031,true,,Again\n\
               9195550032,,false,Again\n\
               9195550033,,yes,New\n\
               9195550034,no,,New\n\
               9195550035,maybe,,New\n";
    let imp = import(&c, csv, "");
    assert_eq!(imp["merged"], 2, "{imp}");
    assert_eq!(imp["created"], 2, "{imp}");
    assert_eq!(imp["failed"], 1, "{imp}");
    assert_eq!(imp["errors"][0]["column"], "isOptedIn");
    for phone in ["+19195550031", "+19195550032"] {
        let x = by_phone(&c, phone);
        assert_eq!(x["isOptedIn"], false, "{x}");
        assert!(x["optedOutAt"].is_string());
        assert_eq!(x["firstName"], "Again", "the rest of the row still merges");
    }
    for phone in ["+19195550033", "+19195550034"] {
        assert_eq!(by_phone(&c, phone)["isOptedIn"], false, "{phone}");
    }
    // The import's own opt-outs show in the timeline-backed opted-out filter.
    let r = c.get("/api/contacts?optedOut=true&limit=200");
    assert_eq!(r.body["contacts"].as_array().unwrap().len(), 4);
}

#[test]
fn skip_existing_leaves_matches_untouched_but_merges_in_file_duplicates() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550041", "firstName": "Old", "tags": ["keep"]}));
    c.settle_lookups();
    let before = by_phone(&c, "+19195550041");
    let csv = "phone,first name,tags\n\
               9195550041,New,added\n\
               9195550042,Fresh,one\n\
               9195550042,,two\n";
    let imp = import(&c, csv, "?mode=skipExisting");
    assert_eq!(imp["skipped"], 1, "{imp}");
    assert_eq!(imp["created"], 1, "{imp}");
    assert_eq!(imp["merged"], 1, "{imp}");
    let after = by_phone(&c, "+19195550041");
    assert_eq!(after, before_without_outcome(before));
    assert_eq!(by_phone(&c, "+19195550042")["tags"], json!(["one", "two"]));
}

fn before_without_outcome(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("_outcome");
    v
}

fn big_csv(rows: usize, first: u64) -> String {
    let mut s = String::with_capacity(rows * 40);
    s.push_str("phone,first name,last name,tags\n");
    for i in 0..rows as u64 {
        s.push_str(&format!("+1919{:07},F{i},L{i},bulk\n", first + i));
    }
    s
}

#[test]
fn cancel_stops_an_import_and_keeps_committed_rows() {
    let server = Server::start();
    let c = server.client("acme");
    let r = post_csv(&c, big_csv(60_000, 2_000_000), "");
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["importId"].as_str().unwrap().to_string();
    wait_for(120, "a first committed batch", || {
        let b = c.get(&format!("/api/imports/{id}")).body;
        (b["processed"].as_i64().unwrap_or(0) > 0 || b["status"] == "completed").then_some(())
    });
    let r = c.delete(&format!("/api/imports/{id}"));
    if r.status == 409 {
        // This machine finished 60,000 rows before the cancel arrived.
        assert_eq!(finished(&c, &id)["status"], "completed");
        return;
    }
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    assert!(r.body["message"].as_str().unwrap().contains("stay"));
    let imp = finished(&c, &id);
    assert_eq!(imp["status"], "cancelled");
    let created = imp["created"].as_i64().unwrap();
    assert!(created > 0 && created < 60_000, "{imp}");
    let total = c.get("/api/contacts?includeTotal=true&limit=1").body["total"]
        .as_i64()
        .unwrap();
    assert_eq!(total, created, "exactly the committed rows stay");
    assert_eq!(c.delete(&format!("/api/imports/{id}")).status, 409);
}

#[test]
fn export_streams_csv_and_ndjson_with_filters() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550051", "firstName": "Ann", "state": "NC", "tags": ["vip", "donor"], "customFields": {"score": 7, "color": "red"}}));
    c.create(&json!({"email": "bo@example.com", "state": "SC", "tags": ["vip"]}));
    c.create(&json!({"phone": "9195550053", "state": "NC", "customFields": {"active": true}}));
    c.settle_lookups();

    let r = c.get("/api/contacts/export");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let (headers, rows) = parse_csv(&r.text);
    assert_eq!(rows.len(), 3);
    for h in [
        "id",
        "phone",
        "email",
        "firstName",
        "tags",
        "isOptedIn",
        "isStarred",
        "timezone",
    ] {
        assert!(
            headers.iter().any(|x| x == h),
            "{h} missing from {headers:?}"
        );
    }
    let custom: Vec<&String> = headers
        .iter()
        .filter(|h| h.starts_with("customFields."))
        .collect();
    assert_eq!(
        custom,
        [
            "customFields.active",
            "customFields.color",
            "customFields.score"
        ]
    );
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let ann = rows
        .iter()
        .find(|r| r[col("phone")] == "+19195550051")
        .unwrap();
    assert_eq!(ann[col("tags")], "vip;donor");
    assert_eq!(ann[col("customFields.score")], "7");
    assert_eq!(ann[col("customFields.active")], "");

    let r = c.get("/api/contacts/export?tags=vip&state=NC");
    let (headers, rows) = parse_csv(&r.text);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        headers
            .iter()
            .filter(|h| h.starts_with("customFields."))
            .count(),
        2,
        "only the keys of the exported contacts"
    );

    let r = c.get("/api/contacts/export?format=ndjson&hasEmail=false");
    assert_eq!(r.status, 200);
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert!(l["organizationId"].is_string() && l["email"].is_null());
        assert_eq!(
            l,
            &c.get(&format!("/api/contacts/{}", l["id"].as_str().unwrap()))
                .body
        );
    }

    assert_eq!(c.get("/api/contacts/export?segmentId=x").status, 404);
    for q in ["format=xml", "isTextable=maybe", "state=ZZ"] {
        let r = c.get(&format!("/api/contacts/export?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text);
    }
}

#[test]
fn exporting_then_importing_changes_nothing() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({
        "phone": "9195550061", "email": "Full@Example.com", "firstName": "Full", "lastName": "Record",
        "address": "1 Main St, Apt 2", "city": "Raleigh", "state": "NC", "zip": "02134",
        "tags": ["VIP", "donor"], "timezone": "America/New_York",
        "customFields": {"n": 42, "f": 2.5, "b": true, "s": "text", "numText": "42", "zipText": "02134", "nul": null}
    }));
    let starred = c.create(&json!({"email": "star@example.com", "customFields": {"b": false}}));
    let id = starred["id"].as_str().unwrap();
    c.put(
        &format!("/api/contacts/{id}"),
        &json!({"isStarred": true, "isArchived": true}),
    );
    let out = c.create(&json!({"phone": "+447911123456", "firstName": "Quote \"me\""}));
    c.post_empty(&format!(
        "/api/contacts/{}/opt-out",
        out["id"].as_str().unwrap()
    ));
    c.settle_lookups();
    let before = all_contacts(&c);

    let exported = c.get("/api/contacts/export").text;
    let imp = import(&c, exported.clone(), "");
    assert_eq!(imp["status"], "completed", "{imp}");
    assert_eq!(imp["merged"], 3, "{imp}");
    assert_eq!(imp["failed"], 0, "{imp}");
    assert_eq!(
        all_contacts(&c),
        before,
        "no field, type or updatedAt changed"
    );
    assert_eq!(c.get("/api/contacts/export").text, exported);

    // Into an empty organization, the same file recreates every field CSV
    // can carry (custom field values typed by their text).
    let other = server.client("other");
    let imp = import(&other, exported, "");
    assert_eq!(imp["created"], 3, "{imp}");
    let full = by_phone(&other, "+19195550061");
    assert_eq!(full["zip"], "02134");
    assert_eq!(full["tags"], json!(["VIP", "donor"]));
    assert_eq!(full["customFields"]["n"], 42);
    assert_eq!(full["customFields"]["b"], true);
    assert_eq!(full["customFields"]["zipText"], "02134");
    assert_eq!(by_phone(&other, "+447911123456")["isOptedIn"], false);
    let star = all_contacts(&other)
        .into_iter()
        .find(|x| x["email"] == "star@example.com")
        .unwrap();
    assert_eq!(
        (star["isStarred"].clone(), star["isArchived"].clone()),
        (json!(true), json!(true))
    );
}

#[test]
fn cli_import_and_export_work_beside_a_running_server() {
    let server = Server::start();
    let c = server.client("acme");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "phone,first name,state\n9195550071,Cli,NC\n9195550072,Two,SC\nbad,Row,NC\n",
    )
    .unwrap();
    let out = roster_cli(
        &[
            "import",
            file.to_str().unwrap(),
            "--org",
            "acme",
            "--tag",
            "cli",
            "--tag",
            "batch",
        ],
        &server.data_dir,
    );
    assert!(out.contains("completed"), "{out}");
    assert!(out.contains("2 created"), "{out}");
    assert!(out.contains("1 failed"), "{out}");
    assert!(out.contains("row 4"), "{out}");
    let x = by_phone(&c, "+19195550071");
    assert_eq!(x["tags"], json!(["cli", "batch"]));
    // The CLI does not know the server's provider: it queues a lookup per new
    // phone, and the running server's worker answers them.
    assert_eq!(
        server.sql_count("SELECT count(*) FROM lookup_jobs WHERE phone LIKE '+1919555007%'"),
        2
    );
    let x = common::wait_for(30, "the CLI import's lookups", || {
        let x = by_phone(&c, "+19195550071");
        (x["lookupStatus"] == "done").then_some(x)
    });
    assert_eq!(x["isTextable"], true, "{x}");
    // The import is visible through the API too.
    let list = c.get("/api/imports");
    assert_eq!(list.body["imports"][0]["created"], 2);

    let csv = roster_cli(
        &["export", "--org", "acme", "--state", "NC"],
        &server.data_dir,
    );
    let (_, rows) = parse_csv(&csv);
    assert_eq!(rows.len(), 1);
    let nd = roster_cli(
        &["export", "--org", "acme", "--format", "ndjson"],
        &server.data_dir,
    );
    assert_eq!(nd.lines().count(), 2);

    let status = Command::new(BIN)
        .args([
            "import",
            file.to_str().unwrap(),
            "--org",
            "nobody",
            "--data-dir",
        ])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("nobody"));
}

#[test]
fn imports_and_exports_are_scoped_to_the_organization() {
    let server = Server::start();
    let a = server.client("acme");
    let b = server.client("beta");
    let r = post_csv(&a, "phone\n9195550081\n", "");
    let id = r.body["importId"].as_str().unwrap().to_string();
    finished(&a, &id);
    assert_eq!(b.get(&format!("/api/imports/{id}")).status, 404);
    assert_eq!(b.delete(&format!("/api/imports/{id}")).status, 404);
    assert_eq!(b.get("/api/imports").body["imports"], json!([]));
    let (_, rows) = parse_csv(&b.get("/api/contacts/export").text);
    assert!(rows.is_empty());
    assert_eq!(b.get("/api/contacts/export?format=ndjson").text, "");
    assert_eq!(a.get("/api/imports/not-a-uuid").status, 404);

    let read = server.client_with_key(&server.create_key("acme", "read"));
    assert_eq!(post_csv(&read, "phone\n9195550082\n", "").status, 403);
    assert_eq!(read.get(&format!("/api/imports/{id}")).status, 200);
    assert_eq!(read.get("/api/contacts/export").status, 200);
}

#[test]
fn an_import_interrupted_by_a_crash_resumes_at_restart() {
    resumes_after(Server::kill9);
}

#[test]
fn an_import_paused_by_a_shutdown_resumes_at_restart() {
    resumes_after(|s| {
        assert!(
            s.terminate().success(),
            "the server stops cleanly mid-import"
        );
    });
}

fn resumes_after(stop: impl FnOnce(&mut Server)) {
    let mut server = Server::start();
    let c = server.client("acme");
    let r = post_csv(&c, big_csv(30_000, 3_000_000), "");
    let id = r.body["importId"].as_str().unwrap().to_string();
    wait_for(120, "a first batch", || {
        let b = c.get(&format!("/api/imports/{id}")).body;
        (b["processed"].as_i64().unwrap_or(0) > 0 || b["status"] == "completed").then_some(())
    });
    stop(&mut server);
    let dir = server.data_dir.clone();
    let restarted = Server::start_in(&dir, &[], &[]);
    let c = restarted.client_with_key(c.key.as_deref().unwrap());
    let imp = finished(&c, &id);
    assert_eq!(imp["status"], "completed", "{imp}");
    assert_eq!(imp["processed"], 30_000);
    assert_eq!(
        imp["created"].as_i64().unwrap() + imp["merged"].as_i64().unwrap(),
        30_000
    );
    let total = c.get("/api/contacts?includeTotal=true&limit=1").body["total"].clone();
    assert_eq!(total, 30_000, "no row lost, none doubled");
    let upload = dir.join("imports").join(format!("{id}.csv"));
    wait_for(30, "the upload to be removed", || {
        (!Path::new(&upload).exists()).then_some(())
    });
}

#[test]
fn uploads_past_the_configured_limit_are_413() {
    let server = Server::start_with(&["--max-upload-bytes", "100"], &[]);
    let c = server.client("acme");
    let r = post_csv(&c, big_csv(10, 5_000_000), "");
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code(), "payload_too_large");
    assert_eq!(post_csv(&c, "phone\n9195550091\n", "").status, 202);
    assert_eq!(
        c.get("/api/imports").body["imports"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let leftovers = std::fs::read_dir(server.data_dir.join("imports"))
        .unwrap()
        .count();
    assert!(leftovers <= 1, "a refused upload leaves no file");
}

#[test]
fn rows_failing_inside_the_write_path_fail_alone() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    c.create(&json!({"phone": "9195550101", "firstName": "A"}));
    let b = c.create(&json!({"email": "b@example.com", "firstName": "B"}));
    let full: serde_json::Map<String, Value> =
        (0..20).map(|i| (format!("k{i}"), json!("v"))).collect();
    c.create(&json!({"phone": "9195550103", "customFields": full}));
    c.settle_lookups();
    let a = by_phone(&c, "+19195550101");
    let f = by_phone(&c, "+19195550103");
    let csv = "phone,email,first name,extra\n\
               9195550104,,Before,\n\
               9195550101,b@example.com,Both,\n\
               9195550103,,Full,one too many\n\
               9195550105,,After,\n";
    let imp = import(&c, csv, "");
    assert_eq!(imp["created"], 2, "{imp}");
    assert_eq!(imp["failed"], 2, "{imp}");
    assert_eq!(imp["errors"][0]["row"], 3);
    assert!(
        imp["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("another"),
        "{imp}"
    );
    assert_eq!(imp["errors"][1]["row"], 4);
    assert!(
        imp["errors"][1]["error"].as_str().unwrap().contains("20"),
        "{imp}"
    );
    for before in [a, b, f] {
        let id = before["id"].as_str().unwrap();
        let now = c.get(&format!("/api/contacts/{id}")).body;
        assert_eq!(
            now,
            before_without_outcome(before),
            "a failed row changes nothing"
        );
    }
    assert_eq!(by_phone(&c, "+19195550104")["firstName"], "Before");
    assert_eq!(by_phone(&c, "+19195550105")["firstName"], "After");
    assert_eq!(all_contacts(&c).len(), 5);
}

#[test]
fn a_full_export_has_a_column_for_each_custom_field_still_in_use() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let other = server.client("beta");
    let a =
        c.create(&json!({"phone": "9195550401", "customFields": {"Chapter": "East", "Shoe": 9}}));
    let b = c.create(&json!({"phone": "9195550402", "customFields": {"Chapter": "West"}}));
    other.create(&json!({"phone": "9195550403", "customFields": {"Secret": "x"}}));
    let header = |c: &Client| {
        let r = c.get("/api/contacts/export");
        assert_eq!(r.status, 200);
        parse_csv(&r.text).0
    };
    let custom = |h: Vec<String>| -> Vec<String> {
        h.into_iter()
            .filter(|k| k.starts_with("customFields."))
            .collect()
    };
    assert_eq!(
        custom(header(&c)),
        ["customFields.Chapter", "customFields.Shoe"],
        "another organization's keys never show"
    );
    // Dropping the only "Shoe" drops its column; deleting a contact drops
    // the keys only it had.
    let a_id = a["id"].as_str().unwrap();
    c.put(
        &format!("/api/contacts/{a_id}"),
        &json!({"customFields": {"Chapter": "East"}}),
    );
    assert_eq!(custom(header(&c)), ["customFields.Chapter"]);
    c.put(
        &format!("/api/contacts/{a_id}"),
        &json!({"customFields": {"Level": "gold"}}),
    );
    assert_eq!(
        custom(header(&c)),
        ["customFields.Chapter", "customFields.Level"]
    );
    c.delete(&format!("/api/contacts/{a_id}"));
    c.delete(&format!("/api/contacts/{}", b["id"].as_str().unwrap()));
    assert!(custom(header(&c)).is_empty());
    assert_eq!(custom(header(&other)), ["customFields.Secret"]);
}

#[test]
fn a_phone_an_import_merges_in_is_answered_as_it_writes_and_is_the_latest_lookup() {
    let server = Server::start();
    let c = server.client("acme");
    let ada = c.create(&json!({"email": "ada@example.com", "phone": "9195550041"}));
    c.settle_lookups();
    let id = ada["id"].as_str().unwrap();
    let job = c.get(&format!("/api/contacts/{id}/lookup")).body;
    assert_eq!(job["phone"], "+19195550041", "{job}");
    assert_eq!(job["status"], "done", "{job}");
    // The row matches Ada by email and brings a new phone, answered in the
    // import's write: no job, and the older job is no longer the latest.
    let imp = import(&c, "email,phone\nada@example.com,9195550042\n", "");
    assert_eq!(imp["merged"], 1, "{imp}");
    let contact = c.get(&format!("/api/contacts/{id}")).body;
    assert_eq!(contact["phone"], "+19195550042");
    assert_eq!(contact["lookupStatus"], "done", "{contact}");
    assert_eq!(contact["isTextable"], true);
    let latest = c.get(&format!("/api/contacts/{id}/lookup"));
    assert_eq!(latest.body["phone"], "+19195550042", "{}", latest.text);
    assert_eq!(latest.body["status"], "done");
    assert_eq!(latest.body["attempts"], 1);
    assert_eq!(latest.body["updatedAt"], contact["lookedUpAt"]);
    let queue = c.get("/api/lookups/status").body;
    assert_eq!(queue["jobs"]["done"], 1, "only the create's job: {queue}");
    assert_eq!(queue["jobs"]["pending"], 0, "{queue}");
    // The merge's answer is in the timeline, as any write's is.
    let tl = c.get(&format!("/api/contacts/{id}/timeline")).body;
    let completed = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "lookup_completed")
        .count();
    assert_eq!(completed, 2, "{tl}");
    // Back to the first phone, answered again: the create's old job for it
    // is not the latest lookup.
    let imp = import(&c, "email,phone\nada@example.com,9195550041\n", "");
    assert_eq!(imp["merged"], 1, "{imp}");
    let contact = c.get(&format!("/api/contacts/{id}")).body;
    let latest = c.get(&format!("/api/contacts/{id}/lookup")).body;
    assert_eq!(latest["phone"], "+19195550041", "{latest}");
    assert_eq!(latest["updatedAt"], contact["lookedUpAt"], "{latest}");
}

#[test]
fn an_import_under_the_none_provider_records_each_phone_as_asked() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let imp = import(&c, "first name,phone\nAda,9195550051\n", "");
    assert_eq!(imp["created"], 1, "{imp}");
    let ada = by_phone(&c, "+19195550051");
    assert_eq!(
        ada["lookupStatus"],
        Value::Null,
        "none decides nothing: {ada}"
    );
    let id = ada["id"].as_str().unwrap();
    // No verdict to keep on the contact: a done job records the asking.
    let job = c.get(&format!("/api/contacts/{id}/lookup"));
    assert_eq!(job.status, 200, "{}", job.text);
    assert_eq!(job.body["status"], "done");
    assert_eq!(job.body["phone"], "+19195550051");
    assert_eq!(c.get("/api/lookups/status").body["jobs"]["done"], 1);
}
