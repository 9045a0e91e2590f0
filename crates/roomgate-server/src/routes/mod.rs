//! Routes, grouped by area.
mod docs;
mod introspect;
mod live;
mod meta;
pub(crate) mod openapi;
mod revocations;
mod rooms;
mod tokens;

use axum::{
    http::{header, HeaderValue, Method},
    routing::{get, post},
    Router,
};
use tower_http::{
    cors::{Any, CorsLayer},
    set_header::SetResponseHeaderLayer,
};

use crate::{error::ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    // Browsers refresh tokens and fetch the JWKS directly, from any origin; they never hold an API key.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            crate::observability::X_REQUEST_ID,
        ])
        .expose_headers([crate::observability::X_REQUEST_ID]);
    let refresh = Router::new()
        .route(
            "/v2/rooms/{room_id}/actions/refresh_access_token",
            post(tokens::refresh_original),
        )
        .route(
            "/v2/rooms/{room_id}/actions/refresh_client_token",
            post(tokens::refresh_current),
        )
        // Set before the CORS layer so that it wraps this fallback too: a preflight (OPTIONS) has no handler of
        // its own, and the router-wide fallback set later would otherwise answer it 405 without CORS headers.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors.clone());
    // Tokens are never cached. The JWKS stays out of this layer: verifiers and CDNs may cache it, as its
    // handler says.
    let token_routes = Router::new()
        .route(
            "/v2/rooms/{room_id}/actions/create_access_token",
            post(tokens::create_original),
        )
        .route(
            "/v2/rooms/{room_id}/actions/generate_join_client_token",
            post(tokens::create_current),
        )
        .route("/v2/tokens/introspect", post(introspect::introspect))
        .merge(refresh)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let jwks = Router::new()
        .route("/.well-known/jwks.json", get(meta::jwks))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors);
    Router::new()
        .merge(token_routes)
        .merge(jwks)
        .route("/v2/rooms", post(rooms::create).get(rooms::list))
        .route("/v2/webhook_public_key", get(meta::webhook_public_key))
        .route(
            "/v2/rooms/{room_id}",
            get(rooms::view).patch(rooms::update).delete(rooms::delete),
        )
        .route(
            "/v2/rooms/{room_id}/actions/revoke_tokens",
            post(revocations::revoke),
        )
        .route("/v2/rooms/{room_id}/revocations", get(revocations::list))
        .route("/v2/revocations", get(revocations::feed))
        .route("/v2/room_sessions", get(live::sessions::list_sessions))
        .route("/v2/rooms/{room_id}/sessions", get(live::sessions::room_sessions))
        .route(
            "/v2/room_sessions/{room_session_id}",
            get(live::sessions::view_session),
        )
        .route(
            "/v2/room_sessions/{room_session_id}/participants",
            get(live::sessions::session_participants),
        )
        .route(
            "/v2/room_sessions/{room_session_id}/actions/end",
            post(live::sessions::end),
        )
        .route(
            "/v2/room_sessions/{room_session_id}/actions/kick",
            post(live::sessions::kick),
        )
        .route(
            "/v2/room_sessions/{room_session_id}/actions/mute",
            post(live::sessions::mute),
        )
        .route(
            "/v2/room_sessions/{room_session_id}/actions/unmute",
            post(live::sessions::unmute),
        )
        .route(
            "/v2/room_participants",
            get(live::participants::list_participants).post(live::participants::admit),
        )
        .route(
            "/v2/room_participants/actions/renew",
            post(live::participants::renew),
        )
        .route(
            "/v2/room_participants/{room_participant_id}",
            get(live::participants::view_participant),
        )
        .route(
            "/v2/room_participants/{room_participant_id}/actions/leave",
            post(live::participants::leave),
        )
        .route("/v2/room_commands", get(live::commands::commands))
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .merge(docs::router())
        .fallback(|| async { ApiError::NotFound("Resource") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
