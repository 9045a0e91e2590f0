//! Request-body decoding on arbitrary bytes: the server's JSON body reader, then every field parser the
//! handlers apply (TTLs, room fields). Errors are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roomgate_server::{
    domain::{self, AccessTtl, MaxParticipants, RefreshTtl, UniqueName, WebhookTimeout, WebhookUrl},
    extract::JsonBody,
};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let body = JsonBody(data.to_vec().into());
    let Ok(map) = body.object() else { return };
    for name in ["ttl_secs", "token_ttl_secs"] {
        if let Ok(ttl) = AccessTtl::parse(&map, name) {
            assert!((AccessTtl::MIN..=AccessTtl::MAX).contains(&ttl.get()));
        }
    }
    if let Ok(ttl) = RefreshTtl::parse(&map, "refresh_token_ttl_secs") {
        assert!((RefreshTtl::MIN..=RefreshTtl::MAX).contains(&ttl.get()));
    }
    if let Ok(n) = MaxParticipants::parse(&map, "max_participants") {
        assert!((MaxParticipants::MIN..=MaxParticipants::MAX).contains(&n.get()));
    }
    if let Ok(Some(t)) = WebhookTimeout::parse(&map, "webhook_timeout_secs") {
        assert!((WebhookTimeout::MIN..=WebhookTimeout::MAX).contains(&t.get()));
    }
    let _ = domain::bool_field(&map, "enable_recording");
    if let Some(Value::String(s)) = map.get("unique_name") {
        if let Ok(name) = UniqueName::parse(s) {
            assert!(!name.into_inner().is_empty());
        }
    }
    for field in ["webhook_event_url", "webhook_event_failover_url"] {
        if let Some(Value::String(s)) = map.get(field) {
            let _ = WebhookUrl::parse(s, field);
        }
    }
    if let Some(Value::String(s)) = map.get("refresh_token") {
        let _ = roomgate_token::decode_unverified(s);
    }
});
