//! Outbound webhooks: endpoints, and the deliveries table every event is
//! written to in the transaction of the change that caused it.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

use super::new_id;
use crate::error::{AppError, AppResult};
use crate::model::time::{format_ms, now_ms};
use crate::model::webhook::{
    self, Attempt, Delivery, DeliveryAttempt, Next, Webhook, WebhookPatch,
};

const COLUMNS: &str = "id, org, url, events, description, enabled, secret, disabled_reason, \
                       failing_since, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Webhook> {
    let events: String = r.get(3)?;
    Ok(Webhook {
        id: r.get(0)?,
        org: r.get(1)?,
        url: r.get(2)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        description: r.get(4)?,
        enabled: r.get(5)?,
        secret: r.get(6)?,
        disabled_reason: r.get(7)?,
        failing_since: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn create(conn: &Connection, org: i64, patch: WebhookPatch) -> AppResult<Webhook> {
    let id = new_id();
    let now = now_ms();
    conn.execute(
        "INSERT INTO webhooks (id, org, url, events, description, enabled, secret, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            id,
            org,
            patch.url.unwrap_or_default(),
            serde_json::to_string(&patch.events.unwrap_or_default())?,
            patch.description.unwrap_or_default(),
            patch.enabled.unwrap_or(true),
            webhook::new_secret(),
            now
        ],
    )?;
    Ok(get(conn, org, &id)?.expect("inserted above"))
}

/// The endpoint, or the contract's 404.
pub fn require(conn: &Connection, org: i64, id: &str) -> AppResult<Webhook> {
    get(conn, org, id)?.ok_or_else(|| AppError::not_found("webhook"))
}

pub fn get(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Webhook>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE id = ?1 AND org = ?2"
        ))?
        .query_row(params![id, org], from_row)
        .optional()?)
}

pub fn list(conn: &Connection, org: i64) -> AppResult<Vec<Webhook>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE org = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([org], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Applies `patch`; enabling an endpoint clears why it was disabled.
pub fn update(
    conn: &Connection,
    org: i64,
    id: &str,
    patch: WebhookPatch,
) -> AppResult<Option<Webhook>> {
    let Some(mut w) = get(conn, org, id)? else {
        return Ok(None);
    };
    if let Some(url) = patch.url {
        w.url = url;
    }
    if let Some(events) = patch.events {
        w.events = events;
    }
    if let Some(d) = patch.description {
        w.description = d;
    }
    if let Some(enabled) = patch.enabled {
        if enabled && !w.enabled {
            w.disabled_reason = None;
            w.failing_since = None;
        }
        w.enabled = enabled;
    }
    conn.execute(
        "UPDATE webhooks SET url = ?3, events = ?4, description = ?5, enabled = ?6,
             disabled_reason = ?7, failing_since = ?8, updated_at = ?9
         WHERE id = ?1 AND org = ?2",
        params![
            id,
            org,
            w.url,
            serde_json::to_string(&w.events)?,
            w.description,
            w.enabled,
            w.disabled_reason,
            w.failing_since,
            now_ms()
        ],
    )?;
    get(conn, org, id)
}

pub fn rotate_secret(conn: &Connection, org: i64, id: &str) -> AppResult<Option<Webhook>> {
    let n = conn.execute(
        "UPDATE webhooks SET secret = ?3, updated_at = ?4 WHERE id = ?1 AND org = ?2",
        params![id, org, webhook::new_secret(), now_ms()],
    )?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, org, id)
}

/// Deletes the endpoint with its deliveries and their attempts.
pub fn delete(conn: &Connection, org: i64, id: &str) -> AppResult<bool> {
    if get(conn, org, id)?.is_none() {
        return Ok(false);
    }
    conn.execute("DELETE FROM webhook_attempts WHERE webhook_id = ?1", [id])?;
    conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?1", [id])?;
    conn.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
    Ok(true)
}

/// The enabled endpoints of `org` that want `event`: one indexed read per
/// write, nothing more when the organization has none.
fn subscribers(conn: &Connection, org: i64, event: &str) -> AppResult<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, events FROM webhooks WHERE org = ?1 AND enabled = 1")?;
    let rows = stmt.query_map([org], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, events) = row?;
        let events: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if webhook::wants(&events, event) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Whether `org` has any enabled endpoint (so a write can skip building an
/// event nobody will receive).
pub fn any_enabled(conn: &Connection, org: i64) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM webhooks WHERE org = ?1 AND enabled = 1 LIMIT 1")?
        .exists([org])?)
}

