//! Properties over many generated inputs: valid claims always round-trip, and no single changed byte survives.

use proptest::prelude::*;
use roomgate_token::{jws, verify, Claims, KeySet, SigningKey, TokenKind, TokenSpec, Validation};
use uuid::Uuid;

const CASES: u32 = 256;

/// Valid claims: either kind, any room, 0..4 subjects of printable text, a time and a lifetime in range.
fn claims() -> impl Strategy<Value = (Claims, i64)> {
    (
        prop_oneof![Just(TokenKind::Access), Just(TokenKind::Refresh)],
        any::<u128>(),
        prop::collection::vec("\\PC{0,24}", 0..4),
        "[a-z_]{1,24}",
        "[a-z_]{1,24}",
        0i64..4_000_000_000,
        1i64..=86_400,
        any::<u32>(),
    )
        .prop_map(|(kind, room, subjects, iss, aud, now, ttl, offset)| {
            let claims = Claims::mint(
                &TokenSpec {
                    kind,
                    room_id: Uuid::from_u128(room),
                    subjects,
                    issuer: &iss,
                    audience: &aud,
                    ttl_secs: ttl,
                    participant: None,
                },
                now,
            );
            // Any instant while the token is valid: [iat, exp).
            let at = now + i64::from(offset) % ttl;
            (claims, at)
        })
}

fn validation_for(claims: &Claims) -> Validation {
    let room = claims.room_id().expect("a minted token names one room");
    Validation::new(claims.typ)
        .issuer(&claims.iss)
        .audience(&claims.aud)
        .room(room)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn valid_claims_round_trip(seed in any::<[u8; 32]>(), (claims, at) in claims()) {
        let key = SigningKey::from_seed(&seed);
        let keys = KeySet::new([key.verification_key()]);
        let token = key.sign(&claims);
        let validation = validation_for(&claims);
        prop_assert_eq!(verify(&token, &keys, &validation, at), Ok(claims.clone()));
        // And it stops at exp, exactly.
        prop_assert!(verify(&token, &keys, &validation, claims.exp).is_err());
    }

    #[test]
    fn tokens_are_byte_identical_to_ed25519_dalek_signing(seed in any::<[u8; 32]>(), (claims, _) in claims()) {
        // SigningKey signs with aws-lc-rs; the same header and payload signed by ed25519-dalek.
        let key = SigningKey::from_seed(&seed);
        let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, key.kid());
        let payload = serde_json::to_vec(&claims).expect("claims serialize");
        let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
        prop_assert_eq!(key.sign(&claims), jws::sign_compact(&header, &payload, &dalek));
    }

    #[test]
    fn any_single_byte_change_is_refused(
        seed in any::<[u8; 32]>(),
        (claims, at) in claims(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let key = SigningKey::from_seed(&seed);
        let keys = KeySet::new([key.verification_key()]);
        let token = key.sign(&claims);
        let mut bytes = token.clone().into_bytes();
        let i = position.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        // A change that breaks UTF-8 cannot even be presented as a token.
        if let Ok(mutated) = String::from_utf8(bytes) {
            let validation = validation_for(&claims);
            prop_assert!(
                verify(&mutated, &keys, &validation, at).is_err(),
                "byte {} of {} changed to {:#04x} and still verified",
                i,
                token,
                byte
            );
        }
    }
}
