//! `roster serve` (with a known key, seeded data, or a throwaway data
//! directory) and `roster seed`.

use std::path::Path;

use clap::Args;
use roster::config::{Config, DataDirArg};
use roster::db::Db;
use roster::error::AppError;
use roster::ops::lock::DataDirLock;
use roster::store::{keys, orgs};

/// How a server starts: beyond the configuration, what it sets up first.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Make sure this exact write key exists (stored hashed like any other),
    /// for `--bootstrap-org`. 24 to 200 printable characters.
    #[arg(long, env = "ROSTER_BOOTSTRAP_KEY", hide_env_values = true)]
    pub bootstrap_key: Option<String>,
    /// The organization of `--bootstrap-key` (created if missing).
    #[arg(long, env = "ROSTER_BOOTSTRAP_ORG", default_value = "default")]
    pub bootstrap_org: String,
    /// Run on a new temporary data directory, removed when the server exits
    /// (normally, or on SIGTERM or Ctrl-C). `--data-dir` is then ignored.
    #[arg(long, env = "ROSTER_EPHEMERAL")]
    pub ephemeral: bool,
    /// Before listening, write this many generated contacts into the
    /// bootstrap organization (as `roster seed` does), when it has none.
    #[arg(long, env = "ROSTER_SEED_COUNT")]
    pub seed_count: Option<usize>,
    /// The generator's seed for `--seed-count`: the same seed gives the same
    /// contacts.
    #[arg(long, env = "ROSTER_SEED", default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args)]
pub struct SeedArgs {
    /// Organization name (created if missing).
    #[arg(long)]
    org: String,
    /// How many contacts to write.
    #[arg(long)]
    count: usize,
    /// The generator's seed: the same seed gives the same contacts.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    data: DataDirArg,
}

/// `roster seed`: generated contacts through the import path.
pub fn seed(args: SeedArgs) -> Result<(), AppError> {
    let db = Db::open(&args.data.data_dir)?;
    let (org, created) = db.write_blocking(|tx| {
        let existed = orgs::by_name(tx, &args.org)?.is_some();
        Ok((orgs::get_or_create(tx, &args.org)?, !existed))
    })?;
    if created {
        println!("Created organization '{}'.", args.org);
    }
    let started = std::time::Instant::now();
    let imp = roster::seed::import(
        &db,
        &args.data.data_dir,
        org.org,
        args.count,
        args.seed,
        None,
        &mut |_| {},
    )?;
    roster::csvio::refresh_statistics(&db);
    let c = imp.counters;
    println!(
        "Seeded '{}' with {} contacts in {:.1} s ({} created, {} merged, {} failed).",
        args.org,
        c.processed,
        started.elapsed().as_secs_f64(),
        c.created,
        c.merged,
        c.failed
    );
    Ok(())
}

/// `roster serve`.
pub fn serve(mut config: Config, start: StartArgs) -> Result<(), AppError> {
    if let Some(key) = &start.bootstrap_key {
        keys::check_bootstrap_key(key).map_err(|m| AppError::validation("bootstrap-key", m))?;
    }
    // Removed when this function returns, after the server has stopped.
    let ephemeral = if start.ephemeral {
        let dir = tempfile::Builder::new()
            .prefix("roster-ephemeral-")
            .tempdir()
            .map_err(|e| AppError::internal(format!("cannot create a temporary directory: {e}")))?;
        config.data.data_dir = dir.path().to_path_buf();
        Some(dir)
    } else {
        None
    };
    // Without it, jemalloc returns freed pages only as later allocations
    // happen, so an idle server would keep what its last import used.
    if let Err(err) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(%err, "cannot start the allocator's background thread");
    }
    let runtime = tokio::runtime::Runtime::new().map_err(AppError::internal)?;
    let result = runtime.block_on(async move {
        // Refuse a lookup configuration that cannot work before listening.
        roster::jobs::Provider::from_config(&config.lookups)?;
        if let Some(dir) = &config.backups.dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::setup(format!(
                    "cannot create the backup directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        // Held while the server runs: a restore or a repair waits for it.
        let mut lock = DataDirLock::acquire(&config.data.data_dir)?;
        roster::ops::private::warn_if_open(&config.data.data_dir);
        let db = Db::open(&config.data.data_dir)?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| AppError::setup(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(AppError::internal)?;
        lock.record_address(addr);
        prepare(&db, &config, &start, &addr.to_string())?;
        println!("roster listening on http://{addr}");
        tracing::info!(%addr, data_dir = %config.data.data_dir.display(), "listening");
        let served = roster::run(config, db, listener, shutdown_signal()).await;
        drop(lock);
        served
    });
    drop(runtime);
    if let Some(dir) = ephemeral {
        remove_ephemeral(dir);
    }
    result
}

/// Removes the ephemeral data directory. A removal that meets a file
/// created while it ran fails ("directory not empty"); it is tried again
/// a few times before it is given up.
fn remove_ephemeral(dir: tempfile::TempDir) {
    let path = dir.keep();
    let mut tries = 0;
    while let Err(err) = std::fs::remove_dir_all(&path) {
        tries += 1;
        if err.kind() == std::io::ErrorKind::NotFound {
            return;
        }
        if tries == 5 {
            eprintln!("could not remove {}: {err}", path.display());
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The keys and data a server starts with.
fn prepare(db: &Db, config: &Config, start: &StartArgs, addr: &str) -> Result<(), AppError> {
    let org = match &start.bootstrap_key {
        Some(key) => {
            let (org, done) = db.write_blocking(|tx| {
                let org = orgs::get_or_create(tx, &start.bootstrap_org)?;
                let done = keys::ensure_bootstrap(tx, org.org, key)?;
                Ok((org, done))
            })?;
            if done == keys::Bootstrapped::Created {
                tracing::info!(org = %start.bootstrap_org, "bootstrap key added");
            }
            if start.ephemeral {
                println!("Write API key for '{}': {key}", start.bootstrap_org);
            }
            org
        }
        None => {
            if let Some(key) = roster::bootstrap(db)? {
                print_first_key(&key, addr);
            }
            let name = if start.ephemeral {
                "default"
            } else {
                &start.bootstrap_org
            };
            match db.read_blocking(|c| orgs::by_name(c, name))? {
                Some(org) => org,
                None if start.seed_count.is_some() => {
                    return Err(AppError::validation(
                        "seed-count",
                        format!(
                            "--seed-count needs the organization '{name}'; give --bootstrap-key, or --bootstrap-org naming an existing one"
                        ),
                    ));
                }
                None => return Ok(()),
            }
        }
    };
    if let Some(count) = start.seed_count {
        let has = db.read_blocking(|c| orgs::contact_count(c, org.org))?;
        if has == 0 {
            let lookup = roster::jobs::inline(config.lookups.provider);
            let imp = roster::seed::import(
                db,
                &config.data.data_dir,
                org.org,
                count,
                start.seed,
                lookup,
                &mut |_| {},
            )?;
            println!(
                "Seeded '{}' with {} contacts.",
                org.name, imp.counters.created
            );
        }
    }
    if start.ephemeral {
        println!(
            "Ephemeral data directory {} (removed on exit).",
            display(&config.data.data_dir)
        );
        println!("Admin UI: http://{addr}/");
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn print_first_key(key: &str, addr: &str) {
    println!("Created organization 'default' and a write API key (shown only this once):");
    println!();
    println!("    {key}");
    println!();
    println!("Open the admin UI at http://{addr}/ and paste the key to sign in.");
    println!();
    println!("Or try the API:");
    println!("    curl -H 'Authorization: Bearer {key}' http://{addr}/api/contacts");
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
