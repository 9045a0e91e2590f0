//! `roomgate tokens`: mint and refresh join tokens through the API; decode and verify them locally.
use std::{io::Read, process::ExitCode, time::Duration};

use clap::{Subcommand, ValueEnum};
use roomgate_client::types::{CreateAccessTokenRequest, RefreshAccessTokenRequest};
use roomgate_token::{Claims, TokenKind};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    client::ClientArgs,
    output::{self, Exit, Failure},
};

/// `roomgate tokens ...`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = output::EXIT_CODES_HELP)]
pub struct TokensArgs {
    #[command(flatten)]
    conn: ClientArgs,
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Mint an access token and a refresh token for a room.
    Create {
        /// The room's id.
        room_id: String,
        /// Access token lifetime (10..=3600 seconds; default 600).
        #[arg(long, value_name = "SECS")]
        ttl: Option<u32>,
        /// Refresh token lifetime (60..=86400 seconds; default 3600).
        #[arg(long, value_name = "SECS")]
        refresh_ttl: Option<u32>,
    },
    /// Exchange a refresh token for a new access token; needs no API key.
    Refresh {
        /// The room's id.
        room_id: String,
        /// The refresh token, or `-` to read it from stdin.
        #[arg(
            long,
            value_name = "TOKEN",
            env = "ROOMGATE_REFRESH_TOKEN",
            hide_env_values = true
        )]
        refresh_token: Secret,
        /// New access token lifetime (10..=3600 seconds; default 600).
        #[arg(long, value_name = "SECS")]
        ttl: Option<u32>,
    },
    /// Show a token's header and claims and when it expires. Does NOT check the signature.
    Decode {
        /// The token, or `-` to read it from stdin.
        token: Secret,
    },
    /// Check a token's signature and claims against the server's published keys.
    Verify {
        /// The token, or `-` to read it from stdin.
        token: Secret,
        /// The JWK Set: a URL (e.g. http://127.0.0.1:8080/.well-known/jwks.json) or a file.
        #[arg(long, value_name = "URL|FILE")]
        jwks: String,
        /// Require the token to grant joining this room.
        #[arg(long, value_name = "ROOM_ID")]
        room: Option<Uuid>,
        /// Which kind of token to expect.
        #[arg(long, value_enum, default_value_t = Kind::Access)]
        kind: Kind,
        /// Required `iss`.
        #[arg(long, default_value = roomgate_token::DEFAULT_ISSUER)]
        issuer: String,
        /// Required `aud`.
        #[arg(long, default_value = roomgate_token::DEFAULT_AUDIENCE)]
        audience: String,
        /// Clock skew tolerated on exp/nbf/iat, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        leeway: i64,
    },
}

