//! Refreshing: a new access token for a valid refresh token, under both naming schemes.
use roomgate_store::backend_test;
use std::collections::HashSet;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    harness::{assert_error, json_body, Scheme, TestApp},
    jwt::{assert_minted, decode},
};

async fn refresh_returns_only_a_new_access_token(scheme: Scheme) {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app.mint(scheme, &room, &json!({})).await;

    let resp = app.refresh_token(scheme, &room, &minted.refresh).await;

    let cache = resp.headers().get(header::CACHE_CONTROL).cloned();
    assert_eq!(cache.as_ref().map(|v| v.to_str().unwrap()), Some("no-store"));
    let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
    let mut members: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
    members.sort();
    let mut expected = [scheme.token_field(), scheme.expires_field()];
    expected.sort_unstable();
    assert_eq!(members, expected, "no new refresh token");
    let token = data[scheme.token_field()].as_str().unwrap();
    let expires_at = data[scheme.expires_field()].as_str().unwrap();
    let fresh = assert_minted(token, expires_at, "access", &room, 600);
    let original = decode(&minted.access);
    assert_ne!(fresh.claims["jti"], original.claims["jti"]);
    assert_eq!(
        fresh.claims["grants"], original.claims["grants"],
        "same room, same subjects"
    );
}

#[tokio::test]
async fn refresh_access_token_returns_only_a_new_access_token() {
    refresh_returns_only_a_new_access_token(Scheme::Original).await;
}

#[tokio::test]
async fn refresh_client_token_returns_only_a_new_access_token() {
    refresh_returns_only_a_new_access_token(Scheme::Current).await;
}

backend_test! {
    async fn refresh_tokens_work_across_naming_schemes(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for (minted_by, refreshed_by) in [(Scheme::Original, Scheme::Current), (Scheme::Current, Scheme::Original)] {
            let minted = app.mint(minted_by, &room, &json!({})).await;
            let resp = app.refresh_token(refreshed_by, &room, &minted.refresh).await;
            json_body(resp, StatusCode::CREATED).await;
        }
    }
}

backend_test! {
    async fn refresh_honours_lifetimes_at_both_edges(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            let minted = app.mint(scheme, &room, &json!({})).await;
            for ttl in [10, 3600] {
                let body = json!({ "refresh_token": minted.refresh, scheme.ttl_field(): ttl });
                let data = json_body(app.refresh(scheme, &room, &body).await, StatusCode::CREATED).await;
                let data = &data["data"];
                let token = data[scheme.token_field()].as_str().unwrap();
                assert_minted(
                    token,
                    data[scheme.expires_field()].as_str().unwrap(),
                    "access",
                    &room,
                    ttl,
                );
            }
        }
    }
}

backend_test! {
    async fn refresh_rejects_lifetimes_just_outside_the_bounds(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            let minted = app.mint(scheme, &room, &json!({})).await;
            let field = scheme.ttl_field();
            let pointer = format!("/{field}");
            let cases = [
                (json!(9), "10033"),
                (json!(3601), "10033"),
                (json!("600"), "10026"),
                (json!(600.5), "10026"),
            ];
            for (ttl, code) in cases {
                let body = json!({ "refresh_token": minted.refresh, field: ttl });
                let resp = app.refresh(scheme, &room, &body).await;
                assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some(&pointer)).await;
            }
        }
    }
}

backend_test! {
    async fn refresh_without_refresh_token_is_422_10004(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            let path = scheme.refresh_path(&room);
            let empty = app.send_raw(Method::POST, &path, None, None, "").await;
            assert_error(
                empty,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10004",
                Some("/refresh_token"),
            )
            .await;
            for body in [
                json!({}),
                json!({ "refresh_token": null }),
                json!({ scheme.ttl_field(): 600 }),
            ] {
                let resp = app.refresh(scheme, &room, &body).await;
                assert_error(
                    resp,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "10004",
                    Some("/refresh_token"),
                )
                .await;
            }
        }
    }
}

backend_test! {
    async fn refresh_token_of_the_wrong_type_is_422_10026(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for value in [
            json!(42),
            json!(["a.b.c"]),
            json!({ "token": "a.b.c" }),
            json!(true),
        ] {
            let resp = app
                .refresh(Scheme::Original, &room, &json!({ "refresh_token": value }))
                .await;
            assert_error(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10026",
                Some("/refresh_token"),
            )
            .await;
        }
    }
}

