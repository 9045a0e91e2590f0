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
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
    Row, SqliteExecutor, SqlitePool,
};
use uuid::Uuid;

use crate::{
    listing::{Conditions, TotalFrom, Window},
    sql::{self, Columns, Statement, Value},
    ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, RefreshCheck, Result, RevocationRecord, RoomFilter,
    RoomPatch, RoomRecord, SigningKeyRecord, Store, StoreError, TokenFacts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A [`Store`] on one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The hot path's reads.
    readers: std::sync::Arc<Readers>,
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
        // The hot path reads the file on connections of its own, which would each see another in-memory
        // database: only a file will do.
        let path = file_of(url).ok_or_else(|| {
            StoreError::Config("an SQLite database must be a file (sqlite://path/to/roomgate.db)".into())
        })?;
        create_private_file(&path)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            // A file-backed connection cannot go stale like a network one, and the ping sqlx sends before
            // each use is a round trip to the connection's worker thread: ~10% of a token mint's CPU.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let readers = std::sync::Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
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

/// A statement written with `$N` placeholders, in SQLite's `?N`.
pub(crate) fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The refresh path's read (see [`sql::REFRESH_CHECK`]), in SQLite's placeholders.
pub(crate) static REFRESH_CHECK: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| sqlite_sql(&sql::REFRESH_CHECK));
static AUTHENTICATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| sqlite_sql(sql::AUTHENTICATE));
static AUTHORIZE_ROOM: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| sqlite_sql(sql::AUTHORIZE_ROOM));
static ROOM_EXISTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| sqlite_sql(sql::ROOM_EXISTS));

fn parse_uuid(text: &str, col: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Other(format!("bad uuid in {col}: {e}")))
}

/// A UUID as the text it is stored as, without allocating.
fn uuid_text<'b>(id: &Uuid, buf: &'b mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &'b str {
    id.hyphenated().encode_lower(buf)
}

impl Columns for SqliteRow {
    fn get<T: sql::Column>(&self, col: &str) -> Result<T> {
        Ok(self.try_get(col)?)
    }

    fn uuid(&self, col: &str) -> Result<Option<Uuid>> {
        let text: Option<String> = self.try_get(col)?;
        text.map(|t| parse_uuid(&t, col)).transpose()
    }
}

fn query<'q>(sql: &'q str, args: &[Value]) -> sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments<'q>> {
    args.iter()
        .cloned()
        .fold(sqlx::query(sql), |q, value| match value {
            Value::Id(v) => q.bind(v.map(|id| id.to_string())),
            Value::Text(v) => q.bind(v),
            Value::Int(v) => q.bind(v),
            Value::Int32(v) => q.bind(v),
            Value::Bool(v) => q.bind(v),
            Value::Bytes(v) => q.bind(v),
        })
}

async fn execute<'e>(e: impl SqliteExecutor<'e>, s: &Statement) -> sqlx::Result<u64> {
    let sql = sqlite_sql(&s.sql);
    Ok(query(&sql, &s.args).execute(e).await?.rows_affected())
}

async fn optional<'e>(e: impl SqliteExecutor<'e>, s: &Statement) -> sqlx::Result<Option<SqliteRow>> {
    let sql = sqlite_sql(&s.sql);
    query(&sql, &s.args).fetch_optional(e).await
}

async fn all<'e>(e: impl SqliteExecutor<'e>, s: &Statement) -> sqlx::Result<Vec<SqliteRow>> {
    let sql = sqlite_sql(&s.sql);
    query(&sql, &s.args).fetch_all(e).await
}

/// A foreign key that no longer holds (the room was deleted meanwhile) means the room is gone.
fn room_gone(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => e.into(),
    }
}

/// A key's id and account from the first two columns of a rusqlite row.
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

