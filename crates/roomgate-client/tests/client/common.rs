//! A real roomgate server for one test, with one API key.
use std::sync::Arc;

use roomgate_client::Client;
use roomgate_server::{auth::ApiKey, AppState, Config};
use roomgate_store::{NewApiKey, Store};
use tokio::sync::oneshot;
use uuid::Uuid;

/// A server on 127.0.0.1:0 over a fresh SQLite file; stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>/v2`.
    pub base_url: String,
    /// A valid key of account "default".
    pub api_key: String,
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

/// Unix microseconds now, as the CLI stamps records.
#[allow(clippy::disallowed_methods)] // stamps test records, as `roomgate api-keys create` does
fn now_micros() -> i64 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros()) as i64
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roomgate.db").display());
        let store = roomgate_store::connect(&url).await.unwrap();
        let api_key = add_key(store.as_ref(), "default").await;
        let state = AppState::new(store.clone(), Config::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(roomgate_server::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Self {
            base_url: format!("http://{addr}/v2"),
            api_key,
            store,
            _dir: dir,
            _shutdown: tx,
        }
    }

    /// A client with this server's key and no retries (so error tests see the first answer).
    pub fn client(&self) -> Client {
        self.client_with_key(&self.api_key)
    }

    /// A client presenting `key`.
    pub fn client_with_key(&self, key: &str) -> Client {
        Client::builder()
            .base_url(&self.base_url)
            .api_key(key)
            .max_retries(0)
            .build()
            .unwrap()
    }

    /// A client with no API key at all.
    pub fn anonymous_client(&self) -> Client {
        Client::builder()
            .base_url(&self.base_url)
            .api_key_from_env(false)
            .max_retries(0)
            .build()
            .unwrap()
    }
}

/// Inserts a key for `account` the way `roomgate api-keys create` does; returns its secret.
pub async fn add_key(store: &dyn Store, account: &str) -> String {
    let now = now_micros();
    let account_id = store.ensure_account(account, now).await.unwrap();
    let key = ApiKey::generate().unwrap();
    store
        .insert_api_key(&NewApiKey {
            id: Uuid::new_v4(),
            account_id,
            name: Some("test".into()),
            prefix: key.prefix(),
            key_hash: key.hash(),
            created_at: now,
        })
        .await
        .unwrap();
    key.expose_secret().to_owned()
}
