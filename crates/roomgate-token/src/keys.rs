//! Ed25519 signing keys, verification keys and the trusted key set.

use std::fmt;

#[cfg(feature = "aws-lc")]
use aws_lc_rs::signature::Ed25519KeyPair;

use crate::{b64, jws, Claims, Jwk, Jwks, TokenError};

/// Length of an Ed25519 signature in bytes.
const SIGNATURE_LEN: usize = 64;

/// An Ed25519 private signing key with its key id. Debug shows only the kid.
///
/// With the `aws-lc` feature (the default) it signs with aws-lc-rs (AWS-LC's assembly: 1.8x ed25519-dalek's speed
/// on x86_64), without it with ed25519-dalek. Ed25519 signatures are deterministic (RFC 8032), so both make the same
/// bytes; ed25519-dalek keeps the seed and the public key, and verification everywhere stays its `verify_strict`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    /// The seed (for storage) and the public key (for the kid); zeroized on drop.
    key: ed25519_dalek::SigningKey,
    /// The same key in AWS-LC, which signs. Clones share it (reference-counted); AWS-LC cleanses it when freed.
    #[cfg(feature = "aws-lc")]
    signer: Ed25519KeyPair,
    /// base64url of `{"alg":"EdDSA","typ":"JWT","kid":"<kid>"}`, computed once.
    header_segment: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from OS randomness; kid = RFC 7638 JWK thumbprint of the public key.
    ///
    /// # Panics
    /// If the operating system's random number generator is unavailable.
    pub fn generate() -> SigningKey {
        let mut seed = [0u8; 32];
        if let Err(e) = getrandom::getrandom(&mut seed) {
            panic!("OS random number generator unavailable: {e}");
        }
        let key = SigningKey::from_seed(&seed);
        // Best effort: the copies inside `key` are zeroized on drop (ed25519-dalek) or cleansed when freed (AWS-LC).
        seed.fill(0);
        std::hint::black_box(&seed);
        key
    }

    /// The key for a 32-byte private seed; kid = RFC 7638 JWK thumbprint of the public key.
    ///
    /// # Panics
    /// If AWS-LC derives another public key from the seed than ed25519-dalek (it never has: the check is there
    /// so that a key one library disagrees on can never sign), or cannot allocate.
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        #[cfg(feature = "aws-lc")]
        let signer = match Ed25519KeyPair::from_seed_and_public_key(seed, key.verifying_key().as_bytes()) {
            Ok(signer) => signer,
            Err(e) => panic!("AWS-LC refused an Ed25519 seed ed25519-dalek accepts: {e}"),
        };
        let kid = VerificationKey::thumbprint_of(&key.verifying_key());
        let header_segment = jws::Header {
            alg: "EdDSA",
            typ: "JWT",
            kid: &kid,
        }
        .segment();
        SigningKey {
            kid,
            key,
            #[cfg(feature = "aws-lc")]
            signer,
            header_segment,
        }
    }

    /// The 64-byte Ed25519 signature of `input`, by AWS-LC.
    #[cfg(feature = "aws-lc")]
    fn sign_bytes(&self, input: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(self.signer.sign(input).as_ref());
        signature
    }

    /// The 64-byte Ed25519 signature of `input`, by ed25519-dalek.
    #[cfg(not(feature = "aws-lc"))]
    fn sign_bytes(&self, input: &[u8]) -> [u8; SIGNATURE_LEN] {
        use ed25519_dalek::Signer as _;
        self.key.sign(input).to_bytes()
    }

    /// The RFC 8032 Ed25519 signature of `message` as is (not a JWS): what roomgate signs webhook deliveries with.
    pub fn sign_message(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.sign_bytes(message)
    }

    /// The 32-byte private seed, for storage.
    pub fn seed(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The matching public key, with the same kid.
    pub fn verification_key(&self) -> VerificationKey {
        VerificationKey::new(self.kid.clone(), self.key.verifying_key())
    }

    /// Compact JWS: header `{"alg":"EdDSA","typ":"JWT","kid":"<kid>"}` (this exact member order), payload = serde_json of claims.
    pub fn sign(&self, claims: &Claims) -> String {
        jws::assemble::<SIGNATURE_LEN>(&self.header_segment, &jws::payload_of(claims), |input| {
            self.sign_bytes(input)
        })
    }
}

