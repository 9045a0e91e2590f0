//! No oracle: another account's token, a token naming a room that does not exist unless it is provably ours
//! and the caller's, and text that is no token all get the same bytes, `{"data":{"active":false}}`.
use roomgate_store::backend_test;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{claims_of, flip_signature, introspect, introspect_text, mint_as, with, ServerKey, NOT_OURS};
use crate::harness::{Scheme, TestApp};

/// `claims` granting `room` to `subjects` alone.
fn granting(claims: &Map<String, Value>, room: Uuid, subjects: &[&str]) -> Map<String, Value> {
    let grants = json!([{
        "actions": ["join"],
        "resources": [format!("telnyx:video:rooms:{room}")],
        "subjects": subjects,
    }]);
    with(claims, "grants", grants)
}

backend_test! {
    async fn other_accounts_tokens_and_non_tokens_get_the_same_bare_answer(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let ours = app.mint(Scheme::Original, &room, &json!({"identity": "alice"})).await;
        let other = app.new_api_key("other").await;
        let their_room = app.create_room_as(&other.secret, json!({})).await["id"].clone();
        let their_room = their_room.as_str().unwrap().to_owned();
        let theirs = mint_as(&app, &other.secret, &their_room, &json!({"identity": "bob"})).await;
        let bare = |key: &str, token: &str| {
            let (app, key, token) = (&app, key.to_owned(), token.to_owned());
            async move {
                let text = introspect_text(app, &key, &token).await;
                assert_eq!(text, NOT_OURS, "{:.80}", token);
            }
        };
        let long = "a".repeat(roomgate_token::MAX_TOKEN_LEN + 1);
        let padded = format!("{}{}", ours.access, "A".repeat(roomgate_token::MAX_TOKEN_LEN));
        for junk in ["", "garbage", "a.b.c", "...", "e30.e30.", &long, &padded] {
            bare(&app.api_key, junk).await;
        }
        // Each account's own tokens are described to it, and to no one else.
        let text = introspect_text(&app, &other.secret, &theirs.access).await;
        let described: Value = serde_json::from_str(&text).unwrap();
        let data = &described["data"];
        assert_eq!((&data["active"], &data["identity"]), (&json!(true), &json!("bob")));
        for token in [&theirs.access, &theirs.refresh] {
            bare(&app.api_key, token).await;
        }
        for token in [&ours.access, &ours.refresh] {
            bare(&other.secret, token).await;
        }
        // A token of the other account's room is never the caller's, whatever it names.
        let their_uuid = Uuid::parse_str(&their_room).unwrap();
        let key = ServerKey::of(&app).await;
        let access = claims_of(&ours.access);
        let caller = access["grants"][0]["subjects"][0].as_str().unwrap().to_owned();
        bare(&app.api_key, &key.access(&granting(&access, their_uuid, &[&caller]))).await;
        let stranger = format!("telnyx:users:{}", Uuid::new_v4());
        let nowhere = Uuid::new_v4();
        // No room at all, or two.
        bare(&app.api_key, &key.access(&with(&access, "grants", json!([])))).await;
        let mut two = granting(&access, nowhere, &[&caller]);
        two["grants"][0]["resources"]
            .as_array_mut()
            .unwrap()
            .push(format!("telnyx:video:rooms:{room}").into());
        bare(&app.api_key, &key.access(&two)).await;
        // A room that does not exist: only a token provably ours, for the caller, is described.
        let forged = granting(&access, nowhere, &[&caller]);
        let unknown = roomgate_token::SigningKey::generate();
        bare(&app.api_key, &unknown.sign(&serde_json::from_value(forged.clone().into()).unwrap())).await;
        let genuine = key.access(&forged);
        bare(&app.api_key, &flip_signature(&genuine)).await;
        bare(&app.api_key, &key.access(&with(&forged, "iss", "someone-else".into()))).await;
        bare(&app.api_key, &key.access(&granting(&access, nowhere, &[&stranger]))).await;
        bare(&app.api_key, &key.access(&granting(&access, nowhere, &[]))).await;
        assert_eq!(introspect(&app, &genuine).await["reason"], "room_deleted");
        // A refresh token naming no account in its grants is the caller's if one of its keys minted it.
        let refresh = granting(&claims_of(&ours.refresh), nowhere, &[]);
        let by = |id: Uuid| key.refresh(&with(&refresh, "api_key_id", id.to_string().into()));
        assert_eq!(introspect(&app, &by(app.api_key_id)).await["reason"], "room_deleted");
        bare(&app.api_key, &by(other.id)).await;
        bare(&app.api_key, &by(Uuid::new_v4())).await;

        // Once the other account deletes its room, its tokens are still not the caller's.
        app.delete(&format!("/v2/rooms/{their_room}"), Some(&other.secret)).await;
        for token in [&theirs.access, &theirs.refresh] {
            bare(&app.api_key, token).await;
            let text = introspect_text(&app, &other.secret, token).await;
            assert!(text.contains("\"reason\":\"room_deleted\""), "{text}");
        }
    }
}
