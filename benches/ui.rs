//! The admin UI's first screen on a large organization, in headless
//! Chromium: from navigation start to the first page of rows on screen, and
//! to the total shown beside the title. Baseline in the same run: the same
//! first-page request made directly over HTTP.
//!
//! `ROSTER_BENCH_SIZE=1m cargo bench --bench ui` (default 100k). Needs
//! Chromium and chromedriver (`apt-get install chromium chromium-driver`).

#[path = "../tests/browser/mod.rs"]
mod browser;
mod support;

use std::time::{Duration, Instant};

use support::{Samples, ServerProc, machine, ms, report, size_from_env, write_csv};

const RUNS: usize = 15;

fn mark(b: &browser::Browser, name: &str) -> Option<f64> {
    b.js(
        "const m = performance.getEntriesByName(arguments[0], 'mark')[0]; return m ? m.startTime : null",
        vec![serde_json::Value::from(name)],
    )
    .as_f64()
}

fn main() {
    let n = size_from_env(100_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let csv = tmp.path().join("contacts.csv");
    write_csv(&csv, n, 7);
    let data = tmp.path().join("data");
    let key = support::create_key(&data, "bench");
    let t = Instant::now();
    let out = std::process::Command::new(support::BIN)
        .args(["import"])
        .arg(&csv)
        .args(["--org", "bench", "--data-dir"])
        .arg(&data)
        .output()
        .expect("roster import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported_in = t.elapsed();
    let server = ServerProc::start(&data, Some(&key), &[]);
    server.wait_idle(Duration::from_secs(600));

    report(&format!("## Admin UI first screen: {n} contacts"));
    report(&format!("machine: {}", machine()));
    report(&format!(
        "imported with `roster import` in {:.1} s",
        imported_in.as_secs_f64()
    ));

    let http = reqwest::blocking::Client::new();
    let mut api = Samples(Vec::new());
    for _ in 0..RUNS * 4 {
        let t = Instant::now();
        let r = http
            .get(format!("{}/api/contacts?limit=50", server.base))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert!(r.status().is_success());
        let _ = r.bytes().unwrap();
        api.push(t.elapsed());
    }

    let Some(b) = browser::Browser::launch(&server.base, "bench-ui") else {
        return;
    };
    let signed_in = Instant::now();
    b.sign_in(&key);
    b.wait_until("the first rows", |b| mark(b, "roster:first-rows").is_some());
    let first_visit = signed_in.elapsed();

    let mut rows = Samples(Vec::new());
    let mut totals = Samples(Vec::new());
    for _ in 0..RUNS {
        b.reload();
        b.wait_until("the first rows and the total", |b| {
            mark(b, "roster:first-rows").is_some() && mark(b, "roster:total").is_some()
        });
        let to_ms = |v: f64| Duration::from_secs_f64(v / 1000.0);
        rows.push(to_ms(mark(&b, "roster:first-rows").unwrap()));
        totals.push(to_ms(mark(&b, "roster:total").unwrap()));
        assert_eq!(b.row_ids().len(), 50, "one page of 50 rows");
    }
    let requests = b.js(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/api/contacts'))",
        vec![],
    );
    report("");
    report("| measure | p50 | p95 |");
    report("| --- | --- | --- |");
    report(&format!(
        "| reload to the first 50 rows on screen (navigation start to paint) | {} | {} |",
        ms(rows.p50()),
        ms(rows.p95())
    ));
    report(&format!(
        "| reload to the total shown | {} | {} |",
        ms(totals.p50()),
        ms(totals.p95())
    ));
    report(&format!(
        "| baseline: `GET /api/contacts?limit=50` over HTTP | {} | {} |",
        ms(api.p50()),
        ms(api.p95())
    ));
    report(&format!(
        "first visit with an empty cache, from submitting the key to the first rows: {}",
        ms(first_visit)
    ));
    report(&format!("list requests of the last load: {requests}"));
    b.finish();
    server.stop();
}
