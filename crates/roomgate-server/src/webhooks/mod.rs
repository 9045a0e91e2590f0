//! Webhooks: the live room's events (`video.room.session.started`/`ended`, `video.room.participant.joined`/
//! `left`) delivered to each room's `webhook_event_url` in Telnyx's envelope, signed as Telnyx signs them
//! (`telnyx-signature-ed25519`: base64 of the Ed25519 signature of `"<telnyx-timestamp>|<body>"`).
//!
//! The events come from the store's outbox, written in the transaction of the change they report, so they
//! survive a crash; every replica runs a [`deliver`] loop that claims due events (a room's oldest pending one
//! only, so each room's events arrive in order and one replica delivers each), posts them, and settles them:
//! delivered on a 2xx, else retried with exponential backoff and jitter, trying the failover URL when the primary
//! fails, until [`WebhookConfig::give_up_after`]. At least once: a replica that dies mid-delivery leaves its claim
//! to expire, and another sends the event again with the same `id`.
pub mod guard;

use std::time::Duration;

use base64::Engine as _;
use roomgate_store::{
    SigningKeyRecord, Store, StoreError, WebhookEventRecord, WebhookEventType, WebhookSettlement,
};
use roomgate_token::SigningKey;
use serde_json::{json, Value};
use tokio::{sync::Notify, task::JoinSet};

use crate::{
    keys::{new_record, sealing, KeyError, MasterKey},
    observability::metrics,
    timefmt, AppState,
};

/// Webhook delivery settings.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Deliver to loopback, private, link-local and reserved addresses too (tests, local development).
    pub allow_private_targets: bool,
    /// Each attempt's time limit when the room sets no `webhook_timeout_secs`.
    pub default_timeout: Duration,
    /// The first retry's delay; each next one doubles, up to [`Self::max_retry_delay`], each with jitter (a
    /// random half to all of it).
    pub first_retry_delay: Duration,
    /// The longest delay between two attempts.
    pub max_retry_delay: Duration,
    /// An event not delivered this long after it occurred is given up (and counted).
    pub give_up_after: Duration,
    /// How often a replica looks for due events it was not told of (retries, other replicas' events).
    pub poll_interval: Duration,
    /// Deliveries one replica runs at once.
    pub concurrency: usize,
    /// How long delivered and given-up events are kept, for operators to inspect.
    pub keep_settled: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            default_timeout: Duration::from_secs(10),
            first_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(600),
            give_up_after: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
            concurrency: 32,
            keep_settled: Duration::from_secs(24 * 3600),
        }
    }
}

/// The key that signs deliveries. `Debug` shows its public half only.
pub struct WebhookKey {
    key: SigningKey,
    public_base64: String,
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookKey")
            .field("public_key", &self.public_base64)
            .finish_non_exhaustive()
    }
}

impl WebhookKey {
    /// The stored key, or a new one stored now (sealed by `master` when set); every replica gets the same.
    pub async fn load_or_create(
        store: &dyn Store,
        master: Option<&MasterKey>,
        now_secs: i64,
    ) -> Result<Self, KeyError> {
        let new = new_record(&SigningKey::generate(), master, now_secs, now_secs);
        let record = store.webhook_key(&new).await?;
        if master.is_some() && !sealing::is_sealed(&record.private_key) {
            tracing::warn!(kid = %record.kid, "the webhook signing key is stored unencrypted");
        }
        Self::from_record(&record, master)
    }

    fn from_record(record: &SigningKeyRecord, master: Option<&MasterKey>) -> Result<Self, KeyError> {
        let key = SigningKey::from_seed(&sealing::open(master, &record.kid, &record.private_key)?);
        if key.kid() != record.kid || key.verification_key().as_bytes().as_slice() != record.public_key {
            return Err(KeyError::Mismatch(record.kid.clone()));
        }
        let public_base64 =
            base64::engine::general_purpose::STANDARD.encode(key.verification_key().as_bytes());
        Ok(Self { key, public_base64 })
    }

    /// The public key, base64 (standard, padded): what receivers verify with (the SDKs' `public_key`).
    pub fn public_base64(&self) -> &str {
        &self.public_base64
    }

    /// `telnyx-signature-ed25519` for a body sent at `timestamp` (Unix seconds).
    pub fn signature(&self, timestamp: i64, body: &[u8]) -> String {
        let signed = [timestamp.to_string().as_bytes(), b"|", body].concat();
        base64::engine::general_purpose::STANDARD.encode(self.key.sign_message(&signed))
    }
}

/// Wakes this replica's delivery loop when it queued events.
#[derive(Debug, Default)]
pub struct Wake(Notify);

