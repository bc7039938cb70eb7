//! `--config FILE`: defaults < file < environment < flags, unknown keys are
//! errors naming the key, and roster.example.toml documents every setting.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{BIN, Client, Server, wait_for};

const FILE_TOKEN: &str = "token-from-the-file-0001";
const ENV_TOKEN: &str = "token-from-the-environment";
const FLAG_TOKEN: &str = "token-from-the-command-line";

/// Which of the three tokens opens `/metrics` on `server`.
fn metrics_token(server: &Server) -> Option<&'static str> {
    [FILE_TOKEN, ENV_TOKEN, FLAG_TOKEN].into_iter().find(|t| {
        Client::new(&server.base, Some(t.to_string()))
            .get("/metrics")
            .status
            == 200
    })
}

#[test]
fn the_file_sets_what_neither_the_environment_nor_a_flag_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("roster.toml");
    std::fs::write(
        &file,
        format!(
            "metrics_token = \"{FILE_TOKEN}\"\nbackup-interval = \"2h\"\n\
             webhook-allowed-hosts = [\"a.example.org\", \"b.example.org\"]\nephemeral = false\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();

    let from_file = Server::start_with(&["--config", path], &[]);
    assert_eq!(metrics_token(&from_file), Some(FILE_TOKEN));

    let env = [("ROSTER_METRICS_TOKEN", ENV_TOKEN)];
    let from_env = Server::start_with(&["--config", path], &env);
    assert_eq!(metrics_token(&from_env), Some(ENV_TOKEN));

    let from_flag = Server::start_with(&["--config", path, "--metrics-token", FLAG_TOKEN], &env);
    assert_eq!(metrics_token(&from_flag), Some(FLAG_TOKEN));

    // ROSTER_CONFIG names the file as well.
    let by_env = Server::start_with(&[], &[("ROSTER_CONFIG", path)]);
    assert_eq!(metrics_token(&by_env), Some(FILE_TOKEN));

    // The file's webhook hosts are in force: another host is refused.
    let api = from_file.client("Configured");
    let refused = api.post(
        "/api/webhooks",
        &serde_json::json!({"url": "https://c.example.org/hook", "events": ["contact.created"]}),
    );
    assert_eq!(refused.status, 400, "{}", refused.text);
    let allowed = api.post(
        "/api/webhooks",
        &serde_json::json!({"url": "https://b.example.org/hook", "events": ["contact.created"]}),
    );
    assert_eq!(allowed.status, 201, "{}", allowed.text);
}

#[test]
fn an_unknown_key_or_a_bad_value_stops_the_start_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (text, says) in [
        (
            "listen = \"127.0.0.1:0\"\nlisten_port = 8080\n",
            "unknown setting 'listen_port'",
        ),
        ("backup-interval = \"soon\"\n", "--backup-interval"),
        ("this is = not toml\n", "is not valid TOML"),
    ] {
        let file = tmp.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("ROSTER_DATA_DIR")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{says:?} not in {err}");
        assert!(!data.exists(), "nothing is created");
    }
}

#[test]
fn other_commands_take_the_data_directory_from_the_file_and_ignore_server_settings() {
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("roster.toml");
    std::fs::write(
        &file,
        format!(
            "data-dir = \"{}\"\nlisten = \"0.0.0.0:9999\"\nbackup-keep = 3\n",
            server.data_dir.display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["status", "--config"])
        .arg(&file)
        .env_remove("ROSTER_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("running (pid"), "{text}");
}

#[test]
fn the_example_file_documents_every_server_setting() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: BTreeSet<&str> = help
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.trim_end_matches([',', '.']))
        .map(|w| w.split(['=', '<', ' ']).next().unwrap_or(w))
        .filter(|w| !w.is_empty() && !["help", "config"].contains(w))
        .collect();
    assert!(flags.len() > 20, "{flags:?}");
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/roster.example.toml"))
            .unwrap();
    let documented: BTreeSet<&str> = example
        .lines()
        .filter_map(|l| l.trim_start_matches(['#', ' ']).split_once(" = "))
        .map(|(k, _)| k.trim())
        .collect();
    let missing: Vec<&&str> = flags.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in roster.example.toml: {missing:?}"
    );

    // Every documented line, uncommented, is a setting the server takes.
    let tmp = tempfile::tempdir().unwrap();
    let uncommented: String = example
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.contains(" = "))
        .filter(|l| {
            // Those that would change where or how the check below runs.
            ![
                "data-dir",
                "listen",
                "ephemeral",
                "backup-dir",
                "seed-count",
            ]
            .iter()
            .any(|k| l.starts_with(&format!("{k} ")))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let file = tmp.path().join("all.toml");
    std::fs::write(&file, uncommented).unwrap();
    let server = Server::start_with(&["--config", file.to_str().unwrap()], &[]);
    server.wait_healthy();
}

#[test]
fn json_logs_are_one_object_per_line() {
    let server = Server::start_with(&["--log-format", "json"], &[]);
    server.client("Logged").get("/api/contacts");
    let text = wait_for(30, "the log line", || {
        Some(server.log()).filter(|t| t.contains("listening"))
    });
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
}
