//! Introspection (roomgate's extension, in the spirit of RFC 7662): whether a token is active and, for the
//! caller's own tokens only, what it is and why it is not.
//!
//! No oracle: a token is described only when its room is the caller's, or when its room no longer exists and
//! the token is provably this server's and names the caller's account. Anything else, another account's token
//! as much as text that is no token, is `{"active": false}` and nothing more.
use roomgate_store::{KeyAuth, RefreshCheck, RevocationRecord, StoreError};
use roomgate_token::{Claims, TokenError, TokenKind, Validation, MAX_TOKEN_LEN};
use roomgate_types::{InactiveReason, Introspection, RevocationRef};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{error::ApiError, timefmt, AppState};

use super::account_subject;

/// The body's `token` member.
pub fn token_field(body: &Map<String, Value>) -> Result<&str, ApiError> {
    super::required_string(body, "token")
}

/// What a token says of itself, none of it verified yet.
#[derive(Clone, Debug)]
pub struct Unverified {
    /// Its claims.
    pub claims: Claims,
    /// The one room its grants name.
    pub room_id: Uuid,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The header's `alg`.
    pub alg: Option<String>,
}

/// Reads a token without verifying it: `None` unless it is a compact JWS whose payload has the claims' shape and
/// names exactly one room.
pub fn decode(token: &str) -> Option<Unverified> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let (header, payload) = roomgate_token::decode_unverified(token).ok()?;
    let claims: Claims = serde_json::from_value(payload).ok()?;
    let room_id = claims.room_id()?;
    let text = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(Unverified {
        kid: text("kid"),
        alg: text("alg"),
        claims,
        room_id,
    })
}

/// Whether a verification result proves the token was signed or MACed under this server's keys: it verified, or
/// failed on time alone (every claim check but time passed, and those run after the signature's).
pub fn authentic(verified: &Result<Claims, TokenError>) -> bool {
    matches!(
        verified,
        Ok(_) | Err(TokenError::Expired | TokenError::NotYetValid)
    )
}

/// Whether the token's grants name the account as roomgate mints them.
pub fn names_account(claims: &Claims, account_id: Uuid) -> bool {
    let subject = account_subject(account_id);
    claims.grants.iter().any(|g| g.subjects.contains(&subject))
}

/// The reason a verification failure gives.
pub fn reason(error: &TokenError) -> InactiveReason {
    match error {
        TokenError::Expired => InactiveReason::Expired,
        TokenError::NotYetValid => InactiveReason::NotYetValid,
        TokenError::UnknownKey => InactiveReason::UnknownKey,
        TokenError::BadSignature => InactiveReason::BadSignature,
        TokenError::UnsupportedAlgorithm => InactiveReason::UnsupportedAlgorithm,
        TokenError::WrongIssuer => InactiveReason::WrongIssuer,
        TokenError::WrongAudience => InactiveReason::WrongAudience,
        _ => InactiveReason::Malformed,
    }
}

/// A reason's wire name, for metrics and logs.
pub fn reason_label(reason: InactiveReason) -> &'static str {
    match reason {
        InactiveReason::Expired => "expired",
        InactiveReason::NotYetValid => "not_yet_valid",
        InactiveReason::Revoked => "revoked",
        InactiveReason::RoomDeleted => "room_deleted",
        InactiveReason::ApiKeyRevoked => "api_key_revoked",
        InactiveReason::UnknownKey => "unknown_key",
        InactiveReason::BadSignature => "bad_signature",
        InactiveReason::Malformed => "malformed",
        InactiveReason::WrongIssuer => "wrong_issuer",
        InactiveReason::WrongAudience => "wrong_audience",
        InactiveReason::UnsupportedAlgorithm => "unsupported_algorithm",
    }
}

