//! The connectors' HTTP endpoints: inbound webhooks (`POST /webhooks/{instance}`, signed with
//! HMAC over the raw body: `X-Lexgate-Signature`, `Stripe-Signature` for a stripe instance, or
//! for a clio instance Clio's `X-Hook-Secret` handshake and `X-Hook-Signature`, the webhook
//! named by `?model=` and authenticated by the `&token=` it was created with; the request
//! span records the path only, never this query) and the OAuth redirect back from a provider (`GET /oauth/callback`).
//! Neither takes a bearer token: the signature and the one-time `state` authenticate them.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::AppContext;
use crate::sync::service::{HookAddress, WebhookError, WebhookOutcome};

/// The query of a webhook's URL: Clio's name the model they announce and carry the token
/// they were created with. No `Debug`: the token is a credential.
#[derive(Deserialize)]
pub struct HookQuery {
    model: Option<String>,
    token: Option<String>,
}

pub async fn webhook(
    State(app): State<AppContext>,
    Path(instance): Path<String>,
    Query(query): Query<HookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = move |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, message) = match app
        .state
        .sync
        .receive_webhook(
            &instance,
            &HookAddress {
                model: query.model.as_deref(),
                token: query.token.as_deref(),
            },
            &header,
            &body,
        )
        .await
    {
        Ok(WebhookOutcome::Handshake(secret)) => {
            // The one place the secret leaves: echoed to the provider, as it requires.
            let mut response =
                (StatusCode::OK, Json(json!({ "status": "activated" }))).into_response();
            if let Ok(value) = HeaderValue::from_str(&secret.0) {
                response
                    .headers_mut()
                    .insert(lexgate_connectors::clio::HOOK_SECRET_HEADER, value);
            }
            return response;
        }
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
        Err(WebhookError::Token) => {
            tracing::warn!(%instance, "webhook refused: its URL's token is missing or wrong");
            (StatusCode::UNAUTHORIZED, "invalid signature")
        }
        Err(WebhookError::NoHandshakeAwaited) => {
            tracing::warn!(%instance, "webhook handshake refused: none awaited");
            (StatusCode::UNAUTHORIZED, "invalid signature")
        }
        Err(WebhookError::Malformed) => (StatusCode::BAD_REQUEST, "malformed event"),
        Err(WebhookError::Database(error)) => {
            tracing::error!(%instance, %error, "webhook not recorded");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    };
    (status, Json(json!({ "status": message }))).into_response()
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
        Ok(instance) => {
            // Authorised now: its webhooks can be registered.
            app.state.sync.webhooks_changed(&instance).await;
            (
                StatusCode::OK,
                format!(
                    "Connector {} is authorised. You may close this page.",
                    instance.name
                ),
            )
        }
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
