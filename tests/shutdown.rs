//! Shutdown on SIGTERM: it stops accepting, lets a request in flight finish
//! (its write is there after a restart), is not held up by idle keep-alive
//! connections, and gives up on a stuck request at the drain deadline.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Client, Server, wait_for};

/// Reads one HTTP/1.1 response (headers and a Content-Length body).
fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "the connection closed before a response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Polls until nothing accepts connections on `addr` any more.
fn wait_until_not_accepting(addr: &str) {
    wait_for(30, "the listener to close", || {
        TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200))
            .is_err()
            .then_some(())
    });
}

#[test]
fn a_request_in_flight_at_sigterm_is_answered_and_its_write_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &["--drain-secs", "60"], &[]);
    let key = server.create_key("Draining", "write");
    let body = br#"{"email": "in-flight@example.org", "firstName": "Inflight"}"#;
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST /api/contacts HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(10);
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    // The request is in flight: its body is half sent.
    std::thread::sleep(Duration::from_millis(200));
    server.send_sigterm();
    wait_until_not_accepting(&server.addr());
    stream.write_all(rest).unwrap();
    let answer = read_response(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    drop(stream);
    let status = server.wait_exit(60).expect("the server exits");
    assert!(status.success(), "{status:?}");

    let again = Server::start_in(&dir, &[], &[]);
    let api = Client::new(&again.base, Some(key));
    let list = api.get("/api/contacts?limit=10");
    assert!(list.text.contains("in-flight@example.org"), "{}", list.text);
}

#[test]
fn an_idle_keep_alive_connection_does_not_hold_up_shutdown() {
    // A drain deadline of an hour: only idle connections closing at once
    // lets the server exit within the wait below.
    let mut server = Server::start_with(&["--drain-secs", "3600"], &[]);
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: roster\r\n\r\n").unwrap();
    let answer = read_response(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.send_sigterm();
    let status = server
        .wait_exit(30)
        .expect("the server exits with an idle connection open");
    assert!(status.success(), "{status:?}");
    drop(idle);
}

#[test]
fn a_stuck_request_is_cut_off_at_the_drain_deadline() {
    let mut server = Server::start_with(&["--drain-secs", "1"], &[]);
    let key = server.create_key("Stuck", "write");
    let mut stuck = TcpStream::connect(server.addr()).unwrap();
    write!(
        stuck,
        "POST /api/contacts HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"email\""
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.send_sigterm();
    let status = server
        .wait_exit(30)
        .expect("the server exits though the request never finishes");
    assert!(status.success(), "{status:?}");
    drop(stuck);
}
