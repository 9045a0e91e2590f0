//! Token structure, encoding and header rules: each with a token refused for exactly that reason.

use crate::common::*;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use roomgate_token::{decode_unverified, jws, TokenError, TokenKind, Validation, MAX_TOKEN_LEN};
use sha2::{Digest, Sha256};

#[test]
fn baseline_is_accepted() {
    let f = fx();
    assert_eq!(f.check(&f.key.sign(&claims())), Ok(claims()));
    assert_eq!(f.check(&f.sign_payload(&payload())), Ok(claims()));
}

#[test]
fn alg_none_and_other_algorithms() {
    let f = fx();
    let p = URL_SAFE_NO_PAD.encode(payload());
    for alg in [
        "none", "None", "NONE", "nOnE", "ed25519", "EDDSA", "HS256", "RS256", "ES256", "PS256",
    ] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#, f.key.kid());
        // Properly signed with our key, still refused for the algorithm name.
        assert_eq!(
            f.check(&f.sign(&header, &payload())),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
        // Unsigned, as an alg=none attacker would send it.
        let unsigned = format!("{}.{p}.", URL_SAFE_NO_PAD.encode(&header));
        assert_eq!(f.check(&unsigned), Err(TokenError::UnsupportedAlgorithm), "{alg}");
    }
}

/// HMAC-SHA256 (RFC 2104) by hand, to forge an HS256 token.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn hs256_keyed_with_our_public_key_is_refused() {
    // RFC 4231 test case 2 proves the hand-written HMAC is real.
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );

    let f = fx();
    let vk = f.key.verification_key();
    let jwk_json = serde_json::to_string(&vk.to_jwk()).unwrap();
    for (header, secret) in [
        (
            format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#, f.key.kid()),
            vk.as_bytes().to_vec(),
        ),
        (
            r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
            vk.as_bytes().to_vec(),
        ),
        (r#"{"alg":"HS256"}"#.to_owned(), jwk_json.into_bytes()),
        (r#"{"alg":"HS256"}"#.to_owned(), vk.to_jwk().x.into_bytes()),
    ] {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(payload())
        );
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(hmac_sha256(&secret, input.as_bytes()))
        );
        assert_eq!(f.check(&token), Err(TokenError::UnsupportedAlgorithm));
    }
}

#[test]
fn segment_structure() {
    let f = fx();
    let token = f.key.sign(&claims());
    let s = segments(&token);
    let (h, p, sig) = (&s[0], &s[1], &s[2]);
    for bad in [
        format!("{h}.{p}."),
        format!("{h}.{p}"),
        format!("{h}{p}{sig}"),
        format!("{h}.{p}.{sig}.{sig}.{sig}"),
        format!("{h}.{p}.{sig}."),
        format!(".{p}.{sig}"),
        format!("{h}..{sig}"),
        String::new(),
        "..".into(),
    ] {
        assert!(is_malformed(f.check(&bad)), "{bad}");
    }
}

#[test]
fn too_long_input_is_refused_before_parsing() {
    let f = fx();
    let dots = ".".repeat(1 << 20);
    assert_eq!(f.check(&dots), Err(TokenError::TooLong));
    assert_eq!(decode_unverified(&dots), Err(TokenError::TooLong));
    assert_eq!(
        jws::verify_compact(&dots, f.key.verification_key().key()),
        Err(TokenError::TooLong)
    );
    // A real token padded past the limit with something that would otherwise only be "malformed".
    let mut token = f.key.sign(&claims());
    token.push_str(&"A".repeat(MAX_TOKEN_LEN + 1 - token.len()));
    assert_eq!(token.len(), MAX_TOKEN_LEN + 1);
    assert_eq!(f.check(&token), Err(TokenError::TooLong));
    token.pop();
    assert!(is_malformed(f.check(&token)));
}

