//! The per-account room limit (`--max-rooms-per-account`): exact under concurrency, a 403 no SDK retries.
use reqwest::StatusCode;
use roomgate_server::Config;
use roomgate_store::backend_test;
use serde_json::json;

use crate::harness::{assert_error_shape, string, TestApp};

async fn limited(backend: roomgate_store::testing::Backend, max: u64) -> TestApp {
    TestApp::spawn_with(
        backend,
        Config {
            max_rooms_per_account: Some(max),
            ..Config::default()
        },
    )
    .await
}

backend_test! {
    async fn creating_a_room_past_the_limit_is_a_403_not_retried(backend: Backend) {
        let app = limited(backend, 3).await;
        let mut rooms = Vec::new();
        for _ in 0..3 {
            rooms.push(app.new_room().await);
        }
        let resp = app.post_json("/v2/rooms", Some(&app.api_key), &json!({})).await;
        assert_eq!(resp.headers()["x-should-retry"], "false");
        let error = assert_error_shape(resp, StatusCode::FORBIDDEN).await;
        assert_eq!(error["code"], "10010", "{error}");
        assert_eq!(error["title"], "Room limit reached", "{error}");
        assert_eq!(error["meta"]["max_rooms_per_account"], 3, "{error}");
        assert!(error.get("source").is_none(), "{error}");
        assert_eq!(app.list_rooms(&app.api_key, "").await["meta"]["total_results"], 3);

        // Deleting one frees one slot, and only one.
        let resp = app.delete(&format!("/v2/rooms/{}", rooms[0]), Some(&app.api_key)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        app.new_room().await;
        let past = app.post_json("/v2/rooms", Some(&app.api_key), &json!({})).await;
        assert_eq!(past.status(), StatusCode::FORBIDDEN);

        // Another account has its own allowance.
        let other = app.new_api_key("other").await;
        let theirs = app.create_room_as(&other.secret, json!({})).await;
        assert!(!string(&theirs["id"]).is_empty());
    }
}

backend_test! {
    async fn concurrent_creates_stop_exactly_at_the_limit(backend: Backend) {
        let app = limited(backend, 10).await;
        for _ in 0..7 {
            app.new_room().await;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..30 {
            let (client, url, key) = (app.client.clone(), app.url("/v2/rooms"), app.api_key.clone());
            tasks.spawn(async move {
                client.post(url).bearer_auth(key).json(&json!({})).send().await.expect("request reaches the server").status()
            });
        }
        let (mut created, mut refused) = (0, 0);
        while let Some(status) = tasks.join_next().await {
            match status.expect("task") {
                StatusCode::CREATED => created += 1,
                StatusCode::FORBIDDEN => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((created, refused), (3, 27), "at the limit of 10, and never one past");
        let listed = app.list_rooms(&app.api_key, "page[size]=250").await;
        assert_eq!(listed["meta"]["total_results"], 10);
        assert_eq!(listed["data"].as_array().unwrap().len(), 10);
    }
}

backend_test! {
    async fn the_limit_is_on_by_default_and_can_be_turned_off(backend: Backend) {
        assert_eq!(Config::default().max_rooms_per_account, Some(roomgate_server::DEFAULT_MAX_ROOMS_PER_ACCOUNT));
        let app = TestApp::spawn_with(backend, Config { max_rooms_per_account: None, ..Config::default() }).await;
        for _ in 0..3 {
            app.new_room().await;
        }
        assert_eq!(app.list_rooms(&app.api_key, "").await["meta"]["total_results"], 3);
    }
}
