//! Lookup queue benchmarks (figures in BENCHMARKS.md, "Lookups").
//!
//! 1. Drain: 100,000 queued jobs against an in-process fake Twilio Lookup v2
//!    server with the twilio provider at concurrency 32, compared with a bare
//!    HTTP client asking the same fake at the same concurrency; the
//!    difference per job is what Roster adds (claim, result write, timeline
//!    event, outbox row).
//! 2. Create throughput through the write path (one transaction per create,
//!    four writers) with the lookup worker on, for the offline provider and
//!    for `none`, and with no worker at all.
//!
//! `cargo bench --bench lookups`; `LOOKUP_BENCH_JOBS` and
//! `LOOKUP_BENCH_CREATES` shrink it for a quick run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use futures::StreamExt;
use roster::config::LookupProvider;
use roster::db::Db;
use roster::model::{ContactPatch, Mode};
use roster::store::contacts::{self, Source};
use roster::store::orgs;
use roster::{AppState, Config};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const SID: &str = "ACbench";
const TOKEN: &str = "bench-token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The phone of bench contact `i` (valid NANP numbers, all distinct).
fn phone(i: usize) -> String {
    let area = [212, 213, 214, 215, 216, 217, 218, 219, 224, 225][i / 10_000 % 10];
    format!("+1{area}555{:04}", i % 10_000)
}

async fn fake_lookup(
    State(hits): State<Arc<AtomicU64>>,
    Path(number): Path<String>,
) -> axum::Json<serde_json::Value> {
    hits.fetch_add(1, Ordering::Relaxed);
    axum::Json(json!({
        "calling_country_code": "1",
        "country_code": "US",
        "phone_number": number,
        "national_format": null,
        "valid": true,
        "validation_errors": [],
        "caller_name": null,
        "sim_swap": null,
        "call_forwarding": null,
        "line_status": null,
        "line_type_intelligence": {
            "error_code": null,
            "mobile_country_code": "310",
            "mobile_network_code": "456",
            "carrier_name": "Fake Carrier",
            "type": "mobile"
        },
        "url": format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}")
    }))
}

async fn start_fake() -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/v2/PhoneNumbers/{number}", get(fake_lookup))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn config(dir: &std::path::Path, provider: LookupProvider, base: &str) -> Config {
    let mut cfg = Config::for_data_dir(dir);
    cfg.lookups.provider = provider;
    cfg.lookups.concurrency = 32;
    cfg.lookups.rate = 0.0;
    cfg.lookups.twilio_account_sid = Some(SID.into());
    cfg.lookups.twilio_auth_token = Some(TOKEN.into());
    cfg.lookups.twilio_base_url = base.into();
    cfg
}

fn patch(i: usize) -> ContactPatch {
    ContactPatch::from_json(
        &json!({ "phone": phone(i), "firstName": "Bench", "lastName": format!("N{i}") }),
        Mode::Create,
    )
    .expect("valid bench contact")
}

async fn unfinished(db: &Db) -> i64 {
    db.read(|conn| {
        Ok(conn.query_row(
            "SELECT count(*) FROM lookup_jobs WHERE status IN ('pending', 'running')",
            [],
            |r| r.get(0),
        )?)
    })
    .await
    .unwrap()
}

