//! Refresh refusals: one uniform 403/10010 whatever is wrong with the refresh token.
use reqwest::{Response, StatusCode};
use roomgate_store::backend_test;
use serde_json::{json, Value};

use crate::{
    harness::{assert_error, Minted, Scheme, TestApp},
    jwt::{b64, decode, encode_json, sign_with, unsigned, with_claims},
};

/// Asserts the 403 and returns its error object, so refusals can be compared.
async fn assert_forbidden(resp: Response) -> Value {
    let retry = resp.headers().get("x-should-retry").cloned();
    let error = assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
    assert_eq!(
        retry.map(|v| v.to_str().unwrap().to_owned()).as_deref(),
        Some("false")
    );
    error
}

/// A room and tokens minted for it with default lifetimes.
async fn room_with_tokens(app: &TestApp) -> (String, Minted) {
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    (room, minted)
}

/// Every refusal in one app; returns their bodies.
async fn refuse_all(app: &TestApp) -> Vec<Value> {
    let (room, minted) = room_with_tokens(app).await;
    let (other_room, other) = room_with_tokens(app).await;
    let extended = with_claims(&minted.refresh, |c| {
        c["exp"] = json!(c["exp"].as_i64().unwrap() + 86_400)
    });
    let cases = [
        (room.as_str(), minted.access.clone()),
        (room.as_str(), other.refresh.clone()),
        (other_room.as_str(), minted.refresh.clone()),
        (room.as_str(), extended),
        (room.as_str(), unsigned(&minted.refresh)),
        (room.as_str(), "garbage".to_owned()),
        (room.as_str(), String::new()),
    ];
    let mut bodies = Vec::new();
    for scheme in Scheme::BOTH {
        for (room, token) in &cases {
            bodies.push(assert_forbidden(app.refresh_token(scheme, room, token).await).await);
        }
    }
    bodies
}

backend_test! {
    async fn refusals_are_indistinguishable(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let bodies = refuse_all(&app).await;

        assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:#?}");
    }
}

backend_test! {
    async fn refresh_with_access_token_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        for scheme in Scheme::BOTH {
            assert_forbidden(app.refresh_token(scheme, &room, &minted.access).await).await;
        }
    }
}

backend_test! {
    async fn refresh_with_another_rooms_refresh_token_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, _) = room_with_tokens(&app).await;
        let (_, other) = room_with_tokens(&app).await;
        for scheme in Scheme::BOTH {
            assert_forbidden(app.refresh_token(scheme, &room, &other.refresh).await).await;
        }
    }
}

backend_test! {
    async fn refresh_for_a_room_that_never_existed_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (_, minted) = room_with_tokens(&app).await;
        let never = uuid::Uuid::new_v4().to_string();
        let moved = with_claims(&minted.refresh, |c| {
            c["grants"][0]["resources"] = json!([format!("telnyx:video:rooms:{never}")]);
        });
        for token in [&minted.refresh, &moved] {
            for scheme in Scheme::BOTH {
                assert_forbidden(app.refresh_token(scheme, &never, token).await).await;
            }
        }
    }
}

backend_test! {
    async fn refresh_with_a_tampered_payload_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let (other_room, _) = room_with_tokens(&app).await;
        let later = |c: &mut Value| c["exp"] = json!(c["exp"].as_i64().unwrap() + 1);
        let moved = |c: &mut Value| {
            c["grants"][0]["resources"] = json!([format!("telnyx:video:rooms:{other_room}")]);
        };
        let renamed = |c: &mut Value| c["grants"][0]["subjects"] = json!(["telnyx:users:mallory"]);

        assert_forbidden(
            app.refresh_token(Scheme::Original, &room, &with_claims(&minted.refresh, later))
                .await,
        )
        .await;
        let to_other = with_claims(&minted.refresh, moved);
        assert_forbidden(app.refresh_token(Scheme::Original, &other_room, &to_other).await).await;
        let as_mallory = with_claims(&minted.refresh, renamed);
        assert_forbidden(app.refresh_token(Scheme::Current, &room, &as_mallory).await).await;
        let promoted = with_claims(&minted.access, |c| c["typ"] = json!("refresh"));
        assert_forbidden(app.refresh_token(Scheme::Current, &room, &promoted).await).await;
    }
}

