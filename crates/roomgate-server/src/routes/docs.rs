//! `GET /v2/openapi.json` and the interactive reference at `/docs` (Swagger UI, every asset compiled in).
use std::sync::OnceLock;

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;
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
    let set = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let ui: Router<AppState> = SwaggerUi::new("/docs").config(config).into();
    let ui = ui
        .layer(set(header::CONTENT_SECURITY_POLICY, DOCS_CSP))
        // For browsers that predate `frame-ancestors`.
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The page's address goes nowhere with what it fetches.
        .layer(set(header::REFERRER_POLICY, "no-referrer"));
    Router::new().route(OPENAPI_PATH, get(openapi_json)).merge(ui)
}

/// What the page may do, sent with every file of `/docs`: users paste API keys into it.
///
/// Scripts and styles only from this server (no inline or evaluated script; the one `<style>` element Swagger UI
/// writes is allowed by its hash, and `compat/browser` fails if the page needs anything else), calls only to this
/// server, images from it or `data:` (its icons), no framing (clickjacking), no plugins, no `<base>` and no form
/// posts elsewhere.
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
