//! Claims in Telnyx's access-token shape.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Participant, Permissions, TokenError};

/// Prefix of a video-room resource name; the room's hyphenated lowercase UUID follows.
pub const ROOM_RESOURCE_PREFIX: &str = "telnyx:video:rooms:";

/// The action that lets a participant join a room.
pub const JOIN_ACTION: &str = "join";

/// Version string of the grants format of a token that says nothing of its participant (Telnyx's).
pub const GRANTS_VERSION: &str = "1.0.0";

/// Version string of the grants format of a token that names its participant and permissions.
pub const GRANTS_VERSION_V2: &str = "2.0.0";

/// The `sub` of a token with no identity, as in Telnyx's tokens.
pub const NO_SUBJECT: &str = "null";

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

/// Claims in Telnyx's shape. Serialize field order: [api_key_id], aud, exp, grants, grants_version, [hidden], iat,
/// iss, jti, [metadata], [name], nbf, sub, typ; `api_key_id` only in a refresh token, the other bracketed ones only
/// in a version 2 token that sets them.
///
/// `Debug` shows `sub`, `name` and `metadata` only as set or not: they may be personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Refresh tokens: the id of the API key that minted the token, so that revoking the key ends its refreshes.
    /// Never in an access token (those stay Telnyx's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<Uuid>,
    /// Audience.
    pub aud: String,
    /// Expiry, unix seconds; the token is valid while `now < exp`.
    pub exp: i64,
    /// What the token allows.
    pub grants: Vec<Grant>,
    /// Version of the grants format: `"1.0.0"` (Telnyx's) or `"2.0.0"` (with participant and permissions).
    pub grants_version: String,
    /// Version 2: the participant is not shown to the others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Unique token id (a UUIDv4 string).
    pub jti: String,
    /// Version 2: opaque application data of the participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Version 2: the participant's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Subject: the participant's identity, or the string `"null"` (as Telnyx's tokens have) for none.
    pub sub: String,
    /// Access or refresh.
    pub typ: TokenKind,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: bool| if v { "<set>" } else { "<none>" };
        f.debug_struct("Claims")
            .field("api_key_id", &self.api_key_id)
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .field("grants", &self.grants)
            .field("grants_version", &self.grants_version)
            .field("hidden", &self.hidden)
            .field("iat", &self.iat)
            .field("iss", &self.iss)
            .field("jti", &self.jti)
            .field("metadata", &set(self.metadata.is_some()))
            .field("name", &set(self.name.is_some()))
            .field("nbf", &self.nbf)
            .field("sub", &set(self.sub != NO_SUBJECT))
            .field("typ", &self.typ)
            .finish()
    }
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

/// What to mint: every choice a token's claims depend on, by name.
#[derive(Clone, Debug)]
pub struct TokenSpec<'a> {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The room the token lets its holder join.
    pub room_id: Uuid,
    /// The grant's subjects (roomgate puts the account there).
    pub subjects: Vec<String>,
    /// The `iss` claim.
    pub issuer: &'a str,
    /// The `aud` claim.
    pub audience: &'a str,
    /// Lifetime from now, in seconds.
    pub ttl_secs: i64,
    /// Who is joining and what they may do; `None` mints Telnyx's version 1 token, `sub` `"null"`, `join` only.
    pub participant: Option<&'a Participant>,
}

impl Claims {
    /// Claims for `spec` at `now`: iat=now, nbf=now-1 (never below 0), exp=now+ttl_secs, fresh UUIDv4 jti.
    pub fn mint(spec: &TokenSpec<'_>, now: i64) -> Claims {
        let mut buf = [0u8; 64];
        let (actions, version, sub, name, metadata, hidden) = match spec.participant {
            None => (
                vec![JOIN_ACTION.to_owned()],
                GRANTS_VERSION,
                NO_SUBJECT.to_owned(),
                None,
                None,
                false,
            ),
            Some(p) => (
                p.permissions.actions(),
                GRANTS_VERSION_V2,
                p.identity.clone().unwrap_or_else(|| NO_SUBJECT.to_owned()),
                p.name.clone(),
                p.metadata.clone(),
                p.permissions.hidden,
            ),
        };
        Claims {
            api_key_id: None,
            aud: spec.audience.to_owned(),
            exp: now.saturating_add(spec.ttl_secs),
            grants: vec![Grant {
                actions,
                resources: vec![room_resource(spec.room_id, &mut buf).to_owned()],
                subjects: spec.subjects.clone(),
            }],
            grants_version: version.to_owned(),
            hidden,
            iat: now,
            iss: spec.issuer.to_owned(),
            jti: Uuid::new_v4().to_string(),
            metadata,
            name,
            nbf: now.saturating_sub(1).max(0),
            sub,
            typ: spec.kind,
        }
    }

    /// The major version of `grants_version`, if it is `MAJOR.MINOR.PATCH` with a major this crate reads (1 or 2).
    pub fn grants_major(&self) -> Result<u8, TokenError> {
        let major = self.grants_version.split('.').next().unwrap_or_default();
        match major {
            "1" => Ok(1),
            "2" => Ok(2),
            _ => Err(TokenError::UnsupportedGrants),
        }
    }