backend_test! {
    async fn refresh_with_an_unsigned_alg_none_token_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let signature = decode(&minted.refresh).segments[2].clone();
        let none = unsigned(&minted.refresh);
        let none_with_signature = format!("{none}{signature}");
        let payload = decode(&minted.refresh).segments[1].clone();
        let none_without_kid = format!("{}.{payload}.", encode_json(&json!({ "alg": "none" })));
        for token in [none, none_with_signature, none_without_kid] {
            for scheme in Scheme::BOTH {
                assert_forbidden(app.refresh_token(scheme, &room, &token).await).await;
            }
        }
    }
}

backend_test! {
    async fn refresh_with_a_token_signed_by_another_key_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let genuine = decode(&minted.refresh);
        let mallory = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mallory_jwk = json!({
            "kty": "OKP", "crv": "Ed25519", "x": b64(mallory.verifying_key().as_bytes()),
        });
        let headers = [
            genuine.header.clone(),
            json!({ "alg": "EdDSA", "typ": "JWT" }),
            json!({ "alg": "EdDSA", "typ": "JWT", "jwk": mallory_jwk }),
        ];
        for header in headers {
            let forged = sign_with(&mallory, &header, &genuine.claims);
            assert_forbidden(app.refresh_token(Scheme::Original, &room, &forged).await).await;
        }
    }
}

backend_test! {
    async fn refresh_with_an_hs256_token_keyed_by_the_public_key_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let genuine = decode(&minted.refresh);
        let jwks: Value = app
            .get("/.well-known/jwks.json", None)
            .await
            .json()
            .await
            .unwrap();
        let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
        let raw_x = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &x).unwrap();

        for secret in [raw_x, x.into_bytes()] {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.kid = genuine.header["kid"].as_str().map(str::to_owned);
            let key = jsonwebtoken::EncodingKey::from_secret(&secret);
            let forged = jsonwebtoken::encode(&header, &genuine.claims, &key).unwrap();
            assert_forbidden(app.refresh_token(Scheme::Original, &room, &forged).await).await;
        }
    }
}

backend_test! {
    async fn refresh_with_an_expired_refresh_token_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let iat = decode(&minted.refresh).int("iat");

        let at_expiry = app
            .refresh_at(iat + 3600, Scheme::Original, &room, &minted.refresh)
            .await;
        assert_forbidden(at_expiry).await;
        app.set_clock(iat + 3601);
        assert_forbidden(app.refresh_token(Scheme::Current, &room, &minted.refresh).await).await;
    }
}

backend_test! {
    async fn refresh_token_before_its_not_before_time_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let nbf = decode(&minted.refresh).int("nbf");

        let early = app
            .refresh_at(nbf - 1, Scheme::Original, &room, &minted.refresh)
            .await;

        assert_forbidden(early).await;
    }
}

#[tokio::test]
async fn refresh_token_is_valid_from_its_not_before_time_and_not_before() {
    let app = TestApp::spawn().await;
    let (room, minted) = room_with_tokens(&app).await;
    let nbf = decode(&minted.refresh).int("nbf");
    assert_eq!(
        nbf,
        decode(&minted.refresh).int("iat") - 1,
        "Telnyx's shape: valid a second before issue"
    );

    let at_nbf = app
        .refresh_at(nbf, Scheme::Original, &room, &minted.refresh)
        .await;
    let before_nbf = app
        .refresh_at(nbf - 1, Scheme::Original, &room, &minted.refresh)
        .await;

    assert_eq!(at_nbf.status(), StatusCode::CREATED);
    assert_forbidden(before_nbf).await;
}

backend_test! {
    async fn refresh_token_of_a_deleted_room_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let deleted = app.delete(&format!("/v2/rooms/{room}"), Some(&app.api_key)).await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

        for scheme in Scheme::BOTH {
            assert_forbidden(app.refresh_token(scheme, &room, &minted.refresh).await).await;
        }
    }
}

backend_test! {
    async fn refresh_with_garbage_is_forbidden(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (room, minted) = room_with_tokens(&app).await;
        let jwt = decode(&minted.refresh);
        let garbage = [
            String::new(),
            "garbage".into(),
            "a.b.c".into(),
            "..".into(),
            "ü.ü.ü".into(),
            "x".repeat(5000),
            format!("{}.{}", jwt.segments[0], jwt.segments[1]),
            format!("{}x", minted.refresh),
            format!("{}.", minted.refresh),
            format!(" {}", minted.refresh),
            format!("{}.{}.{}", jwt.segments[0], b64(b"not json"), jwt.segments[2]),
            format!("{}.{}.{}", jwt.segments[0], jwt.segments[1], b64(&[0; 64])),
        ];
        for token in garbage {
            assert_forbidden(app.refresh_token(Scheme::Current, &room, &token).await).await;
        }
    }
}
