//! Accounts never see or touch each other's rooms.
use reqwest::StatusCode;
use roomgate_store::backend_test;
use serde_json::json;

use crate::harness::{assert_error, json_body, string, Scheme, TestApp};

backend_test! {
    async fn another_accounts_room_is_404_on_every_endpoint(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let mallory = app.new_api_key("mallory").await;
        let room = app.create_room(json!({ "unique_name": "private" })).await;
        let id = string(&room["id"]);
        let path = format!("/v2/rooms/{id}");
        let theirs = Some(mallory.secret.as_str());

        assert_error(app.get(&path, theirs).await, StatusCode::NOT_FOUND, "10005", None).await;
        let patch = app
            .patch_json(&path, theirs, &json!({ "unique_name": "mine now" }))
            .await;
        assert_error(patch, StatusCode::NOT_FOUND, "10005", None).await;
        assert_error(
            app.delete(&path, theirs).await,
            StatusCode::NOT_FOUND,
            "10005",
            None,
        )
        .await;
        for scheme in Scheme::BOTH {
            let resp = app.post_json(&scheme.create_path(&id), theirs, &json!({})).await;
            assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        }

        let still_mine = json_body(app.get_room(&id).await, StatusCode::OK).await;
        assert_eq!(still_mine["data"], room, "neither changed nor deleted");
    }
}

backend_test! {
    async fn lists_show_only_the_callers_rooms(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let other = app.new_api_key("other").await;
        let mine = [app.new_room().await, app.new_room().await];
        app.create_room(json!({ "unique_name": "mine" })).await;
        let theirs = app.create_room_as(&other.secret, json!({})).await;

        let my_list = app.list_rooms(&app.api_key, "page[size]=250").await;
        let their_list = app.list_rooms(&other.secret, "page[size]=250").await;
        let filtered = app.list_rooms(&other.secret, "filter[unique_name]=mine").await;

        assert_eq!(my_list["meta"]["total_results"], 3);
        let my_ids: Vec<String> = my_list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| string(&r["id"]))
            .collect();
        assert!(mine.iter().all(|id| my_ids.contains(id)));
        assert!(!my_ids.contains(&string(&theirs["id"])));
        assert_eq!(their_list["meta"]["total_results"], 1);
        assert_eq!(their_list["data"][0]["id"], theirs["id"]);
        assert_eq!(filtered["meta"]["total_results"], 0);
    }
}

backend_test! {
    async fn keys_of_one_account_share_its_rooms(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let colleague = app.new_api_key("default").await;
        let room = app.new_room().await;

        let resp = app
            .get(&format!("/v2/rooms/{room}"), Some(&colleague.secret))
            .await;

        assert_eq!(json_body(resp, StatusCode::OK).await["data"]["id"], room.as_str());
    }
}
