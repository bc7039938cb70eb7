//! How the server serves the admin UI: content types, caching, compression,
//! security headers, path traversal, `/api/me`, the first-start banner, and
//! the release binary carrying its own copy of the UI.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Client, Server, roster_cli};
use reqwest::Method;
use serde_json::json;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn header(r: &common::Resp, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A request written byte for byte, so no client normalizes the path.
fn raw_get(base: &str, path: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn the_ui_is_served_with_types_caching_and_strict_headers() {
    let server = Server::start_without_lookups();
    let web = server.anonymous();
    let index = web.get("/");
    assert_eq!(index.status, 200);
    assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
    assert!(index.text.contains("/assets/js/main.js"));
    assert_eq!(header(&index, "content-security-policy"), CSP);
    assert_eq!(header(&index, "x-content-type-options"), "nosniff");
    assert_eq!(header(&index, "referrer-policy"), "no-referrer");
    assert_eq!(header(&index, "cache-control"), "no-cache");

    let etag = header(&index, "etag");
    assert!(etag.starts_with("W/\""), "{etag}");
    let again = Client::send(web.request(Method::GET, "/").header("If-None-Match", &etag));
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "content-security-policy"), CSP);
    let other = Client::send(
        web.request(Method::GET, "/")
            .header("If-None-Match", "W/\"0000\""),
    );
    assert_eq!(other.status, 200, "a stale ETag gets the file");

    for (path, kind, cache) in [
        ("/assets/js/main.js", "javascript", "no-cache"),
        ("/assets/app.css", "text/css", "no-cache"),
        ("/assets/favicon.svg", "image/svg+xml", "no-cache"),
        (
            "/assets/vendor/preact-11.2.0.mjs",
            "javascript",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let r = web.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            header(&r, "content-type").contains(kind),
            "{path}: {}",
            header(&r, "content-type")
        );
        assert_eq!(header(&r, "cache-control"), cache, "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "content-security-policy"), CSP, "{path}");
    }
}

#[test]
fn ui_files_are_compressed_for_clients_that_ask() {
    let server = Server::start_without_lookups();
    let web = server.anonymous();
    let plain = web.get("/assets/app.css");
    for encoding in ["gzip", "br"] {
        let r = Client::send(
            web.request(Method::GET, "/assets/app.css")
                .header("Accept-Encoding", encoding),
        );
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "content-encoding"), encoding);
        assert!(
            r.text.len() < plain.text.len() / 2,
            "{encoding} makes the stylesheet smaller"
        );
    }
}

#[test]
fn nothing_outside_the_assets_can_be_read_and_api_paths_stay_json() {
    let server = Server::start_without_lookups();
    for path in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/%2e%2e%2fsrc%2fmain.rs",
        "/assets/js/../../Cargo.toml",
        "/assets/js/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/..%5cCargo.toml",
        "/assets/%2fetc%2fpasswd",
        "/assets//etc/passwd",
        "/assets/vendor/VENDOR.md",
        "/assets/",
        "/../Cargo.toml",
        "/Cargo.toml",
        "/src/main.rs",
    ] {
        let (status, text) = raw_get(&server.base, path);
        assert_eq!(status, 404, "{path}: {text}");
        assert!(
            !text.contains("[package]") && !text.contains("fn main"),
            "{path}"
        );
    }
    let web = server.anonymous();
    for path in ["/api/nope", "/api/contacts/1/nope", "/api/assets/app.css"] {
        let r = web.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(header(&r, "content-type"), "application/json", "{path}");
        assert_eq!(r.code(), "not_found");
    }
}

#[test]
fn api_me_names_the_organization_access_and_key() {
    let server = Server::start_without_lookups();
    let writer = server.client("Riverside Tenants");
    let me = writer.get("/api/me");
    assert_eq!(me.status, 200);
    assert_eq!(me.body["organization"]["name"], "Riverside Tenants");
    assert_eq!(me.body["access"], "write");
    let org_id = me.body["organization"]["id"].as_str().unwrap();
    let contact = writer.create(&json!({"phone": "9195550100"}));
    assert_eq!(contact["organizationId"], org_id);
    let key_id = me.body["key"]["id"].as_str().unwrap();
    assert!(
        roster_cli(&["keys", "list"], &server.data_dir).contains(key_id),
        "the key id is the one `roster keys list` shows"
    );
    assert!(me.body["key"]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        me.text.find("rst_").is_none(),
        "the key itself is never echoed"
    );

    let reader = server.client_with_key(&server.create_key("Riverside Tenants", "read"));
    let me = reader.get("/api/me");
    assert_eq!(me.body["access"], "read");
    assert_eq!(me.body["organization"]["id"], org_id);

    assert_eq!(server.anonymous().get("/api/me").status, 401);
    roster_cli(&["keys", "revoke", key_id], &server.data_dir);
    assert_eq!(writer.get("/api/me").status, 401);
}

#[test]
fn the_first_start_banner_says_where_the_ui_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("roster listening on ");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let addr = lines
        .last()
        .unwrap()
        .trim_start_matches("roster listening on http://")
        .to_string();
    let text = lines.join("\n");
    assert!(
        text.contains(&format!(
            "Open the admin UI at http://{addr}/ and paste the key"
        )),
        "{text}"
    );
}

fn release_binary() -> Option<PathBuf> {
    let path = std::env::var_os("ROSTER_RELEASE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/roster"));
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "the release binary {} is missing: build it with `cargo build --release` to check that it carries the UI",
        path.display()
    );
    let required = std::env::var("ROSTER_REQUIRE_RELEASE_BIN").is_ok_and(|v| v == "1");
    assert!(!required, "{message}");
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

#[test]
fn the_release_binary_serves_the_ui_with_no_assets_folder_beside_it() {
    let Some(release) = release_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("roster");
    std::fs::copy(&release, &bin).unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut base = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("roster listening on ") {
            base = addr.to_string();
            break;
        }
    }
    assert!(!dir.path().join("assets").exists());
    let web = Client::new(&base, None);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    for (path, file) in [
        ("/", "index.html"),
        ("/assets/js/main.js", "js/main.js"),
        ("/assets/app.css", "app.css"),
        ("/assets/vendor/htm-3.1.1.mjs", "vendor/htm-3.1.1.mjs"),
    ] {
        let r = web.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.text,
            std::fs::read_to_string(source.join(file)).unwrap(),
            "{path} is the embedded copy of assets/{file} (rebuild the release binary after changing the UI)"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
