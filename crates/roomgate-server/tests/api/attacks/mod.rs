//! Attacks on the refresh endpoint over HTTP, one module per family. Every forged refresh token must get the
//! same 403/10010 body, byte for byte, and leave the store as it was. Most families run against both formats the
//! endpoint accepts: HS256 refresh tokens (what the server mints) and Ed25519 ones (minted before refresh tokens
//! were MACed), each forged with the server's real secret or key so that only the attack itself is wrong.
mod algorithms;
mod bodies;
mod claims;
mod headers;
mod signatures;
mod sizes;
mod structure;

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use ed25519_dalek::Signer as _;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::harness::{json_body, Minted, Scheme, TestApp};

/// base64url without padding, as JWS segments are.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 with padding (PEM, OpenSSH).
pub fn b64_std(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// How a forged refresh token is authenticated: the two formats the refresh endpoint accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HMAC-SHA256 under the signing key's refresh secret (what the server mints).
    Mac,
    /// Ed25519 under the signing key itself (refresh tokens minted before they were MACed).
    Ed25519,
}

impl Format {
    pub const BOTH: [Format; 2] = [Format::Mac, Format::Ed25519];
}

/// HMAC-SHA256 (RFC 2104), by hand, so the tests check the server against an implementation that is not its own.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The refresh secret of a signing key, as documented: HKDF-SHA256 (RFC 5869) with the purpose as salt, the seed
/// as input keying material and the signing key's kid as info; 32 bytes, so one expand block.
pub fn refresh_secret(seed: &[u8; 32], kid: &str) -> [u8; 32] {
    let prk = hmac_sha256(b"roomgate refresh-token HMAC-SHA256 v1", seed);
    let mut info = kid.as_bytes().to_vec();
    info.push(1);
    hmac_sha256(&prk, &info)
}

#[test]
fn hmac_matches_rfc_4231_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

/// A room with a freshly minted token pair, the server's real signing key and refresh secret, and the uniform 403
/// body. `format` says how [`Target::sign`] authenticates what it forges (MACed, unless set otherwise).
#[derive(Debug)]
pub struct Target {
    pub app: TestApp,
    pub room: String,
    pub minted: Minted,
    pub key: ed25519_dalek::SigningKey,
    /// The signing key's kid (published in the JWKS).
    pub signing_kid: String,
    /// The refresh secret derived from `key`.
    pub secret: [u8; 32],
    pub format: Format,
    /// The payload of `minted.refresh`.
    pub claims: Map<String, Value>,
    forbidden_body: String,
    keys_before: Vec<(String, Vec<u8>)>,
}

impl Target {
    pub async fn new() -> Self {
        // Hundreds of forgeries from one address are what a family sends: the per-address limit on failed
        // refreshes (tested on its own) would answer most of them 429 instead of showing the 403 they get.
        let config = roomgate_server::Config {
            rate_limits: roomgate_server::ratelimit::RateLimitConfig {
                refresh_per_ip: None,
                ..Default::default()
            },
            ..Default::default()
        };
        let app = TestApp::spawn_with(roomgate_store::testing::Backend::Sqlite, config).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let (access_header, _) = roomgate_token::decode_unverified(&minted.access).expect("our own token");
        let (_, claims) = roomgate_token::decode_unverified(&minted.refresh).expect("our own token");
        let signing_kid = access_header["kid"].as_str().expect("kid").to_owned();
        let records = app.store.signing_keys().await.expect("signing keys");
        let record = records
            .iter()
            .find(|r| r.kid == signing_kid)
            .expect("the signing key is in the store");
        let seed: [u8; 32] = record
            .private_key
            .as_slice()
            .try_into()
            .expect("plaintext 32-byte seed in tests");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let secret = refresh_secret(&seed, &signing_kid);
        let keys_before = records
            .iter()
            .map(|r| (r.kid.clone(), r.public_key.clone()))
            .collect();
        let resp = app.refresh_token(Scheme::Original, &room, "x").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let forbidden_body = resp.text().await.expect("body");
        let error: Value = serde_json::from_str(&forbidden_body).expect("JSON");
        assert_eq!(error["errors"][0]["code"], "10010", "{forbidden_body}");
        let claims = claims.as_object().expect("object payload").clone();
        Self {
            app,
            room,
            minted,
            key,
            signing_kid,
            secret,
            format: Format::Mac,
            claims,
            forbidden_body,
            keys_before,
        }
    }

    /// The kid the server's tokens of this format name.
    pub fn kid(&self) -> String {
        match self.format {
            Format::Mac => format!("{}{}", roomgate_token::REFRESH_KID_PREFIX, self.signing_kid),
            Format::Ed25519 => self.signing_kid.clone(),
        }
    }

    /// The `alg` and `typ` of this format's header.
    pub fn alg_typ(&self) -> (&'static str, &'static str) {
        match self.format {
            Format::Mac => ("HS256", roomgate_token::REFRESH_TYP),
            Format::Ed25519 => ("EdDSA", "JWT"),
        }
    }

