//! The embedded backend: one SQLite file in WAL mode.
use std::{
    path::PathBuf,
    str::FromStr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use rusqlite::OptionalExtension;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
    Row, SqlitePool,
};
use uuid::Uuid;

use crate::{
    listing::{Bind, Conditions, TotalFrom, Window, ROOM_COLUMNS},
    revoking, ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, RefreshCheck, Result, RevocationRecord,
    RoomFilter, RoomPatch, RoomRecord, SigningKeyRecord, Store, StoreError, TokenFacts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A [`Store`] on one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The hot path's reads, for a file database; `None` in memory (another connection would see another
    /// database).
    readers: Option<std::sync::Arc<Readers>>,
    /// Bumped after each revocation commits (one process owns the file, so no other writer is to be heard).
    revoked: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// How long a statement waits for a lock before the store is reported unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The same for the hot-path readers, which wait on a runtime thread: WAL readers are kept waiting only by rare
/// events (another connection recovering the WAL after a crash), and a request had better get a retryable 503
/// than hold the thread for long.
const READ_BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Read-only connections for the token hot path (an API key's account and room, a room's existence), used on
/// the calling thread.
///
/// sqlx runs every SQLite connection on a thread of its own, so each query is a round trip to that thread:
/// two context switches and a wake-up, several times the cost of an indexed read of a cached page. These reads
/// take microseconds (WAL readers never wait for the writer), so they run where they are asked for, on
/// connections that never write (`query_only`), opened on demand and kept for reuse. (One shared connection
/// behind a mutex measured the same on two cores, and would serialise reads on more.)
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// Idle connections kept; more are opened while more reads run at once, and closed after.
    const MAX_IDLE: usize = 16;

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        // The file exists and is migrated: open it, never create it.
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(READ_BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one); the connection is kept if the read succeeded.
    fn read<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn)?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < Self::MAX_IDLE {
            idle.push(conn);
        }
        Ok(out)
    }
}

impl SqliteStore {
    /// Opens (creating with mode 0600 if missing) the file named by a `sqlite:` URL and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL keeps every committed transaction across a process crash (kill -9);
            // only an OS crash or power loss can roll back the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let path = options.get_filename().to_owned();
        let in_memory = path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:");
        if !in_memory {
            create_private_file(&path)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(5))
            // A file-backed connection cannot go stale like a network one, and the ping sqlx sends before
            // each use is a round trip to the connection's worker thread: ~10% of a token mint's CPU.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let readers = (!in_memory).then(|| {
            std::sync::Arc::new(Readers {
                path,
                idle: Mutex::new(Vec::new()),
            })
        });
        Ok(Self {
            pool,
            readers,
            revoked: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }
}

/// Creates the database file readable by its owner only, so private signing keys are not world-readable; an
/// existing file (or its `-wal`, `-shm`, `-journal`) that others may read or write is tightened to 0600 and
/// logged, and one whose mode cannot be changed (another user's) is refused.
fn create_private_file(path: &std::path::Path) -> Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten_modes(path),
        Err(e) => Err(StoreError::Unavailable(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

/// The database file and the files SQLite keeps beside it, which hold the same data.
fn database_files(path: &std::path::Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

#[cfg(unix)]
fn tighten_modes(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for file in database_files(path) {
        let mode = match std::fs::metadata(&file) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot read the mode of {}: {e}",
                    file.display()
                )))
            }
        };
        if mode & 0o077 == 0 {
            continue;
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            StoreError::Config(format!(
                "{} has mode {mode:04o}: others may read the private signing keys in it, and its mode cannot \
                 be changed to 0600 ({e}); refusing to use it until its owner runs `chmod 600` on it",
                file.display()
            ))
        })?;
        tracing::warn!(
            file = %file.display(),
            old_mode = format_args!("{mode:04o}"),
            "the database file was readable or writable by others; its mode is now 0600"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten_modes(_path: &std::path::Path) -> Result<()> {
    Ok(())
}

/// The file a `sqlite:` URL names, if it names one (not an in-memory database).
pub(crate) fn file_of(url: &str) -> Option<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let in_memory = path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:");
    (!in_memory).then(|| path.to_owned())
}

