//! `POST /v2/tokens/introspect`: the caller's tokens described whole, active or with the reason they are not;
//! anyone else's, and anything that is no token, `{"active": false}` and nothing more.
mod oracle;
mod reasons;

use ed25519_dalek::Signer as _;
use reqwest::{header, StatusCode};
use roomgate_store::backend_test;
use serde_json::{json, Map, Value};

use crate::attacks::{b64, hmac_sha256, refresh_secret};
use crate::harness::{assert_error, json_body, Minted, Scheme, TestApp};

pub const PATH: &str = "/v2/tokens/introspect";

/// The whole answer about a token that is not the caller's, or no token.
pub const NOT_OURS: &str = r#"{"data":{"active":false}}"#;

/// What a version 1 token allows, every member spelled out.
pub fn v1_permissions() -> Value {
    json!({
        "can_publish": true,
        "can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        "can_subscribe": true,
        "can_publish_data": true,
        "can_update_metadata": false,
        "hidden": false,
        "recorder": false,
        "room_admin": false,
    })
}

/// The body text of a 200 introspection of `token` with `key`.
pub async fn introspect_text(app: &TestApp, key: &str, token: &str) -> String {
    let resp = app.post_json(PATH, Some(key), &json!({ "token": token })).await;
    let status = resp.status();
    let no_store = resp.headers().get(header::CACHE_CONTROL).cloned();
    let text = resp.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(no_store.as_ref().map(|v| v.to_str().unwrap()), Some("no-store"));
    text
}

/// `data` of an introspection of `token` with the default key.
pub async fn introspect(app: &TestApp, token: &str) -> Value {
    let text = introspect_text(app, &app.api_key, token).await;
    let body: Value = serde_json::from_str(&text).expect("JSON");
    body["data"].clone()
}

/// The members an answer about the caller's `token` (of `room`) has, inactive and with no reason, as the
/// token itself and the answer's `server_time` say; version 1 permissions.
pub fn described(token: &str, room: &str, answer: &Value) -> Map<String, Value> {
    let (header, claims) = roomgate_token::decode_unverified(token).expect("decodes");
    let now = answer["server_time"].as_i64().expect("server_time");
    let exp = claims["exp"].as_i64().expect("exp");
    let members = json!({
        "active": false,
        "typ": claims["typ"],
        "room_id": room,
        "permissions": v1_permissions(),
        "jti": claims["jti"],
        "kid": header["kid"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "exp": exp,
        "expires_in": exp - now,
        "server_time": now,
    });
    members.as_object().expect("object").clone()
}

/// The whole answer expected about the caller's `token`: [`described`] with `members` set over it.
pub fn expected(answer: &Value, token: &str, room: &str, members: Value) -> Value {
    let mut want = described(token, room, answer);
    for (k, v) in members.as_object().expect("object") {
        want.insert(k.clone(), v.clone());
    }
    Value::Object(want)
}

/// Asserts the whole answer about an inactive token of the caller's: its reason and detail, nothing else.
pub fn assert_inactive(answer: &Value, token: &str, room: &str, reason: &str, detail: &str) {
    let members = json!({"reason": reason, "detail": detail});
    assert_eq!(answer, &expected(answer, token, room, members), "{reason}");
}

/// Asserts the token is active, with every member it should have (`extra` besides the described ones).
pub fn assert_active(answer: &Value, token: &str, room: &str, extra: Value) {
    let mut want = expected(answer, token, room, extra);
    want["active"] = true.into();
    assert_eq!(answer, &want);
}

/// The claims of a token, unverified.
pub fn claims_of(token: &str) -> Map<String, Value> {
    let (_, claims) = roomgate_token::decode_unverified(token).expect("decodes");
    claims.as_object().expect("object").clone()
}

/// The server's real signing key and refresh secret, read from its store, to forge tokens that only the
/// attack itself makes wrong.
pub struct ServerKey {
    pub kid: String,
    key: ed25519_dalek::SigningKey,
    secret: [u8; 32],
}

impl ServerKey {
    pub async fn of(app: &TestApp) -> Self {
        let records = app.store.signing_keys().await.expect("signing keys");
        let [record] = records.as_slice() else {
            panic!("one signing key, got {}", records.len());
        };
        let seed: [u8; 32] = record
            .private_key
            .as_slice()
            .try_into()
            .expect("a plaintext seed");
        Self {
            kid: record.kid.clone(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
            secret: refresh_secret(&seed, &record.kid),
        }
    }

    /// The kid of its refresh secret.
    pub fn refresh_kid(&self) -> String {
        format!("{}{}", roomgate_token::REFRESH_KID_PREFIX, self.kid)
    }

    /// `payload` under `header`, signed with Ed25519.
    pub fn sign(&self, header: &Value, payload: &Map<String, Value>) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(Value::from(payload.clone()).to_string())
        );
        let signature = self.key.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", b64(signature))
    }

    /// `payload` under `header`, MACed with the refresh secret.
    pub fn mac(&self, header: &Value, payload: &Map<String, Value>) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(Value::from(payload.clone()).to_string())
        );
        format!("{input}.{}", b64(hmac_sha256(&self.secret, input.as_bytes())))
    }

    /// An access token of `claims` as the server signs them.
    pub fn access(&self, claims: &Map<String, Value>) -> String {
        self.sign(&json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid}), claims)
    }

    /// A refresh token of `claims` as the server MACs them.
    pub fn refresh(&self, claims: &Map<String, Value>) -> String {
        let header = json!({"alg": "HS256", "typ": roomgate_token::REFRESH_TYP, "kid": self.refresh_kid()});
        self.mac(&header, claims)
    }
}

