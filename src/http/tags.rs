//! `/api/tags`: counts, rename (merging) and delete across the organization.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::auth::Auth;
use super::extract::JsonBody;
use crate::AppState;
use crate::error::{AppError, AppResult, quote};
use crate::model::Tags;
use crate::store::tags;

pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    let org = auth.org();
    let list = state.db.read(move |conn| tags::list(conn, org)).await?;
    let tags: Vec<Value> = list
        .iter()
        .map(|t| json!({ "tag": t.tag, "count": t.count }))
        .collect();
    Ok(Json(json!({ "tags": tags })))
}

/// One tag from a body field or the path, validated like a contact's tags.
fn one_tag(value: Option<&Value>, field: &str) -> AppResult<String> {
    let s = value
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::validation(field, format!("{field} must be a tag (a string)")))?;
    let tags = Tags::parse_strs([s], field)?;
    Ok(tags.as_slice()[0].clone())
}

fn tag_not_found(tag: &str) -> AppError {
    AppError::NotFound(format!("no contact has the tag {}", quote(tag)))
}

pub async fn rename(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let obj = crate::model::body_object(&body)?;
    if let Some(other) = obj.keys().find(|k| !matches!(k.as_str(), "from" | "to")) {
        return Err(AppError::validation(
            other.as_str(),
            format!("unknown field {}; send from and to", quote(other)),
        ));
    }
    let from = one_tag(obj.get("from"), "from")?;
    let to = one_tag(obj.get("to"), "to")?;
    let org = auth.org();
    let (f, t) = (from.clone(), to.clone());
    let updated = state
        .db
        .write(move |tx| {
            let n = tags::rename(tx, org, &f, &t)?;
            if n == 0 {
                return Err(tag_not_found(&f));
            }
            Ok(n)
        })
        .await?;
    state.notify_writers();
    Ok(Json(json!({ "from": from, "to": to, "updated": updated })))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(tag): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require_write()?;
    let tag = Tags::parse_strs([tag.as_str()], "tag")
        .ok()
        .and_then(|t| t.as_slice().first().cloned())
        .ok_or_else(|| tag_not_found(&tag))?;
    let org = auth.org();
    let t = tag.clone();
    let updated = state
        .db
        .write(move |tx| {
            let n = tags::delete(tx, org, &t)?;
            if n == 0 {
                return Err(tag_not_found(&t));
            }
            Ok(n)
        })
        .await?;
    state.notify_writers();
    Ok(Json(
        json!({ "tag": tag, "deleted": true, "updated": updated }),
    ))
}

/// `DELETE /api/tags/rename`: the rename route owns that path, so a tag
/// literally called "rename" is deleted here.
pub async fn delete_tag_named_rename(state: State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    delete(state, auth, Path("rename".to_string())).await
}
