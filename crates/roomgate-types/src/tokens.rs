//! Token request and response bodies, under the original names and today's Telnyx names.
use serde::{Deserialize, Serialize};

/// Body of `create_access_token` (the original names).
///
/// `Debug` shows whether `identity`, `name` and `metadata` are set, not their values (personal data).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateAccessTokenRequest {
    /// Access token lifetime, 10..=3600 seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 10, maximum = 3600, default = 600, example = 600)
    )]
    pub ttl_secs: Option<u32>,
    /// Refresh token lifetime, 60..=86400 seconds (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 60, maximum = 86400, default = 3600, example = 3600)
    )]
    pub refresh_token_ttl_secs: Option<u32>,
    /// roomgate extension: who the participant is in the application (the token's `sub`), 1..=256 bytes of
    /// UTF-8 without control characters. Any of `identity`, `name`, `metadata`, `permissions` makes the tokens
    /// version 2 (`grants_version` `"2.0.0"`); with none of them they are exactly Telnyx's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
            example = "alice"
        )
    )]
    pub identity: Option<String>,
    /// roomgate extension: the participant's display name (the token's `name` claim), 1..=256 bytes of UTF-8
    /// without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
            example = "Alice"
        )
    )]
    pub name: Option<String>,
    /// roomgate extension: opaque application data for the media server and the other participants (the
    /// token's `metadata` claim), at most 4096 bytes of UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096, example = "{\"seat\":3}"))]
    pub metadata: Option<String>,
    /// roomgate extension: what the participant may do; each member optional, unknown members refused (422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// Body of `generate_join_client_token` (today's names).
///
/// Build it with struct update syntax; unset members are not sent:
///
/// ```
/// use roomgate_types::{GenerateClientTokenRequest, Permissions, Source};
///
/// let body = GenerateClientTokenRequest {
///     token_ttl_secs: Some(300),
///     identity: Some("alice".into()),
///     permissions: Some(Permissions {
///         can_publish_sources: Some(vec![Source::Camera]),
///         can_publish_data: Some(false),
///         ..Default::default()
///     }),
///     ..Default::default()
/// };
/// assert_eq!(
///     serde_json::to_string(&body).unwrap(),
///     r#"{"token_ttl_secs":300,"identity":"alice","permissions":{"can_publish_sources":["camera"],"can_publish_data":false}}"#
/// );
/// ```
///
/// `Debug` shows whether `identity`, `name` and `metadata` are set, not their values (personal data).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerateClientTokenRequest {
    /// Access token lifetime, 10..=3600 seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 10, maximum = 3600, default = 600, example = 600)
    )]
    pub token_ttl_secs: Option<u32>,
    /// Refresh token lifetime, 60..=86400 seconds (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 60, maximum = 86400, default = 3600, example = 3600)
    )]
    pub refresh_token_ttl_secs: Option<u32>,
    /// roomgate extension: who the participant is in the application (the token's `sub`), 1..=256 bytes of
    /// UTF-8 without control characters. Any of `identity`, `name`, `metadata`, `permissions` makes the tokens
    /// version 2 (`grants_version` `"2.0.0"`); with none of them they are exactly Telnyx's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
            example = "alice"
        )
    )]
    pub identity: Option<String>,
    /// roomgate extension: the participant's display name (the token's `name` claim), 1..=256 bytes of UTF-8
    /// without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
            example = "Alice"
        )
    )]
    pub name: Option<String>,
    /// roomgate extension: opaque application data for the media server and the other participants (the
    /// token's `metadata` claim), at most 4096 bytes of UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096, example = "{\"seat\":3}"))]
    pub metadata: Option<String>,
    /// roomgate extension: what the participant may do; each member optional, unknown members refused (422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// roomgate extension: what a participant may do in the room, carried in its tokens' grant and enforced by
/// the media server that verifies them. Each member is optional; an absent one takes its default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// May publish media (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub can_publish: Option<bool>,
    /// Which media it may publish, each at most once (default all four).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = sources_schema))]
    pub can_publish_sources: Option<Vec<Source>>,
    /// May receive the others' media (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub can_subscribe: Option<bool>,
    /// May send data messages (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    pub can_publish_data: Option<bool>,
    /// May change its own metadata (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub can_update_metadata: Option<bool>,
    /// Not shown to the other participants (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub hidden: Option<bool>,
    /// A recorder, not a person (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub recorder: Option<bool>,
    /// May moderate this room (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(default = false))]
    pub room_admin: Option<bool>,
}

/// `can_publish_sources`' schema: utoipa's attributes cannot say `uniqueItems`, which the server enforces.
#[cfg(feature = "openapi")]
fn sources_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{schema::Type, ArrayBuilder, Ref};
    ArrayBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Array,
            Type::Null,
        ]))
        .items(Ref::from_schema_name("Source"))
        .unique_items(true)
        .max_items(Some(4))
        .description(Some(
            "Which media it may publish, each at most once (default all four).",
        ))
        .build()
}

