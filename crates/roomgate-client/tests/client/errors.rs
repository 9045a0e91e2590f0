//! Every error variant, from the real server where it can produce one.
use std::time::Duration;

use roomgate_client::{
    types::{CreateAccessTokenRequest, CreateRoomRequest},
    Client, Error, ListRoomsParams, StatusCode,
};

use crate::{
    common::TestServer,
    fake::{FakeServer, Reply},
};

const UNKNOWN_ROOM: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn unknown_or_revoked_key_is_unauthorized() {
    let server = TestServer::start().await;
    let err = server
        .client_with_key("rg_not_a_key")
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(err.code(), Some("10009"));
    assert!(!err.is_server_or_transport());

    let room = server
        .client()
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap();
    let err = server
        .client_with_key("rg_not_a_key")
        .rooms_access_tokens()
        .create(&room.id, &CreateAccessTokenRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");

    // A revoked key is refused from then on.
    let key = server.add_key("soon-revoked").await;
    let client = server.client_with_key(&key);
    client.rooms().list_page(&ListRoomsParams::new()).await.unwrap();
    let records = server.store.list_api_keys().await.unwrap();
    let record = records.iter().find(|k| k.account_name == "soon-revoked").unwrap();
    server.store.revoke_api_key(record.id, 0).await.unwrap();
    let err = client
        .rooms()
        .list_page(&ListRoomsParams::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("10009"), "{err:?}");
}

#[tokio::test]
async fn unknown_rooms_are_not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    for id in [UNKNOWN_ROOM, "not-a-uuid"] {
        let err = client.rooms().retrieve(id).await.unwrap_err();
        assert!(err.is_not_found(), "{id}: {err:?}");
        assert_eq!(err.code(), Some("10005"));
        assert_eq!(
            err.to_string(),
            "404 Not Found: Resource not found: Room not found."
        );
    }
    let err = client
        .rooms_access_tokens()
        .create_room_access_token(&CreateAccessTokenRequest::default(), UNKNOWN_ROOM)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn invalid_values_name_the_field_or_parameter() {
    let server = TestServer::start().await;
    let client = server.client();
    let err = client
        .rooms()
        .create(&CreateRoomRequest {
            max_participants: Some(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    assert_eq!(err.code(), Some("10033"));
    let source = err.api_error().unwrap().source.clone().unwrap();
    assert_eq!(source.pointer.as_deref(), Some("/max_participants"));

    let room = client
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap();
    let body = CreateAccessTokenRequest {
        ttl_secs: Some(5),
        ..Default::default()
    };
    let err = client
        .rooms_access_tokens()
        .create(&room.id, &body)
        .await
        .unwrap_err();
    let source = err.api_error().unwrap().source.clone().unwrap();
    assert_eq!(source.pointer.as_deref(), Some("/ttl_secs"));

    let err = client
        .rooms()
        .list_page(&ListRoomsParams::new().page_size(251))
        .await
        .unwrap_err();
    assert!(err.is_invalid());
    let source = err.api_error().unwrap().source.clone().unwrap();
    assert_eq!(source.parameter.as_deref(), Some("page[size]"));

    let named = CreateRoomRequest {
        unique_name: Some("dup".into()),
        ..Default::default()
    };
    client.rooms().create(&named).await.unwrap();
    let err = client.rooms().create(&named).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNPROCESSABLE_ENTITY), Some("10012"))
    );
}

#[tokio::test]
async fn closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder()
        .base_url(format!("http://{addr}/v2"))
        .api_key("k")
        .max_retries(0)
        .build()
        .unwrap();
    let err = client.rooms().retrieve(UNKNOWN_ROOM).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_server_or_transport());
    assert_eq!((err.status(), err.code()), (None, None));
    assert!(!err.is_not_found());
}

#[tokio::test]
async fn unexpected_success_body_is_a_decode_error() {
    let fake = FakeServer::start(vec![Reply::new(200, r#"{"data":{"id":42}}"#)]).await;
    let err = fake
        .client()
        .build()
        .unwrap()
        .rooms()
        .retrieve(UNKNOWN_ROOM)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                status: StatusCode::OK,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_foreign_error_body_still_gives_the_status() {
    let fake = FakeServer::start(vec![Reply::new(502, "<html>bad gateway</html>")]).await;
    let err = fake
        .client()
        .max_retries(0)
        .build()
        .unwrap()
        .rooms()
        .retrieve(UNKNOWN_ROOM)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(err.code(), None);
    assert_eq!(
        err.api_error().unwrap().detail.as_deref(),
        Some("<html>bad gateway</html>")
    );
}

#[tokio::test]
async fn slow_answers_time_out() {
    let fake = FakeServer::start(vec![Reply::room().delayed(Duration::from_secs(5))]).await;
    let client = fake.client().timeout(Duration::from_millis(200)).build().unwrap();
    let started = std::time::Instant::now();
    let err = client.rooms().retrieve(UNKNOWN_ROOM).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        fake.attempts(),
        1,
        "a timeout may have reached the server: not retried"
    );
}

#[tokio::test]
async fn unusable_arguments_fail_before_sending() {
    let fake = FakeServer::start(vec![Reply::room()]).await;
    let client = fake.client().build().unwrap();
    for id in ["", ".", ".."] {
        let err = client.rooms().retrieve(id).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{id:?}: {err:?}");
    }
    let anonymous = Client::builder()
        .base_url(&fake.base_url)
        .api_key_from_env(false)
        .build()
        .unwrap();
    let err = anonymous.rooms().retrieve(UNKNOWN_ROOM).await.unwrap_err();
    assert!(matches!(err, Error::MissingApiKey));
    assert_eq!(fake.attempts(), 0);
}
