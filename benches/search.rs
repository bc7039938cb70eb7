//! Search benchmark: seeds realistic contacts in one organization through
//! the write path, times a full index rebuild (`roster reindex`), starts the
//! real server and runs mixed queries over HTTP, then measures how long a
//! write takes to become searchable. Prints a Markdown report.
//!
//! `cargo bench --bench search` (release). Scale with ROSTER_BENCH_CONTACTS
//! (default 1,000,000) and ROSTER_BENCH_QUERIES (default 1,000).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roster::db::Db;
use roster::model::{ContactPatch, Mode};
use roster::search::schema;
use roster::store::contacts::{self, Source};
use roster::store::{keys, orgs};
use serde_json::{Value, json};
use support::LAST;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::FuzzyTermQuery;
use tantivy::{Index, ReloadPolicy, Term};

const BIN: &str = env!("CARGO_BIN_EXE_roster");

const FIRST: &[(&str, u32)] = &[
    ("James", 60),
    ("Mary", 40),
    ("John", 40),
    ("Patricia", 25),
    ("Robert", 35),
    ("Jennifer", 30),
    ("Michael", 35),
    ("Linda", 25),
    ("William", 30),
    ("Elizabeth", 25),
    ("David", 30),
    ("Barbara", 20),
    ("Richard", 20),
    ("Susan", 20),
    ("Joseph", 20),
    ("Jessica", 20),
    ("Thomas", 20),
    ("Sarah", 20),
    ("Charles", 15),
    ("Karen", 15),
    ("Christopher", 15),
    ("Lisa", 15),
    ("Daniel", 15),
    ("Nancy", 15),
    ("Matthew", 12),
    ("Betty", 10),
    ("Anthony", 12),
    ("Sandra", 10),
    ("Mark", 12),
    ("Margaret", 10),
    ("Donald", 10),
    ("Ashley", 10),
    ("Steven", 10),
    ("Kimberly", 10),
    ("Andrew", 10),
    ("Emily", 10),
    ("Paul", 10),
    ("Donna", 8),
    ("Joshua", 8),
    ("Michelle", 8),
    ("Kenneth", 8),
    ("Carol", 8),
    ("Kevin", 8),
    ("Amanda", 8),
    ("Brian", 8),
    ("Melissa", 8),
    ("George", 8),
    ("Deborah", 8),
    ("Timothy", 6),
    ("Stephanie", 6),
    ("Ronald", 6),
    ("Rebecca", 6),
    ("Jason", 6),
    ("Sharon", 6),
    ("Edward", 6),
    ("Laura", 6),
    ("Jeffrey", 6),
    ("Cynthia", 6),
    ("Ryan", 6),
    ("Dorothy", 5),
    ("Jacob", 5),
    ("Amy", 5),
    ("Gary", 5),
    ("Kathleen", 5),
    ("Nicholas", 5),
    ("Angela", 5),
    ("Eric", 5),
    ("Shirley", 5),
    ("Jonathan", 5),
    ("Emma", 5),
    ("Stephen", 5),
    ("Brenda", 5),
    ("Larry", 4),
    ("Pamela", 4),
    ("Justin", 4),
    ("Nicole", 4),
    ("Scott", 4),
    ("Anna", 4),
    ("Brandon", 4),
    ("Samantha", 4),
    ("Benjamin", 4),
    ("Katherine", 4),
    ("Samuel", 4),
    ("Christine", 4),
    ("Gregory", 3),
    ("Debra", 3),
    ("Alexander", 3),
    ("Rachel", 3),
    ("Patrick", 3),
    ("Carolyn", 3),
    ("Frank", 3),
    ("Janet", 3),
    ("Raymond", 3),
    ("Maria", 3),
    ("Jack", 3),
    ("Olivia", 3),
    ("Dennis", 3),
    ("Heather", 3),
    ("Jerry", 3),
    ("Helen", 3),
    ("Tyler", 3),
    ("Catherine", 3),
    ("Aaron", 2),
    ("Diane", 2),
    ("José", 2),
    ("Julie", 2),
    ("Adam", 2),
    ("Victoria", 2),
    ("Nathan", 2),
    ("Joyce", 2),
    ("Henry", 2),
    ("Lauren", 2),
    ("Zachary", 2),
    ("Kelly", 2),
    ("Douglas", 2),
    ("Christina", 2),
    ("Peter", 2),
    ("Ruth", 2),
    ("Kyle", 2),
    ("Joan", 2),
    ("Noah", 2),
    ("Virginia", 2),
    ("Ethan", 2),
    ("Judith", 2),
    ("Jeremy", 2),
    ("Evelyn", 2),
    ("Walter", 2),
    ("Hannah", 2),
    ("Christian", 2),
    ("Andrea", 2),
    ("Keith", 2),
    ("Megan", 2),
    ("Roger", 2),
    ("Cheryl", 2),
    ("Terry", 2),
    ("Jacqueline", 2),
    ("Austin", 2),
    ("Madison", 2),
    ("Sean", 2),
    ("Teresa", 2),
    ("Gerald", 2),
    ("Abigail", 2),
    ("Carl", 2),
    ("Sophia", 2),
    ("Dylan", 2),
    ("Martha", 2),
    ("Harold", 2),
    ("Sara", 2),
    ("Jordan", 2),
    ("Gloria", 2),
    ("Chloé", 1),
    ("Zoë", 1),
    ("Renée", 1),
    ("Björn", 1),
    ("Ana", 1),
    ("Luis", 1),
];

