//! Token request and response bodies, under the seed's names and today's Telnyx names.
use serde::{Deserialize, Serialize};

/// Body of `create_access_token` (seed names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Body of `generate_join_client_token` (today's names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Body of `refresh_access_token` (seed names).
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

/// `data` of a `create_access_token` response (seed names).
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

/// `data` of a `refresh_access_token` response (seed names).
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
}
