//! The HTTP surface: GraphQL, the playground, health and readiness, calendar feeds, the
//! public double-opt-in and one-click unsubscribe pages.

mod calendar_feeds;
mod connectors;
mod consent;
mod credentials;
mod graphql_over_http;
mod playground;
mod unsubscribe;

mod headers;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::Settings;
use crate::graphql::limits::Limits;
use crate::graphql::query_cache::QueryCache;
use crate::graphql::{build_schema, AppSchema};

/// What every handler shares.
#[derive(Clone)]
pub struct AppContext {
    pub schema: AppSchema,
    /// The schema's parsed documents, by their text.
    pub queries: Arc<QueryCache>,
    pub state: Arc<AppState>,
    /// The most operations one batch may hold.
    pub max_batch_size: usize,
    /// How long one HTTP request may execute, all its operations together.
    pub request_timeout: Duration,
    /// The bearer token `GET /metrics` requires; `None` serves no metrics.
    pub metrics_token: Option<Arc<str>>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// The application's router, with the limits and HTTP policy of `settings`.
pub fn router(state: AppState, settings: &Settings) -> Router {
    let queries = Arc::new(QueryCache::default());
    let app = AppContext {
        schema: build_schema(
            state.clone(),
            &Limits::from_settings(settings),
            settings.otlp_endpoint.is_some(),
            queries.clone(),
        ),
        queries,
        state: Arc::new(state),
        max_batch_size: settings.max_batch_size,
        request_timeout: Duration::from_millis(settings.request_timeout_ms),
        metrics_token: settings.metrics_token.as_deref().map(Arc::from),
        trusted_proxies: settings.trusted_proxy_networks().into(),
    };
    if app.metrics_token.is_some() {
        // Installed before the first request, so nothing goes unrecorded.
        crate::metrics::handle();
    }
    let graphql = get(graphql_over_http::get)
        .post(graphql_over_http::post)
        .layer(headers::no_store());
    let routes = Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", graphql)
        .route("/playground/{file}", get(playground::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route(
            "/webhooks/{instance}",
            axum::routing::post(connectors::webhook),
        )
        .route("/oauth/callback", get(connectors::oauth_callback))
        .route(
            "/ical/{file}",
            get(calendar_feeds::feed).layer(headers::no_store()),
        )
        .route(
            "/consent/confirm/{token}",
            get(consent::show)
                .post(consent::confirm)
                .layer(headers::no_store()),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::show)
                .post(unsubscribe::unsubscribe)
                .layer(headers::no_store()),
        )
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes));
    // CORS inside the security headers, so its preflight answers carry them too.
    let routes = headers::cors(routes, &settings.cors_allowed_origins);
    let routes = headers::hsts(routes, settings.public_url.as_deref());
    headers::secure(routes)
        // A client that stops sending its body mid-way gets an error instead of a connection
        // held open for ever.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_secs(settings.body_read_timeout_seconds),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(record_status),
        )
        .with_state(app)
}

/// The trace span of one HTTP request: the method and path only, since a query string may
/// carry a GraphQL query and its variables.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        target: crate::telemetry::TRACE_TARGET,
        "http.request",
        otel.name = format!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = request.uri().path(),
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

fn record_status<B>(response: &axum::http::Response<B>, _latency: Duration, span: &tracing::Span) {
    span.record("http.response.status_code", response.status().as_u16());
    if response.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

/// The HTTP status of an error code (`extensions.code`): the one place they are matched, so
/// a server-side failure never answers 4xx or 200 where the status tells the outcome.
pub(crate) fn status_of(code: &str) -> StatusCode {
    match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "CONFLICT" => StatusCode::CONFLICT,
        "TOO_MANY_REQUESTS" => StatusCode::TOO_MANY_REQUESTS,
        "SERVICE_UNAVAILABLE" | "TIMEOUT" => StatusCode::SERVICE_UNAVAILABLE,
        "INTERNAL_SERVER_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
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