/// A public key with its kid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationKey {
    kid: String,
    key: ed25519_dalek::VerifyingKey,
}

impl VerificationKey {
    /// Pair a kid with a public key (no weak-key check; verification rejects weak keys anyway).
    pub fn new(kid: String, key: ed25519_dalek::VerifyingKey) -> Self {
        VerificationKey { kid, key }
    }

    /// Parse a 32-byte compressed Edwards point; rejects invalid and small-order (weak) points.
    pub fn from_bytes(kid: String, bytes: &[u8; 32]) -> Result<Self, TokenError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| TokenError::InvalidKey("not a valid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(TokenError::InvalidKey("small-order Ed25519 public key"));
        }
        Ok(VerificationKey { kid, key })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32 public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The underlying ed25519-dalek key.
    pub fn key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// This key as an RFC 8037 JWK with kid, alg "EdDSA" and use "sig".
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kid: Some(self.kid.clone()),
            alg: Some("EdDSA".to_owned()),
            use_: Some("sig".to_owned()),
            ..Self::bare_jwk(&self.key)
        }
    }

    fn bare_jwk(key: &ed25519_dalek::VerifyingKey) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: b64::encode(key.as_bytes()),
            kid: None,
            alg: None,
            use_: None,
        }
    }

    fn thumbprint_of(key: &ed25519_dalek::VerifyingKey) -> String {
        Self::bare_jwk(key).thumbprint()
    }
}

