//! A real Janus for a test: Debian's binary and plugins, compat/janus/conf's configuration in a temporary
//! directory, loopback ports of its own; killed when dropped.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// Where Janus's binary and plugin folders are.
pub struct Installed {
    binary: PathBuf,
    libs: PathBuf,
}

/// Janus's binary and plugins, or `None` after a loud warning (a panic in CI: the tests must run there).
pub fn installed() -> Option<Installed> {
    // The path build.rs looks for.
    let binary = Some(PathBuf::from("/usr/bin/janus")).filter(|p| p.exists());
    let libs = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("janus"))
        .chain([
            PathBuf::from("/usr/lib/janus"),
            PathBuf::from("/opt/janus/lib/janus"),
        ])
        .find(|p| p.join("plugins/libjanus_videoroom.so").exists());
    match (binary, libs) {
        (Some(binary), Some(libs)) => Some(Installed { binary, libs }),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "Janus is not installed (apt-get install janus): CI must run the bridge's tests against it"
            )
        }
        _ => {
            eprintln!(
                "WARNING: SKIPPED: Janus is not installed (apt-get install janus); the bridge is not tested"
            );
            None
        }
    }
}

/// A running Janus.
pub struct Janus {
    binary: PathBuf,
    conf: PathBuf,
    /// Its HTTP API.
    pub api_url: String,
    /// Its Admin API.
    pub admin_url: String,
    /// Its admin secret.
    pub admin_secret: String,
    /// The VideoRoom plugin's admin key.
    pub videoroom_key: String,
    http: reqwest::Client,
    _child: Child,
    _dir: tempfile::TempDir,
}

fn spawn(binary: &Path, conf: &Path) -> Child {
    Command::new(binary)
        .arg("--configs-folder")
        .arg(conf)
        .arg("--config")
        .arg(conf.join("janus.jcfg"))
        .arg("--disable-colors")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("janus starts")
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr").port()
}

impl Janus {
    /// Starts Janus with its events posted to `events_url`, and waits until its Admin API answers.
    pub async fn start(installed: &Installed, events_url: &str) -> Janus {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(&conf).expect("conf dir");
        for (kind, file) in [
            ("plugins", "libjanus_videoroom.so"),
            ("transports", "libjanus_http.so"),
            ("events", "libjanus_sampleevh.so"),
            ("loggers", ""),
        ] {
            let folder = dir.path().join("libs").join(kind);
            std::fs::create_dir_all(&folder).expect("libs dir");
            if !file.is_empty() {
                std::os::unix::fs::symlink(installed.libs.join(kind).join(file), folder.join(file))
                    .expect("symlink");
            }
        }
        let (api_port, admin_port) = (free_port(), free_port());
        let admin_secret = roomgate_janus::Secret::random().expose().to_owned();
        let videoroom_key = roomgate_janus::Secret::random().expose().to_owned();
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat/janus/conf");
        for entry in std::fs::read_dir(&templates).expect("compat/janus/conf") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path)
                .expect("template")
                .replace("@CONF@", &conf.display().to_string())
                .replace("@LIBS@", &dir.path().join("libs").display().to_string())
                .replace("@ADMIN_SECRET@", &admin_secret)
                .replace("@HTTP_PORT@", &api_port.to_string())
                .replace("@ADMIN_PORT@", &admin_port.to_string())
                .replace("@VIDEOROOM_ADMIN_KEY@", &videoroom_key)
                .replace("@EVENTS_URL@", events_url);
            std::fs::write(conf.join(path.file_name().expect("name")), text).expect("write conf");
        }
        let child = spawn(&installed.binary, &conf);
        let janus = Janus {
            binary: installed.binary.clone(),
            conf,
            api_url: format!("http://127.0.0.1:{api_port}/janus"),
            admin_url: format!("http://127.0.0.1:{admin_port}/admin"),
            admin_secret,
            videoroom_key,
            http: reqwest::Client::new(),
            _child: child,
            _dir: dir,
        };
        janus.wait().await;
        janus
    }

    async fn wait(&self) {
        for _ in 0..100 {
            if self.admin("ping", json!({})).await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Janus did not answer within 10 s");
    }

    /// Kills Janus (SIGKILL: no goodbye to anyone) and starts it again on the same ports.
    pub async fn restart(&mut self) {
        self._child.kill().await.expect("kill janus");
        self._child = spawn(&self.binary, &self.conf);
        self.wait().await;
    }

    /// A Janus API request with `token`: the answer.
    pub async fn api(&self, path: &str, mut body: Value, token: &str) -> Value {
        body["transaction"] = "test".into();
        body["token"] = token.into();
        let answer = self
            .http
            .post(format!("{}{path}", self.api_url))
            .json(&body)
            .send()
            .await;
        answer.expect("Janus answers").json().await.expect("json")
    }

    /// What a page does: a Janus session with `token`, a VideoRoom handle, a publisher join as `id`. The session.
    pub async fn join_as_publisher(&self, room: &str, id: &str, token: &str) -> u64 {
        let created = self.api("", json!({ "janus": "create" }), token).await;
        let session = created["data"]["id"].as_u64().expect("session");
        let attached = self
            .api(
                &format!("/{session}"),
                json!({ "janus": "attach", "plugin": "janus.plugin.videoroom" }),
                token,
            )
            .await;
        let handle = attached["data"]["id"].as_u64().expect("handle");
        let join = json!({ "request": "join", "ptype": "publisher", "room": room, "id": id, "token": token });
        let acked = self
            .api(
                &format!("/{session}/{handle}"),
                json!({ "janus": "message", "body": join }),
                token,
            )
            .await;
        assert_eq!(acked["janus"], "ack", "{acked}");
        session
    }

    /// The Janus sessions there are.
    pub async fn sessions(&self) -> Vec<u64> {
        let answer = self
            .admin("list_sessions", json!({}))
            .await
            .expect("list_sessions");
        answer["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .filter_map(Value::as_u64)
            .collect()
    }

    async fn admin(&self, verb: &str, mut body: Value) -> Option<Value> {
        body["janus"] = verb.into();
        body["transaction"] = "test".into();
        body["admin_secret"] = self.admin_secret.as_str().into();
        let answer = self.http.post(&self.admin_url).json(&body).send().await.ok()?;
        answer.json().await.ok()
    }

    /// The stored tokens Janus holds.
    pub async fn tokens(&self) -> Vec<String> {
        let answer = self.admin("list_tokens", json!({})).await.expect("list_tokens");
        answer["data"]["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|t| t["token"].as_str().map(str::to_owned))
            .collect()
    }

    /// Whether the VideoRoom has this room.
    pub async fn room_exists(&self, room: &str) -> bool {
        let request =
            json!({ "plugin": "janus.plugin.videoroom", "request": { "request": "exists", "room": room } });
        let answer = self
            .admin("message_plugin", request)
            .await
            .expect("message_plugin");
        answer["response"]["exists"] == true
    }
}
