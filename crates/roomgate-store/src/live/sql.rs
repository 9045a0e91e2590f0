//! The live room's statements, written once with `$N` placeholders (the SQLite backend turns them into `?N`).
use uuid::Uuid;

use super::model::{CommandRecord, ParticipantFilter, SessionFilter};
use crate::sql::{int, Statement, Value};

pub(crate) const SESSION_COLUMNS: &str = "id, account_id, room_id, created_at, updated_at, ended_at";
pub(crate) const PARTICIPANT_COLUMNS: &str = "id, account_id, room_id, session_id, identity, name, context, \
     permissions, jti, token_iat, joined_at, updated_at, left_at, lease_expires_at";
/// What a participant's `left` event reports, returned by the statements that mark participants left.
const LEFT_COLUMNS: &str = "id, session_id, context, joined_at, left_at";
/// What a `session.ended` event reports, returned by the statements that end sessions.
const ENDED_COLUMNS: &str = "id, created_at, ended_at";
pub(crate) const COMMAND_COLUMNS: &str =
    "seq, id, account_id, room_id, session_id, participant_id, kind, kinds, reason, created_at, expires_at";

/// The room's row lock (held to commit): every change of a room's live state takes it first, so they are
/// serialized on every replica (PostgreSQL: a no-key update; SQLite: the one write lock, taken by this first
/// write). Returns the room's limit and webhook settings.
pub(crate) fn lock_room(account_id: Uuid, room_id: Uuid) -> Statement {
    Statement::new(
        "UPDATE rooms SET updated_at = updated_at WHERE id = $1 AND account_id = $2 \
         RETURNING max_participants, webhook_event_url, webhook_event_failover_url, webhook_timeout_secs",
    )
    .bind(room_id)
    .bind(account_id)
}

/// The room's active session. Read by a statement of its own after [`lock_room`]: on PostgreSQL a statement that
/// waited for a row lock still reads with the snapshot it started with, which may predate the session that the
/// lock's previous holder opened.
pub(crate) fn active_session(room_id: Uuid) -> Statement {
    Statement::new("SELECT id FROM room_sessions WHERE room_id = $1 AND ended_at IS NULL").bind(room_id)
}

/// Marks the session's participants whose lease ran out as left at their lease's end.
pub(crate) fn expire_leases(session_id: Uuid, now: i64) -> Statement {
    Statement::new(format!(
        "UPDATE room_participants SET left_at = lease_expires_at, updated_at = $2 \
         WHERE session_id = $1 AND left_at IS NULL AND lease_expires_at <= $2 RETURNING {LEFT_COLUMNS}"
    ))
    .bind(session_id)
    .bind(now)
}

/// Ends the session if no participant is left in it.
pub(crate) fn end_if_empty(session_id: Uuid, now: i64) -> Statement {
    Statement::new(format!(
        "UPDATE room_sessions SET ended_at = $2, updated_at = $2 WHERE id = $1 AND ended_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM room_participants WHERE session_id = $1 AND left_at IS NULL) \
         RETURNING {ENDED_COLUMNS}"
    ))
    .bind(session_id)
    .bind(now)
}

/// Ends the session whoever is in it.
pub(crate) fn end_session(session_id: Uuid, now: i64) -> Statement {
    Statement::new(format!(
        "UPDATE room_sessions SET ended_at = $2, updated_at = $2 WHERE id = $1 AND ended_at IS NULL \
         RETURNING {ENDED_COLUMNS}"
    ))
    .bind(session_id)
    .bind(now)
}

/// Marks the live participants of `identity` in the session left.
pub(crate) fn replace_identity(session_id: Uuid, identity: &str, now: i64) -> Statement {
    Statement::new(format!(
        "UPDATE room_participants SET left_at = $3, updated_at = $3 \
         WHERE session_id = $1 AND identity = $2 AND left_at IS NULL RETURNING {LEFT_COLUMNS}"
    ))
    .bind(session_id)
    .bind(identity)
    .bind(now)
}

