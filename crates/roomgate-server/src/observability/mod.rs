//! What operators see: a request id on every response, one log line per request, and Prometheus metrics.
//!
//! Every request runs inside a `request` span carrying `method`, `route` (the template, never the raw path),
//! `request_id` and, once an API key authenticated, `account_id`; everything logged while handling it carries
//! them too. Tokens, API keys and bodies are never logged.
pub mod metrics;
mod request_id;
mod store;

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
};
use tracing::{field, Instrument};
use uuid::Uuid;

pub use metrics::{
    client_ip_header_unusable, connection_closed, count_dropped_log_lines, metrics_router, rate_limited,
    revocation_created, revocation_feed_answered, serve_metrics, token_introspected, token_minted,
    token_refreshed, token_rejected,
};
pub use request_id::{RequestId, X_REQUEST_ID};
pub use store::InstrumentedStore;

/// The route label of a request that matched no route: raw paths would be unbounded (and may hold ids).
const UNMATCHED: &str = "unmatched";

/// Middleware around every route: request id, request span, log line and HTTP metrics.
pub(crate) async fn observe(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = RequestId::from_headers(req.headers());
    let method = method_label(req.method());
    // A cheap clone (the template is shared), kept for the span and the metrics after the request is gone.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %id,
        account_id = field::Empty,
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let latency = start.elapsed();
    let status = response.status();
    response.headers_mut().insert(X_REQUEST_ID, id.header_value());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            // Whole microseconds: enough, and no float noise in the line.
            latency_ms = latency.as_micros() as f64 / 1000.0,
            "request"
        )
    });
    metrics::http_request(method, route, status, latency);
    response
}

/// Records the authenticated account into the current request's span (and so into its log line).
pub fn record_account(account_id: Uuid) {
    tracing::Span::current().record("account_id", field::display(account_id));
}

/// The method as a label; unknown methods share one, so a client cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
