use uuid::Uuid;

/// Unix time in microseconds: what the store keeps for rooms, API keys, accounts and revocations.
pub type UnixMicros = i64;

/// Unix time in whole seconds: signing keys' times, and tokens' `iat` (as the tokens carry it).
pub type UnixSecs = i64;

/// A room as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomRecord {
    /// Room id.
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// Name unique within the account.
    pub unique_name: Option<String>,
    /// 2..=50.
    pub max_participants: i32,
    /// Record sessions.
    pub enable_recording: bool,
    /// Webhook URL.
    pub webhook_event_url: Option<String>,
    /// Webhook failover URL.
    pub webhook_event_failover_url: Option<String>,
    /// Webhook timeout, seconds.
    pub webhook_timeout_secs: Option<i32>,
    /// Unix microseconds.
    pub created_at: UnixMicros,
    /// Unix microseconds.
    pub updated_at: UnixMicros,
    /// The session in progress, if any (read from the sessions; ignored when a room is stored).
    pub active_session_id: Option<Uuid>,
}

/// Changes to a room: `Some(v)` sets the field to `v` (which may be `None` for nullable fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomPatch {
    /// New unique name.
    pub unique_name: Option<Option<String>>,
    /// New participant limit.
    pub max_participants: Option<i32>,
    /// New recording flag.
    pub enable_recording: Option<bool>,
    /// New webhook URL.
    pub webhook_event_url: Option<Option<String>>,
    /// New webhook failover URL.
    pub webhook_event_failover_url: Option<Option<String>>,
    /// New webhook timeout.
    pub webhook_timeout_secs: Option<Option<i32>>,
}

/// Which rooms to list. Time bounds are Unix microseconds, `from` inclusive and `until` exclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomFilter {
    /// Exact unique name.
    pub unique_name: Option<String>,
    /// `created_at >= created_from`.
    pub created_from: Option<UnixMicros>,
    /// `created_at < created_until`.
    pub created_until: Option<UnixMicros>,
    /// `updated_at >= updated_from`.
    pub updated_from: Option<UnixMicros>,
    /// `updated_at < updated_until`.
    pub updated_until: Option<UnixMicros>,
}

/// A key to store: only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    /// Key id (not secret).
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// Free-form label.
    pub name: Option<String>,
    /// The first characters of the secret, to recognise it in listings.
    pub prefix: String,
    /// SHA-256 of the whole secret.
    pub key_hash: [u8; 32],
    /// Unix microseconds.
    pub created_at: UnixMicros,
}

/// A stored API key, as listed (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Key id.
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// Owning account's name.
    pub account_name: String,
    /// Free-form label.
    pub name: Option<String>,
    /// The first characters of the secret.
    pub prefix: String,
    /// Unix microseconds.
    pub created_at: UnixMicros,
    /// Unix microseconds, if revoked.
    pub revoked_at: Option<UnixMicros>,
}

/// Who an API key speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAuth {
    /// Key id.
    pub api_key_id: Uuid,
    /// Account id.
    pub account_id: Uuid,
}

/// What the refresh path's one read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshCheck {
    /// The room exists and the minting API key, if the token names one, is active.
    Allowed,
    /// The room was deleted.
    RoomDeleted,
    /// The API key that minted the token was revoked (or never existed).
    KeyRevoked,
    /// A revocation of the room covers the token (its id).
    Revoked(Uuid),
}

impl RefreshCheck {
    /// The answer for these facts; a deleted room outranks a revoked key, which outranks a revocation.
    pub fn from_facts(room_exists: bool, key_active: bool, revocation: Option<Uuid>) -> Self {
        match (room_exists, key_active, revocation) {
            (false, _, _) => RefreshCheck::RoomDeleted,
            (true, false, _) => RefreshCheck::KeyRevoked,
            (true, true, Some(id)) => RefreshCheck::Revoked(id),
            (true, true, None) => RefreshCheck::Allowed,
        }
    }
}

/// A signing key as stored. `Debug` never shows the private part.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Private key bytes (the 32-byte Ed25519 seed).
    pub private_key: Vec<u8>,
    /// Public key bytes.
    pub public_key: Vec<u8>,
    /// Unix seconds (like a token's `iat` and `exp`, which the key's dates are compared with).
    pub created_at_secs: UnixSecs,
    /// Unix seconds from which it signs.
    pub activate_at_secs: UnixSecs,
    /// Unix seconds from which it is no longer published.
    pub retire_at_secs: Option<UnixSecs>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .field("created_at_secs", &self.created_at_secs)
            .field("activate_at_secs", &self.activate_at_secs)
            .field("retire_at_secs", &self.retire_at_secs)
            .finish()
    }
}

/// Which of a room's tokens a revocation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationSelector {
    /// The one token (access or refresh) with this `jti`.
    Jti(Uuid),
    /// Every token of the participant with this identity issued before the revocation.
    Identity(String),
    /// Every token issued before this instant (Unix microseconds).
    IssuedBefore(UnixMicros),
}

impl RevocationSelector {
    /// The selector's name on the wire: `jti`, `identity` or `issued_before`.
    pub fn name(&self) -> &'static str {
        match self {
            RevocationSelector::Jti(_) => "jti",
            RevocationSelector::Identity(_) => "identity",
            RevocationSelector::IssuedBefore(_) => "issued_before",
        }
    }

    /// For the identity and issued-before selectors: tokens whose `iat` (whole Unix seconds) is below this are
    /// covered. A token's `iat` has one-second resolution, so the cut-off is rounded up to the next whole
    /// second: a token issued in the same second as the cut-off counts as issued before it.
    pub fn iat_before(&self, created_at: UnixMicros) -> Option<UnixSecs> {
        match self {
            RevocationSelector::Jti(_) => None,
            RevocationSelector::Identity(_) => Some(ceil_secs(created_at)),
            RevocationSelector::IssuedBefore(at) => Some(ceil_secs(*at)),
        }
    }
}

/// The smallest whole Unix second at or after `micros`.
pub fn ceil_secs(micros: UnixMicros) -> UnixSecs {
    micros.div_euclid(1_000_000) + i64::from(micros.rem_euclid(1_000_000) != 0)
}

/// A revocation to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRevocation {
    /// Revocation id.
    pub id: Uuid,
    /// The room's account.
    pub account_id: Uuid,
    /// The room whose tokens it covers.
    pub room_id: Uuid,
    /// What it covers.
    pub selector: RevocationSelector,
    /// Free-form, at most 256 bytes.
    pub reason: Option<String>,
    /// Unix microseconds.
    pub created_at: UnixMicros,
    /// Unix microseconds from which no token it covers can still be valid (it may be pruned then).
    pub expires_at: UnixMicros,
}

/// A stored revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRecord {
    /// Its place in the account's feed: every revocation of the account committed before it has a lower one.
    pub seq: i64,
    /// The revocation as stored.
    pub revocation: NewRevocation,
}

/// What the refresh path (and introspection) knows of a verified token, to look its revocations up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenFacts<'a> {
    /// The token's room.
    pub room_id: Uuid,
    /// The token's `jti`, if it is a UUID (every token roomgate mints).
    pub jti: Option<Uuid>,
    /// The participant's identity (version 2 tokens that name one).
    pub identity: Option<&'a str>,
    /// The token's `iat`, Unix seconds.
    pub iat: UnixSecs,
}
