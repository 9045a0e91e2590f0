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
    /// How long an admission or a lease renewal by the media server's link vouches for a participant (5s..=1h).
    #[arg(long, env = "ROOMGATE_PARTICIPANT_LEASE", default_value = "30s", value_parser = lease)]
    participant_lease: Duration,
    /// Deliver webhooks to loopback, private, link-local and reserved addresses too (for tests and local
    /// development; by default they are refused, checked on the resolved address at each delivery).
    #[arg(long, env = "ROOMGATE_WEBHOOK_ALLOW_PRIVATE_TARGETS")]
    webhook_allow_private_targets: bool,
    /// Give up a webhook event not delivered this long after it occurred (1m..=7d).
    #[arg(long, env = "ROOMGATE_WEBHOOK_GIVE_UP_AFTER", default_value = "24h", value_parser = give_up_after)]
    webhook_give_up_after: Duration,
    /// The delay before a failed webhook's first retry; each next one doubles, up to 10 minutes (100ms..=10m).
    #[arg(long, env = "ROOMGATE_WEBHOOK_FIRST_RETRY_DELAY", default_value = "5s", value_parser = first_retry_delay)]
    webhook_first_retry_delay: Duration,
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
    // Dropped when `run` returns, on every path, after everything else: that writes out the lines still queued,
    // down to "roomgate stopped".
    let _log_writer = args.telemetry.init_logging()?;
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
        metrics_on_api_listener: args.telemetry.metrics_on_api_listener,
        participant_lease: args.participant_lease,
        webhooks: roomgate_server::webhooks::WebhookConfig {
            allow_private_targets: args.webhook_allow_private_targets,
            give_up_after: args.webhook_give_up_after,
            first_retry_delay: args.webhook_first_retry_delay,
            ..Default::default()
        },
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
        first_api_key(store.as_ref(), &args.store.url, addr).await?;
    }
    tracing::info!(%addr, "roomgate listening");
    roomgate_server::serve(listener, state, shutdown).await?;
    if let Some(metrics) = metrics {
        metrics.await.context("metrics listener")??;
    }
    tracing::info!("roomgate stopped");
    Ok(())
}

/// With no API key in the store, makes the first one, without ever writing its secret into the log stream.
///
/// stdout is where the logs go, and in a container or under systemd that is a log collector, kept and shipped
/// and readable by many. So the secret is printed only when stdout is a terminal; otherwise it goes to a file
/// created with mode 0600 beside the SQLite database, and only that file's path is logged. With no file to
/// put it beside (PostgreSQL) none is made: the log says to run `roomgate api-keys create`.
async fn first_api_key(store: &dyn roomgate_store::Store, url: &str, addr: SocketAddr) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    if std::io::stdout().is_terminal() {
        let key =
            crate::api_keys::create(store, crate::api_keys::DEFAULT_ACCOUNT, Some("first".into())).await?;
        // Under one hold of stdout: the log writer's thread writes there too, and must not cut the block.
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "No API key existed, so one was created. Store it now: it is not shown again."
        )?;
        writeln!(out)?;
        writeln!(out, "  {}", key.expose_secret())?;
        writeln!(out)?;
        writeln!(out, "Try it:")?;
        writeln!(
            out,
            "  curl -s -X POST http://{addr}/v2/rooms -H 'Authorization: Bearer {}' \
             -H 'Content-Type: application/json' -d '{{\"unique_name\":\"my-room\"}}'",
            key.expose_secret()
        )?;
        writeln!(out)?;
        return Ok(());
    }
    let Some(database) = roomgate_store::sqlite_file(url) else {
        tracing::warn!(
            "no API key exists and stdout is not a terminal, so none was created (its secret would land in \
             the log): create one with `roomgate api-keys create`"
        );
        return Ok(());
    };
    let mut path = database.into_os_string();
    path.push(FIRST_KEY_SUFFIX);
    let path = std::path::PathBuf::from(path);
    let key = roomgate_server::auth::ApiKey::generate().context("no randomness available")?;
    write_private(&path, &format!("{}\n", key.expose_secret()))?;
    // The file first, then the store: a key the store holds but nobody can read would stop the next start
    // from making one.
    if let Err(e) = crate::api_keys::store(
        store,
        crate::api_keys::DEFAULT_ACCOUNT,
        Some("first".into()),
        &key,
    )
    .await
    {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    tracing::warn!(
        file = %path.display(),
        "no API key existed, so one was created; its secret is in this file (mode 0600), not in the log: \
         read it, keep it somewhere safe, then delete the file"
    );
    Ok(())
}

/// Appended to the database file's name to name the file that receives the first API key.
const FIRST_KEY_SUFFIX: &str = ".first-api-key";

/// Writes `text` to a new file at `path` readable by its owner only, replacing a stale one (its key, if any,
/// is not in the store, or this would not run). `create_new` never follows a symlink planted at `path`.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing the stale {}", path.display())),
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut file = open
        .open(path)
        .with_context(|| format!("creating {} for the first API key", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the first API key to {}", path.display()))
}

/// Completes on SIGINT or SIGTERM, caught from this call on (not from the first poll): a stop sent as soon as
/// "roomgate listening" is read is a graceful one, not the default action that ends the process, queued log
/// lines and all.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::SignalKind;
    let interrupt = caught(SignalKind::interrupt());
    let terminate = caught(SignalKind::terminate());
    async move {
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
    }
}

/// Catches `kind` from now on; completes when it comes (never, if it cannot be caught).
#[cfg(unix)]
fn caught(kind: tokio::signal::unix::SignalKind) -> impl std::future::Future<Output = ()> {
    let signal = tokio::signal::unix::signal(kind);
    async move {
        match signal {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// A lease: 5 s to 1 h (shorter than the link's renewals could keep up with, or long enough to hide a dead server).
fn bounded(text: &str, range: std::ops::RangeInclusive<Duration>, what: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(what.into())
    }
}

fn give_up_after(text: &str) -> Result<Duration, String> {
    bounded(
        text,
        Duration::from_secs(60)..=Duration::from_secs(7 * 24 * 3600),
        "must be between 1m and 7d",
    )
}

fn first_retry_delay(text: &str) -> Result<Duration, String> {
    bounded(
        text,
        Duration::from_millis(100)..=Duration::from_secs(600),
        "must be between 100ms and 10m",
    )
}

fn lease(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if (Duration::from_secs(5)..=Duration::from_secs(3600)).contains(&d) {
        Ok(d)
    } else {
        Err("the lease must be between 5s and 1h".into())
    }
}
