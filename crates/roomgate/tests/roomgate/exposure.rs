//! What `roomgate serve` exposes, and to whom: `/metrics` only where asked for; a client-IP header it cannot
//! read is a refused start, not a silent fallback.

use crate::common::serve;

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

#[tokio::test]
async fn serve_refuses_a_client_ip_header_that_cannot_hold_an_address() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roomgate.db").display());
    let log = dir.path().join("serve.log");
    for name in ["host", "connection", "x-forwarded-proto", "not a header"] {
        let refused = crate::common::try_serve(&database, &log, &["--client-ip-header", name], &[]).await;
        let Err(why) = refused else {
            panic!("serve started with --client-ip-header {name}")
        };
        assert!(why.contains("exit status: 2"), "{name}: {why}");
        assert!(why.contains("client-ip-header"), "{name}: {why}");
    }
    let accepted = crate::common::try_serve(&database, &log, &["--client-ip-header", "Forwarded"], &[]).await;
    assert!(accepted.is_ok(), "{:?}", accepted.err());
}
