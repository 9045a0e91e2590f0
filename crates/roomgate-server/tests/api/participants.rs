//! Who is joining (roomgate's extension of the create bodies): identity, name, metadata and permissions in
//! version 2 tokens; Telnyx's version 1 token, byte for byte, when a request names none of them.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::StatusCode;
use roomgate_store::backend_test;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    harness::{assert_error, json_body, string, Scheme, TestApp},
    jwt::{decode, with_claims},
};

/// The payload of a token exactly as signed.
fn payload_bytes(token: &str) -> String {
    let segment = token.split('.').nth(1).expect("three segments");
    String::from_utf8(URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("UTF-8")
}

/// The one account subject every token of the default key carries.
fn subject(token: &str) -> String {
    string(&decode(token).claims["grants"][0]["subjects"][0])
}

/// What a token of the version 1 shape must be, to the byte, given its varying values. A refresh token also
/// names the API key that minted it (`minted_by`), first.
fn v1_payload(token: &str, typ: &str, room: &str, minted_by: Option<Uuid>) -> String {
    let c = decode(token).claims;
    let key = minted_by.map_or(String::new(), |id| format!(r#""api_key_id":"{id}","#));
    format!(
        r#"{{{key}"aud":"telnyx_access_token","exp":{},"grants":[{{"actions":["join"],"resources":["telnyx:video:rooms:{room}"],"subjects":["{}"]}}],"grants_version":"1.0.0","iat":{},"iss":"telnyx_access_token","jti":"{}","nbf":{},"sub":"null","typ":"{typ}"}}"#,
        c["exp"],
        subject(token),
        c["iat"],
        string(&c["jti"]),
        c["nbf"],
    )
}

#[tokio::test]
async fn without_the_extension_tokens_are_todays_byte_for_byte() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    for scheme in Scheme::BOTH {
        for body in [
            json!({}),
            // Nulls count as absent, and members roomgate does not know stay ignored, as before.
            json!({"identity": null, "name": null, "metadata": null, "permissions": null, "role": "admin"}),
        ] {
            let minted = app.mint(scheme, &room, &body).await;
            assert_eq!(
                payload_bytes(&minted.access),
                v1_payload(&minted.access, "access", &room, None)
            );
            assert_eq!(
                payload_bytes(&minted.refresh),
                v1_payload(&minted.refresh, "refresh", &room, Some(app.api_key_id))
            );
            let resp = app.refresh_token(scheme, &room, &minted.refresh).await;
            let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
            let refreshed = string(&data[scheme.token_field()]);
            assert_eq!(
                payload_bytes(&refreshed),
                v1_payload(&refreshed, "access", &room, None)
            );
        }
    }
}

#[tokio::test]
async fn with_the_extension_tokens_are_version_2_exactly_as_specified() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let body = json!({
        "identity": "alice@example.com",
        "name": "Alice \"A\" Liddell",
        "metadata": "{\"seat\":3}",
        "permissions": {
            "can_publish": true,
            "can_publish_sources": ["screen_share_audio", "camera"],
            "can_subscribe": true,
            "can_publish_data": false,
            "can_update_metadata": true,
            "hidden": true,
            "recorder": true,
            "room_admin": true,
        },
    });
    for scheme in Scheme::BOTH {
        let minted = app.mint(scheme, &room, &body).await;
        for (token, typ) in [(&minted.access, "access"), (&minted.refresh, "refresh")] {
            let c = decode(token).claims;
            let key = match typ {
                "refresh" => format!(r#""api_key_id":"{}","#, app.api_key_id),
                _ => String::new(),
            };
            let expected = format!(
                r#"{{{key}"aud":"telnyx_access_token","exp":{},"grants":[{{"actions":["join","publish:camera","publish:screen_share_audio","subscribe","update_metadata","admin","record"],"resources":["telnyx:video:rooms:{room}"],"subjects":["{}"]}}],"grants_version":"2.0.0","hidden":true,"iat":{},"iss":"telnyx_access_token","jti":"{}","metadata":"{{\"seat\":3}}","name":"Alice \"A\" Liddell","nbf":{},"sub":"alice@example.com","typ":"{typ}"}}"#,
                c["exp"],
                subject(token),
                c["iat"],
                string(&c["jti"]),
                c["nbf"],
            );
            assert_eq!(payload_bytes(token), expected);
        }
    }
}

#[tokio::test]
async fn only_what_is_named_is_a_claim_and_the_defaults_fill_the_rest() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let cases = [
        (
            json!({"permissions": {}}),
            json!([
                "join",
                "publish:camera",
                "publish:microphone",
                "publish:screen_share",
                "publish:screen_share_audio",
                "subscribe",
                "publish_data"
            ]),
        ),
        (
            json!({"identity": "bob", "permissions": {"can_publish": false}}),
            json!(["join", "subscribe", "publish_data"]),
        ),
        (
            json!({"name": "Viewer", "permissions": {"can_publish_sources": []}}),
            json!(["join", "subscribe", "publish_data"]),
        ),
        (
            json!({"metadata": "", "permissions": {"can_subscribe": false, "can_publish_data": false, "can_publish_sources": ["microphone"]}}),
            json!(["join", "publish:microphone"]),
        ),
    ];
    for (body, actions) in cases {
        let c = decode(&app.mint(Scheme::Current, &room, &body).await.access).claims;
        assert_eq!(c["grants_version"], "2.0.0", "{body}");
        assert_eq!(c["grants"][0]["actions"], actions, "{body}");
        assert_eq!(
            c["sub"],
            body.get("identity").cloned().unwrap_or(json!("null")),
            "{body}"
        );
        assert_eq!(c.get("name"), body.get("name"), "{body}");
        assert_eq!(c.get("metadata"), body.get("metadata"), "{body}");
        assert!(c.get("hidden").is_none(), "hidden only when set: {c}");
    }
}

/// One body field set to `value`: 201, or 422 with `code` at `pointer`.
async fn check(app: &TestApp, room: &str, body: Value, refusal: Option<(&str, &str)>) {
    for scheme in Scheme::BOTH {
        let resp = app.create_token(scheme, room, &body).await;
        match refusal {
            None => {
                json_body(resp, StatusCode::CREATED).await;
            }
            Some((code, pointer)) => {
                assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, Some(pointer)).await;
            }
        }
    }
}

