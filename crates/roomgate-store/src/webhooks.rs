//! The webhook outbox: room events stored in the transaction of the change they report ([`Outbox`], filled by
//! `live`), claimed by one replica at a time, a room's oldest pending event first, and settled when delivered,
//! rescheduled or given up. And the key that signs deliveries.
use uuid::Uuid;

use crate::{
    rows::Columns, shared::SqlBackend, sql::Statement, Result, SigningKeyRecord, StoreError, UnixMicros,
};

/// What happened in a room, as its webhook reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEventType {
    /// A session began (its first participant was admitted).
    SessionStarted,
    /// A session ended (its last participant left, or it was ended).
    SessionEnded,
    /// A participant was admitted.
    ParticipantJoined,
    /// A participant left (left, was kicked or replaced, its lease ran out, or the session ended).
    ParticipantLeft,
}

impl WebhookEventType {
    /// Every type.
    pub const ALL: [WebhookEventType; 4] = [
        Self::SessionStarted,
        Self::SessionEnded,
        Self::ParticipantJoined,
        Self::ParticipantLeft,
    ];

    /// Its `event_type` on the wire (Telnyx's names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionStarted => "video.room.session.started",
            Self::SessionEnded => "video.room.session.ended",
            Self::ParticipantJoined => "video.room.participant.joined",
            Self::ParticipantLeft => "video.room.participant.left",
        }
    }

    /// The type of a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One event of the outbox, as a replica claimed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEventRecord {
    /// Its place in the outbox (a room's events are delivered in this order).
    pub seq: i64,
    /// Its id: the same in every attempt, so receivers can drop duplicates.
    pub id: Uuid,
    /// The account of the room.
    pub account_id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// What happened.
    pub event_type: WebhookEventType,
    /// When it happened.
    pub occurred_at: UnixMicros,
    /// The session it happened in.
    pub session_id: Uuid,
    /// The participant (participant events).
    pub participant_id: Option<Uuid>,
    /// The participant's context (participant events).
    pub context: Option<String>,
    /// How long the participant stayed or the session lasted (`left`, `session.ended`), whole seconds.
    pub duration_secs: Option<i64>,
    /// The room's `webhook_event_url` when it happened.
    pub url: Option<String>,
    /// The room's `webhook_event_failover_url` when it happened.
    pub failover_url: Option<String>,
    /// The room's `webhook_timeout_secs` when it happened.
    pub timeout_secs: Option<i32>,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookSettlement {
    /// A receiver answered 2xx.
    Delivered,
    /// Try again at this time.
    Retry(UnixMicros),
    /// Given up.
    Failed,
}

/// Where a room's events go: its webhook settings (a room with neither URL queues nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    url: Option<String>,
    failover_url: Option<String>,
    timeout_secs: Option<i32>,
}

impl Target {
    /// From the room's columns; `None` when it has no webhook URL.
    pub(crate) fn of(row: &impl Columns) -> Result<Option<Self>> {
        let target = Self {
            url: row.get("webhook_event_url")?,
            failover_url: row.get("webhook_event_failover_url")?,
            timeout_secs: row.get("webhook_timeout_secs")?,
        };
        Ok((target.url.is_some() || target.failover_url.is_some()).then_some(target))
    }
}

/// The events one live-room transaction reports, written before it commits.
#[derive(Debug)]
pub(crate) struct Outbox {
    account_id: Uuid,
    room_id: Uuid,
    target: Option<Target>,
    events: Vec<WebhookEventRecord>,
}

/// Whole seconds from `from` to `to` (microseconds), never negative.
fn secs_between(from: UnixMicros, to: UnixMicros) -> i64 {
    (to - from).max(0) / 1_000_000
}

impl Outbox {
    pub(crate) fn new(account_id: Uuid, room_id: Uuid, target: Option<Target>) -> Self {
        Self {
            account_id,
            room_id,
            target,
            events: Vec::new(),
        }
    }

