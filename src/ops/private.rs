//! The data directory holds every contact and the key hashes, so what
//! Roster writes is its owner's alone: directories `0700`, files `0600`,
//! as PostgreSQL keeps its data directory. Set once for the process, so
//! the database, the index, uploads, backups and exports all follow it.

use std::path::Path;

/// Makes every file and directory this process creates from now on
/// private to its owner.
#[cfg(unix)]
pub fn owner_only() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

#[cfg(not(unix))]
pub fn owner_only() {}

/// The directory's mode when users other than its owner can read or enter
/// it.
#[cfg(unix)]
pub fn open_to_others(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
pub fn open_to_others(_: &Path) -> Option<u32> {
    None
}

/// Warns (in the log) about a data directory other users can read.
pub fn warn_if_open(dir: &Path) {
    if let Some(mode) = open_to_others(dir) {
        tracing::warn!(
            "the data directory {} can be read by other users of this machine (mode {mode:o}); \
             `chmod 700 {}` keeps its contacts and keys private",
            dir.display(),
            dir.display()
        );
    }
}
