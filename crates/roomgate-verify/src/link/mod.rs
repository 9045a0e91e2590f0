//! The media server's link to roomgate (the `fetch` feature): admit and leave participants, keep their leases,
//! and follow the control feed of kicks, mutes, session ends and revocations.
//!
//! A [`Link`] is a handle on shared state: an HTTP client, the participants it admitted (whose leases a
//! background task renews), and participants found gone, waiting to be handed out as [`Command::Gone`]. The
//! renewal task starts with the first admission, runs on that runtime, and ends with the last clone of the
//! link (a [`Commands`] stream holds one).

mod feed;
mod http;
mod renew;
mod wire;

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use reqwest::Url;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

pub use feed::Commands;
pub use wire::{Command, RevocationCommand, RoomParticipant, TrackKind};

use crate::{
    http::{is_loopback, ApiKey},
    LinkError,
};

/// Longest a control feed long poll waits on roomgate, unless configured shorter (the feed allows 30 s; proxies
/// often cut idle requests at 30 s).
pub const DEFAULT_FEED_WAIT: Duration = Duration::from_secs(25);

/// The most [`LinkBuilder::feed_wait`] accepts.
pub const MAX_FEED_WAIT: Duration = DEFAULT_FEED_WAIT;

/// The least [`LinkBuilder::renew_interval`] accepts.
pub const MIN_RENEW_INTERVAL: Duration = Duration::from_millis(100);

/// How long a lease is taken to last until roomgate's first admission says (roomgate's default).
const ASSUMED_LEASE: Duration = Duration::from_secs(30);

/// Longest resume cursor accepted (roomgate's are a few digits).
pub(crate) const MAX_CURSOR_BYTES: usize = 4096;

/// How a [`Link`] is set up: [`Link::builder`], the options, then [`LinkBuilder::build`].
#[derive(Clone, Debug)]
pub struct LinkBuilder {
    base_url: String,
    api_key: ApiKey,
    allow_http: bool,
    timeout: Duration,
    renew_interval: Option<Duration>,
    feed_wait: Duration,
    resume_after: Option<String>,
}

impl LinkBuilder {
    /// Accept a plain `http://` base URL on a host that is not loopback (default: refused, since whoever is on
    /// the path could read the API key and the tokens). Loopback is always allowed.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Give up on a request after this long (default 5 s); a feed poll gets this long on top of its wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Renew leases this often (default: a third of the lease roomgate grants; at least 100 ms).
    pub fn renew_interval(mut self, interval: Duration) -> Self {
        self.renew_interval = Some(interval);
        self
    }

    /// Ask roomgate to hold a feed poll open this long while there is nothing new (default and most 25 s,
    /// whole seconds; zero polls without waiting).
    pub fn feed_wait(mut self, wait: Duration) -> Self {
        self.feed_wait = wait;
        self
    }

    /// Start the control feed after this cursor (one [`Commands::cursor`] returned), so nothing published
    /// since is lost across a disconnect or a restart; without it the feed starts at its oldest command kept.
    pub fn resume_after(mut self, cursor: impl Into<String>) -> Self {
        self.resume_after = Some(cursor.into());
        self
    }

    /// The link, with its settings checked. Nothing is sent yet.
    pub fn build(self) -> Result<Link, LinkError> {
        let base = base_url(&self.base_url, self.allow_http)?;
        let auth = self
            .api_key
            .bearer()
            .ok_or(LinkError::Config("the API key is not a valid header value"))?;
        if self.timeout.is_zero() {
            return Err(LinkError::Config("timeout must be positive"));
        }
        if self.renew_interval.is_some_and(|i| i < MIN_RENEW_INTERVAL) {
            return Err(LinkError::Config("renew_interval must be at least 100 ms"));
        }
        if self.feed_wait > MAX_FEED_WAIT {
            return Err(LinkError::Config("feed_wait must be at most 25 seconds"));
        }
        if self
            .resume_after
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR_BYTES)
        {
            return Err(LinkError::Config("the resume cursor must be 1..=4096 bytes"));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roomgate-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinkError::Transport(crate::http::fetch_error(e)))?;
        let shared = Shared {
            api: http::Api {
                client,
                base,
                auth,
                timeout: self.timeout,
            },
            renew_interval: self.renew_interval,
            lease: Mutex::new(None),
            lease_learned: Notify::new(),
            tracked: Mutex::new(HashMap::new()),
            gone: Mutex::new(VecDeque::new()),
            gone_ready: Notify::new(),
            renewals: Mutex::new(RenewalStats::default()),
        };
        Ok(Link {
            inner: Arc::new(Inner {
                shared: Arc::new(shared),
                renewer: Mutex::new(None),
                stop: watch::channel(()).0,
                feed_wait: Duration::from_secs(self.feed_wait.as_secs()),
                resume_after: self.resume_after,
            }),
        })
    }
}

