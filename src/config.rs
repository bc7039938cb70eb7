//! Server configuration: defaults, overridden by environment variables,
//! overridden by command-line flags (clap reads both).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub const DEFAULT_DATA_DIR: &str = "./roster-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;
pub const DEFAULT_EXPORT_LINK_TTL_SECS: u64 = 60;
pub const DEFAULT_DRAIN_SECS: u64 = 30;

/// Where the data lives; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct DataDirArg {
    /// Data directory (database and search index).
    #[arg(long, env = "ROSTER_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

/// Everything `roster serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub data: DataDirArg,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ROSTER_LISTEN", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: String,

    /// The public base URL (scheme, host and any path prefix) clients and
    /// Twilio use to reach this server, e.g. `https://roster.example.com`.
    /// Used to check Twilio webhook signatures; when unset, the request's
    /// Host header (or X-Forwarded-Host / X-Forwarded-Proto) decides.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub lookups: LookupConfig,
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    #[command(flatten)]
    pub backups: BackupConfig,
    #[command(flatten)]
    pub limits: LimitsConfig,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish
    /// before the server exits anyway, in seconds.
    #[arg(long, env = "ROSTER_DRAIN_SECS", default_value_t = DEFAULT_DRAIN_SECS,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_secs: u64,
    /// Serve Prometheus metrics at `GET /metrics` to requests bearing this
    /// token (separate from API keys). Off when unset.
    #[arg(long, env = "ROSTER_METRICS_TOKEN", hide_env_values = true,
          value_parser = parse_metrics_token)]
    pub metrics_token: Option<String>,
    /// Largest CSV upload accepted by the import endpoint, in bytes.
    #[arg(long, env = "ROSTER_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// How long a download link from `POST /api/contacts/export/link`
    /// stays valid, in seconds.
    #[arg(long, env = "ROSTER_EXPORT_LINK_TTL_SECS", default_value_t = DEFAULT_EXPORT_LINK_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub export_link_ttl_secs: u64,
}

impl Config {
    /// A configuration with every default, for `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data: DataDirArg {
                data_dir: data_dir.into(),
            },
            listen: DEFAULT_LISTEN.to_string(),
            public_url: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            export_link_ttl_secs: DEFAULT_EXPORT_LINK_TTL_SECS,
            lookups: LookupConfig::default(),
            webhooks: WebhookConfig::default(),
            backups: BackupConfig::default(),
            limits: LimitsConfig::default(),
            metrics_token: None,
            drain_secs: DEFAULT_DRAIN_SECS,
        }
    }
}

/// Which service answers textability lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LookupProvider {
    /// Decide from the phone number metadata (no network; not carrier-verified).
    Offline,
    /// Twilio Lookup v2 with Line Type Intelligence (carrier-verified).
    Twilio,
    /// No lookups: `isTextable` stays null.
    None,
}

impl LookupProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LookupProvider::Offline => "offline",
            LookupProvider::Twilio => "twilio",
            LookupProvider::None => "none",
        }
    }
}

/// Outbound webhooks (see docs/webhooks.md).
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// Hosts webhook URLs may name, comma-separated (`.example.org` allows
    /// its subdomains). Empty allows any host: then anyone with a write key
    /// can make this server call addresses on its own network.
    #[arg(
        long = "webhook-allowed-hosts",
        env = "ROSTER_WEBHOOK_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Timeout of one delivery, in milliseconds.
    #[arg(id = "webhook-timeout-ms", long = "webhook-timeout-ms", env = "ROSTER_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// First retry delay in milliseconds; doubles per attempt up to an hour,
    /// with jitter.
    #[arg(id = "webhook-retry-base-ms", long = "webhook-retry-base-ms", env = "ROSTER_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_base_ms: u64,
    /// How long a delivery is retried before it fails, and how long an
    /// endpoint may keep failing before it is disabled, in seconds.
    #[arg(id = "webhook-give-up-secs", long = "webhook-give-up-secs", env = "ROSTER_WEBHOOK_GIVE_UP_SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub give_up_secs: u64,
    /// Deliveries in flight at once.
    #[arg(id = "webhook-concurrency", long = "webhook-concurrency", env = "ROSTER_WEBHOOK_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            timeout_ms: 10_000,
            retry_base_ms: 5_000,
            give_up_secs: 86_400,
            concurrency: 8,
        }
    }
}

