//! The signing keys in memory: the one that signs now and the set that is published and verifies.
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Bytes;
use roomgate_store::{SigningKeyRecord, Store, StoreError};
use roomgate_token::{KeySet, SigningKey, VerificationKey};

/// A consistent snapshot of the keys.
#[derive(Debug)]
pub struct KeyRing {
    /// The key that signs new tokens.
    pub signing: SigningKey,
    /// Every published key, for verifying refresh tokens.
    pub public: KeySet,
    /// `/.well-known/jwks.json`, serialized once.
    pub jwks_json: Bytes,
}

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key is unusable.
    #[error("stored signing key {kid} is corrupt: {why}")]
    Corrupt {
        /// Which key.
        kid: String,
        /// What is wrong.
        why: String,
    },
    /// No key may sign yet.
    #[error("no signing key is active")]
    NoActiveKey,
}

impl KeyRing {
    /// Builds a ring from stored records at time `now` (Unix seconds).
    pub fn from_records(records: &[SigningKeyRecord], now: i64) -> Result<Self, KeyError> {
        let mut published = Vec::new();
        let mut signing: Option<(&SigningKeyRecord, SigningKey)> = None;
        for rec in records.iter().filter(|r| r.retire_at.is_none_or(|t| t > now)) {
            let seed: &[u8; 32] = rec
                .private_key
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Corrupt {
                    kid: rec.kid.clone(),
                    why: "private key is not 32 bytes".into(),
                })?;
            let key = SigningKey::from_seed(seed);
            if key.kid() != rec.kid
                || key.verification_key().as_bytes().as_slice() != rec.public_key.as_slice()
            {
                return Err(KeyError::Corrupt {
                    kid: rec.kid.clone(),
                    why: "public key does not match".into(),
                });
            }
            published.push(key.verification_key());
            let newer = signing
                .as_ref()
                .is_none_or(|(cur, _)| rec.activate_at >= cur.activate_at);
            if rec.activate_at <= now && newer {
                signing = Some((rec, key));
            }
        }
        let (_, signing) = signing.ok_or(KeyError::NoActiveKey)?;
        let public = KeySet::new(published);
        let jwks_json = Bytes::from(serde_json::to_vec(&public.to_jwks()).unwrap_or_default());
        Ok(Self {
            signing,
            public,
            jwks_json,
        })
    }
}

/// Shared, swappable key ring: readers never block.
#[derive(Debug)]
pub struct Keys(ArcSwap<KeyRing>);

impl Keys {
    /// Loads the keys from the store, creating and storing the first key if there is none.
    pub async fn load_or_create(store: &dyn Store, now: i64) -> Result<Self, KeyError> {
        let mut records = store.signing_keys().await?;
        if records.is_empty() {
            let key = SigningKey::generate();
            let record = record_for(&key, now, now);
            match store.insert_signing_key(&record).await {
                // Another replica created its first key at the same moment: use whatever is stored.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            records = store.signing_keys().await?;
        }
        Ok(Self(ArcSwap::from_pointee(KeyRing::from_records(&records, now)?)))
    }

    /// Re-reads the keys from the store (after a rotation).
    pub async fn reload(&self, store: &dyn Store, now: i64) -> Result<(), KeyError> {
        let records = store.signing_keys().await?;
        self.0.store(Arc::new(KeyRing::from_records(&records, now)?));
        Ok(())
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<KeyRing> {
        self.0.load_full()
    }
}

/// The stored form of a key that signs from `activate_at`.
pub fn record_for(key: &SigningKey, created_at: i64, activate_at: i64) -> SigningKeyRecord {
    let public: &VerificationKey = &key.verification_key();
    SigningKeyRecord {
        kid: key.kid().to_owned(),
        private_key: key.seed().to_vec(),
        public_key: public.as_bytes().to_vec(),
        created_at,
        activate_at,
        retire_at: None,
    }
}
