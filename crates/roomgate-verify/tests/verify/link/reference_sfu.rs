//! The reference SFU (the example's core) against the real roomgate: it disconnects whom the feed says, and
//! roomgate then refuses the kicked participant's refresh.

use std::{sync::Arc, time::Duration};

use roomgate_store::backend_test;
use roomgate_verify::{Command, LinkError, Uuid, Verifier};
use serde_json::json;

use super::{
    link, live, moderate,
    sfu::{Disconnect, JoinError, Sfu},
    token, LEASE, WITHIN,
};
use crate::roomgate::{Minted, Roomgate};

/// An SFU verifying with roomgate's JWKS and admitting through a link, obeying its feed in the background.
fn start(app: &Roomgate) -> Arc<Sfu> {
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let link = link(app);
    let sfu = Sfu::new(verifier, link.clone());
    tokio::spawn({
        let sfu = sfu.clone();
        async move { sfu.obey(link.commands()).await }
    });
    sfu
}

async fn join(sfu: &Sfu, app: &Roomgate, minted: &Minted) -> Uuid {
    match sfu.join(app.room, &minted.access, minted.iat).await {
        Ok(id) => id,
        Err(JoinError::Token(e)) => panic!("does not verify: {e}"),
        Err(JoinError::Link(e)) => panic!("not admitted: {e}"),
    }
}

backend_test! {
    async fn the_reference_sfu_disconnects_a_kicked_participant_whose_refresh_is_then_refused(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let sfu = start(&app);
        let (alice_token, bob_token) = (token(&app, "alice").await, token(&app, "bob").await);
        let alice = join(&sfu, &app, &alice_token).await;
        let bob = join(&sfu, &app, &bob_token).await;
        let session = sfu.connection(alice).expect("connected").session_id;
        assert_eq!(app.refresh(&alice_token.refresh).await, reqwest::StatusCode::CREATED, "before the kick");

        moderate(&app, session, "kick", json!({ "participants": [alice] })).await;
        // A kick publishes a kick and a revocation of her identity, in no set order: either disconnects her.
        let why = sfu.closed(alice, WITHIN).await;
        assert!(
            matches!(&why, Some(Disconnect::Kicked(Some(r))) if r == "kicked") || matches!(why, Some(Disconnect::Revoked(_))),
            "{why:?}"
        );
        assert!(sfu.connection(alice).is_none());
        assert!(sfu.connection(bob).is_some(), "bob stays");
        assert_eq!(app.refresh(&alice_token.refresh).await, reqwest::StatusCode::FORBIDDEN);
        assert_eq!(app.refresh(&bob_token.refresh).await, reqwest::StatusCode::CREATED);
        // Nor may she come back with the token she had.
        let again = sfu.join(app.room, &alice_token.access, alice_token.iat).await;
        assert!(matches!(again, Err(JoinError::Link(LinkError::Refused { ref reason })) if reason == "revoked"), "{again:?}");
    }
}

backend_test! {
    async fn the_reference_sfu_obeys_mutes_revocations_and_the_session_end(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        let sfu = start(&app);
        let mut ids = Vec::new();
        for who in ["alice", "bob", "carol", "dave"] {
            ids.push(join(&sfu, &app, &token(&app, who).await).await);
        }
        let [alice, bob, carol, dave] = ids[..] else { unreachable!() };
        let session = sfu.connection(alice).expect("connected").session_id;

        moderate(&app, session, "mute", json!({ "participants": [bob], "kinds": ["video"] })).await;
        assert!(sfu.muted(bob, (false, true), WITHIN).await, "bob's video held back");
        moderate(&app, session, "mute", json!({ "participants": "all", "exclude": [bob] })).await;
        assert!(sfu.muted(alice, (true, true), WITHIN).await, "mute defaults to both kinds");
        moderate(&app, session, "unmute", json!({ "participants": [alice], "kinds": ["audio"] })).await;
        assert!(sfu.muted(alice, (false, true), WITHIN).await);
        assert_eq!(sfu.connection(bob).map(|c| (c.audio_muted, c.video_muted)), Some((false, true)));

        // A revocation of carol's identity made on roomgate reaches the SFU through the feed.
        let revocation = app.revoke(json!({ "identity": "carol", "reason": "abuse" })).await;
        assert_eq!(sfu.closed(carol, WITHIN).await, Some(Disconnect::Revoked(revocation)));

        sfu.leave(dave).await.expect("left");
        assert_eq!(sfu.closed(dave, Duration::ZERO).await, Some(Disconnect::Left));

        // The end publishes a session_end and a revocation of every token issued before it, in no set order:
        // the first disconnects.
        moderate(&app, session, "end", json!({})).await;
        for id in [alice, bob] {
            let why = sfu.closed(id, WITHIN).await;
            assert!(matches!(why, Some(Disconnect::SessionEnded | Disconnect::Revoked(_))), "{id}: {why:?}");
        }
    }
}

backend_test! {
    async fn the_reference_sfu_closes_the_whole_session_on_a_session_end(backend: Backend) {
        let app = live(backend, LEASE, 10).await;
        // Not obeying the feed: the commands are the test's.
        let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
        let sfu = Sfu::new(verifier, link(&app));
        let alice = join(&sfu, &app, &token(&app, "alice").await).await;
        let bob = join(&sfu, &app, &token(&app, "bob").await).await;
        let session_id = sfu.connection(alice).expect("connected").session_id;
        sfu.apply(&Command::SessionEnd { room_id: app.room, session_id: Uuid::new_v4() });
        assert!(sfu.connection(alice).is_some() && sfu.connection(bob).is_some(), "another session's end");
        sfu.apply(&Command::SessionEnd { room_id: app.room, session_id });
        for id in [alice, bob] {
            assert_eq!(sfu.closed(id, Duration::ZERO).await, Some(Disconnect::SessionEnded), "{id}");
        }
    }
}

backend_test! {
    async fn the_reference_sfu_drops_a_participant_roomgate_no_longer_holds(backend: Backend) {
        // Renewals every third of a second.
        let app = live(backend, Duration::from_secs(1), 10).await;
        let sfu = start(&app);
        let alice = join(&sfu, &app, &token(&app, "alice").await).await;
        let bob = join(&sfu, &app, &token(&app, "bob").await).await;
        // Another link of the account ends alice on roomgate, which publishes no command for a leave: the next
        // renewal finds her gone.
        link(&app).leave(alice).await.expect("left on roomgate");
        assert_eq!(sfu.closed(alice, WITHIN).await, Some(Disconnect::Gone));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(sfu.connection(bob).is_some(), "bob's lease is renewed");
        assert_eq!(sfu.closed(bob, Duration::ZERO).await, None);
    }
}
