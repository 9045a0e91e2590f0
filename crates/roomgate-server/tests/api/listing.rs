//! `GET /v2/rooms`: order, pages and filters.
use roomgate_store::backend_test;
use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Date;

use crate::harness::{assert_error_shape, assert_micros_timestamp, json_body, string, TestApp};

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|room| string(&room["id"]))
        .collect()
}

/// Creates `n` rooms one second apart (by the clock); their ids, oldest first.
async fn rooms_one_second_apart(app: &TestApp, n: usize) -> Vec<String> {
    let mut created = Vec::new();
    for _ in 0..n {
        created.push(app.new_room().await);
        app.clock.advance(1);
    }
    created
}

async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&app.list_rooms(&app.api_key, query).await)
}

fn day_of(room: &Value, field: &str) -> Date {
    assert_micros_timestamp(room[field].as_str().unwrap()).date()
}

backend_test! {
    async fn list_is_newest_first_with_page_meta(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let mut created = rooms_one_second_apart(&app, 3).await;

        let page = app.list_rooms(&app.api_key, "").await;

        created.reverse();
        assert_eq!(ids(&page), created);
        assert_eq!(
            page["meta"],
            json!({ "page_number": 1, "page_size": 20, "total_pages": 1, "total_results": 3 })
        );
    }
}

backend_test! {
    async fn list_pages_hold_20_rooms_by_default(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let created = rooms_one_second_apart(&app, 21).await;

        let first = app.list_rooms(&app.api_key, "").await;
        let second = app.list_rooms(&app.api_key, "page[number]=2").await;

        assert_eq!(ids(&first).len(), 20);
        assert_eq!(
            first["meta"],
            json!({ "page_number": 1, "page_size": 20, "total_pages": 2, "total_results": 21 })
        );
        assert_eq!(ids(&second), [created[0].clone()], "the oldest room is last");
        assert_eq!(second["meta"]["page_number"], 2);
    }
}

backend_test! {
    async fn walking_the_pages_yields_every_room_once_in_a_stable_order(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        // Created as fast as possible: equal timestamps must still give one stable order.
        for _ in 0..7 {
            app.new_room().await;
        }
        let all = ids(&app.list_rooms(&app.api_key, "page[size]=250").await);

        let mut walked = Vec::new();
        let mut number = 1;
        loop {
            let page = app
                .list_rooms(&app.api_key, &format!("page[size]=3&page[number]={number}"))
                .await;
            assert_eq!(page["meta"]["total_pages"], 3);
            assert_eq!(page["meta"]["total_results"], 7);
            walked.extend(ids(&page));
            if number == 3 {
                break;
            }
            number += 1;
        }

        assert_eq!(walked, all);
        assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 7, "no duplicates");
        let past_the_end = app.list_rooms(&app.api_key, "page[size]=3&page[number]=4").await;
        assert!(ids(&past_the_end).is_empty());
        let again = ids(&app.list_rooms(&app.api_key, "page[size]=250").await);
        assert_eq!(again, all, "the order is stable");
    }
}

backend_test! {
    async fn page_size_accepts_1_to_250(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        rooms_one_second_apart(&app, 2).await;
        for size in [1, 250] {
            let page = app.list_rooms(&app.api_key, &format!("page[size]={size}")).await;
            assert_eq!(page["meta"]["page_size"], size);
            assert_eq!(ids(&page).len(), size.min(2));
        }
        let one = app.list_rooms(&app.api_key, "page[size]=1").await;
        assert_eq!(one["meta"]["total_pages"], 2);
    }
}

backend_test! {
    async fn page_parameters_out_of_range_are_422_naming_the_parameter(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let cases = [
            ("page[size]", "0", "10033"),
            ("page[size]", "251", "10033"),
            ("page[size]", "-1", "10026"),
            ("page[size]", "ten", "10026"),
            ("page[number]", "0", "10033"),
            ("page[number]", "x", "10026"),
        ];
        for (param, value, code) in cases {
            let resp = app
                .get(&format!("/v2/rooms?{param}={value}"), Some(&app.api_key))
                .await;
            let error = assert_error_shape(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error["code"], code, "{param}={value}: {error}");
            assert_eq!(error["source"]["parameter"], param, "{error}");
        }
    }
}

