//! Revocations made on the real roomgate server reach a verifier through its feed, within the staleness bound;
//! with the feed gone, the verifier fails closed (or open, when built to).

use std::time::{Duration, Instant};

use roomgate_verify::{Claims, Uuid, Verifier, VerifyError};
use serde_json::json;

use crate::roomgate::{Minted, Roomgate};

/// The shortest staleness bound there is, so the tests wait seconds, not minutes.
const STALENESS: Duration = Duration::from_secs(2);

fn verifier(app: &Roomgate, fail_open: bool) -> Verifier {
    Verifier::builder()
        .revocation_staleness(STALENESS)
        .fail_open_on_stale_revocations(fail_open)
        .revocations(&app.feed_url(), &app.api_key)
        .jwks_url(&app.jwks_url())
        .expect("verifier")
}

async fn verify(verifier: &Verifier, app: &Roomgate, minted: &Minted) -> Result<Claims, VerifyError> {
    verifier
        .verify_access_token(&minted.access, app.room, minted.iat)
        .await
}

/// Runs `attempt` until `done` holds of its outcome, failing after `within`; returns how long it took.
async fn until<F, Fut>(
    within: Duration,
    what: &str,
    mut attempt: F,
    done: impl Fn(&Result<Claims, VerifyError>) -> bool,
) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Claims, VerifyError>>,
{
    let started = Instant::now();
    loop {
        let outcome = attempt().await;
        if done(&outcome) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{what} not within {within:?}: {outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `verifier` refuses `minted` as revoked by `id`, failing if that takes longer than the bound.
async fn refused_within_bound(
    verifier: &Verifier,
    app: &Roomgate,
    minted: &Minted,
    id: Uuid,
    what: &str,
) -> Duration {
    until(STALENESS, what, || verify(verifier, app, minted), is_revoked(id)).await
}

fn is_revoked(id: Uuid) -> impl Fn(&Result<Claims, VerifyError>) -> bool {
    move |outcome| matches!(outcome, Err(VerifyError::Revoked { id: got }) if *got == id)
}

fn is_stale(outcome: &Result<Claims, VerifyError>) -> bool {
    matches!(outcome, Err(VerifyError::RevocationsStale { since: Some(_) }))
}

#[tokio::test]
async fn a_revoked_participant_is_refused_within_the_bound_and_a_lost_feed_fails_closed() {
    let mut app = Roomgate::start().await;
    let alice = app.mint_with(json!({ "identity": "alice" })).await;
    let bob = app.mint_with(json!({ "identity": "bob" })).await;
    let closed = verifier(&app, false);
    let open = verifier(&app, true);
    for v in [&closed, &open] {
        v.sync_revocations().await.expect("the feed answers");
        verify(v, &app, &alice).await.expect("alice is in");
        verify(v, &app, &bob).await.expect("bob is in");
    }

    let revocation = app
        .revoke(json!({ "identity": "alice", "reason": "kicked" }))
        .await;
    let took = refused_within_bound(&closed, &app, &alice, revocation, "alice refused").await;
    eprintln!("alice's revocation reached the verifier in {took:?}");
    refused_within_bound(&open, &app, &alice, revocation, "alice refused (fail open)").await;
    for v in [&closed, &open] {
        verify(v, &app, &bob).await.expect("bob's token still passes");
        assert_eq!(v.revocation_stats().expect("stats").held, 1);
    }

    app.stop().await;
    let took = until(
        STALENESS + Duration::from_secs(3),
        "stale",
        || verify(&closed, &app, &bob),
        is_stale,
    )
    .await;
    assert!(took <= STALENESS + Duration::from_secs(3), "{took:?}");
    let stats = closed.revocation_stats().expect("stats");
    assert!(stats.polls_failed > 0, "{stats:?}");
    assert!(
        stats.last_success_age.is_some_and(|age| age > STALENESS),
        "{stats:?}"
    );
    assert!(
        matches!(stats.last_error, Some(VerifyError::RevocationFeed(_))),
        "{stats:?}"
    );
    // The cached path agrees, and a revoked token stays revoked rather than merely stale.
    let cached = closed.verify_access_token_cached(&bob.access, app.room, bob.iat);
    assert!(is_stale(&cached), "{cached:?}");
    let alice_now = verify(&closed, &app, &alice).await;
    assert!(is_revoked(revocation)(&alice_now), "{alice_now:?}");

    // Built to fail open: past the bound too, bob passes and alice is still refused.
    let open_stats = open.revocation_stats().expect("stats");
    assert!(open_stats.last_success_age > Some(STALENESS), "{open_stats:?}");
    verify(&open, &app, &bob).await.expect("fail open: bob passes");
    let alice_open = verify(&open, &app, &alice).await;
    assert!(is_revoked(revocation)(&alice_open), "{alice_open:?}");
}

#[tokio::test]
async fn a_revoked_jti_refuses_that_token_only() {
    let app = Roomgate::start().await;
    let (first, second) = (app.mint().await, app.mint().await);
    let verifier = verifier(&app, false);
    verify(&verifier, &app, &first).await.expect("first passes");
    let revocation = app.revoke(json!({ "jti": first.jti })).await;
    refused_within_bound(&verifier, &app, &first, revocation, "jti refused").await;
    verify(&verifier, &app, &second)
        .await
        .expect("the other token still passes");
}

#[tokio::test]
async fn revocations_made_before_the_verifier_starts_are_read_at_once() {
    let app = Roomgate::start().await;
    let (alice, bob) = (
        app.mint_with(json!({ "identity": "alice" })).await,
        app.mint_with(json!({ "identity": "bob" })).await,
    );
    let revocation = app.revoke(json!({ "identity": "alice" })).await;
    let verifier = verifier(&app, false);
    // The first verification waits for the first poll: no stale refusal right after startup.
    let outcome = verify(&verifier, &app, &alice).await;
    assert!(is_revoked(revocation)(&outcome), "{outcome:?}");
    verify(&verifier, &app, &bob).await.expect("bob passes");
}

#[tokio::test]
async fn a_wrong_api_key_fails_the_sync_and_verification_fails_closed() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let secret = "rg_not_a_key_of_this_roomgate";
    let verifier = Verifier::builder()
        .revocation_staleness(STALENESS)
        .revocations(&app.feed_url(), secret)
        .jwks_url(&app.jwks_url())
        .expect("verifier");
    let err = verifier.sync_revocations().await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::RevocationFeed(roomgate_verify::FetchError::Status(401))
        ),
        "{err:?}"
    );
    let refused = verify(&verifier, &app, &minted).await.unwrap_err();
    assert!(
        matches!(refused, VerifyError::RevocationsStale { since: None }),
        "{refused:?}"
    );
    assert_eq!(refused.reason(), "revocations_stale");
    let shown = format!(
        "{err} {err:?} {refused} {refused:?} {verifier:?} {:?}",
        verifier.revocation_stats()
    );
    assert!(!shown.contains(secret), "{shown}");
}
