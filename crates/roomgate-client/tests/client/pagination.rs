//! Walking `page[number]` until `meta.total_pages`.
use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use roomgate_client::{types::CreateRoomRequest, ListRoomsParams};

use crate::{
    common::TestServer,
    fake::{FakeServer, Reply},
};

async fn seven_rooms(server: &TestServer) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..7 {
        let body = CreateRoomRequest {
            unique_name: Some(format!("room-{i}")),
            ..Default::default()
        };
        ids.push(server.client().rooms().create(&body).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn seven_rooms_in_pages_of_three_stream_once_each_newest_first() {
    let server = TestServer::start().await;
    let mut created = seven_rooms(&server).await;
    created.reverse();
    let client = server.client();

    let first = client
        .rooms()
        .list_page(&ListRoomsParams::new().page_size(3))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 3);
    assert_eq!(
        (
            first.meta.page_number,
            first.meta.total_pages,
            first.meta.total_results
        ),
        (1, 3, 7)
    );
    let last = client
        .rooms()
        .list_page(&ListRoomsParams::new().page_size(3).page_number(3))
        .await
        .unwrap();
    assert_eq!(last.data.len(), 1);

    let streamed: Vec<String> = client
        .rooms()
        .list(ListRoomsParams::new().page_size(3))
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, created, "all rooms, once each, newest first");
    assert_eq!(streamed.iter().collect::<HashSet<_>>().len(), 7);

    let from_page_2: Vec<String> = client
        .rooms()
        .list(ListRoomsParams::new().page_size(3).page_number(2))
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(from_page_2, created[3..]);
}

#[tokio::test]
async fn stream_respects_filters_and_handles_no_rooms() {
    let server = TestServer::start().await;
    let client = server.client();
    let none: Vec<_> = client
        .rooms()
        .list(ListRoomsParams::new())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    seven_rooms(&server).await;
    let one: Vec<_> = client
        .rooms()
        .list(ListRoomsParams::new().page_size(1).unique_name("room-4"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].unique_name.as_deref(), Some("room-4"));
}

#[tokio::test]
async fn stream_yields_the_error_then_ends() {
    let server = TestServer::start().await;
    let items: Vec<_> = server
        .anonymous_client()
        .rooms()
        .list(ListRoomsParams::new())
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0], Err(roomgate_client::Error::MissingApiKey)));

    let bad_size: Vec<_> = server
        .client()
        .rooms()
        .list(ListRoomsParams::new().page_size(0))
        .collect()
        .await;
    assert_eq!(bad_size.len(), 1);
    assert!(bad_size[0].as_ref().unwrap_err().is_invalid());
}

#[tokio::test]
async fn stream_stops_on_an_empty_page_even_if_the_total_says_more() {
    let page = |n: u32, data: &str| {
        Reply::new(
            200,
            format!(
                r#"{{"data":[{data}],"meta":{{"page_number":{n},"page_size":1,"total_pages":99,"total_results":99}}}}"#
            ),
        )
    };
    let fake = FakeServer::start(vec![page(1, crate::fake::ROOM), page(2, "")]).await;
    let rooms: Vec<_> = fake
        .client()
        .build()
        .unwrap()
        .rooms()
        .list(ListRoomsParams::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(fake.attempts(), 2);
    let queries: Vec<_> = fake.requests().into_iter().map(|r| r.path_and_query).collect();
    assert_eq!(
        queries,
        ["/v2/rooms?page%5Bnumber%5D=1", "/v2/rooms?page%5Bnumber%5D=2"]
    );
}
