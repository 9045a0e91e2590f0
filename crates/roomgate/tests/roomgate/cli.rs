//! The built `roomgate` binary against a live `roomgate serve` child process.
use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
};

use serde_json::Value;

use crate::common::{code, run_with_env, text, Cli};

/// `roomgate <args>` with a clean environment.
fn roomgate(args: &[&str]) -> std::process::Output {
    run_with_env(args, &[])
}

/// A plain HTTP/1.0 GET of `path` on `server`, to fetch the JWKS without an HTTP client.
fn get(server: &Cli, path: &str) -> String {
    let addr = server.served.base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    body.to_owned()
}

#[tokio::test]
async fn rooms_lifecycle() {
    let server = Cli::start().await;
    let room = server.json(&[
        "rooms",
        "create",
        "--unique-name",
        "standup",
        "--max-participants",
        "5",
    ]);
    let id = room["id"].as_str().unwrap().to_owned();
    assert_eq!(room["max_participants"], 5);
    assert_eq!(room["record_type"], "room");

    let shown = server.ok(&["rooms", "get", &id]);
    assert!(
        shown.contains(&format!("id                          {id}\n")),
        "{shown}"
    );
    assert!(shown.contains("unique_name                 standup\n"), "{shown}");
    assert!(shown.contains("webhook_event_url           -\n"), "{shown}");
    assert_eq!(server.json(&["rooms", "get", &id]), room);

    let updated = server.json(&[
        "rooms",
        "update",
        &id,
        "--max-participants",
        "7",
        "--enable-recording",
        "true",
    ]);
    assert_eq!(
        (
            updated["max_participants"].as_u64(),
            updated["enable_recording"].as_bool()
        ),
        (Some(7), Some(true))
    );
    assert_eq!(updated["unique_name"], "standup");

    let cleared = server.json(&[
        "rooms",
        "update",
        &id,
        "--clear",
        "unique_name",
        "--webhook-timeout-secs",
        "4",
    ]);
    assert_eq!(
        (&cleared["unique_name"], &cleared["webhook_timeout_secs"]),
        (&Value::Null, &Value::from(4))
    );
    assert_eq!(cleared["max_participants"], 7, "absent fields stay");
    let contradiction = server.run(&[
        "rooms",
        "update",
        &id,
        "--clear",
        "unique_name",
        "--unique-name",
        "x",
    ]);
    assert_eq!(code(&contradiction), 1);
    assert!(
        text(&contradiction.stderr).contains("contradict"),
        "{}",
        text(&contradiction.stderr)
    );

    assert_eq!(
        server.ok(&["rooms", "delete", &id]),
        format!("Deleted room {id}.\n")
    );
    let gone = server.run(&["rooms", "get", &id]);
    assert_eq!(code(&gone), 3);
    let err = text(&gone.stderr);
    assert_eq!(
        err,
        "error: Resource not found: Room not found. (HTTP 404, code 10005)\n"
    );
    assert!(gone.stdout.is_empty());
}

