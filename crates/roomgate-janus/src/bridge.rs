//! The bridge itself: joins (verify, admit, provision Janus), disconnections carried out in Janus, and what
//! leaving reports back to roomgate.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use roomgate_verify::{Link, LinkError, Uuid, Verifier, VerifyError};
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    error::ApiError,
    janus::{Admin, JanusError, RoomSpec},
    registry::{Participant, Registry},
    secret::Secret,
};

/// What `POST /join` answers: what the page needs to join Janus.
#[derive(Clone, Serialize)]
pub struct Joined {
    /// Janus's HTTP API, for `new Janus({server, token})`.
    pub janus_url: String,
    /// The VideoRoom room id (the roomgate room id).
    pub room: String,
    /// The Janus token, for the Janus session and the VideoRoom `join`'s `token`.
    pub token: String,
    /// roomgate's participant id (use it as the publisher's `id`).
    pub participant_id: Uuid,
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined")
            .field("room", &self.room)
            .field("participant_id", &self.participant_id)
            .finish_non_exhaustive()
    }
}

/// Why a participant is disconnected from Janus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// It left Janus (its sessions are gone).
    Left,
    /// It never joined Janus within the join window.
    NeverJoined,
    /// roomgate kicked it, ended its session, revoked its token, or holds it no longer live.
    Roomgate(&'static str),
}

/// Settings the bridge runs with beside its clients.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Janus's HTTP API as the pages reach it.
    pub janus_url: String,
    /// How many publishers a VideoRoom room takes at once.
    pub publishers: u32,
    /// How long an admitted participant has to join Janus before it is taken to have left.
    pub join_window: Duration,
    /// How often Janus's sessions and tokens are checked against the participants.
    pub reconcile_interval: Duration,
}

pub(crate) struct Inner {
    pub(crate) admin: Admin,
    pub(crate) admin_secret: Secret,
    pub(crate) verifier: Verifier,
    pub(crate) link: Link,
    pub(crate) settings: Settings,
    pub(crate) registry: Mutex<Registry>,
    /// Rooms known to exist in Janus since it last (re)started.
    pub(crate) rooms: Mutex<HashSet<Uuid>>,
    /// Tokens of participants let go whose withdrawal from Janus is under way (not orphans).
    pub(crate) withdrawing: Mutex<HashSet<String>>,
}

/// The bridge: cheap to clone, shared by the HTTP handlers and the background tasks.
#[derive(Clone)]
pub struct Bridge {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("admin", &self.inner.admin)
            .field("participants", &self.registry().len())
            .finish_non_exhaustive()
    }
}

/// Unix seconds now: tokens are verified at this instant.
#[allow(clippy::disallowed_methods)] // the bridge's one read of the wall clock
pub(crate) fn unix_now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

