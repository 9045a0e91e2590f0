//! Room access tokens: claims, Ed25519 JWS signing and verification, JWKs. No IO.
