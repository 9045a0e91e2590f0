//! Keys, tokens and (with `fetch`) a JWKS endpoint whose answers and request count the test controls.

use roomgate_token::{Claims, KeySet, SigningKey, TokenKind, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use uuid::Uuid;

pub const NOW: i64 = 1_700_000_000;
pub const ROOM: Uuid = Uuid::from_u128(0x5eed);

/// An access token for [`ROOM`], issued at [`NOW`] for 600 s, signed by `key`.
pub fn access_token(key: &SigningKey) -> String {
    key.sign(&Claims::mint(
        &TokenSpec {
            kind: TokenKind::Access,
            room_id: ROOM,
            subjects: vec!["telnyx:users:test".into()],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: None,
        },
        NOW,
    ))
}

/// The public JWK Set document of `keys`.
pub fn jwks_json(keys: &[&SigningKey]) -> Vec<u8> {
    let set = KeySet::new(keys.iter().map(|k| k.verification_key()));
    serde_json::to_vec(&set.to_jwks()).expect("serialize JWKS")
}

/// RFC 8037 Appendix A.1's Ed25519 key (RFC 8032 test 1): the seed and its JWK's `x` and private `d`.
pub const RFC8037_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44,
    0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
pub const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
pub const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// RFC 8037's key published by mistake with its private half: `{"keys":[{..,"x":..,"d":..}]}`.
pub fn jwks_json_with_private_key() -> (SigningKey, Vec<u8>) {
    let key = SigningKey::from_seed(&RFC8037_SEED);
    let mut jwk = serde_json::to_value(key.verification_key().to_jwk()).expect("jwk");
    assert_eq!(jwk["x"], RFC8037_X, "seed and x are RFC 8037's pair");
    jwk["d"] = RFC8037_D.into();
    let json = serde_json::to_vec(&serde_json::json!({ "keys": [jwk] })).expect("serialize JWKS");
    (key, json)
}

#[cfg(feature = "fetch")]
pub use server::{body, closed_port_url, JwksServer, Reply};

#[cfg(feature = "fetch")]
mod server {
    use std::{
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc, Mutex,
        },
        time::Duration,
    };

    use axum::{
        body::Body,
        extract::State,
        http::{header, StatusCode},
        response::Response,
        routing::get,
        Router,
    };
    use roomgate_token::SigningKey;

    /// What the endpoint answers next.
    #[derive(Clone, Debug)]
    pub struct Reply {
        pub status: StatusCode,
        pub body: Vec<u8>,
        pub cache_control: Option<String>,
        pub location: Option<String>,
        /// Wait this long before answering.
        pub delay: Duration,
        /// Send the body in pieces without a Content-Length.
        pub chunked: bool,
    }

    impl Reply {
        /// 200 with this JWKS body, roomgate's `Cache-Control`.
        pub fn jwks(body: Vec<u8>) -> Self {
            Reply {
                status: StatusCode::OK,
                body,
                cache_control: Some("public, max-age=300".into()),
                location: None,
                delay: Duration::ZERO,
                chunked: false,
            }
        }
    }

    #[derive(Debug)]
    struct Shared {
        reply: Mutex<Reply>,
        hits: AtomicUsize,
    }

    /// A JWKS endpoint on `127.0.0.1:0` that counts its requests.
    #[derive(Clone, Debug)]
    pub struct JwksServer {
        shared: Arc<Shared>,
        /// `http://127.0.0.1:PORT`.
        pub base: String,
    }

    impl JwksServer {
        /// Serves `reply` at `/jwks.json` until the test's runtime ends.
        pub async fn start(reply: Reply) -> Self {
            let shared = Arc::new(Shared {
                reply: Mutex::new(reply),
                hits: AtomicUsize::new(0),
            });
            let app = Router::new()
                .route("/jwks.json", get(answer))
                .with_state(shared.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("address"));
            tokio::spawn(async move { axum::serve(listener, app).await });
            JwksServer { shared, base }
        }

        /// Serves the public keys of `keys`.
        pub async fn with_keys(keys: &[&SigningKey]) -> Self {
            Self::start(Reply::jwks(super::jwks_json(keys))).await
        }

        /// The JWKS URL.
        pub fn url(&self) -> String {
            format!("{}/jwks.json", self.base)
        }

        /// Requests received so far.
        pub fn hits(&self) -> usize {
            self.shared.hits.load(Ordering::SeqCst)
        }

        /// Answer with `reply` from now on.
        pub fn set(&self, reply: Reply) {
            *self.shared.reply.lock().expect("reply lock") = reply;
        }

        /// Publish these keys from now on (other settings unchanged).
        pub fn set_keys(&self, keys: &[&SigningKey]) {
            self.shared.reply.lock().expect("reply lock").body = super::jwks_json(keys);
        }
    }

    async fn answer(State(shared): State<Arc<Shared>>) -> Response {
        shared.hits.fetch_add(1, Ordering::SeqCst);
        let reply = shared.reply.lock().expect("reply lock").clone();
        tokio::time::sleep(reply.delay).await;
        let body = body(reply.body, reply.chunked);
        let mut builder = Response::builder()
            .status(reply.status)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(cc) = reply.cache_control {
            builder = builder.header(header::CACHE_CONTROL, cc);
        }
        if let Some(location) = reply.location {
            builder = builder.header(header::LOCATION, location);
        }
        builder.body(body).expect("response")
    }

    /// `bytes` as a response body, or (`chunked`) sent in pieces without a Content-Length.
    pub fn body(bytes: Vec<u8>, chunked: bool) -> Body {
        if !chunked {
            return Body::from(bytes);
        }
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures::stream::iter(pieces))
    }

    /// A URL on a local port nothing listens on.
    pub async fn closed_port_url() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        format!("http://{address}/jwks.json")
    }
}
