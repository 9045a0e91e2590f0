//! The real `roomgate` binary as the integration tests start it: `serve` on `127.0.0.1:0` until `/readyz`, its
//! address read from its `roomgate listening` line, and `api-keys create`.
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_roomgate");

/// A running `roomgate serve`, killed when dropped.
pub struct Served {
    pub base: String,
    pub child: Child,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `roomgate serve` on `database` with `extra` arguments and a clean environment, its stderr in `log` and
/// its stdout (the log stream) in [`stdout_of`]`(log)`, and waits (at most 30 s) until `/readyz` answers 200.
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
    let stdout = stdout_of(log);
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(extra)
        .env_clear()
        .envs(env.iter().copied())
        // Files, not pipes nobody reads: a full pipe would stall the server under load.
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut base = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!(
                "{status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        if base.is_none() {
            base = listening_addr(&std::fs::read_to_string(&stdout).unwrap_or_default())
                .map(|addr| format!("http://{addr}"));
        }
        if let Some(base) = &base {
            if reqwest::get(format!("{base}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(Served {
                    base: base.clone(),
                    child,
                });
            }
        }
        assert!(
            Instant::now() < deadline,
            "server did not become ready: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where [`serve`] puts the stdout of the server whose stderr is `log`.
pub fn stdout_of(log: &Path) -> PathBuf {
    let mut path = log.as_os_str().to_owned();
    path.push(".stdout");
    PathBuf::from(path)
}

/// The address in the first `roomgate listening` line of `output`, in the text format (coloured or not) or JSON;
/// `None` before that line is written.
pub fn listening_addr(output: &str) -> Option<String> {
    // Whole lines only: the last may be half written.
    let complete = &output[..output.rfind('\n').map_or(0, |end| end + 1)];
    let line = complete
        .lines()
        .map(strip_colours)
        .find(|line| line.contains("roomgate listening"))?;
    match serde_json::from_str::<Value>(&line) {
        Ok(json) => json["addr"].as_str().map(str::to_owned),
        Err(_) => Some(line.rsplit("addr=").next()?.trim().to_owned()),
    }
}

/// `line` without the ANSI escape sequences a terminal colours the text format with.
fn strip_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, ended by a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A new API key in `database`, from `roomgate api-keys create`.
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

/// `roomgate serve` over a fresh SQLite file with one API key, and the CLI run against it; killed when dropped.
pub struct Cli {
    pub served: Served,
    pub key: String,
    pub dir: tempfile::TempDir,
}

impl Cli {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
        let key = api_key(&database);
        assert!(key.starts_with("rg_"), "{key}");
        let served = serve(&database, &dir.path().join("serve.log"), &[]).await;
        Self { served, key, dir }
    }

    /// The API's base URL, as `ROOMGATE_URL` takes it.
    pub fn url(&self) -> String {
        format!("{}/v2", self.served.base)
    }

    /// `roomgate <args>` with this server's URL and key in the environment.
    pub fn run(&self, args: &[&str]) -> Output {
        run_with_env(
            args,
            &[("ROOMGATE_URL", &self.url()), ("ROOMGATE_API_KEY", &self.key)],
        )
    }

    /// Like `run`, and it must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Like `ok`, with `--json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).unwrap()
    }
}

/// `roomgate <args>` with only `env` in its environment and no stdin.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}
