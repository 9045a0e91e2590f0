//! Shared fixture for the rejection tests.

use roomgate_token::{jws, verify, Claims, KeySet, SigningKey, TokenError, TokenKind, TokenSpec, Validation};
use roomgate_token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use uuid::Uuid;

pub const NOW: i64 = 1_700_000_000;
pub const ROOM: Uuid = Uuid::from_u128(0xabcd_ef01_2345_4678_9abc_def0_1234_5678);

pub struct Fx {
    pub key: SigningKey,
    pub dalek: ed25519_dalek::SigningKey,
    pub keys: KeySet,
}

pub fn fx() -> Fx {
    let key = SigningKey::from_seed(&[0x5a; 32]);
    let dalek = ed25519_dalek::SigningKey::from_bytes(key.seed());
    let keys = KeySet::new([key.verification_key()]);
    Fx { key, dalek, keys }
}

pub fn claims_with(subjects: Vec<String>) -> Claims {
    let mut c = Claims::mint(
        &TokenSpec {
            kind: TokenKind::Access,
            room_id: ROOM,
            subjects,
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: None,
        },
        NOW,
    );
    c.jti = "6f1c1f3e-8f44-4c57-9d0e-2c1b7c3f9a10".into();
    c
}

pub fn claims() -> Claims {
    claims_with(vec!["alice".into()])
}

pub fn payload() -> String {
    serde_json::to_string(&claims()).unwrap()
}

impl Fx {
    pub fn header(&self) -> String {
        format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, self.key.kid())
    }
    pub fn sign(&self, header: &str, payload: &str) -> String {
        jws::sign_compact(header, payload.as_bytes(), &self.dalek)
    }
    pub fn sign_payload(&self, payload: &str) -> String {
        self.sign(&self.header(), payload)
    }
    pub fn check(&self, token: &str) -> Result<Claims, TokenError> {
        verify(
            token,
            &self.keys,
            &Validation::new(TokenKind::Access).room(ROOM),
            NOW,
        )
    }
    pub fn check_with(&self, token: &str, v: &Validation, now: i64) -> Result<Claims, TokenError> {
        verify(token, &self.keys, v, now)
    }
}

pub fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

pub fn is_malformed(r: Result<Claims, TokenError>) -> bool {
    matches!(r, Err(TokenError::Malformed(_)))
}
