//! Fixed key sets: from a file, JSON or a `Jwks`, with no network and no async runtime.

use std::io::Write as _;

use roomgate_token::{Claims, SigningKey, TokenKind, TokenSpec};
use roomgate_verify::{TokenError, Verifier, VerifyError};
use uuid::Uuid;

use crate::support::{access_token, jwks_json, jwks_json_with_private_key, NOW, ROOM};

fn jwks_file(json: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(json).expect("write JWKS");
    file
}

#[test]
fn file_verifier_accepts_a_good_token_with_no_network_and_no_runtime() {
    let key = SigningKey::generate();
    let file = jwks_file(&jwks_json(&[&key]));
    let verifier = Verifier::from_jwks_file(file.path()).expect("verifier");
    let token = access_token(&key);

    let claims = verifier
        .verify_access_token_cached(&token, ROOM, NOW)
        .expect("valid");
    assert_eq!(claims.room_id(), Some(ROOM));
    assert_eq!(claims.typ, TokenKind::Access);

    // The async entry point completes without a runtime too: a plain executor polls it.
    let again = futures::executor::block_on(verifier.verify_access_token(&token, ROOM, NOW));
    assert_eq!(again.expect("valid"), claims);
    // And offline it needs nothing else: refresh is a no-op.
    futures::executor::block_on(verifier.refresh()).expect("no-op");
}

#[test]
fn file_verifier_still_refuses_what_it_must() {
    let key = SigningKey::generate();
    let file = jwks_file(&jwks_json(&[&key]));
    let verifier = Verifier::from_jwks_file(file.path()).expect("verifier");
    let token = access_token(&key);
    let refused =
        |token: &str, room: Uuid, now: i64| match verifier.verify_access_token_cached(token, room, now) {
            Err(VerifyError::Token(e)) => e,
            other => panic!("expected a token error, got {other:?}"),
        };
    assert_eq!(refused(&token, Uuid::from_u128(1), NOW), TokenError::WrongRoom);
    assert_eq!(refused(&token, ROOM, NOW + 600 + 30), TokenError::Expired);
    let stranger = access_token(&SigningKey::generate());
    assert_eq!(refused(&stranger, ROOM, NOW), TokenError::UnknownKey);
    let mut tampered = token.clone();
    tampered.replace_range(token.len() - 4.., "AAAA");
    assert!(matches!(
        refused(&tampered, ROOM, NOW),
        TokenError::BadSignature | TokenError::Malformed(_)
    ));
}

#[test]
fn a_join_grant_without_the_join_action_is_refused() {
    let key = SigningKey::generate();
    let verifier = Verifier::from_jwks_json(&jwks_json(&[&key])).expect("verifier");
    let mut claims = minted(None);
    claims.grants[0].actions = vec!["publish".into()];
    let err = verifier
        .verify_access_token_cached(&key.sign(&claims), ROOM, NOW)
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Token(TokenError::WrongRoom)),
        "{err:?}"
    );
}

fn minted(participant: Option<&roomgate_token::Participant>) -> Claims {
    let spec = TokenSpec {
        kind: TokenKind::Access,
        room_id: ROOM,
        subjects: vec![],
        issuer: roomgate_token::DEFAULT_ISSUER,
        audience: roomgate_token::DEFAULT_AUDIENCE,
        ttl_secs: 600,
        participant,
    };
    Claims::mint(&spec, NOW)
}

#[test]
fn an_unknown_grants_major_is_refused_and_unknown_actions_ignored() {
    let key = SigningKey::generate();
    let verifier = Verifier::from_jwks_json(&jwks_json(&[&key])).expect("verifier");
    let who = roomgate_token::Participant {
        identity: Some("alice".into()),
        ..Default::default()
    };
    for version in ["3.0.0", "0.9.0", "two", ""] {
        let mut claims = minted(Some(&who));
        claims.grants_version = version.into();
        let err = verifier
            .verify_access_token_cached(&key.sign(&claims), ROOM, NOW)
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::Token(TokenError::UnsupportedGrants)),
            "{version}: {err:?}"
        );
        assert_eq!(err.reason(), "unsupported_grants_version");
    }
    // A newer minor of a known major, and actions this verifier has never heard of: accepted, unknowns ignored.
    let mut claims = minted(Some(&who));
    claims.grants_version = "2.3.0".into();
    claims.grants[0].actions = vec![
        "join".into(),
        "teleport".into(),
        "publish:hologram".into(),
        "subscribe".into(),
    ];
    let checked = verifier
        .verify_access_token_cached(&key.sign(&claims), ROOM, NOW)
        .expect("forward compatible");
    let p = checked.participant().expect("participant").permissions;
    assert!(!p.can_publish_any() && p.can_subscribe() && !p.can_publish_data());
    assert_eq!(checked.participant().unwrap().identity.as_deref(), Some("alice"));
}

#[test]
fn jwks_with_a_private_key_is_refused_from_file_json_and_parsed_form() {
    let (_, json) = jwks_json_with_private_key();
    let file = jwks_file(&json);
    let from_file = Verifier::from_jwks_file(file.path()).unwrap_err();
    assert!(
        matches!(&from_file, VerifyError::InvalidJwks(m) if m.contains("private")),
        "{from_file}"
    );
    assert!(matches!(
        Verifier::from_jwks_json(&json),
        Err(VerifyError::InvalidJwks(_))
    ));
    assert!(serde_json::from_slice::<roomgate_verify::Jwks>(&json).is_err());
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Verifier::from_jwks_file(dir.path().join("absent.json")).unwrap_err();
    assert!(matches!(err, VerifyError::Io(_)), "{err:?}");
    assert_eq!(err.reason(), "jwks_file");
}

#[test]
fn issuer_audience_and_leeway_are_configurable() {
    let key = SigningKey::generate();
    let json = jwks_json(&[&key]);
    let token = access_token(&key);
    let strict = Verifier::builder()
        .leeway(std::time::Duration::ZERO)
        .jwks_json(&json)
        .expect("verifier");
    assert!(strict.verify_access_token_cached(&token, ROOM, NOW + 599).is_ok());
    let err = strict
        .verify_access_token_cached(&token, ROOM, NOW + 600)
        .unwrap_err();
    assert!(matches!(err, VerifyError::Token(TokenError::Expired)));

    let other_iss = Verifier::builder()
        .issuer("roomgate.example")
        .jwks_json(&json)
        .expect("verifier");
    let err = other_iss
        .verify_access_token_cached(&token, ROOM, NOW)
        .unwrap_err();
    assert!(matches!(err, VerifyError::Token(TokenError::WrongIssuer)));
    let other_aud = Verifier::builder()
        .audience("sfu-eu-1")
        .jwks_json(&json)
        .expect("verifier");
    let err = other_aud
        .verify_access_token_cached(&token, ROOM, NOW)
        .unwrap_err();
    assert!(matches!(err, VerifyError::Token(TokenError::WrongAudience)));
}
