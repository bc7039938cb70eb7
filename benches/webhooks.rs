//! What outbound webhooks add to a create: creates/s from 8 concurrent
//! clients with one enabled endpoint (a local receiver answering 200)
//! against none, alternating in the same run, on an organization of
//! `ROSTER_BENCH_SIZE` contacts (default 100k; `1m` for the published
//! figures).
//!
//! `ROSTER_BENCH_SIZE=1m cargo bench --bench webhooks`

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{ServerProc, machine, report, size_from_env};

const ROUND: Duration = Duration::from_secs(10);
const CLIENTS: usize = 8;

/// A receiver answering 200 to every POST, counting them.
fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move || {
                    let c = counted.clone();
                    async move {
                        c.fetch_add(1, Ordering::Relaxed);
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{}/hook", rx.recv().unwrap()), count)
}

/// Creates from `CLIENTS` threads for `ROUND`; returns creates/s.
fn load(server: &ServerProc, next: &Arc<AtomicUsize>) -> f64 {
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (base, key, next, done) = (
                server.base.clone(),
                server.key.clone(),
                next.clone(),
                done.clone(),
            );
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                while started.elapsed() < ROUND {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let body = serde_json::json!({
                        "phone": format!("+1984{:07}", 2_000_000 + i),
                        "firstName": "Load",
                        "tags": ["bench"],
                    });
                    let r = http
                        .post(format!("{base}/api/contacts"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n = size_from_env(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key = support::create_key(&data, "bench");
    let count = n.to_string();
    support::roster_cli(&[
        "seed".as_ref(),
        "--org".as_ref(),
        "bench".as_ref(),
        "--count".as_ref(),
        count.as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let server = ServerProc::start(&data, Some(&key), &["--lookup-provider", "offline"]);
    server.wait_idle(Duration::from_secs(900));
    let (url, received) = receiver();
    let http = reqwest::blocking::Client::new();
    let hook: serde_json::Value = http
        .post(format!("{}/api/webhooks", server.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"url": url, "events": ["*"], "enabled": false}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let hook_url = format!(
        "{}/api/webhooks/{}",
        server.base,
        hook["id"].as_str().unwrap()
    );
    let set = |enabled: bool| {
        let r = http
            .put(&hook_url)
            .bearer_auth(&key)
            .json(&serde_json::json!({ "enabled": enabled }))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    };

    report(&format!("## Webhooks and creates: {n} contacts"));
    report(&format!("machine: {}", machine()));
    report("");
    report(
        "| round | no endpoint, creates/s | one endpoint, creates/s | ratio | delivered in the round |",
    );
    report("| --- | --- | --- | --- | --- |");
    let next = Arc::new(AtomicUsize::new(0));
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 1..=3 {
        set(false);
        server.wait_idle(Duration::from_secs(120));
        let a = load(&server, &next);
        set(true);
        server.wait_idle(Duration::from_secs(120));
        let before = received.load(Ordering::Relaxed);
        let b = load(&server, &next);
        let delivered = received.load(Ordering::Relaxed) - before;
        report(&format!(
            "| {round} | {a:.0} | {b:.0} | {:.2} | {delivered} |",
            b / a
        ));
        without.push(a);
        with.push(b);
    }
    without.sort_by(f64::total_cmp);
    with.sort_by(f64::total_cmp);
    report(&format!(
        "| median | {:.0} | {:.0} | {:.2} | |",
        without[1],
        with[1],
        with[1] / without[1]
    ));
}
