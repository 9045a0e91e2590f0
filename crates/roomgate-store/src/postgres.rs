//! The shared backend: one PostgreSQL database behind any number of stateless replicas.
use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions, PgRow},
    PgPool, Row,
};
use uuid::Uuid;

use crate::{
    listing::{Bind, Conditions, TotalFrom, Window, ROOM_COLUMNS},
    revoking, ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, RefreshCheck, Result, RevocationRecord,
    RoomFilter, RoomPatch, RoomRecord, SigningKeyRecord, Store, StoreError, TokenFacts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A [`Store`] on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    readers: std::sync::Arc<Readers>,
    revoked: std::sync::Arc<Revoked>,
}

/// The channel on which a replica that stored a revocation tells the others (`NOTIFY`, sent at commit).
const REVOKED_CHANNEL: &str = "roomgate_revocations";

/// Revocations stored through any replica: bumped by this replica's inserts at once and by the others' through
/// a `LISTEN` connection, started by the first [`Store::revocation_signal`] and ended when the store is dropped.
#[derive(Debug)]
struct Revoked {
    signal: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    listening: std::sync::Once,
}

impl Revoked {
    fn bump(signal: &tokio::sync::watch::Sender<u64>) {
        signal.send_modify(|n| *n += 1);
    }

    /// Follows the channel until the store is gone; after a lost connection it bumps the signal (what was sent
    /// meanwhile is unknown) and listens again.
    async fn listen(pool: PgPool, signal: std::sync::Weak<tokio::sync::watch::Sender<u64>>) {
        let alive = || signal.upgrade();
        while let Some(tx) = alive() {
            drop(tx);
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.ignore_pool_close_event(true);
                listener.listen(REVOKED_CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match listener.await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for revocations from other replicas; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            loop {
                // Wake now and then to notice that the store was dropped.
                match tokio::time::timeout(Duration::from_secs(1), listener.try_recv()).await {
                    Err(_) if signal.strong_count() == 0 => return,
                    Err(_) => {}
                    Ok(Ok(Some(_))) => match alive() {
                        Some(tx) => Self::bump(&tx),
                        None => return,
                    },
                    Ok(Ok(None)) | Ok(Err(_)) => {
                        // The connection was lost: what was sent meanwhile is unknown.
                        if let Some(tx) = alive() {
                            Self::bump(&tx);
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// A read on a borrowed connection.
type ReadFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<T>> + Send + 'c>>;

/// Connections for the hot path's reads (a key with its room, a key, a room's existence), taken out of the pool
/// and kept here between requests.
///
/// sqlx's pool sends a round trip to the server before it hands a connection out and another when it takes it
/// back, so a one-statement read through it costs three round trips; through a kept connection it costs one. A
/// kept connection may have gone stale (the server restarted, a proxy closed it): a read that fails on one drops
/// it and runs once more on a fresh connection from the pool, which checks it. The reads are plain `SELECT`s, so
/// running one twice changes nothing.
#[derive(Debug)]
struct Readers {
    idle: std::sync::Mutex<Vec<sqlx::PgConnection>>,
    /// Bounds the connections held outside the pool (idle here or in use by a read).
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Readers {
    /// Connections held outside the pool at most, on top of the pool's own.
    const MAX: usize = 16;

    fn new() -> Self {
        Self {
            idle: std::sync::Mutex::new(Vec::new()),
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(Self::MAX)),
        }
    }

    /// Runs `read` on a kept connection, or on one from `pool` if none is kept or the kept one fails.
    async fn read<T: Send>(
        &self,
        pool: &PgPool,
        read: impl for<'c> Fn(&'c mut sqlx::PgConnection) -> ReadFuture<'c, T> + Send + Sync,
    ) -> Result<T> {
        let wait = pool.options().get_acquire_timeout();
        let _slot = tokio::time::timeout(wait, self.slots.acquire())
            .await
            .map_err(|_| StoreError::Unavailable("timed out waiting for a database connection".into()))?
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        let kept = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        if let Some(mut conn) = kept {
            match read(&mut conn).await {
                Ok(out) => {
                    self.keep(conn);
                    return Ok(out);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a kept read connection failed; retrying on a fresh one")
                }
            }
        }
        let mut conn = pool.acquire().await?.detach();
        let out = read(&mut conn).await?;
        self.keep(conn);
        Ok(out)
    }

    fn keep(&self, conn: sqlx::PgConnection) {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(conn);
    }
}

impl PostgresStore {
    /// One of the hot path's `SELECT`s, binding the key hash (if any) and then the ids (those given), on a kept
    /// connection.
    async fn hot_read(
        &self,
        sql: &'static str,
        key_hash: Option<[u8; 32]>,
        ids: [Option<Uuid>; 2],
    ) -> Result<Option<PgRow>> {
        self.readers
            .read(&self.pool, move |conn| {
                Box::pin(async move {
                    let mut query = sqlx::query(sql);
                    if let Some(hash) = &key_hash {
                        query = query.bind(&hash[..]);
                    }
                    for id in ids.into_iter().flatten() {
                        query = query.bind(id);
                    }
                    query.fetch_optional(conn).await
                })
            })
            .await
    }

    /// Connects to a `postgres://` URL and migrates the database (migrations are serialized by an advisory lock,
    /// so replicas may start together).
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {}", redact(&e.to_string()))))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            readers: std::sync::Arc::new(Readers::new()),
            revoked: std::sync::Arc::new(Revoked {
                signal: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
                listening: std::sync::Once::new(),
            }),
        })
    }
}

/// Error texts from URL parsing may echo the URL; never let a password through.
fn redact(text: &str) -> String {
    match (text.find("://"), text.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://<redacted>{}", &text[..s], &text[at..]),
        _ => text.to_owned(),
    }
}

fn room(row: &PgRow) -> Result<RoomRecord> {
    Ok(RoomRecord {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        unique_name: row.try_get("unique_name")?,
        max_participants: row.try_get("max_participants")?,
        enable_recording: row.try_get("enable_recording")?,
        webhook_event_url: row.try_get("webhook_event_url")?,
        webhook_event_failover_url: row.try_get("webhook_event_failover_url")?,
        webhook_timeout_secs: row.try_get("webhook_timeout_secs")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn revocation(row: &PgRow) -> Result<RevocationRecord> {
    revoking::record(
        row.try_get("seq")?,
        row.try_get("id")?,
        row.try_get("account_id")?,
        row.try_get("room_id")?,
        row.try_get("jti")?,
        row.try_get("identity")?,
        row.try_get("issued_before")?,
        row.try_get("reason")?,
        row.try_get("created_at")?,
        row.try_get("expires_at")?,
    )
}

/// A foreign key that no longer holds (the room was deleted meanwhile) means the room is gone.
fn room_gone(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => e.into(),
    }
}

/// `$1` room, `$2` jti, `$3` identity, `$4` iat, `$5` minting key (or NULL).
pub(crate) static REFRESH_CHECK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = $1), \
         $5::uuid IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE id = $5 AND revoked_at IS NULL), {}",
        revoking::COVERING_ID
    )
});

fn api_key(row: &PgRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

const KEY_COLUMNS: &str =
    "k.id, k.account_id, a.name AS account_name, k.name, k.prefix, k.created_at, k.revoked_at";

/// Rooms per statement of a bulk insert (10 parameters each, within PostgreSQL's 65,535).
const BULK_ROWS: usize = 2000;

/// Serializes rotations across replicas (an arbitrary, fixed advisory-lock id).
const ROTATION_LOCK: i64 = 0x726f_6f6d_6761_7465;

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 FROM signing_keys LIMIT 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ensure_account(&self, name: &str, now: i64) -> Result<Uuid> {
        sqlx::query(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT id FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        sqlx::query(
            "INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id)
        .bind(key.account_id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash[..])
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.id = $1"
        ))
        .bind(key.id)
        .fetch_one(&self.pool)
        .await?;
        api_key(&row)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id \
             ORDER BY k.created_at DESC, k.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key).collect()
    }

