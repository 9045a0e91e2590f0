//! Janus's Admin API, the one channel the bridge uses to act in Janus: stored tokens, sessions, and the VideoRoom
//! plugin's synchronous requests (`message_plugin`), all under the admin secret.

use std::{
    collections::HashSet,
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use serde_json::{json, Value};

use crate::secret::Secret;

/// The VideoRoom plugin's package name, which the participants' tokens are restricted to.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// VideoRoom's error code for a room that does not exist.
const NO_SUCH_ROOM: i64 = 426;
/// VideoRoom's error code for a room that exists already.
const ROOM_EXISTS: i64 = 427;
/// VideoRoom's error code for a participant that is not in the room.
const NO_SUCH_FEED: i64 = 428;
/// Janus's error code for a session that does not exist.
const NO_SUCH_SESSION: i64 = 458;

/// Why a request to Janus failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JanusError {
    /// Janus did not answer (down, restarting, unreachable) or answered something that is not its API.
    #[error("Janus is unreachable: {0}")]
    Unreachable(String),
    /// Janus answered with an error.
    #[error("Janus refused the request (code {code}): {reason}")]
    Refused {
        /// Janus's or the plugin's error code.
        code: i64,
        /// Its reason.
        reason: String,
    },
}

/// A client of Janus's Admin API.
pub struct Admin {
    client: reqwest::Client,
    url: String,
    secret: Secret,
    /// The VideoRoom plugin's `admin_key`, when its configuration sets one (room creation then needs it).
    videoroom_admin_key: Option<Secret>,
    transactions: AtomicU64,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What a room is created with.
#[derive(Clone, Debug)]
pub struct RoomSpec<'a> {
    /// The room id (a string: Janus runs with `string_ids`).
    pub room: &'a str,
    /// The secret every later request about the room must carry.
    pub secret: &'a Secret,
    /// How many publishers at once.
    pub publishers: u32,
}