const AREA: &[&str] = &[
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "212", "213", "214", "215",
    "216", "217", "218", "219", "224", "225", "228", "229", "231", "234", "239", "240", "248",
    "251", "252", "253", "254", "256", "260", "262", "267", "269", "270", "276", "281", "301",
    "302", "303", "304", "305", "307", "308", "309", "310", "312", "313", "314", "315", "316",
    "317", "318", "319", "320", "321", "323", "325", "330", "334", "336", "337", "339", "347",
    "352", "360", "361", "385", "386", "401", "402", "404", "405", "406", "407", "408", "409",
    "410", "412", "413", "414", "415", "417", "419", "423", "425", "432", "434", "435", "440",
    "443", "469", "478", "479", "480", "484", "501", "502", "503", "504", "505", "507", "508",
    "509", "510", "512", "513", "515", "516", "517", "518", "520", "530", "540", "541", "559",
    "561", "562", "563", "570", "571", "573", "574", "580", "585", "586", "601", "602", "603",
    "605", "606", "607", "608", "609", "610", "612", "614", "615", "616", "617", "618", "619",
    "620", "623", "626", "630", "631", "636", "641", "646", "650", "651", "660", "661", "662",
    "678", "701", "702", "703", "704", "706", "707", "708", "712", "713", "714", "715", "716",
    "717", "718", "719", "720", "724", "727", "731", "732", "734", "740", "754", "757", "760",
    "763", "765", "770", "772", "773", "774", "775", "781", "785", "786", "801", "802", "803",
    "804", "805", "806", "808", "810", "812", "813", "814", "815", "816", "817", "818", "828",
    "830", "831", "832", "843", "845", "847", "848", "850", "856", "857", "858", "859", "860",
    "862", "863", "864", "865", "870", "901", "903", "904", "906", "907", "908", "909", "910",
    "912", "913", "914", "915", "916", "917", "918", "919", "920", "925", "928", "931", "936",
    "937", "940", "941", "949", "951", "952", "954", "956", "970", "971", "972", "973", "978",
    "979", "980", "985", "989",
];

const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "comcast.net",
    "example.org",
    "mail.com",
];
const STATES: &[&str] = &[
    "NC", "SC", "VA", "GA", "FL", "TX", "CA", "NY", "PA", "OH", "IL", "MI", "WA", "AZ", "CO",
];

struct Person {
    first: String,
    last: String,
    email: String,
    phone: String,
}

