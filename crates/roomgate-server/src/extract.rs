//! Extractors whose rejections are [`ApiError`]s, so every bad request gets a Telnyx error body.
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use roomgate_token::JsonError;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ApiError;

/// A request body of at most [`crate::MAX_BODY_BYTES`], declared as JSON (or undeclared), not yet parsed.
///
/// Parsing is left to the handler so that authentication can be answered first.
///
/// Its `Debug` shows only the length: the body may carry a refresh token or a participant's personal data.
pub struct JsonBody(pub Bytes);

impl std::fmt::Debug for JsonBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonBody(<{} bytes redacted>)", self.0.len())
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or_default().trim();
            if !(essence == "application/json" || essence.ends_with("+json")) {
                return Err(ApiError::UnsupportedMediaType);
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("The request body could not be read.".into())
            }
        })?;
        Ok(Self(bytes))
    }
}

impl JsonBody {
    /// The body as a JSON object; an empty body is an empty object.
    pub fn object(&self) -> Result<Map<String, Value>, ApiError> {
        // No body at all is no body; whitespace alone is a body, and not JSON.
        if self.0.is_empty() {
            return Ok(Map::new());
        }
        // Duplicate member names are refused, not last-wins: a proxy in front may have read the other one.
        match roomgate_token::parse_json_strict(&self.0) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::BadRequest(
                "The request body must be a JSON object.".into(),
            )),
            Err(e @ JsonError::DuplicateMember { .. }) => Err(ApiError::BadRequest(format!(
                "The request body names a member twice (line {}, column {}).",
                e.line(),
                e.column()
            ))),
            Err(e @ JsonError::Syntax(_)) => Err(ApiError::BadRequest(format!(
                "The request body is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ))),
        }
    }
}

/// The room id in the path; anything that is not a UUID is a room that does not exist.
#[derive(Clone, Copy, Debug)]
pub struct RoomIdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for RoomIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("Room"))?;
        Uuid::try_parse(&raw)
            .map(Self)
            .map_err(|_| ApiError::NotFound("Room"))
    }
}

/// The secret of an `Authorization: Bearer <key>` header; the scheme is case-insensitive.
///
/// Its `Debug` never shows the key.
pub struct BearerKey(pub String);

impl std::fmt::Debug for BearerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerKey(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized)?;
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        let (scheme, key) = value.split_once(' ').ok_or(ApiError::Unauthorized)?;
        let key = key.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.len() > 512 {
            return Err(ApiError::Unauthorized);
        }
        Ok(Self(key.to_owned()))
    }
}

/// The account of a valid, unrevoked API key (one indexed read), within its rate limit ([`crate::authz`]).
#[derive(Clone, Copy, Debug)]
pub struct Account(pub roomgate_store::KeyAuth);

impl FromRequestParts<crate::AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = match ClientIp::from_request_parts(parts, state).await {
            Ok(ip) => ip,
            Err(never) => match never {},
        };
        let key = BearerKey::from_request_parts(parts, state).await.ok();
        let auth = crate::authz::authorize(state, ip, key.as_ref(), crate::authz::Scope::Account).await?;
        Ok(Self(auth))
    }
}

/// The client's address: the peer, or what the configured trusted proxy header says ([`crate::client_ip`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let peer = crate::serving::peer(&parts.extensions)
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
        Ok(Self(match &state.config().client_ip_header {
            Some(header) => header.resolve(&parts.headers, peer),
            None => peer,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_request(body: &'static [u8]) -> String {
        match JsonBody(Bytes::from_static(body)).object() {
            Err(ApiError::BadRequest(detail)) => detail,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn json_body_debug_shows_no_content() {
        let body = JsonBody(Bytes::from_static(
            br#"{"refresh_token":"eyJhbGciOiJIUzI1NiJ9.secret.mac"}"#,
        ));
        let shown = format!("{body:?}");
        assert!(!shown.contains("secret") && !shown.contains("eyJ"), "{shown}");
        assert!(shown.contains(&body.0.len().to_string()), "{shown}");
    }

    #[test]
    fn a_duplicate_member_is_told_apart_from_bad_syntax() {
        assert_eq!(
            bad_request(br#"{"ttl_secs":60,"ttl_secs":600}"#),
            "The request body names a member twice (line 1, column 25)."
        );
        assert!(
            bad_request(br#"{"duplicate member name" 1}"#).starts_with("The request body is not valid JSON"),
        );
        assert_eq!(bad_request(b"[1]"), "The request body must be a JSON object.");
    }
}