#[tokio::test]
async fn identity_and_name_are_bounded_at_256_bytes_without_control_characters() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    for field in ["identity", "name"] {
        let pointer = format!("/{field}");
        let p = Some(("10033", pointer.as_str()));
        check(&app, &room, json!({ field: "x" }), None).await;
        // 256 bytes in 128 two-byte characters: the bound is bytes, not characters.
        check(&app, &room, json!({ field: "é".repeat(128) }), None).await;
        check(&app, &room, json!({ field: "é".repeat(128) + "x" }), p).await;
        check(&app, &room, json!({ field: "x".repeat(257) }), p).await;
        check(&app, &room, json!({ field: "" }), p).await;
        check(&app, &room, json!({ field: "tab\there" }), p).await;
        check(&app, &room, json!({ field: "nul\u{0}" }), p).await;
        check(&app, &room, json!({ field: "del\u{7f}" }), p).await;
        let wrong = Some(("10026", pointer.as_str()));
        for bad in [json!(42), json!(true), json!(["alice"]), json!({"id": "alice"})] {
            check(&app, &room, json!({ field: bad }), wrong).await;
        }
    }
    check(
        &app,
        &room,
        json!({"identity": "null"}),
        Some(("10033", "/identity")),
    )
    .await;
}

#[tokio::test]
async fn metadata_is_at_most_4096_bytes_of_text() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    check(&app, &room, json!({"metadata": ""}), None).await;
    check(&app, &room, json!({"metadata": "m".repeat(4096)}), None).await;
    check(&app, &room, json!({"metadata": "€".repeat(1365) + "m"}), None).await;
    check(
        &app,
        &room,
        json!({"metadata": "m".repeat(4097)}),
        Some(("10033", "/metadata")),
    )
    .await;
    check(
        &app,
        &room,
        json!({"metadata": "€".repeat(1366)}),
        Some(("10033", "/metadata")),
    )
    .await;
    for bad in [json!({"seat": 3}), json!(3), json!(false), json!(["a"])] {
        check(
            &app,
            &room,
            json!({ "metadata": bad }),
            Some(("10026", "/metadata")),
        )
        .await;
    }
}

