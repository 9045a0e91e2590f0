//! Tokens minted by the real roomgate server over HTTP, verified through its published JWKS URL.

use roomgate_verify::{Permissions, Source, TokenError, Verifier, VerifyError};
use serde_json::json;
use uuid::Uuid;

use crate::roomgate::Roomgate;

fn token_error(result: Result<roomgate_token::Claims, VerifyError>) -> TokenError {
    match result {
        Err(VerifyError::Token(e)) => e,
        other => panic!("expected a token error, got {other:?}"),
    }
}

#[tokio::test]
async fn access_token_minted_by_roomgate_verifies_via_its_jwks_url() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let claims = verifier
        .verify_access_token(&minted.access, app.room, minted.iat)
        .await
        .expect("roomgate's token verifies");
    assert_eq!(claims.room_id(), Some(app.room));
    assert!(claims.grants_join(app.room));
    assert_eq!(claims.exp - claims.iat, 600);
    // The header's kid names one of the keys fetched from roomgate's JWKS.
    let (header, _) = roomgate_token::decode_unverified(&minted.access).expect("decodable");
    let kid = header["kid"].as_str().expect("roomgate sets a kid");
    assert!(
        verifier.key_ids().iter().any(|k| k == kid),
        "{kid} not in {:?}",
        verifier.key_ids()
    );
}

/// roomgate's refresh tokens are MACed with a secret only the server holds: a media server cannot take one for a
/// join token, whatever it checks, because no published key verifies it.
#[tokio::test]
async fn a_refresh_token_verifies_under_no_published_key() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let err = verifier
        .verify_access_token(&minted.refresh, app.room, minted.iat)
        .await;
    assert_eq!(token_error(err), TokenError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn token_for_another_room_is_refused() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let err = verifier
        .verify_access_token(&minted.access, Uuid::new_v4(), minted.iat)
        .await;
    assert_eq!(token_error(err), TokenError::WrongRoom);
}

#[tokio::test]
async fn expiry_is_enforced_at_exp_and_at_exp_plus_leeway() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let (token, room, exp) = (&minted.access, app.room, minted.exp);

    let no_leeway = Verifier::builder()
        .leeway(std::time::Duration::ZERO)
        .jwks_url(&app.jwks_url())
        .expect("verifier");
    assert!(no_leeway.verify_access_token(token, room, exp - 1).await.is_ok());
    let err = no_leeway.verify_access_token(token, room, exp).await;
    assert_eq!(token_error(err), TokenError::Expired);

    // Default leeway: 30 s past exp is the first refused second.
    let default = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    assert!(default.verify_access_token(token, room, exp + 29).await.is_ok());
    let err = default.verify_access_token(token, room, exp + 30).await;
    assert_eq!(token_error(err), TokenError::Expired);
}

#[tokio::test]
async fn token_from_the_future_beyond_leeway_is_refused() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    // nbf = iat - 1 and the leeway is 30 s: valid from nbf - 30 = iat - 31 on the verifier's clock, not before.
    let (token, room) = (&minted.access, app.room);
    assert!(verifier
        .verify_access_token(token, room, minted.iat - 31)
        .await
        .is_ok());
    let err = verifier.verify_access_token(token, room, minted.iat - 32).await;
    assert_eq!(token_error(err), TokenError::NotYetValid);
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_refused() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let (token, room, now) = (&minted.access, app.room, minted.iat);
    let other_issuer = Verifier::builder()
        .issuer("https://roomgate.example")
        .jwks_url(&app.jwks_url())
        .expect("verifier");
    let err = other_issuer.verify_access_token(token, room, now).await;
    assert_eq!(token_error(err), TokenError::WrongIssuer);
    let other_audience = Verifier::builder()
        .audience("sfu.example")
        .jwks_url(&app.jwks_url())
        .expect("verifier");
    let err = other_audience.verify_access_token(token, room, now).await;
    assert_eq!(token_error(err), TokenError::WrongAudience);
}

#[tokio::test]
async fn a_version_1_token_allows_what_telnyx_tokens_allow_in_practice() {
    let app = Roomgate::start().await;
    let minted = app.mint().await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let claims = verifier
        .verify_access_token(&minted.access, app.room, minted.iat)
        .await
        .expect("verifies");
    let who = claims.participant().expect("a version 1 participant");
    assert_eq!((who.identity, who.name, who.metadata), (None, None, None));
    let p = who.permissions;
    assert_eq!(p, Permissions::V1);
    assert!(Source::ALL.into_iter().all(|s| p.can_publish_source(s)));
    assert!(p.can_subscribe() && p.can_publish_data());
    assert!(!p.can_update_metadata() && !p.is_hidden() && !p.is_recorder() && !p.is_room_admin());
}

#[tokio::test]
async fn a_version_2_token_exposes_its_participant_typed() {
    let app = Roomgate::start().await;
    let minted = app
        .mint_with(json!({
            "identity": "alice",
            "name": "Alice",
            "metadata": "{\"seat\":3}",
            "permissions": {
                "can_publish_sources": ["microphone", "screen_share"],
                "can_subscribe": false,
                "can_update_metadata": true,
                "hidden": true,
                "recorder": true,
                "room_admin": true,
            },
        }))
        .await;
    let verifier = Verifier::from_jwks_url(&app.jwks_url()).expect("verifier");
    let claims = verifier
        .verify_access_token(&minted.access, app.room, minted.iat)
        .await
        .expect("verifies");
    let who = claims.participant().expect("a version 2 participant");
    assert_eq!(who.identity.as_deref(), Some("alice"));
    assert_eq!(who.name.as_deref(), Some("Alice"));
    assert_eq!(who.metadata.as_deref(), Some("{\"seat\":3}"));
    let p = who.permissions;
    assert!(p.can_publish_source(Source::Microphone) && p.can_publish_source(Source::ScreenShare));
    assert!(!p.can_publish_source(Source::Camera) && !p.can_publish_source(Source::ScreenShareAudio));
    assert!(!p.can_subscribe() && p.can_publish_data() && p.can_update_metadata());
    assert!(p.is_hidden() && p.is_recorder() && p.is_room_admin());

    let viewer = app
        .mint_with(
            json!({ "identity": "bob", "permissions": { "can_publish": false, "can_publish_data": false } }),
        )
        .await;
    let claims = verifier
        .verify_access_token(&viewer.access, app.room, viewer.iat)
        .await
        .expect("verifies");
    let p = claims.participant().expect("participant").permissions;
    assert!(!p.can_publish_any() && !p.can_publish_data() && p.can_subscribe() && !p.is_room_admin());
}
