//! Signing keys handled by the real binary: rotation killed with SIGKILL at random moments, and master-key
//! mistakes refused at startup.
use std::{
    process::{Command, Stdio},
    time::Duration,
};

use roomgate_store::{backend_test, testing::TestDatabase};
use roomgate_token::{Jwks, KeySet, TokenKind, Validation};
use serde_json::{json, Value};

use crate::common::{api_key, try_serve, Served, BIN};

fn roomgate(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run roomgate")
}

/// `roomgate serve` re-reading its keys every 100 ms, with `env`; `Err` (status and log) if it refuses to start.
async fn serve(database: &str, env: &[(&str, &str)]) -> Result<Served, String> {
    // The log outlives the directory entry: the server keeps writing to the open file.
    let dir = tempfile::tempdir().unwrap();
    try_serve(
        database,
        &dir.path().join("serve.log"),
        &["--key-reload-interval", "100ms"],
        env,
    )
    .await
}

backend_test! {
    async fn rotations_killed_at_random_moments_leave_every_issued_token_verifiable(backend: Backend) {
        let db = TestDatabase::new(backend).await;
        let key = api_key(db.url());
        let server = serve(db.url(), &[]).await.expect("serve");
        let http = reqwest::Client::new();
        let room: Value = http.post(format!("{}/v2/rooms", server.base)).bearer_auth(&key).json(&json!({})).send().await.unwrap().json().await.unwrap();
        let room = room["data"]["id"].as_str().unwrap().to_owned();
        let mut issued = Vec::new();
        for round in 0..12u64 {
            let mut rotate = Command::new(BIN)
                .args(["signing-keys", "rotate", "--database", db.url(), "--publish-delay", "0s"])
                .env_clear()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Kill it somewhere between before it connects and after it committed.
            tokio::time::sleep(Duration::from_millis(round * 7 % 60)).await;
            let _ = rotate.kill(); // SIGKILL
            let _ = rotate.wait();
            for _ in 0..3 {
                let resp = http
                    .post(format!("{}/v2/rooms/{room}/actions/create_access_token", server.base))
                    .bearer_auth(&key)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201, "minting never fails during rotations");
                let data: Value = resp.json().await.unwrap();
                issued.push(data["data"]["access_token"].as_str().unwrap().to_owned());
            }
        }
        // One rotation that completes, then tokens signed by whatever key is newest.
        let done = roomgate(&["signing-keys", "rotate", "--database", db.url(), "--publish-delay", "0s"], &[]);
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        tokio::time::sleep(Duration::from_millis(300)).await; // the server reloads keys every 100 ms
        let resp = http
            .post(format!("{}/v2/rooms/{room}/actions/create_access_token", server.base))
            .bearer_auth(&key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let data: Value = resp.json().await.unwrap();
        issued.push(data["data"]["access_token"].as_str().unwrap().to_owned());
        let jwks: Jwks = http.get(format!("{}/.well-known/jwks.json", server.base)).send().await.unwrap().json().await.unwrap();
        let keys = KeySet::from_jwks(&jwks).expect("a valid key set");
        let room = room.parse().unwrap();
        #[allow(clippy::disallowed_methods)] // verifying real tokens at the real time
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for token in &issued {
            roomgate_token::verify(token, &keys, &Validation::new(TokenKind::Access).room(room), now)
                .expect("every issued token verifies against the published keys");
        }
        let listed = roomgate(&["signing-keys", "list", "--database", db.url()], &[]);
        assert!(listed.status.success());
        assert!(String::from_utf8_lossy(&listed.stdout).lines().count() >= 3, "header and at least two keys");
    }
}

#[tokio::test]
async fn a_lost_or_changed_master_key_stops_startup_and_never_makes_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
    let master = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let other = "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
    let first = serve(&database, &[("ROOMGATE_MASTER_KEY", master)])
        .await
        .expect("serve with a master key");
    let jwks_before = reqwest::get(format!("{}/.well-known/jwks.json", first.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    drop(first);

    let lost = serve(&database, &[])
        .await
        .err()
        .expect("refuses to start without the master key");
    assert!(lost.contains("ROOMGATE_MASTER_KEY"), "{lost}");
    let changed = serve(&database, &[("ROOMGATE_MASTER_KEY", other)])
        .await
        .err()
        .expect("refuses a changed master key");
    assert!(changed.contains("cannot be decrypted"), "{changed}");
    let rotate = roomgate(&["signing-keys", "rotate", "--database", &database], &[]);
    assert!(
        !rotate.status.success(),
        "no plaintext key is added beside sealed ones"
    );

    let again = serve(&database, &[("ROOMGATE_MASTER_KEY", master)])
        .await
        .expect("the right key still works");
    let jwks_after = reqwest::get(format!("{}/.well-known/jwks.json", again.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after, "no key was regenerated");
}

backend_test! {
    async fn a_master_key_set_to_nothing_stops_startup(backend: Backend) {
        let db = TestDatabase::new(backend).await;
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("serve.log");
        for empty in ["", "  ", "\n"] {
            let refused = try_serve(db.url(), &log, &[], &[("ROOMGATE_MASTER_KEY", empty)])
                .await
                .err()
                .expect("refuses to start");
            assert!(refused.contains("ROOMGATE_MASTER_KEY is set but empty"), "{refused}");
        }
        let refused = try_serve(db.url(), &log, &[], &[("ROOMGATE_MASTER_KEY_FILE", "")])
            .await
            .err()
            .expect("refuses an empty file name");
        assert!(refused.contains("master-key-file"), "{refused}");
        let rotate = roomgate(&["signing-keys", "rotate", "--database", db.url()], &[("ROOMGATE_MASTER_KEY", "")]);
        assert!(!rotate.status.success());
        assert!(String::from_utf8_lossy(&rotate.stderr).contains("set but empty"), "{rotate:?}");
        if backend == roomgate_store::testing::Backend::Sqlite {
            let file = db.url().strip_prefix("sqlite://").expect("a sqlite:// URL");
            assert!(!std::path::Path::new(file).exists(), "nothing was written before the refusal");
        }
    }
}
