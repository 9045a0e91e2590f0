//! `roomgate`: run the server and manage its store.
mod api_keys;
mod client;
mod introspect;
mod janus_bridge;
mod limits;
mod output;
mod revocations;
mod rooms;
mod serve;
mod signing_keys;
mod telemetry;
mod tokens;
mod webhook_key;

use clap::{Parser, Subcommand};

/// mimalloc: thread-local heaps keep allocation off the shared locks glibc's malloc takes when the runtime
/// frees on one thread what it allocated on another (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A self-hostable, Telnyx-compatible room access-token server.
#[derive(Debug, Parser)]
#[command(name = "roomgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the store is, for every command that touches it.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(
        long = "database",
        env = "ROOMGATE_DATABASE_URL",
        default_value = "sqlite://roomgate.db"
    )]
    pub url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(Box<serve::ServeArgs>),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    ApiKeys(api_keys::ApiKeysCommand),
    /// List and rotate the keys that sign tokens.
    #[command(subcommand)]
    SigningKeys(signing_keys::SigningKeysCommand),
    /// Show the public key that verifies webhook signatures.
    #[command(subcommand)]
    WebhookKey(webhook_key::WebhookKeyCommand),
    /// Create, list, show, update and delete rooms through the API.
    Rooms(rooms::RoomsArgs),
    /// Mint, refresh, revoke and introspect join tokens through the API; decode and verify tokens.
    Tokens(tokens::TokensArgs),
    /// Bridge a Janus WebRTC server's VideoRoom to roomgate: joins, leaves, kicks and session ends.
    JanusBridge(Box<janus_bridge::JanusBridgeArgs>),
    /// Print the OpenAPI 3.1 document of the HTTP API (the one served at /v2/openapi.json).
    Openapi,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::JanusBridge(args) => janus_bridge::run(*args).await,
        Command::ApiKeys(cmd) => {
            telemetry::init_stderr_warnings();
            api_keys::run(cmd).await
        }
        Command::SigningKeys(cmd) => {
            telemetry::init_stderr_warnings();
            signing_keys::run(cmd).await
        }
        Command::WebhookKey(cmd) => {
            telemetry::init_stderr_warnings();
            webhook_key::run(cmd).await
        }
        // These print their own errors and pick their exit code (see `output::EXIT_CODES_HELP`).
        Command::Rooms(args) => return rooms::run(args).await,
        Command::Tokens(args) => return tokens::run(args).await,
        Command::Openapi => roomgate_server::openapi()
            .to_pretty_json()
            .map(|json| println!("{json}"))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The key that seals private signing keys at rest, for every command that reads or writes them.
#[derive(Debug, clap::Args)]
pub struct MasterKeyArgs {
    /// File holding the master key (32 random bytes, base64). The variable ROOMGATE_MASTER_KEY may hold the
    /// key itself instead. Without either, private signing keys are stored in plaintext.
    #[arg(long = "master-key-file", env = "ROOMGATE_MASTER_KEY_FILE")]
    pub file: Option<std::path::PathBuf>,
}

impl MasterKeyArgs {
    /// The configured master key, if any.
    ///
    /// Set but empty (a template that expanded to nothing, a secret that failed to mount) is an error, never
    /// "no master key": the difference between sealed and plaintext private keys must not hang on a typo.
    pub fn load(&self) -> anyhow::Result<Option<roomgate_server::MasterKey>> {
        use anyhow::{bail, Context};
        let text = match (&self.file, std::env::var_os("ROOMGATE_MASTER_KEY")) {
            (Some(_), Some(_)) => bail!(
                "both ROOMGATE_MASTER_KEY and --master-key-file (ROOMGATE_MASTER_KEY_FILE) are set: set only one"
            ),
            (Some(path), None) if path.as_os_str().is_empty() => bail!(
                "ROOMGATE_MASTER_KEY_FILE is set but empty: name the master key file, or unset it"
            ),
            (Some(path), None) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the master key file {}", path.display()))?,
            (None, Some(value)) => {
                let Ok(text) = value.into_string() else {
                    bail!("ROOMGATE_MASTER_KEY is not valid UTF-8: it must be 32 random bytes in base64");
                };
                if text.trim().is_empty() {
                    bail!(
                        "ROOMGATE_MASTER_KEY is set but empty: set it to the master key (32 random bytes in \
                         base64, e.g. from `openssl rand -base64 32`), or unset it to store private signing \
                         keys in plaintext"
                    );
                }
                text
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(roomgate_server::MasterKey::from_base64(&text)?))
    }
}

/// Unix seconds now.
#[allow(clippy::disallowed_methods)] // the CLI stamps the records it writes
pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix microseconds now.
#[allow(clippy::disallowed_methods)] // the CLI stamps the records it writes
pub fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}
