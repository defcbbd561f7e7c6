//! `GET /metrics` for Prometheus, behind a bearer token, and what the GraphQL endpoint records.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppContext;
use crate::metrics::{
    GRAPHQL_DURATION, GRAPHQL_REQUESTS, POOL_CONNECTIONS, POOL_MAX, POOL_WAITING,
};

pub fn record_operation(operation: String, outcome: &'static str, elapsed: Duration) {
    metrics::counter!(GRAPHQL_REQUESTS, "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(GRAPHQL_DURATION, "operation" => operation, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// Whether the request carries the metrics token (compared as digests, in constant time
/// with respect to the token's content).
fn authorised(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(given.as_bytes()) == Sha256::digest(token.as_bytes())
}

/// `GET /metrics`: 404 when no token is configured, 401 without the right one.
pub async fn scrape(State(app): State<AppContext>, headers: HeaderMap) -> Response {
    let Some(token) = &app.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorised(&headers, token) {
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    let pool = app.state.db.pool_status();
    let in_use = pool.size.saturating_sub(pool.available);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.available as f64);
    metrics::gauge!(POOL_MAX).set(pool.max_size as f64);
    metrics::gauge!(POOL_WAITING).set(pool.waiting as f64);
    let handle = crate::metrics::handle();
    handle.run_upkeep();
    (
        [
            (CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
        .into_response()
}
