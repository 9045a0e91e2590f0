//! Why a token, a key set or a fetch was refused.

use std::{sync::Arc, time::Duration};

use roomgate_token::TokenError;
use uuid::Uuid;

/// Why a token was not accepted, or a [`crate::Verifier`] could not be built.
///
/// [`VerifyError::Token`] and [`VerifyError::Revoked`] mean the token itself is bad or withdrawn (answer
/// 401/403); every other variant means the verifier could not get usable keys, revocations or settings (answer
/// 503, log it, and let the client retry).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token was refused: structure, algorithm, key, signature, kind, issuer, audience, time or room.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A JWKS document is unusable: wrong shape, a private key, an invalid or duplicate key, or no keys.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
    /// The JWKS could not be fetched.
    #[error("fetching the JWKS failed: {0}")]
    Fetch(#[from] FetchError),
    /// The keys were fetched once, but no fetch has succeeded since their cache lifetime ended longer ago than
    /// the configured `max_stale`: every token is refused until one does ([`crate::Verifier::refresh`] reports
    /// why fetches fail).
    #[error(
        "the cached JWKS is {stale_for:?} past its lifetime and could not be refetched: refusing to trust it"
    )]
    StaleKeys {
        /// How long past the keys' cache lifetime it is.
        stale_for: Duration,
    },
    /// The token verifies, but a revocation from roomgate's feed covers it: refuse it.
    #[error("the token is revoked (revocation {id})")]
    Revoked {
        /// The revocation's id, as the feed and roomgate's API name it.
        id: Uuid,
    },
    /// The revocation feed is followed, but no poll has caught up with it within the staleness bound (or ever):
    /// a token revoked meanwhile could pass, so every token is refused until one does (unless the verifier was
    /// built to fail open).
    #[error("the revocation feed has not been read for {since:?} (None: never): refusing tokens")]
    RevocationsStale {
        /// How long ago the last poll caught up with the feed; `None` if none has.
        since: Option<Duration>,
    },
    /// Polling the revocation feed failed (only from [`crate::Verifier::sync_revocations`] and the stats).
    #[error("polling the revocation feed failed: {0}")]
    RevocationFeed(FetchError),
    /// The revocation feed answered with something that is not a page of revocations.
    #[error("invalid revocation feed response: {0}")]
    InvalidRevocations(String),
    /// The feed holds more live revocations than the verifier may keep; nothing of the page was kept.
    #[error("the revocation feed holds more than {limit} live revocations")]
    TooManyRevocations {
        /// The configured maximum.
        limit: usize,
    },
    /// A JWKS file could not be read.
    #[error("reading the JWKS file failed: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// A setting is out of range.
    #[error("invalid verifier setting: {0}")]
    Config(&'static str),
}

impl VerifyError {
    /// A stable snake_case label for logs and metrics (the token's reason for [`VerifyError::Token`]).
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::Token(e) => e.reason(),
            VerifyError::InvalidJwks(_) => "invalid_jwks",
            VerifyError::Fetch(FetchError::Timeout) => "jwks_timeout",
            VerifyError::Fetch(FetchError::Status(_)) => "jwks_status",
            VerifyError::Fetch(FetchError::TooLarge { .. }) => "jwks_too_large",
            VerifyError::Fetch(FetchError::Transport(_)) => "jwks_unreachable",
            VerifyError::StaleKeys { .. } => "jwks_stale",
            VerifyError::Revoked { .. } => "revoked",
            VerifyError::RevocationsStale { .. } => "revocations_stale",
            VerifyError::RevocationFeed(FetchError::Timeout) => "revocations_timeout",
            VerifyError::RevocationFeed(FetchError::Status(_)) => "revocations_status",
            VerifyError::RevocationFeed(FetchError::TooLarge { .. }) => "revocations_too_large",
            VerifyError::RevocationFeed(FetchError::Transport(_)) => "revocations_unreachable",
            VerifyError::InvalidRevocations(_) => "revocations_invalid",
            VerifyError::TooManyRevocations { .. } => "revocations_too_many",
            VerifyError::Io(_) => "jwks_file",
            VerifyError::Config(_) => "config",
        }
    }
}

impl From<std::io::Error> for VerifyError {
    fn from(e: std::io::Error) -> Self {
        VerifyError::Io(Arc::new(e))
    }
}

/// Why fetching the JWKS, or polling the revocation feed, failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No complete response within the timeout.
    #[error("timed out")]
    Timeout,
    /// The server answered with a status other than 2xx (redirects are not followed).
    #[error("HTTP status {0}")]
    Status(u16),
    /// The response body is larger than the configured limit.
    #[error("response larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Connecting, TLS or reading failed; the text says how.
    #[error("{0}")]
    Transport(String),
}

