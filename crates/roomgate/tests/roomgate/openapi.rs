//! `roomgate openapi` prints the document the server serves at /v2/openapi.json.
use std::process::Command;

#[test]
fn openapi_prints_the_served_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_roomgate"))
        .arg("openapi")
        .output()
        .expect("roomgate runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");

    let served = serde_json::to_value(roomgate_server::openapi()).expect("the document serializes");
    assert_eq!(printed, served);
    assert_eq!(printed["openapi"], "3.1.0");
}