/// `token` with the first character of its signature changed: still canonical base64url, no longer authentic.
pub fn flip_signature(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').expect("three segments");
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{signed}.{first}{}", &signature[1..])
}

/// `claims` with `name` set to `value`.
pub fn with(claims: &Map<String, Value>, name: &str, value: Value) -> Map<String, Value> {
    let mut changed = claims.clone();
    changed.insert(name.into(), value);
    changed
}

/// Mints a pair for `room` with `key`.
pub async fn mint_as(app: &TestApp, key: &str, room: &str, body: &Value) -> Minted {
    let resp = app
        .post_json(&Scheme::Original.create_path(room), Some(key), body)
        .await;
    let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
    Minted {
        access: data["access_token"].as_str().expect("access").to_owned(),
        access_expires_at: data["access_token_expires_at"].as_str().expect("exp").to_owned(),
        refresh: data["refresh_token"].as_str().expect("refresh").to_owned(),
        refresh_expires_at: data["refresh_token_expires_at"].as_str().expect("exp").to_owned(),
    }
}

backend_test! {
    async fn active_tokens_are_described_whole(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let key = ServerKey::of(&app).await;

        let v1 = app.mint(Scheme::Original, &room, &json!({})).await;
        let access = introspect(&app, &v1.access).await;
        assert_active(&access, &v1.access, &room, json!({}));
        assert_eq!(access["typ"], "access");
        assert_eq!(access["kid"], key.kid.as_str());
        let refresh = introspect(&app, &v1.refresh).await;
        assert_active(&refresh, &v1.refresh, &room, json!({}));
        assert_eq!((&refresh["typ"], &refresh["kid"]), (&json!("refresh"), &json!(key.refresh_kid())));
        assert!((1..=3600).contains(&refresh["expires_in"].as_i64().unwrap()), "{refresh}");

        let v2 = app
            .mint(
                Scheme::Current,
                &room,
                &json!({
                    "identity": "alice", "name": "Alice", "metadata": "{\"seat\":3}",
                    "permissions": {"can_publish_sources": ["camera"], "room_admin": true, "hidden": true},
                }),
            )
            .await;
        let permissions = json!({
            "can_publish": true, "can_publish_sources": ["camera"], "can_subscribe": true,
            "can_publish_data": true, "can_update_metadata": false, "hidden": true, "recorder": false,
            "room_admin": true,
        });
        let participant = json!({"identity": "alice", "name": "Alice", "permissions": permissions});
        for token in [&v2.access, &v2.refresh] {
            let answer = introspect(&app, token).await;
            assert_active(&answer, token, &room, participant.clone());
        }
        // An access token refreshed from the refresh token carries the same participant.
        let resp = app.refresh_token(Scheme::Original, &room, &v2.refresh).await;
        let refreshed = json_body(resp, StatusCode::CREATED).await["data"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = introspect(&app, &refreshed).await;
        assert_active(&answer, &refreshed, &room, participant);
    }
}

#[tokio::test]
async fn refresh_tokens_of_the_older_ed25519_format_are_described() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let key = ServerKey::of(&app).await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    // Signed with the signing key itself, with no api_key_id: what roomgate minted before refresh tokens were MACed.
    let mut claims = claims_of(&minted.refresh);
    claims.remove("api_key_id");
    let legacy = key.access(&claims);
    let answer = introspect(&app, &legacy).await;
    assert_active(&answer, &legacy, &room, json!({}));
    assert_eq!(
        (&answer["typ"], &answer["kid"]),
        (&json!("refresh"), &json!(key.kid))
    );
}

