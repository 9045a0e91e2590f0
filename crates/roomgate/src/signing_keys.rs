//! `roomgate signing-keys`: usable against a store that running replicas share.
use std::time::Duration;

use clap::Subcommand;
use roomgate_server::{keys, timefmt};

use crate::{now_secs, MasterKeyArgs, StoreArgs};

#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// List the keys with their state: pending (published, not signing yet), active, previous (verifying
    /// only) or retired.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add a new signing key. It is published at once and signs after the publish delay; the keys it replaces
    /// keep verifying until every token they signed has expired, then retire.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        master: MasterKeyArgs,
        /// How long the new key is published before it signs; longer than verifiers cache the JWKS (300 s).
        #[arg(long, env = "ROOMGATE_PUBLISH_DELAY", default_value = "10m", value_parser = humantime::parse_duration)]
        publish_delay: Duration,
    },
}

pub async fn run(cmd: SigningKeysCommand) -> anyhow::Result<()> {
    match cmd {
        SigningKeysCommand::List { store } => {
            let store = roomgate_store::connect(&store.url).await?;
            let records = store.signing_keys().await?;
            let now = now_secs();
            println!(
                "{:<43}  {:<8}  {:<20}  {:<20}  RETIRES",
                "KID", "STATE", "CREATED", "SIGNS FROM"
            );
            for (r, state) in records.iter().zip(keys::states(&records, now)) {
                println!(
                    "{:<43}  {:<8}  {:<20}  {:<20}  {}",
                    r.kid,
                    state.as_str(),
                    timefmt::secs_rfc3339(r.created_at_secs),
                    timefmt::secs_rfc3339(r.activate_at_secs),
                    r.retire_at_secs.map_or_else(|| "-".into(), timefmt::secs_rfc3339),
                );
            }
        }
        SigningKeysCommand::Rotate {
            store,
            master,
            publish_delay,
        } => {
            let master = master.load()?;
            let store = roomgate_store::connect(&store.url).await?;
            let now = now_secs();
            let delay = publish_delay.as_secs() as i64;
            let new = keys::rotate(store.as_ref(), master.as_ref(), now, delay, None)
                .await?
                .ok_or_else(|| anyhow::anyhow!("rotation did not happen"))?;
            println!(
                "Added signing key {}: published now, signs from {}.",
                new.kid,
                timefmt::secs_rfc3339(new.activate_at_secs)
            );
            println!(
                "The keys it replaces verify until {}.",
                timefmt::secs_rfc3339(new.activate_at_secs + keys::RETIRE_AFTER_SECS)
            );
        }
    }
    Ok(())
}