fn pick_first(rng: &mut StdRng, total: u32) -> &'static str {
    let mut n = rng.random_range(0..total);
    for (name, w) in FIRST {
        if n < *w {
            return name;
        }
        n -= w;
    }
    FIRST[0].0
}

fn person(rng: &mut StdRng, first_total: u32) -> Person {
    let first = pick_first(rng, first_total).to_string();
    let last = LAST[rng.random_range(0..LAST.len())].to_string();
    let plain = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' => 'e',
                'á' => 'a',
                'ñ' => 'n',
                'ö' => 'o',
                'ë' => 'e',
                c => c,
            })
            .collect()
    };
    let email = match rng.random_range(0..3) {
        0 => format!(
            "{}.{}{}@{}",
            plain(&first),
            plain(&last),
            rng.random_range(1..10_000),
            DOMAINS[rng.random_range(0..DOMAINS.len())]
        ),
        1 => format!(
            "{}{}{}@{}",
            &plain(&first)[..1],
            plain(&last),
            rng.random_range(1..100_000),
            DOMAINS[rng.random_range(0..DOMAINS.len())]
        ),
        _ => format!(
            "{}_{}{}@{}",
            plain(&last),
            plain(&first),
            rng.random_range(1..10_000),
            DOMAINS[rng.random_range(0..DOMAINS.len())]
        ),
    };
    let phone = format!(
        "+1{}{}{}{:04}",
        AREA[rng.random_range(0..AREA.len())],
        rng.random_range(2..10),
        rng.random_range(10..100),
        rng.random_range(0..10_000)
    );
    Person {
        first,
        last,
        email,
        phone,
    }
}

