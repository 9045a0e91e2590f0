//! Claims in Telnyx's access-token shape.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prefix of a video-room resource name; the room's hyphenated lowercase UUID follows.
pub const ROOM_RESOURCE_PREFIX: &str = "telnyx:video:rooms:";

/// The action that lets a participant join a room.
pub const JOIN_ACTION: &str = "join";

/// Version string of the grants format.
pub const GRANTS_VERSION: &str = "1.0.0";

/// Whether a token is a short-lived access token or a refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A token that lets its holder join a room.
    Access,
    /// A token that can be exchanged for a new access token.
    Refresh,
}

/// One permission: `actions` on `resources` for `subjects`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Allowed actions, e.g. `["join"]`.
    pub actions: Vec<String>,
    /// Resource names, e.g. `["telnyx:video:rooms:<uuid>"]`.
    pub resources: Vec<String>,
    /// Subjects the grant applies to (participant names or ids).
    pub subjects: Vec<String>,
}

/// Claims in Telnyx's shape. Serialize field order: aud, exp, grants, grants_version, iat, iss, jti, nbf, sub, typ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience.
    pub aud: String,
    /// Expiry, unix seconds; the token is valid while `now < exp`.
    pub exp: i64,
    /// What the token allows.
    pub grants: Vec<Grant>,
    /// Version of the grants format (`"1.0.0"`).
    pub grants_version: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Unique token id (a UUIDv4 string).
    pub jti: String,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Subject; Telnyx puts the string `"null"` here.
    pub sub: String,
    /// Access or refresh.
    pub typ: TokenKind,
}

/// Write `telnyx:video:rooms:<uuid>` for `room_id` into a stack buffer.
fn room_resource(room_id: Uuid, buf: &mut [u8; 64]) -> &str {
    let prefix = ROOM_RESOURCE_PREFIX.as_bytes();
    buf[..prefix.len()].copy_from_slice(prefix);
    let id_len = room_id.hyphenated().encode_lower(&mut buf[prefix.len()..]).len();
    // Both parts are ASCII.
    std::str::from_utf8(&buf[..prefix.len() + id_len]).unwrap_or_default()
}

/// Parse a room resource in canonical form (prefix + hyphenated lowercase UUID).
fn parse_room_resource(resource: &str) -> Option<Uuid> {
    let id = resource.strip_prefix(ROOM_RESOURCE_PREFIX)?;
    let uuid = Uuid::try_parse(id).ok()?;
    let mut buf = [0u8; 64];
    (room_resource(uuid, &mut buf) == resource).then_some(uuid)
}

