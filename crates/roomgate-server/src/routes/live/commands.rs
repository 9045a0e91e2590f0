//! The control feed media servers follow.
use axum::{
    extract::{RawQuery, State},
    Json,
};
use roomgate_store::{CommandRecord, FeedEntry, TrackKind};
use roomgate_types::{CommandFeed, FeedMeta, RoomCommand};

use crate::routes::revocations::{feed_params, long_poll, to_wire as revocation_to_wire};
use crate::{domain::revocation::encode_cursor, error::ApiError, extract::Account, timefmt, AppState};

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

#[utoipa::path(get, path = "/v2/room_commands", tag = "Media server link", operation_id = "RoomCommandFeed",
    summary = "Follow the account's control feed (roomgate extension)",
    description = "What media servers must carry out, in one total order: `kick`, `mute`, `unmute`, `session_end`, \
        and every `revocation` (as `GET /v2/revocations` publishes it). Long poll as that feed: pass \
        `meta.next_cursor` as `after` next time; commands are kept 24 hours. Skip unknown `type`s.",
    params(crate::routes::openapi::FeedParams),
    responses((status = 200, description = "Commands after the cursor, and the cursor to continue from.", body = CommandFeed),
        (status = 422, description = "A parameter has the wrong type or is out of range.", body = roomgate_types::ErrorBody),
        crate::routes::openapi::KeyErrors))]
/// `GET /v2/room_commands`: a long poll.
pub(in crate::routes) async fn commands(
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
