//! Revoking tokens: each selector covers exactly its tokens, on every replica at the next request; bad bodies;
//! listings, pruning, and the feed media servers follow (order under concurrent inserts, long polls).
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use roomgate_server::testing::{TestDatabase, TestServer};
use roomgate_server::{Clock, Config};
use roomgate_store::backend_test;
use serde_json::{json, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::{
    harness::{assert_error, assert_micros_timestamp, json_body, string, Minted, Scheme, TestApp},
    jwt::decode,
    replicas::{create_room, fast_config},
};

fn revoke_path(room: &str) -> String {
    format!("/v2/rooms/{room}/actions/revoke_tokens")
}

impl TestApp {
    async fn revoke(&self, room: &str, body: Value) -> reqwest::Response {
        self.post_json(&revoke_path(room), Some(&self.api_key), &body)
            .await
    }

    /// Revokes (201 expected); the revocation.
    async fn revoked(&self, room: &str, body: Value) -> Value {
        json_body(self.revoke(room, body).await, StatusCode::CREATED).await["data"].clone()
    }

    async fn refresh_status(&self, room: &str, minted: &Minted) -> StatusCode {
        self.refresh_token(Scheme::Original, room, &minted.refresh)
            .await
            .status()
    }

    async fn feed(&self, query: &str) -> Value {
        let resp = self
            .get(&format!("/v2/revocations?{query}"), Some(&self.api_key))
            .await;
        json_body(resp, StatusCode::OK).await
    }
}

/// Two replicas on one fresh database, a key, and a room.
struct Two {
    a: TestServer,
    b: TestServer,
    http: reqwest::Client,
    key: String,
    room: String,
}

impl Two {
    async fn start(backend: roomgate_store::testing::Backend) -> Self {
        let db = std::sync::Arc::new(TestDatabase::new(backend).await);
        let (a, b) = (
            TestServer::start_over(db.clone(), fast_config()).await,
            TestServer::start_over(db.clone(), fast_config()).await,
        );
        let http = reqwest::Client::new();
        let key = a.key.secret.clone();
        let room = create_room(&http, &a.address, &key).await;
        Self {
            a,
            b,
            http,
            key,
            room,
        }
    }
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|r| string(&r["id"]))
        .collect()
}

