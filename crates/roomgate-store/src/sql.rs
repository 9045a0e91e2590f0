//! The statements both backends run, written once: `$N` placeholders (the SQLite backend turns them into `?N`)
//! and SQL both dialects spell the same. How a [`Value`] is bound (a UUID is `uuid` on PostgreSQL, text on
//! SQLite) stays in each backend. The revocation statements are in `revoking`, the listing's in `listing`.
use uuid::Uuid;

use crate::{
    listing::{ROOM_COLUMNS, ROOM_SELECT},
    revoking, NewApiKey, Result, RoomPatch, RoomRecord, SigningKeyRecord,
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
        "SELECT {ROOM_SELECT} FROM rooms WHERE id = $1 AND account_id = $2"
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
         WHERE id = $1 AND account_id = $2 RETURNING {ROOM_SELECT}"
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
