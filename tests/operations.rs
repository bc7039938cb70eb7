//! Operations: backups (on demand, under writes, on a schedule), restores,
//! `roster check` and `--repair`, `roster status`, the data directory's
//! lock, and the command line's answers to mistakes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{BIN, Client, Server, roster_cli, wait_for};
use serde_json::{Value, json};

/// Runs `roster ARGS --data-dir DIR` and returns its output, whatever the
/// exit status.
fn roster(args: &[&str], data_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("ROSTER_DATA_DIR")
        .output()
        .expect("run roster")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open db");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

fn integrity(path: &Path) -> String {
    sqlite(path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

fn ids_in(path: &Path) -> std::collections::HashSet<String> {
    let conn = sqlite(path);
    let mut stmt = conn.prepare("SELECT id FROM contacts").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().expect("id").to_string()
}

/// Searches until the index answers with `id` among the hits for `term`.
fn wait_searchable(api: &Client, term: &str, id: &str) {
    wait_for(60, &format!("a search for {term} to find {id}"), || {
        let r = api.get(&format!("/api/contacts?search={term}"));
        (r.status == 200 && r.text.contains(id)).then_some(())
    });
}

#[test]
fn a_backup_under_a_stream_of_creates_holds_every_acknowledged_write_and_restores_searchable() {
    let server = Server::start();
    let api = server.client("Backups");
    let named = id_of(&api.create(&json!({
        "firstName": "Philippa", "lastName": "Wolfenbarger", "email": "pw@example.org"
    })));

    let acknowledged = Arc::new(Mutex::new(vec![named.clone()]));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (api, acked, stop) = (api.clone(), acknowledged.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let c = api.create(&json!({
                    "email": format!("stream{n}@example.org"),
                    "tags": ["stream"]
                }));
                acked.lock().unwrap().push(id_of(&c));
                n += 1;
            }
        })
    };
    wait_for(30, "a few hundred creates", || {
        (acknowledged.lock().unwrap().len() >= 300).then_some(())
    });
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("under-load.db");
    let out = roster_cli(&["backup", dest.to_str().unwrap()], &server.data_dir);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(out.starts_with("Backed up "), "{out}");
    assert!(out.contains("contacts to "), "{out}");

    assert_eq!(integrity(&dest), "ok");
    let saved = ids_in(&dest);
    let lost: Vec<&String> = before.iter().filter(|id| !saved.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged contacts are missing from the backup",
        lost.len(),
        before.len()
    );
    assert!(
        !tmp.path().join(".under-load.db.partial").exists(),
        "no temporary file is left behind"
    );

    // Restored into a new directory, a server serves the copy, search included.
    let restored_dir = tmp.path().join("restored");
    let out = roster_cli(&["restore", dest.to_str().unwrap()], &restored_dir);
    assert!(out.contains("Restored"), "{out}");
    let restored = Server::start_in(&restored_dir, &[], &[]);
    let again = Client::new(&restored.base, api.key.clone());
    for id in before.iter().step_by(37) {
        assert_eq!(
            again.get(&format!("/api/contacts/{id}")).status,
            200,
            "{id}"
        );
    }
    wait_searchable(&again, "Wolfenbarger", &named);
    let total = again.get("/api/contacts?tags=stream&includeTotal=true&limit=1");
    assert_eq!(total.body["total"].as_u64(), Some(saved.len() as u64 - 1));
}

#[test]
fn a_restore_waits_for_the_server_to_stop_and_keeps_the_database_it_replaces() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[], &[]);
    let api = server.client("Restores");
    let kept = id_of(&api.create(&json!({"email": "kept@example.org"})));
    let backup = tmp.path().join("b1.db");
    roster_cli(&["backup", backup.to_str().unwrap()], &dir);
    let later = id_of(&api.create(&json!({"email": "later@example.org"})));

    let refused = roster(&["restore", backup.to_str().unwrap()], &dir);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("running server"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(api.get(&format!("/api/contacts/{later}")).status, 200);

    // A file that is not a database is refused, and nothing changes.
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some bytes".repeat(200)).unwrap();
    server.terminate();
    let refused = roster(&["restore", junk.to_str().unwrap()], &dir);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not a readable Roster database"),
        "{}",
        stderr(&refused)
    );
    assert!(ids_in(&dir.join("roster.db")).contains(&later));

    let out = roster_cli(&["restore", backup.to_str().unwrap()], &dir);
    let aside: PathBuf = out
        .lines()
        .find_map(|l| l.strip_prefix("The database that was there is kept as "))
        .map(|p| PathBuf::from(p.trim_end_matches('.')))
        .unwrap_or_else(|| panic!("no mention of the previous database: {out}"));
    assert!(
        ids_in(&aside).contains(&later),
        "the replaced database keeps its last write"
    );
    assert!(!dir.join("index.version").exists(), "the index is rebuilt");

    let server = Server::start_in(&dir, &[], &[]);
    let api = Client::new(&server.base, api.key.clone());
    assert_eq!(api.get(&format!("/api/contacts/{kept}")).status, 200);
    assert_eq!(api.get(&format!("/api/contacts/{later}")).status, 404);
    wait_searchable(&api, "kept%40example.org", &kept);
}

