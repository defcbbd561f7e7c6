//! The public one-click unsubscribe endpoint of campaign messages (RFC 8058):
//! `POST /unsubscribe/{token}` unsubscribes (what mail programs send with
//! `List-Unsubscribe=One-Click`, and the button of the page); `GET` shows a page with that
//! button and changes nothing, since mail scanners open links. A forged or altered token gets
//! 404 and changes nothing; a used one answers that it was used.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::consent::{escape, page};
use super::AppContext;
use crate::gdpr::unsubscribe::{self, LinkState};

pub async fn show(State(app): State<AppContext>, Path(token): Path<String>) -> Response {
    let Some((campaign, contact)) = unsubscribe::verify(&app.state.gdpr.hasher, &token) else {
        return invalid();
    };
    match app
        .state
        .db
        .run(move |c| unsubscribe::state(c, &campaign, &contact))
        .await
    {
        Ok(LinkState::Subscribed { purpose_name }) => page(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop receiving <strong>{}</strong> communications from us?</p>\
                 <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                escape(&purpose_name)
            ),
        ),
        Ok(state) => answered(state),
        Err(e) => failed(&e),
    }
}

pub async fn unsubscribe(State(app): State<AppContext>, Path(token): Path<String>) -> Response {
    let Some((campaign, contact)) = unsubscribe::verify(&app.state.gdpr.hasher, &token) else {
        return invalid();
    };
    let gdpr = app.state.gdpr.clone();
    match app
        .state
        .db
        .transaction(move |c| unsubscribe::unsubscribe(c, &gdpr, &campaign, &contact))
        .await
    {
        Ok(LinkState::Subscribed { purpose_name }) => page(
            StatusCode::OK,
            "Unsubscribed",
            &format!(
                "<p>You will no longer receive <strong>{}</strong> communications from us.</p>",
                escape(&purpose_name)
            ),
        ),
        Ok(state) => answered(state),
        Err(e) => failed(&e),
    }
}

/// A genuine link that has nothing (more) to do.
fn answered(state: LinkState) -> Response {
    match state {
        LinkState::Unsubscribed { purpose_name } | LinkState::Subscribed { purpose_name } => page(
            StatusCode::OK,
            "Already unsubscribed",
            &format!(
                "<p>You are already unsubscribed from <strong>{}</strong> communications.</p>",
                escape(&purpose_name)
            ),
        ),
        LinkState::Gone => page(
            StatusCode::GONE,
            "Nothing to unsubscribe",
            "<p>We no longer hold your details for this message, so nothing more will be sent.</p>",
        ),
    }
}

fn invalid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<p>This unsubscribe link is not valid. Please use the link exactly as it arrived.</p>",
    )
}

fn failed(error: &crate::error::Error) -> Response {
    tracing::error!(error = %error, "unsubscribe failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p>Your request could not be recorded just now. Please try again later.</p>",
    )
}
