//! The live room: admission within max_participants (atomic across replicas), leaving, leases, sessions and
//! active_session_id, moderation through the control feed, listings, and other accounts kept out.
use std::time::Duration;

use reqwest::StatusCode;
use roomgate_server::testing::{TestDatabase, TestServer};
use roomgate_server::{Clock, Config};
use roomgate_store::backend_test;
use serde_json::{json, Value};

use crate::{
    harness::{assert_error, json_body, string, Scheme, TestApp},
    replicas::fast_config,
};

impl TestApp {
    async fn admit(&self, token: &str, context: Option<&str>) -> reqwest::Response {
        let body = json!({ "access_token": token, "context": context });
        self.post_json("/v2/room_participants", Some(&self.api_key), &body)
            .await
    }

    /// Admits (201 expected); the participant.
    async fn admitted(&self, token: &str) -> Value {
        json_body(self.admit(token, None).await, StatusCode::CREATED).await["data"].clone()
    }

    /// Mints for `identity` (none: a Telnyx-shaped token) and admits; the participant and the tokens.
    async fn join(&self, room: &str, identity: Option<&str>) -> (Value, crate::harness::Minted) {
        let body = match identity {
            Some(who) => json!({ "identity": who }),
            None => json!({}),
        };
        let minted = self.mint(Scheme::Original, room, &body).await;
        (self.admitted(&minted.access).await, minted)
    }

    async fn ok(&self, path: &str) -> Value {
        json_body(self.get(path, Some(&self.api_key)).await, StatusCode::OK).await
    }

    async fn act(&self, session: &str, action: &str, body: Value) -> reqwest::Response {
        let path = format!("/v2/room_sessions/{session}/actions/{action}");
        self.post_json(&path, Some(&self.api_key), &body).await
    }

    async fn acted(&self, session: &str, action: &str, body: Value) {
        let done = json_body(self.act(session, action, body).await, StatusCode::OK).await;
        assert_eq!(done, json!({"data": {"result": "ok"}}));
    }

    async fn leave(&self, participant: &str) -> Value {
        let path = format!("/v2/room_participants/{participant}/actions/leave");
        let resp = self.post_json(&path, Some(&self.api_key), &json!({})).await;
        json_body(resp, StatusCode::OK).await["data"].clone()
    }

    /// The whole control feed after `after`, and the cursor.
    async fn commands(&self, after: &str) -> (Vec<Value>, String) {
        let feed = self
            .ok(&format!("/v2/room_commands?after={after}&limit=1000"))
            .await;
        (
            feed["data"].as_array().unwrap().clone(),
            string(&feed["meta"]["next_cursor"]),
        )
    }
}

fn id(v: &Value) -> String {
    string(&v["id"])
}

/// The feed's entries as (type, participant_id or revocation selector) pairs.
fn summary(commands: &[Value]) -> Vec<(String, String)> {
    commands
        .iter()
        .map(|c| {
            let what = match c["type"].as_str().unwrap() {
                "revocation" => {
                    let r = &c["revocation"];
                    ["jti", "identity", "issued_before"]
                        .iter()
                        .find(|k| r[**k].is_string())
                        .map(|k| {
                            format!(
                                "{k}:{}",
                                if *k == "issued_before" {
                                    "*".into()
                                } else {
                                    string(&r[*k])
                                }
                            )
                        })
                        .unwrap()
                }
                "session_end" => string(&c["session_id"]),
                _ => string(&c["participant_id"]),
            };
            (string(&c["type"]), what)
        })
        .collect()
}

