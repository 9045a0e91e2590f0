//! Each reason a token of the caller's is not active, with its numbers; forgeries use the server's real key
//! so that only the one thing under test is wrong.
use reqwest::StatusCode;
use roomgate_server::Config;
use roomgate_store::{backend_test, testing::Backend};
use serde_json::{json, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use super::{
    assert_active, assert_inactive, claims_of, expected, flip_signature, introspect, mint_as, with, ServerKey,
};
use crate::attacks::b64;
use crate::harness::{json_body, Scheme, TestApp};

fn int(v: &Value, name: &str) -> i64 {
    v[name].as_i64().unwrap_or_else(|| panic!("{name} in {v}"))
}

fn iat_of(token: &str) -> i64 {
    int(&Value::from(claims_of(token)), "iat")
}

#[tokio::test]
async fn expired_tokens_say_how_long_ago() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app
        .mint(
            Scheme::Original,
            &room,
            &json!({"ttl_secs": 10, "refresh_token_ttl_secs": 60}),
        )
        .await;
    app.set_clock(iat_of(&minted.access) + 142);
    for token in [&minted.access, &minted.refresh] {
        let answer = introspect(&app, token).await;
        let (now, exp) = (int(&answer, "server_time"), int(&answer, "exp"));
        assert!(int(&answer, "expires_in") < 0, "{answer}");
        let detail = format!("expired {} s ago (exp {exp}); server time {now}", now - exp);
        assert_inactive(&answer, token, &room, "expired", &detail);
    }
}

#[tokio::test]
async fn tokens_from_a_clock_ahead_are_not_yet_valid() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    app.set_clock(iat_of(&minted.access) - 30);
    for token in [&minted.access, &minted.refresh] {
        let answer = introspect(&app, token).await;
        let (now, nbf) = (int(&answer, "server_time"), int(&answer, "nbf"));
        let detail = format!(
            "not valid for another {} s (nbf {nbf}); server time {now} — is the issuer's clock ahead?",
            nbf - now
        );
        assert_inactive(&answer, token, &room, "not_yet_valid", &detail);
    }
}

/// `POST revoke_tokens` with `selector` and reason "x"; the revocation.
async fn revoke(app: &TestApp, room: &str, selector: Value) -> Value {
    let mut body = selector;
    body["reason"] = "x".into();
    let path = format!("/v2/rooms/{room}/actions/revoke_tokens");
    json_body(
        app.post_json(&path, Some(&app.api_key), &body).await,
        StatusCode::CREATED,
    )
    .await["data"]
        .clone()
}

/// Asserts the whole answer about a token covered by `revocation`, whose selector is `selector`.
async fn assert_revoked(app: &TestApp, token: &str, room: &str, identity: Option<&str>, revocation: &Value) {
    let selector = ["jti", "identity", "issued_before"]
        .into_iter()
        .find(|s| !revocation[*s].is_null())
        .expect("a selector");
    let answer = introspect(app, token).await;
    let mut members = json!({
        "reason": "revoked",
        "revocation": {"id": revocation["id"], "reason": "x"},
        "detail": format!(
            "revoked by revocation {} ({selector}) at {}",
            revocation["id"].as_str().unwrap(),
            revocation["created_at"].as_str().unwrap()
        ),
    });
    if let Some(identity) = identity {
        members["identity"] = identity.into();
    }
    assert_eq!(answer, expected(&answer, token, room, members), "{selector}");
}

backend_test! {
    async fn revoked_tokens_name_their_revocation(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let alice = app.mint(Scheme::Original, &room, &json!({"identity": "alice"})).await;
        let bob = app.mint(Scheme::Original, &room, &json!({"identity": "bob"})).await;
        let anon = app.mint(Scheme::Original, &room, &json!({})).await;
        let is_active = |v: Value| v["active"] == true;

        let by_jti = revoke(&app, &room, json!({"jti": claims_of(&alice.access)["jti"]})).await;
        assert_revoked(&app, &alice.access, &room, Some("alice"), &by_jti).await;
        assert!(is_active(introspect(&app, &alice.refresh).await), "another jti");
        assert!(is_active(introspect(&app, &bob.access).await));

        let by_identity = revoke(&app, &room, json!({"identity": "alice"})).await;
        assert_revoked(&app, &alice.refresh, &room, Some("alice"), &by_identity).await;
        assert_revoked(&app, &alice.access, &room, Some("alice"), &by_jti).await;
        assert!(is_active(introspect(&app, &bob.refresh).await), "another identity");

        let last_iat = [&alice, &bob, &anon]
            .iter()
            .map(|m| iat_of(&m.access))
            .max()
            .unwrap();
        app.set_clock(last_iat + 5);
        let cut = OffsetDateTime::from_unix_timestamp(last_iat + 1).unwrap().format(&Rfc3339).unwrap();
        let before = revoke(&app, &room, json!({"issued_before": cut})).await;
        assert_revoked(&app, &bob.access, &room, Some("bob"), &before).await;
        assert_revoked(&app, &bob.refresh, &room, Some("bob"), &before).await;
        assert_revoked(&app, &anon.access, &room, None, &before).await;
        assert_revoked(&app, &alice.refresh, &room, Some("alice"), &by_identity).await;
        let later = app.mint(Scheme::Original, &room, &json!({"identity": "bob"})).await;
        assert!(is_active(introspect(&app, &later.access).await), "issued after the cut-off");
        assert!(is_active(introspect(&app, &later.refresh).await), "issued after the cut-off");
    }
}

