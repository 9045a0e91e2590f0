//! Starting the servers under test: `roomgate serve` on a fresh SQLite store, and the Node.js peer.
use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context as _};
use tokio::process::{Child, Command};

use crate::load;

/// The peer's sources, built into the binary so it runs from anywhere.
const PEER_FILES: [(&str, &str); 3] = [
    ("package.json", include_str!("../peer/package.json")),
    ("package-lock.json", include_str!("../peer/package-lock.json")),
    ("server.mjs", include_str!("../peer/server.mjs")),
];

/// A server process that is killed when dropped.
#[derive(Debug)]
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    child: Child,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Stops it: SIGTERM (the peer's primary then stops its workers), SIGKILL after 5 s.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// The last lines it printed, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// A free port on 127.0.0.1.
fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?)
}

/// `program args…`, under `taskset -c cpus` when given.
fn command(program: &Path, args: &[&str], cpus: Option<&str>) -> Command {
    let mut cmd = match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// Starts `bin serve` on `database`, or on a fresh SQLite store in a temporary directory, logging as the README
/// runs it (the default level and format, stdout to a file) or at `log_level`; returns it and a new API key.
pub async fn roomgate(
    bin: &Path,
    database: Option<&str>,
    cpus: Option<&str>,
    log_level: Option<&str>,
) -> anyhow::Result<(Server, String)> {
    if !bin.is_file() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p roomgate` or pass --roomgate-bin",
            bin.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let db = match database {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", dir.path().join("roomgate.db").display()),
    };
    let out = Command::new(bin)
        .args([
            "api-keys",
            "create",
            "--database",
            &db,
            "--account",
            "bench",
            "--name",
            "bench",
        ])
        .output()
        .await
        .context("running roomgate api-keys create")?;
    if !out.status.success() {
        bail!(
            "roomgate api-keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let key = String::from_utf8(out.stdout)?
        .lines()
        .last()
        .map(|l| l.trim().to_owned())
        .context("roomgate api-keys create printed nothing")?;
    let addr = free_addr()?;
    let log = dir.path().join("server.log");
    let listen = addr.to_string();
    let mut cmd = command(bin, &["serve", "--listen", &listen, "--database", &db], cpus);
    // The default configuration whatever this runs in; a level given is set in `RUST_LOG` too, for a binary
    // older than `ROOMGATE_LOG_LEVEL`.
    for var in ["RUST_LOG", "ROOMGATE_LOG_LEVEL", "ROOMGATE_LOG_FORMAT"] {
        cmd.env_remove(var);
    }
    if let Some(level) = log_level {
        cmd.env("RUST_LOG", level).env("ROOMGATE_LOG_LEVEL", level);
    }
    // The per-client rate limits would answer one load generator with 429s: set them out of reach, so that
    // the limiter still runs (and costs what it costs) but never refuses. A binary without them ignores these.
    for var in [
        "ROOMGATE_RATE_REFRESH_PER_IP",
        "ROOMGATE_RATE_REFRESH_PER_TOKEN",
        "ROOMGATE_RATE_AUTH_FAILURES_PER_IP",
        "ROOMGATE_RATE_PER_API_KEY",
    ] {
        cmd.env(var, "1000000000/s,1000000000");
    }
    // Every load connection comes from this one address: the per-address connection cap would close most.
    cmd.env("ROOMGATE_MAX_CONNECTIONS_PER_IP", "off");
    // POST /v2/rooms at full speed for seconds, or a seeded account, holds more rooms than the default limit.
    cmd.env("ROOMGATE_MAX_ROOMS_PER_ACCOUNT", "off");
    cmd.stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.path().join("server.err"))?);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        addr,
        pid: child.id().context("server exited at once")?,
        child,
        log: dir.path().join("server.err"),
        _dir: Some(dir),
    };
    ready(server, "/readyz").await.map(|s| (s, key))
}

async fn ready(mut server: Server, path: &str) -> anyhow::Result<Server> {
    if let Err(e) = load::wait_ready(server.addr, path, Duration::from_secs(30)).await {
        let status = server.child.try_wait().ok().flatten();
        bail!("{e:#} (exit status {status:?}); its log:\n{}", server.log_tail());
    }
    Ok(server)
}

/// Starts `roomgate-floor` (HTTP and the token layer, nothing else) accepting `api_key`.
pub async fn floor(bin: &Path, cpus: Option<&str>, api_key: &str) -> anyhow::Result<Server> {
    if !bin.is_file() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p roomgate-bench`, pass --floor-bin, or --no-floor",
            bin.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let addr = free_addr()?;
    let log = dir.path().join("floor.log");
    let mut cmd = command(bin, &[&addr.to_string(), api_key], cpus);
    cmd.stdout(std::fs::File::create(dir.path().join("floor.out"))?)
        .stderr(std::fs::File::create(&log)?);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        addr,
        pid: child.id().context("roomgate-floor exited at once")?,
        child,
        log,
        _dir: Some(dir),
    };
    ready(server, "/readyz").await
}

/// Installs the peer into `dir` (`npm ci`, once per lockfile) and starts it; it accepts `api_key` for `room_id`.
pub async fn peer(dir: &Path, cpus: Option<&str>, api_key: &str, room_id: &str) -> anyhow::Result<Server> {
    std::fs::create_dir_all(dir)?;
    let mut changed = false;
    for (name, text) in PEER_FILES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text)?;
            changed |= name != "server.mjs";
        }
    }
    if changed || !dir.join("node_modules").is_dir() {
        eprintln!("installing the Node.js peer into {} (npm ci)", dir.display());
        let status = Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .status()
            .await
            .context("running npm ci (are Node.js and npm installed?)")?;
        if !status.success() {
            bail!("npm ci failed in {}", dir.display());
        }
    }
    let addr = free_addr()?;
    let log = dir.join("peer.log");
    let node = PathBuf::from("node");
    let mut cmd = command(&node, &["server.mjs"], cpus);
    cmd.current_dir(dir)
        .env("PORT", addr.port().to_string())
        .env("PEER_API_KEY", api_key)
        .env("PEER_ROOM_ID", room_id)
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.join("peer.err"))?);
    let child = cmd.spawn().context("starting node")?;
    let server = Server {
        addr,
        pid: child.id().context("node exited at once")?,
        child,
        log: dir.join("peer.err"),
        _dir: None,
    };
    ready(server, "/readyz").await
}
