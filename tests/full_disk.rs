//! A full disk, on a small tmpfs mounted for the test: writes answer 507
//! and change nothing, reads go on, `/healthz` and `roster status` say why,
//! the log says so once, and once space is back everything recovers by
//! itself, the search index writer included. Also: a data directory the
//! server cannot write is a plain error at start.
//!
//! Mounting needs root (or a user namespace); where the machine refuses,
//! these tests skip with a loud message, unless `ROSTER_REQUIRE_MOUNT=1`
//! (set by CI where mounting works) makes that a failure.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Client, Server, roster_cli, wait_for};
use serde_json::{Value, json};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount {
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` (`16m`) at `path` with `extra` options, or
    /// says why it cannot.
    fn tmpfs(path: &Path, size: &str, extra: &str) -> Result<Self, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let options = format!("size={size}{extra}");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The mount, or None after saying loudly why the test does not run.
fn mount_or_skip(test: &str, path: &Path, size: &str, extra: &str) -> Option<Mount> {
    match Mount::tmpfs(path, size, extra) {
        Ok(m) => Some(m),
        Err(why) => {
            assert!(
                std::env::var("ROSTER_REQUIRE_MOUNT").as_deref() != Ok("1"),
                "ROSTER_REQUIRE_MOUNT=1 but a tmpfs cannot be mounted: {why}"
            );
            eprintln!(
                "\n!!!!!!!!\n!!! SKIPPED {test}: cannot mount a tmpfs here ({why}).\n\
                 !!! Run as root (CI does) to test the full-disk behaviour.\n!!!!!!!!\n"
            );
            None
        }
    }
}

/// Fills the file system holding `dir` until it refuses another byte.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    // Whatever is left, byte by byte-sized pieces.
    for size in [4096, 512, 1] {
        while file.write_all(&chunk[..size]).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

/// `i` spelled in letters (0 -> "a", 12 -> "bc"), for names search
/// tells apart.
fn letters(i: usize) -> String {
    i.to_string()
        .bytes()
        .map(|d| char::from(b'a' + (d - b'0')))
        .collect()
}

fn person(first: &str, last: &str) -> Value {
    json!({
        "firstName": first,
        "lastName": last,
        "email": format!("{}@example.com", last.to_lowercase()),
    })
}

fn search_ids(c: &Client, q: &str) -> Option<Vec<String>> {
    let r = c.get(&format!("/api/contacts?limit=200&search={q}"));
    (r.status == 200).then(|| common::page_ids(&r.body))
}

fn healthz(c: &Client) -> Value {
    let r = c.get("/healthz");
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

const TOKEN: &str = "metrics-token-for-the-full-disk-test";

/// The value of the sample named exactly `series` in `GET /metrics`.
fn metric(server: &Server, series: &str) -> f64 {
    let text = reqwest::blocking::Client::new()
        .get(format!("{}/metrics", server.base))
        .bearer_auth(TOKEN)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .expect("scrape");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}

fn degraded_parts(h: &Value) -> Vec<String> {
    h["problems"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p["part"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_full_disk_refuses_writes_with_507_and_everything_recovers_when_space_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let Some(_mount) = mount_or_skip("the full-disk test", &data, "24m", "") else {
        return;
    };
    let mut server = Server::start_in(&data, &["--metrics-token", TOKEN], &[]);
    let c = server.client_with_key(server.bootstrap_key.as_deref().expect("bootstrap key"));

    // Contacts from before the disk filled, searchable.
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for i in 0..200 {
        let last = format!("Before{}", letters(i));
        let r = c.post("/api/contacts", &person("Ada", &last));
        assert_eq!(r.status, 201, "{}", r.text);
        acknowledged.push((r.body["id"].as_str().unwrap().to_string(), last));
    }
    let first = acknowledged[0].clone();
    wait_for(30, "the first contacts to be searchable", || {
        search_ids(&c, &first.1).filter(|ids| ids.contains(&first.0))
    });

    // Once the journal is copied back into the database, SQLite reuses its
    // space: writes still fit there after the disk fills, but the search
    // index's new files do not.
    let conn = rusqlite::Connection::open(data.join("roster.db")).unwrap();
    wait_for(30, "the journal to be copied back", || {
        let (log, copied): (i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        (log > 0 && log == copied).then_some(())
    });
    drop(conn);
    let filler = fill(&data);

    // Writes go on while SQLite reuses its journal's space, then stop with
    // a 507; every 201 among them is a write that must survive.
    let mut refused = None;
    for i in 0..20_000 {
        let last = format!("During{}", letters(i));
        let r = c.post("/api/contacts", &person("Grace", &last));
        match r.status {
            201 => acknowledged.push((r.body["id"].as_str().unwrap().to_string(), last)),
            507 => {
                refused = Some(r);
                break;
            }
            other => panic!("a create on a full disk answered {other}: {}", r.text),
        }
    }
    let refused = refused.expect("a full disk never refused a create");
    assert_eq!(refused.code(), "insufficient_storage", "{}", refused.text);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("disk holding the data directory is full"),
        "{}",
        refused.text
    );

    // Refused creates leave nothing behind (counted at the end). An update
    // needs less room and may still fit in the journal: either it is
    // refused and changes nothing, or it is acknowledged and kept.
    for _ in 0..5 {
        let r = c.post("/api/contacts", &person("Refused", "Refused"));
        assert_eq!(r.status, 507, "{}", r.text);
    }
    let (id, last) = acknowledged[0].clone();
    let r = c.put(
        &format!("/api/contacts/{id}"),
        &json!({"firstName": "Changed"}),
    );
    let first_name = match r.status {
        200 => "Changed",
        507 => "Ada",
        other => panic!("an update on a full disk answered {other}: {}", r.text),
    };
    // Reads are served.
    let r = c.get(&format!("/api/contacts/{id}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["firstName"], first_name);
    assert_eq!(r.body["lastName"], last.as_str());
    let r = c.get("/api/contacts?limit=5");
    assert_eq!(r.status, 200, "{}", r.text);

    // /healthz and `roster status` say what is wrong.
    let h = healthz(&c);
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(degraded_parts(&h).contains(&"database".to_string()), "{h}");
    let status = roster_cli(&["status"], &data);
    assert!(status.contains("health          DEGRADED"), "{status}");
    assert!(status.contains("database: the disk holding"), "{status}");
    assert!(status.contains("(LOW)"), "{status}");
    assert_eq!(metric(&server, r#"roster_degraded{part="database"}"#), 1.0);
    // The writes acknowledged after the disk filled cannot reach the
    // index: its writer fails and says so.
    assert!(
        acknowledged.len() > 200,
        "some writes fit in the journal's space"
    );
    wait_for(30, "the search index writer to report its failure", || {
        degraded_parts(&healthz(&c))
            .contains(&"searchIndex".to_string())
            .then_some(())
    });
    assert_eq!(
        metric(&server, r#"roster_degraded{part="search_index"}"#),
        1.0
    );
    // The changes it could not apply wait, and the metric shows them
    // waiting longer at each scrape.
    assert!(metric(&server, "roster_search_outbox_rows") > 0.0);
    metric(&server, "roster_search_outbox_oldest_seconds");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert!(metric(&server, "roster_search_outbox_oldest_seconds") >= 1.0);

    // Space comes back: everything recovers with no restart.
    std::fs::remove_file(&filler).unwrap();
    wait_for(30, "the server to report itself healthy", || {
        (healthz(&c)["status"] == "ok").then_some(())
    });
    let r = c.post("/api/contacts", &person("Hedy", "Afterwards"));
    assert_eq!(r.status, 201, "{}", r.text);
    acknowledged.push((
        r.body["id"].as_str().unwrap().to_string(),
        "Afterwards".to_string(),
    ));
    // Every acknowledged contact is listed and searchable, the ones from
    // the full period and the one after it included.
    for (id, last) in acknowledged.iter().rev().take(40) {
        wait_for(30, &format!("{last} to be searchable"), || {
            search_ids(&c, last).filter(|ids| ids.contains(id))
        });
    }
    assert_eq!(metric(&server, r#"roster_degraded{part="database"}"#), 0.0);
    assert_eq!(
        metric(&server, r#"roster_degraded{part="search_index"}"#),
        0.0
    );
    let listed = c.all_contacts("");
    assert_eq!(
        listed.len(),
        acknowledged.len(),
        "every acknowledged create, no other"
    );

    // The log says it once per episode, not once per refused request.
    let log = server.log();
    let episodes = log
        .lines()
        .filter(|l| l.contains("degraded") && l.contains("database"))
        .count();
    assert_eq!(episodes, 1, "one line for the episode:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("recovered") && l.contains("database")),
        "{log}"
    );
    assert!(!log.contains("internal error"), "{log}");

    server.terminate();
    // Whole, and every count, index and queue agrees with the rows.
    let report = common::roster_cli(&["check"], &data);
    assert!(report.contains("No problems found."), "{report}");
}

#[test]
fn a_data_directory_the_server_cannot_write_is_a_plain_error_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("readonly");
    let Some(_mount) = mount_or_skip("the read-only data directory test", &data, "1m", ",ro")
    else {
        return;
    };
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("ROSTER_DATA_DIR")
        .output()
        .expect("run roster serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served from a read-only directory");
    assert!(
        stderr.contains("cannot be written") && stderr.contains("Read-only file system"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
}
