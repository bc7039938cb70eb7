//! `GET /api/me`: who the presented key is, so a client (the admin UI) can
//! check a key and show what it may do.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::auth::Auth;
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::model::time::format_ms;
use crate::store::keys;

pub async fn get(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    let key_id = auth.0.key_id.clone();
    let (name, created_at) = state
        .db
        .read(move |conn| keys::describe(conn, &key_id))
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Json(json!({
        "organization": { "id": auth.org_id(), "name": name },
        "access": auth.0.access.as_str(),
        "key": { "id": auth.0.key_id, "createdAt": format_ms(created_at) },
    })))
}