backend_test! {
    async fn admission_opens_a_session_and_the_last_to_leave_ends_it(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        assert!(app.ok(&format!("/v2/rooms/{room}")).await["data"]["active_session_id"].is_null());

        let minted = app.mint(Scheme::Original, &room, &json!({"identity": "alice", "name": "Alice"})).await;
        let resp = app.admit(&minted.access, Some("desk 4")).await;
        let alice = json_body(resp, StatusCode::CREATED).await["data"].clone();
        assert_eq!(alice["record_type"], "room_participant");
        assert_eq!(alice["room_id"], room.as_str());
        assert_eq!(alice["identity"], "alice");
        assert_eq!(alice["name"], "Alice");
        assert_eq!(alice["context"], "desk 4");
        assert!(alice["left_at"].is_null());
        assert!(alice["lease_expires_at"].is_string());
        assert_eq!(alice["permissions"]["can_publish"], true);
        let session = string(&alice["session_id"]);
        assert_eq!(app.ok(&format!("/v2/rooms/{room}")).await["data"]["active_session_id"], session.as_str());
        let viewed = app.ok(&format!("/v2/room_sessions/{session}")).await["data"].clone();
        assert_eq!((viewed["active"].clone(), viewed["room_id"].clone()), (json!(true), json!(room)));
        assert!(viewed["ended_at"].is_null());
        assert!(viewed.get("participants").is_none(), "only when asked for");

        let (bob, _) = app.join(&room, Some("bob")).await;
        assert_eq!(bob["session_id"], session.as_str(), "the active session is joined");

        let left = app.leave(&id(&alice)).await;
        assert!(left["left_at"].is_string() && left["lease_expires_at"].is_null());
        assert_eq!(app.leave(&id(&alice)).await, left, "leaving twice changes nothing");
        assert_eq!(app.ok(&format!("/v2/room_sessions/{session}")).await["data"]["active"], true);

        app.leave(&id(&bob)).await;
        let ended = app.ok(&format!("/v2/room_sessions/{session}?include_participants=true")).await["data"].clone();
        assert_eq!(ended["active"], false);
        assert!(ended["ended_at"].is_string());
        let shown: Vec<String> = ended["participants"].as_array().unwrap().iter().map(id).collect();
        assert_eq!(shown, [id(&alice), id(&bob)], "oldest first");
        assert!(app.ok(&format!("/v2/rooms/{room}")).await["data"]["active_session_id"].is_null());

        let (carol, _) = app.join(&room, Some("carol")).await;
        assert_ne!(carol["session_id"], session.as_str(), "a join after the end opens a new session");
        let sessions = app.ok(&format!("/v2/rooms/{room}/sessions")).await;
        assert_eq!(sessions["meta"]["total_results"], 2);
    }
}

backend_test! {
    async fn max_participants_holds_under_concurrent_admissions_on_two_replicas(backend: Backend) {
        let db = std::sync::Arc::new(TestDatabase::new(backend).await);
        let a = TestApp::from_server(TestServer::start_over(db.clone(), fast_config()).await);
        let b = a.server.replica(fast_config()).await;
        let room = string(&a.create_room(json!({"max_participants": 4})).await["id"]);
        for round in 0..3 {
            let mut tokens = Vec::new();
            for i in 0..5 {
                let who = json!({"identity": format!("p{round}-{i}")});
                tokens.push(a.mint(Scheme::Original, &room, &who).await.access);
            }
            let joins = tokens.iter().enumerate().map(|(i, token)| {
                let base = if i % 2 == 0 { a.address.clone() } else { b.address.clone() };
                let (client, key) = (a.client.clone(), a.api_key.clone());
                let token = token.clone();
                async move {
                    client
                        .post(format!("{base}/v2/room_participants"))
                        .bearer_auth(key)
                        .json(&json!({"access_token": token}))
                        .send()
                        .await
                        .unwrap()
                }
            });
            let handles: Vec<_> = joins.map(tokio::spawn).collect();
            let mut admitted = Vec::new();
            let mut refused = 0;
            for handle in handles {
                let resp = handle.await.unwrap();
                match resp.status() {
                    StatusCode::CREATED => admitted.push(resp.json::<Value>().await.unwrap()["data"].clone()),
                    StatusCode::FORBIDDEN => {
                        assert_eq!(resp.headers()["x-should-retry"], "false");
                        let body: Value = resp.json().await.unwrap();
                        assert_eq!(body["errors"][0]["title"], "Room full");
                        assert_eq!(body["errors"][0]["meta"]["max_participants"], 4);
                        refused += 1;
                    }
                    other => panic!("unexpected {other}"),
                }
            }
            assert_eq!((admitted.len(), refused), (4, 1), "round {round}: exactly max_participants admitted");
            let session = string(&admitted[0]["session_id"]);
            assert!(admitted.iter().all(|p| p["session_id"] == session.as_str()), "one session");
            let listed = a.ok(&format!("/v2/room_sessions/{session}/participants")).await;
            assert_eq!(listed["meta"]["total_results"], 4, "the refused join recorded nothing");
            for p in &admitted {
                a.leave(&id(p)).await;
            }
        }
        assert_eq!(a.ok(&format!("/v2/rooms/{room}/sessions")).await["meta"]["total_results"], 3);
    }
}