/// Scheduled backups (see docs/operations.md).
#[derive(Debug, Clone, Args)]
pub struct BackupConfig {
    /// Back the database up into this directory on a schedule (off when
    /// unset). Backups are named `roster-<UTC time>.db`.
    #[arg(long = "backup-dir", env = "ROSTER_BACKUP_DIR")]
    pub dir: Option<PathBuf>,
    /// How often: a duration such as `6h`, `30m` or `1d`. The first backup
    /// is due one interval after the newest in the directory.
    #[arg(long = "backup-interval", env = "ROSTER_BACKUP_INTERVAL", default_value = "6h",
          value_parser = parse_interval)]
    pub interval: Duration,
    /// How many scheduled backups to keep (the newest).
    #[arg(long = "backup-keep", env = "ROSTER_BACKUP_KEEP", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub keep: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: None,
            interval: Duration::from_secs(6 * 3600),
            keep: 7,
        }
    }
}

/// What one client may take of the server (see README, "Limits").
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// API requests served at once; more are answered 503 with Retry-After
    /// at once rather than queued.
    #[arg(long, env = "ROSTER_MAX_CONCURRENT_REQUESTS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_concurrent_requests: u32,
    /// How long a request may take before it is answered 503 (a duration:
    /// `60s`, `2m`). A streamed answer (an export) counts until it starts.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT", default_value = "60s",
          value_parser = parse_timeout)]
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers, counted from the
    /// connection's opening or its previous answer; an idle keep-alive
    /// connection is closed after it too.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT", default_value = "15s",
          value_parser = parse_timeout)]
    pub header_timeout: Duration,
    /// The longest pause allowed inside a request body (an upload) or a
    /// streamed answer before the connection is dropped.
    #[arg(long, env = "ROSTER_BODY_TIMEOUT", default_value = "60s",
          value_parser = parse_timeout)]
    pub body_timeout: Duration,
    /// Requests per second one API key may make (bursts up to the same
    /// number); over it, 429 `rate_limited` with Retry-After. Off when unset.
    #[arg(long, env = "ROSTER_RATE_LIMIT",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_limit: Option<u32>,
    /// An origin (`https://app.example.org`) whose pages may call the API
    /// from a browser (CORS); repeat it, or separate origins with commas.
    /// Off when unset: no CORS headers at all.
    #[arg(long = "cors-origin", env = "ROSTER_CORS_ORIGINS", value_delimiter = ',',
          value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 512,
            request_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
            rate_limit: None,
            cors_origins: Vec::new(),
        }
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("expected a duration such as 30s or 2m: {e}"))?;
    if d < Duration::from_millis(100) || d > Duration::from_secs(24 * 3600) {
        return Err("expected a duration between 100ms and 24h".into());
    }
    Ok(d)
}

/// An origin as browsers send it: scheme, host and optional port, nothing
/// else.
fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("an origin starts with http:// or https://")?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !valid {
        return Err(
            "expected an origin such as https://app.example.org or http://localhost:3000 (no path)"
                .into(),
        );
    }
    Ok(s.to_ascii_lowercase())
}

/// An address to listen on: `HOST:PORT`, the host an IP address or a name.
pub fn parse_listen(s: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    match s.to_socket_addrs().map(|mut addrs| addrs.next()) {
        Ok(Some(_)) => Ok(s.to_string()),
        _ => Err("expected HOST:PORT, such as 127.0.0.1:8080 or 0.0.0.0:80".into()),
    }
}

fn parse_metrics_token(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("expected at least 16 printable characters, no spaces".into());
    }
    Ok(t.to_string())
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("expected a duration such as 6h, 30m or 1d: {e}"))?;
    if d < Duration::from_secs(1) {
        return Err("the interval must be at least 1s".into());
    }
    Ok(d)
}

/// The lookup worker (see docs/lookups.md).
#[derive(Debug, Clone, Args)]
pub struct LookupConfig {
    /// Lookup provider.
    #[arg(long = "lookup-provider", env = "ROSTER_LOOKUP_PROVIDER", value_enum, default_value_t = LookupProvider::Offline)]
    pub provider: LookupProvider,

    /// Lookups in flight at once (twilio).
    #[arg(long = "lookup-concurrency", env = "ROSTER_LOOKUP_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,

