//! Revoking a room's tokens, listing a room's revocations, and the account's feed of them (roomgate's extension).
use std::time::Duration;

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    Json,
};
use roomgate_store::{NewRevocation, RevocationRecord, RevocationSelector, StoreError};
use roomgate_types::{Data, FeedMeta, Page, PageMeta, Revocation, RevocationFeed};
use uuid::Uuid;

use super::rooms::query_pairs;
use crate::{
    domain::{
        revocation::{self, decode_cursor, encode_cursor, FeedLimit, FeedWait},
        PageNumber, PageSize,
    },
    error::{ApiError, InvalidCode},
    extract::{Account, JsonBody, RoomIdPath},
    observability, timefmt, AppState,
};

/// The wire form of a stored revocation.
pub(crate) fn to_wire(record: RevocationRecord) -> Revocation {
    let r = record.revocation;
    let (mut jti, mut identity, mut issued_before) = (None, None, None);
    match r.selector {
        RevocationSelector::Jti(id) => jti = Some(id.to_string()),
        RevocationSelector::Identity(who) => identity = Some(who),
        RevocationSelector::IssuedBefore(at) => issued_before = Some(timefmt::micros_rfc3339(at)),
    }
    Revocation {
        record_type: "revocation".into(),
        id: r.id.to_string(),
        room_id: r.room_id.to_string(),
        jti,
        identity,
        issued_before,
        reason: r.reason,
        created_at: timefmt::micros_rfc3339(r.created_at),
        expires_at: timefmt::micros_rfc3339(r.expires_at),
    }
}

#[utoipa::path(
    post,
    path = "/v2/rooms/{room_id}/actions/revoke_tokens",
    tag = "Revocations",
    operation_id = "RevokeRoomTokens",
    summary = "Revoke tokens of a room (roomgate extension)",
    description = "Stops honouring one token (`jti`), every token of a participant issued until now (`identity`), \
        or every token of the room issued before an instant (`issued_before`). Refreshes of covered refresh tokens \
        are refused at once on every replica; media servers following `GET /v2/revocations` refuse covered access \
        tokens. Tokens minted afterwards work.",
    params(super::openapi::RoomIdParam),
    request_body(content = roomgate_types::RevokeTokensRequest, description = "Exactly one selector, and a reason."),
    responses(
        (status = 201, description = "The revocation.", body = Data<Revocation>),
        super::openapi::BodyErrors,
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
/// `POST /v2/rooms/{room_id}/actions/revoke_tokens`.
pub(super) async fn revoke(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(room_id): RoomIdPath,
    body: JsonBody,
) -> Result<(StatusCode, Json<Data<Revocation>>), ApiError> {
    let now = timefmt::unix_micros(app.now());
    let asked = revocation::parse(&body.object()?, now)?;
    let selector_name = asked.selector.name();
    let new = NewRevocation {
        id: Uuid::new_v4(),
        account_id: auth.account_id,
        room_id,
        expires_at: revocation::expires_at(&asked.selector, now),
        selector: asked.selector,
        reason: asked.reason,
        created_at: now,
    };
    let stored = app.store().insert_revocation(&new).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("Room"),
        other => other.into(),
    })?;
    // Never the identity or the reason at info level: they may be personal data.
    tracing::info!(%room_id, revocation = %new.id, selector = selector_name, "tokens revoked");
    observability::revocation_created(selector_name);
    Ok((StatusCode::CREATED, Json(Data::new(to_wire(stored)))))
}

/// The query's parameters named in `names`, decoded strictly; others are ignored.
pub(super) fn params<'a>(
    raw: Option<&'a str>,
    names: &'a [&'a str],
) -> impl Iterator<Item = Result<(String, String), ApiError>> + 'a {
    query_pairs(raw.unwrap_or_default()).filter_map(move |(key, value)| {
        let key = key.filter(|k| names.contains(&k.as_str()))?;
        Some(match value {
            Some(value) => Ok((key, value)),
            None => Err(ApiError::param(
                InvalidCode::WrongType,
                &key,
                format!("{key} must be UTF-8 text once percent-decoded."),
            )),
        })
    })
}

