//! The SSRF guard: which addresses webhooks may be delivered to, checked on the addresses a target's name
//! resolves to when it is delivered to (a DNS answer that changed since the room was configured counts), and on
//! IP literals in the URL.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a target was refused.
#[derive(Debug, thiserror::Error)]
#[error("webhook target {host} is refused: it resolves only to loopback, private, link-local or reserved addresses (allow them with --webhook-allow-private-targets)")]
pub struct RefusedTarget {
    /// The host as the URL names it.
    pub host: String,
}

/// Whether webhooks may be delivered to `ip`: a public unicast address, not loopback, private (RFC 1918, unique
/// local), link-local (cloud metadata services live there), shared (CGNAT), documentation, benchmarking,
/// multicast or otherwise reserved; IPv6 forms that embed an IPv4 address are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0.0/24
        || ip.is_documentation()
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18.0.0/15
        || ip.is_multicast()
        || a >= 240) // reserved, and the broadcast address
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // NAT64 (64:ff9b::/96): the IPv4 address it reaches.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_public_v4(embedded_v4(hi, lo)),
        // 6to4 (2002::/16): the IPv4 address of its relay.
        [0x2002, hi, lo, ..] => is_public_v4(embedded_v4(hi, lo)),
        // IPv4-compatible (::a.b.c.d, deprecated), loopback and unspecified among them.
        [0, 0, 0, 0, 0, 0, _, _] => false,
        _ => {
            !(ip.is_multicast()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] == 0) // Teredo: the IPv4 address inside is obfuscated
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only, 100::/64
        }
    }
}

/// The address a URL's host is, when it is an IP literal.
pub fn literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Resolves names with the system's resolver and keeps only the addresses webhooks may go to (all of them when
/// private targets are allowed), so the connection is made to an address that was checked.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Allow every address.
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(RefusedTarget { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn refuses_loopback_private_link_local_metadata_and_reserved_addresses() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254", // AWS, GCP and Azure instance metadata
            "169.254.0.1",
            "100.64.0.1",
            "100.100.100.200", // Alibaba Cloud metadata (shared address space)
            "192.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "2002:7f00:1::1",     // 6to4 of 127.0.0.1
            "2002:c0a8:101::1",   // 6to4 of 192.168.1.1
            "fc00::1",
            "fd00:ec2::254", // AWS metadata over IPv6
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "100::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn allows_public_unicast_addresses() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(public(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn literals_are_read_with_or_without_brackets() {
        assert_eq!(literal("127.0.0.1"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("example.com"), None);
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback_unless_allowed() {
        let refused = GuardedResolver { allow_private: false }
            .resolve("localhost".parse().unwrap())
            .await;
        let err = refused.err().expect("localhost is refused");
        assert!(err.to_string().contains("localhost"), "{err}");
        let allowed = GuardedResolver { allow_private: true }
            .resolve("localhost".parse().unwrap())
            .await
            .expect("allowed");
        assert!(allowed.into_iter().any(|a| a.ip().is_loopback()));
    }
}
