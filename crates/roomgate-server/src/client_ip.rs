//! The client's address behind a trusted proxy: which header holds it, and how to read it.
//!
//! Proxies append: whatever a client sent comes first, and the trusted proxy's own entry last. So every line of
//! the header counts, in order, and only the right-most entry is believed. A header that is missing or does not
//! parse falls back to the TCP peer (the proxy, so such requests share its budget rather than escape limits),
//! and is counted and logged.
use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
    sync::LazyLock,
    time::Duration,
};

use axum::http::{HeaderMap, HeaderName};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A header a trusted proxy writes the client's address into, checked to be one that can carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIpHeader {
    name: HeaderName,
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `X-Forwarded-For` and the like: addresses separated by commas, each `ip`, `ip:port`, `[ipv6]` or
    /// `[ipv6]:port`.
    Addresses,
    /// RFC 7239 `Forwarded`: elements separated by commas, the address in the `for=` parameter.
    Forwarded,
}

/// Headers that can never hold the client's address: hop-by-hop headers (proxies remove them, HTTP/2 forbids
/// them), headers with a meaning of their own, and the forwarded headers that carry something else.
const UNUSABLE: &[(&str, &str)] = &[
    ("connection", "a hop-by-hop header, removed by proxies"),
    ("keep-alive", "a hop-by-hop header, removed by proxies"),
    ("proxy-connection", "a hop-by-hop header, removed by proxies"),
    ("proxy-authenticate", "a hop-by-hop header, removed by proxies"),
    ("proxy-authorization", "a hop-by-hop header, removed by proxies"),
    ("te", "a hop-by-hop header, removed by proxies"),
    ("trailer", "a hop-by-hop header, removed by proxies"),
    ("transfer-encoding", "a hop-by-hop header, removed by proxies"),
    ("upgrade", "a hop-by-hop header, removed by proxies"),
    ("host", "it names the server, not the client"),
    ("content-length", "it frames the request body"),
    ("content-type", "it describes the request body"),
    ("content-encoding", "it describes the request body"),
    ("expect", "it is part of the request's framing"),
    ("authorization", "it carries the API key"),
    ("cookie", "it carries cookies"),
    ("origin", "it names the page's origin, not the client's address"),
    ("referer", "it names a page, not the client's address"),
    ("user-agent", "it names the client's software"),
    ("accept", "it is content negotiation"),
    ("via", "it names proxies, not the client's address"),
    ("x-request-id", "it carries the request id"),
    (
        "x-forwarded-proto",
        "it carries the scheme, not the client's address",
    ),
    (
        "x-forwarded-host",
        "it carries the host name, not the client's address",
    ),
    ("x-forwarded-port", "it carries a port, not the client's address"),
    (
        "x-forwarded-server",
        "it names the proxy, not the client's address",
    ),
    (
        "x-forwarded-prefix",
        "it carries a path, not the client's address",
    ),
];

/// Why a header name was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientIpHeaderError {
    /// Not a valid header name at all.
    #[error("{0:?} is not a valid header name")]
    Invalid(String),
    /// A valid name that cannot hold the client's address.
    #[error("{name} cannot hold the client's address: {why} (use e.g. x-forwarded-for or forwarded)")]
    Unusable {
        /// The name given.
        name: String,
        /// Why it cannot work.
        why: &'static str,
    },
}

impl FromStr for ClientIpHeader {
    type Err = ClientIpHeaderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = HeaderName::from_str(s.trim()).map_err(|_| ClientIpHeaderError::Invalid(s.to_owned()))?;
        if let Some((_, why)) = UNUSABLE.iter().find(|(n, _)| *n == name.as_str()) {
            return Err(ClientIpHeaderError::Unusable {
                name: name.as_str().to_owned(),
                why,
            });
        }
        let format = if name == axum::http::header::FORWARDED {
            Format::Forwarded
        } else {
            Format::Addresses
        };
        Ok(Self { name, format })
    }
}

/// Why the configured header gave no address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// The request did not carry it.
    Missing,
    /// Its right-most entry is not an address.
    Unparseable,
}

impl Unusable {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unparseable => "unparseable",
        }
    }
}

impl ClientIpHeader {
    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The address the trusted proxy wrote: the right-most entry of all the header's lines, in order.
    pub fn client_ip(&self, headers: &HeaderMap) -> Result<IpAddr, Unusable> {
        // Lines combine in order into one comma-separated list, so its right-most entry is the last line's.
        let last = headers
            .get_all(&self.name)
            .iter()
            .next_back()
            .ok_or(Unusable::Missing)?;
        let value = last.to_str().map_err(|_| Unusable::Unparseable)?;
        match self.format {
            Format::Addresses => parse_node(value.rsplit(',').next().unwrap_or_default()),
            Format::Forwarded => forwarded_for(value),
        }
        .ok_or(Unusable::Unparseable)
    }

