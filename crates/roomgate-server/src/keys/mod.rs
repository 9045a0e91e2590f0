//! Signing keys in memory: the one that signs now and the published set that verifies; and their lifecycle.
//!
//! Each signing key also yields the secret that MACs refresh tokens ([`RefreshKey::derive`]): it lives, rotates,
//! retires and is shared by replicas with the key it comes from, and is never published.
//!
//! A rotation stores a new key that is published at once but signs only after a publish delay, so verifiers
//! that cache the JWKS learn it before they meet it. The keys it replaces keep verifying until every token they
//! signed has expired (the longest refresh TTL plus leeway), then drop out of the JWKS.
pub mod sealing;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Bytes;
use roomgate_store::{SigningKeyRecord, Store, StoreError};
use roomgate_token::{
    Claims, KeySet, RefreshKey, RefreshKeys, SigningKey, TokenError, TokenKind, Validation,
};

pub use sealing::{MasterKey, SealError};

/// How long after a key stops signing it keeps verifying: until every token it signed has expired, verifier
/// leeway included.
pub const RETIRE_AFTER_SECS: i64 = crate::domain::TOKEN_HORIZON_SECS;

/// A consistent snapshot of the keys.
#[derive(Debug)]
pub struct KeyRing {
    /// The key that signs new tokens.
    pub signing: SigningKey,
    /// Every published key: what verifiers trust, and what checks refresh tokens minted before they were MACed.
    pub public: KeySet,
    /// The signing key's refresh secret, which MACs new refresh tokens.
    pub refresh_signing: RefreshKey,
    /// The refresh secret of every published key, for checking refresh tokens; never published.
    pub refresh: RefreshKeys,
    /// `/.well-known/jwks.json`, serialized once.
    pub jwks_json: Bytes,
}

/// Why the keys could not be loaded or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored private key could not be opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A stored key does not match its public half or kid.
    #[error("stored signing key {0} does not match its public key")]
    Mismatch(String),
    /// No key may sign yet.
    #[error("no signing key is active")]
    NoActiveKey,
}

/// Where a key is in its life at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Pending,
    /// Signing (and published).
    Active,
    /// Published and verifying, no longer signing.
    Previous,
    /// Neither published nor used.
    Retired,
}

impl KeyState {
    /// A lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Previous => "previous",
            Self::Retired => "retired",
        }
    }
}

/// The state of each record at `now`, in the records' order.
pub fn states(records: &[SigningKeyRecord], now: i64) -> Vec<KeyState> {
    let active = signing_index(records, now);
    records
        .iter()
        .enumerate()
        .map(|(i, r)| match () {
            _ if r.retire_at_secs.is_some_and(|t| t <= now) => KeyState::Retired,
            _ if Some(i) == active => KeyState::Active,
            _ if r.activate_at_secs > now => KeyState::Pending,
            _ => KeyState::Previous,
        })
        .collect()
}

/// The published key that activated last (ties: the later record), which signs.
fn signing_index(records: &[SigningKeyRecord], now: i64) -> Option<usize> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.activate_at_secs <= now && r.retire_at_secs.is_none_or(|t| t > now))
        .max_by_key(|(i, r)| (r.activate_at_secs, *i))
        .map(|(i, _)| i)
}

impl KeyRing {
    /// Builds a ring from stored records at time `now` (Unix seconds).
    pub fn from_records(
        records: &[SigningKeyRecord],
        master: Option<&MasterKey>,
        now: i64,
    ) -> Result<Self, KeyError> {
        let signing_at = signing_index(records, now).ok_or(KeyError::NoActiveKey)?;
        let mut published = Vec::new();
        let mut refresh = Vec::new();
        let mut signing = None;
        for (i, rec) in records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.retire_at_secs.is_none_or(|t| t > now))
        {
            let key = SigningKey::from_seed(&sealing::open(master, &rec.kid, &rec.private_key)?);
            if key.kid() != rec.kid
                || key.verification_key().as_bytes().as_slice() != rec.public_key.as_slice()
            {
                return Err(KeyError::Mismatch(rec.kid.clone()));
            }
            published.push(key.verification_key());
            refresh.push(RefreshKey::derive(&key));
            if i == signing_at {
                signing = Some(key);
            }
        }
        let signing = signing.ok_or(KeyError::NoActiveKey)?;
        let public = KeySet::new(published);
        let jwks_json = Bytes::from(serde_json::to_vec(&public.to_jwks()).unwrap_or_default());
        Ok(Self {
            refresh_signing: RefreshKey::derive(&signing),
            refresh: RefreshKeys::new(refresh),
            signing,
            public,
            jwks_json,
        })
    }
}

