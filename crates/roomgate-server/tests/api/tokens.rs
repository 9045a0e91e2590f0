//! Minting join tokens under both naming schemes: lifetimes, response shape and claims.
use roomgate_store::backend_test;
use std::collections::HashSet;

use reqwest::{header, Method, StatusCode};
use roomgate_server::Clock;
use serde_json::{json, Value};

use crate::{
    harness::{assert_error, json_body, Scheme, TestApp},
    jwt::{assert_minted, decode},
};

fn keys(data: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = data
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

async fn create_returns_201_with_default_lifetimes(scheme: Scheme) {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;

    let resp = app.create_token(scheme, &room, &json!({})).await;

    let cache = resp.headers().get(header::CACHE_CONTROL).cloned();
    assert_eq!(cache.as_ref().map(|v| v.to_str().unwrap()), Some("no-store"));
    let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
    let mut expected = vec![
        scheme.token_field(),
        scheme.expires_field(),
        "refresh_token",
        "refresh_token_expires_at",
    ];
    expected.sort_unstable();
    assert_eq!(keys(&data), expected);
    let field = |name: &str| data[name].as_str().unwrap().to_owned();
    let access = assert_minted(
        &field(scheme.token_field()),
        &field(scheme.expires_field()),
        "access",
        &room,
        600,
    );
    let refresh = assert_minted(
        &field("refresh_token"),
        &field("refresh_token_expires_at"),
        "refresh",
        &room,
        3600,
    );
    let now = app.clock.now().unix_timestamp();
    assert!((access.int("iat") - now).abs() <= 5, "iat is now");
    assert_eq!(access.int("iat"), refresh.int("iat"));
    assert_eq!(
        access.claims["grants"][0]["subjects"],
        refresh.claims["grants"][0]["subjects"]
    );
}

#[tokio::test]
async fn create_access_token_returns_201_with_default_lifetimes() {
    create_returns_201_with_default_lifetimes(Scheme::Original).await;
}

#[tokio::test]
async fn generate_join_client_token_returns_201_with_default_lifetimes() {
    create_returns_201_with_default_lifetimes(Scheme::Current).await;
}

backend_test! {
    async fn empty_body_empty_object_and_nulls_mean_default_lifetimes(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            let path = scheme.create_path(&room);
            let key = Some(app.api_key.as_str());
            let bodies = [
                app.send_raw(Method::POST, &path, key, None, "").await,
                app.send_raw(Method::POST, &path, key, Some("application/json"), "")
                    .await,
                app.create_token(scheme, &room, &json!({})).await,
                app.create_token(
                    scheme,
                    &room,
                    &json!({ scheme.ttl_field(): null, "refresh_token_ttl_secs": null }),
                )
                .await,
            ];
            for resp in bodies {
                let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
                let access = decode(data[scheme.token_field()].as_str().unwrap());
                let refresh = decode(data["refresh_token"].as_str().unwrap());
                assert_eq!(access.int("exp") - access.int("iat"), 600, "{scheme:?}");
                assert_eq!(refresh.int("exp") - refresh.int("iat"), 3600, "{scheme:?}");
            }
        }
    }
}

backend_test! {
    async fn lifetimes_at_both_edges_are_honoured(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            for (ttl, refresh_ttl) in [(10, 60), (3600, 86400), (11, 61)] {
                let body = json!({ scheme.ttl_field(): ttl, "refresh_token_ttl_secs": refresh_ttl });
                let minted = app.mint(scheme, &room, &body).await;
                assert_minted(&minted.access, &minted.access_expires_at, "access", &room, ttl);
                assert_minted(
                    &minted.refresh,
                    &minted.refresh_expires_at,
                    "refresh",
                    &room,
                    refresh_ttl,
                );
            }
        }
    }
}

backend_test! {
    async fn lifetimes_just_outside_the_bounds_are_422_10033(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            let cases = [
                (scheme.ttl_field(), 9),
                (scheme.ttl_field(), 3601),
                (scheme.ttl_field(), 0),
                (scheme.ttl_field(), -600),
                ("refresh_token_ttl_secs", 59),
                ("refresh_token_ttl_secs", 86401),
            ];
            for (field, value) in cases {
                let resp = app.create_token(scheme, &room, &json!({ field: value })).await;
                let pointer = format!("/{field}");
                assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "10033", Some(&pointer)).await;
            }
        }
    }
}

backend_test! {
    async fn current_scheme_names_its_own_lifetime_field_in_errors(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;

        let resp = app
            .create_token(Scheme::Current, &room, &json!({ "token_ttl_secs": 3601 }))
            .await;

        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "10033",
            Some("/token_ttl_secs"),
        )
        .await;
    }
}

backend_test! {
    async fn lifetimes_of_the_wrong_type_are_422_10026(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        for scheme in Scheme::BOTH {
            for field in [scheme.ttl_field(), "refresh_token_ttl_secs"] {
                for value in [json!("600"), json!(600.5), json!(true), json!([600])] {
                    let resp = app.create_token(scheme, &room, &json!({ field: value })).await;
                    let pointer = format!("/{field}");
                    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "10026", Some(&pointer)).await;
                }
            }
        }
    }
}

backend_test! {
    async fn token_header_and_claims_have_the_telnyx_shape(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;

        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let access = decode(&minted.access);

        let mut header_members: Vec<_> = access.header.as_object().unwrap().keys().cloned().collect();
        header_members.sort();
        assert_eq!(header_members, ["alg", "kid", "typ"]);
        let mut claims: Vec<_> = access.claims.as_object().unwrap().keys().cloned().collect();
        claims.sort();
        assert_eq!(
            claims,
            [
                "aud",
                "exp",
                "grants",
                "grants_version",
                "iat",
                "iss",
                "jti",
                "nbf",
                "sub",
                "typ"
            ]
        );
        assert_eq!(access.claims["sub"], "null");
        // The refresh token's secret is the signing key's, named after it.
        let refresh = decode(&minted.refresh);
        assert_eq!(
            refresh.header["kid"],
            format!("rt.{}", access.header["kid"].as_str().unwrap())
        );
        assert_eq!(refresh.claims["api_key_id"], app.api_key_id.to_string());
    }
}

backend_test! {
    async fn every_token_gets_a_distinct_jti(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let mut tokens = Vec::new();
        for scheme in Scheme::BOTH {
            for _ in 0..2 {
                let minted = app.mint(scheme, &room, &json!({})).await;
                tokens.push(minted.access);
                tokens.push(minted.refresh);
            }
        }

        let jtis: HashSet<String> = tokens
            .iter()
            .map(|t| decode(t).claims["jti"].as_str().unwrap().to_owned())
            .collect();

        assert_eq!(jtis.len(), tokens.len());
    }
}

backend_test! {
    async fn tokens_grant_only_the_room_they_were_minted_for(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (a, b) = (app.new_room().await, app.new_room().await);

        let for_a = app.mint(Scheme::Current, &a, &json!({})).await;
        let for_b = app.mint(Scheme::Current, &b, &json!({})).await;

        assert_minted(&for_a.access, &for_a.access_expires_at, "access", &a, 600);
        assert_minted(&for_b.access, &for_b.access_expires_at, "access", &b, 600);
    }
}