/// The public keys a verifier trusts, by kid. Small (a handful of keys).
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    /// A set of keys; a later key with the same kid replaces an earlier one.
    pub fn new(keys: impl IntoIterator<Item = VerificationKey>) -> Self {
        let mut set = KeySet::default();
        for key in keys {
            set.insert(key);
        }
        set
    }

    /// Add `key`, replacing any key with the same kid.
    pub fn insert(&mut self, key: VerificationKey) {
        match self.keys.iter_mut().find(|k| k.kid == key.kid) {
            Some(slot) => *slot = key,
            None => self.keys.push(key),
        }
    }

    /// Keys from a JWK Set; any invalid key or a repeated kid is an error.
    pub fn from_jwks(jwks: &Jwks) -> Result<Self, TokenError> {
        let mut set = KeySet {
            keys: Vec::with_capacity(jwks.keys.len()),
        };
        for jwk in &jwks.keys {
            let key = jwk.to_verification_key()?;
            if set.contains(key.kid()) {
                return Err(TokenError::InvalidKey("duplicate kid in JWKS"));
            }
            set.keys.push(key);
        }
        Ok(set)
    }

    /// The keys as a JWK Set, in insertion order.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(VerificationKey::to_jwk).collect(),
        }
    }

    /// The key with this kid.
    pub fn get(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this kid is present.
    pub fn contains(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }

    /// All keys, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &VerificationKey> {
        self.keys.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const SEED: [u8; 32] = [0x42; 32];

    #[test]
    fn debug_never_shows_the_seed() {
        let key = SigningKey::from_seed(&SEED);
        let dbg = format!("{key:?} {key:#?}");
        assert!(dbg.contains(key.kid()));
        let seed = key.seed();
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed);
        let b64std = base64::engine::general_purpose::STANDARD.encode(seed);
        for needle in [
            hex.as_str(),
            &hex.to_uppercase(),
            &b64url,
            &b64std,
            "66, 66",
            "0x42",
        ] {
            assert!(!dbg.contains(needle), "Debug leaks seed: {dbg}");
        }
        let random = SigningKey::generate();
        let dbg = format!("{random:?}");
        let hex: String = random.seed().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dbg.contains(&hex) && !dbg.contains(&format!("{:?}", random.seed())));
    }

    #[cfg(feature = "aws-lc")]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// AWS-LC signs, ed25519-dalek verifies and every other verifier expects RFC 8032's bytes.
        #[test]
        fn aws_lc_signatures_are_byte_identical_to_ed25519_dalek(
            seed in proptest::prelude::any::<[u8; 32]>(),
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        ) {
            use ed25519_dalek::Signer as _;
            let key = SigningKey::from_seed(&seed);
            let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
            proptest::prop_assert_eq!(key.sign_bytes(&message), dalek.sign(&message).to_bytes());
        }
    }

    #[test]
    fn signs_the_rfc8037_a4_vector() {
        // RFC 8037 A.1's private key and A.4's signing input and signature.
        let seed: [u8; 32] = b64::decode_array("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "d").unwrap();
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let signature =
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let key = SigningKey::from_seed(&seed);
        assert_eq!(b64::encode(&key.sign_bytes(input.as_bytes())), signature);
    }

    #[test]
    fn a_clone_signs_after_the_original_is_dropped() {
        let key = SigningKey::generate();
        let clone = key.clone();
        drop(key);
        let again = SigningKey::from_seed(clone.seed());
        assert_eq!(clone.sign_bytes(b"m"), again.sign_bytes(b"m"));
    }

    #[test]
    fn seed_round_trip_and_kid_is_thumbprint() {
        let key = SigningKey::generate();
        let again = SigningKey::from_seed(key.seed());
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.verification_key(), key.verification_key());
        assert_eq!(key.kid(), key.verification_key().to_jwk().thumbprint());
        assert_eq!(key.kid().len(), 43);
        assert_ne!(SigningKey::generate().seed(), key.seed());
    }

    #[test]
    fn header_segment_is_exact() {
        let key = SigningKey::from_seed(&SEED);
        let header = b64::decode(&key.header_segment, "h").unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, key.kid())
        );
    }

    #[test]
    fn verification_key_from_bytes_checks_points() {
        let vk = SigningKey::from_seed(&SEED).verification_key();
        let again = VerificationKey::from_bytes("k".into(), vk.as_bytes()).unwrap();
        assert_eq!(again.as_bytes(), vk.as_bytes());
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            VerificationKey::from_bytes("k".into(), &identity),
            Err(TokenError::InvalidKey(_))
        ));
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert!(VerificationKey::from_bytes("k".into(), &off_curve).is_err());
    }

    #[test]
    fn key_set_lookup_and_jwks_round_trip() {
        let a = SigningKey::from_seed(&[1; 32]).verification_key();
        let b = SigningKey::from_seed(&[2; 32]).verification_key();
        let set = KeySet::new([a.clone(), b.clone()]);
        assert_eq!(set.len(), 2);
        assert!(!set.is_empty() && KeySet::default().is_empty());
        assert!(set.contains(a.kid()) && set.contains(b.kid()) && !set.contains("nope"));
        assert_eq!(set.get(b.kid()), Some(&b));

        let jwks = set.to_jwks();
        let json = serde_json::to_string(&jwks).unwrap();
        let parsed: Jwks = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, jwks);
        let back = KeySet::from_jwks(&parsed).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), set.iter().collect::<Vec<_>>());

        let dup = Jwks {
            keys: vec![a.to_jwk(), a.to_jwk()],
        };
        assert!(matches!(KeySet::from_jwks(&dup), Err(TokenError::InvalidKey(_))));

        let renamed = VerificationKey::new(a.kid().into(), *b.key());
        let replaced = KeySet::new([a.clone(), renamed.clone()]);
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced.get(a.kid()), Some(&renamed));
    }
}
