//! Prometheus metrics: one recorder per process, the functions that feed it, and `GET /metrics`.
//!
//! The recorder is installed as the `metrics` crate's global recorder the first time a router is built, so every
//! server in a process (tests run several) feeds and renders the same registry.
use std::{
    borrow::Borrow,
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{Arc, LazyLock, OnceLock, PoisonError, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter, Histogram, Unit,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use roomgate_store::StoreError;
use roomgate_token::TokenKind;

use crate::{error::ApiError, keys, AppState};

/// Requests answered, by `method`, `route` (the template, `unmatched` for none) and `status`.
pub const HTTP_REQUESTS: &str = "roomgate_http_requests_total";
/// Time to answer a request, by the same labels.
pub const HTTP_DURATION: &str = "roomgate_http_request_duration_seconds";
/// Tokens signed, by `kind` (`access`, `refresh`) and `scheme` (`access_token`, `client_token`).
pub const TOKENS_MINTED: &str = "roomgate_tokens_minted_total";
/// Successful refreshes, by `scheme`.
pub const TOKENS_REFRESHED: &str = "roomgate_tokens_refreshed_total";
/// Refused refreshes, by `reason`.
pub const TOKENS_REJECTED: &str = "roomgate_tokens_rejected_total";
/// Time of each store call, by `operation` and `outcome` (`ok` or the error's kind).
pub const STORE_DURATION: &str = "roomgate_store_operation_duration_seconds";
/// Requests refused by a rate limit, by `limit`.
pub const RATE_LIMITED: &str = "roomgate_rate_limited_total";
/// Signing keys, by `state` (`pending`, `active`, `previous`, `retired`), as of the last scrape.
pub const SIGNING_KEYS: &str = "roomgate_signing_keys";
/// Requests whose `--client-ip-header` gave no address, by `problem` (`missing`, `unparseable`).
pub const CLIENT_IP_HEADER_UNUSABLE: &str = "roomgate_client_ip_header_unusable_total";
/// Connections the server closed on its own, by `reason`.
pub const CONNECTIONS_CLOSED: &str = "roomgate_connections_closed_total";
/// Log lines the process's log writer dropped because its queue was full (stdout not keeping up), read at each
/// scrape.
pub const LOG_LINES_DROPPED: &str = "roomgate_log_lines_dropped_total";
/// Revocations stored, by `selector` (`jti`, `identity`, `issued_before`).
pub const REVOCATIONS_CREATED: &str = "roomgate_revocations_created_total";
/// Answers of the revocation feed, by `outcome` (`delivered`: with revocations, `empty`: none after the cursor).
pub const REVOCATION_FEED: &str = "roomgate_revocation_feed_requests_total";
/// Introspections answered, by `outcome` (`active`, the inactive reason, or `not_ours`: not the caller's token,
/// or no token).
pub const INTROSPECTIONS: &str = "roomgate_token_introspections_total";
/// Webhook events stored in the outbox, by `event_type`.
pub const WEBHOOKS_QUEUED: &str = "roomgate_webhook_events_queued_total";
/// Webhook events a receiver acknowledged (2xx), by `event_type`.
pub const WEBHOOKS_DELIVERED: &str = "roomgate_webhook_events_delivered_total";
/// Webhook events rescheduled after every URL of an attempt failed, by `event_type`.
pub const WEBHOOKS_RETRIED: &str = "roomgate_webhook_events_retried_total";
/// Webhook events given up (not delivered within the horizon), by `event_type`.
pub const WEBHOOKS_FAILED: &str = "roomgate_webhook_events_failed_total";
/// Failed posts of a webhook to one URL, by `reason` (`status`, `timeout`, `connect`, `refused_target`: the SSRF
/// guard, `invalid_url`, `error`).
pub const WEBHOOK_ATTEMPTS_FAILED: &str = "roomgate_webhook_attempts_failed_total";
/// From an event to its acknowledgement, retries included.
pub const WEBHOOK_LATENCY: &str = "roomgate_webhook_delivery_latency_seconds";
/// Always 1, labelled with the `version`.
pub const BUILD_INFO: &str = "roomgate_build_info";

/// Latency buckets in seconds, from a fast SQLite read to a stalled request.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Webhook latency buckets in seconds: from a receiver on the same network to a day of retries.
const WEBHOOK_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0,
    21600.0, 86400.0,
];

/// The process's recorder, installed on first use.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(WEBHOOK_LATENCY.to_owned()),
                WEBHOOK_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // The embedding program installed its own recorder: it gets our metrics, `/metrics` stays empty.
            tracing::warn!(
                "a metrics recorder is already installed; /metrics will not show roomgate's metrics"
            );
        }
        describe();
        gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        // Histograms grow until drained; scrapes drain them too, but a server may never be scraped.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the metrics upkeep thread");
        }
        handle
    })
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP requests answered, by route template and status."
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request.");
    describe_counter!(
        TOKENS_MINTED,
        Unit::Count,
        "Tokens signed, by kind and naming scheme."
    );
    describe_counter!(
        TOKENS_REFRESHED,
        Unit::Count,
        "Access tokens refreshed, by naming scheme."
    );
    describe_counter!(
        TOKENS_REJECTED,
        Unit::Count,
        "Refresh requests refused, by reason."
    );
    describe_histogram!(
        STORE_DURATION,
        Unit::Seconds,
        "Time of each store operation, by outcome."
    );
    describe_counter!(RATE_LIMITED, Unit::Count, "Requests refused by a rate limit.");
    describe_counter!(
        WEBHOOKS_QUEUED,
        Unit::Count,
        "Webhook events stored in the outbox."
    );
    describe_counter!(
        WEBHOOKS_DELIVERED,
        Unit::Count,
        "Webhook events a receiver acknowledged."
    );
    describe_counter!(
        WEBHOOKS_RETRIED,
        Unit::Count,
        "Webhook events rescheduled after an attempt failed at every URL."
    );
    describe_counter!(WEBHOOKS_FAILED, Unit::Count, "Webhook events given up.");
    describe_counter!(
        WEBHOOK_ATTEMPTS_FAILED,
        Unit::Count,
        "Failed posts of a webhook to one URL."
    );
    describe_histogram!(
        WEBHOOK_LATENCY,
        Unit::Seconds,
        "Time from a room event to its webhook's acknowledgement."
    );
    describe_counter!(
        CLIENT_IP_HEADER_UNUSABLE,
        Unit::Count,
        "Requests whose client-IP header was missing or unparseable (the peer address was used)."
    );
    describe_counter!(
        CONNECTIONS_CLOSED,
        Unit::Count,
        "Connections closed by the server: over a connection limit, or silent or idle too long."
    );
    describe_gauge!(
        SIGNING_KEYS,
        Unit::Count,
        "Signing keys by state, as of the last scrape."
    );
    describe_counter!(
        LOG_LINES_DROPPED,
        Unit::Count,
        "Log lines dropped because stdout did not keep up and the log writer's queue was full."
    );
    describe_counter!(
        REVOCATIONS_CREATED,
        Unit::Count,
        "Revocations stored, by selector."
    );
    describe_counter!(
        REVOCATION_FEED,
        Unit::Count,
        "Revocation feed answers, with revocations (delivered) or none (empty)."
    );
    describe_counter!(
        INTROSPECTIONS,
        Unit::Count,
        "Token introspections, by outcome (active, the inactive reason, or not_ours)."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version is a label.");
}

