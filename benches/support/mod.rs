//! Shared pieces of the benchmarks: synthetic data, a server under test,
//! latency statistics and resident-memory readings.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// The server under test: this build's, or `ROSTER_BENCH_BIN` (another
/// build's binary, to compare two in alternating runs).
pub fn bin() -> std::ffi::OsString {
    std::env::var_os("ROSTER_BENCH_BIN").unwrap_or_else(|| BIN.into())
}

#[allow(unused_imports)]
pub use roster::seed::{Generator, LAST, TAGS};

/// Writes `n` generated people as a CSV file.
pub fn write_csv(path: &Path, n: usize, seed: u64) {
    roster::seed::write_csv(path, n, seed).expect("write the CSV");
}

/// The contact count from `ROSTER_BENCH_SIZE` (`10k`, `100k`, `1m`).
pub fn size_from_env(default: usize) -> usize {
    match std::env::var("ROSTER_BENCH_SIZE").ok().as_deref() {
        Some("10k") => 10_000,
        Some("100k") => 100_000,
        Some("1m") | Some("1M") => 1_000_000,
        Some(other) => other.parse().unwrap_or(default),
        None => default,
    }
}

/// A roster server process under test.
pub struct ServerProc {
    pub child: Child,
    pub base: String,
    pub key: String,
    pub data_dir: PathBuf,
    pub started_in: Duration,
}

impl ServerProc {
    /// Starts `roster serve` on `data_dir`; `key` is created first if None.
    pub fn start(data_dir: &Path, key: Option<&str>, extra: &[&str]) -> Self {
        let key = match key {
            Some(k) => k.to_string(),
            None => create_key(data_dir, "bench"),
        };
        let t0 = Instant::now();
        let mut child = Command::new(bin())
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn roster");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("roster listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("server start");
        let http = reqwest::blocking::Client::new();
        loop {
            if http
                .get(format!("{base}/healthz"))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let started_in = t0.elapsed();
        Self {
            child,
            base,
            key,
            data_dir: data_dir.to_path_buf(),
            started_in,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current RSS, peak RSS) in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        rss_of(self.pid())
    }

    /// CPU time the server has used so far, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs_of(&self.pid().to_string())
    }

    /// Waits (at most `limit`) until the server has used less than a tenth
    /// of a core over a whole second: its background work after a large
    /// write (index merges, WAL checkpoints) is done. Returns the wait.
    pub fn wait_idle(&self, limit: Duration) -> Duration {
        let t = Instant::now();
        let mut last = self.cpu_secs();
        while t.elapsed() < limit {
            std::thread::sleep(Duration::from_secs(1));
            let now = self.cpu_secs();
            if now - last < 0.1 {
                break;
            }
            last = now;
        }
        t.elapsed()
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn create_key(data_dir: &Path, org: &str) -> String {
    let out = roster_cli(&[
        "keys".as_ref(),
        "create".as_ref(),
        "--org".as_ref(),
        org.as_ref(),
        "--access".as_ref(),
        "write".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ]);
    out.lines().last().unwrap().trim().to_string()
}

/// Runs `roster` with `args` and answers what it printed; a failure stops
/// the benchmark with its stderr.
pub fn roster_cli(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run roster");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Fields of `/proc/PID/status`, summed, in MiB.
fn status_mib(pid: u32, names: &[&str]) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .sum::<f64>()
        / 1024.0
}

/// CPU time (user + system) process `pid` (or `self`) has used, in seconds.
pub fn cpu_secs_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the parenthesised command name, utime and stime are the 12th and
    // 13th fields, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// (VmRSS, VmHWM) of a process, in MiB.
pub fn rss_of(pid: u32) -> (f64, f64) {
    (status_mib(pid, &["VmRSS:"]), status_mib(pid, &["VmHWM:"]))
}

/// Latency samples.
#[derive(Default, Clone)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[idx]
    }

    pub fn p50(&self) -> Duration {
        self.pct(0.50)
    }

    pub fn p95(&self) -> Duration {
        self.pct(0.95)
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Appends a line to the report (stdout and, when set, `ROSTER_BENCH_REPORT`).
pub fn report(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("ROSTER_BENCH_REPORT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("report file");
        writeln!(f, "{line}").unwrap();
    }
}

/// Machine description for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores ({cpu}), {mem:.0} GiB RAM")
}

/// (RssAnon, RssFile) of a process in MiB: private memory, and pages of
/// memory-mapped files (the database and index), which the kernel can drop.
pub fn rss_split_mib(pid: u32) -> (f64, f64) {
    (
        status_mib(pid, &["RssAnon:"]),
        status_mib(pid, &["RssFile:", "RssShmem:"]),
    )
}

/// Sends `per_client` creates over each of 8 connections; loads with
/// different `round`s create different people. Returns the creates per
/// second, how many were refused and the CPU seconds the load itself used.
pub fn create_load(server: &ServerProc, per_client: usize, round: usize) -> (f64, usize, f64) {
    // Every body is made before the clock starts: the client's own work
    // during the load is sending and reading.
    let bodies: Vec<Vec<Vec<u8>>> = (0..8)
        .map(|w| {
            let mut g = Generator::new(1000 + (round * 8 + w) as u64);
            (0..per_client)
                .map(|i| {
                    let p = g.person(10_000_000 + (round * 8 + w) * 1_000_000 + i);
                    let body = json!({"phone": p.phone, "firstName": p.first,
                        "lastName": p.last, "email": p.email, "state": p.state,
                        "zip": p.zip, "tags": p.tags});
                    serde_json::to_vec(&body).unwrap()
                })
                .collect()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let (t, cpu) = (Instant::now(), cpu_secs_of("self"));
        let clients: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let (http, url, key) = (
                    http.clone(),
                    format!("{}/api/contacts", server.base),
                    server.key.clone(),
                );
                tokio::spawn(async move {
                    let mut failures = 0;
                    for body in bodies {
                        let r = http
                            .post(&url)
                            .bearer_auth(&key)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        if !r.status().is_success() {
                            failures += 1;
                        }
                        // Read the body so the connection is kept alive.
                        let _ = r.bytes().await;
                    }
                    failures
                })
            })
            .collect();
        let mut failures = 0;
        for c in clients {
            failures += c.await.unwrap();
        }
        (
            (per_client * 8) as f64 / t.elapsed().as_secs_f64(),
            failures,
            cpu_secs_of("self") - cpu,
        )
    })
}

/// Imports `csv` through the API and waits for it to finish; the import.
pub fn import_csv(http: &Client, server: &ServerProc, csv: &Path) -> Value {
    let body = std::fs::File::open(csv).unwrap();
    let r = http
        .post(format!("{}/api/contacts/import", server.base))
        .bearer_auth(&server.key)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        202,
        "import: {}",
        r.text().unwrap_or_default()
    );
    let id = r.json::<Value>().unwrap()["importId"]
        .as_str()
        .unwrap()
        .to_string();
    loop {
        let s = get_json(http, server, &format!("/api/imports/{id}"));
        match s["status"].as_str() {
            Some("completed") => return s,
            Some("failed") | Some("cancelled") => panic!("import ended {s}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// GETs `path` from the server with its key and parses the JSON answer.
pub fn get_json(http: &Client, server: &ServerProc, path: &str) -> Value {
    http.get(format!("{}{path}", server.base))
        .bearer_auth(&server.key)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// `s` percent-encoded for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
