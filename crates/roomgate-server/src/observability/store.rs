//! A [`Store`] that times every call of the store it wraps.
use std::{future::Future, sync::Arc, time::Instant};

use async_trait::async_trait;
use roomgate_store::{
    Admission, Admitted, ApiKeyRecord, FeedEntry, KeyAuth, Moderated, ModerationRequest, NewApiKey,
    NewRevocation, ParticipantFilter, ParticipantRecord, RefreshCheck, Result, RevocationRecord, RoomFilter,
    RoomPatch, RoomRecord, SessionFilter, SessionRecord, Settled, SigningKeyRecord, Store, TokenFacts,
    WebhookEventRecord, WebhookSettlement,
};
use uuid::Uuid;

use super::metrics::store_call;

/// Wraps a store so that each operation's latency and outcome reach the metrics.
#[derive(Debug)]
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
}

impl InstrumentedStore {
    /// `inner`, instrumented.
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(Self { inner })
    }
}

async fn timed<T>(operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
    let start = Instant::now();
    let result = call.await;
    store_call(operation, start, &result);
    result
}

#[async_trait]
impl Store for InstrumentedStore {
    async fn ping(&self) -> Result<()> {
        timed("ping", self.inner.ping()).await
    }

    async fn ensure_account(&self, name: &str, now: i64) -> Result<Uuid> {
        timed("ensure_account", self.inner.ensure_account(name, now)).await
    }

    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        timed("insert_api_key", self.inner.insert_api_key(key)).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        timed("list_api_keys", self.inner.list_api_keys()).await
    }

    async fn revoke_api_key(&self, id: Uuid, now: i64) -> Result<()> {
        timed("revoke_api_key", self.inner.revoke_api_key(id, now)).await
    }

    async fn authenticate(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        timed("authenticate", self.inner.authenticate(key_hash)).await
    }

    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        timed("authorize_room", self.inner.authorize_room(key_hash, room_id)).await
    }

    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()> {
        timed("insert_room", self.inner.insert_room_within(room, max_rooms)).await
    }

    async fn insert_rooms(&self, rooms: &[RoomRecord]) -> Result<()> {
        timed("insert_rooms", self.inner.insert_rooms(rooms)).await
    }

    async fn get_room(&self, account_id: Uuid, id: Uuid) -> Result<RoomRecord> {
        timed("get_room", self.inner.get_room(account_id, id)).await
    }

    async fn room_exists(&self, id: Uuid) -> Result<bool> {
        timed("room_exists", self.inner.room_exists(id)).await
    }

    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        timed("check_refresh", self.inner.check_refresh(token, minted_by)).await
    }

    async fn insert_revocation(&self, revocation: &NewRevocation) -> Result<RevocationRecord> {
        timed("insert_revocation", self.inner.insert_revocation(revocation)).await
    }

    async fn list_revocations(
        &self,
        account_id: Uuid,
        room_id: Uuid,
        now: i64,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RevocationRecord>, u64)> {
        timed(
            "list_revocations",
            self.inner
                .list_revocations(account_id, room_id, now, limit, offset),
        )
        .await
    }

    async fn revocation_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<RevocationRecord>, i64)> {
        timed(
            "revocation_feed",
            self.inner.revocation_feed(account_id, after, now, limit),
        )
        .await
    }

    async fn find_revocation(&self, token: &TokenFacts<'_>) -> Result<Option<RevocationRecord>> {
        timed("find_revocation", self.inner.find_revocation(token)).await
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64> {
        timed("prune_revocations", self.inner.prune_revocations(now)).await
    }

    fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.revocation_signal()
    }

    async fn admit_participant(&self, admission: &Admission) -> Result<Admitted> {
        timed("admit_participant", self.inner.admit_participant(admission)).await
    }

    async fn leave_participant(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<(ParticipantRecord, Settled)> {
        timed(
            "leave_participant",
            self.inner.leave_participant(account_id, id, now),
        )
        .await
    }

    async fn renew_participants(
        &self,
        account_id: Uuid,
        ids: &[Uuid],
        now: i64,
        until: i64,
    ) -> Result<Vec<Uuid>> {
        timed(
            "renew_participants",
            self.inner.renew_participants(account_id, ids, now, until),
        )
        .await
    }

    async fn expire_leases(&self, now: i64) -> Result<Settled> {
        timed("expire_leases", self.inner.expire_leases(now)).await
    }

    async fn moderate(&self, request: &ModerationRequest) -> Result<Moderated> {
        timed("moderate", self.inner.moderate(request)).await
    }

    async fn control_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<FeedEntry>, i64)> {
        timed(
            "control_feed",
            self.inner.control_feed(account_id, after, now, limit),
        )
        .await
    }

    async fn prune_commands(&self, now: i64) -> Result<u64> {
        timed("prune_commands", self.inner.prune_commands(now)).await
    }

    async fn get_session(&self, account_id: Uuid, id: Uuid) -> Result<SessionRecord> {
        timed("get_session", self.inner.get_session(account_id, id)).await
    }

    async fn list_sessions(
        &self,
        account_id: Uuid,
        filter: &SessionFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<SessionRecord>, u64)> {
        timed(
            "list_sessions",
            self.inner.list_sessions(account_id, filter, limit, offset),
        )
        .await
    }

    async fn get_participant(&self, account_id: Uuid, id: Uuid) -> Result<ParticipantRecord> {
        timed("get_participant", self.inner.get_participant(account_id, id)).await
    }

    async fn list_participants(
        &self,
        account_id: Uuid,
        filter: &ParticipantFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ParticipantRecord>, u64)> {
        timed(
            "list_participants",
            self.inner.list_participants(account_id, filter, limit, offset),
        )
        .await
    }

    async fn list_rooms(
        &self,
        account_id: Uuid,
        filter: &RoomFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RoomRecord>, u64)> {
        timed(
            "list_rooms",
            self.inner.list_rooms(account_id, filter, limit, offset),
        )
        .await
    }

    async fn update_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        patch: &RoomPatch,
        now: i64,
    ) -> Result<RoomRecord> {
        timed("update_room", self.inner.update_room(account_id, id, patch, now)).await
    }

    async fn delete_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: i64,
        command_expires_at: i64,
    ) -> Result<Settled> {
        timed(
            "delete_room",
            self.inner.delete_room(account_id, id, now, command_expires_at),
        )
        .await
    }

    async fn claim_webhook_events(&self, now: i64, limit: u32) -> Result<Vec<WebhookEventRecord>> {
        timed(
            "claim_webhook_events",
            self.inner.claim_webhook_events(now, limit),
        )
        .await
    }

    async fn settle_webhook_event(
        &self,
        seq: i64,
        how: &WebhookSettlement,
        now: i64,
        error: Option<&str>,
    ) -> Result<()> {
        timed(
            "settle_webhook_event",
            self.inner.settle_webhook_event(seq, how, now, error),
        )
        .await
    }

    async fn prune_webhook_events(&self, before: i64) -> Result<u64> {
        timed("prune_webhook_events", self.inner.prune_webhook_events(before)).await
    }

    async fn webhook_key(&self, new: &SigningKeyRecord) -> Result<SigningKeyRecord> {
        timed("webhook_key", self.inner.webhook_key(new)).await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        timed("signing_keys", self.inner.signing_keys()).await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        timed("insert_signing_key", self.inner.insert_signing_key(key)).await
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_others_at: i64,
        unless_created_since: Option<i64>,
    ) -> Result<bool> {
        timed(
            "rotate_signing_key",
            self.inner
                .rotate_signing_key(key, retire_others_at, unless_created_since),
        )
        .await
    }
}
