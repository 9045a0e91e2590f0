//! Tokens that are not a three-segment compact JWS, or whose segments are not strict base64url.
use super::{b64, b64_std, Format, Target};

#[tokio::test]
async fn alg_none_in_any_case_is_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = serde_json::json!({ "alg": alg, "typ": target.alg_typ().1 }).to_string();
            // Unsigned, as RFC 7519 §6.1 writes it, and with an empty signature after a kid.
            target
                .assert_rejected(&format!("{}.{}.", b64(&header), b64(&payload)))
                .await;
            let with_kid =
                serde_json::json!({ "alg": alg, "typ": target.alg_typ().1, "kid": target.kid() }).to_string();
            target
                .assert_rejected(&format!("{}.{}.", b64(&with_kid), b64(&payload)))
                .await;
            // Even validly signed by our key: `alg` is pinned, not advisory.
            target.assert_rejected(&target.sign(&with_kid, &payload)).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn tokens_without_exactly_three_segments_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let good = target.genuine();
        let (signing_input, signature) = good.rsplit_once('.').unwrap();
        let (header, payload) = signing_input.split_once('.').unwrap();
        let cases = [
            format!("{signing_input}."),
            signing_input.to_owned(),
            header.to_owned(),
            format!("{header}.{payload}.{signature}.{signature}"),
            // A JWE's five segments.
            format!("{header}.{payload}.{signature}.{payload}.{signature}"),
            format!("{header}..{signature}"),
            format!(".{payload}.{signature}"),
            format!("{good}."),
            format!(".{good}"),
            "h.p.".to_owned(),
            "h.p.s".to_owned(),
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            "x".to_owned(),
        ];
        for token in &cases {
            target.assert_rejected(token).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn segments_that_are_not_strict_unpadded_base64url_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        let payload = target.payload_with(|_| {});
        let (h, p) = (b64(&header), b64(&payload));
        // Each variant is signed exactly as sent, so only the encoding is wrong.
        let mut variants = vec![
            (format!("{h}="), p.clone()),
            (h.clone(), format!("{p}=")),
            (h.clone(), format!("{p}==")),
            (format!(" {h}"), p.clone()),
            (h.clone(), format!("{} {}", &p[..10], &p[10..])),
            (h.clone(), format!("{}\n{}", &p[..10], &p[10..])),
            (h.clone(), format!("{p}\t")),
            (h.clone(), format!("{}%2D{}", &p[..10], &p[10..])),
        ];
        // The standard alphabet, wherever it differs.
        let std_h = b64_std(&header).trim_end_matches('=').to_owned();
        let std_p = b64_std(&payload).trim_end_matches('=').to_owned();
        if std_h != h {
            variants.push((std_h, p.clone()));
        }
        if std_p != p {
            variants.push((h.clone(), std_p));
        }
        for (hs, ps) in &variants {
            target.assert_rejected(&target.sign_segments(hs, ps)).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn a_signature_in_the_standard_alphabet_or_padded_is_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        // Ed25519 is deterministic: move iat back a second at a time until the signature has a '-' or '_'.
        let iat = target.claims["iat"].as_i64().unwrap();
        let token = (0..200)
            .map(|back| {
                target.signed_claims(|c| {
                    c.insert("iat".into(), (iat - back).into());
                })
            })
            .find(|t| t.rsplit('.').next().unwrap().contains(['-', '_']))
            .expect("some signature uses '-' or '_'");
        target.assert_accepted(&token).await;
        let (input, signature) = token.rsplit_once('.').unwrap();
        let standard = signature.replace('-', "+").replace('_', "/");
        target.assert_rejected(&format!("{input}.{standard}")).await;
        target.assert_rejected(&format!("{input}.{signature}==")).await;
        target.assert_rejected(&format!("{input}.{signature}A")).await;
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn segments_that_decode_to_non_utf8_or_non_json_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let header = target.header();
        let payload = target.payload_with(|_| {});
        let bad: [&[u8]; 5] = [b"\xff\xfe\xfd", b"{\"typ\":\"refresh\xff\"}", b"", b"null", b"[]"];
        for bytes in bad {
            target
                .assert_rejected(&target.sign_segments(&b64(&header), &b64(bytes)))
                .await;
            target
                .assert_rejected(&target.sign_segments(&b64(bytes), &b64(&payload)))
                .await;
        }
        // Valid JSON around invalid UTF-8 inside a string value of the payload.
        let mut raw = payload.clone().into_bytes();
        let at = raw.len() - 2;
        raw.splice(at..at, [0xc3u8, 0x28]);
        target
            .assert_rejected(&target.sign_segments(&b64(&header), &b64(&raw)))
            .await;
        target.assert_store_unchanged().await;
    }
}
