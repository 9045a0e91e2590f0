//! `roomgate tokens revoke`, `tokens revocations` and `tokens introspect` against a live `roomgate serve`.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{code, text, Cli, BIN};

impl Cli {
    fn room(&self) -> String {
        self.json(&["rooms", "create"])["id"].as_str().unwrap().to_owned()
    }

    /// `tokens create ROOM --identity WHO`: the response.
    fn token(&self, room: &str, who: &str) -> Value {
        self.json(&["tokens", "create", room, "--identity", who])
    }

    fn jti(&self, token: &str) -> String {
        let decoded = self.json(&["tokens", "decode", token]);
        decoded["claims"]["jti"].as_str().unwrap().to_owned()
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[tokio::test]
async fn revoke_with_each_selector_then_list_them() {
    let cli = Cli::start().await;
    let room = cli.room();
    let alice = cli.token(&room, "alice");
    let bob = cli.token(&room, "bob");
    let alice_refresh = str_of(&alice["refresh_token"]);
    let jti = cli.jti(alice_refresh);

    let shown = cli.ok(&["tokens", "revoke", &room, "--jti", &jti, "--reason", "leaked"]);
    assert!(
        shown.starts_with("Revoked the token with this jti.\nid "),
        "{shown}"
    );
    assert!(shown.contains(&format!("room_id     {room}\n")), "{shown}");
    assert!(shown.contains(&format!("jti         {jti}\n")), "{shown}");
    assert!(shown.contains("reason      leaked\n"), "{shown}");
    // The revoked refresh token no longer refreshes: the uniform 403.
    let refused = cli.run(&["tokens", "refresh", &room, "--refresh-token", alice_refresh]);
    assert_eq!(code(&refused), 3, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("HTTP 403"),
        "{}",
        text(&refused.stderr)
    );
    // Bob's still does.
    cli.ok(&[
        "tokens",
        "refresh",
        &room,
        "--refresh-token",
        str_of(&bob["refresh_token"]),
    ]);

    let by_identity = cli.json(&[
        "tokens",
        "revoke",
        &room,
        "--identity",
        "bob",
        "--reason",
        "kicked",
    ]);
    assert_eq!(
        (&by_identity["identity"], &by_identity["reason"]),
        (&Value::from("bob"), &Value::from("kicked"))
    );
    assert_eq!(by_identity["record_type"], "revocation");
    let refused = cli.run(&[
        "tokens",
        "refresh",
        &room,
        "--refresh-token",
        str_of(&bob["refresh_token"]),
    ]);
    assert_eq!(code(&refused), 3);

    let now = cli.json(&["tokens", "revoke", &room, "--issued-before", "now"]);
    assert!(now["issued_before"].as_str().unwrap().ends_with('Z'), "{now}");
    assert_eq!(now["reason"], Value::Null);
    // A time in the recent past (a cut-off older than a day has expired at once: no token it covers is valid).
    let earlier = str_of(&by_identity["created_at"]);
    let at = cli.json(&["tokens", "revoke", &room, "--issued-before", earlier]);
    assert_eq!(at["issued_before"], earlier);

    let table = cli.ok(&["tokens", "revocations", &room]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("ID  "), "{table}");
    assert!(lines[0].contains("REVOKES"), "{table}");
    for wanted in [
        format!("jti={jti}"),
        "identity=bob".to_owned(),
        format!("issued_before={earlier}"),
    ] {
        assert!(lines.iter().any(|l| l.contains(&wanted)), "{wanted} in {table}");
    }
    assert!(lines.iter().any(|l| l.contains("  leaked  ")), "{table}");

    let listed = cli.json(&["tokens", "revocations", &room, "--page-size", "3"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| str_of(&r["id"]))
        .collect();
    assert_eq!(ids.len(), 4, "every page: {listed}");
    for made in [&by_identity, &now, &at] {
        assert!(ids.contains(&str_of(&made["id"])), "{made} in {listed}");
    }
    let page = cli.json(&["tokens", "revocations", &room, "--page", "2", "--page-size", "3"]);
    assert_eq!(page.as_array().unwrap().len(), 1, "only page 2: {page}");

    let empty = cli.room();
    assert_eq!(cli.ok(&["tokens", "revocations", &empty]), "No revocations.\n");
}

#[tokio::test]
async fn revoke_needs_exactly_one_selector_and_a_valid_one() {
    let cli = Cli::start().await;
    let room = cli.room();
    let jti = "7b61621f-62e0-4aad-ab11-9fd19e272e73";

    let both = cli.run(&["tokens", "revoke", &room, "--jti", jti, "--identity", "alice"]);
    assert_eq!(code(&both), 2, "{}", text(&both.stderr));
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
    let none = cli.run(&["tokens", "revoke", &room, "--reason", "why"]);
    assert_eq!(code(&none), 2, "{}", text(&none.stderr));
    assert!(text(&none.stderr).contains("required"), "{}", text(&none.stderr));
    for (flag, value) in [("--jti", "not-a-uuid"), ("--issued-before", "yesterday")] {
        let bad = cli.run(&["tokens", "revoke", &room, flag, value]);
        assert_eq!(code(&bad), 2, "{flag} {value}: {}", text(&bad.stderr));
    }

    // What only the server can judge comes back as its refusal, the member named.
    let future = cli.run(&[
        "tokens",
        "revoke",
        &room,
        "--issued-before",
        "2999-01-01T00:00:00Z",
    ]);
    assert_eq!(code(&future), 3, "{}", text(&future.stderr));
    let err = text(&future.stderr);
    assert!(
        err.starts_with("error: Value outside of range: issued_before must not be in the future"),
        "{err}"
    );
    assert!(
        err.ends_with("(HTTP 422, code 10033, at /issued_before)\n"),
        "{err}"
    );
    let long = "x".repeat(257);
    let reason = cli.run(&["tokens", "revoke", &room, "--identity", "a", "--reason", &long]);
    assert_eq!(code(&reason), 3);
    assert!(
        text(&reason.stderr).contains("at /reason"),
        "{}",
        text(&reason.stderr)
    );

    let unknown = "00000000-0000-4000-8000-000000000000";
    for args in [
        &["tokens", "revoke", unknown, "--jti", jti][..],
        &["tokens", "revocations", unknown][..],
    ] {
        let gone = cli.run(args);
        assert_eq!(code(&gone), 3, "{args:?}");
        assert_eq!(
            text(&gone.stderr),
            "error: Resource not found: Room not found. (HTTP 404, code 10005)\n"
        );
    }
    assert_eq!(cli.ok(&["tokens", "revocations", &room]), "No revocations.\n");
}

#[test]
fn help_documents_the_new_commands() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).env_clear().output().unwrap();
        assert!(out.status.success());
        text(&out.stdout)
    };
    let tokens = help(&["tokens", "--help"]);
    for command in ["revoke", "revocations", "introspect"] {
        assert!(tokens.contains(&format!("  {command} ")), "{command} in {tokens}");
    }
    let revoke = help(&["tokens", "revoke", "--help"]);
    for flag in [
        "--jti <UUID>",
        "--identity <ID>",
        "--issued-before <RFC3339|now>",
        "--reason <TEXT>",
    ] {
        assert!(revoke.contains(flag), "{flag} in {revoke}");
    }
    assert!(help(&["tokens", "introspect", "--help"])
        .contains("Exits 1 when it is not active, with the reason on stderr"));
}