backend_test! {
    async fn tokens_of_a_deleted_room_are_room_deleted_unless_already_invalid(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let v1 = app.mint(Scheme::Original, &room, &json!({})).await;
        let v2 = app.mint(Scheme::Current, &room, &json!({"identity": "alice"})).await;
        let short = app
            .mint(Scheme::Original, &room, &json!({"ttl_secs": 10, "refresh_token_ttl_secs": 60}))
            .await;
        let resp = app.delete(&format!("/v2/rooms/{room}"), Some(&app.api_key)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let detail = format!("room {room} was deleted: no token for it is accepted");
        for token in [&v1.access, &v1.refresh] {
            assert_inactive(&introspect(&app, token).await, token, &room, "room_deleted", &detail);
        }
        for token in [&v2.access, &v2.refresh] {
            let answer = introspect(&app, token).await;
            let members = json!({"identity": "alice", "reason": "room_deleted", "detail": detail});
            assert_eq!(answer, expected(&answer, token, &room, members));
        }
        // The token's own checks come first.
        app.set_clock(iat_of(&short.access) + 100);
        for token in [&short.access, &short.refresh] {
            assert_eq!(introspect(&app, token).await["reason"], "expired");
        }
    }
}

backend_test! {
    async fn refresh_tokens_of_a_revoked_api_key_are_api_key_revoked(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let second = app.new_api_key("default").await;
        let by_second = mint_as(&app, &second.secret, &room, &json!({})).await;
        let by_first = app.mint(Scheme::Original, &room, &json!({})).await;
        app.store.revoke_api_key(second.id, 0).await.unwrap();

        let answer = introspect(&app, &by_second.refresh).await;
        let detail = format!("the API key that minted this refresh token ({}) is revoked", second.id);
        assert_inactive(&answer, &by_second.refresh, &room, "api_key_revoked", &detail);
        // Access tokens name no API key: verifiers check them offline.
        assert_active(&introspect(&app, &by_second.access).await, &by_second.access, &room, json!({}));
        assert_active(&introspect(&app, &by_first.refresh).await, &by_first.refresh, &room, json!({}));
        // A deleted room outranks the key.
        app.delete(&format!("/v2/rooms/{room}"), Some(&app.api_key)).await;
        assert_eq!(introspect(&app, &by_second.refresh).await["reason"], "room_deleted");
    }
}

#[tokio::test]
async fn tokens_under_a_key_the_server_does_not_hold_are_unknown_key() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    let stranger = roomgate_token::SigningKey::generate();
    let claims = |token: &str| -> roomgate_token::Claims {
        serde_json::from_value(claims_of(token).into()).expect("claims")
    };
    let access = stranger.sign(&claims(&minted.access));
    let refresh = roomgate_token::RefreshKey::derive(&stranger).sign(&claims(&minted.refresh));
    for (token, kid) in [
        (access, stranger.kid().to_owned()),
        (refresh, format!("rt.{}", stranger.kid())),
    ] {
        let detail = format!(
            "signed under key {kid:?}, which this server does not hold (retired, or another server's)"
        );
        assert_inactive(
            &introspect(&app, &token).await,
            &token,
            &room,
            "unknown_key",
            &detail,
        );
    }
}

#[tokio::test]
async fn a_flipped_signature_byte_is_bad_signature() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let key = ServerKey::of(&app).await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    for (token, what, kid) in [
        (&minted.access, "signature", key.kid.clone()),
        (&minted.refresh, "MAC", key.refresh_kid()),
    ] {
        let flipped = flip_signature(token);
        let detail = format!("the {what} does not verify under key {kid:?}");
        assert_inactive(
            &introspect(&app, &flipped).await,
            &flipped,
            &room,
            "bad_signature",
            &detail,
        );
    }
}

