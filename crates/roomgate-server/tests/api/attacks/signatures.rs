//! Signatures: changed payloads, borrowed or malformed signatures, non-canonical S, foreign keys.
use ed25519_dalek::Signer as _;
use serde_json::json;

use super::{b64, Target};
use crate::harness::Scheme;

/// The order L of the Ed25519 group, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// RFC 8032 §7.1, TEST 2: a well-known key that is not ours.
const RFC8032_TEST2_SECRET: [u8; 32] = [
    0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f, 0x5b,
    0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb,
];

fn split(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature).unwrap();
    (input, bytes)
}

#[tokio::test]
async fn a_changed_payload_is_forbidden() {
    let target = Target::new().await;
    let (_, signature) = split(&target.minted.refresh);
    let header = target.header();
    let exp = target.claims["exp"].as_i64().unwrap();
    let payloads = [
        target.payload_with(|c| {
            c.insert("exp".into(), (exp + 86_400 * 365).into());
        }),
        target.payload_with(|c| {
            c.insert("sub".into(), "telnyx:users:someone-else".into());
        }),
        target.payload_with(|_| {}) + " ",
    ];
    for payload in &payloads {
        let input = format!("{}.{}", b64(&header), b64(payload));
        target
            .assert_rejected(&format!("{input}.{}", b64(&signature)))
            .await;
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_signature_from_another_token_is_forbidden() {
    let target = Target::new().await;
    let other = target.app.mint(Scheme::Current, &target.room, &json!({})).await;
    let (input, _) = split(&target.minted.refresh);
    for donor in [&other.refresh, &other.access, &target.minted.access] {
        let (_, signature) = split(donor);
        target
            .assert_rejected(&format!("{input}.{}", b64(&signature)))
            .await;
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn signatures_of_the_wrong_length_or_all_zero_are_forbidden() {
    let target = Target::new().await;
    let (input, signature) = split(&target.minted.refresh);
    let mut longer = signature.clone();
    longer.push(0);
    let mut doubled = signature.clone();
    doubled.extend_from_slice(&signature);
    let cases: Vec<Vec<u8>> = vec![
        signature[..63].to_vec(),
        longer,
        doubled,
        signature[..32].to_vec(),
        vec![0; 64],
        vec![0xff; 64],
        vec![0],
    ];
    for bytes in &cases {
        target.assert_rejected(&format!("{input}.{}", b64(bytes))).await;
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_non_canonical_s_is_forbidden() {
    let target = Target::new().await;
    let (input, mut signature) = split(&target.minted.refresh);
    // S + L verifies under lax (cofactorless, non-canonical) Ed25519; strict verification must refuse it.
    let mut carry = 0u16;
    for (i, l) in ORDER_L.iter().enumerate() {
        let sum = u16::from(signature[32 + i]) + u16::from(*l) + carry;
        signature[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits in 32 bytes");
    target
        .assert_rejected(&format!("{input}.{}", b64(&signature)))
        .await;
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_valid_signature_under_a_key_not_ours_is_forbidden() {
    let target = Target::new().await;
    let foreign = ed25519_dalek::SigningKey::from_bytes(&RFC8032_TEST2_SECRET);
    let foreign_kid = roomgate_token::SigningKey::from_seed(&RFC8032_TEST2_SECRET)
        .kid()
        .to_owned();
    let payload = target.payload_with(|_| {});
    for kid in [&target.kid, &foreign_kid] {
        let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid }).to_string();
        let token = roomgate_token::jws::sign_compact(&header, payload.as_bytes(), &foreign);
        target.assert_rejected(&token).await;
    }
    // And the foreign key signing our exact signing input.
    let (input, _) = split(&target.minted.refresh);
    let signature = foreign.sign(input.as_bytes());
    target
        .assert_rejected(&format!("{input}.{}", b64(signature.to_bytes())))
        .await;
    target.assert_store_unchanged().await;
}
