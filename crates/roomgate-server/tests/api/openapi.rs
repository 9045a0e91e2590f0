//! The generated OpenAPI document: served as generated, complete, and faithful to Telnyx's published one where
//! the original endpoints are concerned (`telnyx-rooms-openapi-excerpt.yaml` beside this file: an MIT-licensed excerpt
//! of Telnyx's public OpenAPI document, kept in the repository so a clone anywhere tests the same).
use roomgate_store::backend_test;
use std::collections::BTreeSet;

use reqwest::{header, StatusCode};
use serde_json::Value;

use crate::harness::{json_body, TestApp};

/// The excerpt of Telnyx's published document the original endpoints are checked against.
const REFERENCE: &str = include_str!("telnyx-rooms-openapi-excerpt.yaml");

fn reference() -> Value {
    serde_norway::from_str(REFERENCE).expect("the reference is valid YAML")
}

fn ours() -> Value {
    serde_json::to_value(roomgate_server::openapi()).expect("the document serializes")
}

/// Follows `$ref`s, and looks through `oneOf: [null, X]` (how an optional member is written in 3.1) to `X`.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {r}"));
            v = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
        } else if let Some([a, b]) = v.get("oneOf").and_then(Value::as_array).map(Vec::as_slice) {
            v = if a["type"] == "null" { b } else { a };
        } else {
            return v;
        }
    }
}

/// The JSON types a schema allows, `null` aside (3.1 writes optional members as `["integer", "null"]`).
fn types(schema: &Value) -> BTreeSet<String> {
    let t = &schema["type"];
    let all: Vec<&Value> = t.as_array().map_or_else(|| vec![t], |a| a.iter().collect());
    all.into_iter()
        .filter_map(Value::as_str)
        .filter(|t| *t != "null")
        .map(str::to_owned)
        .collect()
}

/// The reference's formats that mean something: `datetime` is its spelling of `date-time`; `jwt`, `int` and
/// `json-pointer` are free-form notes.
fn format(schema: &Value) -> Option<&str> {
    match schema["format"].as_str()? {
        "datetime" => Some("date-time"),
        "jwt" | "int" | "json-pointer" => None,
        f => Some(f),
    }
}

/// Names under today's Telnyx scheme of the original names.
fn current_name(name: &str) -> &str {
    match name {
        "ttl_secs" => "token_ttl_secs",
        "access_token" => "token",
        "access_token_expires_at" => "token_expires_at",
        other => other,
    }
}

/// Compares schema `r` (in `rdoc`) with `o` (in `odoc`): the same types, and wherever the reference says so,
/// the same format, bounds, default and required members, recursively; `rename` maps member names.
fn compare(at: &str, rdoc: &Value, r: &Value, odoc: &Value, o: &Value, rename: fn(&str) -> &str) {
    let (r, o) = (resolve(rdoc, r), resolve(odoc, o));
    if r.get("type").is_some() {
        assert_eq!(types(r), types(o), "{at}: type");
    }
    if let Some(f) = format(r) {
        assert_eq!(Some(f), o["format"].as_str(), "{at}: format");
    }
    for keyword in ["minimum", "maximum", "default"] {
        if let Some(want) = r.get(keyword) {
            assert_eq!(o.get(keyword), Some(want), "{at}: {keyword}");
        }
    }
    if let Some(required) = r.get("required").and_then(Value::as_array) {
        let got = o["required"].as_array().cloned().unwrap_or_default();
        for name in required.iter().filter_map(Value::as_str) {
            assert!(
                got.contains(&Value::from(rename(name))),
                "{at}: {name} is required"
            );
        }
    }
    if let Some(properties) = r.get("properties").and_then(Value::as_object) {
        for (name, rp) in properties {
            let op = o["properties"]
                .get(rename(name))
                .unwrap_or_else(|| panic!("{at}: no member {}", rename(name)));
            compare(&format!("{at}.{name}"), rdoc, rp, odoc, op, rename);
        }
    }
    if let Some(items) = r.get("items") {
        compare(&format!("{at}[]"), rdoc, items, odoc, &o["items"], rename);
    }
}

