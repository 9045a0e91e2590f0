//! `/v2/rooms`: create, view, update, delete, and unique names.
use reqwest::StatusCode;
use roomgate_server::Clock;
use roomgate_store::backend_test;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::harness::{assert_error, assert_micros_timestamp, json_body, string, TestApp};

backend_test! {
    async fn create_room_returns_201_with_telnyx_defaults(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let resp = app.post_json("/v2/rooms", Some(&app.api_key), &json!({})).await;
        let body = json_body(resp, StatusCode::CREATED).await;

        let room = &body["data"];
        let id = string(&room["id"]);
        let uuid = Uuid::parse_str(&id).expect("id is a UUID");
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(id, uuid.hyphenated().to_string(), "lower-case hyphenated");
        assert_eq!(room["record_type"], "room");
        assert_eq!(room["max_participants"], 10);
        assert_eq!(room["enable_recording"], false);
        for nullable in [
            "unique_name",
            "webhook_event_url",
            "webhook_event_failover_url",
            "webhook_timeout_secs",
            "active_session_id",
        ] {
            assert_eq!(room[nullable], Value::Null, "{nullable}: {room}");
        }
        let created = assert_micros_timestamp(room["created_at"].as_str().unwrap());
        let updated = assert_micros_timestamp(room["updated_at"].as_str().unwrap());
        assert_eq!(created, updated);
        let drift = (created - app.clock.now()).abs();
        assert!(drift < time::Duration::seconds(5), "created_at is now: {created}");
    }
}

backend_test! {
    async fn create_room_keeps_every_given_field(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let given = json!({
            "unique_name": "standup",
            "max_participants": 2,
            "enable_recording": true,
            "webhook_event_url": "https://example.com/hook",
            "webhook_event_failover_url": "https://example.com/failover",
            "webhook_timeout_secs": 25,
        });

        let room = app.create_room(given.clone()).await;

        for (field, value) in given.as_object().unwrap() {
            assert_eq!(&room[field], value, "{field}");
        }
    }
}

backend_test! {
    async fn view_room_returns_what_create_returned(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let created = app.create_room(json!({ "unique_name": "viewed" })).await;

        let viewed = json_body(app.get_room(&string(&created["id"])).await, StatusCode::OK).await;

        assert_eq!(viewed["data"], created);
    }
}

backend_test! {
    async fn max_participants_accepts_2_to_50_only(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for ok in [2, 50] {
            let room = app.create_room(json!({ "max_participants": ok })).await;
            assert_eq!(room["max_participants"], ok);
        }
        for bad in [1, 51, 0, -1] {
            let resp = app
                .post_json(
                    "/v2/rooms",
                    Some(&app.api_key),
                    &json!({ "max_participants": bad }),
                )
                .await;
            assert_error(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10033",
                Some("/max_participants"),
            )
            .await;
        }
    }
}

backend_test! {
    async fn fields_of_the_wrong_type_are_422_10026(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let cases = [
            ("max_participants", json!("10")),
            ("max_participants", json!(10.5)),
            ("max_participants", json!(true)),
            ("enable_recording", json!("yes")),
            ("enable_recording", json!(1)),
            ("unique_name", json!(42)),
            ("webhook_event_url", json!(["https://example.com"])),
            ("webhook_timeout_secs", json!("5")),
        ];
        for (field, value) in cases {
            let resp = app
                .post_json("/v2/rooms", Some(&app.api_key), &json!({ field: value }))
                .await;
            let pointer = format!("/{field}");
            assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "10026", Some(&pointer)).await;
        }
        let listed = app.list_rooms(&app.api_key, "").await;
        assert_eq!(listed["meta"]["total_results"], 0, "no invalid room was stored");
    }
}

backend_test! {
    async fn duplicate_unique_name_in_an_account_is_422_10012(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        app.create_room(json!({ "unique_name": "daily" })).await;

        let resp = app
            .post_json(
                "/v2/rooms",
                Some(&app.api_key),
                &json!({ "unique_name": "daily" }),
            )
            .await;

        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "10012",
            Some("/unique_name"),
        )
        .await;
    }
}

backend_test! {
    async fn same_unique_name_in_another_account_is_allowed(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let other = app.new_api_key("other").await;
        let mine = app.create_room(json!({ "unique_name": "daily" })).await;

        let theirs = app
            .create_room_as(&other.secret, json!({ "unique_name": "daily" }))
            .await;

        assert_ne!(mine["id"], theirs["id"]);
        assert_eq!(theirs["unique_name"], "daily");
    }
}

