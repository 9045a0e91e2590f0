//! Following roomgate's revocation feed (`GET /v2/revocations`, the `fetch` feature), so that a revoked
//! token is refused within a staleness bound.
//!
//! A background task long-polls the feed and keeps the live revocations in memory; a verification only
//! reads them (a lock held for a few hash lookups). The task starts when the verifier is built inside a tokio
//! runtime, otherwise on its first use in one, runs on that runtime, and ends when the last clone of the
//! [`Verifier`] is dropped.

mod follow;
pub(crate) mod rule;
mod set;

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use roomgate_token::Claims;

use crate::{fetch::Endpoint, http::ApiKey, Verifier, VerifierBuilder, VerifyError};
use follow::Feed;

/// How old the last caught-up poll of the feed may be before tokens are refused, unless configured otherwise.
pub const DEFAULT_REVOCATION_STALENESS: Duration = Duration::from_secs(10);

/// The least [`VerifierBuilder::revocation_staleness`] accepts: below it, a hiccup of roomgate's would refuse
/// every join.
pub const MIN_REVOCATION_STALENESS: Duration = Duration::from_secs(2);

/// The most [`VerifierBuilder::revocation_staleness`] accepts.
pub const MAX_REVOCATION_STALENESS: Duration = Duration::from_secs(60 * 60);

/// How many live revocations a verifier keeps unless configured otherwise.
pub const DEFAULT_MAX_REVOCATIONS: usize = 100_000;

/// Largest revocation feed response accepted (a page of up to 1000 revocations).
pub const MAX_REVOCATIONS_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What the feed has brought so far, for the embedder's metrics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RevocationStats {
    /// Revocations held now.
    pub held: usize,
    /// How long ago a poll last caught up with the feed; `None` if none has.
    pub last_success_age: Option<Duration>,
    /// Polls answered with a usable page.
    pub polls_ok: u64,
    /// Polls that failed: unreachable, a status other than 200, a malformed or oversized page.
    pub polls_failed: u64,
    /// Why the last poll failed, if it did.
    pub last_error: Option<VerifyError>,
}

/// The builder's revocation settings.
#[derive(Clone, Debug)]
pub(crate) struct RevocationOptions {
    feed: Option<(String, ApiKey)>,
    staleness: Duration,
    fail_open: bool,
    max_revocations: usize,
}

impl Default for RevocationOptions {
    fn default() -> Self {
        RevocationOptions {
            feed: None,
            staleness: DEFAULT_REVOCATION_STALENESS,
            fail_open: false,
            max_revocations: DEFAULT_MAX_REVOCATIONS,
        }
    }
}

impl VerifierBuilder {
    /// Follow roomgate's revocation feed at this URL (`https://HOST/v2/revocations`; `http` on loopback or with
    /// [`Self::allow_http`]) with the API key of the account whose rooms are served: a token covered by a
    /// revocation fails with [`VerifyError::Revoked`], and every token fails with
    /// [`VerifyError::RevocationsStale`] while the feed has not been read within the staleness bound.
    pub fn revocations(mut self, feed_url: &str, api_key: &str) -> Self {
        self.revocations.feed = Some((feed_url.to_owned(), ApiKey(api_key.to_owned())));
        self
    }

    /// Refuse tokens once the feed was last read longer ago than this (default 10 s, 2 s..=1 h). The feed is
    /// long-polled for half of it (at most 25 s), so a revocation usually arrives within a second.
    pub fn revocation_staleness(mut self, staleness: Duration) -> Self {
        self.revocations.staleness = staleness;
        self
    }

    /// Accept tokens (still refusing those the revocations held cover) while the feed is stale, instead of
    /// refusing them all (default false: a revoked participant could rejoin during an outage of roomgate).
    pub fn fail_open_on_stale_revocations(mut self, fail_open: bool) -> Self {
        self.revocations.fail_open = fail_open;
        self
    }

    /// Keep at most this many live revocations (default 100 000); a feed holding more is an error, and the
    /// verifier goes stale rather than forget one.
    pub fn max_revocations(mut self, max: usize) -> Self {
        self.revocations.max_revocations = max;
        self
    }

    /// The follower of the configured feed, if there is one, with its settings checked.
    pub(crate) fn revocation_follower(&self, leeway: Duration) -> Result<Option<Follower>, VerifyError> {
        let options = &self.revocations;
        let Some((url, key)) = &options.feed else {
            return Ok(None);
        };
        let url = self.checked_url(url, Endpoint::Revocations)?;
        if !(MIN_REVOCATION_STALENESS..=MAX_REVOCATION_STALENESS).contains(&options.staleness) {
            return Err(VerifyError::Config(
                "revocation_staleness must be between 2 seconds and 1 hour",
            ));
        }
        if options.max_revocations == 0 {
            return Err(VerifyError::Config("max_revocations must be positive"));
        }
        let auth = key
            .bearer()
            .ok_or(VerifyError::Config("the API key is not a valid header value"))?;
        let feed = Feed::new(follow::FeedConfig {
            url,
            auth,
            staleness: options.staleness,
            fail_open: options.fail_open,
            max_revocations: options.max_revocations,
            timeout: self.fetch_timeout(),
            // Tokens pass up to `leeway` past their `exp`: keep their revocations as long.
            grace_secs: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
        })?;
        let follower = Follower {
            feed: Arc::new(feed),
            task: Mutex::new(None),
            stop: tokio::sync::watch::channel(()).0,
        };
        follower.ensure_running();
        Ok(Some(follower))
    }
}

