//! A revocation from a `revoke_tokens` body, how long it must be kept, and the feed's cursor.
use roomgate_store::{ceil_secs, RevocationSelector, TokenFacts};
use roomgate_token::NO_SUBJECT;
use serde_json::{Map, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::participant;
use crate::error::{ApiError, InvalidCode};

/// Longest `reason`, in bytes of UTF-8.
pub const REASON_MAX_BYTES: usize = 256;

/// The most clock skew a verifier may tolerate past a token's `exp` (`roomgate-verify` allows at most 60 s).
pub const VERIFIER_LEEWAY_SECS: i64 = 60;

/// A feed request's `wait`: 0..=30 seconds of long poll, default 0.
pub type FeedWait = super::Defaulted<0, 30, 0>;
/// A feed request's `limit`: 1..=1000 revocations, default 100.
pub type FeedLimit = super::Defaulted<1, 1000, 100>;

/// The selectors, in the order the documentation names them.
pub const SELECTORS: [&str; 3] = ["jti", "identity", "issued_before"];

/// What a `revoke_tokens` body asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    /// Which of the room's tokens.
    pub selector: RevocationSelector,
    /// Why, if given.
    pub reason: Option<String>,
}

/// Reads a `revoke_tokens` body at `now` (Unix microseconds): exactly one selector, a string (a `null` one is the
/// wrong type: the document says so, and `{"jti": null, "identity": "x"}` is more likely a mistake than a wish), and
/// an optional `reason` (null counts as none).
pub fn parse(body: &Map<String, Value>, now: i64) -> Result<Revoke, ApiError> {
    let given: Vec<(&str, &Value)> = SELECTORS
        .iter()
        .filter_map(|&name| body.get(name).map(|v| (name, v)))
        .collect();
    let (name, value) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(ApiError::field(
                InvalidCode::Missing,
                "jti",
                "Exactly one of jti, identity or issued_before is required.",
            ))
        }
        [_, (second, _), ..] => {
            return Err(ApiError::field(
                InvalidCode::OutOfRange,
                second,
                "Exactly one of jti, identity or issued_before may be given.",
            ))
        }
    };
    if value.is_null() {
        return Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a string, not null."),
        ));
    }
    let text = || match value {
        Value::String(s) => Ok(s.as_str()),
        _ => Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a string."),
        )),
    };
    let selector = match name {
        "jti" => RevocationSelector::Jti(
            Uuid::try_parse(text()?)
                .map_err(|_| ApiError::field(InvalidCode::WrongType, "jti", "jti must be a UUID."))?,
        ),
        "identity" => {
            let identity = participant::label(value, "identity", participant::IDENTITY_MAX_BYTES)?;
            if identity == NO_SUBJECT {
                return Err(ApiError::field(
                    InvalidCode::OutOfRange,
                    "identity",
                    "identity must not be the string \"null\": no token carries it as an identity.",
                ));
            }
            RevocationSelector::Identity(identity)
        }
        _ => {
            let at = OffsetDateTime::parse(text()?, &Rfc3339).map_err(|_| {
                ApiError::field(
                    InvalidCode::WrongType,
                    "issued_before",
                    "issued_before must be an RFC 3339 date-time, e.g. 2026-12-01T15:00:00Z.",
                )
            })?;
            let at = crate::timefmt::unix_micros(at);
            if at > now {
                return Err(ApiError::field(
                    InvalidCode::OutOfRange,
                    "issued_before",
                    format!(
                        "issued_before must not be in the future (server time {}).",
                        crate::timefmt::micros_rfc3339(now)
                    ),
                ));
            }
            RevocationSelector::IssuedBefore(at)
        }
    };
    let reason = match body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= REASON_MAX_BYTES && !s.chars().any(char::is_control) => {
            Some(s.clone())
        }
        Some(Value::String(_)) => {
            return Err(ApiError::field(
                InvalidCode::OutOfRange,
                "reason",
                format!(
                    "reason must be at most {REASON_MAX_BYTES} bytes of UTF-8 without control characters."
                ),
            ))
        }
        Some(_) => {
            return Err(ApiError::field(
                InvalidCode::WrongType,
                "reason",
                "reason must be a string.",
            ))
        }
    };
    Ok(Revoke { selector, reason })
}

/// The instant (Unix microseconds) from which no token `selector` covers can still be valid, for a revocation made
/// at `created_at`: the latest issue time it covers, plus the longest lifetime of any token (a refresh token's;
/// refreshed access tokens never outlive theirs), plus the most leeway a verifier may give.
pub fn expires_at(selector: &RevocationSelector, created_at: i64) -> i64 {
    // A jti names a token that exists, so issued by now.
    let latest_iat = selector
        .iat_before(created_at)
        .unwrap_or_else(|| ceil_secs(created_at));
    latest_iat
        .saturating_add(super::TOKEN_HORIZON_SECS)
        .saturating_mul(1_000_000)
}

/// What the store needs of a verified token to find the revocations covering it.
pub fn token_facts<'a>(
    claims: &roomgate_token::Claims,
    room_id: Uuid,
    identity: Option<&'a str>,
) -> TokenFacts<'a> {
    TokenFacts {
        room_id,
        jti: Uuid::try_parse(&claims.jti).ok(),
        identity,
        iat: claims.iat,
    }
}

/// The feed's cursor for position `seq`. Clients treat it as opaque; today it is the position in digits.
pub fn encode_cursor(seq: i64) -> String {
    seq.to_string()
}

