//! `GET /v2/openapi.json` and the interactive reference at `/docs` (Swagger UI, every asset compiled in).
use std::sync::OnceLock;

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::AppState;

/// Where the document is served; the docs page loads it from here.
pub(crate) const OPENAPI_PATH: &str = "/v2/openapi.json";

pub(super) fn router() -> Router<AppState> {
    // `validator_url("none")`: Swagger UI would otherwise send the document to a public validator.
    let config = Config::new([OPENAPI_PATH])
        .validator_url("none")
        .try_it_out_enabled(false)
        .persist_authorization(false);
    Router::new()
        .route(OPENAPI_PATH, get(openapi_json))
        .merge(SwaggerUi::new("/docs").config(config))
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/v2/openapi.json",
    tag = "Keys and health",
    operation_id = "GetOpenApi",
    summary = "This document",
    description = "The OpenAPI 3.1 document of this API, generated from the server's code.",
    security(),
    responses((status = 200, description = "The document.", content_type = "application/json", body = Object)),
)]
pub(super) async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| {
        super::openapi::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    });
    let mut response = body.clone().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
