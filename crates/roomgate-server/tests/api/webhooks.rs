//! Webhooks: every live-room event delivered to the room's URL in Telnyx's envelope and signature, in each room's
//! order and once across replicas; retries with backoff, the failover URL, the room's timeout, and the SSRF
//! guard. (The Telnyx Python SDK's `webhooks.unwrap` checks the signatures in compat/python; a SIGKILL during a
//! burst is the binary's test.)
use std::{collections::HashMap, time::Duration};

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use reqwest::StatusCode;
use roomgate_server::testing::receiver::{Hit, Reply, WebhookReceiver};
use roomgate_server::testing::{TestDatabase, TestServer};
use roomgate_server::Config;
use roomgate_store::backend_test;
use serde_json::{json, Value};

use crate::harness::{assert_micros_timestamp, json_body, string, Scheme, TestApp};

/// Deliveries to loopback allowed (the receiver is on 127.0.0.1), quick retries.
fn hook_config() -> Config {
    let mut config = crate::replicas::fast_config();
    config.webhooks.allow_private_targets = true;
    config.webhooks.first_retry_delay = Duration::from_millis(200);
    config.webhooks.poll_interval = Duration::from_millis(100);
    config
}

const WITHIN: Duration = Duration::from_secs(20);

/// A session three participants joined and left.
const THREE_JOIN_AND_LEAVE: [&str; 8] = [
    "video.room.session.started",
    "video.room.participant.joined",
    "video.room.participant.joined",
    "video.room.participant.joined",
    "video.room.participant.left",
    "video.room.participant.left",
    "video.room.participant.left",
    "video.room.session.ended",
];

impl TestApp {
    async fn hooked_room(&self, body: Value) -> String {
        string(&self.create_room(body).await["id"])
    }

    /// Mints for `identity` and admits with `context`; the participant's id and session.
    async fn enter(&self, room: &str, identity: &str, context: Option<&str>) -> (String, String) {
        let minted = self
            .mint(Scheme::Original, room, &json!({ "identity": identity }))
            .await;
        let body = json!({ "access_token": minted.access, "context": context });
        let resp = self
            .post_json("/v2/room_participants", Some(&self.api_key), &body)
            .await;
        let p = json_body(resp, StatusCode::CREATED).await["data"].clone();
        (string(&p["id"]), string(&p["session_id"]))
    }

    async fn depart(&self, participant: &str) {
        let path = format!("/v2/room_participants/{participant}/actions/leave");
        let resp = self.post_json(&path, Some(&self.api_key), &json!({})).await;
        json_body(resp, StatusCode::OK).await;
    }

    async fn session_action(&self, session: &str, action: &str, body: Value) {
        let path = format!("/v2/room_sessions/{session}/actions/{action}");
        let resp = self.post_json(&path, Some(&self.api_key), &body).await;
        json_body(resp, StatusCode::OK).await;
    }

    async fn webhook_key(&self) -> VerifyingKey {
        let resp = self.get("/v2/webhook_public_key", Some(&self.api_key)).await;
        let key = string(&json_body(resp, StatusCode::OK).await["data"]["public_key"]);
        let bytes = base64::engine::general_purpose::STANDARD.decode(key).unwrap();
        VerifyingKey::from_bytes(&bytes.try_into().unwrap()).unwrap()
    }

