//! Token-bucket rate limits (governor), kept per replica in memory.
//!
//! What is limited, and by what key, is chosen so that no one can spend someone else's budget: failed refreshes
//! per client IP (tokens that do not verify), refreshes per refresh token (`jti`, counted only after the
//! signature verified), failed API-key authentications per client IP, and authenticated requests per API key
//! (counted only after it authenticated). Per-IP limits count IPv6 clients by their /64 ([`ip_bucket`]).
use std::{
    hash::Hash,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{
    clock::{Clock as _, DefaultClock},
    middleware::StateInformationMiddleware,
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};
use uuid::Uuid;

use crate::error::ApiError;

/// A sustained rate with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests replenished per second.
    pub per_second: NonZeroU32,
    /// Requests allowed at once.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` sustained, `burst` at once; `None` if either is zero (meaning: no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        Some(Self {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `"20/s,60"` (20 per second, burst 60) or `"20/s"` (burst equal to the rate).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid rate {s:?}: expected e.g. 20/s or 20/s,60");
        let (rate, burst) = s.split_once(',').map_or((s, None), |(r, b)| (r, Some(b)));
        let per_second: u32 = rate
            .trim()
            .strip_suffix("/s")
            .ok_or_else(bad)?
            .trim()
            .parse()
            .map_err(|_| bad())?;
        let burst: u32 = match burst {
            Some(b) => b.trim().parse().map_err(|_| bad())?,
            None => per_second,
        };
        Rate::new(per_second, burst).ok_or_else(bad)
    }
}

/// Which limits apply; `None` switches one off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Failed refreshes (tokens that do not verify) per client IP.
    pub refresh_per_ip: Option<Rate>,
    /// Refreshes per refresh token.
    pub refresh_per_token: Option<Rate>,
    /// Failed API-key authentications per client IP.
    pub auth_failures_per_ip: Option<Rate>,
    /// Authenticated requests per API key.
    pub per_api_key: Option<Rate>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            refresh_per_ip: Rate::new(50, 200),
            refresh_per_token: Rate::new(1, 10),
            auth_failures_per_ip: Rate::new(1, 20),
            per_api_key: Rate::new(2000, 4000),
        }
    }
}

type Limiter<K> = RateLimiter<
    K,
    governor::state::keyed::DefaultKeyedStateStore<K>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One keyed limit.
#[derive(Debug)]
struct Keyed<K: Hash + Eq + Clone> {
    name: &'static str,
    burst: u32,
    limiter: Limiter<K>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(name: &'static str, rate: Option<Rate>) -> Option<Self> {
        let rate = rate?;
        let quota = Quota::per_second(rate.per_second).allow_burst(rate.burst);
        let limiter: DefaultKeyedRateLimiter<K> = RateLimiter::keyed(quota);
        Some(Self {
            name,
            burst: rate.burst.get(),
            limiter: limiter.with_middleware(),
        })
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        match self.limiter.check_key(key) {
            Ok(_) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                crate::observability::rate_limited(self.name);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                    limit: self.burst,
                })
            }
        }
    }

    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The server's limiters.
#[derive(Debug)]
pub struct RateLimits {
    refresh_per_ip: Option<Keyed<IpAddr>>,
    refresh_per_token: Option<Keyed<String>>,
    auth_failures_per_ip: Option<Keyed<IpAddr>>,
    per_api_key: Option<Keyed<Uuid>>,
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            refresh_per_ip: Keyed::new("refresh_per_ip", config.refresh_per_ip),
            refresh_per_token: Keyed::new("refresh_per_token", config.refresh_per_token),
            auth_failures_per_ip: Keyed::new("auth_failures_per_ip", config.auth_failures_per_ip),
            per_api_key: Keyed::new("per_api_key", config.per_api_key),
        }
    }

    /// A refresh from `ip` whose token did not verify: the 403 becomes a 429 once the IP has failed too often.
    /// Tokens that verify are never counted here, so junk from an address cannot stop its valid refreshes.
    pub fn refresh_failed_from(&self, ip: IpAddr) -> ApiError {
        match self
            .refresh_per_ip
            .as_ref()
            .map_or(Ok(()), |l| l.check(&ip_bucket(ip)))
        {
            Ok(()) => ApiError::Forbidden,
            Err(limited) => limited,
        }
    }

    /// A refresh with the (verified) token `jti`.
    pub fn refresh_with(&self, jti: &str) -> Result<(), ApiError> {
        self.refresh_per_token
            .as_ref()
            .map_or(Ok(()), |l| l.check(&jti.to_owned()))
    }

    /// A failed authentication from `ip`: the 401 becomes a 429 once the IP has failed too often.
    pub fn auth_failed_from(&self, ip: IpAddr) -> ApiError {
        match self
            .auth_failures_per_ip
            .as_ref()
            .map_or(Ok(()), |l| l.check(&ip_bucket(ip)))
        {
            Ok(()) => ApiError::Unauthorized,
            Err(limited) => limited,
        }
    }

    /// A request authenticated with API key `key_id`.
    pub fn authenticated(&self, key_id: Uuid) -> Result<(), ApiError> {
        self.per_api_key.as_ref().map_or(Ok(()), |l| l.check(&key_id))
    }

    /// Drops state of keys whose buckets are full again, so memory follows active clients only.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.refresh_per_ip {
            l.forget_idle();
        }
        if let Some(l) = &self.refresh_per_token {
            l.forget_idle();
        }
        if let Some(l) = &self.auth_failures_per_ip {
            l.forget_idle();
        }
        if let Some(l) = &self.per_api_key {
            l.forget_idle();
        }
    }
}

