//! The live room, written once over [`SqlBackend`]: admissions within `max_participants`, leaving, leases,
//! moderation and the control feed. Every change of a room's sessions or participants runs in one transaction
//! that first takes the room's row lock ([`sql::lock_room`]), so concurrent changes of one room from any replica
//! take turns, and whatever it reports (who joined, who left, which session started or ended) commits with it.
pub(crate) mod model;
pub(crate) mod sql;

use uuid::Uuid;

use self::model::{
    Admission, Admitted, CommandKind, CommandRecord, FeedEntry, Moderated, Moderation, ModerationRequest,
    ParticipantRecord, SessionRecord, Settled, TrackKind,
};
use crate::{
    revoking,
    rows::{self, Columns},
    shared::SqlBackend,
    sql::Statement,
    webhooks::{Outbox, Target},
    NewRevocation, Result, RevocationSelector, StoreError,
};

pub(crate) fn session(row: &impl Columns) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        room_id: row.id("room_id")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        ended_at: row.get("ended_at")?,
    })
}

pub(crate) fn participant(row: &impl Columns) -> Result<ParticipantRecord> {
    Ok(ParticipantRecord {
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        room_id: row.id("room_id")?,
        session_id: row.id("session_id")?,
        identity: row.get("identity")?,
        name: row.get("name")?,
        context: row.get("context")?,
        permissions: row.get("permissions")?,
        jti: row.id("jti")?,
        token_iat: row.get("token_iat")?,
        joined_at: row.get("joined_at")?,
        updated_at: row.get("updated_at")?,
        left_at: row.get("left_at")?,
        lease_expires_at: row.get("lease_expires_at")?,
    })
}

pub(crate) fn command(row: &impl Columns) -> Result<CommandRecord> {
    let kind: String = row.get("kind")?;
    let kinds: Option<String> = row.get("kinds")?;
    Ok(CommandRecord {
        seq: row.get("seq")?,
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        room_id: row.id("room_id")?,
        session_id: row.uuid("session_id")?,
        participant_id: row.uuid("participant_id")?,
        kind: CommandKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown command kind {kind:?}")))?,
        kinds: kinds
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(TrackKind::parse)
            .collect(),
        reason: row.get("reason")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

fn ids(rows: &[impl Columns]) -> Result<Vec<Uuid>> {
    rows.iter().map(|r| r.id("id")).collect()
}

/// A room whose lock a transaction holds.
struct Locked {
    max_participants: i64,
    active_session: Option<Uuid>,
    /// What the transaction reports to the room's webhook.
    outbox: Outbox,
}

/// Takes the room's lock: its `max_participants`, active session and webhook settings; `NotFound` if it is not
/// the account's.
async fn lock_room<B: SqlBackend>(b: &B, tx: &mut B::Tx, account_id: Uuid, room_id: Uuid) -> Result<Locked> {
    let rows = b.tx_all(tx, &sql::lock_room(account_id, room_id)).await?;
    let row = rows.first().ok_or(StoreError::NotFound)?;
    let max: i32 = row.get("max_participants")?;
    let outbox = Outbox::new(account_id, room_id, Target::of(row)?);
    let active = b.tx_all(tx, &sql::active_session(room_id)).await?;
    Ok(Locked {
        max_participants: i64::from(max),
        active_session: active.first().map(|r| r.id("id")).transpose()?,
        outbox,
    })
}

/// Writes the transaction's webhook events and commits it (see [`SqlBackend::commit`] for `feed_of`).
async fn commit<B: SqlBackend>(
    b: &B,
    mut tx: B::Tx,
    outbox: Outbox,
    feed_of: Option<Uuid>,
    out: &mut Settled,
) -> Result<()> {
    out.webhooks.extend(outbox.write(b, &mut tx).await?);
    b.commit(tx, feed_of).await
}

/// Runs a statement that marks participants left (returning `LEFT_COLUMNS`) and reports them; their ids.
async fn record_left<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    marks: &Statement,
    outbox: &mut Outbox,
    out: &mut Settled,
) -> Result<Vec<Uuid>> {
    let left = b.tx_all(tx, marks).await?;
    outbox.left(&left)?;
    let left = ids(&left)?;
    out.left.extend(&left);
    Ok(left)
}

/// Runs a statement that ends a session (returning `ENDED_COLUMNS`) and reports it; whether it ended one.
async fn record_ended<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    ends: &Statement,
    outbox: &mut Outbox,
    out: &mut Settled,
) -> Result<bool> {
    let ended = b.tx_all(tx, ends).await?;
    outbox.sessions_ended(&ended)?;
    out.ended_sessions.extend(ids(&ended)?);
    Ok(!ended.is_empty())
}

/// Marks these live participants left.
async fn mark_left<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    chosen: &[Uuid],
    now: i64,
    outbox: &mut Outbox,
    out: &mut Settled,
) -> Result<()> {
    if !chosen.is_empty() {
        record_left(b, tx, &sql::mark_left(chosen, now), outbox, out).await?;
    }
    Ok(())
}

