//! Wire types of the Telnyx-compatible Rooms API, shared by the roomgate server and client.
//!
//! Responses are wrapped in [`Data`] (`{"data": ...}`) or [`Page`] (`{"data": [...], "meta": {...}}`);
//! every error response is an [`ErrorBody`].
//!
//! ```
//! use roomgate_types::{Data, Room};
//! let json = r#"{"data":{"id":"7b61621f-62e0-4aad-ab11-9fd19e272e73","unique_name":"My Room",
//!   "max_participants":10,"enable_recording":false,"webhook_event_url":null,
//!   "webhook_event_failover_url":null,"webhook_timeout_secs":null,"active_session_id":null,
//!   "created_at":"2021-04-16T09:46:20.954863Z","updated_at":"2021-04-16T09:46:20.954863Z","record_type":"room"}}"#;
//! let room: Data<Room> = serde_json::from_str(json).unwrap();
//! assert_eq!(room.data.max_participants, 10);
//! ```

mod error;
mod introspection;
mod live;
mod revocations;
mod rooms;
mod tokens;
mod webhooks;

pub use error::{ErrorBody, ErrorObject, ErrorSource};
pub use introspection::{InactiveReason, IntrospectRequest, Introspection, RevocationRef};
pub use live::{
    ActionResult, AdmitParticipantRequest, CommandFeed, MuteRequest, RenewLeasesRequest, RenewedLeases,
    RoomCommand, RoomParticipant, RoomSession, SessionActionRequest, TrackKind,
};
pub use revocations::{FeedMeta, Revocation, RevocationFeed, RevokeTokensRequest};
pub use rooms::{CreateRoomRequest, Page, PageMeta, Room, UpdateRoomRequest};
pub use tokens::{
    AccessToken, ClientToken, CreateAccessTokenRequest, GenerateClientTokenRequest, JoinClientToken,
    Permissions, RefreshAccessTokenRequest, RefreshClientTokenRequest, RoomAccessToken, Source,
};
pub use webhooks::WebhookPublicKey;

use serde::{Deserialize, Serialize};

/// The `{"data": ...}` envelope of every single-resource response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Data<T> {
    /// The resource.
    pub data: T,
}

impl<T> Data<T> {
    /// Wraps a resource.
    pub fn new(data: T) -> Self {
        Self { data }
    }
}
