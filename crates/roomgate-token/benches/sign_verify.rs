//! The physical limit of minting and what the token layer adds to it.
//!
//! `ed25519/*` is the bare primitive on a token-sized input (the signing input of a real refresh token): signing
//! by ed25519-dalek and by aws-lc-rs (which `SigningKey` signs with), verifying by ed25519-dalek; the
//! `token/*` benches are the full paths the server runs: claims → JSON → base64url → sign, and parse → verify
//! strictly → claims checks → sign. Their difference is this crate's own overhead.
//!
//! `cargo bench -p roomgate-token`
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signer as _, Verifier as _};
use roomgate_token::{
    verify, Claims, KeySet, SigningKey, TokenKind, TokenSpec, Validation, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
};
use uuid::Uuid;

const NOW: i64 = 1_700_000_000;
const ROOM: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

fn claims(kind: TokenKind, ttl: i64) -> Claims {
    let subjects = vec!["telnyx:users:5f1f3c1e-8a3b-4c7e-9d2a-0b6c4e8f1a2d".to_owned()];
    Claims::mint(
        &TokenSpec {
            kind,
            room_id: ROOM,
            subjects,
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: ttl,
            participant: None,
        },
        NOW,
    )
}

fn primitives(c: &mut Criterion) {
    let key = SigningKey::generate();
    let token = key.sign(&claims(TokenKind::Refresh, 3600));
    let input = token
        .rsplit_once('.')
        .map(|(i, _)| i)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let raw = ed25519_dalek::SigningKey::from_bytes(key.seed());
    let public = raw.verifying_key();
    let signature = raw.sign(&input);

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("sign/{}B", input.len()), |b| {
        b.iter(|| raw.sign(black_box(&input)))
    });
    let aws_lc =
        aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(key.seed()).expect("a 32-byte seed");
    g.bench_function(format!("sign_aws_lc_rs/{}B", input.len()), |b| {
        b.iter(|| aws_lc.sign(black_box(&input)))
    });
    g.bench_function(format!("verify_strict/{}B", input.len()), |b| {
        b.iter(|| public.verify_strict(black_box(&input), &signature).is_ok())
    });
    g.bench_function(format!("verify/{}B", input.len()), |b| {
        b.iter(|| public.verify(black_box(&input), &signature).is_ok())
    });
    g.finish();
}

fn token_paths(c: &mut Criterion) {
    let key = SigningKey::generate();
    let keys = KeySet::new([key.verification_key()]);
    let access = claims(TokenKind::Access, 600);
    let refresh_token = key.sign(&claims(TokenKind::Refresh, 3600));
    let validation = Validation::new(TokenKind::Refresh).room(ROOM);

    let mut g = c.benchmark_group("token");
    g.throughput(Throughput::Elements(1));
    g.bench_function("claims_mint", |b| {
        b.iter(|| claims(TokenKind::Access, black_box(600)))
    });
    g.bench_function("sign_access", |b| b.iter(|| key.sign(black_box(&access))));
    g.bench_function("create_pair", |b| {
        // What create_access_token does besides HTTP and the store: two claim sets, two signatures.
        b.iter(|| {
            let a = key.sign(&claims(TokenKind::Access, 600));
            let r = key.sign(&claims(TokenKind::Refresh, 3600));
            (a, r)
        })
    });
    g.bench_function("verify_refresh", |b| {
        b.iter(|| verify(black_box(&refresh_token), &keys, &validation, NOW).is_ok())
    });
    g.bench_function("refresh_verify_and_mint", |b| {
        // What refresh_access_token does besides HTTP and the store.
        b.iter(|| {
            let checked = verify(black_box(&refresh_token), &keys, &validation, NOW).ok()?;
            let subjects = checked.grants.into_iter().flat_map(|g| g.subjects).collect();
            let fresh = Claims::mint(
                &TokenSpec {
                    kind: TokenKind::Access,
                    room_id: ROOM,
                    subjects,
                    issuer: DEFAULT_ISSUER,
                    audience: DEFAULT_AUDIENCE,
                    ttl_secs: 600,
                    participant: None,
                },
                NOW,
            );
            Some(key.sign(&fresh))
        })
    });
    g.finish();
}

criterion_group!(benches, primitives, token_paths);
criterion_main!(benches);
