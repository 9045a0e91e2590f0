//! Where the API commands send their requests, and with which key.
use roomgate_client::Client;

use crate::output::Failure;

/// The local server `roomgate serve` starts by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/v2";

const HEADING: &str = "Server and output";

/// Options shared by every `rooms` and `tokens` subcommand.
#[derive(Clone, clap::Args)]
pub struct ClientArgs {
    /// API root of the server: roomgate's or Telnyx's (https://api.telnyx.com/v2).
    #[arg(long, env = "ROOMGATE_URL", default_value = DEFAULT_URL, global = true, help_heading = HEADING)]
    pub url: String,
    /// API key; prefer the environment variable, which other users cannot see in the process list.
    #[arg(
        long,
        env = "ROOMGATE_API_KEY",
        hide_env_values = true,
        global = true,
        help_heading = HEADING
    )]
    pub api_key: Option<String>,
    /// Print the raw resource as JSON instead of text, for scripts.
    #[arg(long, global = true, help_heading = HEADING)]
    pub json: bool,
}

impl std::fmt::Debug for ClientArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientArgs")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("json", &self.json)
            .finish()
    }
}

impl ClientArgs {
    /// A client for `--url` with `--api-key`; the client's own environment fallback is off, so a
    /// `TELNYX_API_KEY` is never sent to a roomgate server by surprise.
    pub fn client(&self) -> Result<Client, Failure> {
        let mut builder = Client::builder().base_url(&self.url).api_key_from_env(false);
        if let Some(key) = self.api_key.as_deref().filter(|k| !k.trim().is_empty()) {
            builder = builder.api_key(key.trim());
        }
        Ok(builder.build()?)
    }
}
