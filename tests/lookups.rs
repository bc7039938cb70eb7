//! Textability lookups: the queue, the twilio provider against a fake Lookup
//! v2 server, the offline and none providers, and the lookup endpoints.

mod common;
mod fake;

use common::{Client, Server, wait_for};
use fake::{Fake, Reply};
use serde_json::{Value, json};

/// A Roster server using the fake as its Twilio, with quick retries.
fn with_fake(fake: &Fake, args: &[&str], token: Option<&str>) -> Server {
    let mut env = fake.env();
    if let Some(t) = token {
        env.retain(|(k, _)| *k != "ROSTER_TWILIO_AUTH_TOKEN");
        env.push(("ROSTER_TWILIO_AUTH_TOKEN", t.to_string()));
    }
    let mut all = vec!["--lookup-retry-base-ms", "20", "--lookup-rate", "0"];
    all.extend_from_slice(args);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with(&all, &env)
}

fn restart(dir: &std::path::Path, fake: &Fake, args: &[&str]) -> Server {
    let env = fake.env();
    let mut all = vec!["--lookup-retry-base-ms", "20", "--lookup-rate", "0"];
    all.extend_from_slice(args);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_in(dir, &all, &env)
}

fn create_phone(c: &Client, phone: &str) -> Value {
    c.create(&json!({ "phone": phone, "firstName": "Pat" }))
}

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_string()
}

/// Waits until the contact's lookup is no longer pending; returns it.
fn settled(c: &Client, id: &str) -> Value {
    wait_for(30, "the lookup to settle", || {
        let r = c.get(&format!("/api/contacts/{id}"));
        assert_eq!(r.status, 200, "{}", r.text);
        (r.body["lookupStatus"] != "pending").then_some(r.body)
    })
}

fn status(c: &Client) -> Value {
    let r = c.get("/api/lookups/status");
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn jobs(c: &Client, which: &str) -> i64 {
    status(c)["jobs"][which].as_i64().expect("count")
}

fn db(server: &Server) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        server.data_dir.join("roster.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open db")
}

fn completed_events(c: &Client, contact: &str) -> usize {
    c.event_kinds(contact)
        .iter()
        .filter(|k| *k == "lookup_completed")
        .count()
}

