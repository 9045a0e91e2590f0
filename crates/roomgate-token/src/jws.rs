//! Low-level compact JWS (RFC 7515) with Ed25519 (RFC 8037), for any payload bytes.
//!
//! [`crate::verify`] builds on the same parser; use these functions directly only for raw
//! payloads (e.g. the RFC 8037 test vectors).

use ed25519_dalek::Signer as _;
use serde_json::{Map, Value};

use crate::{b64, json, TokenError, MAX_TOKEN_LEN};

/// Accepted values of the `alg` header member (case-sensitive).
const ALGORITHMS: [&str; 2] = ["EdDSA", "Ed25519"];

/// Header members that point at keys or extensions we never honour.
const FORBIDDEN_HEADER_MEMBERS: [&str; 7] = ["jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit"];

/// Longest accepted `kid`, in characters.
const MAX_KID_CHARS: usize = 128;

/// The group order L of Ed25519, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// A header this crate writes; member order is fixed by field order.
#[derive(serde::Serialize)]
pub(crate) struct Header<'a> {
    pub alg: &'a str,
    pub typ: &'a str,
    pub kid: &'a str,
}

impl Header<'_> {
    /// The header as its base64url segment.
    pub(crate) fn segment(&self) -> String {
        // Serializing three strings into a Vec cannot fail.
        b64::encode(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// `header_segment "." b64(payload) "." b64(tag)`, where `tag` authenticates everything before its dot; in one
/// allocation of the exact size.
pub(crate) fn assemble<const N: usize>(
    header_segment: &str,
    payload: &[u8],
    tag: impl FnOnce(&[u8]) -> [u8; N],
) -> String {
    let cap = header_segment.len() + 1 + b64::encoded_len(payload.len()) + 1 + b64::encoded_len(N);
    let mut out = String::with_capacity(cap);
    out.push_str(header_segment);
    out.push('.');
    b64::encode_into(payload, &mut out);
    let tag = tag(out.as_bytes());
    out.push('.');
    b64::encode_into(&tag, &mut out);
    debug_assert_eq!(out.len(), cap);
    out
}

/// Claims as the JSON payload bytes of a token.
pub(crate) fn payload_of(claims: &crate::Claims) -> Vec<u8> {
    let mut payload = Vec::with_capacity(448);
    // Claims hold only strings, integers, UUIDs and a unit enum: serializing cannot fail.
    if serde_json::to_writer(&mut payload, claims).is_err() {
        unreachable!("serializing Claims cannot fail");
    }
    payload
}

/// Sign `payload` as a compact JWS whose header segment is exactly `header_json`, base64url-encoded.
pub fn sign_compact(header_json: &str, payload: &[u8], key: &ed25519_dalek::SigningKey) -> String {
    let mut out =
        String::with_capacity(b64::encoded_len(header_json.len()) + b64::encoded_len(payload.len()) + 88);
    b64::encode_into(header_json.as_bytes(), &mut out);
    out.push('.');
    b64::encode_into(payload, &mut out);
    let signature = key.sign(out.as_bytes());
    out.push('.');
    b64::encode_into(&signature.to_bytes(), &mut out);
    out
}

/// Verify a compact JWS under `key` (strict: header rules, canonical S, no small-order keys) and return its payload.
pub fn verify_compact(token: &str, key: &ed25519_dalek::VerifyingKey) -> Result<Vec<u8>, TokenError> {
    let parsed = parse(token)?;
    parsed.verify_with(key)?;
    Ok(parsed.payload)
}

/// A structurally valid compact JWS whose signature has not been checked yet.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    /// `kid` from the header, if any (already length-checked).
    pub kid: Option<String>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// `header "." payload`, the bytes the signature covers.
    signing_input: &'a str,
    signature: ed25519_dalek::Signature,
}

impl Parsed<'_> {
    /// Check the signature strictly under `key`.
    pub(crate) fn verify_with(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), TokenError> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| TokenError::BadSignature)
    }
}

