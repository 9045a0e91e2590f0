//! Fetching, caching and refreshing the JWKS from a URL (the `fetch` feature).

use std::{sync::Arc, time::Duration, time::Instant};

use arc_swap::ArcSwap;
use reqwest::header::{HeaderMap, ACCEPT, CACHE_CONTROL};
use roomgate_token::{KeySet, TokenError};

use crate::{
    http::{fetch_error, is_loopback, read_capped},
    verifier::{key_set, parse_jwks, Snapshot},
    FetchError, Verifier, VerifierBuilder, VerifyError,
};

/// Fewest time between two fetches unless configured otherwise, so forged `kid`s cannot hammer roomgate.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The least [`VerifierBuilder::min_refresh_interval`] accepts: with none, every token naming an unknown `kid`
/// would be a fetch, and forged tokens would aim every verifier at roomgate.
pub const MIN_REFRESH_INTERVAL_FLOOR: Duration = Duration::from_secs(1);

/// How long past their cache lifetime fetched keys are still used while fetches fail, unless configured
/// otherwise: long enough to ride out a restart or a short outage of roomgate, as long as the longest access
/// token lives.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(60 * 60);

/// The most [`VerifierBuilder::max_stale`] accepts.
pub const MAX_STALE_LIMIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Largest JWKS response accepted unless configured otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Longest a fetch (connect, headers and body) may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long fetched keys are used when the response has no `Cache-Control: max-age`.
pub const DEFAULT_CACHE_LIFETIME: Duration = Duration::from_secs(300);

/// Upper bound on a response's `max-age`, so keys are re-read at least daily.
pub const MAX_CACHE_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How and how often the JWKS is fetched.
#[derive(Clone, Debug)]
pub(crate) struct FetchOptions {
    min_refresh_interval: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    max_stale: Duration,
    allow_http: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_stale: DEFAULT_MAX_STALE,
            allow_http: false,
        }
    }
}

impl VerifierBuilder {
    /// Never fetch twice within this interval, whatever the trigger (default 30 s, at least 1 s, at most a
    /// day).
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.fetch.min_refresh_interval = interval;
        self
    }

    /// Keep verifying with fetched keys for this long after their cache lifetime ends while fetches fail
    /// (default 1 h, at most 7 days); after that every verification fails with [`VerifyError::StaleKeys`]
    /// until a fetch succeeds, rather than trusting keys roomgate may have withdrawn.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.fetch.max_stale = max_stale;
        self
    }

    /// Accept a plain `http://` JWKS URL on a host that is not loopback (default: refused, since whoever is on
    /// the path could publish their own keys). Loopback (`127.0.0.0/8`, `::1`, `localhost`) is always allowed.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.fetch.allow_http = allow;
        self
    }

    /// Give up on a fetch after this long, body included (default 5 s); a revocation poll gets this long on top
    /// of its long-poll wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.fetch.timeout = timeout;
        self
    }

    /// Refuse JWKS responses larger than this (default 64 KiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.fetch.max_response_bytes = bytes;
        self
    }

    /// Trust the keys published at this `https` URL (`http` on loopback, or with [`Self::allow_http`]),
    /// fetched on first use and cached (redirects are refused).
    pub fn jwks_url(self, url: &str) -> Result<Verifier, VerifyError> {
        let url = self.checked_url(url, Endpoint::Jwks)?;
        if self.fetch.min_refresh_interval < MIN_REFRESH_INTERVAL_FLOOR {
            return Err(VerifyError::Config(
                "min_refresh_interval must be at least 1 second",
            ));
        }
        if self.fetch.max_stale > MAX_STALE_LIMIT {
            return Err(VerifyError::Config("max_stale must be at most 7 days"));
        }
        if self.fetch.timeout.is_zero() {
            return Err(VerifyError::Config("timeout must be positive"));
        }
        if self.fetch.max_response_bytes == 0 {
            return Err(VerifyError::Config("max_response_bytes must be positive"));
        }
        if self.fetch.min_refresh_interval > MAX_CACHE_LIFETIME {
            return Err(VerifyError::Config("min_refresh_interval must be at most a day"));
        }
        let client = reqwest::Client::builder()
            .timeout(self.fetch.timeout)
            .connect_timeout(self.fetch.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roomgate-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(transport)?;
        let remote = Remote {
            client,
            url,
            options: self.fetch.clone(),
            state: Arc::new(tokio::sync::Mutex::new(FetchState::default())),
        };
        self.finish_remote(remote)
    }
}

