//! The rows both backends read, mapped once: each backend only says how it decodes a column ([`Columns`]).
use uuid::Uuid;

use crate::{revoking, ApiKeyRecord, KeyAuth, Result, RevocationRecord, RoomRecord, SigningKeyRecord};

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
        active_session_id: row.uuid("active_session_id")?,
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