/// Writes `event` for every endpoint of `org` that wants it. `key` orders
/// deliveries: those with the same key reach an endpoint in order. `data`
/// is built only when someone wants the event.
pub fn enqueue(
    conn: &Connection,
    org: i64,
    event: &str,
    key: &str,
    data: impl FnOnce(&str) -> AppResult<Value>,
) -> AppResult<Option<String>> {
    let targets = subscribers(conn, org, event)?;
    insert(conn, org, &targets, event, key, data)
}

/// Writes a `ping` for one endpoint (`POST /api/webhooks/:id/test`).
pub fn enqueue_ping(conn: &Connection, org: i64, webhook_id: &str) -> AppResult<String> {
    // One target, so `insert` always writes an event.
    insert(
        conn,
        org,
        &[webhook_id.to_string()],
        webhook::PING,
        &format!("ping:{webhook_id}"),
        |_| Ok(json!({ "message": "This is a test event from Roster." })),
    )?
    .ok_or_else(|| AppError::internal("a ping was not queued"))
}

fn insert(
    conn: &Connection,
    org: i64,
    targets: &[String],
    event: &str,
    key: &str,
    data: impl FnOnce(&str) -> AppResult<Value>,
) -> AppResult<Option<String>> {
    if targets.is_empty() {
        return Ok(None);
    }
    let org_uuid: String = conn
        .prepare_cached("SELECT id FROM organizations WHERE org = ?1")?
        .query_row([org], |r| r.get(0))?;
    let event_id = format!("evt_{}", new_id().replace('-', ""));
    let now = now_ms();
    let payload = json!({
        "id": event_id,
        "type": event,
        "createdAt": format_ms(now),
        "organizationId": org_uuid,
        "data": data(&org_uuid)?,
    })
    .to_string();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO webhook_deliveries
             (id, org, webhook_id, event_id, event_type, ordering_key, payload, status,
              next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?8)",
    )?;
    for webhook_id in targets {
        stmt.execute(params![
            new_id(),
            org,
            webhook_id,
            event_id,
            event,
            key,
            payload,
            now
        ])?;
    }
    Ok(Some(event_id))
}

/// A delivery ready to send, with what sending needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub seq: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
    pub attempts: u32,
    pub created_at: i64,
}

/// Up to `limit` deliveries due now, oldest first, each the first pending
/// one of its endpoint and key (so each key's events go in order), leaving
/// out `busy` (in flight) and disabled endpoints.
pub fn due(conn: &Connection, now: i64, limit: usize, busy: &[i64]) -> AppResult<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.seq, d.webhook_id, d.event_id, w.url, w.secret, d.payload, d.attempts, d.created_at
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND w.enabled = 1
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                             WHERE e.status = 'pending' AND e.webhook_id = d.webhook_id
                               AND e.ordering_key = d.ordering_key AND e.seq < d.seq)
          ORDER BY d.next_attempt_at, d.seq
          LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, (limit + busy.len()) as i64], |r| {
        Ok(Due {
            seq: r.get(0)?,
            webhook_id: r.get(1)?,
            event_id: r.get(2)?,
            url: r.get(3)?,
            secret: r.get(4)?,
            payload: r.get(5)?,
            attempts: r.get(6)?,
            created_at: r.get(7)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let d = row?;
        if !busy.contains(&d.seq) && out.len() < limit {
            out.push(d);
        }
    }
    Ok(out)
}

/// Whether any delivery waits to be sent: one probe of the pending
/// deliveries' index. The worker asks this before it looks for due ones,
/// because it is woken after every write, and most organizations have no
/// endpoint at all.
pub fn any_pending(conn: &Connection) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT 1")?
        .exists([])?)
}

/// When the next delivery is due (for the worker's sleep).
pub fn next_due(conn: &Connection) -> AppResult<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
              WHERE d.status = 'pending' AND w.enabled = 1",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Records `attempt` of delivery `seq`, and settles it: delivered, due
