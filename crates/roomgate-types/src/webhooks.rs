//! Webhooks.
use serde::{Deserialize, Serialize};

/// The public key that verifies roomgate's webhook signatures (`telnyx-signature-ed25519`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPublicKey {
    /// The 32-byte Ed25519 public key, base64 (standard alphabet, padded): what a Telnyx SDK takes as its webhook
    /// `public_key`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "kQ3lD8cZ1Sx2m9l0yFbq4mQ6mK2tX1S3tV7w0b0Ff9A=")
    )]
    pub public_key: String,
}
