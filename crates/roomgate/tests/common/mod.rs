//! The real `roomgate` binary as the integration tests start it: `serve` on a free port until `/readyz`, and
//! `api-keys create`.
use std::{
    fs::File,
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_roomgate");

/// A running `roomgate serve`, killed when dropped.
pub struct Served {
    #[allow(dead_code, reason = "each test crate uses a part of this module")]
    pub base: String,
    pub child: Child,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `roomgate serve` on `database` with `extra` arguments and a clean environment, its stderr in `log`,
/// and waits (at most 30 s) until `/readyz` answers 200.
#[allow(dead_code, reason = "each test crate uses a part of this module")]
pub async fn serve(database: &str, log: &Path, extra: &[&str]) -> Served {
    try_serve(database, log, extra, &[])
        .await
        .unwrap_or_else(|e| panic!("roomgate serve exited ({e})"))
}

/// Like [`serve`] with `env` set, but a server that exits before it is ready is an `Err` with its exit status and
/// log, for tests of refused startups.
pub async fn try_serve(
    database: &str,
    log: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Result<Served, String> {
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--database", database])
        .args(extra)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        // A file, not a pipe nobody reads: a full pipe would stall the server under load.
        .stderr(File::create(log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!(
                "{status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Served { base, child });
        }
        assert!(
            Instant::now() < deadline,
            "server did not become ready: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new API key in `database`, from `roomgate api-keys create`.
#[allow(dead_code, reason = "each test crate uses a part of this module")]
pub fn api_key(database: &str) -> String {
    let out = Command::new(BIN)
        .args(["api-keys", "create", "--database", database])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}
