//! [`Verifier`]: a key set (fixed, or fetched from a JWKS URL) and the checks a join token must pass.

use std::{path::Path, sync::Arc, time::Duration, time::Instant};

use arc_swap::ArcSwap;
use roomgate_token::{Claims, Jwks, KeySet, TokenKind, Validation, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use uuid::Uuid;

use crate::VerifyError;

/// Clock skew tolerated on `exp`, `nbf` and `iat` unless configured otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The largest leeway a [`VerifierBuilder`] accepts: more would keep expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// The keys in use, swapped whole when a fetch brings new ones.
#[derive(Debug)]
// Without `fetch` the keys never change, so only `keys` is read.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) struct Snapshot {
    /// The trusted keys.
    pub(crate) keys: KeySet,
    /// Bumped by every successful fetch, so concurrent misses can tell a fetch already happened.
    pub(crate) generation: u64,
    /// When to fetch again; `None` for a fixed key set.
    pub(crate) fresh_until: Option<Instant>,
}

#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
impl Snapshot {
    /// Whether the keys are due for a refetch at `at`.
    pub(crate) fn is_stale(&self, at: Instant) -> bool {
        self.fresh_until.is_some_and(|t| at >= t)
    }
}

/// Checks roomgate join tokens against a key set; cheap to clone and share between tasks.
#[derive(Clone, Debug)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Everything but the room, which each call supplies.
    validation: Validation,
    /// Shared with a background fetch, which swaps in what it brings.
    keys: Arc<ArcSwap<Snapshot>>,
    #[cfg(feature = "fetch")]
    remote: Option<Arc<crate::fetch::Remote>>,
    /// The revocation feed followed, if any; dropping it ends its background task.
    #[cfg(feature = "fetch")]
    revocations: Option<crate::revocations::Follower>,
}

/// Settings for a [`Verifier`]; finish with one of the key sources.
#[derive(Clone, Debug)]
pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    leeway: Duration,
    #[cfg(feature = "fetch")]
    pub(crate) fetch: crate::fetch::FetchOptions,
    #[cfg(feature = "fetch")]
    pub(crate) revocations: crate::revocations::RevocationOptions,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        VerifierBuilder {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            leeway: DEFAULT_LEEWAY,
            #[cfg(feature = "fetch")]
            fetch: crate::fetch::FetchOptions::default(),
            #[cfg(feature = "fetch")]
            revocations: crate::revocations::RevocationOptions::default(),
        }
    }
}

impl VerifierBuilder {
    /// Require this `iss` (exact match; default `telnyx_access_token`).
    pub fn issuer(mut self, issuer: &str) -> Self {
        issuer.clone_into(&mut self.issuer);
        self
    }

    /// Require this `aud` (exact match; default `telnyx_access_token`).
    pub fn audience(mut self, audience: &str) -> Self {
        audience.clone_into(&mut self.audience);
        self
    }

    /// Tolerate this much clock skew on `exp`, `nbf` and `iat` (whole seconds; default 30 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Trust exactly the keys of this JWK Set; never fetches anything.
    pub fn jwks(self, jwks: &Jwks) -> Result<Verifier, VerifyError> {
        let keys = key_set(jwks)?;
        self.finish(Snapshot {
            keys,
            generation: 0,
            fresh_until: None,
        })
    }

    /// Trust exactly the keys of this JWK Set document (`{"keys":[..]}`); never fetches anything.
    pub fn jwks_json(self, json: &[u8]) -> Result<Verifier, VerifyError> {
        let jwks = parse_jwks(json)?;
        self.jwks(&jwks)
    }

    /// Trust exactly the keys of the JWK Set document in this file, read once now.
    pub fn jwks_file(self, path: impl AsRef<Path>) -> Result<Verifier, VerifyError> {
        let json = std::fs::read(path)?;
        self.jwks_json(&json)
    }

    /// The validation every token must pass, checked once here.
    fn validation(&self) -> Result<Validation, VerifyError> {
        if self.leeway > MAX_LEEWAY {
            return Err(VerifyError::Config("leeway must be at most 60 seconds"));
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(VerifyError::Config("issuer and audience must not be empty"));
        }
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        Ok(Validation::new(TokenKind::Access)
            .issuer(&self.issuer)
            .audience(&self.audience)
            .leeway(leeway))
    }

    fn finish(self, snapshot: Snapshot) -> Result<Verifier, VerifyError> {
        let validation = self.validation()?;
        Ok(Verifier {
            inner: Arc::new(Inner {
                validation,
                keys: Arc::new(ArcSwap::from_pointee(snapshot)),
                #[cfg(feature = "fetch")]
                remote: None,
                #[cfg(feature = "fetch")]
                revocations: self.revocation_follower(self.leeway)?,
            }),
        })
    }

