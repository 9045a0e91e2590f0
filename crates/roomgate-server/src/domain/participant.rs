//! Who a token is for, from a create body: `identity`, `name`, `metadata` and `permissions` (roomgate's
//! extension). A body with none of them gets Telnyx's token, exactly as before.
use roomgate_token::{Participant, Permissions, Source, Sources, NO_SUBJECT};
use serde_json::{Map, Value};

use crate::error::{ApiError, InvalidCode};

/// Longest `identity`, in bytes of UTF-8.
pub const IDENTITY_MAX_BYTES: usize = 256;
/// Longest `name`, in bytes of UTF-8.
pub const NAME_MAX_BYTES: usize = 256;
/// Longest `metadata`, in bytes of UTF-8.
pub const METADATA_MAX_BYTES: usize = 4096;

/// The members of `permissions`, in the order the documentation lists them.
pub const PERMISSION_MEMBERS: [&str; 8] = [
    "can_publish",
    "can_publish_sources",
    "can_subscribe",
    "can_publish_data",
    "can_update_metadata",
    "hidden",
    "recorder",
    "room_admin",
];

/// The participant a create body names, or `None` when it names none (null counts as absent).
pub fn parse(body: &Map<String, Value>) -> Result<Option<Participant>, ApiError> {
    let present = |name: &str| body.get(name).filter(|v| !v.is_null());
    let (identity, name, metadata, permissions) = (
        present("identity"),
        present("name"),
        present("metadata"),
        present("permissions"),
    );
    if identity.is_none() && name.is_none() && metadata.is_none() && permissions.is_none() {
        return Ok(None);
    }
    let identity = identity
        .map(|v| label(v, "identity", IDENTITY_MAX_BYTES))
        .transpose()?;
    if identity.as_deref() == Some(NO_SUBJECT) {
        return Err(ApiError::field(
            InvalidCode::OutOfRange,
            "identity",
            "identity must not be the string \"null\": tokens without an identity carry it as their subject.",
        ));
    }
    Ok(Some(Participant {
        identity,
        name: name.map(|v| label(v, "name", NAME_MAX_BYTES)).transpose()?,
        metadata: metadata.map(metadata_value).transpose()?,
        permissions: permissions
            .map(parse_permissions)
            .transpose()?
            .unwrap_or_default(),
    }))
}

/// A string of 1..=`max` bytes without control characters.
pub(crate) fn label(value: &Value, field: &str, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::field(
            InvalidCode::WrongType,
            field,
            format!("{field} must be a string."),
        ));
    };
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(ApiError::field(
            InvalidCode::OutOfRange,
            field,
            format!("{field} must be 1 to {max} bytes of UTF-8 without control characters."),
        ));
    }
    Ok(s.clone())
}

fn metadata_value(value: &Value) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::field(
            InvalidCode::WrongType,
            "metadata",
            "metadata must be a string (serialize structured data to JSON text first).",
        ));
    };
    if s.len() > METADATA_MAX_BYTES {
        return Err(ApiError::field(
            InvalidCode::OutOfRange,
            "metadata",
            format!("metadata must be at most {METADATA_MAX_BYTES} bytes of UTF-8."),
        ));
    }
    Ok(s.clone())
}

fn parse_permissions(value: &Value) -> Result<Permissions, ApiError> {
    let Value::Object(members) = value else {
        return Err(ApiError::field(
            InvalidCode::WrongType,
            "permissions",
            "permissions must be an object.",
        ));
    };
    let mut p = Permissions::default();
    for (member, value) in members {
        let pointer = format!("/permissions/{}", escape_pointer(member));
        if member == "can_publish_sources" {
            if !value.is_null() {
                p.can_publish_sources = sources(value, &pointer)?;
            }
            continue;
        }
        let flag = match member.as_str() {
            "can_publish" => &mut p.can_publish,
            "can_subscribe" => &mut p.can_subscribe,
            "can_publish_data" => &mut p.can_publish_data,
            "can_update_metadata" => &mut p.can_update_metadata,
            "hidden" => &mut p.hidden,
            "recorder" => &mut p.recorder,
            "room_admin" => &mut p.room_admin,
            // A misspelt permission must not silently leave the default in force.
            _ => {
                return Err(ApiError::at(
                    InvalidCode::OutOfRange,
                    pointer,
                    format!(
                        "permissions has no member of that name; the permissions are {}.",
                        PERMISSION_MEMBERS.join(", ")
                    ),
                ))
            }
        };
        match value {
            Value::Null => {}
            Value::Bool(b) => *flag = *b,
            _ => {
                return Err(ApiError::at(
                    InvalidCode::WrongType,
                    pointer,
                    format!("permissions.{member} must be a boolean."),
                ))
            }
        }
    }
    Ok(p)
}

fn sources(value: &Value, pointer: &str) -> Result<Sources, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::at(
            InvalidCode::WrongType,
            pointer.to_owned(),
            "permissions.can_publish_sources must be an array of strings.",
        ));
    };
    let mut set = Sources::NONE;
    for (i, item) in items.iter().enumerate() {
        let at = || format!("{pointer}/{i}");
        let Value::String(name) = item else {
            return Err(ApiError::at(
                InvalidCode::WrongType,
                at(),
                "each of permissions.can_publish_sources must be a string.",
            ));
        };
        let source = Source::parse(name).ok_or_else(|| {
            ApiError::at(
                InvalidCode::OutOfRange,
                at(),
                "a source is one of camera, microphone, screen_share, screen_share_audio.",
            )
        })?;
        if !set.insert(source) {
            return Err(ApiError::at(
                InvalidCode::OutOfRange,
                at(),
                format!("permissions.can_publish_sources names {source} twice."),
            ));
        }
    }
    Ok(set)
}

