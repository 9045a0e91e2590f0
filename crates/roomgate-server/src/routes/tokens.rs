//! Minting and refreshing join tokens, under the original names and today's Telnyx names.
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use roomgate_token::{Claims, TokenKind};
use roomgate_types::{AccessToken, ClientToken, Data, JoinClientToken, RoomAccessToken};
use uuid::Uuid;

use crate::{
    authz::{self, Scope},
    domain::{self, participant, AccessTtl, RefreshTtl},
    error::ApiError,
    extract::{BearerKey, ClientIp, JsonBody, RoomIdPath},
    keys::KeyRing,
    observability, timefmt, AppState,
};

/// Which names a request and its response use; the behaviour is the same.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    /// `create_access_token` / `refresh_access_token`: `ttl_secs`, `access_token*`.
    Original,
    /// `generate_join_client_token` / `refresh_client_token`: `token_ttl_secs`, `token*`.
    Current,
}

impl Scheme {
    /// The metrics label: the refresh endpoint's suffix.
    fn label(self) -> &'static str {
        match self {
            Scheme::Original => "access_token",
            Scheme::Current => "client_token",
        }
    }

    fn ttl_field(self) -> &'static str {
        match self {
            Scheme::Original => "ttl_secs",
            Scheme::Current => "token_ttl_secs",
        }
    }
}

#[utoipa::path(
    post,
    path = "/v2/rooms/{room_id}/actions/create_access_token",
    tag = "Rooms Access Tokens",
    operation_id = "CreateRoomAccessToken",
    summary = "Create an access token to join a room",
    description = "An access token (valid `ttl_secs`) and a refresh token (valid `refresh_token_ttl_secs`) for the room. \
        The original names; same behaviour as `generate_join_client_token`.",
    params(super::openapi::RoomIdParam),
    request_body(content = Option<roomgate_types::CreateAccessTokenRequest>, description = "Token lifetimes."),
    responses(
        (status = 201, description = "The signed token(s) and their expiry.", body = Data<RoomAccessToken>),
        super::openapi::BodyErrors,
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
pub(super) async fn create_original(
    State(app): State<AppState>,
    ip: ClientIp,
    key: Result<BearerKey, ApiError>,
    room: Result<RoomIdPath, ApiError>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    create(app, ip, key, room, body, Scheme::Original).await
}

#[utoipa::path(
    post,
    path = "/v2/rooms/{room_id}/actions/generate_join_client_token",
    tag = "Rooms Access Tokens",
    operation_id = "GenerateJoinClientToken",
    summary = "Generate a client token to join a room",
    description = "An access token (valid `token_ttl_secs`) and a refresh token (valid `refresh_token_ttl_secs`) for the \
        room. Today's Telnyx names; same behaviour as `create_access_token`.",
    params(super::openapi::RoomIdParam),
    request_body(content = Option<roomgate_types::GenerateClientTokenRequest>, description = "Token lifetimes."),
    responses(
        (status = 201, description = "The signed token(s) and their expiry.", body = Data<JoinClientToken>),
        super::openapi::BodyErrors,
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
pub(super) async fn create_current(
    State(app): State<AppState>,
    ip: ClientIp,
    key: Result<BearerKey, ApiError>,
    room: Result<RoomIdPath, ApiError>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    create(app, ip, key, room, body, Scheme::Current).await
}

#[utoipa::path(
    post,
    path = "/v2/rooms/{room_id}/actions/refresh_access_token",
    tag = "Rooms Access Tokens",
    operation_id = "RefreshRoomAccessToken",
    summary = "Refresh an access token to join a room",
    description = "A new access token from a refresh token alone: no API key. The refresh token stays usable until it \
        expires. The original names.",
    params(super::openapi::RoomIdParam),
    request_body(content = roomgate_types::RefreshAccessTokenRequest, description = "The refresh token and the new token's lifetime."),
    security(),
    responses(
        (status = 201, description = "The signed token(s) and their expiry.", body = Data<AccessToken>),
        super::openapi::BodyErrors,
        (status = 403, description = "The refresh token is not valid for this room, whatever the reason \
            (10010).", body = roomgate_types::ErrorBody),
        (status = 404, description = "The `room_id` is not a UUID (10005).", body = roomgate_types::ErrorBody),
        (status = 429, description = "A rate limit was hit (10011).", body = roomgate_types::ErrorBody),
        (status = 503, description = "The store is unavailable (10007).", body = roomgate_types::ErrorBody),
    ),
)]
pub(super) async fn refresh_original(
    State(app): State<AppState>,
    ip: ClientIp,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    refresh(app, ip, room, body, Scheme::Original).await
}

