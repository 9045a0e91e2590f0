//! `roomgate-floor`: the least an HTTP token endpoint can cost on this machine, for the benchmark to compare with.
//!
//! The same tokio runtime, hyper HTTP/1.1 connection, allocator, JSON request parsing and token layer
//! (`roomgate_token`: the same claims, the same Ed25519 signature and refresh-token MAC per create, the same MAC
//! check and one signature per refresh) as `roomgate serve`, and nothing else: no store, no authentication beyond comparing the
//! bearer with one key, no router, middleware, rate limits, metrics or logs. `roomgate-bench --floor` starts it
//! and drives it like roomgate; roomgate's CPU per request minus this one's is what roomgate's own design costs.
//!
//! ```text
//! roomgate-floor 127.0.0.1:PORT API_KEY
//! ```
//!
//! Not a server to deploy: it answers any room id, keeps nothing, and generates a new signing key per start.
use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{body::Incoming, header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use roomgate_server::timefmt::secs_rfc3339;
use roomgate_token::{Claims, KeySet, RefreshKey, RefreshKeys, SigningKey, TokenKind, TokenSpec, Validation};
use roomgate_types::{AccessToken, Data, RoomAccessToken};
use serde_json::{json, Value};
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ISSUER: &str = "roomgate-floor";
const AUDIENCE: &str = "roomgate-floor";
/// The largest body read, as roomgate's limit.
const MAX_BODY: usize = 64 * 1024;

struct Floor {
    bearer: String,
    key: SigningKey,
    keys: KeySet,
    refresh_key: RefreshKey,
    refresh_keys: RefreshKeys,
    account: Uuid,
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(api_key)) = (args.next(), args.next()) else {
        eprintln!("usage: roomgate-floor 127.0.0.1:PORT API_KEY");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let key = SigningKey::generate();
    let floor = Arc::new(Floor {
        bearer: format!("Bearer {api_key}"),
        keys: KeySet::new([key.verification_key()]),
        refresh_key: RefreshKey::derive(&key),
        refresh_keys: RefreshKeys::new([RefreshKey::derive(&key)]),
        key,
        account: Uuid::new_v4(),
    });
    // As `roomgate serve`: tokio's multi-threaded runtime, one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(addr, floor))
}

async fn run(addr: SocketAddr, floor: Arc<Floor>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let floor = floor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let floor = floor.clone();
                async move { Ok::<_, Infallible>(floor.answer(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Floor {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let authorized = parts
            .headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == self.bearer.as_bytes());
        if parts.method == Method::GET && path == "/readyz" {
            return reply(StatusCode::OK, json!({"status": "ok"}));
        }
        if parts.method != Method::POST {
            return reply(StatusCode::METHOD_NOT_ALLOWED, json!({"errors": []}));
        }
        let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
            return reply(StatusCode::BAD_REQUEST, json!({"errors": []}));
        };
        let Ok(Value::Object(body)) = roomgate_token::parse_json_strict(&body.to_bytes()) else {
            return reply(StatusCode::BAD_REQUEST, json!({"errors": []}));
        };
        let ttl = |name: &str, default: i64| body.get(name).and_then(Value::as_i64).unwrap_or(default);
        let now = unix_now();
        if path == "/v2/rooms" {
            if !authorized {
                return reply(StatusCode::UNAUTHORIZED, json!({"errors": []}));
            }
            return reply(StatusCode::CREATED, json!({"data": {"id": Uuid::new_v4()}}));
        }
        let Some((room, action)) = path
            .strip_prefix("/v2/rooms/")
            .and_then(|rest| rest.split_once("/actions/"))
        else {
            return reply(StatusCode::NOT_FOUND, json!({"errors": []}));
        };
        let Ok(room) = Uuid::try_parse(room) else {
            return reply(StatusCode::NOT_FOUND, json!({"errors": []}));
        };
        match action {
            "create_access_token" => {
                if !authorized {
                    return reply(StatusCode::UNAUTHORIZED, json!({"errors": []}));
                }
                let subjects = vec![format!("telnyx:users:{}", self.account)];
                let access = self.mint(
                    TokenKind::Access,
                    room,
                    subjects.clone(),
                    now,
                    ttl("ttl_secs", 600),
                );
                let refresh = self.mint(
                    TokenKind::Refresh,
                    room,
                    subjects,
                    now,
                    ttl("refresh_token_ttl_secs", 3600),
                );
                created(&Data::new(RoomAccessToken {
                    access_token: access.0,
                    access_token_expires_at: access.1,
                    refresh_token: refresh.0,
                    refresh_token_expires_at: refresh.1,
                }))
            }
            "refresh_access_token" => {
                let Some(token) = body.get("refresh_token").and_then(Value::as_str) else {
                    return reply(StatusCode::UNPROCESSABLE_ENTITY, json!({"errors": []}));
                };
                let validation = Validation::new(TokenKind::Refresh)
                    .issuer(ISSUER)
                    .audience(AUDIENCE)
                    .room(room);
                let checked = roomgate_token::verify_refresh(
                    token,
                    &self.refresh_keys,
                    Some(&self.keys),
                    &validation,
                    now,
                );
                let Ok(claims) = checked else {
                    return reply(StatusCode::FORBIDDEN, json!({"errors": []}));
                };
                let subjects = claims.grants.into_iter().flat_map(|g| g.subjects).collect();
                let access = self.mint(TokenKind::Access, room, subjects, now, ttl("ttl_secs", 600));
                created(&Data::new(AccessToken {
                    access_token: access.0,
                    access_token_expires_at: access.1,
                }))
            }
            _ => reply(StatusCode::NOT_FOUND, json!({"errors": []})),
        }
    }

    /// A signed token and its expiry on the wire, as roomgate writes them.
    fn mint(
        &self,
        kind: TokenKind,
        room: Uuid,
        subjects: Vec<String>,
        now: i64,
        ttl: i64,
    ) -> (String, String) {
        let claims = Claims::mint(
            &TokenSpec {
                kind,
                room_id: room,
                subjects,
                issuer: ISSUER,
                audience: AUDIENCE,
                ttl_secs: ttl,
                participant: None,
            },
            now,
        );
        let token = match kind {
            TokenKind::Access => self.key.sign(&claims),
            TokenKind::Refresh => {
                let claims = Claims {
                    api_key_id: Some(self.account),
                    ..claims
                };
                self.refresh_key.sign(&claims)
            }
        };
        (token, secs_rfc3339(claims.exp))
    }
}

/// 201 with one of roomgate's response types, serialized as roomgate does (typed, not through a `Value`).
fn created(body: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    respond(StatusCode::CREATED, Bytes::from(bytes))
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    respond(status, Bytes::from(body.to_string()))
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[allow(
    clippy::disallowed_methods,
    reason = "the floor reads the system clock directly, as roomgate's SystemClock does"
)]
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
