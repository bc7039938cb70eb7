//! `GET /api/me`: who the presented key is, so a client (the admin UI) can
//! check a key and show what it may do.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::model::time::format_ms;
use crate::store::keys;

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub organization: MeOrganization,
    /// `read` or `write`.
    pub access: &'static str,
    pub key: MeKey,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOrganization {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeKey {
    /// The key's id (not the key).
    pub id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The organization and access of the key in use.
#[utoipa::path(
    get, path = "/me", tag = "meta", operation_id = "getMe",
    responses((status = 200, description = "Who the key is", body = Me)),
)]
pub async fn get(caller: Caller) -> AppResult<Json<Me>> {
    let key_id = caller.0.key_id.clone();
    let (name, created_at) = caller
        .read(move |conn, _| keys::describe(conn, &key_id))
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Json(Me {
        organization: MeOrganization {
            id: caller.org_id().to_string(),
            name,
        },
        access: caller.0.access.as_str(),
        key: MeKey {
            id: caller.0.key_id.clone(),
            created_at: format_ms(created_at),
        },
    }))
}
