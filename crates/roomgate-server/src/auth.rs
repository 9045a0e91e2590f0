//! API keys: 256-bit random secrets, stored only as SHA-256 hashes.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

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