    /// The header the server writes for this format, with `change` applied.
    pub fn header_with(&self, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let (alg, typ) = self.alg_typ();
        let mut header = Map::new();
        header.insert("alg".into(), alg.into());
        header.insert("typ".into(), typ.into());
        header.insert("kid".into(), self.kid().into());
        change(&mut header);
        Value::Object(header).to_string()
    }

    /// The header the server writes for this format, as JSON text.
    pub fn header(&self) -> String {
        self.header_with(|_| {})
    }

    /// A refresh token of this format the server accepts: the minted one, or its claims signed with Ed25519.
    pub fn genuine(&self) -> String {
        match self.format {
            Format::Mac => self.minted.refresh.clone(),
            Format::Ed25519 => self.signed_claims(|_| {}),
        }
    }

    /// Valid refresh claims as JSON text, changed by `change`.
    pub fn payload_with(&self, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut claims = self.claims.clone();
        change(&mut claims);
        Value::Object(claims).to_string()
    }

    /// Valid refresh claims with `name` set to the raw JSON text `raw` (removed when `None`).
    pub fn payload_raw(&self, name: &str, raw: Option<&str>) -> String {
        const MARK: &str = "__roomgate_attack_raw__";
        let payload = self.payload_with(|c| match raw {
            Some(_) => {
                c.insert(name.into(), MARK.into());
            }
            None => {
                c.remove(name);
            }
        });
        payload.replace(&format!("\"{MARK}\""), raw.unwrap_or_default())
    }

    /// `header_json` and `payload` authenticated with the server's real secret or key, as `format` says.
    pub fn sign(&self, header_json: &str, payload: &str) -> String {
        self.sign_segments(&b64(header_json), &b64(payload))
    }

    /// Segments used verbatim, authenticated (as sent) with the server's real secret or key.
    pub fn sign_segments(&self, header_segment: &str, payload_segment: &str) -> String {
        let input = format!("{header_segment}.{payload_segment}");
        let tag = match self.format {
            Format::Mac => hmac_sha256(&self.secret, input.as_bytes()).to_vec(),
            Format::Ed25519 => self.key.sign(input.as_bytes()).to_bytes().to_vec(),
        };
        format!("{input}.{}", b64(tag))
    }

    /// The real header over claims changed by `change`, validly signed.
    pub fn signed_claims(&self, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        self.sign(&self.header(), &self.payload_with(change))
    }

    /// Asserts the uniform 403/10010 under both naming schemes, for this target's room.
    pub async fn assert_rejected(&self, token: &str) {
        self.assert_rejected_in(&self.room, token).await;
    }

    pub async fn assert_rejected_in(&self, room: &str, token: &str) {
        for scheme in Scheme::BOTH {
            let resp = self.app.refresh_token(scheme, room, token).await;
            let status = resp.status();
            let body = resp.text().await.expect("body");
            let shown: String = token.chars().take(200).collect();
            assert_eq!(status, StatusCode::FORBIDDEN, "{scheme:?} {shown}: {body}");
            assert_eq!(
                body, self.forbidden_body,
                "{scheme:?} {shown}: not the uniform body"
            );
        }
    }

    /// Asserts the token is refreshed: the control that proves a forging helper makes otherwise-good tokens.
    pub async fn assert_accepted(&self, token: &str) {
        let resp = self.app.refresh_token(Scheme::Original, &self.room, token).await;
        json_body(resp, StatusCode::CREATED).await;
    }

    /// Asserts the signing keys and the room are as they were.
    pub async fn assert_store_unchanged(&self) {
        let keys: Vec<_> = self
            .app
            .store
            .signing_keys()
            .await
            .expect("signing keys")
            .iter()
            .map(|r| (r.kid.clone(), r.public_key.clone()))
            .collect();
        assert_eq!(keys, self.keys_before, "signing keys changed");
        let resp = self.app.get_room(&self.room).await;
        json_body(resp, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn the_forging_helpers_make_tokens_the_server_accepts() {
    let mut target = Target::new().await;
    target.assert_accepted(&target.minted.refresh).await;
    // The independent derivation gives the server's own refresh token, byte for byte.
    assert_eq!(
        target.signed_claims(|_| {}).split('.').nth(1),
        target.minted.refresh.split('.').nth(1)
    );
    assert_eq!(
        target.sign_segments(
            target.minted.refresh.split('.').next().unwrap(),
            target.minted.refresh.split('.').nth(1).unwrap()
        ),
        target.minted.refresh
    );
    for format in Format::BOTH {
        target.format = format;
        target.assert_accepted(&target.genuine()).await;
        target.assert_accepted(&target.signed_claims(|_| {})).await;
        let header = target.header();
        let payload = target.payload_with(|_| {});
        target
            .assert_accepted(&target.sign_segments(&b64(&header), &b64(&payload)))
            .await;
        let exp = target.claims["exp"].to_string();
        target
            .assert_accepted(&target.sign(&header, &target.payload_raw("exp", Some(&exp))))
            .await;
    }
    target.assert_store_unchanged().await;
}
