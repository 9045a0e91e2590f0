//! The non-cryptographic parts of the hot paths: API-key hash + store lookups on SQLite, the JSON of the
//! wire types, and the whole request path in process (the router with every layer, the store read and the
//! signatures) next to the token work alone. `cargo bench -p roomgate-bench --bench hot_path`
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use roomgate_store::{NewApiKey, RoomRecord, Store};
use roomgate_types::{CreateAccessTokenRequest, Data, RefreshAccessTokenRequest, RoomAccessToken};
use uuid::Uuid;

/// The server's allocator (see `crates/roomgate/src/main.rs`), so that allocation costs what it costs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "rg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// A migrated SQLite store in `dir` with one key and one room of its account.
async fn seeded(dir: &std::path::Path) -> (Arc<dyn Store>, Uuid) {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = roomgate_store::connect(&url).await.expect("open the store");
    let account_id = store.ensure_account("bench", 0).await.expect("account");
    store
        .insert_api_key(&NewApiKey {
            id: Uuid::new_v4(),
            account_id,
            name: Some("bench".into()),
            prefix: SECRET[..9].into(),
            key_hash: roomgate_server::auth::hash(SECRET),
            created_at: 0,
        })
        .await
        .expect("api key");
    let room = RoomRecord {
        id: Uuid::new_v4(),
        account_id,
        unique_name: None,
        max_participants: 10,
        enable_recording: false,
        webhook_event_url: None,
        webhook_event_failover_url: None,
        webhook_timeout_secs: None,
        created_at: 0,
        updated_at: 0,
        active_session_id: None,
    };
    store.insert_room(&room).await.expect("room");
    (store, room.id)
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, room) = rt.block_on(seeded(dir.path()));

    let mut g = c.benchmark_group("store_sqlite");
    g.throughput(Throughput::Elements(1));
    g.bench_function("api_key_hash", |b| {
        b.iter(|| roomgate_server::auth::hash(black_box(SECRET)))
    });
    g.bench_function("hash_and_authorize_room", |b| {
        // create_access_token's one read.
        b.iter(|| {
            rt.block_on(store.authorize_room(&roomgate_server::auth::hash(SECRET), room))
                .expect("read")
        })
    });
    g.bench_function("hash_and_authenticate", |b| {
        b.iter(|| {
            rt.block_on(store.authenticate(&roomgate_server::auth::hash(SECRET)))
                .expect("read")
        })
    });
    g.bench_function("room_exists", |b| {
        // refresh_access_token's one read.
        b.iter(|| rt.block_on(store.room_exists(room)).expect("read"))
    });
    g.finish();
}

fn wire_json(c: &mut Criterion) {
    let create_body = br#"{"ttl_secs":600,"refresh_token_ttl_secs":3600}"#;
    let token = "eyJhbGciOiJFZERTQSJ9.".to_owned() + &"x".repeat(560) + "." + &"s".repeat(86);
    let refresh_body =
        serde_json::to_vec(&serde_json::json!({"refresh_token": token, "ttl_secs": 600})).expect("json");
    let response = Data::new(RoomAccessToken {
        access_token: token.clone(),
        access_token_expires_at: "2024-01-01T00:10:00Z".into(),
        refresh_token: token.clone(),
        refresh_token_expires_at: "2024-01-01T01:00:00Z".into(),
    });

    let mut g = c.benchmark_group("wire_json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_create_request_value", |b| {
        // The server parses bodies as a JSON object first (refusing duplicate members), to name the offending
        // field in errors.
        b.iter(|| roomgate_token::parse_json_strict(black_box(create_body)).expect("json"))
    });
    g.bench_function("decode_create_request_typed", |b| {
        b.iter(|| serde_json::from_slice::<CreateAccessTokenRequest>(black_box(create_body)).expect("json"))
    });
    g.bench_function("decode_refresh_request_value", |b| {
        b.iter(|| roomgate_token::parse_json_strict(black_box(&refresh_body)).expect("json"))
    });
    g.bench_function("decode_refresh_request_typed", |b| {
        b.iter(|| {
            serde_json::from_slice::<RefreshAccessTokenRequest>(black_box(&refresh_body)).expect("json")
        })
    });
    g.bench_function("encode_create_response", |b| {
        b.iter(|| serde_json::to_vec(black_box(&response)).expect("json"))
    });
    g.finish();
}

