//! Admission, its refusals, leaving, and leases kept (or not) by the link.

use std::time::Duration;

use roomgate_server::testing::Backend;
use roomgate_store::backend_test;
use roomgate_verify::{Command, Link, LinkError, Permissions, Uuid, Verifier};
use serde_json::json;

use super::{link, live, moderate, next_from_feed, token, LEASE, WITHIN};

backend_test! {
    async fn admit_returns_the_participant_and_renews_it(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let link = link(&app);
        let alice = token(&app, "alice").await;
        let p = link.admit(&alice.access, Some("seat 4")).await.expect("admitted");
        assert_eq!(p.room_id, app.room);
        assert_eq!(p.identity.as_deref(), Some("alice"));
        assert_eq!(p.name.as_deref(), Some("alice (display)"));
        assert_eq!(p.context.as_deref(), Some("seat 4"));
        assert_eq!(p.permissions, Permissions::V1, "the token's defaults");
        assert_eq!(p.left_at, None);
        let lease = p.lease_expires_at.expect("leased").duration_since(p.joined_at).expect("after joining");
        assert_eq!(lease, LEASE);
        assert!(link.is_tracked(p.id));
        // The claims the media server verified say the same.
        let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
        let claims = verifier.verify_access_token(&alice.access, app.room, alice.iat).await.expect("verifies");
        assert_eq!(claims.participant().expect("v2").permissions, p.permissions);

        // A second participant joins the same session; a version 1 token (no identity) is admitted too.
        let anonymous = app.mint().await;
        let q = link.admit(&anonymous.access, None).await.expect("admitted");
        assert_eq!((q.session_id, q.identity, q.context), (p.session_id, None, None));
        assert_eq!(link.renewal_stats().tracked, 2);
    }
}

backend_test! {
    async fn a_full_room_is_refused_as_room_full(backend: Backend) {
        let app = live(backend, LEASE, 2).await;
        let link = link(&app);
        for who in ["alice", "bob"] {
            link.admit(&token(&app, who).await.access, None).await.expect("room for two");
        }
        let err = link.admit(&token(&app, "carol").await.access, None).await.unwrap_err();
        assert_eq!(err, LinkError::RoomFull { max_participants: 2 });
        assert!(!err.is_retryable());
        assert_eq!(link.renewal_stats().tracked, 2, "carol is not tracked");
    }
}

backend_test! {
    async fn an_inadmissible_token_is_refused_with_its_reason(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let link = link(&app);
        let refused = |reason: &str| LinkError::Refused { reason: reason.into() };

        let revoked = token(&app, "mallory").await;
        app.revoke(json!({ "jti": revoked.jti })).await;
        assert_eq!(link.admit(&revoked.access, None).await.unwrap_err(), refused("revoked"));
        assert_eq!(link.admit("not.a.token", None).await.unwrap_err(), refused("invalid"));
        let refresh = token(&app, "eve").await.refresh;
        assert!(matches!(link.admit(&refresh, None).await, Err(LinkError::Refused { .. })));

        // A token of another account's room: roomgate says no more than "invalid".
        let other = app.server.new_api_key("other").await;
        let theirs = Link::builder(&app.base, &other.secret).build().expect("link");
        let err = theirs.admit(&token(&app, "trudy").await.access, None).await.unwrap_err();
        assert_eq!(err, refused("invalid"));

        // Past the token's expiry (and any leeway) on roomgate's clock.
        let late = token(&app, "late").await;
        app.server.set_clock(late.exp + 120);
        assert_eq!(link.admit(&late.access, None).await.unwrap_err(), refused("expired"));
        assert_eq!(link.renewal_stats().tracked, 0);
    }
}

#[tokio::test]
async fn a_wrong_api_key_is_an_api_error_and_ends_the_command_stream() {
    let app = live(Backend::Sqlite, LEASE, 10).await;
    let secret = "rg_not_a_key_of_this_roomgate";
    let link = Link::builder(&app.base, secret).build().expect("link");
    let err = link
        .admit(&token(&app, "alice").await.access, None)
        .await
        .unwrap_err();
    assert!(matches!(err, LinkError::Api { status: 401, .. }), "{err:?}");
    let mut commands = link.commands();
    let ended = tokio::time::timeout(WITHIN, commands.next())
        .await
        .expect("ends at once");
    assert_eq!(ended, None);
    assert!(matches!(
        commands.last_error(),
        Some(LinkError::Api { status: 401, .. })
    ));
    let shown = format!("{err} {err:?} {link:?} {commands:?}");
    assert!(!shown.contains(secret), "{shown}");
}

