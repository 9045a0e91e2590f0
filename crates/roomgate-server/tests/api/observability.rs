//! `/metrics` and `X-Request-Id`.
//!
//! The metrics recorder is one per process, shared by every test's server, and tests run concurrently: counters
//! are compared before and after, and must have moved at least as much as this test moved them.
use roomgate_store::backend_test;
use std::collections::BTreeMap;

use reqwest::{header, Method, StatusCode};
use roomgate_server::{AppState, Clock, Config};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};
use uuid::Uuid;

use crate::harness::{assert_error_shape, Scheme, TestApp};

const REQUESTS: &str = "roomgate_http_requests_total";

/// Signing-key gauges are set by each scrape from the scraped server's store: scrapes take turns.
async fn one_scraper() -> MutexGuard<'static, ()> {
    static SCRAPES: Mutex<()> = Mutex::const_new(());
    SCRAPES.lock().await
}

/// One parsed scrape: `(name, sorted labels) -> value`.
#[derive(Debug)]
struct Scrape {
    text: String,
    series: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut series = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (key, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let (name, labels) = match key.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').expect("closing brace"))),
                None => (key, Vec::new()),
            };
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
            series.insert((name.to_owned(), labels), value);
        }
        Self { text, series }
    }

    /// The sum over the series of `name` that carry all of `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|((n, ls), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// Every value of the label `label` in the scrape.
    fn label_values(&self, label: &str) -> Vec<&str> {
        let labels = self.series.keys().flat_map(|(_, ls)| ls);
        labels
            .filter(|(k, _)| k == label)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (i, '"') => break i,
                (_, '\\') => value.push(chars.next().expect("escaped char").1),
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels.sort();
    labels
}

async fn scrape(base: &str) -> Scrape {
    let resp = reqwest::get(format!("{base}/metrics")).await.expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape::parse(resp.text().await.expect("body"))
}

backend_test! {
    async fn requests_and_tokens_move_the_counters_labelled_by_route_template(backend: Backend) {
        let _turn = one_scraper().await;
        let app = TestApp::spawn_on(backend).await;
        let before = scrape(&app.metrics_address).await;

        let room = app.new_room().await;
        let minted = app.mint(Scheme::Original, &room, &json!({})).await;
        let refreshed = app.refresh_token(Scheme::Original, &room, &minted.refresh).await;
        assert_eq!(refreshed.status(), StatusCode::CREATED);
        let wrong_kind = app.refresh_token(Scheme::Original, &room, &minted.access).await;
        assert_eq!(wrong_kind.status(), StatusCode::FORBIDDEN);
        let malformed = app.refresh_token(Scheme::Current, &room, "not-a-jwt").await;
        assert_eq!(malformed.status(), StatusCode::FORBIDDEN);

        let after = scrape(&app.metrics_address).await;
        let moved = |name: &str, labels: &[(&str, &str)]| after.value(name, labels) - before.value(name, labels);
        let create = "/v2/rooms/{room_id}/actions/create_access_token";
        let refresh = "/v2/rooms/{room_id}/actions/refresh_access_token";
        for (name, labels, at_least) in [
            (
                REQUESTS,
                vec![("method", "POST"), ("route", "/v2/rooms"), ("status", "201")],
                1.0,
            ),
            (REQUESTS, vec![("route", create), ("status", "201")], 1.0),
            (REQUESTS, vec![("route", refresh), ("status", "201")], 1.0),
            (REQUESTS, vec![("route", refresh), ("status", "403")], 1.0),
            (
                REQUESTS,
                vec![
                    ("route", "/v2/rooms/{room_id}/actions/refresh_client_token"),
                    ("status", "403"),
                ],
                1.0,
            ),
            (
                "roomgate_http_request_duration_seconds_count",
                vec![("route", create)],
                1.0,
            ),
            (
                "roomgate_tokens_minted_total",
                vec![("kind", "access"), ("scheme", "access_token")],
                2.0,
            ),
            (
                "roomgate_tokens_minted_total",
                vec![("kind", "refresh"), ("scheme", "access_token")],
                1.0,
            ),
            (
                "roomgate_tokens_refreshed_total",
                vec![("scheme", "access_token")],
                1.0,
            ),
            (
                "roomgate_tokens_rejected_total",
                vec![("reason", "wrong_kind")],
                1.0,
            ),
            (
                "roomgate_tokens_rejected_total",
                vec![("reason", "malformed")],
                1.0,
            ),
            (
                "roomgate_store_operation_duration_seconds_count",
                vec![("operation", "insert_room"), ("outcome", "ok")],
                1.0,
            ),
            (
                "roomgate_store_operation_duration_seconds_count",
                vec![("operation", "authorize_room")],
                1.0,
            ),
            (
                "roomgate_store_operation_duration_seconds_count",
                vec![("operation", "check_refresh")],
                1.0,
            ),
        ] {
            let delta = moved(name, &labels);
            assert!(
                delta >= at_least,
                "{name}{labels:?} moved by {delta}, expected ≥ {at_least}"
            );
        }
        assert!(!after.text.contains(&room), "a raw path reached the metrics");
        for route in after.label_values("route") {
            assert!(!route.contains(&room), "{route}");
        }
        assert!(after
            .text
            .contains("# TYPE roomgate_http_request_duration_seconds histogram"));
    }
}

