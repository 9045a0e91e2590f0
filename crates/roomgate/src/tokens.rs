//! `roomgate tokens`: mint and refresh join tokens through the API; decode and verify them locally. Revoking and
//! introspecting live in `revocations` and `introspect`.
use std::{io::Read, process::ExitCode, time::Duration};

use clap::{Subcommand, ValueEnum};
use roomgate_client::types::{self, CreateAccessTokenRequest, RefreshAccessTokenRequest};
use roomgate_server::domain::{AccessTtl, RefreshTtl};
use roomgate_token::{Claims, Permissions, TokenKind};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    client::ClientArgs,
    output::{self, Exit, Failure},
};

/// A lifetime option's help, with the bounds and default the server applies.
fn ttl_help(what: &str, (min, max, default): (i64, i64, i64)) -> String {
    format!("{what} ({min}..={max} seconds; default {default})")
}

const ACCESS_TTL: (i64, i64, i64) = (AccessTtl::MIN, AccessTtl::MAX, AccessTtl::DEFAULT);
const REFRESH_TTL: (i64, i64, i64) = (RefreshTtl::MIN, RefreshTtl::MAX, RefreshTtl::DEFAULT);

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
        #[arg(long, value_name = "SECS", help = ttl_help("Access token lifetime", ACCESS_TTL))]
        ttl: Option<u32>,
        #[arg(long, value_name = "SECS", help = ttl_help("Refresh token lifetime", REFRESH_TTL))]
        refresh_ttl: Option<u32>,
        #[command(flatten)]
        participant: ParticipantArgs,
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
        #[arg(long, value_name = "SECS", help = ttl_help("New access token lifetime", ACCESS_TTL))]
        ttl: Option<u32>,
    },
    /// Show a token's header and claims and when it expires. Does NOT check the signature.
    Decode {
        /// The token, or `-` to read it from stdin.
        token: Secret,
    },
    /// Check an access token's signature and claims against the server's published keys. Refresh tokens are
    /// MACed with a secret only the server holds, so only the server can check them (`tokens refresh`); those
    /// minted by an older roomgate, signed with Ed25519, are checked with `--kind refresh`.
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
    /// Stop honouring a room's tokens: one, a participant's, or all issued before an instant.
    ///
    /// A roomgate extension. Refreshes of covered refresh tokens fail at once; media servers following the
    /// revocation feed refuse covered access tokens. Tokens minted afterwards work.
    Revoke(crate::revocations::RevokeArgs),
    /// List a room's live revocations, newest first: every page, or only the one --page names.
    Revocations(crate::revocations::ListArgs),
    /// Ask the server whether a token is active now and, if not, why.
    ///
    /// A roomgate extension, for access and refresh tokens: expired, not yet valid (clock skew), revoked (by
    /// which revocation), room deleted, bad signature... Exits 1 when it is not active, with the reason on
    /// stderr. A token that does not decode, or is for another account's room, is only "not active".
    Introspect(crate::introspect::IntrospectArgs),
}

/// Who is joining and what they may do; any of these makes version 2 tokens (`grants_version` 2.0.0).
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Participant (roomgate extension)")]
struct ParticipantArgs {
    /// Who is joining, as the application knows them: the token's `sub` (1..=256 bytes).
    #[arg(long, value_name = "ID")]
    identity: Option<String>,
    /// The participant's display name (1..=256 bytes).
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    /// Opaque application data for the media server, e.g. JSON text (at most 4096 bytes).
    #[arg(long, value_name = "TEXT")]
    metadata: Option<String>,
    /// May not publish any media.
    #[arg(long)]
    no_publish: bool,
    /// May publish only these sources (comma-separated; default all four).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SOURCES")]
    sources: Option<Vec<SourceArg>>,
    /// May not receive the others' media.
    #[arg(long)]
    no_subscribe: bool,
    /// May not send data messages.
    #[arg(long)]
    no_publish_data: bool,
    /// May change its own metadata.
    #[arg(long)]
    can_update_metadata: bool,
    /// Not shown to the other participants.
    #[arg(long)]
    hidden: bool,
    /// A recorder, not a person.
    #[arg(long)]
    recorder: bool,
    /// May moderate this room.
    #[arg(long)]
    admin: bool,
}

