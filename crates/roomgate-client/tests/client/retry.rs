//! Retries: which failures, how many times, how long apart.
use std::time::{Duration, Instant};

use roomgate_client::{types::CreateRoomRequest, Client, StatusCode};

use crate::fake::{FakeServer, Reply};

const ROOM: &str = "7b61621f-62e0-4aad-ab11-9fd19e272e73";

fn failing(status: u16, times: usize) -> Vec<Reply> {
    let mut replies = vec![Reply::error(status, "10007", "Unexpected error"); times];
    replies.push(Reply::room());
    replies
}

#[tokio::test]
async fn retries_429_and_5xx_then_succeeds() {
    for status in [429, 500, 502, 503] {
        let fake = FakeServer::start(failing(status, 2)).await;
        let room = fake.client().build().unwrap().rooms().retrieve(ROOM).await;
        assert_eq!(room.unwrap().id, ROOM, "{status}");
        assert_eq!(fake.attempts(), 3, "{status}");
    }
}

#[tokio::test]
async fn gives_up_after_max_retries_with_the_last_error() {
    let fake = FakeServer::start(failing(500, 10)).await;
    let err = fake
        .client()
        .build()
        .unwrap()
        .rooms()
        .retrieve(ROOM)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.code(), Some("10007"));
    assert_eq!(fake.attempts(), 3, "one attempt and the default two retries");

    let fake = FakeServer::start(failing(503, 10)).await;
    let client = fake.client().max_retries(5).build().unwrap();
    client.rooms().retrieve(ROOM).await.unwrap_err();
    assert_eq!(fake.attempts(), 6);
}

#[tokio::test]
async fn zero_retries_disables_retrying() {
    let fake = FakeServer::start(failing(503, 1)).await;
    let err = fake
        .client()
        .max_retries(0)
        .build()
        .unwrap()
        .rooms()
        .retrieve(ROOM)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(fake.attempts(), 1);
}

#[tokio::test]
async fn other_client_errors_are_never_retried() {
    for status in [400, 401, 403, 404, 408, 409, 422] {
        let fake = FakeServer::start(failing(status, 1)).await;
        let err = fake
            .client()
            .build()
            .unwrap()
            .rooms()
            .retrieve(ROOM)
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(fake.attempts(), 1, "{status}");
    }
}

#[tokio::test]
async fn should_retry_false_is_obeyed() {
    let replies = vec![
        Reply::error(503, "10007", "Service unavailable").header("x-should-retry", "false"),
        Reply::room(),
    ];
    let fake = FakeServer::start(replies).await;
    let err = fake
        .client()
        .build()
        .unwrap()
        .rooms()
        .retrieve(ROOM)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(fake.attempts(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let replies = vec![
        Reply::error(429, "10011", "Too many requests").header("retry-after", "1"),
        Reply::room(),
    ];
    let fake = FakeServer::start(replies).await;
    let started = Instant::now();
    fake.client()
        .build()
        .unwrap()
        .rooms()
        .retrieve(ROOM)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.attempts(), 2);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let replies = vec![
        Reply::error(429, "10011", "Too many requests").header("retry-after", "3600"),
        Reply::room(),
    ];
    let fake = FakeServer::start(replies).await;
    let client = fake
        .client()
        .max_retry_after(Duration::from_millis(50))
        .build()
        .unwrap();
    let started = Instant::now();
    client.rooms().retrieve(ROOM).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.attempts(), 2);
}

#[tokio::test]
async fn a_retried_post_sends_the_same_body_and_key() {
    let created = Reply::new(201, format!(r#"{{"data":{}}}"#, crate::fake::ROOM));
    let fake = FakeServer::start(vec![Reply::error(502, "10007", "Bad gateway"), created]).await;
    let body = CreateRoomRequest {
        unique_name: Some("again".into()),
        ..Default::default()
    };
    fake.client()
        .build()
        .unwrap()
        .rooms()
        .create(&body)
        .await
        .unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, br#"{"unique_name":"again"}"#);
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer rg_fake"));
}

#[tokio::test]
async fn connect_errors_are_retried_until_the_server_is_up() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}/v2"))
        .api_key("k")
        .retry_backoff(Duration::from_millis(400), Duration::from_millis(400))
        .build()
        .unwrap();
    let call = tokio::spawn(async move { client.rooms().retrieve(ROOM).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let fake = FakeServer::start_on(listener, vec![Reply::room()]);
    assert_eq!(call.await.unwrap().unwrap().id, ROOM);
    assert_eq!(fake.attempts(), 1, "the first attempt never connected");
}
