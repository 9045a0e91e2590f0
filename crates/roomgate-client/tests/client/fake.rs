//! A scripted HTTP server: answers with the given replies in order (the last one repeats) and records
//! every request, so tests can count attempts and look at headers.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{HeaderName, HeaderValue, StatusCode},
    response::Response,
    Router,
};
use roomgate_client::ClientBuilder;
use tokio::sync::oneshot;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// A Telnyx error body.
    pub fn error(status: u16, code: &str, title: &str) -> Self {
        Self::new(
            status,
            format!(r#"{{"errors":[{{"code":"{code}","title":"{title}","detail":"scripted"}}]}}"#),
        )
    }

    /// `{"data": <a room>}`.
    pub fn room() -> Self {
        Self::new(200, format!(r#"{{"data":{ROOM}}}"#))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A room as the API sends it.
pub const ROOM: &str = r#"{"id":"7b61621f-62e0-4aad-ab11-9fd19e272e73","unique_name":null,"max_participants":10,
"enable_recording":false,"webhook_event_url":null,"webhook_event_failover_url":null,"webhook_timeout_secs":null,
"active_session_id":null,"created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z",
"record_type":"room"}"#;

/// What the fake saw of one request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Clone)]
struct Shared {
    replies: Arc<Vec<Reply>>,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

/// The running fake; stops when dropped.
pub struct FakeServer {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeServer {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, replies)
    }

    /// Serves on a listener already bound.
    pub fn start_on(listener: tokio::net::TcpListener, replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty());
        let addr = listener.local_addr().unwrap();
        let shared = Shared {
            replies: Arc::new(replies),
            seen: Arc::default(),
        };
        let seen = shared.seen.clone();
        let app = Router::new().fallback(answer).with_state(shared);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            base_url: format!("http://{addr}/v2"),
            seen,
            _shutdown: tx,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn attempts(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// A client for this fake with a key and millisecond backoff.
    pub fn client(&self) -> ClientBuilder {
        roomgate_client::Client::builder()
            .base_url(&self.base_url)
            .api_key("rg_fake")
            .retry_backoff(Duration::from_millis(1), Duration::from_millis(5))
    }
}

async fn answer(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        method: parts.method.to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    };
    let reply = {
        let mut seen = shared.seen.lock().unwrap();
        seen.push(recorded);
        shared.replies[(seen.len() - 1).min(shared.replies.len() - 1)].clone()
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in reply.headers {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}
