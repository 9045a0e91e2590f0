//! `TestApp`: [`TestServer`] (a real server on `127.0.0.1:0` over a throwaway database, on a clock tests can
//! move) with the HTTP helpers this crate's tests speak through.
use std::ops::{Deref, DerefMut};

use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use roomgate_server::{
    testing::{Backend, TestServer},
    Clock, Config,
};
use serde_json::{json, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

/// One server, its store and its clock (through `Deref`), and a client; every test spawns its own.
#[derive(Debug)]
pub struct TestApp {
    pub server: TestServer,
    pub client: reqwest::Client,
    /// A key of the account "default".
    pub api_key: String,
    pub api_key_id: Uuid,
}

impl Deref for TestApp {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut TestServer {
        &mut self.server
    }
}

impl TestApp {
    /// A server on a temporary SQLite file.
    pub async fn spawn() -> Self {
        Self::spawn_on(Backend::Sqlite).await
    }

    /// A server on a fresh database of `backend`.
    pub async fn spawn_on(backend: Backend) -> Self {
        Self::spawn_with(backend, Config::default()).await
    }

    /// A server with `config` on a fresh database of `backend`.
    pub async fn spawn_with(backend: Backend, config: Config) -> Self {
        Self::from_server(TestServer::start(backend, config).await)
    }

    /// Speaks to `server` (one of several replicas, say).
    pub fn from_server(server: TestServer) -> Self {
        Self {
            api_key: server.key.secret.clone(),
            api_key_id: server.key.id,
            client: reqwest::Client::new(),
            server,
        }
    }

    /// Stops the server (draining it), then serves the same database, reopened, on a new port.
    pub async fn restart(&mut self) -> String {
        let address = self.server.restart().await;
        // Pooled connections belong to the old server.
        self.client = reqwest::Client::new();
        address
    }

    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Response {
        send(self.request(Method::GET, path, key)).await
    }

    pub async fn delete(&self, path: &str, key: Option<&str>) -> Response {
        send(self.request(Method::DELETE, path, key)).await
    }

    pub async fn post_json(&self, path: &str, key: Option<&str>, body: &Value) -> Response {
        send(self.request(Method::POST, path, key).json(body)).await
    }

    pub async fn patch_json(&self, path: &str, key: Option<&str>, body: &Value) -> Response {
        send(self.request(Method::PATCH, path, key).json(body)).await
    }

    /// A request with a body sent as is, under `content_type` (none when `None`).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut builder = self.request(method, path, key).body(body);
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        send(builder).await
    }

    /// `POST /v2/rooms` with the default key; the created room.
    pub async fn create_room(&self, body: Value) -> Value {
        self.create_room_as(&self.api_key, body).await
    }

    pub async fn create_room_as(&self, key: &str, body: Value) -> Value {
        let resp = self.post_json("/v2/rooms", Some(key), &body).await;
        json_body(resp, StatusCode::CREATED).await["data"].clone()
    }

    /// A fresh room with defaults; its id.
    pub async fn new_room(&self) -> String {
        string(&self.create_room(json!({})).await["id"])
    }

    pub async fn get_room(&self, id: &str) -> Response {
        self.get(&format!("/v2/rooms/{id}"), Some(&self.api_key)).await
    }

    /// All rooms of `key`'s account matching `query`, one page of up to 250.
    pub async fn list_rooms(&self, key: &str, query: &str) -> Value {
        let resp = self.get(&format!("/v2/rooms?{query}"), Some(key)).await;
        json_body(resp, StatusCode::OK).await
    }

    pub async fn create_token(&self, scheme: Scheme, room: &str, body: &Value) -> Response {
        self.post_json(&scheme.create_path(room), Some(&self.api_key), body)
            .await
    }

    /// Mints tokens (201 expected) and returns them under neutral names.
    pub async fn mint(&self, scheme: Scheme, room: &str, body: &Value) -> Minted {
        let data =
            json_body(self.create_token(scheme, room, body).await, StatusCode::CREATED).await["data"].clone();
        Minted {
            access: string(&data[scheme.token_field()]),
            access_expires_at: string(&data[scheme.expires_field()]),
            refresh: string(&data["refresh_token"]),
            refresh_expires_at: string(&data["refresh_token_expires_at"]),
        }
    }

    /// Refreshes with no `Authorization` header, as a browser would.
    pub async fn refresh(&self, scheme: Scheme, room: &str, body: &Value) -> Response {
        self.post_json(&scheme.refresh_path(room), None, body).await
    }

    pub async fn refresh_token(&self, scheme: Scheme, room: &str, refresh_token: &str) -> Response {
        self.refresh(scheme, room, &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// Refreshes while the server's clock reads the Unix second `at`, retrying if it ticks over mid-request.
    pub async fn refresh_at(&self, at: i64, scheme: Scheme, room: &str, refresh_token: &str) -> Response {
        for _ in 0..10 {
            self.set_clock(at);
            let resp = self.refresh_token(scheme, room, refresh_token).await;
            if self.clock.now().unix_timestamp() == at {
                return resp;
            }
        }
        panic!("the clock kept ticking over the second {at}");
    }
}

async fn send(builder: RequestBuilder) -> Response {
    builder.send().await.expect("request reaches the server")
}

/// Tokens of a create response, whichever naming scheme it used.
#[derive(Debug, Clone)]
pub struct Minted {
    pub access: String,
    pub access_expires_at: String,
    pub refresh: String,
    pub refresh_expires_at: String,
}

/// The two token naming schemes: the seed's and today's Telnyx SDKs'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `create_access_token` / `refresh_access_token`, `ttl_secs`, `access_token*`.
    Original,
    /// `generate_join_client_token` / `refresh_client_token`, `token_ttl_secs`, `token*`.
    Current,
}

impl Scheme {
    pub const BOTH: [Scheme; 2] = [Scheme::Original, Scheme::Current];

    pub fn create_path(self, room: &str) -> String {
        match self {
            Scheme::Original => format!("/v2/rooms/{room}/actions/create_access_token"),
            Scheme::Current => format!("/v2/rooms/{room}/actions/generate_join_client_token"),
        }
    }

    pub fn refresh_path(self, room: &str) -> String {
        match self {
            Scheme::Original => format!("/v2/rooms/{room}/actions/refresh_access_token"),
            Scheme::Current => format!("/v2/rooms/{room}/actions/refresh_client_token"),
        }
    }

    /// The access token lifetime's field, in create and refresh bodies.
    pub fn ttl_field(self) -> &'static str {
        match self {
            Scheme::Original => "ttl_secs",
            Scheme::Current => "token_ttl_secs",
        }
    }

    pub fn token_field(self) -> &'static str {
        match self {
            Scheme::Original => "access_token",
            Scheme::Current => "token",
        }
    }

    pub fn expires_field(self) -> &'static str {
        match self {
            Scheme::Original => "access_token_expires_at",
            Scheme::Current => "token_expires_at",
        }
    }
}

