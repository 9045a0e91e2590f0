//! Representative forged tokens against the offline verifier: the same refusals the refresh endpoint gives.

use std::{io::ErrorKind, net::TcpListener};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use roomgate_token::{
    jws, Claims, KeySet, SigningKey, TokenError, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
};
use roomgate_verify::{Verifier, VerifyError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const NOW: i64 = 1_700_000_000;
const ROOM: Uuid = Uuid::from_u128(0xa77ac);

struct Fixture {
    key: SigningKey,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let key = SigningKey::from_seed(&[7; 32]);
    let jwks = serde_json::to_vec(&KeySet::new([key.verification_key()]).to_jwks()).unwrap();
    let verifier = Verifier::from_jwks_json(&jwks).unwrap();
    Fixture { key, verifier }
}

fn claims(kind: TokenKind) -> Claims {
    Claims::mint(
        &TokenSpec {
            kind,
            room_id: ROOM,
            subjects: vec!["telnyx:users:1".into()],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: None,
        },
        NOW,
    )
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn payload(kind: TokenKind) -> String {
    serde_json::to_string(&claims(kind)).unwrap()
}

fn ed25519(key: &SigningKey) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(key.seed())
}

impl Fixture {
    fn refuse(&self, token: &str) -> TokenError {
        match self.verifier.verify_access_token_cached(token, ROOM, NOW) {
            Err(VerifyError::Token(e)) => e,
            other => panic!("expected a token refusal, got {other:?} for {token}"),
        }
    }
}

#[test]
fn the_control_token_verifies() {
    let f = fixture();
    let token = f.key.sign(&claims(TokenKind::Access));
    f.verifier.verify_access_token_cached(&token, ROOM, NOW).unwrap();
    let forged = jws::sign_compact(
        &serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": f.key.kid() }).to_string(),
        payload(TokenKind::Access).as_bytes(),
        &ed25519(&f.key),
    );
    f.verifier.verify_access_token_cached(&forged, ROOM, NOW).unwrap();
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    for alg in ["none", "None", "NONE"] {
        let header = serde_json::json!({ "alg": alg, "typ": "JWT", "kid": f.key.kid() }).to_string();
        let body = payload(TokenKind::Access);
        f.refuse(&format!("{}.{}.", b64(&header), b64(&body)));
        let signed = jws::sign_compact(&header, body.as_bytes(), &ed25519(&f.key));
        assert_eq!(f.refuse(&signed), TokenError::UnsupportedAlgorithm);
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let f = fixture();
    let public = *f.key.verification_key().as_bytes();
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": f.key.kid() }).to_string();
    let input = format!("{}.{}", b64(&header), b64(payload(TokenKind::Access)));
    for secret in [public.to_vec(), b64(public).into_bytes()] {
        let mac = hmac_sha256(&secret, input.as_bytes());
        f.refuse(&format!("{input}.{}", b64(mac)));
    }
}

#[tokio::test]
async fn jku_is_refused_and_never_fetched() {
    let f = fixture();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    for member in ["jku", "x5u"] {
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": f.key.kid(), member: url });
        let token = jws::sign_compact(
            &header.to_string(),
            payload(TokenKind::Access).as_bytes(),
            &ed25519(&f.key),
        );
        f.refuse(&token);
        let refused = f.verifier.verify_access_token(&token, ROOM, NOW).await;
        assert!(matches!(refused, Err(VerifyError::Token(_))), "{refused:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the verifier connected to the jku/x5u URL: {other:?}"),
    }
}

#[test]
fn a_refresh_token_is_not_an_access_token() {
    let f = fixture();
    assert_eq!(
        f.refuse(&f.key.sign(&claims(TokenKind::Refresh))),
        TokenError::WrongKind
    );
}

/// What roomgate mints as refresh tokens (HS256 under the secret its signing key yields) never passes, not even an
/// HS256 token whose claims say `access` MACed with that very secret: the verifier takes EdDSA only.
#[test]
fn maced_tokens_are_refused_even_under_the_servers_own_refresh_secret() {
    let f = fixture();
    let secret = roomgate_token::RefreshKey::derive(&f.key);
    for kind in [TokenKind::Refresh, TokenKind::Access] {
        let mut c = claims(kind);
        c.api_key_id = Some(Uuid::from_u128(1));
        assert_eq!(f.refuse(&secret.sign(&c)), TokenError::UnsupportedAlgorithm);
    }
    // The same under the published key's own kid, and with a JWT typ.
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": f.key.kid() }).to_string();
    let input = format!("{}.{}", b64(&header), b64(payload(TokenKind::Access)));
    let token = format!("{input}.{}", b64([0u8; 32]));
    assert_eq!(f.refuse(&token), TokenError::UnsupportedAlgorithm);
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway() {
    let f = fixture();
    let token = f.key.sign(&claims(TokenKind::Access));
    // Default leeway is 30 s.
    let late = NOW + 600 + 30;
    match f.verifier.verify_access_token_cached(&token, ROOM, late) {
        Err(VerifyError::Token(TokenError::Expired)) => {}
        other => panic!("expected expired, got {other:?}"),
    }
    f.verifier
        .verify_access_token_cached(&token, ROOM, late - 1)
        .expect("within the leeway");
}
