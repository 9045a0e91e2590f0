//! A revocation feed the test scripts (garbage, errors, full pages): the verifier keeps failing closed, never
//! panics, never advances its cursor past a page it could not use, and stops polling once dropped.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Router,
};
use roomgate_token::SigningKey;
use roomgate_verify::{FetchError, Verifier, VerifyError, MAX_REVOCATIONS_RESPONSE_BYTES};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{access_token, body, jwks_json, NOW, ROOM};

const KEY: &str = "rg_test_feed_secret_4f1d";
const STALENESS: Duration = Duration::from_secs(2);

/// One answer of the feed.
#[derive(Clone, Debug)]
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    retry_after: Option<&'static str>,
    /// Sent in pieces without a Content-Length.
    chunked: bool,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self::raw(StatusCode::OK, body.to_string().into_bytes())
    }

    fn page(cursor: &str) -> Self {
        Self::ok(json!({ "data": [], "meta": { "next_cursor": cursor } }))
    }

    fn raw(status: StatusCode, body: Vec<u8>) -> Self {
        Reply {
            status,
            body,
            retry_after: None,
            chunked: false,
        }
    }
}

/// A request as the feed saw it.
#[derive(Clone, Debug)]
struct Seen {
    query: HashMap<String, String>,
    authorization: Option<String>,
    at: Instant,
}

#[derive(Debug)]
struct Script {
    /// Answered in order, then `then` for ever.
    next: VecDeque<Reply>,
    then: Reply,
    seen: Vec<Seen>,
}

#[derive(Clone, Debug)]
struct Feed {
    script: Arc<Mutex<Script>>,
    url: String,
}

