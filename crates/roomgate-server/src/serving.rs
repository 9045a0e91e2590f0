//! The accept loop: connection limits (in all and per client address), slow and idle clients, graceful shutdown.
//!
//! A connection slot is held from accept to close, so every way of holding one without doing anything is
//! bounded: the first request's headers must arrive within [`ServerLimits::header_read_timeout`] of accept
//! (protocol detection and the HTTP/2 handshake included: a socket that sends nothing, or only the HTTP/2
//! preface, or answers pings and never opens a stream, is closed then), and a connection with no request in
//! flight for [`ServerLimits::idle_timeout`] is closed (HTTP/2 gets a GOAWAY first). One address (an IPv6
//! client's /64) holds at most [`ServerLimits::max_connections_per_ip`] slots.
use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Bytes, extract::ConnectInfo, Router};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    net::TcpListener,
    sync::{watch, Semaphore},
    time::Instant,
};
use tower::ServiceExt;

use crate::ratelimit::ip_bucket;

/// Limits on connections and requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once; further ones are closed on accept.
    pub max_connections: usize,
    /// Connections served at once from one TCP peer address (an IPv6 peer's /64); `None`: no cap. Behind a
    /// proxy every connection comes from the proxy, so this must allow its connections.
    pub max_connections_per_ip: Option<usize>,
    /// Time a client has to send a request's headers: counted from accept for a connection's first request
    /// (protocol detection and HTTP/2's handshake included), and from the previous response for HTTP/1
    /// keep-alive. Slowloris and silent-socket guard.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight after its first one (HTTP/2 is told GOAWAY).
    pub idle_timeout: Duration,
    /// Time a request may take from its headers to its response; past it, 408.
    pub request_timeout: Duration,
    /// Largest request head (request line and headers) accepted, in bytes.
    pub max_header_bytes: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_ip: Some(256),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// How long an idle connection told to close (GOAWAY) may take to do so before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then drains connections.
pub(crate) async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper refuses heads larger than its read buffer (at least 8 KiB) with 431.
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = PerIp::new(limits.max_connections_per_ip);
    // Every connection holds a receiver: all of them gone is the end of the drain.
    let (draining, _) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "connection limit reached; closing");
            crate::observability::connection_closed("max_connections");
            continue;
        };
        let Some(ip_slot) = per_ip.acquire(peer.ip()) else {
            // Debug only: one address over its cap could otherwise write a line per attempt.
            tracing::debug!(%peer, "connection limit per address reached; closing");
            crate::observability::connection_closed("max_connections_per_ip");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(watch::channel(Activity::new()).0);
        let app = app.clone();
        let tracker = activity.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            let open = InFlight::begin(&tracker);
            async move {
                let response = app
                    .oneshot(req.map(axum::body::Body::new))
                    .await
                    .unwrap_infallible();
                // In flight until the whole body is written (or dropped).
                Ok::<_, Infallible>(response.map(|body| Tracked { body, _open: open }))
            }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let deadlines = Deadlines {
            first_request: limits.header_read_timeout,
            idle: limits.idle_timeout,
        };
        let mut drain = draining.subscribe();
        let mut activity = activity.subscribe();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let mut closing = false;
            let mut drop_at = None;
            let mut service_gone = false;
            loop {
                let now = *activity.borrow_and_update();
                let deadline = match (now.in_flight, drop_at) {
                    (0, Some(at)) => Some(at),
                    (0, None) => Some(deadlines.after(&now)),
                    _ => None,
                };
                tokio::select! {
                    ended = conn.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    changed = activity.changed(), if !service_gone => {
                        // The service went with the connection, whose own branch ends this loop.
                        service_gone = changed.is_err();
                    }
                    _ = drain.changed(), if !closing => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = sleep_until(deadline) => {
                        if drop_at.is_some() {
                            break;
                        }
                        if !now.served {
                            // Nothing was ever asked on it: nothing to be graceful about.
                            crate::observability::connection_closed("first_request_timeout");
                            break;
                        }
                        crate::observability::connection_closed("idle_timeout");
                        if !closing {
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        drop_at = Some(Instant::now() + CLOSE_GRACE);
                    }
                }
            }
            drop((slot, ip_slot));
        });
    }
    drop(listener);
    draining.send_replace(true);
    if tokio::time::timeout(limits.shutdown_grace, draining.closed())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the shutdown grace period");
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a connection is doing, as its supervisor sees it.
#[derive(Clone, Copy, Debug)]
struct Activity {
    /// Requests whose response is not fully written yet.
    in_flight: usize,
    /// Whether any request has arrived.
    served: bool,
    /// When the last request ended, or the connection was accepted.
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: 0,
            served: false,
            idle_since: Instant::now(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Deadlines {
    first_request: Duration,
    idle: Duration,
}

impl Deadlines {
    /// When an idle connection in state `now` is closed.
    fn after(&self, now: &Activity) -> Instant {
        now.idle_since + if now.served { self.idle } else { self.first_request }
    }
}

/// One request in flight on a connection, until dropped.
#[derive(Debug)]
struct InFlight(Arc<watch::Sender<Activity>>);

impl InFlight {
    fn begin(activity: &Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|a| {
            a.in_flight += 1;
            a.served = true;
        });
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight -= 1;
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

/// A response body that keeps its request counted as in flight until it is written or dropped.
#[derive(Debug)]
struct Tracked {
    body: axum::body::Body,
    _open: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Connections held per peer address (bucketed as the per-IP rate limits are).
#[derive(Debug)]
struct PerIp {
    max: Option<usize>,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted against its address, until dropped.
#[derive(Debug)]
struct IpSlot {
    ip: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerIp {
    fn new(max: Option<usize>) -> Self {
        Self {
            max,
            held: Arc::default(),
        }
    }

    /// A slot for `ip`, unless it holds its share already; always one when there is no cap.
    fn acquire(&self, ip: IpAddr) -> Option<Option<IpSlot>> {
        let Some(max) = self.max else {
            return Some(None);
        };
        let ip = ip_bucket(ip);
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Some(IpSlot {
            ip,
            held: self.held.clone(),
        }))
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

trait UnwrapInfallible<T> {
    fn unwrap_infallible(self) -> T;
}

impl<T> UnwrapInfallible<T> for Result<T, Infallible> {
    fn unwrap_infallible(self) -> T {
        match self {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }
}

/// The peer address of a request served by [`serve_with_limits`].
pub fn peer(req_extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    req_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_address_cap_counts_an_ipv6_64_as_one_and_frees_on_drop() {
        let per_ip = PerIp::new(Some(2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = per_ip.acquire(ip("2001:db8::1")).expect("first");
        let b = per_ip.acquire(ip("2001:db8::2")).expect("second");
        assert!(per_ip.acquire(ip("2001:db8::ffff")).is_none(), "the /64 is full");
        assert!(per_ip.acquire(ip("2001:db8:0:1::1")).is_some(), "another /64");
        drop(a);
        let c = per_ip.acquire(ip("2001:db8::3")).expect("freed");
        drop((b, c));
        assert!(
            per_ip.held.lock().unwrap().is_empty(),
            "nothing kept for gone clients"
        );
        assert!(PerIp::new(None).acquire(ip("192.0.2.1")).is_some());
    }
}
