//! What the connectors over WebDAV (CalDAV calendars, WebDAV document stores) share: requests
//! with Basic credentials, the mapping of the server's answers to connector errors, and the
//! small helpers that read a DAV multistatus by namespace.

use reqwest::{Method, StatusCode, Url};

use crate::http::{HttpClient, HttpError};
use crate::ConnectorError;

pub(crate) const DAV: &str = "DAV:";

/// A DAV server reached with optional Basic credentials; `server` names it in errors
/// ("CalDAV", "WebDAV").
pub(crate) struct DavClient {
    http: HttpClient,
    username: Option<String>,
    password: Option<String>,
    server: &'static str,
}

impl DavClient {
    pub(crate) fn new(
        http: HttpClient,
        username: Option<String>,
        password: Option<String>,
        server: &'static str,
    ) -> DavClient {
        DavClient {
            http,
            username,
            password,
            server,
        }
    }

    pub(crate) fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let builder = self.http.reqwest().request(method, url);
        match &self.username {
            Some(user) => builder.basic_auth(user, self.password.as_deref()),
            None => builder,
        }
    }

    /// Sends the request; a refused login is `Unauthorized`, any other answer is the caller's.
    pub(crate) async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        let request = builder
            .build()
            .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
        let response = self.http.send_answered(request).await.map_err(transport)?;
        if matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED
        ) {
            return Err(ConnectorError::Unauthorized(format!(
                "the {} server answered {}",
                self.server,
                response.status().as_u16()
            )));
        }
        Ok(response)
    }
}

fn transport(error: HttpError) -> ConnectorError {
    match error {
        HttpError::Auth(e) => ConnectorError::Unauthorized(e.to_string()),
        other => ConnectorError::Unavailable(other.to_string()),
    }
}

/// An answer the caller did not expect: 403 is a credential problem, 5xx the server's.
pub(crate) fn refused(what: &str, status: StatusCode) -> ConnectorError {
    let message = format!("{what} answered {}", status.as_u16());
    match status.as_u16() {
        403 => ConnectorError::Unauthorized(message),
        500..=599 => ConnectorError::Unavailable(message),
        _ => ConnectorError::Rejected(message),
    }
}

pub(crate) async fn body_text(response: reqwest::Response) -> Result<String, ConnectorError> {
    response
        .text()
        .await
        .map_err(|e| ConnectorError::Unavailable(e.without_url().to_string()))
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    namespace: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|c| c.has_tag_name((namespace, name)))
}

/// "HTTP/1.1 404 Not Found" → 404.
pub(crate) fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}