#[test]
fn padding_and_whitespace_are_refused() {
    let f = fx();
    let token = f.key.sign(&claims());
    let s = segments(&token);
    let (h, p, sig) = (&s[0], &s[1], &s[2]);
    for bad in [
        format!("{h}=.{p}.{sig}"),
        format!("{h}.{p}=.{sig}"),
        format!("{h}.{p}==.{sig}"),
        format!("{h}.{p}.{sig}="),
        format!("{h}.{p}.{sig}=="),
        format!(" {token}"),
        format!("{token} "),
        format!("{token}\n"),
        format!("{h}.{p}\n.{sig}"),
        format!("{h}.{}\t{}.{sig}", &p[..10], &p[10..]),
        format!("{h}.{}\r\n{}.{sig}", &p[..10], &p[10..]),
        format!("{h}.{p}.{} {}", &sig[..40], &sig[40..]),
    ] {
        assert!(is_malformed(f.check(&bad)), "{bad:?}");
        assert!(decode_unverified(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn standard_alphabet_is_refused() {
    let f = fx();
    let (mut did_payload, mut did_signature) = (false, false);
    for i in 0..200 {
        let token = f.key.sign(&claims_with(vec![format!("~?>{i}")]));
        let s = segments(&token);
        assert_eq!(
            f.check_with(&token, &Validation::new(TokenKind::Access), NOW),
            Ok(claims_with(vec![format!("~?>{i}")]))
        );
        for idx in [1, 2] {
            let bytes = URL_SAFE_NO_PAD.decode(&s[idx]).unwrap();
            let std = STANDARD_NO_PAD.encode(&bytes);
            if std == s[idx] {
                continue;
            }
            let mut t = s.clone();
            t[idx] = std;
            assert!(is_malformed(f.check(&t.join("."))), "{idx}: {}", t.join("."));
            if idx == 1 {
                did_payload = true
            } else {
                did_signature = true
            }
        }
        if did_payload && did_signature {
            break;
        }
    }
    assert!(did_payload && did_signature);
}

#[test]
fn non_canonical_trailing_bits_are_refused() {
    let f = fx();
    let token = f.key.sign(&claims());
    let mut s = segments(&token);
    // 64 signature bytes leave 2 unused bits in the last character; set them.
    let last = s[2].pop().unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.iter().position(|&c| c == last as u8).unwrap();
    s[2].push(alphabet[idx | 1] as char);
    assert_ne!(s.join("."), token);
    assert!(is_malformed(f.check(&s.join("."))));
}

#[test]
fn duplicate_members_are_refused() {
    let f = fx();
    let kid = f.key.kid();
    for header in [
        format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"none","alg":"EdDSA","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","x":{{"a":1,"a":1}}}}"#),
    ] {
        assert!(is_malformed(f.check(&f.sign(&header, &payload()))), "{header}");
    }
    let p = payload();
    for bad in [
        p.replacen('{', r#"{"aud":"telnyx_access_token","#, 1),
        p.replacen('{', r#"{"exp":99999999999,"#, 1),
        p.replacen('{', r#"{"typ":"refresh","#, 1),
        p.replacen('{', r#"{"extra":1,"extra":2,"#, 1),
        p.replace(
            r#""actions":["join"]"#,
            r#""actions":["join"],"actions":["join"]"#,
        ),
    ] {
        assert!(is_malformed(f.check(&f.sign_payload(&bad))), "{bad}");
        assert!(decode_unverified(&f.sign_payload(&bad)).is_err());
    }
    // Unknown, non-duplicated members are fine.
    let extra = p.replacen('{', r#"{"extra":{"a":[1,{"b":2}]},"#, 1);
    assert_eq!(f.check(&f.sign_payload(&extra)), Ok(claims()));
}

#[test]
fn key_id_rules() {
    let f = fx();
    let unknown = r#"{"alg":"EdDSA","typ":"JWT","kid":"someone-else"}"#;
    assert_eq!(f.check(&f.sign(unknown, &payload())), Err(TokenError::UnknownKey));
    let long = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, "k".repeat(129));
    assert!(is_malformed(f.check(&f.sign(&long, &payload()))));
    let not_string = r#"{"alg":"EdDSA","kid":["a"]}"#;
    assert!(is_malformed(f.check(&f.sign(not_string, &payload()))));
    let bad_typ = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#, f.key.kid());
    assert!(is_malformed(f.check(&f.sign(&bad_typ, &payload()))));
}

#[test]
fn key_pointing_headers_are_refused() {
    let f = fx();
    let jwk = serde_json::to_string(&f.key.verification_key().to_jwk()).unwrap();
    for member in [
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        format!(r#""jwk":{jwk}"#),
        r#""x5c":["MIIB"]"#.to_owned(),
        r#""x5t":"abc""#.to_owned(),
        r#""x5t#S256":"abc""#.to_owned(),
        r#""crit":["exp"]"#.to_owned(),
    ] {
        let header = format!(
            r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}",{member}}}"#,
            f.key.kid()
        );
        assert!(is_malformed(f.check(&f.sign(&header, &payload()))), "{member}");
    }
}