impl Feed {
    async fn start(then: Reply) -> Self {
        let script = Arc::new(Mutex::new(Script {
            next: VecDeque::new(),
            then,
            seen: Vec::new(),
        }));
        let app = Router::new()
            .route("/v2/revocations", get(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://{}/v2/revocations",
            listener.local_addr().expect("address")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Feed { script, url }
    }

    fn set(&self, then: Reply) {
        self.script.lock().expect("script").then = then;
    }

    fn queue(&self, reply: Reply) {
        self.script.lock().expect("script").next.push_back(reply);
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().expect("script").seen.clone()
    }

    fn verifier(&self, key: &SigningKey) -> Verifier {
        Verifier::builder()
            .revocation_staleness(STALENESS)
            .revocations(&self.url, KEY)
            .jwks_json(&jwks_json(&[key]))
            .expect("verifier")
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let reply = {
        let mut script = script.lock().expect("script");
        script.seen.push(Seen {
            query,
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            at: Instant::now(),
        });
        let then = script.then.clone();
        script.next.pop_front().unwrap_or(then)
    };
    let body = body(reply.body, reply.chunked);
    let mut response = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(after) = reply.retry_after {
        response = response.header(header::RETRY_AFTER, after);
    }
    response.body(body).expect("response")
}

/// Waits (at most `within`) until `done` holds.
async fn until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn revocation(selector: Value) -> Value {
    let mut r = json!({
        "record_type": "revocation", "id": Uuid::new_v4(), "room_id": ROOM, "reason": null,
        "created_at": "2026-12-01T15:00:00.123456Z", "expires_at": "2099-01-01T00:00:00.000000Z",
    });
    r.as_object_mut()
        .expect("object")
        .extend(selector.as_object().expect("object").clone());
    r
}

#[tokio::test]
async fn garbage_from_the_feed_is_a_failed_poll_and_the_verifier_fails_closed() {
    let key = SigningKey::generate();
    let feed = Feed::start(Reply::page("c1")).await;
    let verifier = feed.verifier(&key);
    verifier.sync_revocations().await.expect("a valid empty page");
    verifier
        .verify_access_token(&access_token(&key), ROOM, NOW)
        .await
        .expect("no revocations: passes");

    let oversized = Reply {
        chunked: true,
        ..Reply::raw(StatusCode::OK, vec![b' '; MAX_REVOCATIONS_RESPONSE_BYTES + 1])
    };
    let telnyx_error = json!({ "errors": [{ "code": "10007", "title": "Unexpected error" }] });
    let garbage = [
        Reply::raw(StatusCode::OK, b"not json".to_vec()),
        Reply::raw(StatusCode::OK, Vec::new()),
        Reply::ok(json!([])),
        Reply::ok(json!({ "data": [] })),
        Reply::ok(json!({ "data": [], "meta": {} })),
        Reply::ok(json!({ "data": {}, "meta": { "next_cursor": "c2" } })),
        Reply::ok(json!({ "data": [{ "record_type": "revocation" }], "meta": { "next_cursor": "c2" } })),
        Reply::ok(json!({
            "data": [revocation(json!({ "jti": Uuid::new_v4(), "identity": "alice" }))],
            "meta": { "next_cursor": "c2" },
        })),
        Reply::ok(json!({ "data": [], "meta": { "next_cursor": "c".repeat(5000) } })),
        Reply::raw(
            StatusCode::OK,
            br#"{"data":[],"meta":{"next_cursor":"c2","next_cursor":"c3"}}"#.to_vec(),
        ),
        oversized,
        Reply::raw(
            StatusCode::INTERNAL_SERVER_ERROR,
            telnyx_error.to_string().into_bytes(),
        ),
    ];
    // Once the follower has hit garbage, no good answer is in flight: every sync below must fail.
    feed.set(garbage[0].clone());
    until(Duration::from_secs(3), "a failed poll", || {
        verifier.revocation_stats().expect("stats").polls_failed > 0
    })
    .await;
    for reply in garbage {
        let shown = String::from_utf8_lossy(&reply.body[..reply.body.len().min(80)]).into_owned();
        feed.set(reply);
        let err = verifier.sync_revocations().await.unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::InvalidRevocations(_)
                    | VerifyError::RevocationFeed(FetchError::TooLarge { .. } | FetchError::Status(500))
            ),
            "{shown}: {err:?}"
        );
    }
    let after_garbage = verifier.revocation_stats().expect("stats");
    assert!(after_garbage.polls_failed >= 12, "{after_garbage:?}");
    assert_eq!(after_garbage.held, 0);

    until(STALENESS + Duration::from_secs(2), "stale", || {
        matches!(
            verifier.verify_access_token_cached(&access_token(&key), ROOM, NOW),
            Err(VerifyError::RevocationsStale { since: Some(_) })
        )
    })
    .await;
    // Every request since the good page resumed from its cursor: nothing unusable advanced it.
    let seen = feed.seen();
    assert!(seen.len() > 12, "{seen:?}");
    for s in &seen[1..] {
        assert_eq!(s.query.get("after").map(String::as_str), Some("c1"), "{s:?}");
    }

    // The follower survived all of it: once the feed is sane again, so is the verifier.
    feed.set(Reply::page("c2"));
    until(STALENESS * 2, "recovered", || {
        verifier
            .verify_access_token_cached(&access_token(&key), ROOM, NOW)
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn a_full_page_is_followed_at_once_and_only_the_end_of_the_feed_counts_as_current() {
    let key = SigningKey::generate();
    let feed = Feed::start(Reply::page("c3")).await;
    let token = access_token(&key);
    let (_, payload) = roomgate_token::decode_unverified(&token).expect("decodable");
    let jti = payload["jti"].as_str().expect("jti").to_owned();
    let full: Vec<Value> = (0..1000)
        .map(|_| revocation(json!({ "jti": Uuid::new_v4() })))
        .collect();
    feed.queue(Reply::ok(
        json!({ "data": full, "meta": { "next_cursor": "c1" } }),
    ));
    feed.queue(Reply::ok(json!({
        "data": [revocation(json!({ "jti": jti, "identity": null, "issued_before": null }))],
        "meta": { "next_cursor": "c2" },
    })));
    let verifier = feed.verifier(&key);
    let err = verifier.verify_access_token(&token, ROOM, NOW).await.unwrap_err();
    assert!(matches!(err, VerifyError::Revoked { .. }), "{err:?}");
    assert_eq!(verifier.revocation_stats().expect("stats").held, 1001);
    let seen = feed.seen();
    let param = |i: usize, name: &str| seen[i].query.get(name).cloned();
    assert_eq!((param(0, "after"), param(0, "wait")), (None, Some("0".into())));
    assert_eq!(param(0, "limit").as_deref(), Some("1000"));
    assert_eq!(
        (param(1, "after"), param(1, "wait")),
        (Some("c1".into()), Some("0".into()))
    );
    until(Duration::from_secs(2), "a long poll", || feed.seen().len() >= 3).await;
    let seen = feed.seen();
    assert_eq!(seen[2].query.get("after").map(String::as_str), Some("c2"));
    assert_eq!(
        seen[2].query.get("wait").map(String::as_str),
        Some("1"),
        "half the 2 s bound"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_the_api_key_is_sent_but_never_shown() {
    let key = SigningKey::generate();
    let feed = Feed::start(Reply::page("c1")).await;
    feed.queue(Reply {
        retry_after: Some("1"),
        ..Reply::raw(StatusCode::TOO_MANY_REQUESTS, b"{\"errors\":[]}".to_vec())
    });
    let verifier = feed.verifier(&key);
    until(Duration::from_secs(3), "a retry", || feed.seen().len() >= 2).await;
    let seen = feed.seen();
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );

    feed.set(Reply::raw(StatusCode::UNAUTHORIZED, b"{\"errors\":[]}".to_vec()));
    until(Duration::from_secs(3), "a 401", || {
        let stats = verifier.revocation_stats().expect("stats");
        matches!(
            stats.last_error,
            Some(VerifyError::RevocationFeed(FetchError::Status(401)))
        )
    })
    .await;
    let err = verifier
        .revocation_stats()
        .expect("stats")
        .last_error
        .expect("an error");
    assert_eq!(err.reason(), "revocations_status");
    let shown = format!("{err} {err:?} {verifier:?} {:?}", verifier.revocation_stats());
    assert!(!shown.contains(KEY), "{shown}");
}

#[tokio::test]
async fn the_follower_stops_when_the_last_verifier_clone_is_dropped() {
    let key = SigningKey::generate();
    // Answered at once (no long-poll hold), so a live follower polls several times a second.
    let feed = Feed::start(Reply::page("c1")).await;
    let verifier = feed.verifier(&key);
    let clone = verifier.clone();
    drop(verifier);
    let hits = feed.seen().len();
    until(Duration::from_secs(2), "a clone keeps polling", || {
        feed.seen().len() > hits + 2
    })
    .await;
    drop(clone);
    // A poll under way may still land; after that, nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits = feed.seen().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(feed.seen().len(), hits, "the follower still polls");
}

/// A feed served from a thread and runtime of its own, which outlive the runtimes a test starts and drops.
fn feed_on_its_own_thread(then: Reply) -> Feed {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            sender.send(Feed::start(then).await).expect("send the feed");
            std::future::pending::<()>().await
        });
    });
    receiver.recv().expect("the feed started")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn built_outside_a_runtime_the_follower_starts_on_first_use_and_again_on_a_new_runtime() {
    let key = SigningKey::generate();
    let feed = feed_on_its_own_thread(Reply::page("c1"));
    let verifier = feed.verifier(&key);
    let token = access_token(&key);
    assert!(feed.seen().is_empty(), "no runtime, no follower");
    runtime().block_on(async {
        verifier
            .verify_access_token(&token, ROOM, NOW)
            .await
            .expect("the first use starts the follower and waits for its first poll");
    });
    // That runtime is gone, and its follower with it: the verifier goes stale, then a check on a new runtime
    // starts a follower there.
    let hits = feed.seen().len();
    runtime().block_on(async {
        until(STALENESS + Duration::from_secs(2), "stale", || {
            verifier.verify_access_token_cached(&token, ROOM, NOW).is_err()
        })
        .await;
        until(STALENESS, "polling again", || {
            verifier.verify_access_token_cached(&token, ROOM, NOW).is_ok()
        })
        .await;
    });
    assert!(feed.seen().len() > hits, "{:?}", feed.seen());
}
