//! Signature and claim rules: each with a token refused for exactly that reason.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use roomgate_token::{
    decode_unverified, jws, verify, Claims, KeySet, SigningKey, TokenError, TokenKind, Validation,
    VerificationKey,
};
use uuid::Uuid;

#[test]
fn claim_types_are_strict() {
    let f = fx();
    let p = payload();
    let exp = format!("\"exp\":{}", claims().exp);
    for bad in [
        p.replace(&exp, r#""exp":"1700000600""#),
        p.replace(&exp, r#""exp":1700000600.0"#),
        p.replace(&exp, r#""exp":1700000600.5"#),
        p.replace(&exp, r#""exp":1e400"#),
        p.replace(&exp, r#""exp":1.7e9"#),
        p.replace(&exp, r#""exp":-1"#),
        p.replace(&exp, r#""exp":9223372036854775808"#),
        p.replace(&exp, r#""exp":true"#),
        p.replace(&format!("\"iat\":{NOW}"), r#""iat":"now""#),
        p.replace(&format!("\"iat\":{NOW}"), r#""iat":-5"#),
        p.replace(&format!("\"nbf\":{}", NOW - 1), r#""nbf":1.0"#),
        p.replace(&format!("\"nbf\":{}", NOW - 1), r#""nbf":-1"#),
        p.replace(
            r#""aud":"telnyx_access_token""#,
            r#""aud":["telnyx_access_token"]"#,
        ),
        p.replace(r#""iss":"telnyx_access_token""#, r#""iss":null"#),
        p.replace(r#""typ":"access""#, r#""typ":"ACCESS""#),
        p.replace(r#""typ":"access""#, r#""typ":"id""#),
        p.replace(r#","sub":"null""#, ""),
        "[]".into(),
        "\"claims\"".into(),
        "not json".into(),
    ] {
        assert_ne!(bad, p);
        assert!(is_malformed(f.check(&f.sign_payload(&bad))), "{bad}");
    }
}

#[test]
fn claim_values_are_checked() {
    let f = fx();
    let sign = |c: &Claims| f.key.sign(c);
    let v = Validation::new(TokenKind::Access);

    let mut aud = claims();
    for wrong in ["telnyx_access", "telnyx_access_token_", "", "TELNYX_ACCESS_TOKEN"] {
        aud.aud = wrong.into();
        assert_eq!(f.check(&sign(&aud)), Err(TokenError::WrongAudience), "{wrong}");
    }
    let mut iss = claims();
    iss.iss = "telnyx_access_toke".into();
    assert_eq!(f.check(&sign(&iss)), Err(TokenError::WrongIssuer));
    let mut typ = claims();
    typ.typ = TokenKind::Refresh;
    assert_eq!(f.check(&sign(&typ)), Err(TokenError::WrongKind));

    let token = sign(&claims());
    let exp = claims().exp;
    assert_eq!(f.check_with(&token, &v, exp - 1), Ok(claims()));
    assert_eq!(f.check_with(&token, &v, exp), Err(TokenError::Expired));
    assert_eq!(
        f.check_with(&token, &v.clone().leeway(30), exp + 29),
        Ok(claims())
    );
    assert_eq!(
        f.check_with(&token, &v.clone().leeway(30), exp + 30),
        Err(TokenError::Expired)
    );

    let mut nbf = claims();
    nbf.nbf = NOW + 61;
    assert_eq!(
        f.check_with(&sign(&nbf), &v.clone().leeway(60), NOW),
        Err(TokenError::NotYetValid)
    );
    nbf.nbf = NOW + 60;
    assert_eq!(
        f.check_with(&sign(&nbf), &v.clone().leeway(60), NOW),
        Ok(nbf.clone())
    );
    assert_eq!(f.check_with(&sign(&nbf), &v, NOW), Err(TokenError::NotYetValid));
    let mut iat = claims();
    iat.iat = NOW + 10;
    assert_eq!(f.check_with(&sign(&iat), &v, NOW), Err(TokenError::NotYetValid));

    let other_room = Uuid::from_u128(42);
    assert_eq!(
        f.check_with(&token, &v.clone().room(other_room), NOW),
        Err(TokenError::WrongRoom)
    );
    let mut no_join = claims();
    no_join.grants[0].actions = vec!["view".into()];
    assert_eq!(f.check(&sign(&no_join)), Err(TokenError::WrongRoom));
}

#[test]
fn signature_tampering() {
    let f = fx();
    let token = f.key.sign(&claims());
    let s = segments(&token);

    // Tampered payload, original signature.
    let mut forged = claims();
    forged.grants[0].subjects = vec!["mallory".into()];
    let forged_p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    assert_eq!(
        f.check(&format!("{}.{forged_p}.{}", s[0], s[2])),
        Err(TokenError::BadSignature)
    );

    // Signature lifted from another valid token.
    let other = segments(&f.key.sign(&claims_with(vec!["bob".into()])));
    assert_eq!(
        f.check(&format!("{}.{}.{}", s[0], s[1], other[2])),
        Err(TokenError::BadSignature)
    );

    // Wrong signature lengths and an all-zero signature.
    let sig = URL_SAFE_NO_PAD.decode(&s[2]).unwrap();
    for len in [63, 65] {
        let mut b = sig.clone();
        b.resize(len, 0);
        assert!(
            is_malformed(f.check(&format!("{}.{}.{}", s[0], s[1], URL_SAFE_NO_PAD.encode(&b)))),
            "{len}"
        );
    }
    let zero = URL_SAFE_NO_PAD.encode([0u8; 64]);
    assert_eq!(
        f.check(&format!("{}.{}.{zero}", s[0], s[1])),
        Err(TokenError::BadSignature)
    );

    // Non-canonical S: S + L is the same scalar mod L but must be refused (malleability).
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut malleated = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(malleated[32 + i]) + u16::from(L[i]) + carry;
        malleated[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert_ne!(malleated, sig);
    let t = format!("{}.{}.{}", s[0], s[1], URL_SAFE_NO_PAD.encode(&malleated));
    assert_eq!(f.check(&t), Err(TokenError::BadSignature));
    assert!(jws::verify_compact(&t, f.key.verification_key().key()).is_err());
}

#[test]
fn signatures_from_keys_outside_the_set() {
    let f = fx();
    let stranger = SigningKey::from_seed(&[0x77; 32]);
    // Claims our kid but is signed by a stranger.
    let stranger_dalek = ed25519_dalek::SigningKey::from_bytes(stranger.seed());
    let spoofed = jws::sign_compact(&f.header(), payload().as_bytes(), &stranger_dalek);
    assert_eq!(f.check(&spoofed), Err(TokenError::BadSignature));
    // Honest about its own kid.
    assert_eq!(f.check(&stranger.sign(&claims())), Err(TokenError::UnknownKey));
    // No kid at all.
    let no_kid = jws::sign_compact(r#"{"alg":"EdDSA"}"#, payload().as_bytes(), &stranger_dalek);
    assert_eq!(f.check(&no_kid), Err(TokenError::BadSignature));
}

#[test]
fn small_order_key_is_refused_even_if_trusted() {
    // Identity point as public key and R = identity, S = 0: passes a lax cofactorless
    // check for every message, so a verifier without verify_strict would accept it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
    let keys = KeySet::new([VerificationKey::new("weak".into(), weak)]);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"weak"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload()));
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity);
    assert!(weak
        .verify(input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let v = Validation::new(TokenKind::Access);
    assert_eq!(verify(&token, &keys, &v, NOW), Err(TokenError::BadSignature));
}

#[test]
fn claims_are_not_examined_before_the_signature() {
    let f = fx();
    let mut bad = claims();
    bad.exp = 0;
    bad.aud = "x".into();
    bad.typ = TokenKind::Refresh;
    let s = segments(&f.key.sign(&bad));
    let sig = segments(&f.key.sign(&claims()))[2].clone();
    assert_eq!(
        f.check(&format!("{}.{}.{sig}", s[0], s[1])),
        Err(TokenError::BadSignature)
    );
    let junk = URL_SAFE_NO_PAD.encode(r#"{"exp":"soon","exp":1}"#);
    assert_eq!(
        f.check(&format!("{}.{junk}.{sig}", s[0])),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn decode_unverified_reads_without_keys() {
    let f = fx();
    let token = f.key.sign(&claims());
    let (h, p) = decode_unverified(&token).unwrap();
    assert_eq!(h["kid"], f.key.kid());
    assert_eq!(p["grants"][0]["subjects"][0], "alice");
    // Unverified means a bad signature is not its concern...
    let s = segments(&token);
    let zero = URL_SAFE_NO_PAD.encode([0u8; 64]);
    assert!(decode_unverified(&format!("{}.{}.{zero}", s[0], s[1])).is_ok());
    // ...but structure and encoding still are.
    assert!(decode_unverified(&format!("{}.{}", s[0], s[1])).is_err());
    assert!(decode_unverified(&format!("{}.{}.!", s[0], s[1])).is_err());
    let not_json = URL_SAFE_NO_PAD.encode("{");
    assert!(decode_unverified(&format!("{not_json}.{}.{}", s[1], s[2])).is_err());
}
