//! Health, readiness and the published keys.
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{error::ApiError, AppState};

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Keys and health",
    operation_id = "Healthz",
    summary = "Liveness",
    description = "200 while the process serves requests.",
    security(),
    responses((status = 200, description = "Alive.", body = super::openapi::Health)),
)]
pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The store answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Keys and health",
    operation_id = "Readyz",
    summary = "Readiness",
    description = "200 when the store answers.",
    security(),
    responses(
        (status = 200, description = "Ready.", body = super::openapi::Health),
        (status = 503, description = "The store is unavailable (10007).", body = roomgate_types::ErrorBody),
    ),
)]
pub(super) async fn readyz(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    app.store()
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(json!({ "status": "ok" })))
}

/// The public signing keys as a JWKS; verifiers may cache it for five minutes.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "Keys and health",
    operation_id = "GetJwks",
    summary = "Public signing keys",
    description = "The Ed25519 public keys that verify roomgate's tokens, as a JWK Set. Cache it for up to \
        five minutes (`cache-control: public, max-age=300`).",
    security(),
    responses((status = 200, description = "The JWK Set.", body = super::openapi::Jwks)),
)]
pub(super) async fn jwks(State(app): State<AppState>) -> Response {
    let body = app.keys().current().jwks_json.clone();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
