//! Server configuration: defaults, overridden by environment variables,
//! overridden by command-line flags (clap reads both).

use std::path::PathBuf;

use clap::Args;

pub const DEFAULT_DATA_DIR: &str = "./roster-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

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
    #[arg(long, env = "ROSTER_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,

    /// The public base URL (scheme, host and any path prefix) clients and
    /// Twilio use to reach this server, e.g. `https://roster.example.com`.
    /// Used to check Twilio webhook signatures; when unset, the request's
    /// Host header (or X-Forwarded-Host / X-Forwarded-Proto) decides.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
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
        }
    }
}