/// The position a cursor names, if it is one of ours: 1 to 18 ASCII digits (the document's pattern).
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let digits = (1..=18).contains(&cursor.len()) && cursor.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| cursor.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_764_600_000_500_000; // 2025-12-01T14:40:00.5Z

    fn parsed(v: Value) -> Result<Revoke, ApiError> {
        parse(v.as_object().unwrap(), NOW)
    }

    fn refusal(v: Value) -> (InvalidCode, String) {
        match parsed(v) {
            Err(ApiError::Invalid {
                code,
                location: crate::error::Location::Pointer(p),
                ..
            }) => (code, p),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn exactly_one_selector() {
        let jti = Uuid::new_v4();
        assert_eq!(
            parsed(json!({"jti": jti.to_string()})).unwrap().selector,
            RevocationSelector::Jti(jti)
        );
        assert_eq!(
            refusal(json!({"jti": jti.to_string(), "identity": null})),
            (InvalidCode::OutOfRange, "/identity".into())
        );
        assert_eq!(
            refusal(json!({"jti": null})),
            (InvalidCode::WrongType, "/jti".into())
        );
        assert_eq!(
            parsed(json!({"identity": "alice", "reason": "kicked"})).unwrap(),
            Revoke {
                selector: RevocationSelector::Identity("alice".into()),
                reason: Some("kicked".into())
            }
        );
        assert_eq!(
            parsed(json!({"issued_before": "2025-12-01T14:40:00Z"}))
                .unwrap()
                .selector,
            RevocationSelector::IssuedBefore(1_764_600_000_000_000)
        );
        assert_eq!(refusal(json!({})), (InvalidCode::Missing, "/jti".into()));
        assert_eq!(
            refusal(json!({"reason": "x"})),
            (InvalidCode::Missing, "/jti".into())
        );
        assert_eq!(
            refusal(json!({"jti": jti.to_string(), "issued_before": "2025-12-01T14:40:00Z"})),
            (InvalidCode::OutOfRange, "/issued_before".into())
        );
        assert_eq!(
            refusal(json!({"identity": "a", "jti": jti.to_string()})),
            (InvalidCode::OutOfRange, "/identity".into())
        );
    }

    #[test]
    fn selector_values_are_checked() {
        for (body, want) in [
            (json!({"jti": "not-a-uuid"}), (InvalidCode::WrongType, "/jti")),
            (json!({"jti": 7}), (InvalidCode::WrongType, "/jti")),
            (json!({"identity": ""}), (InvalidCode::OutOfRange, "/identity")),
            (
                json!({"identity": "null"}),
                (InvalidCode::OutOfRange, "/identity"),
            ),
            (
                json!({"identity": "a\u{7}"}),
                (InvalidCode::OutOfRange, "/identity"),
            ),
            (
                json!({"identity": "é".repeat(129)}),
                (InvalidCode::OutOfRange, "/identity"),
            ),
            (json!({"identity": ["a"]}), (InvalidCode::WrongType, "/identity")),
            (
                json!({"issued_before": "yesterday"}),
                (InvalidCode::WrongType, "/issued_before"),
            ),
            (
                json!({"issued_before": 1764600000}),
                (InvalidCode::WrongType, "/issued_before"),
            ),
            (
                json!({"issued_before": "2025-12-01"}),
                (InvalidCode::WrongType, "/issued_before"),
            ),
            // Half a second after now.
            (
                json!({"issued_before": "2025-12-01T14:40:01Z"}),
                (InvalidCode::OutOfRange, "/issued_before"),
            ),
            (
                json!({"identity": "a", "reason": 5}),
                (InvalidCode::WrongType, "/reason"),
            ),
            (
                json!({"identity": "a", "reason": "x".repeat(257)}),
                (InvalidCode::OutOfRange, "/reason"),
            ),
            (
                json!({"identity": "a", "reason": "a\nb"}),
                (InvalidCode::OutOfRange, "/reason"),
            ),
        ] {
            assert_eq!(refusal(body.clone()), (want.0, want.1.to_owned()), "{body}");
        }
        assert_eq!(
            parsed(json!({"identity": "é".repeat(128)})).unwrap().selector,
            RevocationSelector::Identity("é".repeat(128))
        );
        assert!(parsed(json!({"identity": "a", "reason": "x".repeat(256)})).is_ok());
        // Exactly now is allowed, and so is an offset other than Z.
        assert!(parsed(json!({"issued_before": "2025-12-01T14:40:00.5Z"})).is_ok());
        assert_eq!(
            parsed(json!({"issued_before": "2025-12-01T15:40:00+01:00"}))
                .unwrap()
                .selector,
            RevocationSelector::IssuedBefore(1_764_600_000_000_000)
        );
    }

    #[test]
    fn expiry_is_the_last_covered_token_lifetime_and_leeway_after_the_cut_off() {
        let day_and_minute = (86_400 + 60) * 1_000_000;
        // Identity at 14:40:00.5 covers tokens issued up to 14:40:00 (iat < 14:40:01).
        assert_eq!(
            expires_at(&RevocationSelector::Identity("a".into()), NOW),
            1_764_600_001_000_000 + day_and_minute
        );
        assert_eq!(
            expires_at(&RevocationSelector::Jti(Uuid::nil()), NOW),
            1_764_600_001_000_000 + day_and_minute
        );
        assert_eq!(
            expires_at(&RevocationSelector::IssuedBefore(1_764_500_000_000_000), NOW),
            1_764_500_000_000_000 + day_and_minute
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        for seq in [0, 1, 255, 999_999_999_999_999_999] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(decode_cursor("007"), Some(7));
        for bad in ["", "x", "-1", "+1", " 1", "1 ", "1.0", "١", "1234567890123456789"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
