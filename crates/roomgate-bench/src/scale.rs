//! `--rooms N`: the cost of each endpoint in an account that already holds N rooms.
//!
//! Seeds the account through the store crate's bulk insert (batches of 20,000 rooms, one transaction each, the
//! per-account counter kept by the same triggers as for any insert), starts `roomgate serve` on that database
//! and measures, one request at a time, the list's first page, a deep page (the last, and the middle one, the
//! worst), the `unique_name` filter, two date filters, then `POST /v2/rooms`, create and refresh with the usual
//! connections; and the store's size on disk per room.
use std::{path::Path, time::Duration};

use anyhow::Context as _;
use roomgate_store::RoomRecord;
use uuid::Uuid;

use crate::{
    launch,
    load::{self, Outcome, Pace, Plan, Settings},
    procstat::Processes,
};

/// Rooms per bulk-insert transaction.
const BATCH: u64 = 20_000;
/// The seeded rooms are created evenly over this many days before now.
const SPREAD_DAYS: i64 = 365;
const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// What the scale run needs from the command line.
#[derive(Debug)]
pub struct ScaleArgs<'a> {
    /// The roomgate binary.
    pub bin: &'a Path,
    /// A database to seed instead of a fresh SQLite file (it must be empty).
    pub database: Option<&'a str>,
    /// `taskset -c` for the server.
    pub cpus: Option<&'a str>,
    /// Rooms to seed.
    pub rooms: u64,
    /// Connections of the create, refresh and `POST /v2/rooms` runs.
    pub connections: usize,
    /// Warm-up of each run.
    pub warmup: Duration,
    /// Measured time of each run.
    pub duration: Duration,
}

/// One measured line.
struct Line {
    name: String,
    outcome: Outcome,
}

