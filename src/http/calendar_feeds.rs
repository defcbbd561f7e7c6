//! `GET /ical/{token}.ics`: a user's calendar feed, for calendar applications that subscribe
//! to a URL and send no credentials but the URL itself.
//!
//! The feed is read through the GraphQL schema as its user, so the one enforcement point
//! applies: their row-level need-to-know, their role's field policy (a field they may not read
//! is left out of the events), and the access log, which records the read before anything is
//! sent. An unknown or revoked token answers 404 like any path that does not exist.

use std::net::SocketAddr;

use async_graphql::{Request, Value, Variables};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppContext;
use crate::calendar_feeds::{self, FeedItem, FeedOwner};
use crate::graphql::field_guard::ClientInfo;
use crate::graphql::Caller;
use crate::identity::{Principal, PrincipalKind};

/// What a feed shows of each deadline; the names are `FeedItem`'s.
const FEED_QUERY: &str = "query CalendarFeed($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Deadline {
      id title kind description dueAt status updatedAt
      matter { reference title }
      contact { displayName }
    }
  }
}";

/// The most IDs one `nodes` call takes.
const CHUNK: usize = 100;

pub async fn feed(
    State(app): State<AppContext>,
    Path(file): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let Some(token) = file.strip_suffix(".ics").filter(|t| !t.is_empty()) else {
        return not_found();
    };
    let token = token.to_owned();
    let owner = match app
        .state
        .db
        .transaction(move |c| calendar_feeds::open(c, &token))
        .await
    {
        Ok(Some(owner)) => owner,
        Ok(None) => return not_found(),
        Err(error) => return unavailable(&error.to_string()),
    };
    let client = ClientInfo {
        address: extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| {
                super::graphql_over_http::client_address(peer.ip(), &headers, &app.trusted_proxies)
                    .to_string()
            }),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
    };
    match read_items(&app, &owner, client).await {
        Ok(items) => {
            let mut response = calendar_feeds::render(&items).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            response
        }
        Err(message) => unavailable(&message),
    }
}

/// The feed's deadlines as its user may read them.
async fn read_items(
    app: &AppContext,
    owner: &FeedOwner,
    client: ClientInfo,
) -> Result<Vec<FeedItem>, String> {
    let user = owner.user_id.clone();
    let keys = app
        .state
        .db
        .run(move |c| calendar_feeds::deadline_ids_of(c, &user))
        .await
        .map_err(|e| e.to_string())?;
    let principal = Principal {
        kind: PrincipalKind::CalendarFeed {
            user_id: owner.user_id.clone(),
        },
        role: owner.role.clone(),
    };
    let deadline = tokio::time::Instant::now() + app.request_timeout;
    let mut items = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|key| crate::ids::encode(crate::ids::NodeType::Deadline, key).to_string())
            .collect();
        let request = Request::new(FEED_QUERY)
            .operation_name("CalendarFeed")
            .variables(Variables::from_json(serde_json::json!({ "ids": ids })));
        let caller = Caller {
            principal: Some(principal.clone()),
            roles_generation: None,
            client: client.clone(),
        };
        let response = crate::graphql::limits::execute_until(
            &app.schema,
            &app.state,
            request,
            caller,
            deadline,
            app.request_timeout,
        )
        .await;
        // A field the role may not read answers null with FORBIDDEN: left out of the event.
        // Anything else (the access log could not be written, a timeout) withholds the feed.
        if let Some(error) = response.errors.iter().find(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_none_or(|code| *code != Value::from("FORBIDDEN"))
        }) {
            return Err(error.message.clone());
        }
        let data = response.data.into_json().map_err(|e| e.to_string())?;
        let nodes: Vec<serde_json::Value> =
            serde_json::from_value(data["nodes"].clone()).map_err(|e| e.to_string())?;
        // A row the user may no longer see is null, and one whose ID their role may not read
        // cannot become an event with a stable UID: both are left out.
        items.extend(
            nodes
                .into_iter()
                .filter_map(|node| serde_json::from_value::<FeedItem>(node).ok()),
        );
    }
    Ok(items)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn unavailable(error: &str) -> Response {
    tracing::error!(%error, "calendar feed not served");
    (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
}