impl Bridge {
    pub(crate) fn new(
        admin: Admin,
        admin_secret: Secret,
        verifier: Verifier,
        link: Link,
        settings: Settings,
    ) -> Self {
        Bridge {
            inner: Arc::new(Inner {
                admin,
                admin_secret,
                verifier,
                link,
                settings,
                registry: Mutex::new(Registry::default()),
                rooms: Mutex::new(HashSet::new()),
                withdrawing: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn withdrawing(&self) -> MutexGuard<'_, HashSet<String>> {
        self.inner
            .withdrawing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn rooms(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        self.inner.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn room_secret(&self, room: Uuid) -> Secret {
        Secret::for_room(&self.inner.admin_secret, &room.to_string())
    }

    /// How many participants the bridge holds now.
    pub fn participants(&self) -> usize {
        self.registry().len()
    }

    /// A join: verify the roomgate access token, have roomgate admit it, and give it a Janus token that
    /// Janus accepts for that room alone.
    pub async fn join(&self, access_token: &str) -> Result<Joined, ApiError> {
        let room = token_room(access_token).ok_or(ApiError::Unauthenticated("malformed"))?;
        let claims = self
            .inner
            .verifier
            .verify_access_token(access_token, room, unix_now())
            .await
            .map_err(|e| match e {
                VerifyError::Token(t) => ApiError::Unauthenticated(t.reason()),
                VerifyError::Revoked { .. } => ApiError::Refused("revoked".into()),
                other => {
                    tracing::warn!(reason = other.reason(), error = %other, "cannot verify tokens now");
                    ApiError::Unavailable("token verification")
                }
            })?;
        let Some(who) = claims.participant() else {
            return Err(ApiError::Unauthenticated("grants"));
        };
        let admitted = self
            .inner
            .link
            .admit(access_token, Some("janus"))
            .await
            .map_err(|e| match e {
                LinkError::RoomFull { max_participants } => ApiError::RoomFull(max_participants),
                LinkError::Refused { reason } => ApiError::Refused(reason),
                other => {
                    tracing::warn!(reason = other.reason(), error = %other, "roomgate did not answer the admission");
                    ApiError::Unavailable("roomgate")
                }
            })?;
        let participant = Participant {
            id: admitted.id,
            room,
            session_id: admitted.session_id,
            can_publish: who.permissions.can_publish_any(),
            can_subscribe: who.permissions.can_subscribe(),
            claims,
            token: Secret::participant_token(admitted.id),
            admitted_at: Instant::now(),
            provisioned: None,
            sessions: HashMap::new(),
            publisher: None,
            streams: Vec::new(),
            muted: (false, false),
        };
        let token = participant.token.clone();
        // Held before its token is in Janus, so that the reconciliation never takes the token for an orphan.
        self.registry().insert(participant);
        if let Err(e) = self.provision(room, &token).await {
            tracing::warn!(participant = %admitted.id, error = %e, "Janus could not take the participant");
            self.registry().remove(admitted.id);
            let _ = self.inner.admin.remove_token(&token).await;
            if let Err(e) = self.inner.link.leave(admitted.id).await {
                tracing::warn!(participant = %admitted.id, error = %e, "could not report the leave");
            }
            return Err(ApiError::Unavailable("Janus"));
        }
        let still_admitted = match self.registry().get_mut(admitted.id) {
            Some(p) => {
                p.provisioned = Some(Instant::now());
                true
            }
            None => false,
        };
        if !still_admitted {
            // Kicked (or its session ended) while Janus was being set up: the reconciliation takes the token out.
            return Err(ApiError::Refused("kicked".into()));
        }
        tracing::info!(participant = %admitted.id, %room, session = %admitted.session_id, "admitted");
        Ok(Joined {
            janus_url: self.inner.settings.janus_url.clone(),
            room: room.to_string(),
            token: token.expose().to_owned(),
            participant_id: admitted.id,
        })
    }

    /// Makes sure the room exists in Janus, and that `token` may use the VideoRoom and join that room.
    pub(crate) async fn provision(&self, room: Uuid, token: &Secret) -> Result<(), JanusError> {
        let secret = self.room_secret(room);
        let name = room.to_string();
        if !self.rooms().contains(&room) {
            let spec = RoomSpec {
                room: &name,
                secret: &secret,
                publishers: self.inner.settings.publishers,
            };
            if self.inner.admin.ensure_room(&spec).await? {
                tracing::info!(%room, "created the Janus room");
            }
            self.rooms().insert(room);
        }
        self.inner.admin.add_token(token).await?;
        if let Err(e) = self.inner.admin.allowed(&name, &secret, token, true).await {
            // The room may have been destroyed meanwhile (a session end): make it again once.
            self.rooms().remove(&room);
            tracing::debug!(%room, error = %e, "allowing the token failed; recreating the room");
            let spec = RoomSpec {
                room: &name,
                secret: &secret,
                publishers: self.inner.settings.publishers,
            };
            self.inner.admin.ensure_room(&spec).await?;
            self.rooms().insert(room);
            self.inner.admin.allowed(&name, &secret, token, true).await?;
        }
        Ok(())
    }

    /// Removes a participant from Janus (publisher kicked, sessions destroyed, token withdrawn) and, unless
    /// roomgate already knows, tells roomgate it left.
    pub(crate) async fn disconnect(&self, id: Uuid, why: Why) {
        let Some(p) = self.registry().remove(id) else {
            return;
        };
        self.withdrawing().insert(p.token.expose().to_owned());
        let admin = &self.inner.admin;
        let room = p.room.to_string();
        let secret = self.room_secret(p.room);
        // Withdraw the token first, so nothing new can be done with it while the rest happens.
        let results = [
            admin.remove_token(&p.token).await,
            admin.allowed(&room, &secret, &p.token, false).await,
        ];
        if let Some(publisher) = &p.publisher {
            if let Err(e) = admin.kick(&room, &secret, publisher).await {
                tracing::warn!(participant = %id, error = %e, "kicking the publisher failed");
            }
        }
        for session in p.sessions.keys() {
            if let Err(e) = admin.destroy_session(*session).await {
                tracing::warn!(participant = %id, error = %e, "destroying its Janus session failed");
            }
        }
        // Done or not: a token left in Janus is an orphan from now on, which the reconciliation takes out.
        self.withdrawing().remove(p.token.expose());
        for e in results.into_iter().filter_map(Result::err) {
            tracing::warn!(participant = %id, error = %e, "withdrawing its Janus token failed");
        }
        tracing::info!(participant = %id, room = %p.room, why = ?why, "disconnected");
        if let Err(e) = self.inner.link.leave(id).await {
            tracing::warn!(participant = %id, error = %e, "could not report the leave to roomgate");
        }
    }

    /// The session's end in Janus: its participants out, then the room destroyed, unless participants of a
    /// later session are in it (the feed replays old commands when the bridge starts).
    pub(crate) async fn end_session(&self, room: Uuid, session_id: Uuid) {
        let ids = self.registry().matching(|p| p.session_id == session_id);
        for id in ids {
            self.disconnect(id, Why::Roomgate("session_end")).await;
        }
        if !self.registry().matching(|p| p.room == room).is_empty() {
            return;
        }
        self.rooms().remove(&room);
        if let Err(e) = self
            .inner
            .admin
            .destroy_room(&room.to_string(), &self.room_secret(room))
            .await
        {
            tracing::warn!(%room, error = %e, "destroying the Janus room failed");
        }
    }

    /// Janus restarted: the rooms it had are gone.
    pub(crate) fn forget_rooms(&self) {
        self.rooms().clear();
    }
}

/// The room an access token names, read before it is verified (verification then checks it).
fn token_room(token: &str) -> Option<Uuid> {
    let (_, payload) = roomgate_token::decode_unverified(token).ok()?;
    let claims: roomgate_verify::Claims = serde_json::from_value(payload).ok()?;
    claims.room_id()
}
