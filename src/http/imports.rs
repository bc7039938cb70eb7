//! `/api/contacts/import`, `/api/imports` and `/api/imports/preview`.

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Caller, Writer};
use super::extract::{ImportId, QueryMap};
use crate::csvio::importer::{ImportOptions, upload_dir};
use crate::error::{AppError, AppResult};
use crate::model::import::ImportView;
use crate::store::{imports, new_id};

/// This module's routes; uploads and previews carry their own body limits.
pub fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        // Uploads stream to disk with their own size limit.
        .routes(routes!(create))
        .layer(DefaultBodyLimit::disable());
    let previews = OpenApiRouter::new()
        .routes(routes!(preview))
        // The file part has its own limit; the body may carry a little more.
        .layer(DefaultBodyLimit::max(MAX_PREVIEW + 64 * 1024));
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, cancel))
        .merge(uploads)
        .merge(previews)
}

/// Largest `options` part of a multipart upload.
const MAX_OPTIONS: usize = 64 * 1024;

/// Streams an upload into a file, refusing more than `max` bytes.
struct Upload {
    file: tokio::fs::File,
    path: std::path::PathBuf,
    len: u64,
    max: u64,
}

impl Upload {
    async fn new(state: &AppState, id: &str) -> AppResult<Self> {
        let dir = upload_dir(&state.config.data.data_dir);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| AppError::io(format_args!("cannot create {}", dir.display()), &e))?;
        let path = dir.join(format!("{id}.csv"));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| AppError::io(format_args!("cannot create {}", path.display()), &e))?;
        Ok(Self {
            file,
            path,
            len: 0,
            max: state.config.max_upload_bytes,
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> AppResult<()> {
        self.len += chunk.len() as u64;
        if self.len > self.max {
            return Err(AppError::PayloadTooLarge(self.max as usize));
        }
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| AppError::io("writing the upload", &e))
    }

    async fn finish(mut self) -> AppResult<std::path::PathBuf> {
        self.file
            .flush()
            .await
            .map_err(|e| AppError::io("writing the upload", &e))?;
        if self.len == 0 {
            return Err(AppError::validation("file", "the file is empty"));
        }
        Ok(self.path)
    }
}

fn read_error(e: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "invalid_upload",
        None,
        format!("the upload could not be read: {e}"),
    )
}

/// Options of a `text/csv` upload come from the query string: `options`
/// (JSON), or `tags`, `mode`, `delimiter` one by one.
fn query_options(query: &QueryMap) -> AppResult<Value> {
    let mut obj = match query.get("options") {
        Some(s) => match serde_json::from_str(&s) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(AppError::validation(
                    "options",
                    "options must be a JSON object",
                ));
            }
        },
        None => Map::new(),
    };
    for key in ["tags", "mode", "delimiter"] {
        if let Some(v) = query.get(key) {
            obj.insert(key.into(), Value::String(v));
        }
    }
    Ok(Value::Object(obj))
}

/// The request's media type, lower-cased, without parameters.
fn media_type(req: &Request) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `options` part of a multipart upload: JSON, at most [`MAX_OPTIONS`].
async fn options_part(mut field: axum::extract::multipart::Field<'_>) -> AppResult<Value> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(read_error)? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_OPTIONS {
            return Err(AppError::validation("options", "options are too large"));
        }
    }
    serde_json::from_slice(&text)
        .map_err(|e| AppError::validation("options", format!("options are not valid JSON: {e}")))
}

async fn receive(
    state: &AppState,
    id: &str,
    query: &QueryMap,
    req: Request,
) -> AppResult<(std::path::PathBuf, Value)> {
    let mime = media_type(&req);
    match mime.as_str() {
        "text/csv" | "application/csv" | "text/plain" | "text/tab-separated-values" => {
            let options = query_options(query)?;
            let mut upload = Upload::new(state, id).await?;
            let mut body = req.into_body().into_data_stream();
            while let Some(chunk) = body.next().await {
                upload.write(&chunk.map_err(read_error)?).await?;
            }
            Ok((upload.finish().await?, options))
        }
        "multipart/form-data" => {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(read_error)?;
            let mut options = query_options(query)?;
            let mut file = None;
            while let Some(mut field) = multipart.next_field().await.map_err(read_error)? {
                match field.name() {
                    Some("file") if file.is_none() => {
                        let mut upload = Upload::new(state, id).await?;
                        while let Some(chunk) = field.chunk().await.map_err(read_error)? {
                            upload.write(&chunk).await?;
                        }
                        file = Some(upload.finish().await?);
                    }
                    Some("options") => options = options_part(field).await?,
                    _ => {}
                }
            }
            let file = file.ok_or_else(|| {
                AppError::validation("file", "the multipart body has no 'file' part")
            })?;
            Ok((file, options))
        }
        _ => Err(AppError::UnsupportedMediaType(
            "send the CSV as text/csv, or as multipart/form-data with a 'file' part".into(),
        )),
    }
}

