//! Revocations (roomgate's extension): which of a room's tokens are no longer honoured, and the feed media servers
//! follow to learn of them.
use serde::{Deserialize, Serialize};

/// Body of `POST /v2/rooms/{room_id}/actions/revoke_tokens`: exactly one of `jti`, `identity`, `issued_before`
/// (a string; `null` is refused like any other wrong type).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeTokensRequest {
    /// The one token (access or refresh) with this `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uuid", nullable = false))]
    pub jti: Option<String>,
    /// Every token of the participant with this identity issued until now (refreshes included); tokens minted
    /// for it afterwards work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            nullable = false,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"
        )
    )]
    pub identity: Option<String>,
    /// Every token of the room issued before this instant (RFC 3339, at most now): "everyone out, new tokens still
    /// work". Tokens carry their issue time in whole seconds, so one issued in the same second counts as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(format = DateTime, nullable = false, example = "2026-12-01T15:00:00Z")
    )]
    pub issued_before: Option<String>,
    /// Why, for the record (at most 256 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 256, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")
    )]
    pub reason: Option<String>,
}

/// A revocation: one of `jti`, `identity`, `issued_before` is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// Always `revocation`.
    #[cfg_attr(feature = "openapi", schema(example = "revocation"))]
    pub record_type: String,
    /// Revocation id.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    /// The room whose tokens it covers.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub room_id: String,
    /// Covers the token with this `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub jti: Option<String>,
    /// Covers the tokens of this participant whose `iat` is before `created_at` rounded up to a whole second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Covers the room's tokens whose `iat` is before this instant rounded up to a whole second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub issued_before: Option<String>,
    /// Why, as given.
    pub reason: Option<String>,
    /// RFC 3339 UTC, microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-12-01T15:00:00.123456Z"))]
    pub created_at: String,
    /// From this instant no token it covers can still be valid (a day and a minute of leeway after its cut-off);
    /// it leaves listings and the feed then.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-12-02T15:01:01.000000Z"))]
    pub expires_at: String,
}

/// Where a feed response ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedMeta {
    /// Pass as `after` to get what comes next (also when `data` is empty).
    pub next_cursor: String,
}

/// A response of `GET /v2/revocations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationFeed {
    /// The account's revocations after the cursor, in the feed's order.
    pub data: Vec<Revocation>,
    /// The cursor to continue from.
    pub meta: FeedMeta,
}