#[utoipa::path(
    post,
    path = "/v2/rooms/{room_id}/actions/refresh_client_token",
    tag = "Rooms Access Tokens",
    operation_id = "RefreshClientToken",
    summary = "Refresh a client token to join a room",
    description = "A new access token from a refresh token alone: no API key. The refresh token stays usable until it \
        expires. Today's Telnyx names.",
    params(super::openapi::RoomIdParam),
    request_body(content = roomgate_types::RefreshClientTokenRequest, description = "The refresh token and the new token's lifetime."),
    security(),
    responses(
        (status = 201, description = "The signed token(s) and their expiry.", body = Data<ClientToken>),
        super::openapi::BodyErrors,
        (status = 403, description = "The refresh token is not valid for this room, whatever the reason \
            (10010).", body = roomgate_types::ErrorBody),
        (status = 404, description = "The `room_id` is not a UUID (10005).", body = roomgate_types::ErrorBody),
        (status = 429, description = "A rate limit was hit (10011).", body = roomgate_types::ErrorBody),
        (status = 503, description = "The store is unavailable (10007).", body = roomgate_types::ErrorBody),
    ),
)]
pub(super) async fn refresh_current(
    State(app): State<AppState>,
    ip: ClientIp,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    refresh(app, ip, room, body, Scheme::Current).await
}

fn created<T: serde::Serialize>(data: T) -> Response {
    (StatusCode::CREATED, Json(Data::new(data))).into_response()
}

/// An access token signed and its expiry on the wire.
fn sign_access(keys: &KeyRing, claims: &Claims) -> (String, String) {
    (keys.signing.sign(claims), timefmt::secs_rfc3339(claims.exp))
}

async fn create(
    app: AppState,
    ClientIp(ip): ClientIp,
    key: Result<BearerKey, ApiError>,
    room: Result<RoomIdPath, ApiError>,
    body: JsonBody,
    scheme: Scheme,
) -> Result<Response, ApiError> {
    // A room id that is not a UUID names no room (the nil UUID is never a room's); the key is still checked first.
    let room_id = room.map_or(Uuid::nil(), |RoomIdPath(id)| id);
    // The hot path's one read: the key's account and whether the room is that account's.
    let key = authz::authorize(&app, ip, key.ok().as_ref(), Scope::Room(room_id)).await?;
    let body = body.object()?;
    let ttl = AccessTtl::parse(&body, scheme.ttl_field())?;
    let refresh_ttl = RefreshTtl::parse(&body, "refresh_token_ttl_secs")?;
    let participant = participant::parse(&body)?;
    let config = app.config();
    let pair = domain::mint::Pair {
        key,
        room_id,
        issuer: &config.issuer,
        audience: &config.audience,
        ttl,
        refresh_ttl,
        participant: participant.as_ref(),
    }
    .mint(app.now().unix_timestamp());
    let keys = app.keys().current();
    let (access, access_exp) = sign_access(&keys, &pair.access);
    let refresh = keys.refresh_signing.sign(&pair.refresh);
    let refresh_exp = timefmt::secs_rfc3339(pair.refresh.exp);
    observability::token_minted(TokenKind::Access, scheme.label());
    observability::token_minted(TokenKind::Refresh, scheme.label());
    Ok(match scheme {
        Scheme::Original => created(RoomAccessToken {
            access_token: access,
            access_token_expires_at: access_exp,
            refresh_token: refresh,
            refresh_token_expires_at: refresh_exp,
        }),
        Scheme::Current => created(JoinClientToken {
            token: access,
            token_expires_at: access_exp,
            refresh_token: refresh,
            refresh_token_expires_at: refresh_exp,
        }),
    })
}

async fn refresh(
    app: AppState,
    ClientIp(ip): ClientIp,
    RoomIdPath(room_id): RoomIdPath,
    body: JsonBody,
    scheme: Scheme,
) -> Result<Response, ApiError> {
    let body = body.object()?;
    let token = domain::required_string(&body, "refresh_token")?;
    let ttl = AccessTtl::parse(&body, scheme.ttl_field())?;
    let claims = domain::refresh::refresh(&app, ip, room_id, token, ttl).await?;
    let (access, access_exp) = sign_access(&app.keys().current(), &claims);
    observability::token_minted(TokenKind::Access, scheme.label());
    observability::token_refreshed(scheme.label());
    Ok(match scheme {
        Scheme::Original => created(AccessToken {
            access_token: access,
            access_token_expires_at: access_exp,
        }),
        Scheme::Current => created(ClientToken {
            token: access,
            token_expires_at: access_exp,
        }),
    })
}
