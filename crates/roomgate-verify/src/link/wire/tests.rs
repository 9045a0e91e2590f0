use serde_json::json;

use super::*;
use crate::revocations::testing::{claims, ROOM};

const SESSION: Uuid = Uuid::from_u128(11);
const PARTICIPANT: Uuid = Uuid::from_u128(12);

fn command(kind: &str, extra: Value) -> Value {
    let mut c = json!({
        "record_type": "room_command", "id": Uuid::from_u128(1), "type": kind, "room_id": ROOM,
        "session_id": SESSION, "participant_id": PARTICIPANT, "kinds": null, "reason": null, "revocation": null,
        "created_at": "2027-01-15T08:00:00.123456Z",
    });
    c.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    c
}

fn parsed(kind: &str, extra: Value) -> Command {
    parse_command(command(kind, extra))
        .expect("valid")
        .expect("known type")
}

#[test]
fn each_known_type_reads_as_its_command() {
    assert_eq!(
        parsed("kick", json!({ "reason": "replaced" })),
        Command::Kick {
            room_id: ROOM,
            session_id: Some(SESSION),
            participant_id: PARTICIPANT,
            reason: Some("replaced".into()),
        }
    );
    assert_eq!(
        parsed("mute", json!({ "kinds": ["video"] })),
        Command::Mute {
            room_id: ROOM,
            session_id: Some(SESSION),
            participant_id: PARTICIPANT,
            kinds: vec![TrackKind::Video],
        }
    );
    assert_eq!(
        parsed("unmute", json!({ "kinds": ["audio", "video"] })),
        Command::Unmute {
            room_id: ROOM,
            session_id: Some(SESSION),
            participant_id: PARTICIPANT,
            kinds: TrackKind::ALL.to_vec(),
        }
    );
    assert_eq!(
        parsed("session_end", json!({ "participant_id": null })),
        Command::SessionEnd {
            room_id: ROOM,
            session_id: SESSION,
        }
    );
}

#[test]
fn mute_kinds_default_to_both_and_unknown_kinds_are_ignored() {
    let Command::Mute { kinds, .. } = parsed("mute", json!({ "kinds": null })) else {
        panic!("a mute")
    };
    assert_eq!(kinds, TrackKind::ALL.to_vec());
    let Command::Unmute { kinds, .. } = parsed("unmute", json!({ "kinds": ["hologram", "audio"] })) else {
        panic!("an unmute")
    };
    assert_eq!(kinds, vec![TrackKind::Audio]);
}

#[test]
fn unknown_types_are_skipped_however_they_look() {
    for unknown in [
        command("hand_raise", json!({})),
        json!({ "type": "x", "room_id": "not a uuid" }),
        json!({ "type": 5 }),
        json!("a string"),
    ] {
        assert_eq!(parse_command(unknown.clone()), Ok(None), "{unknown}");
    }
}

#[test]
fn malformed_commands_of_known_types_are_refused() {
    for (kind, extra) in [
        ("kick", json!({ "participant_id": null })),
        ("mute", json!({ "participant_id": "nope" })),
        ("kick", json!({ "room_id": null })),
        ("kick", json!({ "record_type": "room" })),
        ("mute", json!({ "kinds": "audio" })),
        ("session_end", json!({ "session_id": null })),
        ("revocation", json!({ "revocation": null })),
        (
            "revocation",
            json!({ "revocation": { "record_type": "revocation" } }),
        ),
    ] {
        assert!(
            parse_command(command(kind, extra.clone())).is_err(),
            "{kind} {extra}"
        );
    }
}

#[test]
fn a_revocation_command_covers_what_the_verifier_would_refuse() {
    let revocation = json!({
        "record_type": "revocation", "id": Uuid::from_u128(2), "room_id": ROOM, "identity": "alice",
        "reason": "kicked", "created_at": "2027-01-15T08:00:01Z", "expires_at": "2027-01-15T09:00:00Z",
    });
    let Command::Revocation(r) = parsed("revocation", json!({ "revocation": revocation })) else {
        panic!("a revocation")
    };
    assert_eq!(
        (r.id(), r.room_id(), r.reason()),
        (Uuid::from_u128(2), ROOM, Some("kicked"))
    );
    assert!(r.covers(&claims(Some("alice"))));
    assert!(!r.covers(&claims(Some("bob"))));
    assert!(!r.covers(&claims(None)));
    let shown = format!("{r:?}");
    assert!(!shown.contains("alice") && shown.contains("identity"), "{shown}");
}

#[test]
fn a_participant_reads_with_its_times_and_hides_personal_data_in_debug() {
    let wire = json!({
        "record_type": "room_participant", "id": PARTICIPANT, "session_id": SESSION, "room_id": ROOM,
        "context": "seat 4", "joined_at": "2027-01-15T08:00:00.000001Z", "left_at": null,
        "updated_at": "2027-01-15T08:00:00.000001Z", "identity": "alice", "name": "Alice Liddell",
        "permissions": {"can_publish": true, "can_publish_sources": ["camera", "microphone"], "can_subscribe": true,
            "can_publish_data": false, "can_update_metadata": false, "hidden": false, "recorder": false,
            "room_admin": false},
        "lease_expires_at": "2027-01-15T08:00:30.000001Z", "future_member": 1,
    });
    let p = serde_json::from_value::<WireParticipant>(wire.clone())
        .expect("wire shape")
        .parse()
        .expect("valid");
    assert_eq!((p.id, p.session_id, p.room_id), (PARTICIPANT, SESSION, ROOM));
    assert_eq!(p.identity.as_deref(), Some("alice"));
    assert!(p.permissions.can_publish_source(roomgate_token::Source::Camera));
    assert!(!p
        .permissions
        .can_publish_source(roomgate_token::Source::ScreenShare));
    assert!(!p.permissions.can_publish_data());
    let lease = p.lease_expires_at.expect("leased").duration_since(p.joined_at);
    assert_eq!(lease.expect("after"), std::time::Duration::from_secs(30));
    assert_eq!(p.left_at, None);
    let shown = format!("{p:?}");
    for secret in ["alice", "Alice", "seat 4"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let mut other = wire;
    other["record_type"] = "room".into();
    let refused = serde_json::from_value::<WireParticipant>(other)
        .expect("wire shape")
        .parse();
    assert!(refused.is_err());
}

#[test]
fn error_bodies_map_to_their_variants() {
    let body = |title: &str, meta: Value| {
        serde_json::to_vec(
            &json!({ "errors": [{ "code": "10010", "title": title, "detail": "d", "meta": meta }] }),
        )
        .expect("json")
    };
    assert_eq!(
        api_error(403, &body("Room full", json!({ "max_participants": 2 }))),
        LinkError::RoomFull { max_participants: 2 }
    );
    assert_eq!(
        api_error(403, &body("Authorization failed", json!({ "reason": "expired" }))),
        LinkError::Refused {
            reason: "expired".into()
        }
    );
    assert_eq!(
        api_error(403, &body("Authorization failed", Value::Null)),
        LinkError::Refused {
            reason: "invalid".into()
        }
    );
    assert_eq!(
        api_error(404, &body("Resource not found", Value::Null)),
        LinkError::Api {
            status: 404,
            code: Some("10010".into()),
            detail: Some("d".into())
        }
    );
    assert_eq!(
        api_error(401, b"<html>proxy</html>"),
        LinkError::Api {
            status: 401,
            code: None,
            detail: None
        }
    );
}
