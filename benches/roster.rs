//! The Roster benchmark: runs the real binary over HTTP on synthetic data and
//! quotes every figure next to a raw-engine baseline measured in the same run.
//!
//!     ROSTER_BENCH_SIZE=1m cargo bench --bench roster
//!
//! Sizes: 10k, 100k (default) or 1m. `ROSTER_BENCH_REPORT=FILE` also appends
//! the report to FILE. `ROSTER_BENCH_CSV=FILE` only writes the generated CSV
//! to FILE and exits (to profile `roster import` on the same data).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::blocking::Client;
use roster::db::DB_FILE;
use roster::search::INDEX_DIR;
use rusqlite::params;
use serde_json::{Value, json};
use support::{
    Generator, Samples, ServerProc, create_load, get_json, import_csv, machine, ms, report, rss_of,
    size_from_env, urlencode, write_csv,
};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Query};
use tantivy::{Index, IndexReader, ReloadPolicy, Term};

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from argv.
    let n = size_from_env(100_000);
    if let Some(path) = std::env::var_os("ROSTER_BENCH_CSV") {
        write_csv(Path::new(&path), n, 7);
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    report(&format!("## Roster benchmark: {n} contacts"));
    report(&format!("machine: {}", machine()));
    report("");

    let csv_path = tmp.path().join("contacts.csv");
    let t = Instant::now();
    write_csv(&csv_path, n, 7);
    let csv_bytes = std::fs::metadata(&csv_path).unwrap().len();
    report(&format!(
        "generated {n} rows ({:.1} MiB CSV) in {:.1} s",
        csv_bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    ));

    let base = baseline(&tmp.path().join("baseline.db"), n);
    report("");
    report("| measure | Roster | raw baseline | ratio | target |");
    report("| --- | --- | --- | --- | --- |");

    let data_dir = tmp.path().join("data");
    let server = ServerProc::start(&data_dir, None, &[]);
    let http = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();

    // Import.
    let (t, cpu) = (Instant::now(), server.cpu_secs());
    let import = import_csv(&http, &server, &csv_path);
    let import_secs = t.elapsed().as_secs_f64();
    let searchable_secs = wait_searchable(&http, &server, n, t);
    // Server CPU until the import is searchable, per row and as cores busy.
    let cpu = server.cpu_secs() - cpu;
    let cpu_row = cpu / n as f64 * 1e6;
    let cores = cpu / searchable_secs.unwrap_or(import_secs);
    let (_, peak) = server.rss_mib();
    let rate = n as f64 / import_secs;
    let rate_indexed = searchable_secs.map(|s| n as f64 / s);
    report(&format!(
        "| import {n} rows (API), rows/s | {rate:.0} | {:.0} (rusqlite batched insert) | {:.2} | >= 50,000 |",
        base.insert_rows_per_s,
        rate / base.insert_rows_per_s
    ));
    if let Some(r) = rate_indexed {
        report(&format!(
            "| import incl. search index built, rows/s | {r:.0} | {:.0} | {:.2} | >= 50,000 |",
            base.insert_rows_per_s,
            r / base.insert_rows_per_s
        ));
    }
    report(&format!(
        "| import server CPU until searchable, us per row | {cpu_row:.0} ({cores:.2} cores busy) | | | |"
    ));
    report(&format!(
        "| import peak RSS (server), MiB | {peak:.0} | | | |"
    ));
    report(&format!(
        "| import outcome | created {} merged {} failed {} | | | |",
        import["created"], import["merged"], import["failed"]
    ));
    let drained = wait_lookups_drained(&http, &server, t);
    report(&format!(
        "| import + every lookup answered, s | {drained:.1} ({:.0} contacts/s) | | | |",
        n as f64 / drained
    ));

    // Export.
    let t = Instant::now();
    let mut resp = http
        .get(format!("{}/api/contacts/export", server.base))
        .bearer_auth(&server.key)
        .send()
        .unwrap();
    let mut sink = CountingSink(0);
    std::io::copy(&mut resp, &mut sink).unwrap();
    let export_secs = t.elapsed().as_secs_f64();
    report(&format!(
        "| export {n} (CSV, {:.0} MiB), s | {export_secs:.2} | {:.2} (rusqlite full scan) | {:.1} | <= 10 s at 1M |",
        sink.0 as f64 / 1048576.0,
        base.scan_secs,
        export_secs / base.scan_secs
    ));

    // Creates with 8 concurrent clients: 8 keep-alive connections, each
    // sending its next create when the last one is answered, driven by one
    // async client on one thread so that the load itself takes as little as
    // possible of the two cores the server runs on.
    // The first load starts right after the import and the export, while
    // the server may still be merging the index and copying the WAL back;
    // the second once it has been idle for a second.
    let creates = (n / 10).clamp(5_000, 40_000);
    for (round, label) in ["", " once the server is idle"].into_iter().enumerate() {
        let mut note = String::new();
        if round > 0 {
            let waited = server.wait_idle(Duration::from_secs(180));
            note = format!(", after {:.0} s", waited.as_secs_f64());
        }
        let cpu = server.cpu_secs();
        let (create_rate, failures, own) = create_load(&server, creates / 8, round);
        let per_create = |secs: f64| secs / creates as f64 * 1e6;
        let (cpu, own) = (per_create(server.cpu_secs() - cpu), per_create(own));
        report(&format!(
            "| create, 8 concurrent clients{label}, creates/s | {create_rate:.0} ({failures} failed; CPU per create: server {cpu:.0} us, client {own:.0} us{note}) | {:.0} (rusqlite one-row transactions) | {:.2} | >= 5,000 |",
            base.single_tx_per_s,
            create_rate / base.single_tx_per_s
        ));
    }

    // Reads, once the index merges and WAL copies the creates started are
    // done (a merge of the large segments an import leaves can take a core
    // for tens of seconds at 1M).
    let waited = server.wait_idle(Duration::from_secs(180));
    report(&format!(
        "| server idle again after the creates, s | {:.0} | | | |",
        waited.as_secs_f64()
    ));
    let ids = sample_ids(&http, &server, 1000);
    let mut get = Samples::default();
    for id in &ids {
        let t = Instant::now();
        let r = http
            .get(format!("{}/api/contacts/{id}", server.base))
            .bearer_auth(&server.key)
            .send()
            .unwrap();
        assert!(r.status().is_success());
        let _ = r.bytes();
        get.push(t.elapsed());
    }
    report(&format!(
        "| get by id p50 / p95, ms | {} / {} | {} (rusqlite point select) | {:.1} | |",
        ms(get.p50()),
        ms(get.p95()),
        ms(base.point_p50),
        get.p50().as_secs_f64() / base.point_p50.as_secs_f64()
    ));

    let rare_tag = support::TAGS[support::TAGS.len() - 1];
    let lists: Vec<(&str, String, &str)> = vec![
        ("no filter", String::new(), "p50 <= 2 ms"),
        (
            "no filter, created_at",
            "sortBy=created_at".into(),
            "p50 <= 2 ms",
        ),
        ("tags=member (common)", "tags=member".into(), "p95 <= 10 ms"),
        ("tags=<rare>", format!("tags={rare_tag}"), "p95 <= 10 ms"),
        ("isTextable=true", "isTextable=true".into(), "p95 <= 10 ms"),
        ("optedOut=false", "optedOut=false".into(), "p95 <= 10 ms"),
        ("hasEmail=false", "hasEmail=false".into(), "p95 <= 10 ms"),
        ("hasPhone=true", "hasPhone=true".into(), "p95 <= 10 ms"),
        ("state=CA", "state=CA".into(), "p95 <= 10 ms"),
        ("state=WY (rare)", "state=WY".into(), "p95 <= 10 ms"),
        ("zip", "zip=27005".into(), "p95 <= 10 ms"),
        (
            "two tags AND",
            "tags=member,donor&tagsLogic=AND".into(),
            "p95 <= 10 ms",
        ),
        (
            "two tags AND (rare)",
            format!("tags=member,{rare_tag}&tagsLogic=AND"),
            "p95 <= 10 ms",
        ),
        (
            "state + booleans",
            "state=NC,SC&hasEmail=true&optedOut=false".into(),
            "p95 <= 10 ms",
        ),
        ("no filter + includeTotal", "includeTotal=true".into(), ""),
        (
            "tags=member + includeTotal",
            "tags=member&includeTotal=true".into(),
            "",
        ),
        (
            "state=CA + includeTotal",
            "state=CA&includeTotal=true".into(),
            "",
        ),
    ];
    for (name, query, target) in &lists {
        let s = list_latency(&http, &server, query, 200);
        report(&format!(
            "| list {name}, p50 / p95 ms | {} / {} | {} (rusqlite keyset page) | {:.1} | {target} |",
            ms(s.p50()),
            ms(s.p95()),
            ms(base.keyset_p50),
            s.p50().as_secs_f64() / base.keyset_p50.as_secs_f64()
        ));
    }

    // A segment equal to an ad-hoc filter.
    let seg = http
        .post(format!("{}/api/segments", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"name": "bench", "filters": {"state": ["NC", "SC"], "hasEmail": true, "optedOut": false}}))
        .send()
        .unwrap();
    if seg.status().is_success() {
        let seg: Value = seg.json().unwrap();
        let q = format!("segmentId={}", seg["id"].as_str().unwrap());
        let s = list_latency(&http, &server, &q, 200);
        report(&format!(
            "| list segment (= state + booleans), p50 / p95 ms | {} / {} | {} | {:.1} | same as ad-hoc |",
            ms(s.p50()),
            ms(s.p95()),
            ms(base.keyset_p50),
            s.p50().as_secs_f64() / base.keyset_p50.as_secs_f64()
        ));
        let s = list_latency(&http, &server, &format!("{q}&includeTotal=true"), 50);
        report(&format!(
            "| segment page + count, p50 / p95 ms | {} / {} | | | |",
            ms(s.p50()),
            ms(s.p95())
        ));
    } else {
        report("| segments | not available in this build | | | |");
    }

    // Search.
    let names = [
        "Jennifer",
        "Jenifer Smith",
        "Mcdonald",
        "Rodriguez",
        "Patel",
    ];
    for term in names {
        let q = format!("search={}", term.replace(' ', "%20"));
        let s = list_latency(&http, &server, &q, 100);
        let raw = raw_search(&data_dir, term, 100);
        report(&format!(
            "| search \"{term}\", p50 / p95 ms | {} / {} | {} (tantivy fuzzy query) | {:.1} | p95 <= 20 ms |",
            ms(s.p50()),
            ms(s.p95()),
            ms(raw),
            s.p50().as_secs_f64() / raw.as_secs_f64()
        ));
    }

    let (rss, _) = server.rss_mib();
    let (anon, file) = support::rss_split_mib(server.pid());
    report(&format!(
        "| RSS while serving, MiB | {rss:.0} (heap {anon:.0}, mapped files {file:.0}) | | | <= 200 MB |"
    ));

    // Cold start.
    let key = server.key.clone();
    server.stop();
    let raw_open = raw_open(&data_dir);
    let restarted = ServerProc::start(&data_dir, Some(&key), &[]);
    let cold = restarted.started_in.as_secs_f64();
    report(&format!(
        "| cold start to healthy with {n} contacts, s | {cold:.3} | {:.3} (rusqlite + tantivy open) | {:.1} | <= 1 s |",
        raw_open.as_secs_f64(),
        cold / raw_open.as_secs_f64()
    ));
    let (rss, _) = rss_of(restarted.pid());
    report(&format!("| RSS after cold start, MiB | {rss:.0} | | | |"));
    // Serving as a user would after a restart: the reads and searches above
    // again, then the resident memory.
    for (_, query, _) in &lists {
        list_latency(&http, &restarted, query, 40);
    }
    for term in names {
        list_latency(
            &http,
            &restarted,
            &format!("search={}", term.replace(' ', "%20")),
            20,
        );
    }
    let (rss, _) = rss_of(restarted.pid());
    let (anon, file) = support::rss_split_mib(restarted.pid());
    report(&format!(
        "| RSS serving reads after a restart, MiB | {rss:.0} (heap {anon:.0}, mapped files {file:.0}) | | | <= 200 MB |"
    ));
    restarted.stop();
}

struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until the last imported person is searchable; seconds since `since`.
fn wait_searchable(http: &Client, server: &ServerProc, n: usize, since: Instant) -> Option<f64> {
    let mut g = Generator::new(7);
    let mut last = g.person(0);
    for i in 1..n {
        last = g.person(i);
    }
    let digits: String = last.phone.chars().filter(char::is_ascii_digit).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let r = http
            .get(format!("{}/api/contacts?search={digits}", server.base))
            .bearer_auth(&server.key)
            .send()
            .unwrap();
        if r.status().as_u16() == 400 {
            return None;
        }
        if r.status().is_success() {
            let v: Value = r.json().unwrap();
            if v["contacts"].as_array().is_some_and(|c| !c.is_empty()) {
                return Some(since.elapsed().as_secs_f64());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn sample_ids(http: &Client, server: &ServerProc, want: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut offset = 0;
    while ids.len() < want {
        let v = get_json(
            http,
            server,
            &format!("/api/contacts?limit=200&offset={offset}"),
        );
        let page = v["contacts"].as_array().unwrap();
        if page.is_empty() {
            break;
        }
        ids.extend(page.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        offset += 5_000;
    }
    ids.truncate(want);
    ids
}

/// `count` first pages of `query` (limit 50), then as many cursor pages deep
/// into the listing, half each.
fn list_latency(http: &Client, server: &ServerProc, query: &str, count: usize) -> Samples {
    let mut s = Samples::default();
    let mut cursor: Option<String> = None;
    for i in 0..count {
        let mut url = format!("{}/api/contacts?limit=50&{query}", server.base);
        if i % 2 == 1
            && let Some(c) = &cursor
        {
            url.push_str("&cursor=");
            url.push_str(&urlencode(c));
        }
        let t = Instant::now();
        let r = http.get(&url).bearer_auth(&server.key).send().unwrap();
        let status = r.status();
        let body = r.bytes().unwrap();
        s.push(t.elapsed());
        assert!(
            status.is_success(),
            "{url}: {}",
            String::from_utf8_lossy(&body)
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        cursor = v["cursor"].as_str().map(str::to_string).or(cursor);
    }
    s
}

struct Baseline {
    insert_rows_per_s: f64,
    single_tx_per_s: f64,
    scan_secs: f64,
    point_p50: Duration,
    keyset_p50: Duration,
}

/// Raw rusqlite on the same machine: a contacts-like table with the keyset
/// index, batched and single-row inserts, a full scan, point selects and
/// keyset pages.
fn baseline(path: &Path, n: usize) -> Baseline {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE c (id TEXT PRIMARY KEY, org INTEGER, phone TEXT, email TEXT, first_name TEXT,
           last_name TEXT, state TEXT, zip TEXT, tags TEXT, updated_at INTEGER);
         CREATE INDEX c_keyset ON c (org, updated_at DESC, id DESC);",
    )
    .unwrap();
    let mut g = Generator::new(7);
    let t = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached("INSERT INTO c VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                .unwrap();
            for &i in chunk {
                let p = g.person(i);
                let id = uuid::Uuid::now_v7().to_string();
                st.execute(params![
                    id,
                    p.phone,
                    p.email,
                    p.first,
                    p.last,
                    p.state,
                    p.zip,
                    p.tags.join(";"),
                    i as i64
                ])
                .unwrap();
                ids.push(id);
            }
        }
        tx.commit().unwrap();
    }
    let insert_rows_per_s = n as f64 / t.elapsed().as_secs_f64();

    let singles = 2_000;
    let t = Instant::now();
    for i in 0..singles {
        let p = g.person(n + i);
        conn.execute(
            "INSERT INTO c VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                uuid::Uuid::now_v7().to_string(),
                p.phone,
                p.email,
                p.first,
                p.last,
                p.state,
                p.zip,
                "",
                (n + i) as i64
            ],
        )
        .unwrap();
    }
    let single_tx_per_s = singles as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut st = conn
        .prepare("SELECT * FROM c WHERE org = 1 ORDER BY updated_at DESC, id DESC")
        .unwrap();
    let mut rows = st.query([]).unwrap();
    let mut count = 0;
    while let Some(r) = rows.next().unwrap() {
        let _: String = r.get(0).unwrap();
        count += 1;
    }
    assert!(count >= n);
    let scan_secs = t.elapsed().as_secs_f64();

    let mut rng = StdRng::seed_from_u64(3);
    let mut point = Samples::default();
    let mut st = conn
        .prepare_cached("SELECT * FROM c WHERE id = ?1")
        .unwrap();
    for _ in 0..1_000 {
        let id = &ids[rng.random_range(0..ids.len())];
        let t = Instant::now();
        let _ = st.query_row([id], |r| r.get::<_, String>(0)).unwrap();
        point.push(t.elapsed());
    }
    let mut keyset = Samples::default();
    let mut st = conn
        .prepare_cached(
            "SELECT * FROM c WHERE org = 1 AND (updated_at, id) < (?1, ?2) ORDER BY updated_at DESC, id DESC LIMIT 51",
        )
        .unwrap();
    for _ in 0..1_000 {
        let pos = rng.random_range(0..n) as i64;
        let t = Instant::now();
        let rows: Vec<String> = st
            .query_map(params![pos, "ffffffff"], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        keyset.push(t.elapsed());
        assert!(!rows.is_empty() || pos < 51);
    }
    report(&format!(
        "raw baseline: batched insert {insert_rows_per_s:.0} rows/s, one-row transactions {single_tx_per_s:.0}/s, full scan {scan_secs:.2} s, point select p50 {} ms, keyset page p50 {} ms",
        ms(point.p50()),
        ms(keyset.p50())
    ));
    Baseline {
        insert_rows_per_s,
        single_tx_per_s,
        scan_secs,
        point_p50: point.p50(),
        keyset_p50: keyset.p50(),
    }
}

/// The raw tantivy query behind a name search, against the server's own
/// index files in the same run: every word a one-edit fuzzy prefix on first
/// or last name, all words required, the top 51 by score and the count.
/// Returns the median of `count` runs.
fn raw_search(data_dir: &Path, term: &str, count: usize) -> Duration {
    let index = Index::open_in_dir(data_dir.join(INDEX_DIR)).unwrap();
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .unwrap();
    let searcher = reader.searcher();
    let field = |name| index.schema().get_field(name).unwrap();
    let (first, last) = (field("first"), field("last"));
    let words: Vec<Box<dyn Query>> = term
        .split_whitespace()
        .map(|w| {
            let w = w.to_lowercase();
            let either: Vec<Box<dyn Query>> = [first, last]
                .into_iter()
                .map(|f| {
                    Box::new(FuzzyTermQuery::new_prefix(
                        Term::from_field_text(f, &w),
                        1,
                        true,
                    )) as Box<dyn Query>
                })
                .collect();
            Box::new(BooleanQuery::union(either)) as Box<dyn Query>
        })
        .collect();
    let query = BooleanQuery::intersection(words);
    let mut s = Samples::default();
    for _ in 0..count {
        let t = Instant::now();
        let (top, n) = searcher
            .search(&query, &(TopDocs::with_limit(51).order_by_score(), Count))
            .unwrap();
        s.push(t.elapsed());
        assert!(!top.is_empty() && n > 0, "no match for {term}");
    }
    s.p50()
}

/// The engines' own cold open of a stopped server's data: the SQLite
/// database with its schema read, and the search index with a reader.
fn raw_open(data_dir: &Path) -> Duration {
    let t = Instant::now();
    let conn = rusqlite::Connection::open(data_dir.join(DB_FILE)).unwrap();
    let _: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    let index = Index::open_in_dir(data_dir.join(INDEX_DIR)).unwrap();
    let reader: IndexReader = index.reader().unwrap();
    assert!(reader.searcher().num_docs() > 0);
    t.elapsed()
}

/// Waits until the lookup queue is empty; seconds since `since`.
fn wait_lookups_drained(http: &Client, server: &ServerProc, since: Instant) -> f64 {
    loop {
        let s = get_json(http, server, "/api/lookups/status");
        let busy =
            s["jobs"]["pending"].as_i64().unwrap_or(0) + s["jobs"]["running"].as_i64().unwrap_or(0);
        if busy == 0 {
            return since.elapsed().as_secs_f64();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
