//! `/.well-known/jwks.json`, and minted tokens verified by code that is not roomgate's.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signature, VerifyingKey};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use reqwest::{header, StatusCode};
use roomgate_store::backend_test;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    harness::{json_body, Scheme, TestApp},
    jwt::{decode, with_claims},
};

async fn jwks(app: &TestApp) -> Value {
    json_body(app.get("/.well-known/jwks.json", None).await, StatusCode::OK).await
}

/// The published key `kid` names.
fn key_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} is published: {jwks}"))
}

/// Access tokens of every origin (minted under both schemes, and refreshed), and the refresh tokens minted.
async fn every_kind_of_token(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let room = app.new_room().await;
    let (mut access, mut refresh) = (Vec::new(), Vec::new());
    for scheme in Scheme::BOTH {
        for body in [json!({}), json!({"identity": "alice", "name": "Alice"})] {
            let minted = app.mint(scheme, &room, &body).await;
            let refreshed = json_body(
                app.refresh_token(scheme, &room, &minted.refresh).await,
                StatusCode::CREATED,
            )
            .await;
            access.extend([
                minted.access,
                refreshed["data"][scheme.token_field()]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ]);
            refresh.push(minted.refresh);
        }
    }
    (access, refresh)
}

backend_test! {
    async fn jwks_publishes_only_public_ed25519_keys(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let resp = app.get("/.well-known/jwks.json", None).await;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = json_body(resp, StatusCode::OK).await;

        assert!(content_type.starts_with("application/json"), "{content_type}");
        let keys = body["keys"].as_array().expect("keys is an array");
        assert!(!keys.is_empty());
        for key in keys {
            let mut members: Vec<_> = key.as_object().unwrap().keys().cloned().collect();
            members.sort();
            assert_eq!(
                members,
                ["alg", "crv", "kid", "kty", "use", "x"],
                "no \"d\": {key}"
            );
            assert_eq!(key["kty"], "OKP");
            assert_eq!(key["crv"], "Ed25519");
            assert_eq!(key["alg"], "EdDSA");
            assert_eq!(key["use"], "sig");
            let x = key["x"].as_str().unwrap();
            assert_eq!(URL_SAFE_NO_PAD.decode(x).expect("x is base64url").len(), 32);
            // RFC 7638: the thumbprint hashes the required members in lexicographic order.
            let input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()));
            assert_eq!(key["kid"], thumbprint.as_str());
        }
    }
}

backend_test! {
    async fn access_tokens_name_a_published_key_and_refresh_tokens_none(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let jwks = jwks(&app).await;
        let (access, refresh) = every_kind_of_token(&app).await;
        for token in access {
            key_for(&jwks, decode(&token).header["kid"].as_str().unwrap());
        }
        let published: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
        for token in refresh {
            let header = decode(&token).header;
            assert_eq!(header["alg"], "HS256", "{header}");
            assert_eq!(header["typ"], "roomgate-refresh+jwt", "{header}");
            assert!(!published.contains(&&header["kid"]), "{header} names no published key");
        }
    }
}

backend_test! {
    /// A verifier that checks signature, `iss`, `aud`, `exp` and the grant but not `typ` must not be able to take a
    /// refresh token for a join token: under the published keys it verifies as nothing, in any library.
    async fn refresh_tokens_verify_under_no_published_key(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let jwks_json = jwks(&app).await;
        let set: JwkSet = serde_json::from_value(jwks_json.clone()).unwrap();
        let keys = roomgate_token::KeySet::from_jwks(&serde_json::from_value(jwks_json).unwrap()).unwrap();
        let mut lax = Validation::new(Algorithm::EdDSA);
        lax.set_audience(&["telnyx_access_token"]);
        lax.set_issuer(&["telnyx_access_token"]);
        let (_, refresh) = every_kind_of_token(&app).await;
        for token in refresh {
            for jwk in &set.keys {
                let key = DecodingKey::from_jwk(jwk).unwrap();
                assert!(jsonwebtoken::decode::<Value>(&token, &key, &lax).is_err(), "{token}");
            }
            for kind in [roomgate_token::TokenKind::Access, roomgate_token::TokenKind::Refresh] {
                let validation = roomgate_token::Validation::new(kind);
                assert_eq!(
                    roomgate_token::verify(&token, &keys, &validation, roomgate_server::clock::Clock::now(&app.clock).unix_timestamp()),
                    Err(roomgate_token::TokenError::UnsupportedAlgorithm)
                );
            }
        }
    }
}