    async fn revoke_api_key(&self, id: Uuid, now: i64) -> Result<()> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_active_api_keys(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn authenticate(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        let row = self
            .hot_read(
                "SELECT id, account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                Some(*key_hash),
                [None, None],
            )
            .await?;
        row.map(|r| {
            Ok(KeyAuth {
                api_key_id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
            })
        })
        .transpose()
    }

    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        let row = self
            .hot_read(
                "SELECT k.id, k.account_id, r.id IS NOT NULL AS found FROM api_keys k \
                 LEFT JOIN rooms r ON r.id = $2 AND r.account_id = k.account_id \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
                Some(*key_hash),
                [Some(room_id), None],
            )
            .await?;
        row.map(|r| {
            let auth = KeyAuth {
                api_key_id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
            };
            Ok((auth, r.try_get::<bool, _>("found")?))
        })
        .transpose()
    }

    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()> {
        // One statement. `FOR UPDATE` waits for any create or delete of the account in flight and then reads
        // the count it committed, so creates at once from any replica cannot pass the limit together.
        let sql = match max_rooms {
            None => {
                format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            }
            Some(_) => format!(
                "INSERT INTO rooms ({ROOM_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
                 WHERE (SELECT room_count FROM accounts WHERE id = $2 FOR UPDATE) < $11"
            ),
        };
        let mut insert = sqlx::query(&sql)
            .bind(room.id)
            .bind(room.account_id)
            .bind(&room.unique_name)
            .bind(room.max_participants)
            .bind(room.enable_recording)
            .bind(&room.webhook_event_url)
            .bind(&room.webhook_event_failover_url)
            .bind(room.webhook_timeout_secs)
            .bind(room.created_at)
            .bind(room.updated_at);
        if let Some(max) = max_rooms {
            insert = insert.bind(i64::try_from(max).unwrap_or(i64::MAX));
        }
        let inserted = insert.execute(&self.pool).await?.rows_affected();
        if inserted == 0 {
            return Err(StoreError::LimitReached("rooms"));
        }
        Ok(())
    }

