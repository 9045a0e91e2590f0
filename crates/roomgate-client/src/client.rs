//! The client, its builder, and the one function every call goes through.
use std::{sync::Arc, time::Duration};

use reqwest::{
    header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE},
    Method, StatusCode, Url,
};
use serde::de::DeserializeOwned;

use crate::{retry::RetryPolicy, Error, RoomsAccessTokensApi, RoomsApi};

/// Telnyx's API, so a client built with no base URL talks to Telnyx itself.
pub const DEFAULT_BASE_URL: &str = "https://api.telnyx.com/v2";

/// Environment variables read for the API key, in order, when the builder is given none.
pub const API_KEY_ENV_VARS: [&str; 2] = ["ROOMGATE_API_KEY", "TELNYX_API_KEY"];

/// An async client for the Rooms API; cheap to clone (clones share one connection pool).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    /// `Bearer <key>`, marked sensitive so reqwest never logs it.
    authorization: Option<HeaderValue>,
    /// The limit on each attempt, extended per call by [`Call::held`].
    timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field(
                "api_key",
                &self.inner.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: Option<String>,
    read_env: bool,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("read_env", &self.read_env)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            read_env: true,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            user_agent: concat!("roomgate-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientBuilder {
    /// The API root, e.g. `http://127.0.0.1:8080/v2` for a local roomgate (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The API key sent as `Authorization: Bearer <key>`; overrides the environment.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Whether to fall back to [`API_KEY_ENV_VARS`] when no key is set (default true).
    pub fn api_key_from_env(mut self, read: bool) -> Self {
        self.read_env = read;
        self
    }

    /// Limit on establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Limit on each attempt, from sending to the last byte of the response (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after a connect error, a 429 or a 5xx (default 2; 0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// Backoff before the first retry, doubled per retry up to `max` (defaults 500 ms and 8 s).
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry.initial_backoff = initial;
        self.retry.max_backoff = max;
        self
    }

    /// The longest `Retry-After` obeyed; longer ones are cut to this (default 60 s).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.retry.max_retry_after = max;
        self
    }

    /// The `User-Agent` header (default `roomgate-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Checks the settings and builds the client. A missing API key is not an error here: refreshing
    /// tokens needs none, and calls that do need one fail with [`Error::MissingApiKey`].
    pub fn build(self) -> Result<Client, Error> {
        let base_url = Url::parse(&self.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| Error::Config(format!("base URL {:?} is not an http(s) URL", self.base_url)))?;
        let env = |name: &str| std::env::var(name).ok();
        let key = resolve_api_key(self.api_key, self.read_env.then_some(&env as EnvLookup<'_>));
        let authorization = key
            .map(|key| {
                let mut value = HeaderValue::try_from(format!("Bearer {key}")).map_err(|_| {
                    Error::Config("the API key contains characters not allowed in a header".into())
                })?;
                value.set_sensitive(true);
                Ok::<_, Error>(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                authorization,
                timeout: self.timeout,
                retry: self.retry,
            }),
        })
    }
}

/// Reads an environment variable (a parameter, so tests need not touch the real environment).
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The explicit key if set, else the first non-empty environment variable of [`API_KEY_ENV_VARS`].
fn resolve_api_key(explicit: Option<String>, env: Option<EnvLookup<'_>>) -> Option<String> {
    explicit.or_else(|| {
        let env = env?;
        API_KEY_ENV_VARS
            .iter()
            .filter_map(|name| env(name))
            .find(|v| !v.trim().is_empty())
    })
}

/// Whether a call sends the API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <key>`; fails with [`Error::MissingApiKey`] if there is none.
    ApiKey,
    /// No `Authorization` header at all (the refresh endpoints).
    None,
}

/// One API call, before it is sent.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a [&'a str],
    pub query: Vec<(&'static str, String)>,
    /// Serialized once, so that every attempt sends the same bytes.
    pub body: Option<Vec<u8>>,
    pub auth: Auth,
    /// How long the server may hold the request before answering (a long poll's `wait`): added to the
    /// configured timeout of each attempt, so that waiting as asked is never cut short as a timeout.
    pub held: Duration,
}

// The body may hold a refresh token: Debug shows only its size.
impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("auth", &self.auth)
            .field("held", &self.held)
            .finish()
    }
}