/// Why a call of the media server's [`crate::Link`] to roomgate failed, or a link could not be built.
///
/// [`LinkError::RoomFull`] and [`LinkError::Refused`] are answers about the token (tell the client);
/// [`LinkError::is_retryable`] says which others are worth trying again.
#[cfg(feature = "fetch")]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The room's active session already holds this many live participants; nothing was recorded.
    #[error("the room is full ({max_participants} participants)")]
    RoomFull {
        /// The room's `max_participants`.
        max_participants: u32,
    },
    /// roomgate does not admit the token: `reason` is its label (`"expired"`, `"revoked"`, `"invalid"`…).
    #[error("roomgate refused the token ({reason})")]
    Refused {
        /// Why, as roomgate's `meta.reason` says (`"invalid"` when it does not say).
        reason: String,
    },
    /// roomgate is overloaded or down (429 or 5xx): try again, after `retry_after` if it said.
    #[error("roomgate is unavailable (HTTP {status})")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// How long roomgate asked to wait, if it did.
        retry_after: Option<Duration>,
    },
    /// No answer: connecting, TLS, reading or the timeout failed.
    #[error("roomgate could not be reached: {0}")]
    Transport(FetchError),
    /// Any other error answer (401 for a bad API key, 404 for an unknown participant, 422 for a bad body).
    #[error("roomgate answered HTTP {status} (code {}): {}", code.as_deref().unwrap_or("none"), detail.as_deref().unwrap_or("no detail"))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The Telnyx error code (`"10005"`), if the body had one.
        code: Option<String>,
        /// The error's `detail`, if the body had one.
        detail: Option<String>,
    },
    /// A success whose body is not what the contract says.
    #[error("invalid response from roomgate: {0}")]
    InvalidResponse(String),
    /// A setting is out of range or unusable.
    #[error("invalid link setting: {0}")]
    Config(&'static str),
}

#[cfg(feature = "fetch")]
impl LinkError {
    /// Whether the same call may succeed if tried again later (roomgate unavailable or unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, LinkError::Unavailable { .. } | LinkError::Transport(_))
    }

    /// A stable snake_case label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            LinkError::RoomFull { .. } => "room_full",
            LinkError::Refused { .. } => "refused",
            LinkError::Unavailable { .. } => "unavailable",
            LinkError::Transport(FetchError::Timeout) => "timeout",
            LinkError::Transport(_) => "unreachable",
            LinkError::Api { .. } => "api_error",
            LinkError::InvalidResponse(_) => "invalid_response",
            LinkError::Config(_) => "config",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct() {
        let all = [
            VerifyError::Token(TokenError::Expired),
            VerifyError::InvalidJwks("x".into()),
            VerifyError::Fetch(FetchError::Timeout),
            VerifyError::Fetch(FetchError::Status(500)),
            VerifyError::Fetch(FetchError::TooLarge { limit: 1 }),
            VerifyError::Fetch(FetchError::Transport("x".into())),
            VerifyError::from(std::io::Error::other("x")),
            VerifyError::StaleKeys {
                stale_for: Duration::from_secs(1),
            },
            VerifyError::Config("x"),
            VerifyError::Revoked { id: Uuid::nil() },
            VerifyError::RevocationsStale { since: None },
            VerifyError::RevocationFeed(FetchError::Timeout),
            VerifyError::RevocationFeed(FetchError::Status(401)),
            VerifyError::RevocationFeed(FetchError::TooLarge { limit: 1 }),
            VerifyError::RevocationFeed(FetchError::Transport("x".into())),
            VerifyError::InvalidRevocations("x".into()),
            VerifyError::TooManyRevocations { limit: 1 },
        ];
        let mut seen = std::collections::HashSet::new();
        for e in &all {
            assert!(seen.insert(e.reason()), "duplicate reason {}", e.reason());
        }
        assert_eq!(VerifyError::Token(TokenError::WrongRoom).reason(), "wrong_room");
        assert_eq!(VerifyError::Revoked { id: Uuid::nil() }.reason(), "revoked");
        assert_eq!(
            VerifyError::RevocationsStale { since: None }.reason(),
            "revocations_stale"
        );
    }

    #[cfg(feature = "fetch")]
    #[test]
    fn link_reasons_are_distinct_and_only_outages_are_retryable() {
        let all = [
            LinkError::RoomFull { max_participants: 2 },
            LinkError::Refused {
                reason: "revoked".into(),
            },
            LinkError::Unavailable {
                status: 503,
                retry_after: None,
            },
            LinkError::Transport(FetchError::Timeout),
            LinkError::Transport(FetchError::Transport("x".into())),
            LinkError::Api {
                status: 401,
                code: None,
                detail: None,
            },
            LinkError::InvalidResponse("x".into()),
            LinkError::Config("x"),
        ];
        let mut seen = std::collections::HashSet::new();
        for e in &all {
            assert!(seen.insert(e.reason()), "duplicate reason {}", e.reason());
            let retryable = matches!(e, LinkError::Unavailable { .. } | LinkError::Transport(_));
            assert_eq!(e.is_retryable(), retryable, "{e:?}");
        }
    }
}
