//! When to retry, and how long to wait first.
use std::time::Duration;

use reqwest::{header::HeaderMap, StatusCode};

/// Bounded retries with jittered exponential backoff.
#[derive(Clone, Debug)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// Wait before the first retry, doubled for each further one.
    pub initial_backoff: Duration,
    /// Ceiling of the doubled wait.
    pub max_backoff: Duration,
    /// Ceiling of a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Whether a response with this status and headers is worth another attempt.
    ///
    /// 429 and 5xx are transient; any other status would only fail again. The server may veto with
    /// `x-should-retry: false` (roomgate sends it on every 4xx; a permanent 5xx could send it too).
    pub fn retryable_status(status: StatusCode, headers: &HeaderMap) -> bool {
        let vetoed = headers
            .get("x-should-retry")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        !vetoed && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
    }

    /// The wait before retry number `retry` (0-based): the server's `Retry-After` if it sent one
    /// (capped), else jittered exponential backoff.
    pub fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        if let Some(wait) = headers.and_then(retry_after) {
            return wait.min(self.max_retry_after);
        }
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        // Up to 25% shorter, so that clients failing together do not retry together.
        Duration::try_from_secs_f64(exp.as_secs_f64() * (1.0 - 0.25 * random_unit())).unwrap_or(exp)
    }
}

/// `retry-after-ms` (milliseconds) or `retry-after` (seconds); HTTP dates are ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (v.is_finite() && v >= 0.0).then_some(v)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    number("retry-after").and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// A number in `[0, 1)`; 0 if the OS has no randomness to give (then there is just no jitter).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_429_and_5xx_are_retried_unless_vetoed() {
        let none = HeaderMap::new();
        for s in [429, 500, 502, 503, 504] {
            assert!(
                RetryPolicy::retryable_status(StatusCode::from_u16(s).unwrap(), &none),
                "{s}"
            );
        }
        for s in [200, 400, 401, 403, 404, 408, 409, 413, 415, 422] {
            assert!(
                !RetryPolicy::retryable_status(StatusCode::from_u16(s).unwrap(), &none),
                "{s}"
            );
        }
        let veto = headers(&[("x-should-retry", "False")]);
        assert!(!RetryPolicy::retryable_status(
            StatusCode::SERVICE_UNAVAILABLE,
            &veto
        ));
        let yes = headers(&[("x-should-retry", "true")]);
        assert!(!RetryPolicy::retryable_status(StatusCode::NOT_FOUND, &yes));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_ceiling() {
        let p = RetryPolicy::default();
        for (retry, full) in [
            (0, 500),
            (1, 1000),
            (2, 2000),
            (4, 8000),
            (30, 8000),
            (u32::MAX, 8000),
        ] {
            let d = p.delay(retry, None);
            let full = Duration::from_millis(full);
            assert!(d <= full && d >= full.mul_f64(0.75), "retry {retry}: {d:?}");
        }
        let unbounded = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..p
        };
        assert!(unbounded.delay(3, None) > Duration::from_secs(1 << 40));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let h = headers(&[("retry-after", "3")]);
        assert_eq!(p.delay(0, Some(&h)), Duration::from_secs(3));
        let ms = headers(&[("retry-after-ms", "250"), ("retry-after", "9")]);
        assert_eq!(p.delay(0, Some(&ms)), Duration::from_millis(250));
        let huge = headers(&[("retry-after", "86400")]);
        assert_eq!(p.delay(0, Some(&huge)), Duration::from_secs(60));
        for bad in ["-1", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "NaN", "inf"] {
            let h = {
                let mut h = HeaderMap::new();
                h.insert("retry-after", HeaderValue::from_str(bad).unwrap());
                h
            };
            assert_eq!(retry_after(&h), None, "{bad}");
        }
    }
}