/// The metrics outcome of an answer: `active`, its reason, or `not_ours` for the bare `{"active": false}`.
pub fn outcome(answer: &Introspection) -> &'static str {
    match (answer.active, answer.reason) {
        (true, _) => "active",
        (false, Some(reason)) => reason_label(reason),
        (false, None) => "not_ours",
    }
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// A token permission set on the wire, every member given.
pub fn wire_permissions(p: &roomgate_token::Permissions) -> roomgate_types::Permissions {
    use roomgate_token::Source as From;
    use roomgate_types::Source as To;
    roomgate_types::Permissions {
        can_publish: Some(p.can_publish),
        can_publish_sources: Some(
            p.can_publish_sources
                .iter()
                .map(|s| match s {
                    From::Camera => To::Camera,
                    From::Microphone => To::Microphone,
                    From::ScreenShare => To::ScreenShare,
                    From::ScreenShareAudio => To::ScreenShareAudio,
                })
                .collect(),
        ),
        can_subscribe: Some(p.can_subscribe),
        can_publish_data: Some(p.can_publish_data),
        can_update_metadata: Some(p.can_update_metadata),
        hidden: Some(p.hidden),
        recorder: Some(p.recorder),
        room_admin: Some(p.room_admin),
    }
}

/// What the caller's token says, at `now`; not active, no reason yet.
pub fn describe(token: &Unverified, now: i64) -> Introspection {
    let c = &token.claims;
    let participant = c.participant();
    Introspection {
        active: false,
        typ: Some(kind_name(c.typ).to_owned()),
        room_id: Some(token.room_id.to_string()),
        identity: participant.as_ref().and_then(|p| p.identity.clone()),
        name: participant.as_ref().and_then(|p| p.name.clone()),
        permissions: participant.as_ref().map(|p| wire_permissions(&p.permissions)),
        jti: Some(c.jti.clone()),
        kid: token.kid.clone(),
        iat: Some(c.iat),
        nbf: Some(c.nbf),
        exp: Some(c.exp),
        expires_in: Some(c.exp.saturating_sub(now)),
        server_time: Some(now),
        ..Introspection::default()
    }
}

/// Why verification refused the token, in words and numbers; `validation` is what it was checked against.
pub fn error_detail(error: &TokenError, token: &Unverified, validation: &Validation, now: i64) -> String {
    let c = &token.claims;
    let kid = token.kid.as_deref().unwrap_or("(none)");
    let refresh = c.typ == TokenKind::Refresh;
    match error {
        TokenError::Expired => format!(
            "expired {} s ago (exp {}); server time {now}",
            now.saturating_sub(c.exp),
            c.exp
        ),
        TokenError::NotYetValid if c.nbf > now => format!(
            "not valid for another {} s (nbf {}); server time {now} — is the issuer's clock ahead?",
            c.nbf - now,
            c.nbf
        ),
        TokenError::NotYetValid => format!(
            "issued {} s in the future (iat {}); server time {now} — is the issuer's clock ahead?",
            c.iat.saturating_sub(now),
            c.iat
        ),
        TokenError::UnknownKey => format!(
            "signed under key {kid:?}, which this server does not hold (retired, or another server's)"
        ),
        TokenError::BadSignature => format!(
            "the {} does not verify under key {kid:?}",
            if refresh { "MAC" } else { "signature" }
        ),
        TokenError::UnsupportedAlgorithm => format!(
            "alg {:?} is not one {} tokens use ({})",
            token.alg.as_deref().unwrap_or_default(),
            kind_name(c.typ),
            if refresh {
                "HS256, or EdDSA for refresh tokens minted before they were MACed"
            } else {
                "EdDSA"
            }
        ),
        TokenError::WrongIssuer => format!("iss {:?} is not this server's ({:?})", c.iss, validation.issuer),
        TokenError::WrongAudience => {
            format!("aud {:?} is not this server's ({:?})", c.aud, validation.audience)
        }
        TokenError::UnsupportedGrants => format!(
            "grants_version {:?} is not one this server reads (1.x.x or 2.x.x)",
            c.grants_version
        ),
        TokenError::WrongRoom => format!(
            "no grant of it allows joining room {} (no join action)",
            token.room_id
        ),
        TokenError::Malformed(what) => format!("breaks the token format: {what}"),
        other => format!("breaks the token format: {other}"),
    }
}

