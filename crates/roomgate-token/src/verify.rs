//! Token verification: signature first, then claims against a [`Validation`].

use serde::Deserialize as _;
use uuid::Uuid;

use crate::{b64, json, jws, Claims, KeySet, TokenError, TokenKind, DEFAULT_AUDIENCE, DEFAULT_ISSUER};

/// How far `iat` may be ahead of the latest acceptable `nbf`: the second by which minted tokens' `nbf` precedes
/// their `iat`, so a token is valid from its `nbf` whatever the leeway.
pub const ISSUER_SKEW_SECS: i64 = 1;

/// What a token must satisfy besides its signature.
#[derive(Clone, Debug)]
pub struct Validation {
    /// Required `iss`, compared exactly.
    pub issuer: String,
    /// Required `aud`, compared exactly.
    pub audience: String,
    /// Required `typ`.
    pub kind: TokenKind,
    /// If set, the token must grant joining this room.
    pub room_id: Option<Uuid>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (negative counts as 0); `iat` may be
    /// [`ISSUER_SKEW_SECS`] further ahead.
    pub leeway_secs: i64,
}

impl Validation {
    /// Default issuer and audience, any room, no leeway.
    pub fn new(kind: TokenKind) -> Self {
        Validation {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            kind,
            room_id: None,
            leeway_secs: 0,
        }
    }

    /// Require the token to grant joining room `id`.
    pub fn room(mut self, id: Uuid) -> Self {
        self.room_id = Some(id);
        self
    }

