//! The HTTP surface: GraphQL, the playground, health and readiness.

mod graphql_over_http;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::graphql::{build_schema, AppSchema, AppState};

/// What every handler shares.
#[derive(Clone)]
pub struct AppContext {
    pub schema: AppSchema,
    pub state: Arc<AppState>,
}

/// The application's router; `body_limit` caps request bodies in bytes.
pub fn router(state: AppState, body_limit: usize) -> Router {
    let app = AppContext {
        schema: build_schema(state.clone()),
        state: Arc::new(state),
    };
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route(
            "/graphql",
            get(graphql_over_http::get).post(graphql_over_http::post),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(body_limit))
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
