//! A roomgate the test scripts, for what the real one never sends: a malformed page (retried from the same
//! cursor, never skipped), unknown command types (skipped), an outage (retried), and renewals of more
//! participants than one request takes (sent in chunks).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use roomgate_verify::{Command, Link, TrackKind, Uuid};
use serde_json::{json, Value};

use super::WITHIN;

const KEY: &str = "rg_test_link_secret_77c2";
const ROOM: Uuid = Uuid::from_u128(0x700);
const SESSION: Uuid = Uuid::from_u128(0x5e5);

#[derive(Debug, Default)]
struct Script {
    /// Answers of the feed, in order; an empty page at the end of the script.
    feed: VecDeque<(StatusCode, Value)>,
    /// The query of every feed request, and its `Authorization`.
    queries: Vec<HashMap<String, String>>,
    authorizations: Vec<Option<String>>,
    /// The number of ids in every renewal, and which ids to report gone.
    renewals: Vec<usize>,
    gone: Vec<Uuid>,
    /// The body of every admission.
    admissions: Vec<Value>,
}

type Shared = Arc<Mutex<Script>>;

async fn serve(script: Script) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(script));
    let app = Router::new()
        .route("/v2/room_commands", get(feed))
        .route("/v2/room_participants", post(admit))
        .route("/v2/room_participants/actions/renew", post(renew))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, shared)
}

async fn feed(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let next = {
        let mut s = s.lock().expect("script");
        s.queries.push(q.clone());
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        s.authorizations.push(auth);
        s.feed.pop_front()
    };
    match next {
        Some((status, body)) if status == StatusCode::SERVICE_UNAVAILABLE => {
            (status, [(header::RETRY_AFTER, "0")], Json(body)).into_response()
        }
        Some((status, body)) => (status, Json(body)).into_response(),
        None => {
            // The end of the script: an idle long poll.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let cursor = q.get("after").cloned().unwrap_or_else(|| "0".into());
            Json(json!({ "data": [], "meta": { "next_cursor": cursor } })).into_response()
        }
    }
}

async fn admit(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    s.lock().expect("script").admissions.push(body);
    let t = "2027-01-15T08:00:00.000000Z";
    let participant = json!({
        "record_type": "room_participant", "id": Uuid::new_v4(), "session_id": SESSION, "room_id": ROOM,
        "context": null, "joined_at": t, "left_at": null, "updated_at": t, "identity": null, "name": null,
        "permissions": {"can_publish": true, "can_publish_sources": ["camera"], "can_subscribe": true,
            "can_publish_data": true, "can_update_metadata": false, "hidden": false, "recorder": false,
            "room_admin": false},
        "lease_expires_at": "2027-01-15T08:00:30.000000Z",
    });
    (StatusCode::CREATED, Json(json!({ "data": participant }))).into_response()
}

async fn renew(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let ids: Vec<Uuid> = serde_json::from_value(body["participant_ids"].clone()).expect("ids");
    let mut s = s.lock().expect("script");
    s.renewals.push(ids.len());
    let (gone, renewed): (Vec<Uuid>, Vec<Uuid>) = ids.into_iter().partition(|id| s.gone.contains(id));
    let t = "2027-01-15T08:00:30.000000Z";
    Json(json!({ "data": { "renewed": renewed, "gone": gone, "lease_expires_at": t } })).into_response()
}

fn command(kind: &str, participant: Uuid, extra: Value) -> Value {
    let mut c = json!({
        "record_type": "room_command", "id": Uuid::new_v4(), "type": kind, "room_id": ROOM, "session_id": SESSION,
        "participant_id": participant, "kinds": null, "reason": null, "revocation": null,
        "created_at": "2027-01-15T08:00:00.000000Z",
    });
    c.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    c
}

fn page(commands: Vec<Value>, cursor: &str) -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({ "data": commands, "meta": { "next_cursor": cursor } }),
    )
}

async fn next(commands: &mut roomgate_verify::Commands) -> Command {
    tokio::time::timeout(WITHIN, commands.next())
        .await
        .expect("a command")
        .expect("goes on")
}

