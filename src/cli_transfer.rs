//! `roster import` and `roster export`: the same importer and exporter as
//! the API, run directly against the data directory.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use roster::config::DataDirArg;
use roster::csvio::export::{self, Format};
use roster::csvio::importer::{self, ImportOptions};
use roster::db::Db;
use roster::error::AppError;
use roster::store::{imports, new_id, orgs};
use serde_json::{Map, Value, json};

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file.
    file: PathBuf,
    /// Organization name.
    #[arg(long)]
    org: String,
    /// A tag added to every row (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// merge (default) or skipExisting.
    #[arg(long, value_parser = ["merge", "skipExisting"])]
    mode: Option<String>,
    /// Field delimiter (sniffed when absent); "tab" for tabs.
    #[arg(long)]
    delimiter: Option<String>,
    /// Explicit column mapping as JSON: {"Header": "field" | null}.
    #[arg(long)]
    mapping: Option<String>,
    #[command(flatten)]
    data: DataDirArg,
}

fn find_org(db: &Db, name: &str) -> Result<orgs::Org, AppError> {
    db.read_blocking(|c| orgs::by_name(c, name))?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no organization named '{name}' (see `roster orgs list`; `roster keys create --org {name}` creates one)"
        ))
    })
}

pub fn import(args: ImportArgs) -> Result<(), AppError> {
    let db = Db::open_existing(&args.data.data_dir)?;
    let org = find_org(&db, &args.org)?;
    let mut options = Map::new();
    if !args.tags.is_empty() {
        options.insert("tags".into(), json!(args.tags));
    }
    if let Some(m) = args.mode {
        options.insert("mode".into(), json!(m));
    }
    if let Some(d) = args.delimiter {
        options.insert("delimiter".into(), json!(d));
    }
    if let Some(m) = args.mapping {
        let v: Value = serde_json::from_str(&m).map_err(|e| {
            AppError::validation("mapping", format!("--mapping is not valid JSON: {e}"))
        })?;
        options.insert("mapping".into(), v);
    }
    let options = Value::Object(options);
    ImportOptions::from_json(&options)?;
    let path = std::fs::canonicalize(&args.file).map_err(|e| {
        AppError::validation("file", format!("cannot open {}: {e}", args.file.display()))
    })?;
    let id = new_id();
    let source = path.to_string_lossy().into_owned();
    db.write_blocking(|tx| imports::create(tx, &id, org.org, &options, &source))?;

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} rows  {per_sec}  ETA {eta}")
            .map_err(AppError::internal)?,
    );
    let started = std::time::Instant::now();
    let never = tokio_util::sync::CancellationToken::new();
    let imp = importer::run(&db, &id, None, &never, &mut |p| {
        bar.set_length(p.total_rows.max(0) as u64);
        bar.set_position(p.counters.processed.max(0) as u64);
    })?;
    bar.finish_and_clear();
    roster::csvio::refresh_statistics(&db);
    if let Err(err) = db.checkpoint_truncate() {
        tracing::warn!(%err, "could not truncate the WAL after the import");
    }
    let c = imp.counters;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Import {} {}: {} rows in {:.1} s ({:.0} rows/s): {} created, {} merged, {} skipped, {} failed.",
        imp.id,
        imp.status.as_str(),
        c.processed,
        secs,
        c.processed as f64 / secs.max(1e-9),
        c.created,
        c.merged,
        c.skipped,
        c.failed
    );
    if let Some(m) = &imp.message {
        println!("{m}");
    }
    if let Some(errors) = imp.errors.as_array() {
        for e in errors.iter().take(20) {
            println!(
                "  row {}{}: {}",
                e["row"],
                e["column"]
                    .as_str()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                e["error"].as_str().unwrap_or("")
            );
        }
        if errors.len() > 20 {
            println!(
                "  ... and {} more (GET /api/imports/{})",
                c.failed - 20,
                imp.id
            );
        }
    }
    match imp.status {
        roster::model::import::Status::Completed => Ok(()),
        other => Err(AppError::internal(format!(
            "the import ended {}",
            other.as_str()
        ))),
    }
}

#[derive(Args)]
pub struct ExportArgs {
    /// Organization name.
    #[arg(long)]
    org: String,
    /// csv (default) or ndjson.
    #[arg(long, value_parser = ["csv", "ndjson"])]
    format: Option<String>,
    /// Comma-separated tags.
    #[arg(long)]
    tags: Option<String>,
    /// AND or OR.
    #[arg(long)]
    tags_logic: Option<String>,
    /// Comma-separated state codes.
    #[arg(long)]
    state: Option<String>,
    #[arg(long)]
    zip: Option<String>,
    #[arg(long)]
    is_textable: Option<String>,
    #[arg(long)]
    opted_out: Option<String>,
    #[arg(long)]
    has_email: Option<String>,
    #[arg(long)]
    has_phone: Option<String>,
    #[command(flatten)]
    data: DataDirArg,
}

pub fn export(args: ExportArgs) -> Result<(), AppError> {
    let db = Db::open_existing(&args.data.data_dir)?;
    let org = find_org(&db, &args.org)?;
    let pairs = [
        ("tags", &args.tags),
        ("tagsLogic", &args.tags_logic),
        ("state", &args.state),
        ("zip", &args.zip),
        ("isTextable", &args.is_textable),
        ("optedOut", &args.opted_out),
        ("hasEmail", &args.has_email),
        ("hasPhone", &args.has_phone),
    ];
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| (*v).clone())
            .filter(|v| !v.trim().is_empty())
    };
    let filter = roster::model::ContactFilter::from_query(&get)?;
    let format = Format::parse(args.format.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = QuietPipe(std::io::BufWriter::with_capacity(256 * 1024, stdout.lock()));
    let n = {
        // The CLI's filters never include `search`, so no index is opened.
        let search = roster::search::Search::without_index();
        db.read_blocking(|conn| {
            export::write(conn, &search, org.org, &org.id, &filter, format, &mut out)
        })?
    };
    out.flush().map_err(AppError::internal)?;
    eprintln!("Exported {n} contacts.");
    Ok(())
}

/// Stdout for `roster export`: a reader that stops early (`| head`) ends the
/// export quietly, as with other command-line tools.
struct QuietPipe<W: Write>(W);

impl<W: Write> QuietPipe<W> {
    fn check<T>(r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
        r
    }
}

impl<W: Write> Write for QuietPipe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::check(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Self::check(self.0.flush())
    }
}
