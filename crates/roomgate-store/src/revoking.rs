//! The revocation statements both backends run, written once with `$N` placeholders (the SQLite backend turns
//! them into `?N`); binds and row mapping stay in each backend.
use uuid::Uuid;

use crate::{
    sql::{int, Statement},
    NewRevocation, Result, RevocationRecord, RevocationSelector, StoreError, TokenFacts,
};

/// The columns of a revocation, in the order [`record`] reads them.
pub(crate) const COLUMNS: &str =
    "seq, id, account_id, room_id, jti, identity, issued_before, reason, created_at, expires_at";

/// The id of the first revocation covering a token: `$1` room, `$2` jti, `$3` identity, `$4` iat. Each branch is
/// one probe of its own partial index.
pub(crate) const COVERING_ID: &str = "COALESCE(\
     (SELECT id FROM revocations WHERE room_id = $1 AND jti = $2 LIMIT 1), \
     (SELECT id FROM revocations WHERE room_id = $1 AND identity = $3 AND iat_before > $4 LIMIT 1), \
     (SELECT id FROM revocations WHERE room_id = $1 AND issued_before IS NOT NULL AND iat_before > $4 LIMIT 1))";

/// Takes the account's next feed number (and, on PostgreSQL, its row lock until commit): `$1` account.
pub(crate) const NEXT_SEQ: &str =
    "UPDATE accounts SET revocation_seq = revocation_seq + 1 WHERE id = $1 RETURNING revocation_seq";

/// Stores a revocation if its room is the account's: `$1` id, `$2` account, `$3` room, `$4` seq, `$5` jti,
/// `$6` identity, `$7` issued_before, `$8` iat_before, `$9` reason, `$10` created_at, `$11` expires_at.
pub(crate) const INSERT: &str = "INSERT INTO revocations \
     (id, account_id, room_id, seq, jti, identity, issued_before, iat_before, reason, created_at, expires_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
     WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $3 AND account_id = $2)";

/// The account's last feed number: `$1` account.
pub(crate) const HEAD: &str = "SELECT revocation_seq FROM accounts WHERE id = $1";

/// The account's live revocations numbered in (`$2`, `$3`], in order: `$1` account, `$4` now, `$5` limit.
pub(crate) fn feed_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM revocations WHERE account_id = $1 AND seq > $2 AND seq <= $3 AND expires_at > $4 \
         ORDER BY seq LIMIT $5"
    )
}

/// A page of a room's live revocations, newest first: `$1` room, `$2` account, `$3` now, `$4` limit,
/// `$5` offset.
pub(crate) fn room_page_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM revocations WHERE room_id = $1 AND account_id = $2 AND expires_at > $3 \
         ORDER BY seq DESC LIMIT $4 OFFSET $5"
    )
}

/// How many live revocations a room has: `$1` room, `$2` account, `$3` now.
pub(crate) const ROOM_COUNT: &str =
    "SELECT COUNT(*) FROM revocations WHERE room_id = $1 AND account_id = $2 AND expires_at > $3";

/// The revocation covering a token, whole: binds as [`COVERING_ID`].
pub(crate) fn covering_sql() -> String {
    format!("SELECT {COLUMNS} FROM revocations WHERE id = {COVERING_ID}")
}

/// Revocations no token can outlive any more: `$1` now.
pub(crate) const PRUNE: &str = "DELETE FROM revocations WHERE expires_at <= $1";

/// The selector's three columns (jti, identity, issued_before) and `iat_before`.
pub(crate) fn selector_columns<U>(
    r: &NewRevocation,
    uuid: impl Fn(uuid::Uuid) -> U,
) -> (Option<U>, Option<String>, Option<i64>, Option<i64>) {
    let iat_before = r.selector.iat_before(r.created_at);
    match &r.selector {
        RevocationSelector::Jti(jti) => (Some(uuid(*jti)), None, None, iat_before),
        RevocationSelector::Identity(who) => (None, Some(who.clone()), None, iat_before),
        RevocationSelector::IssuedBefore(at) => (None, None, Some(*at), iat_before),
    }
}

/// The columns of one row, already decoded by the backend, as a record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    seq: i64,
    id: uuid::Uuid,
    account_id: uuid::Uuid,
    room_id: uuid::Uuid,
    jti: Option<uuid::Uuid>,
    identity: Option<String>,
    issued_before: Option<i64>,
    reason: Option<String>,
    created_at: i64,
    expires_at: i64,
) -> Result<RevocationRecord> {
    let selector = match (jti, identity, issued_before) {
        (Some(jti), None, None) => RevocationSelector::Jti(jti),
        (None, Some(who), None) => RevocationSelector::Identity(who),
        (None, None, Some(at)) => RevocationSelector::IssuedBefore(at),
        _ => {
            return Err(StoreError::Other(format!(
                "revocation {id} has not exactly one selector"
            )))
        }
    };
    Ok(RevocationRecord {
        seq,
        revocation: NewRevocation {
            id,
            account_id,
            room_id,
            selector,
            reason,
            created_at,
            expires_at,
        },
    })
}

/// Takes the account's next feed number.
pub(crate) fn next_seq(account_id: Uuid) -> Statement {
    Statement::new(NEXT_SEQ).bind(account_id)
}

pub(crate) fn insert_revocation(r: &NewRevocation, seq: i64) -> Statement {
    let (jti, identity, issued_before, iat_before) = selector_columns(r, |u| u);
    Statement::new(INSERT)
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
        Statement::new(ROOM_COUNT)
            .bind(room_id)
            .bind(account_id)
            .bind(now),
        Statement::new(room_page_sql())
            .bind(room_id)
            .bind(account_id)
            .bind(now)
            .bind(i64::from(limit))
            .bind(int(offset)),
    ]
}

pub(crate) fn feed_head(account_id: Uuid) -> Statement {
    Statement::new(HEAD).bind(account_id)
}

pub(crate) fn feed(account_id: Uuid, after: i64, head: i64, now: i64, limit: u32) -> Statement {
    Statement::new(feed_sql())
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
    Statement::new(covering_sql())
        .bind(token.room_id)
        .bind(token.jti)
        .bind(token.identity)
        .bind(token.iat)
}

pub(crate) fn prune_revocations(now: i64) -> Statement {
    Statement::new(PRUNE).bind(now)
}

/// How long a waiter sleeps between checks when no signal comes (a lost notification costs at most this).
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(2);
