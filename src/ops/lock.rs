//! The lock a server holds on its data directory, so that a restore, a
//! repair or a second server cannot change what it serves.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::net::SocketAddr;
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
    file: File,
}

impl DataDirLock {
    /// Takes the lock, creating the directory if needed.
    pub fn acquire(data_dir: &Path) -> AppResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| AppError::setup(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = lock_path(data_dir);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| {
                AppError::setup(format!(
                    "the data directory {} cannot be written ({e})",
                    data_dir.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(in_use(data_dir)),
            Err(TryLockError::Error(e)) => {
                return Err(AppError::setup(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
        let mut lock = Self { file };
        lock.record(None);
        Ok(lock)
    }

    /// Notes where the server listens, for `roster status`.
    pub fn record_address(&mut self, addr: SocketAddr) {
        self.record(Some(addr));
    }

    /// Writes the holder's process id and address (best effort: the lock
    /// is what matters, and it is held).
    fn record(&mut self, addr: Option<SocketAddr>) {
        let mut line = std::process::id().to_string();
        if let Some(addr) = addr {
            line.push(' ');
            line.push_str(&addr.to_string());
        }
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = writeln!(self.file, "{line}");
    }
}

/// The server holding a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// 0 when the lock file does not say.
    pub pid: u32,
    pub address: Option<SocketAddr>,
}

/// The error for a data directory another process holds.
pub fn in_use(data_dir: &Path) -> AppError {
    AppError::Conflict(format!(
        "{} is in use by a running server; stop it first",
        data_dir.display()
    ))
}

/// The server holding `data_dir`, if one does.
pub fn holder(data_dir: &Path) -> Option<Holder> {
    let path = lock_path(data_dir);
    let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
    match file.try_lock() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let mut words = text.split_whitespace();
            Some(Holder {
                pid: words.next().and_then(|w| w.parse().ok()).unwrap_or(0),
                address: words.next().and_then(|w| w.parse().ok()),
            })
        }
        Err(TryLockError::Error(_)) => None,
    }
}
