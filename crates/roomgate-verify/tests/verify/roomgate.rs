//! The real roomgate server, in-process on `127.0.0.1:0`: mints tokens, revokes them, and can be shut down.

use roomgate_server::{
    testing::{Backend, TestServer},
    Config,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// [`TestServer`] over SQLite in a temp dir, with an API key and one room.
pub struct Roomgate {
    pub base: String,
    pub api_key: String,
    pub room: Uuid,
    client: reqwest::Client,
    server: TestServer,
}

/// Minted by roomgate for one room.
pub struct Minted {
    pub access: String,
    pub refresh: String,
    /// The access token's `jti`, `iat` and `exp`, read (unverified) off the token: roomgate mints on its clock.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl Roomgate {
    pub async fn start() -> Self {
        let server = TestServer::start(Backend::Sqlite, Config::default()).await;
        let base = server.address.clone();
        let client = reqwest::Client::new();
        let api_key = server.key.secret.clone();
        let room: Value = client
            .post(format!("{base}/v2/rooms"))
            .bearer_auth(&api_key)
            .json(&json!({ "unique_name": "standup" }))
            .send()
            .await
            .expect("create room")
            .json()
            .await
            .expect("room JSON");
        let room = room["data"]["id"]
            .as_str()
            .expect("room id")
            .parse()
            .expect("uuid");
        Roomgate {
            base,
            api_key,
            room,
            client,
            server,
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    pub fn feed_url(&self) -> String {
        format!("{}/v2/revocations", self.base)
    }

    /// A version 1 token (Telnyx's shape, no identity).
    pub async fn mint(&self) -> Minted {
        self.mint_with(json!({ "token_ttl_secs": 600 })).await
    }

    pub async fn mint_with(&self, body: Value) -> Minted {
        let body = self.act("generate_join_client_token", body).await;
        let access = body["data"]["token"].as_str().expect("token").to_owned();
        let refresh = body["data"]["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        let (_, payload) = roomgate_token::decode_unverified(&access).expect("decodable");
        Minted {
            access,
            refresh,
            jti: payload["jti"].as_str().expect("jti").to_owned(),
            iat: payload["iat"].as_i64().expect("iat"),
            exp: payload["exp"].as_i64().expect("exp"),
        }
    }

    /// `POST /v2/rooms/{room}/actions/revoke_tokens` with `body`: the new revocation's id.
    pub async fn revoke(&self, body: Value) -> Uuid {
        let body = self.act("revoke_tokens", body).await;
        body["data"]["id"]
            .as_str()
            .expect("revocation id")
            .parse()
            .expect("uuid")
    }

    /// `POST /v2/rooms/{room}/actions/{action}` with `body`, which must answer 201: its body.
    async fn act(&self, action: &str, body: Value) -> Value {
        let url = format!("{}/v2/rooms/{}/actions/{action}", self.base, self.room);
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .expect(action);
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(status, reqwest::StatusCode::CREATED, "{action}: {body}");
        body
    }

    /// Shuts the server down (in-flight requests finish first) and waits until it no longer listens.
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }
}