backend_test! {
    async fn each_selector_revokes_exactly_what_it_covers(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, other_room) = (app.new_room().await, app.new_room().await);
        let as_alice = json!({"identity": "alice"});
        let alice = app.mint(Scheme::Original, &room, &as_alice).await;
        let alice_again = app.mint(Scheme::Current, &room, &as_alice).await;
        let bob = app.mint(Scheme::Original, &room, &json!({"identity": "bob"})).await;
        let anonymous = app.mint(Scheme::Original, &room, &json!({})).await;
        let alice_elsewhere = app.mint(Scheme::Original, &other_room, &as_alice).await;

        // One token, by its jti.
        let jti = string(&decode(&alice.refresh).claims["jti"]);
        let r = app.revoked(&room, json!({"jti": jti, "reason": "lost phone"})).await;
        assert_eq!(r["record_type"], "revocation");
        assert_eq!(r["room_id"], room.as_str());
        assert_eq!(r["jti"], jti.as_str());
        assert_eq!(r["reason"], "lost phone");
        assert!(r.get("identity").is_none() && r.get("issued_before").is_none(), "{r}");
        let created = assert_micros_timestamp(r["created_at"].as_str().unwrap());
        let expires = assert_micros_timestamp(r["expires_at"].as_str().unwrap());
        // The latest token it can cover was issued by now; none lives longer than a day, plus a minute of leeway.
        let cut_off = created.unix_timestamp() + i64::from(created.nanosecond() > 0);
        assert_eq!(expires.unix_timestamp(), cut_off + 86_400 + 60);
        assert_eq!(app.refresh_status(&room, &alice).await, StatusCode::FORBIDDEN);
        for (who, minted, in_room) in [
            ("alice's other token", &alice_again, &room),
            ("bob", &bob, &room),
            ("no identity", &anonymous, &room),
            ("alice in another room", &alice_elsewhere, &other_room),
        ] {
            assert_eq!(app.refresh_status(in_room, minted).await, StatusCode::CREATED, "{who}");
        }

        // A participant: every token of theirs in this room issued until now.
        let r = app.revoked(&room, json!({"identity": "alice"})).await;
        assert_eq!(r["identity"], "alice");
        assert_eq!(r["reason"], Value::Null);
        assert_eq!(app.refresh_status(&room, &alice_again).await, StatusCode::FORBIDDEN);
        assert_eq!(app.refresh_status(&room, &bob).await, StatusCode::CREATED);
        assert_eq!(app.refresh_status(&room, &anonymous).await, StatusCode::CREATED);
        assert_eq!(app.refresh_status(&other_room, &alice_elsewhere).await, StatusCode::CREATED);
        // Let back in: a token minted for her afterwards (in a later second than the revocation) works.
        app.clock.advance(1);
        let alice_back = app.mint(Scheme::Original, &room, &as_alice).await;
        assert_eq!(app.refresh_status(&room, &alice_back).await, StatusCode::CREATED);

        // Everyone out: every token of the room issued before the cut-off; tokens issued from it on work.
        app.clock.advance(1);
        let cut = app.clock.now().unix_timestamp();
        let r = app.revoked(&room, json!({"issued_before": rfc3339(cut)})).await;
        assert_eq!(
            assert_micros_timestamp(r["issued_before"].as_str().unwrap()).unix_timestamp(),
            cut
        );
        let after = app.mint(Scheme::Original, &room, &json!({"identity": "bob"})).await;
        assert!(decode(&after.refresh).claims["iat"].as_i64().unwrap() >= cut);
        for (who, minted) in [("bob", &bob), ("no identity", &anonymous), ("alice back", &alice_back)] {
            assert_eq!(app.refresh_status(&room, minted).await, StatusCode::FORBIDDEN, "{who}");
        }
        assert_eq!(app.refresh_status(&room, &after).await, StatusCode::CREATED);
        assert_eq!(app.refresh_status(&other_room, &alice_elsewhere).await, StatusCode::CREATED);

        // The room lists the three, newest first; the other room none.
        let list = app.get(&format!("/v2/rooms/{room}/revocations"), Some(&app.api_key)).await;
        let list = json_body(list, StatusCode::OK).await;
        let selectors: Vec<_> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| ["jti", "identity", "issued_before"].into_iter().find(|s| r.get(*s).is_some()).unwrap())
            .collect();
        assert_eq!(selectors, ["issued_before", "identity", "jti"]);
        assert_eq!(list["meta"]["total_results"], 3);
        let list = app.get(&format!("/v2/rooms/{other_room}/revocations"), Some(&app.api_key)).await;
        assert_eq!(json_body(list, StatusCode::OK).await["meta"]["total_results"], 0);
    }
}

