//! Size limits: the 64 KiB body cap (413) before any parsing, the 4 KiB token cap (403) before any work.
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::Target;
use crate::harness::{assert_error_shape, Scheme};

#[tokio::test]
async fn a_refresh_body_over_64_kib_is_413() {
    let target = Target::new().await;
    for scheme in Scheme::BOTH {
        let padding = "a".repeat(64 * 1024);
        let body = json!({ "refresh_token": target.minted.refresh, "padding": padding }).to_string();
        let resp = target
            .app
            .send_raw(
                Method::POST,
                &scheme.refresh_path(&target.room),
                None,
                Some("application/json"),
                body,
            )
            .await;
        assert_error_shape(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_refresh_token_of_1_mib_of_dots_is_413() {
    let target = Target::new().await;
    let token = ".".repeat(1024 * 1024);
    for scheme in Scheme::BOTH {
        let resp = target
            .app
            .refresh(scheme, &target.room, &json!({ "refresh_token": token }))
            .await;
        let error = assert_error_shape(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(error["code"], "10015", "{error}");
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_refresh_token_just_over_4_kib_is_forbidden_quickly() {
    let target = Target::new().await;
    let header = target.header();
    // Valid claims padded with an extra claim to just over 4096 characters, validly signed.
    let token = (0..4096)
        .map(|pad| {
            target.sign(
                &header,
                &target.payload_with(|c| {
                    c.insert("x-pad".into(), "p".repeat(pad).into());
                }),
            )
        })
        .find(|token| token.len() > 4096)
        .expect("padding reaches 4 KiB");
    assert!((4097..4100).contains(&token.len()), "{}", token.len());
    for junk in [
        token,
        ".".repeat(4097),
        "a".repeat(4097),
        "a.b.".to_owned() + &"c".repeat(4093),
    ] {
        let started = Instant::now();
        target.assert_rejected(&junk).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
    target.assert_store_unchanged().await;
}
