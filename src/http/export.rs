//! `GET /api/contacts/export`, and the short-lived, single-use download
//! links (`POST /api/contacts/export/link`) that let a browser download an
//! export natively without the API key in a URL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Caller;
use super::extract::QueryMap;
use crate::csvio::export::{self, Format};
use crate::error::{AppError, AppResult};
use crate::listing::Selection;
use crate::model::ContactFilter;
use crate::model::filter::FilterQuery;
use crate::model::time::{format_ms, now_ms};
use crate::store::keys;

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(link))
        .routes(routes!(download))
}

/// What a download link exports: resolved when the link is made, so the
/// download needs no key.
#[derive(Debug, Clone)]
struct Link {
    /// The key that made the link: revoking it voids the link too.
    key_id: String,
    org: i64,
    org_uuid: String,
    filter: ContactFilter,
    format: Format,
    expires: Instant,
}

/// Unused links an organization may hold at once, and the server in all.
const MAX_LINKS_PER_ORG: usize = 100;
const MAX_LINKS: usize = 10_000;

/// Download links not yet used. In memory: a link lives about a minute, and
/// one made before a restart has no use after it.
#[derive(Default)]
pub struct ExportLinks {
    links: Mutex<HashMap<String, Link>>,
}

impl ExportLinks {
    fn issue(&self, link: Link) -> AppResult<String> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        links.retain(|_, l| l.expires > now);
        let of_org = links.values().filter(|l| l.org == link.org).count();
        if of_org >= MAX_LINKS_PER_ORG || links.len() >= MAX_LINKS {
            return Err(AppError::TooManyRequests(
                "too many unused export links; use or let expire the ones already made".into(),
            ));
        }
        let secret: [u8; 32] = rand::random();
        let token = hex::encode(secret);
        links.insert(token.clone(), link);
        Ok(token)
    }

    /// The link behind `token` if it is still valid; `spend` removes it.
    fn get(&self, token: &str, spend: bool) -> Option<Link> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        let link = if spend {
            links.remove(token)
        } else {
            links.get(token).cloned()
        };
        link.filter(|link| link.expires > Instant::now())
    }
}

/// The filter an export request selects (see [`Selection`]).
async fn resolve_filter(caller: &Caller, query: &QueryMap) -> AppResult<ContactFilter> {
    let selection = Selection::from_query(&query.getter())?;
    caller
        .read(move |conn, org| selection.resolve(conn, org))
        .await
}

#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct FormatQuery {
    /// `csv` (default) or `ndjson`.
    #[param(inline)]
    format: Option<FormatParam>,
}

#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum FormatParam {
    Csv,
    Ndjson,
}

/// A single-use download link.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportLink {
    /// `/api/contacts/export/download/{token}`: GET it without a key, once.
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Every contact the filters select, streamed as CSV (the import's own
/// columns) or NDJSON (one contact per line, as the API shows it).
#[utoipa::path(
    get, path = "/contacts/export", tag = "exports", operation_id = "exportContacts",
    params(FormatQuery, FilterQuery),
    responses((status = 200, description = "The export, as an attachment", content(
        (String = "text/csv"),
        (String = "application/x-ndjson"),
    ))),
)]
pub async fn export(caller: Caller, query: QueryMap) -> AppResult<Response> {
    let format = Format::parse(query.get("format").as_deref())?;
    let filter = resolve_filter(&caller, &query).await?;
    Ok(stream(
        &caller.state,
        caller.org(),
        caller.org_id().to_string(),
        filter,
        format,
    ))
}

/// `POST /api/contacts/export/link`: the export's parameters in the query
/// string, validated now; answers a URL that works once, for
/// `--export-link-ttl-secs`.
#[utoipa::path(
    post, path = "/contacts/export/link", tag = "exports", operation_id = "linkExport",
    params(FormatQuery, FilterQuery),
    responses(
        (status = 200, description = "The link", body = ExportLink),
        (status = 429, description = "Too many unused links", body = crate::error::ErrorBody),
    ),
)]
pub async fn link(caller: Caller, query: QueryMap) -> AppResult<Json<ExportLink>> {
    let format = Format::parse(query.get("format").as_deref())?;
    let filter = resolve_filter(&caller, &query).await?;
    if filter.search.is_some() {
        // A download that could only fail after its headers are sent is
        // refused now instead.
        caller.state.search.ready()?;
    }
    let ttl = Duration::from_secs(caller.state.config.export_link_ttl_secs);
    let token = caller.state.export_links.issue(Link {
        key_id: caller.auth.0.key_id.clone(),
        org: caller.org(),
        org_uuid: caller.org_id().to_string(),
        filter,
        format,
        expires: Instant::now() + ttl,
    })?;
    Ok(Json(ExportLink {
        url: format!("/api/contacts/export/download/{token}"),
        expires_at: format_ms(now_ms() + ttl.as_millis() as i64),
    }))
}

/// `GET /api/contacts/export/download/:token`: no key; the token is the
/// credential, and a GET spends it. A HEAD (a prefetcher, a download
/// manager) only says whether it is still valid.
#[utoipa::path(
    get, path = "/contacts/export/download/{token}", tag = "exports",
    operation_id = "downloadExport", security(()),
    params(("token" = String, Path, description = "The link's token")),
    responses(
        (status = 200, description = "The export, as an attachment", content(
            (String = "text/csv"),
            (String = "application/x-ndjson"),
        )),
        (status = 404, description = "The link has expired or has been used", body = crate::error::ErrorBody),
    ),
)]
pub async fn download(
    State(state): State<AppState>,
    method: Method,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let spend = method != Method::HEAD;
    let gone =
        || AppError::NotFound("this download link has expired or has already been used".into());
    let link = state.export_links.get(&token, spend).ok_or_else(gone)?;
    let key_id = link.key_id.clone();
    if !state
        .read(move |conn| keys::is_active(conn, &key_id))
        .await?
    {
        return Err(gone());
    }
    if !spend {
        return Ok((
            [
                (CONTENT_TYPE, link.format.content_type()),
                (CACHE_CONTROL, "no-store"),
            ],
            Body::empty(),
        )
            .into_response());
    }
    Ok(stream(
        &state,
        link.org,
        link.org_uuid,
        link.filter,
        link.format,
    ))
}

/// The export as a streamed attachment.
fn stream(
    state: &AppState,
    org: i64,
    org_uuid: String,
    filter: ContactFilter,
    format: Format,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let db = state.db.clone();
    let search = state.search.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = db.read_blocking(|conn| {
            export::write(conn, &search, org, &org_uuid, &filter, format, &mut out)
        });
        if let Err(err) = result {
            tracing::error!(%err, "export stopped");
            // Ends the body with an error, so the client sees a broken
            // transfer rather than a file that looks complete.
            let _ = tx.blocking_send(Err(std::io::Error::other(err.to_string())));
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let ext = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    let day = &format_ms(now_ms())[..10];
    (
        [
            (CONTENT_TYPE, format.content_type().to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"contacts-{day}.{ext}\""),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A `Write` that hands the response body to the client in chunks.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 64 * 1024;

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}