    /// A new event to fill in; `None` (nothing is kept) when the room has no webhook URL.
    fn push(
        &mut self,
        event_type: WebhookEventType,
        at: UnixMicros,
        session_id: Uuid,
    ) -> Option<&mut WebhookEventRecord> {
        let target = self.target.clone()?;
        self.events.push(WebhookEventRecord {
            seq: 0,
            id: Uuid::new_v4(),
            account_id: self.account_id,
            room_id: self.room_id,
            event_type,
            occurred_at: at,
            session_id,
            participant_id: None,
            context: None,
            duration_secs: None,
            url: target.url,
            failover_url: target.failover_url,
            timeout_secs: target.timeout_secs,
            attempts: 0,
        });
        self.events.last_mut()
    }

    pub(crate) fn session_started(&mut self, session_id: Uuid, at: UnixMicros) {
        self.push(WebhookEventType::SessionStarted, at, session_id);
    }

    /// From the rows of an ended session (`id, created_at, ended_at`).
    pub(crate) fn sessions_ended(&mut self, rows: &[impl Columns]) -> Result<()> {
        if self.target.is_none() {
            return Ok(());
        }
        for row in rows {
            let (created, ended): (i64, i64) = (row.get("created_at")?, row.get("ended_at")?);
            if let Some(e) = self.push(WebhookEventType::SessionEnded, ended, row.id("id")?) {
                e.duration_secs = Some(secs_between(created, ended));
            }
        }
        Ok(())
    }

    pub(crate) fn joined(&mut self, p: &crate::ParticipantRecord) {
        if let Some(e) = self.push(WebhookEventType::ParticipantJoined, p.joined_at, p.session_id) {
            e.participant_id = Some(p.id);
            e.context = p.context.clone();
        }
    }

    /// From the rows of participants marked left (`id, session_id, context, joined_at, left_at`).
    pub(crate) fn left(&mut self, rows: &[impl Columns]) -> Result<()> {
        if self.target.is_none() {
            return Ok(());
        }
        for row in rows {
            let (joined, left): (i64, i64) = (row.get("joined_at")?, row.get("left_at")?);
            if let Some(e) = self.push(WebhookEventType::ParticipantLeft, left, row.id("session_id")?) {
                e.participant_id = Some(row.id("id")?);
                e.context = row.get("context")?;
                e.duration_secs = Some(secs_between(joined, left));
            }
        }
        Ok(())
    }

    /// Stores the events (none when the room has no webhook URL), in the order they happened; their types.
    pub(crate) async fn write<B: SqlBackend>(self, b: &B, tx: &mut B::Tx) -> Result<Vec<WebhookEventType>> {
        let mut types = Vec::with_capacity(self.events.len());
        for e in &self.events {
            b.tx_execute(tx, &insert_event(e)).await?;
            types.push(e.event_type);
        }
        Ok(types)
    }
}

const EVENT_COLUMNS: &str =
    "seq, id, account_id, room_id, event_type, occurred_at, session_id, participant_id, \
     context, duration_secs, url, failover_url, timeout_secs, attempts";

fn insert_event(e: &WebhookEventRecord) -> Statement {
    Statement::new(
        "INSERT INTO webhook_events (id, account_id, room_id, event_type, occurred_at, session_id, \
         participant_id, context, duration_secs, url, failover_url, timeout_secs, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $5)",
    )
    .bind(e.id)
    .bind(e.account_id)
    .bind(e.room_id)
    .bind(e.event_type.as_str())
    .bind(e.occurred_at)
    .bind(e.session_id)
    .bind(e.participant_id)
    .bind(e.context.clone())
    .bind(e.duration_secs)
    .bind(e.url.clone())
    .bind(e.failover_url.clone())
    .bind(e.timeout_secs)
}

