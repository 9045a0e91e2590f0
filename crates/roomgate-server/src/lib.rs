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
pub mod authz;
pub mod client_ip;
pub mod clock;
pub mod domain;
pub mod error;
pub mod extract;
pub mod keys;
pub mod observability;
pub mod ratelimit;
mod routes;
pub mod serving;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timefmt;
pub mod webhooks;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{extract::DefaultBodyLimit, Router};
use roomgate_store::Store;

pub use clock::{Clock, OffsetClock, SystemClock};
pub use error::ApiError;
pub use keys::{KeyError, Keys, MasterKey};
pub use routes::openapi::openapi;

/// The largest request body accepted; larger ones get 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// `iss` of minted tokens (and required of refresh tokens).
    pub issuer: String,
    /// `aud` of minted tokens (and required of refresh tokens).
    pub audience: String,
    /// Seals private signing keys at rest; without it they are stored in plaintext.
    pub master_key: Option<MasterKey>,
    /// How often the keys are re-read from the store: the bound on how stale a replica's keys can be.
    pub key_reload_interval: Duration,
    /// How long a rotated-in key is published before it signs (longer than verifiers cache the JWKS).
    pub publish_delay: Duration,
    /// Rotate the signing key when the newest one is this old (checked at each reload); `None`: only by hand.
    pub rotate_every: Option<Duration>,
    /// Rate limits.
    pub rate_limits: ratelimit::RateLimitConfig,
    /// Behind a reverse proxy: the header it puts the client's address in (e.g. `x-forwarded-for` or
    /// `forwarded`; the right-most entry of all its lines is used). Without it the peer address is the client's.
    pub client_ip_header: Option<client_ip::ClientIpHeader>,
    /// Connection and request limits.
    pub limits: serving::ServerLimits,
    /// Also serve `/metrics` on the API's listener. Off by default: the counts say which check refused a token
    /// (undoing the uniform 403) and how busy the server is, so they belong on a listener of their own
    /// ([`observability::serve_metrics`]).
    pub metrics_on_api_listener: bool,
    /// Rooms an account may hold at once (`None`: no limit); creating one more is a 403.
    pub max_rooms_per_account: Option<u64>,
    /// How often expired revocations and commands are deleted.
    pub revocation_prune_interval: Duration,
    /// How long an admission or a renewal vouches for a participant: a media server that stops renewing (it
    /// died) has its participants counted as gone this long after its last renewal.
    pub participant_lease: Duration,
    /// How often participants whose lease ran out are marked left (and emptied sessions ended).
    pub lease_sweep_interval: Duration,
    /// Webhook delivery.
    pub webhooks: webhooks::WebhookConfig,
}

/// The default of [`Config::max_rooms_per_account`]: far above what a small deployment holds, low enough that
/// one leaked key cannot fill the disk (a room with two 2 KiB webhook URLs takes about 5 KiB).
pub const DEFAULT_MAX_ROOMS_PER_ACCOUNT: u64 = 100_000;

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: roomgate_token::DEFAULT_ISSUER.to_owned(),
            audience: roomgate_token::DEFAULT_AUDIENCE.to_owned(),
            master_key: None,
            key_reload_interval: Duration::from_secs(1),
            publish_delay: Duration::from_secs(600),
            rotate_every: None,
            rate_limits: ratelimit::RateLimitConfig::default(),
            client_ip_header: None,
            limits: serving::ServerLimits::default(),
            metrics_on_api_listener: false,
            max_rooms_per_account: Some(DEFAULT_MAX_ROOMS_PER_ACCOUNT),
            revocation_prune_interval: Duration::from_secs(60),
            participant_lease: Duration::from_secs(30),
            lease_sweep_interval: Duration::from_secs(5),
            webhooks: webhooks::WebhookConfig::default(),
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
    limits: ratelimit::RateLimits,
    webhook_key: webhooks::WebhookKey,
    webhook_wake: Arc<webhooks::Wake>,
    /// Becomes true when [`serve`] starts shutting down, so long polls answer at once.
    stopping: tokio::sync::watch::Sender<bool>,
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
        let store = observability::InstrumentedStore::wrap(store);
        let keys = Keys::load_or_create(
            store.as_ref(),
            config.master_key.clone(),
            clock.now().unix_timestamp(),
        )
        .await?;
        let webhook_key = webhooks::WebhookKey::load_or_create(
            store.as_ref(),
            config.master_key.as_ref(),
            clock.now().unix_timestamp(),
        )
        .await?;
        let limits = ratelimit::RateLimits::new(&config.rate_limits);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keys,
                config,
                clock,
                limits,
                webhook_key,
                webhook_wake: Arc::default(),
                stopping: tokio::sync::watch::Sender::new(false),
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

    /// The rate limiters.
    pub fn limits(&self) -> &ratelimit::RateLimits {
        &self.inner.limits
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    /// The key that signs webhook deliveries.
    pub fn webhook_key(&self) -> &webhooks::WebhookKey {
        &self.inner.webhook_key
    }

    /// Wakes this replica's webhook delivery (and counts what was queued).
    pub fn webhook_wake(&self) -> Arc<webhooks::Wake> {
        self.inner.webhook_wake.clone()
    }

    /// True once the server is shutting down.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let timeout = state.config().limits.request_timeout;
    let api = routes::router();
    let api = if state.config().metrics_on_api_listener {
        api.merge(observability::metrics::router())
    } else {
        // Installed all the same, so what this router counts shows on the metrics listener.
        observability::metrics::install();
        api
    };
    api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    |_: axum::BoxError| async { ApiError::RequestTimeout },
                ))
                .timeout(timeout),
        )
        .layer(axum::middleware::from_fn(observability::observe))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let maintenance = tokio::spawn(maintain_keys(state.clone()));
    let pruning = tokio::spawn(prune_revocations(state.clone()));
    let sweeping = tokio::spawn(expire_leases(state.clone()));
    let mut delivering = tokio::spawn(webhooks::deliver(state.clone()));
    let limits = state.config().limits.clone();
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Long polls answer now instead of holding the drain.
        stopping.inner.stopping.send_replace(true);
    };
    let served = serving::serve_with_limits(listener, router(state), &limits, shutdown).await;
    maintenance.abort();
    pruning.abort();
    sweeping.abort();
    // It drains on its own once stopping (bounded by its DRAIN).
    let drain = webhooks::DRAIN + Duration::from_secs(1);
    if tokio::time::timeout(drain, &mut delivering).await.is_err() {
        delivering.abort();
    }
    served
}

