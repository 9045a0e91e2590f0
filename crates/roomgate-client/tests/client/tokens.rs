//! Join tokens under both naming schemes, against the real server.
use roomgate_client::{
    types::{
        CreateAccessTokenRequest, CreateRoomRequest, GenerateClientTokenRequest, Permissions,
        RefreshAccessTokenRequest, RefreshClientTokenRequest, Source,
    },
    Error,
};
use serde_json::Value;

use crate::{
    common::TestServer,
    fake::{FakeServer, Reply},
};

/// The payload of a token, unverified.
fn claims(token: &str) -> Value {
    roomgate_token::decode_unverified(token).unwrap().1
}

fn lifetime(token: &str) -> i64 {
    let c = claims(token);
    c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
}

async fn room(server: &TestServer) -> String {
    server
        .client()
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn seed_names_create_and_refresh() {
    let server = TestServer::start().await;
    let room_id = room(&server).await;
    let api = server.client();
    let api = api.rooms_access_tokens();

    let body = CreateAccessTokenRequest {
        ttl_secs: Some(120),
        refresh_token_ttl_secs: Some(600),
        ..Default::default()
    };
    let created = api.create_room_access_token(&body, &room_id).await.unwrap();
    assert_eq!(lifetime(&created.access_token), 120);
    assert_eq!(lifetime(&created.refresh_token), 600);
    assert_eq!(claims(&created.access_token)["typ"], "access");
    assert_eq!(claims(&created.refresh_token)["typ"], "refresh");
    let resource = format!("telnyx:video:rooms:{room_id}");
    assert_eq!(
        claims(&created.access_token)["grants"][0]["resources"][0],
        resource.as_str()
    );

    let refresh = RefreshAccessTokenRequest {
        refresh_token: created.refresh_token.clone(),
        ttl_secs: Some(30),
    };
    let refreshed = api.refresh_room_access_token(&refresh, &room_id).await.unwrap();
    assert_eq!(lifetime(&refreshed.access_token), 30);
    assert!(refreshed.access_token_expires_at.ends_with('Z'));

    // The short names do the same.
    let again = api
        .create(&room_id, &CreateAccessTokenRequest::default())
        .await
        .unwrap();
    assert_eq!(lifetime(&again.access_token), 600);
    let refresh = RefreshAccessTokenRequest {
        refresh_token: again.refresh_token,
        ttl_secs: None,
    };
    assert_eq!(
        lifetime(&api.refresh(&room_id, &refresh).await.unwrap().access_token),
        600
    );
}

#[tokio::test]
async fn todays_names_generate_and_refresh() {
    let server = TestServer::start().await;
    let room_id = room(&server).await;
    let client = server.client();
    let body = GenerateClientTokenRequest {
        token_ttl_secs: Some(45),
        refresh_token_ttl_secs: None,
        ..Default::default()
    };
    let created = client
        .rooms()
        .generate_join_client_token(&room_id, &body)
        .await
        .unwrap();
    assert_eq!(lifetime(&created.token), 45);
    assert_eq!(lifetime(&created.refresh_token), 3600);
    let refresh = RefreshClientTokenRequest {
        refresh_token: created.refresh_token,
        token_ttl_secs: Some(15),
    };
    let refreshed = client
        .rooms()
        .refresh_client_token(&room_id, &refresh)
        .await
        .unwrap();
    assert_eq!(lifetime(&refreshed.token), 15);
}

#[tokio::test]
async fn refresh_needs_no_api_key_but_create_does() {
    let server = TestServer::start().await;
    let room_id = room(&server).await;
    let created = server
        .client()
        .rooms_access_tokens()
        .create(&room_id, &CreateAccessTokenRequest::default())
        .await
        .unwrap();
    let anonymous = server.anonymous_client();
    let refresh = RefreshAccessTokenRequest {
        refresh_token: created.refresh_token,
        ttl_secs: None,
    };
    anonymous
        .rooms_access_tokens()
        .refresh(&room_id, &refresh)
        .await
        .unwrap();
    let err = anonymous
        .rooms_access_tokens()
        .create(&room_id, &CreateAccessTokenRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingApiKey), "{err:?}");
}

