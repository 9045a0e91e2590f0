//! A bridge between roomgate and the Janus WebRTC server's VideoRoom: Janus admits exactly the participants
//! roomgate admits, roomgate learns who left Janus, and kicks, mutes, session ends and revocations from
//! roomgate are carried out in Janus.
//!
//! The page of an application posts the participant's roomgate access token to `POST /join`; the bridge
//! verifies it (keys from roomgate's JWKS, revocations from its feed), has roomgate admit it through the
//! [`roomgate_verify::Link`] (so `max_participants`, revocations and sessions hold), makes sure the VideoRoom
//! room named after the roomgate room exists, and answers a Janus token made for that participant alone
//! (a stored token restricted to the VideoRoom plugin, on that room's `allowed` list). Janus's HTTP event
//! handler posts to `POST /janus-events`; the bridge acts in Janus through its Admin API only.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use roomgate_janus::{Bridge, Config};
//!
//! let config = Config::new(
//!     "http://127.0.0.1:8080",            // roomgate
//!     "rg_live_...",                      // its API key
//!     "http://127.0.0.1:8088/janus",      // Janus's HTTP API, as pages reach it
//!     "http://127.0.0.1:7088/admin",      // Janus's Admin API
//!     "the admin secret",
//! );
//! let bridge = Bridge::start(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
//! roomgate_janus::serve(listener, bridge, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```

mod bridge;
mod control;
mod error;
mod http;
pub mod janus;
mod registry;
mod secret;

use std::time::Duration;

use roomgate_verify::{Link, Verifier};

pub use bridge::{Bridge, Joined, Settings};
pub use error::ApiError;
pub use http::{router, serve};
pub use secret::Secret;

/// How a bridge is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// roomgate's origin (`http://127.0.0.1:8080`); a trailing `/v2`, as `ROOMGATE_URL` has it, is dropped.
    pub roomgate_url: String,
    /// The API key of the account whose rooms this Janus serves.
    pub api_key: Secret,
    /// Janus's HTTP API as the pages reach it (what `/join` answers as `janus_url`).
    pub janus_url: String,
    /// Janus's Admin API, as the bridge reaches it.
    pub janus_admin_url: String,
    /// Janus's `admin_secret`.
    pub janus_admin_secret: Secret,
    /// The VideoRoom plugin's `admin_key`, if its configuration sets one.
    pub videoroom_admin_key: Option<Secret>,
    /// Publishers a room takes at once (default 16).
    pub publishers: u32,
    /// How long an admitted participant has to join Janus (default 30 s).
    pub join_window: Duration,
    /// How often the bridge checks Janus's sessions and tokens against its participants (default 2 s).
    pub reconcile_interval: Duration,
    /// Accept a plain `http://` roomgate that is not on loopback.
    pub allow_http: bool,
}

impl Config {
    /// The settings for these endpoints, everything else by default.
    pub fn new(
        roomgate_url: &str,
        api_key: &str,
        janus_url: &str,
        janus_admin_url: &str,
        janus_admin_secret: &str,
    ) -> Self {
        Config {
            roomgate_url: roomgate_url.to_owned(),
            api_key: Secret::new(api_key),
            janus_url: janus_url.to_owned(),
            janus_admin_url: janus_admin_url.to_owned(),
            janus_admin_secret: Secret::new(janus_admin_secret),
            videoroom_admin_key: None,
            publishers: 16,
            join_window: Duration::from_secs(30),
            reconcile_interval: Duration::from_secs(2),
            allow_http: false,
        }
    }

    /// roomgate's origin, without the API root's `/v2`.
    fn origin(&self) -> &str {
        let url = self.roomgate_url.trim_end_matches('/');
        url.strip_suffix("/v2").unwrap_or(url)
    }
}

/// Why a bridge could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The verifier's settings (the JWKS or revocation feed URL).
    #[error("verifier: {0}")]
    Verifier(#[from] roomgate_verify::VerifyError),
    /// The link's settings.
    #[error("link to roomgate: {0}")]
    Link(#[from] roomgate_verify::LinkError),
    /// The Admin API client.
    #[error("Janus Admin API: {0}")]
    Janus(#[from] janus::JanusError),
}

impl Bridge {
    /// The bridge for `config`; nothing is sent yet ([`serve`] starts its background work).
    pub fn start(config: Config) -> Result<Bridge, StartError> {
        let origin = config.origin().to_owned();
        let verifier = Verifier::builder()
            .allow_http(config.allow_http)
            .revocations(&format!("{origin}/v2/revocations"), config.api_key.expose())
            .jwks_url(&format!("{origin}/.well-known/jwks.json"))?;
        let link = Link::builder(&origin, config.api_key.expose())
            .allow_http(config.allow_http)
            .build()?;
        let admin = janus::Admin::new(
            &config.janus_admin_url,
            config.janus_admin_secret.clone(),
            config.videoroom_admin_key.clone(),
        )?;
        let settings = Settings {
            janus_url: config.janus_url.clone(),
            publishers: config.publishers,
            join_window: config.join_window,
            reconcile_interval: config.reconcile_interval,
        };
        Ok(Bridge::new(
            admin,
            config.janus_admin_secret,
            verifier,
            link,
            settings,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_drops_the_api_root() {
        for url in ["http://h:1", "http://h:1/", "http://h:1/v2", "http://h:1/v2/"] {
            let config = Config::new(url, "k", "j", "a", "s");
            assert_eq!(config.origin(), "http://h:1", "{url}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_the_config() {
        let config = Config::new("http://h", "rg_key_123", "j", "a", "overlord");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("rg_key_123") && !debug.contains("overlord"),
            "{debug}"
        );
    }
}