/// again at `next`, or failed. A success clears the endpoint's failing
/// streak; a failure starts one, and an endpoint failing for longer than
/// `disable_after_ms` is disabled with the reason.
pub fn settle(
    conn: &Connection,
    due: &Due,
    attempt: &Attempt,
    next: Next,
    disable_after_ms: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_attempts (delivery_seq, webhook_id, at, status_code, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        due.seq,
        due.webhook_id,
        attempt.at,
        attempt.status_code,
        attempt.error,
        attempt.duration_ms
    ])?;
    let now = now_ms();
    if attempt.succeeded() {
        conn.prepare_cached(
            "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,
                 last_status = ?2, last_error = NULL, delivered_at = ?3, updated_at = ?3
             WHERE seq = ?1 AND status = 'pending'",
        )?
        .execute(params![due.seq, attempt.status_code, now])?;
        conn.prepare_cached(
            "UPDATE webhooks SET failing_since = NULL WHERE id = ?1 AND failing_since IS NOT NULL",
        )?
        .execute([&due.webhook_id])?;
        return Ok(());
    }
    match next {
        Next::Retry(at) => conn
            .prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?2,
                     last_error = ?3, next_attempt_at = ?4, updated_at = ?5
                 WHERE seq = ?1 AND status = 'pending'",
            )?
            .execute(params![
                due.seq,
                attempt.status_code,
                attempt.error,
                at,
                now
            ])?,
        Next::GiveUp => conn
            .prepare_cached(
                "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1,
                     last_status = ?2, last_error = ?3, updated_at = ?4
                 WHERE seq = ?1 AND status = 'pending'",
            )?
            .execute(params![due.seq, attempt.status_code, attempt.error, now])?,
    };
    conn.prepare_cached(
        "UPDATE webhooks SET failing_since = ?2 WHERE id = ?1 AND failing_since IS NULL",
    )?
    .execute(params![due.webhook_id, attempt.at])?;
    let reason = attempt.disabled_reason(disable_after_ms);
    conn.prepare_cached(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ?3, updated_at = ?4
          WHERE id = ?1 AND enabled = 1 AND failing_since IS NOT NULL AND ?2 - failing_since > ?5",
    )?
    .execute(params![due.webhook_id, now, reason, now, disable_after_ms])?;
    Ok(())
}

/// Puts a delivery back in the queue, due now (for a manual retry).
pub fn retry(conn: &Connection, org: i64, webhook_id: &str, delivery_id: &str) -> AppResult<bool> {
    Ok(conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?4, updated_at = ?4
          WHERE id = ?1 AND webhook_id = ?2 AND org = ?3",
        params![delivery_id, webhook_id, org, now_ms()],
    )? > 0)
}

/// An endpoint's deliveries, newest first, with their attempts.
pub fn deliveries(
    conn: &Connection,
    org: i64,
    webhook_id: &str,
    limit: usize,
    before_seq: Option<i64>,
) -> AppResult<(Vec<Delivery>, Option<i64>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, event_id, event_type, status, attempts, next_attempt_at, last_status,
                last_error, created_at, delivered_at
           FROM webhook_deliveries
          WHERE webhook_id = ?1 AND org = ?2 AND seq < ?3
          ORDER BY seq DESC LIMIT ?4",
    )?;
    let mut attempts_of = conn.prepare_cached(
        "SELECT at, status_code, error, duration_ms FROM webhook_attempts
          WHERE delivery_seq = ?1 ORDER BY at",
    )?;
    let rows: Vec<(i64, Delivery)> = stmt
        .query_map(
            params![
                webhook_id,
                org,
                before_seq.unwrap_or(i64::MAX),
                (limit + 1) as i64
            ],
            |r| {
                let status: String = r.get(4)?;
                let next_attempt_at = (status == "pending")
                    .then(|| r.get::<_, i64>(6).map(format_ms))
                    .transpose()?;
                Ok((
                    r.get::<_, i64>(0)?,
                    Delivery {
                        id: r.get(1)?,
                        event_id: r.get(2)?,
                        kind: r.get(3)?,
                        status,
                        attempt_count: r.get(5)?,
                        next_attempt_at,
                        last_status_code: r.get(7)?,
                        last_error: r.get(8)?,
                        created_at: format_ms(r.get(9)?),
                        delivered_at: r.get::<_, Option<i64>>(10)?.map(format_ms),
                        attempts: Vec::new(),
                    },
                ))
            },
        )?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit;
    let mut out = Vec::new();
    let mut last = None;
    for (seq, mut v) in rows.into_iter().take(limit) {
        v.attempts = attempts_of
            .query_map([seq], |r| {
                Ok(DeliveryAttempt {
                    at: format_ms(r.get(0)?),
                    status_code: r.get(1)?,
                    error: r.get(2)?,
                    duration_ms: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        out.push(v);
        last = Some(seq);
    }
    Ok((out, if more { last } else { None }))
}

/// How many deliveries of `org` are in each status (for tests and status).
pub fn counts(conn: &Connection, org: i64) -> AppResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM webhook_deliveries WHERE org = ?1 GROUP BY status ORDER BY status",
    )?;
    let rows = stmt.query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