/// Which URL a setting names, for its error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Endpoint {
    Jwks,
    Revocations,
}

impl VerifierBuilder {
    /// `url` parsed, if it is `https`, or `http` on loopback or with [`Self::allow_http`]: whoever is on the path
    /// of plain HTTP could publish their own keys, or hide revocations.
    pub(crate) fn checked_url(&self, url: &str, endpoint: Endpoint) -> Result<reqwest::Url, VerifyError> {
        let [invalid, not_https, not_http] = match endpoint {
            Endpoint::Jwks => [
                "JWKS URL is not a valid URL",
                "JWKS URL must be https (http only on loopback, or with allow_http(true))",
                "JWKS URL must be http or https",
            ],
            Endpoint::Revocations => [
                "revocation feed URL is not a valid URL",
                "revocation feed URL must be https (http only on loopback, or with allow_http(true))",
                "revocation feed URL must be http or https",
            ],
        };
        let url = reqwest::Url::parse(url).map_err(|_| VerifyError::Config(invalid))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.fetch.allow_http || is_loopback(&url) => Ok(url),
            "http" => Err(VerifyError::Config(not_https)),
            _ => Err(VerifyError::Config(not_http)),
        }
    }

    /// The fetch timeout, which also bounds a revocation poll beyond its long-poll wait.
    pub(crate) fn fetch_timeout(&self) -> Duration {
        self.fetch.timeout
    }
}

impl Verifier {
    /// Default settings, trusting the keys published at this URL (roomgate's `/.well-known/jwks.json`).
    pub fn from_jwks_url(url: &str) -> Result<Self, VerifyError> {
        Self::builder().jwks_url(url)
    }
}

/// A JWKS endpoint and the bookkeeping that rate-limits and coalesces fetches.
#[derive(Debug)]
pub(crate) struct Remote {
    client: reqwest::Client,
    url: reqwest::Url,
    options: FetchOptions,
    /// Held for the whole fetch. Callers that need new keys (none yet, too stale, an unknown `kid`) queue here
    /// and then see the new generation; callers that hold usable keys never wait for it.
    state: Arc<tokio::sync::Mutex<FetchState>>,
}

#[derive(Debug, Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// Replayed while rate-limited and the keys held are unusable.
    last_error: Option<VerifyError>,
}

impl Remote {
    /// Run `check` against fresh-enough keys, refetching once if the token names an unknown `kid`.
    pub(crate) async fn verify<T>(
        self: &Arc<Self>,
        cache: &Arc<ArcSwap<Snapshot>>,
        check: impl Fn(&KeySet) -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        let now = Instant::now();
        let mut snapshot = cache.load_full();
        if snapshot.is_stale(now) {
            if self.usable(&snapshot, now) {
                // Due, but still trusted: verify with these while one fetch runs on its own, instead of making
                // every verification wait up to the fetch timeout.
                self.refresh_in_background(cache, snapshot.generation);
            } else {
                let fetched = self.refresh(cache, snapshot.generation, false).await;
                snapshot = cache.load_full();
                if snapshot.keys.is_empty() {
                    // Never fetched: the fetch's own error says why.
                    fetched?;
                }
                // Fetched once, but not lately: refuse every token rather than trust keys that may be withdrawn.
                self.usable_or_error(&snapshot, Instant::now())?;
            }
        }
        match check(&snapshot.keys) {
            Err(VerifyError::Token(TokenError::UnknownKey)) => {
                if self.refresh(cache, snapshot.generation, false).await? {
                    check(&cache.load_full().keys)
                } else {
                    Err(TokenError::UnknownKey.into())
                }
            }
            other => other,
        }
    }

    /// Whether `snapshot`'s keys may still be used at `at`: there are some, and their cache lifetime ended at
    /// most `max_stale` ago.
    fn usable(&self, snapshot: &Snapshot, at: Instant) -> bool {
        !snapshot.keys.is_empty() && self.usable_or_error(snapshot, at).is_ok()
    }