/// Claims up to `limit` due events, each its room's oldest pending one, for as long as an attempt can take
/// (the timeout for each URL, 30 s when the room set none, plus 5 s); counts the attempt. `lock` is the backend's
/// row-lock clause (PostgreSQL skips rows another replica is claiming).
pub(crate) fn claim(now: UnixMicros, limit: u32, lock: &str) -> Statement {
    Statement::new(format!(
        "UPDATE webhook_events SET attempts = attempts + 1, \
           claimed_until = $1 + CAST((COALESCE(timeout_secs, 30) \
             * (CASE WHEN url IS NOT NULL AND failover_url IS NOT NULL THEN 2 ELSE 1 END) + 5) AS BIGINT) * 1000000 \
         WHERE seq IN (SELECT e.seq FROM webhook_events e \
             WHERE e.done_at IS NULL AND e.next_attempt_at <= $1 \
               AND (e.claimed_until IS NULL OR e.claimed_until <= $1) \
               AND NOT EXISTS (SELECT 1 FROM webhook_events p \
                   WHERE p.room_id = e.room_id AND p.done_at IS NULL AND p.seq < e.seq) \
             ORDER BY e.next_attempt_at, e.seq LIMIT $2{lock}) \
           AND done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1) \
         RETURNING {EVENT_COLUMNS}"
    ))
    .bind(now)
    .bind(i64::from(limit))
}

/// One row if any event is due.
pub(crate) fn any_due(now: UnixMicros) -> Statement {
    Statement::new(
        "SELECT seq FROM webhook_events WHERE done_at IS NULL AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until <= $1) LIMIT 1",
    )
    .bind(now)
}

/// Records how the attempt on `seq` ended.
pub(crate) fn settle(seq: i64, how: &WebhookSettlement, now: UnixMicros, error: Option<&str>) -> Statement {
    let (set, at) = match how {
        WebhookSettlement::Delivered => ("done_at = $2, outcome = 'delivered'", now),
        WebhookSettlement::Failed => ("done_at = $2, outcome = 'failed'", now),
        WebhookSettlement::Retry(at) => ("next_attempt_at = $2", *at),
    };
    Statement::new(format!(
        "UPDATE webhook_events SET {set}, claimed_until = NULL, last_error = $3 WHERE seq = $1"
    ))
    .bind(seq)
    .bind(at)
    .bind(error.map(|e| e.chars().take(500).collect::<String>()))
}

/// Deletes events settled before `before`.
pub(crate) fn prune(before: UnixMicros) -> Statement {
    Statement::new("DELETE FROM webhook_events WHERE done_at IS NOT NULL AND done_at < $1").bind(before)
}

pub(crate) fn event(row: &impl Columns) -> Result<WebhookEventRecord> {
    let event_type: String = row.get("event_type")?;
    Ok(WebhookEventRecord {
        seq: row.get("seq")?,
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        room_id: row.id("room_id")?,
        event_type: WebhookEventType::parse(&event_type)
            .ok_or_else(|| StoreError::Other(format!("unknown webhook event type {event_type:?}")))?,
        occurred_at: row.get("occurred_at")?,
        session_id: row.id("session_id")?,
        participant_id: row.uuid("participant_id")?,
        context: row.get("context")?,
        duration_secs: row.get("duration_secs")?,
        url: row.get("url")?,
        failover_url: row.get("failover_url")?,
        timeout_secs: row.get("timeout_secs")?,
        attempts: row.get("attempts")?,
    })
}

/// The webhook keys, oldest (the one that signs) first.
pub(crate) fn keys() -> Statement {
    Statement::new(
        "SELECT kid, private_key, public_key, created_at, created_at AS activate_at, CAST(NULL AS BIGINT) AS retire_at \
         FROM webhook_keys ORDER BY created_at, kid",
    )
}

/// Stores `key` unless there is one already.
pub(crate) fn insert_key_if_none(key: &SigningKeyRecord) -> Statement {
    Statement::new(
        "INSERT INTO webhook_keys (kid, private_key, public_key, created_at) \
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM webhook_keys)",
    )
    .bind(key.kid.as_str())
    .bind(&key.private_key[..])
    .bind(&key.public_key[..])
    .bind(key.created_at_secs)
}
