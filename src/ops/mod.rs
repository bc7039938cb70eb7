//! Keeping a data directory safe: the lock a server holds on it, backups
//! (on demand and on a schedule) and restores, checks with their repairs,
//! and a one-screen status.

pub mod backup;
pub mod check;
pub mod lock;
pub mod status;

use std::fs::File;
use std::path::Path;

use crate::error::{AppError, AppResult};

/// Flushes a file's contents and metadata to disk.
fn sync_file(path: &Path) -> AppResult<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| AppError::internal(format!("cannot sync {}: {e}", path.display())))
}

/// Flushes a directory, so that a rename inside it survives a power cut.
fn sync_dir(dir: &Path) -> AppResult<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    sync_file(dir)
}
