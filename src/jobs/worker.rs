//! The worker pool. One dispatcher claims due jobs (an UPDATE in a write
//! transaction) and runs them; answers are written back in batches, each
//! job's answer checked for currency inside the transaction that writes it.
//!
//! - Local providers (offline, none) answer inside the claiming
//!   transaction, a batch at a time.
//! - Remote providers (twilio) claim up to `concurrency` jobs at a time and
//!   run one task per job, at most `concurrency` at once and `rate` requests
//!   per second; a job superseded since its claim is dropped before the
//!   request. A recorder task writes the results. Transient errors are retried with exponential back-off and
//!   jitter up to `max_attempts`; a credentials error pauses the worker and
//!   hands the job back unspent.
//!
//! Shutdown: stop claiming, wait up to [`SHUTDOWN_GRACE`] for jobs in
//! flight, write what finished. Anything still `running` is requeued at the
//! next start.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{LookupError, LookupResult, LookupWorker, Provider, Status};
use crate::config::LookupConfig;
use crate::db::Db;
use crate::error::AppResult;
use crate::model::time::now_ms;
use crate::store::lookups::{self, Job};

/// How long shutdown waits for lookups in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The longest the dispatcher sleeps without looking at the table.
const POLL: Duration = Duration::from_secs(1);
/// Jobs a local provider settles per transaction.
const LOCAL_BATCH: usize = 256;
/// After a partial local batch, wait this long for more jobs so a stream of
/// creates is settled in a few transactions instead of one per create.
const LOCAL_LINGER: Duration = Duration::from_millis(25);
/// Results written per transaction.
const RECORD_BATCH: usize = 256;
/// Back-off never exceeds this.
const MAX_BACKOFF_MS: u64 = 10 * 60 * 1000;
/// Answers after which the queue running dry re-takes the planner's
/// statistics of contacts (see [`Ctx::restat`]).
const RESTAT_AFTER: usize = 1_000;

struct Ctx {
    db: Db,
    status: Arc<Status>,
    wake: Arc<tokio::sync::Notify>,
    provider: Provider,
    cfg: LookupConfig,
    rate: RateLimit,
    /// Answers written since the statistics were last re-taken.
    answered: AtomicUsize,
}

impl Ctx {
    fn answered(&self, n: usize) {
        self.answered.fetch_add(n, Ordering::Relaxed);
    }

    /// Re-takes the statistics of contacts once the queue has run dry after
    /// at least [`RESTAT_AFTER`] answers. The answers of a large import's
    /// lookups (`roster import` queues them for the server) change which
    /// contacts are textable without changing how many contacts there are,
    /// so the periodic `optimize` never sees statistics taken before them
    /// as stale: they said no contact was not textable, and a planner
    /// trusting them read a page of `isTextable=false` 47 ms long at 1M.
    async fn restat(&self) {
        let answered = self.answered.load(Ordering::Relaxed);
        if answered < RESTAT_AFTER {
            return;
        }
        match self
            .db
            .write(|tx| Ok(crate::db::reanalyze_contacts(tx)?))
            .await
        {
            // Answers written meanwhile count toward the next time.
            Ok(()) => {
                self.answered.fetch_sub(answered, Ordering::Relaxed);
            }
            // Tried again the next time the queue is found empty.
            Err(err) if err.is_disk_full() => {}
            Err(err) => tracing::warn!(%err, "refreshing planner statistics failed"),
        }
    }
}

/// Requeues jobs left `running` by a previous process, then starts the pool.
/// The returned task ends after `cancel` fires and jobs in flight settle.
pub async fn start(worker: LookupWorker, cancel: CancellationToken) -> AppResult<JoinHandle<()>> {
    let cfg = worker.config;
    let provider = Provider::from_config(&cfg)?;
    let requeued = worker.db.write(|tx| lookups::requeue_running(tx)).await?;
    if requeued > 0 {
        tracing::info!(
            requeued,
            "requeued lookups interrupted by the last shutdown"
        );
    }
    tracing::info!(
        provider = provider.name(),
        concurrency = cfg.concurrency,
        rate = cfg.rate,
        "lookup worker started"
    );
    let ctx = Arc::new(Ctx {
        rate: RateLimit::new(cfg.rate),
        db: worker.db,
        status: worker.status,
        wake: worker.wake,
        provider,
        cfg,
        answered: AtomicUsize::new(0),
    });
    Ok(tokio::spawn(async move {
        if matches!(ctx.provider, Provider::Twilio(_)) {
            run_remote(ctx, cancel).await;
        } else {
            run_local(ctx, cancel).await;
        }
        tracing::info!("lookup worker stopped");
    }))
}

