//! The bridge's listener: `POST /join` for pages, `POST /janus-events` for Janus's HTTP event handler,
//! `GET /healthz`.

use std::{future::Future, time::Duration};

use axum::{
    extract::{rejection::JsonRejection, DefaultBodyLimit, FromRequest, Request, State},
    http::{header, Method},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::{error::ApiError, Bridge, Joined};

/// A JSON body whose rejection is an [`ApiError`] in roomgate's format.
struct Body<T>(T);

impl<S: Send + Sync, T> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinRequest {
    access_token: String,
}

async fn join(State(bridge): State<Bridge>, Body(body): Body<JoinRequest>) -> Result<Json<Joined>, ApiError> {
    bridge.join(&body.access_token).await.map(Json)
}

async fn janus_events(State(bridge): State<Bridge>, Body(body): Body<Value>) -> axum::http::StatusCode {
    // Janus waits for the answer before it posts the next batch: act on it in the background.
    tokio::spawn(async move { bridge.on_events(body).await });
    axum::http::StatusCode::NO_CONTENT
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// The bridge's routes. `/join` is called from pages of any origin (the token in the body is the credential;
/// no cookies), so it answers CORS preflights.
pub fn router(bridge: Bridge) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        // A public page may call a bridge on a private network (Chromium's Private Network Access preflights).
        .allow_private_network(true);
    let pages = Router::new()
        .route("/join", post(join))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(cors);
    let janus = Router::new()
        .route("/janus-events", post(janus_events))
        .layer(DefaultBodyLimit::max(4 * 1024 * 1024));
    Router::new()
        .merge(pages)
        .merge(janus)
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(bridge)
}

/// Serves the bridge on `listener` until `shutdown` completes, following roomgate's control feed and
/// reconciling with Janus meanwhile.
pub async fn serve(
    listener: TcpListener,
    bridge: Bridge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Tokens are refused until the revocation feed has been read once: read it now rather than at the first join.
    if let Err(e) = tokio::time::timeout(Duration::from_secs(5), bridge.inner.verifier.sync_revocations())
        .await
        .unwrap_or(Err(roomgate_verify::VerifyError::Config("timed out")))
    {
        tracing::warn!(error = %e, "roomgate's revocation feed could not be read yet");
    }
    let obeying = tokio::spawn({
        let bridge = bridge.clone();
        async move { bridge.obey().await }
    });
    let reconciling = tokio::spawn({
        let bridge = bridge.clone();
        let interval = bridge.inner.settings.reconcile_interval;
        async move { bridge.reconcile_every(interval).await }
    });
    let served = axum::serve(listener, router(bridge))
        .with_graceful_shutdown(shutdown)
        .await;
    obeying.abort();
    reconciling.abort();
    served
}
