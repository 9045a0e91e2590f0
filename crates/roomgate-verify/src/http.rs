//! What every request of this crate does alike: plain HTTP only where it cannot be read on the way, bounded
//! bodies, errors with their causes, a redacted API key, jittered backoff and `retry-after`.

use std::{
    fmt,
    hash::{BuildHasher, RandomState},
    time::{Duration, Instant},
};

use reqwest::header::HeaderValue;

use crate::FetchError;

/// An API key, which never shows in `Debug`.
#[derive(Clone)]
pub(crate) struct ApiKey(pub(crate) String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

impl ApiKey {
    /// `Bearer <key>`, marked sensitive (so neither reqwest nor `Debug` shows it); `None` if it cannot be a
    /// header value.
    pub(crate) fn bearer(&self) -> Option<HeaderValue> {
        let mut auth = HeaderValue::try_from(format!("Bearer {}", self.0)).ok()?;
        auth.set_sensitive(true);
        Some(auth)
    }
}

/// Whether `url`'s host is a loopback address, where plain HTTP never leaves the machine.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The body of `response`, refused once it passes `limit` bytes.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    // Content-Length may be absent (chunked) or wrong: count what actually arrives.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest failure as a [`FetchError`], with its causes spelled out.
pub(crate) fn fetch_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Transport(text)
}

/// `pause` less up to a fifth, so verifiers that failed together do not retry together.
pub(crate) fn jittered(pause: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    pause.mul_f64(1.0 - (random % 1000) as f64 / 5000.0)
}

/// A `retry-after` of delay seconds (an HTTP date is not honoured: the backoff applies).
pub(crate) fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let secs = value?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        let header = |v: &str| HeaderValue::from_str(v).expect("header");
        assert_eq!(retry_after(Some(&header("3"))), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(Some(&header(" 0 "))), Some(Duration::ZERO));
        assert_eq!(retry_after(Some(&header("Wed, 21 Oct 2026 07:28:00 GMT"))), None);
        assert_eq!(retry_after(Some(&header("-1"))), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn jitter_only_shortens_by_at_most_a_fifth() {
        for _ in 0..100 {
            let j = jittered(Duration::from_secs(10));
            assert!(
                j <= Duration::from_secs(10) && j >= Duration::from_secs(8),
                "{j:?}"
            );
        }
    }
}