backend_test! {
    async fn deleting_a_room_frees_its_unique_name(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let first = app.create_room(json!({ "unique_name": "reused" })).await;
        let path = format!("/v2/rooms/{}", string(&first["id"]));
        assert_eq!(
            app.delete(&path, Some(&app.api_key)).await.status(),
            StatusCode::NO_CONTENT
        );

        let second = app.create_room(json!({ "unique_name": "reused" })).await;

        assert_ne!(first["id"], second["id"]);
    }
}

backend_test! {
    async fn renaming_to_a_taken_unique_name_is_422_10012(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        app.create_room(json!({ "unique_name": "taken" })).await;
        let room = app.create_room(json!({ "unique_name": "free" })).await;
        let path = format!("/v2/rooms/{}", string(&room["id"]));

        let resp = app
            .patch_json(&path, Some(&app.api_key), &json!({ "unique_name": "taken" }))
            .await;

        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "10012",
            Some("/unique_name"),
        )
        .await;
        let unchanged = json_body(app.get(&path, Some(&app.api_key)).await, StatusCode::OK).await;
        assert_eq!(unchanged["data"], room);
    }
}

backend_test! {
    async fn update_changes_only_the_given_fields_and_moves_updated_at(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let before = app
            .create_room(json!({
                "unique_name": "weekly",
                "webhook_event_url": "https://example.com/hook",
                "webhook_timeout_secs": 10,
            }))
            .await;
        let path = format!("/v2/rooms/{}", string(&before["id"]));

        let resp = app
            .patch_json(&path, Some(&app.api_key), &json!({ "max_participants": 42 }))
            .await;
        let after = json_body(resp, StatusCode::OK).await["data"].clone();

        assert_eq!(after["max_participants"], 42);
        for same in [
            "id",
            "unique_name",
            "enable_recording",
            "webhook_event_url",
            "webhook_event_failover_url",
            "webhook_timeout_secs",
            "created_at",
            "record_type",
        ] {
            assert_eq!(after[same], before[same], "{same} must not change");
        }
        let was = assert_micros_timestamp(before["updated_at"].as_str().unwrap());
        let now = assert_micros_timestamp(after["updated_at"].as_str().unwrap());
        assert!(now > was, "updated_at moves forward: {was} -> {now}");
        let viewed = json_body(app.get(&path, Some(&app.api_key)).await, StatusCode::OK).await;
        assert_eq!(viewed["data"], after, "the update is stored");
    }
}

backend_test! {
    async fn update_with_explicit_null_clears_webhook_event_url(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app
            .create_room(json!({
                "webhook_event_url": "https://example.com/hook",
                "webhook_event_failover_url": "https://example.com/failover",
            }))
            .await;
        let path = format!("/v2/rooms/{}", string(&room["id"]));

        let resp = app
            .patch_json(&path, Some(&app.api_key), &json!({ "webhook_event_url": null }))
            .await;
        let after = json_body(resp, StatusCode::OK).await["data"].clone();

        assert_eq!(after["webhook_event_url"], Value::Null);
        assert_eq!(
            after["webhook_event_failover_url"],
            "https://example.com/failover"
        );
    }
}

backend_test! {
    async fn update_rejects_out_of_range_values_without_changing_the_room(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.create_room(json!({})).await;
        let path = format!("/v2/rooms/{}", string(&room["id"]));

        let resp = app
            .patch_json(
                &path,
                Some(&app.api_key),
                &json!({ "enable_recording": true, "max_participants": 51 }),
            )
            .await;

        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "10033",
            Some("/max_participants"),
        )
        .await;
        let viewed = json_body(app.get(&path, Some(&app.api_key)).await, StatusCode::OK).await;
        assert_eq!(viewed["data"], room);
    }
}

backend_test! {
    async fn delete_room_is_204_then_the_room_is_gone(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let id = app.new_room().await;
        let path = format!("/v2/rooms/{id}");

        let resp = app.delete(&path, Some(&app.api_key)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp.bytes().await.unwrap().is_empty(), "204 has no body");

        assert_error(app.get_room(&id).await, StatusCode::NOT_FOUND, "10005", None).await;
        let again = app.delete(&path, Some(&app.api_key)).await;
        assert_error(again, StatusCode::NOT_FOUND, "10005", None).await;
    }
}