backend_test! {
    async fn a_refresh_for_a_deleted_room_is_counted_as_room_deleted(backend: Backend) {
        let _turn = one_scraper().await;
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let minted = app.mint(Scheme::Current, &room, &json!({})).await;
        let resp = app.delete(&format!("/v2/rooms/{room}"), Some(&app.api_key)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let before = scrape(&app.metrics_address).await;

        let resp = app.refresh_token(Scheme::Current, &room, &minted.refresh).await;

        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let after = scrape(&app.metrics_address).await;
        let labels = [("reason", "room_deleted")];
        let rejected = "roomgate_tokens_rejected_total";
        assert!(after.value(rejected, &labels) - before.value(rejected, &labels) >= 1.0);
    }
}

backend_test! {
    async fn unmatched_paths_share_one_route_label(backend: Backend) {
        let _turn = one_scraper().await;
        let app = TestApp::spawn_on(backend).await;
        let odd = format!("nope-{}", Uuid::new_v4().simple());
        let before = scrape(&app.metrics_address).await;

        let resp = app.get(&format!("/v2/{odd}"), None).await;

        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let after = scrape(&app.metrics_address).await;
        let labels = [("route", "unmatched"), ("status", "404")];
        assert!(after.value(REQUESTS, &labels) - before.value(REQUESTS, &labels) >= 1.0);
        assert!(!after.text.contains(&odd), "a raw path reached the metrics");
    }
}

backend_test! {
    async fn signing_keys_are_counted_by_state_at_scrape_time(backend: Backend) {
        let _turn = one_scraper().await;
        let app = TestApp::spawn_on(backend).await;
        let keys = |s: &Scrape, state: &str| s.value("roomgate_signing_keys", &[("state", state)]);

        let fresh = scrape(&app.metrics_address).await;
        assert_eq!((keys(&fresh, "active"), keys(&fresh, "pending")), (1.0, 0.0));

        let now = app.clock.now().unix_timestamp();
        roomgate_server::keys::rotate(app.store.as_ref(), None, now, 600, None)
            .await
            .expect("rotate");
        let rotated = scrape(&app.metrics_address).await;
        assert_eq!((keys(&rotated, "active"), keys(&rotated, "pending")), (1.0, 1.0));

        app.set_clock(now + 601);
        let switched = scrape(&app.metrics_address).await;
        assert_eq!(
            ["pending", "active", "previous", "retired"].map(|s| keys(&switched, s)),
            [0.0, 1.0, 1.0, 0.0]
        );
    }
}

backend_test! {
    async fn a_separate_listener_serves_metrics_and_nothing_else(backend: Backend) {
        let _turn = one_scraper().await;
        let app = TestApp::spawn_on(backend).await;
        app.new_room().await;
        let state = AppState::new(app.store.clone(), Config::default())
            .await
            .expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(roomgate_server::observability::serve_metrics(
            listener,
            state,
            async {
                let _ = stopped.await;
            },
        ));

        let scraped = scrape(&admin).await;
        let api = reqwest::get(format!("{admin}/v2/rooms")).await.expect("request");

        assert!(scraped.value(REQUESTS, &[("route", "/v2/rooms")]) >= 1.0);
        assert_eq!(
            scraped.value("roomgate_signing_keys", &[("state", "active")]),
            1.0
        );
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        let _ = stop.send(());
        server.await.expect("task").expect("serve_metrics returns Ok");
    }
}

fn request_id(resp: &reqwest::Response) -> String {
    let value = resp
        .headers()
        .get("x-request-id")
        .expect("an X-Request-Id header");
    value.to_str().expect("ASCII").to_owned()
}

fn assert_generated(id: &str) {
    let uuid = Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id:?} is not a generated UUID"));
    assert_eq!(uuid.get_version_num(), 4, "{id}");
}