    /// The client's address for a request from `peer`; a header that gives none is counted, logged now and
    /// then, and the peer is used.
    pub fn resolve(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        match self.client_ip(headers) {
            Ok(ip) => ip,
            Err(problem) => {
                crate::observability::client_ip_header_unusable(problem.label());
                // One line per interval at most: a misconfigured proxy would otherwise write one per request.
                static LOG: LazyLock<DefaultDirectRateLimiter> = LazyLock::new(|| {
                    RateLimiter::direct(Quota::with_period(Duration::from_secs(10)).expect("non-zero"))
                });
                if LOG.check().is_ok() {
                    tracing::warn!(
                        header = %self.name,
                        problem = problem.label(),
                        %peer,
                        "the client-IP header gave no address; using the peer's (logged at most every 10 s)"
                    );
                }
                peer
            }
        }
    }
}

/// One address as proxies write it: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    // `[ipv6]` without a port, or with one that is not a number (RFC 7239 allows obfuscated ports).
    let inner = s.strip_prefix('[')?;
    let (ip, rest) = inner.split_once(']')?;
    (rest.is_empty() || rest.starts_with(':'))
        .then(|| ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6))
        .flatten()
}

/// The `for=` address of the right-most element of an RFC 7239 `Forwarded` value.
fn forwarded_for(value: &str) -> Option<IpAddr> {
    let element = split_unquoted(value, ',').pop()?;
    split_unquoted(element, ';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let unquoted = match value.strip_prefix('"') {
            Some(rest) => rest.strip_suffix('"')?,
            None => value,
        };
        // `unknown` and obfuscated identifiers (`_hidden`) are not addresses.
        parse_node(unquoted)
    })
}

/// `s` split at `sep` outside double-quoted strings (RFC 7230 quoted-string, with backslash escapes).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                HeaderName::from_str(name).unwrap(),
                HeaderValue::from_str(line).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_entry_of_all_lines_is_used() {
        let h: ClientIpHeader = "X-Forwarded-For".parse().unwrap();
        let from = |lines: &[&str]| h.client_ip(&headers("x-forwarded-for", lines));
        assert_eq!(from(&["203.0.113.9"]), Ok(ip("203.0.113.9")));
        assert_eq!(from(&["1.1.1.1, 203.0.113.9"]), Ok(ip("203.0.113.9")));
        // A client's own line first, the proxy's appended line last.
        assert_eq!(from(&["1.1.1.1", "203.0.113.9"]), Ok(ip("203.0.113.9")));
        assert_eq!(
            from(&["1.1.1.1, 2.2.2.2", "10.0.0.1, 203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
        assert_eq!(from(&[]), Err(Unusable::Missing));
        // Nothing to the left is ever believed instead.
        assert_eq!(from(&["203.0.113.9, "]), Err(Unusable::Unparseable));
        assert_eq!(from(&["203.0.113.9", "junk"]), Err(Unusable::Unparseable));
    }

    #[test]
    fn ports_and_brackets_are_accepted() {
        for (entry, want) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            (" 198.51.100.7 ", "198.51.100.7"),
        ] {
            assert_eq!(parse_node(entry), Some(ip(want)), "{entry}");
        }
        for bad in [
            "",
            "unknown",
            "_hidden",
            "198.51.100",
            "[198.51.100.7]",
            "[2001:db8::1",
            "2001:db8::1]:1",
            "x:1",
        ] {
            assert_eq!(parse_node(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn forwarded_reads_the_for_parameter_of_the_last_element() {
        let h: ClientIpHeader = "forwarded".parse().unwrap();
        let from = |lines: &[&str]| h.client_ip(&headers("forwarded", lines));
        assert_eq!(
            from(&["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            Ok(ip("192.0.2.60"))
        );
        assert_eq!(
            from(&[r#"for="[2001:db8:cafe::17]:4711""#]),
            Ok(ip("2001:db8:cafe::17"))
        );
        assert_eq!(
            from(&["For=192.0.2.1, for=198.51.100.17"]),
            Ok(ip("198.51.100.17"))
        );
        assert_eq!(
            from(&["for=192.0.2.1", "proto=https;for=198.51.100.17"]),
            Ok(ip("198.51.100.17"))
        );
        assert_eq!(
            from(&[r#"for="_x,y;z", for=198.51.100.17"#]),
            Ok(ip("198.51.100.17"))
        );
        assert_eq!(
            from(&["for=198.51.100.17, for=unknown"]),
            Err(Unusable::Unparseable)
        );
        assert_eq!(
            from(&["for=198.51.100.17, proto=http"]),
            Err(Unusable::Unparseable)
        );
        assert_eq!(from(&[r#"for="198.51.100.17"#]), Err(Unusable::Unparseable));
    }

    #[test]
    fn header_names_that_cannot_hold_an_address_are_refused() {
        for name in [
            "x-forwarded-for",
            "X-Real-IP",
            "cf-connecting-ip",
            "forwarded",
            "true-client-ip",
        ] {
            assert!(name.parse::<ClientIpHeader>().is_ok(), "{name}");
        }
        for name in [
            "",
            "a b",
            "host",
            "Connection",
            "transfer-encoding",
            "authorization",
            "x-forwarded-proto",
        ] {
            assert!(name.parse::<ClientIpHeader>().is_err(), "{name}");
        }
    }

    #[test]
    fn bytes_that_are_not_text_do_not_parse() {
        let h: ClientIpHeader = "x-forwarded-for".parse().unwrap();
        let mut map = HeaderMap::new();
        map.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.2.3.4\xff").unwrap(),
        );
        assert_eq!(h.client_ip(&map), Err(Unusable::Unparseable));
    }
}