fn seed(dir: &Path, n: usize, rng: &mut StdRng) -> (String, Vec<Person>) {
    let db = Db::open(dir).expect("open db");
    let (org, key) = db
        .write_blocking(|tx| {
            let org = orgs::get_or_create(tx, "bench")?;
            let (_, key) = keys::create(tx, org.org, keys::Access::Write)?;
            Ok((org.org, key))
        })
        .expect("org");
    let first_total: u32 = FIRST.iter().map(|(_, w)| w).sum();
    let mut sample = Vec::new();
    let mut written = 0usize;
    let started = Instant::now();
    while written < n {
        let batch: Vec<Person> = (0..(n - written).min(20_000))
            .map(|_| person(rng, first_total))
            .collect();
        let bodies: Vec<Value> = batch
            .iter()
            .map(|p| {
                let mut tags = Vec::new();
                let r: f64 = rng.random();
                if r < 0.30 {
                    tags.push("volunteer");
                }
                if rng.random::<f64>() < 0.15 {
                    tags.push("donor");
                }
                if rng.random::<f64>() < 0.03 {
                    tags.push("VIP");
                }
                if rng.random::<f64>() < 0.10 {
                    tags.push("event-2024");
                }
                json!({
                    "firstName": p.first, "lastName": p.last, "email": p.email, "phone": p.phone,
                    "tags": tags, "state": STATES[rng.random_range(0..STATES.len())],
                    "zip": format!("{:05}", rng.random_range(10_000..99_999)),
                })
            })
            .collect();
        db.write_blocking(|tx| {
            for body in &bodies {
                let Ok(patch) = ContactPatch::from_json(body, Mode::Create) else {
                    continue;
                };
                let _ = contacts::create_or_merge(tx, org, patch, Source::Import);
            }
            Ok(())
        })
        .expect("seed batch");
        written += batch.len();
        if sample.len() < 5_000 {
            sample.extend(batch.into_iter().take(500));
        }
        if written.is_multiple_of(100_000) {
            eprintln!(
                "seeded {written} in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    // An established database has its lookups answered; without this the
    // server would spend the whole benchmark working through a million
    // queued lookups (measured on their own in benches/lookups.rs).
    db.write_blocking(|tx| {
        tx.execute_batch(
            "UPDATE lookup_jobs SET status = 'done' WHERE status = 'pending';
             UPDATE contacts SET lookup_status = NULL WHERE lookup_status = 'pending';",
        )?;
        Ok(())
    })
    .expect("settle lookups");
    (key, sample)
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn start_server(dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn server");
    let out = child.stdout.take().unwrap();
    let mut base = String::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(addr) = line.trim().strip_prefix("roster listening on ") {
            base = addr.to_string();
            break;
        }
    }
    (child, base)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn typo(rng: &mut StdRng, word: &str) -> String {
    let mut c: Vec<char> = word.to_lowercase().chars().collect();
    let i = rng.random_range(1..c.len() - 1);
    if rng.random_bool(0.5) {
        c.swap(i, i + 1);
    } else {
        c[i] = if c[i] == 'x' { 'y' } else { 'x' };
    }
    c.into_iter().collect()
}

fn main() {
    let n: usize = std::env::var("ROSTER_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let nq: usize = std::env::var("ROSTER_BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut rng = StdRng::seed_from_u64(7);

    let t = Instant::now();
    let (key, sample) = seed(&dir, n, &mut rng);
    let seed_s = t.elapsed().as_secs_f64();
    let count: i64 = Db::open(&dir)
        .unwrap()
        .read_blocking(contacts::count_all)
        .unwrap();
    eprintln!("seeded {count} contacts in {seed_s:.1} s");

    let t = Instant::now();
    support::roster_cli(&["reindex".as_ref(), "--data-dir".as_ref(), dir.as_os_str()]);
    let rebuild_s = t.elapsed().as_secs_f64();
    let index_bytes = dir_size(&dir.join("index"));
    eprintln!("rebuild {rebuild_s:.1} s, index {} MiB", index_bytes >> 20);

    let (mut child, base) = start_server(&dir);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let get = |path: &str| -> (u16, Value) {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(&key)
            .send()
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().unwrap_or(Value::Null))
    };
    // Wait until search answers (the index was built above, so it opens).
    let t = Instant::now();
    while get("/api/contacts?search=james&limit=1").0 != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "search never became available"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Raw tantivy baseline in the same run: a one-typo fuzzy term on first
    // names, top 51 plus count, against the same index files.
    let index = Index::open_in_dir(dir.join("index")).unwrap();
    schema::register_analyzers(&index).unwrap();
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .unwrap();
    let searcher = reader.searcher();
    let first = index.schema().get_field("first").unwrap();
    let mut raw = Vec::new();
    for i in 0..300 {
        let q = FuzzyTermQuery::new(
            Term::from_field_text(first, ["jmaes", "mciheal", "robret", "lidna"][i % 4]),
            1,
            true,
        );
        let t = Instant::now();
        let (_top, _n) = searcher
            .search(&q, &(TopDocs::with_limit(51).order_by_score(), Count))
            .unwrap();
        raw.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let raw_p50 = pct(&mut raw, 0.5);

    // Mixed queries over HTTP.
    let kinds = [
        "name with one typo",
        "full name",
        "7-digit phone fragment",
        "email prefix",
        "common first name + tag",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    let mut empty = vec![0usize; kinds.len()];
    let mut matches = vec![0u64; kinds.len()];
    let path_of = |k: usize, rng: &mut StdRng| {
        let p = &sample[rng.random_range(0..sample.len())];
        match k {
            0 => format!("/api/contacts?search={}", enc(&typo(rng, &p.last))),
            1 => format!(
                "/api/contacts?search={}",
                enc(&format!("{} {}", p.first, p.last))
            ),
            2 => format!("/api/contacts?search={}", &p.phone[p.phone.len() - 7..]),
            3 => format!(
                "/api/contacts?search={}",
                enc(&p.email[..6.min(p.email.len())])
            ),
            _ => "/api/contacts?search=james&tags=volunteer&includeTotal=true".to_string(),
        }
    };
    for i in 0..(nq + 50) {
        let k = i % kinds.len();
        let path = path_of(k, &mut rng);
        let t = Instant::now();
        let (status, body) = get(&path);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(status, 200, "{path}: {body}");
        if i < 50 {
            continue; // warm-up
        }
        times[k].push(ms);
        if body["contacts"].as_array().is_none_or(|a| a.is_empty()) {
            empty[k] += 1;
        }
        if let Some(t) = body["total"].as_u64() {
            matches[k] = t;
        }
    }
    let (_, james) = get("/api/contacts?search=james&limit=1&includeTotal=true");

    // Eight clients at once, each query type on its own: 8 x 60 queries,
    // every path made and every client connected before the clock starts.
    let mut loaded = Vec::new();
    for k in 0..kinds.len() {
        let paths: Vec<Vec<String>> = (0..8)
            .map(|_| (0..60).map(|_| path_of(k, &mut rng)).collect())
            .collect();
        let start = Arc::new(Barrier::new(9));
        let threads: Vec<_> = paths
            .into_iter()
            .map(|paths| {
                let (base, key, start) = (base.clone(), key.clone(), start.clone());
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::new();
                    let get = |path: &str| {
                        let r = http.get(format!("{base}{path}")).bearer_auth(&key).send();
                        let r = r.unwrap();
                        assert_eq!(r.status().as_u16(), 200, "{path}");
                        let _ = r.bytes();
                    };
                    get("/healthz");
                    start.wait();
                    paths
                        .iter()
                        .map(|path| {
                            let t = Instant::now();
                            get(path);
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let mut all: Vec<f64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let rate = all.len() as f64 / t.elapsed().as_secs_f64();
        loaded.push((rate, pct(&mut all, 0.99)));
    }

    // Write-to-searchable latency, one write at a time.
    let mut lag = Vec::new();
    for i in 0..200 {
        let name = format!("Zyqwv{i}");
        let r = http
            .post(format!("{base}/api/contacts"))
            .bearer_auth(&key)
            .json(&json!({"firstName": name, "email": format!("lag{i}@bench.test")}))
            .send()
            .unwrap();
        assert!(r.status().is_success());
        let t = Instant::now();
        loop {
            let (s, body) = get(&format!("/api/contacts?search=lag{i}%40bench.test&limit=1"));
            if s == 200 && body["contacts"].as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(1));
        }
        lag.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let pid = child.id();
    let rss = status_kb(pid, "VmRSS:");
    let hwm = status_kb(pid, "VmHWM:");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();

    println!("### Search benchmark ({count} contacts, {nq} queries)\n");
    println!(
        "| query type | p50 ms | p95 ms | target p95 | empty results | 8 clients req/s | 8 clients p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (k, kind) in kinds.iter().enumerate() {
        let v = &mut times[k];
        println!(
            "| {kind} | {:.2} | {:.2} | ≤ 10 ms | {}/{} | {:.0} | {:.2} |",
            pct(v, 0.5),
            pct(v, 0.95),
            empty[k],
            v.len(),
            loaded[k].0,
            loaded[k].1
        );
    }
    println!();
    println!(
        "- `james` matches {} contacts ({:.1}%); with `tags=volunteer`: {}",
        james["total"],
        james["total"].as_f64().unwrap_or(0.0) * 100.0 / count as f64,
        matches[4]
    );
    println!("- seeding through the write path: {seed_s:.1} s");
    println!("- full rebuild (`roster reindex`): {rebuild_s:.1} s (target ≤ 30 s)");
    println!("- index size: {:.0} MiB", index_bytes as f64 / 1048576.0);
    println!(
        "- server RSS after the queries: {:.0} MiB (peak {:.0} MiB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "- raw tantivy one-typo fuzzy term (top 51 + count), same index: {raw_p50:.2} ms median"
    );
    println!(
        "- write to searchable (200 sequential creates): p50 {:.1} ms, p99 {:.1} ms",
        pct(&mut lag.clone(), 0.5),
        pct(&mut lag, 0.99)
    );
}