/// A data directory with a few contacts, tags and custom fields, its server
/// stopped cleanly.
fn stopped_server_with_data() -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[], &[]);
    let api = server.client("Checks");
    let mut first = String::new();
    for n in 0..30 {
        let c = api.create(&json!({
            "email": format!("c{n}@example.org"),
            "lastName": format!("Checker{n}"),
            "tags": if n % 3 == 0 { json!(["Volunteer", "donor"]) } else { json!(["donor"]) },
            "customFields": {"shirt": "M"}
        }));
        if n == 0 {
            first = id_of(&c);
        }
    }
    wait_searchable(&api, "Checker0", &first);
    server.terminate();
    (tmp, dir, first)
}

/// Breaks one derived structure with `sql`, then: `check` fails naming
/// `section`, `check --repair` mends it, and a second check passes.
fn break_and_repair(dir: &Path, sql: &str, section: &str, detail: &str) {
    sqlite(&dir.join("roster.db")).execute_batch(sql).unwrap();
    let found = roster(&["check"], dir);
    assert!(!found.status.success(), "check passed after: {sql}");
    let report = stdout(&found);
    assert!(
        report.contains(&format!("{section:<20} ")) && report.contains("problems"),
        "{report}"
    );
    assert!(report.contains(detail), "{detail:?} not in:\n{report}");
    assert!(stderr(&found).contains("--repair"), "{}", stderr(&found));
    let repaired = roster(&["check", "--repair"], dir);
    assert!(
        repaired.status.success(),
        "{}\n{}",
        stdout(&repaired),
        stderr(&repaired)
    );
    assert!(stdout(&repaired).ends_with("No problems found.\n"));
    let again = roster(&["check"], dir);
    assert!(again.status.success(), "{}", stdout(&again));
}

#[test]
fn check_names_a_contact_whose_key_does_not_follow_its_id() {
    let (_tmp, dir, first) = stopped_server_with_data();
    assert!(roster(&["check"], &dir).status.success());
    // Keys order every listing's ties as ids do; an edit by hand can break it.
    sqlite(&dir.join("roster.db"))
        .execute_batch(&format!(
            "UPDATE contact_tags SET contact = (SELECT max(key) + 1 FROM contacts)
              WHERE contact = (SELECT key FROM contacts WHERE id = '{first}');
             UPDATE contacts SET key = (SELECT max(key) + 1 FROM contacts) WHERE id = '{first}';"
        ))
        .unwrap();
    let found = roster(&["check"], &dir);
    assert!(!found.status.success());
    let report = stdout(&found);
    assert!(
        report.contains("1 contacts have a key that does not follow their id's order")
            && report.contains(&format!("contact {first}")),
        "{report}"
    );
}

