//! Several replicas on one database behave as one service; signing keys rotate with no failed request.
use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use roomgate_server::{
    testing::{Backend, TestDatabase, TestKey, TestServer},
    Config,
};
use roomgate_store::backend_test;
use serde_json::{json, Value};

fn url(base: &str, path: &str) -> String {
    format!("{base}{path}")
}

/// Settings that make replicas pick up rotations quickly, and no rate limit gets in a load test's way.
pub(crate) fn fast_config() -> Config {
    let mut config = Config {
        key_reload_interval: Duration::from_millis(100),
        ..Config::default()
    };
    config.rate_limits.refresh_per_token = None;
    config.rate_limits.refresh_per_ip = None;
    config
}

/// `POST base+path` with `key` and an empty body, which must answer 201: the member `field` of its `data`.
async fn created(http: &reqwest::Client, base: &str, path: &str, key: &str, field: &str) -> String {
    let resp = http
        .post(url(base, path))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json::<Value>().await.expect("json")["data"][field]
        .as_str()
        .expect(field)
        .to_owned()
}

pub(crate) async fn create_room(http: &reqwest::Client, base: &str, key: &str) -> String {
    created(http, base, "/v2/rooms", key, "id").await
}

/// Mints on `base`: the refresh token.
async fn mint(http: &reqwest::Client, base: &str, key: &str, room: &str) -> String {
    let path = format!("/v2/rooms/{room}/actions/create_access_token");
    created(http, base, &path, key, "refresh_token").await
}

async fn refresh(http: &reqwest::Client, base: &str, room: &str, token: &str) -> StatusCode {
    http.post(url(
        base,
        &format!("/v2/rooms/{room}/actions/refresh_access_token"),
    ))
    .json(&json!({ "refresh_token": token }))
    .send()
    .await
    .expect("send")
    .status()
}

async fn jwks_kids(http: &reqwest::Client, base: &str) -> Vec<String> {
    let jwks: Value = http
        .get(url(base, "/.well-known/jwks.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

backend_test! {
    async fn a_token_minted_on_one_replica_refreshes_on_another(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let (a, b) = (TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), fast_config()).await);
        let http = reqwest::Client::new();
        let key = a.key.secret.clone();
        let room = create_room(&http, &a.address, &key).await;
        let token = mint(&http, &a.address, &key, &room).await;
        assert_eq!(refresh(&http, &b.address, &room, &token).await, StatusCode::CREATED);
        assert_eq!(jwks_kids(&http, &a.address).await, jwks_kids(&http, &b.address).await);
        assert_eq!(jwks_kids(&http, &a.address).await.len(), 1);
    }
}

backend_test! {
    async fn a_room_deleted_on_one_replica_stops_refreshes_on_another_at_once(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let (a, b) = (TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), fast_config()).await);
        let http = reqwest::Client::new();
        let key = a.key.secret.clone();
        let room = create_room(&http, &a.address, &key).await;
        let token = mint(&http, &a.address, &key, &room).await;
        assert_eq!(refresh(&http, &b.address, &room, &token).await, StatusCode::CREATED);
        let deleted = http.delete(a.url(&format!("/v2/rooms/{room}"))).bearer_auth(&key).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        // No cache: the very next refresh on B already sees the deletion (staleness bound: zero).
        assert_eq!(refresh(&http, &b.address, &room, &token).await, StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn a_key_revoked_through_one_replica_is_refused_by_another_at_once(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let (a, b) = (TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), fast_config()).await);
        let http = reqwest::Client::new();
        let store = roomgate_store::connect(db.url()).await.unwrap();
        let TestKey { id, secret: key } = a.key.clone();
        let list = |r: &TestServer| http.get(r.url("/v2/rooms")).bearer_auth(&key).send();
        assert_eq!(list(&b).await.unwrap().status(), StatusCode::OK);
        store.revoke_api_key(id, 2).await.unwrap();
        assert_eq!(list(&b).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(list(&a).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn one_hundred_concurrent_creates_of_one_name_give_one_room(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        // Several replicas on PostgreSQL; one server on SQLite, as a single-machine deployment runs.
        let replicas = match backend {
            Backend::Postgres => vec![TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), fast_config()).await],
            Backend::Sqlite => vec![TestServer::start_over(db.clone(), fast_config()).await],
        };
        let replicas = Arc::new(replicas);
        let key = replicas[0].key.secret.clone();
        let http = reqwest::Client::new();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (http, replicas, key) = (http.clone(), replicas.clone(), key.clone());
                tokio::spawn(async move {
                    let r = &replicas[i % replicas.len()];
                    let resp = http.post(r.url("/v2/rooms")).bearer_auth(&key).json(&json!({"unique_name": "standup"})).send().await.unwrap();
                    let status = resp.status();
                    let code = resp.json::<Value>().await.ok().and_then(|b| b["errors"][0]["code"].as_str().map(str::to_owned));
                    (status, code)
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                (StatusCode::CREATED, _) => created += 1,
                (StatusCode::UNPROCESSABLE_ENTITY, Some(code)) if code == "10012" => {}
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!(created, 1);
    }
}

backend_test! {
    async fn rotation_keeps_old_tokens_refreshing_and_a_load_through_it_sees_no_error(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let (a, b) = (TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), fast_config()).await);
        let http = reqwest::Client::new();
        let store = roomgate_store::connect(db.url()).await.unwrap();
        let key = a.key.secret.clone();
        let room = create_room(&http, &a.address, &key).await;
        let before = mint(&http, &a.address, &key, &room).await;
        let old_kids = jwks_kids(&http, &a.address).await;

        // A load of mints and refreshes on both replicas, running through the rotation.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load: Vec<_> = (0..4)
            .map(|i| {
                let (http, key, room, stop) = (http.clone(), key.clone(), room.clone(), stop.clone());
                let (mint_on, refresh_on) = if i % 2 == 0 { (a.address.clone(), b.address.clone()) } else { (b.address.clone(), a.address.clone()) };
                tokio::spawn(async move {
                    let mut done = 0u32;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let token = mint(&http, &mint_on, &key, &room).await;
                        assert_eq!(refresh(&http, &refresh_on, &room, &token).await, StatusCode::CREATED);
                        done += 1;
                    }
                    done
                })
            })
            .collect();

        tokio::time::sleep(Duration::from_millis(300)).await;
        let new = roomgate_server::keys::rotate(store.as_ref(), None, now(), 1, None).await.unwrap().expect("rotated");
        // Published on every replica before it signs.
        tokio::time::sleep(Duration::from_millis(400)).await;
        for r in [&a, &b] {
            assert!(jwks_kids(&http, &r.address).await.contains(&new.kid), "new key published before it signs");
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in load {
            assert!(task.await.expect("no request failed during the rotation") > 0);
        }

        // The new key signs now; the old one still verifies, on every replica.
        let after = mint(&http, &b.address, &key, &room).await;
        assert_eq!(kid_of(&after), new.kid);
        assert_ne!(kid_of(&before), new.kid);
        for r in [&a, &b] {
            assert_eq!(refresh(&http, &r.address, &room, &before).await, StatusCode::CREATED);
            let kids = jwks_kids(&http, &r.address).await;
            assert!(old_kids.iter().all(|k| kids.contains(k)), "previous key still published");
        }
    }
}

