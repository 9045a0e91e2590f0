//! Rate limits and server limits, over real connections.
use std::time::Duration;

use reqwest::StatusCode;
use roomgate_server::{ratelimit::Rate, Config};
use roomgate_store::testing::Backend;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Scheme, TestApp};

/// No limit at all, so each test switches on only the one it is about.
fn unlimited() -> Config {
    let mut config = Config::default();
    config.rate_limits.refresh_per_ip = None;
    config.rate_limits.refresh_per_token = None;
    config.rate_limits.auth_failures_per_ip = None;
    config.rate_limits.per_api_key = None;
    config
}

async fn assert_429(resp: reqwest::Response, limit: u32) {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = resp.headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    assert_eq!(h["x-ratelimit-limit"], limit.to_string().as_str());
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["x-ratelimit-reset"], retry.to_string().as_str());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "10011");
}

#[tokio::test]
async fn failed_refreshes_per_client_ip_are_limited_with_telnyx_headers() {
    let mut config = unlimited();
    config.rate_limits.refresh_per_ip = Rate::new(1, 3);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let room = app.new_room().await;
    for _ in 0..3 {
        assert_eq!(
            app.refresh_token(Scheme::Original, &room, "junk").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_429(app.refresh_token(Scheme::Current, &room, "junk").await, 3).await;
}

#[tokio::test]
async fn junk_refreshes_from_an_address_do_not_stop_its_valid_refreshes() {
    let mut config = unlimited();
    config.rate_limits.refresh_per_ip = Rate::new(1, 5);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let room = app.new_room().await;
    let minted = app.mint(Scheme::Original, &room, &json!({})).await;
    let forged = format!("{}x", minted.refresh);
    let mut limited = 0;
    for i in 0..40 {
        let junk = if i % 2 == 0 { "junk" } else { forged.as_str() };
        match app.refresh_token(Scheme::Original, &room, junk).await.status() {
            StatusCode::FORBIDDEN => {}
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("junk refresh answered {other}"),
        }
    }
    assert!(
        limited >= 30,
        "the flood itself is limited ({limited} of 40 got 429)"
    );
    // Behind the same address, honest users' tokens still refresh, as often as their own budget allows.
    for scheme in Scheme::BOTH {
        for _ in 0..10 {
            assert_eq!(
                app.refresh_token(scheme, &room, &minted.refresh).await.status(),
                StatusCode::CREATED
            );
        }
    }
}

#[tokio::test]
async fn refreshes_per_token_count_only_verified_tokens() {
    let mut config = unlimited();
    config.rate_limits.refresh_per_token = Rate::new(1, 2);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let room = app.new_room().await;
    let mine = app.mint(Scheme::Original, &room, &json!({})).await;
    // Forged tokens cannot spend a real token's budget: they fail before it is counted.
    for _ in 0..5 {
        let forged = format!("{}x", mine.refresh);
        assert_eq!(
            app.refresh_token(Scheme::Original, &room, &forged).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    for _ in 0..2 {
        assert_eq!(
            app.refresh_token(Scheme::Original, &room, &mine.refresh)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    assert_429(app.refresh_token(Scheme::Original, &room, &mine.refresh).await, 2).await;
    let other = app.mint(Scheme::Original, &room, &json!({})).await;
    assert_eq!(
        app.refresh_token(Scheme::Original, &room, &other.refresh)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn failed_authentications_per_ip_turn_into_429_but_never_lock_out_a_valid_key() {
    let mut config = unlimited();
    config.rate_limits.auth_failures_per_ip = Rate::new(1, 3);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/v2/rooms", Some("rg_wrong")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_429(app.get("/v2/rooms", Some("rg_wrong")).await, 3).await;
    assert_429(app.get("/v2/rooms", None).await, 3).await;
    // The legitimate key still works: only failures are counted.
    assert_eq!(
        app.get("/v2/rooms", Some(&app.api_key)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn authenticated_requests_are_limited_per_api_key() {
    let mut config = unlimited();
    config.rate_limits.per_api_key = Rate::new(1, 2);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let other = app.new_api_key("default").await;
    for _ in 0..2 {
        assert_eq!(
            app.get("/v2/rooms", Some(&app.api_key)).await.status(),
            StatusCode::OK
        );
    }
    assert_429(app.get("/v2/rooms", Some(&app.api_key)).await, 2).await;
    assert_eq!(
        app.get("/v2/rooms", Some(&other.secret)).await.status(),
        StatusCode::OK,
        "another key is unaffected"
    );
}

#[tokio::test]
async fn the_client_ip_comes_from_the_trusted_proxy_header_only_when_configured() {
    let mut config = unlimited();
    config.rate_limits.refresh_per_ip = Rate::new(1, 1);
    config.client_ip_header = Some("x-forwarded-for".parse().unwrap());
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let room = app.new_room().await;
    let path = Scheme::Original.refresh_path(&room);
    let from = |ip: &str| {
        app.client
            .post(app.url(&path))
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .json(&json!({ "refresh_token": "junk" }))
            .send()
    };
    assert_eq!(
        from("198.51.100.1").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        from("198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from("198.51.100.2").await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "a different client"
    );
}

#[tokio::test]
async fn oversized_request_heads_are_refused_with_431() {
    let app = TestApp::spawn_with(Backend::Sqlite, unlimited()).await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-filler", "a".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

fn host_port(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_disconnected() {
    let mut config = unlimited();
    config.limits.header_read_timeout = Duration::from_millis(300);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let mut conn = tokio::net::TcpStream::connect(host_port(&app)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap(); // never finishes the head
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server closes the connection instead of waiting forever"
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_served_again_once_one_ends() {
    let mut config = unlimited();
    config.limits.max_connections = 2;
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let (mut a, mut b) = (
        tokio::net::TcpStream::connect(host_port(&app)).await.unwrap(),
        tokio::net::TcpStream::connect(host_port(&app)).await.unwrap(),
    );
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    for conn in [&mut a, &mut b] {
        conn.write_all(request).await.unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
    let mut third = tokio::net::TcpStream::connect(host_port(&app)).await.unwrap();
    let _ = third.write_all(request).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut buf))
        .await
        .expect("closed");
    assert!(buf.is_empty(), "the third connection is closed unanswered");
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_408() {
    let mut config = unlimited();
    config.limits.request_timeout = Duration::from_millis(200);
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    // A body that never completes keeps the handler waiting past the limit.
    let mut conn = tokio::net::TcpStream::connect(host_port(&app)).await.unwrap();
    let head = format!(
        "POST /v2/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{",
        app.api_key
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("answered")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("10008"), "{text}");
}

/// A server behind a proxy that writes `header`, counting failed refreshes per address with a burst of one.
async fn behind_proxy(header: &str) -> (TestApp, String) {
    let mut config = unlimited();
    config.rate_limits.refresh_per_ip = Rate::new(1, 1);
    config.client_ip_header = Some(header.parse().unwrap());
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let path = Scheme::Original.refresh_path(&app.new_room().await);
    (app, path)
}

/// A junk refresh carrying `lines` of `header`, in order; its status.
async fn junk_with(app: &TestApp, path: &str, header: &str, lines: &[&str]) -> StatusCode {
    let mut request = app.client.post(app.url(path));
    for line in lines {
        request = request.header(header, *line);
    }
    let resp = request
        .json(&json!({ "refresh_token": "junk" }))
        .send()
        .await
        .unwrap();
    resp.status()
}

#[tokio::test]
async fn every_line_of_the_client_ip_header_counts_and_the_right_most_entry_wins() {
    let (app, path) = behind_proxy("x-forwarded-for").await;
    // The client writes a fresh first line each time; the proxy appends its own line with what it saw.
    let first = junk_with(&app, &path, "x-forwarded-for", &["6.6.6.1", "198.51.100.1"]).await;
    let second = junk_with(&app, &path, "x-forwarded-for", &["6.6.6.2", "198.51.100.1"]).await;
    let third = junk_with(
        &app,
        &path,
        "x-forwarded-for",
        &["198.51.100.9, 6.6.6.3", "198.51.100.1"],
    )
    .await;
    assert_eq!(first, StatusCode::FORBIDDEN);
    assert_eq!(second, StatusCode::TOO_MANY_REQUESTS, "the client chose nothing");
    assert_eq!(third, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn client_ip_entries_with_ports_and_brackets_are_understood_and_ipv6_counts_by_64() {
    let (app, path) = behind_proxy("x-forwarded-for").await;
    let xff = "x-forwarded-for";
    for (entry, status) in [
        ("198.51.100.7:4711", StatusCode::FORBIDDEN),
        ("198.51.100.8:4711", StatusCode::FORBIDDEN),
        ("198.51.100.7:1", StatusCode::TOO_MANY_REQUESTS),
        ("[2001:db8:0:5::1]:443", StatusCode::FORBIDDEN),
        ("[2001:db8:0:5:ffff::2]", StatusCode::TOO_MANY_REQUESTS),
        ("2001:db8:0:5::3", StatusCode::TOO_MANY_REQUESTS),
        ("[2001:db8:0:6::1]:443", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(junk_with(&app, &path, xff, &[entry]).await, status, "{entry}");
    }
}

#[tokio::test]
async fn forwarded_is_read_by_its_for_parameter() {
    let (app, path) = behind_proxy("forwarded").await;
    for (lines, status) in [
        (
            &[r#"for="[2001:db8:cafe::17]:4711";proto=https"#][..],
            StatusCode::FORBIDDEN,
        ),
        (
            &["for=192.0.2.60;proto=http;by=203.0.113.43"][..],
            StatusCode::FORBIDDEN,
        ),
        (
            &["for=6.6.6.6", "for=192.0.2.60"][..],
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (
            &["for=192.0.2.61, for=\"[2001:db8:beef::99]\""][..],
            StatusCode::FORBIDDEN,
        ),
    ] {
        assert_eq!(
            junk_with(&app, &path, "forwarded", lines).await,
            status,
            "{lines:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_unparseable_client_ip_header_falls_back_to_the_peer_and_is_counted() {
    let (app, path) = behind_proxy("x-forwarded-for").await;
    let metric = "roomgate_client_ip_header_unusable_total";
    let count = |text: &str, problem: &str| -> f64 {
        let prefix = format!("{metric}{{problem=\"{problem}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let scrape = || async {
        let resp = reqwest::get(format!("{}/metrics", app.metrics_address))
            .await
            .unwrap();
        resp.text().await.unwrap()
    };
    let before = scrape().await;

    let missing = junk_with(&app, &path, "x-forwarded-for", &[]).await;
    let unparseable = junk_with(&app, &path, "x-forwarded-for", &["198.51.100.1, for=x"]).await;

    // Both are the peer's (the proxy's) to share, not a fresh budget each.
    assert_eq!(missing, StatusCode::FORBIDDEN);
    assert_eq!(unparseable, StatusCode::TOO_MANY_REQUESTS);
    let after = scrape().await;
    for problem in ["missing", "unparseable"] {
        assert!(
            count(&after, problem) - count(&before, problem) >= 1.0,
            "{problem}: {after}"
        );
    }
}