/// The key per-IP limits count under: an IPv4 address itself (also when written IPv4-mapped), an IPv6 address
/// its /64, the smallest block a host is given, so one host cannot take a fresh budget per address.
pub fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// How often idle limiter state is dropped.
pub const FORGET_INTERVAL: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("20/s,60".parse::<Rate>(), Ok(Rate::new(20, 60).unwrap()));
        assert_eq!("5/s".parse::<Rate>(), Ok(Rate::new(5, 5).unwrap()));
        for bad in ["", "20", "0/s", "20/s,0", "x/s", "20/m"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_empties_then_answers_429_with_a_retry_time() {
        let limits = RateLimits::new(&RateLimitConfig {
            refresh_per_token: Rate::new(1, 3),
            ..RateLimitConfig::default()
        });
        for _ in 0..3 {
            limits.refresh_with("jti-1").unwrap();
        }
        match limits.refresh_with("jti-1") {
            Err(ApiError::TooManyRequests {
                retry_after_secs,
                limit,
            }) => {
                assert_eq!(limit, 3);
                assert!((1..=2).contains(&retry_after_secs), "{retry_after_secs}");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        limits
            .refresh_with("jti-2")
            .expect("another token has its own bucket");
    }

    #[test]
    fn auth_failures_turn_into_429_only_past_the_burst() {
        let limits = RateLimits::new(&RateLimitConfig {
            auth_failures_per_ip: Rate::new(1, 2),
            ..RateLimitConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(matches!(limits.auth_failed_from(ip), ApiError::Unauthorized));
        assert!(matches!(limits.auth_failed_from(ip), ApiError::Unauthorized));
        assert!(matches!(
            limits.auth_failed_from(ip),
            ApiError::TooManyRequests { .. }
        ));
        assert!(matches!(
            limits.auth_failed_from("192.0.2.2".parse().unwrap()),
            ApiError::Unauthorized
        ));
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(ip_bucket(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            ip_bucket(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(ip_bucket(ip("2001:db8:1:3::1")), ip_bucket(ip("2001:db8:1:2::1")));
        assert_eq!(ip_bucket(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(ip_bucket(ip("192.0.2.7")), ip("192.0.2.7"));

        let limits = RateLimits::new(&RateLimitConfig {
            auth_failures_per_ip: Rate::new(1, 1),
            ..RateLimitConfig::default()
        });
        assert!(matches!(
            limits.auth_failed_from(ip("2001:db8::1")),
            ApiError::Unauthorized
        ));
        assert!(matches!(
            limits.auth_failed_from(ip("2001:db8::2")),
            ApiError::TooManyRequests { .. }
        ));
    }

    #[test]
    fn only_failed_refreshes_count_per_ip() {
        let limits = RateLimits::new(&RateLimitConfig {
            refresh_per_ip: Rate::new(1, 2),
            ..RateLimitConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(matches!(limits.refresh_failed_from(ip), ApiError::Forbidden));
        assert!(matches!(limits.refresh_failed_from(ip), ApiError::Forbidden));
        assert!(matches!(
            limits.refresh_failed_from(ip),
            ApiError::TooManyRequests { .. }
        ));
    }

    #[test]
    fn disabled_limits_never_limit() {
        let limits = RateLimits::new(&RateLimitConfig {
            refresh_per_ip: None,
            refresh_per_token: None,
            auth_failures_per_ip: None,
            per_api_key: None,
        });
        for _ in 0..1000 {
            limits.refresh_with("x").unwrap();
        }
    }
}
