//! Extractors that answer bad requests with the contract's error body.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::AppError;

/// Largest JSON body accepted (uploads have their own limit).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body: `application/json` (else 415), at most 1 MiB (else
/// 413), well-formed (else 400 `invalid_json`).
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(AppError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(MAX_JSON_BODY)
            } else {
                AppError::bad_request(
                    "invalid_json",
                    None,
                    "the request body could not be read (cut off, or it paused too long)",
                )
            }
        })?;
        if bytes.len() > MAX_JSON_BODY {
            return Err(AppError::PayloadTooLarge(MAX_JSON_BODY));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            AppError::bad_request(
                "invalid_json",
                None,
                format!("the request body is not valid JSON: {e}"),
            )
        })
    }
}

/// The query string as name/value pairs; a repeated name keeps its last value.
pub struct QueryMap(Vec<(String, String)>);

impl QueryMap {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn getter(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| self.get(name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                AppError::bad_request("invalid_parameter", None, "the query string is malformed")
            })?;
        Ok(QueryMap(pairs))
    }
}

/// The path ids of the API, each an extractor that answers the contract's
/// 404 for a malformed id and a parameter of the document.
macro_rules! path_ids {
    ($($(#[doc = $doc:literal])* $name:ident: $param:literal names $what:literal;)*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
                let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
                    .await
                    .map_err(|_| AppError::not_found($what))?;
                let raw = params.get($param).ok_or_else(|| AppError::not_found($what))?;
                crate::model::parse_id(raw, $what).map(Self)
            }
        }

        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                vec![path_parameter($param, concat!($($doc),*).trim())]
            }
        }
    )*};
}

path_ids! {
    /// The contact's id
    ContactId: "id" names "contact";
    /// The note's id
    NoteId: "note_id" names "note";
    /// The segment's id
    SegmentId: "id" names "segment";
    /// The webhook's id
    WebhookId: "id" names "webhook";
    /// The delivery's id
    DeliveryId: "delivery" names "delivery";
    /// The import's id
    ImportId: "id" names "import";
}

fn path_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::Required;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let schema = ObjectBuilder::new().schema_type(Type::String);
    parameter(name, ParameterIn::Path, description, schema)
        .required(Required::True)
        .build()
}

/// A parameter of the document, as the extractors here describe theirs.
fn parameter(
    name: &str,
    place: utoipa::openapi::path::ParameterIn,
    description: &str,
    schema: utoipa::openapi::schema::ObjectBuilder,
) -> utoipa::openapi::path::ParameterBuilder {
    utoipa::openapi::path::ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .description(Some(description))
        .schema(Some(schema))
}

/// `?limit=&cursor=` of a newest-first list (a timeline, deliveries): at
/// most `limit` items older than the one the cursor names.
pub struct NewestFirst {
    pub limit: u32,
    /// The position of the previous page's last item.
    pub before: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for NewestFirst {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        use crate::model::filter::{DEFAULT_LIMIT, parse_limit, parse_seq_cursor};
        let query = QueryMap::from_request_parts(parts, state).await?;
        Ok(Self {
            limit: query
                .get("limit")
                .map_or(Ok(DEFAULT_LIMIT), |s| parse_limit(&s))?,
            before: query
                .get("cursor")
                .map(|s| parse_seq_cursor(&s))
                .transpose()?,
        })
    }
}

impl utoipa::IntoParams for NewestFirst {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let query = |name: &str, description: &str, schema: ObjectBuilder| {
            parameter(name, ParameterIn::Query, description, schema).build()
        };
        vec![
            query(
                "limit",
                "Items per page; above 200 counts as 200. Default 50.",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int32,
                    )))
                    .minimum(Some(1)),
            ),
            query(
                "cursor",
                "The `cursor` of the previous page",
                ObjectBuilder::new().schema_type(Type::String),
            ),
        ]
    }
}
