//! The live room's requests: admitting a participant from its access token, moderation bodies, and the listing
//! queries of sessions and participants.
use roomgate_store::{
    Admission, Chosen, Moderation, ParticipantFilter, ParticipantRecord, RefreshCheck, SessionFilter,
    StoreError, TrackKind,
};
use roomgate_token::{TokenKind, Validation};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{date_filter, introspection, participant, PageNumber, PageSize};
use crate::{
    error::{ApiError, InvalidCode},
    timefmt, AppState,
};

/// Longest `context`, in bytes of UTF-8.
pub const CONTEXT_MAX_BYTES: usize = 1024;

/// Most participant ids in one request.
pub const MAX_IDS: usize = 1000;

/// How long a command stays in the control feed: a media server that was away longer resyncs from the API.
pub const COMMAND_RETENTION_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Why a token is not admitted, as `meta.reason` says it to the media server.
fn refused(reason: &'static str) -> ApiError {
    ApiError::NotAdmitted { reason }
}

/// Verifies `token` for an admission by `account_id` at the server's time, and makes the participant to store.
/// A token of another account's room (or of none) is refused as `invalid` and nothing more.
pub async fn admission(
    app: &AppState,
    account_id: Uuid,
    token: &str,
    context: Option<String>,
) -> Result<Admission, ApiError> {
    let Some(unverified) = introspection::decode(token) else {
        return Err(refused("invalid"));
    };
    let room_id = unverified.room_id;
    match app.store().get_room(account_id, room_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(refused("invalid")),
        Err(e) => return Err(e.into()),
    }
    let now = app.now();
    let config = app.config();
    let validation = Validation::new(TokenKind::Access)
        .issuer(&config.issuer)
        .audience(&config.audience)
        .room(room_id);
    let claims = app
        .keys()
        .verify(app.store(), token, &validation, now.unix_timestamp())
        .await
        .map_err(|e| refused(introspection::reason_label(introspection::reason(&e))))?;
    let who = claims.participant().ok_or_else(|| refused("invalid"))?;
    let facts = super::revocation::token_facts(&claims, room_id, who.identity.as_deref());
    match app.store().check_refresh(&facts, None).await? {
        RefreshCheck::Allowed => {}
        RefreshCheck::Revoked(_) => return Err(refused("revoked")),
        _ => return Err(refused("invalid")),
    }
    let jti = Uuid::try_parse(&claims.jti).map_err(|_| refused("invalid"))?;
    let now = timefmt::unix_micros(now);
    let lease = i64::try_from(config.participant_lease.as_micros()).unwrap_or(i64::MAX);
    let permissions = introspection::wire_permissions(&who.permissions);
    Ok(Admission {
        participant: ParticipantRecord {
            id: Uuid::new_v4(),
            account_id,
            room_id,
            session_id: Uuid::nil(),
            identity: who.identity,
            name: who.name,
            context,
            permissions: serde_json::to_string(&permissions)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            jti,
            token_iat: claims.iat,
            joined_at: now,
            updated_at: now,
            left_at: None,
            lease_expires_at: now.saturating_add(lease),
        },
        new_session_id: Uuid::new_v4(),
        command_expires_at: now.saturating_add(COMMAND_RETENTION_MICROS),
    })
}

/// An admission body's optional `context` (null counts as none).
pub fn context(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("context") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => participant::label(v, "context", CONTEXT_MAX_BYTES).map(Some),
    }
}

/// A list of participant ids at `/name`: UUIDs, at most [`MAX_IDS`].
pub fn id_list(value: &Value, name: &str) -> Result<Vec<Uuid>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a list of participant ids."),
        ));
    };
    if items.len() > MAX_IDS {
        return Err(ApiError::field(
            InvalidCode::OutOfRange,
            name,
            format!("{name} may name at most {MAX_IDS} participants."),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .and_then(|s| Uuid::try_parse(s).ok())
                .ok_or_else(|| {
                    ApiError::at(
                        InvalidCode::WrongType,
                        format!("/{name}/{i}"),
                        format!("{name}[{i}] must be a participant id (a UUID)."),
                    )
                })
        })
        .collect()
}

