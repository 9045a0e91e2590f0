//! The control feed: moderation on roomgate reaches the stream in order, and a stream resumed from a cursor
//! loses nothing.

use std::time::Duration;

use roomgate_store::backend_test;
use roomgate_verify::{Claims, Command, Link, RevocationCommand, TrackKind, Verifier};
use serde_json::json;

use super::{link, live, moderate, next_from_feed, stays_quiet, token, LEASE};
use crate::roomgate::{Minted, Roomgate};

async fn claims(app: &Roomgate, minted: &Minted) -> Claims {
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    verifier
        .verify_access_token(&minted.access, app.room, minted.iat)
        .await
        .expect("verifies")
}

/// The two commands one moderation call published, in either order: the revocation second.
fn with_revocation(a: Command, b: Command) -> (Command, RevocationCommand) {
    match (a, b) {
        (Command::Revocation(r), other) | (other, Command::Revocation(r)) => (other, r),
        pair => panic!("no revocation among {pair:?}"),
    }
}

backend_test! {
    async fn moderation_reaches_the_stream_in_order(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let link = link(&app);
        let (alice_token, bob_token) = (token(&app, "alice").await, token(&app, "bob").await);
        let alice = link.admit(&alice_token.access, None).await.expect("admitted");
        let bob = link.admit(&bob_token.access, None).await.expect("admitted");
        let (room_id, session) = (app.room, alice.session_id);
        let mut commands = link.commands();

        let alice_only = |kinds: serde_json::Value| json!({ "participants": [alice.id], "kinds": kinds });
        moderate(&app, session, "mute", alice_only(json!(["audio"]))).await;
        moderate(&app, session, "unmute", alice_only(json!(["audio"]))).await;
        moderate(&app, session, "kick", json!({ "participants": [alice.id] })).await;
        moderate(&app, session, "end", json!({})).await;

        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(next_from_feed(&mut commands).await);
        }
        let mut got = got.into_iter();
        let mut next = || got.next().expect("six commands");
        let (session_id, participant_id) = (Some(session), alice.id);
        let kinds = vec![TrackKind::Audio];
        assert_eq!(next(), Command::Mute { room_id, session_id, participant_id, kinds: kinds.clone() });
        assert_eq!(next(), Command::Unmute { room_id, session_id, participant_id, kinds });

        let (alice_claims, bob_claims) = (claims(&app, &alice_token).await, claims(&app, &bob_token).await);
        let (kick, kicked) = with_revocation(next(), next());
        let reason = Some("kicked".to_owned());
        assert_eq!(kick, Command::Kick { room_id, session_id, participant_id, reason });
        assert_eq!(kicked.room_id(), room_id);
        assert!(kicked.covers(&alice_claims), "the kick revokes alice's token");
        assert!(!kicked.covers(&bob_claims), "and only hers");

        let (end, ended) = with_revocation(next(), next());
        assert_eq!(end, Command::SessionEnd { room_id, session_id: session });
        assert!(ended.covers(&bob_claims) && ended.covers(&alice_claims), "every token issued before the end");
        assert!(!link.is_tracked(alice.id) && !link.is_tracked(bob.id), "neither is renewed any more");
    }
}

backend_test! {
    async fn a_link_resumed_after_its_cursor_loses_nothing(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let first = link(&app);
        let alice = first.admit(&token(&app, "alice").await.access, None).await.expect("admitted");
        let bob = first.admit(&token(&app, "bob").await.access, None).await.expect("admitted");
        let session = alice.session_id;
        let act = |action: &'static str, id, kind: &'static str| {
            moderate(&app, session, action, json!({ "participants": [id], "kinds": [kind] }))
        };
        let mut commands = first.commands();
        assert_eq!(commands.cursor(), None);
        act("mute", alice.id, "audio").await;
        let muted = next_from_feed(&mut commands).await;
        assert!(matches!(muted, Command::Mute { participant_id, .. } if participant_id == alice.id));
        let cursor = commands.cursor().expect("past the page").to_owned();
        drop((commands, first));

        // Published while no link follows the feed.
        act("mute", bob.id, "video").await;
        act("unmute", alice.id, "audio").await;

        let resumed = |cursor: &str| {
            Link::builder(&app.base, &app.api_key)
                .feed_wait(Duration::from_secs(1))
                .resume_after(cursor)
                .build()
                .expect("link")
        };
        let second = resumed(&cursor);
        let mut commands = second.commands();
        assert_eq!(commands.cursor(), Some(cursor.as_str()));
        let participant = |c: &Command| match c {
            Command::Mute { participant_id, kinds, .. } => ("mute", *participant_id, kinds.clone()),
            Command::Unmute { participant_id, kinds, .. } => ("unmute", *participant_id, kinds.clone()),
            other => panic!("not a mute or unmute: {other:?}"),
        };
        assert_eq!(participant(&next_from_feed(&mut commands).await), ("mute", bob.id, vec![TrackKind::Video]));
        assert_eq!(participant(&next_from_feed(&mut commands).await), ("unmute", alice.id, vec![TrackKind::Audio]));
        assert_eq!(stays_quiet(&mut commands, Duration::from_secs(2)).await, None, "nothing repeated");

        // A link without a cursor starts at the oldest command kept; one resumed from the second's cursor gets
        // only what comes next.
        let mut from_oldest = link(&app).commands();
        assert_eq!(participant(&next_from_feed(&mut from_oldest).await), ("mute", alice.id, vec![TrackKind::Audio]));
        let third = resumed(commands.cursor().expect("a cursor"));
        let mut commands = third.commands();
        assert_eq!(stays_quiet(&mut commands, Duration::from_secs(2)).await, None);
        act("mute", bob.id, "audio").await;
        assert_eq!(participant(&next_from_feed(&mut commands).await), ("mute", bob.id, vec![TrackKind::Audio]));
    }
}
