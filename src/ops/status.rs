//! `roster status`: one screen on a data directory.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::backup::{self, Backup};
use super::lock;
use crate::db::{self, DB_FILE};
use crate::error::AppResult;
use crate::health::{self, Problem};
use crate::model::time::format_ms;
use crate::search;
use crate::store::maintenance::{self, Queues};
use crate::store::orgs;

#[derive(Debug)]
pub struct Status {
    pub data_dir: PathBuf,
    pub schema_version: i64,
    pub server: Option<lock::Holder>,
    /// What the running server's `/healthz` answered.
    pub server_health: Option<ServerHealth>,
    /// (available, total) bytes on the data directory's file system.
    pub disk: Option<(u64, u64)>,
    pub database_bytes: u64,
    pub index_bytes: u64,
    pub index_current: bool,
    /// (organization, contacts)
    pub organizations: Vec<(String, i64)>,
    pub queues: Queues,
    pub last_backup: Option<Backup>,
}

/// How the running server said it is.
#[derive(Debug)]
pub enum ServerHealth {
    Ok,
    Degraded(Vec<Problem>),
    NotAnswering(String),
}

/// Asks the server at `addr` for `/healthz`.
fn ask_server(addr: SocketAddr) -> ServerHealth {
    #[derive(serde::Deserialize)]
    struct Healthz {
        status: String,
        #[serde(default)]
        problems: Vec<Problem>,
    }
    let answer = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .and_then(|c| c.get(format!("http://{addr}/healthz")).send())
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json::<Healthz>());
    match answer {
        Ok(h) if h.status == "ok" => ServerHealth::Ok,
        Ok(h) => ServerHealth::Degraded(h.problems),
        Err(e) => ServerHealth::NotAnswering(e.to_string()),
    }
}

pub fn status(data_dir: &Path) -> AppResult<Status> {
    let server = lock::holder(data_dir);
    let conn = db::open_file(&db::require(data_dir)?)?;
    conn.pragma_update(None, "query_only", true)?;
    let organizations = orgs::list(&conn)?
        .into_iter()
        .map(|o| Ok((orgs::contact_count(&conn, o.org)?, o.name)))
        .collect::<AppResult<Vec<_>>>()?
        .into_iter()
        .map(|(n, name)| (name, n))
        .collect();
    Ok(Status {
        data_dir: std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf()),
        schema_version: maintenance::schema_version(&conn)?,
        server,
        server_health: server.and_then(|h| h.address).map(ask_server),
        disk: health::disk_space(data_dir),
        database_bytes: database_bytes(data_dir),
        index_bytes: dir_size(&search::index_dir(data_dir)),
        index_current: search::on_disk(data_dir) == search::OnDisk::Current,
        organizations,
        queues: maintenance::queues(&conn)?,
        last_backup: backup::last(data_dir),
    })
}

/// The database file and its WAL, in bytes.
pub fn database_bytes(data_dir: &Path) -> u64 {
    let size = |name: String| std::fs::metadata(data_dir.join(name)).map_or(0, |m| m.len());
    size(DB_FILE.to_string()) + size(format!("{DB_FILE}-wal"))
}

/// The bytes of every file under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes in the unit a person reads them in.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "roster {}", env!("CARGO_PKG_VERSION"))?;
        writeln!(f, "data directory  {}", self.data_dir.display())?;
        let mut server = match self.server {
            Some(lock::Holder { pid: 0, .. }) => "running".to_string(),
            Some(h) => format!("running (pid {})", h.pid),
            None => "not running".to_string(),
        };
        if let Some(addr) = self.server.and_then(|h| h.address) {
            server.push_str(&format!(" at http://{addr}"));
        }
        writeln!(f, "server          {server}")?;
        match &self.server_health {
            Some(ServerHealth::Ok) => writeln!(f, "health          ok")?,
            Some(ServerHealth::Degraded(problems)) => {
                writeln!(f, "health          DEGRADED")?;
                for p in problems {
                    writeln!(
                        f,
                        "  {}: {} (since {})",
                        p.part.label(),
                        p.reason,
                        format_ms(p.since)
                    )?;
                }
            }
            Some(ServerHealth::NotAnswering(why)) => {
                writeln!(f, "health          the server does not answer ({why})")?;
            }
            None => {}
        }
        writeln!(
            f,
            "schema version  {}{}",
            self.schema_version,
            if self.schema_version == db::SCHEMA_VERSION {
                String::new()
            } else {
                format!(
                    " (this roster: {}; the next start migrates)",
                    db::SCHEMA_VERSION
                )
            }
        )?;
        if let Some((free, total)) = self.disk {
            writeln!(
                f,
                "disk            {} free of {}{}",
                human_bytes(free),
                human_bytes(total),
                if free < health::ROOM { " (LOW)" } else { "" }
            )?;
        }
        writeln!(f, "database        {}", human_bytes(self.database_bytes))?;
        writeln!(
            f,
            "search index    {}{}",
            human_bytes(self.index_bytes),
            if self.index_current {
                ""
            } else {
                " (missing or outdated: the next start rebuilds it)"
            }
        )?;
        let total: i64 = self.organizations.iter().map(|(_, n)| n).sum();
        writeln!(
            f,
            "contacts        {total} in {} organization{}",
            self.organizations.len(),
            if self.organizations.len() == 1 {
                ""
            } else {
                "s"
            }
        )?;
        for (name, n) in &self.organizations {
            writeln!(f, "  {n:>10}  {name}")?;
        }
        let q = &self.queues;
        writeln!(
            f,
            "queues          lookups {} pending, {} running; search outbox {}; \
             webhook deliveries {} pending; imports {} unfinished",
            q.lookups_pending,
            q.lookups_running,
            q.outbox_rows,
            q.webhook_deliveries_pending,
            q.imports_unfinished
        )?;
        match &self.last_backup {
            Some(b) => writeln!(
                f,
                "last backup     {}, {}, {} contacts, {}",
                format_ms(b.at),
                human_bytes(b.bytes),
                b.contacts,
                b.path.display()
            ),
            None => writeln!(f, "last backup     never"),
        }
    }
}
