//! What `roomgate serve` does before it answers: database files others could read tightened.
use std::{
    fs::File,
    net::TcpListener,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

mod common;

use common::{api_key, BIN};

/// A `roomgate serve` whose stdout (the log stream) and stderr go to files; killed when dropped.
struct Started {
    base: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Started {
    /// Everything it wrote to stdout and stderr so far.
    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}\n{}", read(&self.stdout), read(&self.stderr))
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `roomgate serve` on `database` with a clean environment, stdout and stderr in files (not a terminal), until
/// `/readyz` answers.
async fn start(database: &str) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--database", database])
        .env_clear()
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut started = Started {
        base: format!("http://{addr}"),
        child,
        stdout,
        stderr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let exited = started.child.try_wait().unwrap();
        assert!(
            exited.is_none(),
            "serve exited ({exited:?}): {}",
            started.output()
        );
        if reqwest::get(format!("{}/readyz", started.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return started;
        }
        assert!(Instant::now() < deadline, "not ready: {}", started.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    assert_eq!(rooms_status(&server.base, &key).await, 200, "the data is intact");
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
