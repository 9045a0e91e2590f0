//! Room access tokens: claims, Ed25519 JWS signing and verification, JWKs; refresh tokens MACed. No IO.
//!
//! Access tokens are compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, `alg: EdDSA`) whose
//! payload is a [`Claims`] in Telnyx's access-token shape. Refresh tokens carry the same claims
//! (`typ: "refresh"`) under HMAC-SHA256 with a server-only secret ([`RefreshKey`], [`verify_refresh`]).
//! Time is always a parameter.
//!
//! ```
//! use roomgate_token::{verify, Claims, KeySet, SigningKey, TokenKind, TokenSpec, Validation};
//! use roomgate_token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
//!
//! let now = 1_700_000_000;
//! let room = uuid::Uuid::new_v4();
//! let key = SigningKey::generate();
//! let spec = TokenSpec {
//!     kind: TokenKind::Access,
//!     room_id: room,
//!     subjects: vec!["telnyx:users:acme".into()],
//!     issuer: DEFAULT_ISSUER,
//!     audience: DEFAULT_AUDIENCE,
//!     ttl_secs: 600,
//!     participant: None,
//! };
//! let claims = Claims::mint(&spec, now);
//! let token = key.sign(&claims);
//!
//! let keys = KeySet::new([key.verification_key()]);
//! let checked = verify(&token, &keys, &Validation::new(TokenKind::Access).room(room), now).unwrap();
//! assert_eq!(checked, claims);
//! assert_eq!(checked.room_id(), Some(room));
//!
//! let err = verify(&token, &keys, &Validation::new(TokenKind::Access), now + 600).unwrap_err();
//! assert_eq!(err.reason(), "expired");
//! ```

#![warn(missing_docs)]

mod b64;
mod claims;
mod error;
mod json;
mod jwk;
pub mod jws;
mod keys;
mod participant;
mod refresh;
mod verify;

pub use claims::{
    Claims, Grant, TokenKind, TokenSpec, GRANTS_VERSION, GRANTS_VERSION_V2, JOIN_ACTION, NO_SUBJECT,
    ROOM_RESOURCE_PREFIX,
};
pub use error::TokenError;
pub use json::{parse_strict as parse_json_strict, JsonError};
pub use jwk::{Jwk, Jwks};
pub use keys::{KeySet, SigningKey, VerificationKey};
pub use participant::{
    Participant, Permissions, Source, Sources, ADMIN_ACTION, PUBLISH_DATA_ACTION, RECORD_ACTION,
    SUBSCRIBE_ACTION, UPDATE_METADATA_ACTION,
};
pub use refresh::{verify_refresh, RefreshKey, RefreshKeys, REFRESH_KID_PREFIX, REFRESH_TYP};
pub use verify::{decode_unverified, verify, Validation, ISSUER_SKEW_SECS};

/// Default `iss` claim, as in Telnyx's tokens.
pub const DEFAULT_ISSUER: &str = "telnyx_access_token";

/// Default `aud` claim, as in Telnyx's tokens.
pub const DEFAULT_AUDIENCE: &str = "telnyx_access_token";

/// Longest token accepted; longer input is rejected before any parsing or allocation.
pub const MAX_TOKEN_LEN: usize = 40 * 1024;
