//! Liveness and readiness probes, open to anyone.
use reqwest::StatusCode;

use crate::harness::{json_body, TestApp};

#[tokio::test]
async fn healthz_is_200_without_a_key() {
    let app = TestApp::spawn().await;

    let body = json_body(app.get("/healthz", None).await, StatusCode::OK).await;

    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_200_when_the_store_answers() {
    let app = TestApp::spawn().await;

    let body = json_body(app.get("/readyz", None).await, StatusCode::OK).await;

    assert_eq!(body["status"], "ok");
}
