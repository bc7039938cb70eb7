//! The `roster` command line: thin wrappers over the library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use roster::config::{Config, DataDirArg};
use roster::db::Db;
use roster::error::AppError;
use roster::model::time::format_ms;
use roster::store::{keys, orgs};
use tracing_subscriber::EnvFilter;

mod cli_ops;
mod cli_serve;
mod cli_transfer;

/// jemalloc hands freed memory back to the system over time, where glibc's
/// per-thread arenas keep what an import or an index build once used.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "A self-hosted contacts server speaking the Amplifi contacts API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A TOML file of settings, one key per flag (see roster.example.toml).
    /// Defaults < file < environment < flags.
    #[arg(long, global = true, env = "ROSTER_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// How logs are written to stderr: `text` for people, `json` (one
    /// object per line) for log collectors.
    #[arg(long, global = true, env = "ROSTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        #[command(flatten)]
        config: Box<Config>,
        #[command(flatten)]
        start: cli_serve::StartArgs,
    },
    /// Write generated, realistic contacts into an organization.
    Seed(cli_serve::SeedArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Import a CSV file into an organization (works while a server runs).
    Import(cli_transfer::ImportArgs),
    /// Export an organization's contacts as CSV or NDJSON to stdout.
    Export(cli_transfer::ExportArgs),
    /// Rebuild the search index from the database (with the server stopped).
    Reindex {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Write a consistent copy of the database while the server runs.
    Backup(cli_ops::BackupArgs),
    /// Put a backup in place (with the server stopped); the current database
    /// is moved aside, never deleted.
    Restore(cli_ops::RestoreArgs),
    /// Check the database and everything derived from it; exits non-zero on
    /// any problem.
    Check(cli_ops::CheckArgs),
    /// A one-screen summary of a data directory.
    Status {
        #[command(flatten)]
        data: DataDirArg,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key (and its organization if new); prints the key last.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = ["read", "write"])]
        access: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// List keys (never the keys themselves).
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Revoke a key by id.
    Revoke {
        id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// List organizations.
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Delete an organization and everything it owns (contacts, notes,
    /// history, segments, imports, keys, jobs), in one transaction. Without
    /// --yes, only says what would be deleted.
    Delete {
        #[arg(long)]
        org: String,
        /// Really delete.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Print the URL to give Twilio as the organization's inbound-message
    /// webhook.
    WebhookUrl {
        #[arg(long)]
        org: String,
        /// The address the server listens on (as for `serve`).
        #[arg(long, env = "ROSTER_LISTEN", default_value = roster::config::DEFAULT_LISTEN)]
        listen: String,
        /// The public base URL Twilio reaches the server by; overrides
        /// `http://<listen>`.
        #[arg(long, env = "ROSTER_PUBLIC_URL")]
        public_url: Option<String>,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Set or clear the Twilio auth token that inbound webhooks of the
    /// organization must be signed with.
    SetTwilioToken {
        #[arg(long)]
        org: String,
        /// The token; `-` reads it from standard input.
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        token: Option<String>,
        /// Remove the token: signatures are no longer checked.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
}

fn main() -> ExitCode {
    roster::ops::private::owner_only();
    let args =
        match roster::config::with_config_file(&Cli::command(), std::env::args_os().collect()) {
            Ok(args) => args,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        };
    let cli = Cli::parse_from(args);
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for a file or journald.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let result = match cli.command {
        Command::Serve { config, start } => cli_serve::serve(*config, start),
        Command::Seed(args) => cli_serve::seed(args),
        Command::Keys(cmd) => keys_command(cmd),
        Command::Orgs(cmd) => orgs_command(cmd),
        Command::Import(args) => cli_transfer::import(args),
        Command::Export(args) => cli_transfer::export(args),
        Command::Reindex { data } => reindex(data),
        Command::Backup(args) => cli_ops::backup(args),
        Command::Restore(args) => cli_ops::restore(args),
        Command::Check(args) => cli_ops::check(args),
        Command::Status { data } => cli_ops::status(data),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn keys_command(cmd: KeysCommand) -> Result<(), AppError> {
    match cmd {
        KeysCommand::Create { org, access, data } => {
            let db = Db::open(&data.data_dir)?;
            let access = keys::Access::parse(&access).expect("clap restricts the values");
            let (id, key, org) = db.write_blocking(|tx| {
                let org = orgs::get_or_create(tx, &org)?;
                let (id, key) = keys::create(tx, org.org, access)?;
                Ok((id, key, org))
            })?;
            println!(
                "Created {} key {id} for organization '{}' ({}).",
                access.as_str(),
                org.name,
                org.id
            );
            println!("The key is shown only now:");
            println!("{key}");
        }
        KeysCommand::List { data } => {
            let db = Db::open_existing(&data.data_dir)?;
            let list = db.read_blocking(keys::list)?;
            println!(
                "{:<36}  {:<20}  {:<6}  {:<24}  {:<24}  status",
                "id", "org", "access", "created", "last used"
            );
            for k in list {
                println!(
                    "{:<36}  {:<20}  {:<6}  {:<24}  {:<24}  {}",
                    k.id,
                    k.org_name,
                    k.access.as_str(),
                    format_ms(k.created_at),
                    k.last_used_at
                        .map(format_ms)
                        .unwrap_or_else(|| "never".into()),
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        KeysCommand::Revoke { id, data } => {
            let db = Db::open_existing(&data.data_dir)?;
            if db.write_blocking(|tx| keys::revoke(tx, &id))? {
                println!("Revoked key {id}.");
            } else {
                return Err(AppError::NotFound(format!("no active key with id {id}")));
            }
        }
    }
    Ok(())
}

fn orgs_command(cmd: OrgsCommand) -> Result<(), AppError> {
    match cmd {
        OrgsCommand::List { data } => {
            let db = Db::open_existing(&data.data_dir)?;
            let list = db.read_blocking(|conn| {
                orgs::list(conn)?
                    .into_iter()
                    .map(|o| Ok((orgs::contact_count(conn, o.org)?, o)))
                    .collect::<Result<Vec<_>, AppError>>()
            })?;
            println!("{:<36}  {:<24}  {:>10}  created", "id", "name", "contacts");
            for (count, o) in list {
                println!(
                    "{:<36}  {:<24}  {:>10}  {}",
                    o.id,
                    o.name,
                    count,
                    format_ms(o.created_at)
                );
            }
        }
        OrgsCommand::Delete { org, yes, data } => {
            let db = Db::open_existing(&data.data_dir)?;
            let found = db
                .read_blocking(|conn| orgs::by_name(conn, &org))?
                .ok_or_else(|| AppError::NotFound(format!("no organization named '{org}'")))?;
            let counts = db.read_blocking(|conn| orgs::owned_counts(conn, found.org))?;
            let summary = counts
                .iter()
                .map(|(what, n)| format!("{n} {what}"))
                .collect::<Vec<_>>()
                .join(", ");
            if !yes {
                println!(
                    "Would delete organization '{org}' ({}): {summary}.",
                    found.id
                );
                println!("Run again with --yes to delete it.");
                return Ok(());
            }
            db.write_blocking(|tx| orgs::delete(tx, found.org))?;
            println!("Deleted organization '{org}': {summary}.");
        }
        OrgsCommand::WebhookUrl {
            org,
            listen,
            public_url,
            data,
        } => {
            let db = Db::open_existing(&data.data_dir)?;
            let org = db
                .read_blocking(|conn| orgs::by_name(conn, &org))?
                .ok_or_else(|| AppError::NotFound(format!("no organization named '{org}'")))?;
            let base = public_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| format!("http://{listen}"));
            println!(
                "{base}{}/{}",
                roster::http::inbound::TWILIO_INBOUND_PATH,
                org.webhook_secret
            );
        }
        OrgsCommand::SetTwilioToken {
            org,
            token,
            clear,
            data,
        } => {
            let token = match token.as_deref() {
                _ if clear => None,
                Some("-") => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(AppError::internal)?;
                    Some(line.trim().to_string())
                }
                Some(t) => Some(t.trim().to_string()),
                None => None,
            };
            if token.as_deref() == Some("") {
                return Err(AppError::validation("token", "the token is empty"));
            }
            let db = Db::open_existing(&data.data_dir)?;
            let name = org.clone();
            db.write_blocking(|tx| {
                let org = orgs::by_name(tx, &name)?
                    .ok_or_else(|| AppError::NotFound(format!("no organization named '{name}'")))?;
                orgs::set_twilio_auth_token(tx, org.org, token.as_deref())
            })?;
            if token.is_some() {
                println!("Inbound webhooks for '{org}' must now carry a valid X-Twilio-Signature.");
            } else {
                println!("Cleared the Twilio auth token of '{org}': signatures are not checked.");
            }
        }
    }
    Ok(())
}

fn reindex(data: DataDirArg) -> Result<(), AppError> {
    roster::db::require(&data.data_dir)?;
    let _lock = roster::ops::lock::DataDirLock::acquire(&data.data_dir)?;
    let db = Db::open(&data.data_dir)?;
    let started = std::time::Instant::now();
    let n = roster::search::reindex(&db, &data.data_dir)?;
    println!(
        "Rebuilt the search index: {n} contacts in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
