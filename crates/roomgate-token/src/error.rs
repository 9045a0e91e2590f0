//! Why a token or key was refused.

/// Why a token was refused. Low-cardinality; `reason()` gives a stable snake_case label for logs/metrics.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// The input is longer than [`crate::MAX_TOKEN_LEN`].
    #[error("token too long")]
    TooLong,
    /// The token is not a well-formed compact JWS / JWT; the text says which part.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not `EdDSA` (or `Ed25519`).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header names a `kid` that is not in the key set (or the key set is empty).
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify under any candidate key.
    #[error("bad signature")]
    BadSignature,
    /// The token's `typ` claim is not the kind that was asked for.
    #[error("wrong token kind")]
    WrongKind,
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The token's `nbf` or `iat` lies in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// The `iss` claim does not match.
    #[error("wrong issuer")]
    WrongIssuer,
    /// The `aud` claim does not match.
    #[error("wrong audience")]
    WrongAudience,
    /// The token does not grant joining the requested room.
    #[error("wrong room")]
    WrongRoom,
    /// A key (raw bytes or JWK) is unusable; the text says why.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The `grants_version` has a major version this crate does not read (it knows 1 and 2).
    #[error("unsupported grants_version")]
    UnsupportedGrants,
}

impl TokenError {
    /// A stable snake_case label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLong => "too_long",
            TokenError::Malformed(_) => "malformed",
            TokenError::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongKind => "wrong_kind",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::WrongRoom => "wrong_room",
            TokenError::InvalidKey(_) => "invalid_key",
            TokenError::UnsupportedGrants => "unsupported_grants_version",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenError;

    #[test]
    fn reasons_are_distinct_snake_case() {
        let all = [
            TokenError::TooLong,
            TokenError::Malformed("x"),
            TokenError::UnsupportedAlgorithm,
            TokenError::UnknownKey,
            TokenError::BadSignature,
            TokenError::WrongKind,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
            TokenError::WrongRoom,
            TokenError::InvalidKey("x"),
            TokenError::UnsupportedGrants,
        ];
        let mut seen = std::collections::HashSet::new();
        for e in &all {
            let r = e.reason();
            assert!(r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{r}");
            assert!(seen.insert(r), "duplicate reason {r}");
        }
        assert_eq!(
            TokenError::Malformed("a").reason(),
            TokenError::Malformed("b").reason()
        );
    }
}