#[utoipa::path(
    get,
    path = "/v2/rooms/{room_id}/revocations",
    tag = "Revocations",
    operation_id = "ListRoomRevocations",
    summary = "List a room's revocations (roomgate extension)",
    description = "The room's revocations that can still matter (not yet expired), newest first, one page at a time.",
    params(super::openapi::RoomIdParam, super::openapi::PageParams),
    responses(
        (status = 200, description = "One page of revocations.", body = Page<Revocation>),
        (status = 422, description = "A parameter has the wrong type (10026) or is out of range (10033); \
            `source.parameter` names it.", body = roomgate_types::ErrorBody),
        super::openapi::RoomNotFound,
        super::openapi::KeyErrors,
    ),
)]
/// `GET /v2/rooms/{room_id}/revocations`.
pub(super) async fn list(
    State(app): State<AppState>,
    Account(auth): Account,
    RoomIdPath(room_id): RoomIdPath,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Revocation>>, ApiError> {
    let (mut number, mut size) = (PageNumber::default_value(), PageSize::default_value());
    for param in params(raw.as_deref(), &["page[number]", "page[size]"]) {
        let (key, value) = param?;
        match key.as_str() {
            "page[number]" => number = PageNumber::parse_param(&key, &value)?,
            _ => size = PageSize::parse_param(&key, &value)?,
        }
    }
    let (number, size) = (number.get() as u64, size.get() as u64);
    app.store().get_room(auth.account_id, room_id).await?;
    let now = timefmt::unix_micros(app.now());
    let (page, total) = app
        .store()
        .list_revocations(auth.account_id, room_id, now, size as u32, (number - 1) * size)
        .await?;
    Ok(Json(Page {
        data: page.into_iter().map(to_wire).collect(),
        meta: PageMeta {
            page_number: number,
            page_size: size,
            total_pages: total.div_ceil(size).max(1),
            total_results: total,
        },
    }))
}

#[utoipa::path(
    get,
    path = "/v2/revocations",
    tag = "Revocations",
    operation_id = "RevocationFeed",
    summary = "Follow the account's revocations (roomgate extension)",
    description = "The account's live revocations in one total order, after an opaque cursor (none: from the first \
        live one). With `wait`, answers as soon as one arrives, or empty after `wait` seconds (capped by the \
        server's request timeout). Pass `meta.next_cursor` as `after` next time. Media servers follow this to \
        refuse revoked access tokens (`roomgate-verify` does).",
    params(super::openapi::FeedParams),
    responses(
        (status = 200, description = "Revocations after the cursor, and the cursor to continue from.", body = RevocationFeed),
        (status = 422, description = "A parameter has the wrong type (10026) or is out of range (10033); \
            `source.parameter` names it.", body = roomgate_types::ErrorBody),
        super::openapi::KeyErrors,
    ),
)]
/// `GET /v2/revocations`: a long poll.
pub(super) async fn feed(
    State(app): State<AppState>,
    Account(auth): Account,
    RawQuery(raw): RawQuery,
) -> Result<Json<RevocationFeed>, ApiError> {
    let (after, wait, limit) = feed_params(raw.as_deref())?;
    let (wait, limit) = (wait.get() as u64, limit.get() as u32);
    let account = auth.account_id;
    let (page, next) = long_poll(&app, wait, || async {
        let now = timefmt::unix_micros(app.now());
        let (page, next) = app.store().revocation_feed(account, after, now, limit).await?;
        let found = !page.is_empty();
        Ok(((page, next), found))
    })
    .await?;
    observability::revocation_feed_answered(!page.is_empty());
    Ok(Json(RevocationFeed {
        data: page.into_iter().map(to_wire).collect(),
        meta: FeedMeta {
            next_cursor: encode_cursor(next),
        },
    }))
}

/// A feed request's `after`, `wait` and `limit`.
pub(super) fn feed_params(raw: Option<&str>) -> Result<(i64, FeedWait, FeedLimit), ApiError> {
    let (mut after, mut wait, mut limit) = (0i64, FeedWait::default_value(), FeedLimit::default_value());
    for param in params(raw, &["after", "wait", "limit"]) {
        let (key, value) = param?;
        match key.as_str() {
            "after" => {
                after = decode_cursor(&value).ok_or_else(|| {
                    ApiError::param(
                        InvalidCode::WrongType,
                        "after",
                        "after must be a cursor this server returned (meta.next_cursor).",
                    )
                })?
            }
            "wait" => wait = FeedWait::parse_param(&key, &value)?,
            _ => limit = FeedLimit::parse_param(&key, &value)?,
        }
    }
    Ok((after, wait, limit))
}

/// Reads with `read` until it finds something, `wait` seconds pass (capped below the request timeout) or the
/// server stops; woken by the store's feed signal, and re-reading every [`roomgate_store::REVOCATION_RECHECK`] in
/// case a signal was lost.
pub(super) async fn long_poll<T, F, Fut>(app: &AppState, wait: u64, mut read: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(T, bool), ApiError>>,
{
    // Answer before the request timeout would.
    let cap = app
        .config()
        .limits
        .request_timeout
        .saturating_sub(Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait).min(cap);
    // Subscribed before the first read, so a change stored between the read and the wait still wakes it.
    let mut signal = app.store().revocation_signal();
    signal.borrow_and_update();
    let mut stopping = app.stopping();
    loop {
        let (out, found) = read().await?;
        if found || tokio::time::Instant::now() >= deadline || *stopping.borrow() {
            return Ok(out);
        }
        let recheck = tokio::time::Instant::now() + roomgate_store::REVOCATION_RECHECK;
        tokio::select! {
            changed = signal.changed() => {
                if changed.is_err() {
                    // The store is gone; the next read says so.
                    tokio::time::sleep_until(deadline.min(recheck)).await;
                }
            }
            _ = stopping.changed() => {}
            () = tokio::time::sleep_until(deadline.min(recheck)) => {}
        }
    }
}