backend_test! {
    async fn concurrent_creates_with_one_unique_name_make_exactly_one_room(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (client, url, key) = (app.client.clone(), app.url("/v2/rooms"), app.api_key.clone());
            tasks.spawn(async move {
                client
                    .post(url)
                    .bearer_auth(key)
                    .json(&json!({ "unique_name": "contended" }))
                    .send()
                    .await
                    .expect("request reaches the server")
            });
        }

        let mut created = 0;
        while let Some(resp) = tasks.join_next().await {
            let resp = resp.expect("task");
            if resp.status() == StatusCode::CREATED {
                created += 1;
            } else {
                assert_error(
                    resp,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "10012",
                    Some("/unique_name"),
                )
                .await;
            }
        }

        assert_eq!(created, 1);
        let listed = app
            .list_rooms(&app.api_key, "filter[unique_name]=contended")
            .await;
        assert_eq!(listed["meta"]["total_results"], 1);
    }
}

backend_test! {
    async fn unique_names_with_format_characters_are_422_10033_and_nothing_is_stored(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.create_room(json!({ "unique_name": "plain" })).await;
        let path = format!("/v2/rooms/{}", string(&room["id"]));
        // A right-to-left override, an isolate, zero-width space and joiner, a word joiner, a BOM.
        for c in ['\u{202E}', '\u{2067}', '\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}'] {
            let name = format!("standup{c}");
            let body = json!({ "unique_name": name });
            let created = app.post_json("/v2/rooms", Some(&app.api_key), &body).await;
            let error = assert_error(created, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some("/unique_name")).await;
            assert!(string(&error["detail"]).contains("format characters"), "{error}");
            let patched = app.patch_json(&path, Some(&app.api_key), &body).await;
            assert_error(patched, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some("/unique_name")).await;
        }
        let listed = app.list_rooms(&app.api_key, "page[size]=250").await;
        assert_eq!(listed["meta"]["total_results"], 1, "{listed}");
        assert_eq!(listed["data"][0]["unique_name"], "plain");
    }
}

backend_test! {
    async fn unique_names_are_stored_in_nfc_so_lookalikes_are_one_name(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let decomposed = "Cafe\u{0301}";
        let composed = "Caf\u{00E9}";

        let room = app.create_room(json!({ "unique_name": decomposed })).await;

        assert_eq!(room["unique_name"], composed);
        let again = app
            .post_json("/v2/rooms", Some(&app.api_key), &json!({ "unique_name": composed }))
            .await;
        assert_error(again, StatusCode::UNPROCESSABLE_ENTITY, "10012", Some("/unique_name")).await;
        for spelling in [decomposed, composed] {
            let query = format!("filter[unique_name]={}", urlencode(spelling));
            let listed = app.list_rooms(&app.api_key, &query).await;
            assert_eq!(listed["meta"]["total_results"], 1, "{spelling:?}: {listed}");
            assert_eq!(listed["data"][0]["id"], room["id"]);
        }
    }
}

backend_test! {
    async fn webhook_urls_with_credentials_are_422_10033(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.create_room(json!({})).await;
        let path = format!("/v2/rooms/{}", string(&room["id"]));
        for field in ["webhook_event_url", "webhook_event_failover_url"] {
            for url in ["http://user:pass@example.com/hook", "https://token@example.com/", "https://:p@example.com/"] {
                let body = json!({ field: url });
                let pointer = format!("/{field}");
                let created = app.post_json("/v2/rooms", Some(&app.api_key), &body).await;
                let error = assert_error(created, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some(&pointer)).await;
                assert!(!error.to_string().contains("pass@"), "the credentials are not echoed: {error}");
                let patched = app.patch_json(&path, Some(&app.api_key), &body).await;
                assert_error(patched, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some(&pointer)).await;
            }
        }
        let unchanged = json_body(app.get(&path, Some(&app.api_key)).await, StatusCode::OK).await;
        assert_eq!(unchanged["data"], room);
        let listed = app.list_rooms(&app.api_key, "").await;
        assert_eq!(listed["meta"]["total_results"], 1, "nothing else was stored: {listed}");
    }
}

/// Percent-encodes every byte outside the unreserved set.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
