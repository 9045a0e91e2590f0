//! What the link reads off the wire: participants, error bodies, renewals and the control feed's commands.

use std::{fmt, time::SystemTime};

use roomgate_token::{Claims, Permissions};
use serde::Deserialize;
use serde_json::Value;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use crate::{
    revocations::rule::{covers, Revocation, WireRevocation},
    LinkError,
};

/// A participant as roomgate records it (`record_type: "room_participant"`).
///
/// Its `Debug` hides identity, name and context, which are personal data.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoomParticipant {
    /// The participant's id: what [`crate::Link::leave`], renewals and commands name.
    pub id: Uuid,
    /// The room session it joined.
    pub session_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// The identity its token names (version 2 tokens), if any.
    pub identity: Option<String>,
    /// The display name its token names, if any.
    pub name: Option<String>,
    /// What its token allows.
    pub permissions: Permissions,
    /// What the media server passed at admission, if anything.
    pub context: Option<String>,
    /// When it was admitted.
    pub joined_at: SystemTime,
    /// When it left (or was kicked, replaced, or its lease ran out); `None` while live.
    pub left_at: Option<SystemTime>,
    /// When roomgate last changed it.
    pub updated_at: SystemTime,
    /// Until when its lease runs; `None` once it left.
    pub lease_expires_at: Option<SystemTime>,
}

impl fmt::Debug for RoomParticipant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("RoomParticipant")
            .field("id", &self.id)
            .field("session_id", &self.session_id)
            .field("room_id", &self.room_id)
            .field("identity", &set(&self.identity))
            .field("name", &set(&self.name))
            .field("permissions", &self.permissions)
            .field("context", &set(&self.context))
            .field("joined_at", &self.joined_at)
            .field("left_at", &self.left_at)
            .field("updated_at", &self.updated_at)
            .field("lease_expires_at", &self.lease_expires_at)
            .finish()
    }
}

/// `{"data": T}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

/// A participant as it arrives; unknown members are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct WireParticipant {
    record_type: String,
    id: Uuid,
    session_id: Uuid,
    room_id: Uuid,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    name: Option<String>,
    permissions: Permissions,
    #[serde(default)]
    context: Option<String>,
    joined_at: String,
    #[serde(default)]
    left_at: Option<String>,
    updated_at: String,
    #[serde(default)]
    lease_expires_at: Option<String>,
}

impl WireParticipant {
    pub(crate) fn parse(self) -> Result<RoomParticipant, String> {
        if self.record_type != "room_participant" {
            return Err(format!(
                "record_type is {:?}, not \"room_participant\"",
                self.record_type
            ));
        }
        let optional = |t: Option<String>, member| t.map(|t| system_time(&t, member)).transpose();
        Ok(RoomParticipant {
            id: self.id,
            session_id: self.session_id,
            room_id: self.room_id,
            identity: self.identity,
            name: self.name,
            permissions: self.permissions,
            context: self.context,
            joined_at: system_time(&self.joined_at, "joined_at")?,
            left_at: optional(self.left_at, "left_at")?,
            updated_at: system_time(&self.updated_at, "updated_at")?,
            lease_expires_at: optional(self.lease_expires_at, "lease_expires_at")?,
        })
    }
}

/// The answer to a renewal: of its `renewed` and `gone`, only `gone` matters (the others stay tracked).
#[derive(Debug, Deserialize)]
pub(crate) struct Renewal {
    pub(crate) gone: Vec<Uuid>,
}

/// A Telnyx error body: `{"errors": [{"code", "title", "detail", "meta"}]}`, of which the first error counts.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorObject>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
}

/// The error an answer other than 2xx, 429 and 5xx stands for (those are [`LinkError::Unavailable`]).
pub(crate) fn api_error(status: u16, body: &[u8]) -> LinkError {
    let error = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.errors.into_iter().next())
        .unwrap_or_default();
    let meta = |key: &str| error.meta.as_ref().and_then(|m| m.get(key));
    if status == 403 {
        if error.title.as_deref() == Some("Room full") {
            if let Some(n) = meta("max_participants").and_then(Value::as_u64) {
                let max_participants = u32::try_from(n).unwrap_or(u32::MAX);
                return LinkError::RoomFull { max_participants };
            }
        }
        let reason = meta("reason").and_then(Value::as_str).unwrap_or("invalid");
        return LinkError::Refused {
            reason: reason.to_owned(),
        };
    }
    LinkError::Api {
        status,
        code: error.code,
        detail: error.detail,
    }
}

/// A kind of track a mute or unmute applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TrackKind {
    /// Audio tracks (microphone, screen share audio).
    Audio,
    /// Video tracks (camera, screen share).
    Video,
}

impl TrackKind {
    /// Both kinds, what a mute without `kinds` applies to.
    pub const ALL: [TrackKind; 2] = [TrackKind::Audio, TrackKind::Video];

    /// The kind of a wire name (`"audio"`, `"video"`); `None` for any other.
    pub fn parse(name: &str) -> Option<TrackKind> {
        match name {
            "audio" => Some(TrackKind::Audio),
            "video" => Some(TrackKind::Video),
            _ => None,
        }
    }
}

