//! Signatures: changed payloads, borrowed or malformed signatures, non-canonical S, foreign keys.
use ed25519_dalek::Signer as _;
use serde_json::json;

use super::{b64, Format, Target};
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
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let genuine = target.genuine();
        let (_, signature) = split(&genuine);
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
}

#[tokio::test]
async fn a_signature_from_another_token_is_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let other = target.app.mint(Scheme::Current, &target.room, &json!({})).await;
        let genuine = target.genuine();
        let (input, _) = split(&genuine);
        for donor in [&other.refresh, &other.access, &target.minted.access] {
            let (_, signature) = split(donor);
            target
                .assert_rejected(&format!("{input}.{}", b64(&signature)))
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn signatures_of_the_wrong_length_or_all_zero_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let genuine = target.genuine();
        let (input, signature) = split(&genuine);
        let mut longer = signature.clone();
        longer.push(0);
        let mut doubled = signature.clone();
        doubled.extend_from_slice(&signature);
        let len = signature.len();
        let cases: Vec<Vec<u8>> = vec![
            signature[..len - 1].to_vec(),
            longer,
            doubled,
            signature[..len / 2].to_vec(),
            vec![0; len],
            vec![0xff; len],
            // The other format's length.
            vec![0; 96 - len],
            vec![0],
        ];
        for bytes in &cases {
            target.assert_rejected(&format!("{input}.{}", b64(bytes))).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn a_non_canonical_s_is_forbidden() {
    let mut target = Target::new().await;
    target.format = Format::Ed25519;
    let genuine = target.genuine();
    let (input, mut signature) = split(&genuine);
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
    let mut target = Target::new().await;
    target.format = Format::Ed25519;
    let foreign = ed25519_dalek::SigningKey::from_bytes(&RFC8032_TEST2_SECRET);
    let foreign_kid = roomgate_token::SigningKey::from_seed(&RFC8032_TEST2_SECRET)
        .kid()
        .to_owned();
    let payload = target.payload_with(|_| {});
    for kid in [&target.signing_kid, &foreign_kid] {
        let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid }).to_string();
        let token = roomgate_token::jws::sign_compact(&header, payload.as_bytes(), &foreign);
        target.assert_rejected(&token).await;
    }
    // And the foreign key signing our exact signing input.
    let genuine = target.genuine();
    let (input, _) = split(&genuine);
    let signature = foreign.sign(input.as_bytes());
    target
        .assert_rejected(&format!("{input}.{}", b64(signature.to_bytes())))
        .await;
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn a_mac_under_a_secret_not_ours_is_forbidden() {
    let target = Target::new().await;
    let (input, _) = split(&target.minted.refresh);
    let seed = target.key.to_bytes();
    let public = target.key.verifying_key().to_bytes();
    let other_kid = super::refresh_secret(&seed, "another kid");
    let secrets: [&[u8]; 7] = [
        &[0; 32],
        &seed,
        &public,
        target.signing_kid.as_bytes(),
        // HKDF's pseudorandom key, before the expand step, and the output under another kid.
        &super::hmac_sha256(b"roomgate refresh-token HMAC-SHA256 v1", &seed),
        &other_kid,
        b"",
    ];
    for secret in secrets {
        let tag = super::hmac_sha256(secret, input.as_bytes());
        target.assert_rejected(&format!("{input}.{}", b64(tag))).await;
    }
    // One bit off the real tag.
    let mut tag = super::hmac_sha256(&target.secret, input.as_bytes());
    tag[0] ^= 1;
    target.assert_rejected(&format!("{input}.{}", b64(tag))).await;
    target.assert_store_unchanged().await;
}