    /// Who the token is for and what it allows.
    ///
    /// A version 1 token has no identity, name or metadata and allows [`Permissions::V1`]. A version 2 token's
    /// permissions are the actions of its grants (unknown actions ignored); its identity is `sub` unless that is
    /// `"null"`. `None` for a `grants_version` of another major.
    pub fn participant(&self) -> Option<Participant> {
        match self.grants_major().ok()? {
            1 => Some(Participant::default()),
            _ => Some(Participant {
                identity: (self.sub != NO_SUBJECT).then(|| self.sub.clone()),
                name: self.name.clone(),
                metadata: self.metadata.clone(),
                permissions: Permissions::from_actions(
                    self.grants.iter().flat_map(|g| &g.actions).map(String::as_str),
                    self.hidden,
                ),
            }),
        }
    }

    /// Whether this token names its participant and permissions (grants version 2).
    pub fn is_v2(&self) -> bool {
        self.grants_major() == Ok(2)
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

    fn spec(kind: TokenKind, ttl_secs: i64) -> TokenSpec<'static> {
        TokenSpec {
            kind,
            room_id: ROOM,
            subjects: vec![],
            issuer: "i",
            audience: "a",
            ttl_secs,
            participant: None,
        }
    }

    fn sample() -> Claims {
        let spec = TokenSpec {
            subjects: vec!["alice".into()],
            issuer: "iss",
            audience: "aud",
            ..spec(TokenKind::Access, 600)
        };
        Claims::mint(&spec, 1_700_000_000)
    }

    #[test]
    fn mint_fills_telnyx_shape() {
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
        assert_eq!(Claims::mint(&spec(TokenKind::Refresh, 1), 0).nbf, 0);
        let far = Claims::mint(&spec(TokenKind::Access, 60), i64::MAX);
        assert_eq!(far.exp, i64::MAX);
    }

    #[test]
    fn issuer_and_audience_go_where_they_are_named() {
        let c = sample();
        assert_eq!((c.iss.as_str(), c.aud.as_str()), ("iss", "aud"));
        assert_eq!(c.typ, TokenKind::Access);
        assert_eq!(
            Claims::mint(&spec(TokenKind::Refresh, 1), 0).typ,
            TokenKind::Refresh
        );
    }

    #[test]
    fn a_participant_makes_a_version_2_token_that_reads_back() {
        let participant = Participant {
            identity: Some("alice".into()),
            name: Some("Alice".into()),
            metadata: Some("{\"seat\":3}".into()),
            permissions: Permissions {
                can_publish_sources: [crate::Source::Camera].into_iter().collect(),
                hidden: true,
                room_admin: true,
                ..Permissions::V1
            },
        };
        let spec = TokenSpec {
            participant: Some(&participant),
            ..spec(TokenKind::Access, 600)
        };
        let mut c = Claims::mint(&spec, 1_700_000_000);
        assert_eq!(c.grants_version, "2.0.0");
        assert_eq!(c.sub, "alice");
        assert_eq!(
            c.grants[0].actions,
            ["join", "publish:camera", "subscribe", "publish_data", "admin"]
        );
        assert_eq!(c.participant(), Some(participant.clone()));
        c.jti = "j".into();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"aud":"a","exp":1700000600,"grants":[{"actions":["join","publish:camera","subscribe","publish_data","admin"],"resources":["telnyx:video:rooms:01234567-89ab-cdef-0123-456789abcdef"],"subjects":[]}],"grants_version":"2.0.0","hidden":true,"iat":1700000000,"iss":"i","jti":"j","metadata":"{\"seat\":3}","name":"Alice","nbf":1699999999,"sub":"alice","typ":"access"}"#
        );
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("alice") && !shown.contains("Alice") && !shown.contains("seat"),
            "{shown}"
        );

        // No identity: `sub` stays "null" and reads back as none.
        let anonymous = Participant {
            identity: None,
            ..participant.clone()
        };
        let spec = TokenSpec {
            participant: Some(&anonymous),
            ..spec
        };
        let c = Claims::mint(&spec, 0);
        assert_eq!(c.sub, "null");
        assert_eq!(c.participant().unwrap().identity, None);
    }

    #[test]
    fn version_1_reads_as_v1_permissions_and_other_majors_as_nothing() {
        let mut c = sample();
        assert_eq!(c.participant(), Some(Participant::default()));
        assert_eq!(c.participant().unwrap().permissions, Permissions::V1);
        for (version, major) in [
            ("1.0.0", Ok(1)),
            ("1.7.2", Ok(1)),
            ("2.0.0", Ok(2)),
            ("2.1.0", Ok(2)),
        ] {
            c.grants_version = version.into();
            assert_eq!(c.grants_major(), major, "{version}");
        }
        for version in ["3.0.0", "", "10.0.0", "v2", "02.0.0"] {
            c.grants_version = version.into();
            assert_eq!(c.grants_major(), Err(TokenError::UnsupportedGrants), "{version}");
            assert_eq!(c.participant(), None);
        }
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
