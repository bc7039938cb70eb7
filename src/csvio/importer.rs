//! The streaming importer. A reader thread parses and validates rows in
//! batches (the same `ContactPatch` validation as the API); the calling
//! thread writes each batch in one short write transaction through
//! `store::contacts::create_or_merge` and records the import's counters in
//! that same transaction. A row that fails inside the write path sends its
//! batch back to be written again with a savepoint per row, so a bad row
//! fails alone and never leaves half a contact. Memory stays bounded by two
//! batches in flight, whatever the file size.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::mapping::{self, Plan, RowError, Target};
use super::source::{self, Encoding};
use crate::db::Db;
use crate::error::{AppError, AppResult, quote};
use crate::model::contact::Field;
use crate::model::import::{Counters, Import, Status};
use crate::model::{ContactPatch, CustomFields, Mode, Outcome, Tags};
use crate::store::contacts::{self, Batch, Source};
use crate::store::imports;
use crate::store::lookups::{Answer, Inline};

/// Rows per write transaction.
pub const BATCH_ROWS: usize = 5_000;
/// Row errors kept on the import.
pub const MAX_ERRORS: usize = 1_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportMode {
    #[default]
    Merge,
    SkipExisting,
}

/// The `options` of an import, validated.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub tags: Tags,
    pub mode: ImportMode,
    pub delimiter: Option<u8>,
    pub mapping: Vec<(String, Target)>,
}

fn parse_delimiter(s: &str) -> AppResult<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(AppError::validation(
            "options.delimiter",
            "delimiter must be one ASCII character such as \",\", \";\", \"|\" or \"tab\"",
        )),
    }
}

impl ImportOptions {
    /// `{"tags": [..] | "a,b", "mode": "merge" | "skipExisting",
    /// "delimiter": ",", "mapping": {"Header": "field" | null}}`.
    pub fn from_json(value: &Value) -> AppResult<Self> {
        let Value::Object(obj) = value else {
            return Err(AppError::validation(
                "options",
                "options must be a JSON object",
            ));
        };
        let mut o = ImportOptions::default();
        for (key, v) in obj {
            if v.is_null() {
                continue;
            }
            match key.as_str() {
                "tags" => {
                    o.tags = match v {
                        Value::String(s) => Tags::parse_strs(
                            s.split([',', ';']).filter(|t| !t.trim().is_empty()),
                            "options.tags",
                        )?,
                        other => Tags::parse_value(other, "options.tags")?,
                    }
                }
                "mode" => {
                    o.mode = match v.as_str() {
                        Some("merge") => ImportMode::Merge,
                        Some("skipExisting") => ImportMode::SkipExisting,
                        _ => {
                            return Err(AppError::validation(
                                "options.mode",
                                "mode must be merge or skipExisting",
                            ));
                        }
                    }
                }
                "delimiter" => {
                    let s = v.as_str().ok_or_else(|| {
                        AppError::validation("options.delimiter", "delimiter must be a string")
                    })?;
                    o.delimiter = Some(parse_delimiter(s)?);
                }
                "mapping" => {
                    let Value::Object(m) = v else {
                        return Err(AppError::validation(
                            "options.mapping",
                            "mapping must be an object of column header -> field",
                        ));
                    };
                    for (header, target) in m {
                        let name = format!("options.mapping.{header}");
                        o.mapping
                            .push((header.clone(), mapping::parse_target(target, &name)?));
                    }
                }
                other => {
                    return Err(AppError::validation(
                        format!("options.{other}"),
                        format!(
                            "unknown option {}; options are tags, mode, delimiter and mapping",
                            quote(other)
                        ),
                    ));
                }
            }
        }
        Ok(o)
    }
}

/// A row after validation, before writing.
struct Prepared {
    row: u64,
    result: Result<ContactPatch, RowError>,
    /// The local lookup provider's answer for the row's phone.
    answer: Option<(String, Answer)>,
}

fn to_row_error(plan: &Plan, err: AppError) -> RowError {
    let column = match &err {
        AppError::BadRequest {
            field: Some(field), ..
        } => plan.column_of(field),
        _ => None,
    };
    RowError {
        column,
        error: err.to_string(),
    }
}