    /// [`VerifyError::StaleKeys`] if fetched keys outlived their cache lifetime by `max_stale` or more.
    pub(crate) fn usable_or_error(&self, snapshot: &Snapshot, at: Instant) -> Result<(), VerifyError> {
        let Some(fresh_until) = snapshot.fresh_until.filter(|_| !snapshot.keys.is_empty()) else {
            return Ok(()); // fixed keys never go stale; with none there is nothing to distrust
        };
        let stale_for = at.saturating_duration_since(fresh_until);
        if at > fresh_until && stale_for >= self.options.max_stale {
            return Err(VerifyError::StaleKeys { stale_for });
        }
        Ok(())
    }

    /// Fetch unless keys newer than generation `seen` exist or (unless `force`) the last attempt is too
    /// recent. Returns whether newer keys are in `cache` now.
    pub(crate) async fn refresh(
        &self,
        cache: &ArcSwap<Snapshot>,
        seen: u64,
        force: bool,
    ) -> Result<bool, VerifyError> {
        let mut state = self.state.lock().await;
        if let Some(done) = self.needless(&state, cache, seen, force) {
            return done;
        }
        self.fetch_into(&mut state, cache, seen).await
    }

    /// Starts a fetch on the current runtime unless one is under way or not due; never waits.
    fn refresh_in_background(self: &Arc<Self>, cache: &Arc<ArcSwap<Snapshot>>, seen: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(mut state) = Arc::clone(&self.state).try_lock_owned() else {
            return; // a fetch is running (or a caller is about to start one)
        };
        if self.needless(&state, cache, seen, false).is_some() {
            return;
        }
        let (remote, cache) = (Arc::clone(self), Arc::clone(cache));
        runtime.spawn(async move {
            // Its outcome reaches callers through the cache (or, on failure, through `last_error`).
            let _ = remote.fetch_into(&mut state, &cache, seen).await;
        });
    }

    /// `Some(answer)` when no fetch is needed: another one already brought newer keys, or (unless `force`) the
    /// last attempt is within the minimum interval.
    fn needless(
        &self,
        state: &FetchState,
        cache: &ArcSwap<Snapshot>,
        seen: u64,
        force: bool,
    ) -> Option<Result<bool, VerifyError>> {
        let current = cache.load();
        if current.generation != seen {
            // Someone fetched while we waited for the lock.
            return Some(Ok(true));
        }
        let recent = state
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.options.min_refresh_interval);
        if recent && !force {
            return Some(match &state.last_error {
                Some(e) if !self.usable(&current, Instant::now()) => Err(e.clone()),
                _ => Ok(false),
            });
        }
        None
    }

    /// One fetch, its outcome recorded in `state` and, if it brought keys, in `cache`.
    async fn fetch_into(
        &self,
        state: &mut FetchState,
        cache: &ArcSwap<Snapshot>,
        seen: u64,
    ) -> Result<bool, VerifyError> {
        state.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok((keys, lifetime)) => {
                state.last_error = None;
                cache.store(Arc::new(Snapshot {
                    keys,
                    generation: seen + 1,
                    fresh_until: Some(Instant::now() + lifetime),
                }));
                Ok(true)
            }
            Err(e) => {
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// One GET of the JWKS, bounded in time and size: the keys and how long to use them.
    async fn fetch(&self) -> Result<(KeySet, Duration), VerifyError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()).into());
        }
        let lifetime = cache_lifetime(response.headers())
            .unwrap_or(DEFAULT_CACHE_LIFETIME)
            .min(MAX_CACHE_LIFETIME)
            .max(self.options.min_refresh_interval);
        let body = read_capped(&mut response, self.options.max_response_bytes).await?;
        let keys = key_set(&parse_jwks(&body)?)?;
        Ok((keys, lifetime))
    }
}

/// A reqwest failure as a [`VerifyError`], with its causes spelled out.
fn transport(e: reqwest::Error) -> VerifyError {
    fetch_error(e).into()
}

