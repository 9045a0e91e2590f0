//! The store goes away under a running `roomgate serve`: a private PostgreSQL cluster (never the machine's
//! shared one) is stopped with `pg_ctl stop -m immediate`. Every request that needs the store is answered
//! 503 with a Telnyx error body (code 10007) and `x-should-retry: true`, `/readyz` answers 503, and once
//! PostgreSQL is back the server recovers by itself within a bounded wait.
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::{api_key, serve};
use serde_json::{json, Value};

/// A throwaway PostgreSQL cluster in a temp dir, run as the `postgres` user, on 127.0.0.1 only.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// `None` when this machine has no Debian PostgreSQL binaries or no `postgres` user.
    fn start() -> Option<Self> {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|b| b.join("pg_ctl").exists() && b.join("initdb").exists())
            .collect();
        bins.sort();
        let bin = bins.pop()?;
        let dir = tempfile::tempdir().unwrap();
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .ok()?;
        if !chown.success() {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres { bin, dir, port };
        let init = pg
            .as_postgres(&pg.bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.data())
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        pg.start_server();
        Some(pg)
    }

    fn as_postgres(&self, program: &Path) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(args)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    fn start_server(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-l",
            log.to_str().unwrap(),
            "-o",
            &opts,
            "start",
        ]);
    }

    fn stop_immediately(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The requests that need the store, by name.
fn requests(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    room: &str,
    refresh: &str,
) -> Vec<(&'static str, reqwest::RequestBuilder)> {
    vec![
        ("GET /readyz", http.get(format!("{base}/readyz"))),
        (
            "GET /v2/rooms",
            http.get(format!("{base}/v2/rooms")).bearer_auth(key),
        ),
        (
            "GET /v2/rooms/{id}",
            http.get(format!("{base}/v2/rooms/{room}")).bearer_auth(key),
        ),
        (
            "POST /v2/rooms",
            http.post(format!("{base}/v2/rooms"))
                .bearer_auth(key)
                .json(&json!({})),
        ),
        (
            "create_access_token",
            http.post(format!("{base}/v2/rooms/{room}/actions/create_access_token"))
                .bearer_auth(key)
                .json(&json!({})),
        ),
        (
            "refresh_access_token",
            http.post(format!("{base}/v2/rooms/{room}/actions/refresh_access_token"))
                .json(&json!({"refresh_token": refresh})),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_503_retryable_and_the_server_recovers_by_itself() {
    let Some(pg) = PrivatePostgres::start() else {
        eprintln!("skipped: no PostgreSQL binaries under /usr/lib/postgresql or no postgres user");
        return;
    };
    let database = pg.url();
    let key = api_key(&database);
    let server = serve(&database, &pg.dir.path().join("serve.log"), &[]).await;
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let room: Value = http
        .post(format!("{base}/v2/rooms"))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = room["data"]["id"].as_str().unwrap().to_owned();
    let token: Value = http
        .post(format!("{base}/v2/rooms/{room}/actions/create_access_token"))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = token["data"]["refresh_token"].as_str().unwrap().to_owned();

    pg.stop_immediately();
    for (name, request) in requests(&http, &base, &key, &room, &refresh) {
        let started = Instant::now();
        let resp = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: no answer: {e}"));
        let status = resp.status();
        let retry = resp
            .headers()
            .get("x-should-retry")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: not a JSON body: {e}"));
        assert_eq!(status, 503, "{name} while PostgreSQL is down: {body}");
        assert_eq!(retry.as_deref(), Some("true"), "{name}: x-should-retry");
        assert_eq!(body["errors"][0]["code"], "10007", "{name}: {body}");
        assert_eq!(
            body["errors"][0]["title"], "Service unavailable",
            "{name}: {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name} took {:?} to fail",
            started.elapsed()
        );
    }
    assert!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success(),
        "liveness does not depend on the store"
    );

    pg.start_server();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await.unwrap().status();
        if ready == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz still {ready} 30 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (name, request) in requests(&http, &base, &key, &room, &refresh) {
        let resp = request.send().await.unwrap();
        let status = resp.status();
        assert!(
            status == 200 || status == 201,
            "{name} after PostgreSQL came back: {status} {}",
            resp.text().await.unwrap_or_default()
        );
    }
    drop(server);
}
