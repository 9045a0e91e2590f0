//! The [`Store`] both backends are, written once over the little that differs between them ([`SqlBackend`]):
//! running a statement (binds and rows), the transactions that take locks, the hot path's readers and the
//! revocation signal.
use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    listing,
    listing::{Conditions, TotalFrom, Window},
    live::{
        self,
        model::{
            Admission, Admitted, FeedEntry, Moderated, ModerationRequest, ParticipantFilter,
            ParticipantRecord, SessionFilter, SessionRecord, Settled,
        },
    },
    revoking,
    rows::{self, Columns},
    sql::{self, found, Statement},
    webhooks::{self, WebhookEventRecord, WebhookSettlement},
    ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, RefreshCheck, Result, RevocationRecord, RoomFilter,
    RoomPatch, RoomRecord, SigningKeyRecord, Store, StoreError, TokenFacts,
};

/// Which writes a write transaction must not run beside, beyond those of the rows it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Serial {
    /// Only the rows it changes.
    Rows,
    /// Other signing-key rotations.
    Rotation,
}

/// Decides, from the rows of a snapshot's first statement, what it reads next (if anything).
pub(crate) type Then<'a, R> = &'a (dyn Fn(&[R]) -> Result<Option<Statement>> + Send + Sync);

/// What a SQL backend does its own way.
#[async_trait]
pub(crate) trait SqlBackend: Send + Sync + std::fmt::Debug + 'static {
    /// A row as the backend decodes it.
    type Row: Columns + Send + Sync;

    /// Runs a statement; the rows it changed.
    async fn execute(&self, s: &Statement) -> Result<u64>;
    /// Runs a statement; the rows it returned.
    async fn all(&self, s: &Statement) -> Result<Vec<Self::Row>>;
    /// `first`, then what `then` makes of its rows, in one read-only snapshot.
    async fn snapshot(&self, first: &Statement, then: Then<'_, Self::Row>) -> Result<[Vec<Self::Row>; 2]>;
    /// Runs `first` and, if it changed a row, `rest`, in one write transaction (for [`Serial::Rotation`], one no
    /// other rotation runs beside); whether `first` changed a row.
    async fn write(&self, serial: Serial, first: &Statement, rest: &[Statement]) -> Result<bool>;
    /// Numbers and stores a revocation (see [`Store::insert_revocation`]) and tells the waiters; its number.
    async fn revoke(&self, r: &NewRevocation) -> Result<i64>;
    /// Follows the read of an account's room count when a create checks the limit (see each backend).
    const ROOM_COUNT_LOCK: &'static str;
    /// Follows the select of webhook events a claim takes (PostgreSQL skips rows another replica is claiming).
    const SKIP_LOCKED: &'static str;
    /// Names a row in an index, for a listing's window (see each backend).
    const ROW_KEY: &'static str;

    /// Hot path: [`Store::authenticate`].
    async fn read_key(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>>;
    /// Hot path: [`Store::authorize_room`].
    async fn read_key_and_room(&self, key_hash: &[u8; 32], room: Uuid) -> Result<Option<(KeyAuth, bool)>>;
    /// Hot path: [`Store::room_exists`].
    async fn read_room_exists(&self, id: Uuid) -> Result<bool>;
    /// Hot path: [`Store::check_refresh`].
    async fn read_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck>;
    /// [`Store::revocation_signal`].
    fn signal(&self) -> tokio::sync::watch::Receiver<u64>;

    /// A write transaction, for the live room's changes (see `live`).
    type Tx: Send;
    /// Begins one.
    async fn begin(&self) -> Result<Self::Tx>;
    /// Runs a statement in it; the rows it changed (a foreign key that no longer holds is `NotFound`).
    async fn tx_execute(&self, tx: &mut Self::Tx, s: &Statement) -> Result<u64>;
    /// Runs a statement in it; the rows it returned.
    async fn tx_all(&self, tx: &mut Self::Tx, s: &Statement) -> Result<Vec<Self::Row>>;
    /// Commits it; if it added to `feed_of`'s control feed, tells the feed's waiters on every replica.
    async fn commit(&self, tx: Self::Tx, feed_of: Option<Uuid>) -> Result<()>;
}

/// The one row a statement returned; `NotFound` if none.
async fn one<B: SqlBackend>(b: &B, s: &Statement) -> Result<B::Row> {
    b.all(s).await?.into_iter().next().ok_or(StoreError::NotFound)
}

/// The first column of a count's one row, as a count.
fn count(rows: &[impl Columns]) -> Result<u64> {
    let n: Option<i64> = rows.first().map(|r| r.get_at(0)).transpose()?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

// The bound is crate-private on purpose: only this crate's backends are stores this way.
#[allow(private_bounds)]
#[async_trait]
impl<B: SqlBackend> Store for B {
    async fn ping(&self) -> Result<()> {
        self.execute(&Statement::new(sql::PING)).await.map(drop)
    }

    async fn ensure_account(&self, name: &str, now: i64) -> Result<Uuid> {
        let [insert, select] = sql::ensure_account(name, now);
        self.execute(&insert).await?;
        one(self, &select).await?.id("id")
    }

    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        let [insert, select] = sql::insert_api_key(key);
        self.execute(&insert).await?;
        rows::api_key(&one(self, &select).await?)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.all(&sql::list_api_keys())
            .await?
            .iter()
            .map(rows::api_key)
            .collect()
    }

    async fn revoke_api_key(&self, id: Uuid, now: i64) -> Result<()> {
        found(self.execute(&sql::revoke_api_key(id, now)).await?)
    }

    async fn authenticate(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        self.read_key(key_hash).await
    }

    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        self.read_key_and_room(key_hash, room_id).await
    }

    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()> {
        match self
            .execute(&sql::insert_room(room, max_rooms, Self::ROOM_COUNT_LOCK))
            .await?
        {
            0 => Err(StoreError::LimitReached("rooms")),
            _ => Ok(()),
        }
    }

    async fn insert_rooms(&self, rooms: &[RoomRecord]) -> Result<()> {
        match sql::insert_rooms(rooms).split_first() {
            Some((first, rest)) => self.write(Serial::Rows, first, rest).await.map(drop),
            None => Ok(()),
        }
    }

    async fn get_room(&self, account_id: Uuid, id: Uuid) -> Result<RoomRecord> {
        rows::room(&one(self, &sql::get_room(account_id, id)).await?)
    }

    async fn room_exists(&self, id: Uuid) -> Result<bool> {
        self.read_room_exists(id).await
    }

    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        self.read_refresh(token, minted_by).await
    }

    async fn insert_revocation(&self, revocation: &NewRevocation) -> Result<RevocationRecord> {
        let seq = self.revoke(revocation).await?;
        Ok(RevocationRecord {
            seq,
            revocation: revocation.clone(),
        })
    }

    async fn list_revocations(
        &self,
        account_id: Uuid,
        room_id: Uuid,
        now: i64,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RevocationRecord>, u64)> {
        let [total, page] = revoking::room_revocations(account_id, room_id, now, limit, offset);
        let [total, rows] = self.snapshot(&total, &|_| Ok(Some(page.clone()))).await?;
        let page = rows.iter().map(rows::revocation).collect::<Result<_>>()?;
        Ok((page, count(&total)?))
    }

    async fn revocation_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<RevocationRecord>, i64)> {
        // The head first, then the rows up to it: every revocation numbered up to a committed head has
        // committed (the number and the row are taken in one transaction, under the account's row lock, or
        // SQLite's one write lock), so nothing below the returned cursor can appear later.
        let head = self.all(&revoking::feed_head(account_id)).await?;
        let head: i64 = head.first().map(|r| r.get_at(0)).transpose()?.unwrap_or(0);
        let rows = self
            .all(&revoking::feed(account_id, after, head, now, limit))
            .await?;
        let page: Vec<RevocationRecord> = rows.iter().map(rows::revocation).collect::<Result<_>>()?;
        let next = revoking::feed_next(&page, head, limit);
        Ok((page, next))
    }

    async fn find_revocation(&self, token: &TokenFacts<'_>) -> Result<Option<RevocationRecord>> {
        let rows = self.all(&revoking::covering(token)).await?;
        rows.first().map(rows::revocation).transpose()
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64> {
        self.execute(&revoking::prune_revocations(now)).await
    }

    fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal()
    }

    async fn admit_participant(&self, admission: &Admission) -> Result<Admitted> {
        live::admit(self, admission).await
    }

    async fn leave_participant(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<(ParticipantRecord, Settled)> {
        live::leave(self, account_id, id, now).await
    }

    async fn renew_participants(
        &self,
        account_id: Uuid,
        ids: &[Uuid],
        now: i64,
        until: i64,
    ) -> Result<Vec<Uuid>> {
        live::renew(self, account_id, ids, now, until).await
    }

    async fn expire_leases(&self, now: i64) -> Result<Settled> {
        live::expire(self, now).await
    }

    async fn moderate(&self, request: &ModerationRequest) -> Result<Moderated> {
        live::moderate(self, request).await
    }

    async fn control_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<FeedEntry>, i64)> {
        live::feed(self, account_id, after, now, limit).await
    }

    async fn prune_commands(&self, now: i64) -> Result<u64> {
        self.execute(&live::sql::prune_commands(now)).await
    }

    async fn get_session(&self, account_id: Uuid, id: Uuid) -> Result<SessionRecord> {
        live::session(&one(self, &live::sql::session_of(account_id, id)).await?)
    }

    async fn list_sessions(
        &self,
        account_id: Uuid,
        filter: &SessionFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<SessionRecord>, u64)> {
        let [page, total] = live::sql::list_sessions(account_id, filter, limit, offset);
        let [total, rows] = self.snapshot(&total, &|_| Ok(Some(page.clone()))).await?;
        let page = rows.iter().map(live::session).collect::<Result<_>>()?;
        Ok((page, count(&total)?))
    }

    async fn get_participant(&self, account_id: Uuid, id: Uuid) -> Result<ParticipantRecord> {
        live::participant(&one(self, &live::sql::participant_of(account_id, id)).await?)
    }

    async fn list_participants(
        &self,
        account_id: Uuid,
        filter: &ParticipantFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ParticipantRecord>, u64)> {
        let [page, total] = live::sql::list_participants(account_id, filter, limit, offset);
        let [total, rows] = self.snapshot(&total, &|_| Ok(Some(page.clone()))).await?;
        let page = rows.iter().map(live::participant).collect::<Result<_>>()?;
        Ok((page, count(&total)?))
    }

    async fn list_rooms(
        &self,
        account_id: Uuid,
        filter: &RoomFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RoomRecord>, u64)> {
        let conditions = Conditions::of(filter, |n| format!("${n}"));
        let (from, first) = listing::listing_total(account_id, &conditions, filter);
        // The total and the page from one snapshot; the page only when the total says it has rows.
        let page_of = |total: &[B::Row]| -> Result<Option<Statement>> {
            if from == TotalFrom::Rows {
                return Ok(None);
            }
            let window = Window::of(count(total)?, limit, offset);
            Ok(window.map(|w| listing::listing_page(account_id, &conditions, &w, Self::ROW_KEY)))
        };
        let [first, rows] = self.snapshot(&first, &page_of).await?;
        if from == TotalFrom::Rows {
            return listing::rows_page(&first, limit, offset);
        }
        let total = count(&first)?;
        match Window::of(total, limit, offset) {
            Some(window) => Ok((listing::window_page(&rows, &window)?, total)),
            None => Ok((Vec::new(), total)),
        }
    }

    async fn update_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        patch: &RoomPatch,
        now: i64,
    ) -> Result<RoomRecord> {
        rows::room(&one(self, &sql::update_room(account_id, id, patch, now)).await?)
    }

    async fn delete_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: i64,
        command_expires_at: i64,
    ) -> Result<Settled> {
        live::delete_room(self, account_id, id, (now, command_expires_at)).await
    }

    async fn claim_webhook_events(&self, now: i64, limit: u32) -> Result<Vec<WebhookEventRecord>> {
        // A read first: when nothing is due (most polls), no write lock is taken.
        if self.all(&webhooks::any_due(now)).await?.is_empty() {
            return Ok(Vec::new());
        }
        self.all(&webhooks::claim(now, limit, Self::SKIP_LOCKED))
            .await?
            .iter()
            .map(webhooks::event)
            .collect()
    }

    async fn settle_webhook_event(
        &self,
        seq: i64,
        how: &WebhookSettlement,
        now: i64,
        error: Option<&str>,
    ) -> Result<()> {
        found(self.execute(&webhooks::settle(seq, how, now, error)).await?)
    }

    async fn prune_webhook_events(&self, before: i64) -> Result<u64> {
        self.execute(&webhooks::prune(before)).await
    }

    async fn webhook_key(&self, new: &SigningKeyRecord) -> Result<SigningKeyRecord> {
        self.execute(&webhooks::insert_key_if_none(new)).await?;
        let keys = self.all(&webhooks::keys()).await?;
        rows::signing_key(keys.first().ok_or(StoreError::NotFound)?)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        self.all(&sql::signing_keys())
            .await?
            .iter()
            .map(rows::signing_key)
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        self.execute(&sql::insert_signing_key(key)).await.map(drop)
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_others_at_secs: i64,
        unless_created_since_secs: Option<i64>,
    ) -> Result<bool> {
        let [insert, retire] = sql::rotate_signing_key(key, retire_others_at_secs, unless_created_since_secs);
        self.write(Serial::Rotation, &insert, &[retire]).await
    }
}
