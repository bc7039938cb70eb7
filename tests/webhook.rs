//! The inbound-SMS webhook: STOP/START keywords, messages, signatures.

mod common;

use base64::Engine;
use common::{Client, Resp, Server, roster_cli};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

/// The webhook path of `org`, as `roster orgs webhook-url` prints it.
fn webhook_path(server: &Server, org: &str) -> String {
    let listen = server.base.strip_prefix("http://").unwrap();
    let out = roster_cli(
        &["orgs", "webhook-url", "--org", org, "--listen", listen],
        &server.data_dir,
    );
    let url = out.trim();
    assert!(
        url.starts_with(&format!("{}/api/webhooks/twilio/inbound/", server.base)),
        "{url}"
    );
    url.strip_prefix(&server.base).unwrap().to_string()
}

fn params(from: &str, body: &str, sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("MessageSid", sid),
        ("From", from),
        ("To", "+18005551212"),
        ("Body", body),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Twilio's algorithm, written out independently of the server's code.
fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in &sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn post(server: &Server, path: &str, p: &[(String, String)], signature: Option<&str>) -> Resp {
    let mut rb = server.anonymous().request(Method::POST, path).form(p);
    if let Some(s) = signature {
        rb = rb.header("X-Twilio-Signature", s);
    }
    Client::send(rb)
}

fn assert_twiml(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert!(r.text.ends_with("<Response/>"), "{}", r.text);
}

fn contact_by_phone(c: &Client, e164: &str) -> Option<Value> {
    let list = c.get("/api/contacts?limit=200").body["contacts"].clone();
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x["phone"] == e164)
        .cloned()
}

fn events(c: &Client, id: &str) -> Vec<Value> {
    c.get(&format!("/api/contacts/{id}/timeline")).body["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn each_keyword_opts_out_or_in_and_records_it() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let path = webhook_path(&server, "acme");
    let opt_out = [
        "STOP",
        "stopall",
        " Unsubscribe ",
        "CANCEL",
        "end",
        "Quit\n",
    ];
    let opt_in = ["START", "yes", " UnStop "];
    for (i, word) in opt_out.iter().enumerate() {
        let phone = format!("+1919555{:04}", 1000 + i);
        let contact = c.create(&json!({"phone": phone}));
        let id = contact["id"].as_str().unwrap();
        let r = post(
            &server,
            &path,
            &params(&phone, word, &format!("SMout{i}")),
            None,
        );
        assert_twiml(&r);
        let after = c.get(&format!("/api/contacts/{id}")).body;
        assert_eq!(after["isOptedIn"], false, "{word:?}");
        assert!(after["optedOutAt"].is_string(), "{word:?}");
        let ev = events(&c, id);
        assert_eq!(ev[0]["type"], "opted_out", "{word:?}");
        assert_eq!(ev[0]["data"], json!({"source": "keyword"}));

        // And back in with an opt-in keyword.
        let back = opt_in[i % opt_in.len()];
        assert_twiml(&post(
            &server,
            &path,
            &params(&phone, back, &format!("SMin{i}")),
            None,
        ));
        let after = c.get(&format!("/api/contacts/{id}")).body;
        assert_eq!(after["isOptedIn"], true, "{back:?}");
        assert!(after["optedOutAt"].is_null());
        let ev = events(&c, id);
        assert_eq!(ev[0]["type"], "opted_in", "{back:?}");
        assert_eq!(ev[0]["data"], json!({"source": "keyword"}));
    }
}

#[test]
fn unknown_senders_and_ordinary_messages() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let path = webhook_path(&server, "acme");

    // STOP from a stranger creates the contact opted out; a repeat changes
    // nothing.
    assert_twiml(&post(
        &server,
        &path,
        &params("+19195550100", "Stop", "SM1"),
        None,
    ));
    let created = contact_by_phone(&c, "+19195550100").expect("created opted out");
    assert_eq!(created["isOptedIn"], false);
    assert!(created["optedOutAt"].is_string());
    let id = created["id"].as_str().unwrap();
    let types: Vec<Value> = events(&c, id).iter().map(|e| e["type"].clone()).collect();
    assert_eq!(types, [json!("opted_out"), json!("created")]);
    assert_eq!(events(&c, id)[1]["data"], json!({"source": "keyword"}));
    assert_twiml(&post(
        &server,
        &path,
        &params("+19195550100", "STOP", "SM2"),
        None,
    ));
    assert_eq!(events(&c, id).len(), 2);

    // START and other texts from strangers create nothing.
    assert_twiml(&post(
        &server,
        &path,
        &params("+19195550101", "START", "SM3"),
        None,
    ));
    assert_twiml(&post(
        &server,
        &path,
        &params("+19195550102", "who is this?", "SM4"),
        None,
    ));
    assert_eq!(
        c.get("/api/contacts").body["contacts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Anything else from a known sender is an inbound_message event and
    // changes nothing else, once per MessageSid.
    let known = c.create(&json!({"phone": "9195550103", "firstName": "Ann"}));
    let kid = known["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = post(
            &server,
            &path,
            &params("+19195550103", "stop please", "SM5"),
            None,
        );
        assert_twiml(&r);
    }
    let ev = events(&c, kid);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["type"], "inbound_message");
    assert_eq!(
        ev[0]["data"],
        json!({"from": "+19195550103", "to": "+18005551212", "body": "stop please", "messageSid": "SM5"})
    );
    let after = c.get(&format!("/api/contacts/{kid}")).body;
    assert_eq!(after["isOptedIn"], true);
    assert_eq!(after["updatedAt"], known["updatedAt"]);

    // Senders that are not phone numbers are acknowledged and ignored.
    assert_twiml(&post(
        &server,
        &path,
        &params("ACME-ALERTS", "STOP", "SM6"),
        None,
    ));
}

