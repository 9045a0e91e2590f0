//! Attacks on the refresh endpoint over HTTP, one module per family. Every forged refresh token must get the
//! same 403/10010 body, byte for byte, and leave the store as it was.
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

use crate::harness::{json_body, Minted, Scheme, TestApp};

/// base64url without padding, as JWS segments are.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 with padding (PEM, OpenSSH).
pub fn b64_std(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// A room with a freshly minted token pair, the server's real signing key, and the uniform 403 body.
#[derive(Debug)]
pub struct Target {
    pub app: TestApp,
    pub room: String,
    pub minted: Minted,
    pub key: ed25519_dalek::SigningKey,
    pub kid: String,
    /// The payload of `minted.refresh`.
    pub claims: Map<String, Value>,
    forbidden_body: String,
    keys_before: Vec<(String, Vec<u8>)>,
}

impl Target {
    pub async fn new() -> Self {
        let app = TestApp::spawn().await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Seed, &room, &json!({})).await;
        let (header, claims) = roomgate_token::decode_unverified(&minted.refresh).expect("our own token");
        let kid = header["kid"].as_str().expect("kid").to_owned();
        let records = app.store.signing_keys().await.expect("signing keys");
        let record = records
            .iter()
            .find(|r| r.kid == kid)
            .expect("the signing key is in the store");
        let seed: [u8; 32] = record
            .private_key
            .as_slice()
            .try_into()
            .expect("plaintext 32-byte seed in tests");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let keys_before = records
            .iter()
            .map(|r| (r.kid.clone(), r.public_key.clone()))
            .collect();
        let resp = app.refresh_token(Scheme::Seed, &room, "x").await;
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
            kid,
            claims,
            forbidden_body,
            keys_before,
        }
    }

    /// The header our server writes, as JSON text.
    pub fn header(&self) -> String {
        json!({ "alg": "EdDSA", "typ": "JWT", "kid": self.kid }).to_string()
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

    /// `header_json` and `payload` signed with the server's real key.
    pub fn sign(&self, header_json: &str, payload: &str) -> String {
        roomgate_token::jws::sign_compact(header_json, payload.as_bytes(), &self.key)
    }

    /// Segments used verbatim, signed (as sent) with the server's real key.
    pub fn sign_segments(&self, header_segment: &str, payload_segment: &str) -> String {
        let input = format!("{header_segment}.{payload_segment}");
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64(signature.to_bytes()))
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
        let resp = self.app.refresh_token(Scheme::Seed, &self.room, token).await;
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
    let target = Target::new().await;
    target.assert_accepted(&target.minted.refresh).await;
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
    target.assert_store_unchanged().await;
}