#[tokio::test]
async fn permissions_refuse_wrong_types_unknown_members_and_bad_sources() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let flags = [
        "can_publish",
        "can_subscribe",
        "can_publish_data",
        "can_update_metadata",
        "hidden",
        "recorder",
        "room_admin",
    ];
    for flag in flags {
        let pointer = format!("/permissions/{flag}");
        for ok in [json!(true), json!(false), Value::Null] {
            check(&app, &room, json!({"permissions": { flag: ok }}), None).await;
        }
        for bad in [json!("yes"), json!(1), json!([true]), json!({})] {
            let body = json!({"permissions": { flag: bad }});
            check(&app, &room, body, Some(("10026", pointer.as_str()))).await;
        }
    }
    for bad in [json!(true), json!("all"), json!([]), json!(1)] {
        check(
            &app,
            &room,
            json!({ "permissions": bad }),
            Some(("10026", "/permissions")),
        )
        .await;
    }
    // A misspelt permission would otherwise leave its default (here: publishing) in force.
    for (member, pointer) in [
        ("can_publsh", "/permissions/can_publsh"),
        ("canPublish", "/permissions/canPublish"),
        ("admin/x", "/permissions/admin~1x"),
    ] {
        let body = json!({"permissions": { member: false }});
        check(&app, &room, body, Some(("10033", pointer))).await;
    }
    let sources = "/permissions/can_publish_sources";
    check(&app, &room, json!({"permissions": {"can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"]}}), None).await;
    let cases = [
        (json!("camera"), "10026", sources.to_owned()),
        (json!({"camera": true}), "10026", sources.to_owned()),
        (json!(["camera", 1]), "10026", format!("{sources}/1")),
        (json!([null]), "10026", format!("{sources}/0")),
        (json!(["camera", "camera"]), "10033", format!("{sources}/1")),
        (
            json!(["microphone", "camera", "microphone"]),
            "10033",
            format!("{sources}/2"),
        ),
        (json!(["webcam"]), "10033", format!("{sources}/0")),
        (json!(["Camera"]), "10033", format!("{sources}/0")),
        (json!(["camera", "screen-share"]), "10033", format!("{sources}/1")),
    ];
    for (value, code, pointer) in cases {
        let body = json!({"permissions": {"can_publish_sources": value}});
        check(&app, &room, body, Some((code, pointer.as_str()))).await;
    }
}

#[tokio::test]
async fn the_largest_participant_still_mints_refreshes_and_verifies() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    // Every character at its bound escapes to the most JSON text it can.
    let body = json!({
        "identity": "\"".repeat(256),
        "name": "\\".repeat(256),
        "metadata": "\u{1}".repeat(4096),
        "permissions": {"can_update_metadata": true, "hidden": true, "recorder": true, "room_admin": true},
    });
    for scheme in Scheme::BOTH {
        let minted = app.mint(scheme, &room, &body).await;
        assert!(
            minted.refresh.len() <= roomgate_token::MAX_TOKEN_LEN,
            "{}",
            minted.refresh.len()
        );
        let resp = app.refresh_token(scheme, &room, &minted.refresh).await;
        let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
        let c = decode(&string(&data[scheme.token_field()])).claims;
        assert_eq!(c["metadata"], body["metadata"]);
        assert_eq!(c["sub"], body["identity"]);
    }
}

