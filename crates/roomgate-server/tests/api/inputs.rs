//! Text inputs are checked by the server, the same on every backend: a NUL (which PostgreSQL cannot store in
//! text) or invalid UTF-8 is a 422 naming the field or parameter, never a 500 from the database.
use reqwest::StatusCode;
use roomgate_store::backend_test;
use serde_json::json;

use crate::harness::{assert_error, assert_error_shape, TestApp};

backend_test! {
    async fn the_unique_name_filter_is_checked_like_a_unique_name(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        app.create_room(json!({ "unique_name": "a" })).await;
        let long = "x".repeat(256);
        for (value, code) in [
            ("%00", "10033"),
            ("a%00b", "10033"),
            ("%0A", "10033"),
            ("", "10033"),
            (long.as_str(), "10033"),
            ("%FF", "10026"),
            ("%C3%28", "10026"),
        ] {
            let resp = app
                .get(&format!("/v2/rooms?filter[unique_name]={value}"), Some(&app.api_key))
                .await;
            let error = assert_error_shape(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error["code"], code, "{value}: {error}");
            assert_eq!(error["source"]["parameter"], "filter[unique_name]", "{value}: {error}");
        }
        // Other parameters are held to UTF-8 too; unknown ones, whatever they hold, are ignored.
        let resp = app.get("/v2/rooms?page[size]=%FF", Some(&app.api_key)).await;
        let error = assert_error_shape(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error["source"]["parameter"], "page[size]", "{error}");
        let ignored = app.list_rooms(&app.api_key, "x=%00&%FF=1&filter[unique_name]=a").await;
        assert_eq!(ignored["meta"]["total_results"], 1);
    }
}

backend_test! {
    async fn nul_in_any_text_field_of_a_body_is_a_422(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for field in ["unique_name", "webhook_event_url", "webhook_event_failover_url"] {
            let value = if field == "unique_name" { "a\u{0}b" } else { "https://example.com/\u{0}" };
            let body = json!({ field: value });
            let pointer = format!("/{field}");
            let created = app.post_json("/v2/rooms", Some(&app.api_key), &body).await;
            assert_error(created, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some(&pointer)).await;
            let patched = app.patch_json(&format!("/v2/rooms/{room}"), Some(&app.api_key), &body).await;
            assert_error(patched, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some(&pointer)).await;
        }
        // The refresh token is only ever parsed, never stored or looked up as text: a NUL in it is the uniform 403.
        let resp = app
            .post_json(&format!("/v2/rooms/{room}/actions/refresh_access_token"), None, &json!({ "refresh_token": "a\u{0}b" }))
            .await;
        assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
    }
}
