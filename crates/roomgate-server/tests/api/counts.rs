//! `GET /v2/rooms` at scale: totals kept by a counter stay exact, pages read from either end agree, and the
//! filters served by indexes return exactly the right rooms.
use std::collections::HashSet;

use reqwest::StatusCode;
use roomgate_store::backend_test;
use serde_json::{json, Value};

use crate::harness::{string, TestApp};

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|room| string(&room["id"]))
        .collect()
}

/// Every room of the listing `query`, walked page by page as the SDKs do (by `meta.total_pages`).
async fn walk(app: &TestApp, query: &str, size: u32) -> (Vec<String>, Value) {
    let mut all = Vec::new();
    let mut number = 1;
    loop {
        let page = app
            .list_rooms(
                &app.api_key,
                &format!("{query}&page[size]={size}&page[number]={number}"),
            )
            .await;
        all.extend(ids(&page));
        if number >= page["meta"]["total_pages"].as_u64().unwrap() {
            return (all, page["meta"].clone());
        }
        number += 1;
    }
}

async fn meta(app: &TestApp, query: &str) -> (u64, u64) {
    let page = app.list_rooms(&app.api_key, query).await;
    (
        page["meta"]["total_results"].as_u64().unwrap(),
        page["meta"]["total_pages"].as_u64().unwrap(),
    )
}

backend_test! {
    async fn totals_stay_exact_after_creates_and_deletes(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        assert_eq!(meta(&app, "").await, (0, 1));
        let mut rooms = Vec::new();
        for _ in 0..7 {
            rooms.push(app.new_room().await);
        }
        assert_eq!(meta(&app, "page[size]=2").await, (7, 4));
        for id in &rooms[..3] {
            let resp = app.delete(&format!("/v2/rooms/{id}"), Some(&app.api_key)).await;
            assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        }
        // A failed delete (already gone) and another account's rooms change nothing.
        let again = app.delete(&format!("/v2/rooms/{}", rooms[0]), Some(&app.api_key)).await;
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
        let other = app.new_api_key("other").await;
        app.create_room_as(&other.secret, json!({})).await;
        let (walked, last) = walk(&app, "", 2).await;
        assert_eq!(last["total_results"], 4);
        assert_eq!(last["total_pages"], 2);
        let expected: HashSet<_> = rooms[3..].iter().cloned().collect();
        assert_eq!(walked.iter().cloned().collect::<HashSet<_>>(), expected);
        assert_eq!(walked.len(), 4);
    }
}

backend_test! {
    async fn totals_stay_exact_under_concurrent_creates_and_deletes(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let mut existing = Vec::new();
        for _ in 0..20 {
            existing.push(app.new_room().await);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let (client, key) = (app.client.clone(), app.api_key.clone());
            let (create, delete) = (app.url("/v2/rooms"), app.url(&format!("/v2/rooms/{}", existing[i % 20])));
            tasks.spawn(async move {
                let request = if i < 30 {
                    client.post(create).json(&json!({}))
                } else {
                    client.delete(delete)
                };
                request.bearer_auth(key).send().await.expect("request reaches the server").status()
            });
        }
        while let Some(status) = tasks.join_next().await {
            let status = status.expect("task");
            assert!(status == StatusCode::CREATED || status == StatusCode::NO_CONTENT, "{status}");
        }
        // 20 + 30 created - 10 deleted.
        let (walked, last) = walk(&app, "", 7).await;
        assert_eq!(last["total_results"], 40);
        assert_eq!(last["total_pages"], 6);
        assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 40, "every room once");
    }
}

