//! The live room: sessions, participants (Telnyx's models, with roomgate's additions), admission, leases,
//! moderation and the control feed media servers follow (roomgate's extensions).
use serde::{Deserialize, Serialize};

use crate::{FeedMeta, Permissions, Revocation};

/// A session of a room: from its first admitted participant to its end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomSession {
    /// Session id.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    /// The room it is a session of.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub room_id: String,
    /// Whether it is in progress.
    pub active: bool,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// When it ended; null while active.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub ended_at: Option<String>,
    /// Its participants, oldest first (at most 1,000), when asked for with `include_participants=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<RoomParticipant>>,
    /// Always `room_session`.
    #[cfg_attr(feature = "openapi", schema(example = "room_session"))]
    pub record_type: String,
}

/// A participant of a session, admitted by the media server with its access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomParticipant {
    /// Participant id.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    /// Its session.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub session_id: String,
    /// roomgate: its room.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub room_id: String,
    /// What the media server passed at admission.
    pub context: Option<String>,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub joined_at: String,
    /// When it left (or its lease ran out); null while present.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub left_at: Option<String>,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// Always `room_participant`.
    #[cfg_attr(feature = "openapi", schema(example = "room_participant"))]
    pub record_type: String,
    /// roomgate: the token's identity, if it names one.
    pub identity: Option<String>,
    /// roomgate: the token's display name.
    pub name: Option<String>,
    /// roomgate: what the token allows, every member given.
    pub permissions: Permissions,
    /// roomgate: until when the media server has vouched for it (renewed by `actions/renew`); null once left.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub lease_expires_at: Option<String>,
}

/// Body of `POST /v2/room_participants` (roomgate extension): a media server admitting a participant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdmitParticipantRequest {
    /// The participant's access token.
    pub access_token: String,
    /// Anything the media server wants kept with the participant (at most 1,024 bytes, no control characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub context: Option<String>,
}

impl std::fmt::Debug for AdmitParticipantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmitParticipantRequest")
            .field("access_token", &"<redacted>")
            .field("context", &self.context.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Body of `POST /v2/room_participants/actions/renew` (roomgate extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewLeasesRequest {
    /// The participants the media server still holds (1 to 1,000 ids).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub participant_ids: Vec<String>,
}

/// What a renewal did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewedLeases {
    /// Present, and now leased until `lease_expires_at`.
    pub renewed: Vec<String>,
    /// Gone: left, kicked, replaced, lease run out, or unknown to this account. Disconnect them.
    pub gone: Vec<String>,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub lease_expires_at: String,
}

/// Body of the session actions `kick`, `mute` and `unmute`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionActionRequest {
    /// `"all"`, or a list of participant ids (default `"all"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>, example = "all"))]
    pub participants: Option<serde_json::Value>,
    /// Participant ids left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// roomgate, mute and unmute only: which tracks (default both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<TrackKind>>,
}

/// A kind of track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// Microphone and screen-share audio.
    Audio,
    /// Camera and screen-share video.
    Video,
}

/// What a session action answers: `{"result": "ok"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionResult {
    /// Always `ok`.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub result: String,
}

/// One entry of the control feed: what media servers must carry out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomCommand {
    /// Always `room_command`.
    #[cfg_attr(feature = "openapi", schema(example = "room_command"))]
    pub record_type: String,
    /// Command id (a revocation's: the revocation's id).
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    /// `kick`, `mute`, `unmute`, `session_end` or `revocation`; skip others (later servers may add some).
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "kick"))]
    pub kind: String,
    /// The room.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub room_id: String,
    /// The session (null for a revocation).
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub session_id: Option<String>,
    /// kick, mute, unmute: the participant.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub participant_id: Option<String>,
    /// mute, unmute: which tracks.
    pub kinds: Option<Vec<TrackKind>>,
    /// Why: `kicked`, `replaced` (the same identity joined again), `ended`; a revocation's reason.
    pub reason: Option<String>,
    /// revocation: the revocation, as `GET /v2/revocations` publishes it.
    pub revocation: Option<Revocation>,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// A page of the control feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandFeed {
    /// Commands after the cursor, in order.
    pub data: Vec<RoomCommand>,
    /// The cursor to continue from.
    pub meta: FeedMeta,
}