/// Returns once a job is due (or the queue cannot be read, so a claim finds
/// out) or at shutdown; meanwhile sleeps until a commit wakes it, the next
/// `run_after` or the poll interval, and looks again. The queue is read on a
/// reader connection, so a wake-up with nothing to do costs no write
/// transaction.
async fn wait_until_due(ctx: &Ctx, cancel: &CancellationToken) {
    while !cancel.is_cancelled() {
        let wait = match ctx.db.read(lookups::next_due).await {
            Err(_) => return,
            Ok(Some(t)) if t <= now_ms() => return,
            Ok(Some(t)) => {
                Duration::from_millis((t - now_ms()).clamp(5, POLL.as_millis() as i64) as u64)
            }
            Ok(None) => {
                ctx.restat().await;
                POLL
            }
        };
        tokio::select! {
            () = ctx.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            () = cancel.cancelled() => {}
        }
    }
}

async fn run_local(ctx: Arc<Ctx>, cancel: CancellationToken) {
    while !cancel.is_cancelled() {
        wait_until_due(&ctx, &cancel).await;
        if cancel.is_cancelled() {
            break;
        }
        // The answers are worked out on a read connection first, so the
        // writer, which every request waits for, only writes them.
        let c = ctx.clone();
        let mut answers = ctx
            .db
            .read(move |conn| {
                let jobs = lookups::due(conn, now_ms(), LOCAL_BATCH)?;
                Ok(jobs
                    .into_iter()
                    .filter_map(|job| {
                        let answer = c.provider.local_answer(&job.phone)?;
                        Some((job.phone, answer))
                    })
                    .collect::<HashMap<_, _>>())
            })
            .await
            .unwrap_or_default();
        let c = ctx.clone();
        let settled = ctx
            .db
            .write(move |tx| {
                let jobs = lookups::due(tx, now_ms(), LOCAL_BATCH)?;
                let name = c.provider.name();
                for job in &jobs {
                    let answer = match answers.remove(&job.phone) {
                        Some(answer) => answer,
                        None => c.provider.local_answer(&job.phone).expect("local provider"),
                    };
                    lookups::settle(tx, job, &answer, name)?;
                }
                Ok(jobs.len())
            })
            .await;
        if let Ok(n) = settled {
            ctx.answered(n);
        }
        match settled {
            Ok(0) => {}
            Ok(n) if n < LOCAL_BATCH => {
                tokio::select! {
                    () = tokio::time::sleep(LOCAL_LINGER) => {}
                    () = cancel.cancelled() => {}
                }
            }
            Ok(_) => {}
            Err(err) => {
                if !err.is_disk_full() {
                    tracing::error!(%err, "lookup batch failed; retrying shortly");
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = cancel.cancelled() => {}
                }
            }
        }
    }
}

async fn run_remote(ctx: Arc<Ctx>, cancel: CancellationToken) {
    let concurrency = ctx.cfg.concurrency as usize;
    let slots = Arc::new(Semaphore::new(concurrency));
    let (results, inbox) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(ctx.clone(), inbox));
    let mut running = JoinSet::new();
    // Claimed (so `running` in the table) but waiting for a slot: claiming a
    // batch at a time keeps the claim transactions few.
    let mut claimed: VecDeque<Job> = VecDeque::new();
    loop {
        while running.try_join_next().is_some() {}
        if cancel.is_cancelled() || ctx.status.is_paused() {
            break;
        }
        if claimed.is_empty() {
            wait_until_due(&ctx, &cancel).await;
            if cancel.is_cancelled() || ctx.status.is_paused() {
                break;
            }
            let got = ctx
                .db
                .write(move |tx| lookups::claim(tx, now_ms(), concurrency))
                .await;
            match got {
                Ok(jobs) if jobs.is_empty() => {}
                Ok(jobs) => claimed.extend(jobs),
                Err(err) => {
                    if !err.is_disk_full() {
                        tracing::error!(%err, "claiming lookups failed; retrying shortly");
                    }
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        () = cancel.cancelled() => {}
                    }
                }
            }
            continue;
        }
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = cancel.cancelled() => break,
        };
        if ctx.status.is_paused() {
            break;
        }
        let job = claimed.pop_front().expect("not empty");
        let ctx = ctx.clone();
        let results = results.clone();
        running.spawn(async move {
            ctx.rate.wait().await;
            // A job superseded (new phone, delete) since it was claimed is
            // not worth a request.
            let job_ = job.clone();
            let wanted = ctx
                .db
                .read(move |conn| lookups::is_current(conn, &job_))
                .await
                .unwrap_or(true);
            let result = if wanted {
                Some(ctx.provider.lookup(&job.phone).await)
            } else {
                None
            };
            if let Some(Err(LookupError::Unauthorized(reason))) = &result
                && ctx.status.pause(reason)
            {
                tracing::error!(
                    "lookups paused: {reason}. Queued lookups are kept; restart Roster with working credentials to resume"
                );
            }
            let _ = results.send((job, result));
            drop(permit);
        });
    }
    if ctx.status.is_paused() {
        // Paused until restart: jobs stay queued, unspent.
        hand_back(&ctx, &mut claimed).await;
        cancel.cancelled().await;
    }
    hand_back(&ctx, &mut claimed).await;
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            unfinished = running.len(),
            "lookups still in flight at shutdown; they will run again at the next start"
        );
        running.abort_all();
    }
    drop(results);
    let _ = recorder.await;
}