backend_test! {
    async fn pages_read_from_the_end_match_pages_read_from_the_start(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for _ in 0..11 {
            app.new_room().await;
            app.clock.advance(1);
        }
        // Two rooms in the same microsecond range would tie; the id breaks the tie the same way both ways.
        for _ in 0..3 {
            app.new_room().await;
        }
        let all = ids(&app.list_rooms(&app.api_key, "page[size]=250").await);
        assert_eq!(all.len(), 14);
        for size in [1, 2, 3, 4, 5, 13] {
            let (walked, _) = walk(&app, "", size).await;
            assert_eq!(walked, all, "pages of {size}");
        }
        let past = app.list_rooms(&app.api_key, "page[size]=5&page[number]=4").await;
        assert!(ids(&past).is_empty());
        assert_eq!(past["meta"]["total_results"], 14);
    }
}

backend_test! {
    async fn the_unique_name_filter_returns_exactly_the_named_room(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for name in ["a", "ab", "A", "a ", "b"] {
            app.create_room(json!({ "unique_name": name })).await;
        }
        app.new_room().await;
        let page = app.list_rooms(&app.api_key, "filter[unique_name]=a").await;
        assert_eq!(ids(&page).len(), 1);
        assert_eq!(page["data"][0]["unique_name"], "a");
        assert_eq!(page["meta"]["total_results"], 1);
        let spaced = app.list_rooms(&app.api_key, "filter[unique_name]=a%20").await;
        assert_eq!(spaced["data"][0]["unique_name"], "a ");
        // Past its one page, the total still says 1.
        let second = app.list_rooms(&app.api_key, "filter[unique_name]=a&page[number]=2").await;
        assert!(ids(&second).is_empty());
        assert_eq!((second["meta"]["total_results"].as_u64(), second["meta"]["total_pages"].as_u64()), (Some(1), Some(1)));
        // Combined with a date filter that excludes it: nothing.
        let day = &string(&page["data"][0]["created_at"])[..10];
        let tomorrow = time::Date::parse(day, time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap()
            .next_day()
            .unwrap();
        let none = app
            .list_rooms(&app.api_key, &format!("filter[unique_name]=a&filter[date_created_at][gte]={tomorrow}"))
            .await;
        assert_eq!(none["meta"]["total_results"], 0);
        let other = app.new_api_key("other").await;
        let theirs = app.list_rooms(&other.secret, "filter[unique_name]=a").await;
        assert_eq!(theirs["meta"]["total_results"], 0, "another account's room of that name");
    }
}

backend_test! {
    async fn date_filters_return_exactly_the_rooms_of_the_range(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        // Three rooms on each of four consecutive days (the clock moves a day at a time).
        let mut by_day: Vec<Vec<String>> = Vec::new();
        let mut days = Vec::new();
        for _ in 0..4 {
            let mut rooms = Vec::new();
            for _ in 0..3 {
                let room = app.create_room(json!({})).await;
                rooms.push(string(&room["id"]));
                days.push(string(&room["created_at"])[..10].to_owned());
            }
            by_day.push(rooms);
            app.clock.advance(86_400);
        }
        let day = |i: usize| days[i * 3].clone();
        let set = |range: std::ops::Range<usize>| -> HashSet<String> {
            by_day[range].iter().flatten().cloned().collect()
        };
        let cases = [
            (format!("filter[date_created_at][eq]={}", day(1)), set(1..2)),
            (format!("filter[date_created_at][gte]={}", day(1)), set(1..4)),
            (format!("filter[date_created_at][lte]={}", day(2)), set(0..3)),
            (format!("filter[date_created_at][gte]={}&filter[date_created_at][lte]={}", day(1), day(2)), set(1..3)),
            (format!("filter[date_updated_at][eq]={}", day(3)), set(3..4)),
            (format!("filter[date_updated_at][lte]={}", day(0)), set(0..1)),
        ];
        for (query, expected) in cases {
            for size in [1, 2, 250] {
                let (walked, last) = walk(&app, &query, size).await;
                assert_eq!(last["total_results"], expected.len(), "{query}");
                assert_eq!(walked.len(), expected.len(), "{query}, pages of {size}");
                assert_eq!(walked.iter().cloned().collect::<HashSet<_>>(), expected, "{query}");
            }
        }
    }
}