backend_test! {
    async fn an_issued_before_cut_off_within_a_second_covers_that_whole_second(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        app.clock.advance(1);
        let second = app.clock.now().unix_timestamp();
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let iat = decode(&minted.refresh).claims["iat"].as_i64().unwrap();
        // A cut-off at the very start of the token's second covers nothing issued in it...
        app.revoked(&room, json!({"issued_before": rfc3339(iat)})).await;
        assert_eq!(app.refresh_status(&room, &minted).await, StatusCode::CREATED);
        // ...one a microsecond into it covers the whole second: `iat` cannot tell earlier from later in it.
        let into = format!("{}.000001Z", rfc3339(iat).trim_end_matches('Z'));
        if app.clock.now().unix_timestamp() == second {
            // Wait for the clock to pass the cut-off (it must not be in the future).
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app.revoked(&room, json!({"issued_before": into})).await;
        assert_eq!(app.refresh_status(&room, &minted).await, StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn bad_revocation_bodies_are_422_and_store_nothing(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let future = rfc3339(app.clock.now().unix_timestamp() + 60);
        for (body, code, pointer) in [
            (json!({}), "10004", "/jti"),
            (json!({"reason": "x"}), "10004", "/jti"),
            (json!({"jti": null}), "10026", "/jti"),
            (json!({"jti": null, "identity": "a"}), "10033", "/identity"),
            (json!({"jti": uuid::Uuid::new_v4().to_string(), "identity": "a"}), "10033", "/identity"),
            (json!({"identity": "a", "issued_before": "2020-01-01T00:00:00Z"}), "10033", "/issued_before"),
            (json!({"jti": "12345"}), "10026", "/jti"),
            (json!({"jti": 12345}), "10026", "/jti"),
            (json!({"identity": 1}), "10026", "/identity"),
            (json!({"identity": ""}), "10033", "/identity"),
            (json!({"identity": "x".repeat(257)}), "10033", "/identity"),
            (json!({"issued_before": "2020-01-01"}), "10026", "/issued_before"),
            (json!({"issued_before": 1_600_000_000}), "10026", "/issued_before"),
            (json!({"issued_before": future}), "10033", "/issued_before"),
            (json!({"identity": "a", "reason": ["x"]}), "10026", "/reason"),
            (json!({"identity": "a", "reason": "x".repeat(257)}), "10033", "/reason"),
        ] {
            let resp = app.revoke(&room, body.clone()).await;
            let error = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some(pointer)).await;
            assert!(!error["detail"].as_str().unwrap().is_empty(), "{body}");
        }
        let not_json = app
            .send_raw(reqwest::Method::POST, &revoke_path(&room), Some(&app.api_key), Some("application/json"), "{")
            .await;
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
        let array = app.post_json(&revoke_path(&room), Some(&app.api_key), &json!([])).await;
        assert_eq!(array.status(), StatusCode::BAD_REQUEST);
        // Not the account's room, not a room, no key.
        let other = app.new_api_key("other").await;
        let body = json!({"identity": "a"});
        let resp = app.post_json(&revoke_path(&room), Some(&other.secret), &body).await;
        assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        let resp = app.post_json(&revoke_path(&uuid::Uuid::new_v4().to_string()), Some(&app.api_key), &body).await;
        assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        let resp = app.post_json(&revoke_path("not-a-room"), Some(&app.api_key), &body).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = app.post_json(&revoke_path(&room), None, &body).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
        // Nothing was stored, and another account sees neither the room's list nor anything in its feed.
        let list = app.get(&format!("/v2/rooms/{room}/revocations"), Some(&app.api_key)).await;
        assert_eq!(json_body(list, StatusCode::OK).await["meta"]["total_results"], 0);
        app.revoked(&room, body).await;
        let list = app.get(&format!("/v2/rooms/{room}/revocations"), Some(&other.secret)).await;
        assert_error(list, StatusCode::NOT_FOUND, "10005", None).await;
        let feed = app.get("/v2/revocations", Some(&other.secret)).await;
        assert_eq!(json_body(feed, StatusCode::OK).await["data"], json!([]));
        for (query, code, parameter) in [
            ("page[size]=0", "10033", "page[size]"),
            ("page[size]=251", "10033", "page[size]"),
            ("page[number]=x", "10026", "page[number]"),
        ] {
            let resp = app.get(&format!("/v2/rooms/{room}/revocations?{query}"), Some(&app.api_key)).await;
            let error = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, None).await;
            assert_eq!(error["source"]["parameter"], parameter);
        }
    }
}

backend_test! {
    async fn a_revocation_through_one_replica_is_honoured_by_another_at_the_next_request(backend: Backend) {
        let Two { a, b, http, key, room } = Two::start(backend).await;
        let minted: Value = http
            .post(a.url(&format!("/v2/rooms/{room}/actions/create_access_token")))
            .bearer_auth(&key)
            .json(&json!({"identity": "carol"}))
            .send().await.unwrap().json().await.unwrap();
        let refresh = || {
            http.post(b.url(&format!("/v2/rooms/{room}/actions/refresh_access_token")))
                .json(&json!({"refresh_token": minted["data"]["refresh_token"]}))
                .send()
        };
        assert_eq!(refresh().await.unwrap().status(), StatusCode::CREATED);
        let revoked = http
            .post(a.url(&revoke_path(&room)))
            .bearer_auth(&key)
            .json(&json!({"identity": "carol"}))
            .send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::CREATED);
        // No cache: B's very next refresh sees it.
        assert_eq!(refresh().await.unwrap().status(), StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn expired_revocations_leave_listings_and_are_pruned_and_rooms_take_theirs_along(backend: Backend) {
        let config = Config { revocation_prune_interval: Duration::from_millis(50), ..Config::default() };
        let app = TestApp::spawn_with(backend, config).await;
        let account = app.store.ensure_account("default", 0).await.unwrap();
        let (room, doomed) = (app.new_room().await, app.new_room().await);
        let (room_id, doomed_id) = (room.parse().unwrap(), doomed.parse().unwrap());
        app.revoked(&room, json!({"identity": "dave"})).await;
        app.revoked(&doomed, json!({"identity": "dave"})).await;
        assert_eq!(app.feed("").await["data"].as_array().unwrap().len(), 2);
        let stored = |room| {
            let store = app.store.clone();
            async move { store.list_revocations(account, room, 0, 10, 0).await.unwrap().1 }
        };
        // Deleting a room drops its revocations.
        assert_eq!(app.delete(&format!("/v2/rooms/{doomed}"), Some(&app.api_key)).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(stored(doomed_id).await, 0);
        assert_eq!(ids(&app.feed("").await).len(), 1);
        // A day and a minute later no token it covers is alive: gone from the list and the feed at once...
        app.clock.advance(86_400 + 62);
        let list = app.get(&format!("/v2/rooms/{room}/revocations"), Some(&app.api_key)).await;
        assert_eq!(json_body(list, StatusCode::OK).await["meta"]["total_results"], 0);
        assert_eq!(app.feed("").await["data"], json!([]));
        // ...and deleted by the next prune.
        let deadline = Instant::now() + Duration::from_secs(10);
        while stored(room_id).await != 0 {
            assert!(Instant::now() < deadline, "the expired revocation was never pruned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

backend_test! {
    async fn the_feed_pages_in_order_from_any_cursor_and_checks_its_parameters(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let empty = app.feed("").await;
        assert_eq!(empty["data"], json!([]));
        let start = string(&empty["meta"]["next_cursor"]);
        let mut made = Vec::new();
        for n in 0..5 {
            made.push(string(&app.revoked(&room, json!({"identity": format!("p{n}")})).await["id"]));
        }
        // From nothing: every live one; from the empty feed's cursor: the same five.
        assert_eq!(ids(&app.feed("").await), made);
        assert_eq!(ids(&app.feed(&format!("after={start}")).await), made);
        // Pages of two follow each other.
        let mut seen = Vec::new();
        let mut cursor = start.clone();
        for want in [2, 2, 1, 0] {
            let page = app.feed(&format!("after={cursor}&limit=2")).await;
            assert_eq!(ids(&page).len(), want, "{page}");
            seen.extend(ids(&page));
            cursor = string(&page["meta"]["next_cursor"]);
        }
        assert_eq!(seen, made);
        let sixth = string(&app.revoked(&room, json!({"identity": "p5"})).await["id"]);
        assert_eq!(ids(&app.feed(&format!("after={cursor}")).await), [sixth]);
        // An entry's members are the revocation's.
        let one = &app.feed(&format!("after={start}&limit=1")).await["data"][0];
        assert_eq!((one["identity"].as_str(), one["room_id"].as_str()), (Some("p0"), Some(room.as_str())));
        for (query, code) in [
            ("after=nonsense", "10026"),
            ("after=", "10026"),
            ("wait=31", "10033"),
            ("wait=-1", "10026"),
            ("wait=soon", "10026"),
            ("limit=0", "10033"),
            ("limit=1001", "10033"),
        ] {
            let resp = app.get(&format!("/v2/revocations?{query}"), Some(&app.api_key)).await;
            let error = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, None).await;
            assert_eq!(error["source"]["parameter"], query.split('=').next().unwrap(), "{query}");
        }
        assert_error(app.get("/v2/revocations", None).await, StatusCode::UNAUTHORIZED, "10009", None).await;
    }
}

backend_test! {
    async fn the_feed_misses_nothing_while_two_replicas_insert_at_once(backend: Backend) {
        const EACH: usize = 20;
        let Two { a, b, http, key, room } = Two::start(backend).await;
        let feed = {
            let (http, key) = (http.clone(), key.clone());
            move |base: String, after: String| {
                let (http, key) = (http.clone(), key.clone());
                async move {
                    let after = if after.is_empty() { String::new() } else { format!("after={after}&") };
                    let url = format!("{base}/v2/revocations?{after}wait=1&limit=7");
                    let page: Value = http.get(url).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
                    page
                }
            }
        };
        let start = string(&feed(b.address.clone(), String::new()).await["meta"]["next_cursor"]);
        // A follower reads the feed through B while writers insert through both replicas at once.
        let follower = tokio::spawn({
            let (feed, base, total) = (feed.clone(), b.address.clone(), 4 * EACH);
            async move {
                let (mut seen, mut cursor) = (Vec::new(), start);
                let deadline = Instant::now() + Duration::from_secs(60);
                while seen.len() < total && Instant::now() < deadline {
                    let page = feed(base.clone(), cursor).await;
                    seen.extend(ids(&page));
                    cursor = string(&page["meta"]["next_cursor"]);
                }
                seen
            }
        });
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (http, key, room) = (http.clone(), key.clone(), room.clone());
                let base = if w % 2 == 0 { a.address.clone() } else { b.address.clone() };
                tokio::spawn(async move {
                    let mut made = Vec::new();
                    for n in 0..EACH {
                        let resp = http
                            .post(format!("{base}{}", revoke_path(&room)))
                            .bearer_auth(&key)
                            .json(&json!({"identity": format!("w{w}-{n}")}))
                            .send().await.unwrap();
                        assert_eq!(resp.status(), StatusCode::CREATED);
                        let body: Value = resp.json().await.unwrap();
                        made.push(string(&body["data"]["id"]));
                    }
                    made
                })
            })
            .collect();
        let mut made = HashSet::new();
        for writer in writers {
            made.extend(writer.await.unwrap());
        }
        let seen = follower.await.unwrap();
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "a revocation was delivered twice");
        assert_eq!(unique, made, "the follower missed revocations");
        // One total order: a follower reading it all afterwards, through A, sees the same sequence.
        let again = http
            .get(format!("{}/v2/revocations?limit=1000", a.address))
            .bearer_auth(&key).send().await.unwrap().json::<Value>().await.unwrap();
        assert_eq!(ids(&again), seen);
    }
}

backend_test! {
    async fn a_long_poll_answers_as_soon_as_a_revocation_arrives(backend: Backend) {
        let Two { a, b, http, key, room } = Two::start(backend).await;
        // Replicas share PostgreSQL (told by NOTIFY); one SQLite file has one process (told in memory).
        let writer = if backend == roomgate_store::testing::Backend::Postgres { &a } else { &b };
        for _ in 0..2 {
            let page: Value = http
                .get(b.url("/v2/revocations")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
            let cursor = string(&page["meta"]["next_cursor"]);
            let poll = tokio::spawn({
                let (http, url, key) = (http.clone(), b.url(&format!("/v2/revocations?after={cursor}&wait=20")), key.clone());
                async move {
                    let page: Value = http.get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
                    (page, Instant::now())
                }
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!poll.is_finished(), "the poll waits while nothing arrives");
            let revoked_at = Instant::now();
            let resp = http
                .post(writer.url(&revoke_path(&room)))
                .bearer_auth(&key)
                .json(&json!({"identity": "erin"}))
                .send().await.unwrap();
            let id = string(&json_body(resp, StatusCode::CREATED).await["data"]["id"]);
            let (page, answered_at) = poll.await.unwrap();
            assert_eq!(ids(&page), [id]);
            // Well before the 2 s re-read a lost notification would fall back on.
            let latency = answered_at.saturating_duration_since(revoked_at);
            assert!(latency < Duration::from_secs(1), "answered {latency:?} after the revocation");
        }
    }
}

#[tokio::test]
async fn a_waiting_long_poll_does_not_hold_up_shutdown() {
    let mut app = TestApp::spawn().await;
    let poll = tokio::spawn({
        let (client, url, key) = (
            app.client.clone(),
            app.url("/v2/revocations?after=0&wait=30"),
            app.api_key.clone(),
        );
        async move { client.get(url).bearer_auth(key).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    // `restart` drains the old server and panics if that takes 10 s.
    app.restart().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?}",
        started.elapsed()
    );
    let resp = poll.await.unwrap();
    let page = json_body(resp, StatusCode::OK).await;
    assert_eq!(page["data"], json!([]));
}