/// The chosen participants of a `kick`, `mute` or `unmute` body: `participants` is `"all"` or a list of ids.
fn chosen(body: &Map<String, Value>) -> Result<Chosen, ApiError> {
    let exclude = match body.get("exclude") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => id_list(v, "exclude")?,
    };
    match body.get("participants") {
        None | Some(Value::Null) => Err(ApiError::field(
            InvalidCode::Missing,
            "participants",
            "participants is required: \"all\" or a list of participant ids.",
        )),
        Some(Value::String(s)) if s == "all" => Ok(Chosen::All { exclude }),
        Some(Value::String(_)) => Err(ApiError::field(
            InvalidCode::OutOfRange,
            "participants",
            "participants must be \"all\" or a list of participant ids.",
        )),
        Some(v) => Ok(Chosen::Only {
            ids: id_list(v, "participants")?,
            exclude,
        }),
    }
}

/// `kinds` of a mute or unmute body: both when absent.
fn kinds(body: &Map<String, Value>) -> Result<Vec<TrackKind>, ApiError> {
    let items = match body.get("kinds") {
        None | Some(Value::Null) => return Ok(vec![TrackKind::Audio, TrackKind::Video]),
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            return Err(ApiError::field(
                InvalidCode::WrongType,
                "kinds",
                "kinds must be a non-empty list of \"audio\" and \"video\".",
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let kind = item.as_str().and_then(TrackKind::parse).ok_or_else(|| {
            ApiError::at(
                InvalidCode::OutOfRange,
                format!("/kinds/{i}"),
                "each kind must be \"audio\" or \"video\".",
            )
        })?;
        if out.contains(&kind) {
            return Err(ApiError::at(
                InvalidCode::OutOfRange,
                format!("/kinds/{i}"),
                "each kind may be given once.",
            ));
        }
        out.push(kind);
    }
    Ok(out)
}

/// A session action, from its name and body.
pub fn moderation(action: &str, body: &Map<String, Value>) -> Result<Moderation, ApiError> {
    Ok(match action {
        "end" => Moderation::End,
        "kick" => Moderation::Kick(chosen(body)?),
        "mute" => Moderation::Mute(chosen(body)?, kinds(body)?),
        _ => Moderation::Unmute(chosen(body)?, kinds(body)?),
    })
}

/// A listing's page and its filters, read from its query.
#[derive(Debug, Clone)]
pub struct Listing<F> {
    /// 1-based.
    pub page_number: u64,
    /// Rows a page.
    pub page_size: u32,
    /// Which rows.
    pub filter: F,
    /// Sessions: with their participants.
    pub include_participants: bool,
}

impl<F> Listing<F> {
    /// The offset of the page's first row.
    pub fn offset(&self) -> u64 {
        (self.page_number - 1) * u64::from(self.page_size)
    }
}

fn bool_param(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::param(
            InvalidCode::WrongType,
            key,
            format!("{key} must be true or false."),
        )),
    }
}

fn uuid_param(key: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value)
        .map_err(|_| ApiError::param(InvalidCode::WrongType, key, format!("{key} must be a UUID.")))
}

/// Reads the page and the parameters every listing shares; `other` reads the rest (true if it knew the key).
fn listing<F: Default>(
    pairs: impl Iterator<Item = Result<(String, String), ApiError>>,
    mut other: impl FnMut(&str, &str, &mut F, &mut bool) -> Result<bool, ApiError>,
) -> Result<Listing<F>, ApiError> {
    let mut q = Listing {
        page_number: PageNumber::DEFAULT as u64,
        page_size: PageSize::DEFAULT as u32,
        filter: F::default(),
        include_participants: false,
    };
    for pair in pairs {
        let (key, value) = pair?;
        match key.as_str() {
            "page[number]" => q.page_number = PageNumber::parse_param(&key, &value)?.get() as u64,
            "page[size]" => q.page_size = PageSize::parse_param(&key, &value)?.get() as u32,
            _ => {
                other(&key, &value, &mut q.filter, &mut q.include_participants)?;
            }
        }
    }
    Ok(q)
}