/// Expires the session's run-out leases, and ends it if that emptied it.
async fn settle<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    session_id: Uuid,
    now: i64,
    outbox: &mut Outbox,
    out: &mut Settled,
) -> Result<bool> {
    record_left(b, tx, &sql::expire_leases(session_id, now), outbox, out).await?;
    end_if_empty(b, tx, session_id, now, outbox, out).await
}

async fn end_if_empty<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    session_id: Uuid,
    now: i64,
    outbox: &mut Outbox,
    out: &mut Settled,
) -> Result<bool> {
    record_ended(b, tx, &sql::end_if_empty(session_id, now), outbox, out).await
}

/// Numbers `commands` and `revocations` after everything the account's feed holds (revocations first) and
/// stores them.
async fn publish<B: SqlBackend>(
    b: &B,
    tx: &mut B::Tx,
    account_id: Uuid,
    revocations: Vec<NewRevocation>,
    mut commands: Vec<CommandRecord>,
) -> Result<Vec<crate::RevocationRecord>> {
    let n = revocations.len() + commands.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let last = b.tx_all(tx, &sql::take_seqs(account_id, n)).await?;
    let last: i64 = last.first().ok_or(StoreError::NotFound)?.get_at(0)?;
    let mut seq = last - n as i64;
    let mut stored = Vec::with_capacity(revocations.len());
    for r in revocations {
        seq += 1;
        let changed = b.tx_execute(tx, &revoking::insert_revocation(&r, seq)).await?;
        crate::sql::found(changed)?;
        stored.push(crate::RevocationRecord { seq, revocation: r });
    }
    for c in &mut commands {
        seq += 1;
        c.seq = seq;
        b.tx_execute(tx, &sql::insert_command(c)).await?;
    }
    Ok(stored)
}

/// A command for a participant or a session.
#[allow(clippy::too_many_arguments)]
fn command_for(
    account_id: Uuid,
    room_id: Uuid,
    session_id: Uuid,
    participant_id: Option<Uuid>,
    kind: CommandKind,
    kinds: Vec<TrackKind>,
    reason: Option<&str>,
    (now, expires_at): (i64, i64),
) -> CommandRecord {
    CommandRecord {
        seq: 0,
        id: Uuid::new_v4(),
        account_id,
        room_id,
        session_id: Some(session_id),
        participant_id,
        kind,
        kinds,
        reason: reason.map(str::to_owned),
        created_at: now,
        expires_at,
    }
}

pub(crate) async fn admit<B: SqlBackend>(b: &B, a: &Admission) -> Result<Admitted> {
    let p = &a.participant;
    let now = p.joined_at;
    let mut tx = b.begin().await?;
    let Locked {
        max_participants: max,
        active_session: mut session,
        mut outbox,
    } = lock_room(b, &mut tx, p.account_id, p.room_id).await?;
    let mut settled = Settled::default();
    if let Some(s) = session {
        if settle(b, &mut tx, s, now, &mut outbox, &mut settled).await? {
            session = None;
        }
    }
    let mut replaced = Vec::new();
    if let (Some(s), Some(identity)) = (session, p.identity.as_deref()) {
        let replace = sql::replace_identity(s, identity, now);
        replaced = record_left(b, &mut tx, &replace, &mut outbox, &mut settled).await?;
    }
    let (session_id, session_started) = match session {
        Some(s) => {
            let live = b.tx_all(&mut tx, &sql::count_live(s)).await?;
            let live: i64 = live.first().map(|r| r.get_at(0)).transpose()?.unwrap_or(0);
            if live >= max {
                // Dropping the transaction rolls back the replacement and any expiry: nothing is recorded.
                return Err(StoreError::LimitReached("participants"));
            }
            (s, false)
        }
        None => {
            let insert = sql::insert_session(a.new_session_id, p.account_id, p.room_id, now);
            b.tx_execute(&mut tx, &insert).await?;
            outbox.session_started(a.new_session_id, now);
            (a.new_session_id, true)
        }
    };
    let participant = ParticipantRecord {
        session_id,
        left_at: None,
        ..p.clone()
    };
    b.tx_execute(&mut tx, &sql::insert_participant(&participant))
        .await?;
    outbox.joined(&participant);
    let kicks = replaced
        .iter()
        .map(|&old| {
            command_for(
                p.account_id,
                p.room_id,
                session_id,
                Some(old),
                CommandKind::Kick,
                Vec::new(),
                Some("replaced"),
                (now, a.command_expires_at),
            )
        })
        .collect();
    publish(b, &mut tx, p.account_id, Vec::new(), kicks).await?;
    let feed_of = (!replaced.is_empty()).then_some(p.account_id);
    commit(b, tx, outbox, feed_of, &mut settled).await?;
    Ok(Admitted {
        participant,
        session_started,
        replaced,
        webhooks: settled.webhooks,
    })
}

