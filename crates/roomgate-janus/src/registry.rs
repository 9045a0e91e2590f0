//! The participants the bridge admitted and has not yet seen leave, with what binds each to Janus: its token,
//! the Janus sessions that joined with it, its publisher id and streams.

use std::{collections::HashMap, fmt};

use roomgate_verify::{Claims, Uuid};
use tokio::time::Instant;

use crate::secret::Secret;

/// One admitted participant.
#[derive(Clone)]
pub struct Participant {
    /// roomgate's participant id.
    pub id: Uuid,
    /// The roomgate room, whose id is the Janus room's.
    pub room: Uuid,
    /// The roomgate session it was admitted into.
    pub session_id: Uuid,
    /// Its verified token's claims (revocations are checked against them).
    pub claims: Claims,
    /// The Janus token made for it alone.
    pub token: Secret,
    /// Whether its token lets it publish, and subscribe.
    pub can_publish: bool,
    /// See `can_publish`.
    pub can_subscribe: bool,
    /// When the bridge admitted it.
    pub admitted_at: Instant,
    /// Since when its token and room are in Janus (`None` while the join is still provisioning them).
    pub provisioned: Option<Instant>,
    /// The Janus sessions that joined the room with its token, and since when the bridge knows each.
    pub sessions: HashMap<u64, Instant>,
    /// Its VideoRoom publisher id, once it joined.
    pub publisher: Option<String>,
    /// Its published streams: (mid, "audio" | "video").
    pub streams: Vec<(String, String)>,
    /// Whether roomgate muted its audio, and its video.
    pub muted: (bool, bool),
}

impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Participant")
            .field("id", &self.id)
            .field("room", &self.room)
            .field("session_id", &self.session_id)
            .field("sessions", &self.sessions)
            .field("publisher", &self.publisher.is_some())
            .finish_non_exhaustive()
    }
}

/// Every participant, by id, by token and by Janus session.
#[derive(Debug, Default)]
pub struct Registry {
    by_id: HashMap<Uuid, Participant>,
    by_token: HashMap<String, Uuid>,
    by_session: HashMap<u64, Uuid>,
}

impl Registry {
    /// Records a newly admitted participant.
    pub fn insert(&mut self, p: Participant) {
        self.by_token.insert(p.token.expose().to_owned(), p.id);
        self.by_id.insert(p.id, p);
    }

    /// Forgets a participant; what it was.
    pub fn remove(&mut self, id: Uuid) -> Option<Participant> {
        let p = self.by_id.remove(&id)?;
        self.by_token.remove(p.token.expose());
        for s in p.sessions.keys() {
            self.by_session.remove(s);
        }
        Some(p)
    }

    /// The participant.
    pub fn get(&self, id: Uuid) -> Option<&Participant> {
        self.by_id.get(&id)
    }

    /// The participant, to change it.
    pub fn get_mut(&mut self, id: Uuid) -> Option<&mut Participant> {
        self.by_id.get_mut(&id)
    }

    /// Whose token this is.
    pub fn by_token(&self, token: &str) -> Option<Uuid> {
        self.by_token.get(token).copied()
    }

    /// Whose Janus session this is.
    pub fn by_session(&self, session: u64) -> Option<Uuid> {
        self.by_session.get(&session).copied()
    }

    /// Binds a Janus session to a participant.
    pub fn bind(&mut self, id: Uuid, session: u64) {
        if let Some(p) = self.by_id.get_mut(&id) {
            p.sessions.entry(session).or_insert_with(Instant::now);
            self.by_session.insert(session, id);
        }
    }

    /// Unbinds a Janus session; the participant it was bound to.
    pub fn unbind(&mut self, session: u64) -> Option<Uuid> {
        let id = self.by_session.remove(&session)?;
        if let Some(p) = self.by_id.get_mut(&id) {
            p.sessions.remove(&session);
        }
        Some(id)
    }

    /// Every participant's id.
    pub fn ids(&self) -> Vec<Uuid> {
        self.by_id.keys().copied().collect()
    }

    /// The participants this picks.
    pub fn matching(&self, pick: impl Fn(&Participant) -> bool) -> Vec<Uuid> {
        self.by_id.values().filter(|p| pick(p)).map(|p| p.id).collect()
    }

    /// How many participants there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}
