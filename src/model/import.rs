//! A CSV import as the API shows it: its status, counters and first errors.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::time::format_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// The stored name back; anything unknown reads as failed.
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "completed" => Status::Completed,
            "cancelled" => Status::Cancelled,
            _ => Status::Failed,
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Status::Queued | Status::Running)
    }
}

/// What an import has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub processed: i64,
    pub created: i64,
    pub merged: i64,
    pub skipped: i64,
    pub failed: i64,
}

/// An import as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Import)]
pub struct ImportView<'a> {
    pub id: &'a str,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    /// Known once the file has been counted.
    #[schema(required = true)]
    pub total_rows: Option<i64>,
    pub processed: i64,
    pub created: i64,
    pub merged: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Why the import failed, if it did.
    #[schema(required = true)]
    pub message: Option<&'a str>,
    /// The options it was started with.
    #[schema(value_type = Object)]
    pub options: &'a Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[schema(required = true)]
    pub finished_at: Option<String>,
    /// The first row errors, `{"row", "column", "error"}` (single import only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<RowError>, nullable = false)]
    pub errors: Option<&'a Value>,
}

/// One row an import could not take.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RowError {
    /// The row's line in the file (the header is row 1).
    row: u64,
    /// The column at fault, when one is.
    column: Option<String>,
    error: String,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub id: String,
    pub org: i64,
    pub status: Status,
    pub options: Value,
    pub source_path: Option<String>,
    pub total_rows: Option<i64>,
    pub counters: Counters,
    pub errors: Value,
    pub message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl Import {
    /// The API shape; the row errors only for a single import.
    pub fn view(&self, with_errors: bool) -> ImportView<'_> {
        let c = &self.counters;
        ImportView {
            id: &self.id,
            status: self.status.as_str(),
            total_rows: self.total_rows,
            processed: c.processed,
            created: c.created,
            merged: c.merged,
            skipped: c.skipped,
            failed: c.failed,
            message: self.message.as_deref(),
            options: &self.options,
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
            finished_at: self.finished_at.map(format_ms),
            errors: with_errors.then_some(&self.errors),
        }
    }

    pub fn to_json(&self, with_errors: bool) -> Value {
        serde_json::to_value(self.view(with_errors)).unwrap_or(Value::Null)
    }
}