backend_test! {
    async fn leave_marks_the_participant_left_and_stops_renewing_it(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let link = link(&app);
        let p = link.admit(&token(&app, "alice").await.access, None).await.expect("admitted");
        let left = link.leave(p.id).await.expect("left");
        assert_eq!(left.id, p.id);
        let left_at = left.left_at.expect("left_at set");
        assert!(left_at >= p.joined_at);
        assert_eq!(left.lease_expires_at, None);
        assert!(!link.is_tracked(p.id));
        let again = link.leave(p.id).await.expect("idempotent");
        assert_eq!(again.left_at, Some(left_at), "unchanged");
        // The last one left: the session ended.
        let (_, room) = app.call("GET", &format!("/v2/rooms/{}", app.room), None).await;
        assert_eq!(room["data"]["active_session_id"], serde_json::Value::Null, "{room}");
        let unknown = link.leave(Uuid::new_v4()).await.unwrap_err();
        assert!(matches!(unknown, LinkError::Api { status: 404, .. }), "{unknown:?}");
    }
}

backend_test! {
    async fn renewal_keeps_a_participant_past_its_lease_while_an_unrenewed_one_expires(backend: Backend) {
        let lease = Duration::from_secs(1);
        let app = live(backend, lease, 10).await;
        // One link renews every third of the lease (the default), the other never in this test.
        let renewing = link(&app);
        let idle = Link::builder(&app.base, &app.api_key)
            .renew_interval(Duration::from_secs(3600))
            .build()
            .expect("link");
        let alice = renewing.admit(&token(&app, "alice").await.access, None).await.expect("admitted");
        let bob = idle.admit(&token(&app, "bob").await.access, None).await.expect("admitted");
        tokio::time::sleep(lease * 4).await;

        // bob's lease ran out: roomgate counts him as left at its expiry, and a renewal finds him gone.
        let mut idle_commands = idle.commands();
        idle.renew_now().await.expect("renewal answered");
        assert!(!idle.is_tracked(bob.id));
        let gone = next_from_gone(&mut idle_commands).await;
        assert_eq!(gone, Command::Gone { participant_id: bob.id });
        let bob_left = idle.leave(bob.id).await.expect("already left");
        assert_eq!(bob_left.left_at, bob.lease_expires_at, "left when the lease ran out");

        // alice is still live, her lease renewed meanwhile.
        let stats = renewing.renewal_stats();
        assert!(stats.renewals_ok >= 3 && stats.last_error.is_none(), "{stats:?}");
        assert!(renewing.is_tracked(alice.id));
        let ids = json!({ "participant_ids": [alice.id, bob.id] });
        let (status, renewal) = app.call("POST", "/v2/room_participants/actions/renew", Some(ids)).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{renewal}");
        assert_eq!(renewal["data"]["renewed"], json!([alice.id]), "{renewal}");
        assert_eq!(renewal["data"]["gone"], json!([bob.id]), "{renewal}");
    }
}

/// The next command within [`WITHIN`], which must be one of the link's own.
async fn next_from_gone(commands: &mut roomgate_verify::Commands) -> Command {
    tokio::time::timeout(WITHIN, commands.next())
        .await
        .expect("a command")
        .expect("the stream goes on")
}

backend_test! {
    async fn a_second_admission_of_the_same_identity_replaces_the_first(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let link = link(&app);
        let mut commands = link.commands();
        let first = link.admit(&token(&app, "alice").await.access, None).await.expect("admitted");
        let second = link.admit(&token(&app, "alice").await.access, None).await.expect("admitted");
        assert_eq!(second.session_id, first.session_id);
        let kick = next_from_feed(&mut commands).await;
        assert_eq!(
            kick,
            Command::Kick {
                room_id: app.room,
                session_id: Some(first.session_id),
                participant_id: first.id,
                reason: Some("replaced".into()),
            }
        );
        assert!(!link.is_tracked(first.id) && link.is_tracked(second.id));
        // Not kicked by moderation: the second one is not followed by a revocation of alice.
        moderate(&app, second.session_id, "mute", json!({ "participants": [second.id] })).await;
        assert!(matches!(next_from_feed(&mut commands).await, Command::Mute { participant_id, .. } if participant_id == second.id));
    }
}
