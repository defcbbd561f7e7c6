//! Who is calling: the bearer credential of a request, checked before anything executes.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{BatchRequest, Request};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};

use super::AppContext;
use crate::error::Error;
use crate::identity::{self, Principal};

/// Root fields anyone may call: the way in.
const PUBLIC_ROOT_FIELDS: [&str; 3] = ["login", "refreshSession", "__typename"];

/// Why a request was refused before it ran.
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn unauthenticated(message: impl Into<String>) -> Refusal {
        Refusal::coded("UNAUTHENTICATED", message)
    }

    fn coded(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status: super::status_of(code),
            code,
            message: message.into(),
        }
    }

    /// `WWW-Authenticate`, which a 401 answer carries.
    pub fn challenge(&self) -> Option<HeaderValue> {
        (self.status == StatusCode::UNAUTHORIZED).then(|| HeaderValue::from_static("Bearer"))
    }
}

pub const CHALLENGE_HEADER: axum::http::HeaderName = WWW_AUTHENTICATE;

/// Who a credential stands for, with the roles' generation when it was read on the way.
pub struct Identified {
    pub principal: Principal,
    pub roles_generation: Option<i64>,
}

/// The caller behind `Authorization: Bearer ...`, `None` without the header.
pub async fn identify(
    app: &AppContext,
    headers: &HeaderMap,
) -> Result<Option<Identified>, Refusal> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bearer = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Refusal::unauthenticated("use `Authorization: Bearer <access token or API key>`")
        })?
        .to_owned();
    let config = app.state.auth.clone();
    let from_provider = config.oidc.clone().filter(|oidc| {
        identity::claimed_issuer(&bearer)
            .is_some_and(|iss| iss.trim_end_matches('/') == oidc.issuer())
    });
    let outcome = match from_provider {
        Some(oidc) => match oidc.verify(&bearer).await {
            Ok(identity) => app
                .state
                .db
                .run(move |c| identity::provider_principal(c, identity))
                .await
                .map(|principal| Identified {
                    principal,
                    roles_generation: None,
                }),
            Err(e) => Err(e),
        },
        None => {
            let principals = app.state.principals.clone();
            app.state
                .db
                .run(move |c| principals.authenticate(c, &config, &bearer))
                .await
                .map(|known| Identified {
                    principal: known.principal,
                    roles_generation: Some(known.roles_generation),
                })
        }
    };
    match outcome {
        Ok(identified) => Ok(Some(identified)),
        Err(Error::Unauthenticated(message)) => Err(Refusal::unauthenticated(message)),
        Err(e) => {
            tracing::error!(error = %e, "authentication failed");
            Err(Refusal::coded(
                "SERVICE_UNAVAILABLE",
                "service temporarily unavailable",
            ))
        }
    }
}

/// Refuses an anonymous batch unless every operation only touches public root fields.
pub fn admit_anonymous(batch: &BatchRequest) -> Result<(), Refusal> {
    let requests: Vec<&Request> = match batch {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) => requests.iter().collect(),
    };
    if requests.into_iter().all(only_public_fields) {
        Ok(())
    } else {
        Err(Refusal::unauthenticated("log in or send an API key"))
    }
}

/// Whether the operation the request selects asks only for public root fields. A request
/// that does not parse is let through: the executor answers it with its parse error.
fn only_public_fields(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let wanted = request.operation_name.as_deref();
    document
        .operations
        .iter()
        .filter(|(name, _)| wanted.is_none_or(|w| name.is_some_and(|n| n.as_str() == w)))
        .all(|(_, op)| public_selection(&document, &op.node.selection_set.node, 0))
}

fn public_selection(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    // Fragments can nest; a cycle is invalid GraphQL, refused here and by the validator.
    if depth > 8 {
        return false;
    }
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => PUBLIC_ROOT_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => {
            public_selection(document, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => document
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|f| public_selection(document, &f.node.selection_set.node, depth + 1)),
    })
}
