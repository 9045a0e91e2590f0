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
    /// Anything the media server wants kept with the participant (1 to 1,024 bytes of UTF-8, no control
    /// characters; null or absent for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 1024,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"
        )
    )]
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
    #[cfg_attr(feature = "openapi", schema(schema_with = renew_ids_schema))]
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

/// Body of the session action `kick`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionActionRequest {
    /// `"all"`, or a list of participant ids (at most 1,000).
    #[cfg_attr(feature = "openapi", schema(schema_with = participants_schema))]
    pub participants: serde_json::Value,
    /// Participant ids left alone (at most 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = exclude_schema))]
    pub exclude: Option<Vec<String>>,
}

/// Body of the session actions `mute` and `unmute`: the chosen participants, and which of their tracks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MuteRequest {
    /// `"all"`, or a list of participant ids (at most 1,000).
    #[cfg_attr(feature = "openapi", schema(schema_with = participants_schema))]
    pub participants: serde_json::Value,
    /// Participant ids left alone (at most 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = exclude_schema))]
    pub exclude: Option<Vec<String>>,
    /// roomgate: which tracks, each once (default both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = kinds_schema))]
    pub kinds: Option<Vec<TrackKind>>,
}

/// A participant id.
#[cfg(feature = "openapi")]
fn participant_id_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{schema::Type, ObjectBuilder};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uuid".into())))
        .build()
}

/// A list of at most 1,000 participant ids, at least `min`; nullable if `nullable`.
#[cfg(feature = "openapi")]
fn id_list_schema(min: usize, nullable: bool, description: &str) -> utoipa::openapi::Array {
    use utoipa::openapi::{
        schema::{SchemaType, Type},
        ArrayBuilder,
    };
    let types = match nullable {
        true => SchemaType::from_iter([Type::Array, Type::Null]),
        false => SchemaType::new(Type::Array),
    };
    ArrayBuilder::new()
        .schema_type(types)
        .items(participant_id_schema())
        .min_items((min > 0).then_some(min))
        .max_items(Some(1000))
        .description(Some(description))
        .build()
}

#[cfg(feature = "openapi")]
fn renew_ids_schema() -> utoipa::openapi::Array {
    id_list_schema(
        1,
        false,
        "The participants the media server still holds (1 to 1,000 ids).",
    )
}

#[cfg(feature = "openapi")]
fn exclude_schema() -> utoipa::openapi::Array {
    id_list_schema(0, true, "Participant ids left alone (at most 1,000).")
}

/// `"all"` or a list of ids.
#[cfg(feature = "openapi")]
fn participants_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::{schema::Type, ObjectBuilder, OneOfBuilder};
    let all = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["all"]))
        .build();
    let one_of = OneOfBuilder::new()
        .item(all)
        .item(id_list_schema(0, false, "These participants."))
        .description(Some("`\"all\"`, or a list of participant ids (at most 1,000)."))
        .build();
    utoipa::openapi::Schema::OneOf(one_of)
}

/// Each kind once, at least one; nullable.
#[cfg(feature = "openapi")]
fn kinds_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{
        schema::{SchemaType, Type},
        ArrayBuilder, Ref,
    };
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(Ref::from_schema_name("TrackKind"))
        .min_items(Some(1))
        .unique_items(true)
        .description(Some("roomgate: which tracks, each once (default both)."))
        .build()
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