#[tokio::test]
async fn tokens_that_break_the_format_are_malformed() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let key = ServerKey::of(&app).await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    let (access, refresh) = (claims_of(&minted.access), claims_of(&minted.refresh));
    let grants = "grants_version \"3.0.0\" is not one this server reads (1.x.x or 2.x.x)";
    for token in [
        key.access(&with(&access, "grants_version", "3.0.0".into())),
        key.refresh(&with(&refresh, "grants_version", "3.0.0".into())),
    ] {
        let answer = introspect(&app, &token).await;
        let mut want = expected(
            &answer,
            &token,
            &room,
            json!({"reason": "malformed", "detail": grants}),
        );
        // An unknown grants format allows nothing this server could read.
        want.as_object_mut().unwrap().remove("permissions");
        assert_eq!(answer, want);
    }
    let jws = key.sign(&json!({"alg": "EdDSA", "typ": "JWS", "kid": key.kid}), &access);
    let detail = "breaks the token format: typ must be JWT";
    assert_inactive(&introspect(&app, &jws).await, &jws, &room, "malformed", detail);
    let plain = key.mac(
        &json!({"alg": "HS256", "typ": "JWT", "kid": key.refresh_kid()}),
        &refresh,
    );
    let detail = "breaks the token format: typ must be roomgate-refresh+jwt";
    assert_inactive(
        &introspect(&app, &plain).await,
        &plain,
        &room,
        "malformed",
        detail,
    );
}

#[tokio::test]
async fn another_issuer_or_audience_is_named_beside_the_server_s() {
    let config = Config {
        audience: "media.example".into(),
        ..Config::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let room = app.new_room().await;
    let key = ServerKey::of(&app).await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    assert_eq!(claims_of(&minted.access)["aud"], "media.example");
    assert_active(
        &introspect(&app, &minted.access).await,
        &minted.access,
        &room,
        json!({}),
    );
    let (access, refresh) = (claims_of(&minted.access), claims_of(&minted.refresh));
    let issuer = "iss \"someone-else\" is not this server's (\"telnyx_access_token\")";
    let audience = "aud \"telnyx_access_token\" is not this server's (\"media.example\")";
    for (token, reason, detail) in [
        (
            key.access(&with(&access, "iss", "someone-else".into())),
            "wrong_issuer",
            issuer,
        ),
        (
            key.refresh(&with(&refresh, "iss", "someone-else".into())),
            "wrong_issuer",
            issuer,
        ),
        (
            key.access(&with(&access, "aud", "telnyx_access_token".into())),
            "wrong_audience",
            audience,
        ),
        (
            key.refresh(&with(&refresh, "aud", "telnyx_access_token".into())),
            "wrong_audience",
            audience,
        ),
    ] {
        assert_inactive(&introspect(&app, &token).await, &token, &room, reason, detail);
    }
}

#[tokio::test]
async fn an_algorithm_the_kind_does_not_use_is_unsupported() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let key = ServerKey::of(&app).await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    let (access, refresh) = (claims_of(&minted.access), claims_of(&minted.refresh));
    let refresh_header =
        |alg: &str| json!({"alg": alg, "typ": roomgate_token::REFRESH_TYP, "kid": key.refresh_kid()});
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT", "kid": key.kid}).to_string()),
        b64(Value::from(access.clone()).to_string())
    );
    let for_access = |alg: &str| format!("alg {alg:?} is not one access tokens use (EdDSA)");
    let for_refresh = |alg: &str| {
        format!(
            "alg {alg:?} is not one refresh tokens use \
             (HS256, or EdDSA for refresh tokens minted before they were MACed)"
        )
    };
    for (token, detail) in [
        (
            key.sign(&json!({"alg": "ES256", "typ": "JWT", "kid": key.kid}), &access),
            for_access("ES256"),
        ),
        // An access token MACed with the real refresh secret is still no access token.
        (key.mac(&refresh_header("HS256"), &access), for_access("HS256")),
        (none, for_access("none")),
        (key.mac(&refresh_header("RS256"), &refresh), for_refresh("RS256")),
        (
            key.sign(&refresh_header("EdDSA256"), &refresh),
            for_refresh("EdDSA256"),
        ),
    ] {
        assert_inactive(
            &introspect(&app, &token).await,
            &token,
            &room,
            "unsupported_algorithm",
            &detail,
        );
    }
}
