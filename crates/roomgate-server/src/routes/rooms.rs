//! `/v2/rooms`: create, list, view, update, delete.
use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    Json,
};
use roomgate_store::{RoomFilter, RoomPatch, RoomRecord, StoreError};
use roomgate_types::{Data, Page, PageMeta, Room};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    domain::{
        bool_field, date_filter, nullable_string, MaxParticipants, PageNumber, PageSize, UniqueName,
        WebhookTimeout, WebhookUrl,
    },
    error::{ApiError, InvalidCode},
    extract::{Account, JsonBody, RoomIdPath},
    timefmt, AppState,
};

/// The wire form of a stored room.
pub(crate) fn to_wire(r: RoomRecord) -> Room {
    Room {
        id: r.id.to_string(),
        unique_name: r.unique_name,
        max_participants: u32::try_from(r.max_participants).unwrap_or_default(),
        enable_recording: r.enable_recording,
        webhook_event_url: r.webhook_event_url,
        webhook_event_failover_url: r.webhook_event_failover_url,
        webhook_timeout_secs: r.webhook_timeout_secs.and_then(|t| u32::try_from(t).ok()),
        active_session_id: r.active_session_id.map(|id| id.to_string()),
        created_at: timefmt::micros_rfc3339(r.created_at),
        updated_at: timefmt::micros_rfc3339(r.updated_at),
        record_type: "room".into(),
    }
}

fn duplicate_name() -> ApiError {
    ApiError::field(
        InvalidCode::Duplicate,
        "unique_name",
        "A room with this unique_name already exists.",
    )
}

fn map_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => duplicate_name(),
        other => other.into(),
    }
}

/// Every settable field, parsed; `None` = absent, `Some(None)` = explicitly cleared.
fn parse_patch(body: &Map<String, Value>) -> Result<RoomPatch, ApiError> {
    let url = |name: &str| -> Result<Option<Option<String>>, ApiError> {
        Ok(match nullable_string(body, name)? {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) => Some(Some(WebhookUrl::parse(s, name)?.into_inner())),
        })
    };
    let unique_name = match nullable_string(body, "unique_name")? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(Some(UniqueName::parse(s)?.into_inner())),
    };
    let timeout = match body.get("webhook_timeout_secs") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => WebhookTimeout::parse(body, "webhook_timeout_secs")?.map(|t| Some(t.get() as i32)),
    };
    Ok(RoomPatch {
        unique_name,
        max_participants: MaxParticipants::parse_given(body, "max_participants")?.map(|v| v.get() as i32),
        enable_recording: bool_field(body, "enable_recording")?,
        webhook_event_url: url("webhook_event_url")?,
        webhook_event_failover_url: url("webhook_event_failover_url")?,
        webhook_timeout_secs: timeout,
    })
}

#[utoipa::path(
    post,
    path = "/v2/rooms",
    tag = "Rooms",
    operation_id = "CreateRoom",
    summary = "Create a room",
    description = "Synchronously create a room, owned by the API key's account. Every field is optional.",
    request_body(content = Option<roomgate_types::CreateRoomRequest>, description = "Parameters of the new room."),
    responses(
        (status = 201, description = "The new room.", body = Data<Room>),
        super::openapi::RoomLimit,
        super::openapi::BodyErrors,
        super::openapi::KeyErrors,
    ),
)]
/// `POST /v2/rooms`.
pub(super) async fn create(
    State(app): State<AppState>,
    Account(auth): Account,
    body: JsonBody,
) -> Result<(StatusCode, Json<Data<Room>>), ApiError> {
    let patch = parse_patch(&body.object()?)?;
    let now = timefmt::unix_micros(app.now());
    let room = RoomRecord {
        id: Uuid::new_v4(),
        account_id: auth.account_id,
        unique_name: patch.unique_name.flatten(),
        max_participants: patch.max_participants.unwrap_or(MaxParticipants::DEFAULT as i32),
        enable_recording: patch.enable_recording.unwrap_or(false),
        webhook_event_url: patch.webhook_event_url.flatten(),
        webhook_event_failover_url: patch.webhook_event_failover_url.flatten(),
        webhook_timeout_secs: patch.webhook_timeout_secs.flatten(),
        created_at: now,
        updated_at: now,
        active_session_id: None,
    };
    let limit = app.config().max_rooms_per_account;
    app.store()
        .insert_room_within(&room, limit)
        .await
        .map_err(|e| match e {
            StoreError::LimitReached(_) => ApiError::RoomLimit {
                limit: limit.unwrap_or_default(),
            },
            other => map_conflict(other),
        })?;
    Ok((StatusCode::CREATED, Json(Data::new(to_wire(room)))))
}

