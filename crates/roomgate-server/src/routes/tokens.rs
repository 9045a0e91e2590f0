//! Minting and refreshing join tokens, under the seed's names and today's Telnyx names.
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use roomgate_token::{Claims, TokenKind, Validation};
use roomgate_types::{AccessToken, ClientToken, Data, JoinClientToken, RoomAccessToken};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth,
    domain::{AccessTtl, RefreshTtl},
    error::{ApiError, InvalidCode},
    extract::{BearerKey, JsonBody, RoomIdPath},
    timefmt, AppState,
};

/// Which names a request and its response use; the behaviour is the same.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    /// `create_access_token` / `refresh_access_token`: `ttl_secs`, `access_token*`.
    Seed,
    /// `generate_join_client_token` / `refresh_client_token`: `token_ttl_secs`, `token*`.
    Current,
}

impl Scheme {
    fn ttl_field(self) -> &'static str {
        match self {
            Scheme::Seed => "ttl_secs",
            Scheme::Current => "token_ttl_secs",
        }
    }
}

pub(super) async fn create_seed(
    State(app): State<AppState>,
    key: BearerKey,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    create(app, key, room, body, Scheme::Seed).await
}

pub(super) async fn create_current(
    State(app): State<AppState>,
    key: BearerKey,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    create(app, key, room, body, Scheme::Current).await
}

pub(super) async fn refresh_seed(
    State(app): State<AppState>,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    refresh(app, room, body, Scheme::Seed).await
}

pub(super) async fn refresh_current(
    State(app): State<AppState>,
    room: RoomIdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    refresh(app, room, body, Scheme::Current).await
}

fn created<T: serde::Serialize>(data: T) -> Response {
    (StatusCode::CREATED, Json(Data::new(data))).into_response()
}

/// A signed token and its expiry on the wire.
fn mint(
    app: &AppState,
    kind: TokenKind,
    room_id: Uuid,
    subjects: Vec<String>,
    now: i64,
    ttl: i64,
) -> (String, String) {
    let config = app.config();
    let claims = Claims::for_room(
        kind,
        room_id,
        subjects,
        &config.issuer,
        &config.audience,
        now,
        ttl,
    );
    let token = app.keys().current().signing.sign(&claims);
    (token, timefmt::secs_rfc3339(claims.exp))
}

async fn create(
    app: AppState,
    BearerKey(secret): BearerKey,
    RoomIdPath(room_id): RoomIdPath,
    body: JsonBody,
    scheme: Scheme,
) -> Result<Response, ApiError> {
    // The hot path's one read: the key's account and whether the room is that account's.
    let (key, found) = app
        .store()
        .authorize_room(&auth::hash(&secret), room_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !found {
        return Err(ApiError::NotFound("Room"));
    }
    let body = body.object()?;
    let ttl = AccessTtl::parse(&body, scheme.ttl_field())?;
    let refresh_ttl = RefreshTtl::parse(&body, "refresh_token_ttl_secs")?;
    let now = app.now().unix_timestamp();
    let subjects = vec![format!("telnyx:users:{}", key.account_id)];
    let (access, access_exp) = mint(
        &app,
        TokenKind::Access,
        room_id,
        subjects.clone(),
        now,
        ttl.secs(),
    );
    let (refresh, refresh_exp) = mint(
        &app,
        TokenKind::Refresh,
        room_id,
        subjects,
        now,
        refresh_ttl.secs(),
    );
    Ok(match scheme {
        Scheme::Seed => created(RoomAccessToken {
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
    RoomIdPath(room_id): RoomIdPath,
    body: JsonBody,
    scheme: Scheme,
) -> Result<Response, ApiError> {
    let body = body.object()?;
    let token = match body.get("refresh_token") {
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                InvalidCode::Missing,
                "refresh_token",
                "refresh_token is required.",
            ))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::field(
                InvalidCode::WrongType,
                "refresh_token",
                "refresh_token must be a string.",
            ))
        }
    };
    let ttl = AccessTtl::parse(&body, scheme.ttl_field())?;
    let now = app.now().unix_timestamp();
    let config = app.config();
    let validation = Validation::new(TokenKind::Refresh)
        .issuer(&config.issuer)
        .audience(&config.audience)
        .room(room_id);
    // One uniform 403 whatever failed, so the endpoint is no oracle; the reason goes to the log only.
    let claims =
        roomgate_token::verify(token, &app.keys().current().public, &validation, now).map_err(|e| {
            tracing::info!(reason = e.reason(), %room_id, "refresh refused");
            ApiError::Forbidden
        })?;
    if !app.store().room_exists(room_id).await? {
        tracing::info!(reason = "room_deleted", %room_id, "refresh refused");
        return Err(ApiError::Forbidden);
    }
    let subjects = claims.grants.into_iter().flat_map(|g| g.subjects).collect();
    let (access, access_exp) = mint(&app, TokenKind::Access, room_id, subjects, now, ttl.secs());
    Ok(match scheme {
        Scheme::Seed => created(AccessToken {
            access_token: access,
            access_token_expires_at: access_exp,
        }),
        Scheme::Current => created(ClientToken {
            token: access,
            token_expires_at: access_exp,
        }),
    })
}
