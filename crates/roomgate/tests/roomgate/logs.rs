//! `roomgate serve`'s logs, read from the real binary's output: one line per request, no secrets; a stdout that
//! stalls stalls no request, loses no line at shutdown, and what it cannot take is counted.
use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use futures::StreamExt;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_roomgate");

/// A database in a temp dir with one API key, created as an operator would.
struct Setup {
    _dir: tempfile::TempDir,
    database: String,
    api_key: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
    let out = Command::new(BIN)
        .args(["api-keys", "create", "--database", &database])
        .output()
        .expect("run api-keys create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let api_key = stdout.lines().last().expect("the key's line").trim().to_owned();
    Setup {
        _dir: dir,
        database,
        api_key,
    }
}

/// A running `roomgate serve`, killed if the test fails; its stdout arrives line by line.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: thread::JoinHandle<String>,
    /// Dropped to go on reading a stalled stdout.
    resume: Option<mpsc::Sender<()>>,
}

/// Whether stdout is read all along, or stops being read after the startup lines.
#[derive(Clone, Copy, PartialEq)]
enum Reader {
    Steady,
    /// After the `roomgate listening` line, nothing more is read until [`Server::resume`] or [`Server::stop`]:
    /// stdout is a pipe that fills, as it does when the log collector at its other end stalls.
    Stalls,
}

impl Server {
    /// `roomgate serve --database DATABASE ARGS...`, with `RUST_LOG` set to `rust_log` or unset.
    fn start(database: &str, args: &[&str], rust_log: Option<&str>) -> Self {
        Self::start_with(database, args, rust_log, Reader::Steady)
    }

    fn start_with(database: &str, args: &[&str], rust_log: Option<&str>, reader: Reader) -> Self {
        let mut command = Command::new(BIN);
        command.args(["serve", "--database", database]).args(args);
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command
            .env_remove("ROOMGATE_LOG_FORMAT")
            .env_remove("ROOMGATE_LOG_LEVEL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn roomgate serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let (resume, stalled) = mpsc::channel::<()>();
        thread::spawn(move || {
            let mut stalls = reader == Reader::Stalls;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let started = line.contains("roomgate listening");
                let _ = tx.send(line);
                if stalls && started {
                    // Until the sender is dropped.
                    let _ = stalled.recv();
                    stalls = false;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            stderr,
            resume: Some(resume),
        }
    }

    /// Reads a stalled stdout again.
    fn resume(&mut self) {
        self.resume = None;
    }

    /// The lines printed until one contains `needle` (that one included).
    fn until(&self, needle: &str) -> Vec<String> {
        self.until_line(&format!("a line with {needle:?}"), |line| line.contains(needle))
    }

    /// The lines printed until `done` says yes of one (that one included); `what` names it if none comes.
    fn until_line(&self, what: &str, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let last = done(&line);
                    seen.push(line);
                    if last {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "{what} not within 30 s; the last lines seen: {:#?}",
                    &seen[seen.len().saturating_sub(20)..]
                ),
            }
        }
    }

    /// Stops the server with SIGTERM, as an orchestrator would; everything it printed on stdout and stderr.
    fn stop(mut self) -> (Vec<String>, String) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        // A stalled reader goes on only now: whatever the server still holds, it writes out as it stops.
        self.resume();
        let exit = self.child.wait().expect("wait");
        let stdout: Vec<String> = self.lines.iter().collect();
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new));
        let stderr = stderr.join().expect("stderr reader");
        assert!(exit.success(), "serve exited with {exit}; stderr: {stderr}");
        (stdout, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// JSON logs, the API and `/metrics` each on a free port (both named in the startup lines).
const JSON_AND_METRICS: [&str; 6] = [
    "--listen",
    "127.0.0.1:0",
    "--log-format",
    "json",
    "--metrics-listen",
    "127.0.0.1:0",
];

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
}

/// The `addr` of the first JSON line whose message is `message`.
fn addr_of(lines: &[String], message: &str) -> String {
    let line = lines
        .iter()
        .map(|l| json_line(l))
        .find(|l| l["message"] == message);
    let line = line.unwrap_or_else(|| panic!("no {message:?} line in {lines:#?}"));
    line["addr"].as_str().expect("addr").to_owned()
}

