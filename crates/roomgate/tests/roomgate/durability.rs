//! Durability of the real binary on SQLite: `roomgate serve` is killed with SIGKILL in the middle of a load of
//! room creations and token mints; after a restart on the same file every room that was answered 201 is
//! still there, every refresh token that was answered 201 still refreshes, and the file passes
//! `PRAGMA integrity_check`.
use std::{
    path::Path,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common::{api_key, serve};
use serde_json::{json, Value};
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions};

/// One client drives the load and the check after each restart refreshes every recorded token from one address:
/// the per-address refresh limit and the per-key limit (which a fast machine exceeds with six workers on one key)
/// would answer it 429, which this test is not about.
const ONE_CLIENT_UNLIMITED: &[&str] = &["--rate-refresh-per-ip", "off", "--rate-per-api-key", "off"];
const WORKERS: usize = 6;
const ROUNDS: usize = 3;

async fn integrity_check(file: &Path) -> String {
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
        .unwrap()
        .connect()
        .await
        .expect("open the SQLite file");
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.join("\n")
}

#[derive(Clone, Default)]
struct Acknowledged {
    rooms: Vec<String>,
    /// (room id, refresh token)
    refresh_tokens: Vec<(String, String)>,
}

/// Creates rooms and mints tokens until the server stops answering; records only what got a full 201.
async fn load(http: reqwest::Client, base: String, key: String, acked: Arc<Mutex<Acknowledged>>) {
    for i in 0u64.. {
        let Ok(resp) = http
            .post(format!("{base}/v2/rooms"))
            .bearer_auth(&key)
            .json(&json!({"max_participants": 10}))
            .send()
            .await
        else {
            return;
        };
        assert_ne!(
            resp.status().as_u16() / 100,
            4,
            "a well-formed room creation is never refused"
        );
        if resp.status() != 201 {
            continue;
        }
        let Ok(room) = resp.json::<Value>().await else {
            return;
        };
        let room = room["data"]["id"].as_str().expect("a room id").to_owned();
        acked.lock().unwrap().rooms.push(room.clone());
        let action = if i % 2 == 0 {
            "create_access_token"
        } else {
            "generate_join_client_token"
        };
        for _ in 0..2 {
            let Ok(resp) = http
                .post(format!("{base}/v2/rooms/{room}/actions/{action}"))
                .bearer_auth(&key)
                .json(&json!({}))
                .send()
                .await
            else {
                return;
            };
            if resp.status() != 201 {
                continue;
            }
            let Ok(token) = resp.json::<Value>().await else {
                return;
            };
            let refresh = token["data"]["refresh_token"]
                .as_str()
                .expect("a refresh token")
                .to_owned();
            acked.lock().unwrap().refresh_tokens.push((room.clone(), refresh));
        }
    }
}

async fn check_everything_acknowledged_survived(base: &str, key: &str, acked: &Acknowledged) {
    let http = reqwest::Client::new();
    for room in &acked.rooms {
        let resp = http
            .get(format!("{base}/v2/rooms/{room}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "room {room} was answered 201 before the crash"
        );
    }
    for (room, refresh) in &acked.refresh_tokens {
        let resp = http
            .post(format!("{base}/v2/rooms/{room}/actions/refresh_access_token"))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert_eq!(
            status,
            201,
            "a refresh token answered 201 before the crash: {}",
            resp.text().await.unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roomgate.db");
    let database = format!("sqlite://{}", file.display());
    let key = api_key(&database);
    let acked = Arc::new(Mutex::new(Acknowledged::default()));

    for round in 0..ROUNDS {
        let log = dir.path().join(format!("serve-{round}.log"));
        let mut server = serve(&database, &log, ONE_CLIENT_UNLIMITED).await;
        {
            let before = acked.lock().unwrap().clone();
            check_everything_acknowledged_survived(&server.base, &key, &before).await;
        }
        let (rooms_before, tokens_before) = {
            let a = acked.lock().unwrap();
            (a.rooms.len(), a.refresh_tokens.len())
        };

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                tokio::spawn(load(
                    http.clone(),
                    server.base.clone(),
                    key.clone(),
                    acked.clone(),
                ))
            })
            .collect();
        // Let the load run until a good number of writes were acknowledged, then pull the plug.
        let started = Instant::now();
        loop {
            let n = acked.lock().unwrap().refresh_tokens.len() - tokens_before;
            if (n >= 60 && started.elapsed() >= Duration::from_millis(500 + 300 * round as u64))
                || started.elapsed() > Duration::from_secs(30)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        for w in workers {
            tokio::time::timeout(Duration::from_secs(30), w)
                .await
                .expect("workers stop once the server is gone")
                .unwrap();
        }
        drop(server);
        let a = acked.lock().unwrap().clone();
        assert!(
            a.rooms.len() - rooms_before >= 20,
            "round {round}: too little load before the kill ({} rooms)",
            a.rooms.len()
        );
        assert!(
            a.refresh_tokens.len() - tokens_before >= 20,
            "round {round}: too few tokens before the kill"
        );
        eprintln!(
            "round {round}: {} rooms, {} refresh tokens acknowledged so far",
            a.rooms.len(),
            a.refresh_tokens.len()
        );
        drop(a);
        assert_eq!(
            integrity_check(&file).await,
            "ok",
            "round {round}: the file right after SIGKILL"
        );
    }

    let server = serve(
        &database,
        &dir.path().join("serve-final.log"),
        ONE_CLIENT_UNLIMITED,
    )
    .await;
    let acked = acked.lock().unwrap().clone();
    check_everything_acknowledged_survived(&server.base, &key, &acked).await;
    drop(server);
    assert_eq!(integrity_check(&file).await, "ok");
}