/// Compares an error response: the reference writes some as the `Errors` envelope and some (403, 404) as one
/// bare `Error`, which is how clients generated from it decode them; ours is always the envelope with the first
/// error's `code`, `title` and `detail` repeated at the top level, so both readings find them.
fn compare_error(at: &str, rdoc: &Value, r: &Value, odoc: &Value, o: &Value) {
    let bare = resolve(rdoc, &rdoc["components"]["schemas"]["Error"]);
    if resolve(rdoc, r) == bare {
        let mut top = bare.clone();
        let properties = top["properties"].as_object_mut().expect("Error's members");
        properties.retain(|name, _| ["code", "title", "detail"].contains(&name.as_str()));
        assert_eq!(
            properties.len(),
            3,
            "{at}: the reference's Error has code, title and detail"
        );
        compare(at, rdoc, &top, odoc, o, |n| n);
    } else {
        compare(at, rdoc, r, odoc, o, |n| n);
    }
}

fn json_schema<'a>(doc: &'a Value, holder: &'a Value) -> &'a Value {
    &resolve(doc, holder)["content"]["application/json"]["schema"]
}

fn success_statuses(op: &Value) -> BTreeSet<&str> {
    let responses = op["responses"].as_object().expect("responses");
    responses
        .keys()
        .map(String::as_str)
        .filter(|s| s.starts_with('2'))
        .collect()
}

/// Compares one reference operation with ours at `path` (ours are under `/v2`).
fn compare_operation(
    rdoc: &Value,
    odoc: &Value,
    rpath: &str,
    method: &str,
    path: &str,
    rename: fn(&str) -> &str,
    errors_compared: &mut Vec<String>,
) {
    let at = format!("{} {path}", method.to_uppercase());
    let r = &rdoc["paths"][rpath][method];
    let o = odoc["paths"][path]
        .get(method)
        .unwrap_or_else(|| panic!("{at} is not in the document"));

    assert_eq!(success_statuses(r), success_statuses(o), "{at}: success statuses");
    for (status, rresp) in r["responses"].as_object().expect("responses") {
        if status.starts_with('2') && rresp.get("content").is_some() {
            let oresp = &o["responses"][status];
            let name = format!("{at} {status}");
            compare(
                &name,
                rdoc,
                json_schema(rdoc, rresp),
                odoc,
                json_schema(odoc, oresp),
                rename,
            );
        }
    }
    // An error status the server never answers with (403 from an API-key route: a bad key is 401) is not ours
    // to document; every one both documents name must have the same shape.
    for (status, rresp) in r["responses"].as_object().expect("responses") {
        if let (false, Some(oresp)) = (status.starts_with('2'), o["responses"].get(status)) {
            let name = format!("{at} {status}");
            compare_error(
                &name,
                rdoc,
                json_schema(rdoc, rresp),
                odoc,
                json_schema(odoc, oresp),
            );
            errors_compared.push(name);
        }
    }
    if let Some(rbody) = r.get("requestBody") {
        let obody = o
            .get("requestBody")
            .unwrap_or_else(|| panic!("{at}: no request body"));
        let name = format!("{at} body");
        compare(
            &name,
            rdoc,
            json_schema(rdoc, rbody),
            odoc,
            json_schema(odoc, obody),
            rename,
        );
    }
    let params = |op: &Value, place: &str| -> Vec<Value> {
        let all = op["parameters"].as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|p| p["in"] == place).collect()
    };
    for rp in params(r, "query") {
        let name = rp["name"].as_str().expect("a name");
        let op = params(o, "query")
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{at}: no query parameter {name}"));
        assert_eq!(rp["required"], op["required"], "{at} {name}: required");
        compare(
            &format!("{at} ?{name}"),
            rdoc,
            &rp["schema"],
            odoc,
            &op["schema"],
            rename,
        );
    }
    // The reference names DELETE's path parameter `id` although its template says `{room_id}`; the template is
    // what a client sends, so that is what is compared.
    for template in path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
    {
        let p = params(o, "path")
            .into_iter()
            .find(|p| p["name"] == template)
            .unwrap_or_else(|| panic!("{at}: no path parameter {template}"));
        assert_eq!(p["required"], true, "{at} {template}");
        assert_eq!(resolve(odoc, &p["schema"])["format"], "uuid", "{at} {template}");
    }
    if let Some(security) = r.get("security") {
        assert_eq!(o.get("security"), Some(security), "{at}: security");
    }
}

