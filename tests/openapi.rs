//! The OpenAPI document: the committed copy is the generated one, the
//! server serves it without a key, every operation it lists exists with the
//! security it claims, and real answers conform to its schemas.

mod common;

use std::path::Path;

use common::{Client, Server};
use reqwest::Method;
use serde_json::{Value, json};

const WRITE_ENV: &str = "ROSTER_WRITE_OPENAPI";

fn committed_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_committed_openapi_json_is_the_generated_document() {
    let generated = roster::http::openapi::document_json();
    let path = committed_path();
    if std::env::var_os(WRITE_ENV).is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json differs from the document the code generates; \
         rerun with {WRITE_ENV}=1 cargo test --test openapi to rewrite it"
    );
}

fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("delete", Method::DELETE),
        ] {
            if let Some(op) = item.get(name) {
                out.push((method, path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn the_server_serves_the_document_and_every_operation_has_the_security_it_claims() {
    let s = Server::start();
    let anon = s.anonymous();
    let r = anon.get("/api/openapi.json");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc = r.body;
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&roster::http::openapi::document_json()).unwrap()
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );

    let ops = operations(&doc);
    assert!(ops.len() >= 40, "only {} operations", ops.len());
    let id = "00000000-0000-7000-8000-000000000000";
    let mut open = Vec::new();
    for (method, path, op) in &ops {
        let url = path
            .replace("{id}", id)
            .replace("{note_id}", id)
            .replace("{delivery}", id)
            .replace("{tag}", "vip")
            .replace("{token}", "0")
            .replace("{secret}", "0");
        let r = Client::send(anon.request(method.clone(), &url));
        let secured = op.get("security") != Some(&json!([{}]));
        // A route the document lists but the server lacks would answer
        // 404 "no such endpoint" or 405.
        assert_ne!(r.status, 405, "{method} {path}");
        assert!(
            !r.text.contains("no such endpoint"),
            "{method} {path} is documented but not served"
        );
        if secured {
            assert_eq!(r.status, 401, "{method} {path} without a key: {}", r.text);
            assert!(op["responses"].get("401").is_some(), "{method} {path}");
        } else {
            assert_ne!(r.status, 401, "{method} {path} needs no key");
            open.push(format!("{method} {path}"));
        }
        let status = r.status.to_string();
        assert!(
            op["responses"].get(&status).is_some(),
            "{method} {path} answered {status}, which it does not document"
        );
    }
    open.sort();
    assert_eq!(
        open,
        [
            "GET /api/contacts/export/download/{token}",
            "GET /api/openapi.json",
            "POST /api/webhooks/twilio/inbound/{secret}",
        ]
    );
}

/// Validates `value` against the document's schema `name`.
fn conforms(doc: &Value, name: &str, value: &Value) {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} does not match the document: {errors:?}\n{value:#}"
    );
}

#[test]
fn real_answers_conform_to_the_document() {
    let s = Server::start();
    let c = s.client("default");
    let doc: Value = serde_json::from_str(&roster::http::openapi::document_json()).unwrap();
    let contact = doc["components"]["schemas"]["Contact"].clone();
    let required: Vec<&str> = contact["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in common::DOCUMENTED_FIELDS {
        assert!(required.contains(field), "Contact.{field} is always sent");
    }
    assert_eq!(
        contact["properties"]["isTextable"]["type"],
        json!(["boolean", "null"])
    );

    let created = c.post(
        "/api/contacts",
        &json!({"phone": "(919) 555-0101", "firstName": "Ada", "tags": ["vip"],
                "customFields": {"team": "blue", "score": 3}}),
    );
    assert_eq!(created.status, 201);
    conforms(&doc, "CreatedContact", &created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let merged = c.post(
        "/api/contacts",
        &json!({"phone": "+19195550101", "city": "Durham"}),
    );
    assert_eq!(merged.status, 200);
    conforms(&doc, "CreatedContact", &merged.body);
    conforms(&doc, "Contact", &c.get(&format!("/api/contacts/{id}")).body);
    let page = c.get("/api/contacts?includeTotal=true&limit=1");
    conforms(&doc, "ContactPage", &page.body);
    let note = c.post(
        &format!("/api/contacts/{id}/notes"),
        &json!({"body": "called"}),
    );
    assert_eq!(note.status, 201);
    conforms(&doc, "Note", &note.body);
    conforms(
        &doc,
        "NoteList",
        &c.get(&format!("/api/contacts/{id}/notes")).body,
    );
    conforms(
        &doc,
        "Timeline",
        &c.get(&format!("/api/contacts/{id}/timeline")).body,
    );
    let seg = c.post(
        "/api/segments",
        &json!({"name": "VIPs", "filters": {"tags": ["vip"], "hasPhone": true}}),
    );
    assert_eq!(seg.status, 201);
    conforms(&doc, "Segment", &seg.body);
    conforms(&doc, "SegmentList", &c.get("/api/segments").body);
    conforms(&doc, "TagList", &c.get("/api/tags").body);
    conforms(&doc, "Me", &c.get("/api/me").body);
    conforms(&doc, "LookupStatus", &c.get("/api/lookups/status").body);
    c.settle_lookups();
    conforms(
        &doc,
        "LookupJob",
        &c.get(&format!("/api/contacts/{id}/lookup")).body,
    );
    let bulk = c.post(
        "/api/contacts/bulk",
        &json!({"action": "addTags", "ids": [id], "tags": ["donor"]}),
    );
    conforms(&doc, "BulkResult", &bulk.body);
    let hook = c.post(
        "/api/webhooks",
        &json!({"url": "https://example.org/hook", "events": ["*"]}),
    );
    assert_eq!(hook.status, 201, "{}", hook.text);
    conforms(&doc, "Webhook", &hook.body);
    let hook_id = hook.body["id"].as_str().unwrap();
    conforms(&doc, "WebhookList", &c.get("/api/webhooks").body);
    conforms(
        &doc,
        "PingQueued",
        &c.post_empty(&format!("/api/webhooks/{hook_id}/test")).body,
    );
    conforms(
        &doc,
        "DeliveryPage",
        &c.get(&format!("/api/webhooks/{hook_id}/deliveries")).body,
    );
    let import = c.post_multipart(
        "/api/contacts/import",
        b"phone,first_name\n9195550102,Grace\nnot a phone,Bad\n",
        None,
    );
    assert_eq!(import.status, 202, "{}", import.text);
    conforms(&doc, "ImportQueued", &import.body);
    let import_id = import.body["importId"].as_str().unwrap();
    let finished = common::wait_for(30, "the import to finish", || {
        let r = c.get(&format!("/api/imports/{import_id}"));
        (r.body["status"] == "completed").then_some(r.body)
    });
    conforms(&doc, "Import", &finished);
    assert_eq!(finished["errors"].as_array().map(Vec::len), Some(1));
    conforms(&doc, "ImportList", &c.get("/api/imports").body);
    conforms(
        &doc,
        "ExportLink",
        &c.post_empty("/api/contacts/export/link").body,
    );
    conforms(
        &doc,
        "Deleted",
        &c.delete(&format!("/api/contacts/{id}")).body,
    );
    let bad = c.post("/api/contacts", &json!({"phone": "nope"}));
    assert_eq!(bad.status, 400);
    conforms(&doc, "ErrorBody", &bad.body);
}
