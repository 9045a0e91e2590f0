//! The live room: room sessions and participants (Telnyx's API), and the media server's link: admission,
//! leaving, lease renewal and the control feed (roomgate's extensions).
pub(super) mod commands;
pub(super) mod participants;
pub(super) mod sessions;

use roomgate_store::{ParticipantRecord, StoreError};
use roomgate_types::{PageMeta, RoomParticipant};
use uuid::Uuid;

use crate::{error::ApiError, timefmt};

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