/// Reads how many log lines the process's writer has dropped so far.
type DroppedLogLines = Box<dyn Fn() -> u64 + Send + Sync>;

static DROPPED_LOG_LINES: OnceLock<DroppedLogLines> = OnceLock::new();

/// Makes every scrape report `dropped()`, the log lines the process's log writer has dropped so far, as
/// [`LOG_LINES_DROPPED`]. A process has one log writer: calls after the first are ignored.
pub fn count_dropped_log_lines(dropped: impl Fn() -> u64 + Send + Sync + 'static) {
    let _ = DROPPED_LOG_LINES.set(Box::new(dropped));
}

/// Installs the process's recorder, if no router has yet.
pub(crate) fn install() {
    handle();
}

/// `GET /metrics`.
pub(crate) fn router() -> Router<AppState> {
    handle();
    Router::new().route("/metrics", get(render))
}

/// A router with `/metrics` alone, for a listener apart from the API's.
pub fn metrics_router(state: AppState) -> Router {
    router()
        .fallback(|| async { ApiError::NotFound("Resource") })
        .with_state(state)
}

/// Serves `/metrics` alone on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render(State(app): State<AppState>) -> Response {
    match app.store().signing_keys().await {
        Ok(records) => {
            let states = keys::states(&records, app.now().unix_timestamp());
            for state in [
                keys::KeyState::Pending,
                keys::KeyState::Active,
                keys::KeyState::Previous,
                keys::KeyState::Retired,
            ] {
                let n = states.iter().filter(|s| **s == state).count();
                gauge!(SIGNING_KEYS, "state" => state.as_str()).set(n as f64);
            }
        }
        // A scrape still answers: the store's own latency metrics show the failure.
        Err(e) => tracing::warn!(error = %e, "reading signing keys for /metrics failed"),
    }
    if let Some(dropped) = DROPPED_LOG_LINES.get() {
        // Shown from the start, at 0, so that an alert on its increase has a series to watch.
        counter!(LOG_LINES_DROPPED).absolute(dropped());
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle().render(),
    )
        .into_response()
}

