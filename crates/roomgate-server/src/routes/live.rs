//! The live room: room sessions and participants (Telnyx's API), and the media server's link: admission,
//! leaving, lease renewal and the control feed (roomgate's extensions).
use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    Json,
};
use roomgate_store::{
    CommandRecord, FeedEntry, ModerationRequest, ParticipantRecord, SessionRecord, StoreError, TrackKind,
};
use roomgate_types::{
    ActionResult, CommandFeed, Data, FeedMeta, Page, PageMeta, RenewedLeases, RoomCommand, RoomParticipant,
    RoomSession,
};
use serde_json::Value;
use uuid::Uuid;

use super::revocations::{feed_params, long_poll, params, to_wire as revocation_to_wire};
use crate::{
    domain::{
        live::{self, Listing},
        revocation::{self, encode_cursor},
    },
    error::{ApiError, InvalidCode},
    extract::{Account, JsonBody, RoomIdPath},
    timefmt, AppState,
};

/// Most participants shown inside a session.
const SESSION_PARTICIPANTS_SHOWN: u32 = 1000;

fn session_wire(s: SessionRecord, participants: Option<Vec<RoomParticipant>>) -> RoomSession {
    RoomSession {
        id: s.id.to_string(),
        room_id: s.room_id.to_string(),
        active: s.ended_at.is_none(),
        created_at: timefmt::micros_rfc3339(s.created_at),
        updated_at: timefmt::micros_rfc3339(s.updated_at),
        ended_at: s.ended_at.map(timefmt::micros_rfc3339),
        participants,
        record_type: "room_session".into(),
    }
}

pub(crate) fn participant_wire(p: ParticipantRecord) -> RoomParticipant {
    RoomParticipant {
        id: p.id.to_string(),
        session_id: p.session_id.to_string(),
        room_id: p.room_id.to_string(),
        context: p.context,
        joined_at: timefmt::micros_rfc3339(p.joined_at),
        left_at: p.left_at.map(timefmt::micros_rfc3339),
        updated_at: timefmt::micros_rfc3339(p.updated_at),
        record_type: "room_participant".into(),
        identity: p.identity,
        name: p.name,
        permissions: serde_json::from_str(&p.permissions).unwrap_or_default(),
        lease_expires_at: p
            .left_at
            .is_none()
            .then(|| timefmt::micros_rfc3339(p.lease_expires_at)),
    }
}

fn track_wire(kind: TrackKind) -> roomgate_types::TrackKind {
    match kind {
        TrackKind::Audio => roomgate_types::TrackKind::Audio,
        TrackKind::Video => roomgate_types::TrackKind::Video,
    }
}

fn command_wire(entry: FeedEntry) -> RoomCommand {
    match entry {
        FeedEntry::Command(c) => {
            let CommandRecord {
                id,
                room_id,
                session_id,
                participant_id,
                kind,
                kinds,
                reason,
                created_at,
                ..
            } = c;
            RoomCommand {
                record_type: "room_command".into(),
                id: id.to_string(),
                kind: kind.as_str().into(),
                room_id: room_id.to_string(),
                session_id: session_id.map(|s| s.to_string()),
                participant_id: participant_id.map(|p| p.to_string()),
                kinds: (!kinds.is_empty()).then(|| kinds.into_iter().map(track_wire).collect()),
                reason,
                revocation: None,
                created_at: timefmt::micros_rfc3339(created_at),
            }
        }
        FeedEntry::Revocation(r) => {
            let wire = revocation_to_wire(r);
            RoomCommand {
                record_type: "room_command".into(),
                id: wire.id.clone(),
                kind: "revocation".into(),
                room_id: wire.room_id.clone(),
                session_id: None,
                participant_id: None,
                kinds: None,
                reason: wire.reason.clone(),
                created_at: wire.created_at.clone(),
                revocation: Some(wire),
            }
        }
    }
}

fn page_meta(number: u64, size: u32, total: u64) -> PageMeta {
    let size = u64::from(size);
    PageMeta {
        page_number: number,
        page_size: size,
        total_pages: total.div_ceil(size).max(1),
        total_results: total,
    }
}

/// A UUID path segment; anything else names nothing (`what` not found).
fn path_id(raw: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| ApiError::NotFound(what))
}

fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(what),
        other => other.into(),
    }
}

const SESSION_PARAMS: [&str; 14] = [
    "page[number]",
    "page[size]",
    "filter[room_id]",
    "filter[active]",
    "include_participants",
    "filter[date_created_at][eq]",
    "filter[date_created_at][gte]",
    "filter[date_created_at][lte]",
    "filter[date_updated_at][eq]",
    "filter[date_updated_at][gte]",
    "filter[date_updated_at][lte]",
    "filter[date_ended_at][eq]",
    "filter[date_ended_at][gte]",
    "filter[date_ended_at][lte]",
];

const PARTICIPANT_PARAMS: [&str; 13] = [
    "page[number]",
    "page[size]",
    "filter[session_id]",
    "filter[context]",
    "filter[date_joined_at][eq]",
    "filter[date_joined_at][gte]",
    "filter[date_joined_at][lte]",
    "filter[date_updated_at][eq]",
    "filter[date_updated_at][gte]",
    "filter[date_updated_at][lte]",
    "filter[date_left_at][eq]",
    "filter[date_left_at][gte]",
    "filter[date_left_at][lte]",
];

async fn participants_of(
    app: &AppState,
    account_id: Uuid,
    session: Uuid,
) -> Result<Vec<RoomParticipant>, ApiError> {
    let filter = roomgate_store::ParticipantFilter {
        session_id: Some(session),
        ..Default::default()
    };
    let (mut rows, _) = app
        .store()
        .list_participants(account_id, &filter, SESSION_PARTICIPANTS_SHOWN, 0)
        .await?;
    rows.reverse();
    Ok(rows.into_iter().map(participant_wire).collect())
}

async fn session_page(
    app: &AppState,
    account_id: Uuid,
    q: Listing<roomgate_store::SessionFilter>,
) -> Result<Json<Page<RoomSession>>, ApiError> {
    let (rows, total) = app
        .store()
        .list_sessions(account_id, &q.filter, q.page_size, q.offset())
        .await?;
    let mut data = Vec::with_capacity(rows.len());
    for s in rows {
        let participants = match q.include_participants {
            true => Some(participants_of(app, account_id, s.id).await?),
            false => None,
        };
        data.push(session_wire(s, participants));
    }
    Ok(Json(Page {
        data,
        meta: page_meta(q.page_number, q.page_size, total),
    }))
}

