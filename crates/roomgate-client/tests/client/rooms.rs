//! Rooms CRUD against the real server.
use roomgate_client::{
    types::{CreateRoomRequest, UpdateRoomRequest},
    ListRoomsParams,
};

use crate::common::TestServer;

fn named(name: &str) -> CreateRoomRequest {
    CreateRoomRequest {
        unique_name: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_retrieve_update_delete_round_trip() {
    let server = TestServer::start().await;
    let rooms = server.client();
    let rooms = rooms.rooms();

    let created = rooms
        .create(&CreateRoomRequest {
            unique_name: Some("standup".into()),
            max_participants: Some(5),
            enable_recording: Some(true),
            webhook_event_url: Some("https://example.com/hook".into()),
            webhook_timeout_secs: Some(7),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.unique_name.as_deref(), Some("standup"));
    assert_eq!((created.max_participants, created.enable_recording), (5, true));
    assert_eq!(created.webhook_timeout_secs, Some(7));
    assert_eq!(created.record_type, "room");

    assert_eq!(rooms.retrieve(&created.id).await.unwrap(), created);

    let updated = rooms
        .update(
            &created.id,
            &UpdateRoomRequest {
                max_participants: Some(20),
                webhook_event_url: Some(None),
                webhook_timeout_secs: Some(Some(9)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.max_participants, 20);
    assert_eq!(updated.webhook_event_url, None, "null clears");
    assert_eq!(updated.webhook_timeout_secs, Some(9));
    assert_eq!(
        updated.unique_name.as_deref(),
        Some("standup"),
        "absent fields stay"
    );
    assert!(updated.enable_recording, "absent fields stay");
    assert!(updated.updated_at > created.updated_at);
    assert_eq!(rooms.retrieve(&created.id).await.unwrap(), updated);

    rooms.delete(&created.id).await.unwrap();
    assert!(rooms.retrieve(&created.id).await.unwrap_err().is_not_found());
    assert!(rooms.delete(&created.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn create_with_defaults() {
    let server = TestServer::start().await;
    let room = server
        .client()
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap();
    assert_eq!(room.unique_name, None);
    assert_eq!((room.max_participants, room.enable_recording), (10, false));
    assert_eq!(room.created_at, room.updated_at);
}

#[tokio::test]
async fn list_page_filters_by_unique_name_and_dates() {
    let server = TestServer::start().await;
    let client = server.client();
    let a = client.rooms().create(&named("alpha")).await.unwrap();
    client.rooms().create(&named("beta")).await.unwrap();

    let page = client
        .rooms()
        .list_page(&ListRoomsParams::new().unique_name("alpha"))
        .await
        .unwrap();
    assert_eq!(page.data, vec![a.clone()]);
    assert_eq!((page.meta.total_results, page.meta.total_pages), (1, 1));

    let today = &a.created_at[..10];
    let all = |p: ListRoomsParams| {
        let client = client.clone();
        async move { client.rooms().list_page(&p).await.unwrap().meta.total_results }
    };
    assert_eq!(all(ListRoomsParams::new()).await, 2);
    assert_eq!(all(ListRoomsParams::new().created_since(today)).await, 2);
    assert_eq!(all(ListRoomsParams::new().created_on(today)).await, 2);
    assert_eq!(all(ListRoomsParams::new().created_until("2000-01-01")).await, 0);
    assert_eq!(all(ListRoomsParams::new().updated_since("2999-01-01")).await, 0);
    assert_eq!(
        all(ListRoomsParams::new().updated_on(today).updated_until(today)).await,
        2
    );
    assert_eq!(all(ListRoomsParams::new().unique_name("gamma")).await, 0);
}

#[tokio::test]
async fn rooms_of_another_account_are_not_found() {
    let server = TestServer::start().await;
    let other_key = server.add_key("other").await;
    let other = server.client_with_key(&other_key);
    let room = server.client().rooms().create(&named("mine")).await.unwrap();

    assert!(other.rooms().retrieve(&room.id).await.unwrap_err().is_not_found());
    assert!(other.rooms().delete(&room.id).await.unwrap_err().is_not_found());
    let theirs = other.rooms().list_page(&ListRoomsParams::new()).await.unwrap();
    assert!(theirs.data.is_empty());
}