/// Counts a request whose client-IP header gave no address (`problem` is a fixed name).
pub fn client_ip_header_unusable(problem: &'static str) {
    counter!(CLIENT_IP_HEADER_UNUSABLE, "problem" => problem).increment(1);
}

/// Counts a connection the server closed on its own (`reason` is a fixed name).
pub fn connection_closed(reason: &'static str) {
    counter!(CONNECTIONS_CLOSED, "reason" => reason).increment(1);
}

/// Counts a request refused by the rate limit `limit` (a fixed, low-cardinality name).
pub fn rate_limited(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// Handles of the metrics the hot paths feed, registered once per label set.
///
/// Registering (`counter!` and the like) builds the key, hashes it and looks it up in the recorder's registry on
/// every call; a request would do that five times. Label sets are few (routes are templates, statuses are
/// numbers, the rest are fixed names), so each is registered on first use and its handle kept.
struct Handles<K, H> {
    map: RwLock<HashMap<K, H>>,
}

impl<K: Eq + Hash, H: Clone> Handles<K, H> {
    fn new() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }

    /// The handle for `key`, registered with `register` the first time.
    fn get<Q>(&self, key: &Q, register: impl FnOnce() -> (K, H)) -> H
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some(h) = self.map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return h.clone();
        }
        let (key, handle) = register();
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert(handle)
            .clone()
    }
}

