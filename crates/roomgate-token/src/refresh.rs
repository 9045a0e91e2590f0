//! Refresh tokens: compact JWS MACed with HMAC-SHA256 (`alg: HS256`) under secrets only the server holds.
//!
//! A refresh token is only ever checked by the server that minted it, so it needs no public-key signature: a MAC
//! proves the same at a fraction of the cost, and a refresh token then never verifies under the published keys,
//! so no verifier that forgets to check `typ` can take one for a join token. Its header says what it is
//! (`"typ":"roomgate-refresh+jwt"`, RFC 8725 explicit typing); its claims are an access token's with
//! `typ: "refresh"` and the minting API key's id.
//!
//! Each signing key has one refresh secret, derived from its seed with HKDF-SHA256 (RFC 5869) under a salt that
//! names this purpose: the secret is stored, sealed and shared by replicas exactly as the seed is, rotates and
//! retires with it, and is never published. Its `kid` is the signing key's with [`REFRESH_KID_PREFIX`].
//!
//! [`verify_refresh`] pins the algorithm to the token kind: HS256 under these secrets, or, for refresh tokens
//! minted before refresh tokens were MACed, EdDSA under the signing keys while such tokens can still be alive.

use std::fmt;

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

use crate::{b64, jws, verify, Claims, KeySet, SigningKey, TokenError, TokenKind, Validation};

/// The `typ` header member of a refresh token.
pub const REFRESH_TYP: &str = "roomgate-refresh+jwt";

/// Prefix of a refresh secret's `kid`; the signing key's kid follows.
pub const REFRESH_KID_PREFIX: &str = "rt.";

/// HKDF salt of refresh secrets: names the purpose, so the secret is independent of any other use of the seed.
const HKDF_SALT: &[u8] = b"roomgate refresh-token HMAC-SHA256 v1";

/// Length of an HMAC-SHA256 tag in bytes.
const MAC_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A refresh secret with its kid. `Debug` shows only the kid.
#[derive(Clone)]
pub struct RefreshKey {
    kid: String,
    /// HMAC state keyed with the secret (the key block already absorbed), cloned per token.
    mac: HmacSha256,
    /// base64url of `{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"<kid>"}`, computed once.
    header_segment: String,
}

impl fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RefreshKey {
    /// The refresh secret paired with `key`: HKDF-SHA256 (salt: this purpose, IKM: the seed, info: the kid).
    pub fn derive(key: &SigningKey) -> RefreshKey {
        let mut secret = [0u8; 32];
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(HKDF_SALT), key.seed());
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32: this cannot fail.
        if hkdf.expand(key.kid().as_bytes(), &mut secret).is_err() {
            unreachable!("32 bytes is a valid HKDF-SHA256 output length");
        }
        let refresh = RefreshKey::from_secret(format!("{REFRESH_KID_PREFIX}{}", key.kid()), &secret);
        secret.fill(0);
        std::hint::black_box(&secret);
        refresh
    }

    /// A refresh key for a 32-byte secret under `kid`.
    pub fn from_secret(kid: String, secret: &[u8; 32]) -> RefreshKey {
        let header_segment = jws::Header {
            alg: "HS256",
            typ: REFRESH_TYP,
            kid: &kid,
        }
        .segment();
        let mac = match HmacSha256::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes a key of any length"),
        };
        RefreshKey {
            kid,
            mac,
            header_segment,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Compact JWS: header `{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"<kid>"}` (this exact member order),
    /// payload = serde_json of `claims`, HMAC-SHA256 tag.
    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_payload(&jws::payload_of(claims))
    }

    /// Compact JWS of raw `payload` bytes under this key's header.
    pub fn sign_payload(&self, payload: &[u8]) -> String {
        jws::assemble::<MAC_LEN>(&self.header_segment, payload, |input| {
            self.mac
                .clone()
                .chain_update(input)
                .finalize()
                .into_bytes()
                .into()
        })
    }

    /// Whether `tag` is this key's MAC of `input`, in constant time.
    fn verifies(&self, input: &[u8], tag: &[u8; MAC_LEN]) -> bool {
        self.mac.clone().chain_update(input).verify_slice(tag).is_ok()
    }
}

/// The refresh secrets a server accepts, by kid. Small (one per published signing key).
#[derive(Clone, Debug, Default)]
pub struct RefreshKeys {
    keys: Vec<RefreshKey>,
}

impl RefreshKeys {
    /// A set of keys; a later key with the same kid replaces an earlier one.
    pub fn new(keys: impl IntoIterator<Item = RefreshKey>) -> Self {
        let mut set = RefreshKeys::default();
        for key in keys {
            match set.keys.iter_mut().find(|k| k.kid == key.kid) {
                Some(slot) => *slot = key,
                None => set.keys.push(key),
            }
        }
        set
    }

