//! The live room's records: sessions, participants, and the commands media servers carry out.
use uuid::Uuid;

use crate::{webhooks::WebhookEventType, RevocationRecord, RevocationSelector, UnixMicros, UnixSecs};

/// A session of a room: active while `ended_at` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Session id.
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// When the first participant was admitted.
    pub created_at: UnixMicros,
    /// Last change.
    pub updated_at: UnixMicros,
    /// When it ended, if it has.
    pub ended_at: Option<UnixMicros>,
}

/// A participant of a session, as admitted from a verified access token.
///
/// `Debug` shows `identity`, `name` and `context` only as set or not: they may be personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct ParticipantRecord {
    /// Participant id.
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The token's identity, if it names one.
    pub identity: Option<String>,
    /// The token's display name.
    pub name: Option<String>,
    /// What the media server passed along.
    pub context: Option<String>,
    /// The token's permissions as the API shows them (JSON).
    pub permissions: String,
    /// The admitted access token's `jti`.
    pub jti: Uuid,
    /// The admitted access token's `iat`.
    pub token_iat: UnixSecs,
    /// Admission time.
    pub joined_at: UnixMicros,
    /// Last change.
    pub updated_at: UnixMicros,
    /// When it left (or its lease expired).
    pub left_at: Option<UnixMicros>,
    /// Until when the media server's link has vouched for it.
    pub lease_expires_at: UnixMicros,
}

impl std::fmt::Debug for ParticipantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("ParticipantRecord")
            .field("id", &self.id)
            .field("room_id", &self.room_id)
            .field("session_id", &self.session_id)
            .field("identity", &set(&self.identity))
            .field("name", &set(&self.name))
            .field("context", &set(&self.context))
            .field("joined_at", &self.joined_at)
            .field("left_at", &self.left_at)
            .field("lease_expires_at", &self.lease_expires_at)
            .finish_non_exhaustive()
    }
}

/// An admission to store: the participant (its `session_id` is the new session's, used only if the room has no
/// active one) within the room's `max_participants`.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The participant; `session_id`, `left_at` are filled in by the store.
    pub participant: ParticipantRecord,
    /// The id of the session to open if the room has none.
    pub new_session_id: Uuid,
    /// How long kept commands (a replaced participant's kick) stay in the feed.
    pub command_expires_at: UnixMicros,
}

/// What an admission did.
#[derive(Clone, Debug)]
pub struct Admitted {
    /// The participant as stored.
    pub participant: ParticipantRecord,
    /// Whether it opened the session.
    pub session_started: bool,
    /// Earlier participants of the same identity it replaced (each now left, with a kick in the feed).
    pub replaced: Vec<Uuid>,
    /// The webhook events it queued (with anything else it settled), in order.
    pub webhooks: Vec<WebhookEventType>,
}

/// What a session's live room changes when a change ends: who left and whether the session ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Participants marked left (leases expired, kicked, ended).
    pub left: Vec<Uuid>,
    /// Sessions that ended.
    pub ended_sessions: Vec<Uuid>,
    /// The webhook events queued, in order.
    pub webhooks: Vec<WebhookEventType>,
}

/// Which participants a moderation action chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// Every live participant but `exclude`.
    All {
        /// Left alone.
        exclude: Vec<Uuid>,
    },
    /// These (those live), but `exclude`.
    Only {
        /// Chosen.
        ids: Vec<Uuid>,
        /// Left alone.
        exclude: Vec<Uuid>,
    },
}

impl Chosen {
    /// Whether `id` is chosen.
    pub fn contains(&self, id: Uuid) -> bool {
        match self {
            Chosen::All { exclude } => !exclude.contains(&id),
            Chosen::Only { ids, exclude } => ids.contains(&id) && !exclude.contains(&id),
        }
    }
}

/// A kind of track a mute command names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Microphone and screen audio.
    Audio,
    /// Camera and screen video.
    Video,
}

impl TrackKind {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }

    /// From its wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "audio" => Some(TrackKind::Audio),
            "video" => Some(TrackKind::Video),
            _ => None,
        }
    }
}

