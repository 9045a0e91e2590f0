//! Webhooks from the real binary: `roomgate serve` is killed with SIGKILL in the middle of a burst of joins, and
//! after a restart on the same database every participant that was answered 201 has its `joined` event delivered
//! (duplicates allowed, each event's id and content the same every time); and `roomgate webhook-key show` prints
//! the key that `GET /v2/webhook_public_key` publishes and that verifies the deliveries.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use roomgate_server::testing::receiver::{Reply, WebhookReceiver};
use roomgate_store::{backend_test, testing::TestDatabase};
use serde_json::{json, Value};

use crate::common::{api_key, run_with_env, serve, text};

const ARGS: &[&str] = &[
    "--webhook-allow-private-targets",
    "--rate-per-api-key",
    "off",
    "--webhook-first-retry-delay",
    "200ms",
];
const ROOMS: usize = 4;
const WORKERS: usize = 4;

async fn post(http: &reqwest::Client, url: String, key: &str, body: Value) -> Option<(u16, Value)> {
    let resp = http.post(url).bearer_auth(key).json(&body).send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

/// Mints and admits one participant after another until the server stops answering; records the admitted ids.
async fn joins(
    http: reqwest::Client,
    base: String,
    key: String,
    rooms: Vec<String>,
    w: usize,
    acked: Arc<Mutex<Vec<String>>>,
) {
    for i in 0usize.. {
        let room = &rooms[(w + i) % rooms.len()];
        let identity = format!("w{w}-{i}");
        let token = format!("{base}/v2/rooms/{room}/actions/create_access_token");
        let Some((201, minted)) = post(&http, token, &key, json!({"identity": identity})).await else {
            return;
        };
        let access = minted["data"]["access_token"].as_str().unwrap().to_owned();
        let admit = format!("{base}/v2/room_participants");
        match post(&http, admit, &key, json!({"access_token": access})).await {
            Some((201, p)) => acked
                .lock()
                .unwrap()
                .push(p["data"]["id"].as_str().unwrap().to_owned()),
            Some((403, _)) => {} // the room is full
            Some((status, body)) => panic!("admission answered {status}: {body}"),
            None => return,
        }
    }
}

backend_test! {
    async fn sigkill_during_a_burst_of_joins_loses_no_webhook_event(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDatabase::new(backend).await;
        let database = db.url().to_owned();
        let key = api_key(&database);
        let hook = WebhookReceiver::start().await;
        // A slow receiver, so that events are still waiting in the outbox when the server is killed.
        hook.plan(std::iter::repeat_n(Reply::Slow(Duration::from_millis(50)), 10_000));
        let mut server = serve(&database, &dir.path().join("serve-1.log"), ARGS).await;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let mut rooms = Vec::new();
        for _ in 0..ROOMS {
            let body = json!({"max_participants": 50, "webhook_event_url": hook.url, "webhook_timeout_secs": 1});
            let (status, room) = post(&http, format!("{}/v2/rooms", server.base), &key, body).await.unwrap();
            assert_eq!(status, 201);
            rooms.push(room["data"]["id"].as_str().unwrap().to_owned());
        }
        let acked = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(joins(http.clone(), server.base.clone(), key.clone(), rooms.clone(), w, acked.clone())))
            .collect();
        let started = Instant::now();
        while acked.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.child.kill().unwrap(); // SIGKILL, mid-burst
        server.child.wait().unwrap();
        for w in workers {
            tokio::time::timeout(Duration::from_secs(30), w).await.expect("workers stop").unwrap();
        }
        let admitted = acked.lock().unwrap().clone();
        assert!(admitted.len() >= 40, "too little load before the kill: {}", admitted.len());
        let before_restart = hook.hits().len();
        assert!(before_restart < admitted.len() + ROOMS, "events were pending at the kill: {before_restart}");

        let _server = serve(&database, &dir.path().join("serve-2.log"), ARGS).await;
        // Every acknowledged join, and each room's session start, arrive (claims of the killed process expire
        // after the room's timeout plus 5 s).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let hits = hook.hits();
            let joined: std::collections::HashSet<String> = hits
                .iter()
                .filter(|h| h.event_type() == "video.room.participant.joined")
                .map(|h| h.payload()["participant_id"].as_str().unwrap_or_default().to_owned())
                .collect();
            let missing: Vec<&String> = admitted.iter().filter(|p| !joined.contains(*p)).collect();
            let started = hits.iter().filter(|h| h.event_type() == "video.room.session.started").count();
            if missing.is_empty() && started >= ROOMS {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {} acknowledged joins never delivered ({before_restart} deliveries before the restart, {} now)",
                missing.len(), admitted.len(), hits.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Duplicates are allowed; an event's id always carries the same event.
        let mut seen: HashMap<String, Value> = HashMap::new();
        for hit in hook.hits() {
            let data = hit.json["data"].clone();
            if let Some(earlier) = seen.insert(hit.id().to_owned(), data.clone()) {
                assert_eq!(earlier, data, "a redelivery is the same event");
            }
        }
        eprintln!("{} joins acknowledged, {} deliveries, {} distinct events", admitted.len(), hook.hits().len(), seen.len());
    }
}

#[tokio::test]
async fn webhook_key_show_prints_the_published_key_last() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
    let master = "ZmFrZS1tYXN0ZXIta2V5LWZvci10ZXN0cy0zMmJ5dGU=";
    let show = |env: &[(&str, &str)]| {
        let out = run_with_env(&["webhook-key", "show", "--database", &database], env);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).lines().last().unwrap().trim().to_owned()
    };
    // Created by the first command that needs it, sealed by the master key; the same one every time after.
    let shown = show(&[("ROOMGATE_MASTER_KEY", master)]);
    assert_eq!(base64_len(&shown), 32, "{shown}");
    assert_eq!(show(&[("ROOMGATE_MASTER_KEY", master)]), shown);
    let refused = run_with_env(&["webhook-key", "show", "--database", &database], &[]);
    assert!(
        !refused.status.success(),
        "a sealed key does not open without the master key"
    );
    assert!(!text(&refused.stderr).contains(master));

    let key = api_key(&database);
    let server = crate::common::try_serve(
        &database,
        &dir.path().join("serve.log"),
        &[],
        &[("ROOMGATE_MASTER_KEY", master)],
    )
    .await
    .unwrap();
    let published: Value = reqwest::Client::new()
        .get(format!("{}/v2/webhook_public_key", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(published, json!({"data": {"public_key": shown}}));
    let anonymous = reqwest::get(format!("{}/v2/webhook_public_key", server.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

fn base64_len(s: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_or(0, |b| b.len())
}
