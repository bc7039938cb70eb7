//! The lookup queue: jobs are enqueued and cancelled in the same transaction
//! as the contact change that calls for them; the worker claims them and
//! writes answers back onto the contact here.
//!
//! A job names its contact by key (`lookup_jobs.contact`); a new job is
//! given the key by its caller (the write path has just written the row),
//! the other functions take the contact's id and find the key in the same
//! statement.
//!
//! `lookup_jobs_ready` indexes only unfinished jobs (the queue keeps every
//! finished job as history); a query can use a partial index only when its
//! `WHERE` repeats the index's condition, hence the
//! `status IN ('pending', 'running') AND status = ...` below.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::contacts::read;
use super::{outbox, timeline};
use crate::error::AppResult;
use crate::model::fields::Phone;
use crate::model::time::now_ms;

/// Cancels the contact's unfinished jobs (a newer phone supersedes them, or
/// the contact has no phone any more).
pub fn cancel_pending(conn: &Connection, contact_id: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE lookup_jobs SET status = 'cancelled', updated_at = ?2
          WHERE contact = (SELECT key FROM contacts WHERE id = ?1)
            AND status IN ('pending', 'running')",
    )?
    .execute(params![contact_id, now_ms()])?;
    Ok(())
}

/// Queues a lookup for the contact with the key `contact`, known to have no
/// unfinished job (a new contact, or one whose jobs were just cancelled).
pub fn insert(conn: &Connection, org: i64, contact: i64, phone: &str) -> AppResult<()> {
    insert_job(conn, org, contact, phone, "pending", 0)
}

/// Records a lookup that a local provider settled without a verdict inside
/// the write that called for it (the `none` provider): a job already done.
pub fn insert_answered(conn: &Connection, org: i64, contact: i64, phone: &str) -> AppResult<()> {
    insert_job(conn, org, contact, phone, "done", 1)
}

/// A one-row INSERT ... VALUES, which needs no statement journal (see
/// timeline::record).
fn insert_job(
    conn: &Connection,
    org: i64,
    contact: i64,
    phone: &str,
    status: &str,
    attempts: u32,
) -> AppResult<()> {
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO lookup_jobs (org, contact, phone, status, attempts, run_after, created_at,
             updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
    )?
    .execute(params![org, contact, phone, status, attempts, now])?;
    Ok(())
}

/// A claimed job, as the worker sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub org: i64,
    pub contact_id: String,
    pub phone: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

pub use crate::model::contact::Answer;

/// A provider that answers without I/O (offline, none): the write path asks
/// it directly instead of queueing a job.
#[derive(Clone, Copy)]
pub struct Inline {
    /// The provider's name, as the timeline records it.
    pub provider: &'static str,
    pub answer: fn(&Phone) -> Answer,
}

/// Records a lookup's verdict in the contact's timeline (no verdict, no
/// event).
pub fn record_answer(
    conn: &Connection,
    org: i64,
    contact_id: &str,
    phone: &str,
    answer: &Answer,
    provider: &str,
) -> AppResult<()> {
    if answer.is_textable.is_none() {
        return Ok(());
    }
    timeline::record(
        conn,
        org,
        contact_id,
        "lookup_completed",
        &json!({
            "phone": phone,
            "isTextable": answer.is_textable,
            "lineType": answer.line_type,
            "provider": provider,
        }),
    )?;
    super::webhooks::enqueue(conn, org, "contact.lookup_completed", contact_id, |uuid| {
        let contact = read::get(conn, org, contact_id)?;
        Ok(json!({ "contact": contact.map(|c| c.to_json(uuid)) }))
    })?;
    Ok(())
}

/// Puts jobs that were claimed by a process that died back in the queue.
/// Called once at start, before the worker claims anything.
pub fn requeue_running(conn: &Connection) -> AppResult<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE lookup_jobs SET status = 'pending', updated_at = ?1
              WHERE status IN ('pending', 'running') AND status = 'running'",
        )?
        .execute([now_ms()])?)
}