    async fn insert_rooms(&self, rooms: &[RoomRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for batch in rooms.chunks(BULK_ROWS) {
            let mut insert = sqlx::QueryBuilder::new(format!("INSERT INTO rooms ({ROOM_COLUMNS}) "));
            insert.push_values(batch, |mut row, room| {
                row.push_bind(room.id)
                    .push_bind(room.account_id)
                    .push_bind(room.unique_name.clone())
                    .push_bind(room.max_participants)
                    .push_bind(room.enable_recording)
                    .push_bind(room.webhook_event_url.clone())
                    .push_bind(room.webhook_event_failover_url.clone())
                    .push_bind(room.webhook_timeout_secs)
                    .push_bind(room.created_at)
                    .push_bind(room.updated_at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_room(&self, account_id: Uuid, id: Uuid) -> Result<RoomRecord> {
        let row = sqlx::query(&format!(
            "SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        room(&row)
    }

    async fn room_exists(&self, id: Uuid) -> Result<bool> {
        let row = self
            .hot_read("SELECT 1 FROM rooms WHERE id = $1", None, [Some(id), None])
            .await?;
        Ok(row.is_some())
    }

    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        let (room_id, jti, iat) = (token.room_id, token.jti, token.iat);
        let identity = token.identity.map(str::to_owned);
        let row = self
            .readers
            .read(&self.pool, move |conn| {
                let identity = identity.clone();
                Box::pin(async move {
                    sqlx::query(&REFRESH_CHECK)
                        .bind(room_id)
                        .bind(jti)
                        .bind(identity)
                        .bind(iat)
                        .bind(minted_by)
                        .fetch_one(conn)
                        .await
                })
            })
            .await?;
        Ok(RefreshCheck::from_facts(
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
        ))
    }

    async fn insert_revocation(&self, r: &NewRevocation) -> Result<RevocationRecord> {
        let mut tx = self.pool.begin().await?;
        // Holds the account's row lock until commit: the account's revocations commit in number order.
        let seq: Option<i64> = sqlx::query_scalar(revoking::NEXT_SEQ)
            .bind(r.account_id)
            .fetch_optional(&mut *tx)
            .await?;
        let seq = seq.ok_or(StoreError::NotFound)?;
        let (jti, identity, issued_before, iat_before) = revoking::selector_columns(r, |u| u);
        let inserted = sqlx::query(revoking::INSERT)
            .bind(r.id)
            .bind(r.account_id)
            .bind(r.room_id)
            .bind(seq)
            .bind(jti)
            .bind(identity)
            .bind(issued_before)
            .bind(iat_before)
            .bind(&r.reason)
            .bind(r.created_at)
            .bind(r.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(room_gone)?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOKED_CHANNEL)
            .bind(r.account_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(room_gone)?;
        Revoked::bump(&self.revoked.signal);
        Ok(RevocationRecord {
            seq,
            revocation: r.clone(),
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar(revoking::ROOM_COUNT)
            .bind(room_id)
            .bind(account_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(&revoking::room_page_sql())
            .bind(room_id)
            .bind(account_id)
            .bind(now)
            .bind(i64::from(limit))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let page = rows.iter().map(revocation).collect::<Result<_>>()?;
        Ok((page, u64::try_from(total).unwrap_or(0)))
    }

    async fn revocation_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<RevocationRecord>, i64)> {
        // The head first, then the rows up to it: every revocation numbered up to a committed head has
        // committed (the number and the row are taken in one transaction, under the account's row lock), so
        // nothing below the returned cursor can appear later, whatever commits meanwhile.
        let head: Option<i64> = sqlx::query_scalar(revoking::HEAD)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        let head = head.unwrap_or(0);
        let rows = sqlx::query(&revoking::feed_sql())
            .bind(account_id)
            .bind(after)
            .bind(head)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let page: Vec<RevocationRecord> = rows.iter().map(revocation).collect::<Result<_>>()?;
        let next = match page.last() {
            Some(last) if page.len() >= limit as usize => last.seq,
            _ => head,
        };
        Ok((page, next))
    }

    async fn find_revocation(&self, token: &TokenFacts<'_>) -> Result<Option<RevocationRecord>> {
        let row = sqlx::query(&revoking::covering_sql())
            .bind(token.room_id)
            .bind(token.jti)
            .bind(token.identity)
            .bind(token.iat)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(revocation).transpose()
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64> {
        let done = sqlx::query(revoking::PRUNE).bind(now).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        let receiver = self.revoked.signal.subscribe();
        self.revoked.listening.call_once(|| {
            let weak = std::sync::Arc::downgrade(&self.revoked.signal);
            tokio::spawn(Revoked::listen(self.pool.clone(), weak));
        });
        receiver
    }

    async fn list_rooms(
        &self,
        account_id: Uuid,
        filter: &RoomFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RoomRecord>, u64)> {
        let conditions = Conditions::of(filter, |n| format!("${n}"));
        macro_rules! bound {
            ($query:expr) => {{
                let mut query = $query.bind(account_id);
                for value in &conditions.binds {
                    query = match value {
                        Bind::Text(text) => query.bind(text),
                        Bind::Int(int) => query.bind(*int),
                    };
                }
                query
            }};
        }
        // One snapshot for the total and the page.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total = match TotalFrom::of(filter) {
            TotalFrom::Rows => {
                let sql = conditions.rows_sql();
                let rows = bound!(sqlx::query(&sql)).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                let total = rows.len() as u64;
                let skip = usize::try_from(offset).unwrap_or(usize::MAX);
                let page = rows.iter().skip(skip).take(limit as usize).map(room);
                return Ok((page.collect::<Result<_>>()?, total));
            }
            TotalFrom::Counter => sqlx::query_scalar("SELECT room_count FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0),
            TotalFrom::Count => {
                let sql = conditions.count_sql();
                bound!(sqlx::query_scalar::<_, i64>(&sql))
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        let total = u64::try_from(total).unwrap_or(0);
        let Some(window) = Window::of(total, limit, offset) else {
            tx.commit().await?;
            return Ok((Vec::new(), total));
        };
        // The offset is skipped in an index-only scan of (account_id, created_at, id); only the page's rows
        // are read from the table (an index scan would fetch every skipped row from the heap).
        let sql = conditions.page_sql(&window, "id");
        let rows = bound!(sqlx::query(&sql))
            .bind(i64::try_from(window.limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(window.offset).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut page = rows.iter().map(room).collect::<Result<Vec<_>>>()?;
        if window.from_end {
            page.reverse();
        }
        Ok((page, total))
    }

    async fn update_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        patch: &RoomPatch,
        now: i64,
    ) -> Result<RoomRecord> {
        // One statement, so concurrent updates of different fields never lose each other.
        let row = sqlx::query(&format!(
            "UPDATE rooms SET \
               unique_name = CASE WHEN $3 THEN $4 ELSE unique_name END, \
               max_participants = COALESCE($5, max_participants), \
               enable_recording = COALESCE($6, enable_recording), \
               webhook_event_url = CASE WHEN $7 THEN $8 ELSE webhook_event_url END, \
               webhook_event_failover_url = CASE WHEN $9 THEN $10 ELSE webhook_event_failover_url END, \
               webhook_timeout_secs = CASE WHEN $11 THEN $12 ELSE webhook_timeout_secs END, \
               updated_at = GREATEST($13, updated_at + 1) \
             WHERE id = $1 AND account_id = $2 RETURNING {ROOM_COLUMNS}"
        ))
        .bind(id)
        .bind(account_id)
        .bind(patch.unique_name.is_some())
        .bind(patch.unique_name.clone().flatten())
        .bind(patch.max_participants)
        .bind(patch.enable_recording)
        .bind(patch.webhook_event_url.is_some())
        .bind(patch.webhook_event_url.clone().flatten())
        .bind(patch.webhook_event_failover_url.is_some())
        .bind(patch.webhook_event_failover_url.clone().flatten())
        .bind(patch.webhook_timeout_secs.is_some())
        .bind(patch.webhook_timeout_secs.flatten())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        room(&row)
    }

    async fn delete_room(&self, account_id: Uuid, id: Uuid) -> Result<()> {
        let done = sqlx::query("DELETE FROM rooms WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key, created_at, activate_at, retire_at FROM signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid")?,
                    private_key: r.try_get("private_key")?,
                    public_key: r.try_get("public_key")?,
                    created_at: r.try_get("created_at")?,
                    activate_at: r.try_get("activate_at")?,
                    retire_at: r.try_get("retire_at")?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at, activate_at, retire_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(key.activate_at)
        .bind(key.retire_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_others_at: i64,
        unless_created_since: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ROTATION_LOCK)
            .execute(&mut *tx)
            .await?;
        if let Some(since) = unless_created_since {
            let recent: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM signing_keys WHERE created_at >= $1)")
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await?;
            if recent {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at, activate_at, retire_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(key.activate_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE signing_keys SET retire_at = LEAST(COALESCE(retire_at, $2), $2) WHERE kid <> $1 AND \
             (retire_at IS NULL OR retire_at > $2)",
        )
        .bind(&key.kid)
        .bind(retire_others_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_credentials() {
        let shown = super::redact("bad url postgres://user:hunter2@db/x");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("@db/x"));
    }
}