impl Claims {
    /// Claims for joining `room_id`: iat=now, nbf=now-1 (never below 0), exp=now+ttl_secs, fresh UUIDv4 jti, sub "null".
    pub fn for_room(
        kind: TokenKind,
        room_id: Uuid,
        subjects: Vec<String>,
        issuer: &str,
        audience: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Claims {
        let mut buf = [0u8; 64];
        Claims {
            aud: audience.to_owned(),
            exp: now.saturating_add(ttl_secs),
            grants: vec![Grant {
                actions: vec![JOIN_ACTION.to_owned()],
                resources: vec![room_resource(room_id, &mut buf).to_owned()],
                subjects,
            }],
            grants_version: GRANTS_VERSION.to_owned(),
            iat: now,
            iss: issuer.to_owned(),
            jti: Uuid::new_v4().to_string(),
            nbf: now.saturating_sub(1).max(0),
            sub: "null".to_owned(),
            typ: kind,
        }
    }

    /// The room this token grants, if it grants exactly one `telnyx:video:rooms:<uuid>` resource.
    ///
    /// The same room named more than once still counts as one; a malformed room resource or
    /// two different rooms give `None`.
    pub fn room_id(&self) -> Option<Uuid> {
        let mut found: Option<Uuid> = None;
        for resource in self.grants.iter().flat_map(|g| &g.resources) {
            if !resource.starts_with(ROOM_RESOURCE_PREFIX) {
                continue;
            }
            let id = parse_room_resource(resource)?;
            match found {
                Some(prev) if prev != id => return None,
                _ => found = Some(id),
            }
        }
        found
    }

    /// Whether some grant names this room AND the "join" action.
    pub fn grants_join(&self, room_id: Uuid) -> bool {
        let mut buf = [0u8; 64];
        let wanted = room_resource(room_id, &mut buf);
        self.grants
            .iter()
            .any(|g| g.actions.iter().any(|a| a == JOIN_ACTION) && g.resources.iter().any(|r| r == wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    const OTHER: Uuid = Uuid::from_u128(1);

    fn sample() -> Claims {
        Claims::for_room(
            TokenKind::Access,
            ROOM,
            vec!["alice".into()],
            "iss",
            "aud",
            1_700_000_000,
            600,
        )
    }

    #[test]
    fn for_room_fills_telnyx_shape() {
        let c = sample();
        assert_eq!(c.iat, 1_700_000_000);
        assert_eq!(c.nbf, 1_699_999_999);
        assert_eq!(c.exp, 1_700_000_600);
        assert_eq!(c.sub, "null");
        assert_eq!(c.grants_version, "1.0.0");
        assert_eq!(
            c.grants,
            vec![Grant {
                actions: vec!["join".into()],
                resources: vec!["telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdef".into()],
                subjects: vec!["alice".into()],
            }]
        );
        let jti = Uuid::parse_str(&c.jti).unwrap();
        assert_eq!(jti.get_version_num(), 4);
        assert_ne!(sample().jti, c.jti);
        assert_eq!(
            Claims::for_room(TokenKind::Refresh, ROOM, vec![], "i", "a", 0, 1).nbf,
            0
        );
        let far = Claims::for_room(TokenKind::Access, ROOM, vec![], "i", "a", i64::MAX, 60);
        assert_eq!(far.exp, i64::MAX);
    }

    #[test]
    fn serializes_in_telnyx_field_order() {
        let mut c = sample();
        c.jti = "j".into();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"aud":"aud","exp":1700000600,"grants":[{"actions":["join"],"resources":["telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdef"],"subjects":["alice"]}],"grants_version":"1.0.0","iat":1700000000,"iss":"iss","jti":"j","nbf":1699999999,"sub":"null","typ":"access"}"#
        );
        let back: Claims = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<TokenKind>("\"Access\"").is_err());
        assert_eq!(
            serde_json::from_str::<TokenKind>("\"refresh\"").unwrap(),
            TokenKind::Refresh
        );
    }

    #[test]
    fn room_id_and_grants_join() {
        let c = sample();
        assert_eq!(c.room_id(), Some(ROOM));
        assert!(c.grants_join(ROOM));
        assert!(!c.grants_join(OTHER));

        // Without the join action the room is named but not joinable.
        let mut no_join = c.clone();
        no_join.grants[0].actions = vec!["publish".into()];
        assert!(!no_join.grants_join(ROOM));
        assert_eq!(no_join.room_id(), Some(ROOM));

        // Action and resource in different grants do not combine.
        let mut split = c.clone();
        split.grants[0].actions.clear();
        split.grants.push(Grant {
            actions: vec!["join".into()],
            resources: vec![],
            subjects: vec![],
        });
        assert!(!split.grants_join(ROOM));

        // Two different rooms: no single room id, but each is joinable.
        let mut two = c.clone();
        two.grants[0]
            .resources
            .push(format!("{ROOM_RESOURCE_PREFIX}{OTHER}"));
        assert_eq!(two.room_id(), None);
        assert!(two.grants_join(OTHER));

        // Same room twice is still one room; non-room resources are ignored.
        let mut dup = c.clone();
        dup.grants.push(dup.grants[0].clone());
        dup.grants[0].resources.push("telnyx:video:other".into());
        assert_eq!(dup.room_id(), Some(ROOM));

        // Non-canonical spellings are not matched.
        for bad in [
            "telnyx:video:rooms:01234567-89AB-CDEF-0123-456789ABCDEF",
            "telnyx:video:rooms:0123456789abcdef0123456789abcdef",
            "telnyx:video:rooms:{01234567-89ab-cdef-0123-456789abcdef}",
            "telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdef ",
            "telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdefx",
            "Telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdef",
        ] {
            let mut c2 = c.clone();
            c2.grants[0].resources = vec![bad.into()];
            assert!(!c2.grants_join(ROOM), "{bad}");
            assert_ne!(c2.room_id(), Some(ROOM), "{bad}");
        }

        let mut none = c;
        none.grants.clear();
        assert_eq!(none.room_id(), None);
    }
}