#[test]
fn seed_endpoints_match_the_telnyx_reference() {
    let (rdoc, odoc) = (reference(), ours());
    let (mut compared, mut errors) = (0, Vec::new());
    for (rpath, item) in rdoc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            let path = format!("/v2{rpath}");
            compare_operation(&rdoc, &odoc, rpath, method, &path, |n| n, &mut errors);
            compared += 1;
        }
    }
    assert_eq!(compared, 6, "every operation of the excerpt was compared");
    errors.sort();
    assert_eq!(
        errors,
        [
            "DELETE /v2/rooms/{room_id} 404",
            "GET /v2/rooms/{room_id} 404",
            "POST /v2/rooms 422",
            "POST /v2/rooms/{room_id}/actions/refresh_access_token 403",
        ],
        "the error responses compared"
    );
}

#[test]
fn todays_token_endpoints_match_the_original_ones_under_their_names() {
    let (rdoc, odoc) = (reference(), ours());
    for (seed, current) in [
        ("create_access_token", "generate_join_client_token"),
        ("refresh_access_token", "refresh_client_token"),
    ] {
        let rpath = format!("/rooms/{{room_id}}/actions/{seed}");
        let path = format!("/v2/rooms/{{room_id}}/actions/{current}");
        compare_operation(&rdoc, &odoc, &rpath, "post", &path, current_name, &mut Vec::new());
    }
}

#[test]
fn bearer_scheme_is_telnyx_s_and_only_public_operations_waive_it() {
    let (rdoc, odoc) = (reference(), ours());
    let scheme = &rdoc["components"]["securitySchemes"]["bearerAuth"];
    let ours = &odoc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&ours["type"], &ours["scheme"]),
        (&scheme["type"], &scheme["scheme"])
    );
    assert_eq!(odoc["security"], serde_json::json!([{ "bearerAuth": [] }]));

    let public: BTreeSet<&str> = [
        "/v2/rooms/{room_id}/actions/refresh_access_token",
        "/v2/rooms/{room_id}/actions/refresh_client_token",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/v2/openapi.json",
    ]
    .into();
    for (path, item) in odoc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let waived = op.get("security") == Some(&serde_json::json!([]));
            assert_eq!(
                waived,
                public.contains(path.as_str()),
                "{method} {path}: security"
            );
            assert_eq!(
                op["responses"].get("401").is_some(),
                !waived,
                "{method} {path}: 401"
            );
        }
    }
}

