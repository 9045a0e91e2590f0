//! Room sessions: listing and viewing them, their participants, and moderation (end, kick, mute, unmute).
use axum::{
    extract::{Path, RawQuery, State},
    Json,
};
use roomgate_store::{ModerationRequest, SessionRecord};
use roomgate_types::{ActionResult, Data, Page, RoomParticipant, RoomSession};
use uuid::Uuid;

use crate::routes::revocations::params;
use crate::{
    domain::{
        live::{self, Listing},
        revocation::{self},
    },
    error::ApiError,
    extract::{Account, JsonBody, RoomIdPath},
    timefmt, AppState,
};

use super::{
    not_found, page_meta, participant_wire,
    participants::{participant_page, PARTICIPANT_PARAMS},
    path_id,
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
    params(crate::routes::openapi::SessionListParams),
    responses((status = 200, description = "One page of sessions.", body = Page<RoomSession>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_sessions`.
pub(in crate::routes) async fn list_sessions(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomSession>>, ApiError> {
    let q = live::session_listing(params(raw.as_deref(), &SESSION_PARAMS))?;
    session_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/rooms/{room_id}/sessions", tag = "Room Sessions", operation_id = "ListRoomSessionsOfRoom",
    summary = "View a room's sessions",
    params(crate::routes::openapi::RoomIdParam, crate::routes::openapi::SessionListParams),
    responses((status = 200, description = "One page of the room's sessions.", body = Page<RoomSession>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        crate::routes::openapi::RoomNotFound, crate::routes::openapi::KeyErrors))]
/// `GET /v2/rooms/{room_id}/sessions`.
pub(in crate::routes) async fn room_sessions(
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
    params(crate::routes::openapi::SessionIdParam, crate::routes::openapi::IncludeParticipantsParam),
    responses((status = 200, description = "The session.", body = Data<RoomSession>),
        (status = 422, description = "`include_participants` is not true or false (10026).", body = roomgate_types::ErrorBody),
        (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_sessions/{id}`.
pub(in crate::routes) async fn view_session(
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

#[utoipa::path(get, path = "/v2/room_sessions/{room_session_id}/participants", tag = "Room Sessions",
    operation_id = "ListRoomSessionParticipants", summary = "View a session's participants",
    params(crate::routes::openapi::SessionIdParam, crate::routes::openapi::ParticipantListParams),
    responses((status = 200, description = "One page of the session's participants.", body = Page<RoomParticipant>),
        (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_sessions/{id}/participants`.
pub(in crate::routes) async fn session_participants(
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

/// A session action by name.
async fn act(
    app: AppState,
    account_id: Uuid,
    raw_id: &str,
    action: &'static str,
    body: Option<JsonBody>,
) -> Result<Json<Data<ActionResult>>, ApiError> {
    let id = path_id(raw_id, "Room session")?;
    let parsed = match body {
        Some(body) => live::moderation(action, &body.object()?)?,
        None => live::moderation(action, &serde_json::Map::new())?,
    };
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
    app.webhook_wake().queued(&moderated.settled.webhooks);
    tracing::info!(session = %id, action, participants = moderated.participants.len(),
        revocations = moderated.revocations.len(), "room session moderated");
    Ok(Json(Data::new(ActionResult { result: "ok".into() })))
}

macro_rules! session_action {
    ($name:ident, $action:literal, $body:ty, $op:literal, $summary:literal, $description:literal) => {
        #[utoipa::path(post, path = concat!("/v2/room_sessions/{room_session_id}/actions/", $action), tag = "Room Sessions",
            operation_id = $op, summary = $summary, description = $description,
            params(crate::routes::openapi::SessionIdParam),
            request_body(content = $body),
            responses((status = 200, description = "Done (also when nothing was left to act on).", body = Data<ActionResult>),
                (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
                crate::routes::openapi::BodyErrors, crate::routes::openapi::KeyErrors))]
        #[doc = concat!("`POST /v2/room_sessions/{id}/actions/", $action, "`.")]
        pub(in crate::routes) async fn $name(
            State(app): State<AppState>,
            Account(auth): Account,
            Path(raw_id): Path<String>,
            body: JsonBody,
        ) -> Result<Json<Data<ActionResult>>, ApiError> {
            act(app, auth.account_id, &raw_id, $action, Some(body)).await
        }
    };
}

#[utoipa::path(post, path = "/v2/room_sessions/{room_session_id}/actions/end", tag = "Room Sessions",
    operation_id = "EndSession", summary = "End a room session",
    description = "Every participant is disconnected through the control feed (`session_end`) and marked left, and \
        the room's tokens issued until now are revoked. Takes no body (one sent is ignored, as Telnyx does).",
    params(crate::routes::openapi::SessionIdParam),
    responses((status = 200, description = "Done (also when the session had already ended).", body = Data<ActionResult>),
        (status = 404, description = "No such session in the key's account (10005).", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `POST /v2/room_sessions/{id}/actions/end`.
pub(in crate::routes) async fn end(
    State(app): State<AppState>,
    Account(auth): Account,
    Path(raw_id): Path<String>,
) -> Result<Json<Data<ActionResult>>, ApiError> {
    act(app, auth.account_id, &raw_id, "end", None).await
}

session_action!(kick, "kick", roomgate_types::SessionActionRequest, "KickParticipantInSession", "Kick participants from a room session",
    "The chosen live participants are disconnected (`kick` in the control feed), marked left, and their identity \
     (or, without one, their token) revoked in the room.");
session_action!(
    mute,
    "mute",
    roomgate_types::MuteRequest,
    "MuteParticipantInSession",
    "Mute participants in a room session",
    "Media servers stop forwarding the chosen participants' tracks of `kinds` (default audio and video)."
);
session_action!(
    unmute,
    "unmute",
    roomgate_types::MuteRequest,
    "UnmuteParticipantInSession",
    "Unmute participants in a room session",
    "Media servers forward the chosen participants' tracks of `kinds` again (default audio and video)."
);
