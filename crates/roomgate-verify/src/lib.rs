//! Check roomgate join tokens inside a media server (SFU) or gateway, without calling roomgate.
//!
//! A [`Verifier`] holds the keys roomgate publishes at `/.well-known/jwks.json`, either fetched from that
//! URL (the default `fetch` feature: `https` only, plain `http` on loopback or when explicitly allowed;
//! cached for the response's `max-age`, refetched when a token names an unknown `kid`, at most once per
//! minimum interval of 1 s or more, bounded in size and time; a due refetch runs while verifications go on
//! with the keys held, which stay trusted for at most `max_stale` past their lifetime while fetches fail, and
//! are then refused with [`VerifyError::StaleKeys`]) or given once as a JWK Set for fully offline use. [`Verifier::verify_access_token`] then accepts a token only if it is an
//! Ed25519-signed JWS under one of those keys (no `jku`, `x5u` or `jwk` header is ever followed), its
//! `typ` is `access`, `iss` and `aud` match exactly, it is within `nbf`..`exp` give or take the leeway
//! (30 s by default, 60 s at most), it grants `join` on the room asked about, and its `grants_version` has a
//! major this crate reads (1 or 2). Time is a parameter.
//!
//! [`Claims::participant`] says who the token is for and what they may do: identity, display name,
//! metadata and [`Permissions`] (`can_publish_source(Source::Camera)`, `can_subscribe()`, `is_room_admin()`…).
//! A version 1 token (Telnyx's shape, `actions: ["join"]`, no identity) allows [`Permissions::V1`]: join,
//! publish every source, subscribe and send data, which is what such a token allows in practice. In a
//! version 2 token, actions this crate does not know are ignored, so newer roomgates can add permissions;
//! the media server enforces them, roomgate cannot.
//!
//! With the `fetch` feature, [`VerifierBuilder::revocations`] also follows roomgate's revocation feed
//! (`GET /v2/revocations`, with the API key of the account whose rooms are served), so a revoked token is
//! refused within a staleness bound (10 s by default, 2 s..=1 h). A background task long-polls the feed and holds
//! the live revocations in memory (bounded, each dropped once no token it covers can still be valid); it starts
//! when the verifier is built inside a tokio runtime (otherwise on first use in one) and ends with the last clone
//! of the verifier. A token that verifies is then refused with [`VerifyError::Revoked`] if a revocation covers it
//! (by `jti`; by identity, for a version 2 token issued before the revocation; or issued before a cut-off), and
//! every token with [`VerifyError::RevocationsStale`] while no poll has caught up with the feed within the bound,
//! unless [`VerifierBuilder::fail_open_on_stale_revocations`] says to admit them (still refusing those covered).
//! [`Verifier::revocation_stats`] reports how the feed is followed.
//!
//! Offline, from a JWK Set shipped with the media server's configuration:
//!
//! ```
//! # use roomgate_token::{Claims, KeySet, SigningKey, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
//! use roomgate_verify::{TokenError, Verifier, VerifyError};
//! # let now = 1_700_000_000;
//! # let room = uuid::Uuid::new_v4();
//! # let key = SigningKey::generate();
//! # let jwks_json = serde_json::to_vec(&KeySet::new([key.verification_key()]).to_jwks()).unwrap();
//! # let spec = TokenSpec {
//! #     kind: TokenKind::Access, room_id: room, subjects: vec!["telnyx:users:1".into()],
//! #     issuer: DEFAULT_ISSUER, audience: DEFAULT_AUDIENCE, ttl_secs: 600, participant: None,
//! # };
//! # let claims = Claims::mint(&spec, now);
//! # let token = key.sign(&claims);
//!
//! let verifier = Verifier::from_jwks_json(&jwks_json)?;
//! let claims = verifier.verify_access_token_cached(&token, room, now)?;
//! assert_eq!(claims.room_id(), Some(room));
//!
//! let other_room = uuid::Uuid::new_v4();
//! let refused = verifier.verify_access_token_cached(&token, other_room, now).unwrap_err();
//! assert!(matches!(refused, VerifyError::Token(TokenError::WrongRoom)));
//! # Ok::<(), VerifyError>(())
//! ```
//!
//! In an SFU's join handler, with keys fetched from roomgate:
//!
//! ```no_run
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use roomgate_verify::{Source, Uuid, Verifier, VerifyError};
//!
//! enum Join {
//!     Admit { identity: Option<String>, publish_camera: bool, subscribe: bool },
//!     Refuse { reason: &'static str },
//!     RetryLater,
//! }
//!
//! async fn on_join(verifier: &Verifier, room_id: Uuid, token: &str) -> Join {
//!     let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
//!     match verifier.verify_access_token(token, room_id, now).await {
//!         Ok(claims) => {
//!             // A verified token always has a participant (grants versions 1 and 2).
//!             let Some(who) = claims.participant() else { return Join::Refuse { reason: "grants" } };
//!             Join::Admit {
//!                 publish_camera: who.permissions.can_publish_source(Source::Camera),
//!                 subscribe: who.permissions.can_subscribe(),
//!                 identity: who.identity,
//!             }
//!         }
//!         // The token is bad: tell the client (401/403).
//!         Err(VerifyError::Token(e)) => Join::Refuse { reason: e.reason() },
//!         // roomgate revoked it (the participant was removed, the token leaked): refuse, do not retry.
//!         Err(e @ VerifyError::Revoked { .. }) => Join::Refuse { reason: e.reason() },
//!         // No usable keys (roomgate unreachable, bad JWKS), or revocations not read lately
//!         // (`RevocationsStale`): log it, answer 503, let the client retry.
//!         Err(_) => Join::RetryLater,
//!     }
//! }
//!
//! # #[cfg(feature = "fetch")]
//! async fn startup() -> Result<Verifier, VerifyError> {
//!     let api_key = std::env::var("ROOMGATE_API_KEY").unwrap_or_default();
//!     let verifier = Verifier::builder()
//!         .leeway(Duration::from_secs(10))
//!         .revocations("https://roomgate.internal/v2/revocations", &api_key)
//!         .jwks_url("https://roomgate.internal/.well-known/jwks.json")?;
//!     verifier.refresh().await?; // optional: fail fast if roomgate is unreachable
//!     verifier.sync_revocations().await?; // likewise for the revocation feed
//!     Ok(verifier)
//! }
//! ```
//!
//! With the `fetch` feature, a [`Link`] is the media server's side of roomgate's live rooms (API key as above):
//! [`Link::admit`] has roomgate record a verified participant (or says the room is full, or the token is
//! refused), a background task renews the leases of those admitted every third of the lease, [`Link::leave`]
//! ends one, and [`Link::commands`] follows the control feed: kicks, mutes, session ends and revocations from
//! moderation, plus the participants renewals found gone. Its cursor can be saved and resumed from, so a
//! restart loses no command. `examples/reference_sfu.rs` is a whole small SFU side.
//!
//! ```no_run
//! # #[cfg(feature = "fetch")]
//! # async fn serve(verifier: roomgate_verify::Verifier, room: roomgate_verify::Uuid, token: &str, now: i64)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use roomgate_verify::{Command, Link, LinkError};
//! # let (api_key, saved_cursor) = ("rg_...", "42");
//! # let disconnect = |_id| {};
//! let link = Link::builder("https://roomgate.internal", api_key).resume_after(saved_cursor).build()?;
//!
//! let claims = verifier.verify_access_token(token, room, now).await?;
//! let participant = match link.admit(token, None).await {
//!     Ok(participant) => participant,
//!     Err(LinkError::RoomFull { max_participants }) => return Err(format!("full at {max_participants}").into()),
//!     Err(e) => return Err(e.into()), // Refused { reason }, or e.is_retryable()
//! };
//!
//! let mut commands = link.commands();
//! while let Some(command) = commands.next().await {
//!     match command {
//!         Command::Kick { participant_id, .. } | Command::Gone { participant_id } => disconnect(participant_id),
//!         Command::Revocation(r) if r.covers(&claims) => disconnect(participant.id),
//!         _ => {} // mute, unmute, session end: see the example
//!     }
//!     let _save = commands.cursor(); // persisted, it is `resume_after` after a restart
//! }
//! # Ok(())
//! # }
//! ```
//!
//! With `default-features = false` the crate has no HTTP stack and needs no async runtime:
//! `cargo tree -p roomgate-verify --no-default-features -e normal` lists no reqwest, hyper or tokio (a test
//! checks it).

