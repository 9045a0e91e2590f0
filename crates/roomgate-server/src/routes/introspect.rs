//! `POST /v2/tokens/introspect` (roomgate's extension): whether a token is active and, for the caller's own, why
//! not. The refresh endpoints keep their one uniform 403; this is the authenticated place to ask why.
use axum::{extract::State, Json};
use roomgate_types::{Data, Introspection};

use crate::{
    domain::introspection,
    error::ApiError,
    extract::{Account, JsonBody},
    observability, AppState,
};

#[utoipa::path(
    post,
    path = "/v2/tokens/introspect",
    tag = "Tokens",
    operation_id = "IntrospectToken",
    summary = "Introspect a token (roomgate extension)",
    description = "Whether an access or refresh token would be accepted now, in the spirit of RFC 7662. For a \
        token of one of the account's rooms (or of a room it deleted), the answer says what the token is and, \
        when it is not active, why (`reason`, and `detail` in words with numbers). Any other token, and text \
        that is no token, is `{\"active\": false}` and nothing else.",
    request_body(content = roomgate_types::IntrospectRequest, description = "The token."),
    responses(
        (status = 200, description = "Whether the token is active, and for the account's own tokens what it is \
            and why not.", body = Data<Introspection>),
        super::openapi::BodyErrors,
        super::openapi::KeyErrors,
    ),
)]
/// `POST /v2/tokens/introspect`.
pub(super) async fn introspect(
    State(app): State<AppState>,
    Account(caller): Account,
    body: JsonBody,
) -> Result<Json<Data<Introspection>>, ApiError> {
    let body = body.object()?;
    let token = introspection::token_field(&body)?;
    let answer = introspection::introspect(&app, caller, token).await?;
    let outcome = introspection::outcome(&answer);
    // Never the token, identity or name: bearer secrets and personal data.
    tracing::debug!(outcome, "token introspected");
    observability::token_introspected(outcome);
    Ok(Json(Data::new(answer)))
}
