//! `roomgate webhook-key`: the key that signs webhook deliveries, read from the store that replicas share.
use clap::Subcommand;
use roomgate_server::webhooks::WebhookKey;

use crate::{now_secs, MasterKeyArgs, StoreArgs};

#[derive(Debug, Subcommand)]
pub enum WebhookKeyCommand {
    /// Print the public key (base64, the last line of the output) that receivers verify webhook signatures with;
    /// creates the key if the store has none yet (as `serve` does).
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        master: MasterKeyArgs,
    },
}

pub async fn run(cmd: WebhookKeyCommand) -> anyhow::Result<()> {
    match cmd {
        WebhookKeyCommand::Show { store, master } => {
            let master = master.load()?;
            let store = roomgate_store::connect(&store.url).await?;
            let key = WebhookKey::load_or_create(store.as_ref(), master.as_ref(), now_secs()).await?;
            println!("# Ed25519 public key, base64: pass it as `key` to a Telnyx SDK's webhooks.unwrap");
            println!("{}", key.public_base64());
        }
    }
    Ok(())
}