    /// Tolerate `secs` seconds of clock skew.
    pub fn leeway(mut self, secs: i64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// Require this issuer.
    pub fn issuer(mut self, issuer: &str) -> Self {
        issuer.clone_into(&mut self.issuer);
        self
    }

    /// Require this audience.
    pub fn audience(mut self, audience: &str) -> Self {
        audience.clone_into(&mut self.audience);
        self
    }

    /// Check already-authenticated claims at time `now` (unix seconds).
    pub fn check(&self, claims: &Claims, now: i64) -> Result<(), TokenError> {
        if claims.exp < 0 || claims.iat < 0 || claims.nbf < 0 {
            return Err(TokenError::Malformed("negative timestamp"));
        }
        if claims.typ != self.kind {
            return Err(TokenError::WrongKind);
        }
        // A grants format of an unknown major may mean something this crate would misread: refuse it.
        claims.grants_major()?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        let leeway = self.leeway_secs.max(0);
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        let latest_start = now.saturating_add(leeway);
        // `iat` may lead by ISSUER_SKEW_SECS more: minted tokens are valid from nbf = iat - 1 (Telnyx's shape),
        // and that second must not be taken back by the `iat` check.
        if claims.nbf > latest_start || claims.iat > latest_start.saturating_add(ISSUER_SKEW_SECS) {
            return Err(TokenError::NotYetValid);
        }
        if let Some(room) = self.room_id {
            if !claims.grants_join(room) {
                return Err(TokenError::WrongRoom);
            }
        }
        Ok(())
    }
}

/// Verify signature + structure, then claims against `validation` at time `now` (unix seconds).
pub fn verify(token: &str, keys: &KeySet, validation: &Validation, now: i64) -> Result<Claims, TokenError> {
    let parsed = jws::parse(token)?;
    match &parsed.kid {
        Some(kid) => {
            let key = keys.get(kid).ok_or(TokenError::UnknownKey)?;
            parsed.verify_with(key.key())?;
        }
        None => {
            if keys.is_empty() {
                return Err(TokenError::UnknownKey);
            }
            if !keys.iter().any(|k| parsed.verify_with(k.key()).is_ok()) {
                return Err(TokenError::BadSignature);
            }
        }
    }
    // Only now, with an authentic payload, look at the claims.
    let claims = parse_claims(&parsed.payload)?;
    validation.check(&claims, now)?;
    Ok(claims)
}

/// Strictly parse a JWT payload into [`Claims`] (duplicate members anywhere are refused).
pub(crate) fn parse_claims(payload: &[u8]) -> Result<Claims, TokenError> {
    let value =
        json::parse_strict(payload).map_err(|_| TokenError::Malformed("payload is not strict JSON"))?;
    if !value.is_object() {
        return Err(TokenError::Malformed("payload is not a JSON object"));
    }
    Claims::deserialize(value).map_err(|_| TokenError::Malformed("payload does not match the claims shape"))
}

/// Decode header and payload WITHOUT verifying (for a `decode` CLI command): returns (header json, payload json). Still bounded and strict base64url.
pub fn decode_unverified(token: &str) -> Result<(serde_json::Value, serde_json::Value), TokenError> {
    let (header_seg, payload_seg, signature_seg) = jws::split(token)?;
    let header = jws::decode_header(header_seg)?;
    let payload_bytes = b64::decode(payload_seg, "payload is not base64url")?;
    let payload = json::parse_strict(&payload_bytes)
        .map_err(|_| TokenError::Malformed("payload is not strict JSON"))?;
    b64::decode(signature_seg, "signature is not base64url")?;
    Ok((serde_json::Value::Object(header), payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenSpec;

    const NOW: i64 = 1_700_000_000;
    const ROOM: Uuid = Uuid::from_u128(7);

    fn claims() -> Claims {
        let mut c = Claims::mint(
            &TokenSpec {
                kind: TokenKind::Access,
                room_id: ROOM,
                subjects: vec![],
                issuer: DEFAULT_ISSUER,
                audience: DEFAULT_AUDIENCE,
                ttl_secs: 600,
                participant: None,
            },
            NOW,
        );
        c.jti = "00000000-0000-4000-8000-000000000000".to_owned();
        c
    }

    #[test]
    fn builder_sets_fields() {
        let v = Validation::new(TokenKind::Refresh)
            .room(ROOM)
            .leeway(5)
            .issuer("i")
            .audience("a");
        assert_eq!(
            (v.kind, v.room_id, v.leeway_secs),
            (TokenKind::Refresh, Some(ROOM), 5)
        );
        assert_eq!((v.issuer.as_str(), v.audience.as_str()), ("i", "a"));
        let d = Validation::new(TokenKind::Access);
        assert_eq!(
            (d.issuer.as_str(), d.audience.as_str(), d.room_id, d.leeway_secs),
            (DEFAULT_ISSUER, DEFAULT_AUDIENCE, None, 0)
        );
    }

    #[test]
    fn claim_checks() {
        let v = Validation::new(TokenKind::Access);
        let c = claims();
        assert_eq!(v.check(&c, NOW), Ok(()));
        assert_eq!(v.check(&c, c.exp - 1), Ok(()));
        assert_eq!(v.check(&c, c.exp), Err(TokenError::Expired));
        assert_eq!(v.clone().leeway(10).check(&c, c.exp + 9), Ok(()));
        assert_eq!(
            v.clone().leeway(10).check(&c, c.exp + 10),
            Err(TokenError::Expired)
        );
        assert_eq!(v.clone().leeway(-100).check(&c, c.exp - 1), Ok(()));
        assert_eq!(
            Validation::new(TokenKind::Refresh).check(&c, NOW),
            Err(TokenError::WrongKind)
        );
        assert_eq!(v.clone().issuer("x").check(&c, NOW), Err(TokenError::WrongIssuer));
        assert_eq!(
            v.clone().audience("telnyx_access").check(&c, NOW),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(v.clone().room(ROOM).check(&c, NOW), Ok(()));
        assert_eq!(
            v.clone().room(Uuid::from_u128(8)).check(&c, NOW),
            Err(TokenError::WrongRoom)
        );

        // nbf = NOW - 1 and iat = NOW: valid from nbf, a second before iat, without leeway; not a second earlier.
        assert_eq!(v.check(&c, NOW - 1), Ok(()));
        assert_eq!(v.check(&c, NOW - 2), Err(TokenError::NotYetValid));
        assert_eq!(v.clone().leeway(1).check(&c, NOW - 2), Ok(()));
        let mut future = c.clone();
        future.nbf = NOW + 30;
        future.iat = NOW;
        assert_eq!(v.check(&future, NOW), Err(TokenError::NotYetValid));
        assert_eq!(v.clone().leeway(30).check(&future, NOW), Ok(()));
        assert_eq!(
            v.clone().leeway(29).check(&future, NOW),
            Err(TokenError::NotYetValid)
        );
        // iat may lead nbf's bound by ISSUER_SKEW_SECS, no more.
        let mut iat_future = c.clone();
        iat_future.iat = NOW + ISSUER_SKEW_SECS;
        assert_eq!(v.check(&iat_future, NOW), Ok(()));
        iat_future.iat = NOW + ISSUER_SKEW_SECS + 1;
        assert_eq!(v.check(&iat_future, NOW), Err(TokenError::NotYetValid));
        assert_eq!(v.clone().leeway(1).check(&iat_future, NOW), Ok(()));

        let mut huge = c.clone();
        huge.exp = i64::MAX;
        assert_eq!(v.clone().leeway(i64::MAX).check(&huge, i64::MAX - 1), Ok(()));
        let mut negative = c;
        negative.exp = -1;
        assert!(matches!(v.check(&negative, NOW), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn payload_parsing_is_strict() {
        let good = serde_json::to_string(&claims()).unwrap();
        assert_eq!(parse_claims(good.as_bytes()), Ok(claims()));
        let with_extra = good.replacen('{', r#"{"extra":{"nested":[1,2]},"#, 1);
        assert_eq!(parse_claims(with_extra.as_bytes()), Ok(claims()));
        let exp = format!("\"exp\":{}", claims().exp);
        for bad in [
            good.replace(&exp, "\"exp\":\"1700000600\""),
            good.replace(&exp, "\"exp\":1700000600.0"),
            good.replace(&exp, "\"exp\":1.7e9"),
            good.replace(&exp, "\"exp\":1e400"),
            good.replace(&exp, "\"exp\":9223372036854775808"),
            good.replace(&exp, "\"exp\":null"),
            good.replace(&exp, ""),
            good.replace(
                "\"aud\":\"telnyx_access_token\"",
                "\"aud\":[\"telnyx_access_token\"]",
            ),
            good.replace("\"iss\":\"telnyx_access_token\"", "\"iss\":1"),
            good.replace("\"typ\":\"access\"", "\"typ\":\"Access\""),
            good.replace("\"typ\":\"access\"", "\"typ\":\"id\""),
            good.replacen('{', r#"{"exp":1,"#, 1),
            good.replacen('{', r#"{"x":{"a":1,"a":2},"#, 1),
            "[]".to_owned(),
            "null".to_owned(),
        ] {
            assert!(
                matches!(parse_claims(bad.as_bytes()), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