#[utoipa::path(
    get,
    path = "/v2/rooms/{room_id}",
    tag = "Rooms",
    operation_id = "ViewRoom",
    summary = "View a room",
    params(super::openapi::RoomIdParam),
    responses(
        (status = 200, description = "The room.", body = Data<Room>),
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
/// `GET /v2/rooms/{room_id}`.
pub(super) async fn view(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(id): RoomIdPath,
) -> Result<Json<Data<Room>>, ApiError> {
    let room = app.store().get_room(auth.account_id, id).await?;
    Ok(Json(Data::new(to_wire(room))))
}

#[utoipa::path(
    patch,
    path = "/v2/rooms/{room_id}",
    tag = "Rooms",
    operation_id = "UpdateRoom",
    summary = "Update a room",
    description = "Synchronously update a room: only the fields present change; null clears a field.",
    params(super::openapi::RoomIdParam),
    request_body(content = Option<roomgate_types::UpdateRoomRequest>, description = "The fields to change."),
    responses(
        (status = 200, description = "The updated room.", body = Data<Room>),
        super::openapi::BodyErrors,
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
/// `PATCH /v2/rooms/{room_id}`.
pub(super) async fn update(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(id): RoomIdPath,
    body: JsonBody,
) -> Result<Json<Data<Room>>, ApiError> {
    let patch = parse_patch(&body.object()?)?;
    let now = timefmt::unix_micros(app.now());
    let room = app
        .store()
        .update_room(auth.account_id, id, &patch, now)
        .await
        .map_err(map_conflict)?;
    Ok(Json(Data::new(to_wire(room))))
}

#[utoipa::path(
    delete,
    path = "/v2/rooms/{room_id}",
    tag = "Rooms",
    operation_id = "DeleteRoom",
    summary = "Delete a room",
    description = "Synchronously delete a room; its refresh tokens stop working.",
    params(super::openapi::RoomIdParam),
    responses(
        (status = 204, description = "The room was deleted."),
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
/// `DELETE /v2/rooms/{room_id}`.
pub(super) async fn delete(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(id): RoomIdPath,
) -> Result<StatusCode, ApiError> {
    let now = crate::timefmt::unix_micros(app.now());
    let expires = now.saturating_add(crate::domain::live::COMMAND_RETENTION_MICROS);
    let settled = app.store().delete_room(auth.account_id, id, now, expires).await?;
    app.webhook_wake().queued(&settled.webhooks);
    if !settled.ended_sessions.is_empty() {
        tracing::info!(room_id = %id, participants = settled.left.len(), "room deleted: its session ended");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/rooms` query: `page[number]`, `page[size]` and the filters.
#[derive(Debug, Default)]
struct ListQuery {
    page_number: u64,
    page_size: u32,
    filter: RoomFilter,
}

/// `application/x-www-form-urlencoded` pairs, decoded strictly: `None` for a name or value that is not UTF-8
/// once decoded (replacing it with U+FFFD, as lossy decoders do, would look up another name than the one sent).
pub(super) fn query_pairs(raw: &str) -> impl Iterator<Item = (Option<String>, Option<String>)> + '_ {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    raw.split('&').filter(|pair| !pair.is_empty()).map(move |pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key), decode(value))
    })
}

/// The parameters `GET /v2/rooms` reads; others are ignored.
const LIST_PARAMS: [&str; 9] = [
    "page[number]",
    "page[size]",
    "filter[unique_name]",
    "filter[date_created_at][eq]",
    "filter[date_created_at][gte]",
    "filter[date_created_at][lte]",
    "filter[date_updated_at][eq]",
    "filter[date_updated_at][gte]",
    "filter[date_updated_at][lte]",
];

fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery {
        page_number: PageNumber::DEFAULT as u64,
        page_size: PageSize::DEFAULT as u32,
        filter: RoomFilter::default(),
    };
    for (key, value) in query_pairs(raw.unwrap_or_default()) {
        // A name that is not UTF-8 is no parameter of ours: ignored, like any unknown one.
        let Some(key) = key.filter(|k| LIST_PARAMS.contains(&k.as_str())) else {
            continue;
        };
        let value = value.ok_or_else(|| {
            ApiError::param(
                InvalidCode::WrongType,
                &key,
                format!("{key} must be UTF-8 text once percent-decoded."),
            )
        })?;
        let f = &mut q.filter;
        match key.as_str() {
            "page[number]" => q.page_number = PageNumber::parse_param(&key, &value)?.get() as u64,
            "page[size]" => q.page_size = PageSize::parse_param(&key, &value)?.get() as u32,
            "filter[unique_name]" => {
                f.unique_name = Some(UniqueName::parse_param(&value, &key)?.into_inner())
            }
            _ => {
                let mut created = (f.created_from, f.created_until);
                let mut updated = (f.updated_from, f.updated_until);
                if date_filter(&key, &value, "created_at", &mut created)?
                    || date_filter(&key, &value, "updated_at", &mut updated)?
                {
                    (f.created_from, f.created_until) = created;
                    (f.updated_from, f.updated_until) = updated;
                }
            }
        }
    }
    Ok(q)
}

#[utoipa::path(
    get,
    path = "/v2/rooms",
    tag = "Rooms",
    operation_id = "ListRooms",
    summary = "View a list of rooms",
    description = "The account's rooms, newest first, one page at a time. Filters given together all apply; \
        unknown parameters are ignored.",
    params(super::openapi::ListRoomsParams),
    responses(
        (status = 200, description = "One page of rooms.", body = Page<Room>),
        (status = 422, description = "A parameter has the wrong type (10026) or is out of range (10033); \
            `source.parameter` names it.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors,
    ),
)]
/// `GET /v2/rooms`: newest first, ties broken by id, so pages are stable.
pub(super) async fn list(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Room>>, ApiError> {
    let q = parse_list_query(raw.as_deref())?;
    let offset = (q.page_number - 1) * u64::from(q.page_size);
    let (rooms, total) = app
        .store()
        .list_rooms(auth.account_id, &q.filter, q.page_size, offset)
        .await?;
    let size = u64::from(q.page_size);
    Ok(Json(Page {
        data: rooms.into_iter().map(to_wire).collect(),
        meta: PageMeta {
            page_number: q.page_number,
            page_size: size,
            total_pages: total.div_ceil(size).max(1),
            total_results: total,
        },
    }))
}
