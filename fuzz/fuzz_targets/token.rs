//! The token parser and verifiers on arbitrary input: `decode_unverified`, `verify` and `verify_refresh` must
//! return an error, never panic, and accept only what the fixed key (or its refresh secret) really authenticated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roomgate_token::{
    decode_unverified, verify, verify_refresh, KeySet, RefreshKey, RefreshKeys, SigningKey, TokenKind, Validation,
};

/// The key the seed corpus was signed with (see README.md).
const SEED: [u8; 32] = [7; 32];
/// Within the lifetime of the seed tokens.
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = decode_unverified(token);
    let signer = SigningKey::from_seed(&SEED);
    let keys = KeySet::new([signer.verification_key()]);
    let refresh_keys = RefreshKeys::new([RefreshKey::derive(&signer)]);
    for kind in [TokenKind::Access, TokenKind::Refresh] {
        for now in [0, NOW, i64::MAX] {
            if let Ok(claims) = verify(token, &keys, &Validation::new(kind), now) {
                // Whatever verifies decodes, and its claims pass the checks verify applied.
                assert!(decode_unverified(token).is_ok());
                assert_eq!(claims.typ, kind);
                assert!(now < claims.exp);
            }
        }
    }
    for now in [0, NOW, i64::MAX] {
        let validation = Validation::new(TokenKind::Refresh);
        if let Ok(claims) = verify_refresh(token, &refresh_keys, Some(&keys), &validation, now) {
            assert!(decode_unverified(token).is_ok());
            assert_eq!(claims.typ, TokenKind::Refresh);
            assert!(now < claims.exp);
        }
    }
});