/// Bounds check and split into exactly three segments with non-empty header and payload.
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str), TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    let (header, rest) = token
        .split_once('.')
        .ok_or(TokenError::Malformed("expected 3 segments"))?;
    let (payload, signature) = rest
        .split_once('.')
        .ok_or(TokenError::Malformed("expected 3 segments"))?;
    if signature.contains('.') {
        return Err(TokenError::Malformed("expected 3 segments"));
    }
    if header.is_empty() {
        return Err(TokenError::Malformed("empty header"));
    }
    if payload.is_empty() {
        return Err(TokenError::Malformed("empty payload"));
    }
    Ok((header, payload, signature))
}

/// Decode and strictly parse the header segment into a JSON object.
pub(crate) fn decode_header(segment: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = b64::decode(segment, "header is not base64url")?;
    json::parse_strict_object(&bytes).ok_or(TokenError::Malformed("header is not a strict JSON object"))
}

/// Parse a compact JWS: everything except the signature check itself.
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, TokenError> {
    let (header_seg, payload_seg, signature_seg) = split(token)?;
    let header = decode_header(header_seg)?;
    let kid = check_header(&header)?;
    let payload = b64::decode(payload_seg, "payload is not base64url")?;
    let signature: [u8; 64] = b64::decode_array(signature_seg, "signature must be 64 bytes of base64url")?;
    if !scalar_is_canonical(&signature[32..]) {
        return Err(TokenError::BadSignature);
    }
    Ok(Parsed {
        kid,
        payload,
        signing_input: &token[..header_seg.len() + 1 + payload_seg.len()],
        signature: ed25519_dalek::Signature::from_bytes(&signature),
    })
}

/// Apply the header rules; returns the `kid`, if present.
fn check_header(header: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    match header.get("alg") {
        None => return Err(TokenError::Malformed("missing alg")),
        Some(Value::String(alg)) if ALGORITHMS.contains(&alg.as_str()) => {}
        Some(Value::String(_)) => return Err(TokenError::UnsupportedAlgorithm),
        Some(_) => return Err(TokenError::Malformed("alg must be a string")),
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ == "JWT" => {}
        Some(_) => return Err(TokenError::Malformed("typ must be JWT")),
    }
    check_members(header)
}

/// The header rules every token shares, whatever its algorithm: no member that points at keys or extensions we
/// never honour, and a `kid`, if present, a string of at most 128 characters (returned).
pub(crate) fn check_members(header: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    if FORBIDDEN_HEADER_MEMBERS.iter().any(|m| header.contains_key(*m)) {
        return Err(TokenError::Malformed("forbidden header member"));
    }
    match header.get("kid") {
        None => Ok(None),
        Some(Value::String(kid)) if kid.chars().count() <= MAX_KID_CHARS => Ok(Some(kid.clone())),
        Some(Value::String(_)) => Err(TokenError::Malformed("kid too long")),
        Some(_) => Err(TokenError::Malformed("kid must be a string")),
    }
}