/// What roomgate (or the link itself, for [`Command::Gone`]) tells the media server to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Disconnect this participant: `reason` is `"kicked"` or `"replaced"` (a second admission of its
    /// identity).
    Kick {
        /// Its room.
        room_id: Uuid,
        /// Its session, if the command names it.
        session_id: Option<Uuid>,
        /// The participant.
        participant_id: Uuid,
        /// Why, if the command says.
        reason: Option<String>,
    },
    /// Stop forwarding the participant's tracks of these kinds.
    Mute {
        /// Its room.
        room_id: Uuid,
        /// Its session, if the command names it.
        session_id: Option<Uuid>,
        /// The participant.
        participant_id: Uuid,
        /// Which tracks.
        kinds: Vec<TrackKind>,
    },
    /// Forward the participant's tracks of these kinds again.
    Unmute {
        /// Its room.
        room_id: Uuid,
        /// Its session, if the command names it.
        session_id: Option<Uuid>,
        /// The participant.
        participant_id: Uuid,
        /// Which tracks.
        kinds: Vec<TrackKind>,
    },
    /// The session ended: disconnect everyone in it.
    SessionEnd {
        /// The room.
        room_id: Uuid,
        /// The session.
        session_id: Uuid,
    },
    /// Tokens were revoked: disconnect the local participants whose admitted token it covers.
    Revocation(RevocationCommand),
    /// A participant this link admitted is no longer live (left, kicked, replaced or its lease ran out, as a
    /// renewal found): disconnect it. The link's own, not from the feed.
    Gone {
        /// The participant.
        participant_id: Uuid,
    },
}

/// A revocation from the control feed, which says which verified tokens it covers.
///
/// Its `Debug` hides the identity it may name.
#[derive(Clone, PartialEq, Eq)]
pub struct RevocationCommand {
    revocation: Revocation,
    reason: Option<String>,
}

impl RevocationCommand {
    /// The revocation's id, as `GET /v2/revocations` names it.
    pub fn id(&self) -> Uuid {
        self.revocation.id
    }

    /// The room whose tokens it revokes.
    pub fn room_id(&self) -> Uuid {
        self.revocation.room_id
    }

    /// Why, if it says.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Whether it covers these (verified) claims, by the rule the verifier's revocation check applies: the
    /// same `jti`; the same identity in a version 2 token issued before it; or issued before its cut-off.
    pub fn covers(&self, claims: &Claims) -> bool {
        covers(&self.revocation, claims)
    }
}

impl fmt::Debug for RevocationCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::revocations::rule::Selector;
        let by = match &self.revocation.selector {
            Selector::Jti(_) => "jti",
            Selector::Identity { .. } => "identity",
            Selector::IssuedBefore(_) => "issued_before",
        };
        f.debug_struct("RevocationCommand")
            .field("id", &self.revocation.id)
            .field("room_id", &self.revocation.room_id)
            .field("by", &by)
            .field("reason", &self.reason)
            .finish()
    }
}

/// A page of the control feed as it arrives.
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    pub(crate) data: Vec<Value>,
    pub(crate) meta: PageMeta,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageMeta {
    pub(crate) next_cursor: String,
}

/// A command of a known type as it arrives; unknown members are ignored.
#[derive(Debug, Deserialize)]
struct WireCommand {
    record_type: String,
    room_id: Uuid,
    #[serde(default)]
    session_id: Option<Uuid>,
    #[serde(default)]
    participant_id: Option<Uuid>,
    #[serde(default)]
    kinds: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    revocation: Option<WireRevocation>,
}

/// The command `value` describes; `Ok(None)` for a type this crate does not know (newer servers may add some),
/// an error if a known type is malformed.
pub(crate) fn parse_command(value: Value) -> Result<Option<Command>, String> {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or_default();
    if !["kick", "mute", "unmute", "session_end", "revocation"].contains(&kind) {
        return Ok(None);
    }
    let kind = kind.to_owned();
    let wire: WireCommand = serde_json::from_value(value).map_err(|e| format!("a {kind} command: {e}"))?;
    if wire.record_type != "room_command" {
        return Err(format!(
            "record_type is {:?}, not \"room_command\"",
            wire.record_type
        ));
    }
    let participant = || {
        wire.participant_id
            .ok_or(format!("a {kind} command without participant_id"))
    };
    let command = match kind.as_str() {
        "kick" => Command::Kick {
            room_id: wire.room_id,
            session_id: wire.session_id,
            participant_id: participant()?,
            reason: wire.reason,
        },
        "mute" | "unmute" => {
            let participant_id = participant()?;
            let kinds = match wire.kinds {
                // Kinds this crate does not know are left to newer media servers.
                Some(names) => names.iter().filter_map(|n| TrackKind::parse(n)).collect(),
                None => TrackKind::ALL.to_vec(),
            };
            let (room_id, session_id) = (wire.room_id, wire.session_id);
            if kind == "mute" {
                Command::Mute {
                    room_id,
                    session_id,
                    participant_id,
                    kinds,
                }
            } else {
                Command::Unmute {
                    room_id,
                    session_id,
                    participant_id,
                    kinds,
                }
            }
        }
        "session_end" => Command::SessionEnd {
            room_id: wire.room_id,
            session_id: wire
                .session_id
                .ok_or("a session_end command without session_id")?,
        },
        _ => {
            let wire_revocation = wire.revocation.ok_or("a revocation command without revocation")?;
            let reason = wire_revocation.reason().map(str::to_owned);
            Command::Revocation(RevocationCommand {
                revocation: wire_revocation.parse()?,
                reason,
            })
        }
    };
    Ok(Some(command))
}

fn system_time(text: &str, member: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| format!("{member} is not RFC 3339: {e}"))
}

#[cfg(test)]
mod tests;
