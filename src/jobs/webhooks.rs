//! The webhook delivery worker: the lookup worker's pattern over the
//! deliveries table. It picks due deliveries (each endpoint's deliveries for
//! one contact in order), sends them signed, and writes each attempt's
//! outcome: delivered, due again after a back-off, or failed after
//! `--webhook-give-up-secs`. The table is the truth: a delivery in flight
//! when the process dies is sent again at the next start (at least once;
//! the event id lets a receiver drop repeats).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::WebhookConfig;
use crate::db::Db;
use crate::model::time::now_ms;
use crate::model::webhook;
use crate::model::webhook::{Attempt, Next};
use crate::store::webhooks::{self, Due};

/// The longest the worker sleeps without looking at the table.
const POLL: Duration = Duration::from_millis(500);
/// How long shutdown waits for deliveries in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs until `stop`, then waits a moment for deliveries in flight.
pub async fn run(db: Db, cfg: WebhookConfig, wake: Arc<Notify>, stop: CancellationToken) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(%err, "cannot start the webhook worker");
            return;
        }
    };
    let mut busy: HashSet<i64> = HashSet::new();
    let mut flying: JoinSet<(Due, Attempt)> = JoinSet::new();
    loop {
        let slots = cfg.concurrency as usize - flying.len();
        // A point read on this thread: the search for due deliveries is
        // skipped when none is pending, as after almost every write.
        let pending = slots > 0 && db.read_point(webhooks::any_pending).await.unwrap_or(true);
        if pending {
            let held: Vec<i64> = busy.iter().copied().collect();
            match db
                .read(move |c| webhooks::due(c, now_ms(), slots, &held))
                .await
            {
                Ok(list) => {
                    for due in list {
                        busy.insert(due.seq);
                        let client = client.clone();
                        let hosts = cfg.allowed_hosts.clone();
                        flying.spawn(async move {
                            let attempt = send(&client, &due, &hosts).await;
                            (due, attempt)
                        });
                    }
                }
                Err(err) => tracing::warn!(%err, "reading due webhook deliveries failed"),
            }
        }
        tokio::select! {
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                // Every attempt finished by now is recorded in one write.
                let mut finished: Vec<(Due, Attempt)> = done.into_iter().collect();
                while let Some(more) = flying.try_join_next() {
                    finished.extend(more);
                }
                for (due, _) in &finished {
                    busy.remove(&due.seq);
                }
                record(&db, &cfg, finished).await;
            }
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            () = stop.cancelled() => break,
        }
    }
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while !flying.is_empty() {
        match tokio::time::timeout_at(deadline, flying.join_next()).await {
            Ok(Some(Ok(done))) => record(&db, &cfg, vec![done]).await,
            Ok(Some(Err(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    tracing::info!("webhook worker stopped");
}

/// One signed POST of a delivery.
async fn send(client: &reqwest::Client, due: &Due, allowed_hosts: &[String]) -> Attempt {
    let at = now_ms();
    let started = Instant::now();
    let finish = |status_code: Option<u16>, error: Option<String>| Attempt {
        at,
        status_code,
        error,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    // The allowed hosts may have changed since the endpoint was saved.
    if let Err(err) = webhook::check_url(&due.url, allowed_hosts) {
        return finish(None, Some(err.to_string()));
    }
    let timestamp = at / 1000;
    let signature = webhook::sign(&due.secret, &due.event_id, timestamp, &due.payload);
    let sent = client
        .post(&due.url)
        .header("content-type", "application/json")
        .header("webhook-id", &due.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(due.payload.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (!response.status().is_success())
                .then(|| format!("the endpoint answered HTTP {status}"));
            finish(Some(status), error)
        }
        Err(err) => {
            let why = if err.is_timeout() {
                "the endpoint did not answer in time".to_string()
            } else if err.is_connect() {
                "could not connect to the endpoint".to_string()
            } else {
                format!("the request failed: {err}")
            };
            finish(None, Some(why))
        }
    }
}

async fn record(db: &Db, cfg: &WebhookConfig, finished: Vec<(Due, Attempt)>) {
    if finished.is_empty() {
        return;
    }
    let give_up_ms = (cfg.give_up_secs * 1000) as i64;
    let base = cfg.retry_base_ms;
    let settled: Vec<(Due, Attempt, Next)> = finished
        .into_iter()
        .map(|(due, attempt)| {
            let next = if attempt.at - due.created_at > give_up_ms {
                Next::GiveUp
            } else {
                let jitter: f64 = rand::rng().random_range(0.0..1.0);
                Next::Retry(now_ms() + webhook::backoff_ms(base, due.attempts + 1, jitter) as i64)
            };
            (due, attempt, next)
        })
        .collect();
    let n = settled.len();
    if let Err(err) = db
        .write(move |tx| {
            for (due, attempt, next) in settled {
                webhooks::settle(tx, &due, &attempt, next, give_up_ms)?;
            }
            Ok(())
        })
        .await
        && !err.is_disk_full()
    {
        tracing::warn!(%err, deliveries = n, "recording webhook attempts failed; they will be sent again");
    }
}
