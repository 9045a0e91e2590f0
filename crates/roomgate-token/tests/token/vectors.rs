//! RFC 8037 Appendix A test vectors and sign → verify round trips.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use roomgate_token::{
    decode_unverified, jws, verify, Claims, Jwk, KeySet, SigningKey, TokenError, TokenKind, TokenSpec,
    Validation, DEFAULT_AUDIENCE, DEFAULT_ISSUER, MAX_TOKEN_LEN,
};
use uuid::Uuid;

/// RFC 8037 A.1 private key `d`.
const D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
/// RFC 8037 A.1/A.2 public key `x`.
const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 A.3 thumbprint.
const THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/// RFC 8037 A.4 JWS of "Example of Ed25519 signing" with header {"alg":"EdDSA"}.
const A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

const NOW: i64 = 1_700_000_000;

fn seed() -> [u8; 32] {
    URL_SAFE_NO_PAD.decode(D).unwrap().try_into().unwrap()
}

fn rfc_jwk() -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        x: X.into(),
        kid: None,
        alg: None,
        use_: None,
    }
}

#[test]
fn rfc8037_a1_a2_key_pair() {
    let key = SigningKey::from_seed(&seed());
    let vk = key.verification_key();
    assert_eq!(URL_SAFE_NO_PAD.encode(vk.as_bytes()), X);
    assert_eq!(vk.to_jwk().x, X);
    assert_eq!(rfc_jwk().to_verification_key().unwrap().as_bytes(), vk.as_bytes());
}

#[test]
fn rfc8037_a3_thumbprint_is_the_kid() {
    assert_eq!(rfc_jwk().thumbprint(), THUMBPRINT);
    assert_eq!(SigningKey::from_seed(&seed()).kid(), THUMBPRINT);
    assert_eq!(rfc_jwk().to_verification_key().unwrap().kid(), THUMBPRINT);
}

#[test]
fn rfc8037_a4_sign() {
    let key = ed25519_dalek::SigningKey::from_bytes(&seed());
    let token = jws::sign_compact(r#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing", &key);
    assert_eq!(token, A4_JWS);
}

#[test]
fn rfc8037_a5_verify() {
    let vk = rfc_jwk().to_verification_key().unwrap();
    assert_eq!(
        jws::verify_compact(A4_JWS, vk.key()).unwrap(),
        b"Example of Ed25519 signing"
    );
    // One flipped signature character breaks it.
    let mut tampered = A4_JWS.to_owned();
    tampered.replace_range(A4_JWS.len() - 5..A4_JWS.len() - 4, "A");
    assert_ne!(tampered, A4_JWS);
    assert!(jws::verify_compact(&tampered, vk.key()).is_err());
    // The A.4 token carries no kid: the full verifier finds the key by trying the set,
    // then refuses the payload because it is not a claims object.
    let keys = KeySet::new([vk]);
    assert_eq!(
        verify(A4_JWS, &keys, &Validation::new(TokenKind::Access), NOW),
        Err(TokenError::Malformed("payload is not strict JSON"))
    );
}

fn room() -> Uuid {
    Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888)
}

#[test]
fn round_trip_access_and_refresh() {
    let key = SigningKey::generate();
    let keys = KeySet::new([key.verification_key()]);
    for kind in [TokenKind::Access, TokenKind::Refresh] {
        let claims = Claims::mint(
            &TokenSpec {
                kind,
                room_id: room(),
                subjects: vec!["bob".into()],
                issuer: DEFAULT_ISSUER,
                audience: DEFAULT_AUDIENCE,
                ttl_secs: 60,
                participant: None,
            },
            NOW,
        );
        let token = key.sign(&claims);
        assert!(token.len() < 1024, "{}", token.len());
        let v = Validation::new(kind).room(room());
        assert_eq!(verify(&token, &keys, &v, NOW), Ok(claims.clone()));
        assert_eq!(verify(&token, &keys, &v, NOW + 59), Ok(claims.clone()));
        assert_eq!(verify(&token, &keys, &v, NOW + 60), Err(TokenError::Expired));
        let other = if kind == TokenKind::Access {
            TokenKind::Refresh
        } else {
            TokenKind::Access
        };
        assert_eq!(
            verify(&token, &keys, &Validation::new(other), NOW),
            Err(TokenError::WrongKind)
        );

        let (header, payload) = decode_unverified(&token).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg":"EdDSA","typ":"JWT","kid":key.kid()})
        );
        assert_eq!(payload, serde_json::to_value(&claims).unwrap());
        // The header segment is byte-exact, member order included.
        let header_text = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(header_text).unwrap(),
            format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, key.kid())
        );
    }
}

