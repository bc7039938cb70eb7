//! The list endpoint over a sweep of filters whose value frequencies run
//! from none to dominant, at `ROSTER_BENCH_SIZE` contacts (default 100k;
//! `1m` for the published figures). Every row: the frequency, p50 and p95
//! with one client, req/s and p99 with 8 concurrent clients, the first
//! request after a restart, and, as the baseline, the same page asked of
//! SQLite directly (its own planner, every index available) on the server's
//! database file in the same run.
//!
//! `ROSTER_BENCH_SIZE=1m cargo bench --bench filters` (`ROSTER_BENCH_DIR=<dir>`
//! keeps the imported rows for the next run)

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{
    Samples, ServerProc, create_load, import_csv, machine, ms, report, size_from_env, urlencode,
    write_csv,
};

/// Tags carried by a fixed share of contacts, drawn independently.
const TAG_SHARES: &[(&str, f64)] = &[
    ("f0", 0.0),
    ("f001", 0.0001),
    ("f01", 0.001),
    ("f1", 0.01),
    ("f3", 0.03),
    ("f10", 0.10),
    ("f30", 0.30),
    ("f90", 0.90),
];

/// States by share; NY takes the rest. AK is in no contact.
const STATE_SHARES: &[(&str, f64)] = &[
    ("WY", 0.0001),
    ("VT", 0.001),
    ("ND", 0.01),
    ("NC", 0.03),
    ("TX", 0.10),
    ("CA", 0.30),
];

/// Writes the sweep's contacts. Skews make the rare values sit where a walk
/// of the sort index meets them last: `old1` and the opted-out are among
/// the first created.
fn write_sweep_csv(path: &Path, n: usize) {
    let mut rng = StdRng::seed_from_u64(11);
    let file = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(w, "first,last,phone,email,state,zip,tags,opted out").unwrap();
    for i in 0..n {
        let mut tags: Vec<&str> = TAG_SHARES
            .iter()
            .filter(|(_, p)| rng.random_range(0.0..1.0) < *p)
            .map(|(t, _)| *t)
            .collect();
        if i < n / 100 {
            tags.push("old1");
        }
        let mut u: f64 = rng.random_range(0.0..1.0);
        let mut state = "NY";
        for (s, p) in STATE_SHARES {
            if u < *p {
                state = s;
                break;
            }
            u -= p;
        }
        // 3% toll-free numbers (not textable), 0.01% without a phone.
        let phone = if rng.random_range(0..10_000) == 0 {
            String::new()
        } else if rng.random_range(0..100) < 3 {
            format!("+1800{:07}", 2_000_000 + i % 7_000_000)
        } else {
            let area = [919, 704, 336, 252, 828, 910, 980, 984][i % 8];
            format!("+1{area}{:07}", 2_000_000 + i / 8)
        };
        let email = if phone.is_empty() || rng.random_range(0..10) != 0 {
            format!("p{i}@example.org")
        } else {
            String::new()
        };
        let zip = if state == "NC" && i % 300 == 0 {
            "27601"
        } else {
            "10001"
        };
        let opted = if i < n / 1000 { "true" } else { "" };
        writeln!(
            w,
            "P{i},{},{phone},{email},{state},{zip},{},{opted}",
            ["Smith", "Jones", "Okafor", "Nguyen", "Garcia"][i % 5],
            tags.join(";")
        )
        .unwrap();
    }
}

/// One sweep row: the list query string and the same filter in SQL over
/// `contacts` (for the baseline).
struct Row {
    query: String,
    sql: String,
}

fn row(query: &str, sql: &str) -> Row {
    Row {
        query: query.to_string(),
        sql: sql.to_string(),
    }
}

fn tag_sql(tags: &[&str], and: bool) -> String {
    let one = |t: &str| {
        format!(
            "EXISTS (SELECT 1 FROM contact_tags t WHERE t.org = c.org AND t.tag = '{t}' AND t.contact = c.key)"
        )
    };
    let parts: Vec<String> = tags.iter().map(|t| one(t)).collect();
    format!("({})", parts.join(if and { " AND " } else { " OR " }))
}

