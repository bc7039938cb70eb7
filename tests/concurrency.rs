//! Concurrent writers: merges serialize, nothing surfaces SQLITE_BUSY or 500.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use common::Server;
use serde_json::json;

#[test]
fn forty_simultaneous_creates_of_one_phone_end_as_one_contact() {
    let server = Server::start();
    let api = server.client("acme");
    let barrier = Arc::new(Barrier::new(40));
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let api = api.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                api.post(
                    "/api/contacts",
                    &json!({"phone": "(919) 555-0601", "tags": [format!("t{i}")]}),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = results.iter().filter(|r| r.status == 201).count();
    let merged = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(created, 1, "exactly one create");
    assert_eq!(merged, 39, "every other request merged");
    for r in &results {
        let outcome = r.body["_outcome"].as_str().unwrap();
        assert_eq!(outcome, if r.status == 201 { "created" } else { "merged" });
    }
    let ids: HashSet<&str> = results
        .iter()
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    let page = api.get("/api/contacts?includeTotal=true");
    assert_eq!(page.body["total"], 1);
    let tags: HashSet<String> = page.body["contacts"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let expected: HashSet<String> = (0..40).map(|i| format!("t{i}")).collect();
    assert_eq!(tags, expected, "every tag unioned");
}

#[test]
fn sixteen_concurrent_writers_never_see_busy_or_500() {
    let server = Server::start();
    let api = server.client("acme");
    let seed = api.create(&json!({"phone": "9195550700"}));
    let shared_id = seed["id"].as_str().unwrap().to_string();
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|w| {
            let api = api.clone();
            let barrier = barrier.clone();
            let shared_id = shared_id.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut statuses = Vec::new();
                for i in 0..25 {
                    let r = api.post(
                        "/api/contacts",
                        &json!({"phone": format!("919555{:04}", 1000 + w * 100 + i), "tags": ["load"]}),
                    );
                    statuses.push((r.status, r.text));
                    let r = api.put(&format!("/api/contacts/{shared_id}"), &json!({"city": format!("c{w}-{i}")}));
                    statuses.push((r.status, r.text));
                    let r = api.get("/api/contacts?tags=load&limit=10");
                    statuses.push((r.status, r.text));
                }
                statuses
            })
        })
        .collect();
    for h in handles {
        for (status, text) in h.join().unwrap() {
            assert!(status < 300, "{status}: {text}");
            assert!(!text.to_lowercase().contains("busy"), "{text}");
        }
    }
    assert_eq!(
        api.get("/api/contacts?tags=load&includeTotal=true").body["total"],
        16 * 25
    );
}
