//! A real roomgate server for one test, with one API key, and clients of it.
use std::ops::Deref;

use roomgate_client::Client;
use roomgate_server::{testing::Backend, Config};

/// [`roomgate_server::testing::TestServer`] over a fresh SQLite file, as the SDK sees it; stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>/v2`.
    pub base_url: String,
    /// A valid key of account "default".
    pub api_key: String,
    server: roomgate_server::testing::TestServer,
}

impl Deref for TestServer {
    type Target = roomgate_server::testing::TestServer;

    fn deref(&self) -> &Self::Target {
        &self.server
    }
}

impl TestServer {
    pub async fn start() -> Self {
        let server = roomgate_server::testing::TestServer::start(Backend::Sqlite, Config::default()).await;
        Self {
            base_url: server.url("/v2"),
            api_key: server.key.secret.clone(),
            server,
        }
    }

    /// A new key of `account`, made as `roomgate api-keys create` makes one; its secret.
    pub async fn add_key(&self, account: &str) -> String {
        self.server.new_api_key(account).await.secret
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