fn rows() -> Vec<Row> {
    let mut out = vec![row("", "1")];
    for (t, _) in TAG_SHARES {
        out.push(row(&format!("tags={t}"), &tag_sql(&[t], false)));
    }
    out.push(row("tags=old1", &tag_sql(&["old1"], false)));
    for s in ["AK", "WY", "VT", "ND", "NC", "TX", "CA", "NY"] {
        out.push(row(&format!("state={s}"), &format!("c.state = '{s}'")));
    }
    out.push(row("zip=27601", "c.zip = '27601'"));
    out.push(row("zip=10001", "c.zip = '10001'"));
    for (name, t, f) in [
        ("optedOut", "c.is_opted_in = 0", "c.is_opted_in = 1"),
        ("isTextable", "c.is_textable = 1", "c.is_textable = 0"),
        ("hasEmail", "c.email IS NOT NULL", "c.email IS NULL"),
        ("hasPhone", "c.phone IS NOT NULL", "c.phone IS NULL"),
    ] {
        out.push(row(&format!("{name}=true"), t));
        out.push(row(&format!("{name}=false"), f));
    }
    out.push(row(
        "state=NC&isTextable=true",
        "c.state = 'NC' AND c.is_textable = 1",
    ));
    out.push(row(
        "tags=f3&state=NC",
        &format!("{} AND c.state = 'NC'", tag_sql(&["f3"], false)),
    ));
    out.push(row(
        "tags=f10&optedOut=true",
        &format!("{} AND c.is_opted_in = 0", tag_sql(&["f10"], false)),
    ));
    out.push(row(
        "tags=f90&hasEmail=false",
        &format!("{} AND c.email IS NULL", tag_sql(&["f90"], false)),
    ));
    out.push(row(
        "optedOut=true&hasEmail=false",
        "c.is_opted_in = 0 AND c.email IS NULL",
    ));
    out.push(row(
        "isTextable=false&state=CA",
        "c.is_textable = 0 AND c.state = 'CA'",
    ));
    for (tags, and) in [
        (vec!["f1", "f3"], true),
        (vec!["f1", "f3"], false),
        (vec!["f30", "f90"], true),
        (vec!["f30", "f90"], false),
        (vec!["f10", "f30", "f90"], true),
        (vec!["f001", "f01", "f1"], false),
    ] {
        let logic = if and { "AND" } else { "OR" };
        out.push(row(
            &format!("tags={}&tagsLogic={logic}", tags.join(",")),
            &tag_sql(&tags, and),
        ));
    }
    out.push(row("sortBy=created_at&tags=f30", &tag_sql(&["f30"], false)));
    out.push(row("sortBy=created_at&optedOut=true", "c.is_opted_in = 0"));
    out.push(row("sortBy=created_at&state=NC", "c.state = 'NC'"));
    out.push(row(
        "sortBy=created_at&isTextable=false",
        "c.is_textable = 0",
    ));
    out.push(row(
        "isTextable=false&optedOut=true",
        "c.is_textable = 0 AND c.is_opted_in = 0",
    ));
    out.push(row(
        "hasEmail=false&hasPhone=true",
        "c.email IS NULL AND c.phone IS NOT NULL",
    ));
    out.push(row(
        "state=NC&zip=27601",
        "c.state = 'NC' AND c.zip = '27601'",
    ));
    for (query, sql) in [
        ("tags=f3", tag_sql(&["f3"], false)),
        ("isTextable=false", "c.is_textable = 0".to_string()),
        (
            "state=NC&isTextable=true",
            "c.state = 'NC' AND c.is_textable = 1".to_string(),
        ),
    ] {
        out.push(row(&format!("includeTotal=true&{query}"), &sql));
    }
    // Search with filters: the index answers these; the baseline is SQL's
    // exact match on the last name.
    for (query, sql) in [
        ("search=Okafor", "c.last_name = 'Okafor'".to_string()),
        (
            "search=Okafor&tags=f10",
            format!("c.last_name = 'Okafor' AND {}", tag_sql(&["f10"], false)),
        ),
        (
            "search=Okafor&optedOut=true",
            "c.last_name = 'Okafor' AND c.is_opted_in = 0".to_string(),
        ),
        (
            "search=Okafor&state=NC",
            "c.last_name = 'Okafor' AND c.state = 'NC'".to_string(),
        ),
        // Common filters beside a common name: every filter's share, from
        // a tag on most contacts to two tags, a flag and a state together.
        (
            "search=Okafor&tags=f90",
            format!("c.last_name = 'Okafor' AND {}", tag_sql(&["f90"], false)),
        ),
        (
            "search=Okafor&tags=f30,f90&tagsLogic=AND",
            format!(
                "c.last_name = 'Okafor' AND {}",
                tag_sql(&["f30", "f90"], true)
            ),
        ),
        (
            "search=Okafor&tags=f1,f3&tagsLogic=OR",
            format!(
                "c.last_name = 'Okafor' AND {}",
                tag_sql(&["f1", "f3"], false)
            ),
        ),
        (
            "search=Okafor&hasEmail=true",
            "c.last_name = 'Okafor' AND c.email IS NOT NULL".to_string(),
        ),
        (
            "search=Okafor&isTextable=true&state=CA",
            "c.last_name = 'Okafor' AND c.is_textable = 1 AND c.state = 'CA'".to_string(),
        ),
        (
            "search=Okafor&zip=10001",
            "c.last_name = 'Okafor' AND c.zip = '10001'".to_string(),
        ),
        (
            "includeTotal=true&search=Okafr&tags=f30",
            format!("c.last_name = 'Okafor' AND {}", tag_sql(&["f30"], false)),
        ),
        (
            "sortBy=created_at&search=Ngu&tags=f10",
            format!("c.last_name LIKE 'Ngu%' AND {}", tag_sql(&["f10"], false)),
        ),
        // The kinds of search people type: a typo, a prefix, an email
        // address, a whole phone number and a piece of one. (Full names
        // are in `benches/search.rs`: here every first name is a distinct
        // code, which no organization's names are.)
        ("search=Okafr", "c.last_name = 'Okafor'".to_string()),
        ("search=Ngu", "c.last_name LIKE 'Ngu%'".to_string()),
        (
            "search=p4243@example.org",
            "c.email = 'p4243@example.org'".to_string(),
        ),
        (
            "search=(919)%20200-0777",
            "c.phone = '+19192000777'".to_string(),
        ),
        ("search=2000777", "c.phone LIKE '%2000777'".to_string()),
    ] {
        out.push(row(query, &sql));
    }
    out
}

