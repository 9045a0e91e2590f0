//! The statements both backends run and the rows they read, written once: `$N` placeholders (the SQLite backend
//! turns them into `?N`) and SQL both dialects spell the same. What differs stays in each backend: how a
//! [`Value`] is bound (a UUID is `uuid` on PostgreSQL, text on SQLite) and how a UUID column is decoded.
use uuid::Uuid;

use crate::{
    listing::{Bind, Conditions, TotalFrom, Window, ROOM_COLUMNS},
    revoking, ApiKeyRecord, KeyAuth, NewApiKey, NewRevocation, Result, RevocationRecord, RoomFilter,
    RoomPatch, RoomRecord, SigningKeyRecord, TokenFacts,
};

/// A value to bind, typed so that a NULL keeps its column's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A UUID.
    Id(Option<Uuid>),
    /// Text.
    Text(Option<String>),
    /// A 64-bit integer.
    Int(Option<i64>),
    /// A 32-bit integer.
    Int32(Option<i32>),
    /// A boolean.
    Bool(Option<bool>),
    /// Bytes.
    Bytes(Vec<u8>),
}

macro_rules! values {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::$variant(Some(v.into()))
            }
        }
        impl From<Option<$ty>> for Value {
            fn from(v: Option<$ty>) -> Self {
                Value::$variant(v.map(Into::into))
            }
        }
    )*};
}
values!(Uuid => Id, String => Text, &str => Text, i64 => Int, i32 => Int32, bool => Bool);

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

/// A statement and its values, in placeholder order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The SQL, with `$N` placeholders.
    pub sql: String,
    /// Bound as `$1`, `$2`, ...
    pub args: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }
}

/// A count or limit as the signed integer both databases store.
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// The hot path's reads, which each backend runs on connections of its own.

/// `$1` key hash.
pub(crate) const AUTHENTICATE: &str =
    "SELECT id, account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
/// `$1` key hash, `$2` room.
pub(crate) const AUTHORIZE_ROOM: &str =
    "SELECT k.id, k.account_id, r.id IS NOT NULL AS found FROM api_keys k \
     LEFT JOIN rooms r ON r.id = $2 AND r.account_id = k.account_id \
     WHERE k.key_hash = $1 AND k.revoked_at IS NULL";
/// `$1` room.
pub(crate) const ROOM_EXISTS: &str = "SELECT 1 FROM rooms WHERE id = $1";
/// `$1` room, `$2` jti, `$3` identity, `$4` iat, `$5` minting key (or NULL).
pub(crate) static REFRESH_CHECK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = $1), \
         $5 IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE id = $5 AND revoked_at IS NULL), {}",
        revoking::COVERING_ID
    )
});

pub(crate) const PING: &str = "SELECT 1 FROM signing_keys LIMIT 1";

pub(crate) fn ensure_account(name: &str, now: i64) -> [Statement; 2] {
    [
        Statement::new(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(name)
        .bind(now),
        Statement::new("SELECT id FROM accounts WHERE name = $1").bind(name),
    ]
}

const KEY_COLUMNS: &str =
    "k.id, k.account_id, a.name AS account_name, k.name, k.prefix, k.created_at, k.revoked_at";

/// Stores the key, then reads it back as listed.
pub(crate) fn insert_api_key(key: &NewApiKey) -> [Statement; 2] {
    [
        Statement::new(
            "INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id)
        .bind(key.account_id)
        .bind(key.name.clone())
        .bind(key.prefix.as_str())
        .bind(&key.key_hash[..])
        .bind(key.created_at),
        Statement::new(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.id = $1"
        ))
        .bind(key.id),
    ]
}

pub(crate) fn list_api_keys() -> Statement {
    Statement::new(format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id \
         ORDER BY k.created_at DESC, k.id"
    ))
}

