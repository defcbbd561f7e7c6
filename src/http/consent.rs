//! The public double-opt-in endpoint: `GET /consent/confirm/{token}` shows what the person is
//! confirming and a button; only `POST` (the button) confirms, so mail scanners and link
//! previews that open the link change nothing. Forged, expired or used links get a page that
//! says so, with a status that says it too, and change nothing.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::graphql_over_http::client_address;
use super::AppContext;
use crate::db::now;
use crate::gdpr::double_opt_in::{self, ClickEvidence, LinkProblem, Pending};

pub async fn show(State(app): State<AppContext>, Path(token): Path<String>) -> Response {
    let consent = match double_opt_in::verify(&app.state.gdpr.hasher, &token, now()) {
        Ok(consent) => consent,
        Err(problem) => return refused(problem),
    };
    match app
        .state
        .db
        .run(move |c| double_opt_in::pending(c, &consent))
        .await
    {
        Ok(Ok(pending)) => page(
            StatusCode::OK,
            "Confirm your consent",
            &format!(
                "<p>Please confirm that you agree to receive communications for <strong>{}</strong>.</p>\
                 <form method=\"post\"><button type=\"submit\">Confirm</button></form>",
                escape(&pending.purpose_name)
            ),
        ),
        Ok(Err(problem)) => refused(problem),
        Err(e) => failed(&e),
    }
}

pub async fn confirm(
    State(app): State<AppContext>,
    Path(token): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let consent = match double_opt_in::verify(&app.state.gdpr.hasher, &token, now()) {
        Ok(consent) => consent,
        Err(problem) => return refused(problem),
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            client_address(peer.ip(), &headers, &app.trusted_proxies).to_string()
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let evidence = ClickEvidence {
        client_address: client,
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(500).collect()),
    };
    let hasher = app.state.gdpr.hasher.clone();
    match app
        .state
        .db
        .transaction(move |c| double_opt_in::confirm(c, &hasher, &consent, evidence))
        .await
    {
        Ok(Ok(Pending { purpose_name, .. })) => page(
            StatusCode::OK,
            "Thank you",
            &format!(
                "<p>Your consent for <strong>{}</strong> is confirmed.</p>",
                escape(&purpose_name)
            ),
        ),
        Ok(Err(problem)) => refused(problem),
        Err(e) => failed(&e),
    }
}

fn refused(problem: LinkProblem) -> Response {
    let (status, title, text) = match problem {
        LinkProblem::Invalid => (
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This confirmation link is not valid. Please use the link exactly as it arrived.",
        ),
        LinkProblem::Expired => (
            StatusCode::GONE,
            "Link expired",
            "This confirmation link has expired. Nothing was changed; ask us for a new one.",
        ),
        LinkProblem::AlreadyConfirmed => (
            StatusCode::CONFLICT,
            "Already confirmed",
            "This consent was already confirmed; the link cannot be used again.",
        ),
        LinkProblem::Withdrawn => (
            StatusCode::CONFLICT,
            "Consent withdrawn",
            "This consent has been withdrawn, so it cannot be confirmed.",
        ),
    };
    page(status, title, &format!("<p>{text}</p>"))
}

fn failed(error: &crate::error::Error) -> Response {
    tracing::error!(error = %error, "consent confirmation failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p>The confirmation could not be recorded just now. Please try again later.</p>",
    )
}

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
             <body><h1>{title}</h1>{body}</body></html>\n"
        )),
    )
        .into_response()
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
