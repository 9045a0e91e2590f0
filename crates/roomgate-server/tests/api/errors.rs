//! Bad requests of every kind get the Telnyx error body, never a 500.
use reqwest::{Method, StatusCode};
use roomgate_store::backend_test;
use serde_json::json;

use crate::harness::{assert_error, assert_error_shape, Scheme, TestApp};

/// Every endpoint that reads a body: (method, path, whether it needs the API key).
async fn body_endpoints(app: &TestApp) -> Vec<(Method, String, bool)> {
    let room = app.new_room().await;
    let mut endpoints = vec![
        (Method::POST, "/v2/rooms".to_owned(), true),
        (Method::PATCH, format!("/v2/rooms/{room}"), true),
    ];
    for scheme in Scheme::BOTH {
        endpoints.push((Method::POST, scheme.create_path(&room), true));
        endpoints.push((Method::POST, scheme.refresh_path(&room), false));
    }
    endpoints
}

backend_test! {
    async fn bodies_that_are_not_a_json_object_are_400_10015(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let bodies: [&[u8]; 8] = [
            b"{\"unique_name\":",
            b"{unique_name: 1}",
            b"[]",
            b"\"x\"",
            b"42",
            b"null",
            b"{\"refresh_token\":\"\xff\xfe\"}",
            b"{} {}",
        ];
        for (method, path, keyed) in body_endpoints(&app).await {
            let key = keyed.then_some(app.api_key.as_str());
            for body in bodies {
                let resp = app
                    .send_raw(
                        method.clone(),
                        &path,
                        key,
                        Some("application/json"),
                        body.to_vec(),
                    )
                    .await;
                assert_error(resp, StatusCode::BAD_REQUEST, "10015", None).await;
            }
        }
    }
}

backend_test! {
    async fn bodies_that_are_not_declared_json_are_415_10014(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for (method, path, keyed) in body_endpoints(&app).await {
            let key = keyed.then_some(app.api_key.as_str());
            for content_type in [
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/jsonx",
            ] {
                let resp = app
                    .send_raw(method.clone(), &path, key, Some(content_type), "{}")
                    .await;
                assert_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "10014", None).await;
            }
        }
    }
}

backend_test! {
    async fn json_with_parameters_in_the_content_type_is_accepted(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
            let resp = app
                .send_raw(
                    Method::POST,
                    "/v2/rooms",
                    Some(&app.api_key),
                    Some(content_type),
                    "{}",
                )
                .await;
            assert_eq!(resp.status(), StatusCode::CREATED, "{content_type}");
        }
    }
}