/// A member name as a JSON pointer reference token (RFC 6901: `~` as `~0`, `/` as `~1`).
fn escape_pointer(member: &str) -> String {
    member.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(v: Value) -> Result<Option<Participant>, ApiError> {
        parse(v.as_object().expect("an object"))
    }

    fn refusal(v: Value) -> (InvalidCode, String) {
        match parsed(v) {
            Err(ApiError::Invalid {
                code,
                location: crate::error::Location::Pointer(p),
                ..
            }) => (code, p),
            other => panic!("expected a 422 with a pointer, got {other:?}"),
        }
    }

    #[test]
    fn no_member_or_only_nulls_is_no_participant() {
        assert_eq!(parsed(json!({})).unwrap(), None);
        assert_eq!(parsed(json!({"ttl_secs": 60, "other": 1})).unwrap(), None);
        assert_eq!(
            parsed(json!({"identity": null, "name": null, "metadata": null, "permissions": null})).unwrap(),
            None
        );
    }

    #[test]
    fn an_empty_permissions_object_is_a_participant_with_the_defaults() {
        let p = parsed(json!({"permissions": {}})).unwrap().unwrap();
        assert_eq!(p.permissions, Permissions::V1);
        assert_eq!((p.identity, p.name, p.metadata), (None, None, None));
    }

    #[test]
    fn labels_are_bounded_in_bytes() {
        for field in ["identity", "name"] {
            let ok = parsed(json!({ field: "é".repeat(128) })).unwrap().unwrap();
            assert_eq!(ok.identity.or(ok.name).unwrap().len(), 256);
            let pointer = format!("/{field}");
            for bad in [
                json!("é".repeat(128) + "x"),
                json!(""),
                json!("a\u{7}b"),
                json!("a\nb"),
            ] {
                assert_eq!(
                    refusal(json!({ field: bad })),
                    (InvalidCode::OutOfRange, pointer.clone())
                );
            }
            for bad in [json!(1), json!(true), json!(["a"]), json!({})] {
                assert_eq!(
                    refusal(json!({ field: bad })),
                    (InvalidCode::WrongType, pointer.clone())
                );
            }
        }
        assert_eq!(refusal(json!({"identity": "null"})).1, "/identity");
    }

    #[test]
    fn metadata_is_bounded_and_may_be_empty() {
        assert_eq!(
            parsed(json!({"metadata": ""}))
                .unwrap()
                .unwrap()
                .metadata
                .unwrap(),
            ""
        );
        assert!(parsed(json!({"metadata": "\u{1}".repeat(4096)})).is_ok());
        assert_eq!(
            refusal(json!({"metadata": "x".repeat(4097)})),
            (InvalidCode::OutOfRange, "/metadata".into())
        );
        assert_eq!(
            refusal(json!({"metadata": {"seat": 3}})),
            (InvalidCode::WrongType, "/metadata".into())
        );
    }

    #[test]
    fn permissions_members_types_and_sources() {
        let p = parsed(json!({"permissions": {
            "can_publish": false, "can_subscribe": false, "can_publish_data": false,
            "can_update_metadata": true, "hidden": true, "recorder": true, "room_admin": true,
            "can_publish_sources": ["screen_share", "camera"],
        }}))
        .unwrap()
        .unwrap()
        .permissions;
        assert!(!p.can_publish && !p.can_subscribe && !p.can_publish_data);
        assert!(p.can_update_metadata && p.hidden && p.recorder && p.room_admin);
        assert_eq!(
            p.can_publish_sources.iter().collect::<Vec<_>>(),
            [Source::Camera, Source::ScreenShare]
        );
        let cases = [
            (
                json!({"can_publish": "yes"}),
                InvalidCode::WrongType,
                "/permissions/can_publish",
            ),
            (
                json!({"room_admin": 1}),
                InvalidCode::WrongType,
                "/permissions/room_admin",
            ),
            (
                json!({"can_publish_sources": "camera"}),
                InvalidCode::WrongType,
                "/permissions/can_publish_sources",
            ),
            (
                json!({"can_publish_sources": ["camera", 3]}),
                InvalidCode::WrongType,
                "/permissions/can_publish_sources/1",
            ),
            (
                json!({"can_publish_sources": ["camera", "camera"]}),
                InvalidCode::OutOfRange,
                "/permissions/can_publish_sources/1",
            ),
            (
                json!({"can_publish_sources": ["Camera"]}),
                InvalidCode::OutOfRange,
                "/permissions/can_publish_sources/0",
            ),
            (
                json!({"can_publsh": false}),
                InvalidCode::OutOfRange,
                "/permissions/can_publsh",
            ),
            (
                json!({"a/b~c": true}),
                InvalidCode::OutOfRange,
                "/permissions/a~1b~0c",
            ),
        ];
        for (permissions, code, pointer) in cases {
            assert_eq!(
                refusal(json!({ "permissions": permissions })),
                (code, pointer.to_owned()),
                "{permissions}"
            );
        }
        assert_eq!(
            refusal(json!({"permissions": [true]})),
            (InvalidCode::WrongType, "/permissions".into())
        );
        let empty = parsed(json!({"permissions": {"can_publish_sources": []}}))
            .unwrap()
            .unwrap();
        assert!(empty.permissions.can_publish_sources.is_empty());
    }
}
