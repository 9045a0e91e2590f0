//! What `roomgate serve` exposes, and to whom: `/metrics` only where asked for.
mod common;

use common::serve;

async fn status_of(url: String) -> u16 {
    reqwest::get(url).await.expect("request").status().as_u16()
}

#[tokio::test]
async fn metrics_stay_off_the_api_listener_unless_a_flag_puts_them_there() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
    let log = dir.path().join("serve.log");

    let default = serve(&database, &log, &[]).await;
    assert_eq!(status_of(format!("{}/metrics", default.base)).await, 404);
    drop(default);

    let exposed = serve(&database, &log, &["--metrics-on-api-listener"]).await;
    let resp = reqwest::get(format!("{}/metrics", exposed.base)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("roomgate_build_info"));
}
