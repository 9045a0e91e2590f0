//! What keeps Janus and roomgate in step: roomgate's control feed carried out in Janus, Janus's events (hints,
//! each checked through the Admin API before it counts) and a periodic reconciliation that also notices a Janus
//! restart.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use roomgate_verify::{Command, TrackKind, Uuid};
use serde_json::Value;
use tokio::time::Instant;

use crate::{
    bridge::{Bridge, Why},
    janus::JanusError,
};

/// How long after its admission a participant that no event has bound is looked for in Janus's sessions.
const UNBOUND_AFTER: Duration = Duration::from_secs(3);

/// Janus's event types (its `eventhandler.h`): session, plugin, core.
const EVENT_SESSION: u64 = 1;
const EVENT_PLUGIN: u64 = 64;
const EVENT_CORE: u64 = 256;

impl Bridge {
    /// Applies roomgate's control feed until it ends (the API key is refused).
    pub async fn obey(&self) {
        let mut commands = self.inner.link.commands();
        while let Some(command) = commands.next().await {
            self.apply(command).await;
        }
        tracing::error!("the control feed ended: the API key is refused");
    }

    async fn apply(&self, command: Command) {
        match command {
            Command::Kick { participant_id, .. } => {
                self.disconnect(participant_id, Why::Roomgate("kicked")).await;
            }
            Command::Gone { participant_id } => {
                self.disconnect(participant_id, Why::Roomgate("gone")).await;
            }
            Command::SessionEnd { room_id, session_id } => self.end_session(room_id, session_id).await,
            Command::Revocation(revocation) => {
                let ids = self.registry().matching(|p| revocation.covers(&p.claims));
                for id in ids {
                    self.disconnect(id, Why::Roomgate("revoked")).await;
                }
            }
            Command::Mute {
                participant_id,
                kinds,
                ..
            } => self.set_muted(participant_id, &kinds, true).await,
            Command::Unmute {
                participant_id,
                kinds,
                ..
            } => self.set_muted(participant_id, &kinds, false).await,
            _ => {}
        }
    }

    /// Mutes (or unmutes) the participant's streams of these kinds in Janus, now and when it publishes again.
    async fn set_muted(&self, id: Uuid, kinds: &[TrackKind], mute: bool) {
        let streams = {
            let mut registry = self.registry();
            let Some(p) = registry.get_mut(id) else { return };
            for kind in kinds {
                match kind {
                    TrackKind::Audio => p.muted.0 = mute,
                    TrackKind::Video => p.muted.1 = mute,
                    _ => {}
                }
            }
            p.publisher
                .clone()
                .map(|publisher| (p.room, publisher, p.streams.clone()))
        };
        let Some((room, publisher, streams)) = streams else {
            return;
        };
        let wanted: Vec<&str> = kinds
            .iter()
            .filter_map(|k| match k {
                TrackKind::Audio => Some("audio"),
                TrackKind::Video => Some("video"),
                _ => None,
            })
            .collect();
        for (mid, kind) in streams.iter().filter(|(_, k)| wanted.contains(&k.as_str())) {
            self.moderate(room, &publisher, mid, kind, mute).await;
        }
    }

    async fn moderate(&self, room: Uuid, publisher: &str, mid: &str, kind: &str, mute: bool) {
        let secret = self.room_secret(room);
        if let Err(e) = self
            .inner
            .admin
            .moderate(&room.to_string(), &secret, publisher, mid, mute)
            .await
        {
            tracing::warn!(%room, kind, error = %e, "moderating a stream failed");
        }
    }

    /// Takes a batch of Janus events (the HTTP event handler posts one object, or an array when grouping).
    pub async fn on_events(&self, body: Value) {
        let events = match body {
            Value::Array(events) => events,
            one => vec![one],
        };
        for event in events {
            self.on_event(&event).await;
        }
    }

    async fn on_event(&self, event: &Value) {
        let kind = event.get("type").and_then(Value::as_u64).unwrap_or(0);
        let session = event.get("session_id").and_then(Value::as_u64);
        let handle = event.get("handle_id").and_then(Value::as_u64);
        match kind {
            EVENT_SESSION => {
                let name = event.pointer("/event/name").and_then(Value::as_str);
                if let (Some("destroyed" | "timeout"), Some(session)) = (name, session) {
                    let ours = self.registry().by_session(session).is_some();
                    if ours {
                        // Checked against the Admin API: an event alone never ends a participant.
                        self.reconcile().await;
                    }
                }
            }
            EVENT_PLUGIN => {
                if event.pointer("/event/plugin").and_then(Value::as_str) != Some(crate::janus::VIDEOROOM) {
                    return;
                }
                let (Some(session), Some(handle)) = (session, handle) else {
                    return;
                };
                let data = event.pointer("/event/data").cloned().unwrap_or_default();
                self.on_videoroom(session, handle, &data).await;
            }
            EVENT_CORE => {
                let status = event.pointer("/event/status").and_then(Value::as_str);
                if status == Some("started") {
                    tracing::info!("Janus (re)started");
                    self.reconcile().await;
                }
            }
            _ => {}
        }
    }