/// Every signing key's seed and refresh secret (HKDF-SHA256 of the seed, as roomgate_token documents it), as
/// hex and base64url, read from the database; checked to be the secret that MACed `refresh_token`.
async fn key_material(database: &str, refresh_token: &str) -> Vec<String> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let store = roomgate_store::connect(database).await.expect("the database");
    let mut material = Vec::new();
    for record in store.signing_keys().await.expect("signing keys") {
        let mut secret = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(
            Some(b"roomgate refresh-token HMAC-SHA256 v1"),
            &record.private_key,
        )
        .expand(record.kid.as_bytes(), &mut secret)
        .expect("32 bytes");
        let kid = format!("{}{}", roomgate_token::REFRESH_KID_PREFIX, record.kid);
        let payload = URL_SAFE_NO_PAD
            .decode(refresh_token.split('.').nth(1).expect("a payload"))
            .expect("base64url");
        let remade = roomgate_token::RefreshKey::from_secret(kid, &secret).sign_payload(&payload);
        assert_eq!(
            remade, refresh_token,
            "the derived secret is the one the server MACs with"
        );
        for bytes in [record.private_key.as_slice(), &secret] {
            material.push(bytes.iter().map(|b| format!("{b:02x}")).collect());
            material.push(URL_SAFE_NO_PAD.encode(bytes));
        }
    }
    assert!(!material.is_empty());
    material
}

