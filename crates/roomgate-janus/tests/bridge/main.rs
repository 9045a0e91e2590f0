//! The bridge against a real roomgate (the server on 127.0.0.1:0) and a real Janus (Debian's, started per test
//! with compat/janus/conf): refusals leave no Janus token, admissions leave exactly one, and roomgate's kicks and
//! joins that never reach Janus take it away again. Without /usr/bin/janus they are compiled as ignored (see
//! build.rs), except in CI (`CI=true`), where they fail without it.

mod janus;

use std::time::Duration;

use roomgate_janus::{Bridge, Config};
use roomgate_server::testing::{Backend, TestServer};
use serde_json::{json, Value};

use janus::Janus;

/// roomgate, Janus and the bridge between them.
struct Setup {
    config: Config,
    server: TestServer,
    janus: Janus,
    bridge_url: String,
    http: reqwest::Client,
    room: String,
    _bridge: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Setup {
    /// Everything running, with a room of `max_participants`; `None` (after a loud warning) without Janus.
    async fn start(max_participants: u32, join_window: Duration) -> Option<Setup> {
        Self::start_with(max_participants, join_window, true).await
    }

    /// As [`Self::start`]; Janus's events reach the bridge only if `events`.
    async fn start_with(max_participants: u32, join_window: Duration, events: bool) -> Option<Setup> {
        let paths = janus::installed()?;
        let server = TestServer::start(Backend::Sqlite, roomgate_server::Config::default()).await;
        let http = reqwest::Client::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bridge_url = format!("http://{}", listener.local_addr().expect("addr"));
        // Without events, Janus posts them where nothing listens (port 9, discard).
        let events_url = if events {
            format!("{bridge_url}/janus-events")
        } else {
            "http://127.0.0.1:9/".into()
        };
        let janus = Janus::start(&paths, &events_url).await;
        let mut config = Config::new(
            &server.address,
            &server.key.secret,
            &janus.api_url,
            &janus.admin_url,
            &janus.admin_secret,
        );
        config.videoroom_admin_key = Some(roomgate_janus::Secret::new(janus.videoroom_key.clone()));
        config.join_window = join_window;
        config.reconcile_interval = Duration::from_millis(200);
        let bridge = Bridge::start(config.clone()).expect("bridge");
        let served = tokio::spawn(roomgate_janus::serve(listener, bridge, std::future::pending()));
        let mut setup = Setup {
            config,
            server,
            janus,
            bridge_url,
            http,
            room: String::new(),
            _bridge: served,
        };
        let room = setup
            .api(
                "/v2/rooms",
                json!({ "unique_name": "janus", "max_participants": max_participants }),
            )
            .await;
        setup.room = room["data"]["id"].as_str().expect("room id").to_owned();
        Some(setup)
    }

    /// Stops the bridge (its tasks end, its state is lost) and starts another on the same address.
    async fn restart_bridge(&mut self) {
        self._bridge.abort();
        let _ = (&mut self._bridge).await;
        let address = self.bridge_url.trim_start_matches("http://");
        let listener = tokio::net::TcpListener::bind(address).await.expect("rebind");
        let bridge = Bridge::start(self.config.clone()).expect("bridge");
        self._bridge = tokio::spawn(roomgate_janus::serve(listener, bridge, std::future::pending()));
    }

    /// POST to roomgate's API with the key: the body.
    async fn api(&self, path: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(self.server.url(path))
            .bearer_auth(&self.server.key.secret)
            .json(&body)
            .send()
            .await
            .expect("roomgate answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("json")
    }

    /// GET from roomgate's API with the key: the body.
    async fn get(&self, path: &str) -> Value {
        let answer = self
            .http
            .get(self.server.url(path))
            .bearer_auth(&self.server.key.secret)
            .send()
            .await
            .expect("roomgate answers");
        answer.json().await.expect("json")
    }

    /// An access token (and its claims' jti) for `identity` in the room.
    async fn token(&self, identity: &str) -> String {
        let minted = self
            .api(
                &format!("/v2/rooms/{}/actions/generate_join_client_token", self.room),
                json!({ "identity": identity }),
            )
            .await;
        minted["data"]["token"].as_str().expect("token").to_owned()
    }

    /// Whether roomgate records the participant left.
    async fn left(&self, id: &str) -> bool {
        let p = self.get(&format!("/v2/room_participants/{id}")).await;
        !p["data"]["left_at"].is_null()
    }

    /// A participant admitted through the bridge and joined to the VideoRoom as a page would: its id, its Janus
    /// token and its Janus session.
    async fn in_janus(&self, identity: &str) -> (String, String, u64) {
        let (status, joined) = self.join(&self.token(identity).await).await;
        assert_eq!(status, 200, "{joined}");
        let id = joined["participant_id"].as_str().expect("id").to_owned();
        let token = joined["token"].as_str().expect("token").to_owned();
        let session = self.janus.join_as_publisher(&self.room, &id, &token).await;
        (id, token, session)
    }

    /// `POST /join` with `token`: status and body.
    async fn join(&self, token: &str) -> (u16, Value) {
        let answer = self
            .http
            .post(format!("{}/join", self.bridge_url))
            .json(&json!({ "access_token": token }))
            .send()
            .await
            .expect("the bridge answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.expect("json"))
    }
}

/// Waits up to 5 s for `check`.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    for _ in 0..50 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 5 s");
}

fn error_of(body: &Value) -> (&str, &str) {
    let e = &body["errors"][0];
    (
        e["code"].as_str().unwrap_or_default(),
        e["title"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn refused_joins_get_roomgate_errors_and_no_janus_token() {
    let Some(s) = Setup::start(2, Duration::from_secs(30)).await else {
        return;
    };

    let (status, body) = s.join("not.a.token").await;
    assert_eq!(
        (status, error_of(&body)),
        (401, ("10009", "Authentication failed"))
    );
    let (status, body) = s
        .http
        .post(format!("{}/join", s.bridge_url))
        .body("{")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("answers");
    assert_eq!(status, 400);
    let body: Value = body.json().await.expect("json error");
    assert_eq!(error_of(&body).0, "10015");
    assert!(
        s.janus.tokens().await.is_empty(),
        "no Janus token for a bad token"
    );

    // A revoked token: refused before roomgate is even asked.
    let revoked = s.token("mallory").await;
    s.api(
        &format!("/v2/rooms/{}/actions/revoke_tokens", s.room),
        json!({ "identity": "mallory" }),
    )
    .await;
    // The verifier follows the revocation feed: within its long poll.
    eventually("the revoked token is refused", || async {
        let (status, body) = s.join(&revoked).await;
        status == 403 && body["errors"][0]["meta"]["reason"] == "revoked"
    })
    .await;
    assert!(
        s.janus.tokens().await.is_empty(),
        "no Janus token for a revoked participant"
    );

    // Two admitted: a Janus token each, for the room named like roomgate's.
    let mut tokens = Vec::new();
    for who in ["alice", "bob"] {
        let (status, joined) = s.join(&s.token(who).await).await;
        assert_eq!(status, 200, "{joined}");
        assert_eq!(joined["room"], s.room.as_str());
        assert_eq!(joined["janus_url"], s.janus.api_url.as_str());
        tokens.push(joined["token"].as_str().expect("token").to_owned());
    }
    tokens.sort();
    let held = || async {
        let mut held = s.janus.tokens().await;
        held.sort();
        held
    };
    assert_eq!(held().await, tokens);
    assert!(s.janus.room_exists(&s.room).await);

    // The room is full at two: refused with roomgate's "Room full", and no third token.
    let (status, body) = s.join(&s.token("carol").await).await;
    assert_eq!((status, error_of(&body)), (403, ("10010", "Room full")));
    assert_eq!(body["errors"][0]["meta"]["max_participants"], 2);
    assert_eq!(held().await, tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn a_kick_withdraws_the_janus_token() {
    let Some(s) = Setup::start(5, Duration::from_secs(30)).await else {
        return;
    };

    // Admitted, and kicked through roomgate's session action: the Janus token goes within two seconds.
    let (status, alice) = s.join(&s.token("alice").await).await;
    assert_eq!(status, 200, "{alice}");
    let id = alice["participant_id"].as_str().expect("id").to_owned();
    let participant = s.get(&format!("/v2/room_participants/{id}")).await;
    let session = participant["data"]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    s.api(
        &format!("/v2/room_sessions/{session}/actions/kick"),
        json!({ "participants": [id] }),
    )
    .await;
    eventually("the kicked participant's Janus token is removed", || async {
        s.janus.tokens().await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn a_join_never_made_in_janus_counts_as_leaving() {
    let Some(s) = Setup::start(5, Duration::from_secs(1)).await else {
        return;
    };

    // Admitted, but the page never joins Janus: after the join window roomgate records it left.
    let (status, bob) = s.join(&s.token("bob").await).await;
    assert_eq!(status, 200, "{bob}");
    let id = bob["participant_id"].as_str().expect("id").to_owned();
    assert_eq!(s.janus.tokens().await.len(), 1);
    eventually("a participant that never joined Janus has left", || async {
        let p = s.get(&format!("/v2/room_participants/{id}")).await;
        !p["data"]["left_at"].is_null()
    })
    .await;
    assert!(s.janus.tokens().await.is_empty(), "and its token is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn leaving_janus_and_a_janus_restart_are_reported_to_roomgate() {
    let Some(mut s) = Setup::start(5, Duration::from_secs(30)).await else {
        return;
    };

    // A joins the VideoRoom as a page would, then destroys its Janus session: roomgate records the leave.
    let (a_id, a_token, session) = s.in_janus("alice").await;
    let (a_id, a_token) = (a_id.as_str(), a_token.as_str());
    assert!(s.janus.sessions().await.contains(&session));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!s.left(a_id).await, "still in while its session lives");
    s.janus
        .api(&format!("/{session}"), json!({ "janus": "destroy" }), a_token)
        .await;
    eventually("a participant whose Janus session ended has left", || {
        s.left(a_id)
    })
    .await;

    // B joins Janus, C is admitted but has not joined yet; Janus dies and comes back with nothing.
    let (_, b) = s.join(&s.token("bob").await).await;
    let b_id = b["participant_id"].as_str().expect("id").to_owned();
    s.janus
        .join_as_publisher(&s.room, &b_id, b["token"].as_str().expect("token"))
        .await;
    let (_, c) = s.join(&s.token("carol").await).await;
    let c_token = c["token"].as_str().expect("token").to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.janus.restart().await;
    let janus = &s.janus;
    eventually("B, whose session the restart ended, has left", || s.left(&b_id)).await;
    eventually("C's token and room are back in Janus", || async {
        janus.tokens().await == vec![c_token.clone()] && janus.room_exists(&s.room).await
    })
    .await;
    let c_id = c["participant_id"].as_str().expect("id").to_owned();
    assert!(!s.left(&c_id).await, "C can still join");
    // And C can: its token opens a session and the room takes its join.
    let session = s
        .janus
        .join_as_publisher(&s.room, c["participant_id"].as_str().expect("id"), &c_token)
        .await;
    assert!(s.janus.sessions().await.contains(&session));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn a_restarted_bridge_takes_out_what_the_last_run_left_in_janus() {
    let Some(mut s) = Setup::start(5, Duration::from_secs(30)).await else {
        return;
    };
    let (a_id, _, session) = s.in_janus("alice").await;
    let a_id = a_id.as_str();
    s.restart_bridge().await;
    // The new run holds no claims for A, so it cannot apply revocations to it: A is taken out and has left.
    eventually("the earlier run's participant is out of Janus", || async {
        s.janus.tokens().await.is_empty() && !s.janus.sessions().await.contains(&session)
    })
    .await;
    eventually("and roomgate records it left", || s.left(a_id)).await;
    // The new run admits as usual.
    let (status, b) = s.join(&s.token("bob").await).await;
    assert_eq!(status, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn a_session_end_takes_everyone_out_and_destroys_the_room() {
    let Some(s) = Setup::start(5, Duration::from_secs(30)).await else {
        return;
    };
    let mut sessions = Vec::new();
    let mut ids = Vec::new();
    for who in ["alice", "bob"] {
        let (status, p) = s.join(&s.token(who).await).await;
        assert_eq!(status, 200, "{p}");
        let (id, token) = (
            p["participant_id"].as_str().expect("id"),
            p["token"].as_str().expect("token"),
        );
        sessions.push(s.janus.join_as_publisher(&s.room, id, token).await);
        ids.push(id.to_owned());
    }
    let participant = s.get(&format!("/v2/room_participants/{}", ids[0])).await;
    let session = participant["data"]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    s.api(&format!("/v2/room_sessions/{session}/actions/end"), json!({}))
        .await;
    eventually(
        "the Janus room is destroyed, its sessions and tokens gone",
        || async {
            let live = s.janus.sessions().await;
            !s.janus.room_exists(&s.room).await
                && s.janus.tokens().await.is_empty()
                && sessions.iter().all(|x| !live.contains(x))
        },
    )
    .await;
    for id in &ids {
        assert!(s.left(id).await);
    }
    // The next join opens a new session, and the room is made again. (The end revoked the room's tokens issued
    // until then, to the second: a token minted within the same second would be refused.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, again) = s.join(&s.token("carol").await).await;
    assert_eq!(status, 200, "{again}");
    assert!(s.janus.room_exists(&s.room).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(janus_tests), ignore = "Janus is not installed (apt-get install janus)")]
async fn without_janus_events_the_reconciliation_finds_joins_and_leaves() {
    let Some(s) = Setup::start_with(5, Duration::from_secs(5), false).await else {
        return;
    };
    let (a_id, a_token, session) = s.in_janus("alice").await;
    let (a_id, a_token) = (a_id.as_str(), a_token.as_str());
    // Past the join window: found in Janus's sessions, so still in.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !s.left(a_id).await,
        "a participant in Janus is not taken for one that never joined"
    );
    s.janus
        .api(&format!("/{session}"), json!({ "janus": "destroy" }), a_token)
        .await;
    eventually("its leave is found too", || s.left(a_id)).await;
}