/// `url` as a base to join `v2/...` onto: `https`, or `http` on loopback or when allowed.
fn base_url(url: &str, allow_http: bool) -> Result<Url, LinkError> {
    let mut url = Url::parse(url).map_err(|_| LinkError::Config("the base URL is not a valid URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(LinkError::Config(
                "the base URL must be https (http only on loopback, or with allow_http(true))",
            ))
        }
        _ => return Err(LinkError::Config("the base URL must be http or https")),
    }
    if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(LinkError::Config("the base URL must have no query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The media server's link to roomgate: admission, leaving, lease renewal and the control feed. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Link {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    /// The renewal task, once spawned.
    renewer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Dropped with the last clone of the link, which ends the renewal task.
    stop: watch::Sender<()>,
    feed_wait: Duration,
    resume_after: Option<String>,
}

/// What the renewal task and the feed share with the link.
#[derive(Debug)]
struct Shared {
    api: http::Api,
    renew_interval: Option<Duration>,
    /// The lease roomgate grants, once an admission showed it.
    lease: Mutex<Option<Duration>>,
    /// Wakes the renewal task when the lease (and so its interval) is first known or changes.
    lease_learned: Notify,
    /// Participants admitted and not yet known gone: id → session id.
    tracked: Mutex<HashMap<Uuid, Uuid>>,
    /// Participants a renewal found gone, not yet handed out as [`Command::Gone`].
    gone: Mutex<VecDeque<Uuid>>,
    gone_ready: Notify,
    renewals: Mutex<RenewalStats>,
}

/// How lease renewal has gone so far, for the embedder's metrics.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RenewalStats {
    /// Participants whose leases are renewed now.
    pub tracked: usize,
    /// Renewal requests answered.
    pub renewals_ok: u64,
    /// Renewal requests that failed.
    pub renewals_failed: u64,
    /// Why the last renewal failed, if it did.
    pub last_error: Option<LinkError>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    /// Settings for a link to the roomgate at `base_url` (e.g. `https://roomgate.internal`), calling with the
    /// API key of the account whose rooms this media server serves.
    pub fn builder(base_url: &str, api_key: &str) -> LinkBuilder {
        LinkBuilder {
            base_url: base_url.to_owned(),
            api_key: ApiKey(api_key.to_owned()),
            allow_http: false,
            timeout: crate::DEFAULT_TIMEOUT,
            renew_interval: None,
            feed_wait: DEFAULT_FEED_WAIT,
            resume_after: None,
        }
    }

    /// Ask roomgate to admit the holder of `access_token` (already verified by the media server), passing
    /// `context` (at most 1024 bytes) along; from then on its lease is renewed until [`Self::leave`] or until
    /// roomgate says it is gone.
    pub async fn admit(
        &self,
        access_token: &str,
        context: Option<&str>,
    ) -> Result<RoomParticipant, LinkError> {
        let shared = &self.inner.shared;
        let mut body = serde_json::json!({ "access_token": access_token });
        if let Some(context) = context {
            body["context"] = context.into();
        }
        let participant = shared.api.admit(&body).await?;
        if let Some(lease) = participant
            .lease_expires_at
            .and_then(|until| until.duration_since(participant.joined_at).ok())
            .filter(|lease| !lease.is_zero())
        {
            let changed = lock(&shared.lease).replace(lease) != Some(lease);
            if changed {
                shared.lease_learned.notify_one();
            }
        }
        lock(&shared.tracked).insert(participant.id, participant.session_id);
        self.ensure_renewing();
        Ok(participant)
    }

    /// Tell roomgate the participant left (idempotent), and stop renewing its lease whatever the answer (a
    /// lease not renewed runs out by itself).
    pub async fn leave(&self, participant_id: Uuid) -> Result<RoomParticipant, LinkError> {
        lock(&self.inner.shared.tracked).remove(&participant_id);
        self.inner.shared.api.leave(participant_id).await
    }

    /// Renew every tracked lease now, rather than at the next interval (participants found gone come out of
    /// [`Commands`] as [`Command::Gone`]).
    pub async fn renew_now(&self) -> Result<(), LinkError> {
        self.inner.shared.renew_all().await
    }

    /// The control feed from the resume cursor (or its oldest command): see [`Commands`].
    pub fn commands(&self) -> Commands {
        Commands::new(self.clone(), self.inner.resume_after.clone())
    }

    /// How lease renewal has gone so far.
    pub fn renewal_stats(&self) -> RenewalStats {
        let shared = &self.inner.shared;
        RenewalStats {
            tracked: lock(&shared.tracked).len(),
            ..lock(&shared.renewals).clone()
        }
    }

    /// Whether this participant's lease is being renewed (admitted here, not left, not known gone).
    pub fn is_tracked(&self, participant_id: Uuid) -> bool {
        lock(&self.inner.shared.tracked).contains_key(&participant_id)
    }

    /// Spawns the renewal task on the current runtime unless it runs already.
    fn ensure_renewing(&self) {
        let mut task = lock(&self.inner.renewer);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = Arc::clone(&self.inner.shared);
            *task = Some(runtime.spawn(renew::run(shared, self.inner.stop.subscribe())));
        }
    }
}

impl Shared {
    /// The interval between renewals: configured, or a third of the lease.
    fn renew_interval(&self) -> Duration {
        self.renew_interval.unwrap_or_else(|| {
            let lease = lock(&self.lease).unwrap_or(ASSUMED_LEASE);
            (lease / 3).max(MIN_RENEW_INTERVAL)
        })
    }