fn prepare(plan: &Plan, cells: &[String], tags: &Tags) -> Result<ContactPatch, RowError> {
    let mut body = mapping::row_to_json(plan, cells)?;
    if !tags.is_empty() {
        let extra = tags.as_slice().iter().map(|t| Value::String(t.clone()));
        match body.get_mut("tags") {
            Some(Value::Array(a)) => a.extend(extra),
            _ => body["tags"] = Value::Array(extra.collect()),
        }
    }
    ContactPatch::from_json(&body, Mode::Create).map_err(|e| to_row_error(plan, e))
}

/// Progress after each committed batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub total_rows: i64,
    pub counters: Counters,
}

/// Runs (or resumes) the import `id` to its end on the calling thread and
/// returns its final state. A resumed import skips the rows its counters
/// say were already committed. `on_batch` is called after every commit.
/// Once `stop` fires, the import pauses before its next batch and stays
/// `running`, to be resumed later. With `lookup`, new phones are answered in
/// the import's own transactions instead of queueing a job each.
pub fn run(
    db: &Db,
    id: &str,
    lookup: Option<Inline>,
    stop: &CancellationToken,
    on_batch: &mut dyn FnMut(Progress),
) -> AppResult<Import> {
    let load = |db: &Db| {
        db.read_blocking(|c| imports::get_by_id(c, id))?
            .ok_or_else(|| AppError::internal(format!("import {id} vanished")))
    };
    let imp = load(db)?;
    if imp.status.is_finished() {
        return Ok(imp);
    }
    if let Err(err) = execute(db, &imp, lookup, stop, on_batch) {
        let message = match &err {
            AppError::Internal(detail) => format!("the import stopped on an error: {detail}"),
            other => other.to_string(),
        };
        tracing::warn!(import = id, %message, "import failed");
        db.write_blocking(|tx| imports::finish(tx, id, Status::Failed, Some(&message)))?;
    }
    load(db)
}

fn execute(
    db: &Db,
    imp: &Import,
    lookup: Option<Inline>,
    stop: &CancellationToken,
    on_batch: &mut dyn FnMut(Progress),
) -> AppResult<()> {
    let options = ImportOptions::from_json(&imp.options)?;
    let path = PathBuf::from(
        imp.source_path
            .as_deref()
            .ok_or_else(|| AppError::internal("the import has no file"))?,
    );
    if !path.exists() {
        return Err(AppError::validation(
            "file",
            format!("the file {} is no longer there", path.display()),
        ));
    }
    let inspection = source::inspect(&path, options.delimiter)?;
    let total = inspection.rows as i64;
    if !db.write_blocking(|tx| imports::start(tx, &imp.id, total))? {
        return Ok(());
    }
    let mut rdr = source::reader(&path, inspection.delimiter)?;
    let mut rec = csv::ByteRecord::new();
    let mut headers = Vec::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| source::csv_error(&e))?
    {
        return Err(AppError::validation("file", "the file is empty"));
    }
    source::decode(&rec, inspection.encoding, &mut headers);
    let plan = Plan::new(headers, &options.mapping)?;

    let (tx, rx) = sync_channel::<AppResult<Vec<Prepared>>>(2);
    let skip = imp.counters.processed;
    let reader = Reader {
        rdr,
        encoding: inspection.encoding,
        plan: &plan,
        tags: &options.tags,
        skip,
        lookup,
    };
    std::thread::scope(|s| {
        s.spawn(move || reader.produce(tx));
        let mut writer = Writer {
            db,
            imp,
            mode: options.mode,
            counters: imp.counters,
            errors: imp.errors.as_array().cloned().unwrap_or_default(),
            redo: false,
            lookup,
        };
        writer.consume(rx, total, stop, on_batch)
    })
}

struct Reader<'a> {
    rdr: csv::Reader<source::Source>,
    encoding: Encoding,
    plan: &'a Plan,
    tags: &'a Tags,
    skip: i64,
    lookup: Option<Inline>,
}