impl Wake {
    /// Counts events a change queued and wakes the loop.
    pub fn queued(&self, events: &[WebhookEventType]) {
        if events.is_empty() {
            return;
        }
        for e in events {
            metrics::webhook_queued(e.as_str());
        }
        self.0.notify_one();
    }
}

/// The event's `payload`, as Telnyx's room events carry it.
fn payload(e: &WebhookEventRecord) -> Value {
    let mut p = json!({"room_id": e.room_id, "session_id": e.session_id});
    if let Some(id) = e.participant_id {
        p["participant_id"] = json!(id);
        p["context"] = json!(e.context);
    }
    if let Some(secs) = e.duration_secs {
        p["duration_secs"] = json!(secs);
    }
    p
}

/// The body of one attempt at `url`.
pub fn envelope(e: &WebhookEventRecord, url: &str) -> Vec<u8> {
    let body = json!({
        "data": {
            "event_type": e.event_type.as_str(),
            "id": e.id,
            "occurred_at": timefmt::micros_rfc3339(e.occurred_at),
            "payload": payload(e),
            "record_type": "event",
        },
        "meta": {"attempt": e.attempts, "delivered_to": url},
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Why an attempt at one URL failed (a fixed label for the metrics, and a line for operators).
struct Failure {
    reason: &'static str,
    detail: String,
}

/// The HTTP client deliveries use: the guarded resolver, no redirects (a 3xx is a failure), no proxy from the
/// environment.
pub fn client(config: &WebhookConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(std::sync::Arc::new(guard::GuardedResolver {
            allow_private: config.allow_private_targets,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("roomgate-webhooks/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("the webhook HTTP client builds")
}

/// Whether `err` (or what caused it) is the guard's refusal.
fn refused_by_guard(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.is::<guard::RefusedTarget>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// One POST of the event to `url`.
async fn attempt(
    app: &AppState,
    client: &reqwest::Client,
    e: &WebhookEventRecord,
    url: &str,
) -> Result<(), Failure> {
    let config = &app.config().webhooks;
    let parsed = reqwest::Url::parse(url).map_err(|_| Failure {
        reason: "invalid_url",
        detail: "the URL does not parse".into(),
    })?;
    if !config.allow_private_targets {
        if let Some(ip) = parsed.host_str().and_then(guard::literal) {
            if !guard::is_public(ip) {
                return Err(Failure {
                    reason: "refused_target",
                    detail: guard::RefusedTarget { host: ip.to_string() }.to_string(),
                });
            }
        }
    }
    let timeout = e
        .timeout_secs
        .and_then(|s| u64::try_from(s).ok())
        .map_or(config.default_timeout, Duration::from_secs);
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let body = envelope(e, url);
    let timestamp = app.now().unix_timestamp();
    let signature = app.webhook_key().signature(timestamp, &body);
    let sent = client
        .post(parsed)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("telnyx-signature-ed25519", signature)
        .header("telnyx-timestamp", timestamp.to_string())
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(Failure {
            reason: "status",
            detail: format!("answered {}", resp.status().as_u16()),
        }),
        Err(err) if refused_by_guard(&err) => Err(Failure {
            reason: "refused_target",
            detail: format!("{host} refused: its name resolves only to addresses that are not public"),
        }),
        Err(err) if err.is_timeout() => Err(Failure {
            reason: "timeout",
            detail: format!("no answer within {} s", timeout.as_secs()),
        }),
        Err(err) if err.is_connect() => Err(Failure {
            reason: "connect",
            detail: "could not connect".into(),
        }),
        Err(_) => Err(Failure {
            reason: "error",
            detail: "the request failed".into(),
        }),
    }
}

/// The delay before attempt `attempts + 1`: doubling from the first, capped, then a random half to all of it.
fn retry_delay(config: &WebhookConfig, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(30);
    let full = config
        .first_retry_delay
        .saturating_mul(1 << doublings)
        .min(config.max_retry_delay);
    let mut r = [0u8; 2];
    let fraction = match getrandom::getrandom(&mut r) {
        Ok(()) => f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    full.mul_f64(0.5 + 0.5 * fraction)
}

/// Delivers one claimed event: the primary URL, then the failover URL if the primary failed; settles it.
async fn deliver_one(app: AppState, client: reqwest::Client, e: WebhookEventRecord) {
    let kind = e.event_type.as_str();
    let mut last = None;
    for url in [e.url.as_deref(), e.failover_url.as_deref()]
        .into_iter()
        .flatten()
    {
        match attempt(&app, &client, &e, url).await {
            Ok(()) => {
                last = None;
                break;
            }
            Err(f) => {
                metrics::webhook_attempt_failed(f.reason);
                tracing::warn!(
                    event = %e.id, event_type = kind, room = %e.room_id, attempt = e.attempts,
                    reason = f.reason, "webhook attempt failed: {}", f.detail
                );
                last = Some(f.detail);
            }
        }
    }
    let now = timefmt::unix_micros(app.now());
    let config = &app.config().webhooks;
    let how = match &last {
        None => {
            let latency = Duration::from_micros(u64::try_from(now - e.occurred_at).unwrap_or(0));
            metrics::webhook_delivered(kind, latency);
            WebhookSettlement::Delivered
        }
        Some(_) => {
            let delay = retry_delay(config, e.attempts);
            let at = now + i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 2);
            let horizon =
                e.occurred_at + i64::try_from(config.give_up_after.as_micros()).unwrap_or(i64::MAX / 2);
            if at > horizon {
                metrics::webhook_failed(kind);
                tracing::error!(
                    event = %e.id, event_type = kind, room = %e.room_id, attempts = e.attempts,
                    "webhook given up: not delivered within {} s of the event",
                    config.give_up_after.as_secs()
                );
                WebhookSettlement::Failed
            } else {
                metrics::webhook_retried(kind);
                WebhookSettlement::Retry(at)
            }
        }
    };
    match app
        .store()
        .settle_webhook_event(e.seq, &how, now, last.as_deref())
        .await
    {
        Ok(()) => {}
        // Pruned meanwhile (it cannot be: it is not settled), or the store failed: the claim expires and the
        // event is sent again.
        Err(StoreError::NotFound) => {}
        Err(err) => tracing::warn!(error = %err, event = %e.id, "recording a webhook attempt failed"),
    }
}

/// How long a graceful stop waits for deliveries in flight (bounded by their timeouts) before leaving them to
/// be sent again once their claims expire.
pub const DRAIN: Duration = Duration::from_secs(5);

/// This replica's delivery loop (see the module's documentation); when the server starts stopping, it claims
/// nothing more and returns once the deliveries in flight are settled (at most [`DRAIN`]).
pub async fn deliver(app: AppState) {
    let config = app.config().webhooks.clone();
    let client = client(&config);
    let wake = app.webhook_wake();
    let mut stopping = app.stopping();
    let mut running: JoinSet<()> = JoinSet::new();
    while !*stopping.borrow() {
        while running.try_join_next().is_some() {}
        let free = config.concurrency.saturating_sub(running.len());
        let mut claimed = 0;
        if free > 0 {
            let now = timefmt::unix_micros(app.now());
            match app.store().claim_webhook_events(now, free as u32).await {
                Ok(events) => {
                    claimed = events.len();
                    for e in events {
                        running.spawn(deliver_one(app.clone(), client.clone(), e));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "claiming webhook events failed"),
            }
        }
        // A full batch means there may be more due: the next delivery to end starts the next claim.
        let poll = if claimed > 0 && claimed == free {
            Duration::from_secs(3600)
        } else {
            config.poll_interval
        };
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = stopping.changed() => {}
        }
    }
    let in_flight = running.len();
    let drained = tokio::time::timeout(DRAIN, async { while running.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            in_flight,
            "webhook deliveries still in flight at shutdown: they are sent again once their claims expire"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_key_debugs_and_signs_without_showing_its_private_half() {
        let seed = [7u8; 32];
        let record = new_record(&SigningKey::from_seed(&seed), None, 0, 0);
        let key = WebhookKey::from_record(&record, None).unwrap();
        let shown = format!("{key:?} {record:?}");
        assert!(shown.contains(key.public_base64()), "{shown}");
        for secret in [
            base64::engine::general_purpose::STANDARD.encode(seed),
            hex::encode(seed),
            format!("{:?}", &seed[..]),
        ] {
            assert!(!shown.contains(&secret), "{shown}");
        }
        // Verified independently: the signature of "<timestamp>|<body>" under the public key.
        let signature = base64::engine::general_purpose::STANDARD
            .decode(key.signature(1_700_000_000, b"{}"))
            .unwrap();
        let public =
            ed25519_dalek::VerifyingKey::from_bytes(&record.public_key.clone().try_into().unwrap()).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        assert!(public.verify_strict(b"1700000000|{}", &signature).is_ok());
        assert!(public.verify_strict(b"1700000001|{}", &signature).is_err());
    }

    #[test]
    fn retry_delays_double_with_jitter_up_to_the_cap() {
        let config = WebhookConfig {
            first_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(600),
            ..WebhookConfig::default()
        };
        for (attempts, full) in [(1, 5), (2, 10), (3, 20), (8, 600), (40, 600)] {
            for _ in 0..50 {
                let d = retry_delay(&config, attempts);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?}");
            }
        }
    }
}
