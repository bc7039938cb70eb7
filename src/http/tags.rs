//! `/api/tags`: counts, rename (merging) and delete across the organization.

use axum::Json;
use axum::extract::Path;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Caller, Writer};
use super::extract::JsonBody;
use crate::error::{AppError, AppResult, quote};
use crate::model::Tags;
use crate::store::tags;

/// This module's routes, each registered from its annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(rename, delete_tag_named_rename))
        .routes(routes!(delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    pub tags: Vec<tags::TagCount>,
}

/// The body of a rename.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TagRename {
    from: String,
    /// Merges into this tag where a contact already has it.
    to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagRenamed {
    pub from: String,
    pub to: String,
    /// Contacts changed.
    pub updated: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagDeleted {
    pub tag: String,
    /// Always `true`.
    pub deleted: bool,
    /// Contacts changed.
    pub updated: usize,
}

/// Every tag in use, with its count.
#[utoipa::path(
    get, path = "/tags", tag = "tags", operation_id = "listTags",
    responses((status = 200, description = "The tags", body = TagList)),
)]
pub async fn list(caller: Caller) -> AppResult<Json<TagList>> {
    let tags = caller.read(tags::list).await?;
    Ok(Json(TagList { tags }))
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

/// Renames a tag on every contact, merging into `to`.
#[utoipa::path(
    post, path = "/tags/rename", tag = "tags", operation_id = "renameTag", request_body = TagRename,
    responses(
        (status = 200, description = "Renamed", body = TagRenamed),
        (status = 404, description = "No contact has the tag", body = crate::error::ErrorBody),
    ),
)]
pub async fn rename(caller: Writer, JsonBody(body): JsonBody) -> AppResult<Json<TagRenamed>> {
    let obj = crate::model::body_object(&body)?;
    if let Some(other) = obj.keys().find(|k| !matches!(k.as_str(), "from" | "to")) {
        return Err(AppError::validation(
            other.as_str(),
            format!("unknown field {}; send from and to", quote(other)),
        ));
    }
    let from = one_tag(obj.get("from"), "from")?;
    let to = one_tag(obj.get("to"), "to")?;
    let (f, t) = (from.clone(), to.clone());
    let updated = caller
        .write(move |tx, org| {
            let n = tags::rename(tx, org, &f, &t)?;
            if n == 0 {
                return Err(tag_not_found(&f));
            }
            Ok(n)
        })
        .await?;
    Ok(Json(TagRenamed { from, to, updated }))
}

/// Removes a tag from every contact.
#[utoipa::path(
    delete, path = "/tags/{tag}", tag = "tags", operation_id = "deleteTag",
    params(("tag" = String, Path, description = "The tag")),
    responses((status = 200, description = "Removed", body = TagDeleted)),
)]
pub async fn delete(caller: Writer, Path(tag): Path<String>) -> AppResult<Json<TagDeleted>> {
    let tag = Tags::parse_strs([tag.as_str()], "tag")
        .ok()
        .and_then(|t| t.as_slice().first().cloned())
        .ok_or_else(|| tag_not_found(&tag))?;
    let t = tag.clone();
    let updated = caller
        .write(move |tx, org| {
            let n = tags::delete(tx, org, &t)?;
            if n == 0 {
                return Err(tag_not_found(&t));
            }
            Ok(n)
        })
        .await?;
    Ok(Json(TagDeleted {
        tag,
        deleted: true,
        updated,
    }))
}

/// `DELETE /api/tags/rename`: the rename route owns that path, so a tag
/// literally called "rename" is deleted here.
#[utoipa::path(
    delete, path = "/tags/rename", tag = "tags", operation_id = "deleteTagNamedRename",
    responses(
        (status = 200, description = "Removed", body = TagDeleted),
        (status = 404, description = "No contact has the tag", body = crate::error::ErrorBody),
    ),
)]
pub async fn delete_tag_named_rename(caller: Writer) -> AppResult<Json<TagDeleted>> {
    delete(caller, Path("rename".to_string())).await
}
