//! The real roomgate server, in-process on `127.0.0.1:0`: mints tokens, revokes them, and can be shut down.

use roomgate_server::{
    testing::{Backend, TestServer},
    Config,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// [`TestServer`] over a throwaway database (SQLite unless asked), with an API key and one room.
pub struct Roomgate {
    pub base: String,
    pub api_key: String,
    pub room: Uuid,
    client: reqwest::Client,
    pub server: TestServer,
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
        Self::start_with(
            Backend::Sqlite,
            Config::default(),
            json!({ "unique_name": "standup" }),
        )
        .await
    }

    /// A server of `backend` with `config`, and a room created with `room` (`POST /v2/rooms`'s body).
    pub async fn start_with(backend: Backend, config: Config, room: Value) -> Self {
        let server = TestServer::start(backend, config).await;
        let base = server.address.clone();
        let client = reqwest::Client::new();
        let api_key = server.key.secret.clone();
        let mut app = Roomgate {
            base,
            api_key,
            room: Uuid::nil(),
            client,
            server,
        };
        let (status, created) = app.call("POST", "/v2/rooms", Some(room)).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "create room: {created}");
        app.room = created["data"]["id"]
            .as_str()
            .expect("room id")
            .parse()
            .expect("uuid");
        app
    }

    /// `METHOD path` with the API key and `body`: the status and the JSON body (null if none).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (reqwest::StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect(path);
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
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
        self.mint_in(self.room, body).await
    }

    /// A token for `room` (of this server's account, or of another one when it is theirs: then it fails).
    pub async fn mint_in(&self, room: Uuid, body: Value) -> Minted {
        let body = self.act_in(room, "generate_join_client_token", body).await;
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
        self.act_in(self.room, action, body).await
    }

    async fn act_in(&self, room: Uuid, action: &str, body: Value) -> Value {
        let url = format!("{}/v2/rooms/{room}/actions/{action}", self.base);
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

    /// `POST /v2/rooms/{room}/actions/refresh_access_token` with `refresh` (no API key): the status.
    pub async fn refresh(&self, refresh: &str) -> reqwest::StatusCode {
        let url = format!(
            "{}/v2/rooms/{}/actions/refresh_access_token",
            self.base, self.room
        );
        let response = self
            .client
            .post(url)
            .json(&json!({ "refresh_token": refresh }))
            .send()
            .await
            .expect("refresh");
        response.status()
    }

    /// Shuts the server down (in-flight requests finish first) and waits until it no longer listens.
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }
}
