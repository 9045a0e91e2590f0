//! Who may call: the account of a valid, unrevoked API key within its rate limit, and, for room routes, whether
//! the room is that account's. One home for it: the [`crate::extract::Account`] extractor and the token handlers
//! (whose one store read also answers the room question) both come here.
use std::net::IpAddr;

use roomgate_store::KeyAuth;
use uuid::Uuid;

use crate::{auth, error::ApiError, extract::BearerKey, observability, AppState};

/// What a request needs its key for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The account alone.
    Account,
    /// The account and one of its rooms.
    Room(Uuid),
}

/// Authorizes a request from `ip` presenting `key` (`None`: no usable `Authorization` header) for `scope`, in one
/// store read.
///
/// The order is the contract: a bad or missing key is 401 (and counts against the address), then the key's rate
/// limit (429), then a room that is not the account's is 404, so only a valid key learns whether a room exists.
pub async fn authorize(
    app: &AppState,
    ip: IpAddr,
    key: Option<&BearerKey>,
    scope: Scope,
) -> Result<KeyAuth, ApiError> {
    let found = match (key, scope) {
        (None, _) => None,
        (Some(BearerKey(secret)), Scope::Account) => app
            .store()
            .authenticate(&auth::hash(secret))
            .await?
            .map(|auth| (auth, true)),
        (Some(BearerKey(secret)), Scope::Room(room)) => {
            app.store().authorize_room(&auth::hash(secret), room).await?
        }
    };
    let (auth, room_is_the_account_s) = found.ok_or_else(|| app.limits().auth_failed_from(ip))?;
    observability::record_account(auth.account_id);
    app.limits().authenticated(auth.api_key_id)?;
    if !room_is_the_account_s {
        return Err(ApiError::NotFound("Room"));
    }
    Ok(auth)
}