    #[cfg(feature = "fetch")]
    pub(crate) fn finish_remote(self, remote: crate::fetch::Remote) -> Result<Verifier, VerifyError> {
        let validation = self.validation()?;
        let snapshot = Snapshot {
            keys: KeySet::default(),
            generation: 0,
            // Due at once: the first verification fetches.
            fresh_until: Some(Instant::now()),
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                validation,
                keys: Arc::new(ArcSwap::from_pointee(snapshot)),
                remote: Some(Arc::new(remote)),
                revocations: self.revocation_follower(self.leeway)?,
            }),
        })
    }
}

impl Verifier {
    /// Default settings (issuer and audience `telnyx_access_token`, 30 s leeway), to adjust.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Default settings, trusting exactly the keys of `jwks`.
    pub fn from_jwks(jwks: &Jwks) -> Result<Self, VerifyError> {
        Self::builder().jwks(jwks)
    }

    /// Default settings, trusting exactly the keys of a JWK Set document.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, VerifyError> {
        Self::builder().jwks_json(json)
    }

    /// Default settings, trusting exactly the keys of the JWK Set document in this file.
    pub fn from_jwks_file(path: impl AsRef<Path>) -> Result<Self, VerifyError> {
        Self::builder().jwks_file(path)
    }

    /// Check a join token for `room_id` at `now` (unix seconds), fetching keys first if they are due.
    ///
    /// For a verifier built from a JWKS URL this fetches on first use, when the cached keys outlive the
    /// response's `max-age`, and when the token names an unknown `kid` (at most one fetch per minimum
    /// interval, shared by all concurrent callers). Built from a fixed key set, it never awaits anything.
    ///
    /// With a revocation feed, a token that verifies is then refused with [`VerifyError::Revoked`] if a
    /// revocation held covers it, and with [`VerifyError::RevocationsStale`] if the feed was not read within the
    /// staleness bound (unless the verifier fails open); a new verifier's first call waits for its first poll.
    pub async fn verify_access_token(
        &self,
        token: &str,
        room_id: Uuid,
        now: i64,
    ) -> Result<Claims, VerifyError> {
        #[cfg(feature = "fetch")]
        if self.inner.remote.is_some() || self.inner.revocations.is_some() {
            let claims = match &self.inner.remote {
                Some(remote) => {
                    remote
                        .verify(&self.inner.keys, |keys| self.check(keys, token, room_id, now))
                        .await?
                }
                None => self.check(&self.inner.keys.load().keys, token, room_id, now)?,
            };
            if let Some(follower) = &self.inner.revocations {
                follower.check_async(&claims).await?;
            }
            return Ok(claims);
        }
        self.verify_access_token_cached(token, room_id, now)
    }

    /// Like [`Verifier::verify_access_token`], but synchronous and with the keys and revocations held now:
    /// never does IO or waits.
    pub fn verify_access_token_cached(
        &self,
        token: &str,
        room_id: Uuid,
        now: i64,
    ) -> Result<Claims, VerifyError> {
        let snapshot = self.inner.keys.load();
        // Fetched keys past their staleness cap are refused here too, though this never fetches.
        #[cfg(feature = "fetch")]
        if let Some(remote) = &self.inner.remote {
            remote.usable_or_error(&snapshot, Instant::now())?;
        }
        let claims = self.check(&snapshot.keys, token, room_id, now)?;
        #[cfg(feature = "fetch")]
        if let Some(follower) = &self.inner.revocations {
            follower.check(&claims)?;
        }
        Ok(claims)
    }

    /// Fetch the JWKS now (ignoring the minimum interval), e.g. at startup to fail fast; a no-op offline.
    pub async fn refresh(&self) -> Result<(), VerifyError> {
        #[cfg(feature = "fetch")]
        if let Some(remote) = &self.inner.remote {
            let seen = self.inner.keys.load().generation;
            remote.refresh(&self.inner.keys, seen, true).await?;
        }
        Ok(())
    }

    /// The revocation feed followed, if any.
    #[cfg(feature = "fetch")]
    pub(crate) fn revocations(&self) -> Option<&crate::revocations::Follower> {
        self.inner.revocations.as_ref()
    }

    /// The `kid`s of the keys trusted now.
    pub fn key_ids(&self) -> Vec<String> {
        let snapshot = self.inner.keys.load();
        snapshot.keys.iter().map(|k| k.kid().to_owned()).collect()
    }

    /// The whole check, delegated to roomgate-token: JWS structure and header rules, EdDSA only, key by
    /// `kid` from `keys` alone, strict signature, then `typ` access, `iss`, `aud`, times and the join grant.
    fn check(&self, keys: &KeySet, token: &str, room_id: Uuid, now: i64) -> Result<Claims, VerifyError> {
        let validation = self.inner.validation.clone().room(room_id);
        Ok(roomgate_token::verify(token, keys, &validation, now)?)
    }
}

