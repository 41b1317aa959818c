//! `JsonObject` and `MaybeJsonObject`: the request-body extractors. It owns every rejection, so a
//! bad body gets the project's error envelope rather than axum's text:
//! `413 payload_too_large` over the body limit, `415` for a non-JSON
//! content type, `400 invalid_request` for an empty body, bad JSON,
//! duplicate member names, or anything but an object.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::json_strict;

/// A request body that is one JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonObject(pub Map<String, Value>);

/// A request body that is one JSON object, or nothing at all.
#[derive(Debug, Clone, PartialEq)]
pub struct MaybeJsonObject(pub Option<Map<String, Value>>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeJsonObject::from_request(req, state).await? {
            MaybeJsonObject(Some(object)) => Ok(Self(object)),
            MaybeJsonObject(None) => Err(ApiError::invalid_request(
                "the request body is empty; send a JSON object",
            )),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for MaybeJsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_content = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(is_json_media_type);
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the request body is larger than {} bytes",
                        super::MAX_BODY_BYTES
                    ),
                )
            } else {
                ApiError::invalid_request("the request body could not be read")
            }
        })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if json_content != Some(true) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        match json_strict::from_slice(&body) {
            Ok(Value::Object(object)) => Ok(Self(Some(object))),
            Ok(_) => Err(ApiError::invalid_request(
                "the request body must be a JSON object",
            )),
            Err(err) => Err(ApiError::invalid_request(format!("invalid JSON: {err}"))),
        }
    }
}

/// A page size from the query: `default` when absent, at least 1, larger
/// values capped at `max`; anything else is `400` naming `limit`.
pub fn page_limit(text: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(max))
            .ok_or_else(|| {
                ApiError::invalid_request(format!("limit must be an integer from 1 to {max}"))
                    .with_field("limit")
            }),
    }
}

/// `application/json` or any `application/*+json`, parameters ignored.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::is_json_media_type;

    #[test]
    fn media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type(""));
    }
}
