//! Size limits: the 64 KiB body cap (413) before any parsing, the 40 KiB token cap (403) before any work.
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Format, Target};
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
async fn a_refresh_token_just_over_the_length_cap_is_forbidden_quickly() {
    const MAX: usize = roomgate_token::MAX_TOKEN_LEN;
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        // Valid claims padded with an extra claim to just over the cap, validly signed.
        let padded = |pad: usize| {
            target.sign(
                &header,
                &target.payload_with(|c| {
                    c.insert("x-pad".into(), "p".repeat(pad).into());
                }),
            )
        };
        // Each padding byte adds 4/3 of a character: start a little short of the cap and step up.
        let start = (MAX - padded(0).len()) * 3 / 4 - 8;
        let token = (start..start + 64)
            .map(padded)
            .find(|token| token.len() > MAX)
            .expect("padding reaches the cap");
        assert!((MAX + 1..MAX + 4).contains(&token.len()), "{}", token.len());
        for junk in [
            token,
            ".".repeat(MAX + 1),
            "a".repeat(MAX + 1),
            "a.b.".to_owned() + &"c".repeat(MAX - 3),
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
}
