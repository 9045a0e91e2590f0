//! What an embedder pulls in.

use std::process::Command;

/// `cargo tree -p roomgate-verify -e normal --prefix none` with extra arguments, one crate name per line.
fn normal_dependencies(extra: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "roomgate-verify",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .args(extra)
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

const HTTP_STACK: [&str; 8] = [
    "reqwest",
    "hyper",
    "hyper-util",
    "rustls",
    "tokio",
    "h2",
    "mio",
    "axum",
];

#[test]
fn without_default_features_there_is_no_http_stack_or_runtime() {
    let deps = normal_dependencies(&["--no-default-features"]);
    assert!(deps.iter().any(|d| d == "roomgate-token"), "{deps:?}");
    for unwanted in HTTP_STACK {
        assert!(!deps.iter().any(|d| d == unwanted), "{unwanted} in {deps:?}");
    }
    for heavy in ["sqlx", "roomgate-server", "roomgate-store"] {
        assert!(!deps.iter().any(|d| d == heavy), "{heavy} in {deps:?}");
    }
}

#[test]
fn the_default_fetch_feature_brings_reqwest_with_rustls() {
    let deps = normal_dependencies(&[]);
    for wanted in ["reqwest", "rustls", "tokio"] {
        assert!(deps.iter().any(|d| d == wanted), "{wanted} missing from {deps:?}");
    }
    assert!(
        !deps.iter().any(|d| d == "openssl" || d == "native-tls"),
        "{deps:?}"
    );
}

#[test]
fn no_c_library_is_built_for_a_verifier() {
    // Signing is what AWS-LC speeds up, and a verifier never signs: roomgate-token comes without its `aws-lc`
    // feature, so embedding the verifier compiles no C.
    for extra in [&[][..], &["--no-default-features"][..]] {
        let deps = normal_dependencies(extra);
        for unwanted in ["aws-lc-rs", "aws-lc-sys", "cc", "cmake"] {
            assert!(
                !deps.iter().any(|d| d == unwanted),
                "{unwanted} in {deps:?} ({extra:?})"
            );
        }
    }
}