/// The first answered request after a start: a search waits (503) until
/// the index is open, so each refusal is retried and only the answer timed.
fn first_answer(http: &reqwest::blocking::Client, server: &ServerProc, query: &str) -> Duration {
    loop {
        match try_get(http, server, query) {
            Some((took, _)) => return took,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn get(
    http: &reqwest::blocking::Client,
    server: &ServerProc,
    query: &str,
) -> (Duration, serde_json::Value) {
    try_get(http, server, query).unwrap_or_else(|| panic!("{query}: 503"))
}

/// One list page and how long it took; None for a 503.
fn try_get(
    http: &reqwest::blocking::Client,
    server: &ServerProc,
    query: &str,
) -> Option<(Duration, serde_json::Value)> {
    let t = Instant::now();
    let r = http
        .get(format!("{}/api/contacts?{query}", server.base))
        .bearer_auth(&server.key)
        .send()
        .unwrap();
    if r.status().as_u16() == 503 {
        return None;
    }
    assert!(r.status().is_success(), "{query}: {}", r.status());
    let body: serde_json::Value = r.json().unwrap();
    Some((t.elapsed(), body))
}

/// Reads every file under `dir` once, so that the OS holds it in its cache.
fn warm_file_cache(dir: &Path) {
    let mut buf = vec![0u8; 1 << 20];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            warm_file_cache(&path);
        } else if let Ok(mut f) = std::fs::File::open(&path) {
            while std::io::Read::read(&mut f, &mut buf).is_ok_and(|n| n > 0) {}
        }
    }
}

fn main() {
    let n = size_from_env(100_000);
    // `ROSTER_BENCH_DIR` keeps the imported data directory there, and a
    // later run with the same size reuses it (to compare two builds on the
    // same rows).
    let tmp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("ROSTER_BENCH_DIR")
        .map(|d| Path::new(&d).join(format!("filters-{n}")))
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let data = root.join("data");
    let key_file = root.join("key");
    let key = match std::fs::read_to_string(&key_file) {
        Ok(key) => key,
        Err(_) => {
            std::fs::create_dir_all(&root).unwrap();
            let csv = root.join("sweep.csv");
            write_sweep_csv(&csv, n);
            let key = support::create_key(&data, "bench");
            support::roster_cli(&[
                "import".as_ref(),
                csv.as_os_str(),
                "--org".as_ref(),
                "bench".as_ref(),
                "--data-dir".as_ref(),
                data.as_os_str(),
            ]);
            std::fs::remove_file(&csv).unwrap();
            std::fs::write(&key_file, &key).unwrap();
            key
        }
    };

    // The write figures go to an organization of their own, new each run,
    // so the sweep's rows stay as they were for the next run.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let writes_key = support::create_key(&data, &format!("writes-{stamp}"));
    let mut server = ServerProc::start(&data, Some(&key), &[]);
    server.wait_idle(Duration::from_secs(900));
    let http = reqwest::blocking::Client::new();
    let db = rusqlite::Connection::open_with_flags(
        data.join("roster.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let keyed = db
        .prepare("SELECT 1 FROM pragma_table_info('contacts') WHERE name = 'key'")
        .unwrap()
        .exists([])
        .unwrap();
    let org: i64 = db
        .query_row(
            "SELECT org FROM organizations WHERE name = 'bench'",
            [],
            |r| r.get(0),
        )
        .unwrap();

    report(&format!("## List filter sweep: {n} contacts"));
    report(&format!("machine: {}", machine()));
    report("");
    report(
        "| filter | matches | share | p50 ms | p95 ms | 8 clients req/s | p99 ms | deep page p95 ms | first after restart ms | raw SQLite p50 ms |",
    );
    report("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");

    // `ROSTER_BENCH_ROWS`: only the rows whose query contains one of these
    // comma-separated words (`-` for none: the write figures alone).
    let only: Option<Vec<String>> = std::env::var("ROSTER_BENCH_ROWS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| {
            only.as_ref()
                .is_none_or(|words| words.iter().any(|w| r.query.contains(w.as_str())))
        })
        .collect();
    // First requests after a restart, one per row, each on a fresh process.
    // A restart is not a reboot: the files are in the OS's cache, whatever
    // ran on the machine before (another build, another benchmark).
    warm_file_cache(&data);
    let mut cold = Vec::new();
    for r in &rows {
        server.stop();
        server = ServerProc::start(&data, Some(&key), &[]);
        cold.push(first_answer(
            &http,
            &server,
            &format!("limit=50&{}", r.query),
        ));
    }
    server.wait_idle(Duration::from_secs(60));
    let server = Arc::new(server);

    for (r, cold) in rows.iter().zip(cold) {
        let (_, counted) = get(
            &http,
            &server,
            &format!("limit=1&includeTotal=true&{}", r.query),
        );
        let total = counted["total"].as_i64().unwrap_or(0);
        let page = format!("limit=50&{}", r.query);
        let mut one = Samples(Vec::new());
        for _ in 0..60 {
            one.push(get(&http, &server, &page).0);
        }
        // A deep page: ten pages in, by cursor.
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let q = match &cursor {
                Some(c) => format!("{page}&cursor={}", urlencode(c)),
                None => page.clone(),
            };
            let (_, body) = get(&http, &server, &q);
            cursor = body["cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        let mut deep = Samples(Vec::new());
        if let Some(c) = &cursor {
            let q = format!("{page}&cursor={}", urlencode(c));
            for _ in 0..20 {
                deep.push(get(&http, &server, &q).0);
            }
        }
        // Eight clients at once.
        let started = Instant::now();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let server = server.clone();
                let page = page.clone();
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::new();
                    (0..40)
                        .map(|_| get(&http, &server, &page).0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Samples(Vec::new());
        for t in threads {
            for d in t.join().unwrap() {
                all.push(d);
            }
        }
        let rate = all.0.len() as f64 / started.elapsed().as_secs_f64();
        // The raw engine: SQLite's own plan for the same page.
        let sort = if r.query.contains("sortBy=created_at") {
            "created_at"
        } else {
            "updated_at"
        };
        let sql = format!(
            "SELECT c.id FROM contacts c WHERE c.org = ?1 AND {} ORDER BY c.{sort} DESC, c.key DESC LIMIT 51",
            r.sql
        );
        // Another build's database (ROSTER_BENCH_BIN) may name contacts by
        // their text id alone.
        let sql = if keyed {
            sql
        } else {
            sql.replace("t.contact = c.key", "t.contact_id = c.id")
                .replace("c.key DESC", "c.id DESC")
        };
        let mut stmt = db.prepare(&sql).unwrap();
        let mut raw = Samples(Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let _: Vec<String> = stmt
                .query_map([org], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            raw.push(t.elapsed());
        }
        let deep_p95 = if deep.0.is_empty() {
            "-".to_string()
        } else {
            ms(deep.p95())
        };
        report(&format!(
            "| `{}` | {total} | {:.2}% | {} | {} | {rate:.0} | {} | {deep_p95} | {} | {} |",
            if r.query.is_empty() {
                "(none)"
            } else {
                &r.query
            },
            total as f64 * 100.0 / n as f64,
            ms(one.p50()),
            ms(one.p95()),
            ms(all.pct(0.99)),
            ms(cold),
            ms(raw.p50()),
        ));
    }
    let mut server = Arc::into_inner(server).expect("the clients are done");
    server.key = writes_key;
    writes(&server, n);
}

/// What the indexes cost writes, in the same run as the sweep: creates from
/// 8 concurrent clients and an import of new contacts through the API, into
/// the database the sweep read (an organization of their own).
fn writes(server: &ServerProc, n: usize) {
    report("");
    // Three loads of 8,000 creates, one after another: the first starts on
    // an idle server (its WAL truncated), the others on a busy one.
    for round in 7..10 {
        let (rate, failed, client_cpu) = create_load(server, 1_000, round);
        report(&format!(
            "creates into {n} contacts, 8 clients: {rate:.0}/s ({failed} failed; \
             the client used {client_cpu:.2} CPU s)"
        ));
    }
    let rows = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("more.csv");
    write_csv(&csv, rows, 99);
    let http = reqwest::blocking::Client::new();
    server.wait_idle(Duration::from_secs(120));
    // The peak resident size starts again here (clear_refs 5), so it is the
    // import's own.
    let _ = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5");
    let t = Instant::now();
    let done = import_csv(&http, server, &csv);
    let took = t.elapsed();
    let (_, peak) = server.rss_mib();
    server.wait_idle(Duration::from_secs(300));
    let (idle, _) = server.rss_mib();
    // The allocator hands freed pages back over about ten seconds: the
    // size a serving server settles at is read once it stops falling.
    let mut settled = idle;
    for _ in 0..30 {
        std::thread::sleep(Duration::from_secs(2));
        let (now, _) = server.rss_mib();
        let steady = settled - now < 1.0;
        settled = now;
        if steady {
            break;
        }
    }
    let (anon, file) = support::rss_split_mib(server.pid());
    report(&format!(
        "import of {rows} new rows through the API into {n} contacts: {:.0} rows/s ({} created); \
         peak resident during it {peak:.0} MiB; resident once idle {idle:.0} MiB, \
         settled at {settled:.0} MiB ({anon:.0} MiB private, {file:.0} MiB mapped files)",
        rows as f64 / took.as_secs_f64(),
        done["created"]
    ));
}