/// `--sources`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SourceArg {
    #[value(name = "camera")]
    Camera,
    #[value(name = "microphone")]
    Microphone,
    #[value(name = "screen_share")]
    ScreenShare,
    #[value(name = "screen_share_audio")]
    ScreenShareAudio,
}

impl ParticipantArgs {
    /// The request members these flags set; only the permissions named on the command line are sent, so the
    /// server's defaults apply to the rest.
    fn apply(self, body: &mut CreateAccessTokenRequest) {
        let flag = |set: bool, value: bool| set.then_some(value);
        let permissions = types::Permissions {
            can_publish: flag(self.no_publish, false),
            can_publish_sources: self.sources.map(|list| {
                list.into_iter()
                    .map(|s| match s {
                        SourceArg::Camera => types::Source::Camera,
                        SourceArg::Microphone => types::Source::Microphone,
                        SourceArg::ScreenShare => types::Source::ScreenShare,
                        SourceArg::ScreenShareAudio => types::Source::ScreenShareAudio,
                    })
                    .collect()
            }),
            can_subscribe: flag(self.no_subscribe, false),
            can_publish_data: flag(self.no_publish_data, false),
            can_update_metadata: flag(self.can_update_metadata, true),
            hidden: flag(self.hidden, true),
            recorder: flag(self.recorder, true),
            room_admin: flag(self.admin, true),
        };
        body.identity = self.identity;
        body.name = self.name;
        body.metadata = self.metadata;
        body.permissions = (permissions != types::Permissions::default()).then_some(permissions);
    }
}

/// A token given on the command line; `Debug` does not show it.
#[derive(Clone)]
pub(crate) struct Secret(String);

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
            participant,
        } => {
            let mut body = CreateAccessTokenRequest {
                ttl_secs: ttl,
                refresh_token_ttl_secs: refresh_ttl,
                ..Default::default()
            };
            participant.apply(&mut body);
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
            // Shown only for a payload in roomgate's shape; anything else is still printed above.
            if let Ok(parsed) = serde_json::from_value::<Claims>(claims) {
                print!("{}", output::fields(&participant_fields(&parsed)));
            }
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
        TokensCommand::Revoke(args) => crate::revocations::revoke(&conn, args).await,
        TokensCommand::Revocations(args) => crate::revocations::list(&conn, args).await,
        TokensCommand::Introspect(args) => crate::introspect::run(&conn, args).await,
    }
}

