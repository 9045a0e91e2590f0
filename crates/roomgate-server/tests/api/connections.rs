//! Connections that hold a slot without asking anything, over raw sockets: closed within the header timeout
//! (silent, HTTP/2 preface only, a full HTTP/2 handshake that answers pings), idle HTTP/2 closed after the idle
//! timeout, and a cap per client address.
use std::{
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use roomgate_server::Config;
use roomgate_store::testing::Backend;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    task::JoinHandle,
};

use crate::harness::TestApp;

/// The header-read (first request) and idle timeouts of these tests.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Connection slots of these tests' servers.
const SLOTS: usize = 20;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn config() -> Config {
    let mut config = Config::default();
    config.limits.max_connections = SLOTS;
    // Every socket here comes from 127.0.0.1; the per-address cap has a test of its own.
    config.limits.max_connections_per_ip = None;
    config.limits.header_read_timeout = TIMEOUT;
    config.limits.idle_timeout = TIMEOUT;
    config
}

fn addr(app: &TestApp) -> SocketAddr {
    app.address.trim_start_matches("http://").parse().unwrap()
}

/// `GET /healthz` on a new connection: whether it was answered 200 (not closed unanswered).
async fn healthz(stream: std::io::Result<TcpStream>) -> bool {
    let Ok(mut conn) = stream else { return false };
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if conn.write_all(request).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await;
    buf.starts_with(b"HTTP/1.1 200")
}

/// Reads until the server closes the connection (or resets it).
async fn until_closed(mut conn: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// An HTTP/2 frame: type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const HEADERS: u8 = 0x1;
const ACK: u8 = 0x1;
const END_STREAM: u8 = 0x1;

/// A client that does the HTTP/2 handshake, answers the server's SETTINGS and PINGs, pings it itself every
/// quarter second, and, with `request`, asks `GET /healthz` once first. Returns whether it saw a GOAWAY, once
/// the server has closed the connection.
async fn h2_client(mut conn: TcpStream, request: bool) -> bool {
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    if request {
        // HPACK: :method GET, :scheme http (static table), :path /healthz and :authority x (literals).
        let mut block = vec![0x82, 0x86, 0x04, 8];
        block.extend_from_slice(b"/healthz");
        block.extend_from_slice(&[0x01, 1, b'x']);
        conn.write_all(&frame(HEADERS, 0x4 | END_STREAM, 1, &block))
            .await
            .unwrap();
    }
    let (mut read, mut write) = conn.into_split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            let bytes = tokio::select! {
                queued = rx.recv() => match queued { Some(b) => b, None => return },
                _ = tick.tick() => frame(PING, 0, 0, b"roomgate"),
            };
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let (mut goaway, mut answered) = (false, !request);
    loop {
        let mut head = [0u8; 9];
        if read.read_exact(&mut head).await.is_err() {
            break;
        }
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if read.read_exact(&mut payload).await.is_err() {
            break;
        }
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        match kind {
            SETTINGS if flags & ACK == 0 => {
                let _ = tx.send(frame(SETTINGS, ACK, 0, &[]));
            }
            PING if flags & ACK == 0 => {
                let _ = tx.send(frame(PING, ACK, 0, &payload));
            }
            GOAWAY => goaway = true,
            _ if stream == 1 && flags & END_STREAM != 0 => answered = true,
            _ => {}
        }
    }
    writer.abort();
    assert!(answered, "the request was answered before the connection closed");
    goaway
}

/// Fills every slot with `hold`, checks that `/healthz` is then unreachable, and that it answers again within
/// the timeout plus a second because the server closed them all.
async fn slots_held_by<F, Fut>(hold: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let app = TestApp::spawn_with(Backend::Sqlite, config()).await;
    let addr = addr(&app);
    let mut holders: Vec<JoinHandle<()>> = Vec::new();
    for _ in 0..SLOTS {
        holders.push(tokio::spawn(hold(TcpStream::connect(addr).await.unwrap())));
    }
    let held_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !healthz(TcpStream::connect(addr).await).await,
        "every slot is taken, so the probe is turned away"
    );

    let deadline = held_at + TIMEOUT + Duration::from_secs(1);
    loop {
        if healthz(TcpStream::connect(addr).await).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz still unreachable {:?} after the slots were taken",
            held_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for holder in holders {
        tokio::time::timeout(Duration::from_secs(5), holder)
            .await
            .expect("the server closed the holding connection")
            .expect("holder task");
    }
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_header_timeout() {
    slots_held_by(until_closed).await;
}

#[tokio::test]
async fn connections_that_send_only_the_http2_preface_are_closed_after_the_header_timeout() {
    slots_held_by(|mut conn: TcpStream| async move {
        conn.write_all(PREFACE).await.unwrap();
        until_closed(conn).await;
    })
    .await;
}

#[tokio::test]
async fn http2_connections_that_answer_pings_but_open_no_stream_are_closed_after_the_header_timeout() {
    slots_held_by(|conn: TcpStream| async move {
        h2_client(conn, false).await;
    })
    .await;
}

#[tokio::test]
async fn an_http2_connection_with_no_open_stream_is_told_goaway_after_the_idle_timeout() {
    let mut config = config();
    config.limits.header_read_timeout = Duration::from_secs(30);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let conn = TcpStream::connect(addr(&app)).await.unwrap();
    let started = Instant::now();

    let goaway = tokio::time::timeout(TIMEOUT + Duration::from_secs(10), h2_client(conn, true))
        .await
        .expect("the idle connection is closed");

    assert!(
        goaway,
        "an idle HTTP/2 connection gets a GOAWAY before it is closed"
    );
    assert!(
        started.elapsed() >= TIMEOUT,
        "closed after {:?}, before the idle timeout",
        started.elapsed()
    );
}

/// A connection from `source` (any 127.0.0.0/8 address reaches a listener on 127.0.0.1).
async fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(to).await
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let mut config = config();
    config.limits.max_connections_per_ip = Some(3);
    config.limits.header_read_timeout = Duration::from_secs(60);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let addr = addr(&app);
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect_from("127.0.0.1", addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert!(
        !healthz(connect_from("127.0.0.1", addr).await).await,
        "a fourth connection from the same address is closed unanswered"
    );
    assert!(
        healthz(connect_from("127.0.0.2", addr).await).await,
        "another address is served"
    );
    drop(silent.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !healthz(connect_from("127.0.0.1", addr).await).await {
        assert!(Instant::now() < deadline, "a freed slot is usable again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
