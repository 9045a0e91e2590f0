//! Introspection (roomgate's extension, in the spirit of RFC 7662): whether a token is active, and if not why.
use serde::{Deserialize, Serialize};

use crate::Permissions;

/// Body of `POST /v2/tokens/introspect`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectRequest {
    /// An access or refresh token.
    pub token: String,
}

impl std::fmt::Debug for IntrospectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are bearer secrets.
        f.debug_struct("IntrospectRequest").finish_non_exhaustive()
    }
}

/// Why a token is not active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InactiveReason {
    /// Past its `exp`.
    Expired,
    /// Before its `nbf` (or `iat`): a clock ahead of the server's issued it, or it is not for now.
    NotYetValid,
    /// A revocation covers it (`revocation` names it).
    Revoked,
    /// Its room was deleted.
    RoomDeleted,
    /// A refresh token whose API key was revoked.
    ApiKeyRevoked,
    /// Signed under a key this server does not hold (retired, or another server's).
    UnknownKey,
    /// The signature or MAC does not verify.
    BadSignature,
    /// Decodes, but breaks the token format (header, claims or grants).
    Malformed,
    /// `iss` is not this server's.
    WrongIssuer,
    /// `aud` is not this server's.
    WrongAudience,
    /// The header's `alg` is not the one this kind of token uses.
    UnsupportedAlgorithm,
}

/// The revocation that covers a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationRef {
    /// The revocation's id.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    /// Its reason, as given.
    pub reason: Option<String>,
}

/// `data` of an introspection. A token that does not decode, or whose room is not the caller's account's, is
/// `{"active": false}` and nothing else; otherwise the members below say what the token is and, when inactive,
/// why. Absent members are ones the token does not carry (`identity`, `name`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Introspection {
    /// Whether the token would be accepted now (a refresh token: refreshed; an access token: verified by a
    /// media server following the revocation feed).
    pub active: bool,
    /// `access` or `refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The room it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub room_id: Option<String>,
    /// The participant's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The participant's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the token allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// The token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The key id in its header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Issued at, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Seconds until `exp` (negative once expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// The server's time, Unix seconds, to compare clocks with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<i64>,
    /// Why it is not active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<InactiveReason>,
    /// With `reason: revoked`: the revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationRef>,
    /// The reason in words, with numbers ("expired 42 s ago; server time …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Identity and name may be personal data.
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("Introspection")
            .field("active", &self.active)
            .field("typ", &self.typ)
            .field("room_id", &self.room_id)
            .field("identity", &set(&self.identity))
            .field("name", &set(&self.name))
            .field("jti", &self.jti)
            .field("exp", &self.exp)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}