/// roomgate extension: a kind of media a participant may publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A camera's video.
    Camera,
    /// A microphone's audio.
    Microphone,
    /// A shared screen's video.
    ScreenShare,
    /// A shared screen's audio.
    ScreenShareAudio,
}

/// Body of `refresh_access_token` (the original names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshAccessTokenRequest {
    /// The refresh token returned at creation.
    pub refresh_token: String,
    /// New access token lifetime, 10..=3600 seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 10, maximum = 3600, default = 600, example = 600)
    )]
    pub ttl_secs: Option<u32>,
}

/// Body of `refresh_client_token` (today's names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshClientTokenRequest {
    /// The refresh token returned at creation.
    pub refresh_token: String,
    /// New access token lifetime, 10..=3600 seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 10, maximum = 3600, default = 600, example = 600)
    )]
    pub token_ttl_secs: Option<u32>,
}

/// `data` of a `create_access_token` response (the original names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomAccessToken {
    /// Signed access token (JWT).
    pub access_token: String,
    /// RFC 3339 UTC, whole seconds: the access token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub access_token_expires_at: String,
    /// Signed refresh token (JWT).
    pub refresh_token: String,
    /// RFC 3339 UTC, whole seconds: the refresh token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub refresh_token_expires_at: String,
}

/// `data` of a `refresh_access_token` response (the original names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessToken {
    /// Signed access token (JWT).
    pub access_token: String,
    /// RFC 3339 UTC, whole seconds: the access token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub access_token_expires_at: String,
}

/// `data` of a `generate_join_client_token` response (today's names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinClientToken {
    /// Signed access token (JWT).
    pub token: String,
    /// RFC 3339 UTC, whole seconds: the access token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub token_expires_at: String,
    /// Signed refresh token (JWT).
    pub refresh_token: String,
    /// RFC 3339 UTC, whole seconds: the refresh token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub refresh_token_expires_at: String,
}

/// `data` of a `refresh_client_token` response (today's names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientToken {
    /// Signed access token (JWT).
    pub token: String,
    /// RFC 3339 UTC, whole seconds: the access token's `exp`.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2021-04-22T12:24:55Z"))]
    pub token_expires_at: String,
}

macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    .finish_non_exhaustive()
            }
        }
    };
}

macro_rules! participant_debug {
    ($ty:ident { $ttl:ident }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
                f.debug_struct(stringify!($ty))
                    .field(stringify!($ttl), &self.$ttl)
                    .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
                    .field("identity", &set(&self.identity))
                    .field("name", &set(&self.name))
                    .field("metadata", &set(&self.metadata))
                    .field("permissions", &self.permissions)
                    .finish()
            }
        }
    };
}

participant_debug!(CreateAccessTokenRequest { ttl_secs });
participant_debug!(GenerateClientTokenRequest { token_ttl_secs });

// Tokens are bearer secrets: Debug shows only their expiry.
redacted_debug!(RefreshAccessTokenRequest { ttl_secs });
redacted_debug!(RefreshClientTokenRequest { token_ttl_secs });
redacted_debug!(RoomAccessToken {
    access_token_expires_at,
    refresh_token_expires_at
});
redacted_debug!(AccessToken {
    access_token_expires_at
});
redacted_debug!(JoinClientToken {
    token_expires_at,
    refresh_token_expires_at
});
redacted_debug!(ClientToken { token_expires_at });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_tokens() {
        let t = RoomAccessToken {
            access_token: "secret-access".into(),
            access_token_expires_at: "2026-01-01T00:00:00Z".into(),
            refresh_token: "secret-refresh".into(),
            refresh_token_expires_at: "2026-01-01T01:00:00Z".into(),
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("2026-01-01T01:00:00Z"));
        let r = RefreshClientTokenRequest {
            refresh_token: "secret-r".into(),
            token_ttl_secs: None,
        };
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[test]
    fn debug_never_shows_who_is_joining() {
        let body = GenerateClientTokenRequest {
            identity: Some("alice@example.com".into()),
            name: Some("Alice Liddell".into()),
            metadata: Some("seat 3".into()),
            permissions: Some(Permissions {
                room_admin: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let shown = format!("{body:?}");
        for private in ["alice", "Liddell", "seat"] {
            assert!(!shown.contains(private), "{shown}");
        }
        assert!(shown.contains("room_admin: Some(true)"), "{shown}");
    }

    #[test]
    fn the_extension_is_left_out_of_the_body_when_unset() {
        let body = CreateAccessTokenRequest {
            ttl_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"ttl_secs":60}"#);
        let p = Permissions {
            can_publish_sources: Some(vec![Source::ScreenShareAudio]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"can_publish_sources":["screen_share_audio"]}"#
        );
    }
}