async fn post(client: &reqwest::Client, url: String, key: Option<&str>, id: &str, body: Value) -> Value {
    let mut request = client.post(url).header("x-request-id", id).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let resp = request.send().await.expect("request");
    assert_eq!(resp.headers()["x-request-id"], id);
    let status = resp.status().as_u16();
    let mut body: Value = resp.json().await.expect("JSON body");
    body["status"] = json!(status);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_have_one_line_per_request_and_no_secrets() {
    let setup = setup();
    let server = Server::start(&setup.database, &JSON_AND_METRICS, None);
    let startup = server.until("roomgate listening");
    let api = format!("http://{}", addr_of(&startup, "roomgate listening"));
    let admin = format!("http://{}", addr_of(&startup, "metrics listening"));
    let client = reqwest::Client::new();
    let key = Some(setup.api_key.as_str());

    let room = post(
        &client,
        format!("{api}/v2/rooms"),
        key,
        "flow-create-room",
        json!({}),
    )
    .await;
    assert_eq!(room["status"], 201, "{room}");
    let room_id = room["data"]["id"].as_str().expect("room id").to_owned();
    let actions = format!("{api}/v2/rooms/{room_id}/actions");
    let minted = post(
        &client,
        format!("{actions}/create_access_token"),
        key,
        "flow-mint",
        json!({}),
    )
    .await;
    assert_eq!(minted["status"], 201, "{minted}");
    let (access, refresh) = (&minted["data"]["access_token"], &minted["data"]["refresh_token"]);
    let body = json!({ "refresh_token": refresh });
    let refreshed = post(
        &client,
        format!("{actions}/refresh_access_token"),
        None,
        "flow-refresh",
        body,
    )
    .await;
    assert_eq!(refreshed["status"], 201, "{refreshed}");
    let body = json!({ "refresh_token": access });
    let refused = post(
        &client,
        format!("{actions}/refresh_access_token"),
        None,
        "flow-refused",
        body,
    )
    .await;
    assert_eq!(refused["status"], 403, "{refused}");
    let scraped = client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .expect("scrape");
    let metrics = scraped.text().await.expect("metrics");
    assert!(
        metrics.contains("roomgate_tokens_refreshed_total{scheme=\"access_token\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nroomgate_log_lines_dropped_total 0\n"),
        "{metrics}"
    );

    let (stdout, stderr) = server.stop();

    let lines: Vec<Value> = stdout.iter().map(|l| json_line(l)).collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    let ids: Vec<&str> = requests
        .iter()
        .map(|l| l["span"]["request_id"].as_str().unwrap())
        .collect();
    // The admin listener's scrape is not an API request and is not logged.
    assert_eq!(
        ids,
        ["flow-create-room", "flow-mint", "flow-refresh", "flow-refused"],
        "{stdout:#?}"
    );
    let expected = [
        ("POST", "/v2/rooms", 201, true),
        (
            "POST",
            "/v2/rooms/{room_id}/actions/create_access_token",
            201,
            true,
        ),
        (
            "POST",
            "/v2/rooms/{room_id}/actions/refresh_access_token",
            201,
            false,
        ),
        (
            "POST",
            "/v2/rooms/{room_id}/actions/refresh_access_token",
            403,
            false,
        ),
    ];
    for (line, (method, route, status, authenticated)) in requests.iter().zip(expected) {
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["span"]["method"], method, "{line}");
        assert_eq!(line["span"]["route"], route, "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        let account = line["span"]["account_id"].as_str();
        assert_eq!(account.is_some(), authenticated, "{line}");
        if let Some(account) = account {
            uuid::Uuid::parse_str(account).unwrap_or_else(|_| panic!("account_id is a UUID: {line}"));
        }
    }
    let refusal = lines
        .iter()
        .find(|l| l["message"] == "refresh refused")
        .expect("a refusal line");
    assert_eq!(refusal["reason"], "wrong_kind", "{refusal}");
    assert_eq!(refusal["span"]["request_id"], "flow-refused", "{refusal}");

    let output = format!("{}\n{stderr}", stdout.join("\n"));
    let api_key = setup.api_key.as_str();
    let tokens = [access, refresh, &refreshed["data"]["access_token"]].map(|t| t.as_str().unwrap());
    // Whole or cut: the key's random part, or a token's signature alone, would do as a fingerprint.
    let mut secrets = vec![api_key, api_key.strip_prefix("rg_").expect("an rg_ key")];
    for token in tokens {
        secrets.extend([token, token.rsplit('.').next().unwrap()]);
    }
    // And the signing keys' seeds and the refresh secrets they yield, in the encodings a log line might use.
    let key_material = key_material(&setup.database, refresh.as_str().unwrap()).await;
    secrets.extend(key_material.iter().map(String::as_str));
    for secret in secrets {
        assert!(secret.len() >= 40, "{secret:?} is too short to search for");
        assert!(!output.contains(secret), "a secret appears in the logs: {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_are_human_readable() {
    let setup = setup();
    let server = Server::start(&setup.database, &["--listen", "127.0.0.1:0"], None);
    let startup = server.until("roomgate listening");
    let addr = startup
        .last()
        .unwrap()
        .rsplit("addr=")
        .next()
        .unwrap()
        .trim()
        .to_owned();

    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("request");

    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (stdout, _) = server.stop();
    let line = stdout
        .iter()
        .find(|l| l.contains(&id))
        .expect("the request's line");
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
    for part in [
        "INFO",
        "method=GET",
        "route=/healthz",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(part), "{part:?} missing from {line}");
    }
    assert!(
        !line.contains('\u{1b}'),
        "no colour codes when not on a terminal: {line:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(target_os = "linux"), ignore = "reads the bound port from /proc")]
async fn log_level_overrides_rust_log() {
    let setup = setup();
    let args = ["--listen", "127.0.0.1:0", "--log-level", "warn"];
    let server = Server::start(&setup.database, &args, Some("debug"));
    // At `warn` the listening line is not logged: the bound port is read from the kernel instead.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let listen = loop {
        if let Some(port) = listening_port(server.child.id()) {
            break format!("127.0.0.1:{port}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "roomgate serve never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let client = reqwest::Client::new();
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(resp) = client.get(format!("http://{listen}/healthz")).send().await {
            answered = resp.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the server answers on {listen}");

    let (stdout, stderr) = server.stop();

    assert!(
        stdout.iter().all(|l| !l.contains("INFO") && !l.contains("DEBUG")),
        "{stdout:#?}"
    );
    assert!(stderr.is_empty(), "{stderr}");
}

/// The port of the TCP socket process `pid` listens on, from Linux's /proc: its socket inodes, matched in the
/// table of its network namespace. `None` until it listens.
fn listening_port(pid: u32) -> Option<u16> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|row| {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let columns: Vec<&str> = row.split_whitespace().collect();
        let listening = columns.get(3) == Some(&"0A") && inodes.contains(*columns.get(9)?);
        let port = columns[1].rsplit(':').next()?;
        listening.then(|| u16::from_str_radix(port, 16).ok()).flatten()
    })
}

/// Mints a version 2 token (and refreshes it, and is refused once) on a server logging at `rust_log`; the
/// server's whole output and a metrics scrape.
async fn participant_flow(rust_log: Option<&str>, identity: &str, name: &str, metadata: &str) -> String {
    let setup = setup();
    let server = Server::start(&setup.database, &JSON_AND_METRICS, rust_log);
    let startup = server.until("roomgate listening");
    let api = format!("http://{}", addr_of(&startup, "roomgate listening"));
    let admin = format!("http://{}", addr_of(&startup, "metrics listening"));
    let client = reqwest::Client::new();
    let key = Some(setup.api_key.as_str());
    let room = post(&client, format!("{api}/v2/rooms"), key, "p-room", json!({})).await;
    let actions = format!(
        "{api}/v2/rooms/{}/actions",
        room["data"]["id"].as_str().expect("room id")
    );
    let body = json!({
        "identity": identity, "name": name, "metadata": metadata, "permissions": {"room_admin": true},
    });
    let minted = post(
        &client,
        format!("{actions}/generate_join_client_token"),
        key,
        "p-mint",
        body,
    )
    .await;
    assert_eq!(minted["status"], 201, "{minted}");
    let refresh = json!({ "refresh_token": minted["data"]["refresh_token"] });
    let refreshed = post(
        &client,
        format!("{actions}/refresh_client_token"),
        None,
        "p-refresh",
        refresh,
    )
    .await;
    assert_eq!(refreshed["status"], 201, "{refreshed}");
    let wrong = json!({ "refresh_token": minted["data"]["token"] });
    let refused = post(
        &client,
        format!("{actions}/refresh_client_token"),
        None,
        "p-refused",
        wrong,
    )
    .await;
    assert_eq!(refused["status"], 403, "{refused}");
    let bad = json!({ "identity": identity, "name": name, "metadata": metadata, "permissions": {"x": 1} });
    let invalid = post(
        &client,
        format!("{actions}/generate_join_client_token"),
        key,
        "p-bad",
        bad,
    )
    .await;
    assert_eq!(invalid["status"], 422, "{invalid}");
    let metrics = client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics");
    let (stdout, stderr) = server.stop();
    format!("{}\n{stderr}\n{metrics}", stdout.join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn participant_names_metadata_and_identities_stay_out_of_info_logs_and_metrics() {
    let (identity, name, metadata) = ("ident-7f3a9c", "Zebulon Quartermaine", "meta-5d1e-seat-3");
    let output = participant_flow(None, identity, name, metadata).await;
    for private in [identity, name, metadata] {
        assert!(
            !output.contains(private),
            "{private:?} appears in the logs or metrics"
        );
    }
    // At debug level the identity may appear (it is how an operator traces one participant); names and
    // metadata never do.
    let output = participant_flow(Some("info,roomgate_server=debug"), identity, name, metadata).await;
    assert!(output.contains(identity), "the debug log names the identity");
    for private in [name, metadata] {
        assert!(
            !output.contains(private),
            "{private:?} appears in the debug logs or metrics"
        );
    }
}

/// The address in the `roomgate listening` line, the last of `startup`, text or JSON.
fn listening_addr(startup: &[String]) -> String {
    let line = startup.last().expect("the startup lines");
    match serde_json::from_str::<Value>(line) {
        Ok(json) => json["addr"].as_str().expect("addr").to_owned(),
        Err(_) => line.rsplit("addr=").next().unwrap().trim().to_owned(),
    }
}

/// The request id of a `request` line, text or JSON; `None` for any other line.
fn request_id(line: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<Value>(line) {
        return (json["message"] == "request")
            .then(|| json["span"]["request_id"].as_str().unwrap().to_owned());
    }
    if !line.contains("}: roomgate_server::observability: request status=") {
        return None;
    }
    let (_, rest) = line.split_once(" request_id=")?;
    Some(rest.split(['}', ' ']).next()?.to_owned())
}

/// `GET /healthz` `count` times, 16 at a time, with the request ids `{prefix}-0`, `{prefix}-1`, …; every one
/// must answer 200 within 10 s.
async fn healthz_requests(api: &str, prefix: &str, count: usize) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    futures::stream::iter(0..count)
        .map(|i| {
            let request = client
                .get(format!("http://{api}/healthz"))
                .header("x-request-id", format!("{prefix}-{i}"));
            async move {
                let resp = request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("request {prefix}-{i}: {e}"));
                assert_eq!(resp.status(), 200, "request {prefix}-{i}");
            }
        })
        .buffer_unordered(16)
        .collect::<()>()
        .await;
}

/// Requests made while stdout is not read: their lines fill the pipe (64 KiB) and then wait in the server, far
/// fewer than its log writer queues.
const STALLED_REQUESTS: usize = 2_000;

/// While stdout is not read, `STALLED_REQUESTS` requests; then SIGTERM, and only then is stdout read again.
async fn stalled_stdout_then_sigterm(format: &str) {
    let setup = setup();
    let args = ["--listen", "127.0.0.1:0", "--log-format", format];
    let server = Server::start_with(&setup.database, &args, None, Reader::Stalls);
    let api = listening_addr(&server.until("roomgate listening"));

    healthz_requests(&api, "stalled", STALLED_REQUESTS).await;
    let (stdout, stderr) = server.stop();

    assert!(stderr.is_empty(), "{stderr}");
    let mut ids: Vec<String> = stdout.iter().filter_map(|l| request_id(l)).collect();
    ids.sort();
    let mut expected: Vec<String> = (0..STALLED_REQUESTS).map(|i| format!("stalled-{i}")).collect();
    expected.sort();
    assert!(
        ids == expected,
        "{format}: {} request lines of {STALLED_REQUESTS} written by the time the server exited",
        ids.len()
    );
    let last = stdout.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.contains("roomgate stopped"),
        "{format}: the last line is the shutdown's: {last:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_stdout_stalls_no_request_and_every_line_is_written_by_exit() {
    stalled_stdout_then_sigterm("text").await;
    stalled_stdout_then_sigterm("json").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_past_the_log_queue_are_dropped_and_counted() {
    // More than the log writer queues (16,384 lines) and the pipe holds, together.
    const REQUESTS: usize = 20_000;
    let setup = setup();
    let mut server = Server::start_with(&setup.database, &JSON_AND_METRICS, None, Reader::Stalls);
    let startup = server.until("roomgate listening");
    let api = addr_of(&startup, "roomgate listening");
    let admin = format!("http://{}", addr_of(&startup, "metrics listening"));

    healthz_requests(&api, "over", REQUESTS).await;
    let metrics = reqwest::get(format!("{admin}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics");
    let dropped: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("roomgate_log_lines_dropped_total "))
        .unwrap_or_else(|| panic!("no roomgate_log_lines_dropped_total in {metrics}"))
        .parse()
        .expect("a count");
    assert!(
        (1..REQUESTS).contains(&dropped),
        "{dropped} of {REQUESTS} lines dropped"
    );

    // Every request's line is either written or counted as dropped: the written ones come out once stdout is
    // read again, and no more.
    server.resume();
    let written = REQUESTS - dropped;
    let mut seen = 0;
    server.until_line(&format!("{written} request lines"), |line| {
        seen += usize::from(request_id(line).is_some_and(|id| id.starts_with("over-")));
        seen == written
    });
    let (stdout, _) = server.stop();
    let more = stdout.iter().filter(|l| request_id(l).is_some()).count();
    assert_eq!(more, 0, "request lines beyond the {written} not dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_as_soon_as_listening_is_logged_is_a_graceful_stop() {
    let setup = setup();
    // SIGTERM the moment the line is read; a window between the line and the signal handlers, if there is one,
    // is short: try a few times.
    for attempt in 0..10 {
        let server = Server::start(&setup.database, &["--listen", "127.0.0.1:0"], None);
        server.until("roomgate listening");
        let (stdout, _) = server.stop();
        let last = stdout.last().map(String::as_str).unwrap_or_default();
        assert!(
            last.contains("roomgate stopped"),
            "attempt {attempt}: the last line is the shutdown's: {last:?}"
        );
    }
}