/// A token given on the command line; `Debug` does not show it.
#[derive(Clone)]
struct Secret(String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `--kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Access,
    Refresh,
}

/// What a verified token must satisfy.
#[derive(Clone, Debug)]
struct Expect {
    kind: Kind,
    room: Option<Uuid>,
    issuer: String,
    audience: String,
    leeway: i64,
}

/// Runs a `tokens` subcommand; the exit code follows [`output::EXIT_CODES_HELP`].
pub async fn run(args: TokensArgs) -> ExitCode {
    output::finish(execute(args).await)
}

async fn execute(TokensArgs { conn, command }: TokensArgs) -> Result<(), Failure> {
    match command {
        TokensCommand::Create {
            room_id,
            ttl,
            refresh_ttl,
        } => {
            let body = CreateAccessTokenRequest {
                ttl_secs: ttl,
                refresh_token_ttl_secs: refresh_ttl,
            };
            let t = conn
                .client()?
                .rooms_access_tokens()
                .create(&room_id, &body)
                .await?;
            if conn.json {
                return output::print_json(&t);
            }
            print!(
                "{}",
                output::fields(&[
                    ("access_token", t.access_token),
                    ("access_token_expires_at", t.access_token_expires_at),
                    ("refresh_token", t.refresh_token),
                    ("refresh_token_expires_at", t.refresh_token_expires_at),
                ])
            );
            Ok(())
        }
        TokensCommand::Refresh {
            room_id,
            refresh_token,
            ttl,
        } => {
            let body = RefreshAccessTokenRequest {
                refresh_token: secret_arg(refresh_token)?,
                ttl_secs: ttl,
            };
            let t = conn
                .client()?
                .rooms_access_tokens()
                .refresh(&room_id, &body)
                .await?;
            if conn.json {
                return output::print_json(&t);
            }
            print!(
                "{}",
                output::fields(&[
                    ("access_token", t.access_token),
                    ("access_token_expires_at", t.access_token_expires_at),
                ])
            );
            Ok(())
        }
        TokensCommand::Decode { token } => {
            let token = secret_arg(token)?;
            let (header, claims) = roomgate_token::decode_unverified(&token)
                .map_err(|e| Failure::other(format!("not a token: {e}")))?;
            if conn.json {
                return output::print_json(&json!({ "header": header, "claims": claims }));
            }
            print!("{}", describe_decoded(&header, &claims, crate::now_secs())?);
            eprintln!("note: the signature was not checked; `roomgate tokens verify` checks it.");
            Ok(())
        }
        TokensCommand::Verify {
            token,
            jwks,
            room,
            kind,
            issuer,
            audience,
            leeway,
        } => {
            let token = secret_arg(token)?;
            let jwks = load_jwks(&jwks).await?;
            let expect = Expect {
                kind,
                room,
                issuer,
                audience,
                leeway,
            };
            let claims = verify(&token, &jwks, &expect, crate::now_secs()).map_err(Failure::other)?;
            if conn.json {
                return output::print_json(&claims);
            }
            print!("{}", describe_verified(&claims, crate::now_secs()));
            Ok(())
        }
    }
}

/// `roomgate_token::verify` over the given JWK Set: the same check the `roomgate-verify` crate runs for media
/// servers (it delegates to that function), called directly because the verifier takes access tokens for one
/// room only, while this command also checks refresh tokens and tokens for any room.
fn verify(token: &str, jwks_json: &[u8], expect: &Expect, now: i64) -> Result<Claims, String> {
    let jwks: roomgate_token::Jwks =
        serde_json::from_slice(jwks_json).map_err(|e| format!("the JWK Set is not valid: {e}"))?;
    let keys =
        roomgate_token::KeySet::from_jwks(&jwks).map_err(|e| format!("the JWK Set is not usable: {e}"))?;
    let kind = match expect.kind {
        Kind::Access => TokenKind::Access,
        Kind::Refresh => TokenKind::Refresh,
    };
    let mut validation = roomgate_token::Validation::new(kind)
        .issuer(&expect.issuer)
        .audience(&expect.audience)
        .leeway(expect.leeway);
    if let Some(room) = expect.room {
        validation = validation.room(room);
    }
    roomgate_token::verify(token, &keys, &validation, now).map_err(|e| format!("token rejected: {e}"))
}

/// The bytes of a JWK Set from an http(s) URL or a file.
async fn load_jwks(source: &str) -> Result<Vec<u8>, Failure> {
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return std::fs::read(source).map_err(|e| Failure::other(format!("reading {source}: {e}")));
    }
    let unavailable = |e: reqwest::Error| Failure {
        exit: Exit::Unavailable,
        message: format!("fetching {source}: {e}"),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(unavailable)?;
    let response = http.get(source).send().await.map_err(unavailable)?;
    let response = response.error_for_status().map_err(|e| Failure {
        exit: if e.status().is_some_and(|s| s.is_client_error()) {
            Exit::Rejected
        } else {
            Exit::Unavailable
        },
        message: format!("fetching {source}: {e}"),
    })?;
    Ok(response.bytes().await.map_err(unavailable)?.to_vec())
}

/// The argument itself, or stdin's first line for `-` (keeps tokens out of the process list).
fn secret_arg(Secret(value): Secret) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value.trim().to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::other(format!("reading stdin: {e}")))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Header, claims and the token's times, for people.
fn describe_decoded(header: &Value, claims: &Value, now: i64) -> Result<String, Failure> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).map_err(|e| Failure::other(e.to_string()));
    let mut out = format!("Header:\n{}\nClaims:\n{}\n", pretty(header)?, pretty(claims)?);
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let mut times = Vec::new();
    if let Some(iat) = time("iat") {
        times.push(("issued_at", output::absolute_time(iat)));
    }
    if let Some(nbf) = time("nbf") {
        times.push(("not_before", output::absolute_time(nbf)));
    }
    match time("exp") {
        Some(exp) => times.push((
            "expires_at",
            format!(
                "{} ({})",
                output::absolute_time(exp),
                output::relative_expiry(exp, now)
            ),
        )),
        None => times.push(("expires_at", "never (no exp claim)".to_owned())),
    }
    out.push_str(&output::fields(&times));
    Ok(out)
}

/// What a verified token grants, for people.
fn describe_verified(claims: &Claims, now: i64) -> String {
    let kind = match claims.typ {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    };
    let subjects: Vec<&str> = claims
        .grants
        .iter()
        .flat_map(|g| &g.subjects)
        .map(String::as_str)
        .collect();
    let expiry = format!(
        "{} ({})",
        output::absolute_time(claims.exp),
        output::relative_expiry(claims.exp, now)
    );
    let fields = output::fields(&[
        ("room", output::or_dash(claims.room_id())),
        (
            "subjects",
            if subjects.is_empty() {
                "-".to_owned()
            } else {
                subjects.join(", ")
            },
        ),
        ("jti", claims.jti.clone()),
        ("expires_at", expiry),
    ]);
    format!("Valid {kind} token.\n{fields}")
}

#[cfg(test)]
mod tests {
    use roomgate_token::{KeySet, SigningKey, DEFAULT_AUDIENCE, DEFAULT_ISSUER};

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn signed(key: &SigningKey, kind: TokenKind, room: Uuid) -> String {
        let claims = Claims::for_room(
            kind,
            room,
            vec!["telnyx:users:u".into()],
            DEFAULT_ISSUER,
            DEFAULT_AUDIENCE,
            NOW,
            600,
        );
        key.sign(&claims)
    }

    fn jwks(key: &SigningKey) -> Vec<u8> {
        serde_json::to_vec(&KeySet::new([key.verification_key()]).to_jwks()).unwrap()
    }

    fn expect(kind: Kind, room: Option<Uuid>) -> Expect {
        Expect {
            kind,
            room,
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
            leeway: 0,
        }
    }

    #[test]
    fn decoded_tokens_show_header_claims_and_expiry() {
        let token = signed(&SigningKey::generate(), TokenKind::Access, Uuid::from_u128(1));
        let (header, claims) = roomgate_token::decode_unverified(&token).unwrap();
        let text = describe_decoded(&header, &claims, NOW + 2).unwrap();
        assert!(text.starts_with("Header:\n{\n  \"alg\""), "{text}");
        assert!(text.contains("\"typ\": \"access\""), "{text}");
        assert!(
            text.contains("expires_at  2023-11-14T22:23:20Z (in 9m 58s)"),
            "{text}"
        );
        assert!(text.contains("issued_at   2023-11-14T22:13:20Z"), "{text}");
        let later = describe_decoded(&header, &claims, NOW + 780).unwrap();
        assert!(later.contains("(expired 3m ago)"), "{later}");
    }

    #[test]
    fn verify_checks_signature_kind_room_and_time() {
        let key = SigningKey::generate();
        let room = Uuid::from_u128(1);
        let token = signed(&key, TokenKind::Access, room);
        let claims = verify(&token, &jwks(&key), &expect(Kind::Access, Some(room)), NOW).unwrap();
        assert_eq!(claims.room_id(), Some(room));
        let text = describe_verified(&claims, NOW);
        assert!(text.starts_with("Valid access token.\n"), "{text}");
        assert!(text.contains("subjects    telnyx:users:u"), "{text}");

        let refused = |jwks: &[u8], expect: Expect, now: i64| verify(&token, jwks, &expect, now).unwrap_err();
        let other_room = expect(Kind::Access, Some(Uuid::from_u128(2)));
        assert_eq!(
            refused(&jwks(&key), other_room, NOW),
            "token rejected: wrong room"
        );
        assert_eq!(
            refused(&jwks(&key), expect(Kind::Refresh, None), NOW),
            "token rejected: wrong token kind"
        );
        assert_eq!(
            refused(&jwks(&key), expect(Kind::Access, None), NOW + 600),
            "token rejected: token expired"
        );
        let stranger = jwks(&SigningKey::generate());
        assert!(refused(&stranger, expect(Kind::Access, None), NOW).starts_with("token rejected"));
        assert!(refused(b"{}", expect(Kind::Access, None), NOW).starts_with("the JWK Set"));
        assert!(refused(b"nope", expect(Kind::Access, None), NOW).starts_with("the JWK Set is not valid"));
    }
}