/// An upload: the CSV as the `file` part, and optionally `options` (JSON).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `{"tags", "mode": "merge" | "skipExisting", "delimiter", "mapping": {"Header": "field" | null}}`
    options: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportQueued {
    pub import_id: String,
    /// Always `queued`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList<'a> {
    /// The latest 50, newest first.
    pub imports: Vec<ImportView<'a>>,
}

/// What an import would make of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The delimiter found (`,`, `;`, `|` or `tab`).
    pub delimiter: String,
    /// `UTF-8`, `Windows-1252`, `UTF-16LE` or `UTF-16BE`.
    pub encoding: &'static str,
    /// Whether the file starts with a byte-order mark.
    pub bom: bool,
    pub headers: Vec<String>,
    /// The field each column maps to, `null` for an ignored column.
    pub mapping: Vec<Option<String>>,
    /// The first rows, as cells.
    pub rows: Vec<Vec<String>>,
}

/// Starts an import of a CSV file (`text/csv`, or multipart with a `file`
/// part); it runs in the background.
#[utoipa::path(
    post, path = "/contacts/import", tag = "imports", operation_id = "importContacts",
    params(
        ("options" = Option<String>, Query, description = "The options as JSON (as in the `options` part)"),
        ("tags" = Option<String>, Query, description = "Tags every imported contact gets, comma-separated"),
        ("mode" = Option<String>, Query, description = "`merge` (default) or `skipExisting`"),
        ("delimiter" = Option<String>, Query, description = "`,`, `;`, `|` or `tab`; found from the file when absent"),
    ),
    request_body(content(
        (ImportUpload = "multipart/form-data"),
        (String = "text/csv"),
    )),
    responses(
        (status = 202, description = "Queued", body = ImportQueued),
    ),
)]
pub async fn create(caller: Writer, query: QueryMap, req: Request) -> AppResult<Response> {
    let id = new_id();
    let received = receive(&caller.state, &id, &query, req).await;
    let (path, options) = match received.and_then(|(path, options)| {
        ImportOptions::from_json(&options)?;
        Ok((path, options))
    }) {
        Ok(v) => v,
        Err(err) => {
            let path = upload_dir(&caller.state.config.data.data_dir).join(format!("{id}.csv"));
            let _ = tokio::fs::remove_file(path).await;
            return Err(err);
        }
    };
    let source = path.to_string_lossy().into_owned();
    let key = id.clone();
    caller
        .write(move |tx, org| imports::create(tx, &key, org, &options, &source))
        .await?;
    caller.state.importer().spawn(id.clone());
    Ok((
        StatusCode::ACCEPTED,
        Json(ImportQueued {
            import_id: id,
            status: "queued",
        }),
    )
        .into_response())
}

/// One import and its progress.
#[utoipa::path(
    get, path = "/imports/{id}", tag = "imports", operation_id = "getImport", params(ImportId),
    responses((status = 200, description = "The import, with its row errors", body = ImportView)),
)]
pub async fn get(caller: Caller, ImportId(id): ImportId) -> AppResult<Response> {
    let imp = caller
        .read(move |conn, org| imports::get(conn, org, &id))
        .await?
        .ok_or_else(|| AppError::not_found("import"))?;
    Ok(Json(imp.view(true)).into_response())
}

/// The organization's latest imports.
#[utoipa::path(
    get, path = "/imports", tag = "imports", operation_id = "listImports",
    responses((status = 200, description = "The latest 50 imports", body = ImportList)),
)]
pub async fn list(caller: Caller) -> AppResult<Response> {
    let list = caller
        .read(move |conn, org| imports::list(conn, org, 50))
        .await?;
    Ok(Json(ImportList {
        imports: list.iter().map(|i| i.view(false)).collect(),
    })
    .into_response())
}