pub(crate) fn count_live(session_id: Uuid) -> Statement {
    Statement::new("SELECT COUNT(*) FROM room_participants WHERE session_id = $1 AND left_at IS NULL")
        .bind(session_id)
}

pub(crate) fn live_participants(session_id: Uuid) -> Statement {
    Statement::new(format!(
        "SELECT {PARTICIPANT_COLUMNS} FROM room_participants WHERE session_id = $1 AND left_at IS NULL \
         ORDER BY joined_at, id"
    ))
    .bind(session_id)
}

pub(crate) fn insert_session(id: Uuid, account_id: Uuid, room_id: Uuid, now: i64) -> Statement {
    Statement::new(format!(
        "INSERT INTO room_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $4, NULL)"
    ))
    .bind(id)
    .bind(account_id)
    .bind(room_id)
    .bind(now)
}

pub(crate) fn insert_participant(p: &super::model::ParticipantRecord) -> Statement {
    Statement::new(format!(
        "INSERT INTO room_participants ({PARTICIPANT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13)"
    ))
    .bind(p.id)
    .bind(p.account_id)
    .bind(p.room_id)
    .bind(p.session_id)
    .bind(p.identity.clone())
    .bind(p.name.clone())
    .bind(p.context.clone())
    .bind(p.permissions.as_str())
    .bind(p.jti)
    .bind(p.token_iat)
    .bind(p.joined_at)
    .bind(p.updated_at)
    .bind(p.lease_expires_at)
}

/// `$1, $2 ...` from `first` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Marks these live participants left.
pub(crate) fn mark_left(ids: &[Uuid], now: i64) -> Statement {
    let mut s = Statement::new(format!(
        "UPDATE room_participants SET left_at = $1, updated_at = $1 WHERE left_at IS NULL AND id IN ({}) \
         RETURNING {LEFT_COLUMNS}",
        placeholders(2, ids.len())
    ))
    .bind(now);
    for id in ids {
        s = s.bind(*id);
    }
    s
}

/// Extends the leases of these live, unexpired participants of the account; the ids renewed.
pub(crate) fn renew(account_id: Uuid, ids: &[Uuid], now: i64, until: i64) -> Statement {
    let mut s = Statement::new(format!(
        "UPDATE room_participants SET lease_expires_at = $3 WHERE account_id = $1 AND left_at IS NULL \
         AND lease_expires_at > $2 AND id IN ({}) RETURNING id",
        placeholders(4, ids.len())
    ))
    .bind(account_id)
    .bind(now)
    .bind(until);
    for id in ids {
        s = s.bind(*id);
    }
    s
}

/// Takes `n` numbers of the account's feed (shared with revocations); the last one.
pub(crate) fn take_seqs(account_id: Uuid, n: usize) -> Statement {
    Statement::new(
        "UPDATE accounts SET revocation_seq = revocation_seq + $2 WHERE id = $1 RETURNING revocation_seq",
    )
    .bind(account_id)
    .bind(int(n as u64))
}