/// Up to `limit` due jobs, oldest first, as they would run now (`attempts`
/// counts the run). Reading them changes nothing. A job whose contact is
/// not there (the write path deletes a contact's jobs with it) comes with
/// an empty contact id, so that it is never current and gets dropped.
pub fn due(conn: &Connection, now: i64, limit: usize) -> AppResult<Vec<Job>> {
    let mut select = conn.prepare_cached(
        "SELECT j.id, j.org, coalesce(c.id, ''), j.phone, j.attempts
           FROM lookup_jobs j LEFT JOIN contacts c ON c.key = j.contact AND c.org = j.org
          WHERE j.status IN ('pending', 'running') AND j.status = 'pending' AND j.run_after <= ?1
          ORDER BY j.run_after, j.id LIMIT ?2",
    )?;
    let jobs = select
        .query_map(params![now, limit as i64], |r| {
            Ok(Job {
                id: r.get(0)?,
                org: r.get(1)?,
                contact_id: r.get(2)?,
                phone: r.get(3)?,
                attempts: r.get::<_, u32>(4)? + 1,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(jobs)
}

/// Claims up to `limit` due jobs, oldest first: they become `running` and
/// their attempt count goes up. Run inside a write transaction.
pub fn claim(conn: &Connection, now: i64, limit: usize) -> AppResult<Vec<Job>> {
    let jobs = due(conn, now, limit)?;
    let mut update = conn.prepare_cached(
        "UPDATE lookup_jobs SET status = 'running', attempts = attempts + 1, updated_at = ?2
          WHERE id = ?1",
    )?;
    for job in &jobs {
        update.execute(params![job.id, now])?;
    }
    Ok(jobs)
}

/// When the next pending job becomes due (None when nothing is pending).
pub fn next_due(conn: &Connection) -> AppResult<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(run_after) FROM lookup_jobs
              WHERE status IN ('pending', 'running') AND status = 'pending'",
        )?
        .query_row([], |r| r.get(0))?)
}

/// True when `job` is still the contact's current lookup: the job is still
/// `running` (not cancelled by a newer phone or a delete) and the contact
/// still has the job's phone.
pub fn is_current(conn: &Connection, job: &Job) -> AppResult<bool> {
    is_current_from(conn, job, "running")
}

/// [`is_current`] for a job in state `from`.
fn is_current_from(conn: &Connection, job: &Job, from: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM lookup_jobs j JOIN contacts c ON c.key = j.contact AND c.org = j.org
              WHERE j.id = ?1 AND j.status = ?2 AND c.phone = j.phone",
        )?
        .query_row(params![job.id, from], |_| Ok(()))
        .optional()?
        .is_some())
}

fn set_job(
    conn: &Connection,
    job: &Job,
    status: &str,
    error: Option<&str>,
    run_after: Option<i64>,
) -> AppResult<usize> {
    set_job_from(conn, job, "running", status, error, run_after)
}

/// Moves the job from `from` to `status`; the attempt count becomes the
/// job's (a job settled straight from `pending` counts its run here).
fn set_job_from(
    conn: &Connection,
    job: &Job,
    from: &str,
    status: &str,
    error: Option<&str>,
    run_after: Option<i64>,
) -> AppResult<usize> {
    let now = now_ms();
    Ok(conn
        .prepare_cached(
            "UPDATE lookup_jobs SET status = ?2, last_error = coalesce(?3, last_error),
                 run_after = coalesce(?4, run_after), updated_at = ?5, attempts = ?7
              WHERE id = ?1 AND status = ?6",
        )?
        .execute(params![
            job.id,
            status,
            error,
            run_after,
            now,
            from,
            job.attempts
        ])?)
}

/// Writes the lookup's answer onto the contact, with its outbox row and
/// timeline event, and marks the job done. A job that is no longer current
/// is discarded (false). `provider` names the source in the timeline; with
/// no verdict (`none`) the contact's `lookupStatus` goes back to null and no
/// event is recorded.
pub fn complete(conn: &Connection, job: &Job, answer: &Answer, provider: &str) -> AppResult<bool> {
    finish(conn, job, "running", answer, provider)
}

