//! Test harness: runs the real `roster` binary on port 0 with a temporary
//! data directory and speaks HTTP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::{Client as Http, RequestBuilder};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// The contract's field set of a contact, every one sent on every contact.
pub const DOCUMENTED_FIELDS: &[&str] = &[
    "id",
    "organizationId",
    "phone",
    "email",
    "firstName",
    "lastName",
    "address",
    "city",
    "state",
    "zip",
    "tags",
    "customFields",
    "isTextable",
    "isOptedIn",
    "optedOutAt",
    "timezone",
    "isStarred",
    "isArchived",
    "createdAt",
    "updatedAt",
];

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data_dir: PathBuf,
    /// The write key `serve` printed when it bootstrapped the `default`
    /// organization (None when the data directory already had keys).
    pub bootstrap_key: Option<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// A fresh server on a fresh temporary data directory.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    pub fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        // As private as a data directory Roster makes itself.
        #[cfg(unix)]
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod the data directory");
        let mut s = Self::start_in(&dir, args, envs);
        s._tmp = Some(tmp);
        s
    }

    /// A server on an existing data directory (for restart tests). The
    /// directory is not deleted when this server is dropped.
    pub fn start_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(dir))
            .expect("server log");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env_remove("ROSTER_DATA_DIR")
            .env_remove("ROSTER_LISTEN")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn roster serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut key = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let t = line.trim();
                if t.starts_with("rst_") {
                    key = Some(t.to_string());
                }
                if let Some(addr) = t.strip_prefix("roster listening on ")
                    && !sent
                {
                    let _ = tx.send((addr.to_string(), key.clone()));
                    sent = true;
                }
            }
        });
        let (base, bootstrap_key) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start listening within 60 s");
        let server = Server {
            child: Some(child),
            base,
            data_dir: dir.to_path_buf(),
            bootstrap_key,
            _tmp: None,
        };
        server.wait_healthy();
        server
    }

    pub fn wait_healthy(&self) {
        let http = Http::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send()
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "server never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `roster keys create` against this server's data directory and
    /// returns the key.
    pub fn create_key(&self, org: &str, access: &str) -> String {
        let out = roster_cli(
            &["keys", "create", "--org", org, "--access", access],
            &self.data_dir,
        );
        out.lines().last().expect("key line").trim().to_string()
    }

    /// A client authenticated with a new write key for `org`.
    pub fn client(&self, org: &str) -> Client {
        Client::new(&self.base, Some(self.create_key(org, "write")))
    }

    pub fn client_with_key(&self, key: &str) -> Client {
        Client::new(&self.base, Some(key.to_string()))
    }

    pub fn anonymous(&self) -> Client {
        Client::new(&self.base, None)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().expect("wait")
    }

    /// SIGTERM, without waiting.
    pub fn send_sigterm(&self) {
        let child = self.child.as_ref().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
    }

    /// Waits up to `secs` for the process to exit; None if it is still
    /// running then.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Where the server on `data_dir` writes its log (stderr): beside the
/// directory, so that it outlives it.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.parent().unwrap_or(data_dir).join(format!(
        "{}.server.log",
        data_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("roster")
    ))
}

impl Server {
    /// What this server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(log_path(&self.data_dir)).unwrap_or_default()
    }
}