/// Runs the whole suite; returns the number of failed requests.
pub async fn run(args: &ScaleArgs<'_>) -> anyhow::Result<u64> {
    let dir = tempfile::tempdir()?;
    let sqlite_file = dir.path().join("roomgate.db");
    let url = match args.database {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", sqlite_file.display()),
    };
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let now =
        roomgate_server::timefmt::unix_micros(roomgate_server::Clock::now(&roomgate_server::SystemClock));
    let step = (SPREAD_DAYS * DAY_MICROS) / i64::try_from(args.rooms.max(1))?;
    let created_at = |i: u64| now - SPREAD_DAYS * DAY_MICROS + i as i64 * step;

    let started = std::time::Instant::now();
    let size_before = store_bytes(&url, &sqlite_file).await?;
    seed(&url, args.rooms, &created_at).await?;
    let size_after = store_bytes(&url, &sqlite_file).await?;
    let seeded_in = started.elapsed();
    let per_room = size_after.saturating_sub(size_before) as f64 / args.rooms.max(1) as f64;
    println!(
        "\n== scale: {} rooms in one account on {backend}, seeded in {:.1} s; store {:.1} MiB, {per_room:.0} bytes per room ==",
        args.rooms,
        seeded_in.as_secs_f64(),
        size_after as f64 / (1024.0 * 1024.0),
    );

    let (server, key) = launch::roomgate(args.bin, Some(&url), args.cpus, None).await?;
    let procs = Processes::tree(server.pid, crate::procstat::clock_ticks_per_sec());
    let store_comm = (backend == "postgres").then_some("postgres");
    let one = Settings {
        connections: 1,
        warmup: args.warmup,
        duration: args.duration,
        pace: Pace::Closed,
    };
    let many = Settings {
        connections: args.connections,
        ..one
    };
    let last_page = args.rooms.div_ceil(250).max(1);
    let date = |i: u64| roomgate_server::timefmt::micros_rfc3339(created_at(i))[..10].to_owned();
    let reads = [
        ("GET first page".to_owned(), "/v2/rooms".to_owned()),
        (
            format!("GET deep page (last, {last_page} x 250)"),
            format!("/v2/rooms?page[number]={last_page}&page[size]=250"),
        ),
        (
            format!("GET deep page (middle, {} x 250)", last_page.div_ceil(2)),
            format!("/v2/rooms?page[number]={}&page[size]=250", last_page.div_ceil(2)),
        ),
        (
            "GET filter[unique_name]".to_owned(),
            format!("/v2/rooms?filter[unique_name]=seed-{}", args.rooms / 2),
        ),
        (
            "GET filter[date_created_at][eq] (1 day)".to_owned(),
            format!("/v2/rooms?filter[date_created_at][eq]={}", date(args.rooms / 2)),
        ),
        (
            "GET filter[date_created_at][gte] (30 days)".to_owned(),
            format!(
                "/v2/rooms?filter[date_created_at][gte]={}",
                date(args.rooms - args.rooms * 30 / SPREAD_DAYS as u64)
            ),
        ),
    ];
    let mut lines = Vec::new();
    let result = async {
        for (name, path) in reads {
            let outcome =
                load::run(server.addr, &Plan::get(path, &key), one, Some(&procs), store_comm).await?;
            lines.push(Line { name, outcome });
        }
        let target = crate::Target::prepare(server.addr, key.clone(), Some(server.pid), true).await?;
        let posts = [
            ("POST /v2/rooms", crate::rooms_plan(&key)),
            ("create_access_token", target.create_plan()),
            ("refresh_access_token", target.refresh_plan()),
        ];
        for (name, plan) in posts {
            let outcome = load::run(server.addr, &plan, many, Some(&procs), store_comm).await?;
            lines.push(Line {
                name: name.to_owned(),
                outcome,
            });
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    result?;

    let mut errors = 0;
    for line in &lines {
        print_line(
            args.rooms,
            backend,
            line,
            if line.name.starts_with("GET") {
                1
            } else {
                args.connections
            },
        );
        errors += line.outcome.errors;
        if let Some(e) = &line.outcome.first_error {
            println!("    first error: {e}");
        }
    }
    print_targets(args.rooms, &lines);
    Ok(errors)
}

/// Fills the account `bench` (the one the server's key will belong to) with `n` named rooms.
async fn seed(url: &str, n: u64, created_at: &dyn Fn(u64) -> i64) -> anyhow::Result<()> {
    let store = roomgate_store::connect(url)
        .await
        .context("opening the store to seed")?;
    let account = store.ensure_account("bench", created_at(0)).await?;
    let mut i = 0;
    while i < n {
        let end = (i + BATCH).min(n);
        let rooms: Vec<_> = (i..end)
            .map(|j| RoomRecord {
                id: Uuid::new_v4(),
                account_id: account,
                unique_name: Some(format!("seed-{j}")),
                max_participants: 10,
                enable_recording: false,
                webhook_event_url: None,
                webhook_event_failover_url: None,
                webhook_timeout_secs: None,
                created_at: created_at(j),
                updated_at: created_at(j),
                active_session_id: None,
            })
            .collect();
        store.insert_rooms(&rooms).await?;
        i = end;
    }
    if url.starts_with("postgres") {
        // The steady state of a table autovacuum has visited: the visibility map set (index-only scans skip
        // the heap) and statistics gathered.
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("VACUUM ANALYZE rooms").execute(&mut conn).await?;
    }
    Ok(())
}

/// The store's size on disk: the SQLite file and its WAL, or PostgreSQL's rooms table with its indexes.
async fn store_bytes(url: &str, sqlite_file: &Path) -> anyhow::Result<u64> {
    if url.starts_with("postgres") {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('rooms')::text")
            .fetch_one(&mut conn)
            .await?;
        if exists.is_none() {
            return Ok(0);
        }
        let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('rooms')")
            .fetch_one(&mut conn)
            .await?;
        return Ok(u64::try_from(bytes).unwrap_or(0));
    }
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = sqlite_file.as_os_str().to_owned();
    wal.push("-wal");
    Ok(size(sqlite_file) + size(Path::new(&wal)))
}

fn print_line(rooms: u64, backend: &str, line: &Line, connections: usize) {
    let o = &line.outcome;
    let cpu = o.cpu_per_request().map_or(String::new(), |c| {
        format!("  cpu/req {:.1} µs", c.as_secs_f64() * 1e6)
    });
    let store = o.store_cpu_per_request().map_or(String::new(), |c| {
        format!("  db cpu/req {:.1} µs", c.as_secs_f64() * 1e6)
    });
    println!(
        "{rooms:>8} rooms {backend:<8} {:<42} {connections:>3} conn {:>8.0} req/s  p50 {:>9}  p99 {:>9}  errors {}{cpu}{store}",
        line.name,
        o.rate(),
        ms(o.quantile(0.5)),
        ms(o.quantile(0.99)),
        o.errors,
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The targets of BENCHMARKS.md that one run can judge (the create and refresh targets compare two runs).
fn print_targets(rooms: u64, lines: &[Line]) {
    println!("\n== scale targets (stated for 1,000,000 rooms; this run has {rooms}) ==");
    for line in lines {
        let limit_ms = if line.name == "GET first page" || line.name == "GET filter[unique_name]" {
            10.0
        } else if line.name.starts_with("GET deep page") || line.name.contains("[eq]") {
            50.0
        } else {
            continue;
        };
        let p99 = line.outcome.quantile(0.99).as_secs_f64() * 1e3;
        let verdict = if p99 <= limit_ms { "met" } else { "NOT met" };
        println!("  [{verdict}] {}: p99 {p99:.2} ms (≤ {limit_ms} ms)", line.name);
    }
}
