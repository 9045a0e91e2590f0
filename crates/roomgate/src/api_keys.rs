//! `roomgate api-keys`: keys are shown once at creation and stored only as hashes.
use clap::Subcommand;
use roomgate_server::{
    auth::{self, ApiKey},
    timefmt,
};
use roomgate_store::Store;
use uuid::Uuid;

use crate::{now_micros, StoreArgs};

/// The account keys belong to unless told otherwise.
pub const DEFAULT_ACCOUNT: &str = "default";

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key; its secret is the last line of output, shown only this once.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Account the key (and the rooms it creates) belongs to; created if new.
        #[arg(long, default_value = DEFAULT_ACCOUNT)]
        account: String,
        /// A label to tell keys apart.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id; requests with it get 401 from then on.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The key's id, as `list` shows it.
        id: Uuid,
    },
}

/// Creates and stores a key for `account`, returning its secret.
pub async fn create(store: &dyn Store, account: &str, name: Option<String>) -> anyhow::Result<ApiKey> {
    Ok(auth::create_api_key(store, account, name, now_micros())
        .await?
        .key)
}

/// Stores `key` (its hash) for `account`, creating the account if new.
pub async fn store(
    store: &dyn Store,
    account: &str,
    name: Option<String>,
    key: &ApiKey,
) -> anyhow::Result<()> {
    auth::store_api_key(store, account, name, key, now_micros()).await?;
    Ok(())
}

pub async fn run(cmd: ApiKeysCommand) -> anyhow::Result<()> {
    match cmd {
        ApiKeysCommand::Create { store, account, name } => {
            let store = roomgate_store::connect(&store.url).await?;
            let key = create(store.as_ref(), &account, name).await?;
            println!("Created an API key for account '{account}'. Store it now: it is not shown again.");
            println!("{}", key.expose_secret());
        }
        ApiKeysCommand::List { store } => {
            let store = roomgate_store::connect(&store.url).await?;
            println!(
                "{:<36}  {:<10}  {:<16}  {:<12}  {:<27}  STATUS",
                "ID", "PREFIX", "ACCOUNT", "NAME", "CREATED"
            );
            for k in store.list_api_keys().await? {
                let status = match k.revoked_at {
                    Some(t) => format!("revoked {}", timefmt::micros_rfc3339(t)),
                    None => "active".into(),
                };
                println!(
                    "{:<36}  {:<10}  {:<16}  {:<12}  {:<27}  {status}",
                    k.id,
                    k.prefix,
                    k.account_name,
                    k.name.as_deref().unwrap_or("-"),
                    timefmt::micros_rfc3339(k.created_at),
                );
            }
        }
        ApiKeysCommand::Revoke { store, id } => {
            let store = roomgate_store::connect(&store.url).await?;
            match store.revoke_api_key(id, now_micros()).await {
                Ok(()) => println!("Revoked API key {id}."),
                Err(roomgate_store::StoreError::NotFound) => anyhow::bail!("no API key with id {id}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