    /// Stop tracking these participants (roomgate says they left); those that were tracked are queued as
    /// [`Command::Gone`] when `announce`.
    fn forget(&self, ids: impl IntoIterator<Item = Uuid>, announce: bool) {
        let mut tracked = lock(&self.tracked);
        let mut gone = lock(&self.gone);
        let before = gone.len();
        for id in ids {
            if tracked.remove(&id).is_some() && announce {
                gone.push_back(id);
            }
        }
        if gone.len() > before {
            self.gone_ready.notify_one();
        }
    }

    /// Stop tracking every participant of this session.
    fn forget_session(&self, session_id: Uuid) {
        lock(&self.tracked).retain(|_, session| *session != session_id);
    }

    fn take_gone(&self) -> Option<Uuid> {
        lock(&self.gone).pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rg_live_secret_0123456789";

    #[test]
    fn the_base_url_follows_the_jwks_rule() {
        for good in [
            "https://roomgate.example",
            "https://roomgate.example/prefix",
            "http://127.0.0.1:8080",
            "http://[::1]:8080/",
            "http://localhost:8080",
        ] {
            assert!(Link::builder(good, KEY).build().is_ok(), "{good}");
        }
        for bad in [
            "http://roomgate.example",
            "ftp://roomgate.example",
            "not a url",
            "https://roomgate.example/?x=1",
            "https://roomgate.example/#top",
        ] {
            let built = Link::builder(bad, KEY).build();
            assert!(matches!(built, Err(LinkError::Config(_))), "{bad}");
        }
        assert!(Link::builder("http://roomgate.example", KEY)
            .allow_http(true)
            .build()
            .is_ok());
    }

    #[test]
    fn paths_join_under_the_base_including_its_prefix() {
        let url = |base: &str| {
            base_url(base, false)
                .expect("valid")
                .join("v2/room_commands")
                .expect("joins")
        };
        assert_eq!(
            url("https://r.example").as_str(),
            "https://r.example/v2/room_commands"
        );
        assert_eq!(
            url("https://r.example/rg").as_str(),
            "https://r.example/rg/v2/room_commands"
        );
        assert_eq!(
            url("https://r.example/rg/").as_str(),
            "https://r.example/rg/v2/room_commands"
        );
    }

    #[test]
    fn settings_are_checked() {
        let base = "https://roomgate.example";
        let builder = || Link::builder(base, KEY);
        for bad in [
            builder().timeout(Duration::ZERO),
            builder().renew_interval(Duration::from_millis(99)),
            builder().feed_wait(Duration::from_secs(26)),
            builder().resume_after(""),
            builder().resume_after("1".repeat(MAX_CURSOR_BYTES + 1)),
            Link::builder(base, "bad\nkey"),
        ] {
            assert!(
                matches!(bad.clone().build(), Err(LinkError::Config(_))),
                "{bad:?}"
            );
        }
        assert!(builder()
            .renew_interval(MIN_RENEW_INTERVAL)
            .feed_wait(Duration::ZERO)
            .build()
            .is_ok());
    }

    #[test]
    fn the_api_key_never_shows_in_debug() {
        let builder = Link::builder("https://roomgate.example", KEY);
        assert!(!format!("{builder:?}").contains(KEY));
        let link = builder.build().expect("link");
        assert!(!format!("{link:?} {:?}", link.commands()).contains(KEY));
        let bad = format!("{KEY}\n");
        let err = Link::builder("https://roomgate.example", &bad)
            .build()
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains(KEY));
    }

    #[test]
    fn the_renew_interval_is_a_third_of_the_lease_unless_set() {
        let link = Link::builder("https://roomgate.example", KEY)
            .build()
            .expect("link");
        let shared = &link.inner.shared;
        assert_eq!(shared.renew_interval(), Duration::from_secs(10));
        *lock(&shared.lease) = Some(Duration::from_secs(3));
        assert_eq!(shared.renew_interval(), Duration::from_secs(1));
        *lock(&shared.lease) = Some(Duration::from_millis(30));
        assert_eq!(shared.renew_interval(), MIN_RENEW_INTERVAL);
        let set = Link::builder("https://roomgate.example", KEY)
            .renew_interval(Duration::from_secs(7))
            .build()
            .expect("link");
        assert_eq!(set.inner.shared.renew_interval(), Duration::from_secs(7));
    }

    #[test]
    fn forgetting_announces_only_participants_still_tracked() {
        let link = Link::builder("https://roomgate.example", KEY)
            .build()
            .expect("link");
        let shared = &link.inner.shared;
        let (a, b, c, session) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        lock(&shared.tracked).extend([(a, session), (b, session), (c, Uuid::new_v4())]);
        shared.forget([a, Uuid::new_v4()], true);
        assert_eq!(shared.take_gone(), Some(a));
        assert_eq!(shared.take_gone(), None);
        shared.forget([a], true);
        assert_eq!(shared.take_gone(), None, "announced once");
        shared.forget_session(session);
        assert!(!link.is_tracked(b) && link.is_tracked(c));
    }
}