/// Deletes revocations that no token can outlive any more, now and then (every replica does; it is idempotent).
async fn prune_revocations(state: AppState) {
    let mut tick = tokio::time::interval(state.config().revocation_prune_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .store()
            .prune_revocations(timefmt::unix_micros(state.now()))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "expired revocations deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning expired revocations failed"),
        }
        match state
            .store()
            .prune_commands(timefmt::unix_micros(state.now()))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "expired room commands deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning expired room commands failed"),
        }
        let keep = i64::try_from(state.config().webhooks.keep_settled.as_micros()).unwrap_or(i64::MAX);
        match state
            .store()
            .prune_webhook_events(timefmt::unix_micros(state.now()).saturating_sub(keep))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "settled webhook events deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning settled webhook events failed"),
        }
    }
}

/// Marks left the participants whose media server stopped renewing their lease, and ends the sessions that
/// empties (every replica does; each room is settled under its lock, so twice is harmless).
async fn expire_leases(state: AppState) {
    let mut tick = tokio::time::interval(state.config().lease_sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state
            .store()
            .expire_leases(timefmt::unix_micros(state.now()))
            .await
        {
            Ok(settled) => {
                state.webhook_wake().queued(&settled.webhooks);
                for id in &settled.left {
                    tracing::info!(participant = %id, "participant's lease ran out: left");
                }
                for id in &settled.ended_sessions {
                    tracing::info!(session = %id, "room session ended (its last participant's lease ran out)");
                }
            }
            Err(e) => tracing::warn!(error = %e, "expiring participants' leases failed"),
        }
    }
}

/// Keeps this replica's keys in step with the store: picks up rotations made elsewhere, switches to a pending
/// key when its time comes, and rotates on schedule when configured.
async fn maintain_keys(state: AppState) {
    let config = state.config();
    // The keys were loaded moments ago, at startup: the first re-read is one interval away.
    let period = config.key_reload_interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_forget = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let now = state.now().unix_timestamp();
        if let Some(every) = config.rotate_every {
            let newest = state
                .store()
                .signing_keys()
                .await
                .ok()
                .and_then(|k| k.iter().map(|r| r.created_at_secs).max());
            let due_since = now - every.as_secs() as i64;
            if newest.is_some_and(|created| created < due_since) {
                let delay = config.publish_delay.as_secs() as i64;
                match keys::rotate(state.store(), state.keys().master(), now, delay, Some(due_since)).await {
                    Ok(Some(new)) => {
                        tracing::info!(kid = %new.kid, activate_at = new.activate_at_secs, "rotated signing key")
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduled signing-key rotation failed"),
                }
            }
        }
        if last_forget.elapsed() >= ratelimit::FORGET_INTERVAL {
            state.limits().forget_idle();
            last_forget = tokio::time::Instant::now();
        }
        if let Err(e) = state.keys().reload(state.store(), now).await {
            tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
        }
    }
}
