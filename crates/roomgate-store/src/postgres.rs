//! The shared backend: one PostgreSQL database behind any number of stateless replicas.
use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow},
    PgExecutor, PgPool, Row,
};
use uuid::Uuid;

use crate::{
    revoking,
    rows::{self, Columns},
    shared::{Serial, SqlBackend, Then},
    sql::{self, Statement, Value},
    KeyAuth, NewRevocation, RefreshCheck, Result, StoreError, TokenFacts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A [`Store`](crate::Store) on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    readers: std::sync::Arc<Readers>,
    revoked: std::sync::Arc<Revoked>,
}

/// The channel on which a replica that stored a revocation tells the others (`NOTIFY`, sent at commit).
const REVOKED_CHANNEL: &str = "roomgate_revocations";

/// Revocations stored through any replica: bumped by this replica's inserts at once and by the others' through
/// a `LISTEN` connection, started by the first [`Store::revocation_signal`](crate::Store::revocation_signal) and ended when the store is dropped.
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
    /// One of the hot path's `SELECT`s, on a kept connection.
    async fn hot_read(&self, s: Statement) -> Result<Option<PgRow>> {
        self.readers
            .read(&self.pool, move |conn| {
                let s = s.clone();
                Box::pin(async move { query(&s).fetch_optional(conn).await })
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

impl Columns for PgRow {
    fn get<T: rows::Column>(&self, col: &str) -> Result<T> {
        Ok(self.try_get(col)?)
    }

    fn get_at<T: rows::Column>(&self, index: usize) -> Result<T> {
        Ok(self.try_get(index)?)
    }

    fn uuid(&self, col: &str) -> Result<Option<Uuid>> {
        Ok(self.try_get(col)?)
    }
}

fn query(s: &Statement) -> sqlx::query::Query<'_, sqlx::Postgres, PgArguments> {
    s.args
        .iter()
        .cloned()
        .fold(sqlx::query(&s.sql), |q, value| match value {
            Value::Id(v) => q.bind(v),
            Value::Text(v) => q.bind(v),
            Value::Int(v) => q.bind(v),
            Value::Int32(v) => q.bind(v),
            Value::Bool(v) => q.bind(v),
            Value::Bytes(v) => q.bind(v),
        })
}

async fn execute<'e>(e: impl PgExecutor<'e>, s: &Statement) -> sqlx::Result<u64> {
    Ok(query(s).execute(e).await?.rows_affected())
}

/// Serializes rotations across replicas (an arbitrary, fixed advisory-lock id).
const ROTATION_LOCK: i64 = 0x726f_6f6d_6761_7465;

#[async_trait]
impl SqlBackend for PostgresStore {
    type Row = PgRow;
    // Waits for any create or delete of the account in flight and then reads the count it committed, so
    // creates at once from any replica cannot pass the limit together.
    const ROOM_COUNT_LOCK: &'static str = " FOR UPDATE";
    // The offset is skipped in an index-only scan of (account_id, created_at, id); only the page's rows are
    // read from the table (an index scan would fetch every skipped row from the heap).
    const ROW_KEY: &'static str = "id";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    async fn execute(&self, s: &Statement) -> Result<u64> {
        Ok(execute(&self.pool, s).await?)
    }

    async fn all(&self, s: &Statement) -> Result<Vec<PgRow>> {
        Ok(query(s).fetch_all(&self.pool).await?)
    }

    async fn snapshot(&self, first: &Statement, then: Then<'_, PgRow>) -> Result<[Vec<PgRow>; 2]> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows = query(first).fetch_all(&mut *tx).await?;
        let more = match then(&rows)? {
            Some(next) => query(&next).fetch_all(&mut *tx).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok([rows, more])
    }

    async fn write(&self, serial: Serial, first: &Statement, rest: &[Statement]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if serial == Serial::Rotation {
            // Rotations through every replica take turns, so a rotation's check of recent keys holds until
            // it commits.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ROTATION_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        if execute(&mut *tx, first).await? == 0 {
            return Ok(false);
        }
        for s in rest {
            execute(&mut *tx, s).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke(&self, r: &NewRevocation) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        // Holds the account's row lock until commit: the account's revocations commit in number order.
        let seq = query(&revoking::next_seq(r.account_id))
            .fetch_optional(&mut *tx)
            .await?;
        let seq: i64 = seq.ok_or(StoreError::NotFound)?.try_get(0)?;
        let inserted = execute(&mut *tx, &revoking::insert_revocation(r, seq))
            .await
            .map_err(sql::room_gone)?;
        sql::found(inserted)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOKED_CHANNEL)
            .bind(r.account_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(sql::room_gone)?;
        Revoked::bump(&self.revoked.signal);
        Ok(seq)
    }

    async fn read_key(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        let read = Statement::new(sql::AUTHENTICATE).bind(&key_hash[..]);
        self.hot_read(read)
            .await?
            .as_ref()
            .map(rows::key_auth)
            .transpose()
    }

    async fn read_key_and_room(&self, key_hash: &[u8; 32], room: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        let read = Statement::new(sql::AUTHORIZE_ROOM).bind(&key_hash[..]).bind(room);
        let row = self.hot_read(read).await?;
        row.map(|r| Ok((rows::key_auth(&r)?, r.try_get::<bool, _>("found")?)))
            .transpose()
    }

    async fn read_room_exists(&self, id: Uuid) -> Result<bool> {
        let read = Statement::new(sql::ROOM_EXISTS).bind(id);
        Ok(self.hot_read(read).await?.is_some())
    }

    async fn read_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        let read = Statement::new(sql::REFRESH_CHECK.as_str())
            .bind(token.room_id)
            .bind(token.jti)
            .bind(token.identity)
            .bind(token.iat)
            .bind(minted_by);
        let row = self.hot_read(read).await?.ok_or(StoreError::NotFound)?;
        let revocation: Option<Uuid> = row.try_get(2)?;
        Ok(RefreshCheck::from_facts(
            row.try_get(0)?,
            row.try_get(1)?,
            revocation,
        ))
    }

    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

    async fn begin(&self) -> Result<Self::Tx> {
        Ok(self.pool.begin().await?)
    }

    async fn tx_execute(&self, tx: &mut Self::Tx, s: &Statement) -> Result<u64> {
        execute(&mut **tx, s).await.map_err(sql::room_gone)
    }

    async fn tx_all(&self, tx: &mut Self::Tx, s: &Statement) -> Result<Vec<PgRow>> {
        query(s).fetch_all(&mut **tx).await.map_err(sql::room_gone)
    }

    async fn commit(&self, mut tx: Self::Tx, feed_of: Option<Uuid>) -> Result<()> {
        if let Some(account) = feed_of {
            // The other replicas' waiters, at commit (the revocation channel carries every feed change).
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(REVOKED_CHANNEL)
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.map_err(sql::room_gone)?;
        if feed_of.is_some() {
            Revoked::bump(&self.revoked.signal);
        }
        Ok(())
    }

    fn signal(&self) -> tokio::sync::watch::Receiver<u64> {
        let receiver = self.revoked.signal.subscribe();
        self.revoked.listening.call_once(|| {
            let weak = std::sync::Arc::downgrade(&self.revoked.signal);
            tokio::spawn(Revoked::listen(self.pool.clone(), weak));
        });
        receiver
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