/// A moderation action on a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Moderation {
    /// End the session: everyone out, the room's tokens issued until now revoked.
    End,
    /// Disconnect the chosen participants and revoke their identity (or token) in the room.
    Kick(Chosen),
    /// Stop forwarding the chosen participants' tracks of these kinds.
    Mute(Chosen, Vec<TrackKind>),
    /// Forward them again.
    Unmute(Chosen, Vec<TrackKind>),
}

/// A moderation request, at `now`.
#[derive(Clone, Debug)]
pub struct ModerationRequest {
    /// The caller's account.
    pub account_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// What to do.
    pub action: Moderation,
    /// When.
    pub now: UnixMicros,
    /// Until when the commands stay in the feed.
    pub command_expires_at: UnixMicros,
    /// Until when a revocation of `selector` made at `now` must be kept (the server's rule).
    pub revocation_expires_at: fn(&RevocationSelector, UnixMicros) -> UnixMicros,
}

/// What a moderation action did.
#[derive(Clone, Debug, Default)]
pub struct Moderated {
    /// The participants it acted on.
    pub participants: Vec<Uuid>,
    /// Participants marked left and sessions ended.
    pub settled: Settled,
    /// Revocations it stored.
    pub revocations: Vec<RevocationRecord>,
}

/// What a command tells media servers to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// Disconnect a participant.
    Kick,
    /// Stop forwarding tracks.
    Mute,
    /// Forward them again.
    Unmute,
    /// Disconnect everyone in a session.
    SessionEnd,
}

impl CommandKind {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Kick => "kick",
            CommandKind::Mute => "mute",
            CommandKind::Unmute => "unmute",
            CommandKind::SessionEnd => "session_end",
        }
    }

    /// From its wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kick" => Some(CommandKind::Kick),
            "mute" => Some(CommandKind::Mute),
            "unmute" => Some(CommandKind::Unmute),
            "session_end" => Some(CommandKind::SessionEnd),
            _ => None,
        }
    }
}

/// A stored command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRecord {
    /// Its number in the account's feed.
    pub seq: i64,
    /// Command id.
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// The session.
    pub session_id: Option<Uuid>,
    /// The participant, for kick and mute.
    pub participant_id: Option<Uuid>,
    /// What to do.
    pub kind: CommandKind,
    /// Mute/unmute: which tracks.
    pub kinds: Vec<TrackKind>,
    /// Why (`kicked`, `replaced`, `ended`).
    pub reason: Option<String>,
    /// Unix microseconds.
    pub created_at: UnixMicros,
    /// Leaves the feed then.
    pub expires_at: UnixMicros,
}

/// One entry of the control feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEntry {
    /// A command.
    Command(CommandRecord),
    /// A revocation.
    Revocation(RevocationRecord),
}

impl FeedEntry {
    /// Its number in the account's feed.
    pub fn seq(&self) -> i64 {
        match self {
            FeedEntry::Command(c) => c.seq,
            FeedEntry::Revocation(r) => r.seq,
        }
    }
}

/// Which sessions to list. Time bounds are Unix microseconds, `from` inclusive and `until` exclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// One room's.
    pub room_id: Option<Uuid>,
    /// Active or ended ones.
    pub active: Option<bool>,
    /// `created_at` bounds.
    pub created: (Option<UnixMicros>, Option<UnixMicros>),
    /// `updated_at` bounds.
    pub updated: (Option<UnixMicros>, Option<UnixMicros>),
    /// `ended_at` bounds.
    pub ended: (Option<UnixMicros>, Option<UnixMicros>),
}

/// Which participants to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParticipantFilter {
    /// One session's.
    pub session_id: Option<Uuid>,
    /// Exact context.
    pub context: Option<String>,
    /// `joined_at` bounds.
    pub joined: (Option<UnixMicros>, Option<UnixMicros>),
    /// `updated_at` bounds.
    pub updated: (Option<UnixMicros>, Option<UnixMicros>),
    /// `left_at` bounds.
    pub left: (Option<UnixMicros>, Option<UnixMicros>),
}
