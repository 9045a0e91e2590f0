//! A real server for tests (feature `testing`): `serve` on `127.0.0.1:0` over a throwaway database of either
//! backend, on a clock the test can move, with an API key made as `roomgate api-keys create` makes one.
//!
//! ```no_run
//! # async fn demo() {
//! use roomgate_server::testing::{Backend, TestServer};
//!
//! let server = TestServer::start(Backend::Sqlite, roomgate_server::Config::default()).await;
//! let rooms = server.url("/v2/rooms"); // with `server.key.secret` as the bearer token
//! # }
//! ```
pub mod receiver;

use std::{sync::Arc, time::Duration};

pub use roomgate_store::testing::{Backend, TestDatabase};
use roomgate_store::Store;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use uuid::Uuid;

use crate::{auth, AppState, Clock, Config, OffsetClock};

/// An API key as the CLI hands it out: its id (to revoke it) and its secret.
#[derive(Debug, Clone)]
pub struct TestKey {
    /// The key's id.
    pub id: Uuid,
    /// The bearer token.
    pub secret: String,
}

/// The tasks of a running server.
#[derive(Debug)]
struct Running {
    shutdown: oneshot::Sender<()>,
    handle: JoinHandle<std::io::Result<()>>,
    /// The metrics listener, stopped with the server.
    metrics: JoinHandle<std::io::Result<()>>,
}

/// One server over its database (or one shared with other servers, as replicas are); it stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// `http://127.0.0.1:PORT` of the metrics listener (`/metrics` alone), as `--metrics-listen` serves it.
    pub metrics_address: String,
    /// A key of the account "default".
    pub key: TestKey,
    /// The server's store, to arrange and inspect what the API cannot.
    pub store: Arc<dyn Store>,
    /// The server's clock: the system's until moved.
    pub clock: OffsetClock,
    config: Config,
    running: Option<Running>,
    db: Arc<TestDatabase>,
}

impl TestServer {
    /// A server with `config` on a fresh database of `backend`.
    pub async fn start(backend: Backend, config: Config) -> Self {
        Self::start_over(Arc::new(TestDatabase::new(backend).await), config).await
    }

    /// A server with `config` over `db`, which other servers may share.
    pub async fn start_over(db: Arc<TestDatabase>, config: Config) -> Self {
        let store = roomgate_store::connect(db.url()).await.expect("store");
        let clock = OffsetClock::new();
        let (address, metrics_address, running) = serve(store.clone(), &clock, config.clone()).await;
        let mut server = Self {
            address,
            metrics_address,
            key: TestKey {
                id: Uuid::nil(),
                secret: String::new(),
            },
            store,
            clock,
            config,
            running: Some(running),
            db,
        };
        server.key = server.new_api_key("default").await;
        server
    }

    /// Another server with `config` over this one's database, as a second replica.
    pub async fn replica(&self, config: Config) -> Self {
        Self::start_over(self.db.clone(), config).await
    }

    /// The database this server serves.
    pub fn database(&self) -> &Arc<TestDatabase> {
        &self.db
    }

    /// `address` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates a key for `account` exactly as `roomgate api-keys create --account NAME` does.
    pub async fn new_api_key(&self, account: &str) -> TestKey {
        let now = crate::timefmt::unix_micros(self.clock.now());
        let created = auth::create_api_key(self.store.as_ref(), account, Some("test".into()), now)
            .await
            .expect("create api key");
        TestKey {
            id: created.record.id,
            secret: created.key.expose_secret().to_owned(),
        }
    }

    /// Moves the clock so that the current Unix second is `unix`.
    pub fn set_clock(&self, unix: i64) {
        self.clock.advance(unix - self.clock.now().unix_timestamp());
    }

    /// Stops the server, waiting (at most 10 s) until in-flight requests finish and it no longer listens.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.metrics.abort();
        let _ = running.shutdown.send(());
        tokio::time::timeout(Duration::from_secs(10), running.handle)
            .await
            .expect("server stops within 10 s")
            .expect("server task")
            .expect("serve returns Ok");
    }

    /// Stops the server, then serves the same database, reopened, on new ports; the new `address`.
    pub async fn restart(&mut self) -> String {
        assert!(self.running.is_some(), "server is running");
        self.stop().await;
        self.store = roomgate_store::connect(self.db.url())
            .await
            .expect("reopen store");
        let (address, metrics_address, running) =
            serve(self.store.clone(), &self.clock, self.config.clone()).await;
        self.address = address;
        self.metrics_address = metrics_address;
        self.running = Some(running);
        self.address.clone()
    }
}

/// Serves the API and the metrics listener, each on `127.0.0.1:0`: their addresses, and the running pair.
async fn serve(store: Arc<dyn Store>, clock: &OffsetClock, config: Config) -> (String, String, Running) {
    let state = AppState::with_clock(store, config, Arc::new(clock.clone()))
        .await
        .expect("server state");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics_address = format!("http://{}", admin.local_addr().expect("local addr"));
    let metrics = tokio::spawn(crate::observability::serve_metrics(
        admin,
        state.clone(),
        std::future::pending(),
    ));
    let (shutdown, stop) = oneshot::channel::<()>();
    let handle = tokio::spawn(crate::serve(listener, state, async move {
        let _ = stop.await;
    }));
    let running = Running {
        shutdown,
        handle,
        metrics,
    };
    (address, metrics_address, running)
}
