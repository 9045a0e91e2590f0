//! Algorithm confusion: HMACs keyed with our public key in every encoding, and other `alg` values.
use super::{b64, b64_std, hmac_sha256, Format, Target};

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
async fn hmacs_keyed_with_our_public_key_are_forbidden() {
    let target = Target::new().await;
    let public = target.key.verifying_key().to_bytes();
    let payload = target.payload_with(|_| {});
    let refresh_kid = format!("{}{}", roomgate_token::REFRESH_KID_PREFIX, target.signing_kid);
    for alg in ["HS256", "HS384", "HS512"] {
        // With either header type, naming the published key, the refresh secret it yields, or no key at all.
        for typ in ["JWT", roomgate_token::REFRESH_TYP] {
            for kid in [Some(&target.signing_kid), Some(&refresh_kid), None] {
                let mut header = serde_json::json!({ "alg": alg, "typ": typ });
                if let Some(kid) = kid {
                    header["kid"] = kid.as_str().into();
                }
                let input = format!("{}.{}", b64(header.to_string()), b64(&payload));
                for secret in public_key_encodings(&public) {
                    let mac = hmac_sha256(&secret, input.as_bytes());
                    target.assert_rejected(&format!("{input}.{}", b64(mac))).await;
                }
            }
        }
    }
    target.assert_store_unchanged().await;
}

#[tokio::test]
async fn other_alg_values_are_forbidden_even_with_a_valid_signature() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let (own, _) = target.alg_typ();
        let payload = target.payload_with(|_| {});
        // Each format's MAC or signature, under the other format's name too.
        for alg in [
            "ed25519", "eddsa", "EDDSA", "EdDSA ", " EdDSA", "ES256", "ES256K", "RS256", "PS256", "HS256",
            "hs256", "HS384", "HS512", "EdDSA", "Ed448", "",
        ]
        .into_iter()
        .filter(|alg| *alg != own)
        {
            let header = target.header_with(|h| {
                h.insert("alg".into(), alg.into());
            });
            target.assert_rejected(&target.sign(&header, &payload)).await;
        }
        for alg in [
            "null",
            "1",
            "[\"EdDSA\"]",
            "[\"HS256\"]",
            "{\"EdDSA\":true}",
            "true",
        ] {
            let header = format!(
                r#"{{"alg":{alg},"typ":"{}","kid":"{}"}}"#,
                target.alg_typ().1,
                target.kid()
            );
            target.assert_rejected(&target.sign(&header, &payload)).await;
        }
        let no_alg = target.header_with(|h| {
            h.remove("alg");
        });
        target.assert_rejected(&target.sign(&no_alg, &payload)).await;
        target.assert_store_unchanged().await;
    }
}