pub(crate) async fn leave<B: SqlBackend>(
    b: &B,
    account_id: Uuid,
    id: Uuid,
    now: i64,
) -> Result<(ParticipantRecord, Settled)> {
    let found = b.all(&sql::participant_of(account_id, id)).await?;
    let found = participant(found.first().ok_or(StoreError::NotFound)?)?;
    let mut settled = Settled::default();
    if found.left_at.is_some() {
        return Ok((found, settled));
    }
    let mut tx = b.begin().await?;
    let mut outbox = lock_room(b, &mut tx, account_id, found.room_id).await?.outbox;
    mark_left(b, &mut tx, &[id], now, &mut outbox, &mut settled).await?;
    end_if_empty(b, &mut tx, found.session_id, now, &mut outbox, &mut settled).await?;
    let after = b.tx_all(&mut tx, &sql::participant_of(account_id, id)).await?;
    let after = participant(after.first().ok_or(StoreError::NotFound)?)?;
    commit(b, tx, outbox, None, &mut settled).await?;
    Ok((after, settled))
}

pub(crate) async fn renew<B: SqlBackend>(
    b: &B,
    account_id: Uuid,
    participants: &[Uuid],
    now: i64,
    until: i64,
) -> Result<Vec<Uuid>> {
    let mut renewed = Vec::new();
    for chunk in participants.chunks(500) {
        renewed.extend(ids(&b.all(&sql::renew(account_id, chunk, now, until)).await?)?);
    }
    Ok(renewed)
}