/// The whole request path in process: `router.oneshot(request)` with every layer (request id, span, metrics,
/// timeout, rate limits), the store read and the response body, against the token work alone (claims,
/// signatures, verification). Their difference is roomgate's in-process overhead; sockets are not involved.
fn request_path(c: &mut Criterion) {
    use http_body_util::BodyExt as _;
    use roomgate_token::{Claims, TokenKind, TokenSpec, Validation};
    use tower::ServiceExt as _;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, room) = rt.block_on(seeded(dir.path()));
    let mut config = roomgate_server::Config::default();
    let unlimited = roomgate_server::ratelimit::Rate::new(1_000_000_000, 1_000_000_000);
    config.rate_limits = roomgate_server::ratelimit::RateLimitConfig {
        refresh_per_ip: unlimited,
        refresh_per_token: unlimited,
        auth_failures_per_ip: unlimited,
        per_api_key: unlimited,
    };
    let state = rt
        .block_on(roomgate_server::AppState::new(store, config))
        .expect("state");
    let router = roomgate_server::router(state);
    let call = |path: String, bearer: bool, body: Vec<u8>| {
        let mut req = axum::http::Request::post(path).header("content-type", "application/json");
        if bearer {
            req = req.header("authorization", format!("Bearer {SECRET}"));
        }
        let req = req.body(axum::body::Body::from(body)).expect("request");
        let router = router.clone();
        rt.block_on(async move {
            let response = router.oneshot(req).await.expect("infallible");
            assert_eq!(response.status(), axum::http::StatusCode::CREATED);
            response.into_body().collect().await.expect("body").to_bytes()
        })
    };
    let create_path = format!("/v2/rooms/{room}/actions/create_access_token");
    let create_body = br#"{"ttl_secs":600,"refresh_token_ttl_secs":3600}"#.to_vec();
    let pair: serde_json::Value =
        serde_json::from_slice(&call(create_path.clone(), true, create_body.clone())).expect("json");
    let refresh_token = pair["data"]["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let refresh_path = format!("/v2/rooms/{room}/actions/refresh_access_token");
    let refresh_body =
        serde_json::to_vec(&serde_json::json!({"refresh_token": refresh_token, "ttl_secs": 600}))
            .expect("json");

    let key = roomgate_token::SigningKey::generate();
    let keys = roomgate_token::KeySet::new([key.verification_key()]);
    let refresh_key = roomgate_token::RefreshKey::derive(&key);
    let refresh_keys = roomgate_token::RefreshKeys::new([refresh_key.clone()]);
    let token = refresh_key.sign(&Claims::mint(
        &TokenSpec {
            kind: TokenKind::Refresh,
            room_id: room,
            subjects: vec!["s".into()],
            issuer: "i",
            audience: "a",
            ttl_secs: 3600,
            participant: None,
        },
        1000,
    ));
    let validation = Validation::new(TokenKind::Refresh)
        .issuer("i")
        .audience("a")
        .room(room);
    let mint = |kind| {
        let claims = Claims::mint(
            &TokenSpec {
                kind,
                room_id: room,
                subjects: vec!["s".into()],
                issuer: "i",
                audience: "a",
                ttl_secs: 600,
                participant: None,
            },
            1000,
        );
        match kind {
            TokenKind::Access => key.sign(&claims),
            TokenKind::Refresh => refresh_key.sign(&claims),
        }
    };

    let mut g = c.benchmark_group("request_path");
    g.throughput(Throughput::Elements(1));
    g.bench_function("create_access_token_router", |b| {
        b.iter(|| call(create_path.clone(), true, create_body.clone()))
    });
    g.bench_function("create_tokens_alone", |b| {
        b.iter(|| (mint(TokenKind::Access), mint(TokenKind::Refresh)))
    });
    g.bench_function("refresh_access_token_router", |b| {
        b.iter(|| call(refresh_path.clone(), false, refresh_body.clone()))
    });
    g.bench_function("refresh_tokens_alone", |b| {
        b.iter(|| {
            roomgate_token::verify_refresh(black_box(&token), &refresh_keys, Some(&keys), &validation, 2000)
                .expect("valid");
            mint(TokenKind::Access)
        })
    });
    g.finish();
}

criterion_group!(benches, store, wire_json, request_path);
criterion_main!(benches);
