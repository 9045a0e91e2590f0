//! One revocation as the feed publishes it, and the rule saying which tokens it covers (the server's, exactly).

use roomgate_token::Claims;
use serde::Deserialize;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

/// Longest `identity` accepted from the feed: roomgate allows 256 bytes; more is a hostile or broken feed, and
/// refusing it bounds what one held revocation can cost.
const MAX_IDENTITY_BYTES: usize = 1024;

/// A revocation held by the verifier: its id, room, what it selects, and when it may be forgotten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Revocation {
    pub(crate) id: Uuid,
    pub(crate) room_id: Uuid,
    pub(crate) selector: Selector,
    /// `expires_at` rounded up to a whole Unix second: no token it covers is valid after it.
    pub(crate) expires_at: i64,
}

/// Which tokens of the room a revocation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Selector {
    /// The one token with this `jti`.
    Jti(Uuid),
    /// Every version 2 token for this identity issued before the revocation: `created_at`, rounded up.
    Identity { identity: String, created_at: i64 },
    /// Every token issued before this instant, rounded up.
    IssuedBefore(i64),
}

/// The smallest whole Unix second at or after `t`: a token's `iat` has one-second resolution, so a token
/// issued in the cut-off's own second counts as before it (fail safe).
pub(crate) fn ceil_secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() + i64::from(t.nanosecond() > 0)
}

/// Whether revocation `r` covers the (already verified) claims `c`.
pub(crate) fn covers(r: &Revocation, c: &Claims) -> bool {
    if c.room_id() != Some(r.room_id) {
        return false;
    }
    match &r.selector {
        Selector::Jti(jti) => Uuid::parse_str(&c.jti).is_ok_and(|j| j == *jti),
        Selector::Identity { identity, created_at } => {
            // Only version 2 tokens name an identity: a version 1 token's `sub` is not one.
            c.is_v2()
                && c.participant().and_then(|p| p.identity).as_deref() == Some(identity.as_str())
                && c.iat < *created_at
        }
        Selector::IssuedBefore(cut_off) => c.iat < *cut_off,
    }
}

/// A revocation as it arrives; unknown members are ignored, the two selectors not used may be absent or null.
#[derive(Debug, Deserialize)]
pub(crate) struct WireRevocation {
    record_type: String,
    id: Uuid,
    room_id: Uuid,
    #[serde(default)]
    jti: Option<Uuid>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    issued_before: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    created_at: String,
    expires_at: String,
}

impl WireRevocation {
    /// Why it was made, if it says.
    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The revocation it describes, or why it is unusable.
    pub(crate) fn parse(self) -> Result<Revocation, String> {
        if self.record_type != "revocation" {
            return Err(format!(
                "record_type is {:?}, not \"revocation\"",
                self.record_type
            ));
        }
        let created_at = timestamp(&self.created_at, "created_at")?;
        let expires_at = timestamp(&self.expires_at, "expires_at")?;
        let selector = match (self.jti, self.identity, self.issued_before) {
            (Some(jti), None, None) => Selector::Jti(jti),
            (None, Some(identity), None) if identity.len() <= MAX_IDENTITY_BYTES => Selector::Identity {
                identity,
                created_at: ceil_secs(created_at),
            },
            (None, Some(_), None) => return Err(format!("identity longer than {MAX_IDENTITY_BYTES} bytes")),
            (None, None, Some(t)) => Selector::IssuedBefore(ceil_secs(timestamp(&t, "issued_before")?)),
            _ => return Err("a revocation needs exactly one of jti, identity, issued_before".into()),
        };
        Ok(Revocation {
            id: self.id,
            room_id: self.room_id,
            selector,
            expires_at: ceil_secs(expires_at),
        })
    }
}

