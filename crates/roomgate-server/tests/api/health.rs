//! Liveness and readiness probes, open to anyone.
use reqwest::StatusCode;
use roomgate_store::backend_test;

use crate::harness::{json_body, TestApp};

backend_test! {
    async fn healthz_is_200_without_a_key(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let body = json_body(app.get("/healthz", None).await, StatusCode::OK).await;

        assert_eq!(body["status"], "ok");
    }
}

backend_test! {
    async fn readyz_is_200_when_the_store_answers(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let body = json_body(app.get("/readyz", None).await, StatusCode::OK).await;

        assert_eq!(body["status"], "ok");
    }
}
