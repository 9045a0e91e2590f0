//! `roomgate janus-bridge`: the bridge between roomgate and a Janus WebRTC server (crate `roomgate-janus`).
use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use roomgate_janus::{Bridge, Config, Secret};
use tracing_subscriber::EnvFilter;

/// Run beside Janus: pages post roomgate access tokens to `POST /join`; Janus's HTTP event handler posts to
/// `POST /janus-events`. See the README's "Running with Janus".
#[derive(clap::Args)]
pub struct JanusBridgeArgs {
    /// Address to listen on, for pages (`/join`) and Janus's event handler (`/janus-events`).
    #[arg(long, env = "ROOMGATE_JANUS_BRIDGE_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Janus's HTTP API as the participants' pages reach it (answered by `/join`).
    #[arg(long, env = "ROOMGATE_JANUS_URL")]
    janus_url: String,
    /// Janus's Admin API, as the bridge reaches it (e.g. http://127.0.0.1:7088/admin).
    #[arg(long, env = "ROOMGATE_JANUS_ADMIN_URL")]
    janus_admin_url: String,
    /// Janus's `admin_secret`; prefer the environment variable, which other users cannot see in the process list.
    #[arg(long, env = "ROOMGATE_JANUS_ADMIN_SECRET", hide_env_values = true)]
    janus_admin_secret: String,
    /// The VideoRoom plugin's `admin_key`, when its configuration sets one (recommended: only the bridge then
    /// creates rooms).
    #[arg(long, env = "ROOMGATE_JANUS_VIDEOROOM_ADMIN_KEY", hide_env_values = true)]
    videoroom_admin_key: Option<String>,
    /// roomgate's URL (its origin, or its API root ending in /v2).
    #[arg(long, env = "ROOMGATE_URL", default_value = crate::client::DEFAULT_URL)]
    roomgate_url: String,
    /// API key of the account whose rooms this Janus serves; prefer the environment variable.
    #[arg(long, env = "ROOMGATE_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Publishers a Janus room takes at once.
    #[arg(long, default_value_t = 16)]
    publishers: u32,
    /// How long an admitted participant has to join Janus before it counts as gone.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    join_window: Duration,
    /// Accept a plain http:// roomgate that is not on loopback.
    #[arg(long)]
    allow_http: bool,
}

impl std::fmt::Debug for JanusBridgeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JanusBridgeArgs")
            .field("listen", &self.listen)
            .field("janus_url", &self.janus_url)
            .field("janus_admin_url", &self.janus_admin_url)
            .field("roomgate_url", &self.roomgate_url)
            .finish_non_exhaustive()
    }
}

/// Runs the bridge until SIGINT or SIGTERM.
pub async fn run(args: JanusBridgeArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .try_init();
    if args.api_key.trim().is_empty() || args.janus_admin_secret.is_empty() {
        anyhow::bail!("the API key and the Janus admin secret must not be empty");
    }
    let mut config = Config::new(
        &args.roomgate_url,
        args.api_key.trim(),
        &args.janus_url,
        &args.janus_admin_url,
        &args.janus_admin_secret,
    );
    config.videoroom_admin_key = args.videoroom_admin_key.map(Secret::new);
    config.publishers = args.publishers;
    config.join_window = args.join_window;
    config.allow_http = args.allow_http;
    let bridge = Bridge::start(config)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "janus bridge listening");
    roomgate_janus::serve(listener, bridge, stop()).await?;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn stop() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
        _ => std::future::pending().await,
    }
}
