//! Validly signed tokens whose claims are wrong: kind, room, time, issuer, audience, types, duplicates.
use serde_json::{json, Value};

use super::{Format, Target};
use crate::harness::Scheme;

#[tokio::test]
async fn an_access_token_cannot_refresh() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        target.assert_rejected(&target.minted.access).await;
        let refreshed = target.app.mint(Scheme::Current, &target.room, &json!({})).await;
        target.assert_rejected(&refreshed.access).await;
        // Forged: our refresh claims relabelled, and the kind removed or mangled.
        for typ in [
            json!("access"),
            json!("Refresh"),
            json!("REFRESH"),
            json!(""),
            json!(null),
            json!(["refresh"]),
        ] {
            target
                .assert_rejected(&target.signed_claims(|c| {
                    c.insert("typ".into(), typ);
                }))
                .await;
        }
        target
            .assert_rejected(&target.signed_claims(|c| {
                c.remove("typ");
            }))
            .await;
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn another_rooms_refresh_token_is_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let other_room = target.app.new_room().await;
        let other = target.app.mint(Scheme::Original, &other_room, &json!({})).await;
        target.assert_rejected(&other.refresh).await;
        // And ours, presented at the other room.
        target.assert_rejected_in(&other_room, &target.genuine()).await;
        // Forged grants naming no room at all.
        for forged in [
            json!([]),
            json!(null),
            json!([{ "actions": ["join"], "resources": [], "subjects": [] }]),
        ] {
            target
                .assert_rejected_in(
                    &other_room,
                    &target.signed_claims(|c| {
                        c.insert("grants".into(), forged);
                    }),
                )
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn an_expired_refresh_token_is_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let exp = target.claims["exp"].as_i64().unwrap();
        let resp = target
            .app
            .refresh_at(exp - 1, Scheme::Original, &target.room, &target.genuine())
            .await;
        assert_eq!(resp.status(), reqwest::StatusCode::CREATED, "valid until exp");
        target.app.set_clock(exp);
        target.assert_rejected(&target.genuine()).await;
        target.app.set_clock(exp + 86_400);
        target.assert_rejected(&target.genuine()).await;
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn tokens_not_yet_valid_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let now = target.claims["iat"].as_i64().unwrap();
        for (claim, ahead) in [("nbf", 120), ("iat", 120), ("nbf", 86_400), ("iat", 86_400 * 365)] {
            target
                .assert_rejected(&target.signed_claims(|c| {
                    c.insert(claim.into(), (now + ahead).into());
                }))
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn time_claims_of_the_wrong_type_or_range_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        let exp = target.claims["exp"].as_i64().unwrap();
        let nbf = target.claims["nbf"].as_i64().unwrap();
        for claim in ["exp", "nbf", "iat"] {
            let value = if claim == "exp" { exp } else { nbf };
            let raws = [
                format!("\"{value}\""),
                format!("{value}.0"),
                format!("{value}.5"),
                format!("{value}e0"),
                "-1".to_owned(),
                "1e400".to_owned(),
                "-1e400".to_owned(),
                "9223372036854775808".to_owned(),
                "18446744073709551616".to_owned(),
                "99999999999999999999999999999".to_owned(),
                "null".to_owned(),
                "true".to_owned(),
                "[]".to_owned(),
                "{}".to_owned(),
            ];
            for raw in &raws {
                // A negative nbf or iat is in the past and the token would be fine if the claim were accepted.
                if raw == "-1" && claim != "exp" {
                    continue;
                }
                target
                    .assert_rejected(&target.sign(&header, &target.payload_raw(claim, Some(raw))))
                    .await;
            }
            target
                .assert_rejected(&target.sign(&header, &target.payload_raw(claim, None)))
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn audience_and_issuer_must_match_exactly() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let aud = target.claims["aud"].as_str().unwrap().to_owned();
        let iss = target.claims["iss"].as_str().unwrap().to_owned();
        let prefix = &aud[..aud.len() - 1];
        let audiences = [
            json!([aud]),
            json!([aud, "other"]),
            json!(prefix),
            json!(format!("{aud}x")),
            json!(aud.to_uppercase()),
            json!(""),
            json!(null),
        ];
        for value in audiences {
            target
                .assert_rejected(&target.signed_claims(|c| {
                    c.insert("aud".into(), value);
                }))
                .await;
        }
        for value in [
            json!("roomgate"),
            json!(&iss[..iss.len() - 1]),
            json!([iss]),
            json!(null),
        ] {
            target
                .assert_rejected(&target.signed_claims(|c| {
                    c.insert("iss".into(), value);
                }))
                .await;
        }
        for claim in ["aud", "iss", "jti", "grants"] {
            target
                .assert_rejected(&target.signed_claims(|c| {
                    c.remove(claim);
                }))
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn duplicate_payload_members_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        let payload = target.payload_with(|_| {});
        let body = payload.strip_prefix('{').unwrap();
        let exp = target.claims["exp"].as_i64().unwrap();
        let prefixes = [
            r#""typ":"access","#.to_owned(),
            r#""typ":"refresh","#.to_owned(),
            format!(r#""exp":{},"#, exp + 86_400 * 365),
            format!(r#""exp":{exp},"#),
            r#""aud":"someone-else","#.to_owned(),
        ];
        for prefix in &prefixes {
            let duplicated = format!("{{{prefix}{body}");
            target.assert_rejected(&target.sign(&header, &duplicated)).await;
        }
        // Trailing content after the object.
        target
            .assert_rejected(&target.sign(&header, &format!("{payload}{{}}")))
            .await;
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn payloads_that_are_not_claims_objects_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        for payload in ["{}", "[]", "null", "\"refresh\"", "1"] {
            target.assert_rejected(&target.sign(&header, payload)).await;
        }
        let wrapped = json!({ "claims": Value::Object(target.claims.clone()) }).to_string();
        target.assert_rejected(&target.sign(&header, &wrapped)).await;
        target.assert_store_unchanged().await;
    }
}