/// [`complete`] for a due job that was never claimed: a local provider's
/// answer settles it from `pending` in the same transaction that read it
/// (see [`due`]), without the round through `running`.
pub fn settle(conn: &Connection, job: &Job, answer: &Answer, provider: &str) -> AppResult<bool> {
    finish(conn, job, "pending", answer, provider)
}

fn finish(
    conn: &Connection,
    job: &Job,
    from: &str,
    answer: &Answer,
    provider: &str,
) -> AppResult<bool> {
    if !is_current_from(conn, job, from)? {
        set_job_from(conn, job, from, "cancelled", None, None)?;
        return Ok(false);
    }
    let now = now_ms();
    if answer.is_textable.is_none() {
        conn.prepare_cached("UPDATE contacts SET lookup_status = NULL WHERE id = ?1 AND org = ?2")?
            .execute(params![job.contact_id, job.org])?;
    } else {
        conn.prepare_cached(
            "UPDATE contacts SET is_textable = ?3, line_type = ?4, lookup_status = 'done',
                 looked_up_at = ?5, updated_at = max(updated_at, ?5)
              WHERE id = ?1 AND org = ?2",
        )?
        .execute(params![
            job.contact_id,
            job.org,
            answer.is_textable,
            answer.line_type,
            now
        ])?;
        outbox::record(conn, job.org, &job.contact_id)?;
        record_answer(conn, job.org, &job.contact_id, &job.phone, answer, provider)?;
    }
    set_job_from(conn, job, from, "done", None, None)?;
    Ok(true)
}

/// Gives up on the job: it keeps `error`, the contact shows `failed`.
/// False when the job was no longer current (discarded).
pub fn fail(conn: &Connection, job: &Job, error: &str) -> AppResult<bool> {
    if !is_current(conn, job)? {
        set_job(conn, job, "cancelled", Some(error), None)?;
        return Ok(false);
    }
    let now = now_ms();
    conn.prepare_cached(
        "UPDATE contacts SET lookup_status = 'failed', updated_at = max(updated_at, ?3)
          WHERE id = ?1 AND org = ?2",
    )?
    .execute(params![job.contact_id, job.org, now])?;
    outbox::record(conn, job.org, &job.contact_id)?;
    timeline::record(
        conn,
        job.org,
        &job.contact_id,
        "lookup_failed",
        &json!({ "phone": job.phone, "error": error, "attempts": job.attempts }),
    )?;
    set_job(conn, job, "failed", Some(error), None)?;
    Ok(true)
}

/// Drops a job that is no longer current without running it.
pub fn discard(conn: &Connection, job: &Job) -> AppResult<()> {
    set_job(conn, job, "cancelled", None, None)?;
    Ok(())
}

/// Schedules another attempt at `run_after`, keeping `error` as the last one.
pub fn retry(conn: &Connection, job: &Job, error: &str, run_after: i64) -> AppResult<()> {
    set_job(conn, job, "pending", Some(error), Some(run_after))?;
    Ok(())
}

/// Hands a claimed job back untouched (the attempt is not counted): used
/// when the worker pauses instead of spending jobs.
pub fn release(conn: &Connection, job: &Job) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE lookup_jobs SET status = 'pending', attempts = max(attempts - 1, 0), updated_at = ?2
          WHERE id = ?1 AND status = 'running'",
    )?
    .execute(params![job.id, now_ms()])?;
    Ok(())
}

