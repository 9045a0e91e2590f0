//! Printing the figures and checking them against the targets in BENCHMARKS.md.
use std::time::Duration;

use crate::{
    load::{Outcome, Settings},
    signing::SigningLimit,
};

const MIB: f64 = 1024.0 * 1024.0;

/// Everything one run of the harness measured.
#[derive(Debug)]
pub struct Report {
    limit: SigningLimit,
    connections: usize,
    /// roomgate: create, refresh, rooms, the memory run.
    pub roomgate: Vec<Outcome>,
    /// Open-loop runs at half the closed-loop maximum.
    pub half_load: Vec<(&'static str, Outcome)>,
    /// The peer: create, refresh.
    pub peer: Option<(Outcome, Outcome)>,
    /// The floor (HTTP and the token layer alone): create, refresh.
    pub floor: Option<(Outcome, Outcome)>,
    /// roomgate logging at another level than the default: that level, create, refresh.
    pub log_comparison: Option<(String, Outcome, Outcome)>,
    /// roomgate's resident memory after setup, before load.
    pub idle_rss: Option<u64>,
    /// roomgate's peak resident memory over the whole run.
    pub peak_rss: Option<u64>,
    /// Connections of the memory run.
    pub rss_connections: usize,
    /// The peer's peak resident memory, all processes.
    pub peer_rss: Option<u64>,
    errors: u64,
}

/// A duration in the unit that reads best.
fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// The machine, for the record.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / MIB);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "machine: {cores} cores, {model}, {mem_gib:.1} GiB; load average before the run: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
}

impl Report {
    /// An empty report.
    pub fn new(limit: SigningLimit, connections: usize) -> Self {
        Self {
            limit,
            connections,
            roomgate: Vec::new(),
            half_load: Vec::new(),
            peer: None,
            floor: None,
            log_comparison: None,
            idle_rss: None,
            peak_rss: None,
            rss_connections: 0,
            peer_rss: None,
            errors: 0,
        }
    }

    /// Failed requests over every run.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The signature cost of one create: two signatures.
    pub fn create_cost(&self) -> Option<(Duration, &'static str)> {
        Some((self.limit.sign_cost() * 2, "2 signs"))
    }

    /// The signature cost of one refresh: one strict verification and one signature.
    pub fn refresh_cost(&self) -> Option<(Duration, &'static str)> {
        Some((self.limit.verify_cost() + self.limit.sign_cost(), "verify+sign"))
    }

    /// The Ed25519 limit.
    pub fn print_limit(&self) {
        let l = &self.limit;
        println!(
            "signing limit (ed25519-dalek, 1 core, {} B token input): {:.0} signs/s ({}), {:.0} strict verifies/s ({})",
            l.input_len,
            l.signs_per_sec,
            human(l.sign_cost()),
            l.verifies_per_sec,
            human(l.verify_cost()),
        );
        println!(
            "  so per core at most {:.0} creates/s (2 signs) and {:.0} refreshes/s (verify + sign)",
            1.0 / (l.sign_cost() * 2).as_secs_f64(),
            1.0 / (l.sign_cost() + l.verify_cost()).as_secs_f64(),
        );
    }

    /// One run's line.
    pub fn row(
        &mut self,
        server: &str,
        name: &str,
        settings: &Settings,
        o: &Outcome,
        cost: Option<(Duration, &str)>,
    ) {
        self.errors += o.errors;
        let cpu = match (o.cpu_per_request(), cost) {
            (Some(c), Some((sig, label))) => format!(
                "  cpu/req {} = {:.2}x {label}",
                human(c),
                c.as_secs_f64() / sig.as_secs_f64()
            ),
            (Some(c), None) => format!("  cpu/req {}", human(c)),
            _ => String::new(),
        };
        let cpu = match o.store_cpu_per_request() {
            Some(c) => format!("{cpu}  postgres cpu/req {}", human(c)),
            None => cpu,
        };
        println!(
            "{server:<8} {name:<34} {:>4} conn {:>9.0} req/s  p50 {:>9}  p99 {:>9}  p99.9 {:>9}  errors {}{cpu}",
            settings.connections,
            o.rate(),
            human(o.quantile(0.5)),
            human(o.quantile(0.99)),
            human(o.quantile(0.999)),
            o.errors,
        );
        if let Some(e) = &o.first_error {
            println!("         first error: {e}");
        }
    }