/// The `max-age` of a response's `Cache-Control` (zero for `no-store`/`no-cache`), if it has one.
fn cache_lifetime(headers: &HeaderMap) -> Option<Duration> {
    max_age(
        headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

fn max_age<'a>(values: impl Iterator<Item = &'a str>) -> Option<Duration> {
    let mut found = None;
    for directive in values.flat_map(|v| v.split(',')) {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = directive.strip_prefix("max-age=") {
            if let Ok(secs) = secs.trim_matches('"').parse::<u64>() {
                found = Some(Duration::from_secs(secs));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age_from_cache_control() {
        let secs = |v: &[&str]| max_age(v.iter().copied()).map(|d| d.as_secs());
        assert_eq!(secs(&["public, max-age=300"]), Some(300));
        assert_eq!(secs(&["Max-Age=60"]), Some(60));
        assert_eq!(secs(&["max-age=\"10\""]), Some(10));
        assert_eq!(secs(&["public", "max-age=7"]), Some(7));
        assert_eq!(secs(&["max-age=300, no-cache"]), Some(0));
        assert_eq!(secs(&["no-store"]), Some(0));
        assert_eq!(secs(&["public"]), None);
        assert_eq!(secs(&["max-age=-1"]), None);
        assert_eq!(secs(&["max-age=abc"]), None);
        assert_eq!(secs(&[]), None);
    }

    #[test]
    fn url_and_fetch_settings_are_checked() {
        for bad in [
            "not a url",
            "file:///etc/jwks.json",
            "ftp://example.com/jwks.json",
        ] {
            assert!(
                matches!(Verifier::from_jwks_url(bad), Err(VerifyError::Config(_))),
                "{bad}"
            );
        }
        assert!(Verifier::from_jwks_url("https://roomgate.example/.well-known/jwks.json").is_ok());
        let url = "http://127.0.0.1:1/";
        for bad in [
            Verifier::builder().timeout(Duration::ZERO).jwks_url(url),
            Verifier::builder().max_response_bytes(0).jwks_url(url),
            Verifier::builder()
                .min_refresh_interval(MAX_CACHE_LIFETIME + Duration::from_secs(1))
                .jwks_url(url),
        ] {
            assert!(matches!(bad, Err(VerifyError::Config(_))), "{bad:?}");
        }
        assert!(Verifier::builder()
            .min_refresh_interval(MAX_CACHE_LIFETIME)
            .jwks_url(url)
            .is_ok());
    }

    #[test]
    fn plain_http_is_refused_off_loopback_unless_allowed() {
        let remote = "http://roomgate.example/.well-known/jwks.json";
        assert!(matches!(
            Verifier::from_jwks_url(remote),
            Err(VerifyError::Config(_))
        ));
        assert!(Verifier::builder().allow_http(true).jwks_url(remote).is_ok());
        for local in [
            "http://127.0.0.1:8080/jwks.json",
            "http://127.3.4.5/jwks.json",
            "http://[::1]:8080/jwks.json",
            "http://localhost:8080/jwks.json",
            "http://LOCALHOST/jwks.json",
        ] {
            assert!(Verifier::from_jwks_url(local).is_ok(), "{local}");
        }
        for not_local in [
            "http://10.0.0.1/jwks.json",
            "http://[::ffff:127.0.0.1]/jwks.json",
            "http://localhost.example/jwks.json",
            "http://127.0.0.1.nip.io/jwks.json",
        ] {
            assert!(
                matches!(Verifier::from_jwks_url(not_local), Err(VerifyError::Config(_))),
                "{not_local}"
            );
        }
    }

    #[test]
    fn min_refresh_interval_has_a_floor_and_max_stale_a_ceiling() {
        let url = "https://roomgate.example/jwks.json";
        for below in [Duration::ZERO, Duration::from_millis(999)] {
            let built = Verifier::builder().min_refresh_interval(below).jwks_url(url);
            assert!(matches!(built, Err(VerifyError::Config(_))), "{below:?}");
        }
        assert!(Verifier::builder()
            .min_refresh_interval(MIN_REFRESH_INTERVAL_FLOOR)
            .jwks_url(url)
            .is_ok());
        let over = Verifier::builder()
            .max_stale(MAX_STALE_LIMIT + Duration::from_secs(1))
            .jwks_url(url);
        assert!(matches!(over, Err(VerifyError::Config(_))));
        assert!(Verifier::builder()
            .max_stale(Duration::ZERO)
            .jwks_url(url)
            .is_ok());
        assert!(Verifier::builder()
            .max_stale(MAX_STALE_LIMIT)
            .jwks_url(url)
            .is_ok());
    }
}