#![warn(missing_docs)]

mod error;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod http;
#[cfg(feature = "fetch")]
mod link;
#[cfg(feature = "fetch")]
mod revocations;
mod verifier;

#[cfg(feature = "fetch")]
pub use error::LinkError;
pub use error::{FetchError, VerifyError};
#[cfg(feature = "fetch")]
pub use fetch::{
    DEFAULT_CACHE_LIFETIME, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STALE, DEFAULT_MIN_REFRESH_INTERVAL,
    DEFAULT_TIMEOUT, MAX_CACHE_LIFETIME, MAX_STALE_LIMIT, MIN_REFRESH_INTERVAL_FLOOR,
};
#[cfg(feature = "fetch")]
pub use link::{
    Command, Commands, Link, LinkBuilder, RenewalStats, RevocationCommand, RoomParticipant, TrackKind,
    DEFAULT_FEED_WAIT, MAX_FEED_WAIT, MIN_RENEW_INTERVAL,
};
#[cfg(feature = "fetch")]
pub use revocations::{
    RevocationStats, DEFAULT_MAX_REVOCATIONS, DEFAULT_REVOCATION_STALENESS, MAX_REVOCATIONS_RESPONSE_BYTES,
    MAX_REVOCATION_STALENESS, MIN_REVOCATION_STALENESS,
};
pub use roomgate_token::{
    Claims, Grant, Jwk, Jwks, Participant, Permissions, Source, Sources, TokenError, TokenKind,
};
pub use uuid::Uuid;
pub use verifier::{Verifier, VerifierBuilder, DEFAULT_LEEWAY, MAX_LEEWAY};
