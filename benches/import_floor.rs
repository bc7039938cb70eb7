//! What an import's work costs the engines alone, per row, beside Roster's
//! own import of the same rows through the API, in the same run.
//!
//! An import through the API validates each row (phone numbers parsed and
//! typed by `phonenumber`), writes the rows an imported contact needs in
//! SQLite (the contact row with its indexes, its tag rows, one timeline event,
//! one search outbox row) and indexes the contact's document in tantivy. Each
//! of the three is measured here on its own, without Roster's pipeline around
//! it: their CPU seconds per row, added up, are the least an import can cost,
//! and two cores can go no faster than two CPU seconds a second.
//!
//!   ROSTER_BENCH_SIZE=1m cargo bench --bench import_floor
//!
//! The rows are the end-to-end benchmark's (`roster seed`'s generator).

mod support;

use std::path::Path;
use std::time::Instant;

use roster::db::Db;
use roster::model::contact::Mode;
use roster::model::fields::Phone;
use roster::model::{Contact, ContactPatch};
use roster::search::schema::{self, Fields};
use roster::store::contacts::rows;
use roster::store::{new_id, orgs, outbox, timeline};
use rusqlite::params;
use serde_json::{Value, json};
use support::{Generator, ServerProc, cpu_secs_of, import_csv, machine, report, size_from_env};

/// Rows per SQLite transaction and tantivy commit, as the server uses.
const ROWS_PER_TRANSACTION: usize = 5_000;
const DOCS_PER_COMMIT: usize = 50_000;
const TANTIVY_MEMORY: usize = 100_000_000;