#[tokio::test]
async fn introspect_reads_or_prints_json_and_exits_1_when_inactive() {
    let cli = Cli::start().await;
    let room = cli.room();
    let alice = cli.token(&room, "alice");
    let access = str_of(&alice["access_token"]);
    let jti = cli.jti(access);

    let shown = cli.ok(&["tokens", "introspect", access]);
    assert!(shown.starts_with("Active access token.\n"), "{shown}");
    for line in [
        format!("room         {room}\n"),
        "identity     alice\n".to_owned(),
        format!("jti          {jti}\n"),
        "permissions  join, publish camera+microphone+screen_share+screen_share_audio, subscribe, publish data\n"
            .to_owned(),
    ] {
        assert!(shown.contains(&line), "{line:?} in {shown}");
    }
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("expires_at ") && l.ends_with(')')),
        "{shown}"
    );
    let raw = cli.json(&["tokens", "introspect", access]);
    assert_eq!(raw["active"], true);
    assert_eq!(
        (&raw["typ"], &raw["jti"]),
        (&Value::from("access"), &Value::from(jti.as_str()))
    );
    assert!(raw["expires_in"].as_i64().unwrap() > 0, "{raw}");
    // Read from stdin with `-`, so the token stays out of the process list.
    let url = format!("{}/v2", cli.served.base);
    let mut child = Command::new(BIN)
        .args(["tokens", "introspect", "-", "--json"])
        .env_clear()
        .envs([("ROOMGATE_URL", url.as_str()), ("ROOMGATE_API_KEY", &cli.key)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), access.as_bytes()).unwrap();
    let piped: Value = serde_json::from_slice(&child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(piped, raw);

    let revocation = cli.json(&[
        "tokens",
        "revoke",
        &room,
        "--identity",
        "alice",
        "--reason",
        "kicked",
    ]);
    let refused = cli.run(&["tokens", "introspect", access]);
    assert_eq!(code(&refused), 1, "{}", text(&refused.stderr));
    let out = text(&refused.stdout);
    assert!(out.starts_with("Inactive access token: revoked.\n"), "{out}");
    let by = format!("revoked_by   {} (kicked)\n", str_of(&revocation["id"]));
    assert!(out.contains(&by), "{by:?} in {out}");
    assert!(
        text(&refused.stderr).starts_with("error: token not active: revoked"),
        "{}",
        text(&refused.stderr)
    );
    let raw = cli.run(&["tokens", "introspect", access, "--json"]);
    assert_eq!(code(&raw), 1);
    let raw: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        (&raw["active"], &raw["reason"]),
        (&Value::from(false), &Value::from("revoked"))
    );

    let garbage = cli.run(&["tokens", "introspect", "not.a.token"]);
    assert_eq!(code(&garbage), 1);
    assert_eq!(text(&garbage.stdout), "Inactive token.\n");
}