#[test]
fn webhook_request_errors() {
    let server = Server::start_without_lookups();
    let _c = server.client("acme");
    let path = webhook_path(&server, "acme");
    let r = post(
        &server,
        "/api/webhooks/twilio/inbound/not-a-secret",
        &params("+19195550100", "STOP", "SM1"),
        None,
    );
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = Client::send(
        server
            .anonymous()
            .request(Method::POST, &path)
            .json(&json!({"From": "+19195550100", "Body": "STOP"})),
    );
    assert_eq!(r.status, 415);
    let no_from: Vec<(String, String)> = params("+19195550100", "STOP", "SM1")
        .into_iter()
        .filter(|(k, _)| k != "From")
        .collect();
    let r = post(&server, &path, &no_from, None);
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("From")));
    assert_eq!(server.anonymous().get(&path).status, 405);
}

#[test]
fn signatures_are_checked_when_the_org_has_a_token() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let path = webhook_path(&server, "acme");
    let url = format!("{}{path}", server.base);
    let token = "12345678901234567890123456789012";
    roster_cli(
        &[
            "orgs",
            "set-twilio-token",
            "--org",
            "acme",
            "--token",
            token,
        ],
        &server.data_dir,
    );
    let contact = c.create(&json!({"phone": "9195550100"}));
    let id = contact["id"].as_str().unwrap();

    let p = params("+19195550100", "STOP", "SM1");
    // Unsigned, wrongly signed, signed for other params or another URL: 403,
    // and nothing changes.
    let tampered = params("+19195550100", "STOP", "SM2");
    for sig in [
        None,
        Some("garbage".to_string()),
        Some(sign("wrong-token", &url, &p)),
        Some(sign(token, &url, &tampered)),
        Some(sign(token, &format!("{url}?x=1"), &p)),
    ] {
        let r = post(&server, &path, &p, sig.as_deref());
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{sig:?}");
    }
    assert_eq!(
        c.get(&format!("/api/contacts/{id}")).body["isOptedIn"],
        true
    );

    let r = post(&server, &path, &p, Some(&sign(token, &url, &p)));
    assert_twiml(&r);
    assert_eq!(
        c.get(&format!("/api/contacts/{id}")).body["isOptedIn"],
        false
    );

    // Query parameters are part of the signed URL.
    let p2 = params("+19195550100", "START", "SM3");
    let with_query = format!("{path}?via=twilio");
    let r = post(
        &server,
        &with_query,
        &p2,
        Some(&sign(token, &format!("{url}?via=twilio"), &p2)),
    );
    assert_twiml(&r);
    assert_eq!(
        c.get(&format!("/api/contacts/{id}")).body["isOptedIn"],
        true
    );

    // Without a token, signatures are not required.
    roster_cli(
        &["orgs", "set-twilio-token", "--org", "acme", "--clear"],
        &server.data_dir,
    );
    assert_twiml(&post(
        &server,
        &path,
        &params("+19195550100", "STOP", "SM4"),
        None,
    ));
    assert_eq!(
        c.get(&format!("/api/contacts/{id}")).body["isOptedIn"],
        false
    );
}