impl Reader<'_> {
    fn produce(mut self, tx: SyncSender<AppResult<Vec<Prepared>>>) {
        let mut rec = csv::ByteRecord::new();
        let mut cells = Vec::new();
        let mut index: u64 = 0;
        let mut seen: i64 = 0;
        loop {
            let mut batch = Vec::with_capacity(BATCH_ROWS);
            while batch.len() < BATCH_ROWS {
                match self.rdr.read_byte_record(&mut rec) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        let _ = tx.send(Err(source::csv_error(&e)));
                        return;
                    }
                }
                index += 1;
                if source::is_blank(&rec) {
                    continue;
                }
                seen += 1;
                if seen <= self.skip {
                    continue;
                }
                source::decode(&rec, self.encoding, &mut cells);
                let result = prepare(self.plan, &cells, self.tags);
                let answer = match (&result, self.lookup) {
                    (Ok(patch), Some(inline)) => patch
                        .phone
                        .value()
                        .map(|p| (p.as_str().to_string(), (inline.answer)(p))),
                    _ => None,
                };
                batch.push(Prepared {
                    // The header is row 1.
                    row: index + 1,
                    result,
                    answer,
                });
            }
            if batch.is_empty() || tx.send(Ok(batch)).is_err() {
                return;
            }
        }
    }
}

struct Writer<'a> {
    db: &'a Db,
    imp: &'a Import,
    mode: ImportMode,
    counters: Counters,
    errors: Vec<Value>,
    /// Set when a row failed inside the write path on the fast path.
    redo: bool,
    lookup: Option<Inline>,
}