#[test]
fn custom_issuer_audience_and_key_rotation() {
    let old = SigningKey::generate();
    let new = SigningKey::generate();
    let keys = KeySet::new([old.verification_key(), new.verification_key()]);
    let v = Validation::new(TokenKind::Access).issuer("me").audience("you");
    for key in [&old, &new] {
        let claims = Claims::mint(
            &TokenSpec {
                kind: TokenKind::Access,
                room_id: room(),
                subjects: vec![],
                issuer: "me",
                audience: "you",
                ttl_secs: 60,
                participant: None,
            },
            NOW,
        );
        assert_eq!(verify(&key.sign(&claims), &keys, &v, NOW), Ok(claims));
    }
}

#[test]
fn telnyx_style_token_without_kid_tries_each_key() {
    let a = SigningKey::generate();
    let b = SigningKey::generate();
    let claims = Claims::mint(
        &TokenSpec {
            kind: TokenKind::Access,
            room_id: room(),
            subjects: vec![],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 60,
            participant: None,
        },
        NOW,
    );
    let payload = serde_json::to_vec(&claims).unwrap();
    let b_dalek = ed25519_dalek::SigningKey::from_bytes(b.seed());
    for header in [
        r#"{"alg":"EdDSA","typ":"JWT"}"#,
        r#"{"typ":"JWT","alg":"Ed25519"}"#,
    ] {
        let token = jws::sign_compact(header, &payload, &b_dalek);
        let v = Validation::new(TokenKind::Access);
        let both = KeySet::new([a.verification_key(), b.verification_key()]);
        assert_eq!(verify(&token, &both, &v, NOW), Ok(claims.clone()));
        let only_a = KeySet::new([a.verification_key()]);
        assert_eq!(verify(&token, &only_a, &v, NOW), Err(TokenError::BadSignature));
        assert_eq!(
            verify(&token, &KeySet::default(), &v, NOW),
            Err(TokenError::UnknownKey)
        );
    }
}

#[test]
fn long_but_allowed_tokens_verify_and_longer_ones_do_not() {
    let key = SigningKey::generate();
    let keys = KeySet::new([key.verification_key()]);
    let v = Validation::new(TokenKind::Access);
    let mut subjects = Vec::new();
    let mut last_ok = 0;
    loop {
        subjects.push("s".repeat(40));
        let claims = Claims::mint(
            &TokenSpec {
                kind: TokenKind::Access,
                room_id: room(),
                subjects: subjects.clone(),
                issuer: DEFAULT_ISSUER,
                audience: DEFAULT_AUDIENCE,
                ttl_secs: 60,
                participant: None,
            },
            NOW,
        );
        let token = key.sign(&claims);
        if token.len() <= MAX_TOKEN_LEN {
            assert_eq!(verify(&token, &keys, &v, NOW), Ok(claims));
            last_ok = token.len();
        } else {
            assert_eq!(verify(&token, &keys, &v, NOW), Err(TokenError::TooLong));
            assert_eq!(decode_unverified(&token), Err(TokenError::TooLong));
            break;
        }
    }
    assert!(last_ok > MAX_TOKEN_LEN - 80, "{last_ok}");
}

/// `sign_message` (what signs webhook deliveries) is plain RFC 8032 Ed25519: RFC 8037 A.4's signature is the
/// Ed25519 signature of its signing input, and RFC 8032 7.1 TEST 1's of the empty message.
#[test]
fn sign_message_is_rfc8032_ed25519() {
    let key = SigningKey::from_seed(&seed());
    let (input, signature) = A4_JWS.rsplit_once('.').unwrap();
    assert_eq!(
        key.sign_message(input.as_bytes()).to_vec(),
        URL_SAFE_NO_PAD.decode(signature).unwrap()
    );
    let test1: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        hex::encode(SigningKey::from_seed(&test1).sign_message(b"")),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}