fn timestamp(text: &str, member: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("{member} is not RFC 3339: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::revocations::testing::{claims, IAT, ROOM};

    fn parsed(selector: serde_json::Value, created_at: &str) -> Revocation {
        let mut wire = json!({
            "record_type": "revocation", "id": Uuid::from_u128(1), "room_id": ROOM, "reason": null,
            "created_at": created_at, "expires_at": "2027-01-15T08:00:00.000000Z",
        });
        wire.as_object_mut()
            .expect("object")
            .extend(selector.as_object().expect("object").clone());
        serde_json::from_value::<WireRevocation>(wire)
            .expect("wire shape")
            .parse()
            .expect("valid")
    }

    /// RFC 3339 for `secs` past the epoch plus `micros`, as roomgate writes it.
    fn at(secs: i64, micros: u32) -> String {
        let t = OffsetDateTime::from_unix_timestamp(secs).expect("in range")
            + time::Duration::microseconds(micros.into());
        t.format(&Rfc3339).expect("formats")
    }

    #[test]
    fn ceil_secs_rounds_fractions_up_and_keeps_whole_seconds() {
        let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).expect("rfc 3339");
        assert_eq!(ceil_secs(parse("2027-01-15T08:00:00Z")), 1_800_000_000);
        assert_eq!(ceil_secs(parse(&at(IAT, 0))), IAT);
        assert_eq!(ceil_secs(parse(&at(IAT, 1))), IAT + 1);
        assert_eq!(ceil_secs(parse(&at(IAT, 999_999))), IAT + 1);
        assert_eq!(ceil_secs(parse("1969-12-31T23:59:59.5Z")), 0);
        assert_eq!(
            ceil_secs(parse("2027-01-15T09:00:00.5+01:00")),
            ceil_secs(parse("2027-01-15T08:00:00.5Z"))
        );
    }

    #[test]
    fn jti_covers_exactly_that_token_in_its_room() {
        let c = claims(None);
        let jti: Uuid = c.jti.parse().expect("minted jti is a uuid");
        assert!(covers(&parsed(json!({ "jti": jti }), &at(IAT, 0)), &c));
        assert!(!covers(
            &parsed(json!({ "jti": Uuid::new_v4() }), &at(IAT, 0)),
            &c
        ));
        let mut elsewhere = parsed(json!({ "jti": jti }), &at(IAT, 0));
        elsewhere.room_id = Uuid::from_u128(8);
        assert!(!covers(&elsewhere, &c));
    }

    #[test]
    fn identity_covers_that_participants_tokens_issued_up_to_its_second() {
        let alice = claims(Some("alice"));
        let by_identity = |created: String| parsed(json!({ "identity": "alice", "jti": null }), &created);
        // Created in the token's own second: the token counts as before it.
        assert!(covers(&by_identity(at(IAT, 1)), &alice));
        assert!(covers(&by_identity(at(IAT + 1, 0)), &alice));
        // Created exactly on the token's second: not before it (a token minted after the revocation).
        assert!(!covers(&by_identity(at(IAT, 0)), &alice));
        assert!(!covers(&by_identity(at(IAT - 5, 0)), &alice));
        assert!(!covers(&by_identity(at(IAT + 1, 0)), &claims(Some("bob"))));
        let mut elsewhere = by_identity(at(IAT + 1, 0));
        elsewhere.room_id = Uuid::from_u128(8);
        assert!(!covers(&elsewhere, &alice));
    }

    #[test]
    fn identity_never_covers_a_version_1_token() {
        let v1 = claims(None);
        assert!(!v1.is_v2());
        // A version 1 token's `sub` is "null": not the identity "null" (which roomgate refuses anyway).
        for identity in ["null", &v1.sub] {
            let r = parsed(json!({ "identity": identity }), &at(IAT + 10, 0));
            assert!(!covers(&r, &v1), "{identity}");
        }
    }

    #[test]
    fn issued_before_covers_tokens_issued_up_to_its_second() {
        let (v1, v2) = (claims(None), claims(Some("alice")));
        let cut = |t: String| parsed(json!({ "issued_before": t }), &at(IAT + 100, 0));
        for c in [&v1, &v2] {
            assert!(covers(&cut(at(IAT, 1)), c));
            assert!(!covers(&cut(at(IAT, 0)), c));
            assert!(!covers(&cut(at(IAT - 1, 500_000)), c));
        }
        let mut elsewhere = cut(at(IAT + 1, 0));
        elsewhere.room_id = Uuid::from_u128(8);
        assert!(!covers(&elsewhere, &v1));
    }

    #[test]
    fn malformed_revocations_are_refused() {
        let base = json!({
            "record_type": "revocation", "id": Uuid::from_u128(1), "room_id": ROOM,
            "created_at": at(IAT, 0), "expires_at": at(IAT + 600, 0),
        });
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            serde_json::from_value::<WireRevocation>(v)
                .map_err(|e| e.to_string())
                .and_then(WireRevocation::parse)
        };
        let long = "a".repeat(MAX_IDENTITY_BYTES + 1);
        for bad in [
            json!({}),
            json!({ "jti": Uuid::new_v4(), "identity": "alice" }),
            json!({ "identity": "alice", "issued_before": at(IAT, 0) }),
            json!({ "jti": "not a uuid" }),
            json!({ "issued_before": "yesterday" }),
            json!({ "identity": long }),
            json!({ "identity": 5 }),
            json!({ "jti": Uuid::new_v4(), "record_type": "room" }),
            json!({ "jti": Uuid::new_v4(), "expires_at": "2027-01-15 08:00:00" }),
        ] {
            assert!(with(bad.clone()).is_err(), "{bad}");
        }
        assert!(
            with(json!({ "identity": "alice", "jti": null, "issued_before": null, "extra": [1] })).is_ok()
        );
    }
}