pub(crate) fn insert_command(c: &CommandRecord) -> Statement {
    let kinds =
        (!c.kinds.is_empty()).then(|| c.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","));
    Statement::new(format!(
        "INSERT INTO room_commands ({COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(c.seq)
    .bind(c.id)
    .bind(c.account_id)
    .bind(c.room_id)
    .bind(c.session_id)
    .bind(c.participant_id)
    .bind(c.kind.as_str())
    .bind(kinds)
    .bind(c.reason.clone())
    .bind(c.created_at)
    .bind(c.expires_at)
}

/// The account's live commands numbered in (`after`, `head`], in order.
pub(crate) fn command_feed(account_id: Uuid, after: i64, head: i64, now: i64, limit: u32) -> Statement {
    Statement::new(format!(
        "SELECT {COMMAND_COLUMNS} FROM room_commands WHERE account_id = $1 AND seq > $2 AND seq <= $3 \
         AND expires_at > $4 ORDER BY seq LIMIT $5"
    ))
    .bind(account_id)
    .bind(after)
    .bind(head)
    .bind(now)
    .bind(i64::from(limit))
}

pub(crate) fn prune_commands(now: i64) -> Statement {
    Statement::new("DELETE FROM room_commands WHERE expires_at <= $1").bind(now)
}

/// Sessions with a participant whose lease ran out: (session, room, account).
pub(crate) fn expired_sessions(now: i64) -> Statement {
    Statement::new(
        "SELECT DISTINCT session_id, room_id, account_id FROM room_participants \
         WHERE left_at IS NULL AND lease_expires_at <= $1 LIMIT 200",
    )
    .bind(now)
}

pub(crate) fn session_of(account_id: Uuid, id: Uuid) -> Statement {
    Statement::new(format!(
        "SELECT {SESSION_COLUMNS} FROM room_sessions WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
}

pub(crate) fn participant_of(account_id: Uuid, id: Uuid) -> Statement {
    Statement::new(format!(
        "SELECT {PARTICIPANT_COLUMNS} FROM room_participants WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
}

/// Conditions after `account_id = $1`, and their values.
struct Where {
    sql: String,
    args: Vec<Value>,
}

impl Where {
    fn new() -> Self {
        Self {
            sql: String::new(),
            args: Vec::new(),
        }
    }

    fn cond(&mut self, sql: &str, value: impl Into<Value>) {
        self.args.push(value.into());
        let n = self.args.len() + 1;
        self.sql.push_str(" AND ");
        self.sql.push_str(&sql.replace('?', &format!("${n}")));
    }

    fn range(&mut self, column: &str, (from, until): (Option<i64>, Option<i64>)) {
        if let Some(from) = from {
            self.cond(&format!("{column} >= ?"), from);
        }
        if let Some(until) = until {
            self.cond(&format!("{column} < ?"), until);
        }
    }

    /// The count and one page (newest first) of `table` for the account.
    fn listing(
        self,
        table: &str,
        columns: &str,
        order: &str,
        account_id: Uuid,
        limit: u32,
        offset: u64,
    ) -> [Statement; 2] {
        let mut count = Statement::new(format!(
            "SELECT COUNT(*) FROM {table} WHERE account_id = $1{}",
            self.sql
        ))
        .bind(account_id);
        count.args.extend(self.args.iter().cloned());
        let n = self.args.len() + 2;
        let mut page = Statement::new(format!(
            "SELECT {columns} FROM {table} WHERE account_id = $1{} ORDER BY {order} LIMIT ${n} OFFSET ${}",
            self.sql,
            n + 1
        ))
        .bind(account_id);
        page.args.extend(self.args);
        [page.bind(i64::from(limit)).bind(int(offset)), count]
    }
}

/// A page of the account's sessions (newest first), then their count.
pub(crate) fn list_sessions(account_id: Uuid, f: &SessionFilter, limit: u32, offset: u64) -> [Statement; 2] {
    let mut w = Where::new();
    if let Some(room) = f.room_id {
        w.cond("room_id = ?", room);
    }
    match f.active {
        Some(true) => w.sql.push_str(" AND ended_at IS NULL"),
        Some(false) => w.sql.push_str(" AND ended_at IS NOT NULL"),
        None => {}
    }
    w.range("created_at", f.created);
    w.range("updated_at", f.updated);
    w.range("ended_at", f.ended);
    w.listing(
        "room_sessions",
        SESSION_COLUMNS,
        "created_at DESC, id",
        account_id,
        limit,
        offset,
    )
}

/// A page of the account's participants (newest first), then their count.
pub(crate) fn list_participants(
    account_id: Uuid,
    f: &ParticipantFilter,
    limit: u32,
    offset: u64,
) -> [Statement; 2] {
    let mut w = Where::new();
    if let Some(session) = f.session_id {
        w.cond("session_id = ?", session);
    }
    if let Some(context) = &f.context {
        w.cond("context = ?", context.as_str());
    }
    w.range("joined_at", f.joined);
    w.range("updated_at", f.updated);
    w.range("left_at", f.left);
    w.listing(
        "room_participants",
        PARTICIPANT_COLUMNS,
        "joined_at DESC, id",
        account_id,
        limit,
        offset,
    )
}