/// Shared, swappable key ring: readers never block.
#[derive(Debug)]
pub struct Keys {
    ring: ArcSwap<KeyRing>,
    master: Option<MasterKey>,
    /// When a token with an unknown `kid` last made us re-read the keys; held during that re-read, so that
    /// concurrent misses wait for it instead of being refused.
    last_miss_reload: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// The fewest seconds between re-reads caused by unknown `kid`s, so forged ones cannot load the store.
const MISS_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

impl Keys {
    /// Loads the keys, creating and storing the first key if the store has none (never otherwise: a key that
    /// cannot be opened is an error, not a reason to make a new one).
    pub async fn load_or_create(
        store: &dyn Store,
        master: Option<MasterKey>,
        now: i64,
    ) -> Result<Self, KeyError> {
        let mut records = store.signing_keys().await?;
        if records.is_empty() {
            let record = new_record(&SigningKey::generate(), master.as_ref(), now, now);
            match store.insert_signing_key(&record).await {
                // Another replica created its first key at the same moment: use whatever is stored.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            records = store.signing_keys().await?;
        }
        if master.is_some() {
            for r in records.iter().filter(|r| !sealing::is_sealed(&r.private_key)) {
                tracing::warn!(kid = %r.kid, "signing key is stored unencrypted; rotate to replace it");
            }
        }
        let ring = KeyRing::from_records(&records, master.as_ref(), now)?;
        Ok(Self {
            ring: ArcSwap::from_pointee(ring),
            master,
            last_miss_reload: Default::default(),
        })
    }

    /// Re-reads the keys from the store and recomputes which one signs at `now`.
    pub async fn reload(&self, store: &dyn Store, now: i64) -> Result<(), KeyError> {
        let records = store.signing_keys().await?;
        self.ring.store(Arc::new(KeyRing::from_records(
            &records,
            self.master.as_ref(),
            now,
        )?));
        Ok(())
    }

    /// After a token named a `kid` we do not know: re-reads the keys, at most once per 250 ms. Returns whether
    /// the keys were re-read by this call or by another within the interval (the caller then checks the token
    /// again). A miss that comes while another one's re-read runs waits for it: when a rotated-in key starts
    /// signing on another replica, every request carrying it at once must find it, not only the first.
    pub async fn reload_after_miss(&self, store: &dyn Store, now: i64) -> bool {
        let mut last = self.last_miss_reload.lock().await;
        if last.is_some_and(|t| t.elapsed() < MISS_RELOAD_INTERVAL) {
            return true;
        }
        *last = Some(std::time::Instant::now());
        self.reload(store, now).await.is_ok()
    }

    /// Verifies `token` as `validation.kind` says against the current keys at `now`; when it names a `kid` they
    /// do not hold, re-reads them (see [`Self::reload_after_miss`]) and verifies once more: a key rotated in on
    /// another replica signs there before this one's periodic re-read. Refresh tokens are MACed; those signed
    /// with Ed25519 before that still verify under the signing keys.
    pub async fn verify(
        &self,
        store: &dyn Store,
        token: &str,
        validation: &Validation,
        now: i64,
    ) -> Result<Claims, TokenError> {
        let check = |keys: &KeyRing| match validation.kind {
            TokenKind::Access => roomgate_token::verify(token, &keys.public, validation, now),
            TokenKind::Refresh => {
                roomgate_token::verify_refresh(token, &keys.refresh, Some(&keys.public), validation, now)
            }
        };
        let verified = check(&self.current());
        if verified == Err(TokenError::UnknownKey) && self.reload_after_miss(store, now).await {
            return check(&self.current());
        }
        verified
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring.load_full()
    }

    /// The master key, if private keys are sealed.
    pub fn master(&self) -> Option<&MasterKey> {
        self.master.as_ref()
    }
}

/// The stored form of `key`, sealed when a master key is given.
pub fn new_record(
    key: &SigningKey,
    master: Option<&MasterKey>,
    created_at: i64,
    activate_at: i64,
) -> SigningKeyRecord {
    let private_key = match master {
        Some(m) => m.seal(key.kid(), key.seed()),
        None => key.seed().to_vec(),
    };
    SigningKeyRecord {
        kid: key.kid().to_owned(),
        private_key,
        public_key: key.verification_key().as_bytes().to_vec(),
        created_at_secs: created_at,
        activate_at_secs: activate_at,
        retire_at_secs: None,
    }
}

/// Stores a new key that signs from `now + publish_delay_secs` and schedules the keys it replaces to retire once
/// every token they can still sign has expired. With `unless_created_since`, does nothing (returns `None`) if a
/// key was created at or after that time: replicas rotating on a schedule then rotate once between them.
pub async fn rotate(
    store: &dyn Store,
    master: Option<&MasterKey>,
    now: i64,
    publish_delay_secs: i64,
    unless_created_since: Option<i64>,
) -> Result<Option<SigningKeyRecord>, KeyError> {
    let existing = store.signing_keys().await?;
    if master.is_none() {
        // Never mix: a plaintext key beside sealed ones would silently undo encryption at rest.
        if let Some(sealed) = existing.iter().find(|r| sealing::is_sealed(&r.private_key)) {
            return Err(SealError::MasterKeyMissing(sealed.kid.clone()).into());
        }
    }
    // Strictly after every key already scheduled, so the newest rotation always wins, even within one second.
    let latest = existing
        .iter()
        .map(|r| r.activate_at_secs)
        .max()
        .unwrap_or(i64::MIN);
    let activate_at = (now + publish_delay_secs.max(0)).max(latest.saturating_add(1));
    let record = new_record(&SigningKey::generate(), master, now, activate_at);
    let retire_others_at = activate_at + RETIRE_AFTER_SECS;
    let rotated = store
        .rotate_signing_key(&record, retire_others_at, unless_created_since)
        .await?;
    Ok(rotated.then_some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_keys() -> (roomgate_store::testing::TestDatabase, Arc<dyn Store>, Arc<Keys>) {
        let db = roomgate_store::testing::TestDatabase::new(roomgate_store::testing::Backend::Sqlite).await;
        let store: Arc<dyn Store> = roomgate_store::connect(db.url()).await.unwrap();
        let keys = Arc::new(Keys::load_or_create(store.as_ref(), None, 0).await.unwrap());
        (db, store, keys)
    }

    fn claims(kind: TokenKind, room_id: uuid::Uuid, now: i64) -> Claims {
        let spec = roomgate_token::TokenSpec {
            kind,
            room_id,
            subjects: vec!["telnyx:users:x".into()],
            issuer: roomgate_token::DEFAULT_ISSUER,
            audience: roomgate_token::DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: None,
        };
        Claims::mint(&spec, now)
    }

    /// A key rotated in elsewhere signs before this replica re-reads the keys: its access and refresh tokens
    /// verify after one re-read, and a key no store holds stays unknown.
    #[tokio::test]
    async fn verify_rereads_the_keys_once_on_an_unknown_kid() {
        let (_db, store, keys) = store_with_keys().await;
        let room = uuid::Uuid::new_v4();
        let rotated = SigningKey::generate();
        store
            .insert_signing_key(&new_record(&rotated, None, 1, 1))
            .await
            .unwrap();
        let access = rotated.sign(&claims(TokenKind::Access, room, 2));
        let refresh = RefreshKey::derive(&rotated).sign(&claims(TokenKind::Refresh, room, 2));
        assert_eq!(
            roomgate_token::verify(
                &access,
                &keys.current().public,
                &Validation::new(TokenKind::Access),
                2
            ),
            Err(TokenError::UnknownKey),
            "the rotated-in key is not loaded yet"
        );
        for (kind, token) in [(TokenKind::Access, &access), (TokenKind::Refresh, &refresh)] {
            let validation = Validation::new(kind).room(room);
            let claims = keys.verify(store.as_ref(), token, &validation, 2).await;
            assert_eq!(claims.map(|c| c.typ), Ok(kind), "{kind:?}");
        }
        let stranger = SigningKey::generate().sign(&claims(TokenKind::Access, room, 2));
        assert_eq!(
            keys.verify(store.as_ref(), &stranger, &Validation::new(TokenKind::Access), 2)
                .await,
            Err(TokenError::UnknownKey)
        );
        // A known key's token that fails for another reason fails for that reason.
        let wrong_room = Validation::new(TokenKind::Access).room(uuid::Uuid::new_v4());
        assert_eq!(
            keys.verify(store.as_ref(), &access, &wrong_room, 2).await,
            Err(TokenError::WrongRoom)
        );
    }

    /// Every one of many concurrent requests carrying a rotated-in key must find it after its miss, not only the
    /// one whose miss re-read the keys.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_all_see_the_key_one_reload_found() {
        let (_db, store, keys) = store_with_keys().await;
        let rotated = SigningKey::generate();
        store
            .insert_signing_key(&new_record(&rotated, None, 1, 1))
            .await
            .unwrap();
        let room = uuid::Uuid::new_v4();
        let token = rotated.sign(&claims(TokenKind::Access, room, 2));
        let misses: Vec<_> = (0..16)
            .map(|_| {
                let (keys, store, token) = (keys.clone(), store.clone(), token.clone());
                tokio::spawn(async move {
                    let validation = Validation::new(TokenKind::Access).room(room);
                    keys.verify(store.as_ref(), &token, &validation, 2).await
                })
            })
            .collect();
        for miss in misses {
            assert!(
                miss.await.unwrap().is_ok(),
                "a miss was answered without the rotated-in key"
            );
        }
        assert_eq!(keys.current().signing.kid(), rotated.kid());
    }

    /// The last refresh token a replaced key signs (just before its successor activates, with the longest
    /// lifetime) must keep verifying until it expires, verifier leeway included; then the key retires.
    #[tokio::test]
    async fn a_replaced_key_verifies_until_its_longest_token_has_expired() {
        use crate::domain::{revocation::VERIFIER_LEEWAY_SECS, RefreshTtl};
        let (_db, store, keys) = store_with_keys().await;
        let old = keys.current().signing.kid().to_owned();
        let new = rotate(store.as_ref(), None, 10, 5, None).await.unwrap().unwrap();
        let last_signed = new.activate_at_secs - 1;
        let expires = last_signed + RefreshTtl::MAX + VERIFIER_LEEWAY_SECS;
        let records = store.signing_keys().await.unwrap();
        let ring = |now| KeyRing::from_records(&records, None, now).unwrap();
        assert_eq!(ring(last_signed).signing.kid(), old);
        assert!(
            ring(expires).public.contains(&old),
            "retired before its last token expired"
        );
        assert!(
            !ring(expires + 1).public.contains(&old),
            "kept after every token it signed expired"
        );
    }

    fn rec(key: &SigningKey, activate_at: i64, retire_at: Option<i64>) -> SigningKeyRecord {
        SigningKeyRecord {
            retire_at_secs: retire_at,
            ..new_record(key, None, 0, activate_at)
        }
    }

    #[test]
    fn the_latest_activated_key_signs_and_pending_keys_are_published() {
        let (old, new) = (SigningKey::generate(), SigningKey::generate());
        let records = [rec(&old, 0, Some(1000)), rec(&new, 100, None)];
        let before = KeyRing::from_records(&records, None, 99).unwrap();
        assert_eq!(before.signing.kid(), old.kid());
        assert!(
            before.public.contains(new.kid()),
            "a pending key is published before it signs"
        );
        let after = KeyRing::from_records(&records, None, 100).unwrap();
        assert_eq!(after.signing.kid(), new.kid());
        assert!(
            after.public.contains(old.kid()),
            "the previous key still verifies"
        );
        let retired = KeyRing::from_records(&records, None, 1000).unwrap();
        assert!(!retired.public.contains(old.kid()));
        assert_eq!(states(&records, 99), [KeyState::Active, KeyState::Pending],);
        assert_eq!(states(&records, 500), [KeyState::Previous, KeyState::Active]);
        assert_eq!(states(&records, 1000), [KeyState::Retired, KeyState::Active]);
    }

    #[test]
    fn a_tampered_public_key_is_refused() {
        let key = SigningKey::generate();
        let mut r = rec(&key, 0, None);
        r.public_key[0] ^= 1;
        assert!(matches!(
            KeyRing::from_records(&[r], None, 1),
            Err(KeyError::Mismatch(_))
        ));
    }

    #[test]
    fn sealed_keys_need_the_master_key() {
        let master = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let key = SigningKey::generate();
        let sealed = new_record(&key, Some(&master), 0, 0);
        assert_ne!(sealed.private_key, key.seed().to_vec());
        assert!(KeyRing::from_records(std::slice::from_ref(&sealed), Some(&master), 1).is_ok());
        let missing = KeyRing::from_records(&[sealed], None, 1).unwrap_err();
        assert!(missing.to_string().contains("ROOMGATE_MASTER_KEY"), "{missing}");
    }
}