impl Admin {
    /// A client of the Admin API at `url` (e.g. `http://127.0.0.1:7088/admin`).
    pub fn new(url: &str, secret: Secret, videoroom_admin_key: Option<Secret>) -> Result<Self, JanusError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JanusError::Unreachable(e.to_string()))?;
        Ok(Admin {
            client,
            url: url.trim_end_matches('/').to_owned(),
            secret,
            videoroom_admin_key,
            transactions: AtomicU64::new(1),
        })
    }

    /// Sends one Admin API request (`janus` is its verb); the successful answer.
    async fn call(&self, janus: &str, mut body: Value, path: &str) -> Result<Value, JanusError> {
        let transaction = format!("rg{}", self.transactions.fetch_add(1, Ordering::Relaxed));
        body["janus"] = janus.into();
        body["transaction"] = transaction.into();
        body["admin_secret"] = self.secret.expose().into();
        let answer = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .map_err(|e| JanusError::Unreachable(without_url(e)))?;
        let answer: Value = answer
            .json()
            .await
            .map_err(|e| JanusError::Unreachable(without_url(e)))?;
        match answer.get("janus").and_then(Value::as_str) {
            Some("success" | "pong") => Ok(answer),
            Some("error") => {
                let error = answer.get("error").cloned().unwrap_or_default();
                let reason = error.get("reason").and_then(Value::as_str).unwrap_or("no reason");
                Err(JanusError::Refused {
                    code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                    reason: redacted(reason, &body),
                })
            }
            _ => Err(JanusError::Unreachable(
                "the answer is not a Janus Admin API response".into(),
            )),
        }
    }

    /// Whether Janus answers at all (`ping`).
    pub async fn ping(&self) -> Result<(), JanusError> {
        self.call("ping", json!({}), "").await.map(drop)
    }

    /// Adds a stored token that may only use the VideoRoom plugin.
    pub async fn add_token(&self, token: &Secret) -> Result<(), JanusError> {
        let body = json!({ "token": token.expose(), "plugins": [VIDEOROOM] });
        self.call("add_token", body, "").await.map(drop)
    }

    /// Removes a stored token; one already gone counts as removed.
    pub async fn remove_token(&self, token: &Secret) -> Result<(), JanusError> {
        match self
            .call("remove_token", json!({ "token": token.expose() }), "")
            .await
        {
            Err(JanusError::Refused { .. }) | Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every stored token Janus holds.
    pub async fn list_tokens(&self) -> Result<HashSet<String>, JanusError> {
        let answer = self.call("list_tokens", json!({}), "").await?;
        Ok(answer
            .pointer("/data/tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("token").and_then(Value::as_str).map(str::to_owned))
            .collect())
    }

    /// The ids of every Janus session.
    pub async fn list_sessions(&self) -> Result<HashSet<u64>, JanusError> {
        let answer = self.call("list_sessions", json!({}), "").await?;
        Ok(answer
            .get("sessions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect())
    }

    /// The handles of a Janus session.
    pub async fn list_handles(&self, session: u64) -> Result<Vec<u64>, JanusError> {
        let answer = self
            .call("list_handles", json!({}), &format!("/{session}"))
            .await?;
        Ok(answer
            .get("handles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect())
    }

    /// Destroys a Janus session (its handles and PeerConnections with it); one already gone counts as destroyed.
    pub async fn destroy_session(&self, session: u64) -> Result<(), JanusError> {
        match self
            .call("destroy_session", json!({}), &format!("/{session}"))
            .await
        {
            Err(JanusError::Refused { code, .. }) if code == NO_SUCH_SESSION => Ok(()),
            other => other.map(drop),
        }
    }

    /// Hangs up one handle's PeerConnection (what a participant was not allowed to send or receive).
    pub async fn hangup(&self, session: u64, handle: u64) -> Result<(), JanusError> {
        self.call("hangup_webrtc", json!({}), &format!("/{session}/{handle}"))
            .await
            .map(drop)
    }

    /// The stored token a handle was attached with, if any.
    pub async fn handle_token(&self, session: u64, handle: u64) -> Result<Option<String>, JanusError> {
        let answer = self
            .call("handle_info", json!({}), &format!("/{session}/{handle}"))
            .await?;
        Ok(answer
            .pointer("/info/token")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// A synchronous VideoRoom request; its answer's body, or the plugin's error.
    async fn videoroom(&self, request: Value) -> Result<Value, JanusError> {
        let answer = self
            .call(
                "message_plugin",
                json!({ "plugin": VIDEOROOM, "request": request }),
                "",
            )
            .await?;
        let response = answer.get("response").cloned().unwrap_or_default();
        if let Some(code) = response.get("error_code").and_then(Value::as_i64) {
            let reason = response
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason");
            return Err(JanusError::Refused {
                code,
                reason: redacted(reason, &request),
            });
        }
        Ok(response)
    }

    /// Creates the room unless it exists: `true` if it was created now.
    pub async fn ensure_room(&self, spec: &RoomSpec<'_>) -> Result<bool, JanusError> {
        let exists = self
            .videoroom(json!({ "request": "exists", "room": spec.room }))
            .await?;
        if exists.get("exists").and_then(Value::as_bool) == Some(true) {
            return Ok(false);
        }
        let mut create = json!({
            "request": "create",
            "room": spec.room,
            "permanent": false,
            "is_private": true,
            "secret": spec.secret.expose(),
            // Only tokens on the list may join, and only someone who joined may subscribe.
            "allowed": [],
            "require_pvtid": true,
            "publishers": spec.publishers,
            "notify_joining": true,
        });
        if let Some(key) = &self.videoroom_admin_key {
            create["admin_key"] = key.expose().into();
        }
        match self.videoroom(create).await {
            Ok(_) => Ok(true),
            Err(JanusError::Refused { code, .. }) if code == ROOM_EXISTS => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Adds or removes a token on the room's `allowed` list.
    pub async fn allowed(
        &self,
        room: &str,
        secret: &Secret,
        token: &Secret,
        add: bool,
    ) -> Result<(), JanusError> {
        let request = json!({
            "request": "allowed",
            "room": room,
            "secret": secret.expose(),
            "action": if add { "add" } else { "remove" },
            "allowed": [token.expose()],
        });
        match self.videoroom(request).await {
            Err(JanusError::Refused { code, .. }) if !add && code == NO_SUCH_ROOM => Ok(()),
            other => other.map(drop),
        }
    }

    /// Kicks a publisher out of the room; one not (or no longer) there counts as kicked.
    pub async fn kick(&self, room: &str, secret: &Secret, id: &str) -> Result<(), JanusError> {
        let request = json!({ "request": "kick", "room": room, "secret": secret.expose(), "id": id });
        match self.videoroom(request).await {
            Err(JanusError::Refused { code, .. }) if code == NO_SUCH_ROOM || code == NO_SUCH_FEED => Ok(()),
            other => other.map(drop),
        }
    }

    /// Mutes or unmutes one of a publisher's streams for every subscriber.
    pub async fn moderate(
        &self,
        room: &str,
        secret: &Secret,
        id: &str,
        mid: &str,
        mute: bool,
    ) -> Result<(), JanusError> {
        let request = json!({
            "request": "moderate", "room": room, "secret": secret.expose(), "id": id, "mid": mid, "mute": mute,
        });
        self.videoroom(request).await.map(drop)
    }

    /// Destroys the room, disconnecting everyone in it; one already gone counts as destroyed.
    pub async fn destroy_room(&self, room: &str, secret: &Secret) -> Result<(), JanusError> {
        let request = json!({ "request": "destroy", "room": room, "secret": secret.expose() });
        match self.videoroom(request).await {
            Err(JanusError::Refused { code, .. }) if code == NO_SUCH_ROOM => Ok(()),
            other => other.map(drop),
        }
    }
}

/// Members of a request that hold secrets (Janus echoes some of them in its errors, e.g. "Token ... not found").
const SECRET_MEMBERS: [&str; 5] = ["admin_secret", "token", "secret", "admin_key", "allowed"];

/// Janus's error text with every secret the request carried cut out, so that it can be logged.
fn redacted(reason: &str, request: &Value) -> String {
    fn secrets<'a>(value: &'a Value, inside_secret: bool, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) if inside_secret && !s.is_empty() => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| secrets(v, inside_secret, out)),
            Value::Object(members) => {
                for (key, v) in members {
                    secrets(v, inside_secret || SECRET_MEMBERS.contains(&key.as_str()), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    secrets(request, false, &mut found);
    found.into_iter().fold(reason.to_owned(), |text, secret| {
        text.replace(secret, "<redacted>")
    })
}

/// A reqwest error's text without the URL it names (the Admin API's URL is not secret, but its query could be).
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn janus_errors_lose_the_secrets_of_the_request() {
        let request = json!({
            "janus": "message_plugin", "admin_secret": "overlord",
            "request": { "room": "r1", "secret": "roomsecret", "allowed": ["tok-1"] },
            "token": "tok-2",
        });
        let reason = "Token tok-2 not found; tok-1, roomsecret and overlord in room r1";
        assert_eq!(
            redacted(reason, &request),
            "Token <redacted> not found; <redacted>, <redacted> and <redacted> in room r1"
        );
    }
}
