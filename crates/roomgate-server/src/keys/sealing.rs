//! Private signing keys at rest: sealed with a key-encryption key (the master key) when one is configured.
use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    XChaCha20Poly1305, XNonce,
};

/// Marks a sealed private key: `RGK1 ‖ 24-byte nonce ‖ ciphertext (32 + 16 bytes)`.
const MAGIC: &[u8; 4] = b"RGK1";
const NONCE_LEN: usize = 24;
const SEALED_LEN: usize = MAGIC.len() + NONCE_LEN + 32 + 16;

/// A 256-bit key-encryption key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(XChaCha20Poly1305);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Why a master key or a sealed private key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The master key is not 32 bytes of standard base64.
    #[error("the master key must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")]
    BadMasterKey,
    /// The stored key is sealed and no master key was given.
    #[error("signing key {0} is encrypted at rest: set ROOMGATE_MASTER_KEY or ROOMGATE_MASTER_KEY_FILE")]
    MasterKeyMissing(String),
    /// The master key does not open the stored key: it changed, or the row was tampered with.
    #[error("signing key {0} cannot be decrypted with the configured master key (was it changed?)")]
    WrongMasterKey(String),
    /// The stored bytes are neither a plain nor a sealed key.
    #[error("signing key {0} is corrupt")]
    Corrupt(String),
}

impl MasterKey {
    /// Parses a base64-encoded 32-byte key (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadMasterKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadMasterKey)?;
        Ok(Self(XChaCha20Poly1305::new(&bytes.into())))
    }

    /// Seals a private seed; the kid is bound as associated data, so a sealed key cannot be moved to another row.
    pub fn seal(&self, kid: &str, seed: &[u8; 32]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: seed,
                    aad: kid.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of 32 bytes cannot fail");
        [MAGIC.as_slice(), nonce.as_slice(), &ciphertext].concat()
    }
}

/// Whether stored bytes are a sealed key.
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.len() == SEALED_LEN && stored.starts_with(MAGIC)
}

/// The private seed from its stored form, plain (32 bytes) or sealed.
pub fn open(master: Option<&MasterKey>, kid: &str, stored: &[u8]) -> Result<[u8; 32], SealError> {
    if let Ok(seed) = <[u8; 32]>::try_from(stored) {
        return Ok(seed);
    }
    if !is_sealed(stored) {
        return Err(SealError::Corrupt(kid.to_owned()));
    }
    let master = master.ok_or_else(|| SealError::MasterKeyMissing(kid.to_owned()))?;
    let (nonce, ciphertext) = stored[MAGIC.len()..].split_at(NONCE_LEN);
    let plain = master
        .0
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: kid.as_bytes(),
            },
        )
        .map_err(|_| SealError::WrongMasterKey(kid.to_owned()))?;
    plain.try_into().map_err(|_| SealError::Corrupt(kid.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn sealed_keys_open_only_with_the_same_master_key_and_kid() {
        let a = MasterKey::from_base64(KEY_A).unwrap();
        let sealed = a.seal("kid1", &[9; 32]);
        assert!(is_sealed(&sealed));
        assert!(
            !sealed.windows(32).any(|w| w == [9; 32]),
            "the seed must not appear in clear"
        );
        assert_eq!(open(Some(&a), "kid1", &sealed), Ok([9; 32]));
        let b = MasterKey::from_base64(KEY_B).unwrap();
        assert_eq!(
            open(Some(&b), "kid1", &sealed),
            Err(SealError::WrongMasterKey("kid1".into()))
        );
        assert_eq!(
            open(Some(&a), "kid2", &sealed),
            Err(SealError::WrongMasterKey("kid2".into()))
        );
        assert_eq!(
            open(None, "kid1", &sealed),
            Err(SealError::MasterKeyMissing("kid1".into()))
        );
    }

    #[test]
    fn plain_keys_still_open_and_garbage_is_corrupt() {
        assert_eq!(open(None, "k", &[3; 32]), Ok([3; 32]));
        assert_eq!(open(None, "k", &[3; 31]), Err(SealError::Corrupt("k".into())));
    }

    #[test]
    fn master_key_must_be_32_bytes_of_base64_and_never_debugs() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        let key = MasterKey::from_base64(&format!("  {KEY_A}\n")).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }
}
