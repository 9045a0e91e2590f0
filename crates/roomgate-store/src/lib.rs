//! roomgate's storage interface ([`Store`]) and its backends.
//!
//! The backend is picked once, from the database URL's scheme, by [`connect`]:
//! `sqlite://path/to/file.db` (the default; created if missing, WAL, file mode 0600) or
//! `postgres://user:password@host/db` (for several replicas on one database).
//!
//! ```no_run
//! # async fn demo() -> Result<(), roomgate_store::StoreError> {
//! let store = roomgate_store::connect("sqlite://roomgate.db").await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
//!
//! Every timestamp says its unit in its type: [`UnixMicros`] (rooms, API keys, accounts, revocations: both backends
//! store and compare them the same way) or [`UnixSecs`] (a signing key's dates, also named `*_secs`, and a token's
//! `iat`: whole seconds, as in the tokens they sign).

mod error;
mod listing;
mod live;
mod model;
pub(crate) mod postgres;
mod revoking;
mod rows;
mod shared;
mod sql;
pub(crate) mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use error::StoreError;
pub use live::model::{
    Admission, Admitted, Chosen, CommandKind, CommandRecord, FeedEntry, Moderated, Moderation,
    ModerationRequest, ParticipantFilter, ParticipantRecord, SessionFilter, SessionRecord, Settled,
    TrackKind,
};
pub use model::{
    ceil_secs, ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, RefreshCheck, RevocationRecord,
    RevocationSelector, RoomFilter, RoomPatch, RoomRecord, SigningKeyRecord, TokenFacts, UnixMicros,
    UnixSecs,
};
pub use postgres::PostgresStore;
pub use revoking::RECHECK as REVOCATION_RECHECK;
pub use sqlite::SqliteStore;
pub use webhooks::{WebhookEventRecord, WebhookEventType, WebhookSettlement};

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything roomgate keeps. Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;

    /// The id of the account called `name`, creating it if needed.
    async fn ensure_account(&self, name: &str, now: UnixMicros) -> Result<Uuid>;
    /// Stores a new API key (its hash only).
    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord>;
    /// All API keys, newest first, revoked ones included.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Marks a key revoked; `NotFound` if no such key, idempotent otherwise.
    async fn revoke_api_key(&self, id: Uuid, now: UnixMicros) -> Result<()>;
    /// The account of an active key with this SHA-256 hash.
    async fn authenticate(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>>;
    /// In one indexed read: the key's account and whether `room_id` belongs to it.
    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>>;

    /// Stores a new room; `Conflict` if its unique name is taken in the account.
    async fn insert_room(&self, room: &RoomRecord) -> Result<()> {
        self.insert_room_within(room, None).await
    }
    /// Stores a new room unless its account already has `max_rooms` (then `LimitReached`), atomically: rooms
    /// created at once, from any replica, never take an account past it. `Conflict` as [`Store::insert_room`].
    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()>;
    /// Stores many new rooms in one transaction (imports, benchmarks), with no per-account limit.
    async fn insert_rooms(&self, rooms: &[RoomRecord]) -> Result<()>;
    /// One room of the account; `NotFound` otherwise.
    async fn get_room(&self, account_id: Uuid, id: Uuid) -> Result<RoomRecord>;
    /// Whether the room exists (any account).
    async fn room_exists(&self, id: Uuid) -> Result<bool>;
    /// The refresh path's one read: whether the token's room exists (any account), whether the API key that
    /// minted it (if the token names one) is still active, and the first revocation covering it.
    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck>;

    /// Stores a revocation of one of the account's rooms, numbered after every revocation of the account
    /// committed before it; `NotFound` if the room is not the account's.
    async fn insert_revocation(&self, revocation: &NewRevocation) -> Result<RevocationRecord>;
    /// One page of a room's revocations still live at `now` (Unix microseconds), newest first, and how many
    /// there are.
    async fn list_revocations(
        &self,
        account_id: Uuid,
        room_id: Uuid,
        now: UnixMicros,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RevocationRecord>, u64)>;
    /// The account's revocations live at `now` numbered after `after`, in order, at most `limit` of them, and
    /// the number to continue after: the last one returned, or when fewer than `limit` came, the account's
    /// last number (every revocation up to it has been seen). No revocation can later appear below it.
    async fn revocation_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: UnixMicros,
        limit: u32,
    ) -> Result<(Vec<RevocationRecord>, i64)>;
    /// The first revocation covering the token, whole (for introspection).
    async fn find_revocation(&self, token: &TokenFacts<'_>) -> Result<Option<RevocationRecord>>;
    /// Deletes the revocations expired at `now`; returns how many.
    async fn prune_revocations(&self, now: UnixMicros) -> Result<u64>;
    /// Changes (its value grows) after a revocation was stored through any replica sharing the database, so that
    /// a long poll can wait for it. A notification may be lost (a dropped listener connection): waiters also
    /// re-read every [`REVOCATION_RECHECK`].
    fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Admits a participant into its room's active session (opening one if there is none) unless the session
    /// already holds `max_participants` live participants (then `LimitReached`, and nothing is recorded); a live
    /// participant of the same identity is replaced (marked left, with a kick in the feed). Atomic under
    /// concurrent admissions from any replica. `NotFound` if the room is not the account's.
    async fn admit_participant(&self, admission: &Admission) -> Result<Admitted>;
    /// Marks a participant left (idempotent), ending its session if it was the last; `NotFound` if not the
    /// account's.
    async fn leave_participant(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: UnixMicros,
    ) -> Result<(ParticipantRecord, Settled)>;
    /// Extends to `until` the leases of those of `ids` that are the account's and live at `now`; those renewed.
    async fn renew_participants(
        &self,
        account_id: Uuid,
        ids: &[Uuid],
        now: UnixMicros,
        until: UnixMicros,
    ) -> Result<Vec<Uuid>>;
    /// Marks left the participants whose lease ran out by `now` (at their lease's end), ending emptied sessions.
    async fn expire_leases(&self, now: UnixMicros) -> Result<Settled>;
    /// Ends a session, or kicks, mutes or unmutes some of its participants, publishing the commands (and, for
    /// end and kick, the revocations) in the account's control feed; `NotFound` if not the account's session.
    async fn moderate(&self, request: &ModerationRequest) -> Result<Moderated>;
    /// The account's control feed after `after`: commands and revocations live at `now`, in one order, at most
    /// `limit`, and the cursor to continue after (as [`Store::revocation_feed`]'s).
    async fn control_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: UnixMicros,
        limit: u32,
    ) -> Result<(Vec<FeedEntry>, i64)>;
    /// Deletes the commands expired at `now`; returns how many.
    async fn prune_commands(&self, now: UnixMicros) -> Result<u64>;
    /// One session of the account; `NotFound` otherwise.
    async fn get_session(&self, account_id: Uuid, id: Uuid) -> Result<SessionRecord>;
    /// One page of the account's sessions, newest first, and how many match.
    async fn list_sessions(
        &self,
        account_id: Uuid,
        filter: &SessionFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<SessionRecord>, u64)>;
    /// One participant of the account; `NotFound` otherwise.
    async fn get_participant(&self, account_id: Uuid, id: Uuid) -> Result<ParticipantRecord>;
    /// One page of the account's participants, newest first, and how many match.
    async fn list_participants(
        &self,
        account_id: Uuid,
        filter: &ParticipantFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ParticipantRecord>, u64)>;

    /// One page of the account's rooms, newest first, and the exact number of matches, read together. The
    /// cost does not grow with the account (see BENCHMARKS.md's cost model), except for a page deep in the
    /// middle of a large listing and for the count of a wide date range.
    async fn list_rooms(
        &self,
        account_id: Uuid,
        filter: &RoomFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RoomRecord>, u64)>;
    /// Applies `patch` atomically; `NotFound` or `Conflict`.
    async fn update_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        patch: &RoomPatch,
        now: UnixMicros,
    ) -> Result<RoomRecord>;
    /// Deletes a room; `NotFound` if it is not the account's. A session it has is ended first, in the same
    /// transaction: its participants left, a `session_end` command in the feed (kept until `command_expires_at`)
    /// and the room's webhook events queued, as for an ended session.
    async fn delete_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        now: UnixMicros,
        command_expires_at: UnixMicros,
    ) -> Result<Settled>;

    /// Every signing key, oldest first.
    /// Claims up to `limit` due webhook events for this replica to deliver, each the oldest pending one of its
    /// room (so a room's events go out in order), for as long as an attempt can take; counts the attempt.
    async fn claim_webhook_events(&self, now: UnixMicros, limit: u32) -> Result<Vec<WebhookEventRecord>>;
    /// Records how an attempt at a claimed event ended (`error`: what went wrong, for operators).
    async fn settle_webhook_event(
        &self,
        seq: i64,
        how: &WebhookSettlement,
        now: UnixMicros,
        error: Option<&str>,
    ) -> Result<()>;
    /// Deletes webhook events delivered or given up before `before`.
    async fn prune_webhook_events(&self, before: UnixMicros) -> Result<u64>;
    /// The key that signs webhooks: the stored one, or `new` when none is stored yet (several replicas starting
    /// at once all get the same one).
    async fn webhook_key(&self, new: &SigningKeyRecord) -> Result<SigningKeyRecord>;

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Stores a new signing key.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// Atomically, and only if no key was created at or after `unless_created_since_secs`: stores `key` and
    /// schedules every other key not yet retiring to retire at `retire_others_at_secs`. Returns whether it rotated.
    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_others_at_secs: UnixSecs,
        unless_created_since_secs: Option<UnixSecs>,
    ) -> Result<bool>;
}

/// The database file of a `sqlite:` URL; `None` for PostgreSQL, in-memory SQLite and URLs that do not parse.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match url.split_once(':') {
        Some(("sqlite", _)) => sqlite::file_of(url),
        _ => None,
    }
}

/// Opens the store named by `url` and applies its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Arc::new(SqliteStore::connect(url).await?)),
        Some("postgres" | "postgresql") => Ok(Arc::new(PostgresStore::connect(url).await?)),
        _ => Err(StoreError::Config(
            "database URL must start with sqlite:// (e.g. sqlite://roomgate.db) or postgres://".into(),
        )),
    }
}