/// `GET /v2/room_sessions` and `GET /v2/rooms/{id}/sessions`; unknown parameters are ignored.
pub fn session_listing(
    pairs: impl Iterator<Item = Result<(String, String), ApiError>>,
) -> Result<Listing<SessionFilter>, ApiError> {
    listing(pairs, |key, value, f: &mut SessionFilter, include| {
        Ok(match key {
            "filter[room_id]" => {
                f.room_id = Some(uuid_param(key, value)?);
                true
            }
            "filter[active]" => {
                f.active = Some(bool_param(key, value)?);
                true
            }
            "include_participants" => {
                *include = bool_param(key, value)?;
                true
            }
            _ => {
                date_filter(key, value, "created_at", &mut f.created)?
                    || date_filter(key, value, "updated_at", &mut f.updated)?
                    || date_filter(key, value, "ended_at", &mut f.ended)?
            }
        })
    })
}

/// `GET /v2/room_participants` and `GET /v2/room_sessions/{id}/participants`; unknown parameters are ignored.
pub fn participant_listing(
    pairs: impl Iterator<Item = Result<(String, String), ApiError>>,
) -> Result<Listing<ParticipantFilter>, ApiError> {
    listing(pairs, |key, value, f: &mut ParticipantFilter, _| {
        Ok(match key {
            "filter[session_id]" => {
                f.session_id = Some(uuid_param(key, value)?);
                true
            }
            "filter[context]" => {
                f.context = Some(value.to_owned());
                true
            }
            _ => {
                date_filter(key, value, "joined_at", &mut f.joined)?
                    || date_filter(key, value, "updated_at", &mut f.updated)?
                    || date_filter(key, value, "left_at", &mut f.left)?
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn participants_are_all_or_ids() {
        let id = Uuid::new_v4();
        assert_eq!(
            chosen(&body(json!({"participants": "all", "exclude": [id.to_string()]}))).unwrap(),
            Chosen::All { exclude: vec![id] }
        );
        assert_eq!(
            chosen(&body(json!({"participants": [id.to_string()]}))).unwrap(),
            Chosen::Only {
                ids: vec![id],
                exclude: vec![]
            }
        );
        for bad in [
            json!({}),
            json!({"participants": "some"}),
            json!({"participants": 3}),
            json!({"participants": ["x"]}),
        ] {
            assert_eq!(chosen(&body(bad)).unwrap_err().status(), 422);
        }
        let many: Vec<String> = (0..=MAX_IDS).map(|_| Uuid::new_v4().to_string()).collect();
        assert_eq!(
            chosen(&body(json!({"participants": many}))).unwrap_err().status(),
            422
        );
    }

    #[test]
    fn kinds_default_to_both_and_are_checked() {
        assert_eq!(
            kinds(&Map::new()).unwrap(),
            vec![TrackKind::Audio, TrackKind::Video]
        );
        assert_eq!(
            kinds(&body(json!({"kinds": ["video"]}))).unwrap(),
            vec![TrackKind::Video]
        );
        for bad in [
            json!([]),
            json!(["screen"]),
            json!(["audio", "audio"]),
            json!("audio"),
        ] {
            assert!(kinds(&body(json!({ "kinds": bad }))).is_err());
        }
    }

    #[test]
    fn date_filters_make_half_open_ranges() {
        let mut bounds = (None, None);
        assert!(date_filter(
            "filter[date_joined_at][eq]",
            "2026-12-01",
            "joined_at",
            &mut bounds
        )
        .unwrap());
        let day = timefmt::date_start_micros("2026-12-01").unwrap();
        assert_eq!(bounds, (Some(day), Some(day + timefmt::DAY_MICROS)));
        assert!(!date_filter(
            "filter[date_joined_at][ne]",
            "2026-12-01",
            "joined_at",
            &mut bounds
        )
        .unwrap());
        assert!(date_filter(
            "filter[date_joined_at][gte]",
            "12/01/2026",
            "joined_at",
            &mut bounds
        )
        .is_err());
    }
}