#[test]
fn the_signed_url_is_the_public_url() {
    let server = Server::start_with(&["--public-url", "https://roster.example.com/"], &[]);
    let c = server.client("acme");
    let path = webhook_path(&server, "acme");
    let token = "tok";
    roster_cli(
        &[
            "orgs",
            "set-twilio-token",
            "--org",
            "acme",
            "--token",
            token,
        ],
        &server.data_dir,
    );
    c.create(&json!({"phone": "9195550100"}));

    let p = params("+19195550100", "hello", "SM1");
    let local = format!("{}{path}", server.base);
    let r = post(&server, &path, &p, Some(&sign(token, &local, &p)));
    assert_eq!(r.status, 403);
    let public = format!("https://roster.example.com{path}");
    assert_twiml(&post(&server, &path, &p, Some(&sign(token, &public, &p))));
    // Twilio may sign with the default port spelled out.
    let p = params("+19195550100", "hello again", "SM2");
    let with_port = format!("https://roster.example.com:443{path}");
    assert_twiml(&post(
        &server,
        &path,
        &p,
        Some(&sign(token, &with_port, &p)),
    ));

    let out = roster_cli(
        &[
            "orgs",
            "webhook-url",
            "--org",
            "acme",
            "--public-url",
            "https://roster.example.com/",
        ],
        &server.data_dir,
    );
    assert_eq!(out.trim(), public);
}

#[test]
fn forwarded_headers_name_the_public_url_without_a_configured_one() {
    let server = Server::start_without_lookups();
    let c = server.client("acme");
    let path = webhook_path(&server, "acme");
    roster_cli(
        &[
            "orgs",
            "set-twilio-token",
            "--org",
            "acme",
            "--token",
            "tok",
        ],
        &server.data_dir,
    );
    c.create(&json!({"phone": "9195550100"}));
    let p = params("+19195550100", "STOP", "SM1");
    let sig = sign("tok", &format!("https://hooks.example.org{path}"), &p);
    let r = Client::send(
        server
            .anonymous()
            .request(Method::POST, &path)
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "hooks.example.org")
            .header("X-Twilio-Signature", sig)
            .form(&p),
    );
    assert_twiml(&r);
}

#[test]
fn a_webhook_reaches_only_its_own_organization() {
    let server = Server::start_without_lookups();
    let a = server.client("acme");
    let b = server.client("globex");
    let path_a = webhook_path(&server, "acme");
    let path_b = webhook_path(&server, "globex");
    assert_ne!(path_a, path_b);
    let in_a = a.create(&json!({"phone": "9195550100"}));
    let in_b = b.create(&json!({"phone": "9195550100"}));
    assert_twiml(&post(
        &server,
        &path_a,
        &params("+19195550100", "STOP", "SM1"),
        None,
    ));
    assert_eq!(
        a.get(&format!("/api/contacts/{}", in_a["id"].as_str().unwrap()))
            .body["isOptedIn"],
        false
    );
    let theirs = b
        .get(&format!("/api/contacts/{}", in_b["id"].as_str().unwrap()))
        .body;
    assert_eq!(theirs["isOptedIn"], true);
    assert_eq!(theirs["updatedAt"], in_b["updatedAt"]);
    assert_twiml(&post(
        &server,
        &path_b,
        &params("+19195550100", "hi", "SM2"),
        None,
    ));
    assert_eq!(
        events(&a, in_a["id"].as_str().unwrap())[0]["type"],
        "opted_out"
    );
    assert_eq!(
        events(&b, in_b["id"].as_str().unwrap())[0]["type"],
        "inbound_message"
    );
    // A token on one organization does not affect the other.
    roster_cli(
        &[
            "orgs",
            "set-twilio-token",
            "--org",
            "acme",
            "--token",
            "tok",
        ],
        &server.data_dir,
    );
    assert_eq!(
        post(
            &server,
            &path_a,
            &params("+19195550100", "START", "SM3"),
            None
        )
        .status,
        403
    );
    assert_twiml(&post(
        &server,
        &path_b,
        &params("+19195550100", "STOP", "SM4"),
        None,
    ));
}