backend_test! {
    async fn a_well_formed_request_id_is_echoed(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let longest = "a".repeat(128);
        for id in ["client-7_a.B", "0", longest.as_str()] {
            let resp = app
                .request(Method::GET, "/healthz", None)
                .header("x-request-id", id)
                .send()
                .await;
            assert_eq!(request_id(&resp.expect("response")), id);
        }
    }
}

backend_test! {
    async fn a_malformed_request_id_is_replaced_by_a_generated_one(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let (too_long, much_too_long) = ("a".repeat(129), "x".repeat(300));
        for id in [
            "",
            "has spaces",
            "semi;colon",
            "a/b",
            too_long.as_str(),
            much_too_long.as_str(),
        ] {
            let resp = app
                .request(Method::GET, "/healthz", None)
                .header("x-request-id", id)
                .send()
                .await;
            let got = request_id(&resp.expect("response"));
            assert_ne!(got, id);
            assert_generated(&got);
        }
    }
}

backend_test! {
    async fn a_request_id_is_generated_when_absent(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let first = request_id(&app.get("/healthz", None).await);
        let second = request_id(&app.get("/healthz", None).await);
        assert_generated(&first);
        assert_generated(&second);
        assert_ne!(first, second);
    }
}

backend_test! {
    async fn error_responses_carry_the_request_id(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let key = Some(app.api_key.as_str());
        let cases = [
            (
                Method::POST,
                "/v2/rooms".to_owned(),
                None,
                "{}".to_owned(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::GET,
                "/nowhere".into(),
                None,
                String::new(),
                StatusCode::NOT_FOUND,
            ),
            (
                Method::GET,
                format!("/v2/rooms/{}", Uuid::new_v4()),
                key,
                String::new(),
                StatusCode::NOT_FOUND,
            ),
            (
                Method::PUT,
                "/v2/rooms".into(),
                key,
                "{}".into(),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                Method::POST,
                "/v2/rooms".into(),
                key,
                "[".into(),
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                Scheme::Original.refresh_path(&room),
                None,
                r#"{"refresh_token":"x.y.z"}"#.into(),
                StatusCode::FORBIDDEN,
            ),
            (
                Method::POST,
                Scheme::Original.create_path(&room),
                key,
                r#"{"ttl_secs":1}"#.into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ];
        for (i, (method, path, key, body, status)) in cases.into_iter().enumerate() {
            let id = format!("error-case-{i}");
            let resp = app
                .request(method.clone(), &path, key)
                .header("x-request-id", &id)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .expect("response");
            assert_eq!(request_id(&resp), id, "{method} {path}");
            assert_error_shape(resp, status).await;
        }
    }
}

backend_test! {
    async fn browsers_may_send_and_read_the_request_id(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let path = Scheme::Current.refresh_path(&Uuid::new_v4().to_string());
        let preflight = app
            .request(Method::OPTIONS, &path, None)
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,x-request-id",
            )
            .send()
            .await
            .expect("response");
        let allowed = preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        assert!(allowed.contains("x-request-id"), "{allowed}");

        let resp = app
            .request(Method::POST, &path, None)
            .header(header::ORIGIN, "https://app.example")
            .json(&json!({"refresh_token": "x"}))
            .send()
            .await
            .expect("response");
        let exposed = resp.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap();
        assert!(exposed.contains("x-request-id"), "{exposed}");
    }
}

backend_test! {
    async fn metrics_are_served_on_the_api_listener_only_when_asked(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        // Something to count, so a scrape would show a refusal's reason.
        let room = app.new_room().await;
        assert_eq!(
            app.refresh_token(Scheme::Original, &room, "junk").await.status(),
            StatusCode::FORBIDDEN
        );

        let public = app.get("/metrics", None).await;
        let error = assert_error_shape(public, StatusCode::NOT_FOUND).await;
        assert_eq!(error["code"], "10005");
        let scraped = scrape(&app.metrics_address).await;
        assert!(scraped.value("roomgate_tokens_rejected_total", &[("reason", "malformed")]) >= 1.0);

        let config = Config {
            metrics_on_api_listener: true,
            ..Config::default()
        };
        let exposed = TestApp::spawn_with(backend, config).await;
        let scraped = scrape(&exposed.address).await;
        assert_eq!(scraped.value("roomgate_build_info", &[]), 1.0);
    }
}
