//! The media server's link against the real roomgate, over both backends: admission and its refusals, leaving,
//! leases, the control feed fed by moderation, resuming from a cursor, and the reference SFU (the example's
//! core) obeying it; and a control feed the tests control, for what roomgate never sends.

mod admission;
mod commands;
mod hostile;
mod reference_sfu;

/// The reference SFU example's core (some of its helpers are the example's only).
#[path = "../../../examples/reference_sfu/sfu.rs"]
#[allow(dead_code)]
mod sfu;

use std::time::Duration;

use roomgate_server::{testing::Backend, Config};
use roomgate_verify::{Command, Commands, Link, Uuid};
use serde_json::{json, Value};

use crate::roomgate::Roomgate;

/// How long anything that should happen may take.
pub const WITHIN: Duration = Duration::from_secs(10);

/// roomgate's lease unless a test shortens it.
pub const LEASE: Duration = Duration::from_secs(30);

/// A roomgate of `backend` leasing participants for `lease`, with one room of `max_participants`.
pub async fn live(backend: Backend, lease: Duration, max_participants: u32) -> Roomgate {
    let config = Config {
        participant_lease: lease,
        lease_sweep_interval: Duration::from_millis(100),
        ..Config::default()
    };
    let room = json!({ "unique_name": "standup", "max_participants": max_participants });
    Roomgate::start_with(backend, config, room).await
}

/// A link to `app` with its API key; feed polls held open 1 s, so tests that expect nothing wait little.
pub fn link(app: &Roomgate) -> Link {
    Link::builder(&app.base, &app.api_key)
        .feed_wait(Duration::from_secs(1))
        .build()
        .expect("link")
}

/// A token for `identity` in the app's room.
pub async fn token(app: &Roomgate, identity: &str) -> crate::roomgate::Minted {
    app.mint_with(json!({ "identity": identity, "name": format!("{identity} (display)") }))
        .await
}

/// The next command from the feed within [`WITHIN`], the link's own `Gone`s skipped.
pub async fn next_from_feed(commands: &mut Commands) -> Command {
    loop {
        let command = tokio::time::timeout(WITHIN, commands.next())
            .await
            .unwrap_or_else(|_| panic!("no command within {WITHIN:?}: {:?}", commands.last_error()))
            .expect("the stream goes on");
        if !matches!(command, Command::Gone { .. }) {
            return command;
        }
    }
}

/// Whether `commands` stays quiet (no command at all) for `quiet`.
pub async fn stays_quiet(commands: &mut Commands, quiet: Duration) -> Option<Command> {
    tokio::time::timeout(quiet, commands.next()).await.ok().flatten()
}

/// `POST /v2/room_sessions/{session}/actions/{action}` with `body`, which must answer 200 ok.
pub async fn moderate(app: &Roomgate, session: Uuid, action: &str, body: Value) {
    let path = format!("/v2/room_sessions/{session}/actions/{action}");
    let (status, answer) = app.call("POST", &path, Some(body)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{action}: {answer}");
    assert_eq!(answer["data"]["result"], "ok", "{action}: {answer}");
}
