//! Polling the feed: one request, its page applied to the set, and the task that long-polls forever.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError, RwLock,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use reqwest::{
    header::{HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER},
    StatusCode, Url,
};
use roomgate_token::Claims;
use serde::Deserialize;
use tokio::sync::watch;

use super::{
    rule::WireRevocation,
    set::{Full, RevocationSet},
    RevocationStats, MAX_REVOCATIONS_RESPONSE_BYTES,
};
use crate::{
    http::{fetch_error, jittered, read_capped, retry_after},
    FetchError, VerifyError,
};

/// Revocations asked for per poll (the feed's maximum).
pub(crate) const PAGE_LIMIT: usize = 1000;

/// Longest a long poll waits on the server (the feed allows 30 s; proxies often cut idle requests at 30 s).
const MAX_WAIT: Duration = Duration::from_secs(25);

/// Fewest time between the starts of two long polls, should a feed answer at once with nothing new.
const MIN_POLL_GAP: Duration = Duration::from_millis(200);

/// First pause after a failed poll; it doubles up to the staleness bound's quarter (1 s..=30 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Longest `retry-after` honoured: a longer one means the verifier stays stale anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Longest `next_cursor` accepted.
const MAX_CURSOR_BYTES: usize = 4096;

/// Everything a feed needs, checked by the builder.
#[derive(Debug)]
pub(crate) struct FeedConfig {
    pub(crate) url: Url,
    /// `Bearer <API key>`, marked sensitive.
    pub(crate) auth: HeaderValue,
    pub(crate) staleness: Duration,
    pub(crate) fail_open: bool,
    pub(crate) max_revocations: usize,
    /// Bounds a request beyond its long-poll wait.
    pub(crate) timeout: Duration,
    /// Seconds a revocation is kept past its `expires_at` (the verifier's leeway).
    pub(crate) grace_secs: i64,
}

/// A feed, what it brought, and how polling it went.
#[derive(Debug)]
pub(crate) struct Feed {
    config: FeedConfig,
    client: reqwest::Client,
    /// How long a long poll asks the server to wait.
    wait: Duration,
    held: RwLock<Held>,
    /// Held for a whole poll, so two polls never share a cursor.
    cursor: tokio::sync::Mutex<Option<String>>,
    polls_ok: AtomicU64,
    polls_failed: AtomicU64,
    last_error: Mutex<Option<VerifyError>>,
    /// Caught-up polls plus failed ones: what a first verification waits for, and `sync` compares.
    outcomes: watch::Sender<u64>,
}

#[derive(Debug)]
struct Held {
    set: RevocationSet,
    /// When the last poll that reached the end of the feed was answered.
    caught_up_at: Option<Instant>,
}

/// How a poll went.
#[derive(Debug)]
enum Polled {
    /// A full page: more may follow at once.
    Full,
    /// The end of the feed was reached.
    CaughtUp,
}

/// A failed poll: why, and how long the server asked us to wait.
#[derive(Debug)]
struct Failure {
    error: VerifyError,
    retry_after: Option<Duration>,
}

impl From<VerifyError> for Failure {
    fn from(error: VerifyError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// A page as the feed sends it; unknown members are ignored.
#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<WireRevocation>,
    meta: Meta,
}

#[derive(Debug, Deserialize)]
struct Meta {
    next_cursor: String,
}

impl Feed {
    pub(crate) fn new(config: FeedConfig) -> Result<Self, VerifyError> {
        let wait = (config.staleness / 2).min(MAX_WAIT).max(Duration::from_secs(1));
        // Whole seconds, as the feed takes them.
        let wait = Duration::from_secs(wait.as_secs());
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roomgate-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VerifyError::RevocationFeed(fetch_error(e)))?;
        Ok(Feed {
            held: RwLock::new(Held {
                set: RevocationSet::new(config.max_revocations),
                caught_up_at: None,
            }),
            config,
            client,
            wait,
            cursor: tokio::sync::Mutex::new(None),
            polls_ok: AtomicU64::new(0),
            polls_failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            outcomes: watch::channel(0).0,
        })
    }

