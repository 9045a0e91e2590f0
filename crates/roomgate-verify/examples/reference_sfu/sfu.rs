//! The reference SFU's core: what a media server does with a [`Verifier`] and a [`Link`]. The example's `main`
//! runs it against a roomgate, and roomgate-verify's integration tests drive it.
//!
//! A join verifies the token locally (keys from roomgate's JWKS), then asks roomgate to admit it; the
//! connection is kept with the verified claims. The link renews every lease by itself. [`Sfu::obey`] applies
//! the control feed: a kick, a session end, a covering revocation or a participant found gone disconnects; a
//! mute or unmute flips the connection's forwarding flags.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use roomgate_verify::{Claims, Command, Commands, Link, LinkError, TrackKind, Uuid, Verifier, VerifyError};
use tokio::sync::Notify;

/// A participant's connection: in a real SFU, its transport and tracks; here, what decides what is forwarded.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The room.
    pub room_id: Uuid,
    /// The room session roomgate admitted it into.
    pub session_id: Uuid,
    /// Its verified token's claims, which revocations are checked against.
    pub claims: Claims,
    /// Whether its audio is held back.
    pub audio_muted: bool,
    /// Whether its video is held back.
    pub video_muted: bool,
}

/// Why a connection was closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// The participant left (the SFU said so).
    Left,
    /// roomgate kicked it (`"kicked"`, or `"replaced"` by a newer admission of its identity).
    Kicked(Option<String>),
    /// Its session ended.
    SessionEnded,
    /// A revocation covers its token.
    Revoked(Uuid),
    /// roomgate no longer holds it live (its lease ran out, or it left elsewhere).
    Gone,
}

/// Why a join failed.
#[derive(Debug)]
pub enum JoinError {
    /// The token does not verify here (bad, expired, another room, revoked…).
    Token(VerifyError),
    /// roomgate did not admit it (room full, refused) or could not be asked.
    Link(LinkError),
}

/// The SFU: connections by participant id, and the closes so far.
#[derive(Debug)]
pub struct Sfu {
    verifier: Verifier,
    link: Link,
    state: Mutex<State>,
    /// Woken on every close.
    closed: Notify,
}

#[derive(Debug, Default)]
struct State {
    connections: HashMap<Uuid, Connection>,
    closes: Vec<(Uuid, Disconnect)>,
}

impl Sfu {
    /// An SFU verifying with `verifier` and admitting through `link`.
    pub fn new(verifier: Verifier, link: Link) -> Arc<Self> {
        Arc::new(Sfu {
            verifier,
            link,
            state: Mutex::default(),
            closed: Notify::new(),
        })
    }

    /// A client joins `room_id` with `token` at Unix second `now`: its participant id once admitted.
    pub async fn join(&self, room_id: Uuid, token: &str, now: i64) -> Result<Uuid, JoinError> {
        let claims = self
            .verifier
            .verify_access_token(token, room_id, now)
            .await
            .map_err(JoinError::Token)?;
        let admitted = self
            .link
            .admit(token, Some("reference-sfu"))
            .await
            .map_err(JoinError::Link)?;
        let connection = Connection {
            room_id,
            session_id: admitted.session_id,
            claims,
            audio_muted: false,
            video_muted: false,
        };
        self.state().connections.insert(admitted.id, connection);
        Ok(admitted.id)
    }

    /// The client hung up: close its connection and tell roomgate.
    pub async fn leave(&self, participant_id: Uuid) -> Result<(), LinkError> {
        self.close(participant_id, Disconnect::Left);
        self.link.leave(participant_id).await.map(drop)
    }

    /// Applies the control feed until it ends (a refused API key).
    pub async fn obey(&self, mut commands: Commands) {
        while let Some(command) = commands.next().await {
            self.apply(&command);
        }
    }

    /// Applies one command to the connections it concerns.
    pub fn apply(&self, command: &Command) {
        match command {
            Command::Kick {
                participant_id,
                reason,
                ..
            } => {
                self.close(*participant_id, Disconnect::Kicked(reason.clone()));
            }
            Command::Gone { participant_id } => self.close(*participant_id, Disconnect::Gone),
            Command::Mute {
                participant_id,
                kinds,
                ..
            } => self.set_muted(*participant_id, kinds, true),
            Command::Unmute {
                participant_id,
                kinds,
                ..
            } => self.set_muted(*participant_id, kinds, false),
            Command::SessionEnd { session_id, .. } => {
                let ids = self.matching(|c| c.session_id == *session_id);
                for id in ids {
                    self.close(id, Disconnect::SessionEnded);
                }
            }
            Command::Revocation(revocation) => {
                let ids = self.matching(|c| revocation.covers(&c.claims));
                for id in ids {
                    self.close(id, Disconnect::Revoked(revocation.id()));
                }
            }
            // Newer commands this SFU does not act on.
            _ => {}
        }
    }

    /// The connection of this participant, if it is connected.
    pub fn connection(&self, participant_id: Uuid) -> Option<Connection> {
        self.state().connections.get(&participant_id).cloned()
    }

    /// Why this participant's connection was closed, waiting up to `within` for it to be.
    pub async fn closed(&self, participant_id: Uuid, within: Duration) -> Option<Disconnect> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let woken = self.closed.notified();
            if let Some(why) = self.close_of(participant_id) {
                return Some(why);
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return self.close_of(participant_id);
            }
        }
    }

    /// Waits up to `within` for a mute or unmute to leave the connection's (audio, video) flags as `flags`.
    pub async fn muted(&self, participant_id: Uuid, flags: (bool, bool), within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self
                .connection(participant_id)
                .map(|c| (c.audio_muted, c.video_muted));
            if now == Some(flags) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn close_of(&self, participant_id: Uuid) -> Option<Disconnect> {
        let state = self.state();
        state
            .closes
            .iter()
            .find(|(id, _)| *id == participant_id)
            .map(|(_, why)| why.clone())
    }

    fn close(&self, participant_id: Uuid, why: Disconnect) {
        let mut state = self.state();
        if state.connections.remove(&participant_id).is_some() {
            // A real SFU closes the transport here.
            state.closes.push((participant_id, why));
            self.closed.notify_waiters();
        }
    }

    fn set_muted(&self, participant_id: Uuid, kinds: &[TrackKind], muted: bool) {
        if let Some(c) = self.state().connections.get_mut(&participant_id) {
            for kind in kinds {
                match kind {
                    TrackKind::Audio => c.audio_muted = muted,
                    TrackKind::Video => c.video_muted = muted,
                    _ => {}
                }
            }
        }
    }

    fn matching(&self, pick: impl Fn(&Connection) -> bool) -> Vec<Uuid> {
        let state = self.state();
        state
            .connections
            .iter()
            .filter(|(_, c)| pick(c))
            .map(|(id, _)| *id)
            .collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