#[tokio::test]
async fn bad_bodies_and_missing_keys_get_telnyx_errors() {
    let app = TestApp::spawn().await;
    let key = Some(app.api_key.as_str());
    for (body, code) in [
        (json!({}), "10004"),
        (json!({"token": null}), "10004"),
        (json!({"token": 5}), "10026"),
        (json!({"token": ["a.b.c"]}), "10026"),
        (json!({"token": {"token": "a.b.c"}}), "10026"),
    ] {
        let resp = app.post_json(PATH, key, &body).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some("/token")).await;
    }
    for raw in ["not json", "[]", "\"a.b.c\"", "{\"token\":\"a\",\"token\":\"b\"}"] {
        let resp = app
            .send_raw(reqwest::Method::POST, PATH, key, Some("application/json"), raw)
            .await;
        assert_error(resp, StatusCode::BAD_REQUEST, "10015", None).await;
    }
    let resp = app
        .send_raw(
            reqwest::Method::POST,
            PATH,
            key,
            Some("text/plain"),
            "{\"token\":\"x\"}",
        )
        .await;
    assert_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "10014", None).await;
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    for key in [None, Some("rg_not_a_key"), Some(minted.access.as_str())] {
        let resp = app.post_json(PATH, key, &json!({"token": minted.access})).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "10009", None).await;
    }
    let resp = app.get(PATH, key).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn introspections_are_counted_by_outcome() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    assert_eq!(introspect_text(&app, &app.api_key, "garbage").await, NOT_OURS);
    assert_eq!(introspect(&app, &minted.access).await["active"], true);
    introspect(&app, &flip_signature(&minted.access)).await;
    let resp = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    for outcome in ["not_ours", "active", "bad_signature"] {
        let series = format!("roomgate_token_introspections_total{{outcome=\"{outcome}\"}} ");
        assert!(text.contains(&series), "{series} in {text}");
    }
}

#[test]
fn the_endpoint_is_documented_as_a_roomgate_extension() {
    let doc = serde_json::to_value(roomgate_server::openapi()).expect("serializes");
    let op = &doc["paths"][PATH]["post"];
    assert_eq!(op["tags"], json!(["Tokens"]));
    assert!(
        op["summary"].as_str().unwrap().ends_with("(roomgate extension)"),
        "{op}"
    );
    let request = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(request, "#/components/schemas/IntrospectRequest");
    let ok = &op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    let envelope = ok
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .expect("a $ref");
    // The envelope inlines its `data`: the Introspection schema itself.
    let data = &doc["components"]["schemas"][envelope]["properties"]["data"];
    let introspection = &doc["components"]["schemas"]["Introspection"];
    assert_eq!(data["properties"], introspection["properties"]);
    assert_eq!(data["required"], json!(["active"]));
    for status in ["400", "401", "413", "415", "422", "429", "503"] {
        assert!(op["responses"].get(status).is_some(), "{status}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["IntrospectRequest"]["required"], json!(["token"]));
    let reasons = schemas["InactiveReason"]["enum"]
        .as_array()
        .expect("an enum")
        .clone();
    let want = [
        "expired",
        "not_yet_valid",
        "revoked",
        "room_deleted",
        "api_key_revoked",
        "unknown_key",
        "bad_signature",
        "malformed",
        "wrong_issuer",
        "wrong_audience",
        "unsupported_algorithm",
    ];
    assert_eq!(reasons, want.map(Value::from).to_vec());
    assert!(schemas["RevocationRef"]["properties"].get("reason").is_some());
}