impl Writer<'_> {
    fn consume(
        &mut self,
        rx: Receiver<AppResult<Vec<Prepared>>>,
        total: i64,
        stop: &CancellationToken,
        on_batch: &mut dyn FnMut(Progress),
    ) -> AppResult<()> {
        let id = self.imp.id.clone();
        for batch in rx {
            if stop.is_cancelled() {
                return Ok(());
            }
            let batch = batch?;
            // Fast path: the batch without per-row savepoints. If a row fails
            // inside the write path, the whole transaction is rolled back and
            // the batch is written again with a savepoint per row, so a bad
            // row never leaves half a contact behind.
            let mut outcome = self.write_batch(&id, &batch, false);
            if outcome.is_err() && self.redo {
                self.redo = false;
                outcome = self.write_batch(&id, &batch, true);
            }
            match outcome? {
                true => on_batch(Progress {
                    total_rows: total,
                    counters: self.counters,
                }),
                // Cancelled: what was committed stays.
                false => return Ok(()),
            }
        }
        self.db
            .write_blocking(|tx| imports::finish(tx, &id, Status::Completed, None))?;
        Ok(())
    }

    /// Writes one batch in one transaction; false when the import was
    /// cancelled meanwhile. On error the counters are as before the batch.
    fn write_batch(&mut self, id: &str, batch: &[Prepared], careful: bool) -> AppResult<bool> {
        let saved = (self.counters, self.errors.len());
        let db = self.db;
        let outcome = db.write_blocking(|tx| {
            if imports::status(tx, id)? != Some(Status::Running) {
                return Ok(false);
            }
            let mut counts = Batch::answered_by(self.lookup.map(|l| l.provider));
            for p in batch {
                self.write_row(tx, p, careful, &mut counts)?;
            }
            counts.flush(tx)?;
            let errors = (self.errors.len() != saved.1).then(|| Value::Array(self.errors.clone()));
            imports::save_progress(tx, id, &self.counters, errors.as_ref())?;
            Ok(true)
        });
        if outcome.is_err() {
            self.counters = saved.0;
            self.errors.truncate(saved.1);
        }
        outcome
    }

    fn fail(&mut self, row: u64, err: RowError) {
        self.counters.failed += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(json!({
                "row": row,
                "column": err.column.map(crate::error::cap),
                "error": crate::error::cap(err.error),
            }));
        }
    }

    fn write_row(
        &mut self,
        tx: &rusqlite::Transaction,
        p: &Prepared,
        careful: bool,
        batch: &mut Batch,
    ) -> AppResult<()> {
        self.counters.processed += 1;
        if let Some((phone, answer)) = &p.answer {
            batch.known_answer(phone.clone(), answer.clone());
        }
        let mut patch = match &p.result {
            Ok(patch) => Cow::Borrowed(patch),
            Err(e) => {
                self.fail(p.row, e.clone());
                return Ok(());
            }
        };
        let org = self.imp.org;
        // While the file brings mostly new contacts, insert first: a
        // uniqueness index reports a match for the cost of the insert
        // itself. A file that mostly matches (a re-import) looks first.
        if self.counters.created >= self.counters.merged + self.counters.skipped
            && self.save_row(tx, p.row, Save::Probe, &patch, careful, batch)?
        {
            return Ok(());
        }
        let existing = match contacts::find_existing(tx, org, &patch) {
            Err(AppError::Conflict(why)) => {
                self.fail(
                    p.row,
                    RowError {
                        column: None,
                        error: why,
                    },
                );
                return Ok(());
            }
            Err(err) => return Err(err),
            Ok(Some((id, created_at))) => {
                // Contacts created by earlier rows of this file are not
                // "existing": in-file duplicates still merge.
                if self.mode == ImportMode::SkipExisting && created_at < self.imp.created_at {
                    self.counters.skipped += 1;
                    return Ok(());
                }
                // Only a cell typed as a number or boolean can disagree in
                // type with the value it reads the same as (a text cell
                // equals only text).
                let has_custom = patch
                    .custom_fields
                    .value()
                    .is_some_and(|f| f.as_map().values().any(|v| !v.is_string()));
                if has_custom && let Some(existing) = contacts::get(tx, org, &id)? {
                    keep_stored_types(patch.to_mut(), &existing.custom_fields);
                }
                Some(id)
            }
            Ok(None) => None,
        };
        self.save_row(
            tx,
            p.row,
            Save::Into(existing.as_deref()),
            &patch,
            careful,
            batch,
        )?;
        Ok(())
    }

    /// Saves the row's contact as `how` says, counting the outcome; a row
    /// that fails is rolled back alone (careful) or sends the batch to be
    /// redone carefully. False when a [`Save::Probe`] found the phone or
    /// email taken (nothing written): the caller then looks for the match.
    fn save_row(
        &mut self,
        tx: &rusqlite::Transaction,
        row: u64,
        how: Save,
        patch: &ContactPatch,
        careful: bool,
        batch: &mut Batch,
    ) -> AppResult<bool> {
        if careful {
            tx.prepare_cached("SAVEPOINT import_row")?.execute([])?;
        }
        let org = self.imp.org;
        let result = match how {
            Save::Probe => contacts::try_create(tx, org, patch, Source::Import, batch),
            Save::Into(existing) => contacts::create_or_merge_into(
                tx,
                org,
                existing,
                patch.clone(),
                Source::Import,
                batch,
            )
            .map(Some),
        };
        match result {
            Ok(saved) => {
                if careful {
                    tx.prepare_cached("RELEASE import_row")?.execute([])?;
                }
                match saved {
                    Some((_, Outcome::Created)) => self.counters.created += 1,
                    Some((_, Outcome::Merged)) => self.counters.merged += 1,
                    None => return Ok(false),
                }
            }
            Err(err) if !careful && !matches!(err, AppError::Internal(_)) => {
                self.redo = true;
                return Err(err);
            }
            Err(err) => {
                tx.prepare_cached("ROLLBACK TO import_row")?.execute([])?;
                tx.prepare_cached("RELEASE import_row")?.execute([])?;
                if let AppError::Internal(_) = err {
                    return Err(err);
                }
                self.fail(
                    row,
                    RowError {
                        column: None,
                        error: err.to_string(),
                    },
                );
            }
        }
        Ok(true)
    }
}

/// How [`Writer::save_row`] saves a row.
#[derive(Clone, Copy)]
enum Save<'a> {
    /// Create it unless its phone or email is taken.
    Probe,
    /// Create it (None) or merge it into the contact found for it.
    Into(Option<&'a str>),
}

/// A CSV cell has no type: when a cell reads exactly as the value a contact
/// already holds (the number 42 and the cell "42"), keep the stored value,
/// so re-importing an export changes nothing.
fn keep_stored_types(patch: &mut ContactPatch, stored: &CustomFields) {
    let Field::Set(fields) = &patch.custom_fields else {
        return;
    };
    let mut out = Map::new();
    for (k, v) in fields.as_map() {
        let kept = match stored.as_map().get(k) {
            Some(old) if old != v && mapping::render_value(old) == mapping::render_value(v) => {
                old.clone()
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), kept);
    }
    if let Ok(f) = CustomFields::parse_value(&Value::Object(out)) {
        patch.custom_fields = Field::Set(f);
    }
}

/// Where uploaded files wait in the data directory.
pub fn upload_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}
