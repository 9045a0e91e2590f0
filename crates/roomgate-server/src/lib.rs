//! roomgate's HTTP API as a library: [`AppState`], [`router`] and [`serve`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use roomgate_server::{serve, AppState, Config};
//! let store = roomgate_store::connect("sqlite://roomgate.db").await?;
//! let state = AppState::new(store, Config::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod clock;
pub mod domain;
pub mod error;
pub mod extract;
pub mod keys;
mod routes;
pub mod timefmt;

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{extract::DefaultBodyLimit, Router};
use roomgate_store::Store;

pub use clock::{Clock, OffsetClock, SystemClock};
pub use error::ApiError;
pub use keys::{KeyError, Keys};

/// The largest request body accepted; larger ones get 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// `iss` of minted tokens (and required of refresh tokens).
    pub issuer: String,
    /// `aud` of minted tokens (and required of refresh tokens).
    pub audience: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: roomgate_token::DEFAULT_ISSUER.to_owned(),
            audience: roomgate_token::DEFAULT_AUDIENCE.to_owned(),
        }
    }
}

/// Everything a handler needs, cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    keys: Keys,
    config: Config,
    clock: Arc<dyn Clock>,
}

impl AppState {
    /// State on the system clock; loads (or creates) the signing keys.
    pub async fn new(store: Arc<dyn Store>, config: Config) -> Result<Self, KeyError> {
        Self::with_clock(store, config, Arc::new(SystemClock)).await
    }

    /// State on a given clock.
    pub async fn with_clock(
        store: Arc<dyn Store>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyError> {
        let keys = Keys::load_or_create(store.as_ref(), clock.now().unix_timestamp()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keys,
                config,
                clock,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The signing keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    routes::router()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
