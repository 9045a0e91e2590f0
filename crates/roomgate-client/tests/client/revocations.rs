//! Revoking, a room's revocations, the account's feed and introspection, against the real server.
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use roomgate_client::{
    types::{CreateRoomRequest, GenerateClientTokenRequest, InactiveReason, RevokeTokensRequest},
    Client, ListRevocationsParams,
};

use crate::common::TestServer;

async fn room(client: &Client) -> String {
    client
        .rooms()
        .create(&CreateRoomRequest::default())
        .await
        .unwrap()
        .id
}

/// A token for `identity` in `room_id`: its `jti` and the token.
async fn token_for(client: &Client, room_id: &str, identity: &str) -> (String, String) {
    let body = GenerateClientTokenRequest {
        identity: Some(identity.into()),
        ..Default::default()
    };
    let token = client
        .rooms()
        .generate_join_client_token(room_id, &body)
        .await
        .unwrap()
        .token;
    let claims = roomgate_token::decode_unverified(&token).unwrap().1;
    (claims["jti"].as_str().unwrap().to_owned(), token)
}

fn by_jti(jti: &str) -> RevokeTokensRequest {
    RevokeTokensRequest {
        jti: Some(jti.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn each_selector_revokes_and_reads_back_in_the_room_list() {
    let server = TestServer::start().await;
    let client = server.client();
    let room_id = room(&client).await;
    let (jti, _) = token_for(&client, &room_id, "alice").await;

    let one = client
        .rooms()
        .revoke_tokens(
            &room_id,
            &RevokeTokensRequest {
                reason: Some("leaked".into()),
                ..by_jti(&jti)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (one.record_type.as_str(), one.room_id.as_str()),
        ("revocation", room_id.as_str())
    );
    assert_eq!(one.jti.as_deref(), Some(jti.as_str()));
    assert_eq!(
        (one.identity.as_deref(), one.issued_before.as_deref()),
        (None, None)
    );
    assert_eq!(one.reason.as_deref(), Some("leaked"));
    assert!(one.expires_at > one.created_at, "{one:?}");

    let who = RevokeTokensRequest {
        identity: Some("mallory".into()),
        ..Default::default()
    };
    let participant = client.rooms().revoke_tokens(&room_id, &who).await.unwrap();
    assert_eq!(participant.identity.as_deref(), Some("mallory"));
    assert_eq!(participant.reason, None);

    // A time in the recent past (a cut-off older than a day has expired at once: no token it covers is valid).
    let cut_off = RevokeTokensRequest {
        issued_before: Some(one.created_at.clone()),
        ..Default::default()
    };
    let everyone = client.rooms().revoke_tokens(&room_id, &cut_off).await.unwrap();
    assert_eq!(everyone.issued_before, Some(one.created_at.clone()));

    let page = client
        .rooms()
        .list_revocations(&room_id, &ListRevocationsParams::new())
        .await
        .unwrap();
    assert_eq!(page.meta.total_results, 3);
    let mut listed: Vec<&str> = page.data.iter().map(|r| r.id.as_str()).collect();
    listed.sort_unstable();
    let mut made = vec![one.id.as_str(), participant.id.as_str(), everyone.id.as_str()];
    made.sort_unstable();
    assert_eq!(listed, made);
    let read_back = page.data.iter().find(|r| r.id == one.id).unwrap();
    assert_eq!(read_back, &one, "listed as created");

    // Paged like rooms: one page at a time, or every page as a stream.
    let small = ListRevocationsParams::new().page_size(2);
    let second = client
        .rooms()
        .list_revocations(&room_id, &small.clone().page_number(2))
        .await
        .unwrap();
    assert_eq!((second.data.len(), second.meta.total_pages), (1, 2));
    let all: Vec<_> = client
        .rooms()
        .list_all_revocations(&room_id, small)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, page.data, "the stream walks every page in the same order");

    // Another room has none of them.
    let other = room(&client).await;
    let empty = client
        .rooms()
        .list_revocations(&other, &ListRevocationsParams::new())
        .await
        .unwrap();
    assert!(empty.data.is_empty());
}

#[tokio::test]
async fn the_feed_returns_revocations_and_its_cursor_continues() {
    let server = TestServer::start().await;
    let client = server.client();
    let room_id = room(&client).await;
    let (jti, _) = token_for(&client, &room_id, "alice").await;
    let first = client
        .rooms()
        .revoke_tokens(&room_id, &by_jti(&jti))
        .await
        .unwrap();

    let feed = client.revocation_feed(None, None, None).await.unwrap();
    assert_eq!(feed.data, std::slice::from_ref(&first));
    let cursor = feed.meta.next_cursor;

    let empty = client.revocation_feed(Some(&cursor), None, None).await.unwrap();
    assert!(empty.data.is_empty(), "nothing after the cursor: {empty:?}");

    let who = RevokeTokensRequest {
        identity: Some("bob".into()),
        ..Default::default()
    };
    let second = client.rooms().revoke_tokens(&room_id, &who).await.unwrap();
    let third = client.rooms().revoke_tokens(&room_id, &who).await.unwrap();
    let next = client
        .revocation_feed(Some(&cursor), None, Some(1))
        .await
        .unwrap();
    assert_eq!(next.data, [second], "limit 1: only the next one");
    let last = client
        .revocation_feed(Some(&next.meta.next_cursor), None, None)
        .await
        .unwrap();
    assert_eq!(last.data, [third]);

    // From the start again: all three, in the feed's order.
    let all = client.revocation_feed(None, None, None).await.unwrap();
    assert_eq!(all.data.len(), 3);
    assert_eq!(all.data[0], first);

    // Another account's feed does not see them.
    let stranger = server.client_with_key(&server.add_key("stranger").await);
    assert!(stranger
        .revocation_feed(None, None, None)
        .await
        .unwrap()
        .data
        .is_empty());
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_revocation_arrives() {
    let server = TestServer::start().await;
    let client = server.client();
    let room_id = room(&client).await;
    let cursor = client
        .revocation_feed(None, None, None)
        .await
        .unwrap()
        .meta
        .next_cursor;

    let revoker = client.clone();
    let revoking_room = room_id.clone();
    let revoke = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let who = RevokeTokensRequest {
            identity: Some("alice".into()),
            ..Default::default()
        };
        revoker.rooms().revoke_tokens(&revoking_room, &who).await.unwrap()
    });
    let started = Instant::now();
    let feed = client
        .revocation_feed(Some(&cursor), Some(Duration::from_secs(20)), None)
        .await
        .unwrap();
    let took = started.elapsed();
    let revoked = revoke.await.unwrap();
    assert_eq!(feed.data, [revoked]);
    assert!(
        took >= Duration::from_millis(250),
        "it waited for the revocation: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "and answered at once, not after wait: {took:?}"
    );
}

#[tokio::test]
async fn a_long_poll_outlasts_the_clients_timeout() {
    let server = TestServer::start().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .api_key(&server.api_key)
        .timeout(Duration::from_millis(500))
        .max_retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let feed = client
        .revocation_feed(None, Some(Duration::from_secs(2)), None)
        .await
        .unwrap();
    assert!(feed.data.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the server held it for the whole wait: {:?}",
        started.elapsed()
    );
    let err = client
        .revocation_feed(None, Some(Duration::from_secs(31)), None)
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "wait above 30 s is the server's 422: {err:?}");
}

#[tokio::test]
async fn bad_bodies_are_api_errors_naming_the_member() {
    let server = TestServer::start().await;
    let client = server.client();
    let room_id = room(&client).await;
    let refused = |body: RevokeTokensRequest| {
        let client = client.clone();
        let room_id = room_id.clone();
        async move { client.rooms().revoke_tokens(&room_id, &body).await.unwrap_err() }
    };
    let cases = [
        (RevokeTokensRequest::default(), "10004", "/jti"),
        (by_jti("not-a-uuid"), "10026", "/jti"),
        (
            RevokeTokensRequest {
                identity: Some("alice".into()),
                ..by_jti("00000000-0000-4000-8000-000000000000")
            },
            "10033",
            "/identity",
        ),
        (
            RevokeTokensRequest {
                issued_before: Some("2999-01-01T00:00:00Z".into()),
                ..Default::default()
            },
            "10033",
            "/issued_before",
        ),
        (
            RevokeTokensRequest {
                identity: Some("alice".into()),
                reason: Some("x".repeat(257)),
                ..Default::default()
            },
            "10033",
            "/reason",
        ),
    ];
    for (body, code, pointer) in cases {
        let err = refused(body).await;
        assert!(err.is_invalid(), "{err:?}");
        assert_eq!(err.code(), Some(code), "{err:?}");
        let source = err.api_error().unwrap().source.clone().unwrap();
        assert_eq!(source.pointer.as_deref(), Some(pointer), "{err:?}");
    }
    let err = client
        .rooms()
        .list_revocations(&room_id, &ListRevocationsParams::new().page_size(251))
        .await
        .unwrap_err();
    let source = err.api_error().unwrap().source.clone().unwrap();
    assert_eq!(source.parameter.as_deref(), Some("page[size]"));
    let err = client
        .revocation_feed(Some("not a cursor"), None, None)
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
}

#[tokio::test]
async fn another_accounts_room_is_not_found() {
    let server = TestServer::start().await;
    let owner = server.client();
    let room_id = room(&owner).await;
    let stranger = server.client_with_key(&server.add_key("stranger").await);
    let who = RevokeTokensRequest {
        identity: Some("alice".into()),
        ..Default::default()
    };
    let err = stranger.rooms().revoke_tokens(&room_id, &who).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("10005"));
    let err = stranger
        .rooms()
        .list_revocations(&room_id, &ListRevocationsParams::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // Nothing was revoked in the owner's room.
    let page = owner
        .rooms()
        .list_revocations(&room_id, &ListRevocationsParams::new())
        .await
        .unwrap();
    assert!(page.data.is_empty());
    let err = server
        .anonymous_client()
        .rooms()
        .revoke_tokens(&room_id, &who)
        .await
        .unwrap_err();
    assert!(matches!(err, roomgate_client::Error::MissingApiKey), "{err:?}");
}

#[tokio::test]
async fn introspection_says_active_or_revoked_and_hides_other_accounts() {
    let server = TestServer::start().await;
    let client = server.client();
    let room_id = room(&client).await;
    let (jti, token) = token_for(&client, &room_id, "alice").await;

    let seen = client.introspect(&token).await.unwrap();
    assert!(seen.active, "{seen:?}");
    assert_eq!(seen.typ.as_deref(), Some("access"));
    assert_eq!(seen.room_id.as_deref(), Some(room_id.as_str()));
    assert_eq!(seen.identity.as_deref(), Some("alice"));
    assert_eq!(seen.jti.as_deref(), Some(jti.as_str()));
    assert_eq!(seen.reason, None);
    assert!(seen.expires_in.unwrap() > 0);

    let revocation = client
        .rooms()
        .revoke_tokens(
            &room_id,
            &RevokeTokensRequest {
                reason: Some("kicked".into()),
                ..by_jti(&jti)
            },
        )
        .await
        .unwrap();
    let seen = client.introspect(&token).await.unwrap();
    assert!(!seen.active);
    assert_eq!(seen.reason, Some(InactiveReason::Revoked));
    let by = seen.revocation.unwrap();
    assert_eq!((by.id, by.reason.as_deref()), (revocation.id, Some("kicked")));

    // No oracle: another account learns only that it is not active; garbage likewise.
    let stranger = server.client_with_key(&server.add_key("stranger").await);
    for (who, token) in [(&stranger, token.as_str()), (&client, "not.a.token")] {
        let seen = who.introspect(token).await.unwrap();
        assert_eq!(seen, Default::default(), "{seen:?}");
    }
}