#[tokio::test]
async fn rooms_list_walks_every_page_into_one_aligned_table() {
    let server = Cli::start().await;
    assert_eq!(server.ok(&["rooms", "list"]), "No rooms.\n");
    let mut ids = Vec::new();
    for name in ["a", "bb", "ccc", "dddd", "eeeee"] {
        ids.push(
            server.json(&["rooms", "create", "--unique-name", name])["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.reverse();

    let table = server.ok(&["rooms", "list", "--page-size", "2"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[0].starts_with("ID    "), "{table}");
    let name_column = lines[0].find("UNIQUE NAME").unwrap();
    let created_column = lines[0].find("CREATED").unwrap();
    for (line, id) in lines[1..].iter().zip(&ids) {
        assert!(line.starts_with(id.as_str()), "newest first: {table}");
        assert_ne!(&line[name_column..name_column + 1], " ", "{table}");
        assert_eq!(&line[created_column - 2..created_column], "  ", "{table}");
    }

    let all = server.json(&["rooms", "list", "--page-size", "2"]);
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    let last_page = server.json(&["rooms", "list", "--page-size", "2", "--page", "3"]);
    assert_eq!(last_page.as_array().unwrap().len(), 1);
    let named = server.json(&["rooms", "list", "--unique-name", "ccc"]);
    assert_eq!(named[0]["unique_name"], "ccc");
    assert_eq!(named.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_create_refresh_decode_and_verify() {
    let server = Cli::start().await;
    let room = server.json(&["rooms", "create"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = server.json(&["tokens", "create", &room, "--ttl", "120", "--refresh-ttl", "600"]);
    let access = created["access_token"].as_str().unwrap().to_owned();
    let refresh = created["refresh_token"].as_str().unwrap().to_owned();
    assert!(created["access_token_expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // Refreshing needs no API key.
    let refreshed = run_with_env(
        &[
            "tokens",
            "refresh",
            &room,
            "--refresh-token",
            &refresh,
            "--ttl",
            "30",
            "--json",
        ],
        &[("ROOMGATE_URL", &server.url())],
    );
    assert!(refreshed.status.success(), "{}", text(&refreshed.stderr));
    let refreshed: Value = serde_json::from_slice(&refreshed.stdout).unwrap();
    assert!(refreshed["access_token"].as_str().unwrap().starts_with("eyJ"));

    let decoded = server.ok(&["tokens", "decode", &access]);
    assert!(decoded.starts_with("Header:\n{\n"), "{decoded}");
    assert!(decoded.contains("\"typ\": \"access\""), "{decoded}");
    let expiry = decoded.lines().find(|l| l.starts_with("expires_at")).unwrap();
    assert!(
        expiry.ends_with("(in 2m)") || expiry.ends_with("(in 1m 59s)"),
        "{expiry}"
    );
    let as_json = server.json(&["tokens", "decode", &refresh]);
    assert_eq!(as_json["claims"]["typ"], "refresh");
    assert!(as_json["header"]["alg"].is_string());

    let jwks_url = format!("{}/.well-known/jwks.json", server.served.base);
    let verified = server.ok(&["tokens", "verify", &access, "--jwks", &jwks_url, "--room", &room]);
    assert!(verified.starts_with("Valid access token.\n"), "{verified}");
    assert!(verified.contains(&format!("room         {room}\n")), "{verified}");
    assert!(verified.contains("grants       version 1.0.0\n"), "{verified}");

    let jwks_file = server.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, get(&server, "/.well-known/jwks.json")).unwrap();
    let file = jwks_file.to_str().unwrap();
    // A refresh token is MACed with a secret only the server holds: no published key checks it, whatever kind
    // is asked for, and the command says why instead of calling it forged.
    for kind in ["access", "refresh"] {
        let refused = server.run(&["tokens", "verify", &refresh, "--jwks", file, "--kind", kind]);
        assert_eq!(code(&refused), 1);
        assert!(
            text(&refused.stderr).starts_with(
                "error: this is a refresh token: it is MACed with a secret only the server holds"
            ),
            "{}",
            text(&refused.stderr)
        );
    }
    assert_eq!(as_json["header"]["alg"], "HS256");
    assert_eq!(as_json["header"]["typ"], "roomgate-refresh+jwt");

    let other_room = "00000000-0000-4000-8000-000000000000";
    let wrong = server.run(&["tokens", "verify", &access, "--jwks", file, "--room", other_room]);
    assert_eq!(code(&wrong), 1);
    assert_eq!(text(&wrong.stderr), "error: token rejected: wrong room\n");
    let wrong_kind = server.run(&["tokens", "verify", &access, "--jwks", file, "--kind", "refresh"]);
    assert_eq!(
        text(&wrong_kind.stderr),
        "error: token rejected: wrong token kind\n"
    );
}

#[tokio::test]
async fn tokens_create_with_a_participant_and_show_it() {
    let server = Cli::start().await;
    let room = server.json(&["rooms", "create"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = server.json(&[
        "tokens",
        "create",
        &room,
        "--identity",
        "alice",
        "--name",
        "Alice",
        "--metadata",
        r#"{"seat":3}"#,
        "--sources",
        "camera,microphone",
        "--no-publish-data",
        "--admin",
        "--hidden",
    ]);
    let access = created["access_token"].as_str().unwrap().to_owned();
    let refresh = created["refresh_token"].as_str().unwrap().to_owned();
    let decoded = server.json(&["tokens", "decode", &access])["claims"].clone();
    assert_eq!(decoded["sub"], "alice");
    assert_eq!(decoded["name"], "Alice");
    assert_eq!(decoded["metadata"], r#"{"seat":3}"#);
    assert_eq!(decoded["hidden"], true);
    assert_eq!(
        decoded["grants"][0]["actions"],
        serde_json::json!([
            "join",
            "publish:camera",
            "publish:microphone",
            "subscribe",
            "admin"
        ])
    );
    let readable = server.ok(&["tokens", "decode", &refresh]);
    assert!(readable.contains("identity     alice\n"), "{readable}");
    assert!(readable.contains("name         Alice\n"), "{readable}");
    let jwks_url = format!("{}/.well-known/jwks.json", server.served.base);
    let verified = server.ok(&["tokens", "verify", &access, "--jwks", &jwks_url, "--room", &room]);
    for line in [
        "grants       version 2.0.0\n",
        "identity     alice\n",
        "permissions  join, publish camera+microphone, subscribe, admin, hidden\n",
    ] {
        assert!(verified.contains(line), "{line:?} in {verified}");
    }

    let viewer = server.json(&[
        "tokens",
        "create",
        &room,
        "--no-publish",
        "--no-subscribe",
        "--recorder",
    ]);
    let claims =
        server.json(&["tokens", "decode", viewer["access_token"].as_str().unwrap()])["claims"].clone();
    assert_eq!(claims["sub"], "null");
    assert_eq!(
        claims["grants"][0]["actions"],
        serde_json::json!(["join", "publish_data", "record"])
    );

    // The server's refusal comes back as the CLI's: a rejected request, the field named.
    let bad = server.run(&["tokens", "create", &room, "--identity", &"x".repeat(257)]);
    assert_eq!(code(&bad), 3, "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("identity"), "{}", text(&bad.stderr));
    let unknown = server.run(&["tokens", "create", &room, "--sources", "hologram"]);
    assert_eq!(code(&unknown), 2, "{}", text(&unknown.stderr));
}

#[tokio::test]
async fn failures_explain_themselves_and_pick_the_exit_code() {
    let server = Cli::start().await;
    let url = server.url();

    let no_key = run_with_env(&["rooms", "list"], &[("ROOMGATE_URL", &url)]);
    assert_eq!(code(&no_key), 1);
    assert!(
        text(&no_key.stderr).contains("no API key"),
        "{}",
        text(&no_key.stderr)
    );

    let bad_key = roomgate(&["rooms", "list", "--url", &url, "--api-key", "rg_wrong"]);
    assert_eq!(code(&bad_key), 3);
    assert!(
        text(&bad_key.stderr).starts_with("error: Authentication failed"),
        "{}",
        text(&bad_key.stderr)
    );

    let invalid = server.run(&["rooms", "create", "--max-participants", "1"]);
    assert_eq!(code(&invalid), 3);
    assert_eq!(
        text(&invalid.stderr),
        "error: Value outside of range: max_participants must be between 2 and 50. \
         (HTTP 422, code 10033, at /max_participants)\n"
    );

    let forbidden = server.run(&[
        "tokens",
        "refresh",
        "00000000-0000-4000-8000-000000000000",
        "--refresh-token",
        "x",
    ]);
    assert_eq!(code(&forbidden), 3);
    assert!(
        text(&forbidden.stderr).contains("HTTP 403"),
        "{}",
        text(&forbidden.stderr)
    );

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = roomgate(&[
        "rooms",
        "list",
        "--url",
        &format!("http://{closed}/v2"),
        "--api-key",
        "k",
    ]);
    assert_eq!(code(&unreachable), 4);
    assert!(
        text(&unreachable.stderr).starts_with("error: request failed"),
        "{}",
        text(&unreachable.stderr)
    );

    assert_eq!(code(&roomgate(&["rooms", "frobnicate"])), 2);
    let garbage = roomgate(&["tokens", "decode", "not.a.token"]);
    assert_eq!(code(&garbage), 1);
    assert!(
        text(&garbage.stderr).starts_with("error: not a token"),
        "{}",
        text(&garbage.stderr)
    );
}

#[test]
fn help_documents_the_exit_codes() {
    for command in ["rooms", "tokens"] {
        let help = roomgate(&[command, "--help"]);
        assert!(help.status.success());
        let help = text(&help.stdout);
        assert!(help.contains("Exit codes:\n  0  success\n"), "{help}");
        assert!(help.contains("3  the server refused the request"), "{help}");
    }
}