/// Queues a fresh lookup of the contact's current phone (an explicit
/// re-check). The previous answer stays visible until the new one lands.
/// Returns false when the contact has no phone.
pub fn requeue(conn: &Connection, org: i64, contact_id: &str) -> AppResult<bool> {
    let found: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT key, phone FROM contacts WHERE id = ?1 AND org = ?2")?
        .query_row(params![contact_id, org], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((key, Some(phone))) = found else {
        return Ok(false);
    };
    cancel_pending(conn, contact_id)?;
    insert(conn, org, key, &phone)?;
    conn.prepare_cached(
        "UPDATE contacts SET lookup_status = 'pending' WHERE id = ?1 AND org = ?2",
    )?
    .execute(params![contact_id, org])?;
    outbox::record(conn, org, contact_id)?;
    timeline::record(
        conn,
        org,
        contact_id,
        "lookup_requested",
        &json!({ "phone": phone }),
    )?;
    Ok(true)
}

/// Jobs per status for one organization (every status present, zeros too).
pub fn counts(conn: &Connection, org: i64) -> AppResult<Vec<(String, i64)>> {
    let mut out: Vec<(String, i64)> = ["pending", "running", "done", "failed", "cancelled"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM lookup_jobs WHERE org = ?1 GROUP BY status",
    )?;
    let rows = stmt.query_map([org], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (status, n) = row?;
        if let Some(slot) = out.iter_mut().find(|(s, _)| *s == status) {
            slot.1 = n;
        }
    }
    Ok(out)
}

/// The contact's latest lookup, for `GET /api/contacts/:id/lookup`.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub phone: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub run_after: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The contact's latest lookup: its newest job, or, when the write that
/// gave the contact its phone answered the lookup itself (an import with a
/// local provider writes no job; see `effects::lookup`), that answer as a
/// job done at the first attempt.
pub fn latest(conn: &Connection, org: i64, contact_id: &str) -> AppResult<Option<JobInfo>> {
    let job = conn
        .prepare_cached(
            "SELECT phone, status, attempts, last_error, run_after, created_at, updated_at
               FROM lookup_jobs
              WHERE contact = (SELECT key FROM contacts WHERE id = ?1 AND org = ?2) AND org = ?2
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![contact_id, org], |r| {
            Ok(JobInfo {
                phone: r.get(0)?,
                status: r.get(1)?,
                attempts: r.get(2)?,
                last_error: r.get(3)?,
                run_after: r.get(4)?,
                created_at: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })
        .optional()?;
    let answered: Option<(String, i64)> = conn
        .prepare_cached(
            "SELECT phone, looked_up_at FROM contacts
              WHERE id = ?1 AND org = ?2 AND lookup_status = 'done' AND phone IS NOT NULL
                AND looked_up_at IS NOT NULL",
        )?
        .query_row(params![contact_id, org], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match (job, answered) {
        // A job for another phone, or from before the answer, is not the
        // latest lookup (the worker settles a job after writing its answer).
        (Some(job), Some((phone, at))) if job.phone == phone && job.updated_at >= at => Some(job),
        (_, Some((phone, at))) => Some(JobInfo {
            phone,
            status: "done".into(),
            attempts: 1,
            last_error: None,
            run_after: at,
            created_at: at,
            updated_at: at,
        }),
        (job, None) => job,
    })
}

/// Lookup job ids pruned per transaction, so writers never wait long.
pub const PRUNE_CHUNK: i64 = 20_000;

/// Deletes the finished lookup jobs (done, failed, cancelled) that
/// finished before `before` (Unix ms) and are history: a newer job exists
/// for the same contact (a deleted contact's jobs go with it). The newest
/// job of every contact stays, so its latest answer can still be read.
/// Looks at the jobs with ids in `from..from + PRUNE_CHUNK`; returns how
/// many it deleted.
pub fn prune_history(tx: &Connection, before: i64, from: i64) -> AppResult<usize> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM lookup_jobs
              WHERE id >= ?2 AND id < ?2 + ?3
                AND status IN ('done', 'failed', 'cancelled')
                AND updated_at < ?1
                AND EXISTS (SELECT 1 FROM lookup_jobs newer
                             WHERE newer.contact = lookup_jobs.contact
                               AND newer.id > lookup_jobs.id)",
        )?
        .execute(params![before, from, PRUNE_CHUNK])?)
}

/// The lowest and highest lookup job ids (None without jobs).
pub fn id_range(conn: &Connection) -> AppResult<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached("SELECT min(id), max(id) FROM lookup_jobs")?
        .query_row([], |r| {
            Ok(
                match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                    (Some(lo), Some(hi)) => Some((lo, hi)),
                    _ => None,
                },
            )
        })?)
}