    /// The targets of BENCHMARKS.md, each met or not.
    pub fn print_summary(&self) {
        println!("\n== targets ==");
        let check = |ok: bool, what: String| {
            println!("  [{}] {what}", if ok { "met" } else { "NOT met" });
        };
        let ratio = |o: &Outcome, cost: Option<(Duration, &str)>| {
            o.cpu_per_request()
                .zip(cost)
                .map(|(c, (s, _))| c.as_secs_f64() / s.as_secs_f64())
        };
        if let [create, refresh, rooms, _memory] = &self.roomgate[..] {
            if let Some((f_create, f_refresh)) = &self.floor {
                for (name, ours, floor, cost) in [
                    ("create", create, f_create, self.create_cost()),
                    ("refresh", refresh, f_refresh, self.refresh_cost()),
                ] {
                    if let (Some(o), Some(f), Some((sig, label))) =
                        (ours.cpu_per_request(), floor.cpu_per_request(), cost)
                    {
                        let sig = sig.as_secs_f64();
                        println!(
                            "        {name}: the floor (HTTP + token layer alone) costs {} = {:.2}x {label}; \
                             roomgate {:+.1} µs per request ({:+.2}x)",
                            human(f),
                            f.as_secs_f64() / sig,
                            (o.as_secs_f64() - f.as_secs_f64()) * 1e6,
                            (o.as_secs_f64() - f.as_secs_f64()) / sig,
                        );
                    }
                }
            }
            if let Some((level, l_create, l_refresh)) = &self.log_comparison {
                print_log_comparison(level, [create, refresh], [l_create, l_refresh], &check);
            }
            if let Some(r) = ratio(create, self.create_cost()) {
                check(
                    r <= 1.4,
                    format!("create_access_token: server CPU/request {r:.2}x its two signatures (≤ 1.4x)"),
                );
            }
            if let Some((p_create, p_refresh)) = &self.peer {
                let x = create.rate() / p_create.rate().max(1e-9);
                check(
                    x >= 4.0,
                    format!(
                        "create_access_token: {:.0}/s vs the Node peer's {:.0}/s at {} connections = {x:.2}x (≥ 4x)",
                        create.rate(),
                        p_create.rate(),
                        self.connections
                    ),
                );
                println!(
                    "        refresh_access_token: {:.0}/s vs the Node peer's {:.0}/s = {:.2}x",
                    refresh.rate(),
                    p_refresh.rate(),
                    refresh.rate() / p_refresh.rate().max(1e-9)
                );
                if let (Some(ours), Some(theirs)) = (create.cpu_per_request(), p_create.cpu_per_request()) {
                    println!(
                        "        CPU per create: the peer spends {:.2}x roomgate's (robust to other load on the machine)",
                        theirs.as_secs_f64() / ours.as_secs_f64()
                    );
                }
                if let (Some(ours), Some(theirs)) = (refresh.cpu_per_request(), p_refresh.cpu_per_request()) {
                    println!(
                        "        CPU per refresh: the peer spends {:.2}x roomgate's",
                        theirs.as_secs_f64() / ours.as_secs_f64()
                    );
                }
                if let Some(rss) = self.peer_rss {
                    println!(
                        "        the peer's peak RSS, all processes: {:.1} MiB",
                        rss as f64 / MIB
                    );
                }
            }
            if let Some(r) = ratio(refresh, self.refresh_cost()) {
                check(
                    r <= 1.4,
                    format!("refresh_access_token: server CPU/request {r:.2}x verify + sign (≤ 1.4x)"),
                );
            }
            for (name, o) in &self.half_load {
                let p99 = o.quantile(0.99);
                check(
                    p99 <= Duration::from_millis(5),
                    format!("{name} at half of max throughput: p99 {} (≤ 5 ms)", human(p99)),
                );
            }
            check(self.errors == 0, format!("errors: {} (zero)", self.errors));
            if let Some(peak) = self.peak_rss {
                check(
                    peak as f64 <= 64.0 * MIB,
                    format!(
                        "peak RSS {:.1} MiB with up to {} connections (≤ 64 MiB)",
                        peak as f64 / MIB,
                        self.rss_connections
                    ),
                );
            }
            if let Some(idle) = self.idle_rss {
                check(
                    idle as f64 <= 20.0 * MIB,
                    format!("idle RSS {:.1} MiB (≤ 20 MiB)", idle as f64 / MIB),
                );
            }
            check(
                rooms.rate() >= 2000.0,
                format!(
                    "POST /v2/rooms: {:.0}/s (≥ 2,000/s on the default SQLite store)",
                    rooms.rate()
                ),
            );
        }
    }
}

/// The default configuration (`ours`: create, refresh) against roomgate logging at `level` (`theirs`).
fn print_log_comparison(
    level: &str,
    ours: [&Outcome; 2],
    theirs: [&Outcome; 2],
    check: &impl Fn(bool, String),
) {
    let mut create_share = None;
    for (name, o, t) in [("create", ours[0], theirs[0]), ("refresh", ours[1], theirs[1])] {
        let cpu = match (o.cpu_per_request(), t.cpu_per_request()) {
            (Some(oc), Some(tc)) => {
                let share = oc.as_secs_f64() / tc.as_secs_f64() - 1.0;
                if name == "create" {
                    create_share = Some(share);
                }
                format!(
                    "CPU/req {} against {} ({:+.1} µs, {:+.1}%), ",
                    human(oc),
                    human(tc),
                    (oc.as_secs_f64() - tc.as_secs_f64()) * 1e6,
                    share * 100.0
                )
            }
            _ => String::new(),
        };
        println!(
            "        {name}: the default log level against --log-level {level}: {cpu}{:.0}/s against {:.0}/s",
            o.rate(),
            t.rate()
        );
    }
    if let Some(share) = create_share {
        check(
            share <= 0.05,
            format!(
                "create_access_token: server CPU/request at the default log level {:+.1}% of --log-level \
                 {level}'s (≤ +5%)",
                share * 100.0
            ),
        );
    }
}
