//! Room access tokens: claims, Ed25519 JWS signing and verification, JWKs. No IO.
//!
//! Tokens are compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, `alg: EdDSA`) whose
//! payload is a [`Claims`] in Telnyx's access-token shape. Time is always a parameter.
//!
//! ```
//! use roomgate_token::{verify, Claims, KeySet, SigningKey, TokenKind, Validation};
//! use roomgate_token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
//!
//! let now = 1_700_000_000;
//! let room = uuid::Uuid::new_v4();
//! let key = SigningKey::generate();
//! let claims = Claims::for_room(
//!     TokenKind::Access, room, vec!["alice".into()], DEFAULT_ISSUER, DEFAULT_AUDIENCE, now, 600,
//! );
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
mod verify;

pub use claims::{Claims, Grant, TokenKind, GRANTS_VERSION, JOIN_ACTION, ROOM_RESOURCE_PREFIX};
pub use error::TokenError;
pub use json::{parse_strict as parse_json_strict, DUPLICATE as JSON_DUPLICATE_MEMBER};
pub use jwk::{Jwk, Jwks};
pub use keys::{KeySet, SigningKey, VerificationKey};
pub use verify::{decode_unverified, verify, Validation, ISSUER_SKEW_SECS};

/// Default `iss` claim, as in Telnyx's tokens.
pub const DEFAULT_ISSUER: &str = "telnyx_access_token";

/// Default `aud` claim, as in Telnyx's tokens.
pub const DEFAULT_AUDIENCE: &str = "telnyx_access_token";

/// Longest token accepted; longer input is rejected before any parsing or allocation.
pub const MAX_TOKEN_LEN: usize = 4096;