/// `roomgate_token::verify` over the given JWK Set: the same check the `roomgate-verify` crate runs for media
/// servers (it delegates to that function), called directly because the verifier takes access tokens for one
/// room only, while this command also checks tokens for any room and older, Ed25519-signed refresh tokens.
fn verify(token: &str, jwks_json: &[u8], expect: &Expect, now: i64) -> Result<Claims, String> {
    if roomgate_token::decode_unverified(token)
        .is_ok_and(|(header, _)| header["typ"] == roomgate_token::REFRESH_TYP)
    {
        return Err(
            "this is a refresh token: it is MACed with a secret only the server holds, so no published \
            key can check it (`roomgate tokens decode` shows it; `roomgate tokens refresh` exchanges it)"
                .to_owned(),
        );
    }
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
pub(crate) fn secret_arg(Secret(value): Secret) -> Result<String, Failure> {
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

/// Who a token is for and what it allows, for people: identity, name and permissions.
fn participant_fields(claims: &Claims) -> Vec<(&'static str, String)> {
    let Some(who) = claims.participant() else {
        return vec![(
            "permissions",
            format!("unknown (grants_version {})", claims.grants_version),
        )];
    };
    vec![
        ("grants", format!("version {}", claims.grants_version)),
        ("identity", who.identity.unwrap_or_else(|| "-".to_owned())),
        ("name", who.name.unwrap_or_else(|| "-".to_owned())),
        ("permissions", describe_permissions(&who.permissions)),
    ]
}

/// `join, publish camera+microphone, subscribe, publish data, admin, hidden`.
pub(crate) fn describe_permissions(p: &Permissions) -> String {
    let mut allowed = vec!["join".to_owned()];
    if p.can_publish_any() {
        let sources: Vec<&str> = p.can_publish_sources.iter().map(|s| s.as_str()).collect();
        allowed.push(format!("publish {}", sources.join("+")));
    }
    for (set, what) in [
        (p.can_subscribe, "subscribe"),
        (p.can_publish_data, "publish data"),
        (p.can_update_metadata, "update metadata"),
        (p.room_admin, "admin"),
        (p.recorder, "recorder"),
        (p.hidden, "hidden"),
    ] {
        if set {
            allowed.push(what.to_owned());
        }
    }
    allowed.join(", ")
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
    let mut fields = vec![
        ("room", output::or_dash(claims.room_id())),
        (
            "subjects",
            if subjects.is_empty() {
                "-".to_owned()
            } else {
                subjects.join(", ")
            },
        ),
    ];
    fields.extend(participant_fields(claims));
    fields.extend([("jti", claims.jti.clone()), ("expires_at", expiry)]);
    let fields = output::fields(&fields);
    format!("Valid {kind} token.\n{fields}")
}

#[cfg(test)]
mod tests {
    use roomgate_token::{
        KeySet, Participant, SigningKey, Source, TokenSpec, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
    };

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn signed(key: &SigningKey, kind: TokenKind, room: Uuid) -> String {
        signed_for(key, kind, room, None)
    }

    fn signed_for(key: &SigningKey, kind: TokenKind, room: Uuid, who: Option<&Participant>) -> String {
        let spec = TokenSpec {
            kind,
            room_id: room,
            subjects: vec!["telnyx:users:u".into()],
            issuer: DEFAULT_ISSUER,
            audience: DEFAULT_AUDIENCE,
            ttl_secs: 600,
            participant: who,
        };
        key.sign(&Claims::mint(&spec, NOW))
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
        assert!(text.contains("subjects     telnyx:users:u"), "{text}");
        assert!(text.contains("identity     -\n"), "{text}");
        assert!(
            text.contains("permissions  join, publish camera+microphone+screen_share+screen_share_audio, subscribe, publish data\n"),
            "{text}"
        );

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

    #[test]
    fn verified_and_decoded_v2_tokens_show_who_and_what() {
        let key = SigningKey::generate();
        let room = Uuid::from_u128(1);
        let who = Participant {
            identity: Some("alice".into()),
            name: Some("Alice A.".into()),
            metadata: None,
            permissions: Permissions {
                can_publish_sources: [Source::Camera].into_iter().collect(),
                can_publish_data: false,
                room_admin: true,
                hidden: true,
                ..Permissions::V1
            },
        };
        let token = signed_for(&key, TokenKind::Access, room, Some(&who));
        let claims = verify(&token, &jwks(&key), &expect(Kind::Access, Some(room)), NOW).unwrap();
        let text = describe_verified(&claims, NOW);
        for line in [
            "grants       version 2.0.0\n",
            "identity     alice\n",
            "name         Alice A.\n",
            "permissions  join, publish camera, subscribe, admin, hidden\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        let viewer = Permissions {
            can_publish: false,
            ..Permissions::V1
        };
        assert_eq!(describe_permissions(&viewer), "join, subscribe, publish data");
    }

    #[test]
    fn participant_flags_send_only_what_was_named() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            p: ParticipantArgs,
        }
        let body = |args: &[&str]| {
            let mut body = CreateAccessTokenRequest::default();
            Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
                .unwrap()
                .p
                .apply(&mut body);
            serde_json::to_value(&body).unwrap()
        };
        assert_eq!(body(&[]), json!({}));
        assert_eq!(
            body(&[
                "--identity",
                "alice",
                "--name",
                "Alice",
                "--metadata",
                "{\"seat\":3}",
                "--no-publish",
                "--sources",
                "camera,screen_share",
                "--admin",
                "--hidden"
            ]),
            json!({
                "identity": "alice", "name": "Alice", "metadata": "{\"seat\":3}",
                "permissions": {"can_publish": false, "can_publish_sources": ["camera", "screen_share"],
                    "room_admin": true, "hidden": true},
            })
        );
        assert_eq!(
            body(&[
                "--no-subscribe",
                "--no-publish-data",
                "--can-update-metadata",
                "--recorder"
            ]),
            json!({"permissions": {"can_subscribe": false, "can_publish_data": false,
                "can_update_metadata": true, "recorder": true}})
        );
        assert!(Cli::try_parse_from(["x", "--sources", "hologram"]).is_err());
    }
}