backend_test! {
    async fn tokens_that_cannot_be_admitted_are_refused_and_record_nothing(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({"identity": "eve"})).await;
        for (body, code, pointer) in [
            (json!({}), "10004", "/access_token"),
            (json!({"access_token": 7}), "10026", "/access_token"),
            (json!({"access_token": minted.access, "context": 3}), "10026", "/context"),
            (json!({"access_token": minted.access, "context": "x".repeat(1025)}), "10033", "/context"),
            (json!({"access_token": minted.access, "context": "a\nb"}), "10033", "/context"),
        ] {
            let resp = app.post_json("/v2/room_participants", Some(&app.api_key), &body).await;
            assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some(pointer)).await;
        }
        let reason = |resp: reqwest::Response| async move {
            let body = assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
            string(&body["meta"]["reason"])
        };
        assert_eq!(reason(app.admit("not a token", None).await).await, "invalid");
        assert_eq!(reason(app.admit(&minted.refresh, None).await).await, "unsupported_algorithm", "a refresh token (HS256) is no access token");
        let mallory = app.new_api_key("mallory").await;
        let theirs = app
            .post_json("/v2/room_participants", Some(&mallory.secret), &json!({"access_token": minted.access}))
            .await;
        assert_eq!(reason(theirs).await, "invalid", "another account's room says nothing more");
        let revoked = app.mint(Scheme::Original, &room, &json!({"identity": "rex"})).await;
        let path = format!("/v2/rooms/{room}/actions/revoke_tokens");
        let resp = app.post_json(&path, Some(&app.api_key), &json!({"identity": "rex"})).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(reason(app.admit(&revoked.access, None).await).await, "revoked");
        app.clock.advance(601);
        assert_eq!(reason(app.admit(&minted.access, None).await).await, "expired");
        let sessions = app.ok("/v2/room_sessions").await;
        assert_eq!(sessions["meta"]["total_results"], 0, "no session was opened");
        assert!(app.ok(&format!("/v2/rooms/{room}")).await["data"]["active_session_id"].is_null());
    }
}

