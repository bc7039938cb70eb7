//! CSV import and export: header mapping, file reading, the streaming
//! importer and the exporter. `docs/import-export.md` describes the
//! behaviour users see.

pub mod export;
pub mod formula;
pub mod importer;
pub mod mapping;
pub mod preview;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::LookupProvider;
use crate::db::Db;
use crate::error::AppResult;
use crate::jobs::Wake;
use crate::model::import::Status;
use crate::model::time::now_ms;
use crate::store::imports;

/// What the server's imports run with.
#[derive(Clone)]
pub struct Importer {
    pub db: Db,
    pub data_dir: PathBuf,
    pub provider: LookupProvider,
    /// Woken after every batch, so the index and lookups follow the import.
    pub wake: Arc<Wake>,
    /// The server's stop: an import pauses before its next batch (and
    /// resumes at the next start).
    pub stop: CancellationToken,
}

impl Importer {
    /// Runs the import `id` on the blocking pool and removes its uploaded
    /// file once finished.
    pub fn spawn(&self, id: String) {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let lookup = crate::jobs::inline(this.provider);
            let result = importer::run(&this.db, &id, lookup, &this.stop, &mut |_| this.wake.all());
            match result {
                Ok(imp) => {
                    if imp.status.is_finished()
                        && let Some(path) = imp.source_path.as_deref()
                        && is_upload(&this.data_dir, Path::new(path))
                    {
                        let _ = std::fs::remove_file(path);
                    }
                    refresh_statistics(&this.db);
                }
                Err(err) => tracing::error!(import = %id, %err, "import could not run"),
            }
        });
    }

    /// At server start: imports of uploaded files that a stop or crash left
    /// queued or running are resumed from the last committed batch; imports
    /// run by `roster import` that have not progressed for five minutes are
    /// marked failed (their process is gone; the file is the user's to
    /// import again).
    pub fn resume(&self) -> AppResult<()> {
        let list = self.db.read_blocking(imports::unfinished)?;
        for imp in list {
            let upload = imp
                .source_path
                .as_deref()
                .is_some_and(|p| is_upload(&self.data_dir, Path::new(p)));
            if upload {
                tracing::info!(import = %imp.id, processed = imp.counters.processed, "resuming import");
                self.spawn(imp.id);
            } else if now_ms() - imp.updated_at > STALE_MS {
                let message = format!(
                    "interrupted: the importing process stopped after {} rows; they stay, import the file again to finish (rows already imported merge without change)",
                    imp.counters.processed
                );
                self.db.write_blocking(|tx| {
                    imports::finish(tx, &imp.id, Status::Failed, Some(&message))
                })?;
            }
        }
        Ok(())
    }
}

/// A large import changes the data's shape: the planner's statistics are
/// refreshed now rather than at the next periodic pass.
pub fn refresh_statistics(db: &crate::db::Db) {
    if let Err(err) = db.write_blocking(|tx| Ok(crate::db::optimize(tx)?)) {
        tracing::warn!(%err, "refreshing planner statistics failed");
    }
}

fn is_upload(data_dir: &Path, path: &Path) -> bool {
    path.starts_with(importer::upload_dir(data_dir))
}

/// How long a command-line import may go without committing a batch before
/// a starting server takes it for dead.
const STALE_MS: i64 = 5 * 60 * 1000;
