//! A restart on the same SQLite file loses nothing: rooms, keys, signing keys.
use reqwest::StatusCode;
use roomgate_store::backend_test;
use serde_json::{json, Value};

use crate::{
    harness::{assert_error, json_body, string, Scheme, TestApp},
    jwt::decode,
};

async fn jwks(app: &TestApp) -> Value {
    json_body(app.get("/.well-known/jwks.json", None).await, StatusCode::OK).await
}

backend_test! {
    async fn rooms_survive_a_restart(backend: Backend) {
        let mut app = TestApp::spawn_on(backend).await;
        let named = app
            .create_room(json!({ "unique_name": "kept", "max_participants": 3 }))
            .await;
        let plain = app.create_room(json!({})).await;
        let path = format!("/v2/rooms/{}", string(&plain["id"]));
        let patched = app
            .patch_json(
                &path,
                Some(&app.api_key),
                &json!({ "webhook_event_url": "https://example.com/h" }),
            )
            .await;
        let patched = json_body(patched, StatusCode::OK).await["data"].clone();
        let listed_before = app.list_rooms(&app.api_key, "").await;

        app.restart().await;

        let listed_after = app.list_rooms(&app.api_key, "").await;
        assert_eq!(listed_after, listed_before);
        for room in [&named, &patched] {
            let viewed = json_body(app.get_room(&string(&room["id"])).await, StatusCode::OK).await;
            assert_eq!(&viewed["data"], room);
        }
        let duplicate = app
            .post_json("/v2/rooms", Some(&app.api_key), &json!({ "unique_name": "kept" }))
            .await;
        assert_error(
            duplicate,
            StatusCode::UNPROCESSABLE_ENTITY,
            "10012",
            Some("/unique_name"),
        )
        .await;
    }
}

backend_test! {
    async fn refresh_tokens_and_signing_keys_survive_a_restart(backend: Backend) {
        let mut app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let seed = app.mint(Scheme::Original, &room, &json!({})).await;
        let current = app.mint(Scheme::Current, &room, &json!({})).await;
        let jwks_before = jwks(&app).await;

        app.restart().await;

        assert_eq!(jwks(&app).await, jwks_before, "same keys, same kids");
        for (scheme, minted) in [(Scheme::Original, &seed), (Scheme::Current, &current)] {
            let resp = app.refresh_token(scheme, &room, &minted.refresh).await;
            let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
            let fresh = decode(data[scheme.token_field()].as_str().unwrap());
            assert_eq!(fresh.header["kid"], decode(&minted.access).header["kid"]);
        }
        let new_tokens = app.mint(Scheme::Original, &room, &json!({})).await;
        assert_eq!(
            decode(&new_tokens.access).header["kid"],
            decode(&seed.access).header["kid"]
        );
    }
}

backend_test! {
    async fn api_keys_survive_a_restart(backend: Backend) {
        let mut app = TestApp::spawn_on(backend).await;
        let other = app.new_api_key("other").await;
        let revoked = app.new_api_key("default").await;
        let now = roomgate_server::timefmt::unix_micros(roomgate_server::Clock::now(&app.clock));
        app.store.revoke_api_key(revoked.id, now).await.unwrap();

        app.restart().await;

        for key in [&app.api_key, &other.secret] {
            assert_eq!(app.get("/v2/rooms", Some(key)).await.status(), StatusCode::OK);
        }
        let resp = app.get("/v2/rooms", Some(&revoked.secret)).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
    }
}
