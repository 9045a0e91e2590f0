//! Refreshing: a refresh token alone (no API key) buys a new access token for its room, carrying exactly what
//! the refresh token carries. One uniform 403 whatever fails, so the endpoint is no oracle; the reason goes to the
//! log and the metrics only (introspection is the authenticated place to ask why).
use std::net::IpAddr;

use roomgate_store::RefreshCheck;
use roomgate_token::{Claims, TokenKind, TokenSpec, Validation};
use uuid::Uuid;

use super::AccessTtl;
use crate::{error::ApiError, observability, AppState};

/// The claims of the access token that refresh token `token`, presented from `ip` for room `room_id`, buys now,
/// valid `ttl` (never past the refresh token's own expiry); not signed yet.
pub async fn refresh(
    app: &AppState,
    ip: IpAddr,
    room_id: Uuid,
    token: &str,
    ttl: AccessTtl,
) -> Result<Claims, ApiError> {
    let now = app.now().unix_timestamp();
    let config = app.config();
    let validation = Validation::new(TokenKind::Refresh)
        .issuer(&config.issuer)
        .audience(&config.audience)
        .room(room_id);
    // Whatever failed, the answer is the one 403 (or 429 when the address fails too often).
    let verified = app.keys().verify(app.store(), token, &validation, now).await;
    let claims = verified.map_err(|e| {
        tracing::info!(reason = e.reason(), %room_id, "refresh refused");
        observability::token_rejected(e.reason());
        // Only tokens that fail count against the address: junk from it cannot stop its valid refreshes.
        app.limits().refresh_failed_from(ip)
    })?;
    app.limits().refresh_with(&claims.jti)?;
    // Exactly the participant and permissions the refresh token carries, whatever the body says; a version 1
    // refresh token gives a version 1 access token.
    let participant = if claims.is_v2() {
        claims.participant()
    } else {
        None
    };
    let identity = participant.as_ref().and_then(|p| p.identity.as_deref());
    let facts = super::revocation::token_facts(&claims, room_id, identity);
    let (refused, revocation) = match app.store().check_refresh(&facts, claims.api_key_id).await? {
        RefreshCheck::Allowed => (None, None),
        RefreshCheck::RoomDeleted => (Some("room_deleted"), None),
        RefreshCheck::KeyRevoked => (Some("api_key_revoked"), None),
        RefreshCheck::Revoked(id) => (Some("revoked"), Some(id)),
    };
    if let Some(reason) = refused {
        match revocation {
            Some(revocation) => tracing::info!(reason, %room_id, %revocation, "refresh refused"),
            None => tracing::info!(reason, %room_id, "refresh refused"),
        }
        observability::token_rejected(reason);
        return Err(ApiError::Forbidden);
    }
    let spec = TokenSpec {
        kind: TokenKind::Access,
        room_id,
        subjects: claims
            .grants
            .iter()
            .flat_map(|g| g.subjects.iter().cloned())
            .collect(),
        issuer: &config.issuer,
        audience: &config.audience,
        // Never beyond the refresh token's own expiry: a refresh token is the limit of the access it grants.
        ttl_secs: ttl.get().min(claims.exp.saturating_sub(now)),
        participant: participant.as_ref(),
    };
    Ok(Claims::mint(&spec, now))
}
