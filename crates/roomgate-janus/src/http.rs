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
use tokio::{net::TcpListener, sync::mpsc};
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

/// How many batches of Janus events may wait for the bridge; past that they are dropped (the periodic check
/// against the Admin API catches up with what they said).
const EVENT_BATCHES_QUEUED: usize = 1024;

#[derive(Clone)]
struct Events(mpsc::Sender<Value>);

async fn janus_events(State(events): State<Events>, Body(body): Body<Value>) -> axum::http::StatusCode {
    // Janus waits for the answer before it posts the next batch: queue it, for one task to act on in order.
    if events.0.try_send(body).is_err() {
        tracing::warn!("too many Janus events queued: a batch is dropped");
    }
    axum::http::StatusCode::NO_CONTENT
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// The bridge's routes. `/join` is called from pages of any origin (the token in the body is the credential;
/// no cookies), so it answers CORS preflights. Call it within a tokio runtime: Janus's events are acted on by a
/// task of their own, which ends with the router.
pub fn router(bridge: Bridge) -> Router {
    let (queue, mut queued) = mpsc::channel::<Value>(EVENT_BATCHES_QUEUED);
    tokio::spawn({
        let bridge = bridge.clone();
        async move {
            while let Some(batch) = queued.recv().await {
                bridge.on_events(batch).await;
            }
        }
    });
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
        .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(Events(queue));
    Router::new()
        .merge(pages.with_state(bridge))
        .merge(janus)
        .route("/healthz", get(healthz))
        .fallback(not_found)
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