impl<'a> Call<'a> {
    /// A call without query or body.
    pub fn new(method: Method, path: &'a [&'a str], auth: Auth) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            auth,
            held: Duration::ZERO,
        }
    }

    /// Adds a JSON body.
    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self, Error> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::InvalidArgument(format!("request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }
}

impl Client {
    /// A client configured from the environment, against [`DEFAULT_BASE_URL`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The API root every path is joined to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// Rooms: create, retrieve, list, update, delete; today's token calls; revoking a room's tokens.
    pub fn rooms(&self) -> RoomsApi<'_> {
        RoomsApi::new(self)
    }

    /// The original document's `RoomsAccessTokensApi`: create and refresh room access tokens.
    pub fn rooms_access_tokens(&self) -> RoomsAccessTokensApi<'_> {
        RoomsAccessTokensApi::new(self)
    }

    /// Sends `call` (retrying as configured) and decodes the `data` of a 2xx response.
    pub(crate) async fn data<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let (status, body) = self.execute(call).await?;
        decode::<roomgate_types::Data<T>>(status, &body).map(|d| d.data)
    }

    /// Sends `call` (retrying as configured) and decodes the whole 2xx body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let (status, body) = self.execute(call).await?;
        decode(status, &body)
    }

    /// Sends `call`, retrying connect errors, 429 and 5xx; returns a 2xx status and body or the error.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<(StatusCode, Vec<u8>), Error> {
        let inner = &self.inner;
        let authorization = match call.auth {
            Auth::ApiKey => Some(inner.authorization.as_ref().ok_or(Error::MissingApiKey)?),
            Auth::None => None,
        };
        let url = self.url(call.path, &call.query)?;
        let mut retries = 0;
        loop {
            let mut request = inner
                .http
                .request(call.method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if !call.held.is_zero() {
                request = request.timeout(inner.timeout.saturating_add(call.held));
            }
            if let Some(value) = authorization {
                request = request.header(AUTHORIZATION, value.clone());
            }
            if let Some(body) = &call.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let can_retry = retries < inner.retry.max_retries;
            match request.send().await {
                // Only a failed connect is known not to have reached the server.
                Err(e) if can_retry && e.is_connect() => {
                    tokio::time::sleep(inner.retry.delay(retries, None)).await;
                }
                Err(e) => return Err(Error::Transport(e)),
                Ok(response) => {
                    let status = response.status();
                    if can_retry && RetryPolicy::retryable_status(status, response.headers()) {
                        let wait = inner.retry.delay(retries, Some(response.headers()));
                        drop(response);
                        tokio::time::sleep(wait).await;
                    } else {
                        let body = response.bytes().await.map_err(Error::Transport)?.to_vec();
                        if status.is_success() {
                            return Ok((status, body));
                        }
                        return Err(Error::from_response(status, &body));
                    }
                }
            }
            retries += 1;
        }
    }

    /// The base URL with `path` appended, each segment percent-encoded, and the query.
    fn url(&self, path: &[&str], query: &[(&'static str, String)]) -> Result<Url, Error> {
        // URLs have no way to carry these as segments: `..` would climb out of `/rooms/`.
        if let Some(bad) = path.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(Error::InvalidArgument(format!("{bad:?} cannot be a room id")));
        }
        let mut url = self.inner.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            // `build` refused bases that cannot have a path, so this always runs.
            segments.pop_if_empty().extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }
}

fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|source| Error::Decode { status, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn api_key_comes_from_builder_then_roomgate_then_telnyx_env() {
        let both = env(&[("ROOMGATE_API_KEY", "rg"), ("TELNYX_API_KEY", "tx")]);
        let telnyx = env(&[("ROOMGATE_API_KEY", " "), ("TELNYX_API_KEY", "tx")]);
        assert_eq!(
            resolve_api_key(Some("mine".into()), Some(&both)),
            Some("mine".into())
        );
        assert_eq!(resolve_api_key(None, Some(&both)), Some("rg".into()));
        assert_eq!(resolve_api_key(None, Some(&telnyx)), Some("tx".into()));
        assert_eq!(resolve_api_key(None, None), None);
        assert_eq!(resolve_api_key(None, Some(&env(&[]))), None);
    }

    #[test]
    fn paths_are_joined_and_encoded() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:1/v2/")
            .api_key_from_env(false)
            .build()
            .unwrap();
        let url = client
            .url(&["rooms", "../x?y#z"], &[("page[size]", "3".into())])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/v2/rooms/..%2Fx%3Fy%23z?page%5Bsize%5D=3"
        );
        let bare = Client::builder().base_url("http://h").build().unwrap();
        assert_eq!(bare.url(&["rooms"], &[]).unwrap().as_str(), "http://h/rooms");
        for id in ["", ".", ".."] {
            let e = client.url(&["rooms", id], &[]).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{id:?}");
        }
    }

    #[test]
    fn bad_configuration_is_an_error_not_a_panic() {
        for url in ["", "not a url", "mailto:a@b", "ftp://h/v2"] {
            let e = Client::builder().base_url(url).build().unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{url}: {e:?}");
        }
        let e = Client::builder().api_key("a\nb").build().unwrap_err();
        assert!(matches!(e, Error::Config(_)));
    }

    #[test]
    fn debug_never_shows_a_body() {
        let body = roomgate_types::RefreshAccessTokenRequest {
            refresh_token: "secret-refresh".into(),
            ttl_secs: None,
        };
        let call = Call::new(Method::POST, &["rooms"], Auth::None)
            .json(&body)
            .unwrap();
        let shown = format!("{call:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("body_bytes: Some(34)"), "{shown}");
    }

    #[test]
    fn debug_never_shows_the_api_key() {
        let builder = Client::builder().api_key("rg_super_secret");
        assert!(!format!("{builder:?}").contains("super_secret"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("super_secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
