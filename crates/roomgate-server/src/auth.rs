//! API keys: 256-bit random secrets, stored only as SHA-256 hashes.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use roomgate_store::{ApiKeyRecord, NewApiKey, Store, StoreError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const PREFIX: &str = "rg_";

/// An API key secret. `Debug` shows only its public prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A fresh key: `rg_` followed by 32 random bytes in base64url.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        Ok(Self(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// Wraps a key presented by a client.
    pub fn from_secret(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, to show once to its owner.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up: SHA-256 of the secret. A fast hash suffices for 256-bit random keys.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.0)
    }

    /// The first characters, safe to list so owners can tell keys apart.
    pub fn prefix(&self) -> String {
        self.0.chars().take(PREFIX.len() + 6).collect()
    }
}

/// SHA-256 of a presented key.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

/// A key just made by [`create_api_key`]: what the store holds, and the secret, which it does not.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The stored record (id, account, prefix), as `roomgate api-keys list` shows it.
    pub record: ApiKeyRecord,
    /// The secret, to show its owner this once.
    pub key: ApiKey,
}

/// Why no key was created.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// The operating system gave no random bytes.
    #[error("no randomness available")]
    Randomness(#[from] getrandom::Error),
    /// The store refused the account or the key.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a key for the account named `account` (created if new) and stores its hash, stamped `now` (Unix
/// microseconds). What `roomgate api-keys create` does, and how tests get their keys.
pub async fn create_api_key(
    store: &dyn Store,
    account: &str,
    name: Option<String>,
    now: i64,
) -> Result<CreatedApiKey, CreateKeyError> {
    let key = ApiKey::generate()?;
    let record = store_api_key(store, account, name, &key, now).await?;
    Ok(CreatedApiKey { record, key })
}

/// Stores the hash of `key` for the account named `account` (created if new), stamped `now` (Unix
/// microseconds). For a secret that must be kept somewhere else first, as `roomgate serve`'s first key is.
pub async fn store_api_key(
    store: &dyn Store,
    account: &str,
    name: Option<String>,
    key: &ApiKey,
    now: i64,
) -> Result<ApiKeyRecord, StoreError> {
    let account_id = store.ensure_account(account, now).await?;
    store
        .insert_api_key(&NewApiKey {
            id: Uuid::new_v4(),
            account_id,
            name,
            prefix: key.prefix(),
            key_hash: key.hash(),
            created_at: now,
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_distinct_and_hash_stably() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose_secret().len(), 3 + 43);
        assert_eq!(a.hash(), hash(a.expose_secret()));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn debug_shows_only_the_prefix() {
        let key = ApiKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.expose_secret()[10..]), "{shown}");
        assert!(shown.starts_with("ApiKey(rg_"));
    }
}