async fn wait_drained(db: &Db) {
    while unfinished(db).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn drain(n: usize, base: &str, hits: &AtomicU64) {
    // The bare client: the fake's own speed at concurrency 32.
    let http = reqwest::Client::new();
    let raw_n = (n / 5).max(1_000);
    let t = Instant::now();
    futures::stream::iter(0..raw_n)
        .map(|i| {
            let http = http.clone();
            let url = format!("{base}/v2/PhoneNumbers/{}", phone(i).replace('+', "%2B"));
            async move {
                http.get(url)
                    .query(&[("Fields", "line_type_intelligence")])
                    .basic_auth(SID, Some(TOKEN))
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let raw = t.elapsed();
    let raw_per_job = raw.as_secs_f64() / raw_n as f64;

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1_000) {
        let chunk = chunk.to_vec();
        db.write(move |tx| {
            let org = orgs::get_or_create(tx, "bench")?.org;
            for i in chunk {
                contacts::create_or_merge(tx, org, patch(i), Source::Import)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    let seeded = t.elapsed();
    hits.store(0, Ordering::Relaxed);

    let state = AppState::new(db.clone(), config(dir.path(), LookupProvider::Twilio, base));
    let cancel = CancellationToken::new();
    let t = Instant::now();
    let worker = roster::jobs::start(state.lookup_worker(), cancel.clone())
        .await
        .unwrap();
    wait_drained(&db).await;
    let took = t.elapsed();
    cancel.cancel();
    worker.await.unwrap();
    let per_job = took.as_secs_f64() / n as f64;
    println!(
        "drain: {n} jobs seeded in {:.2} s (batches of 1,000 creates)",
        seeded.as_secs_f64()
    );
    println!(
        "drain: bare client {raw_n} requests at concurrency 32 in {:.2} s = {:.0} req/s ({:.1} us/request)",
        raw.as_secs_f64(),
        raw_n as f64 / raw.as_secs_f64(),
        raw_per_job * 1e6
    );
    println!(
        "drain: roster {n} jobs at concurrency 32 in {:.2} s = {:.0} jobs/s ({:.1} us/job); provider requests {}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        per_job * 1e6,
        hits.load(Ordering::Relaxed)
    );
    println!(
        "drain: overhead Roster adds = {:.1} us/job (wall time, same 2 cores as the fake)",
        (per_job - raw_per_job) * 1e6
    );
}

/// Creates `n` contacts (one transaction each, four writers); returns
/// (creates/s, seconds until the queue drained after the last create).
async fn creates(n: usize, provider: Option<LookupProvider>) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let org = db
        .write(|tx| Ok(orgs::get_or_create(tx, "bench")?.org))
        .await
        .unwrap();
    let state = AppState::new(
        db.clone(),
        config(
            dir.path(),
            provider.unwrap_or(LookupProvider::None),
            "http://127.0.0.1:9",
        ),
    );
    let cancel = CancellationToken::new();
    let worker = match provider {
        Some(_) => Some(
            roster::jobs::start(state.lookup_worker(), cancel.clone())
                .await
                .unwrap(),
        ),
        None => None,
    };
    let t = Instant::now();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let state = state.clone();
            tokio::spawn(async move {
                for i in (w..n).step_by(4) {
                    state
                        .db
                        .write(move |tx| contacts::create_or_merge(tx, org, patch(i), Source::Api))
                        .await
                        .unwrap();
                    state.notify_writers();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let took = t.elapsed();
    let t = Instant::now();
    if worker.is_some() {
        wait_drained(&db).await;
    }
    let drained = t.elapsed();
    cancel.cancel();
    if let Some(w) = worker {
        w.await.unwrap();
    }
    (n as f64 / took.as_secs_f64(), drained.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let jobs = env_usize("LOOKUP_BENCH_JOBS", 100_000);
    let n = env_usize("LOOKUP_BENCH_CREATES", 20_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (base, hits) = start_fake().await;
        drain(jobs, &base, &hits).await;

        let (mut none, mut offline, mut bare) = (vec![], vec![], vec![]);
        for round in 0..3 {
            let (r, d) = creates(n, Some(LookupProvider::None)).await;
            println!("creates round {round}: none     {r:.0}/s (queue drained {d:.2} s after)");
            none.push(r);
            let (r, d) = creates(n, Some(LookupProvider::Offline)).await;
            println!("creates round {round}: offline  {r:.0}/s (queue drained {d:.2} s after)");
            offline.push(r);
            let (r, _) = creates(n, None).await;
            println!("creates round {round}: no worker {r:.0}/s");
            bare.push(r);
        }
        let (none, offline, bare) = (median(none), median(offline), median(bare));
        println!(
            "creates (median of 3, {n} each): none {none:.0}/s, offline {offline:.0}/s ({:+.1}% vs none), no worker {bare:.0}/s",
            (offline / none - 1.0) * 100.0
        );
    });
}
