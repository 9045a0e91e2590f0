//! Reading and forging compact JWS by hand, independently of `roomgate_token`.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;

/// A token split into its three parts, header and claims decoded.
#[derive(Debug)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    /// The raw segments: header, payload, signature.
    pub segments: Vec<String>,
}

impl Jwt {
    /// What was signed: `header.payload`.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.segments[0], self.segments[1])
    }

    pub fn signature(&self) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(&self.segments[2])
            .expect("signature is base64url")
    }

    pub fn int(&self, claim: &str) -> i64 {
        self.claims[claim]
            .as_i64()
            .unwrap_or_else(|| panic!("{claim} is an integer: {}", self.claims))
    }
}

pub fn decode(token: &str) -> Jwt {
    let segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    assert_eq!(segments.len(), 3, "compact JWS has three parts: {token}");
    let part = |s: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .expect("segment is base64url without padding");
        serde_json::from_slice(&bytes).expect("segment is JSON")
    };
    Jwt {
        header: part(&segments[0]),
        claims: part(&segments[1]),
        segments,
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn encode_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).expect("serializable"))
}

/// The same header and signature over a changed payload.
pub fn with_claims(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let jwt = decode(token);
    let mut claims = jwt.claims;
    change(&mut claims);
    format!("{}.{}.{}", jwt.segments[0], encode_json(&claims), jwt.segments[2])
}

/// `{"alg":"none"}`, the original payload and an empty signature.
pub fn unsigned(token: &str) -> String {
    let jwt = decode(token);
    let header = encode_json(&serde_json::json!({ "alg": "none", "typ": "JWT" }));
    format!("{header}.{}.", jwt.segments[1])
}

/// Signs `header.claims` with a key the server has never seen.
pub fn sign_with(key: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
    use ed25519_dalek::Signer;
    let input = format!("{}.{}", encode_json(header), encode_json(claims));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

/// Asserts what every minted token shares, and that it lives `ttl` seconds and expires at `expires_at`.
pub fn assert_minted(token: &str, expires_at: &str, typ: &str, room: &str, ttl: i64) -> Jwt {
    use time::{format_description::well_known::Rfc3339, OffsetDateTime};

    let jwt = decode(token);
    let (alg, header_typ, kid_prefix) = match typ {
        "refresh" => ("HS256", "roomgate-refresh+jwt", "rt."),
        _ => ("EdDSA", "JWT", ""),
    };
    assert_eq!(jwt.header["alg"], alg, "{}", jwt.header);
    assert_eq!(jwt.header["typ"], header_typ, "{}", jwt.header);
    assert!(
        jwt.header["kid"]
            .as_str()
            .and_then(|k| k.strip_prefix(kid_prefix))
            .is_some_and(|k| !k.is_empty()),
        "{}",
        jwt.header
    );
    let c = &jwt.claims;
    // Only a refresh token names the API key that minted it; access tokens keep Telnyx's claims.
    match typ {
        "refresh" => assert!(
            c["api_key_id"]
                .as_str()
                .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
            "{c}"
        ),
        _ => assert!(c.get("api_key_id").is_none(), "{c}"),
    }
    assert_eq!(c["typ"], typ, "{c}");
    assert_eq!(c["iss"], "telnyx_access_token", "{c}");
    assert_eq!(c["aud"], "telnyx_access_token", "{c}");
    assert_eq!(c["grants_version"], "1.0.0", "{c}");
    let grants = c["grants"].as_array().expect("grants is an array");
    assert_eq!(grants.len(), 1, "{c}");
    assert_eq!(grants[0]["actions"], serde_json::json!(["join"]), "{c}");
    assert_eq!(
        grants[0]["resources"],
        serde_json::json!([format!("telnyx:video:rooms:{room}")]),
        "{c}"
    );
    let subjects = grants[0]["subjects"].as_array().expect("subjects is an array");
    assert!(
        !subjects.is_empty() && subjects.iter().all(|s| s.as_str().is_some_and(|s| !s.is_empty())),
        "{c}"
    );
    let jti = uuid::Uuid::parse_str(c["jti"].as_str().expect("jti is a string")).expect("jti is a UUID");
    assert_eq!(jti.get_version_num(), 4);

    let (iat, exp) = (jwt.int("iat"), jwt.int("exp"));
    assert_eq!(jwt.int("nbf"), iat - 1, "nbf is iat - 1");
    assert_eq!(exp - iat, ttl, "exp - iat is the requested lifetime");
    assert_eq!(crate::harness::assert_seconds_timestamp(expires_at), exp);
    let formatted = OffsetDateTime::from_unix_timestamp(exp)
        .unwrap()
        .format(&Rfc3339)
        .unwrap();
    assert_eq!(expires_at, formatted, "expires_at is exp in RFC 3339");
    jwt
}