/// Why a revocation covers the token, in words.
pub fn revoked_detail(record: &RevocationRecord) -> String {
    let r = &record.revocation;
    format!(
        "revoked by revocation {} ({}) at {}",
        r.id,
        r.selector.name(),
        timefmt::micros_rfc3339(r.created_at)
    )
}

/// Whether an authentic token of a room that no longer exists is the caller's: its grants name the account, or
/// it is a refresh token minted by one of the account's API keys (revoked ones too).
async fn minted_for(app: &AppState, caller: KeyAuth, claims: &Claims) -> Result<bool, ApiError> {
    if names_account(claims, caller.account_id) {
        return Ok(true);
    }
    let Some(key) = claims.api_key_id.filter(|_| claims.typ == TokenKind::Refresh) else {
        return Ok(false);
    };
    // Only authentic tokens that name another account get here: rare, and the key table is small.
    let keys = app.store().list_api_keys().await?;
    Ok(keys
        .iter()
        .any(|k| k.id == key && k.account_id == caller.account_id))
}

/// Introspects `token` for `caller` at the server's time.
pub async fn introspect(app: &AppState, caller: KeyAuth, token: &str) -> Result<Introspection, ApiError> {
    let not_ours = Introspection::default();
    let Some(unverified) = decode(token) else {
        return Ok(not_ours);
    };
    let now = app.now().unix_timestamp();
    let config = app.config();
    let validation = Validation::new(unverified.claims.typ)
        .issuer(&config.issuer)
        .audience(&config.audience)
        .room(unverified.room_id);
    let verified = app.keys().verify(app.store(), token, &validation, now).await;
    match app.store().get_room(caller.account_id, unverified.room_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            // Another account's room, or no room: say nothing unless the token is provably ours and the caller's.
            if app.store().room_exists(unverified.room_id).await?
                || !authentic(&verified)
                || !minted_for(app, caller, &unverified.claims).await?
            {
                return Ok(not_ours);
            }
        }
        Err(e) => return Err(e.into()),
    }
    let mut answer = describe(&unverified, now);
    let claims = match verified {
        Ok(claims) => claims,
        Err(e) => {
            answer.reason = Some(reason(&e));
            answer.detail = Some(error_detail(&e, &unverified, &validation, now));
            return Ok(answer);
        }
    };
    let participant = claims.participant();
    let identity = participant.as_ref().and_then(|p| p.identity.as_deref());
    let facts = super::revocation::token_facts(&claims, unverified.room_id, identity);
    let minted_by = claims.api_key_id.filter(|_| claims.typ == TokenKind::Refresh);
    let (reason, detail, revocation) = match app.store().check_refresh(&facts, minted_by).await? {
        RefreshCheck::Allowed => {
            answer.active = true;
            return Ok(answer);
        }
        RefreshCheck::RoomDeleted => (
            InactiveReason::RoomDeleted,
            format!(
                "room {} was deleted: no token for it is accepted",
                unverified.room_id
            ),
            None,
        ),
        RefreshCheck::KeyRevoked => (
            InactiveReason::ApiKeyRevoked,
            format!(
                "the API key that minted this refresh token ({}) is revoked",
                minted_by.unwrap_or_default()
            ),
            None,
        ),
        RefreshCheck::Revoked(id) => match app.store().find_revocation(&facts).await? {
            Some(record) => (
                InactiveReason::Revoked,
                revoked_detail(&record),
                Some(RevocationRef {
                    id: record.revocation.id.to_string(),
                    reason: record.revocation.reason,
                }),
            ),
            // Pruned between the two reads: it still covered the token a moment ago.
            None => (
                InactiveReason::Revoked,
                format!("revoked by revocation {id}"),
                Some(RevocationRef {
                    id: id.to_string(),
                    reason: None,
                }),
            ),
        },
    };
    answer.reason = Some(reason);
    answer.detail = Some(detail);
    answer.revocation = revocation;
    Ok(answer)
}

#[cfg(test)]
mod tests;