backend_test! {
    async fn access_tokens_verify_with_the_jsonwebtoken_crate_against_the_published_jwk(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let set: JwkSet = serde_json::from_value(jwks(&app).await).expect("jsonwebtoken reads the JWKS");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["telnyx_access_token"]);
        validation.set_issuer(&["telnyx_access_token"]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "aud", "iss"]);
        validation.validate_nbf = true;

        for token in every_kind_of_token(&app).await.0 {
            let kid = jsonwebtoken::decode_header(&token).unwrap().kid.expect("kid");
            let jwk = set.find(&kid).expect("the token's kid is in the set");
            let from_jwk = DecodingKey::from_jwk(jwk).unwrap();
            let checked = jsonwebtoken::decode::<Value>(&token, &from_jwk, &validation).expect("valid");
            assert_eq!(checked.claims, decode(&token).claims);

            let x = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) => okp.x.clone(),
                other => panic!("not an OKP key: {other:?}"),
            };
            let from_x = DecodingKey::from_ed_components(&x).unwrap();
            jsonwebtoken::decode::<Value>(&token, &from_x, &validation).expect("valid by x too");

            let tampered = with_claims(&token, |c| c["sub"] = json!("someone"));
            assert!(jsonwebtoken::decode::<Value>(&tampered, &from_jwk, &validation).is_err());
        }
    }
}

backend_test! {
    async fn access_tokens_verify_strictly_with_ed25519_dalek_against_the_published_x(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let jwks = jwks(&app).await;

        for token in every_kind_of_token(&app).await.0 {
            let jwt = decode(&token);
            let jwk = key_for(&jwks, jwt.header["kid"].as_str().unwrap());
            let x: [u8; 32] = URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let key = VerifyingKey::from_bytes(&x).expect("a valid point");
            let signature = Signature::from_slice(&jwt.signature()).expect("64 bytes");

            key.verify_strict(jwt.signing_input().as_bytes(), &signature)
                .expect("the signature covers header.payload");
            let tampered = decode(&with_claims(&token, |c| c["sub"] = json!("someone")));
            assert!(key
                .verify_strict(tampered.signing_input().as_bytes(), &signature)
                .is_err());
        }
    }
}

backend_test! {
    async fn jwks_needs_no_api_key_and_is_stable(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let first = jwks(&app).await;
        app.new_room().await;

        let bogus = app.get("/.well-known/jwks.json", Some("not-a-key")).await;

        assert_eq!(json_body(bogus, StatusCode::OK).await, first);
    }
}

backend_test! {
    async fn jwks_may_be_cached_for_five_minutes_while_token_responses_may_not(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let cache_control = |resp: &reqwest::Response| {
            resp.headers()
                .get_all(header::CACHE_CONTROL)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };

        let jwks = app.get("/.well-known/jwks.json", None).await;
        assert_eq!(jwks.status(), StatusCode::OK);
        assert_eq!(cache_control(&jwks), ["public, max-age=300"]);
        let cross_origin = app
            .request(reqwest::Method::GET, "/.well-known/jwks.json", None)
            .header(header::ORIGIN, "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(cache_control(&cross_origin), ["public, max-age=300"]);
        assert_eq!(cross_origin.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");

        let room = app.new_room().await;
        let minted = app.create_token(Scheme::Current, &room, &json!({})).await;
        assert_eq!(cache_control(&minted), ["no-store"]);
        let refused = app.refresh_token(Scheme::Current, &room, "junk").await;
        assert_eq!(cache_control(&refused), ["no-store"]);
    }
}
