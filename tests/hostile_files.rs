//! Files as a careless or hostile user makes them: a 5 MB cell, 20,000
//! columns, Excel's UTF-16 "Unicode text", and contacts whose names are
//! spreadsheet formulas.

mod common;

use common::{Client, Server, wait_for};
use serde_json::{Value, json};

fn import(c: &Client, file: &[u8]) -> Value {
    let r = c.post_multipart("/api/contacts/import", file, None);
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["importId"].as_str().unwrap().to_string();
    wait_for(120, "the import to finish", || {
        let r = c.get(&format!("/api/imports/{id}"));
        let s = r.body["status"].as_str().unwrap_or("").to_string();
        (s != "queued" && s != "running").then_some(r.body)
    })
}

fn longest_error(import: &Value) -> usize {
    import["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string().len())
        .max()
        .unwrap_or(0)
}

#[test]
fn errors_quote_a_short_prefix_of_any_value() {
    let server = Server::start();
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    // An API field: a 100 KB email.
    let huge = format!("{}@example.com", "a".repeat(100_000));
    let r = c.post("/api/contacts", &json!({"email": huge}));
    assert_eq!(r.status, 400);
    assert!(r.text.len() < 500, "{} bytes", r.text.len());
    assert!(r.text.contains(&"a".repeat(40)), "{}", r.text);
    assert!(r.text.contains("(100012 characters)"), "{}", r.text);

    // A 5 MB phone cell, kept as a row error.
    let mut file = b"first_name,phone\nAda,".to_vec();
    file.extend(std::iter::repeat_n(b'9', 5 << 20));
    file.extend_from_slice(b"\nGrace,+14155550102\n");
    let done = import(&c, &file);
    assert_eq!(done["failed"], 1, "{done}");
    assert_eq!(done["created"], 1, "{done}");
    assert!(longest_error(&done) < 500, "{}", longest_error(&done));
    assert!(
        done["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("characters)")
    );

    // 20,000 columns with values: the error names a few of them.
    let header: Vec<String> = (0..20_000).map(|i| format!("col{i}")).collect();
    let row: Vec<&str> = (0..20_000).map(|_| "x").collect();
    let file = format!(
        "email,{}\nwide@example.com,{}\n",
        header.join(","),
        row[1..].join(",") + ",x"
    );
    let done = import(&c, file.as_bytes());
    assert_eq!(done["failed"], 1, "{done}");
    assert!(longest_error(&done) < 500, "{}", longest_error(&done));
    assert!(
        done["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("more"),
        "{done}"
    );
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut out = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        let bytes = if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        out.extend_from_slice(&bytes);
    }
    out
}

#[test]
fn utf16_files_with_a_byte_order_mark_import_as_text() {
    let server = Server::start();
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    // What Excel's "Unicode text" writes: UTF-16LE, tab-separated, CRLF.
    let text = "First Name\tLast Name\tEmail\r\nZoë\tBrontë\tzoe@example.com\r\nJosé\tNuñez\tjose@example.com\r\n";
    let done = import(&c, &utf16(text, true));
    assert_eq!(done["created"], 2, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    let done = import(
        &c,
        &utf16("first_name,email\nĐorđe,dorde@example.com\n", false),
    );
    assert_eq!(done["created"], 1, "{done}");
    let names: Vec<String> = c
        .all_contacts("")
        .iter()
        .map(|x| format!("{} {}", x["firstName"], x["lastName"]))
        .collect();
    for want in ["\"Zoë\" \"Brontë\"", "\"José\" \"Nuñez\"", "\"Đorđe\" null"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // The preview says what it read.
    let r = c.post_multipart("/api/imports/preview", &utf16(text, true), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["encoding"], "UTF-16LE");
    assert_eq!(r.body["delimiter"], "tab");
    assert_eq!(r.body["rows"][0][0], "Zoë", "{}", r.body);
}

#[test]
fn exports_cannot_run_formulas_and_still_import_back_the_same() {
    let server = Server::start();
    let c = server.client_with_key(server.bootstrap_key.as_deref().unwrap());
    let hostile = json!({
        "firstName": "=HYPERLINK(\"http://x\",\"click\")",
        "lastName": "-2+3",
        "phone": "+14155550101",
        "email": "ada@example.com",
        "city": "@SUM(A1)",
        "customFields": {"note": "+cmd|' /C calc'!A0", "n": -5}
    });
    let r = c.post("/api/contacts", &hostile);
    assert_eq!(r.status, 201, "{}", r.text);
    let csv = c.get("/api/contacts/export").text;
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let row: Vec<String> = rdr
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(cell("firstName"), "'=HYPERLINK(\"http://x\",\"click\")");
    assert_eq!(cell("lastName"), "'-2+3");
    assert_eq!(cell("city"), "'@SUM(A1)");
    assert_eq!(cell("customFields.note"), "'+cmd|' /C calc'!A0");
    assert_eq!(
        cell("phone"),
        "+14155550101",
        "an E.164 phone stays as it is"
    );
    for cell in &row {
        assert!(
            !matches!(cell.chars().next(), Some('=' | '-' | '@')),
            "{cell}"
        );
    }

    // The export imports back to the same values, in another organization.
    let other = server.client("other");
    let done = import(&other, csv.as_bytes());
    assert_eq!(done["created"], 1, "{done}");
    let back = &other.all_contacts("")[0];
    for field in ["firstName", "lastName", "phone", "email", "city"] {
        assert_eq!(back[field], hostile[field], "{field}");
    }
    assert_eq!(back["customFields"], hostile["customFields"]);
}
