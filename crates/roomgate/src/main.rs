//! `roomgate`: run the server and manage its store.
mod api_keys;
mod serve;

use clap::{Parser, Subcommand};

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
    /// Database URL: sqlite://FILE (created if missing).
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
    Serve(serve::ServeArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    ApiKeys(api_keys::ApiKeysCommand),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::ApiKeys(cmd) => api_keys::run(cmd).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Unix microseconds now.
#[allow(clippy::disallowed_methods)] // the CLI stamps the records it writes
pub fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}
