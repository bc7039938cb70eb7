//! `GET /metrics`: off without a token, closed without the right one, and
//! a scrape a Prometheus text parser reads, with the figures a person
//! watching the server looks for.

mod common;

use common::{Client, Server, roster_cli, wait_for};
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789";

fn scrape(server: &Server) -> Scrape {
    let r = Client::new(&server.base, Some(TOKEN.into())).get("/metrics");
    assert_eq!(r.status, 200, "{}", r.text);
    let content_type = r.headers["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let lines = r.text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("a Prometheus text scrape")
}

/// The value of the sample `name` whose labels include every `labels` pair.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s: &&Sample| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
}

#[test]
fn metrics_are_off_without_a_token_and_closed_without_the_right_one() {
    let off = Server::start();
    let r = off.anonymous().get("/metrics");
    assert_eq!(r.status, 404);
    assert!(r.text.contains("--metrics-token"), "{}", r.text);

    let on = Server::start_with(&["--metrics-token", TOKEN], &[]);
    assert_eq!(on.anonymous().get("/metrics").status, 401);
    let wrong = Client::new(&on.base, Some("metrics-token-wrong-guess".into()));
    assert_eq!(wrong.get("/metrics").status, 401);
    // An API key is not the metrics token.
    let api = on.client("Keys Are Not Tokens");
    assert_eq!(api.get("/metrics").status, 401);
}

#[test]
fn a_scrape_counts_requests_by_route_and_reports_contacts_queues_sizes_and_backups() {
    let server = Server::start_with(&["--metrics-token", TOKEN], &[]);
    let api = server.client("Watched");
    let other = server.client("Elsewhere");
    let id = api.create(&json!({"email": "m1@example.org"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.create(&json!({"email": "m2@example.org", "phone": "9195550142"}));
    other.create(&json!({"email": "o1@example.org"}));
    for _ in 0..3 {
        assert_eq!(api.get(&format!("/api/contacts/{id}")).status, 200);
    }
    assert_eq!(api.get("/api/no-such-thing/abc").status, 404);
    assert_eq!(api.get("/api/another/made-up/path").status, 404);
    let upload = api.post_multipart(
        "/api/contacts/import",
        b"email\na@example.org\nb@example.org\nc@example.org\n",
        None,
    );
    assert_eq!(upload.status, 202, "{}", upload.text);
    let import = upload.body["importId"].as_str().unwrap().to_string();
    wait_for(30, "the import to finish", || {
        let r = api.get(&format!("/api/imports/{import}"));
        (r.body["status"] == "completed").then_some(())
    });

    let s = scrape(&server);
    let requests = "roster_http_requests_total";
    assert_eq!(
        value(
            &s,
            requests,
            &[
                ("route", "/api/contacts/:id"),
                ("method", "GET"),
                ("status", "200")
            ]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &s,
            requests,
            &[
                ("route", "/api/contacts"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(&s, requests, &[("route", "unmatched"), ("status", "404")]),
        Some(2.0),
        "made-up paths share one series"
    );
    assert!(
        !s.samples
            .iter()
            .any(|x| x.labels.values().any(|v| v.contains("made-up"))),
        "no label carries a path a client made up"
    );
    let latency = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "roster_http_request_duration_seconds"
                && x.labels.get("route") == Some("/api/contacts/:id")
        })
        .expect("a latency histogram for the route");
    match &latency.value {
        Value::Histogram(buckets) => {
            assert!(buckets.iter().any(|b| b.count == 3.0), "{buckets:?}")
        }
        other => panic!("not a histogram: {other:?}"),
    }

    assert_eq!(
        value(&s, "roster_contacts", &[("organization", "Watched")]),
        Some(5.0)
    );
    assert_eq!(
        value(&s, "roster_contacts", &[("organization", "Elsewhere")]),
        Some(1.0)
    );
    let jobs: f64 = s
        .samples
        .iter()
        .filter(|x| x.metric == "roster_lookup_jobs")
        .map(|x| match x.value {
            Value::Gauge(v) => v,
            _ => 0.0,
        })
        .sum();
    assert!(jobs >= 1.0, "the phone's lookup is counted");
    assert!(value(&s, "roster_search_outbox_rows", &[]).is_some());
    assert!(value(&s, "roster_search_outbox_oldest_seconds", &[]).is_some());
    assert_eq!(value(&s, "roster_import_rows_processed", &[]), Some(3.0));
    assert!(value(&s, "roster_database_bytes", &[]).unwrap() > 0.0);
    assert!(value(&s, "roster_search_index_bytes", &[]).is_some());
    assert_eq!(
        value(&s, "roster_last_backup_timestamp_seconds", &[]),
        Some(0.0)
    );

    let tmp = tempfile::tempdir().unwrap();
    roster_cli(&["backup", tmp.path().to_str().unwrap()], &server.data_dir);
    let s = scrape(&server);
    let at = value(&s, "roster_last_backup_timestamp_seconds", &[]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - at).abs() < 120.0, "backup at {at}, now {now}");
    assert!(value(&s, "roster_last_backup_bytes", &[]).unwrap() > 0.0);
    assert_eq!(
        value(
            &s,
            requests,
            &[("route", "/metrics"), ("method", "GET"), ("status", "200")]
        ),
        Some(1.0),
        "the scrape before this one is counted too"
    );
}