backend_test! {
    async fn refresh_token_is_reusable_until_it_expires(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Current, &room, &json!({})).await;

        let mut jtis = HashSet::new();
        for _ in 0..3 {
            let resp = app.refresh_token(Scheme::Current, &room, &minted.refresh).await;
            let data = json_body(resp, StatusCode::CREATED).await;
            jtis.insert(decode(data["data"]["token"].as_str().unwrap()).claims["jti"].clone());
        }

        assert_eq!(jtis.len(), 3);
    }
}

backend_test! {
    async fn refresh_ignores_the_authorization_header(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let body = json!({ "refresh_token": minted.refresh });

        for auth in ["Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "garbage"] {
            let resp = app
                .request(Method::POST, &Scheme::Original.refresh_path(&room), None)
                .header(header::AUTHORIZATION, auth)
                .json(&body)
                .send()
                .await
                .unwrap();
            json_body(resp, StatusCode::CREATED).await;
        }
    }
}

backend_test! {
    async fn refresh_token_still_works_one_second_before_it_expires(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let iat = decode(&minted.refresh).int("iat");

        let resp = app
            .refresh_at(iat + 3599, Scheme::Original, &room, &minted.refresh)
            .await;

        let data: Value = json_body(resp, StatusCode::CREATED).await;
        let fresh = decode(data["data"]["access_token"].as_str().unwrap());
        assert_eq!(fresh.int("iat"), iat + 3599, "minted on the server's clock");
    }
}

backend_test! {
    /// Revoking an API key ends the refreshes of every refresh token it minted, at once; the account's other keys'
    /// refresh tokens keep working.
    async fn a_revoked_api_keys_refresh_tokens_are_refused(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let other = app.new_api_key("default").await;
        let by_default = app.mint(Scheme::Original, &room, &json!({})).await;
        let resp = app
            .post_json(&Scheme::Current.create_path(&room), Some(&other.secret), &json!({}))
            .await;
        let by_other = json_body(resp, StatusCode::CREATED).await["data"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(decode(&by_other).claims["api_key_id"], other.id.to_string());
        for scheme in Scheme::BOTH {
            json_body(app.refresh_token(scheme, &room, &by_other).await, StatusCode::CREATED).await;
        }

        app.store.revoke_api_key(other.id, 0).await.unwrap();
        for scheme in Scheme::BOTH {
            let resp = app.refresh_token(scheme, &room, &by_other).await;
            assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
            let resp = app.refresh_token(scheme, &room, &by_default.refresh).await;
            json_body(resp, StatusCode::CREATED).await;
        }
    }
}

backend_test! {
    /// A refresh token minted before refresh tokens were MACed (Ed25519 under the signing key, no API key id)
    /// keeps refreshing after the upgrade until it expires: nobody is logged out by it.
    async fn an_ed25519_refresh_token_minted_before_the_upgrade_still_refreshes(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let kid = decode(&minted.access).header["kid"].as_str().unwrap().to_owned();
        let records = app.store.signing_keys().await.unwrap();
        let record = records.iter().find(|r| r.kid == kid).expect("the signing key");
        let seed: [u8; 32] = record.private_key.as_slice().try_into().expect("plaintext seed in tests");
        let key = roomgate_token::SigningKey::from_seed(&seed);
        // Exactly what the previous release minted: the refresh claims without `api_key_id`, signed with Ed25519.
        let mut claims: roomgate_token::Claims = serde_json::from_value(decode(&minted.refresh).claims).unwrap();
        claims.api_key_id = None;
        let legacy = key.sign(&claims);
        assert_eq!(decode(&legacy).header["alg"], "EdDSA");
        for scheme in Scheme::BOTH {
            let resp = app.refresh_token(scheme, &room, &legacy).await;
            let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
            let access = data[scheme.token_field()].as_str().unwrap();
            assert_minted(access, data[scheme.expires_field()].as_str().unwrap(), "access", &room, 600);
        }
        // Still bound to its room and its expiry.
        let elsewhere = app.new_room().await;
        let resp = app.refresh_token(Scheme::Original, &elsewhere, &legacy).await;
        assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
        let resp = app.refresh_at(claims.exp, Scheme::Original, &room, &legacy).await;
        assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
    }
}