#[test]
fn new_contact_is_pending_then_mobile_is_textable() {
    let fake = Fake::start();
    fake.hold_all(true);
    let server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let created = create_phone(&c, "+14155550101");
    assert_eq!(created["isTextable"], Value::Null);
    assert_eq!(created["lookupStatus"], "pending");
    assert_eq!(created["lineType"], Value::Null);
    fake.release();
    let done = settled(&c, &id(&created));
    assert_eq!(done["lookupStatus"], "done");
    assert_eq!(done["isTextable"], true);
    assert_eq!(done["lineType"], "mobile");
    assert!(done["lookedUpAt"].is_string());
    assert_eq!(fake.count("+14155550101"), 1);
    // isTextable is a filter.
    let r = c.get("/api/contacts?isTextable=true");
    assert_eq!(
        r.body["contacts"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
}

#[test]
fn landline_invalid_and_unknown_numbers_are_not_textable() {
    let fake = Fake::start();
    fake.always("+14155550102", Reply::Type("landline"));
    fake.always("+14155550103", Reply::Invalid);
    fake.always("+14155550104", Reply::Status(404));
    fake.always("+14155550105", Reply::Type("nonFixedVoip"));
    fake.always("+14155550106", Reply::Type("fixedVoip"));
    let server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let expect = [
        ("+14155550102", false, Value::from("landline")),
        ("+14155550103", false, Value::Null),
        ("+14155550104", false, Value::Null),
        ("+14155550105", true, Value::from("nonFixedVoip")),
        ("+14155550106", false, Value::from("fixedVoip")),
    ];
    let ids: Vec<String> = expect
        .iter()
        .map(|(p, _, _)| id(&create_phone(&c, p)))
        .collect();
    for ((phone, textable, line), id) in expect.iter().zip(&ids) {
        let done = settled(&c, id);
        assert_eq!(done["lookupStatus"], "done", "{phone}");
        assert_eq!(done["isTextable"], *textable, "{phone}");
        assert_eq!(done["lineType"], *line, "{phone}");
        // Permanent answers are not retried.
        assert_eq!(fake.count(phone), 1, "{phone}");
    }
}

#[test]
fn textable_types_are_configurable() {
    let fake = Fake::start();
    fake.always("+14155550107", Reply::Type("fixedVoip"));
    let server = with_fake(
        &fake,
        &["--lookup-textable-types", "mobile,fixedVoip"],
        None,
    );
    let c = server.client("acme");
    let done = settled(&c, &id(&create_phone(&c, "+14155550107")));
    assert_eq!(done["isTextable"], true);
}

#[test]
fn rate_limited_twice_then_success_is_retried() {
    let fake = Fake::start();
    fake.script("+14155550110", &[Reply::Status(429), Reply::Status(429)]);
    let server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let done = settled(&c, &id(&create_phone(&c, "+14155550110")));
    assert_eq!(done["lookupStatus"], "done");
    assert_eq!(done["isTextable"], true);
    assert_eq!(fake.count("+14155550110"), 3);
    let job = c.get(&format!(
        "/api/contacts/{}/lookup",
        done["id"].as_str().unwrap()
    ));
    assert_eq!(job.body["status"], "done");
    assert_eq!(job.body["attempts"], 3);
}

#[test]
fn server_errors_until_exhaustion_fail_and_keep_the_error() {
    let fake = Fake::start();
    fake.always("+14155550111", Reply::Status(500));
    fake.always("+14155550112", Reply::Status(503));
    let server = with_fake(&fake, &["--lookup-max-attempts", "3"], None);
    let c = server.client("acme");
    let a = id(&create_phone(&c, "+14155550111"));
    let b = id(&create_phone(&c, "+14155550112"));
    for (contact, phone, err) in [
        (&a, "+14155550111", "HTTP 500"),
        (&b, "+14155550112", "HTTP 503"),
    ] {
        let done = settled(&c, contact);
        assert_eq!(done["lookupStatus"], "failed");
        assert_eq!(done["isTextable"], Value::Null);
        assert_eq!(fake.count(phone), 3);
        let job = c.get(&format!("/api/contacts/{contact}/lookup"));
        assert_eq!(job.status, 200);
        assert_eq!(job.body["status"], "failed");
        assert_eq!(job.body["attempts"], 3);
        assert_eq!(job.body["lastError"], err);
    }
    assert_eq!(jobs(&c, "failed"), 2);
}

#[test]
fn bad_credentials_pause_the_worker_without_spending_jobs() {
    let fake = Fake::start();
    let mut server = with_fake(&fake, &[], Some("wrong-token"));
    let c = server.client("acme");
    let first = id(&create_phone(&c, "+14155550120"));
    let extra: Vec<String> = (0..3)
        .map(|i| id(&create_phone(&c, &format!("+1415555012{}", 5 + i))))
        .collect();
    let st = wait_for(30, "the worker to pause", || {
        let s = status(&c);
        (s["paused"] == true).then_some(s)
    });
    assert_eq!(st["provider"], "twilio");
    assert!(
        st["pausedReason"].as_str().unwrap().contains("credentials"),
        "{st}"
    );
    let second = id(&create_phone(&c, "+14155550121"));
    let st = wait_for(30, "requests in flight to settle", || {
        let s = status(&c);
        (s["jobs"]["running"] == 0).then_some(s)
    });
    assert_eq!(st["jobs"]["pending"], 5, "{st}");
    assert_eq!(st["jobs"]["failed"], 0, "{st}");
    for contact in [&first, &second] {
        let got = c.get(&format!("/api/contacts/{contact}"));
        assert_eq!(got.body["lookupStatus"], "pending");
        let job = c.get(&format!("/api/contacts/{contact}/lookup"));
        assert_eq!(
            job.body["attempts"], 0,
            "no attempt was spent: {}",
            job.text
        );
    }
    let log = server.log();
    assert_eq!(log.matches("lookups paused").count(), 1, "{log}");
    // Restarted with the right token, every job runs.
    let dir = server.data_dir.clone();
    let key = c.key.clone().unwrap();
    server.terminate();
    let server = restart(&dir, &fake, &[]);
    let c = server.client_with_key(&key);
    assert_eq!(settled(&c, &first)["isTextable"], true);
    assert_eq!(settled(&c, &second)["isTextable"], true);
    for contact in &extra {
        assert_eq!(settled(&c, contact)["isTextable"], true);
    }
    assert_eq!(status(&c)["paused"], false);
    drop(server);
}

#[test]
fn a_slow_response_times_out_and_is_retried() {
    let fake = Fake::start();
    fake.script("+14155550130", &[Reply::Slow(10_000)]);
    let server = with_fake(&fake, &["--lookup-timeout-ms", "1000"], None);
    let c = server.client("acme");
    let contact = id(&create_phone(&c, "+14155550130"));
    let done = settled(&c, &contact);
    assert_eq!(done["lookupStatus"], "done");
    assert_eq!(done["isTextable"], true);
    assert_eq!(fake.count("+14155550130"), 2);
    let job = c.get(&format!("/api/contacts/{contact}/lookup"));
    assert_eq!(job.body["attempts"], 2);
    assert_eq!(job.body["lastError"], "timed out");
}

#[test]
fn sigterm_stops_the_worker_and_an_interrupted_lookup_runs_after_restart() {
    let fake = Fake::start();
    fake.script("+14155550180", &[Reply::Hold]);
    let mut server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let key = c.key.clone().unwrap();
    let x = id(&create_phone(&c, "+14155550180"));
    wait_for(30, "the lookup in flight", || {
        (fake.count("+14155550180") == 1).then_some(())
    });
    let exit = server.terminate();
    assert!(exit.success(), "{exit:?}");
    let log = server.log();
    assert!(log.contains("lookup worker stopped"), "{log}");
    let dir = server.data_dir.clone();
    let server2 = restart(&dir, &fake, &[]);
    let c = server2.client_with_key(&key);
    let done = settled(&c, &x);
    assert_eq!(done["isTextable"], true);
    assert_eq!(fake.count("+14155550180"), 2);
    assert_eq!(completed_events(&c, &x), 1);
    drop(server);
}

#[test]
fn kill9_with_a_thousand_jobs_queued_then_restart_completes_each_once() {
    let fake = Fake::start();
    fake.hold_all(true);
    let mut server = with_fake(&fake, &["--lookup-concurrency", "8"], None);
    let c = server.client("acme");
    let key = c.key.clone().unwrap();
    let phones: Vec<String> = (0..1000)
        .map(|i| format!("+1212555{:04}", 1000 + i))
        .collect();
    let ids: Vec<String> = phones.iter().map(|p| id(&create_phone(&c, p))).collect();
    assert_eq!(jobs(&c, "pending") + jobs(&c, "running"), 1000);
    // Let some finish, then kill mid-stream.
    fake.set_delay_ms(10);
    fake.release();
    wait_for(60, "some lookups to finish", || {
        (jobs(&c, "done") >= 100).then_some(())
    });
    server.kill9();
    let interrupted: i64 = db(&server)
        .query_row(
            "SELECT count(*) FROM lookup_jobs WHERE status = 'running'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let before = fake.counts();
    fake.set_delay_ms(0);

    let dir = server.data_dir.clone();
    let server2 = restart(&dir, &fake, &["--lookup-concurrency", "8"]);
    let c = server2.client_with_key(&key);
    wait_for(120, "every lookup to finish", || {
        let s = status(&c);
        (s["jobs"]["done"] == 1000).then_some(())
    });
    let s = status(&c);
    assert_eq!(s["jobs"]["pending"], 0, "{s}");
    assert_eq!(s["jobs"]["running"], 0, "{s}");
    assert_eq!(s["jobs"]["failed"], 0, "{s}");
    for contact in &ids {
        let got = c.get(&format!("/api/contacts/{contact}"));
        assert_eq!(got.body["lookupStatus"], "done");
        assert_eq!(got.body["isTextable"], true);
    }
    let conn = db(&server2);
    let per_contact: Vec<i64> = conn
        .prepare(
            "SELECT count(e.seq) FROM contacts c LEFT JOIN timeline_events e
                ON e.contact = c.key AND e.type = 'lookup_completed' GROUP BY c.id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(per_contact.len(), 1000);
    assert!(
        per_contact.iter().all(|&n| n == 1),
        "a contact was looked up twice"
    );
    // Only jobs in flight at the kill went to the provider again.
    let after = fake.counts();
    let asked_again = phones
        .iter()
        .filter(|p| before.get(*p).copied().unwrap_or(0) > 0 && after[*p] > before[*p])
        .count() as i64;
    assert!(
        asked_again <= interrupted,
        "{asked_again} re-asked, {interrupted} were running"
    );
    assert!(phones.iter().all(|p| after[p] <= 2));
    drop(server);
}

#[test]
fn a_phone_change_while_pending_looks_up_only_the_new_number() {
    let fake = Fake::start();
    fake.script("+14155550140", &[Reply::Hold]);
    fake.always("+14155550141", Reply::Type("landline"));
    let server = with_fake(&fake, &["--lookup-concurrency", "1"], None);
    let c = server.client("acme");
    let blocker = id(&create_phone(&c, "+14155550140"));
    wait_for(30, "the blocker in flight", || {
        (fake.count("+14155550140") == 1).then_some(())
    });
    let x = id(&create_phone(&c, "+14155550141"));
    let r = c.put(
        &format!("/api/contacts/{x}"),
        &json!({ "phone": "+14155550142" }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["lookupStatus"], "pending");
    fake.release();
    settled(&c, &blocker);
    let done = settled(&c, &x);
    assert_eq!(done["phone"], "+14155550142");
    assert_eq!(done["isTextable"], true);
    assert_eq!(done["lineType"], "mobile");
    assert_eq!(
        fake.count("+14155550141"),
        0,
        "the old number was looked up"
    );
    assert_eq!(fake.count("+14155550142"), 1);
}

#[test]
fn an_answer_for_a_phone_changed_in_flight_is_discarded() {
    let fake = Fake::start();
    fake.script("+14155550150", &[Reply::Hold]);
    let server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let x = id(&create_phone(&c, "+14155550150"));
    wait_for(30, "the lookup in flight", || {
        (fake.count("+14155550150") == 1).then_some(())
    });
    fake.always("+14155550151", Reply::Type("landline"));
    let r = c.put(
        &format!("/api/contacts/{x}"),
        &json!({ "phone": "+14155550151" }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    fake.release();
    let done = settled(&c, &x);
    assert_eq!(done["phone"], "+14155550151");
    assert_eq!(done["isTextable"], false);
    assert_eq!(done["lineType"], "landline");
    wait_for(30, "the queue to drain", || {
        (jobs(&c, "running") == 0 && jobs(&c, "pending") == 0).then_some(())
    });
    let again = c.get(&format!("/api/contacts/{x}"));
    assert_eq!(
        again.body["lineType"], "landline",
        "a stale answer overwrote the new one"
    );
    assert_eq!(completed_events(&c, &x), 1);
}

#[test]
fn deleting_a_contact_with_a_pending_or_running_job_resurrects_nothing() {
    let fake = Fake::start();
    fake.script("+14155550160", &[Reply::Hold]);
    let server = with_fake(&fake, &["--lookup-concurrency", "1"], None);
    let c = server.client("acme");
    let running = id(&create_phone(&c, "+14155550160"));
    wait_for(30, "the lookup in flight", || {
        (fake.count("+14155550160") == 1).then_some(())
    });
    let pending = id(&create_phone(&c, "+14155550161"));
    for contact in [&running, &pending] {
        let r = c.delete(&format!("/api/contacts/{contact}"));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    fake.release();
    wait_for(30, "the queue to drain", || {
        (jobs(&c, "running") == 0 && jobs(&c, "pending") == 0).then_some(())
    });
    // A deleted contact's jobs go with it, the running one too: its
    // answer finds no job to settle.
    for which in ["pending", "running", "done", "failed", "cancelled"] {
        assert_eq!(jobs(&c, which), 0, "{which}");
    }
    for contact in [&running, &pending] {
        assert_eq!(c.get(&format!("/api/contacts/{contact}")).status, 404);
    }
    assert_eq!(fake.count("+14155550161"), 0);
    let conn = db(&server);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    let events: i64 = conn
        .query_row("SELECT count(*) FROM timeline_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, 0);
}

#[test]
fn offline_provider_classifies_from_number_metadata() {
    let server = Server::start();
    let c = server.client("acme");
    let cases = [
        ("+14155552671", true, "offline:fixedLineOrMobile"),
        ("+447911123456", true, "offline:mobile"),
        ("+442079460000", false, "offline:fixedLine"),
        ("+18005550199", false, "offline:tollFree"),
    ];
    let ids: Vec<String> = cases
        .iter()
        .map(|(p, _, _)| id(&create_phone(&c, p)))
        .collect();
    for ((phone, textable, line), contact) in cases.iter().zip(&ids) {
        let done = settled(&c, contact);
        assert_eq!(done["lookupStatus"], "done", "{phone}");
        assert_eq!(done["isTextable"], *textable, "{phone}");
        assert_eq!(done["lineType"], *line, "{phone}");
        // Settled once, in one run, with one event.
        let job = c.get(&format!("/api/contacts/{contact}/lookup"));
        assert_eq!(job.body["status"], "done", "{phone}");
        assert_eq!(job.body["attempts"], 1, "{phone}");
        assert_eq!(completed_events(&c, contact), 1, "{phone}");
    }
    let s = status(&c);
    assert_eq!(s["provider"], "offline");
    assert_eq!(s["jobs"]["done"], 4);
    assert_eq!(s["jobs"]["running"], 0);
    assert_eq!(s["jobs"]["pending"], 0);
}

#[test]
fn none_provider_leaves_textability_unknown() {
    let server = Server::start_with(&["--lookup-provider", "none"], &[]);
    let c = server.client("acme");
    let contact = id(&create_phone(&c, "+14155552671"));
    let done = settled(&c, &contact);
    assert_eq!(done["lookupStatus"], Value::Null);
    assert_eq!(done["isTextable"], Value::Null);
    assert_eq!(done["lineType"], Value::Null);
    assert_eq!(done["lookedUpAt"], Value::Null);
    let s = status(&c);
    assert_eq!(s["provider"], "none");
    assert_eq!(s["jobs"]["done"], 1);
}

#[test]
fn requeue_endpoint_looks_up_again() {
    let fake = Fake::start();
    let server = with_fake(&fake, &[], None);
    let c = server.client("acme");
    let contact = id(&create_phone(&c, "+14155550170"));
    assert_eq!(settled(&c, &contact)["isTextable"], true);
    fake.always("+14155550170", Reply::Type("landline"));
    let r = c.post_empty(&format!("/api/contacts/{contact}/lookup"));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["id"], contact.as_str());
    assert_eq!(r.body["lookupStatus"], "pending");
    let done = settled(&c, &contact);
    assert_eq!(done["isTextable"], false);
    assert_eq!(fake.count("+14155550170"), 2);

    // A contact without a phone has nothing to look up.
    let email_only = c.create(&json!({ "email": "pat@example.com" }));
    assert_eq!(email_only["lookupStatus"], Value::Null);
    let r = c.post_empty(&format!("/api/contacts/{}/lookup", id(&email_only)));
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "conflict");
    assert_eq!(
        c.get(&format!("/api/contacts/{}/lookup", id(&email_only)))
            .status,
        404
    );

    // Read keys cannot re-queue; other organizations see nothing.
    let reader = server.client_with_key(&server.create_key("acme", "read"));
    let r = reader.post_empty(&format!("/api/contacts/{contact}/lookup"));
    assert_eq!(r.status, 403, "{}", r.text);
    let other = server.client("globex");
    assert_eq!(
        other
            .post_empty(&format!("/api/contacts/{contact}/lookup"))
            .status,
        404
    );
    assert_eq!(
        other.get(&format!("/api/contacts/{contact}/lookup")).status,
        404
    );
    assert_eq!(
        other.post_empty("/api/contacts/not-a-uuid/lookup").status,
        404
    );
    let mine = status(&c);
    let theirs = status(&other);
    assert_eq!(mine["jobs"]["done"], 2, "{mine}");
    let total: i64 = theirs["jobs"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total, 0, "{theirs}");
    assert_eq!(c.anonymous_status(), 401);
}

trait Anon {
    fn anonymous_status(&self) -> u16;
}

impl Anon for Client {
    fn anonymous_status(&self) -> u16 {
        Client::new(&self.base, None)
            .get("/api/lookups/status")
            .status
    }
}

#[test]
fn twilio_without_credentials_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--lookup-provider",
            "twilio",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("ROSTER_TWILIO_ACCOUNT_SID")
        .env_remove("ROSTER_TWILIO_AUTH_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ROSTER_TWILIO_ACCOUNT_SID"), "{err}");
}

#[test]
fn connection_errors_are_retried_then_fail() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = Server::start_with(
        &["--lookup-max-attempts", "2", "--lookup-retry-base-ms", "20"],
        &[
            ("ROSTER_LOOKUP_PROVIDER", "twilio"),
            ("ROSTER_TWILIO_ACCOUNT_SID", fake::SID),
            ("ROSTER_TWILIO_AUTH_TOKEN", fake::TOKEN),
            ("ROSTER_TWILIO_BASE_URL", &base),
        ],
    );
    let c = server.client("acme");
    let contact = id(&create_phone(&c, "+14155550190"));
    let done = settled(&c, &contact);
    assert_eq!(done["lookupStatus"], "failed");
    let job = c.get(&format!("/api/contacts/{contact}/lookup"));
    assert_eq!(job.body["attempts"], 2);
    assert_eq!(job.body["lastError"], "connection failed");
}

#[test]
fn superseded_lookup_history_is_pruned_and_the_latest_answer_stays() {
    let server = Server::start_with(&["--lookup-history", "1s"], &[]);
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let ada = c.create(&json!({"firstName": "Ada", "phone": "+14155550101"}));
    let ada = ada["id"].as_str().unwrap().to_string();
    let gone = c.create(&json!({"firstName": "Gone", "phone": "+14155550102"}));
    let gone = gone["id"].as_str().unwrap().to_string();
    c.settle_lookups();
    // Looked up twice more: three jobs, two of them history.
    for _ in 0..2 {
        let r = c.post_empty(&format!("/api/contacts/{ada}/lookup"));
        assert!(r.status < 300, "{}", r.text);
        c.settle_lookups();
    }
    let key = |id: &str| server.sql_count(&format!("SELECT key FROM contacts WHERE id = '{id}'"));
    let (ada_key, gone_key) = (key(&ada), key(&gone));
    let jobs = |key: i64| {
        server.sql_count(&format!(
            "SELECT count(*) FROM lookup_jobs WHERE contact = {key}"
        ))
    };
    assert_eq!(jobs(gone_key), 1);
    assert_eq!(c.delete(&format!("/api/contacts/{gone}")).status, 200);
    assert_eq!(jobs(gone_key), 0, "a deleted contact's job goes with it");
    assert_eq!(jobs(ada_key), 3);
    wait_for(30, "the history to be pruned", || {
        (jobs(ada_key) == 1).then_some(())
    });
    // The latest job and the contact's answer are still there.
    let latest = c.get(&format!("/api/contacts/{ada}/lookup"));
    assert_eq!(latest.status, 200, "{}", latest.text);
    assert_eq!(latest.body["status"], "done");
    let contact = c.get(&format!("/api/contacts/{ada}")).body;
    assert_eq!(contact["lookupStatus"], "done");
    assert!(contact["isTextable"].is_boolean());
    // Timelines are the user's data: none of it went.
    let events = c.get(&format!("/api/contacts/{ada}/timeline")).body["events"]
        .as_array()
        .unwrap()
        .len();
    assert!(events >= 1);
}

#[test]
fn statistics_follow_the_answers_of_a_cli_imports_lookups() {
    // `roster import` queues a job per phone and takes the planner's
    // statistics before any is answered: then no contact is known to be
    // not textable. Once the server's worker has answered them, the
    // statistics say how many are.
    let server = Server::start();
    let c = server.client("acme");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    let mut csv = String::from("phone,first name\n");
    for i in 0..1_200 {
        // Every fourth a toll-free number: not textable.
        let area = if i % 4 == 0 { 800 } else { 919 };
        csv.push_str(&format!("+1{area}{:07},P{i}\n", 2_000_000 + i));
    }
    std::fs::write(&file, csv).unwrap();
    let out = common::roster_cli(
        &["import", file.to_str().unwrap(), "--org", "acme"],
        &server.data_dir,
    );
    assert!(out.contains("1200 created"), "{out}");
    let stat = || {
        server.sql_count(
            "SELECT coalesce((SELECT CAST(stat AS INTEGER) FROM sqlite_stat1
                               WHERE idx = 'contacts_org_not_textable'), 0)",
        )
    };
    assert_eq!(stat(), 0, "taken before any answer");
    common::wait_for(60, "the lookups answered", || {
        let r = c.get("/api/contacts?isTextable=false&includeTotal=true&limit=1");
        (r.body["total"] == 300).then_some(())
    });
    common::wait_for(30, "statistics of the answered lookups", || {
        (stat() > 0).then_some(())
    });
}