#[test]
fn check_finds_each_broken_derived_structure_and_repair_mends_it_without_touching_contacts() {
    let (_tmp, dir, first) = stopped_server_with_data();
    let clean = roster(&["check"], &dir);
    assert!(
        clean.status.success(),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert!(stdout(&clean).contains("database integrity   ok"));
    let contacts_before: String = sqlite(&dir.join("roster.db"))
        .query_row(
            "SELECT group_concat(id || tags || custom_fields || updated_at, '|') FROM contacts",
            [],
            |r| r.get(0),
        )
        .unwrap();

    break_and_repair(
        &dir,
        "UPDATE organizations SET contact_count = contact_count + 3",
        "kept counts",
        "counts 33 contacts but has 30",
    );
    break_and_repair(
        &dir,
        "UPDATE tag_counts SET count = 99 WHERE tag = 'volunteer'",
        "kept counts",
        "tag 'volunteer' of organization 'Checks' counts 99 contacts but 10 carry it",
    );
    break_and_repair(
        &dir,
        "DELETE FROM field_counts",
        "kept counts",
        "custom field 'shirt'",
    );
    break_and_repair(
        &dir,
        &format!(
            "DELETE FROM contact_tags WHERE tag = 'donor'
               AND contact = (SELECT key FROM contacts WHERE id = '{first}')"
        ),
        "tag index",
        &format!("contact {first}: the tag index lacks [\"donor\"]"),
    );
    break_and_repair(
        &dir,
        "INSERT INTO contact_tags (org, tag, contact, updated_at) SELECT org, 'ghost', 1000000, 0 FROM organizations",
        "tag index",
        "'ghost' for a contact that does not exist",
    );
    // A tag row out of its contact's time would list it out of order.
    break_and_repair(
        &dir,
        &format!(
            "UPDATE contact_tags SET updated_at = 0
              WHERE contact = (SELECT key FROM contacts WHERE id = '{first}')"
        ),
        "tag index",
        "another updated_at than the contact for 1 contacts",
    );
    // The index holds the contact as it was before this (unrecorded) change.
    break_and_repair(
        &dir,
        &format!("UPDATE contacts SET updated_at = updated_at + 1 WHERE id = '{first}'"),
        "search index",
        &format!("1 contacts are in the search index as they were before a later change: {first}"),
    );
    std::fs::remove_dir_all(dir.join("index")).unwrap();
    break_and_repair(
        &dir,
        "SELECT 1",
        "search index",
        "the search index cannot be read",
    );
    break_and_repair(
        &dir,
        &format!(
            "UPDATE lookup_jobs SET status = 'cancelled'
              WHERE contact = (SELECT key FROM contacts WHERE id = '{first}');
             UPDATE contacts SET phone = '+19195550123', lookup_status = 'pending' WHERE id = '{first}'"
        ),
        "queues",
        "1 contacts wait for a textability lookup that no job will run",
    );

    // The contacts are as they were, but for the two changes made above.
    let contacts_after: String = sqlite(&dir.join("roster.db"))
        .query_row(
            "SELECT group_concat(id || tags || custom_fields || (updated_at - (id = ?1)), '|') FROM contacts",
            [&first],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(contacts_before, contacts_after);

    // And the server agrees with the rebuilt counts and index.
    let server = Server::start_in(&dir, &[], &[]);
    let api = server.client("Checks");
    // The rebuilt counts keep each tag's first spelling.
    let tags = api.get("/api/tags").body;
    assert_eq!(
        tags,
        json!({"tags": [{"tag": "donor", "count": 30}, {"tag": "Volunteer", "count": 10}]})
    );
    let total = api.get("/api/contacts?tags=volunteer&includeTotal=true&limit=1");
    assert_eq!(total.body["total"], 10);
    wait_searchable(&api, "Checker0", &first);
}

#[test]
fn repair_waits_for_the_server_but_check_runs_beside_it() {
    let server = Server::start();
    let api = server.client("Live");
    api.create(&json!({"email": "live@example.org", "tags": ["x"]}));
    let live = roster(&["check"], &server.data_dir);
    assert!(live.status.success(), "{}{}", stdout(&live), stderr(&live));
    server.sql("UPDATE organizations SET contact_count = 7");
    let refused = roster(&["check", "--repair"], &server.data_dir);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("running server"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        server.sql_count("SELECT max(contact_count) FROM organizations"),
        7
    );
}

#[test]
fn status_shows_the_server_contacts_queues_and_last_backup() {
    let server = Server::start();
    let api = server.client("Status Org");
    for n in 0..3 {
        api.create(&json!({"email": format!("s{n}@example.org")}));
    }
    let before = roster_cli(&["status"], &server.data_dir);
    assert!(before.contains("running (pid "), "{before}");
    assert!(before.contains("last backup     never"), "{before}");
    assert!(
        before.contains(&format!("schema version  {}", roster::db::SCHEMA_VERSION)),
        "{before}"
    );
    let tmp = tempfile::tempdir().unwrap();
    roster_cli(&["backup", tmp.path().to_str().unwrap()], &server.data_dir);
    let after = roster_cli(&["status"], &server.data_dir);
    assert!(
        after
            .lines()
            .any(|l| l.trim_start().starts_with("3  Status Org")),
        "{after}"
    );
    let last = after
        .lines()
        .find(|l| l.starts_with("last backup"))
        .unwrap();
    assert!(last.contains("3 contacts"), "{last}");
    assert!(last.contains(tmp.path().to_str().unwrap()), "{last}");
    assert!(after.contains("search outbox"), "{after}");
}

#[test]
fn scheduled_backups_follow_their_interval_and_keep_only_the_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let backups = tmp.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    // Not a backup: never removed.
    std::fs::write(backups.join("notes.txt"), "mine").unwrap();
    let dir = tmp.path().join("data");
    let b = backups.to_str().unwrap();
    let args = [
        "--backup-dir",
        b,
        "--backup-interval",
        "1s",
        "--backup-keep",
        "2",
    ];
    let mut server = Server::start_in(&dir, &args, &[]);
    let api = server.client("Scheduled");
    let id = id_of(&api.create(&json!({"email": "sched@example.org"})));
    let list = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("roster-") && n.ends_with(".db"))
            .collect();
        names.sort();
        names
    };
    let mut seen = std::collections::BTreeSet::new();
    wait_for(60, "four scheduled backups", || {
        seen.extend(list());
        (seen.len() >= 4).then_some(())
    });
    server.terminate();
    let left = list();
    assert_eq!(left.len(), 2, "{left:?}");
    let newest: Vec<&String> = seen.iter().rev().take(2).collect();
    assert!(
        left.iter().all(|n| newest.contains(&n) || n > newest[0]),
        "the oldest are removed: {left:?} of {seen:?}"
    );
    assert!(backups.join("notes.txt").exists());
    for name in &left {
        let path = backups.join(name);
        assert_eq!(integrity(&path), "ok");
        assert!(ids_in(&path).contains(&id), "{name} holds the contact");
    }
    let status = roster_cli(&["status"], &dir);
    assert!(status.contains(left.last().unwrap()), "{status}");
}