/// Counts a signed token.
pub fn token_minted(kind: TokenKind, scheme: &'static str) {
    static HANDLES: LazyLock<Handles<(TokenKind, &'static str), Counter>> = LazyLock::new(Handles::new);
    HANDLES
        .get(&(kind, scheme), || {
            let label = match kind {
                TokenKind::Access => "access",
                TokenKind::Refresh => "refresh",
            };
            (
                (kind, scheme),
                counter!(TOKENS_MINTED, "kind" => label, "scheme" => scheme),
            )
        })
        .increment(1);
}

/// Counts a successful refresh.
pub fn token_refreshed(scheme: &'static str) {
    static HANDLES: LazyLock<Handles<&'static str, Counter>> = LazyLock::new(Handles::new);
    HANDLES
        .get(scheme, || {
            (scheme, counter!(TOKENS_REFRESHED, "scheme" => scheme))
        })
        .increment(1);
}

/// Counts a stored revocation (`selector` is its fixed name).
pub fn revocation_created(selector: &'static str) {
    counter!(REVOCATIONS_CREATED, "selector" => selector).increment(1);
}

/// Counts a queued webhook event.
pub fn webhook_queued(event_type: &'static str) {
    counter!(WEBHOOKS_QUEUED, "event_type" => event_type).increment(1);
}

/// Counts a delivered webhook event and its latency.
pub fn webhook_delivered(event_type: &'static str, latency: Duration) {
    counter!(WEBHOOKS_DELIVERED, "event_type" => event_type).increment(1);
    histogram!(WEBHOOK_LATENCY).record(latency.as_secs_f64());
}

/// Counts a rescheduled webhook event.
pub fn webhook_retried(event_type: &'static str) {
    counter!(WEBHOOKS_RETRIED, "event_type" => event_type).increment(1);
}

/// Counts a webhook event given up.
pub fn webhook_failed(event_type: &'static str) {
    counter!(WEBHOOKS_FAILED, "event_type" => event_type).increment(1);
}

/// Counts a failed post to one URL (`reason` is a fixed name).
pub fn webhook_attempt_failed(reason: &'static str) {
    counter!(WEBHOOK_ATTEMPTS_FAILED, "reason" => reason).increment(1);
}

/// Counts an introspection (`outcome` is a fixed name).
pub fn token_introspected(outcome: &'static str) {
    counter!(INTROSPECTIONS, "outcome" => outcome).increment(1);
}

/// Counts an answer of the revocation feed.
pub fn revocation_feed_answered(delivered: bool) {
    let outcome = if delivered { "delivered" } else { "empty" };
    counter!(REVOCATION_FEED, "outcome" => outcome).increment(1);
}

/// Counts a refused refresh; `reason` is a `TokenError::reason()`, `room_deleted`, `api_key_revoked` or
/// `revoked`.
pub fn token_rejected(reason: &'static str) {
    counter!(TOKENS_REJECTED, "reason" => reason).increment(1);
}

/// Records one answered request.
pub(crate) fn http_request(method: &'static str, route: &str, status: StatusCode, latency: Duration) {
    /// By route, then by method and status: few of each.
    type ByRoute = Handles<Box<str>, Arc<Handles<(&'static str, u16), (Counter, Histogram)>>>;
    static HANDLES: LazyLock<ByRoute> = LazyLock::new(Handles::new);
    let by_status = HANDLES.get(route, || (route.into(), Arc::new(Handles::new())));
    let (count, duration) = by_status.get(&(method, status.as_u16()), || {
        let (route, status_label) = (route.to_owned(), status.as_str().to_owned());
        let counter = counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status_label.clone());
        let histogram = histogram!(HTTP_DURATION, "method" => method, "route" => route, "status" => status_label);
        ((method, status.as_u16()), (counter, histogram))
    });
    count.increment(1);
    duration.record(latency.as_secs_f64());
}

/// Records one store call that started at `start`.
pub(crate) fn store_call<T>(operation: &'static str, start: Instant, result: &Result<T, StoreError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(StoreError::NotFound) => "not_found",
        Err(StoreError::Conflict(_)) => "conflict",
        Err(StoreError::LimitReached(_)) => "limit_reached",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(StoreError::Config(_) | StoreError::Other(_)) => "error",
    };
    static HANDLES: LazyLock<Handles<(&'static str, &'static str), Histogram>> = LazyLock::new(Handles::new);
    HANDLES
        .get(&(operation, outcome), || {
            (
                (operation, outcome),
                histogram!(STORE_DURATION, "operation" => operation, "outcome" => outcome),
            )
        })
        .record(start.elapsed().as_secs_f64());
}
