//! The connectors' HTTP endpoints: inbound webhooks (`POST /webhooks/{instance}`, signed with
//! HMAC over the raw body: `X-Lexgate-Signature`, or `Stripe-Signature` for a stripe instance) and the OAuth redirect back from a provider (`GET /oauth/callback`).
//! Neither takes a bearer token: the signature and the one-time `state` authenticate them.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::AppContext;
use crate::sync::service::{WebhookError, WebhookOutcome};

pub async fn webhook(
    State(app): State<AppContext>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let header = move |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, message) = match app
        .state
        .sync
        .receive_webhook(&instance, &header, &body)
        .await
    {
        Ok(WebhookOutcome::Accepted) => (StatusCode::ACCEPTED, "accepted"),
        Ok(WebhookOutcome::Duplicate) => (StatusCode::OK, "duplicate"),
        // The same answer as a bad signature, so instance names cannot be guessed.
        Err(WebhookError::Unknown) => {
            tracing::warn!(%instance, "webhook for an unknown instance refused");
            (StatusCode::UNAUTHORIZED, "invalid signature")
        }
        Err(WebhookError::Signature(error)) => {
            tracing::warn!(%instance, %error, "webhook refused");
            (StatusCode::UNAUTHORIZED, "invalid signature")
        }
        Err(WebhookError::Malformed) => (StatusCode::BAD_REQUEST, "malformed event"),
        Err(WebhookError::Database(error)) => {
            tracing::error!(%instance, %error, "webhook not recorded");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    };
    (status, Json(json!({ "status": message })))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn oauth_callback(
    State(app): State<AppContext>,
    Query(callback): Query<Callback>,
) -> impl IntoResponse {
    let (Some(code), Some(state)) = (callback.code, callback.state) else {
        let reason = callback.error.unwrap_or_else(|| "no code".into());
        // The provider's error code only (e.g. access_denied), never echoed beyond a word.
        let reason: String = reason
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect();
        return (
            StatusCode::BAD_REQUEST,
            format!("The authorisation was not granted ({reason})."),
        );
    };
    match app.state.sync.finish_authorization(&state, &code).await {
        Ok(instance) => (
            StatusCode::OK,
            format!(
                "Connector {} is authorised. You may close this page.",
                instance.name
            ),
        ),
        Err(error) if error.code() == "BAD_USER_INPUT" => {
            tracing::warn!(%error, "OAuth callback refused");
            (
                StatusCode::BAD_REQUEST,
                "The authorisation failed or expired; start it again.".to_owned(),
            )
        }
        Err(error) => {
            tracing::error!(%error, "OAuth callback failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The authorisation could not be completed; try again.".to_owned(),
            )
        }
    }
}
