//! The physical limit: Ed25519 signatures, strict verifications and refresh-token MACs per second on one core.
//!
//! A create costs one signature (the access token) and one HMAC-SHA256 (the refresh token); a refresh one MAC
//! check and one signature.
//!
//! Both signing libraries are measured: ed25519-dalek and aws-lc-rs (which roomgate signs with). Their signatures
//! are the same bytes; the gap to the limit is stated against the faster one. Verification is ed25519-dalek's
//! `verify_strict`, as in roomgate.
use std::time::{Duration, Instant};

use ed25519_dalek::Signer as _;
use hmac::Mac as _;
use roomgate_token::{Claims, SigningKey, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};

/// Single-threaded Ed25519 throughput on a token-sized input.
#[derive(Clone, Copy, Debug)]
pub struct SigningLimit {
    /// Bytes signed (the signing input of a real refresh token).
    pub input_len: usize,
    /// Signatures per second, ed25519-dalek.
    pub dalek_signs_per_sec: f64,
    /// Signatures per second, aws-lc-rs.
    pub aws_lc_signs_per_sec: f64,
    /// Strict verifications per second, ed25519-dalek (what the server does for a refresh token minted before
    /// refresh tokens were MACed).
    pub verifies_per_sec: f64,
    /// HMAC-SHA256 tags per second (a refresh token's MAC, made or checked).
    pub macs_per_sec: f64,
}

impl SigningLimit {
    /// The faster signing library and its signatures per second.
    pub fn fastest_signer(&self) -> (&'static str, f64) {
        if self.aws_lc_signs_per_sec >= self.dalek_signs_per_sec {
            ("aws-lc-rs", self.aws_lc_signs_per_sec)
        } else {
            ("ed25519-dalek", self.dalek_signs_per_sec)
        }
    }

    /// CPU time of one signature by the faster library.
    pub fn sign_cost(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.fastest_signer().1)
    }

    /// CPU time of one strict verification.
    pub fn verify_cost(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.verifies_per_sec)
    }

    /// CPU time of one HMAC-SHA256 tag.
    pub fn mac_cost(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.macs_per_sec)
    }
}

/// Runs each loop for about `each` and counts.
pub fn measure(each: Duration) -> SigningLimit {
    let key = SigningKey::generate();
    let claims = Claims::mint(
        &TokenSpec {
            kind: TokenKind::Refresh,
            room_id: uuid::Uuid::new_v4(),
            subjects: vec![format!("telnyx:users:{}", uuid::Uuid::new_v4())],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 3600,
            participant: None,
        },
        1_700_000_000,
    );
    let token = key.sign(&claims);
    let input = token
        .rsplit_once('.')
        .map(|(i, _)| i)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let raw = ed25519_dalek::SigningKey::from_bytes(key.seed());
    let aws_lc = match aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(key.seed()) {
        Ok(pair) => pair,
        Err(e) => panic!("aws-lc-rs refused a 32-byte Ed25519 seed: {e}"),
    };
    let public = raw.verifying_key();
    let signature = raw.sign(&input);
    assert_eq!(
        aws_lc.sign(&input).as_ref(),
        signature.to_bytes(),
        "the two libraries must make the same signature"
    );

    let dalek_signs_per_sec = rate(each, || {
        std::hint::black_box(raw.sign(std::hint::black_box(&input)));
    });
    let aws_lc_signs_per_sec = rate(each, || {
        std::hint::black_box(aws_lc.sign(std::hint::black_box(&input)));
    });
    let mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(&[7; 32]) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes a key of any length"),
    };
    let macs_per_sec = rate(each, || {
        std::hint::black_box(mac.clone().chain_update(std::hint::black_box(&input)).finalize());
    });
    let verifies_per_sec = rate(each, || {
        assert!(public
            .verify_strict(std::hint::black_box(&input), &signature)
            .is_ok());
    });
    SigningLimit {
        input_len: input.len(),
        dalek_signs_per_sec,
        aws_lc_signs_per_sec,
        verifies_per_sec,
        macs_per_sec,
    }
}

/// Calls `f` in batches until `each` has passed; returns calls per second of this thread's CPU time, so other
/// processes on the machine (the load generator's other threads, someone's build) do not lower the figure.
fn rate(each: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..200 {
        f(); // warm caches and the CPU's clock
    }
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut n = 0u64;
    while start.elapsed() < each {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    let spent = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => start.elapsed(),
    };
    n as f64 / spent.as_secs_f64()
}

/// Time this thread has run on a CPU (first field of `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        text.split_whitespace().next()?.parse().ok()?,
    ))
}
