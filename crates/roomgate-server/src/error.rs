//! The one place where failures become HTTP statuses and Telnyx error bodies.
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use roomgate_store::StoreError;
use roomgate_types::{ErrorBody, ErrorObject, ErrorSource};

/// Telnyx codes for 422 responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidCode {
    /// 10004: a required parameter is missing.
    Missing,
    /// 10026: the value has the wrong JSON type.
    WrongType,
    /// 10033: the value is outside its allowed range.
    OutOfRange,
    /// 10012: the value duplicates an existing resource's.
    Duplicate,
}

impl InvalidCode {
    fn code_and_title(self) -> (&'static str, &'static str) {
        match self {
            Self::Missing => ("10004", "Missing required parameter"),
            Self::WrongType => ("10026", "Invalid parameter type"),
            Self::OutOfRange => ("10033", "Value outside of range"),
            Self::Duplicate => ("10012", "Duplicate resource"),
        }
    }
}

/// Where an invalid value was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A JSON pointer into the body, e.g. `/ttl_secs`.
    Pointer(String),
    /// A query parameter, e.g. `page[size]`.
    Parameter(String),
}

/// Every way a request can fail, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400/10015: the body is not a JSON object.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401/10009: no valid API key.
    #[error("authentication failed")]
    Unauthorized,
    /// 403/10010: a refresh token that does not grant this; one uniform answer, the reason goes to the log.
    #[error("authorization failed")]
    Forbidden,
    /// 404/10005.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 403/10010: the account holds as many rooms as it may (`--max-rooms-per-account`). Permanent until a
    /// room is deleted, so not a 409 or 429, which the SDKs retry.
    #[error("room limit reached: {limit}")]
    RoomLimit {
        /// The limit.
        limit: u64,
    },
    /// 403/10010: the session already holds `max_participants`. Not a 409, which the SDKs retry: it passes only
    /// when someone leaves.
    #[error("room full: {max_participants}")]
    RoomFull {
        /// The room's limit.
        max_participants: i64,
    },
    /// 403/10010: a media server presented a token that cannot be admitted (`reason` in `meta`).
    #[error("not admitted: {reason}")]
    NotAdmitted {
        /// `invalid`, `expired`, `revoked`, `bad_signature`...
        reason: &'static str,
    },
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415/10014: a body that is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: a field or parameter is missing, of the wrong type, out of range or a duplicate.
    #[error("invalid {location:?}: {detail}")]
    Invalid {
        /// Which Telnyx code.
        code: InvalidCode,
        /// Which field.
        location: Location,
        /// What is wrong with it.
        detail: String,
    },
    /// 408/10008: the request took longer than the server allows.
    #[error("request timeout")]
    RequestTimeout,
    /// 429/10011.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
        /// The bucket's size.
        limit: u32,
    },
    /// 503/10007: the store is unreachable; retrying later helps.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500/10007: a bug or an unexpected failure; details stay in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 for a body field.
    pub fn field(code: InvalidCode, name: &str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            location: Location::Pointer(format!("/{name}")),
            detail: detail.into(),
        }
    }

    /// A 422 for a value inside the body, at a JSON `pointer` such as `/permissions/can_publish`.
    pub fn at(code: InvalidCode, pointer: String, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            location: Location::Pointer(pointer),
            detail: detail.into(),
        }
    }

    /// A 422 for a query parameter.
    pub fn param(code: InvalidCode, name: &str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            location: Location::Parameter(name.to_owned()),
            detail: detail.into(),
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::RoomLimit { .. } | Self::RoomFull { .. } | Self::NotAdmitted { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorObject {
        let (code, title, detail, source) = match self {
            Self::BadRequest(detail) => ("10015", "Bad Request", detail.clone(), None),
            Self::Unauthorized => (
                "10009",
                "Authentication failed",
                "The API key is missing, malformed, unknown or revoked.".into(),
                None,
            ),
            Self::Forbidden => (
                "10010",
                "Authorization failed",
                "The refresh token is not valid for this room.".into(),
                None,
            ),
            Self::NotFound(what) => ("10005", "Resource not found", format!("{what} not found."), None),
            Self::RoomLimit { limit } => (
                "10010",
                "Room limit reached",
                format!("This account already has {limit} rooms, the most it may have; delete rooms to create others."),
                None,
            ),
            Self::RoomFull { max_participants } => (
                "10010",
                "Room full",
                format!("The room's session already has {max_participants} participants, its max_participants."),
                None,
            ),
            Self::NotAdmitted { reason } => (
                "10010",
                "Authorization failed",
                format!("The access token cannot be admitted ({reason})."),
                None,
            ),
            Self::MethodNotAllowed => (
                "10015",
                "Method not allowed",
                "This method is not allowed on this path.".into(),
                None,
            ),
            Self::PayloadTooLarge => (
                "10015",
                "Request entity too large",
                format!("The request body exceeds {} bytes.", crate::MAX_BODY_BYTES),
                None,
            ),
            Self::UnsupportedMediaType => (
                "10014",
                "Unsupported Media Type",
                "The request body must be JSON, sent with Content-Type: application/json.".into(),
                None,
            ),
            Self::Invalid {
                code,
                location,
                detail,
            } => {
                let (code, title) = code.code_and_title();
                let source = match location {
                    Location::Pointer(p) => ErrorSource {
                        pointer: Some(p.clone()),
                        parameter: None,
                    },
                    Location::Parameter(p) => ErrorSource {
                        pointer: None,
                        parameter: Some(p.clone()),
                    },
                };
                (code, title, detail.clone(), Some(source))
            }
            Self::RequestTimeout => (
                "10008",
                "Request timeout",
                "The request took too long to complete.".into(),
                None,
            ),
            Self::TooManyRequests { .. } => (
                "10011",
                "Too many requests",
                "Rate limit exceeded; retry later.".into(),
                None,
            ),
            Self::Unavailable(_) => (
                "10007",
                "Service unavailable",
                "The service is temporarily unavailable; retry later.".into(),
                None,
            ),
            Self::Internal(_) => (
                "10007",
                "Unexpected error",
                "An unexpected error occurred.".into(),
                None,
            ),
        };
        let meta = match self {
            Self::RoomLimit { limit } => Some(serde_json::json!({ "max_rooms_per_account": limit })),
            Self::RoomFull { max_participants } => {
                Some(serde_json::json!({ "max_participants": max_participants }))
            }
            Self::NotAdmitted { reason } => Some(serde_json::json!({ "reason": reason })),
            _ => None,
        };
        ErrorObject {
            code: code.into(),
            title: title.into(),
            detail: Some(detail),
            source,
            meta,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("Room"),
            StoreError::Unavailable(msg) => ApiError::Unavailable(msg),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(msg) => tracing::error!(error = %msg, "request failed"),
            Self::Unavailable(msg) => tracing::warn!(error = %msg, "store unavailable"),
            _ => {}
        }
        let mut response = (status, Json(ErrorBody::single(self.body()))).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::TooManyRequests {
                retry_after_secs,
                limit,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                headers.insert("x-ratelimit-limit", HeaderValue::from(*limit));
                headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
                headers.insert("x-ratelimit-reset", HeaderValue::from(*retry_after_secs));
            }
            Self::Unavailable(_) => {
                headers.insert("x-should-retry", HeaderValue::from_static("true"));
            }
            // A timeout may pass; the SDKs' default (retry 408) is right.
            Self::RequestTimeout => {}
            // The official SDKs retry 409, 429 and 5xx unless told not to; a client error never helps by retrying.
            e if e.status().is_client_error() => {
                headers.insert("x-should-retry", HeaderValue::from_static("false"));
            }
            _ => {}
        }
        response
    }
}
