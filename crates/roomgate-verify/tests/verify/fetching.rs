//! Fetching from a JWKS endpoint the test controls: how often, how much, how long, and what is refused.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use roomgate_token::SigningKey;
use roomgate_verify::{
    FetchError, TokenError, Verifier, VerifyError, DEFAULT_MAX_RESPONSE_BYTES, MIN_REFRESH_INTERVAL_FLOOR,
};

use crate::support::{access_token, closed_port_url, jwks_json, jwks_json_with_private_key};
use crate::support::{JwksServer, Reply, NOW, ROOM};

/// A verifier with the shortest minimum interval between fetches there is (1 s).
fn floor_interval(server: &JwksServer) -> Verifier {
    Verifier::builder()
        .min_refresh_interval(MIN_REFRESH_INTERVAL_FLOOR)
        .jwks_url(&server.url())
        .expect("verifier")
}

/// Sleeps out the minimum interval between fetches (and a cache lifetime of `max-age=0`, which is raised to it).
async fn wait_out_the_interval() {
    tokio::time::sleep(MIN_REFRESH_INTERVAL_FLOOR + Duration::from_millis(100)).await;
}

/// Waits (at most 5 s) until the endpoint has answered `n` requests: a refetch of keys that are due but still
/// usable runs in the background.
async fn wait_for_hits(server: &JwksServer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.hits() < n {
        assert!(Instant::now() < deadline, "{} hits, expected {n}", server.hits());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn first_use_fetches_once_and_then_uses_the_cache() {
    let key = SigningKey::generate();
    let server = JwksServer::with_keys(&[&key]).await;
    let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
    assert_eq!(server.hits(), 0, "building a verifier fetches nothing");
    for _ in 0..3 {
        verifier
            .verify_access_token(&access_token(&key), ROOM, NOW)
            .await
            .expect("valid");
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(verifier.key_ids(), vec![key.kid().to_owned()]);
}

#[tokio::test]
async fn unknown_kid_triggers_exactly_one_refetch() {
    let (old, new) = (SigningKey::generate(), SigningKey::generate());
    let server = JwksServer::with_keys(&[&old]).await;
    let verifier = floor_interval(&server);
    verifier
        .verify_access_token(&access_token(&old), ROOM, NOW)
        .await
        .expect("valid");
    assert_eq!(server.hits(), 1);
    wait_out_the_interval().await;

    server.set_keys(&[&old, &new]);
    verifier
        .verify_access_token(&access_token(&new), ROOM, NOW)
        .await
        .expect("rotated key");
    assert_eq!(server.hits(), 2, "one refetch for the unknown kid");
    verifier
        .verify_access_token(&access_token(&new), ROOM, NOW)
        .await
        .expect("cached");
    verifier
        .verify_access_token(&access_token(&old), ROOM, NOW)
        .await
        .expect("cached");
    assert_eq!(server.hits(), 2, "known kids fetch nothing");
}

#[tokio::test]
async fn second_unknown_kid_within_the_min_interval_fetches_nothing() {
    let keys = [
        SigningKey::generate(),
        SigningKey::generate(),
        SigningKey::generate(),
    ];
    let server = JwksServer::with_keys(&[&keys[0]]).await;
    let interval = Duration::from_secs(2);
    let verifier = Verifier::builder()
        .min_refresh_interval(interval)
        .jwks_url(&server.url())
        .expect("verifier");
    verifier
        .verify_access_token(&access_token(&keys[0]), ROOM, NOW)
        .await
        .expect("valid");
    // The first fetch starts the interval too: wait it out (this is rate limiting, not token expiry).
    tokio::time::sleep(interval + Duration::from_millis(100)).await;

    server.set_keys(&[&keys[0], &keys[1]]);
    verifier
        .verify_access_token(&access_token(&keys[1]), ROOM, NOW)
        .await
        .expect("refetched");
    assert_eq!(server.hits(), 2);

    // Published now, but asked for within the interval: refused without a request.
    server.set_keys(&[&keys[0], &keys[1], &keys[2]]);
    let err = verifier
        .verify_access_token(&access_token(&keys[2]), ROOM, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Token(TokenError::UnknownKey)),
        "{err:?}"
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn default_min_interval_holds_back_forged_kids() {
    let key = SigningKey::generate();
    let server = JwksServer::with_keys(&[&key]).await;
    let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("valid");
    for _ in 0..20 {
        let forged = access_token(&SigningKey::generate());
        let err = verifier
            .verify_access_token(&forged, ROOM, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::Token(TokenError::UnknownKey)),
            "{err:?}"
        );
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kid_misses_share_one_fetch() {
    let (old, new) = (SigningKey::generate(), SigningKey::generate());
    let server = JwksServer::with_keys(&[&old]).await;
    // Past the interval: only coalescing can keep this to one fetch.
    let verifier = floor_interval(&server);
    verifier
        .verify_access_token(&access_token(&old), ROOM, NOW)
        .await
        .expect("valid");
    wait_out_the_interval().await;
    server.set(Reply {
        delay: Duration::from_millis(200),
        ..Reply::jwks(jwks_json(&[&old, &new]))
    });
    let token = access_token(&new);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify_access_token(&token, ROOM, NOW).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("valid after the shared fetch");
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn cache_lifetime_follows_max_age() {
    let key = SigningKey::generate();
    let server = JwksServer::start(Reply {
        cache_control: Some("max-age=0".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    })
    .await;
    let verifier = floor_interval(&server);
    for expected in 1..=3 {
        verifier
            .verify_access_token(&access_token(&key), ROOM, NOW)
            .await
            .expect("valid");
        // max-age=0: due again as soon as the minimum interval allows, so every use after it refetches.
        wait_for_hits(&server, expected).await;
        wait_out_the_interval().await;
    }

    let cached = JwksServer::with_keys(&[&key]).await; // max-age=300
    let verifier = floor_interval(&cached);
    for _ in 0..3 {
        verifier
            .verify_access_token(&access_token(&key), ROOM, NOW)
            .await
            .expect("valid");
        wait_out_the_interval().await;
    }
    assert_eq!(cached.hits(), 1);
}

#[tokio::test]
async fn stale_keys_keep_working_while_the_endpoint_fails() {
    let key = SigningKey::generate();
    let server = JwksServer::start(Reply {
        cache_control: Some("no-cache".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    })
    .await;
    let verifier = floor_interval(&server);
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("valid");
    server.set(Reply {
        status: StatusCode::SERVICE_UNAVAILABLE,
        ..Reply::jwks(b"{}".to_vec())
    });
    wait_out_the_interval().await;
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("stale keys");
    wait_for_hits(&server, 2).await; // a refetch was tried
                                     // An explicit refresh reports the failure.
    let err = verifier.refresh().await.unwrap_err();
    assert!(
        matches!(err, VerifyError::Fetch(FetchError::Status(503))),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifications_do_not_wait_for_a_slow_refetch_of_keys_they_still_hold() {
    let key = SigningKey::generate();
    let server = JwksServer::start(Reply {
        cache_control: Some("max-age=0".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    })
    .await;
    let verifier = floor_interval(&server); // default 5 s timeout
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("valid");
    server.set(Reply {
        delay: Duration::from_secs(3),
        cache_control: Some("max-age=0".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    });
    wait_out_the_interval().await; // the keys are due now

    let token = access_token(&key);
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify_access_token(&token, ROOM, NOW).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("valid with the keys held");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "verifications waited for the fetch: {:?}",
        started.elapsed()
    );
    wait_for_hits(&server, 2).await;
    assert_eq!(
        server.hits(),
        2,
        "one refetch, however many verifications saw the keys due"
    );
}

#[tokio::test]
async fn keys_stale_past_max_stale_are_refused_until_a_fetch_succeeds() {
    let key = SigningKey::generate();
    let server = JwksServer::start(Reply {
        cache_control: Some("no-cache".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    })
    .await;
    let max_stale = Duration::from_secs(1);
    let verifier = Verifier::builder()
        .min_refresh_interval(MIN_REFRESH_INTERVAL_FLOOR)
        .max_stale(max_stale)
        .jwks_url(&server.url())
        .expect("verifier");
    let token = access_token(&key);
    verifier
        .verify_access_token(&token, ROOM, NOW)
        .await
        .expect("valid");
    server.set(Reply {
        status: StatusCode::SERVICE_UNAVAILABLE,
        ..Reply::jwks(b"{}".to_vec())
    });

    // Stale (the 1 s lifetime is over) but within max_stale: still trusted.
    wait_out_the_interval().await;
    verifier
        .verify_access_token(&token, ROOM, NOW)
        .await
        .expect("within max_stale");
    // Past it: refused, with an error of its own, on both paths.
    tokio::time::sleep(max_stale).await;
    let err = verifier.verify_access_token(&token, ROOM, NOW).await.unwrap_err();
    assert!(matches!(err, VerifyError::StaleKeys { .. }), "{err:?}");
    assert_eq!(err.reason(), "jwks_stale");
    let err = verifier
        .verify_access_token_cached(&token, ROOM, NOW)
        .unwrap_err();
    assert!(matches!(err, VerifyError::StaleKeys { .. }), "{err:?}");

    // roomgate answers again: the next fetch (once the minimum interval allows) restores the keys.
    server.set(Reply {
        cache_control: Some("no-cache".into()),
        ..Reply::jwks(jwks_json(&[&key]))
    });
    wait_out_the_interval().await;
    verifier
        .verify_access_token(&token, ROOM, NOW)
        .await
        .expect("fresh keys again");
}

#[tokio::test]
async fn unreachable_endpoint_is_a_fetch_error_not_a_token_error() {
    let verifier = Verifier::from_jwks_url(&closed_port_url().await).expect("verifier");
    let err = verifier.refresh().await.unwrap_err();
    assert!(
        matches!(err, VerifyError::Fetch(FetchError::Transport(_))),
        "{err:?}"
    );
    let token = access_token(&SigningKey::generate());
    let err = verifier.verify_access_token(&token, ROOM, NOW).await.unwrap_err();
    assert!(matches!(err, VerifyError::Fetch(_)), "{err:?}");
    assert_eq!(err.reason(), "jwks_unreachable");
}

/// A valid JWKS document padded with trailing whitespace to exactly `len` bytes.
fn padded_jwks(key: &SigningKey, len: usize) -> Vec<u8> {
    let mut json = jwks_json(&[key]);
    json.resize(len, b' ');
    json
}

#[tokio::test]
async fn oversize_jwks_response_is_refused() {
    let key = SigningKey::generate();
    let limit = DEFAULT_MAX_RESPONSE_BYTES;
    for chunked in [false, true] {
        let server = JwksServer::start(Reply {
            chunked,
            ..Reply::jwks(padded_jwks(&key, limit + 1))
        })
        .await;
        let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
        let err = verifier
            .verify_access_token(&access_token(&key), ROOM, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::Fetch(FetchError::TooLarge { limit: 65536 })),
            "chunked={chunked}: {err:?}"
        );

        // Exactly at the limit is fine.
        server.set(Reply {
            chunked,
            ..Reply::jwks(padded_jwks(&key, limit))
        });
        verifier.refresh().await.expect("at the limit");
        verifier
            .verify_access_token(&access_token(&key), ROOM, NOW)
            .await
            .expect("valid");
    }
}

#[tokio::test]
async fn slow_jwks_endpoint_times_out() {
    let key = SigningKey::generate();
    let server = JwksServer::start(Reply {
        delay: Duration::from_secs(10),
        ..Reply::jwks(jwks_json(&[&key]))
    })
    .await;
    let verifier = Verifier::builder()
        .timeout(Duration::from_millis(300))
        .jwks_url(&server.url())
        .expect("verifier");
    let started = Instant::now();
    let err = verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Fetch(FetchError::Timeout)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn jwks_containing_a_private_key_is_refused() {
    let (key, json) = jwks_json_with_private_key();
    let server = JwksServer::start(Reply::jwks(json)).await;
    let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
    let err = verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VerifyError::InvalidJwks(m) if m.contains("private")),
        "{err:?}"
    );
    assert!(verifier.key_ids().is_empty(), "nothing from that set is trusted");
}

#[tokio::test]
async fn redirects_and_error_statuses_are_not_followed() {
    let key = SigningKey::generate();
    let target = JwksServer::with_keys(&[&key]).await;
    let redirecting = JwksServer::start(Reply {
        status: StatusCode::FOUND,
        location: Some(target.url()),
        ..Reply::jwks(Vec::new())
    })
    .await;
    let verifier = Verifier::from_jwks_url(&redirecting.url()).expect("verifier");
    let err = verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Fetch(FetchError::Status(302))),
        "{err:?}"
    );
    assert_eq!(target.hits(), 0);

    redirecting.set(Reply {
        status: StatusCode::NOT_FOUND,
        ..Reply::jwks(jwks_json(&[&key]))
    });
    let err = verifier.refresh().await.unwrap_err();
    assert!(
        matches!(err, VerifyError::Fetch(FetchError::Status(404))),
        "{err:?}"
    );
}

#[tokio::test]
async fn verify_future_is_send_and_verifier_is_shareable() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Verifier>();
    let key = SigningKey::generate();
    let server = JwksServer::with_keys(&[&key]).await;
    let verifier = Verifier::from_jwks_url(&server.url()).expect("verifier");
    let token = access_token(&key);
    assert_send(verifier.verify_access_token(&token, ROOM, NOW))
        .await
        .expect("valid");
}
