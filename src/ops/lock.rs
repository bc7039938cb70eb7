//! The lock a server holds on its data directory, so that a restore, a
//! repair or a second server cannot change what it serves.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{AppError, AppResult};

pub const LOCK_FILE: &str = "roster.lock";

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE)
}

/// Held for as long as the value lives; the operating system releases it
/// when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock, creating the directory if needed.
    pub fn acquire(data_dir: &Path) -> AppResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            AppError::internal(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = lock_path(data_dir);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| AppError::internal(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(in_use(data_dir)),
            Err(TryLockError::Error(e)) => {
                return Err(AppError::internal(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
        // The holder's process id, for `roster status`.
        let _ = file.set_len(0);
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Self { _file: file })
    }
}

/// The error for a data directory another process holds.
pub fn in_use(data_dir: &Path) -> AppError {
    AppError::Conflict(format!(
        "{} is in use by a running server; stop it first",
        data_dir.display()
    ))
}

/// The process id of the server holding `data_dir`, if one does.
pub fn holder(data_dir: &Path) -> Option<u32> {
    let path = lock_path(data_dir);
    let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
    match file.try_lock() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .or(Some(0)),
        Err(TryLockError::Error(_)) => None,
    }
}