/// A JSON object of exactly `len` bytes whose unique_name is too long to be valid.
fn object_of_len(len: usize) -> Vec<u8> {
    let padding = len - r#"{"unique_name":""}"#.len();
    format!(r#"{{"unique_name":"{}"}}"#, "x".repeat(padding)).into_bytes()
}

backend_test! {
    async fn bodies_over_64_kib_are_413(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for (method, path, keyed) in body_endpoints(&app).await {
            let key = keyed.then_some(app.api_key.as_str());
            let at_limit = app
                .send_raw(
                    method.clone(),
                    &path,
                    key,
                    Some("application/json"),
                    object_of_len(64 * 1024),
                )
                .await;
            assert_ne!(
                at_limit.status(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "{method} {path}"
            );
            assert!(at_limit.status().is_client_error() || at_limit.status().is_success());
            let over = app
                .send_raw(
                    method.clone(),
                    &path,
                    key,
                    Some("application/json"),
                    object_of_len(64 * 1024 + 1),
                )
                .await;
            assert_error_shape(over, StatusCode::PAYLOAD_TOO_LARGE).await;
        }
    }
}

backend_test! {
    async fn unknown_rooms_are_404_10005(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let path = format!("/v2/rooms/{unknown}");
        let key = Some(app.api_key.as_str());

        assert_error(app.get(&path, key).await, StatusCode::NOT_FOUND, "10005", None).await;
        let patch = app
            .patch_json(&path, key, &json!({ "enable_recording": true }))
            .await;
        assert_error(patch, StatusCode::NOT_FOUND, "10005", None).await;
        assert_error(app.delete(&path, key).await, StatusCode::NOT_FOUND, "10005", None).await;
        for scheme in Scheme::BOTH {
            let resp = app.create_token(scheme, &unknown, &json!({})).await;
            assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        }
    }
}

backend_test! {
    async fn room_ids_that_are_not_uuids_are_404_10005(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let key = Some(app.api_key.as_str());
        for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
            let path = format!("/v2/rooms/{bad}");
            assert_error(app.get(&path, key).await, StatusCode::NOT_FOUND, "10005", None).await;
            let patch = app.patch_json(&path, key, &json!({})).await;
            assert_error(patch, StatusCode::NOT_FOUND, "10005", None).await;
            assert_error(app.delete(&path, key).await, StatusCode::NOT_FOUND, "10005", None).await;
            for scheme in Scheme::BOTH {
                let created = app.create_token(scheme, bad, &json!({})).await;
                assert_error(created, StatusCode::NOT_FOUND, "10005", None).await;
                let refreshed = app.refresh_token(scheme, bad, "a.b.c").await;
                assert_error(refreshed, StatusCode::NOT_FOUND, "10005", None).await;
            }
        }
    }
}

backend_test! {
    async fn unknown_paths_are_404_with_a_json_error(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let paths = [
            "/".to_owned(),
            "/v2".to_owned(),
            "/v2/nope".to_owned(),
            "/v1/rooms".to_owned(),
            format!("/v2/rooms/{room}/actions/nope"),
            format!("/v2/rooms/{room}/extra"),
        ];
        for path in paths {
            let resp = app.get(&path, Some(&app.api_key)).await;
            assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        }
    }
}

backend_test! {
    async fn wrong_methods_are_405_with_a_json_error(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let cases = [
            (Method::PUT, "/v2/rooms".to_owned()),
            (Method::DELETE, "/v2/rooms".to_owned()),
            (Method::PUT, format!("/v2/rooms/{room}")),
            (Method::POST, format!("/v2/rooms/{room}")),
            (Method::GET, Scheme::Original.create_path(&room)),
            (Method::GET, Scheme::Current.refresh_path(&room)),
            (Method::POST, "/.well-known/jwks.json".to_owned()),
            (Method::POST, "/healthz".to_owned()),
        ];
        for (method, path) in cases {
            let resp = app.send_raw(method, &path, Some(&app.api_key), None, "").await;
            assert_error_shape(resp, StatusCode::METHOD_NOT_ALLOWED).await;
        }
    }
}

backend_test! {
    async fn client_errors_tell_sdks_not_to_retry(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let key = Some(app.api_key.as_str());
        let responses = [
            app.send_raw(Method::POST, "/v2/rooms", key, Some("application/json"), "[")
                .await,
            app.get("/v2/rooms", None).await,
            app.refresh_token(Scheme::Original, &room, "garbage").await,
            app.get("/v2/nope", key).await,
            app.send_raw(Method::PUT, "/v2/rooms", key, None, "").await,
            app.send_raw(Method::POST, "/v2/rooms", key, Some("text/plain"), "{}")
                .await,
            app.post_json("/v2/rooms", key, &json!({ "max_participants": 99 }))
                .await,
        ];
        for resp in responses {
            let status = resp.status();
            assert!(status.is_client_error(), "{status}");
            let retry = resp
                .headers()
                .get("x-should-retry")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(retry.as_deref(), Some("false"), "{status}");
        }
    }
}

/// What a client generated from Telnyx's original document decodes 403 and 404 bodies into: one bare `Error`.
#[derive(Debug, serde::Deserialize)]
struct BareError {
    code: String,
    title: String,
    detail: String,
}

backend_test! {
    async fn clients_reading_a_bare_error_object_find_the_first_error(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let unknown = uuid::Uuid::new_v4();
        let answers = [
            (app.refresh_token(Scheme::Original, &room, "a.b.c").await, StatusCode::FORBIDDEN, "10010"),
            (app.get_room(&unknown.to_string()).await, StatusCode::NOT_FOUND, "10005"),
            (app.get("/v2/rooms", None).await, StatusCode::UNAUTHORIZED, "10009"),
            (
                app.post_json("/v2/rooms", Some(&app.api_key), &json!({ "max_participants": 99 })).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10033",
            ),
        ];
        for (resp, status, code) in answers {
            assert_eq!(resp.status(), status);
            let body: serde_json::Value = resp.json().await.expect("JSON");
            let bare: BareError = serde_json::from_value(body.clone()).expect("a bare Error decodes");
            assert_eq!(bare.code, code, "{body}");
            assert_eq!(bare.title, body["errors"][0]["title"], "{body}");
            assert_eq!(bare.detail, body["errors"][0]["detail"], "{body}");
            assert!(!bare.title.is_empty() && !bare.detail.is_empty(), "{body}");
        }
    }
}
