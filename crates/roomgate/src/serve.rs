//! `roomgate serve`.
use std::net::SocketAddr;

use anyhow::Context;
use futures::FutureExt;
use roomgate_server::{AppState, Config};

use std::time::Duration;

use crate::{MasterKeyArgs, StoreArgs};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROOMGATE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    master: MasterKeyArgs,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
    #[command(flatten)]
    telemetry: crate::telemetry::TelemetryArgs,
    /// How often signing keys are re-read from the store (the bound on a replica's staleness after a rotation).
    #[arg(long, env = "ROOMGATE_KEY_RELOAD_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    key_reload_interval: Duration,
    /// How long a rotated-in key is published before it signs.
    #[arg(long, env = "ROOMGATE_PUBLISH_DELAY", default_value = "10m", value_parser = humantime::parse_duration)]
    publish_delay: Duration,
    /// Rotate the signing key automatically when the newest is this old (e.g. 30d); off by default.
    #[arg(long, env = "ROOMGATE_ROTATE_SIGNING_KEYS_EVERY", value_parser = humantime::parse_duration)]
    rotate_signing_keys_every: Option<Duration>,
    /// `iss` claim of minted tokens.
    #[arg(long, env = "ROOMGATE_ISSUER", default_value = roomgate_token_defaults::ISSUER)]
    issuer: String,
    /// `aud` claim of minted tokens.
    #[arg(long, env = "ROOMGATE_AUDIENCE", default_value = roomgate_token_defaults::AUDIENCE)]
    audience: String,
}

mod roomgate_token_defaults {
    pub const ISSUER: &str = "telnyx_access_token";
    pub const AUDIENCE: &str = "telnyx_access_token";
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    args.telemetry.init_logging()?;
    // Before the store is opened (and its file created): a master-key mistake changes nothing on disk.
    let master_key = args.master.load()?;
    let store = roomgate_store::connect(&args.store.url)
        .await
        .context("opening the store")?;
    let mut config = Config {
        issuer: args.issuer,
        audience: args.audience,
        master_key,
        key_reload_interval: args.key_reload_interval,
        publish_delay: args.publish_delay,
        rotate_every: args.rotate_signing_keys_every,
        ..Config::default()
    };
    args.limits.apply(&mut config);
    let state = AppState::new(store.clone(), config)
        .await
        .context("loading signing keys")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal().shared();
    let metrics = args
        .telemetry
        .spawn_metrics_listener(state.clone(), shutdown.clone())
        .await?;

    if store.list_api_keys().await?.is_empty() {
        let key = crate::api_keys::create(
            store.as_ref(),
            crate::api_keys::DEFAULT_ACCOUNT,
            Some("first".into()),
        )
        .await?;
        // Printed once, to the terminal rather than the log: this is the only time the secret exists in the clear.
        println!("No API key existed, so one was created. Store it now: it is not shown again.");
        println!();
        println!("  {}", key.expose_secret());
        println!();
        println!("Try it:");
        println!(
            "  curl -s -X POST http://{addr}/v2/rooms -H 'Authorization: Bearer {}' \
             -H 'Content-Type: application/json' -d '{{\"unique_name\":\"my-room\"}}'",
            key.expose_secret()
        );
        println!();
    }
    tracing::info!(%addr, "roomgate listening");
    roomgate_server::serve(listener, state, shutdown).await?;
    if let Some(metrics) = metrics {
        metrics.await.context("metrics listener")??;
    }
    tracing::info!("roomgate stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
