//! Algorithm confusion: HS256 keyed with our public key in every encoding, and other `alg` values.
use sha2::{Digest, Sha256};

use super::{b64, b64_std, Target};

/// HMAC-SHA256 (RFC 2104), by hand so the test needs no extra crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn hmac_matches_rfc_4231_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex(&mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Our public key as every secret a confused verifier might use.
fn public_key_encodings(public: &[u8; 32]) -> Vec<Vec<u8>> {
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(public);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64_std(&spki)
    );
    let mut wire = Vec::new();
    for field in [&b"ssh-ed25519"[..], &public[..]] {
        wire.extend_from_slice(&(field.len() as u32).to_be_bytes());
        wire.extend_from_slice(field);
    }
    let openssh = format!("ssh-ed25519 {}", b64_std(&wire));
    let x = b64(public);
    let jwk = serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": x }).to_string();
    vec![
        public.to_vec(),
        x.clone().into_bytes(),
        b64_std(public).into_bytes(),
        pem.clone().into_bytes(),
        pem.trim_end().as_bytes().to_vec(),
        spki,
        openssh.clone().into_bytes(),
        format!("{openssh}\n").into_bytes(),
        jwk.into_bytes(),
    ]
}

#[tokio::test]
async fn hs256_keyed_with_our_public_key_is_forbidden() {
    let target = Target::new().await;
    let public = target.key.verifying_key().to_bytes();
    let payload = target.payload_with(|_| {});
    for alg in ["HS256", "HS384", "HS512"] {
        for header in [
            serde_json::json!({ "alg": alg, "typ": "JWT", "kid": target.kid }).to_string(),
            serde_json::json!({ "alg": alg, "typ": "JWT" }).to_string(),
        ] {
            let input = format!("{}.{}", b64(&header), b64(&payload));
            for secret in public_key_encodings(&public) {
                let mac = hmac_sha256(&secret, input.as_bytes());
                target.assert_rejected(&format!("{input}.{}", b64(mac))).await;
            }
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn other_alg_values_are_forbidden_even_with_a_valid_signature() {
    let target = Target::new().await;
    let payload = target.payload_with(|_| {});
    for alg in [
        "ed25519", "eddsa", "EDDSA", "EdDSA ", " EdDSA", "ES256", "ES256K", "RS256", "PS256", "HS256",
        "Ed448", "",
    ] {
        let header = serde_json::json!({ "alg": alg, "typ": "JWT", "kid": target.kid }).to_string();
        target.assert_rejected(&target.sign(&header, &payload)).await;
    }
    for alg in ["null", "1", "[\"EdDSA\"]", "{\"EdDSA\":true}", "true"] {
        let header = format!(r#"{{"alg":{alg},"typ":"JWT","kid":"{}"}}"#, target.kid);
        target.assert_rejected(&target.sign(&header, &payload)).await;
    }
    let no_alg = serde_json::json!({ "typ": "JWT", "kid": target.kid }).to_string();
    target.assert_rejected(&target.sign(&no_alg, &payload)).await;
    target.assert_store_unchanged().await;
}
