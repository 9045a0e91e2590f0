//! `roomgate serve` flags for rate limits and connection limits.
use std::time::Duration;

use roomgate_server::{ratelimit::Rate, Config};

/// A connection count, or `off` (no cap).
#[derive(Clone, Copy, Debug)]
struct CapArg(Option<usize>);

fn parse_cap(s: &str) -> Result<CapArg, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(CapArg(None));
    }
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(CapArg(Some(n))),
        _ => Err(format!("invalid count {s:?}: expected a positive number or off")),
    }
}

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
    /// Failed refreshes (tokens that do not verify) per client IP: RATE/s[,BURST] or off. Refreshes whose token
    /// verifies are limited per token instead.
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
    /// Behind a reverse proxy: the header holding the client address, e.g. x-forwarded-for (every line, the
    /// right-most entry: `ip`, `ip:port`, `[ipv6]:port`) or forwarded (RFC 7239, its `for=`). Only set this when
    /// every request comes through that proxy.
    #[arg(long, env = "ROOMGATE_CLIENT_IP_HEADER")]
    client_ip_header: Option<roomgate_server::client_ip::ClientIpHeader>,
    /// Connections served at once; more are closed on accept.
    #[arg(long, env = "ROOMGATE_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Connections served at once from one peer address (an IPv6 /64), or off. Behind a proxy every
    /// connection comes from it: allow its connections.
    #[arg(long, env = "ROOMGATE_MAX_CONNECTIONS_PER_IP", default_value = "256", value_parser = parse_cap)]
    max_connections_per_ip: CapArg,
    /// Time a client has to send a request's headers, from accept for a connection's first request (a
    /// connection that sends nothing is closed after it) and between HTTP/1 keep-alive requests.
    #[arg(long, env = "ROOMGATE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    header_read_timeout: Duration,
    /// Time a connection (HTTP/2 above all) may stay open with no request in flight; then it is closed.
    #[arg(long, env = "ROOMGATE_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
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
        config.limits.max_connections_per_ip = self.max_connections_per_ip.0;
        config.limits.header_read_timeout = self.header_read_timeout;
        config.limits.idle_timeout = self.idle_timeout;
        config.limits.request_timeout = self.request_timeout;
        config.limits.max_header_bytes = self.max_header_bytes;
        config.max_rooms_per_account = self.max_rooms_per_account.0;
    }
}
