//! A webhook receiver for tests: a real HTTP server on `127.0.0.1:0` that records every delivery (headers, body,
//! when it arrived) and answers each as its plan says (200 when the plan is empty).
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use serde_json::Value;
use tokio::{sync::Notify, task::JoinHandle};

/// How the receiver answers one delivery.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// This status at once.
    Status(u16),
    /// 200 after this long.
    Slow(Duration),
}

/// One delivery as it arrived.
#[derive(Clone, Debug)]
pub struct Hit {
    /// When it arrived.
    pub at: Instant,
    /// `telnyx-timestamp`.
    pub timestamp: String,
    /// `telnyx-signature-ed25519`.
    pub signature: String,
    /// The body as sent.
    pub body: String,
    /// The body, parsed.
    pub json: Value,
}

impl Hit {
    /// `data.event_type`.
    pub fn event_type(&self) -> &str {
        self.json["data"]["event_type"].as_str().unwrap_or_default()
    }

    /// `data.id`.
    pub fn id(&self) -> &str {
        self.json["data"]["id"].as_str().unwrap_or_default()
    }

    /// `data.payload`.
    pub fn payload(&self) -> &Value {
        &self.json["data"]["payload"]
    }
}

#[derive(Debug, Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    plan: Mutex<VecDeque<Reply>>,
    arrived: Notify,
}

/// The receiver; stopped when dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    let hit = Hit {
        at: Instant::now(),
        timestamp: header("telnyx-timestamp"),
        signature: header("telnyx-signature-ed25519"),
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        body: text,
    };
    let reply = shared
        .plan
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front();
    shared
        .hits
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(hit);
    shared.arrived.notify_waiters();
    match reply {
        None => StatusCode::OK,
        Some(Reply::Status(code)) => StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Some(Reply::Slow(d)) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

impl WebhookReceiver {
    /// Listening, with an empty plan.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("its address"));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// Answers the next deliveries so, in order.
    pub fn plan(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(replies);
    }

    /// Every delivery so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared
            .hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most `within`) until `n` deliveries have arrived; all of them. Panics when they do not.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let hits = self.hits();
                if hits.len() >= n {
                    return hits;
                }
                let types: Vec<&str> = hits.iter().map(Hit::event_type).collect();
                panic!(
                    "{} of {n} deliveries arrived within {within:?}: {types:?}",
                    hits.len()
                );
            }
        }
    }
}