#[test]
fn every_route_is_documented_and_every_error_is_a_telnyx_error_body() {
    let doc = ours();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            operations.insert(format!("{} {path}", method.to_uppercase()));
            // The server-wide request time limit applies to every route.
            assert!(op["responses"].get("408").is_some(), "{method} {path}: 408");
            for (status, response) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = json_schema(&doc, response);
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/Errors",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let want: BTreeSet<String> = [
        "POST /v2/rooms",
        "GET /v2/rooms",
        "GET /v2/rooms/{room_id}",
        "PATCH /v2/rooms/{room_id}",
        "DELETE /v2/rooms/{room_id}",
        "POST /v2/rooms/{room_id}/actions/create_access_token",
        "POST /v2/rooms/{room_id}/actions/refresh_access_token",
        "POST /v2/rooms/{room_id}/actions/generate_join_client_token",
        "POST /v2/rooms/{room_id}/actions/refresh_client_token",
        "POST /v2/rooms/{room_id}/actions/revoke_tokens",
        "GET /v2/rooms/{room_id}/revocations",
        "GET /v2/revocations",
        "POST /v2/tokens/introspect",
        "GET /v2/room_sessions",
        "GET /v2/rooms/{room_id}/sessions",
        "GET /v2/room_sessions/{room_session_id}",
        "GET /v2/room_sessions/{room_session_id}/participants",
        "POST /v2/room_sessions/{room_session_id}/actions/end",
        "POST /v2/room_sessions/{room_session_id}/actions/kick",
        "POST /v2/room_sessions/{room_session_id}/actions/mute",
        "POST /v2/room_sessions/{room_session_id}/actions/unmute",
        "GET /v2/room_participants",
        "POST /v2/room_participants",
        "GET /v2/room_participants/{room_participant_id}",
        "POST /v2/room_participants/{room_participant_id}/actions/leave",
        "POST /v2/room_participants/actions/renew",
        "GET /v2/room_commands",
        "GET /v2/webhook_public_key",
        "GET /.well-known/jwks.json",
        "GET /healthz",
        "GET /readyz",
        "GET /v2/openapi.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(operations, want);
    let errors = resolve(&doc, &doc["components"]["schemas"]["Errors"]);
    let error = resolve(&doc, &errors["properties"]["errors"]["items"]);
    assert_eq!(error["required"], serde_json::json!(["code", "title"]));
}

/// A bound as the document writes it: `minimum`, `maximum`, `default` (null when absent).
type Bounds = (Value, Value, Value);

/// The bounds the server applies: what the domain types say.
fn server<const MIN: i64, const MAX: i64, const DEFAULT: i64>(
    _: roomgate_server::domain::Defaulted<MIN, MAX, DEFAULT>,
) -> Bounds {
    (MIN.into(), MAX.into(), DEFAULT.into())
}

/// The same bounds with no default: a member that is optional without one (a PATCH leaves it as it is).
fn no_default((min, max, _): Bounds) -> Bounds {
    (min, max, Value::Null)
}

