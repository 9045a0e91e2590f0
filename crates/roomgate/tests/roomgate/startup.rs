//! What `roomgate serve` does before it answers: the first API key kept out of the log stream, and database
//! files others could read tightened.
use std::{
    fs::File,
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use roomgate_store::{backend_test, testing::TestDatabase};

use crate::common::{api_key, listening_addr, serve, stdout_of, Served, BIN};

/// A `roomgate serve` whose stdout (the log stream) and stderr go to files; killed when dropped.
struct Started {
    served: Served,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Started {
    /// Everything it wrote to stdout and stderr so far.
    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}\n{}", read(&stdout_of(&self.log)), read(&self.log))
    }
}

/// `roomgate serve` on `database` with a clean environment, stdout and stderr in files (not a terminal), until
/// `/readyz` answers.
async fn start(database: &str) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let served = serve(database, &log, &[]).await;
    Started {
        served,
        log,
        _dir: dir,
    }
}

fn sqlite_path(database: &str) -> PathBuf {
    PathBuf::from(database.strip_prefix("sqlite://").expect("a sqlite:// URL"))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

async fn rooms_status(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v2/rooms"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

backend_test! {
    async fn the_first_api_key_never_reaches_the_log_stream(backend: Backend) {
        let db = TestDatabase::new(backend).await;
        let server = start(db.url()).await;
        let output = server.output();
        assert!(!output.contains("rg_"), "no secret on stdout or stderr: {output}");
        match backend {
            roomgate_store::testing::Backend::Sqlite => {
                let file = with_suffix(&sqlite_path(db.url()), ".first-api-key");
                assert_eq!(mode(&file), 0o600, "{}", file.display());
                let key = std::fs::read_to_string(&file).unwrap().trim().to_owned();
                assert!(key.starts_with("rg_"), "{key}");
                assert!(!output.contains(key.trim_start_matches("rg_")), "{output}");
                assert!(output.contains(&file.display().to_string()), "the log says where it is: {output}");
                assert_eq!(rooms_status(&server.served.base, &key).await, 200, "the key in the file works");
            }
            roomgate_store::testing::Backend::Postgres => {
                // No file to put it in: no key is made, and the log says how to make one.
                assert!(output.contains("roomgate api-keys create"), "{output}");
                let listed = Command::new(BIN)
                    .args(["api-keys", "list", "--database", db.url()])
                    .env_clear()
                    .output()
                    .unwrap();
                assert!(listed.status.success());
                assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 1, "only the header");
            }
        }
        drop(server);

        // A second start finds the key and makes no other.
        let again = start(db.url()).await;
        let output = again.output();
        assert!(!output.contains("rg_") && !output.contains("first-api-key"), "{output}");
    }
}

#[tokio::test]
async fn the_first_api_key_is_printed_when_stdout_is_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roomgate.db");
    let serve = format!(
        "{BIN} serve --listen 127.0.0.1:0 --database sqlite://{}",
        path.display()
    );
    // script(1) runs it with a pseudo-terminal as stdout, as an operator's shell would.
    let mut child = Command::new("script")
        .args(["-qec", &serve, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1)");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let key = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a key line within 30 s");
        if let Some(key) = line.trim().strip_prefix("rg_") {
            break format!("rg_{key}");
        }
    };
    // The key is shown before the server logs where it listens.
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the listening line within 30 s");
        if let Some(addr) = listening_addr(&format!("{line}\n")) {
            break addr;
        }
    };
    assert!(
        !with_suffix(&path, ".first-api-key").exists(),
        "no file when it was shown"
    );
    assert_eq!(rooms_status(&format!("http://{addr}"), &key).await, 200);
    // Killing script(1) closes the terminal: the server gets SIGHUP and exits.
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn database_files_others_can_read_are_tightened_to_0600_and_the_log_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roomgate.db");
    let database = format!("sqlite://{}", path.display());
    let key = api_key(&database);
    let files = [
        path.clone(),
        with_suffix(&path, "-wal"),
        with_suffix(&path, "-shm"),
    ];
    for file in &files {
        File::options().create(true).append(true).open(file).unwrap();
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    let server = start(&database).await;

    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let output = server.output();
    assert!(
        output.contains("its mode is now 0600") && output.contains("0644"),
        "{output}"
    );
    assert_eq!(
        rooms_status(&server.served.base, &key).await,
        200,
        "the data is intact"
    );
    drop(server);

    // The commands that open the store directly do the same, and say so on stderr.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let listed = Command::new(BIN)
        .args(["api-keys", "list", "--database", &database])
        .env_clear()
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(mode(&path), 0o600);
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains("0640"),
        "{listed:?}"
    );
}