/// Runs a `roster` subcommand with `--data-dir`, asserting success; returns
/// stdout.
pub fn roster_cli(args: &[&str], data_dir: &Path) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("ROSTER_DATA_DIR")
        .output()
        .expect("run roster");
    assert!(
        out.status.success(),
        "roster {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A blocking HTTP client with an optional bearer key.
#[derive(Clone)]
pub struct Client {
    http: Http,
    pub base: String,
    pub key: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The error code of a contract error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Client {
    pub fn new(base: &str, key: Option<String>) -> Self {
        Self {
            http: Http::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            base: base.to_string(),
            key,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = &self.key {
            rb = rb.bearer_auth(k);
        }
        rb
    }

    pub fn send(rb: RequestBuilder) -> Resp {
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    /// The kinds of a contact's timeline events, newest first (one page of
    /// 200).
    pub fn event_kinds(&self, contact: &str) -> Vec<String> {
        let r = self.get(&format!("/api/contacts/{contact}/timeline?limit=200"));
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["type"].as_str().expect("type").to_string())
            .collect()
    }

    /// How many contacts carry `tag` by `GET /api/tags` (0 when it is not
    /// listed).
    pub fn tag_count(&self, tag: &str) -> i64 {
        let r = self.get("/api/tags");
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|t| t["tag"] == tag)
            .map_or(0, |t| t["count"].as_i64().expect("count"))
    }

    pub fn get(&self, path: &str) -> Resp {
        Self::send(self.request(Method::GET, path))
    }

    pub fn delete(&self, path: &str) -> Resp {
        Self::send(self.request(Method::DELETE, path))
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        Self::send(self.request(Method::POST, path).json(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        Self::send(self.request(Method::PUT, path).json(body))
    }

    /// POST with no body (action endpoints such as opt-out).
    pub fn post_empty(&self, path: &str) -> Resp {
        Self::send(self.request(Method::POST, path))
    }

    /// POSTs a multipart body: `file` as a CSV file part, and `options`
    /// (JSON) as an `options` part when given.
    pub fn post_multipart(&self, path: &str, file: &[u8], options: Option<&Value>) -> Resp {
        let boundary = "roster-test-boundary-7d1e";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
        if let Some(o) = options {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{o}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Self::send(
            self.request(Method::POST, path)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
    }

    /// Creates a contact, asserting 200 or 201; returns the contact.
    pub fn create(&self, body: &Value) -> Value {
        let r = self.post("/api/contacts", body);
        assert!(
            r.status == 201 || r.status == 200,
            "create failed: {} {}",
            r.status,
            r.text
        );
        r.body
    }
}

/// The ids of a list page's contacts, in order.
pub fn page_ids(page: &Value) -> Vec<String> {
    page["contacts"]
        .as_array()
        .expect("a list page")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_string())
        .collect()
}

/// Percent-encodes everything but unreserved characters (for cursors).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    /// Every contact `GET /api/contacts?{query}` lists, across all pages.
    pub fn all_contacts(&self, query: &str) -> Vec<Value> {
        self.walk(query, 200)
    }

    /// Walks every keyset page of `query`, `limit` contacts a page, checking
    /// that no page is larger and that the last page's cursor is null.
    pub fn walk(&self, query: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/contacts?limit={limit}&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", urlencode(c)));
            }
            let page = self.get(&path);
            assert_eq!(page.status, 200, "{}", page.text);
            let contacts = page.body["contacts"].as_array().unwrap().clone();
            assert!(contacts.len() <= limit);
            out.extend(contacts);
            if page.body["hasMore"] == true {
                let next = page.body["cursor"].as_str().expect("cursor with hasMore");
                cursor = Some(next.to_string());
            } else {
                assert_eq!(
                    page.body["cursor"],
                    Value::Null,
                    "cursor is null on the last page"
                );
                return out;
            }
        }
    }
}

/// Polls `f` until it returns Some, or panics after `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Server {
    /// Runs SQL directly on the server's database file (WAL: safe while the
    /// server runs). For arranging states no endpoint creates.
    pub fn sql(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.data_dir.join("roster.db")).expect("open db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn.execute_batch(sql).expect("sql");
    }

    /// Reads one integer from the server's database file.
    pub fn sql_count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.data_dir.join("roster.db")).expect("open db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn.query_row(sql, [], |r| r.get(0)).expect("sql")
    }
}

impl Client {
    /// Waits until this organization's lookup queue has nothing pending or
    /// running, so contacts stop changing under a test's feet.
    pub fn settle_lookups(&self) {
        wait_for(30, "the lookup queue to settle", || {
            let s = self.get("/api/lookups/status").body;
            let busy = s["jobs"]["pending"].as_i64().unwrap_or(0)
                + s["jobs"]["running"].as_i64().unwrap_or(0);
            (busy == 0).then_some(())
        });
    }
}

impl Server {
    /// A fresh server whose lookup worker never decides textability
    /// (`--lookup-provider none`), for tests about other things: contacts
    /// then change only when the test changes them.
    pub fn start_without_lookups() -> Self {
        Self::start_with(&["--lookup-provider", "none"], &[])
    }
}

/// Serves `app` on 127.0.0.1:0 from a runtime of its own thread, for fakes
/// of other services; returns its address.
pub fn serve_in_background(app: axum::Router) -> std::net::SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("address")
}