pub fn string(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

/// Asserts the status and a JSON body, and returns the body.
pub async fn json_body(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.expect("response body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Asserts a Telnyx error response and returns its one error object.
pub async fn assert_error(resp: Response, status: StatusCode, code: &str, pointer: Option<&str>) -> Value {
    let error = assert_error_shape(resp, status).await;
    assert_eq!(error["code"], code, "{error}");
    match pointer {
        Some(p) => assert_eq!(error["source"]["pointer"], p, "{error}"),
        None => assert!(error["source"].get("pointer").is_none(), "{error}"),
    }
    error
}

/// Asserts the status and `{"errors":[{"code","title","detail",...}]}`, whatever the code.
pub async fn assert_error_shape(resp: Response, status: StatusCode) -> Value {
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let body = json_body(resp, status).await;
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
    let mut members: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["code", "detail", "errors", "title"], "{body}");
    let errors = body["errors"].as_array().expect("errors is an array");
    assert_eq!(errors.len(), 1, "{body}");
    let error = errors[0].clone();
    // Clients generated from Telnyx's original document read a bare Error object: the first error, repeated.
    for member in ["code", "title", "detail"] {
        assert_eq!(body[member], error[member], "top-level {member}: {body}");
    }
    let code = error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("code is a string: {body}"));
    assert!(
        code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()),
        "{body}"
    );
    for member in ["title", "detail"] {
        let text = error[member].as_str().unwrap_or_default();
        assert!(!text.is_empty(), "{member} is a non-empty string: {body}");
    }
    error
}

/// Asserts `2021-04-16T09:46:20.954863Z` exactly (UTC, six fractional digits) and returns the time.
pub fn assert_micros_timestamp(s: &str) -> OffsetDateTime {
    let b = s.as_bytes();
    assert_eq!(b.len(), 27, "{s}");
    assert_eq!((b[19], b[26]), (b'.', b'Z'), "{s}");
    assert!(b[20..26].iter().all(u8::is_ascii_digit), "{s}");
    parse_utc(s)
}

/// Asserts `2021-04-22T12:24:55Z` exactly (UTC, whole seconds) and returns its Unix seconds.
pub fn assert_seconds_timestamp(s: &str) -> i64 {
    assert_eq!(s.len(), 20, "{s}");
    assert!(s.ends_with('Z'), "{s}");
    parse_utc(s).unix_timestamp()
}

fn parse_utc(s: &str) -> OffsetDateTime {
    let t = OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"));
    assert!(t.offset().is_utc(), "{s}");
    t
}
