//! Header members: `kid` values, key-pointing members that must never be followed, `crit`, duplicates.
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use super::{b64, Format, Target};

#[tokio::test]
async fn unknown_or_hostile_kids_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        let kids = [
            json!("unknown"),
            json!(""),
            json!("../../dev/null"),
            json!("/etc/passwd"),
            json!("' OR 1=1 --"),
            json!("\"; DROP TABLE signing_keys; --"),
            json!(format!("{}\u{0}", target.kid())),
            json!(target.kid().to_uppercase()),
            json!(format!(" {}", target.kid())),
            json!("k".repeat(10 * 1024)),
            json!(null),
            json!(1),
            json!([target.kid()]),
            json!({ "kid": target.kid() }),
        ];
        for kid in kids {
            let header =
                json!({ "alg": target.alg_typ().0, "typ": target.alg_typ().1, "kid": kid }).to_string();
            target.assert_rejected(&target.sign(&header, &payload)).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn jku_and_x5u_are_rejected_and_never_fetched() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let payload = target.payload_with(|_| {});
        for member in ["jku", "x5u"] {
            for with_kid in [true, false] {
                let mut header = json!({ "alg": target.alg_typ().0, "typ": target.alg_typ().1, member: url });
                if with_kid {
                    header["kid"] = json!(target.kid());
                }
                target
                    .assert_rejected(&target.sign(&header.to_string(), &payload))
                    .await;
            }
        }
        let connected = tokio::time::timeout(Duration::from_millis(500), listener.accept()).await;
        assert!(connected.is_err(), "the server connected to a jku/x5u URL");
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn embedded_keys_and_certificates_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        // Our own public key, embedded: honouring it would let anyone embed theirs.
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(target.key.verifying_key().to_bytes()) });
        let members = [
            ("jwk", jwk),
            ("x5c", json!(["MIIBszCCAVmgAwIBAgIUJ"])),
            ("x5t", json!("dGh1bWJwcmludA")),
            ("x5t#S256", json!("dGh1bWJwcmludA")),
        ];
        for (member, value) in members {
            let header = json!({ "alg": target.alg_typ().0, "typ": target.alg_typ().1, "kid": target.kid(), member: value });
            target
                .assert_rejected(&target.sign(&header.to_string(), &payload))
                .await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn crit_is_forbidden_known_or_not() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        for crit in [json!(["exp"]), json!(["x-unknown"]), json!([]), json!("b64")] {
            let header = json!({ "alg": target.alg_typ().0, "typ": target.alg_typ().1, "kid": target.kid(), "crit": crit, "x-unknown": 1 });
            target
                .assert_rejected(&target.sign(&header.to_string(), &payload))
                .await;
        }
        let b64_false = json!({ "alg": target.alg_typ().0, "typ": target.alg_typ().1, "kid": target.kid(), "b64": false, "crit": ["b64"] });
        target
            .assert_rejected(&target.sign(&b64_false.to_string(), &payload))
            .await;
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn duplicate_header_members_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        let kid = &target.kid();
        let (alg, typ) = target.alg_typ();
        let headers = [
            format!(r#"{{"alg":"none","alg":"{alg}","typ":"{typ}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"{alg}","alg":"{alg}","typ":"{typ}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"{alg}","typ":"{typ}","kid":"unknown","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"{alg}","typ":"{typ}","kid":"{kid}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"{alg}","typ":"JWT","typ":"{typ}","kid":"{kid}"}}"#),
        ];
        for header in &headers {
            target.assert_rejected(&target.sign(header, &payload)).await;
        }
        target.assert_store_unchanged().await;
    }
}

#[tokio::test]
async fn headers_that_are_not_objects_are_forbidden() {
    let mut target = Target::new().await;
    for format in Format::BOTH {
        target.format = format;
        let payload = target.payload_with(|_| {});
        let trailing = format!("{} {{}}", target.header());
        for header in ["[]", "\"EdDSA\"", "\"HS256\"", "null", "{", "{}", &trailing] {
            target.assert_rejected(&target.sign(header, &payload)).await;
        }
        target.assert_store_unchanged().await;
    }
}