    /// Provider requests per second, at most (twilio; 0 = unlimited).
    #[arg(
        long = "lookup-rate",
        env = "ROSTER_LOOKUP_RATE",
        default_value_t = 20.0,
        value_parser = parse_rate
    )]
    pub rate: f64,

    /// Attempts per job before it fails (transient errors are retried).
    #[arg(long = "lookup-max-attempts", env = "ROSTER_LOOKUP_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Timeout of one provider request, in milliseconds.
    #[arg(long = "lookup-timeout-ms", env = "ROSTER_LOOKUP_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,

    /// First retry delay in milliseconds; doubles per attempt (with jitter).
    #[arg(
        long = "lookup-retry-base-ms",
        env = "ROSTER_LOOKUP_RETRY_BASE_MS",
        default_value_t = 2_000
    )]
    pub retry_base_ms: u64,

    /// Line types counted as textable (twilio), comma-separated.
    #[arg(
        long = "lookup-textable-types",
        env = "ROSTER_LOOKUP_TEXTABLE_TYPES",
        value_delimiter = ',',
        default_value = "mobile,nonFixedVoip"
    )]
    pub textable_types: Vec<String>,

    /// How long a finished lookup job is kept once a newer one for the same
    /// contact exists (or its contact is deleted): a duration such as `30d`.
    /// The newest job of every contact, and its answer on the contact, stay.
    #[arg(long = "lookup-history", env = "ROSTER_LOOKUP_HISTORY", default_value = "30d",
          value_parser = parse_interval)]
    pub history: Duration,

    /// Twilio Account SID (or API key SID): the Basic auth user name.
    #[arg(
        long = "twilio-account-sid",
        env = "ROSTER_TWILIO_ACCOUNT_SID",
        hide_env_values = true
    )]
    pub twilio_account_sid: Option<String>,

    /// Twilio Auth Token (or API key secret): the Basic auth password.
    #[arg(
        long = "twilio-auth-token",
        env = "ROSTER_TWILIO_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub twilio_auth_token: Option<String>,

    /// Twilio Lookup base URL.
    #[arg(long = "twilio-base-url", env = "ROSTER_TWILIO_BASE_URL", default_value = DEFAULT_TWILIO_BASE_URL)]
    pub twilio_base_url: String,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err("expected a number of requests per second, 0 or more".into()),
    }
}

pub const DEFAULT_TWILIO_BASE_URL: &str = "https://lookups.twilio.com";

impl Default for LookupConfig {
    fn default() -> Self {
        Self {
            provider: LookupProvider::Offline,
            concurrency: 4,
            rate: 20.0,
            max_attempts: 5,
            timeout_ms: 10_000,
            retry_base_ms: 2_000,
            textable_types: vec!["mobile".into(), "nonFixedVoip".into()],
            history: Duration::from_secs(30 * 86_400),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_base_url: DEFAULT_TWILIO_BASE_URL.into(),
        }
    }
}

/// Puts the settings of a configuration file (`--config FILE` or
/// `ROSTER_CONFIG`; TOML, one key per flag, spelled as the flag without its
/// dashes, `-` or `_` alike) on the command line of the subcommand `args`
/// invoke, so that defaults < file < environment < flags: a setting is taken
/// from the file only when neither its environment variable nor its flag is
/// given. A key that names no setting of that command is an error naming
/// the key.
pub fn with_config_file(
    command: &clap::Command,
    args: Vec<std::ffi::OsString>,
) -> Result<Vec<std::ffi::OsString>, String> {
    let given: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let from_flag = given.iter().enumerate().find_map(|(i, a)| {
        if a == "--config" {
            given.get(i + 1).cloned()
        } else {
            a.strip_prefix("--config=").map(str::to_string)
        }
    });
    let Some(path) = from_flag.or_else(|| std::env::var("ROSTER_CONFIG").ok()) else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the configuration file {path}: {e}"))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{path} is not valid TOML: {e}"))?;
    // The subcommand the arguments invoke, and where its own flags begin.
    let mut cmd = command;
    let mut at = 1;
    while let Some(token) = given.get(at) {
        if token == "--config" {
            at += 2;
        } else if token.starts_with("--config=") {
            at += 1;
        } else if let Some(sub) = cmd.find_subcommand(token.as_str()) {
            cmd = sub;
            at += 1;
        } else {
            break;
        }
    }
    let find = |c: &clap::Command, flag: &str| {
        c.get_arguments()
            .find(|a| a.get_long() == Some(flag) && flag != "config")
            .cloned()
    };
    let serve = command.find_subcommand("serve");
    let mut extra: Vec<std::ffi::OsString> = Vec::new();
    for (key, value) in table {
        let flag = key.replace('_', "-");
        let Some(arg) = find(cmd, &flag).or_else(|| find(command, &flag)) else {
            // One file serves every command: the server's settings are
            // simply not for `roster status`.
            if serve.is_some_and(|s| find(s, &flag).is_some()) {
                continue;
            }
            return Err(format!("{path}: unknown setting '{key}'"));
        };
        let on_command_line = given
            .iter()
            .any(|a| a == &format!("--{flag}") || a.starts_with(&format!("--{flag}=")));
        let in_environment = arg.get_env().is_some_and(|e| std::env::var_os(e).is_some());
        if on_command_line || in_environment {
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => {
                if !matches!(arg.get_action(), clap::ArgAction::SetTrue) {
                    b.to_string()
                } else if b {
                    extra.push(format!("--{flag}").into());
                    continue;
                } else {
                    continue;
                }
            }
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => return Err(format!("{path}: '{key}' cannot be {}", other.type_str())),
        };
        extra.push(format!("--{flag}={text}").into());
    }
    let mut out = args;
    let tail = out.split_off(at.min(out.len()));
    out.extend(extra);
    out.extend(tail);
    Ok(out)
}
