//! `roomgate-bench`: roomgate's load benchmark, in one run.
//!
//! Measures the Ed25519 limit of this machine, starts `roomgate serve` as the README runs it (release binary,
//! fresh SQLite store, logging at the default level to a file), drives `create_access_token`,
//! `refresh_access_token` and `POST /v2/rooms` with N keep-alive connections for T seconds, with
//! `--compare-log-level warn` create and refresh again on a roomgate logging at that level, then the floor and
//! the Node.js peer (fastify + jose) with the same settings, and prints throughput, latency, errors, server CPU
//! per request against its signature cost, and memory. See BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p roomgate -p roomgate-bench
//! target/release/roomgate-bench --connections 32 --duration 10s
//! ```
//!
//! Every target is on this machine's loopback only; every run is bounded in time. Exits non-zero if any
//! request failed.
mod launch;
mod load;
mod procstat;
mod report;
mod scale;
mod signing;

use std::{
    net::{SocketAddr, ToSocketAddrs as _},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::Parser;
use hyper::StatusCode;

use crate::{
    load::{Pace, Plan, Settings},
    procstat::Processes,
    report::Report,
};

/// Longest measured run allowed.
const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most connections allowed.
const MAX_CONNECTIONS: usize = 4096;

/// roomgate's load benchmark (and its Node.js peer).
#[derive(Debug, Parser)]
#[command(name = "roomgate-bench", version, about)]
struct Args {
    /// The roomgate binary to start (build it with `cargo build --release -p roomgate`).
    #[arg(long, default_value = "target/release/roomgate")]
    roomgate_bin: PathBuf,
    /// Start roomgate on this database instead of a fresh SQLite file (e.g. postgres://postgres@127.0.0.1/bench;
    /// its local `postgres` processes' CPU is then reported too).
    #[arg(long)]
    database: Option<String>,
    /// Benchmark a running server instead (http://127.0.0.1:PORT; loopback only).
    #[arg(long, requires = "api_key")]
    url: Option<String>,
    /// API key for --url.
    #[arg(long, env = "ROOMGATE_API_KEY")]
    api_key: Option<String>,
    /// Process id of the server at --url, to measure its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Keep-alive connections, one task each.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured time of each run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Unmeasured time before each run.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Connections of the memory run (peak RSS).
    #[arg(long, default_value_t = 256)]
    rss_connections: usize,
    /// Measured time of the memory run.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    rss_duration: Duration,
    /// Time of each single-threaded Ed25519 loop (sign, verify).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    signing_time: Duration,
    /// Skip the Node.js peer.
    #[arg(long)]
    no_peer: bool,
    /// The floor server to compare with: HTTP and the token layer, nothing else (default: `roomgate-floor`
    /// beside this binary).
    #[arg(long)]
    floor_bin: Option<PathBuf>,
    /// Skip the floor.
    #[arg(long)]
    no_floor: bool,
    /// Where the peer is installed (`npm ci`) and run.
    #[arg(long, default_value = "target/roomgate-bench-peer")]
    peer_dir: PathBuf,
    /// Pin the server (and the peer) to these CPUs with `taskset -c`, e.g. `0`; the load generator is
    /// pinned by starting it under `taskset` too.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Also measure create and refresh on a second roomgate logging at this level (e.g. `warn`), beside the
    /// figures of the default configuration (`info`, one line per request).
    #[arg(long, conflicts_with_all = ["url", "rooms"])]
    compare_log_level: Option<String>,
    /// Threads of the load generator's runtime.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Instead of the load benchmark: seed one account with this many rooms (bulk, through the store crate),
    /// then measure the list (first page, deep pages, filters), POST /v2/rooms, create and refresh in it, and
    /// the store's size per room. With --database, that database must be new (empty).
    #[arg(long)]
    rooms: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("roomgate-bench: some requests failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("roomgate-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every request succeeded.
fn run(args: Args) -> anyhow::Result<bool> {
    if !(1..=MAX_CONNECTIONS).contains(&args.connections)
        || !(1..=MAX_CONNECTIONS).contains(&args.rss_connections)
    {
        bail!("connections must be between 1 and {MAX_CONNECTIONS}");
    }
    for d in [args.duration, args.warmup, args.rss_duration, args.signing_time] {
        if d > MAX_DURATION {
            bail!("durations are limited to {MAX_DURATION:?}");
        }
    }
    if args.duration.is_zero() || args.rss_duration.is_zero() {
        bail!("measured durations must be positive");
    }
    println!("{}", report::machine());
    if let Some(rooms) = args.rooms {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads.clamp(1, 64))
            .enable_all()
            .build()?;
        let scale = scale::ScaleArgs {
            bin: &args.roomgate_bin,
            database: args.database.as_deref(),
            cpus: args.server_cpus.as_deref(),
            rooms,
            connections: args.connections,
            warmup: args.warmup,
            duration: args.duration,
        };
        return Ok(runtime.block_on(scale::run(&scale))? == 0);
    }
    // First, with nothing else of ours running: the physical limit.
    let limit = signing::measure(args.signing_time.max(Duration::from_millis(100)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.clamp(1, 64))
        .enable_all()
        .build()?;
    let mut report = Report::new(limit, args.connections);
    report.print_limit();
    runtime.block_on(bench(&args, &mut report))?;
    report.print_summary();
    Ok(report.errors() == 0)
}

/// The address of a loopback `http://host:port` URL.
fn loopback(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .context("--url must start with http://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("--url {url}: expected host:port"))?
        .find(|a| a.ip().is_loopback())
        .with_context(|| format!("--url {url}: only this machine's loopback may be benchmarked"))?;
    Ok(addr)
}

/// What the runs need from a server: where, a key, a room and a refresh token for that room.
struct Target {
    addr: SocketAddr,
    key: String,
    room: String,
    refresh_token: String,
    processes: Option<Processes>,
}

impl Target {
    async fn prepare(
        addr: SocketAddr,
        key: String,
        pid: Option<u32>,
        make_room: bool,
    ) -> anyhow::Result<Self> {
        let room = if make_room {
            let plan = rooms_plan(&key);
            let created = load::call(addr, &plan).await.context("creating the room")?;
            created["data"]["id"]
                .as_str()
                .context("room without id")?
                .to_owned()
        } else {
            String::new()
        };
        let mut target = Self {
            addr,
            key,
            room,
            refresh_token: String::new(),
            processes: pid.map(|p| Processes::tree(p, procstat::clock_ticks_per_sec())),
        };
        if make_room {
            target.mint_refresh_token().await?;
        }
        Ok(target)
    }

    async fn mint_refresh_token(&mut self) -> anyhow::Result<()> {
        let pair = load::call(self.addr, &self.create_plan())
            .await
            .context("minting a token pair")?;
        self.refresh_token = pair["data"]["refresh_token"]
            .as_str()
            .context("no refresh_token in the answer")?
            .to_owned();
        Ok(())
    }

    fn create_plan(&self) -> Plan {
        Plan {
            method: hyper::Method::POST,
            path: format!("/v2/rooms/{}/actions/create_access_token", self.room),
            bearer: Some(self.key.clone()),
            body: Bytes::from_static(br#"{"ttl_secs":600,"refresh_token_ttl_secs":3600}"#),
            expect: StatusCode::CREATED,
        }
    }

    fn refresh_plan(&self) -> Plan {
        let body = serde_json::json!({"refresh_token": self.refresh_token, "ttl_secs": 600});
        Plan {
            method: hyper::Method::POST,
            path: format!("/v2/rooms/{}/actions/refresh_access_token", self.room),
            bearer: None,
            body: Bytes::from(body.to_string()),
            expect: StatusCode::CREATED,
        }
    }
}

fn rooms_plan(key: &str) -> Plan {
    Plan {
        method: hyper::Method::POST,
        path: "/v2/rooms".into(),
        bearer: Some(key.to_owned()),
        body: Bytes::from_static(br#"{"max_participants":10}"#),
        expect: StatusCode::CREATED,
    }
}

/// Starts roomgate (`launch::roomgate`) and prepares its target; its log tail in the error if that fails.
async fn start_roomgate(args: &Args, log_level: Option<&str>) -> anyhow::Result<(launch::Server, Target)> {
    let (server, key) = launch::roomgate(
        &args.roomgate_bin,
        args.database.as_deref(),
        args.server_cpus.as_deref(),
        log_level,
    )
    .await?;
    match Target::prepare(server.addr, key, Some(server.pid), true).await {
        Ok(target) => Ok((server, target)),
        Err(e) => bail!("{e:#}\nserver log:\n{}", server.log_tail()),
    }
}

async fn bench(args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let closed = Settings {
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        pace: Pace::Closed,
    };
    let (server, target) = match &args.url {
        Some(url) => {
            let key = args.api_key.clone().unwrap_or_default();
            (
                None,
                Target::prepare(loopback(url)?, key, args.server_pid, true).await?,
            )
        }
        None => {
            let (server, target) = start_roomgate(args, None).await?;
            (Some(server), target)
        }
    };
    let procs = target.processes.as_ref();
    let on_postgres = args
        .database
        .as_deref()
        .is_some_and(|d| d.starts_with("postgres"));
    let store = on_postgres.then_some("postgres");
    if let Some(p) = procs {
        // Let the allocator and the runtime settle after setup before calling it idle.
        tokio::time::sleep(Duration::from_millis(500)).await;
        report.idle_rss = Some(p.rss());
    }
    println!("\n== roomgate at http://{} ==", target.addr);
    let create = load::run(target.addr, &target.create_plan(), closed, procs, store).await?;
    report.row(
        "roomgate",
        "create_access_token",
        &closed,
        &create,
        report.create_cost(),
    );
    let refresh = load::run(target.addr, &target.refresh_plan(), closed, procs, store).await?;
    report.row(
        "roomgate",
        "refresh_access_token",
        &closed,
        &refresh,
        report.refresh_cost(),
    );
    let rooms = load::run(target.addr, &rooms_plan(&target.key), closed, procs, store).await?;
    report.row("roomgate", "POST /v2/rooms", &closed, &rooms, None);

    for (name, max, plan) in [
        ("create_access_token", create.rate(), target.create_plan()),
        ("refresh_access_token", refresh.rate(), target.refresh_plan()),
    ] {
        let half = Settings {
            pace: Pace::Open(max / 2.0),
            ..closed
        };
        let out = load::run(target.addr, &plan, half, procs, store).await?;
        let label = format!("{name} @ {:.0}/s", max / 2.0);
        let cost = if name.starts_with("create") {
            report.create_cost()
        } else {
            report.refresh_cost()
        };
        report.row("roomgate", &label, &half, &out, cost);
        report.half_load.push((name, out));
    }

    let many = Settings {
        connections: args.rss_connections,
        duration: args.rss_duration,
        ..closed
    };
    let memory_run = load::run(target.addr, &target.create_plan(), many, procs, store).await?;
    report.row(
        "roomgate",
        "create_access_token",
        &many,
        &memory_run,
        report.create_cost(),
    );
    report.peak_rss = procs.map(Processes::peak_rss);
    report.rss_connections = args.rss_connections;
    report.roomgate = vec![create, refresh, rooms, memory_run];
    if let Some(s) = server {
        s.stop().await;
    }

    if let Some(level) = &args.compare_log_level {
        let (server, other) = start_roomgate(args, Some(level)).await?;
        let procs = other.processes.as_ref();
        println!(
            "\n== roomgate with --log-level {level} at http://{} ==",
            other.addr
        );
        let create = load::run(other.addr, &other.create_plan(), closed, procs, store).await?;
        let name = format!("create_access_token, log {level}");
        report.row("roomgate", &name, &closed, &create, report.create_cost());
        let refresh = load::run(other.addr, &other.refresh_plan(), closed, procs, store).await?;
        let name = format!("refresh_access_token, log {level}");
        report.row("roomgate", &name, &closed, &refresh, report.refresh_cost());
        report.log_comparison = Some((level.clone(), create, refresh));
        server.stop().await;
    }

    if !args.no_floor {
        let bin = match &args.floor_bin {
            Some(bin) => bin.clone(),
            None => std::env::current_exe()
                .context("locating roomgate-bench")?
                .with_file_name("roomgate-floor"),
        };
        let floor = launch::floor(&bin, args.server_cpus.as_deref(), &target.key).await?;
        let floor_target = Target::prepare(floor.addr, target.key.clone(), Some(floor.pid), true).await?;
        let floor_procs = floor_target.processes.as_ref();
        println!(
            "\n== floor (roomgate-floor: hyper + the token layer, no store or middleware) at http://{} ==",
            floor.addr
        );
        let f_create = load::run(floor.addr, &floor_target.create_plan(), closed, floor_procs, None).await?;
        report.row(
            "floor",
            "create_access_token",
            &closed,
            &f_create,
            report.create_cost(),
        );
        let f_refresh = load::run(
            floor.addr,
            &floor_target.refresh_plan(),
            closed,
            floor_procs,
            None,
        )
        .await?;
        report.row(
            "floor",
            "refresh_access_token",
            &closed,
            &f_refresh,
            report.refresh_cost(),
        );
        report.floor = Some((f_create, f_refresh));
        floor.stop().await;
    }

    if !args.no_peer {
        let peer = launch::peer(
            &args.peer_dir,
            args.server_cpus.as_deref(),
            &target.key,
            &target.room,
        )
        .await?;
        let mut peer_target = Target {
            addr: peer.addr,
            key: target.key.clone(),
            room: target.room.clone(),
            refresh_token: String::new(),
            processes: Some(Processes::tree(peer.pid, procstat::clock_ticks_per_sec())),
        };
        peer_target.mint_refresh_token().await?;
        let peer_procs = peer_target.processes.as_ref();
        println!(
            "\n== Node.js peer (fastify + jose, {} processes) at http://{} ==",
            peer_procs.map_or(0, Processes::len),
            peer.addr
        );
        let p_create = load::run(peer.addr, &peer_target.create_plan(), closed, peer_procs, None).await?;
        report.row(
            "peer",
            "create_access_token",
            &closed,
            &p_create,
            report.create_cost(),
        );
        let p_refresh = load::run(peer.addr, &peer_target.refresh_plan(), closed, peer_procs, None).await?;
        report.row(
            "peer",
            "refresh_access_token",
            &closed,
            &p_refresh,
            report.refresh_cost(),
        );
        report.peer_rss = peer_procs.map(Processes::peak_rss);
        report.peer = Some((p_create, p_refresh));
        peer.stop().await;
    }
    Ok(())
}
