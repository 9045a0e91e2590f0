//! A reference "SFU side" of roomgate: verify a join token, have roomgate admit it, keep its lease, obey the
//! control feed, and leave.
//!
//! ```text
//! ROOMGATE_API_KEY=rg_... cargo run -p roomgate-verify --example reference_sfu -- \
//!     http://127.0.0.1:8080 <room id> <access token> [seconds]
//! ```
//!
//! It stays connected until roomgate disconnects the participant (kick, session end, revocation, lease gone)
//! or the seconds (default 60) pass, printing what happens; then it leaves. Its core is `reference_sfu/sfu.rs`,
//! which the crate's integration tests drive against a real roomgate.

// Some of the core's helpers are there for the tests.
#[allow(dead_code)]
#[path = "reference_sfu/sfu.rs"]
mod sfu;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use roomgate_verify::{Link, Uuid, Verifier};

use sfu::{JoinError, Sfu};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, room, token, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: reference_sfu BASE_URL ROOM_ID ACCESS_TOKEN [SECONDS] (API key in ROOMGATE_API_KEY)"
                .into(),
        );
    };
    let room: Uuid = room.parse()?;
    let seconds: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(60);
    let api_key = std::env::var("ROOMGATE_API_KEY")?;

    let verifier = Verifier::from_jwks_url(&format!("{}/.well-known/jwks.json", base.trim_end_matches('/')))?;
    let link = Link::builder(base, &api_key).build()?;
    let sfu = Sfu::new(verifier, link.clone());
    let obeying = tokio::spawn({
        let (sfu, commands) = (sfu.clone(), link.commands());
        async move { sfu.obey(commands).await }
    });

    let id = match sfu.join(room, token, unix_now()).await {
        Ok(id) => id,
        Err(JoinError::Token(e)) => return Err(format!("the token does not verify: {e}").into()),
        Err(JoinError::Link(e)) => return Err(format!("roomgate did not admit it: {e}").into()),
    };
    println!("admitted as participant {id}");
    match sfu.closed(id, Duration::from_secs(seconds)).await {
        Some(why) => println!("disconnected by roomgate: {why:?}"),
        None => {
            sfu.leave(id).await?;
            println!("left after {seconds} s");
        }
    }
    obeying.abort();
    Ok(())
}

/// The example's one read of the wall clock: tokens are verified at this instant.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}
