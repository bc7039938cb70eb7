//! The Prometheus metrics behind `GET /metrics`: requests counted and timed
//! as they pass, and the data directory's figures (contacts, queues, sizes,
//! the last backup) read at each scrape. The registry lives in the
//! application state; nothing is global.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rusqlite::Connection;

use crate::error::{AppError, AppResult};
use crate::health::{Health, Part};
use crate::ops;
use crate::store::{maintenance, orgs};

/// The route label of requests that matched no route: one series for all
/// of them, whatever paths clients make up.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrgLabels {
    organization: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartLabels {
    part: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    contacts: Family<OrgLabels, Gauge>,
    lookup_jobs: Family<StatusLabels, Gauge>,
    outbox_rows: Gauge,
    outbox_oldest: FloatGauge,
    import_rows: Gauge,
    database_bytes: Gauge,
    index_bytes: Gauge,
    backup_time: Gauge,
    backup_bytes: Gauge,
    degraded: Family<PartLabels, Gauge>,
    /// The oldest outbox row seen by a scrape, and when it was first seen:
    /// the outbox keeps no times, so its age is measured across scrapes.
    oldest_seen: Mutex<Option<(i64, Instant)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let m = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            contacts: Family::default(),
            lookup_jobs: Family::default(),
            outbox_rows: Gauge::default(),
            outbox_oldest: FloatGauge::default(),
            import_rows: Gauge::default(),
            database_bytes: Gauge::default(),
            index_bytes: Gauge::default(),
            backup_time: Gauge::default(),
            backup_bytes: Gauge::default(),
            degraded: Family::default(),
            oldest_seen: Mutex::new(None),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by matched route, method and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by matched route and method",
            m.latency.clone(),
        );
        registry.register("contacts", "Contacts per organization", m.contacts.clone());
        registry.register(
            "lookup_jobs",
            "Textability lookup jobs by status: pending and running are the queue, \
             done, failed and cancelled the outcomes so far",
            m.lookup_jobs.clone(),
        );
        registry.register(
            "search_outbox_oldest_seconds",
            "How long the oldest waiting change has waited, as seen across scrapes",
            m.outbox_oldest.clone(),
        );
        let gauges = [
            (
                "search_outbox_rows",
                "Changes waiting for the search index",
                &m.outbox_rows,
            ),
            (
                "import_rows_processed",
                "Rows processed by the imports on record",
                &m.import_rows,
            ),
            (
                "database_bytes",
                "Size of the database and its WAL",
                &m.database_bytes,
            ),
            (
                "search_index_bytes",
                "Size of the search index",
                &m.index_bytes,
            ),
            (
                "last_backup_timestamp_seconds",
                "When the newest backup's snapshot was taken (0: never)",
                &m.backup_time,
            ),
            (
                "last_backup_bytes",
                "Size of the newest backup",
                &m.backup_bytes,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        registry.register(
            "degraded",
            "1 while a part of the server is degraded (a full disk, a failing index \
             writer; the reason is in /healthz), else 0",
            m.degraded.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts and times one answered request.
    pub fn observe(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                method: method.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Reads the data directory's figures (on a blocking thread) and
    /// renders everything in the OpenMetrics text format.
    pub fn render(&self, conn: &Connection, data_dir: &Path, health: &Health) -> AppResult<String> {
        for part in Part::ALL {
            self.degraded
                .get_or_create(&PartLabels {
                    part: part.label().to_string(),
                })
                .set(i64::from(health.is_degraded(part)));
        }
        let names = orgs::list(conn)?;
        self.contacts.clear();
        for o in names {
            self.contacts
                .get_or_create(&OrgLabels {
                    organization: o.name,
                })
                .set(orgs::contact_count(conn, o.org)?);
        }
        self.lookup_jobs.clear();
        for (status, n) in maintenance::lookup_jobs_by_status(conn)? {
            self.lookup_jobs
                .get_or_create(&StatusLabels { status })
                .set(n);
        }
        let (rows, oldest) = maintenance::outbox_depth(conn)?;
        self.outbox_rows.set(rows);
        let waited = {
            let mut seen = self.oldest_seen.lock().unwrap_or_else(|p| p.into_inner());
            match (oldest, *seen) {
                (None, _) => {
                    *seen = None;
                    0.0
                }
                (Some(seq), Some((was, since))) if seq == was => since.elapsed().as_secs_f64(),
                (Some(seq), _) => {
                    *seen = Some((seq, Instant::now()));
                    0.0
                }
            }
        };
        self.outbox_oldest.set(waited);
        self.import_rows
            .set(maintenance::import_rows_processed(conn)?);
        self.database_bytes
            .set(ops::status::database_bytes(data_dir) as i64);
        self.index_bytes
            .set(ops::status::dir_size(&crate::search::index_dir(data_dir)) as i64);
        let last = ops::backup::last(data_dir);
        self.backup_time
            .set(last.as_ref().map_or(0, |b| b.at / 1000));
        self.backup_bytes
            .set(last.as_ref().map_or(0, |b| b.bytes as i64));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(AppError::internal)?;
        Ok(out)
    }
}

/// The method label: the standard methods by name, anything else as one.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A route pattern as a label: `/api/contacts/{id}` becomes
/// `/api/contacts/:id`, since braces inside label values trip some
/// Prometheus text parsers.
pub fn route_label(pattern: &str) -> String {
    pattern
        .replace("{*", "*")
        .replace('{', ":")
        .replace('}', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_become_labels_without_braces() {
        assert_eq!(route_label("/api/contacts/{id}"), "/api/contacts/:id");
        assert_eq!(
            route_label("/api/contacts/{id}/notes/{note_id}"),
            "/api/contacts/:id/notes/:note_id"
        );
        assert_eq!(route_label("/{*path}"), "/*path");
        assert_eq!(route_label("/api/contacts"), "/api/contacts");
    }
}