    /// The key with this kid.
    pub fn get(&self, kid: &str) -> Option<&RefreshKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Whether a key with this kid is present.
    pub fn contains(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verify a refresh token at `now` and check its claims against `validation` (whose kind must be
/// [`TokenKind::Refresh`], else [`TokenError::WrongKind`]).
///
/// `alg: HS256` tokens must carry `typ: "roomgate-refresh+jwt"` and a `kid` of `keys`. `EdDSA` tokens, minted before
/// refresh tokens were MACed, verify under `legacy` (the signing keys) when it is given, and are refused
/// ([`TokenError::UnsupportedAlgorithm`]) when it is not. Any other `alg` is refused.
pub fn verify_refresh(
    token: &str,
    keys: &RefreshKeys,
    legacy: Option<&KeySet>,
    validation: &Validation,
    now: i64,
) -> Result<Claims, TokenError> {
    if validation.kind != TokenKind::Refresh {
        return Err(TokenError::WrongKind);
    }
    let (header_seg, payload_seg, tag_seg) = jws::split(token)?;
    let header = jws::decode_header(header_seg)?;
    match header.get("alg") {
        None => return Err(TokenError::Malformed("missing alg")),
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) if alg == "EdDSA" || alg == "Ed25519" => {
            return match legacy {
                Some(signing_keys) => verify(token, signing_keys, validation, now),
                None => Err(TokenError::UnsupportedAlgorithm),
            }
        }
        Some(Value::String(_)) => return Err(TokenError::UnsupportedAlgorithm),
        Some(_) => return Err(TokenError::Malformed("alg must be a string")),
    }
    match header.get("typ") {
        Some(Value::String(typ)) if typ == REFRESH_TYP => {}
        _ => return Err(TokenError::Malformed("typ must be roomgate-refresh+jwt")),
    }
    let kid = jws::check_members(&header)?.ok_or(TokenError::Malformed("missing kid"))?;
    let payload = b64::decode(payload_seg, "payload is not base64url")?;
    let tag: [u8; MAC_LEN] = b64::decode_array(tag_seg, "MAC must be 32 bytes of base64url")?;
    let key = keys.get(&kid).ok_or(TokenError::UnknownKey)?;
    let input = &token[..header_seg.len() + 1 + payload_seg.len()];
    if !key.verifies(input.as_bytes(), &tag) {
        return Err(TokenError::BadSignature);
    }
    // Only now, with an authentic payload, look at the claims.
    let claims = verify::parse_claims(&payload)?;
    validation.check(&claims, now)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
    use uuid::Uuid;

    const NOW: i64 = 1_700_000_000;
    const ROOM: Uuid = Uuid::from_u128(7);

    fn claims(kind: TokenKind) -> Claims {
        let mut claims = Claims::mint(
            &TokenSpec {
                kind,
                room_id: ROOM,
                subjects: vec!["telnyx:users:acme".into()],
                issuer: DEFAULT_ISSUER,
                audience: DEFAULT_AUDIENCE,
                ttl_secs: 3600,
                participant: None,
            },
            NOW,
        );
        claims.api_key_id = Some(Uuid::from_u128(42));
        claims
    }

    fn refresh() -> Validation {
        Validation::new(TokenKind::Refresh).room(ROOM)
    }

    fn signing() -> SigningKey {
        SigningKey::from_seed(&[5; 32])
    }

    #[test]
    fn round_trip_with_the_explicit_header() {
        let key = RefreshKey::derive(&signing());
        let token = key.sign(&claims(TokenKind::Refresh));
        let (_, payload) = crate::decode_unverified(&token).unwrap();
        let header = b64::decode(token.split('.').next().unwrap(), "header").unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(
                r#"{{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"rt.{}"}}"#,
                signing().kid()
            )
        );
        assert_eq!(payload["api_key_id"], "00000000-0000-0000-0000-00000000002a");
        let keys = RefreshKeys::new([key]);
        let checked = verify_refresh(&token, &keys, None, &refresh(), NOW).unwrap();
        assert_eq!(checked, claims(TokenKind::Refresh).clone_with_jti(&checked.jti));
    }

    impl Claims {
        fn clone_with_jti(mut self, jti: &str) -> Claims {
            jti.clone_into(&mut self.jti);
            self
        }
    }

    #[test]
    fn derivation_is_deterministic_distinct_and_not_the_seed() {
        let a = RefreshKey::derive(&signing());
        let again = RefreshKey::derive(&SigningKey::from_seed(&[5; 32]));
        let other = RefreshKey::derive(&SigningKey::from_seed(&[6; 32]));
        let payload = b"{}";
        assert_eq!(a.sign_payload(payload), again.sign_payload(payload));
        assert_ne!(
            a.sign_payload(payload).rsplit('.').next(),
            other.sign_payload(payload).rsplit('.').next()
        );
        // The secret is not the seed itself (nor the seed under another kid).
        let seed_as_secret = RefreshKey::from_secret(a.kid().to_owned(), &[5; 32]);
        assert_ne!(seed_as_secret.sign_payload(payload), a.sign_payload(payload));
    }

    /// RFC 5869 test case 1, through the same crate call `derive` makes, so a change of HKDF is seen.
    #[test]
    fn hkdf_matches_rfc_5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut okm)
            .unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// RFC 4231 test case 2: the MAC is HMAC-SHA256 exactly.
    #[test]
    fn mac_matches_rfc_4231_case_2() {
        let mut secret = [0u8; 32];
        secret[..4].copy_from_slice(b"Jefe");
        // HMAC pads a short key with zeros to the block size: "Jefe" and "Jefe" + 28 zero bytes are the same key.
        let key = RefreshKey::from_secret("k".into(), &secret);
        let message = b"what do ya want for nothing?";
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let tag: [u8; 32] = (0..32)
            .map(|i| u8::from_str_radix(&expected[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        assert!(key.verifies(message, &tag));
        let mut wrong = tag;
        wrong[31] ^= 1;
        assert!(!key.verifies(message, &wrong));
    }

    #[test]
    fn wrong_keys_tampering_and_headers_are_refused() {
        let key = RefreshKey::derive(&signing());
        let keys = RefreshKeys::new([key.clone()]);
        let token = key.sign(&claims(TokenKind::Refresh));
        let check = |t: &str| verify_refresh(t, &keys, None, &refresh(), NOW);
        assert!(check(&token).is_ok());

        let other = RefreshKey::from_secret(key.kid().to_owned(), &[1; 32]);
        assert_eq!(
            check(&other.sign(&claims(TokenKind::Refresh))),
            Err(TokenError::BadSignature)
        );
        let stranger = RefreshKey::derive(&SigningKey::from_seed(&[9; 32]));
        assert_eq!(
            check(&stranger.sign(&claims(TokenKind::Refresh))),
            Err(TokenError::UnknownKey)
        );
        let (h, p, s) = jws::split(&token).unwrap();
        let mut changed = claims(TokenKind::Refresh);
        changed.exp += 1;
        let other_payload = b64::encode(&serde_json::to_vec(&changed).unwrap());
        assert_eq!(
            check(&format!("{h}.{other_payload}.{s}")),
            Err(TokenError::BadSignature)
        );
        for bad_tag in ["", "AAAA", &s[..s.len() - 1], &format!("{s}A")] {
            assert!(matches!(
                check(&format!("{h}.{p}.{bad_tag}")),
                Err(TokenError::Malformed(_))
            ));
        }

        let with_header = |header: &str| {
            let input = format!("{}.{p}", b64::encode(header.as_bytes()));
            let tag = key
                .mac
                .clone()
                .chain_update(input.as_bytes())
                .finalize()
                .into_bytes();
            format!("{input}.{}", b64::encode(&tag))
        };
        let kid = key.kid();
        assert!(check(&with_header(&format!(
            r#"{{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"{kid}"}}"#
        )))
        .is_ok());
        for header in [
            format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"HS256","typ":"ROOMGATE-REFRESH+JWT","kid":"{kid}"}}"#),
            r#"{"alg":"HS256","typ":"roomgate-refresh+jwt"}"#.to_owned(),
            format!(r#"{{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"{kid}","jku":"https://evil"}}"#),
            format!(r#"{{"alg":"HS256","typ":"roomgate-refresh+jwt","kid":"{kid}","crit":["exp"]}}"#),
            format!(r#"{{"alg":"HS256","alg":"HS256","typ":"roomgate-refresh+jwt","kid":"{kid}"}}"#),
            format!(r#"{{"alg":["HS256"],"typ":"roomgate-refresh+jwt","kid":"{kid}"}}"#),
            format!(r#"{{"typ":"roomgate-refresh+jwt","kid":"{kid}"}}"#),
        ] {
            assert!(
                matches!(check(&with_header(&header)), Err(TokenError::Malformed(_))),
                "{header}"
            );
        }
        for alg in ["none", "hs256", "HS384", "HS512", "RS256", ""] {
            let header = format!(r#"{{"alg":"{alg}","typ":"roomgate-refresh+jwt","kid":"{kid}"}}"#);
            assert_eq!(
                check(&with_header(&header)),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn claims_are_checked_after_the_mac() {
        let key = RefreshKey::derive(&signing());
        let keys = RefreshKeys::new([key.clone()]);
        let check = |c: &Claims, v: &Validation| verify_refresh(&key.sign(c), &keys, None, v, NOW);
        // An HS256 token whose claims say access is refused even under the right secret, and an access
        // validation never accepts a MACed token.
        assert_eq!(
            check(&claims(TokenKind::Access), &refresh()),
            Err(TokenError::WrongKind)
        );
        assert_eq!(
            check(&claims(TokenKind::Refresh), &Validation::new(TokenKind::Access)),
            Err(TokenError::WrongKind)
        );
        assert_eq!(
            check(
                &claims(TokenKind::Refresh),
                &Validation::new(TokenKind::Refresh).room(Uuid::from_u128(8))
            ),
            Err(TokenError::WrongRoom)
        );
        let mut expired = claims(TokenKind::Refresh);
        expired.exp = NOW;
        assert_eq!(check(&expired, &refresh()), Err(TokenError::Expired));
    }

    #[test]
    fn an_access_verifier_refuses_a_maced_token_even_under_the_right_secret() {
        let signing = signing();
        let mac = RefreshKey::derive(&signing);
        let public = KeySet::new([signing.verification_key()]);
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            let token = mac.sign(&claims(kind));
            assert_eq!(
                verify(&token, &public, &Validation::new(kind), NOW),
                Err(TokenError::UnsupportedAlgorithm)
            );
        }
    }

    #[test]
    fn ed25519_refresh_tokens_verify_only_as_legacy() {
        let signing = signing();
        let keys = RefreshKeys::new([RefreshKey::derive(&signing)]);
        let public = KeySet::new([signing.verification_key()]);
        let legacy = signing.sign(&claims(TokenKind::Refresh));
        assert!(verify_refresh(&legacy, &keys, Some(&public), &refresh(), NOW).is_ok());
        assert_eq!(
            verify_refresh(&legacy, &keys, None, &refresh(), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
        // The legacy path is the full Ed25519 check: typ, claims, signature.
        let access = signing.sign(&claims(TokenKind::Access));
        assert_eq!(
            verify_refresh(&access, &keys, Some(&public), &refresh(), NOW),
            Err(TokenError::WrongKind)
        );
        let stranger = SigningKey::from_seed(&[9; 32]).sign(&claims(TokenKind::Refresh));
        assert_eq!(
            verify_refresh(&stranger, &keys, Some(&public), &refresh(), NOW),
            Err(TokenError::UnknownKey)
        );
    }

    /// The fuzz corpus's HS256 refresh token was made by `fuzz/seeds.py` with Python's hmac/hashlib (HKDF by hand):
    /// an implementation of the derivation and the MAC that is not this crate's.
    #[test]
    fn a_refresh_token_maced_by_an_independent_implementation_verifies() {
        let token = include_str!("../../../fuzz/corpus/token/seed-refresh-hs256");
        let signing = SigningKey::from_seed(&[7; 32]);
        let keys = RefreshKeys::new([RefreshKey::derive(&signing)]);
        let claims = verify_refresh(
            token,
            &keys,
            None,
            &Validation::new(TokenKind::Refresh),
            1_800_000_000,
        )
        .unwrap();
        assert_eq!(
            claims.api_key_id,
            Some(Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001))
        );
        let other = RefreshKeys::new([RefreshKey::derive(&SigningKey::from_seed(&[8; 32]))]);
        assert!(verify_refresh(
            token,
            &other,
            None,
            &Validation::new(TokenKind::Refresh),
            1_800_000_000
        )
        .is_err());
    }

    #[test]
    fn debug_shows_only_the_kid() {
        let key = RefreshKey::from_secret("k1".into(), &[0x42; 32]);
        let dbg = format!("{key:?} {key:#?} {:?}", RefreshKeys::new([key.clone()]));
        assert!(dbg.contains("k1"));
        for needle in ["66, 66", "0x42", "4242", "QkJC"] {
            assert!(!dbg.contains(needle), "{dbg}");
        }
    }

    #[test]
    fn key_set_lookup() {
        let a = RefreshKey::from_secret("a".into(), &[1; 32]);
        let b = RefreshKey::from_secret("b".into(), &[2; 32]);
        let replaced = RefreshKey::from_secret("a".into(), &[3; 32]);
        let set = RefreshKeys::new([a, b, replaced.clone()]);
        assert_eq!(set.len(), 2);
        assert!(set.contains("a") && set.contains("b") && !set.contains("c"));
        assert!(!set.is_empty() && RefreshKeys::default().is_empty());
        assert_eq!(
            set.get("a").map(|k| k.sign_payload(b"x")),
            Some(replaced.sign_payload(b"x"))
        );
    }
}