/// Returns claimed jobs that never started to the queue, attempt unspent.
async fn hand_back(ctx: &Ctx, claimed: &mut VecDeque<Job>) {
    if claimed.is_empty() {
        return;
    }
    let jobs: Vec<Job> = claimed.drain(..).collect();
    let released = ctx
        .db
        .write(move |tx| {
            for job in &jobs {
                lookups::release(tx, job)?;
            }
            Ok(())
        })
        .await;
    if let Err(err) = released {
        tracing::error!(%err, "returning claimed lookups failed; they run again at the next start");
    }
}

/// Writes remote results, batching whatever has arrived.
async fn record(ctx: Arc<Ctx>, mut inbox: mpsc::UnboundedReceiver<(Job, Option<LookupResult>)>) {
    while let Some(first) = inbox.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match inbox.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let results = batch.len();
        let batch = Arc::new(batch);
        loop {
            let (c, batch) = (ctx.clone(), batch.clone());
            let written = ctx
                .db
                .write(move |tx| {
                    let mut requeued = false;
                    for (job, result) in batch.iter() {
                        requeued |= settle(tx, &c, job, result)?;
                    }
                    Ok(requeued)
                })
                .await;
            if written.is_ok() {
                ctx.answered(results);
            }
            match written {
                // A retry may be due before the dispatcher's next poll.
                Ok(true) => ctx.wake.notify_one(),
                Ok(false) => {}
                // Kept until space is back (or the server stops).
                Err(err) if err.is_disk_full() && !inbox.is_closed() => {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Err(err) => tracing::error!(
                    %err,
                    "writing lookup results failed; those jobs run again at the next start"
                ),
            }
            break;
        }
    }
}

/// Applies one result; true when the job went back to the queue.
fn settle(
    tx: &rusqlite::Connection,
    ctx: &Ctx,
    job: &Job,
    result: &Option<LookupResult>,
) -> AppResult<bool> {
    let contact = job.contact_id.as_str();
    let Some(result) = result else {
        lookups::discard(tx, job)?;
        return Ok(false);
    };
    match result {
        Ok(answer) => {
            lookups::complete(tx, job, answer, ctx.provider.name())?;
            Ok(false)
        }
        Err(LookupError::Transient(err)) if job.attempts < ctx.cfg.max_attempts => {
            let delay = backoff(ctx.cfg.retry_base_ms, job.attempts);
            tracing::info!(contact, attempt = job.attempts, %err, delay_ms = delay, "lookup will be retried");
            lookups::retry(tx, job, err, now_ms() + delay as i64)?;
            Ok(true)
        }
        Err(LookupError::Transient(err)) | Err(LookupError::Permanent(err)) => {
            tracing::warn!(contact, attempts = job.attempts, %err, "lookup failed");
            lookups::fail(tx, job, err)?;
            Ok(false)
        }
        Err(LookupError::Unauthorized(_)) => {
            lookups::release(tx, job)?;
            Ok(true)
        }
    }
}

/// Exponential back-off with jitter: `base * 2^(attempt-1)`, capped, then a
/// random point in its upper half so retries of a burst spread out.
pub fn backoff(base_ms: u64, attempt: u32) -> u64 {
    let exp = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
    let capped = exp.clamp(1, MAX_BACKOFF_MS);
    rand::rng().random_range(capped / 2..=capped)
}

/// Spaces provider requests at least `1/rate` seconds apart.
struct RateLimit {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimit {
    fn new(rate: f64) -> Self {
        let interval =
            (rate.is_finite() && rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
        Self {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=5 {
            let full = 100u64 << (attempt - 1);
            let d = backoff(100, attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
        }
        assert!(backoff(1_000, 60) <= super::MAX_BACKOFF_MS);
    }
}
