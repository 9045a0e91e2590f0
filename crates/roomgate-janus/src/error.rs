//! The bridge's HTTP errors, in roomgate's (Telnyx's) format: `{"errors": [{"code", "title", "detail", "meta"}]}`.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use roomgate_types::{ErrorBody, ErrorObject};
use serde_json::{json, Value};

/// Why a request to the bridge was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON asked for.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The access token does not verify (`reason`: `expired`, `bad_signature`, `wrong_room`...).
    #[error("the access token is refused ({0})")]
    Unauthenticated(&'static str),
    /// roomgate (or the verifier's revocation feed) refuses this participant: revoked, kicked, refused.
    #[error("the participant is refused ({0})")]
    Refused(String),
    /// The room holds `max_participants` live participants already.
    #[error("the room is full ({0} participants)")]
    RoomFull(u32),
    /// roomgate or Janus cannot be used now: try again later.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// Nothing here.
    #[error("not found")]
    NotFound,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String, Option<Value>) {
        match self {
            ApiError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "10015",
                "Bad Request",
                detail.clone(),
                None,
            ),
            ApiError::Unauthenticated(reason) => (
                StatusCode::UNAUTHORIZED,
                "10009",
                "Authentication failed",
                "The access token is not valid for this room.".into(),
                Some(json!({ "reason": reason })),
            ),
            ApiError::Refused(reason) => (
                StatusCode::FORBIDDEN,
                "10010",
                "Authorization failed",
                "roomgate does not admit this participant.".into(),
                Some(json!({ "reason": reason })),
            ),
            ApiError::RoomFull(max) => (
                StatusCode::FORBIDDEN,
                "10010",
                "Room full",
                format!("The room already holds its maximum of {max} participants."),
                Some(json!({ "max_participants": max })),
            ),
            ApiError::Unavailable(what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "10007",
                "Unexpected error",
                format!("{what} is unavailable; try again later."),
                None,
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "10005",
                "Resource not found",
                "There is nothing at this path.".into(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail, meta) = self.parts();
        let body = ErrorBody::single(ErrorObject {
            code: code.into(),
            title: title.into(),
            detail: Some(detail),
            source: None,
            meta,
        });
        let mut response = (status, Json(body)).into_response();
        // A refusal is final; only an unavailable roomgate or Janus is worth retrying (Telnyx SDKs read this).
        let retry = if status == StatusCode::SERVICE_UNAVAILABLE {
            "true"
        } else {
            "false"
        };
        response
            .headers_mut()
            .insert("x-should-retry", HeaderValue::from_static(retry));
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
