//! Request bodies and auth headers on the token endpoints: never a 500, never a token by accident.
use reqwest::{header, Method, StatusCode};
use serde_json::json;

use super::Target;
use crate::harness::{assert_error, json_body, Scheme};

#[tokio::test]
async fn malformed_bodies_are_400_10015_on_create_and_refresh() {
    let target = Target::new().await;
    let bodies: [&[u8]; 8] = [
        b"{\"refresh_token\":\"",
        b"{\"refresh_token\"",
        b"[]",
        b"\"x\"",
        b"null",
        b"{\"refresh_token\":\"\xff\xfe\"}",
        b"\xef\xbb\xbf{}",
        b"{\"refresh_token\":\"\\ud800\"}",
    ];
    for scheme in Scheme::BOTH {
        for (path, key) in [
            (
                scheme.create_path(&target.room),
                Some(target.app.api_key.as_str()),
            ),
            (scheme.refresh_path(&target.room), None),
        ] {
            for body in bodies {
                let resp = target
                    .app
                    .send_raw(Method::POST, &path, key, Some("application/json"), body.to_vec())
                    .await;
                assert_error(resp, StatusCode::BAD_REQUEST, "10015", None).await;
            }
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn refresh_token_of_the_wrong_type_is_422_10026_and_missing_is_422_10004() {
    let target = Target::new().await;
    for scheme in Scheme::BOTH {
        for value in [
            json!(1),
            json!(true),
            json!([target.minted.refresh]),
            json!({ "t": 1 }),
        ] {
            let resp = target
                .app
                .refresh(scheme, &target.room, &json!({ "refresh_token": value }))
                .await;
            assert_error(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10026",
                Some("/refresh_token"),
            )
            .await;
        }
        for body in [
            json!({}),
            json!({ "refresh_token": null }),
            json!({ "refreshToken": target.minted.refresh }),
        ] {
            let resp = target.app.refresh(scheme, &target.room, &body).await;
            assert_error(
                resp,
                StatusCode::UNPROCESSABLE_ENTITY,
                "10004",
                Some("/refresh_token"),
            )
            .await;
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn ttls_of_the_wrong_type_or_huge_are_422_on_create_and_refresh() {
    let target = Target::new().await;
    let raws = [
        "\"600\"",
        "600.5",
        "true",
        "[600]",
        "99999999999999999999999",
        "1e400",
        "-9223372036854775809",
    ];
    for scheme in Scheme::BOTH {
        for raw in raws {
            for (field, path, key, extra) in [
                (
                    scheme.ttl_field(),
                    scheme.create_path(&target.room),
                    Some(target.app.api_key.as_str()),
                    String::new(),
                ),
                (
                    "refresh_token_ttl_secs",
                    scheme.create_path(&target.room),
                    Some(target.app.api_key.as_str()),
                    String::new(),
                ),
                (
                    scheme.ttl_field(),
                    scheme.refresh_path(&target.room),
                    None,
                    format!(r#","refresh_token":"{}""#, target.minted.refresh),
                ),
            ] {
                let body = format!(r#"{{"{field}":{raw}{extra}}}"#);
                let resp = target
                    .app
                    .send_raw(Method::POST, &path, key, Some("application/json"), body.clone())
                    .await;
                let status = resp.status();
                let text = resp.text().await.unwrap();
                // 1e400 is not even valid JSON to serde (out of range): a 400; the rest are typed errors.
                assert!(
                    status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
                    "{path} {body}: {status} {text}"
                );
                let error: serde_json::Value = serde_json::from_str(&text).unwrap();
                let code = error["errors"][0]["code"].as_str().unwrap();
                assert!(
                    ["10026", "10033", "10015"].contains(&code),
                    "{path} {body}: {text}"
                );
            }
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let target = Target::new().await;
    for scheme in Scheme::BOTH {
        let create = json!({ "ttl_secs": 600, "token_ttl_secs": 600, "room_id": "other", "admin": true, "typ": "refresh" });
        json_body(
            target.app.create_token(scheme, &target.room, &create).await,
            StatusCode::CREATED,
        )
        .await;
        let refresh = json!({ "refresh_token": target.minted.refresh, "typ": "refresh", "x": [1, 2, {}] });
        json_body(
            target.app.refresh(scheme, &target.room, &refresh).await,
            StatusCode::CREATED,
        )
        .await;
    }
}

#[tokio::test]
async fn duplicate_members_are_400_10015_never_last_wins() {
    let target = Target::new().await;
    let good = &target.minted.refresh;
    for scheme in Scheme::BOTH {
        let refresh_path = scheme.refresh_path(&target.room);
        let create_path = scheme.create_path(&target.room);
        let key = Some(target.app.api_key.as_str());
        for (path, key, body) in [
            // Whichever one a parser keeps, a good token is there: still refused.
            (
                &refresh_path,
                None,
                format!(r#"{{"refresh_token":"{good}","refresh_token":"x"}}"#),
            ),
            (
                &refresh_path,
                None,
                format!(r#"{{"refresh_token":"x","refresh_token":"{good}"}}"#),
            ),
            (
                &refresh_path,
                None,
                format!(r#"{{"refresh_token":"{good}","ttl_secs":60,"ttl_secs":600}}"#),
            ),
            (
                &refresh_path,
                None,
                format!(r#"{{"refresh_token":"{good}","x":{{"a":1,"a":2}}}}"#),
            ),
            (
                &create_path,
                key,
                r#"{"refresh_token_ttl_secs":60,"refresh_token_ttl_secs":86400}"#.to_owned(),
            ),
        ] {
            let resp = target
                .app
                .send_raw(Method::POST, path, key, Some("application/json"), body.clone())
                .await;
            let error = assert_error(resp, StatusCode::BAD_REQUEST, "10015", None).await;
            assert!(
                error["detail"].as_str().unwrap_or_default().contains("twice"),
                "{body}: {error}"
            );
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive_but_empty_or_basic_is_401() {
    let target = Target::new().await;
    let path = Scheme::Original.create_path(&target.room);
    let url = target.app.url(&path);
    let key = &target.app.api_key;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = target
            .app
            .client
            .post(&url)
            .header(header::AUTHORIZATION, format!("{scheme} {key}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        json_body(resp, StatusCode::CREATED).await;
    }
    let refused = [
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        format!("Basic {key}"),
        format!("Basic {}", super::b64_std(format!("{key}:"))),
        format!("Token {key}"),
        format!("Bearer  {key}x"),
        format!("Bearer {}", target.minted.access),
        format!("Bearer {}", target.minted.refresh),
        key.to_owned(),
    ];
    for value in &refused {
        let resp = target
            .app
            .client
            .post(&url)
            .header(header::AUTHORIZATION, value)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
    }
    target.assert_store_unchanged().await;
}