/// The signing key a refresh token's MAC secret comes from (its kid is that key's, prefixed).
fn kid_of(refresh_token: &str) -> String {
    use base64::Engine;
    let header = refresh_token.split('.').next().expect("header");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "HS256", "{header}");
    let kid = header["kid"].as_str().expect("kid");
    kid.strip_prefix(roomgate_token::REFRESH_KID_PREFIX)
        .expect("a refresh secret's kid")
        .to_owned()
}

#[allow(clippy::disallowed_methods)] // the rotation is stamped with the real time the replicas run on
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

backend_test! {
    async fn a_replica_that_has_not_reloaded_yet_learns_a_new_key_from_the_first_token_signed_with_it(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let slow = Config { key_reload_interval: Duration::from_secs(3600), ..fast_config() };
        let (a, b) = (TestServer::start_over(db.clone(), fast_config()).await, TestServer::start_over(db.clone(), slow).await);
        let http = reqwest::Client::new();
        let store = roomgate_store::connect(db.url()).await.unwrap();
        let key = a.key.secret.clone();
        let room = create_room(&http, &a.address, &key).await;
        let new = roomgate_server::keys::rotate(store.as_ref(), None, now(), 0, None).await.unwrap().expect("rotated");
        // A re-reads its keys every 100 ms; wait (boundedly) until it signs with the new one.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let token = loop {
            let token = mint(&http, &a.address, &key, &room).await;
            if kid_of(&token) == new.kid {
                break token;
            }
            assert!(std::time::Instant::now() < deadline, "A never signed with the new key");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(!jwks_kids(&http, &b.address).await.contains(&new.kid), "B has not re-read its keys");
        assert_eq!(refresh(&http, &b.address, &room, &token).await, StatusCode::CREATED);
        assert!(jwks_kids(&http, &b.address).await.contains(&new.kid));
    }
}

backend_test! {
    async fn scheduled_rotation_happens_once_between_replicas(backend: Backend) {
        let db = Arc::new(TestDatabase::new(backend).await);
        let scheduled = Config { rotate_every: Some(Duration::from_secs(2)), publish_delay: Duration::ZERO, ..fast_config() };
        let _a = TestServer::start_over(db.clone(), scheduled.clone()).await;
        let _b = TestServer::start_over(db.clone(), scheduled).await;
        let store = roomgate_store::connect(db.url()).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.signing_keys().await.unwrap().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "no scheduled rotation within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Both replicas found the key due; the store let exactly one of them rotate.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let keys = store.signing_keys().await.unwrap();
        assert_eq!(keys.len(), 2, "one rotation, not one per replica");
        assert!(keys[0].retire_at_secs.is_some(), "the replaced key is scheduled to retire");
    }
}
