//! Limits and hostile clients: a slow client sending headers a byte at a
//! time, an idle keep-alive connection, more requests at once than allowed,
//! a request over its time, a key over its rate, CORS for listed origins
//! only, `Cache-Control: no-store`, `Location` on 201, and a log that names
//! key ids but never keys.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Client, Server};
use reqwest::Method;
use serde_json::json;

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

/// Whether the server has closed `s` (a read sees the end, or a reset).
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

/// Reads until the server closes the connection or `limit` passes.
fn read_answer(s: &mut TcpStream, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&out).contains("\r\n\r\n{") && out.ends_with(b"}") {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_client_sending_headers_a_byte_at_a_time_is_cut_off_and_others_are_served() {
    let server = Server::start_with(&["--header-timeout", "1s"], &[]);
    let mut slow = connect(&server);
    // 200 header bytes, one every 50 ms: ten seconds to send in full.
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(160)
    );
    let mut cut_off = false;
    for byte in request.as_bytes() {
        if slow.write_all(&[*byte]).is_err() || closed_by_server(&mut slow) {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the server waited for every header byte");
    // Meanwhile and after, a normal client is served.
    let r = server.anonymous().get("/healthz");
    assert_eq!(r.status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = Server::start_with(&["--header-timeout", "1s"], &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = read_answer(&mut s, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The connection stays open for a moment, then the server closes it;
    // the client sends nothing more.
    common::wait_for(20, "the idle connection to be closed", || {
        closed_by_server(&mut s).then_some(())
    });
}

/// Starts a JSON request whose body is announced but never sent, holding
/// the server's attention; returns the connection.
fn stalled_post(server: &Server, key: &str) -> TcpStream {
    let mut s = connect(server);
    write!(
        s,
        "POST /api/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"firstName\":"
    )
    .unwrap();
    s
}

#[test]
fn requests_beyond_the_concurrency_limit_are_shed_with_503_and_retry_after() {
    let server = Server::start_with(&["--max-concurrent-requests", "1"], &[]);
    let key = server.bootstrap_key.clone().unwrap();
    let c = server.client_with_key(&key);
    // A request that takes the one slot and keeps it (it was not itself
    // the one shed: it has no answer).
    let holder = common::wait_for(10, "a request to hold the slot", || {
        let mut s = stalled_post(&server, &key);
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Some(s),
            _ => None,
        }
    });
    // The next request is refused at once.
    let r = c.get("/api/contacts");
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.code(), "overloaded", "{}", r.text);
    assert_eq!(r.headers["retry-after"], "1");
    // /healthz is outside the API's limit.
    assert_eq!(server.anonymous().get("/healthz").status, 200);
    drop(holder);
    common::wait_for(10, "the slot to be free again", || {
        (c.get("/api/contacts").status == 200).then_some(())
    });
}

#[test]
fn a_request_over_its_time_is_answered_503_in_the_error_body() {
    let server = Server::start_with(&["--request-timeout", "1s"], &[]);
    let key = server.bootstrap_key.clone().unwrap();
    let mut s = stalled_post(&server, &key);
    let answer = read_answer(&mut s, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""code":"unavailable""#), "{answer}");
    assert!(answer.contains("took longer than 1s"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{answer}"
    );
}

#[test]
fn a_body_that_pauses_too_long_is_refused_and_nothing_is_written() {
    let server = Server::start_with(&["--body-timeout", "1s"], &[]);
    let key = server.bootstrap_key.clone().unwrap();
    let mut s = stalled_post(&server, &key);
    let answer = read_answer(&mut s, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("paused too long"), "{answer}");
    let c = server.client_with_key(&key);
    assert_eq!(c.get("/api/contacts").body["contacts"], json!([]));
}

#[test]
fn a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not() {
    let server = Server::start_with(&["--rate-limit", "3"], &[]);
    let busy = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let other = server.client("default");
    let mut limited = None;
    for _ in 0..20 {
        let r = busy.get("/api/contacts");
        match r.status {
            200 => {}
            429 => {
                limited = Some(r);
                break;
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    let r = limited.expect("the rate limit never answered");
    assert_eq!(r.code(), "rate_limited");
    let wait: u64 = r.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(wait >= 1, "{wait}");
    // The limit is the key's, not the organization's or the address's.
    assert_eq!(other.get("/api/contacts").status, 200);
    // An unknown key is not counted against anyone: it is a 401.
    assert_eq!(
        Client::new(&server.base, Some("rst_nope".into()))
            .get("/api/contacts")
            .status,
        401
    );
    // The allowance comes back.
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(busy.get("/api/contacts").status, 200);
}

#[test]
fn cors_headers_go_to_listed_origins_only_preflight_included() {
    let server = Server::start_with(&["--cors-origin", "https://app.example.org"], &[]);
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let send = |method: Method, origin: &str, extra: &[(&str, &str)]| {
        let mut rb = c.request(method, "/api/contacts").header("Origin", origin);
        for (k, v) in extra {
            rb = rb.header(*k, *v);
        }
        Client::send(rb)
    };
    let allowed = send(Method::GET, "https://app.example.org", &[]);
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example.org"
    );
    let refused = send(Method::GET, "https://evil.example.com", &[]);
    assert!(
        !refused.headers.contains_key("access-control-allow-origin"),
        "{:?}",
        refused.headers
    );
    let preflight = |origin: &str| {
        send(
            Method::OPTIONS,
            origin,
            &[
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type,x-organization-id",
                ),
            ],
        )
    };
    let ok = preflight("https://app.example.org");
    assert!(ok.status < 300, "{}", ok.status);
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example.org"
    );
    let allowed_headers = ok.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in ["authorization", "x-organization-id", "content-type"] {
        assert!(allowed_headers.contains(h), "{allowed_headers}");
    }
    assert!(
        ok.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let no = preflight("https://evil.example.com");
    assert!(!no.headers.contains_key("access-control-allow-origin"));

    // Off by default: no CORS headers for anyone.
    let plain = Server::start();
    let c = plain.client_with_key(plain.bootstrap_key.as_deref().unwrap());
    let r = Client::send(
        c.request(Method::GET, "/api/contacts")
            .header("Origin", "https://app.example.org"),
    );
    assert!(!r.headers.contains_key("access-control-allow-origin"));
}

#[test]
fn api_answers_are_not_cached_and_creates_say_where_the_new_thing_is() {
    let server = Server::start_with(&[], &[("RUST_LOG", "roster=debug,tower_http=debug")]);
    let key = server.bootstrap_key.clone().unwrap();
    let c = server.client_with_key(&key);
    let r = c.post(
        "/api/contacts",
        &json!({"firstName": "Ada", "email": "ada@example.com"}),
    );
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.headers["location"],
        format!("/api/contacts/{id}").as_str()
    );
    assert_eq!(r.headers["cache-control"], "no-store");
    let fetched = c.get(r.headers["location"].to_str().unwrap());
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.headers["cache-control"], "no-store");
    // A merge is a 200 with no Location.
    let merged = c.post(
        "/api/contacts",
        &json!({"email": "ada@example.com", "city": "London"}),
    );
    assert_eq!(merged.status, 200);
    assert!(!merged.headers.contains_key("location"));
    let note = c.post(
        &format!("/api/contacts/{id}/notes"),
        &json!({"body": "hello"}),
    );
    assert_eq!(note.status, 201);
    assert_eq!(
        note.headers["location"],
        format!(
            "/api/contacts/{id}/notes/{}",
            note.body["id"].as_str().unwrap()
        )
        .as_str()
    );
    let seg = c.post("/api/segments", &json!({"name": "All", "filters": {}}));
    assert_eq!(seg.status, 201, "{}", seg.text);
    let location = seg.headers["location"].to_str().unwrap().to_string();
    assert_eq!(c.get(&location).body["name"], "All");

    // The log names the key's id, never the key.
    let me = c.get("/api/me").body;
    let key_id = me["key"]["id"].as_str().unwrap_or_default().to_string();
    let log = server.log();
    assert!(!log.contains(&key), "the key is in the log");
    assert!(!log.contains(&key["rst_".len()..]), "the key is in the log");
    assert!(!key_id.is_empty(), "{me}");
    assert!(log.contains(&format!("key={key_id}")), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log file");
}