fn main() {
    let n = size_from_env(100_000);
    let tmp = tempfile::tempdir().unwrap();
    report(&format!("# import floor: {n} rows, {}", machine()));
    let bodies: Vec<Value> = {
        let mut g = Generator::new(1);
        (0..n).map(|i| body(&g.person(i))).collect()
    };

    // 1. Validation: what the import's reading thread does for each row
    // once its cells are mapped, and phonenumber's share of it.
    let (phone_cpu, _) = cpu(|| {
        for b in &bodies {
            let phone = b["phone"].as_str().unwrap();
            std::hint::black_box(Phone::parse(phone).unwrap());
        }
    });
    let now = 1_700_000_000_000;
    let (validate_cpu, contacts) = cpu(|| {
        bodies
            .iter()
            .map(|b| {
                let patch = ContactPatch::from_json(b, Mode::Create).unwrap();
                let mut c = Contact::new(new_id(), 1, now);
                patch.apply_to(&mut c, true).unwrap();
                c
            })
            .collect::<Vec<_>>()
    });
    drop(bodies);

    // 2. SQLite: the rows of each imported contact, in Roster's schema, on
    // Roster's own writer connection (its pragmas, its checkpoint thread);
    // then the contact rows alone, into a database of their own.
    let (sqlite_cpu, sqlite_wall) =
        cpu_wall(|| write_rows(&tmp.path().join("sqlite"), &contacts, true));
    let (rows_cpu, rows_wall) = cpu_wall(|| write_rows(&tmp.path().join("rows"), &contacts, false));

    // 3. tantivy: each contact's document in Roster's schema, one indexing
    // thread, committed every DOCS_PER_COMMIT documents.
    let (tantivy_cpu, tantivy_wall) = cpu_wall(|| index(&tmp.path().join("index"), &contacts));
    drop(contacts);

    // 4. Roster: the same rows through the API into a started server.
    let csv = tmp.path().join("import.csv");
    support::write_csv(&csv, n, 1);
    let data = tmp.path().join("server");
    let server = ServerProc::start(&data, None, &[]);
    let http = reqwest::blocking::Client::new();
    let cpu0 = server.cpu_secs();
    let t = Instant::now();
    let done = import_csv(&http, &server, &csv);
    let completed = t.elapsed().as_secs_f64();
    assert_eq!(done["created"].as_u64(), Some(n as u64), "{done}");
    // The search index catches up after the import's last transaction: the
    // import is done when the outbox is empty.
    let db = rusqlite::Connection::open(data.join(roster::db::DB_FILE)).unwrap();
    while db
        .query_row("SELECT count(*) FROM search_outbox", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
        > 0
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let wall = t.elapsed().as_secs_f64();
    let server_cpu = server.cpu_secs() - cpu0;
    server.stop();

    let us = |secs: f64| secs / n as f64 * 1e6;
    let floor = us(validate_cpu) + us(sqlite_cpu) + us(tantivy_cpu);
    report("| work per imported row | CPU us per row | rows/s on one core | wall s |");
    report("| --- | ---: | ---: | ---: |");
    let row = |name: &str, secs: f64, wall: Option<f64>| {
        report(&format!(
            "| {name} | {:.1} | {:.0} | {} |",
            us(secs),
            n as f64 / secs,
            wall.map_or("-".into(), |w| format!("{w:.1}"))
        ))
    };
    row(
        &format!(
            "validation (the model's checks; phonenumber's parse and type check alone {:.1} us)",
            us(phone_cpu)
        ),
        validate_cpu,
        None,
    );
    row(
        "SQLite: the contact row and its indexes, its tag rows, one event, one outbox row",
        sqlite_cpu,
        Some(sqlite_wall),
    );
    row(
        "SQLite: the contact row and its indexes alone",
        rows_cpu,
        Some(rows_wall),
    );
    row(
        "tantivy: the contact's document",
        tantivy_cpu,
        Some(tantivy_wall),
    );
    report(&format!(
        "| the engines alone, added up | {floor:.1} | at most {:.0} rows/s on two cores | - |",
        2e6 / floor
    ));
    report(&format!(
        "| Roster through the API, until every row is indexed (server CPU) | {:.1} | {:.0} rows/s measured ({:.0} until the import reported completed) | {wall:.1} |",
        us(server_cpu),
        n as f64 / wall,
        n as f64 / completed
    ));
}

/// The create body a CSV row of `p` maps to.
fn body(p: &roster::seed::Person) -> Value {
    json!({
        "firstName": p.first,
        "lastName": p.last,
        "phone": p.phone,
        "email": p.email,
        "city": p.city,
        "state": p.state,
        "zip": p.zip,
        "tags": p.tags,
        "customFields": {
            "member_id": p.member_id,
            "chapter": p.chapter,
            "joined": p.joined,
        },
    })
}

/// Writes `contacts` into a new database in `dir`, ROWS_PER_TRANSACTION
/// to a transaction: each one's row, and with `all` its tag rows, its
/// "created" event and its search outbox row, as an import writes them.
fn write_rows(dir: &Path, contacts: &[Contact], all: bool) {
    let db = Db::open(dir).unwrap();
    let org = db
        .write_blocking(|tx| orgs::get_or_create(tx, "floor"))
        .unwrap()
        .org;
    for chunk in contacts.chunks(ROWS_PER_TRANSACTION) {
        db.write_blocking(|tx| {
            for c in chunk {
                let mut c = c.clone();
                c.org = org;
                rows::insert(tx, &c)?;
                if !all {
                    continue;
                }
                let key = tx.last_insert_rowid();
                let mut tag = tx.prepare_cached(
                    "INSERT INTO contact_tags (org, tag, contact, updated_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for t in c.tags.keys() {
                    tag.execute(params![org, t, key, c.updated_at])?;
                }
                let data = json!({ "source": "import", "tags": c.tags.as_slice() });
                timeline::record_key(tx, org, key, "created", &data)?;
                outbox::record_new(tx, org, &c.id)?;
            }
            Ok(())
        })
        .unwrap();
    }
}

fn index(dir: &Path, contacts: &[Contact]) {
    std::fs::create_dir_all(dir).unwrap();
    let index = tantivy::Index::create_in_dir(dir, schema::build_schema()).unwrap();
    schema::register_analyzers(&index).unwrap();
    let fields = Fields::new(&index.schema()).unwrap();
    let mut writer: tantivy::IndexWriter =
        index.writer_with_num_threads(1, TANTIVY_MEMORY).unwrap();
    for chunk in contacts.chunks(DOCS_PER_COMMIT) {
        for c in chunk {
            writer.add_document(schema::document(&fields, c)).unwrap();
        }
        writer.commit().unwrap();
    }
    writer.wait_merging_threads().unwrap();
}

/// The process's CPU seconds while `f` runs (every thread: tantivy indexes
/// and merges on its own), and what it answered.
fn cpu<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let before = cpu_secs_of("self");
    let out = f();
    (cpu_secs_of("self") - before, out)
}

fn cpu_wall(f: impl FnOnce()) -> (f64, f64) {
    let t = Instant::now();
    let (secs, ()) = cpu(f);
    (secs, t.elapsed().as_secs_f64())
}