pub(crate) async fn expire<B: SqlBackend>(b: &B, now: i64) -> Result<Settled> {
    let mut settled = Settled::default();
    for row in b.all(&sql::expired_sessions(now)).await? {
        let (session, room, account) = (row.id("session_id")?, row.id("room_id")?, row.id("account_id")?);
        let mut tx = b.begin().await?;
        let mut outbox = match lock_room(b, &mut tx, account, room).await {
            Ok(locked) => locked.outbox,
            // Deleted meanwhile: its participants went with it.
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        settle(b, &mut tx, session, now, &mut outbox, &mut settled).await?;
        commit(b, tx, outbox, None, &mut settled).await?;
    }
    Ok(settled)
}

pub(crate) async fn moderate<B: SqlBackend>(b: &B, req: &ModerationRequest) -> Result<Moderated> {
    let now = req.now;
    let found = b.all(&sql::session_of(req.account_id, req.session_id)).await?;
    let found = session(found.first().ok_or(StoreError::NotFound)?)?;
    let mut out = Moderated::default();
    if found.ended_at.is_some() {
        return Ok(out);
    }
    let mut tx = b.begin().await?;
    let mut outbox = lock_room(b, &mut tx, req.account_id, found.room_id).await?.outbox;
    if settle(b, &mut tx, found.id, now, &mut outbox, &mut out.settled).await? {
        commit(b, tx, outbox, None, &mut out.settled).await?;
        return Ok(out);
    }
    let live = b.tx_all(&mut tx, &sql::live_participants(found.id)).await?;
    let live: Vec<ParticipantRecord> = live.iter().map(participant).collect::<Result<_>>()?;
    let chosen: Vec<&ParticipantRecord> = match &req.action {
        Moderation::End => live.iter().collect(),
        Moderation::Kick(c) | Moderation::Mute(c, _) | Moderation::Unmute(c, _) => {
            live.iter().filter(|p| c.contains(p.id)).collect()
        }
    };
    out.participants = chosen.iter().map(|p| p.id).collect();
    let at = (now, req.command_expires_at);
    let cmd = |participant: Option<Uuid>, kind, kinds: Vec<TrackKind>, reason: Option<&str>| {
        command_for(
            req.account_id,
            found.room_id,
            found.id,
            participant,
            kind,
            kinds,
            reason,
            at,
        )
    };
    let revocation = |selector: RevocationSelector, reason: &str| NewRevocation {
        id: Uuid::new_v4(),
        account_id: req.account_id,
        room_id: found.room_id,
        expires_at: (req.revocation_expires_at)(&selector, now),
        selector,
        reason: Some(reason.to_owned()),
        created_at: now,
    };
    let (mut revocations, mut commands) = (Vec::new(), Vec::new());
    match &req.action {
        Moderation::End => {
            mark_left(b, &mut tx, &out.participants, now, &mut outbox, &mut out.settled).await?;
            let end = sql::end_session(found.id, now);
            record_ended(b, &mut tx, &end, &mut outbox, &mut out.settled).await?;
            revocations.push(revocation(RevocationSelector::IssuedBefore(now), "session ended"));
            commands.push(cmd(None, CommandKind::SessionEnd, Vec::new(), Some("ended")));
        }
        Moderation::Kick(_) => {
            mark_left(b, &mut tx, &out.participants, now, &mut outbox, &mut out.settled).await?;
            let mut identities: Vec<&str> = Vec::new();
            for p in &chosen {
                match p.identity.as_deref() {
                    Some(who) if !identities.contains(&who) => {
                        identities.push(who);
                        revocations.push(revocation(RevocationSelector::Identity(who.to_owned()), "kicked"));
                    }
                    Some(_) => {}
                    None => revocations.push(revocation(RevocationSelector::Jti(p.jti), "kicked")),
                }
                commands.push(cmd(Some(p.id), CommandKind::Kick, Vec::new(), Some("kicked")));
            }
            end_if_empty(b, &mut tx, found.id, now, &mut outbox, &mut out.settled).await?;
        }
        Moderation::Mute(_, kinds) | Moderation::Unmute(_, kinds) => {
            let kind = match &req.action {
                Moderation::Mute(..) => CommandKind::Mute,
                _ => CommandKind::Unmute,
            };
            for p in &chosen {
                commands.push(cmd(Some(p.id), kind, kinds.clone(), None));
            }
        }
    }
    let published = !revocations.is_empty() || !commands.is_empty();
    out.revocations = publish(b, &mut tx, req.account_id, revocations, commands).await?;
    commit(
        b,
        tx,
        outbox,
        published.then_some(req.account_id),
        &mut out.settled,
    )
    .await?;
    Ok(out)
}

/// Deletes the room, ending its session first (see [`crate::Store::delete_room`]).
pub(crate) async fn delete_room<B: SqlBackend>(
    b: &B,
    account_id: Uuid,
    room_id: Uuid,
    (now, command_expires_at): (i64, i64),
) -> Result<Settled> {
    let mut tx = b.begin().await?;
    let Locked {
        active_session,
        mut outbox,
        ..
    } = lock_room(b, &mut tx, account_id, room_id).await?;
    let mut settled = Settled::default();
    let mut feed_of = None;
    if let Some(session) = active_session {
        let live = ids(&b.tx_all(&mut tx, &sql::live_participants(session)).await?)?;
        mark_left(b, &mut tx, &live, now, &mut outbox, &mut settled).await?;
        record_ended(
            b,
            &mut tx,
            &sql::end_session(session, now),
            &mut outbox,
            &mut settled,
        )
        .await?;
        let end = command_for(
            account_id,
            room_id,
            session,
            None,
            CommandKind::SessionEnd,
            Vec::new(),
            Some("room deleted"),
            (now, command_expires_at),
        );
        publish(b, &mut tx, account_id, Vec::new(), vec![end]).await?;
        feed_of = Some(account_id);
    }
    crate::sql::found(
        b.tx_execute(&mut tx, &crate::sql::delete_room(account_id, room_id))
            .await?,
    )?;
    commit(b, tx, outbox, feed_of, &mut settled).await?;
    Ok(settled)
}

pub(crate) async fn feed<B: SqlBackend>(
    b: &B,
    account_id: Uuid,
    after: i64,
    now: i64,
    limit: u32,
) -> Result<(Vec<FeedEntry>, i64)> {
    // As the revocation feed: the head first, then only entries up to it.
    let head = b.all(&revoking::feed_head(account_id)).await?;
    let head: i64 = head.first().map(|r| r.get_at(0)).transpose()?.unwrap_or(0);
    let commands = b
        .all(&sql::command_feed(account_id, after, head, now, limit))
        .await?;
    let revocations = b
        .all(&revoking::feed(account_id, after, head, now, limit))
        .await?;
    let mut entries: Vec<FeedEntry> = commands
        .iter()
        .map(|r| command(r).map(FeedEntry::Command))
        .chain(
            revocations
                .iter()
                .map(|r| rows::revocation(r).map(FeedEntry::Revocation)),
        )
        .collect::<Result<_>>()?;
    entries.sort_by_key(FeedEntry::seq);
    // Each read holds the first `limit` of its kind, so the first `limit` of both are exactly the feed's first
    // `limit` after the cursor.
    entries.truncate(limit as usize);
    let next = match entries.last() {
        Some(last) if entries.len() >= limit as usize => last.seq(),
        _ => head,
    };
    Ok((entries, next))
}