backend_test! {
    async fn a_lease_not_renewed_runs_out_and_counts_as_leaving(backend: Backend) {
        let config = Config {
            participant_lease: Duration::from_secs(30),
            lease_sweep_interval: Duration::from_millis(100),
            ..Config::default()
        };
        let app = TestApp::spawn_with(backend, config).await;
        let room = app.new_room().await;
        let (kept, _) = app.join(&room, Some("kept")).await;
        let (dropped, _) = app.join(&room, Some("dropped")).await;
        let session = string(&kept["session_id"]);
        app.clock.advance(20);
        let renewal = json!({"participant_ids": [id(&kept)]});
        let renewed = app.post_json("/v2/room_participants/actions/renew", Some(&app.api_key), &renewal).await;
        let renewed = json_body(renewed, StatusCode::OK).await["data"].clone();
        assert_eq!(renewed["renewed"], json!([id(&kept)]));
        app.clock.advance(15);
        let wait_left = |who: String| {
            let app = &app;
            async move {
                for _ in 0..100 {
                    let p = app.ok(&format!("/v2/room_participants/{who}")).await["data"].clone();
                    if p["left_at"].is_string() {
                        return p;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("{who} never left");
            }
        };
        let gone = wait_left(id(&dropped)).await;
        assert_eq!(gone["left_at"], dropped["lease_expires_at"], "left when its lease ran out");
        let still = app.ok(&format!("/v2/room_participants/{}", id(&kept))).await["data"].clone();
        assert!(still["left_at"].is_null(), "a renewed lease holds");
        let both = json!({"participant_ids": [id(&kept), id(&dropped)]});
        let answer = app.post_json("/v2/room_participants/actions/renew", Some(&app.api_key), &both).await;
        let answer = json_body(answer, StatusCode::OK).await["data"].clone();
        assert_eq!((answer["renewed"].clone(), answer["gone"].clone()), (json!([id(&kept)]), json!([id(&dropped)])));
        app.clock.advance(31);
        wait_left(id(&kept)).await;
        for _ in 0..100 {
            if app.ok(&format!("/v2/room_sessions/{session}")).await["data"]["active"] == false {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the session did not end when its last lease ran out");
    }
}

backend_test! {
    async fn moderation_reaches_the_control_feed_in_order_and_kicked_tokens_stop_refreshing(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let (_, start) = app.commands("0").await;
        let (alice, alice_tokens) = app.join(&room, Some("alice")).await;
        let (bob, bob_tokens) = app.join(&room, Some("bob")).await;
        let (anon, anon_tokens) = app.join(&room, None).await;
        let session = string(&alice["session_id"]);

        app.acted(&session, "mute", json!({"participants": [id(&bob)], "kinds": ["audio"]})).await;
        app.acted(&session, "unmute", json!({"participants": "all", "exclude": [id(&alice), id(&anon)]})).await;
        app.acted(&session, "kick", json!({"participants": [id(&alice), id(&anon)]})).await;
        let (feed, after_kick) = app.commands(&start).await;
        let anon_jti = string(&crate::jwt::decode(&anon_tokens.access).claims["jti"]);
        assert_eq!(
            summary(&feed),
            [
                ("mute".into(), id(&bob)),
                ("unmute".into(), id(&bob)),
                ("revocation".into(), "identity:alice".into()),
                ("revocation".into(), format!("jti:{anon_jti}")),
                ("kick".into(), id(&alice)),
                ("kick".into(), id(&anon)),
            ]
        );
        assert_eq!(feed[0]["kinds"], json!(["audio"]));
        assert_eq!(feed[1]["kinds"], json!(["audio", "video"]), "both kinds by default");
        assert_eq!(feed[4]["reason"], "kicked");
        assert!(app.ok(&format!("/v2/room_participants/{}", id(&alice))).await["data"]["left_at"].is_string());
        assert_eq!(app.refresh_token(Scheme::Original, &room, &alice_tokens.refresh).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.refresh_token(Scheme::Original, &room, &bob_tokens.refresh).await.status(), StatusCode::CREATED);
        // A token minted for alice after the kick lets her back in.
        app.clock.advance(1);
        let (back, _) = app.join(&room, Some("alice")).await;
        assert_eq!(back["session_id"], session.as_str());

        app.acted(&session, "end", json!({})).await;
        let (feed, end_cursor) = app.commands(&after_kick).await;
        assert_eq!(summary(&feed), [("revocation".into(), "issued_before:*".into()), ("session_end".into(), session.clone())]);
        let ended = app.ok(&format!("/v2/room_sessions/{session}?include_participants=true")).await["data"].clone();
        assert_eq!(ended["active"], false);
        assert!(ended["participants"].as_array().unwrap().iter().all(|p| p["left_at"].is_string()), "everyone left");
        assert_eq!(app.refresh_token(Scheme::Original, &room, &bob_tokens.refresh).await.status(), StatusCode::FORBIDDEN);
        // Ending again, or acting on an ended session, is done and adds nothing.
        app.acted(&session, "end", json!({})).await;
        app.acted(&session, "kick", json!({"participants": "all"})).await;
        assert_eq!(app.commands(&end_cursor).await.0, Vec::<Value>::new());
        // A cursor resumes exactly where it was.
        let (all, _) = app.commands(&start).await;
        assert_eq!(all.len(), 8);
    }
}

backend_test! {
    async fn the_same_identity_joining_again_replaces_the_earlier_participant(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = string(&app.create_room(json!({"max_participants": 2})).await["id"]);
        let (_, start) = app.commands("0").await;
        let (first, _) = app.join(&room, Some("dana")).await;
        app.join(&room, Some("erin")).await;
        // The room is full, but dana's new connection takes her old place.
        let (second, _) = app.join(&room, Some("dana")).await;
        assert!(app.ok(&format!("/v2/room_participants/{}", id(&first))).await["data"]["left_at"].is_string());
        let (feed, _) = app.commands(&start).await;
        assert_eq!(summary(&feed), [("kick".into(), id(&first))]);
        assert_eq!(feed[0]["reason"], "replaced");
        let session = string(&second["session_id"]);
        let live = app.ok(&format!("/v2/room_participants?filter[session_id]={session}")).await;
        assert_eq!(live["meta"]["total_results"], 3);
    }
}

backend_test! {
    async fn sessions_and_participants_are_listed_filtered_and_checked(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, other) = (app.new_room().await, app.new_room().await);
        let minted = app.mint(Scheme::Original, &room, &json!({"identity": "a"})).await;
        let first = json_body(app.admit(&minted.access, Some("web")).await, StatusCode::CREATED).await["data"].clone();
        app.leave(&id(&first)).await;
        let (second, _) = app.join(&room, Some("b")).await;
        app.join(&other, Some("c")).await;
        let today = app.clock.now().date().to_string();
        let yesterday = (app.clock.now().date() - time::Duration::days(1)).to_string();

        let total = |v: Value| v["meta"]["total_results"].as_u64().unwrap();
        assert_eq!(total(app.ok("/v2/room_sessions").await), 3);
        assert_eq!(total(app.ok("/v2/room_sessions?filter[active]=true").await), 2);
        assert_eq!(total(app.ok("/v2/room_sessions?filter[active]=false").await), 1);
        assert_eq!(total(app.ok(&format!("/v2/room_sessions?filter[room_id]={room}")).await), 2);
        assert_eq!(total(app.ok(&format!("/v2/room_sessions?filter[date_created_at][eq]={today}")).await), 3);
        assert_eq!(total(app.ok(&format!("/v2/room_sessions?filter[date_created_at][lte]={yesterday}")).await), 0);
        assert_eq!(total(app.ok(&format!("/v2/room_sessions?filter[date_ended_at][gte]={today}")).await), 1);
        let page = app.ok("/v2/room_sessions?page[size]=2&page[number]=2&include_participants=true").await;
        assert_eq!((page["meta"]["total_pages"].clone(), page["data"].as_array().unwrap().len()), (json!(2), 1));
        assert!(page["data"][0]["participants"].is_array());

        assert_eq!(total(app.ok("/v2/room_participants").await), 3);
        assert_eq!(total(app.ok("/v2/room_participants?filter[context]=web").await), 1);
        let session = string(&second["session_id"]);
        assert_eq!(total(app.ok(&format!("/v2/room_participants?filter[session_id]={session}")).await), 1);
        assert_eq!(total(app.ok(&format!("/v2/room_participants?filter[date_left_at][eq]={today}")).await), 1);
        assert_eq!(total(app.ok(&format!("/v2/room_participants?filter[date_joined_at][lte]={yesterday}")).await), 0);

        for (path, param) in [
            ("/v2/room_sessions?filter[active]=maybe", "filter[active]"),
            ("/v2/room_sessions?filter[room_id]=nope", "filter[room_id]"),
            ("/v2/room_sessions?include_participants=1", "include_participants"),
            ("/v2/room_sessions?filter[date_created_at][eq]=12-01-2026", "filter[date_created_at][eq]"),
            ("/v2/room_sessions?page[size]=251", "page[size]"),
            ("/v2/room_participants?filter[session_id]=x", "filter[session_id]"),
            ("/v2/room_participants?page[number]=0", "page[number]"),
            ("/v2/room_commands?after=x", "after"),
            ("/v2/room_commands?wait=31", "wait"),
            ("/v2/room_commands?limit=0", "limit"),
            ("/v2/room_commands?limit=1001", "limit"),
        ] {
            let resp = app.get(path, Some(&app.api_key)).await;
            let body = json_body(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(body["errors"][0]["source"]["parameter"], param, "{path}");
        }
        for path in ["/v2/room_sessions/nope", "/v2/room_participants/nope", &format!("/v2/room_sessions/{}", uuid::Uuid::new_v4())] {
            assert_error(app.get(path, Some(&app.api_key)).await, StatusCode::NOT_FOUND, "10005", None).await;
        }
        for (body, code, pointer) in [
            (json!({}), "10004", "/participants"),
            (json!({"participants": "some"}), "10033", "/participants"),
            (json!({"participants": ["x"]}), "10026", "/participants/0"),
            (json!({"participants": "all", "exclude": "x"}), "10026", "/exclude"),
            (json!({"participants": "all", "kinds": ["smell"]}), "10033", "/kinds/0"),
        ] {
            let resp = app.act(&session, "mute", body).await;
            assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some(pointer)).await;
        }
        let too_many: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for (body, code) in [
            (json!({}), "10004"),
            (json!({"participant_ids": []}), "10033"),
            (json!({"participant_ids": [1]}), "10026"),
            (json!({"participant_ids": "x"}), "10026"),
            (json!({"participant_ids": too_many}), "10033"),
        ] {
            let resp = app.post_json("/v2/room_participants/actions/renew", Some(&app.api_key), &body).await;
            assert_eq!(json_body(resp, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["code"], code);
        }
    }
}

backend_test! {
    async fn another_accounts_sessions_and_participants_are_invisible(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let (p, _) = app.join(&room, Some("a")).await;
        let session = string(&p["session_id"]);
        let mallory = app.new_api_key("mallory").await;
        let theirs = Some(mallory.secret.as_str());
        for path in [
            format!("/v2/room_sessions/{session}"),
            format!("/v2/room_sessions/{session}/participants"),
            format!("/v2/room_participants/{}", id(&p)),
            format!("/v2/rooms/{room}/sessions"),
        ] {
            assert_error(app.get(&path, theirs).await, StatusCode::NOT_FOUND, "10005", None).await;
        }
        for action in ["end", "kick", "mute", "unmute"] {
            let path = format!("/v2/room_sessions/{session}/actions/{action}");
            let resp = app.post_json(&path, theirs, &json!({"participants": "all"})).await;
            assert_error(resp, StatusCode::NOT_FOUND, "10005", None).await;
        }
        let leave = app.post_json(&format!("/v2/room_participants/{}/actions/leave", id(&p)), theirs, &json!({})).await;
        assert_error(leave, StatusCode::NOT_FOUND, "10005", None).await;
        let renew = app.post_json("/v2/room_participants/actions/renew", theirs, &json!({"participant_ids": [id(&p)]})).await;
        assert_eq!(json_body(renew, StatusCode::OK).await["data"]["gone"], json!([id(&p)]));
        for path in ["/v2/room_sessions", "/v2/room_participants", "/v2/room_commands"] {
            let listed = json_body(app.get(path, theirs).await, StatusCode::OK).await;
            assert_eq!(listed["data"], json!([]), "{path}");
        }
        // Untouched for its owner.
        let mine = app.ok(&format!("/v2/room_participants/{}", id(&p))).await["data"].clone();
        assert!(mine["left_at"].is_null());
        assert_eq!(app.ok(&format!("/v2/room_sessions/{session}")).await["data"]["active"], true);
    }
}

backend_test! {
    async fn a_command_made_on_one_replica_wakes_a_long_poll_on_another(backend: Backend) {
        let db = std::sync::Arc::new(TestDatabase::new(backend).await);
        let a = TestApp::from_server(TestServer::start_over(db.clone(), fast_config()).await);
        let b = a.server.replica(fast_config()).await;
        let room = a.new_room().await;
        let (p, _) = a.join(&room, Some("a")).await;
        let (_, cursor) = a.commands("0").await;
        let url = format!("{}/v2/room_commands?after={cursor}&wait=20", b.address);
        let poll = a.client.get(url).bearer_auth(&a.api_key).send();
        let started = std::time::Instant::now();
        let (resp, ()) = tokio::join!(poll, async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            a.acted(&string(&p["session_id"]), "mute", json!({"participants": "all"})).await;
        });
        let feed: Value = resp.unwrap().json().await.unwrap();
        assert_eq!(summary(feed["data"].as_array().unwrap()), [("mute".into(), id(&p))]);
        assert!(started.elapsed() < Duration::from_secs(5), "woken, not timed out: {:?}", started.elapsed());
    }
}
