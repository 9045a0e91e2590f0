//! Room participants: listing and viewing them, and the link's admission, leave and lease renewal.
use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    Json,
};
use roomgate_store::StoreError;
use roomgate_types::{Data, Page, RenewedLeases, RoomParticipant};
use serde_json::Value;
use uuid::Uuid;

use crate::routes::revocations::params;
use crate::{
    domain::live::{self, Listing},
    error::{ApiError, InvalidCode},
    extract::{Account, JsonBody},
    timefmt, AppState,
};

use super::{not_found, page_meta, participant_wire, path_id};

pub(super) const PARTICIPANT_PARAMS: [&str; 13] = [
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

pub(super) async fn participant_page(
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

#[utoipa::path(get, path = "/v2/room_participants", tag = "Room Participants", operation_id = "ListRoomParticipants",
    summary = "View a list of room participants",
    params(crate::routes::openapi::ParticipantListParams),
    responses((status = 200, description = "One page of participants, newest first.", body = Page<RoomParticipant>),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_participants`.
pub(in crate::routes) async fn list_participants(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RoomParticipant>>, ApiError> {
    let q = live::participant_listing(params(raw.as_deref(), &PARTICIPANT_PARAMS))?;
    participant_page(&app, auth.account_id, q).await
}

#[utoipa::path(get, path = "/v2/room_participants/{room_participant_id}", tag = "Room Participants",
    operation_id = "ViewRoomParticipant", summary = "View a room participant",
    params(crate::routes::openapi::ParticipantIdParam),
    responses((status = 200, description = "The participant.", body = Data<RoomParticipant>),
        (status = 404, description = "No such participant in the key's account (10005).", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_participants/{id}`.
pub(in crate::routes) async fn view_participant(
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
        crate::routes::openapi::BodyErrors, crate::routes::openapi::KeyErrors))]
/// `POST /v2/room_participants`.
pub(in crate::routes) async fn admit(
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
    app.webhook_wake().queued(&admitted.webhooks);
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
    params(crate::routes::openapi::ParticipantIdParam),
    responses((status = 200, description = "The participant.", body = Data<RoomParticipant>),
        (status = 404, description = "No such participant in the key's account (10005).", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `POST /v2/room_participants/{id}/actions/leave`.
pub(in crate::routes) async fn leave(
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
    app.webhook_wake().queued(&settled.webhooks);
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
        crate::routes::openapi::BodyErrors, crate::routes::openapi::KeyErrors))]
/// `POST /v2/room_participants/actions/renew`.
pub(in crate::routes) async fn renew(
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