#[tokio::test]
async fn a_malformed_page_is_retried_from_its_cursor_and_unknown_types_are_skipped() {
    let (p1, p2) = (Uuid::new_v4(), Uuid::new_v4());
    let feed = VecDeque::from([
        page(
            vec![
                command("hand_raise", p1, json!({ "room_id": "not even a uuid" })),
                command("kick", p1, json!({})),
            ],
            "5",
        ),
        // A kick without its participant: the page is refused whole, the cursor stays.
        page(
            vec![
                command("mute", p2, json!({})),
                command("kick", p2, json!({ "participant_id": null })),
            ],
            "9",
        ),
        (StatusCode::SERVICE_UNAVAILABLE, json!({ "errors": [] })),
        (StatusCode::OK, json!({ "data": [], "meta": {} })),
        page(vec![command("mute", p2, json!({ "kinds": ["audio"] }))], "7"),
    ]);
    let (base, script) = serve(Script {
        feed,
        ..Script::default()
    })
    .await;
    let link = Link::builder(&base, KEY)
        .feed_wait(Duration::from_secs(1))
        .build()
        .expect("link");
    let mut commands = link.commands();

    let kick = next(&mut commands).await;
    assert!(
        matches!(kick, Command::Kick { participant_id, .. } if participant_id == p1),
        "{kick:?}"
    );
    assert_eq!(commands.cursor(), Some("5"));
    let mute = next(&mut commands).await;
    assert_eq!(
        mute,
        Command::Mute {
            room_id: ROOM,
            session_id: Some(SESSION),
            participant_id: p2,
            kinds: vec![TrackKind::Audio]
        }
    );
    assert_eq!(commands.cursor(), Some("7"));
    assert_eq!(commands.last_error(), None, "cleared by the good page");

    let s = script.lock().expect("script");
    let afters: Vec<Option<&str>> = s
        .queries
        .iter()
        .take(5)
        .map(|q| q.get("after").map(String::as_str))
        .collect();
    assert_eq!(afters, [None, Some("5"), Some("5"), Some("5"), Some("5")]);
    for q in &s.queries {
        assert_eq!((q["wait"].as_str(), q["limit"].as_str()), ("1", "1000"), "{q:?}");
    }
    let bearer = format!("Bearer {KEY}");
    assert!(s
        .authorizations
        .iter()
        .all(|a| a.as_deref() == Some(bearer.as_str())));
}

#[tokio::test]
async fn renewals_go_in_chunks_of_a_thousand_and_report_the_gone() {
    let (base, script) = serve(Script::default()).await;
    let link = Link::builder(&base, KEY)
        .renew_interval(Duration::from_secs(3600))
        .build()
        .expect("link");
    let mut ids = Vec::new();
    for _ in 0..1001 {
        ids.push(link.admit("token", None).await.expect("admitted").id);
    }
    assert_eq!(
        script.lock().expect("script").admissions[0],
        json!({ "access_token": "token" })
    );
    let gone = [ids[3], ids[1000]];
    script.lock().expect("script").gone = gone.to_vec();
    link.renew_now().await.expect("renewed");
    let mut sizes = script.lock().expect("script").renewals.clone();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 1000]);
    assert_eq!(link.renewal_stats().tracked, 999);
    let mut commands = link.commands();
    let mut reported = Vec::new();
    for _ in 0..2 {
        match next(&mut commands).await {
            Command::Gone { participant_id } => reported.push(participant_id),
            other => panic!("not a gone: {other:?}"),
        }
    }
    reported.sort_unstable();
    let mut expected = gone.to_vec();
    expected.sort_unstable();
    assert_eq!(reported, expected);
    assert!(!link.is_tracked(ids[3]) && link.is_tracked(ids[4]));
    // Renewed again: the gone are no longer asked about.
    link.renew_now().await.expect("renewed");
    assert_eq!(
        script.lock().expect("script").renewals.iter().sum::<usize>(),
        1001 + 999
    );
}

#[tokio::test]
async fn renewals_stop_with_the_last_handle_of_the_link() {
    let (base, script) = serve(Script::default()).await;
    let link = Link::builder(&base, KEY)
        .renew_interval(Duration::from_millis(100))
        .build()
        .expect("link");
    link.admit("token", None).await.expect("admitted");
    let commands = link.commands();
    let renewals = || script.lock().expect("script").renewals.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(renewals() >= 2, "renewed every 100 ms");
    drop(link);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(renewals() >= 4, "the stream holds the link: renewals go on");
    drop(commands);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_drop = renewals();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(renewals(), after_drop, "no renewal once every handle is gone");
}