/// Cancels a queued or running import; what it has imported stays.
#[utoipa::path(
    delete, path = "/imports/{id}", tag = "imports", operation_id = "cancelImport",
    params(ImportId),
    responses(
        (status = 200, description = "The import, cancelled", body = ImportView),
        (status = 409, description = "The import has already finished", body = crate::error::ErrorBody),
    ),
)]
pub async fn cancel(caller: Writer, ImportId(id): ImportId) -> AppResult<Response> {
    let imp = caller
        .write(move |tx, org| {
            let Some(imp) = imports::get(tx, org, &id)? else {
                return Err(AppError::not_found("import"));
            };
            if !imports::cancel(tx, org, &id)? {
                return Err(AppError::Conflict(format!(
                    "the import is already {}; only a queued or running import can be cancelled",
                    imp.status.as_str()
                )));
            }
            imports::get(tx, org, &id)?.ok_or_else(|| AppError::not_found("import"))
        })
        .await?;
    Ok(Json(imp.view(true)).into_response())
}

/// Largest body `POST /api/imports/preview` reads: the start of a file is
/// enough to show its header and first rows.
pub const MAX_PREVIEW: usize = 1024 * 1024;

/// A multipart read error, as 413 when the body passed its limit.
fn preview_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(MAX_PREVIEW)
    } else {
        read_error(e)
    }
}

/// Collects at most [`MAX_PREVIEW`] bytes, else 413.
fn push_capped(buf: &mut Vec<u8>, chunk: &[u8]) -> AppResult<()> {
    if buf.len() + chunk.len() > MAX_PREVIEW {
        return Err(AppError::PayloadTooLarge(MAX_PREVIEW));
    }
    buf.extend_from_slice(chunk);
    Ok(())
}

/// `POST /api/imports/preview`: the start of a CSV file, as `text/csv` or
/// as the `file` part of a multipart body. Answers what an import would do
/// with it (delimiter, encoding, header, mapping, first rows) and writes
/// nothing.
#[utoipa::path(
    post, path = "/imports/preview", tag = "imports", operation_id = "previewImport",
    params(
        ("options" = Option<String>, Query, description = "The options as JSON"),
        ("delimiter" = Option<String>, Query, description = "`,`, `;`, `|` or `tab`; found from the file when absent"),
    ),
    request_body(content(
        (ImportUpload = "multipart/form-data"),
        (String = "text/csv"),
    )),
    responses((status = 200, description = "What an import would do", body = Preview)),
)]
pub async fn preview(
    State(state): State<AppState>,
    _: Writer,
    query: QueryMap,
    req: Request,
) -> AppResult<Json<Preview>> {
    let mime = media_type(&req);
    let mut options = query_options(&query)?;
    let mut bytes = Vec::new();
    match mime.as_str() {
        "text/csv" | "application/csv" | "text/plain" | "text/tab-separated-values" => {
            let mut body = req.into_body().into_data_stream();
            while let Some(chunk) = body.next().await {
                push_capped(&mut bytes, &chunk.map_err(read_error)?)?;
            }
        }
        "multipart/form-data" => {
            let mut multipart = Multipart::from_request(req, &state)
                .await
                .map_err(read_error)?;
            let mut file = false;
            while let Some(mut field) = multipart.next_field().await.map_err(preview_error)? {
                match field.name() {
                    Some("file") if !file => {
                        file = true;
                        while let Some(chunk) = field.chunk().await.map_err(preview_error)? {
                            push_capped(&mut bytes, &chunk)?;
                        }
                    }
                    Some("options") => options = options_part(field).await?,
                    _ => {}
                }
            }
            if !file {
                return Err(AppError::validation(
                    "file",
                    "the multipart body has no 'file' part",
                ));
            }
        }
        _ => {
            return Err(AppError::UnsupportedMediaType(
                "send the CSV as text/csv, or as multipart/form-data with a 'file' part".into(),
            ));
        }
    }
    let delimiter = ImportOptions::from_json(&options)?.delimiter;
    let preview =
        tokio::task::spawn_blocking(move || crate::csvio::preview::preview(&bytes, delimiter))
            .await
            .map_err(AppError::internal)??;
    let delimiter = match preview.delimiter {
        b'\t' => "tab".to_string(),
        d => char::from(d).to_string(),
    };
    let encoding = preview.encoding.name();
    let mapping = preview
        .targets
        .iter()
        .map(|t| match t {
            crate::csvio::mapping::Target::Ignore => None,
            other => Some(other.describe()),
        })
        .collect();
    Ok(Json(Preview {
        delimiter,
        encoding,
        bom: preview.bom,
        headers: preview.headers,
        mapping,
        rows: preview.rows,
    }))
}