    /// The verify path: revoked, stale (whether or not the verifier fails open), or fine.
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), VerifyError> {
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        // Covered is definitive, stale or not.
        if let Some(id) = held.set.covering(claims) {
            return Err(VerifyError::Revoked { id });
        }
        let since = held.caught_up_at.map(|t| t.elapsed());
        match since {
            Some(age) if age <= self.config.staleness => Ok(()),
            since => Err(VerifyError::RevocationsStale { since }),
        }
    }

    /// Whether to admit tokens while stale.
    pub(crate) fn fails_open(&self) -> bool {
        self.config.fail_open
    }

    /// Whether a poll has caught up or failed yet.
    pub(crate) fn polled(&self) -> bool {
        *self.outcomes.borrow() > 0
    }

    /// Returns once a first poll caught up or failed, or after one poll's timeout.
    pub(crate) async fn first_outcome(&self) {
        let mut outcomes = self.outcomes.subscribe();
        let limit = self.config.timeout + Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, outcomes.wait_for(|n| *n > 0)).await;
    }

    /// Polls (without waiting on the server) until caught up, unless a poll caught up since this was called.
    pub(crate) async fn sync(&self) -> Result<(), VerifyError> {
        let before = self.caught_up_at();
        let mut cursor = self.cursor.lock().await;
        if self.caught_up_at() != before {
            return Ok(());
        }
        // Each full page brings new revocations, or the set fills up: this ends.
        for _ in 0..=self.config.max_revocations.div_ceil(PAGE_LIMIT) {
            match self.poll_locked(&mut cursor, Duration::ZERO).await {
                Ok(Polled::CaughtUp) => return Ok(()),
                Ok(Polled::Full) => {}
                Err(failure) => return Err(failure.error),
            }
        }
        Err(VerifyError::InvalidRevocations(
            "the feed never reached its end".into(),
        ))
    }

    pub(crate) fn stats(&self) -> RevocationStats {
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        RevocationStats {
            held: held.set.len(),
            last_success_age: held.caught_up_at.map(|t| t.elapsed()),
            polls_ok: self.polls_ok.load(Ordering::Relaxed),
            polls_failed: self.polls_failed.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    fn caught_up_at(&self) -> Option<Instant> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .caught_up_at
    }

    async fn poll(&self, wait: Duration) -> Result<Polled, Failure> {
        let mut cursor = self.cursor.lock().await;
        self.poll_locked(&mut cursor, wait).await
    }

    /// One request, its outcome recorded; the cursor advances only past a page that was applied.
    async fn poll_locked(&self, cursor: &mut Option<String>, wait: Duration) -> Result<Polled, Failure> {
        let outcome = self.request(cursor, wait).await;
        let mut last_error = self.last_error.lock().unwrap_or_else(PoisonError::into_inner);
        match &outcome {
            Ok(polled) => {
                self.polls_ok.fetch_add(1, Ordering::Relaxed);
                *last_error = None;
                if matches!(polled, Polled::CaughtUp) {
                    self.outcomes.send_modify(|n| *n += 1);
                }
            }
            Err(failure) => {
                self.polls_failed.fetch_add(1, Ordering::Relaxed);
                *last_error = Some(failure.error.clone());
                self.outcomes.send_modify(|n| *n += 1);
            }
        }
        outcome
    }

    async fn request(&self, cursor: &mut Option<String>, wait: Duration) -> Result<Polled, Failure> {
        let mut url = self.config.url.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(after) = cursor.as_deref() {
                query.append_pair("after", after);
            }
            query.append_pair("wait", &wait.as_secs().to_string());
            query.append_pair("limit", &PAGE_LIMIT.to_string());
        }
        let feed_error = |e: FetchError| VerifyError::RevocationFeed(e);
        let mut response = self
            .client
            .get(url)
            .header(AUTHORIZATION, self.config.auth.clone())
            .header(ACCEPT, "application/json")
            .timeout(wait + self.config.timeout)
            .send()
            .await
            .map_err(|e| feed_error(fetch_error(e)))?;
        // The server decided what to send by now: this is how current the page is.
        let answered = Instant::now();
        let status = response.status();
        if status != StatusCode::OK {
            return Err(Failure {
                error: feed_error(FetchError::Status(status.as_u16())),
                retry_after: (status == StatusCode::TOO_MANY_REQUESTS)
                    .then(|| retry_after(response.headers().get(RETRY_AFTER)))
                    .flatten(),
            });
        }
        let body = read_capped(&mut response, MAX_REVOCATIONS_RESPONSE_BYTES)
            .await
            .map_err(feed_error)?;
        let invalid = |e: String| VerifyError::InvalidRevocations(e);
        let page: Page = serde_json::from_slice(&body).map_err(|e| invalid(e.to_string()))?;
        if page.meta.next_cursor.len() > MAX_CURSOR_BYTES {
            return Err(invalid(format!("next_cursor longer than {MAX_CURSOR_BYTES} bytes")).into());
        }
        let full = page.data.len() >= PAGE_LIMIT;
        let revocations = page
            .data
            .into_iter()
            .map(WireRevocation::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let horizon = unix_now().saturating_sub(self.config.grace_secs);
        {
            let mut held = self.held.write().unwrap_or_else(PoisonError::into_inner);
            held.set
                .apply(revocations, horizon)
                .map_err(|Full| VerifyError::TooManyRevocations {
                    limit: self.config.max_revocations,
                })?;
            if !full {
                held.caught_up_at = Some(answered);
            }
        }
        *cursor = Some(page.meta.next_cursor);
        Ok(if full { Polled::Full } else { Polled::CaughtUp })
    }
}

/// The feed's task: long-poll, page through, back off on failures; ends when `stop`'s sender is dropped.
pub(crate) async fn follow(feed: std::sync::Arc<Feed>, mut stop: watch::Receiver<()>) {
    let max_backoff = (feed.config.staleness / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut backoff = FIRST_BACKOFF;
    // The first poll, and any after a failure or a full page, asks for what is there without waiting.
    let mut wait = Duration::ZERO;
    loop {
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = stop.changed() => return,
            outcome = feed.poll(wait) => outcome,
        };
        let pause = match outcome {
            Ok(polled) => {
                backoff = FIRST_BACKOFF;
                match polled {
                    Polled::Full => {
                        wait = Duration::ZERO;
                        Duration::ZERO
                    }
                    Polled::CaughtUp => {
                        wait = feed.wait;
                        MIN_POLL_GAP.saturating_sub(started.elapsed())
                    }
                }
            }
            Err(failure) => {
                wait = Duration::ZERO;
                let pause = jittered(backoff);
                backoff = (backoff * 2).min(max_backoff);
                failure
                    .retry_after
                    .map_or(pause, |r| r.min(MAX_RETRY_AFTER).max(pause))
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Unix seconds now: the one read of the wall clock, to drop expired revocations, off the verify path.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