#[tokio::test]
async fn refreshing_with_an_access_token_is_forbidden() {
    let server = TestServer::start().await;
    let room_id = room(&server).await;
    let api = server.client();
    let created = api
        .rooms_access_tokens()
        .create(&room_id, &CreateAccessTokenRequest::default())
        .await
        .unwrap();
    let refresh = RefreshAccessTokenRequest {
        refresh_token: created.access_token,
        ttl_secs: None,
    };
    let err = api
        .rooms_access_tokens()
        .refresh(&room_id, &refresh)
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert_eq!(err.code(), Some("10010"));
    assert_eq!(err.api_error().unwrap().title, "Authorization failed");
}

#[tokio::test]
async fn only_the_create_calls_send_the_api_key() {
    let created = r#"{"data":{"access_token":"a","access_token_expires_at":"t","refresh_token":"r",
        "refresh_token_expires_at":"t","token":"a","token_expires_at":"t"}}"#;
    let fake = FakeServer::start(vec![Reply::new(201, created)]).await;
    let client = fake.client().build().unwrap();
    let room = "7b61621f-62e0-4aad-ab11-9fd19e272e73";
    let tokens = client.rooms_access_tokens();
    tokens
        .create(room, &CreateAccessTokenRequest::default())
        .await
        .unwrap();
    let seed = RefreshAccessTokenRequest {
        refresh_token: "r".into(),
        ttl_secs: Some(60),
    };
    tokens.refresh(room, &seed).await.unwrap();
    client
        .rooms()
        .generate_join_client_token(room, &GenerateClientTokenRequest::default())
        .await
        .unwrap();
    let current = RefreshClientTokenRequest {
        refresh_token: "r".into(),
        token_ttl_secs: None,
    };
    client.rooms().refresh_client_token(room, &current).await.unwrap();

    let seen = fake.requests();
    let paths: Vec<_> = seen
        .iter()
        .map(|r| r.path_and_query.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "create_access_token",
            "refresh_access_token",
            "generate_join_client_token",
            "refresh_client_token"
        ]
    );
    let auth: Vec<_> = seen.iter().map(|r| r.authorization.as_deref()).collect();
    assert_eq!(auth, [Some("Bearer rg_fake"), None, Some("Bearer rg_fake"), None]);
    assert!(seen.iter().all(|r| r.method == "POST"));
    assert!(seen
        .iter()
        .all(|r| r.content_type.as_deref() == Some("application/json")));
    assert_eq!(seen[1].body, br#"{"refresh_token":"r","ttl_secs":60}"#);
    assert_eq!(seen[3].body, br#"{"refresh_token":"r"}"#);
}

#[tokio::test]
async fn participant_and_permissions_reach_the_token_and_survive_a_refresh() {
    let server = TestServer::start().await;
    let room_id = room(&server).await;
    let client = server.client();
    let body = GenerateClientTokenRequest {
        identity: Some("alice".into()),
        name: Some("Alice".into()),
        metadata: Some("{\"seat\":3}".into()),
        permissions: Some(Permissions {
            can_publish_sources: Some(vec![Source::Microphone, Source::Camera]),
            can_publish_data: Some(false),
            room_admin: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = client
        .rooms()
        .generate_join_client_token(&room_id, &body)
        .await
        .unwrap();
    let refreshed = server
        .anonymous_client()
        .rooms()
        .refresh_client_token(
            &room_id,
            &RefreshClientTokenRequest {
                refresh_token: created.refresh_token.clone(),
                token_ttl_secs: None,
            },
        )
        .await
        .unwrap();
    for token in [&created.token, &created.refresh_token, &refreshed.token] {
        let c = claims(token);
        assert_eq!(c["grants_version"], "2.0.0");
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["name"], "Alice");
        assert_eq!(c["metadata"], "{\"seat\":3}");
        assert_eq!(
            c["grants"][0]["actions"],
            serde_json::json!([
                "join",
                "publish:camera",
                "publish:microphone",
                "subscribe",
                "admin"
            ])
        );
    }
}
