//! The load generator: one task per keep-alive HTTP/1.1 connection, closed loop (send, await, send again) or
//! open loop at a fixed rate, bounded in time.
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::{client::conn::http1, header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::procstat::Processes;

/// One kind of request, sent again and again.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `POST` (with the body) or `GET` (without).
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// JSON body.
    pub body: Bytes,
    /// The status that counts as success.
    pub expect: StatusCode,
}

impl Plan {
    /// A `GET` of `path` (and query) with the API key, expecting 200.
    pub fn get(path: String, bearer: &str) -> Self {
        Self {
            method: Method::GET,
            path,
            bearer: Some(bearer.to_owned()),
            body: Bytes::new(),
            expect: StatusCode::OK,
        }
    }

    fn request(&self, host: &str) -> Request<Full<Bytes>> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(header::HOST, host);
        if self.method == Method::POST {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(key) = &self.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        req.body(Full::new(self.body.clone())).unwrap_or_default()
    }
}

/// How requests are paced.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// Each connection sends its next request as soon as the previous answer arrives.
    Closed,
    /// The connections together send this many requests per second on a fixed schedule; latency counts from
    /// the scheduled time, so a slow answer is not hidden by the requests it delayed.
    Open(f64),
}

/// One run's settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Concurrent connections.
    pub connections: usize,
    /// Not measured, before `duration`.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
    /// How requests are paced.
    pub pace: Pace,
}

/// What one run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Successful answers completed in the measured window.
    pub ok: u64,
    /// Failed requests (wrong status or transport errors) over the whole run, warm-up included.
    pub errors: u64,
    /// The first failure, to show.
    pub first_error: Option<String>,
    /// Latency of the measured successes, microseconds.
    pub latency: Histogram<u64>,
    /// The measured window.
    pub window: Duration,
    /// Server CPU time in the window, when the server's processes are known.
    pub server_cpu: Option<Duration>,
    /// The database server's CPU time in the window, when it is measured (PostgreSQL).
    pub store_cpu: Option<Duration>,
}

impl Outcome {
    /// Successes per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// Server CPU time per successful request.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let cpu = self.server_cpu?;
        (self.ok > 0).then(|| cpu.div_f64(self.ok as f64))
    }

    /// Database server CPU time per successful request.
    pub fn store_cpu_per_request(&self) -> Option<Duration> {
        let cpu = self.store_cpu?;
        (self.ok > 0).then(|| cpu.div_f64(self.ok as f64))
    }

    /// A latency quantile.
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }
}

struct Counts {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// A keep-alive HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> anyhow::Result<http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole answer.
async fn exchange(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// One request on a fresh connection, for setup: returns the JSON answer, or fails on another status.
pub async fn call(addr: SocketAddr, plan: &Plan) -> anyhow::Result<serde_json::Value> {
    let mut sender = connect(addr).await?;
    let (status, body) = exchange(&mut sender, plan.request(&addr.to_string())).await?;
    if status != plan.expect {
        bail!(
            "{} answered {status}: {}",
            plan.path,
            String::from_utf8_lossy(&body)
        );
    }
    Ok(serde_json::from_slice(&body)?)
}

/// Waits until `GET path` answers 200, up to `limit`.
pub async fn wait_ready(addr: SocketAddr, path: &str, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let attempt = async {
            let mut sender = connect(addr).await?;
            let req = Request::get(path)
                .header(header::HOST, addr.to_string())
                .body(Full::new(Bytes::new()))?;
            anyhow::Ok(exchange(&mut sender, req).await?.0)
        };
        if let Ok(StatusCode::OK) = attempt.await {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("{addr}{path} did not answer 200 within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One connection's loop until `end`; records what completes inside `[measure_from, end]`.
async fn connection(
    addr: SocketAddr,
    plan: Arc<Plan>,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    interval: Option<Duration>,
) -> Counts {
    let host = addr.to_string();
    let mut counts = Counts {
        ok: 0,
        errors: 0,
        first_error: None,
        latency: histogram(),
    };
    let fail = |counts: &mut Counts, e: String| {
        counts.errors += 1;
        counts.first_error.get_or_insert(e);
    };
    let mut next = start;
    let mut sender = None;
    while Instant::now() < end {
        let scheduled = match interval {
            Some(every) => {
                tokio::time::sleep_until(next.into()).await;
                let at = next;
                next += every;
                if at >= end {
                    break;
                }
                at
            }
            None => Instant::now(),
        };
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    fail(&mut counts, format!("{e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = sender.as_mut() else { continue };
        let result = exchange(s, plan.request(&host)).await;
        let done = Instant::now();
        match result {
            Ok((status, _)) if status == plan.expect => {
                if scheduled >= measure_from && done <= end {
                    counts.ok += 1;
                    let micros = done.duration_since(scheduled).as_micros() as u64;
                    let _ = counts.latency.record(micros.max(1));
                }
            }
            Ok((status, body)) => fail(
                &mut counts,
                format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ),
            ),
            Err(e) => {
                fail(&mut counts, format!("{e:#}"));
                sender = None;
            }
        }
    }
    counts
}

/// Drives `plan` against `addr` with `settings`, sampling the server's CPU over the measured window.
pub async fn run(
    addr: SocketAddr,
    plan: &Plan,
    settings: Settings,
    server: Option<&Processes>,
    store_comm: Option<&str>,
) -> anyhow::Result<Outcome> {
    let plan = Arc::new(plan.clone());
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let end = measure_from + settings.duration;
    let n = settings.connections.max(1);
    let interval = match settings.pace {
        Pace::Closed => None,
        Pace::Open(rate) => Some(Duration::from_secs_f64(n as f64 / rate.max(1.0))),
    };
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            // Spread the open-loop schedules so the connections do not fire together.
            let phase = interval.map_or(Duration::ZERO, |every| every.mul_f64(i as f64 / n as f64));
            tokio::spawn(connection(
                addr,
                plan.clone(),
                start + phase,
                measure_from,
                end,
                interval,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = server.map(Processes::cpu);
    // Taken after the warm-up, when the pool's database connections (one backend process each) exist.
    let store = store_comm.map(|comm| Processes::named(comm, crate::procstat::clock_ticks_per_sec()));
    let store_before = store.as_ref().map(Processes::cpu);
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = server.map(Processes::cpu);
    let store_after = store.as_ref().map(Processes::cpu);
    let mut total = Counts {
        ok: 0,
        errors: 0,
        first_error: None,
        latency: histogram(),
    };
    for task in tasks {
        let c = task.await?;
        total.ok += c.ok;
        total.errors += c.errors;
        if total.first_error.is_none() {
            total.first_error = c.first_error;
        }
        total.latency.add(&c.latency).ok();
    }
    Ok(Outcome {
        ok: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        latency: total.latency,
        window: settings.duration,
        server_cpu: cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b)),
        store_cpu: store_before.zip(store_after).map(|(b, a)| a.saturating_sub(b)),
    })
}