#[test]
fn command_line_mistakes_get_one_plain_sentence_and_change_nothing_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let absent = tmp.path().join("absent");

    let bad_listen = Command::new(BIN)
        .args(["serve", "--listen", "nonsense", "--data-dir"])
        .arg(&absent)
        .env_remove("ROSTER_LISTEN")
        .output()
        .unwrap();
    assert!(!bad_listen.status.success());
    assert!(
        stderr(&bad_listen).contains("HOST:PORT"),
        "{}",
        stderr(&bad_listen)
    );
    assert!(!stderr(&bad_listen).contains("internal error"));

    let csv = tmp.path().join("people.csv");
    std::fs::write(&csv, "email\na@example.org\n").unwrap();
    for args in [
        vec!["import", csv.to_str().unwrap(), "--org", "nobody"],
        vec!["export", "--org", "nobody"],
        vec!["status"],
        vec!["check"],
        vec!["backup", tmp.path().to_str().unwrap()],
        vec!["keys", "list"],
        vec!["orgs", "list"],
        vec!["reindex"],
    ] {
        let out = roster(&args, &absent);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(err.contains("no Roster database in"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!absent.exists(), "{args:?} created the data directory");
    }

    let server = Server::start();
    let second = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("in use by a running server"),
        "{}",
        stderr(&second)
    );
    let unknown_org = roster(
        &["import", csv.to_str().unwrap(), "--org", "nobody"],
        &server.data_dir,
    );
    assert!(stderr(&unknown_org).contains("no organization named 'nobody'"));
    let nowhere = roster(&["backup", "/no/such/dir/x.db"], &server.data_dir);
    assert!(
        stderr(&nowhere).contains("no directory /no/such/dir"),
        "{}",
        stderr(&nowhere)
    );
    let log = server.log();
    assert!(
        !log.contains("needs a rebuild"),
        "a new data directory is no problem:\n{log}"
    );
    assert!(!log.contains("WARN"), "{log}");
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[], &[]);
    server
        .client("Future")
        .create(&json!({"email": "f@example.org"}));
    server.terminate();
    let db = dir.join("roster.db");
    sqlite(&db)
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let bytes = std::fs::read(&db).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("schema version 99")
            && err.contains(&format!("up to {}", roster::db::SCHEMA_VERSION)),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the database is untouched"
    );
}

#[test]
fn the_systemd_unit_passes_systemd_analyze() {
    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: systemd-analyze is not installed; the unit file is not verified");
        return;
    };
    assert!(found.status.success());
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/roster.service"
    ))
    .unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/roster serve"));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("roster.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/roster", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).trim().is_empty(), "{}", stderr(&out));
}
