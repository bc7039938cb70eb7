//! `Authorization: Bearer <key>` and the optional `x-organization-id` check.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rusqlite::{Connection, Transaction};

use super::AppState;
use crate::error::{AppError, AppResult};
use crate::model::time::now_ms;
use crate::store::keys::{self, Access, KeyOwner};

/// How stale `last_used_at` may get before a request refreshes it.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// The authenticated caller: every handler that takes one is scoped to
/// `org`.
#[derive(Debug, Clone)]
pub struct Auth(pub KeyOwner);

impl Auth {
    pub fn org(&self) -> i64 {
        self.0.org
    }

    pub fn org_id(&self) -> &str {
        &self.0.org_id
    }

    pub fn require_write(&self) -> AppResult<()> {
        match self.0.access {
            Access::Write => Ok(()),
            Access::Read => Err(AppError::Forbidden(
                "this API key has read access; this endpoint needs a write key".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthorized)?;
        let (scheme, key) = header
            .trim()
            .split_once(' ')
            .ok_or(AppError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
            return Err(AppError::Unauthorized);
        }
        let key = key.trim().to_string();
        let owner = state
            .db
            .read_point(move |conn| keys::authenticate(conn, &key))
            .await?
            .ok_or(AppError::Unauthorized)?;
        if let Some(claimed) = parts.headers.get("x-organization-id") {
            let matches = claimed
                .to_str()
                .ok()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(&owner.org_id));
            if !matches {
                return Err(AppError::Forbidden(
                    "x-organization-id names an organization this API key does not belong to"
                        .into(),
                ));
            }
        }
        tracing::Span::current().record("key", tracing::field::display(&owner.key_id));
        if let Some(limit) = &state.rate_limit {
            limit.check(&owner.key_id)?;
        }
        let now = now_ms();
        if owner
            .last_used_at
            .is_none_or(|t| now - t > TOUCH_INTERVAL_MS)
        {
            // Bookkeeping only: the request does not wait for it.
            let db = state.db.clone();
            let key_id = owner.key_id.clone();
            tokio::spawn(async move {
                if let Err(err) = db.write(move |tx| keys::touch(tx, &key_id, now)).await
                    && !err.is_disk_full()
                {
                    tracing::warn!(%err, "could not record key use");
                }
            });
        }
        Ok(Auth(owner))
    }
}

/// An authenticated request: the state and the caller's key, with reads that
/// hand the caller's organization to their closure, so a handler cannot
/// forget to scope one.
pub struct Caller {
    pub state: AppState,
    pub auth: Auth,
}

impl Caller {
    /// Runs `f` on a reader, scoped to the caller's organization.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Connection, i64) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let org = self.org();
        self.state.read(move |conn| f(conn, org)).await
    }
}

impl std::ops::Deref for Caller {
    type Target = Auth;

    fn deref(&self) -> &Auth {
        &self.auth
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        Ok(Caller {
            state: state.clone(),
            auth,
        })
    }
}

/// A caller whose key has write access; a read key is 403 before anything
/// else of the request is looked at.
pub struct Writer(pub Caller);

impl std::ops::Deref for Writer {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_write()?;
        Ok(Writer(caller))
    }
}

impl Writer {
    /// Runs `f` in the write transaction, scoped to the caller's
    /// organization, and wakes the workers once it has committed.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Transaction, i64) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let org = self.org();
        self.state.write(move |tx| f(tx, org)).await
    }
}
