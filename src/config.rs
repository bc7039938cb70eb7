//! Server configuration: defaults, overridden by environment variables,
//! overridden by command-line flags (clap reads both).

use std::path::PathBuf;

use clap::Args;

pub const DEFAULT_DATA_DIR: &str = "./roster-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;

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

    /// Largest CSV upload accepted by the import endpoint, in bytes.
    #[arg(long, env = "ROSTER_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
}

impl Config {
    /// A configuration with every default, for `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data: DataDirArg {
                data_dir: data_dir.into(),
            },
            listen: DEFAULT_LISTEN.to_string(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}
