//! The data directory and everything Roster writes are its owner's alone:
//! directories 0700, files 0600, backups included; a data directory that
//! others can read is warned about at start.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Server, roster_cli};
use serde_json::json;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `dir`, with its mode.
fn walk(dir: &Path, out: &mut Vec<(String, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push((path.display().to_string(), mode(&path)));
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

#[test]
fn the_data_directory_and_everything_in_it_is_private_to_its_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start_in(&data, &[], &[]);
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let r = c.post(
        "/api/contacts",
        &json!({"firstName": "Ada", "phone": "+14155550101"}),
    );
    assert_eq!(r.status, 201);
    let upload = c.post_multipart(
        "/api/contacts/import",
        b"first_name,email\nGrace,grace@example.com\n",
        None,
    );
    assert_eq!(upload.status, 202, "{}", upload.text);
    let backup = tmp.path().join("backup.db");
    roster_cli(&["backup", backup.to_str().unwrap()], &data);
    server.terminate();

    assert_eq!(mode(&data), 0o700);
    let mut files = Vec::new();
    walk(&data, &mut files);
    files.push((backup.display().to_string(), mode(&backup)));
    assert!(files.iter().any(|(p, _)| p.ends_with("/data/roster.db")));
    assert!(files.iter().any(|(p, _)| p.contains("/data/index/")));
    for (path, m) in &files {
        let want = if Path::new(path).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(*m, want, "{path} is {m:o}");
    }
}

#[test]
fn a_data_directory_others_can_read_is_warned_about_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("open");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start_in(&data, &[], &[]);
    let log = server.log();
    assert!(
        log.contains("can be read by other users of this machine (mode 755)"),
        "{log}"
    );
    assert!(log.contains("chmod 700"), "{log}");
    // One Roster created itself is private, and not warned about.
    let quiet = Server::start_in(&tmp.path().join("fresh"), &[], &[]);
    assert!(
        !quiet.log().contains("can be read by other users"),
        "{}",
        quiet.log()
    );
}
