use serde::{Deserialize, Serialize};

/// A video room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// UUID of the room.
    pub id: String,
    /// Name unique within the account, if one was given.
    pub unique_name: Option<String>,
    /// Maximum participants (2..=50).
    pub max_participants: u32,
    /// Whether sessions in the room are recorded.
    pub enable_recording: bool,
    /// URL that receives the room's webhooks.
    pub webhook_event_url: Option<String>,
    /// Fallback URL for webhooks.
    pub webhook_event_failover_url: Option<String>,
    /// Webhook timeout in seconds (1..=30).
    pub webhook_timeout_secs: Option<u32>,
    /// The session in progress, if any (roomgate runs no media, so always null).
    pub active_session_id: Option<String>,
    /// RFC 3339 UTC timestamp with microseconds.
    pub created_at: String,
    /// RFC 3339 UTC timestamp with microseconds.
    pub updated_at: String,
    /// Always `"room"`.
    pub record_type: String,
}

/// Body of `POST /v2/rooms`; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoomRequest {
    /// Name unique within the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// Maximum participants (2..=50, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_participants: Option<u32>,
    /// Record sessions (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_recording: Option<bool>,
    /// Webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_event_url: Option<String>,
    /// Webhook failover URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_event_failover_url: Option<String>,
    /// Webhook timeout in seconds (1..=30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_timeout_secs: Option<u32>,
}

/// Body of `PATCH /v2/rooms/{room_id}`: only the fields present change.
pub type UpdateRoomRequest = CreateRoomRequest;

/// Pagination metadata of list responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// 1-based page number.
    pub page_number: u64,
    /// Requested page size.
    pub page_size: u64,
    /// Number of pages (at least 1).
    pub total_pages: u64,
    /// Number of matching resources.
    pub total_results: u64,
}

/// A page of a list response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The resources on this page.
    pub data: Vec<T>,
    /// Where this page stands.
    pub meta: PageMeta,
}