/// utoipa's `minimum`/`maximum`/`default` take literals only, so the constants cannot be written into the
/// document: this compares every bound it publishes with the server's, and the numbers its descriptions
/// repeat, so a change on either side fails here.
#[test]
fn request_bounds_and_defaults_are_the_server_s() {
    use roomgate_server::domain::{
        revocation::{FeedLimit, FeedWait},
        AccessTtl, MaxParticipants, PageNumber, PageSize, RefreshTtl, WebhookTimeout,
    };
    let doc = ours();
    let bounds = |v: &Value| -> Bounds { (v["minimum"].clone(), v["maximum"].clone(), v["default"].clone()) };
    let access = server(AccessTtl::default_value());
    let refresh = server(RefreshTtl::default_value());
    let participants = server(MaxParticipants::default_value());
    let timeout: Bounds = (
        WebhookTimeout::MIN.into(),
        WebhookTimeout::MAX.into(),
        Value::Null,
    );
    let members = [
        ("CreateAccessTokenRequest", "ttl_secs", access.clone()),
        ("GenerateClientTokenRequest", "token_ttl_secs", access.clone()),
        ("RefreshAccessTokenRequest", "ttl_secs", access.clone()),
        ("RefreshClientTokenRequest", "token_ttl_secs", access.clone()),
        (
            "CreateAccessTokenRequest",
            "refresh_token_ttl_secs",
            refresh.clone(),
        ),
        ("GenerateClientTokenRequest", "refresh_token_ttl_secs", refresh),
        ("CreateRoomRequest", "max_participants", participants.clone()),
        (
            "UpdateRoomRequest",
            "max_participants",
            no_default(participants.clone()),
        ),
        ("Room", "max_participants", no_default(participants)),
        ("CreateRoomRequest", "webhook_timeout_secs", timeout.clone()),
        ("UpdateRoomRequest", "webhook_timeout_secs", timeout.clone()),
        ("Room", "webhook_timeout_secs", timeout),
    ];
    for (schema, name, want) in members {
        let member = &doc["components"]["schemas"][schema]["properties"][name];
        assert_eq!(bounds(member), want, "{schema}.{name}");
        let description = member["description"].as_str().unwrap_or_default();
        let range = format!("{}..={}", want.0, want.1);
        assert!(
            description.contains(&range),
            "{schema}.{name}: {description:?} should say {range}"
        );
        if !want.2.is_null() {
            let default = format!("default {}", want.2);
            assert!(
                description.contains(&default),
                "{schema}.{name}: {description:?} should say {default}"
            );
        }
    }
    let page = [
        ("page[number]", server(PageNumber::default_value())),
        ("page[size]", server(PageSize::default_value())),
    ];
    let params = [
        ("/v2/rooms", &page[..]),
        ("/v2/rooms/{room_id}/revocations", &page[..]),
        (
            "/v2/revocations",
            &[
                ("wait", server(FeedWait::default_value())),
                ("limit", server(FeedLimit::default_value())),
            ][..],
        ),
    ];
    for (path, expected) in params {
        let list = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        for (name, want) in expected {
            let param = list
                .iter()
                .find(|p| p["name"] == *name)
                .unwrap_or_else(|| panic!("GET {path} has no {name}"));
            assert_eq!(&bounds(&param["schema"]), want, "GET {path} {name}");
        }
    }
}

backend_test! {
    async fn the_served_document_is_the_generated_one(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let resp = app.get("/v2/openapi.json", None).await;
        let content_type = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        let served = json_body(resp, StatusCode::OK).await;

        assert_eq!(content_type, "application/json");
        assert_eq!(served, ours());
    }
}

