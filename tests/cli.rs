//! The command line: keys and organizations, also while a server runs.

mod common;

use common::{Server, roster_cli};
use serde_json::json;

#[test]
fn keys_create_prints_the_key_last_and_it_works_on_a_running_server() {
    let server = Server::start();
    let out = roster_cli(
        &["keys", "create", "--org", "newco", "--access", "write"],
        &server.data_dir,
    );
    let key = out.lines().last().unwrap().trim();
    assert!(key.starts_with("rst_"), "{out}");
    let api = server.client_with_key(key);
    let c = api.create(&json!({"phone": "9195550801"}));
    let orgs = roster_cli(&["orgs", "list"], &server.data_dir);
    let line = orgs
        .lines()
        .find(|l| l.contains("newco"))
        .expect("newco listed");
    assert!(
        line.contains(c["organizationId"].as_str().unwrap()),
        "{orgs}"
    );
    assert!(
        line.split_whitespace().any(|w| w == "1"),
        "contact count shown: {line}"
    );

    // A second key for the same organization sees the same contacts.
    let other = roster_cli(
        &["keys", "create", "--org", "newco", "--access", "read"],
        &server.data_dir,
    );
    let reader = server.client_with_key(other.lines().last().unwrap().trim());
    assert_eq!(
        reader.get("/api/contacts?includeTotal=true").body["total"],
        1
    );
    let list = roster_cli(&["keys", "list"], &server.data_dir);
    assert!(
        list.lines().filter(|l| l.contains("newco")).count() == 2,
        "{list}"
    );
}

#[test]
fn cli_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args([
            "keys",
            "create",
            "--org",
            "x",
            "--access",
            "admin",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    // A data directory with a database, so that revoking finds no key.
    common::roster_cli(
        &["keys", "create", "--org", "x", "--access", "read"],
        dir.path(),
    );
    let out = std::process::Command::new(common::BIN)
        .args(["keys", "revoke", "no-such-key", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no active key"));
}

#[test]
fn healthz_answers_without_auth() {
    let server = Server::start();
    let r = server.anonymous().get("/healthz");
    assert_eq!(r.status, 200);
}