#[utoipa::path(get, path = "/v2/room_sessions", tag = "Room Sessions", operation_id = "ListRoomSessions",
    summary = "View a list of room sessions",
    description = "The account's sessions, newest first. Filters given together all apply; unknown parameters are ignored.",
    params(super::openapi::SessionListParams),
    responses((status = 200, description = "One page of sessions.", body = Page<RoomSession>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_sessions`.
pub(super) async fn list_sessions(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomSession>>, ApiError> {
    let q = live::session_listing(params(raw.as_deref(), &SESSION_PARAMS))?;
    session_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/rooms/{room_id}/sessions", tag = "Room Sessions", operation_id = "ListRoomSessionsOfRoom",
    summary = "View a room's sessions",
    params(super::openapi::RoomIdParam, super::openapi::SessionListParams),
    responses((status = 200, description = "One page of the room's sessions.", body = Page<RoomSession>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        super::openapi::RoomNotFound, super::openapi::KeyErrors))]
/// `GET /v2/rooms/{room_id}/sessions`.
pub(super) async fn room_sessions(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(room_id): RoomIdPath,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomSession>>, ApiError> {
    let mut q = live::session_listing(params(raw.as_deref(), &SESSION_PARAMS))?;
    app.store().get_room(auth.account_id, room_id).await?;
    q.filter.room_id = Some(room_id);
    session_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/room_sessions/{room_session_id}", tag = "Room Sessions", operation_id = "ViewRoomSession",
    summary = "View a room session",
    params(super::openapi::SessionIdParam, super::openapi::IncludeParticipantsParam),
    responses((status = 200, description = "The session.", body = Data<RoomSession>),
        (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_sessions/{id}`.
pub(super) async fn view_session(
    State(app): State<AppState>,
    Account(auth): Account,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Data<RoomSession>>, ApiError> {
    let q = live::session_listing(params(raw.as_deref(), &["include_participants"]))?;
    let id = path_id(&raw_id, "Room session")?;
    let session = app
        .store()
        .get_session(auth.account_id, id)
        .await
        .map_err(not_found("Room session"))?;
    let participants = match q.include_participants {
        true => Some(participants_of(&app, auth.account_id, id).await?),
        false => None,
    };
    Ok(Json(Data::new(session_wire(session, participants))))
}

async fn participant_page(
    app: &AppState,
    account_id: Uuid,
    q: Listing<roomgate_store::ParticipantFilter>,
) -> Result<Json<Page<RoomParticipant>>, ApiError> {
    let (rows, total) = app
        .store()
        .list_participants(account_id, &q.filter, q.page_size, q.offset())
        .await?;
    Ok(Json(Page {
        data: rows.into_iter().map(participant_wire).collect(),
        meta: page_meta(q.page_number, q.page_size, total),
    }))
}

#[utoipa::path(get, path = "/v2/room_sessions/{room_session_id}/participants", tag = "Room Sessions",
    operation_id = "ListRoomSessionParticipants", summary = "View a session's participants",
    params(super::openapi::SessionIdParam, super::openapi::ParticipantListParams),
    responses((status = 200, description = "One page of the session's participants.", body = Page<RoomParticipant>),
        (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_sessions/{id}/participants`.
pub(super) async fn session_participants(
    State(app): State<AppState>,
    Account(auth): Account,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomParticipant>>, ApiError> {
    let mut q = live::participant_listing(params(raw.as_deref(), &PARTICIPANT_PARAMS))?;
    let id = path_id(&raw_id, "Room session")?;
    app.store()
        .get_session(auth.account_id, id)
        .await
        .map_err(not_found("Room session"))?;
    q.filter.session_id = Some(id);
    participant_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/room_participants", tag = "Room Participants", operation_id = "ListRoomParticipants",
    summary = "View a list of room participants",
    params(super::openapi::ParticipantListParams),
    responses((status = 200, description = "One page of participants, newest first.", body = Page<RoomParticipant>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_participants`.
pub(super) async fn list_participants(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomParticipant>>, ApiError> {
    let q = live::participant_listing(params(raw.as_deref(), &PARTICIPANT_PARAMS))?;
    participant_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/room_participants/{room_participant_id}", tag = "Room Participants",
    operation_id = "ViewRoomParticipant", summary = "View a room participant",
    params(super::openapi::ParticipantIdParam),
    responses((status = 200, description = "The participant.", body = Data<RoomParticipant>),
        (status = 404, description = "No such participant in the key's account (10005).", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_participants/{id}`.
pub(super) async fn view_participant(
    State(app): State<AppState>,
    Account(auth): Account,
    Path(raw_id): Path<String>,
) -> Result<Json<Data<RoomParticipant>>, ApiError> {
    let id = path_id(&raw_id, "Room participant")?;
    let p = app
        .store()
        .get_participant(auth.account_id, id)
        .await
        .map_err(not_found("Room participant"))?;
    Ok(Json(Data::new(participant_wire(p))))
}

#[utoipa::path(post, path = "/v2/room_participants", tag = "Media server link", operation_id = "AdmitRoomParticipant",
    summary = "Admit a participant (roomgate extension)",
    description = "A media server presents a joining participant's access token. roomgate verifies it (signature, \
        expiry, room, revocations), opens a session if the room has none, and admits the participant within the \
        room's `max_participants` (atomically, on every replica). A live participant of the same identity is \
        replaced (left, with a `kick` in the control feed). The participant holds a lease the link renews.",
    request_body(content = roomgate_types::AdmitParticipantRequest),
    responses((status = 201, description = "Admitted.", body = Data<RoomParticipant>),
        (status = 403, description = "Room full (10010, `meta.max_participants`), or the token cannot be admitted \
            (10010, `meta.reason`). Not worth retrying.", body = roomgate_types::ErrorBody),
        super::openapi::BodyErrors, super::openapi::KeyErrors))]
/// `POST /v2/room_participants`.
pub(super) async fn admit(
    State(app): State<AppState>,
    Account(auth): Account,
    body: JsonBody,
) -> Result<(StatusCode, Json<Data<RoomParticipant>>), ApiError> {
    let body = body.object()?;
    let token = crate::domain::required_string(&body, "access_token")?;
    let context = live::context(&body)?;
    let admission = live::admission(&app, auth.account_id, token, context).await?;
    let room_id = admission.participant.room_id;
    let admitted = match app.store().admit_participant(&admission).await {
        Ok(admitted) => admitted,
        Err(StoreError::LimitReached(_)) => {
            let room = app.store().get_room(auth.account_id, room_id).await?;
            return Err(ApiError::RoomFull {
                max_participants: i64::from(room.max_participants),
            });
        }
        // The room was deleted since the token was checked.
        Err(StoreError::NotFound) => return Err(ApiError::NotAdmitted { reason: "invalid" }),
        Err(e) => return Err(e.into()),
    };
    let p = &admitted.participant;
    // Never the identity, name or context at info level: they may be personal data.
    tracing::info!(%room_id, participant = %p.id, session = %p.session_id, started = admitted.session_started,
        replaced = admitted.replaced.len(), "participant admitted");
    Ok((
        StatusCode::CREATED,
        Json(Data::new(participant_wire(admitted.participant))),
    ))
}

#[utoipa::path(post, path = "/v2/room_participants/{room_participant_id}/actions/leave", tag = "Media server link",
    operation_id = "LeaveRoomParticipant", summary = "A participant left (roomgate extension)",
    description = "Sets `left_at` (idempotent); the last participant to leave ends the session.",
    params(super::openapi::ParticipantIdParam),
    responses((status = 200, description = "The participant.", body = Data<RoomParticipant>),
        (status = 404, description = "No such participant in the key's account (10005).", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `POST /v2/room_participants/{id}/actions/leave`.
pub(super) async fn leave(
    State(app): State<AppState>,
    Account(auth): Account,
    Path(raw_id): Path<String>,
) -> Result<Json<Data<RoomParticipant>>, ApiError> {
    let id = path_id(&raw_id, "Room participant")?;
    let now = timefmt::unix_micros(app.now());
    let (p, settled) = app
        .store()
        .leave_participant(auth.account_id, id, now)
        .await
        .map_err(not_found("Room participant"))?;
    if !settled.left.is_empty() {
        tracing::info!(room_id = %p.room_id, participant = %p.id, session_ended = !settled.ended_sessions.is_empty(),
            "participant left");
    }
    Ok(Json(Data::new(participant_wire(p))))
}

#[utoipa::path(post, path = "/v2/room_participants/actions/renew", tag = "Media server link",
    operation_id = "RenewRoomParticipantLeases", summary = "Renew participants' leases (roomgate extension)",
    description = "The media server's heartbeat: extends the leases of the participants it still holds. Those \
        answered as `gone` have left (kicked, replaced, lease run out) and should be disconnected.",
    request_body(content = roomgate_types::RenewLeasesRequest),
    responses((status = 200, description = "Which were renewed, which are gone.", body = Data<RenewedLeases>),
        super::openapi::BodyErrors, super::openapi::KeyErrors))]
/// `POST /v2/room_participants/actions/renew`.
pub(super) async fn renew(
    State(app): State<AppState>,
    Account(auth): Account,
    body: JsonBody,
) -> Result<Json<Data<RenewedLeases>>, ApiError> {
    let body = body.object()?;
    let ids = match body.get("participant_ids") {
        None | Some(Value::Null) => {
            return Err(ApiError::field(
                InvalidCode::Missing,
                "participant_ids",
                "participant_ids is required.",
            ))
        }
        Some(v) => live::id_list(v, "participant_ids")?,
    };
    if ids.is_empty() {
        return Err(ApiError::field(
            InvalidCode::OutOfRange,
            "participant_ids",
            "participant_ids must name at least one participant.",
        ));
    }
    let now = timefmt::unix_micros(app.now());
    let lease = i64::try_from(app.config().participant_lease.as_micros()).unwrap_or(i64::MAX);
    let until = now.saturating_add(lease);
    let renewed = app
        .store()
        .renew_participants(auth.account_id, &ids, now, until)
        .await?;
    let gone = ids
        .iter()
        .filter(|id| !renewed.contains(id))
        .map(Uuid::to_string)
        .collect();
    Ok(Json(Data::new(RenewedLeases {
        renewed: renewed.iter().map(Uuid::to_string).collect(),
        gone,
        lease_expires_at: timefmt::micros_rfc3339(until),
    })))
}

/// A session action by name.
async fn act(
    app: AppState,
    account_id: Uuid,
    raw_id: &str,
    action: &'static str,
    body: JsonBody,
) -> Result<Json<Data<ActionResult>>, ApiError> {
    let id = path_id(raw_id, "Room session")?;
    let parsed = live::moderation(action, &body.object()?)?;
    let now = timefmt::unix_micros(app.now());
    let moderated = app
        .store()
        .moderate(&ModerationRequest {
            account_id,
            session_id: id,
            action: parsed,
            now,
            command_expires_at: now.saturating_add(live::COMMAND_RETENTION_MICROS),
            revocation_expires_at: revocation::expires_at,
        })
        .await
        .map_err(not_found("Room session"))?;
    tracing::info!(session = %id, action, participants = moderated.participants.len(),
        revocations = moderated.revocations.len(), "room session moderated");
    Ok(Json(Data::new(ActionResult { result: "ok".into() })))
}

macro_rules! session_action {
    ($name:ident, $action:literal, $op:literal, $summary:literal, $description:literal) => {
        #[utoipa::path(post, path = concat!("/v2/room_sessions/{room_session_id}/actions/", $action), tag = "Room Sessions",
            operation_id = $op, summary = $summary, description = $description,
            params(super::openapi::SessionIdParam),
            request_body(content = Option<roomgate_types::SessionActionRequest>),
            responses((status = 200, description = "Done (also when nothing was left to act on).", body = Data<ActionResult>),
                (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
                super::openapi::BodyErrors, super::openapi::KeyErrors))]
        #[doc = concat!("`POST /v2/room_sessions/{id}/actions/", $action, "`.")]
        pub(super) async fn $name(
            State(app): State<AppState>,
            Account(auth): Account,
            Path(raw_id): Path<String>,
            body: JsonBody,
        ) -> Result<Json<Data<ActionResult>>, ApiError> {
            act(app, auth.account_id, &raw_id, $action, body).await
        }
    };
}

session_action!(end, "end", "EndSession", "End a room session",
    "Every participant is disconnected through the control feed (`session_end`) and marked left, and the room's \
     tokens issued until now are revoked.");
session_action!(kick, "kick", "KickParticipantInSession", "Kick participants from a room session",
    "The chosen live participants are disconnected (`kick` in the control feed), marked left, and their identity \
     (or, without one, their token) revoked in the room.");
session_action!(
    mute,
    "mute",
    "MuteParticipantInSession",
    "Mute participants in a room session",
    "Media servers stop forwarding the chosen participants' tracks of `kinds` (default audio and video)."
);
session_action!(
    unmute,
    "unmute",
    "UnmuteParticipantInSession",
    "Unmute participants in a room session",
    "Media servers forward the chosen participants' tracks of `kinds` again (default audio and video)."
);

#[utoipa::path(get, path = "/v2/room_commands", tag = "Media server link", operation_id = "RoomCommandFeed",
    summary = "Follow the account's control feed (roomgate extension)",
    description = "What media servers must carry out, in one total order: `kick`, `mute`, `unmute`, `session_end`, \
        and every `revocation` (as `GET /v2/revocations` publishes it). Long poll as that feed: pass \
        `meta.next_cursor` as `after` next time; commands are kept 24 hours. Skip unknown `type`s.",
    params(super::openapi::FeedParams),
    responses((status = 200, description = "Commands after the cursor, and the cursor to continue from.", body = CommandFeed),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors))]
/// `GET /v2/room_commands`: a long poll.
pub(super) async fn commands(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<CommandFeed>, ApiError> {
    let (after, wait, limit) = feed_params(raw.as_deref())?;
    let (wait, limit) = (wait.get() as u64, limit.get() as u32);
    let account = auth.account_id;
    let (page, next) = long_poll(&app, wait, || async {
        let now = timefmt::unix_micros(app.now());
        let (page, next) = app.store().control_feed(account, after, now, limit).await?;
        let found = !page.is_empty();
        Ok(((page, next), found))
    })
    .await?;
    Ok(Json(CommandFeed {
        data: page.into_iter().map(command_wire).collect(),
        meta: FeedMeta {
            next_cursor: encode_cursor(next),
        },
    }))
}