pub(crate) fn revoke_api_key(id: Uuid, now: i64) -> Statement {
    Statement::new("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
}

/// One statement; `lock` follows the read of the account's room count (see each backend).
pub(crate) fn insert_room(room: &RoomRecord, max_rooms: Option<u64>, lock: &str) -> Statement {
    let sql = match max_rooms {
        None => {
            format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        }
        Some(_) => format!(
            "INSERT INTO rooms ({ROOM_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
             WHERE (SELECT room_count FROM accounts WHERE id = $2{lock}) < $11"
        ),
    };
    let mut statement = Statement::new(sql);
    statement.args = room_values(room);
    match max_rooms {
        Some(max) => statement.bind(int(max)),
        None => statement,
    }
}

/// Rooms per statement of a bulk insert (10 parameters each, within SQLite's 32,766 and PostgreSQL's 65,535).
const BULK_ROWS: usize = 2000;

/// Stores many rooms, a batch a statement.
pub(crate) fn insert_rooms(rooms: &[RoomRecord]) -> Vec<Statement> {
    let columns = ROOM_COLUMNS.split(',').count();
    let batch = |rooms: &[RoomRecord]| {
        let rows: Vec<String> = (0..rooms.len())
            .map(|i| {
                let params: Vec<String> = (1..=columns).map(|c| format!("${}", i * columns + c)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let mut statement = Statement::new(format!(
            "INSERT INTO rooms ({ROOM_COLUMNS}) VALUES {}",
            rows.join(", ")
        ));
        statement.args = rooms.iter().flat_map(room_values).collect();
        statement
    };
    rooms.chunks(BULK_ROWS).map(batch).collect()
}

/// A room's values in [`ROOM_COLUMNS`] order.
fn room_values(room: &RoomRecord) -> Vec<Value> {
    vec![
        room.id.into(),
        room.account_id.into(),
        room.unique_name.clone().into(),
        room.max_participants.into(),
        room.enable_recording.into(),
        room.webhook_event_url.clone().into(),
        room.webhook_event_failover_url.clone().into(),
        room.webhook_timeout_secs.into(),
        room.created_at.into(),
        room.updated_at.into(),
    ]
}

pub(crate) fn get_room(account_id: Uuid, id: Uuid) -> Statement {
    Statement::new(format!(
        "SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
}

/// One statement, so concurrent updates of different fields never lose each other.
pub(crate) fn update_room(account_id: Uuid, id: Uuid, patch: &RoomPatch, now: i64) -> Statement {
    Statement::new(format!(
        "UPDATE rooms SET \
           unique_name = CASE WHEN $3 THEN $4 ELSE unique_name END, \
           max_participants = COALESCE($5, max_participants), \
           enable_recording = COALESCE($6, enable_recording), \
           webhook_event_url = CASE WHEN $7 THEN $8 ELSE webhook_event_url END, \
           webhook_event_failover_url = CASE WHEN $9 THEN $10 ELSE webhook_event_failover_url END, \
           webhook_timeout_secs = CASE WHEN $11 THEN $12 ELSE webhook_timeout_secs END, \
           updated_at = CASE WHEN $13 > updated_at + 1 THEN $13 ELSE updated_at + 1 END \
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
}

pub(crate) fn delete_room(account_id: Uuid, id: Uuid) -> Statement {
    Statement::new("DELETE FROM rooms WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
}

/// The account's room counter: `$1` account.
pub(crate) const ROOM_COUNT: &str = "SELECT room_count FROM accounts WHERE id = $1";

pub(crate) fn signing_keys() -> Statement {
    Statement::new(
        "SELECT kid, private_key, public_key, created_at, activate_at, retire_at FROM signing_keys \
         ORDER BY created_at, kid",
    )
}

pub(crate) fn insert_signing_key(key: &SigningKeyRecord) -> Statement {
    Statement::new(
        "INSERT INTO signing_keys (kid, private_key, public_key, created_at, activate_at, retire_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.kid.as_str())
    .bind(&key.private_key[..])
    .bind(&key.public_key[..])
    .bind(key.created_at_secs)
    .bind(key.activate_at_secs)
    .bind(key.retire_at_secs)
}

/// A rotation, run in one transaction (which the backend serializes with other rotations): stores `key` unless
/// a key was created at or after `unless_created_since`, then (if it was stored) schedules every other key not
/// yet retiring to retire at `retire_others_at`.
pub(crate) fn rotate_signing_key(
    key: &SigningKeyRecord,
    retire_others_at: i64,
    unless_created_since: Option<i64>,
) -> [Statement; 2] {
    [
        Statement::new(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at, activate_at, retire_at) \
             SELECT $1, $2, $3, $4, $5, NULL \
             WHERE $6 IS NULL OR NOT EXISTS (SELECT 1 FROM signing_keys WHERE created_at >= $6)",
        )
        .bind(key.kid.as_str())
        .bind(&key.private_key[..])
        .bind(&key.public_key[..])
        .bind(key.created_at_secs)
        .bind(key.activate_at_secs)
        .bind(unless_created_since),
        Statement::new(
            "UPDATE signing_keys SET retire_at = $2 WHERE kid <> $1 AND (retire_at IS NULL OR retire_at > $2)",
        )
        .bind(key.kid.as_str())
        .bind(retire_others_at),
    ]
}

/// Takes the account's next feed number.
pub(crate) fn next_seq(account_id: Uuid) -> Statement {
    Statement::new(revoking::NEXT_SEQ).bind(account_id)
}

pub(crate) fn insert_revocation(r: &NewRevocation, seq: i64) -> Statement {
    let (jti, identity, issued_before, iat_before) = revoking::selector_columns(r, |u| u);
    Statement::new(revoking::INSERT)
        .bind(r.id)
        .bind(r.account_id)
        .bind(r.room_id)
        .bind(seq)
        .bind(jti)
        .bind(identity)
        .bind(issued_before)
        .bind(iat_before)
        .bind(r.reason.clone())
        .bind(r.created_at)
        .bind(r.expires_at)
}

/// How many revocations of the room are live, then a page of them.
pub(crate) fn room_revocations(
    account_id: Uuid,
    room_id: Uuid,
    now: i64,
    limit: u32,
    offset: u64,
) -> [Statement; 2] {
    [
        Statement::new(revoking::ROOM_COUNT)
            .bind(room_id)
            .bind(account_id)
            .bind(now),
        Statement::new(revoking::room_page_sql())
            .bind(room_id)
            .bind(account_id)
            .bind(now)
            .bind(i64::from(limit))
            .bind(int(offset)),
    ]
}

pub(crate) fn feed_head(account_id: Uuid) -> Statement {
    Statement::new(revoking::HEAD).bind(account_id)
}

pub(crate) fn feed(account_id: Uuid, after: i64, head: i64, now: i64, limit: u32) -> Statement {
    Statement::new(revoking::feed_sql())
        .bind(account_id)
        .bind(after)
        .bind(head)
        .bind(now)
        .bind(i64::from(limit))
}

/// The feed's cursor after `page`: its last number if the page is full, else the head.
pub(crate) fn feed_next(page: &[RevocationRecord], head: i64, limit: u32) -> i64 {
    match page.last() {
        Some(last) if page.len() >= limit as usize => last.seq,
        _ => head,
    }
}

pub(crate) fn covering(token: &TokenFacts<'_>) -> Statement {
    Statement::new(revoking::covering_sql())
        .bind(token.room_id)
        .bind(token.jti)
        .bind(token.identity)
        .bind(token.iat)
}

pub(crate) fn prune_revocations(now: i64) -> Statement {
    Statement::new(revoking::PRUNE).bind(now)
}

/// The first statement of a listing: the matching rows themselves, or the count the total comes from.
pub(crate) fn listing_total(
    account_id: Uuid,
    conditions: &Conditions,
    filter: &RoomFilter,
) -> (TotalFrom, Statement) {
    let from = TotalFrom::of(filter);
    let sql = match from {
        TotalFrom::Rows => conditions.rows_sql(),
        TotalFrom::Counter => return (from, Statement::new(ROOM_COUNT).bind(account_id)),
        TotalFrom::Count => conditions.count_sql(),
    };
    (from, listing_statement(sql, account_id, conditions))
}

/// A window of a listing; `key` names rows in the index (`rowid`, `id`).
pub(crate) fn listing_page(
    account_id: Uuid,
    conditions: &Conditions,
    window: &Window,
    key: &str,
) -> Statement {
    listing_statement(conditions.page_sql(window, key), account_id, conditions)
        .bind(int(window.limit))
        .bind(int(window.offset))
}

fn listing_statement(sql: String, account_id: Uuid, conditions: &Conditions) -> Statement {
    let mut statement = Statement::new(sql).bind(account_id);
    for value in &conditions.binds {
        statement = match value {
            Bind::Text(text) => statement.bind(text.as_str()),
            Bind::Int(int) => statement.bind(*int),
        };
    }
    statement
}

/// The page of a listing whose total came from its rows ([`TotalFrom::Rows`]).
pub(crate) fn rows_page<R: Columns>(rows: &[R], limit: u32, offset: u64) -> Result<(Vec<RoomRecord>, u64)> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let page = rows.iter().skip(skip).take(limit as usize).map(room);
    Ok((page.collect::<Result<_>>()?, rows.len() as u64))
}

/// A window's rows, newest first.
pub(crate) fn window_page<R: Columns>(rows: &[R], window: &Window) -> Result<Vec<RoomRecord>> {
    let mut page = rows.iter().map(room).collect::<Result<Vec<_>>>()?;
    if window.from_end {
        page.reverse();
    }
    Ok(page)
}

/// `NotFound` if the statement changed nothing.
pub(crate) fn found(changed: u64) -> Result<()> {
    match changed {
        0 => Err(crate::StoreError::NotFound),
        _ => Ok(()),
    }
}

/// A foreign key that no longer holds (the room was deleted meanwhile) means the room is gone.
pub(crate) fn room_gone(e: sqlx::Error) -> crate::StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => crate::StoreError::NotFound,
        _ => e.into(),
    }
}

/// Reads a column of either backend's rows.
pub(crate) trait Columns {
    /// A column both backends decode the same way.
    fn get<T: Column>(&self, col: &str) -> Result<T>;
    /// The same, by position.
    fn get_at<T: Column>(&self, index: usize) -> Result<T>;
    /// A UUID column (stored as `uuid` on PostgreSQL, text on SQLite).
    fn uuid(&self, col: &str) -> Result<Option<Uuid>>;

    fn id(&self, col: &str) -> Result<Uuid> {
        self.uuid(col)?
            .ok_or_else(|| crate::StoreError::Other(format!("{col} is NULL")))
    }
}

/// A Rust type both backends decode from a column.
pub(crate) trait Column:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
{
}

pub(crate) fn room(row: &impl Columns) -> Result<RoomRecord> {
    Ok(RoomRecord {
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        unique_name: row.get("unique_name")?,
        max_participants: row.get("max_participants")?,
        enable_recording: row.get("enable_recording")?,
        webhook_event_url: row.get("webhook_event_url")?,
        webhook_event_failover_url: row.get("webhook_event_failover_url")?,
        webhook_timeout_secs: row.get("webhook_timeout_secs")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(crate) fn api_key(row: &impl Columns) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        account_name: row.get("account_name")?,
        name: row.get("name")?,
        prefix: row.get("prefix")?,
        created_at: row.get("created_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

pub(crate) fn key_auth(row: &impl Columns) -> Result<KeyAuth> {
    Ok(KeyAuth {
        api_key_id: row.id("id")?,
        account_id: row.id("account_id")?,
    })
}

pub(crate) fn signing_key(row: &impl Columns) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.get("kid")?,
        private_key: row.get("private_key")?,
        public_key: row.get("public_key")?,
        created_at_secs: row.get("created_at")?,
        activate_at_secs: row.get("activate_at")?,
        retire_at_secs: row.get("retire_at")?,
    })
}

pub(crate) fn revocation(row: &impl Columns) -> Result<RevocationRecord> {
    revoking::record(
        row.get("seq")?,
        row.id("id")?,
        row.id("account_id")?,
        row.id("room_id")?,
        row.uuid("jti")?,
        row.get("identity")?,
        row.get("issued_before")?,
        row.get("reason")?,
        row.get("created_at")?,
        row.get("expires_at")?,
    )
}
