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
    revoking,
    rows::{self, Columns},
    shared::{Serial, SqlBackend, Then},
    sql::{self, Statement, Value},
    KeyAuth, NewRevocation, RefreshCheck, Result, StoreError, TokenFacts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A [`Store`](crate::Store) on one SQLite file.
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
    let name = path.to_string_lossy();
    // sqlx names an in-memory database `file:sqlx-in-memory-N`.
    let in_memory = name.is_empty()
        || name.contains(":memory:")
        || name.starts_with("file:sqlx-in-memory-")
        || url.contains("mode=memory");
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
    fn get<T: rows::Column>(&self, col: &str) -> Result<T> {
        Ok(self.try_get(col)?)
    }

    fn get_at<T: rows::Column>(&self, index: usize) -> Result<T> {
        Ok(self.try_get(index)?)
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

async fn all<'e>(e: impl SqliteExecutor<'e>, s: &Statement) -> sqlx::Result<Vec<SqliteRow>> {
    let sql = sqlite_sql(&s.sql);
    query(&sql, &s.args).fetch_all(e).await
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

// SQLite has one writer: a transaction whose first statement writes holds the write lock from that statement to
// the commit, so what it reads cannot change meanwhile. A read transaction is one snapshot (WAL).
#[async_trait]
impl SqlBackend for SqliteStore {
    type Row = SqliteRow;
    // The write lock is taken before the statement runs, so the count it reads cannot change before the row is
    // in (and the trigger has counted it).
    const ROOM_COUNT_LOCK: &'static str = "";
    // The offset is skipped inside the (covering) index; only the page's rows are read from the table.
    const ROW_KEY: &'static str = "rowid";
    // One writer at a time: a claim is atomic as it is.
    const SKIP_LOCKED: &'static str = "";

    async fn execute(&self, s: &Statement) -> Result<u64> {
        Ok(execute(&self.pool, s).await?)
    }

    async fn all(&self, s: &Statement) -> Result<Vec<SqliteRow>> {
        Ok(all(&self.pool, s).await?)
    }

    async fn snapshot(&self, first: &Statement, then: Then<'_, SqliteRow>) -> Result<[Vec<SqliteRow>; 2]> {
        let mut tx = self.pool.begin().await?;
        let rows = all(&mut *tx, first).await?;
        let more = match then(&rows)? {
            Some(next) => all(&mut *tx, &next).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok([rows, more])
    }

    async fn write(&self, _: Serial, first: &Statement, rest: &[Statement]) -> Result<bool> {
        // The first statement writes, so it holds the one write lock, and what it checked holds, until commit:
        // no other write (a rotation included) runs beside.
        let mut tx = self.pool.begin().await?;
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
        // The first statement writes, so the one write lock is held from the number to the commit.
        let mut tx = self.pool.begin().await?;
        let seq = all(&mut *tx, &revoking::next_seq(r.account_id)).await?;
        let seq: i64 = seq.first().ok_or(StoreError::NotFound)?.get_at(0)?;
        let inserted = execute(&mut *tx, &revoking::insert_revocation(r, seq))
            .await
            .map_err(sql::room_gone)?;
        sql::found(inserted)?;
        tx.commit().await?;
        // One process owns the file: no other writer is to be heard.
        self.revoked.send_modify(|n| *n += 1);
        Ok(seq)
    }

    async fn read_key(&self, key_hash: &[u8; 32]) -> Result<Option<KeyAuth>> {
        let row = self.readers.read(|conn| {
            conn.prepare_cached(&AUTHENTICATE)?
                .query_row([&key_hash[..]], key_auth)
                .optional()
        })?;
        row.map(|(id, account)| KeyAuth::from_text(&id, &account))
            .transpose()
    }

    async fn read_key_and_room(&self, key_hash: &[u8; 32], room: Uuid) -> Result<Option<(KeyAuth, bool)>> {
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        let room = uuid_text(&room, &mut buf);
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

    async fn read_room_exists(&self, id: Uuid) -> Result<bool> {
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        let id = uuid_text(&id, &mut buf);
        self.readers
            .read(|conn| conn.prepare_cached(&ROOM_EXISTS)?.exists([id]))
    }

    async fn read_refresh(&self, token: &TokenFacts<'_>, minted_by: Option<Uuid>) -> Result<RefreshCheck> {
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

    fn signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revoked.subscribe()
    }

    type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

    async fn begin(&self) -> Result<Self::Tx> {
        Ok(self.pool.begin().await?)
    }

    async fn tx_execute(&self, tx: &mut Self::Tx, s: &Statement) -> Result<u64> {
        execute(&mut **tx, s).await.map_err(sql::room_gone)
    }

    async fn tx_all(&self, tx: &mut Self::Tx, s: &Statement) -> Result<Vec<SqliteRow>> {
        all(&mut **tx, s).await.map_err(sql::room_gone)
    }

    async fn commit(&self, tx: Self::Tx, feed_of: Option<Uuid>) -> Result<()> {
        tx.commit().await?;
        if feed_of.is_some() {
            // One process owns the file: no other writer is to be heard.
            self.revoked.send_modify(|n| *n += 1);
        }
        Ok(())
    }
}
