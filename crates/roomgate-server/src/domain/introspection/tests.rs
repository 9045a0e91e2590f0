//! Unit tests of introspection's pure parts.
use super::*;
use crate::error::InvalidCode;
use roomgate_store::{NewRevocation, RevocationSelector};
use roomgate_token::{Participant, SigningKey, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use serde_json::json;

const NOW: i64 = 1_764_600_000;
const ROOM: Uuid = Uuid::from_u128(7);
const ACCOUNT: Uuid = Uuid::from_u128(9);

fn claims(kind: TokenKind, participant: Option<&Participant>) -> Claims {
    Claims::mint(
        &TokenSpec {
            kind,
            room_id: ROOM,
            subjects: vec![account_subject(ACCOUNT)],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant,
        },
        NOW,
    )
}

fn unverified(claims: Claims) -> Unverified {
    Unverified {
        claims,
        room_id: ROOM,
        kid: Some("k1".into()),
        alg: Some("EdDSA".into()),
    }
}

/// Whether `e` is the 422 `code` at `/token`.
fn at_token(e: &ApiError, want: InvalidCode) -> bool {
    use crate::error::Location;
    matches!(e, ApiError::Invalid { code, location: Location::Pointer(p), .. } if *code == want && p == "/token")
}

#[test]
fn token_is_a_required_string() {
    let body = |v: Value| v.as_object().cloned().unwrap_or_default();
    assert_eq!(token_field(&body(json!({"token": "t"}))).unwrap(), "t");
    for missing in [json!({}), json!({"token": null})] {
        let e = token_field(&body(missing)).unwrap_err();
        assert!(at_token(&e, InvalidCode::Missing), "{e:?}");
    }
    for wrong in [json!(1), json!(true), json!(["t"]), json!({"t": 1})] {
        let e = token_field(&body(json!({ "token": wrong }))).unwrap_err();
        assert!(at_token(&e, InvalidCode::WrongType), "{e:?}");
    }
}

#[test]
fn decoding_needs_a_jws_with_claims_naming_one_room() {
    let key = SigningKey::from_seed(&[3; 32]);
    let token = key.sign(&claims(TokenKind::Access, None));
    let decoded = decode(&token).expect("decodes");
    assert_eq!(decoded.room_id, ROOM);
    assert_eq!(decoded.kid.as_deref(), Some(key.kid()));
    assert_eq!(decoded.alg.as_deref(), Some("EdDSA"));

    let mut roomless = claims(TokenKind::Access, None);
    roomless.grants[0].resources.clear();
    let mut two_rooms = claims(TokenKind::Access, None);
    two_rooms.grants[0]
        .resources
        .push(format!("telnyx:video:rooms:{}", Uuid::from_u128(8)));
    let long = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
    for bad in [
        String::new(),
        "garbage".into(),
        "a.b.c".into(),
        key.sign(&roomless),
        key.sign(&two_rooms),
        long,
    ] {
        assert!(decode(&bad).is_none(), "{bad:.60}");
    }
}

#[test]
fn only_signature_proving_results_are_authentic() {
    let ok = Ok(claims(TokenKind::Access, None));
    assert!(authentic(&ok));
    for e in [TokenError::Expired, TokenError::NotYetValid] {
        assert!(authentic(&Err(e)));
    }
    for e in [
        TokenError::UnknownKey,
        TokenError::BadSignature,
        TokenError::UnsupportedAlgorithm,
        TokenError::Malformed("x"),
        TokenError::WrongIssuer,
        TokenError::WrongAudience,
        TokenError::WrongRoom,
        TokenError::UnsupportedGrants,
    ] {
        assert!(!authentic(&Err(e.clone())), "{e:?}");
    }
}

#[test]
fn an_account_is_named_by_its_exact_subject() {
    let c = claims(TokenKind::Access, None);
    assert!(names_account(&c, ACCOUNT));
    assert!(!names_account(&c, Uuid::from_u128(10)));
    let mut prefixed = c.clone();
    prefixed.grants[0].subjects = vec![format!("{}x", account_subject(ACCOUNT))];
    assert!(!names_account(&prefixed, ACCOUNT));
}

#[test]
fn errors_map_to_reasons_and_labels() {
    for (e, want) in [
        (TokenError::Expired, "expired"),
        (TokenError::NotYetValid, "not_yet_valid"),
        (TokenError::UnknownKey, "unknown_key"),
        (TokenError::BadSignature, "bad_signature"),
        (TokenError::UnsupportedAlgorithm, "unsupported_algorithm"),
        (TokenError::WrongIssuer, "wrong_issuer"),
        (TokenError::WrongAudience, "wrong_audience"),
        (TokenError::Malformed("x"), "malformed"),
        (TokenError::WrongKind, "malformed"),
        (TokenError::WrongRoom, "malformed"),
        (TokenError::UnsupportedGrants, "malformed"),
        (TokenError::TooLong, "malformed"),
    ] {
        let r = reason(&e);
        assert_eq!(reason_label(r), want, "{e:?}");
        // The label is the wire name.
        assert_eq!(serde_json::to_value(r).unwrap(), want);
    }
    for r in [
        InactiveReason::Revoked,
        InactiveReason::RoomDeleted,
        InactiveReason::ApiKeyRevoked,
    ] {
        assert_eq!(serde_json::to_value(r).unwrap(), reason_label(r));
    }
    assert_eq!(outcome(&Introspection::default()), "not_ours");
    let active = Introspection {
        active: true,
        ..Introspection::default()
    };
    assert_eq!(outcome(&active), "active");
    let revoked = Introspection {
        reason: Some(InactiveReason::Revoked),
        ..Introspection::default()
    };
    assert_eq!(outcome(&revoked), "revoked");
}

#[test]
fn description_carries_every_member_the_token_has() {
    let v1 = describe(&unverified(claims(TokenKind::Refresh, None)), NOW + 100);
    assert_eq!(
        serde_json::to_value(&v1).unwrap(),
        json!({
            "active": false, "typ": "refresh", "room_id": ROOM.to_string(),
            "permissions": {
                "can_publish": true,
                "can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
                "can_subscribe": true, "can_publish_data": true, "can_update_metadata": false,
                "hidden": false, "recorder": false, "room_admin": false,
            },
            "jti": v1.jti.clone().unwrap(), "kid": "k1", "iat": NOW, "nbf": NOW - 1, "exp": NOW + 600,
            "expires_in": 500, "server_time": NOW + 100,
        })
    );
    let alice = Participant {
        identity: Some("alice".into()),
        name: Some("Alice".into()),
        metadata: Some("m".into()),
        permissions: roomgate_token::Permissions {
            can_publish_sources: [roomgate_token::Source::Camera].into_iter().collect(),
            room_admin: true,
            hidden: true,
            ..roomgate_token::Permissions::V1
        },
    };
    let v2 = describe(&unverified(claims(TokenKind::Access, Some(&alice))), NOW + 700);
    assert_eq!(v2.typ.as_deref(), Some("access"));
    assert_eq!(
        (v2.identity.as_deref(), v2.name.as_deref()),
        (Some("alice"), Some("Alice"))
    );
    assert_eq!(v2.expires_in, Some(-100));
    let p = v2.permissions.unwrap();
    assert_eq!(p.can_publish_sources, Some(vec![roomgate_types::Source::Camera]));
    assert_eq!(
        (p.can_publish, p.room_admin, p.hidden, p.recorder),
        (Some(true), Some(true), Some(true), Some(false))
    );
    let mut unknown = claims(TokenKind::Access, None);
    unknown.grants_version = "3.0.0".into();
    assert_eq!(describe(&unverified(unknown), NOW).permissions, None);
}

#[test]
fn details_say_it_with_numbers() {
    let v = Validation::new(TokenKind::Access).issuer("us").audience("them");
    let t = unverified(claims(TokenKind::Access, None));
    let detail = |e: TokenError, now: i64| error_detail(&e, &t, &v, now);
    assert_eq!(
        detail(TokenError::Expired, NOW + 642),
        format!("expired 42 s ago (exp {}); server time {}", NOW + 600, NOW + 642)
    );
    assert_eq!(
        detail(TokenError::NotYetValid, NOW - 31),
        format!(
            "not valid for another 30 s (nbf {}); server time {} — is the issuer's clock ahead?",
            NOW - 1,
            NOW - 31
        )
    );
    let mut iat_ahead = t.clone();
    iat_ahead.claims.nbf = 0;
    assert_eq!(
        error_detail(&TokenError::NotYetValid, &iat_ahead, &v, NOW - 5),
        format!(
            "issued 5 s in the future (iat {NOW}); server time {} — is the issuer's clock ahead?",
            NOW - 5
        )
    );
    assert_eq!(
        detail(TokenError::WrongIssuer, NOW),
        "iss \"telnyx_access_token\" is not this server's (\"us\")"
    );
    assert_eq!(
        detail(TokenError::WrongAudience, NOW),
        "aud \"telnyx_access_token\" is not this server's (\"them\")"
    );
    assert!(detail(TokenError::UnknownKey, NOW).contains("\"k1\""));
    assert_eq!(
        detail(TokenError::BadSignature, NOW),
        "the signature does not verify under key \"k1\""
    );
    assert_eq!(
        detail(TokenError::UnsupportedAlgorithm, NOW),
        "alg \"EdDSA\" is not one access tokens use (EdDSA)"
    );
}

#[test]
fn revoked_detail_names_the_revocation_its_selector_and_time() {
    let record = RevocationRecord {
        seq: 1,
        revocation: NewRevocation {
            id: Uuid::from_u128(5),
            account_id: ACCOUNT,
            room_id: ROOM,
            selector: RevocationSelector::Identity("alice".into()),
            reason: None,
            created_at: 1_764_600_000_250_000,
            expires_at: 0,
        },
    };
    assert_eq!(
        revoked_detail(&record),
        "revoked by revocation 00000000-0000-0000-0000-000000000005 (identity) at \
         2025-12-01T14:40:00.250000Z"
    );
}