/// Rooms per statement of a bulk insert (10 parameters each, within SQLite's 32,766).
const BULK_ROWS: usize = 2000;

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        execute(&self.pool, &Statement::new(sql::PING)).await?;
        Ok(())
    }

    async fn ensure_account(&self, name: &str, now: i64) -> Result<Uuid> {
        let [insert, select] = sql::ensure_account(name, now);
        execute(&self.pool, &insert).await?;
        optional(&self.pool, &select)
            .await?
            .ok_or(StoreError::NotFound)?
            .id("id")
    }

    async fn insert_api_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord> {
        let [insert, select] = sql::insert_api_key(key);
        execute(&self.pool, &insert).await?;
        sql::api_key(&optional(&self.pool, &select).await?.ok_or(StoreError::NotFound)?)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        all(&self.pool, &sql::list_api_keys())
            .await?
            .iter()
            .map(sql::api_key)
            .collect()
    }

    async fn revoke_api_key(&self, id: Uuid, now: i64) -> Result<()> {
        match execute(&self.pool, &sql::revoke_api_key(id, now)).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn authenticate(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        let row = self.readers.read(|conn| {
            conn.prepare_cached(&AUTHENTICATE)?
                .query_row([&key_hash[..]], key_auth)
                .optional()
        })?;
        row.map(|(id, account)| KeyAuth::from_text(&id, &account))
            .transpose()
    }

    async fn authorize_room(&self, key_hash: &[u8; 32], room_id: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        let room = uuid_text(&room_id, &mut buf);
        let row = self.readers.read(|conn| {
            conn.prepare_cached(&AUTHORIZE_ROOM)?
                .query_row(rusqlite::params![&key_hash[..], room], |row| {
                    Ok((key_auth(row)?, row.get::<_, bool>(2)?))
                })
                .optional()
        })?;
        row.map(|((id, account), found)| Ok((KeyAuth::from_text(&id, &account)?, found)))
            .transpose()
    }

    async fn insert_room_within(&self, room: &RoomRecord, max_rooms: Option<u64>) -> Result<()> {
        // One statement: SQLite takes the write lock before it runs, so the count it reads cannot change
        // before the row is in (and the trigger has counted it).
        match execute(&self.pool, &sql::insert_room(room, max_rooms, "")).await? {
            0 => Err(StoreError::LimitReached("rooms")),
            _ => Ok(()),
        }
    }

    async fn insert_rooms(&self, rooms: &[RoomRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for batch in rooms.chunks(BULK_ROWS) {
            let mut insert =
                sqlx::QueryBuilder::new(format!("INSERT INTO rooms ({}) ", crate::listing::ROOM_COLUMNS));
            insert.push_values(batch, |mut row, room| {
                for value in sql::room_values(room) {
                    match value {
                        Value::Id(v) => row.push_bind(v.map(|id| id.to_string())),
                        Value::Text(v) => row.push_bind(v),
                        Value::Int(v) => row.push_bind(v),
                        Value::Int32(v) => row.push_bind(v),
                        Value::Bool(v) => row.push_bind(v),
                        Value::Bytes(v) => row.push_bind(v),
                    };
                }
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_room(&self, account_id: Uuid, id: Uuid) -> Result<RoomRecord> {
        let row = optional(&self.pool, &sql::get_room(account_id, id)).await?;
        sql::room(&row.ok_or(StoreError::NotFound)?)
    }

    async fn room_exists(&self, id: Uuid) -> Result<bool> {
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        let id = uuid_text(&id, &mut buf);
        self.readers
            .read(|conn| conn.prepare_cached(&ROOM_EXISTS)?.exists([id]))
    }

    async fn check_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
        let mut bufs = [[0; uuid::fmt::Hyphenated::LENGTH]; 3];
        let [room_buf, jti_buf, key_buf] = &mut bufs;
        let room = uuid_text(&token.room_id, room_buf);
        let jti = token.jti.as_ref().map(|j| uuid_text(j, jti_buf));
        let key = minted_by.as_ref().map(|k| uuid_text(k, key_buf));
        let (room, key, revocation) = self.readers.read(|conn| {
            conn.prepare_cached(&REFRESH_CHECK)?.query_row(
                rusqlite::params![room, jti, token.identity, token.iat, key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, Option<String>>(2)?)),
            )
        })?;
        let revocation = revocation
            .map(|id| parse_uuid(&id, "revocations.id"))
            .transpose()?;
        Ok(RefreshCheck::from_facts(room, key, revocation))
    }

    async fn insert_revocation(&self, r: &NewRevocation) -> Result<RevocationRecord> {
        // The first statement writes, so SQLite's one write lock is held from the number to the commit.
        let mut tx = self.pool.begin().await?;
        let seq: i64 = optional(&mut *tx, &sql::next_seq(r.account_id))
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
        let inserted = execute(&mut *tx, &sql::insert_revocation(r, seq))
            .await
            .map_err(room_gone)?;
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
        let [count, page] = sql::room_revocations(account_id, room_id, now, limit, offset);
        let mut tx = self.pool.begin().await?;
        let total: Option<i64> = optional(&mut *tx, &count)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let rows = all(&mut *tx, &page).await?;
        tx.commit().await?;
        let page = rows.iter().map(sql::revocation).collect::<Result<_>>()?;
        Ok((page, total.and_then(|t| u64::try_from(t).ok()).unwrap_or(0)))
    }

    async fn revocation_feed(
        &self,
        account_id: Uuid,
        after: i64,
        now: i64,
        limit: u32,
    ) -> Result<(Vec<RevocationRecord>, i64)> {
        let head = optional(&self.pool, &sql::feed_head(account_id)).await?;
        let head: i64 = head.map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        let rows = all(&self.pool, &sql::feed(account_id, after, head, now, limit)).await?;
        let page: Vec<_> = rows.iter().map(sql::revocation).collect::<Result<_>>()?;
        let next = sql::feed_next(&page, head, limit);
        Ok((page, next))
    }

    async fn find_revocation(&self, token: &TokenFacts<'_>) -> Result<Option<RevocationRecord>> {
        let row = optional(&self.pool, &sql::covering(token)).await?;
        row.as_ref().map(sql::revocation).transpose()
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64> {
        Ok(execute(&self.pool, &sql::prune_revocations(now)).await?)
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
        let conditions = Conditions::of(filter, |n| format!("${n}"));
        let (from, first) = sql::listing_total(account_id, &conditions, filter);
        // One read transaction: the total and the page come from the same snapshot.
        let mut tx = self.pool.begin().await?;
        let rows = all(&mut *tx, &first).await?;
        if from == TotalFrom::Rows {
            tx.commit().await?;
            return sql::rows_page(&rows, limit, offset);
        }
        let total: Option<i64> = rows.first().map(|r| r.try_get(0)).transpose()?;
        let total = total.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        let Some(window) = Window::of(total, limit, offset) else {
            tx.commit().await?;
            return Ok((Vec::new(), total));
        };
        // The offset is skipped inside the (covering) index; only the page's rows are read from the table.
        let rows = all(
            &mut *tx,
            &sql::listing_page(account_id, &conditions, &window, "rowid"),
        )
        .await?;
        tx.commit().await?;
        Ok((sql::window_page(&rows, &window)?, total))
    }

    async fn update_room(
        &self,
        account_id: Uuid,
        id: Uuid,
        patch: &RoomPatch,
        now: i64,
    ) -> Result<RoomRecord> {
        let row = optional(&self.pool, &sql::update_room(account_id, id, patch, now)).await?;
        sql::room(&row.ok_or(StoreError::NotFound)?)
    }

    async fn delete_room(&self, account_id: Uuid, id: Uuid) -> Result<()> {
        match execute(&self.pool, &sql::delete_room(account_id, id)).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        all(&self.pool, &sql::signing_keys())
            .await?
            .iter()
            .map(sql::signing_key)
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        execute(&self.pool, &sql::insert_signing_key(key)).await?;
        Ok(())
    }

    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_others_at_secs: i64,
        unless_created_since_secs: Option<i64>,
    ) -> Result<bool> {
        let [insert, retire] = sql::rotate_signing_key(key, retire_others_at_secs, unless_created_since_secs);
        // SQLite serializes writers, and the first statement writes, so the check and the insert are atomic.
        let mut tx = self.pool.begin().await?;
        if execute(&mut *tx, &insert).await? == 0 {
            return Ok(false);
        }
        execute(&mut *tx, &retire).await?;
        tx.commit().await?;
        Ok(true)
    }
}
