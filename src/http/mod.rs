//! The HTTP surface: GraphQL, the playground, health and readiness.

mod authentication;
mod connectors;
mod graphql_over_http;

mod headers;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::graphql::limits::Limits;
use crate::graphql::{build_schema, AppSchema, AppState};

/// What every handler shares.
#[derive(Clone)]
pub struct AppContext {
    pub schema: AppSchema,
    pub state: Arc<AppState>,
    /// The most operations one batch may hold.
    pub max_batch_size: usize,
    /// How long one HTTP request may execute, all its operations together.
    pub request_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// The application's router, with the limits and HTTP policy of `settings`.
pub fn router(state: AppState, settings: &Settings) -> Router {
    let app = AppContext {
        schema: build_schema(state.clone(), &Limits::from_settings(settings)),
        state: Arc::new(state),
        max_batch_size: settings.max_batch_size,
        request_timeout: Duration::from_millis(settings.request_timeout_ms),
        trusted_proxies: settings.trusted_proxy_networks().into(),
    };
    let graphql = get(graphql_over_http::get)
        .post(graphql_over_http::post)
        .layer(headers::no_store());
    let routes = Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", graphql)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/webhooks/{instance}",
            axum::routing::post(connectors::webhook),
        )
        .route("/oauth/callback", get(connectors::oauth_callback))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes));
    // CORS inside the security headers, so its preflight answers carry them too.
    let routes = headers::cors(routes, &settings.cors_allowed_origins);
    let routes = headers::hsts(routes, settings.public_url.as_deref());
    headers::secure(routes)
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers too.
async fn readyz(State(app): State<AppContext>) -> impl IntoResponse {
    match app.state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unavailable" })),
            )
        }
    }
}
