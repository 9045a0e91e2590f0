use serde::{Deserialize, Serialize};

/// A video room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Room {
    /// UUID of the room.
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uuid", example = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")
    )]
    pub id: String,
    /// Name unique within the account, if one was given.
    pub unique_name: Option<String>,
    /// Maximum participants (2..=50).
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 50, example = 10))]
    pub max_participants: u32,
    /// Whether sessions in the room are recorded.
    pub enable_recording: bool,
    /// URL that receives the room's webhooks.
    pub webhook_event_url: Option<String>,
    /// Fallback URL for webhooks.
    pub webhook_event_failover_url: Option<String>,
    /// Webhook timeout in seconds (1..=30).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub webhook_timeout_secs: Option<u32>,
    /// The session in progress, if any: opened by the first admitted participant, closed by the last to leave.
    pub active_session_id: Option<String>,
    /// RFC 3339 UTC timestamp with microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-16T09:46:20.954863Z"))]
    pub created_at: String,
    /// RFC 3339 UTC timestamp with microseconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-16T09:46:20.954863Z"))]
    pub updated_at: String,
    /// Always `"room"`.
    #[cfg_attr(feature = "openapi", schema(example = "room"))]
    pub record_type: String,
}

/// Body of `POST /v2/rooms`; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRoomRequest {
    /// Name unique within the account: 1 to 255 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$",
            example = "My room"
        )
    )]
    pub unique_name: Option<String>,
    /// Maximum participants (2..=50, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 2, maximum = 50, default = 10, example = 10)
    )]
    pub max_participants: Option<u32>,
    /// Record sessions (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub enable_recording: Option<bool>,
    /// Webhook URL: an absolute http or https URL of at most 2048 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uri", max_length = 2048, example = "https://example.com/webhooks")
    )]
    pub webhook_event_url: Option<String>,
    /// Webhook failover URL: an absolute http or https URL of at most 2048 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uri", max_length = 2048))]
    pub webhook_event_failover_url: Option<String>,
    /// Webhook timeout in seconds (1..=30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub webhook_timeout_secs: Option<u32>,
}

/// Body of `PATCH /v2/rooms/{room_id}`: only the fields present change, and `null` clears an optional one.
// In Rust: `None` leaves a field as it is (not sent), `Some(None)` clears it (sent as `null`), `Some(Some(v))`
// sets it. (A plain comment: the doc comment above is also the OpenAPI description.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRoomRequest {
    /// Name unique within the account: 1 to 255 characters, no control characters; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$")
    )]
    pub unique_name: Option<Option<String>>,
    /// Maximum participants (2..=50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 50, example = 20))]
    pub max_participants: Option<u32>,
    /// Record sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_recording: Option<bool>,
    /// Webhook URL: an absolute http or https URL of at most 2048 bytes; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, format = "uri", max_length = 2048)
    )]
    pub webhook_event_url: Option<Option<String>>,
    /// Webhook failover URL: an absolute http or https URL of at most 2048 bytes; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, format = "uri", max_length = 2048)
    )]
    pub webhook_event_failover_url: Option<Option<String>>,
    /// Webhook timeout in seconds (1..=30); `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1, maximum = 30))]
    pub webhook_timeout_secs: Option<Option<u32>>,
}

/// A field that is absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`): serde's `Option` alone
/// reads `null` as absent. Used with `default` and `skip_serializing_if = "Option::is_none"`.
mod present {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::UpdateRoomRequest;

    #[test]
    fn update_request_tells_absent_from_null_both_ways() {
        let patch: UpdateRoomRequest =
            serde_json::from_str(r#"{"unique_name":null,"webhook_timeout_secs":5,"enable_recording":true}"#)
                .unwrap();
        assert_eq!(
            patch,
            UpdateRoomRequest {
                unique_name: Some(None),
                webhook_timeout_secs: Some(Some(5)),
                enable_recording: Some(true),
                ..Default::default()
            }
        );
        let back = serde_json::to_value(&patch).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"unique_name": null, "webhook_timeout_secs": 5, "enable_recording": true})
        );
        assert_eq!(
            serde_json::to_string(&UpdateRoomRequest::default()).unwrap(),
            "{}"
        );
    }
}

/// Pagination metadata of list responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PaginationMeta))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The resources on this page.
    pub data: Vec<T>,
    /// Where this page stands.
    pub meta: PageMeta,
}