/// Whether the little-endian scalar `s` is below the group order L (defence in depth:
/// ed25519-dalek checks this too unless its `legacy_compatibility` feature is on).
fn scalar_is_canonical(s: &[u8]) -> bool {
    for (byte, l) in s.iter().rev().zip(ORDER_L.iter().rev()) {
        if byte != l {
            return byte < l;
        }
    }
    false // s == L
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[9; 32])
    }

    fn enc(s: &str) -> String {
        b64::encode(s.as_bytes())
    }

    #[test]
    fn round_trip_raw_payload() {
        let token = sign_compact(r#"{"alg":"EdDSA"}"#, b"\x00\xffbinary", &key());
        assert_eq!(
            verify_compact(&token, &key().verifying_key()).unwrap(),
            b"\x00\xffbinary"
        );
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert_eq!(verify_compact(&token, &other), Err(TokenError::BadSignature));
    }

    #[test]
    fn segment_structure() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(split(&long), Err(TokenError::TooLong));
        assert!(split(&"a".repeat(MAX_TOKEN_LEN)).is_err());
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            ".b.c",
            "a..c",
            "..",
            "...",
            "a.b.c.",
        ] {
            assert!(matches!(split(bad), Err(TokenError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(split("a.b.c"), Ok(("a", "b", "c")));
        assert_eq!(split("a.b."), Ok(("a", "b", "")));
    }

    #[test]
    fn header_rules() {
        let ok = |h: &str| check_header(&json::parse_strict_object(h.as_bytes()).unwrap());
        assert_eq!(ok(r#"{"alg":"EdDSA"}"#), Ok(None));
        assert_eq!(
            ok(r#"{"alg":"Ed25519","typ":"JWT","kid":"k"}"#),
            Ok(Some("k".into()))
        );
        assert_eq!(ok(r#"{"alg":"EdDSA","cty":"x","zzz":1}"#), Ok(None));
        for alg in [
            "none", "None", "NONE", "", "eddsa", "EDDSA", "ed25519", "HS256", "RS256", "ES256", "EdDSA ",
        ] {
            assert_eq!(
                ok(&format!(r#"{{"alg":"{alg}"}}"#)),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        for bad in [
            r#"{}"#,
            r#"{"alg":null}"#,
            r#"{"alg":["EdDSA"]}"#,
            r#"{"alg":"EdDSA","typ":"jwt"}"#,
            r#"{"alg":"EdDSA","typ":"JWS"}"#,
            r#"{"alg":"EdDSA","typ":null}"#,
            r#"{"alg":"EdDSA","kid":1}"#,
            r#"{"alg":"EdDSA","jku":"https://evil"}"#,
            r#"{"alg":"EdDSA","x5u":"https://evil"}"#,
            r#"{"alg":"EdDSA","jwk":{}}"#,
            r#"{"alg":"EdDSA","x5c":[]}"#,
            r#"{"alg":"EdDSA","x5t":"a"}"#,
            r#"{"alg":"EdDSA","x5t#S256":"a"}"#,
            r#"{"alg":"EdDSA","crit":["exp"]}"#,
        ] {
            assert!(matches!(ok(bad), Err(TokenError::Malformed(_))), "{bad}");
        }
        let kid128 = "é".repeat(MAX_KID_CHARS);
        assert_eq!(
            ok(&format!(r#"{{"alg":"EdDSA","kid":"{kid128}"}}"#)),
            Ok(Some(kid128.clone()))
        );
        let kid129 = "k".repeat(MAX_KID_CHARS + 1);
        assert!(matches!(
            ok(&format!(r#"{{"alg":"EdDSA","kid":"{kid129}"}}"#)),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn header_must_be_strict_object() {
        for h in [
            r#"["alg"]"#,
            r#""EdDSA""#,
            r#"{"alg":"EdDSA","alg":"EdDSA"}"#,
            r#"{"alg":"EdDSA"} x"#,
            "{\"alg\":\"EdDSA\"",
            "\u{feff}{\"alg\":\"EdDSA\"}",
        ] {
            assert!(
                matches!(decode_header(&enc(h)), Err(TokenError::Malformed(_))),
                "{h}"
            );
        }
        // Duplicate "alg" where last-wins would pick the acceptable value.
        let token = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"none","alg":"EdDSA"}"#),
            enc("{}"),
            "A".repeat(86)
        );
        assert!(matches!(parse(&token), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn signature_length_and_scalar() {
        let token = sign_compact(r#"{"alg":"EdDSA"}"#, b"p", &key());
        let (h, p, s) = split(&token).unwrap();
        let sig = b64::decode(s, "s").unwrap();
        for len in [0usize, 1, 32, 63, 65, 128] {
            let mut bytes = sig.clone();
            bytes.resize(len, 7);
            let t = format!("{h}.{p}.{}", b64::encode(&bytes));
            assert!(matches!(parse(&t), Err(TokenError::Malformed(_))), "len {len}");
        }
        assert!(scalar_is_canonical(&[0; 32]));
        assert!(!scalar_is_canonical(&ORDER_L));
        let mut below = ORDER_L;
        below[0] -= 1;
        assert!(scalar_is_canonical(&below));
        assert!(!scalar_is_canonical(&[0xff; 32]));

        // parse() itself refuses S + L, whatever ed25519-dalek's feature flags are.
        let mut malleated = sig.clone();
        let mut carry = 0u16;
        for (s_byte, l_byte) in malleated[32..].iter_mut().zip(ORDER_L) {
            let sum = u16::from(*s_byte) + u16::from(l_byte) + carry;
            *s_byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        let t = format!("{h}.{p}.{}", b64::encode(&malleated));
        assert!(parse(&format!("{h}.{p}.{s}")).is_ok());
        assert_eq!(parse(&t).map(|_| ()), Err(TokenError::BadSignature));
    }
}
