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

/// The key that verifies webhook signatures.
#[utoipa::path(
    get,
    path = "/v2/webhook_public_key",
    tag = "Keys and health",
    operation_id = "GetWebhookPublicKey",
    summary = "Webhook public key (roomgate extension)",
    description = "The Ed25519 public key, base64, that verifies the `telnyx-signature-ed25519` header of \
        roomgate's webhook deliveries (a Telnyx SDK's `webhooks.unwrap(body, headers=..., key=...)`). The same for \
        every account and replica.",
    responses(
        (status = 200, description = "The key.", body = roomgate_types::Data<roomgate_types::WebhookPublicKey>),
        super::openapi::KeyErrors,
    ),
)]
pub(super) async fn webhook_public_key(
    State(app): State<AppState>,
    _auth: crate::extract::Account,
) -> Json<roomgate_types::Data<roomgate_types::WebhookPublicKey>> {
    Json(roomgate_types::Data::new(roomgate_types::WebhookPublicKey {
        public_key: app.webhook_key().public_base64().to_owned(),
    }))
}
