//! API keys: every endpoint but refresh, JWKS and health needs a valid, unrevoked bearer key.
use reqwest::{header, Method, Response, StatusCode};
use roomgate_server::Clock;
use roomgate_store::backend_test;
use serde_json::json;

use crate::harness::{assert_error, Scheme, TestApp};

/// Every keyed endpoint, against an existing room.
async fn keyed_endpoints(app: &TestApp) -> Vec<(Method, String)> {
    let room = app.new_room().await;
    vec![
        (Method::GET, "/v2/rooms".to_owned()),
        (Method::POST, "/v2/rooms".to_owned()),
        (Method::GET, format!("/v2/rooms/{room}")),
        (Method::PATCH, format!("/v2/rooms/{room}")),
        (Method::DELETE, format!("/v2/rooms/{room}")),
        (Method::POST, Scheme::Original.create_path(&room)),
        (Method::POST, Scheme::Current.create_path(&room)),
    ]
}

/// Sends `{}` (for methods with a body) under the given `Authorization` header value.
async fn send_with(app: &TestApp, method: &Method, path: &str, authorization: Option<&str>) -> Response {
    let mut builder = app.request(method.clone(), path, None);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if matches!(*method, Method::POST | Method::PATCH) {
        builder = builder.json(&json!({}));
    }
    builder.send().await.expect("request reaches the server")
}

async fn assert_all_unauthorized(app: &TestApp, endpoints: &[(Method, String)], authorization: Option<&str>) {
    for (method, path) in endpoints {
        let resp = send_with(app, method, path, authorization).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
    }
}

backend_test! {
    async fn requests_without_a_key_are_401_10009(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let endpoints = keyed_endpoints(&app).await;
        assert_all_unauthorized(&app, &endpoints, None).await;
    }
}

/// Each header value on a fresh server: a per-client limit on failed authentications must never be what
/// answers here.
async fn assert_unauthorized_on_a_fresh_server(authorization: impl Fn(&TestApp) -> String) {
    let app = TestApp::spawn().await;
    let endpoints = keyed_endpoints(&app).await;
    assert_all_unauthorized(&app, &endpoints, Some(&authorization(&app))).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_401_10009() {
    for fixed in ["Bearer", "Bearer ", "Basic xxx", ""] {
        assert_unauthorized_on_a_fresh_server(|_| fixed.to_owned()).await;
    }
    assert_unauthorized_on_a_fresh_server(|app| app.api_key.clone()).await;
    assert_unauthorized_on_a_fresh_server(|app| format!("Basic {}", app.api_key)).await;
}

#[tokio::test]
async fn unknown_keys_are_401_10009() {
    assert_unauthorized_on_a_fresh_server(|_| "Bearer rg_unknown".to_owned()).await;
    assert_unauthorized_on_a_fresh_server(|app| format!("Bearer {}x", app.api_key)).await;
    assert_unauthorized_on_a_fresh_server(|_| format!("Bearer {}", "k".repeat(600))).await;
}

backend_test! {
    async fn revoked_keys_are_401_10009_and_other_keys_still_work(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let endpoints = keyed_endpoints(&app).await;
        let spare = app.new_api_key("default").await;
        let now = roomgate_server::timefmt::unix_micros(app.clock.now());
        let before = app.get("/v2/rooms", Some(&app.api_key)).await;
        assert_eq!(before.status(), StatusCode::OK);

        app.store.revoke_api_key(app.api_key_id, now).await.unwrap();

        assert_all_unauthorized(&app, &endpoints, Some(&format!("Bearer {}", app.api_key))).await;
        let spare_still_works = app.get("/v2/rooms", Some(&spare.secret)).await;
        assert_eq!(spare_still_works.status(), StatusCode::OK);
    }
}

backend_test! {
    async fn the_bearer_scheme_is_case_insensitive(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let value = format!("{scheme} {}", app.api_key);
            let listed = send_with(&app, &Method::GET, "/v2/rooms", Some(&value)).await;
            assert_eq!(listed.status(), StatusCode::OK, "{scheme}");
            let minted = send_with(
                &app,
                &Method::POST,
                &Scheme::Original.create_path(&room),
                Some(&value),
            )
            .await;
            assert_eq!(minted.status(), StatusCode::CREATED, "{scheme}");
        }
    }
}

backend_test! {
    async fn authentication_is_answered_before_the_body_is_judged(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let bad_bodies = [
            json!({ "max_participants": 99 }),
            json!({ "ttl_secs": 1, "token_ttl_secs": 1 }),
        ];
        let paths = [
            "/v2/rooms".to_owned(),
            Scheme::Original.create_path(&room),
            Scheme::Current.create_path(&room),
        ];
        for path in &paths {
            for body in &bad_bodies {
                for key in [None, Some("rg_unknown")] {
                    let resp = app.post_json(path, key, body).await;
                    assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
                }
            }
        }
    }
}

backend_test! {
    async fn a_bad_key_learns_nothing_about_which_rooms_exist(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let unknown = uuid::Uuid::new_v4().to_string();
        for scheme in Scheme::BOTH {
            for id in [&room, &unknown] {
                let resp = app
                    .post_json(&scheme.create_path(id), Some("rg_unknown"), &json!({}))
                    .await;
                assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
            }
        }
    }
}