backend_test! {
    async fn a_refresh_keeps_exactly_the_participant_whatever_its_body_says(backend: Backend) {
        let app = TestApp::spawn_on(backend).await;
        let room = app.new_room().await;
        let body = json!({
            "identity": "carol",
            "name": "Carol",
            "metadata": "m",
            "permissions": {"can_publish": false, "can_publish_data": false, "hidden": true},
        });
        for scheme in Scheme::BOTH {
            let minted = app.mint(scheme, &room, &body).await;
            let original = decode(&minted.access).claims;
            let refresh = json!({
                "refresh_token": minted.refresh,
                // None of these may widen, narrow or rename anything.
                "identity": "mallory",
                "name": "Mallory",
                "metadata": "x",
                "permissions": {"room_admin": true, "can_publish": true, "hidden": false},
            });
            let resp = app.refresh(scheme, &room, &refresh).await;
            let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
            let c = decode(&string(&data[scheme.token_field()])).claims;
            for claim in ["grants_version", "sub", "name", "metadata", "hidden", "grants", "typ", "iss", "aud"] {
                assert_eq!(c[claim], original[claim], "{claim}: {c}");
            }
            assert_eq!(c["grants"][0]["actions"], json!(["join", "subscribe"]));
            assert_ne!(c["jti"], original["jti"]);
        }
    }
}

#[tokio::test]
async fn a_refresh_token_tampered_to_widen_its_permissions_is_refused_uniformly() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    let minted = app
        .mint(
            Scheme::Original,
            &room,
            &json!({"identity": "dave", "permissions": {"can_publish": false}}),
        )
        .await;
    let tampered = [
        with_claims(&minted.refresh, |c| {
            c["grants"][0]["actions"]
                .as_array_mut()
                .unwrap()
                .push(json!("admin"));
        }),
        with_claims(&minted.refresh, |c| {
            c["grants"][0]["actions"] = json!(["join", "publish:camera"])
        }),
        with_claims(&minted.refresh, |c| c["sub"] = json!("admin")),
        with_claims(&minted.refresh, |c| c["grants_version"] = json!("1.0.0")),
        with_claims(&minted.refresh, |c| {
            c.as_object_mut().unwrap().remove("hidden");
            c["hidden"] = json!(false);
        }),
    ];
    for token in tampered {
        for scheme in Scheme::BOTH {
            let resp = app.refresh_token(scheme, &room, &token).await;
            assert_error(resp, StatusCode::FORBIDDEN, "10010", None).await;
        }
    }
    // The genuine one still works.
    let resp = app.refresh_token(Scheme::Original, &room, &minted.refresh).await;
    json_body(resp, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_refreshed_access_token_never_outlives_its_refresh_token() {
    let app = TestApp::spawn().await;
    let room = app.new_room().await;
    for scheme in Scheme::BOTH {
        let body = json!({ scheme.ttl_field(): 3600, "refresh_token_ttl_secs": 60 });
        let minted = app.mint(scheme, &room, &body).await;
        let refresh_exp = decode(&minted.refresh).int("exp");
        let iat = decode(&minted.refresh).int("iat");
        let refresh = json!({ "refresh_token": minted.refresh, scheme.ttl_field(): 3600 });
        app.set_clock(iat + 50);
        let resp = app.refresh(scheme, &room, &refresh).await;
        let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
        let access = decode(&string(&data[scheme.token_field()]));
        assert_eq!(
            access.int("exp"),
            refresh_exp,
            "capped at the refresh token's exp"
        );
        assert_eq!(string(&data[scheme.expires_field()]), minted.refresh_expires_at);
        // Far from the refresh token's expiry, the requested lifetime is granted.
        app.set_clock(iat);
        let short =
            json!({ "refresh_token": decode(&minted.refresh).segments.join("."), scheme.ttl_field(): 20 });
        let resp = app.refresh(scheme, &room, &short).await;
        let data = json_body(resp, StatusCode::CREATED).await["data"].clone();
        let access = decode(&string(&data[scheme.token_field()]));
        assert_eq!(access.int("exp") - access.int("iat"), 20);
    }
}