/// Parse a JWK Set document; a private `d` anywhere is refused by roomgate-token's `Jwk`.
pub(crate) fn parse_jwks(json: &[u8]) -> Result<Jwks, VerifyError> {
    serde_json::from_slice(json).map_err(|e| VerifyError::InvalidJwks(e.to_string()))
}

/// The usable keys of a JWK Set: all must be valid Ed25519 public keys with distinct kids, and there must be one.
pub(crate) fn key_set(jwks: &Jwks) -> Result<KeySet, VerifyError> {
    if jwks.keys.is_empty() {
        return Err(VerifyError::InvalidJwks("the key set has no keys".into()));
    }
    KeySet::from_jwks(jwks).map_err(|e| VerifyError::InvalidJwks(e.to_string()))
}

#[cfg(test)]
mod tests {
    use roomgate_token::{SigningKey, TokenError, TokenSpec};

    use super::*;

    const NOW: i64 = 1_700_000_000;
    const ROOM: Uuid = Uuid::from_u128(42);

    fn jwks(key: &SigningKey) -> Jwks {
        KeySet::new([key.verification_key()]).to_jwks()
    }

    fn token(key: &SigningKey, kind: TokenKind) -> String {
        key.sign(&Claims::mint(
            &TokenSpec {
                kind,
                room_id: ROOM,
                subjects: vec!["alice".into()],
                issuer: DEFAULT_ISSUER,
                audience: DEFAULT_AUDIENCE,
                ttl_secs: 600,
                participant: None,
            },
            NOW,
        ))
    }

    #[test]
    fn leeway_above_sixty_seconds_is_refused() {
        let key = SigningKey::generate();
        let at_max = Verifier::builder().leeway(MAX_LEEWAY).jwks(&jwks(&key));
        assert!(at_max.is_ok());
        let over = Verifier::builder()
            .leeway(MAX_LEEWAY + Duration::from_secs(1))
            .jwks(&jwks(&key));
        assert!(matches!(over, Err(VerifyError::Config(_))));
        let empty = Verifier::builder().issuer("").jwks(&jwks(&key));
        assert!(matches!(empty, Err(VerifyError::Config(_))));
    }

    #[test]
    fn default_leeway_is_thirty_seconds() {
        let key = SigningKey::generate();
        let verifier = Verifier::from_jwks(&jwks(&key)).unwrap();
        let token = token(&key, TokenKind::Access);
        let exp = NOW + 600;
        assert!(verifier
            .verify_access_token_cached(&token, ROOM, exp + 29)
            .is_ok());
        let err = verifier
            .verify_access_token_cached(&token, ROOM, exp + 30)
            .unwrap_err();
        assert!(matches!(err, VerifyError::Token(TokenError::Expired)));
    }

    #[test]
    fn only_access_tokens_pass() {
        let key = SigningKey::generate();
        let verifier = Verifier::from_jwks(&jwks(&key)).unwrap();
        let refresh = token(&key, TokenKind::Refresh);
        let err = verifier
            .verify_access_token_cached(&refresh, ROOM, NOW)
            .unwrap_err();
        assert!(matches!(err, VerifyError::Token(TokenError::WrongKind)));
    }

    #[test]
    fn empty_or_malformed_key_sets_are_refused() {
        for bad in [&br#"{"keys":[]}"#[..], b"{}", b"[]", b"not json", b""] {
            assert!(
                matches!(Verifier::from_jwks_json(bad), Err(VerifyError::InvalidJwks(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let key = SigningKey::generate().verification_key().to_jwk();
        let duplicate = Jwks {
            keys: vec![key.clone(), key],
        };
        assert!(matches!(
            Verifier::from_jwks(&duplicate),
            Err(VerifyError::InvalidJwks(_))
        ));
    }

    #[test]
    fn key_ids_lists_the_trusted_keys() {
        let key = SigningKey::generate();
        let verifier = Verifier::from_jwks(&jwks(&key)).unwrap();
        assert_eq!(verifier.key_ids(), vec![key.kid().to_owned()]);
    }
}