    async fn on_videoroom(&self, session: u64, handle: u64, data: &Value) {
        let what = data.get("event").and_then(Value::as_str).unwrap_or_default();
        let known = self.registry().by_session(session);
        let bound = match known {
            Some(id) => Some(id),
            None => self.bind(session, handle).await,
        };
        let Some(id) = bound else { return };
        match what {
            "joined" => {
                let publisher = data.get("id").map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                if let Some(p) = self.registry().get_mut(id) {
                    p.publisher = publisher;
                }
            }
            "published" | "updated" => {
                let streams: Vec<(String, String)> = data
                    .get("streams")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| {
                        Some((
                            s.get("mid")?.as_str()?.to_owned(),
                            s.get("type")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect();
                let (allowed, room, publisher, muted) = {
                    let mut registry = self.registry();
                    let Some(p) = registry.get_mut(id) else { return };
                    p.streams = streams.clone();
                    (p.can_publish, p.room, p.publisher.clone(), p.muted)
                };
                if !allowed {
                    tracing::warn!(participant = %id, "published without permission: hung up");
                    self.hang_up(session, handle).await;
                    return;
                }
                if let Some(publisher) = publisher {
                    for (mid, kind) in &streams {
                        let mute = (kind == "audio" && muted.0) || (kind == "video" && muted.1);
                        if mute {
                            self.moderate(room, &publisher, mid, kind, true).await;
                        }
                    }
                }
            }
            "subscribing" | "subscribed" | "updated_subscription" => {
                let allowed = self.registry().get(id).is_some_and(|p| p.can_subscribe);
                if !allowed {
                    tracing::warn!(participant = %id, "subscribed without permission: hung up");
                    self.hang_up(session, handle).await;
                }
            }
            _ => {}
        }
    }

    async fn hang_up(&self, session: u64, handle: u64) {
        if let Err(e) = self.inner.admin.hangup(session, handle).await {
            tracing::warn!(error = %e, "hanging up a handle failed");
        }
    }

    /// Binds a Janus session to the participant whose token its handle was attached with (asked of Janus, so
    /// a forged event binds nothing).
    async fn bind(&self, session: u64, handle: u64) -> Option<Uuid> {
        let token = match self.inner.admin.handle_token(session, handle).await {
            Ok(token) => token?,
            Err(e) => {
                tracing::debug!(error = %e, "handle_info failed");
                return None;
            }
        };
        let mut registry = self.registry();
        let id = registry.by_token(&token)?;
        registry.bind(id, session);
        tracing::info!(participant = %id, "joined Janus");
        Some(id)
    }

    /// Checks every participant against Janus: sessions gone mean it left; a participant that never joined
    /// within the join window left too; tokens Janus lost mean it restarted (those not yet joined get theirs
    /// again; those joined are gone with their sessions).
    pub async fn reconcile(&self) {
        let admin = &self.inner.admin;
        // What changed after Janus was asked is not judged by its (older) answer.
        let asked = Instant::now();
        let (sessions, tokens) = match (admin.list_sessions().await, admin.list_tokens().await) {
            (Ok(s), Ok(t)) => (s, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot reconcile with Janus now");
                return;
            }
        };
        self.find_unbound(&sessions).await;
        let window = self.inner.settings.join_window;
        let mut left = Vec::new();
        let mut lost = Vec::new();
        {
            let mut registry = self.registry();
            for id in registry.ids() {
                let Some(p) = registry
                    .get(id)
                    .filter(|p| p.provisioned.is_some_and(|at| at < asked))
                else {
                    continue;
                };
                let dead: Vec<u64> = p
                    .sessions
                    .iter()
                    .filter(|(s, bound_at)| **bound_at < asked && !sessions.contains(s))
                    .map(|(s, _)| *s)
                    .collect();
                let had_sessions = !p.sessions.is_empty();
                let token_lost = !tokens.contains(p.token.expose());
                let (room, token, admitted_at) = (p.room, p.token.clone(), p.admitted_at);
                for s in dead {
                    registry.unbind(s);
                }
                let Some(p) = registry.get(id) else { continue };
                if had_sessions && p.sessions.is_empty() {
                    left.push((id, Why::Left));
                } else if p.sessions.is_empty() && admitted_at.elapsed() > window {
                    left.push((id, Why::NeverJoined));
                } else if token_lost && p.sessions.is_empty() {
                    lost.push((room, token));
                }
            }
        }
        if !lost.is_empty() {
            tracing::warn!(
                tokens = lost.len(),
                "Janus lost tokens (restarted?): provisioning them again"
            );
            self.forget_rooms();
            for (room, token) in lost {
                if let Err(e) = self.provision(room, &token).await {
                    tracing::warn!(%room, error = %e, "provisioning again failed");
                }
            }
        }
        for (id, why) in left {
            self.disconnect(id, why).await;
        }
        if let Err(e) = self.take_out_orphans(&tokens).await {
            tracing::warn!(error = %e, "taking tokens of no participant out of Janus failed");
        }
    }

    /// Looks through Janus's sessions for the handles of participants admitted a while ago that no event has
    /// bound yet (events lost, or Janus's event handler not configured), and binds them.
    async fn find_unbound(&self, sessions: &HashSet<u64>) {
        let (unbound, bound): (HashSet<String>, HashSet<u64>) = {
            let registry = self.registry();
            let unbound = registry
                .matching(|p| {
                    p.provisioned.is_some()
                        && p.sessions.is_empty()
                        && p.admitted_at.elapsed() > UNBOUND_AFTER
                })
                .into_iter()
                .filter_map(|id| registry.get(id).map(|p| p.token.expose().to_owned()))
                .collect();
            let bound = sessions
                .iter()
                .copied()
                .filter(|s| registry.by_session(*s).is_some())
                .collect();
            (unbound, bound)
        };
        if unbound.is_empty() {
            return;
        }
        let admin = &self.inner.admin;
        for &session in sessions.difference(&bound) {
            for handle in admin.list_handles(session).await.unwrap_or_default() {
                let token = admin.handle_token(session, handle).await.ok().flatten();
                if let Some(token) = token.filter(|t| unbound.contains(t)) {
                    let mut registry = self.registry();
                    if let Some(id) = registry.by_token(&token) {
                        registry.bind(id, session);
                        tracing::info!(participant = %id, "joined Janus (found by the reconciliation)");
                    }
                    break;
                }
            }
        }
    }

    /// Takes out of Janus the tokens of the bridge's form (of `tokens`, all Janus holds) whose participant it no
    /// longer holds: left by an earlier run of the bridge (whose verified claims are lost, so no revocation or
    /// lease could reach them), or not withdrawn when Janus did not answer. Their sessions are destroyed, the
    /// tokens removed, and their participants reported left.
    async fn take_out_orphans(&self, tokens: &HashSet<String>) -> Result<(), JanusError> {
        let candidates = |tokens: &HashSet<String>| -> HashMap<String, Uuid> {
            let registry = self.registry();
            let withdrawing = self.withdrawing();
            tokens
                .iter()
                .filter(|t| !withdrawing.contains(*t))
                .filter_map(|t| crate::Secret::participant_of(t).map(|id| (t.clone(), id)))
                .filter(|(_, id)| registry.get(*id).is_none())
                .collect()
        };
        if candidates(tokens).is_empty() {
            return Ok(());
        }
        // Asked again: the list may be older than withdrawals done since.
        let orphans = candidates(&self.inner.admin.list_tokens().await?);
        if orphans.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            count = orphans.len(),
            "tokens of no participant held are in Janus: taking them out"
        );
        let admin = &self.inner.admin;
        for session in admin.list_sessions().await? {
            for handle in admin.list_handles(session).await.unwrap_or_default() {
                let token = admin.handle_token(session, handle).await.ok().flatten();
                if token.is_some_and(|t| orphans.contains_key(&t)) {
                    admin.destroy_session(session).await?;
                    break;
                }
            }
        }
        for (token, id) in orphans {
            admin.remove_token(&crate::Secret::new(token)).await?;
            if let Err(e) = self.inner.link.leave(id).await {
                tracing::warn!(participant = %id, error = %e, "could not report the leave to roomgate");
            }
        }
        Ok(())
    }

    /// Reconciles every `interval` until the bridge stops, and says when Janus is down or back.
    pub async fn reconcile_every(&self, interval: Duration) {
        let mut reachable = true;
        let mut next = Instant::now();
        loop {
            next += interval;
            tokio::time::sleep_until(next).await;
            match self.inner.admin.ping().await {
                Ok(()) if !reachable => {
                    tracing::info!("Janus answers again");
                    reachable = true;
                    self.forget_rooms();
                }
                Ok(()) => {}
                Err(JanusError::Unreachable(e)) if reachable => {
                    tracing::warn!(error = %e, "Janus does not answer");
                    reachable = false;
                }
                Err(_) => {}
            }
            if reachable {
                self.reconcile().await;
            }
        }
    }
}
