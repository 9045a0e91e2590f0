//! `roomgate serve` flags for rate limits and connection limits.
use std::time::Duration;

use roomgate_server::{ratelimit::Rate, Config};

/// A rate, or `off` (no limit).
#[derive(Clone, Copy, Debug)]
struct RateArg(Option<Rate>);

fn parse_rate(s: &str) -> Result<RateArg, String> {
    if s.eq_ignore_ascii_case("off") {
        Ok(RateArg(None))
    } else {
        s.parse().map(|r| RateArg(Some(r)))
    }
}

/// A count, or `off` / `0` (no limit).
#[derive(Clone, Copy, Debug)]
struct CountArg(Option<u64>);

fn parse_count(s: &str) -> Result<CountArg, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(CountArg(None));
    }
    let n: u64 = s
        .parse()
        .map_err(|_| format!("expected a number of rooms or off, not {s:?}"))?;
    Ok(CountArg((n > 0).then_some(n)))
}

#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Rooms an account may hold at once (creating one more answers 403): a number, or off (or 0) for no limit.
    #[arg(long, env = "ROOMGATE_MAX_ROOMS_PER_ACCOUNT", default_value = "100000", value_parser = parse_count)]
    max_rooms_per_account: CountArg,
    /// Refresh requests per client IP: RATE/s[,BURST] or off.
    #[arg(long, env = "ROOMGATE_RATE_REFRESH_PER_IP", default_value = "50/s,200", value_parser = parse_rate)]
    rate_refresh_per_ip: RateArg,
    /// Refreshes per refresh token (counted after its signature verified): RATE/s[,BURST] or off.
    #[arg(long, env = "ROOMGATE_RATE_REFRESH_PER_TOKEN", default_value = "1/s,10", value_parser = parse_rate)]
    rate_refresh_per_token: RateArg,
    /// Failed API-key authentications per client IP: RATE/s[,BURST] or off.
    #[arg(long, env = "ROOMGATE_RATE_AUTH_FAILURES_PER_IP", default_value = "1/s,20", value_parser = parse_rate)]
    rate_auth_failures_per_ip: RateArg,
    /// Authenticated requests per API key: RATE/s[,BURST] or off.
    #[arg(long, env = "ROOMGATE_RATE_PER_API_KEY", default_value = "2000/s,4000", value_parser = parse_rate)]
    rate_per_api_key: RateArg,
    /// Behind a reverse proxy: the header holding the client address (its last entry is used), e.g.
    /// x-forwarded-for. Only set this when every request comes through that proxy.
    #[arg(long, env = "ROOMGATE_CLIENT_IP_HEADER")]
    client_ip_header: Option<axum::http::HeaderName>,
    /// Connections served at once; more are closed on accept.
    #[arg(long, env = "ROOMGATE_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Time a client has to send a request's headers (slow clients are disconnected).
    #[arg(long, env = "ROOMGATE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    header_read_timeout: Duration,
    /// Time a request may take; past it the answer is 408.
    #[arg(long, env = "ROOMGATE_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Largest request head (request line and headers), bytes; at least 8192.
    #[arg(long, env = "ROOMGATE_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    max_header_bytes: usize,
}

impl LimitArgs {
    /// Puts these limits into `config`.
    pub fn apply(self, config: &mut Config) {
        config.rate_limits.refresh_per_ip = self.rate_refresh_per_ip.0;
        config.rate_limits.refresh_per_token = self.rate_refresh_per_token.0;
        config.rate_limits.auth_failures_per_ip = self.rate_auth_failures_per_ip.0;
        config.rate_limits.per_api_key = self.rate_per_api_key.0;
        config.client_ip_header = self.client_ip_header;
        config.limits.max_connections = self.max_connections;
        config.limits.header_read_timeout = self.header_read_timeout;
        config.limits.request_timeout = self.request_timeout;
        config.limits.max_header_bytes = self.max_header_bytes;
        config.max_rooms_per_account = self.max_rooms_per_account.0;
    }
}
