//! Token headers that try to choose the key or the algorithm: refused, and never followed.

use roomgate_token::{jws, Claims, SigningKey, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use roomgate_verify::{TokenError, Verifier, VerifyError};
use serde_json::json;

use crate::support::{access_token, JwksServer, NOW, ROOM};

/// A valid access token for ROOM signed by `key`, under a header the test writes.
fn token_with_header(header: &serde_json::Value, key: &SigningKey) -> String {
    let claims = Claims::mint(
        &TokenSpec {
            kind: TokenKind::Access,
            room_id: ROOM,
            subjects: vec![],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: None,
        },
        NOW,
    );
    let payload = serde_json::to_vec(&claims).expect("claims");
    let seed = ed25519_dalek::SigningKey::from_bytes(key.seed());
    jws::sign_compact(&header.to_string(), &payload, &seed)
}

#[tokio::test]
async fn key_url_headers_cause_no_request_and_are_refused() {
    let (trusted, attacker) = (SigningKey::generate(), SigningKey::generate());
    let honest = JwksServer::with_keys(&[&trusted]).await;
    // The attacker's JWKS really holds the key that signed the token.
    let trap = JwksServer::with_keys(&[&attacker]).await;
    let verifier = Verifier::from_jwks_url(&honest.url()).expect("verifier");
    verifier
        .verify_access_token(&access_token(&trusted), ROOM, NOW)
        .await
        .expect("valid");
    assert_eq!(honest.hits(), 1);

    let attacker_jwk = serde_json::to_value(attacker.verification_key().to_jwk()).expect("jwk");
    let headers = [
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": attacker.kid(), "jku": trap.url() }),
        json!({ "alg": "EdDSA", "typ": "JWT", "jku": trap.url() }),
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": attacker.kid(), "x5u": trap.url() }),
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": attacker.kid(), "jwk": attacker_jwk }),
        // Even with the trusted kid: the header must not carry a key pointer at all.
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": trusted.kid(), "jku": trap.url() }),
    ];
    for header in &headers {
        let token = token_with_header(header, &attacker);
        let err = verifier.verify_access_token(&token, ROOM, NOW).await.unwrap_err();
        assert!(
            matches!(err, VerifyError::Token(TokenError::Malformed(_))),
            "{header}: {err:?}"
        );
    }
    assert_eq!(trap.hits(), 0, "the jku/x5u URL was never requested");
    assert_eq!(honest.hits(), 1, "a refused header is no reason to refetch");
}

#[tokio::test]
async fn only_eddsa_is_accepted_and_no_algorithm_triggers_a_fetch() {
    let key = SigningKey::generate();
    let server = JwksServer::with_keys(&[&key]).await;
    let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("valid");
    for alg in ["none", "HS256", "RS256", "ES256", "eddsa", "ED25519"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": key.kid() });
        let token = token_with_header(&header, &key);
        let err = verifier.verify_access_token(&token, ROOM, NOW).await.unwrap_err();
        assert!(
            matches!(err, VerifyError::Token(TokenError::UnsupportedAlgorithm)),
            "{alg}: {err:?}"
        );
    }
    // Both registered names of Ed25519 pass.
    for alg in ["EdDSA", "Ed25519"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": key.kid() });
        let token = token_with_header(&header, &key);
        verifier.verify_access_token(&token, ROOM, NOW).await.expect(alg);
    }
    assert_eq!(server.hits(), 1);
}