fn uuid(row: &SqliteRow, col: &str) -> Result<Uuid> {
    let text: String = row.try_get(col)?;
    parse_uuid(&text, col)
}

fn parse_uuid(text: &str, col: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Other(format!("bad uuid in {col}: {e}")))
}

/// A UUID as the text it is stored as, without allocating.
fn uuid_text<'b>(id: &Uuid, buf: &'b mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &'b str {
    id.hyphenated().encode_lower(buf)
}

const AUTHENTICATE: &str = "SELECT id, account_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL";
const AUTHORIZE_ROOM: &str = "SELECT k.id, k.account_id, r.id IS NOT NULL AS found FROM api_keys k \
     LEFT JOIN rooms r ON r.id = ?2 AND r.account_id = k.account_id \
     WHERE k.key_hash = ?1 AND k.revoked_at IS NULL";
const ROOM_EXISTS: &str = "SELECT 1 FROM rooms WHERE id = ?1";
/// `?1` room, `?2` jti, `?3` identity, `?4` iat, `?5` minting key (or NULL).
pub(crate) static REFRESH_CHECK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    sqlite_sql(&format!(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = $1), \
         $5 IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE id = $5 AND revoked_at IS NULL), {}",
        revoking::COVERING_ID
    ))
});

/// A statement written with `$N` placeholders, in SQLite's `?N`.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn revocation(row: &SqliteRow) -> Result<RevocationRecord> {
    let opt_uuid = |col: &str| -> Result<Option<Uuid>> {
        row.try_get::<Option<String>, _>(col)?
            .map(|t| parse_uuid(&t, col))
            .transpose()
    };
    revoking::record(
        row.try_get("seq")?,
        uuid(row, "id")?,
        uuid(row, "account_id")?,
        uuid(row, "room_id")?,
        opt_uuid("jti")?,
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

/// A key's id and account from the first two columns of a row, as text.
fn key_auth(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String)> {
    Ok((row.get(0)?, row.get(1)?))
}

impl KeyAuth {
    fn from_text(id: &str, account_id: &str) -> Result<Self> {
        Ok(KeyAuth {
            api_key_id: parse_uuid(id, "id")?,
            account_id: parse_uuid(account_id, "account_id")?,
        })
    }
}

fn room(row: &SqliteRow) -> Result<RoomRecord> {
    Ok(RoomRecord {
        id: uuid(row, "id")?,
        account_id: uuid(row, "account_id")?,
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

fn api_key(row: &SqliteRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: uuid(row, "id")?,
        account_id: uuid(row, "account_id")?,
        account_name: row.try_get("account_name")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Rooms per statement of a bulk insert (10 parameters each, within SQLite's 32,766).
const BULK_ROWS: usize = 2000;

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 FROM signing_keys LIMIT 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ensure_account(&self, name: &str, now: i64) -> Result<Uuid> {
        sqlx::query(
            "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT id FROM accounts WHERE name = ?1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        uuid(&row, "id")
    }

    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        sqlx::query(
            "INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(key.id.to_string())
        .bind(key.account_id.to_string())
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.key_hash[..])
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT k.id, k.account_id, a.name AS account_name, k.name, k.prefix, k.created_at, k.revoked_at \
             FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.id = ?1",
        )
        .bind(key.id.to_string())
        .fetch_one(&self.pool)
        .await?;
        api_key(&row)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(
            "SELECT k.id, k.account_id, a.name AS account_name, k.name, k.prefix, k.created_at, k.revoked_at \
             FROM api_keys k JOIN accounts a ON a.id = k.account_id ORDER BY k.created_at DESC, k.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key).collect()
    }

    async fn revoke_api_key(&self, id: Uuid, now: i64) -> Result<()> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")
            .bind(id.to_string())
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
        if let Some(readers) = &self.readers {
            let row = readers.read(|conn| {
                conn.prepare_cached(AUTHENTICATE)?
                    .query_row([&key_hash[..]], key_auth)
                    .optional()
            })?;
            return row
                .map(|(id, account)| KeyAuth::from_text(&id, &account))
                .transpose();
        }
        let row = sqlx::query(AUTHENTICATE)
            .bind(&key_hash[..])
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(KeyAuth {
                api_key_id: uuid(&r, "id")?,
                account_id: uuid(&r, "account_id")?,
            })
        })
        .transpose()
    }

    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        if let Some(readers) = &self.readers {
            let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
            let room = uuid_text(&room_id, &mut buf);
            let row = readers.read(|conn| {
                conn.prepare_cached(AUTHORIZE_ROOM)?
                    .query_row(rusqlite::params![&key_hash[..], room], |row| {
                        Ok((key_auth(row)?, row.get::<_, bool>(2)?))
                    })
                    .optional()
            })?;
            return row
                .map(|((id, account), found)| Ok((KeyAuth::from_text(&id, &account)?, found)))
                .transpose();
        }
        let row = sqlx::query(AUTHORIZE_ROOM)
            .bind(&key_hash[..])
            .bind(room_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let auth = KeyAuth {
                api_key_id: uuid(&r, "id")?,
                account_id: uuid(&r, "account_id")?,
            };
            Ok((auth, r.try_get::<bool, _>("found")?))
        })
        .transpose()
    }

    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()> {
        // One statement: SQLite takes the write lock before it runs, so the count it reads cannot change
        // before the row is in (and the trigger has counted it).
        let sql = match max_rooms {
            None => {
                format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
            }
            Some(_) => format!(
                "INSERT INTO rooms ({ROOM_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
                 WHERE (SELECT room_count FROM accounts WHERE id = ?2) < ?11"
            ),
        };
        let mut insert = sqlx::query(&sql)
            .bind(room.id.to_string())
            .bind(room.account_id.to_string())
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
                row.push_bind(room.id.to_string())
                    .push_bind(room.account_id.to_string())
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
            "SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1 AND account_id = ?2"
        ))
        .bind(id.to_string())
        .bind(account_id.to_string())
        .fetch_one(&self.pool)
        .await?;
        room(&row)
    }

    async fn room_exists(&self, id: Uuid) -> Result<bool> {
        if let Some(readers) = &self.readers {
            let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
            let id = uuid_text(&id, &mut buf);
            return readers.read(|conn| conn.prepare_cached(ROOM_EXISTS)?.exists([id]));
        }
        let row = sqlx::query(ROOM_EXISTS)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        let facts = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(bool, bool, Option<String>)> {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        };
        let (room, key, revocation) = if let Some(readers) = &self.readers {
            let mut bufs = [[0; uuid::fmt::Hyphenated::LENGTH]; 3];
            let [room_buf, jti_buf, key_buf] = &mut bufs;
            let room = uuid_text(&token.room_id, room_buf);
            let jti = token.jti.as_ref().map(|j| uuid_text(j, jti_buf));
            let key = minted_by.as_ref().map(|k| uuid_text(k, key_buf));
            readers.read(|conn| {
                conn.prepare_cached(&REFRESH_CHECK)?.query_row(
                    rusqlite::params![room, jti, token.identity, token.iat, key],
                    facts,
                )
            })?
        } else {
            let row = sqlx::query(&REFRESH_CHECK)
                .bind(token.room_id.to_string())
                .bind(token.jti.map(|j| j.to_string()))
                .bind(token.identity)
                .bind(token.iat)
                .bind(minted_by.map(|k| k.to_string()))
                .fetch_one(&self.pool)
                .await?;
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)
        };
        let revocation = revocation
            .map(|id| parse_uuid(&id, "revocations.id"))
            .transpose()?;
        Ok(RefreshCheck::from_facts(room, key, revocation))
    }

    async fn insert_revocation(&self, r: &NewRevocation) -> Result<RevocationRecord> {
        // The first statement writes, so SQLite's one write lock is held from the number to the commit.
        let mut tx = self.pool.begin().await?;
        let seq: Option<i64> = sqlx::query_scalar(&sqlite_sql(revoking::NEXT_SEQ))
            .bind(r.account_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let seq = seq.ok_or(StoreError::NotFound)?;
        let (jti, identity, issued_before, iat_before) = revoking::selector_columns(r, |u| u.to_string());
        let inserted = sqlx::query(&sqlite_sql(revoking::INSERT))
            .bind(r.id.to_string())
            .bind(r.account_id.to_string())
            .bind(r.room_id.to_string())
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
        tx.commit().await?;
        self.revoked.send_modify(|n| *n += 1);
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
        let (room, account) = (room_id.to_string(), account_id.to_string());
        let mut tx = self.pool.begin().await?;
        let total: i64 = sqlx::query_scalar(&sqlite_sql(revoking::ROOM_COUNT))
            .bind(&room)
            .bind(&account)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(&sqlite_sql(&revoking::room_page_sql()))
            .bind(&room)
            .bind(&account)
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
        let account = account_id.to_string();
        let head: Option<i64> = sqlx::query_scalar(&sqlite_sql(revoking::HEAD))
            .bind(&account)
            .fetch_optional(&self.pool)
            .await?;
        let head = head.unwrap_or(0);
        let rows = sqlx::query(&sqlite_sql(&revoking::feed_sql()))
            .bind(&account)
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
        let row = sqlx::query(&sqlite_sql(&revoking::covering_sql()))
            .bind(token.room_id.to_string())
            .bind(token.jti.map(|j| j.to_string()))
            .bind(token.identity)
            .bind(token.iat)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(revocation).transpose()
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64> {
        let done = sqlx::query(&sqlite_sql(revoking::PRUNE))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revoked.subscribe()
    }

    async fn list_rooms(
        &self,
        account_id: Uuid,
        filter: &RoomFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RoomRecord>, u64)> {
        let account = account_id.to_string();
        let conditions = Conditions::of(filter, |n| format!("?{n}"));
        macro_rules! bound {
            ($query:expr) => {{
                let mut query = $query.bind(&account);
                for value in &conditions.binds {
                    query = match value {
                        Bind::Text(text) => query.bind(text),
                        Bind::Int(int) => query.bind(*int),
                    };
                }
                query
            }};
        }
        // One read transaction: the total and the page come from the same snapshot.
        let mut tx = self.pool.begin().await?;
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
            TotalFrom::Counter => sqlx::query_scalar("SELECT room_count FROM accounts WHERE id = ?1")
                .bind(&account)
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
        // The offset is skipped inside the (covering) index; only the page's rows are read from the table.
        let sql = conditions.page_sql(&window, "rowid");
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
               unique_name = CASE WHEN ?3 THEN ?4 ELSE unique_name END, \
               max_participants = COALESCE(?5, max_participants), \
               enable_recording = COALESCE(?6, enable_recording), \
               webhook_event_url = CASE WHEN ?7 THEN ?8 ELSE webhook_event_url END, \
               webhook_event_failover_url = CASE WHEN ?9 THEN ?10 ELSE webhook_event_failover_url END, \
               webhook_timeout_secs = CASE WHEN ?11 THEN ?12 ELSE webhook_timeout_secs END, \
               updated_at = MAX(?13, updated_at + 1) \
             WHERE id = ?1 AND account_id = ?2 RETURNING {ROOM_COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(account_id.to_string())
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
        let done = sqlx::query("DELETE FROM rooms WHERE id = ?1 AND account_id = ?2")
            .bind(id.to_string())
            .bind(account_id.to_string())
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
        // SQLite serializes writers, and the first statement writes, so the check and the insert are atomic.
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at, activate_at, retire_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, NULL \
             WHERE ?6 IS NULL OR NOT EXISTS (SELECT 1 FROM signing_keys WHERE created_at >= ?6)",
        )
        .bind(&key.kid)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(key.activate_at)
        .bind(unless_created_since)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE signing_keys SET retire_at = MIN(COALESCE(retire_at, ?2), ?2) WHERE kid <> ?1 AND \
             (retire_at IS NULL OR retire_at > ?2)",
        )
        .bind(&key.kid)
        .bind(retire_others_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