/// A verifier's feed and its background task.
#[derive(Debug)]
pub(crate) struct Follower {
    feed: Arc<Feed>,
    /// The background task, once spawned.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Dropped with the verifier, which ends the task.
    stop: tokio::sync::watch::Sender<()>,
}

impl Follower {
    /// Spawns the task on the current runtime unless it runs already, or there is no runtime. A task that
    /// ended (its runtime shut down) is spawned again here.
    fn ensure_running(&self) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let feed = Arc::clone(&self.feed);
            *task = Some(runtime.spawn(follow::follow(feed, self.stop.subscribe())));
        }
    }

    /// [`VerifyError::Revoked`] if a held revocation covers `claims`, else [`VerifyError::RevocationsStale`] if
    /// the feed is stale and the verifier fails closed.
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), VerifyError> {
        match self.feed.check(claims) {
            Err(VerifyError::RevocationsStale { since }) => {
                // Stale because nothing polls (built outside a runtime, or its runtime went away)? Start.
                self.ensure_running();
                if self.feed.fails_open() {
                    return Ok(());
                }
                Err(VerifyError::RevocationsStale { since })
            }
            checked => checked,
        }
    }

    /// Like [`Self::check`], but first waits (up to one poll's timeout) for the first poll of a new verifier.
    pub(crate) async fn check_async(&self, claims: &Claims) -> Result<(), VerifyError> {
        if !self.feed.polled() {
            self.ensure_running();
            self.feed.first_outcome().await;
        }
        self.check(claims)
    }
}

impl Verifier {
    /// Poll the revocation feed now until caught up (after any poll under way), e.g. at startup to fail fast;
    /// `Ok` without a feed configured.
    pub async fn sync_revocations(&self) -> Result<(), VerifyError> {
        match self.revocations() {
            Some(follower) => {
                follower.ensure_running();
                follower.feed.sync().await
            }
            None => Ok(()),
        }
    }

    /// What the revocation feed has brought so far; `None` without a feed configured.
    pub fn revocation_stats(&self) -> Option<RevocationStats> {
        self.revocations().map(|f| f.feed.stats())
    }
}

/// Claims to test the covering rule and the set with.
#[cfg(test)]
pub(crate) mod testing {
    use roomgate_token::{
        Claims, Participant, Permissions, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
    };
    use uuid::Uuid;

    pub(crate) const ROOM: Uuid = Uuid::from_u128(7);
    pub(crate) const IAT: i64 = 1_800_000_000;

    /// An access token's claims for [`ROOM`] issued at [`IAT`]: version 2 for `identity`, version 1 without.
    pub(crate) fn claims(identity: Option<&str>) -> Claims {
        let participant = identity.map(|id| Participant {
            identity: Some(id.into()),
            name: None,
            metadata: None,
            permissions: Permissions::default(),
        });
        let spec = TokenSpec {
            kind: TokenKind::Access,
            room_id: ROOM,
            subjects: vec!["telnyx:users:1".into()],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: participant.as_ref(),
        };
        Claims::mint(&spec, IAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = "https://roomgate.example/v2/revocations";
    const KEY: &str = "rg_live_secret_0123456789";

    fn built(builder: VerifierBuilder) -> Result<Verifier, VerifyError> {
        builder.jwks_url("https://roomgate.example/.well-known/jwks.json")
    }

    #[test]
    fn staleness_is_bounded_and_the_feed_url_follows_the_jwks_rule() {
        let feed = || Verifier::builder().revocations(FEED, KEY);
        for bad in [Duration::from_millis(1999), Duration::from_secs(3601)] {
            let err = built(feed().revocation_staleness(bad)).unwrap_err();
            assert!(matches!(err, VerifyError::Config(_)), "{bad:?}");
        }
        for good in [MIN_REVOCATION_STALENESS, MAX_REVOCATION_STALENESS] {
            assert!(built(feed().revocation_staleness(good)).is_ok(), "{good:?}");
        }
        assert!(matches!(
            built(feed().max_revocations(0)),
            Err(VerifyError::Config(_))
        ));
        let plain = || Verifier::builder().revocations("http://roomgate.example/v2/revocations", KEY);
        assert!(matches!(built(plain()), Err(VerifyError::Config(_))));
        assert!(built(plain().allow_http(true)).is_ok());
        let local = Verifier::builder().revocations("http://127.0.0.1:9/v2/revocations", KEY);
        assert!(built(local).is_ok());
        for bad in ["ftp://roomgate.example/feed", "not a url"] {
            let err = built(Verifier::builder().revocations(bad, KEY)).unwrap_err();
            assert!(matches!(err, VerifyError::Config(_)), "{bad}");
        }
        let err = built(Verifier::builder().revocations(FEED, "bad\nkey")).unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)));
    }

    #[test]
    fn the_api_key_never_shows_in_debug_or_config_errors() {
        let builder = Verifier::builder().revocations(FEED, KEY);
        assert!(!format!("{builder:?}").contains(KEY), "{builder:?}");
        let verifier = built(builder).expect("verifier");
        assert!(!format!("{verifier:?}").contains(KEY), "{verifier:?}");
        assert!(!format!("{:?}", verifier.revocation_stats()).contains(KEY));
        let bad = format!("{}\n", KEY);
        let err = built(Verifier::builder().revocations(FEED, &bad)).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(KEY));
    }

    #[test]
    fn without_a_feed_there_are_no_stats() {
        let verifier = built(Verifier::builder()).expect("verifier");
        assert!(verifier.revocation_stats().is_none());
    }
}