backend_test! {
    async fn filter_unique_name_matches_exactly(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        for name in ["alpha", "alphabet", "beta"] {
            app.create_room(json!({ "unique_name": name })).await;
        }

        let page = app.list_rooms(&app.api_key, "filter[unique_name]=alpha").await;
        let none = app.list_rooms(&app.api_key, "filter[unique_name]=gamma").await;

        assert_eq!(page["meta"]["total_results"], 1);
        assert_eq!(page["data"][0]["unique_name"], "alpha");
        assert_eq!(none["meta"]["total_results"], 0);
        assert!(ids(&none).is_empty());
    }
}

backend_test! {
    async fn filter_date_created_at_matches_calendar_days(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.create_room(json!({})).await;
        let day = day_of(&room, "created_at");
        let (yesterday, tomorrow) = (day.previous_day().unwrap(), day.next_day().unwrap());

        let cases = [
            ("eq", day, 1),
            ("eq", yesterday, 0),
            ("eq", tomorrow, 0),
            ("gte", day, 1),
            ("gte", yesterday, 1),
            ("gte", tomorrow, 0),
            ("lte", day, 1),
            ("lte", tomorrow, 1),
            ("lte", yesterday, 0),
        ];
        for (op, date, expected) in cases {
            let page = app
                .list_rooms(&app.api_key, &format!("filter[date_created_at][{op}]={date}"))
                .await;
            assert_eq!(page["meta"]["total_results"], expected, "{op} {date}");
            assert_eq!(ids(&page).len(), expected, "{op} {date}");
        }
    }
}

backend_test! {
    async fn filter_date_updated_at_follows_updates_not_creation(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let updated = app.create_room(json!({})).await;
        let untouched = app.create_room(json!({})).await;
        let created_day = day_of(&updated, "created_at");
        app.clock.advance(2 * 86_400);
        let path = format!("/v2/rooms/{}", string(&updated["id"]));
        let resp = app
            .patch_json(&path, Some(&app.api_key), &json!({ "enable_recording": true }))
            .await;
        let updated = json_body(resp, StatusCode::OK).await["data"].clone();
        let updated_day = day_of(&updated, "updated_at");
        assert_eq!(updated_day, created_day.next_day().unwrap().next_day().unwrap());

        assert_eq!(
            listed(&app, &format!("filter[date_updated_at][eq]={updated_day}")).await,
            [string(&updated["id"])]
        );
        assert_eq!(
            listed(&app, &format!("filter[date_updated_at][eq]={created_day}")).await,
            [string(&untouched["id"])]
        );
        assert_eq!(
            listed(&app, &format!("filter[date_updated_at][gte]={updated_day}")).await,
            [string(&updated["id"])]
        );
        assert_eq!(
            listed(&app, &format!("filter[date_updated_at][lte]={created_day}")).await,
            [string(&untouched["id"])]
        );
        assert!(
            listed(&app, &format!("filter[date_created_at][eq]={updated_day}"))
                .await
                .is_empty()
        );
        assert_eq!(
            listed(&app, &format!("filter[date_created_at][eq]={created_day}"))
                .await
                .len(),
            2
        );
    }
}

backend_test! {
    async fn malformed_date_filters_are_422_naming_the_parameter(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        app.new_room().await;
        for field in ["date_created_at", "date_updated_at"] {
            for op in ["eq", "gte", "lte"] {
                for bad in ["2021-13-01", "yesterday", "2021-04-25T00:00:00Z", "2021-4-5"] {
                    let param = format!("filter[{field}][{op}]");
                    let resp = app
                        .get(&format!("/v2/rooms?{param}={bad}"), Some(&app.api_key))
                        .await;
                    let error = assert_error_shape(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
                    assert_eq!(error["source"]["parameter"], param, "{bad}: {error}");
                }
            }
        }
    }
}