backend_test! {
    async fn docs_page_and_its_assets_come_from_the_server(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;

        let page = app.get("/docs/", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        // Every script and stylesheet is the server's own: nothing is fetched from elsewhere.
        for absolute in ["http://", "https://", "//cdn", "unpkg", "jsdelivr"] {
            assert!(!html.contains(&format!("src=\"{absolute}")), "{html}");
            assert!(!html.contains(&format!("href=\"{absolute}")), "{html}");
        }
        let init = app
            .get("/docs/swagger-initializer.js", None)
            .await
            .text()
            .await
            .unwrap();
        assert!(init.contains("/v2/openapi.json"), "{init}");
        for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
            let resp = app.get(&format!("/docs/{asset}"), None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{asset}");
            assert!(
                resp.bytes().await.unwrap().len() > 10_000,
                "{asset} is the real thing"
            );
        }
        let bare = app.client.get(app.url("/docs")).send().await.unwrap();
        assert_eq!(bare.status(), StatusCode::OK, "/docs redirects to /docs/");
    }
}

#[test]
fn the_participant_extension_is_documented_with_the_server_s_bounds_and_defaults() {
    use roomgate_server::domain::participant::{
        IDENTITY_MAX_BYTES, METADATA_MAX_BYTES, NAME_MAX_BYTES, PERMISSION_MEMBERS,
    };
    let doc = ours();
    for schema in ["CreateAccessTokenRequest", "GenerateClientTokenRequest"] {
        let member = |name: &str| doc["components"]["schemas"][schema]["properties"][name].clone();
        let lengths = |v: &Value| (v["minLength"].clone(), v["maxLength"].clone());
        assert_eq!(
            lengths(&member("identity")),
            (1.into(), IDENTITY_MAX_BYTES.into())
        );
        assert_eq!(lengths(&member("name")), (1.into(), NAME_MAX_BYTES.into()));
        assert_eq!(member("metadata")["maxLength"], METADATA_MAX_BYTES);
        for name in ["identity", "name", "metadata", "permissions"] {
            // An optional object member is `oneOf: [null, {$ref, description}]`.
            let m = member(name);
            let described = m["oneOf"].as_array().and_then(|o| o.last()).unwrap_or(&m);
            let description = described["description"].as_str().unwrap_or_default().to_owned();
            assert!(
                description.starts_with("roomgate extension"),
                "{schema}.{name}: {description}"
            );
        }
        let permissions_member = member("permissions");
        let permissions = resolve(&doc, &permissions_member);
        let properties = permissions["properties"]
            .as_object()
            .expect("permissions members");
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let mut want = PERMISSION_MEMBERS.to_vec();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want, "{schema}");
        for (name, default) in [
            ("can_publish", true),
            ("can_subscribe", true),
            ("can_publish_data", true),
            ("can_update_metadata", false),
            ("hidden", false),
            ("recorder", false),
            ("room_admin", false),
        ] {
            assert_eq!(properties[name]["default"], default, "{name}");
        }
        assert_eq!(
            permissions["additionalProperties"], false,
            "unknown permissions are refused"
        );
        assert_eq!(properties["can_publish_sources"]["uniqueItems"], true);
        for name in ["identity", "name"] {
            let pattern = member(name)["pattern"].as_str().unwrap_or_default().to_owned();
            assert_eq!(
                pattern, r"^[^\u0000-\u001f\u007f-\u009f]+$",
                "{name}: no control characters"
            );
        }
        let sources = resolve(&doc, &properties["can_publish_sources"]["items"]);
        assert_eq!(
            sources["enum"],
            serde_json::json!(["camera", "microphone", "screen_share", "screen_share_audio"])
        );
    }
}

backend_test! {
    async fn docs_page_sends_headers_that_keep_pasted_api_keys_in_it(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let bare = app
            .client
            .get(app.url("/docs"))
            .send()
            .await
            .unwrap();
        for path in [
            "/docs/",
            "/docs/index.html",
            "/docs/swagger-initializer.js",
            "/docs/swagger-ui-bundle.js",
            "/docs/swagger-ui.css",
        ] {
            let resp = app.get(path, None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let h = resp.headers();
            let one = |name: &str| {
                let values: Vec<_> = h.get_all(name).iter().map(|v| v.to_str().unwrap()).collect();
                assert_eq!(values.len(), 1, "{path}: one {name}, got {values:?}");
                values[0].to_owned()
            };
            let csp = one("content-security-policy");
            let directives: Vec<_> = csp.split(';').map(str::trim).collect();
            for wanted in [
                "default-src 'none'",
                "script-src 'self'",
                "connect-src 'self'",
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "object-src 'none'",
            ] {
                assert!(directives.contains(&wanted), "{path}: {wanted} in {csp}");
            }
            assert!(!csp.contains("unsafe-eval"), "{csp}");
            let script = directives.iter().find(|d| d.starts_with("script-src")).unwrap();
            assert!(!script.contains("unsafe-inline"), "{csp}");
            assert_eq!(one("x-frame-options"), "DENY", "{path}");
            assert_eq!(one("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(one("referrer-policy"), "no-referrer", "{path}");
        }
        // The redirect from /docs and the final page both carry them.
        assert_eq!(bare.status(), StatusCode::OK);
        assert!(bare.headers().contains_key("content-security-policy"));
    }
}

#[test]
fn the_document_speaks_of_the_original_names_not_of_a_seed() {
    // The API document the project started from is "the original"; readers of the API never saw a "seed".
    let text = ours().to_string().to_lowercase();
    assert!(!text.contains("seed"), "the served document says \"seed\"");
    assert!(text.contains("the original names"));
}