    async fn metric(&self, name_and_labels: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.metrics_address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name_and_labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Whether `hit`'s signature verifies under `key` over `"<timestamp>|<body>"`.
fn verifies(key: &VerifyingKey, timestamp: &str, body: &str, signature: &str) -> bool {
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&sig) else {
        return false;
    };
    key.verify_strict(format!("{timestamp}|{body}").as_bytes(), &sig)
        .is_ok()
}

fn types(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(Hit::event_type).collect()
}

backend_test! {
    async fn every_live_room_event_is_delivered_signed_in_telnyxs_envelope(backend: Backend) {
        let app = TestApp::spawn_with(backend, hook_config()).await;
        let hook = WebhookReceiver::start().await;
        let room = app.hooked_room(json!({"webhook_event_url": hook.url})).await;
        let quiet = app.hooked_room(json!({})).await;

        let (alice, session) = app.enter(&room, "alice", Some("desk 4")).await;
        let (bob, _) = app.enter(&room, "bob", None).await;
        let (carol, _) = app.enter(&room, "carol", None).await;
        app.depart(&alice).await;
        app.session_action(&session, "kick", json!({"participants": [bob]})).await;
        app.session_action(&session, "end", json!({})).await;
        let (_, other_session) = app.enter(&quiet, "dave", None).await;
        app.session_action(&other_session, "end", json!({})).await;

        let hits = hook.wait_for(8, WITHIN).await;
        assert_eq!(types(&hits), THREE_JOIN_AND_LEAVE);
        let key = app.webhook_key().await;
        let now = roomgate_server::Clock::now(&app.clock).unix_timestamp();
        for hit in &hits {
            let data = &hit.json["data"];
            assert_eq!(data["record_type"], "event");
            assert!(uuid::Uuid::parse_str(hit.id()).is_ok(), "{hit:?}");
            assert_micros_timestamp(data["occurred_at"].as_str().unwrap());
            assert_eq!(hit.json["meta"], json!({"attempt": 1, "delivered_to": hook.url}));
            assert_eq!(hit.payload()["room_id"], room.as_str());
            assert_eq!(hit.payload()["session_id"], session.as_str());
            assert!(verifies(&key, &hit.timestamp, &hit.body, &hit.signature), "{hit:?}");
            let sent: i64 = hit.timestamp.parse().unwrap();
            assert!((sent - now).abs() <= 30, "telnyx-timestamp is the time of sending");
        }
        let ids: std::collections::HashSet<&str> = hits.iter().map(Hit::id).collect();
        assert_eq!(ids.len(), hits.len(), "each event has an id of its own");
        assert_eq!(hits[0].payload().as_object().unwrap().len(), 2, "started: room and session");
        assert_eq!(hits[1].payload(), &json!({
            "room_id": room, "session_id": session, "participant_id": alice, "context": "desk 4"
        }));
        assert_eq!(hits[2].payload()["participant_id"], bob.as_str());
        assert!(hits[2].payload()["context"].is_null());
        assert_eq!(hits[3].payload()["participant_id"], carol.as_str());
        let left: Vec<&Value> = hits[4..7].iter().map(|h| &h.payload()["participant_id"]).collect();
        assert_eq!(left, [&json!(alice), &json!(bob), &json!(carol)], "left, kicked, ended");
        assert_eq!(hits[4].payload()["context"], "desk 4");
        for hit in &hits[4..] {
            assert!(hit.payload()["duration_secs"].as_i64().is_some_and(|d| d >= 0), "{hit:?}");
        }

        // The signature covers every byte and the timestamp.
        let hit = &hits[1];
        let mut changed = hit.body.clone().into_bytes();
        let at = changed.iter().position(|b| *b == b'4').unwrap();
        changed[at] = b'5';
        assert!(!verifies(&key, &hit.timestamp, std::str::from_utf8(&changed).unwrap(), &hit.signature));
        let later = (hit.timestamp.parse::<i64>().unwrap() + 1).to_string();
        assert!(!verifies(&key, &later, &hit.body, &hit.signature));

        // A room without a webhook URL queued nothing; a replica publishes the same key.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(hook.hits().len(), 8);
        let replica = TestApp::from_server(app.server.replica(hook_config()).await);
        assert_eq!(replica.webhook_key().await, key);
        assert_eq!(app.metric("roomgate_webhook_events_queued_total").await, 8.0);
        assert_eq!(app.metric("roomgate_webhook_events_delivered_total").await, 8.0);
    }
}

backend_test! {
    async fn a_failing_receiver_is_retried_with_backoff_and_the_rooms_next_event_waits(backend: Backend) {
        let app = TestApp::spawn_with(backend, hook_config()).await;
        let hook = WebhookReceiver::start().await;
        hook.plan([Reply::Status(500), Reply::Status(503), Reply::Status(404)]);
        let room = app.hooked_room(json!({"webhook_event_url": hook.url})).await;
        app.enter(&room, "alice", None).await;

        let hits = hook.wait_for(5, WITHIN).await;
        assert_eq!(types(&hits), [
            "video.room.session.started",
            "video.room.session.started",
            "video.room.session.started",
            "video.room.session.started",
            "video.room.participant.joined",
        ], "the room's next event waits until the one before is delivered");
        assert!(hits[..4].iter().all(|h| h.id() == hits[0].id()), "every attempt has the event's id");
        let attempts: Vec<&Value> = hits.iter().map(|h| &h.json["meta"]["attempt"]).collect();
        assert_eq!(attempts, [&json!(1), &json!(2), &json!(3), &json!(4), &json!(1)]);
        // 200 ms doubling, each a random half to all of it: at least 100, 200, 400 ms.
        let gaps: Vec<Duration> = hits[..4].windows(2).map(|w| w[1].at - w[0].at).collect();
        for (gap, least) in gaps.iter().zip([100, 200, 400]) {
            assert!(*gap >= Duration::from_millis(least), "{gaps:?}");
        }
        assert!(gaps[2] > gaps[0], "the delay grows: {gaps:?}");
        let key = app.webhook_key().await;
        assert!(hits.iter().all(|h| verifies(&key, &h.timestamp, &h.body, &h.signature)), "each attempt is signed");
        assert_eq!(app.metric("roomgate_webhook_events_retried_total").await, 3.0);
        assert_eq!(app.metric("roomgate_webhook_attempts_failed_total{reason=\"status\"}").await, 3.0);
    }
}

backend_test! {
    async fn the_failover_url_gets_what_the_primary_does_not_take(backend: Backend) {
        let app = TestApp::spawn_with(backend, hook_config()).await;
        let (primary, failover) = (WebhookReceiver::start().await, WebhookReceiver::start().await);
        primary.plan([Reply::Status(502), Reply::Status(500)]);
        let room = app
            .hooked_room(json!({"webhook_event_url": primary.url, "webhook_event_failover_url": failover.url}))
            .await;
        app.enter(&room, "alice", None).await;

        let caught = failover.wait_for(2, WITHIN).await;
        assert_eq!(types(&caught), ["video.room.session.started", "video.room.participant.joined"]);
        for hit in &caught {
            assert_eq!(hit.json["meta"], json!({"attempt": 1, "delivered_to": failover.url}));
        }
        let tried = primary.hits();
        assert_eq!(types(&tried), types(&caught), "the primary is tried first, each time");
        assert_eq!(tried[0].id(), caught[0].id());
        // The primary recovered: the next event goes to it alone.
        let (bob, _) = app.enter(&room, "bob", None).await;
        let tried = primary.wait_for(3, WITHIN).await;
        assert_eq!(tried[2].payload()["participant_id"], bob.as_str());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(failover.hits().len(), 2);
    }
}

backend_test! {
    async fn webhook_timeout_secs_cuts_a_slow_receiver_short(backend: Backend) {
        let app = TestApp::spawn_with(backend, hook_config()).await;
        let hook = WebhookReceiver::start().await;
        hook.plan([Reply::Slow(Duration::from_secs(5))]);
        let room = app
            .hooked_room(json!({"webhook_event_url": hook.url, "webhook_timeout_secs": 1}))
            .await;
        app.enter(&room, "alice", None).await;

        let hits = hook.wait_for(3, WITHIN).await;
        assert_eq!(hits[0].id(), hits[1].id(), "the slow attempt is given up and retried");
        assert_eq!(hits[1].json["meta"]["attempt"], 2);
        let gap = hits[1].at - hits[0].at;
        // One second of timeout, then a retry 100..200 ms later: long before the receiver's 5 s.
        assert!(gap >= Duration::from_millis(1000) && gap < Duration::from_millis(3000), "{gap:?}");
        assert_eq!(hits[2].event_type(), "video.room.participant.joined");
        assert_eq!(app.metric("roomgate_webhook_attempts_failed_total{reason=\"timeout\"}").await, 1.0);
    }
}

backend_test! {
    async fn two_replicas_deliver_each_event_once_in_each_rooms_order(backend: Backend) {
        let db = std::sync::Arc::new(TestDatabase::new(backend).await);
        let a = TestApp::from_server(TestServer::start_over(db.clone(), hook_config()).await);
        let b = TestApp::from_server(a.server.replica(hook_config()).await);
        let hook = WebhookReceiver::start().await;
        // Slow enough that both replicas have deliveries in flight at once.
        hook.plan(std::iter::repeat_n(Reply::Slow(Duration::from_millis(30)), 200));
        let mut rooms = Vec::new();
        for _ in 0..4 {
            rooms.push(a.hooked_room(json!({"webhook_event_url": hook.url})).await);
        }
        let mut expected = 0;
        for (r, room) in rooms.iter().enumerate() {
            let mut people = Vec::new();
            for i in 0..3 {
                let via = if (r + i) % 2 == 0 { &a } else { &b };
                people.push(via.enter(room, &format!("p{i}"), None).await.0);
            }
            for (i, p) in people.iter().enumerate() {
                let via = if i % 2 == 0 { &b } else { &a };
                via.depart(p).await;
            }
            expected += 1 + 3 + 3 + 1;
        }
        let hits = hook.wait_for(expected, WITHIN).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let hits_after = hook.hits();
        assert_eq!(hits_after.len(), hits.len(), "nothing is delivered twice");
        let ids: std::collections::HashSet<&str> = hits_after.iter().map(Hit::id).collect();
        assert_eq!(ids.len(), expected);

        let mut by_room: HashMap<String, Vec<&Hit>> = HashMap::new();
        for hit in &hits_after {
            by_room.entry(string(&hit.payload()["room_id"])).or_default().push(hit);
        }
        assert_eq!(by_room.len(), 4);
        for (room, events) in by_room {
            let kinds: Vec<&str> = events.iter().map(|h| h.event_type()).collect();
            assert_eq!(kinds, THREE_JOIN_AND_LEAVE, "room {room}");
            let at: Vec<&str> = events.iter().map(|h| h.json["data"]["occurred_at"].as_str().unwrap()).collect();
            assert!(at.windows(2).all(|w| w[0] <= w[1]), "in the order they occurred: {at:?}");
        }
        // Both replicas are in this process, whose metrics they share: each event was counted once.
        assert_eq!(a.metric("roomgate_webhook_events_delivered_total").await, expected as f64);
    }
}

backend_test! {
    async fn the_ssrf_guard_refuses_loopback_private_link_local_and_metadata_targets(backend: Backend) {
        let mut config = hook_config();
        config.webhooks.allow_private_targets = false;
        let app = TestApp::spawn_with(backend, config).await;
        let hook = WebhookReceiver::start().await;
        let port = hook.url.trim_end_matches("/hook").rsplit(':').next().unwrap().to_owned();
        let targets = [
            hook.url.clone(),
            format!("http://localhost:{port}/hook"),
            format!("http://[::1]:{port}/hook"),
            format!("http://[::ffff:127.0.0.1]:{port}/hook"),
            "http://10.0.0.1/hook".to_owned(),
            "http://192.168.0.10/hook".to_owned(),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://[fd00:ec2::254]/latest".to_owned(),
        ];
        for url in &targets {
            let room = app.hooked_room(json!({"webhook_event_url": url})).await;
            app.enter(&room, "alice", None).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(hook.hits().is_empty(), "nothing reached the receiver");
        let refused = app.metric("roomgate_webhook_attempts_failed_total{reason=\"refused_target\"}").await;
        assert!(refused >= targets.len() as f64, "every target was refused at least once: {refused}");
        let other = app.metric("roomgate_webhook_attempts_failed_total").await - refused;
        assert_eq!(other, 0.0, "no connection was attempted");

        // A replica allowed to deliver to private targets delivers the loopback ones.
        let mut allowed = hook_config();
        allowed.webhooks.allow_private_targets = true;
        let replica = TestApp::from_server(app.server.replica(allowed).await);
        let mut app = app;
        app.server.stop().await;
        // The receiver's own URL and localhost (it listens on 127.0.0.1 alone): two events each.
        let hits = hook.wait_for(2 * 2, WITHIN).await;
        assert!(types(&hits).contains(&"video.room.participant.joined"));
        drop(replica);
    }
}

backend_test! {
    async fn an_event_not_delivered_within_the_horizon_is_given_up_and_counted(backend: Backend) {
        let mut config = hook_config();
        config.webhooks.give_up_after = Duration::from_millis(700);
        let app = TestApp::spawn_with(backend, config).await;
        let hook = WebhookReceiver::start().await;
        hook.plan(std::iter::repeat_n(Reply::Status(500), 3));
        let room = app.hooked_room(json!({"webhook_event_url": hook.url})).await;
        app.enter(&room, "alice", None).await;

        // 200 ms, then 400 ms, doubling: the third attempt's retry would fall past 700 ms, so it is the last.
        let hits = hook.wait_for(4, WITHIN).await;
        let tried: Vec<&str> = types(&hits[..hits.len() - 1]).into_iter().collect();
        assert!(tried.iter().all(|t| *t == "video.room.session.started"), "{tried:?}");
        assert!((2..=3).contains(&tried.len()), "{tried:?}");
        assert_eq!(hits.last().unwrap().event_type(), "video.room.participant.joined", "the room goes on");
        assert_eq!(app.metric("roomgate_webhook_events_failed_total").await, 1.0);
        assert_eq!(app.metric("roomgate_webhook_events_delivered_total").await, 1.0);
    }
}

backend_test! {
    async fn deleting_a_room_mid_session_ends_the_session_for_webhooks_and_media_servers(backend: Backend) {
        let app = TestApp::spawn_with(backend, hook_config()).await;
        let hook = WebhookReceiver::start().await;
        let room = app.hooked_room(json!({"webhook_event_url": hook.url})).await;
        let (alice, session) = app.enter(&room, "alice", None).await;
        let feed = json_body(app.get("/v2/room_commands?wait=0", Some(&app.api_key)).await, StatusCode::OK).await;
        let cursor = string(&feed["meta"]["next_cursor"]);

        let resp = app.delete(&format!("/v2/rooms/{room}"), Some(&app.api_key)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let hits = hook.wait_for(4, WITHIN).await;
        assert_eq!(types(&hits[2..]), ["video.room.participant.left", "video.room.session.ended"]);
        assert_eq!(hits[2].payload()["participant_id"], alice.as_str());
        assert_eq!(hits[3].payload()["session_id"], session.as_str());

        let path = format!("/v2/room_commands?after={cursor}&wait=0");
        let feed = json_body(app.get(&path, Some(&app.api_key)).await, StatusCode::OK).await;
        let commands = feed["data"].as_array().unwrap();
        assert_eq!(commands.len(), 1, "{feed}");
        assert_eq!(commands[0]["type"], "session_end");
        assert_eq!(commands[0]["session_id"], session.as_str());
        let gone = app.get(&format!("/v2/room_sessions/{session}"), Some(&app.api_key)).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "the session went with its room");
    }
}

backend_test! {
    async fn a_graceful_stop_settles_the_delivery_in_flight_so_a_restart_goes_on_at_once(backend: Backend) {
        let mut app = TestApp::spawn_with(backend, hook_config()).await;
        let hook = WebhookReceiver::start().await;
        hook.plan([Reply::Slow(Duration::from_millis(1500))]);
        let room = app.hooked_room(json!({"webhook_event_url": hook.url})).await;
        app.enter(&room, "alice", None).await;
        hook.wait_for(1, WITHIN).await;

        app.restart().await; // drains: waits for the slow delivery to be acknowledged
        let restarted = std::time::Instant::now();
        let hits = hook.wait_for(2, WITHIN).await;
        assert_eq!(types(&hits), ["video.room.session.started", "video.room.participant.joined"]);
        assert!(
            restarted.elapsed() < Duration::from_secs(3),
            "no claim of the stopped server to wait out: {:?}",
            restarted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(hook.hits().len(), 2, "the acknowledged delivery is not sent again");
    }
}
