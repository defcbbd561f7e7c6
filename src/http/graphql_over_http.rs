//! GraphQL over HTTP (the GraphQL Foundation's specification): media types, methods and
//! status codes, in front of the async-graphql executor.

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::{Serialize, Serializer};

use std::net::SocketAddr;

use axum::extract::ConnectInfo;

use super::credentials;
use super::AppContext;
use crate::graphql::field_guard::ClientInfo;
use crate::graphql::limits;
use crate::graphql::query_cache::operation_of;
use crate::identity::Principal;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The response media type the client accepts, or `None` when it accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        // The specification says to treat a missing Accept as application/json.
        return Some(JSON);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|part| part.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Some(GRAPHQL_RESPONSE)
    } else if types
        .iter()
        .any(|t| matches!(*t, JSON | "application/*" | "*/*"))
    {
        Some(JSON)
    } else {
        None
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// A request-level error (unparseable, invalid, or refused before execution): no data.
fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn error_body(status: StatusCode, media: &'static str, message: &str) -> axum::response::Response {
    coded_error_body(status, media, message, "BAD_REQUEST")
}

fn coded_error_body(
    status: StatusCode,
    media: &'static str,
    message: &str,
    code: &str,
) -> axum::response::Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(media))],
        body.to_string(),
    )
        .into_response()
}

fn respond(media: &'static str, batch: BatchResponse) -> axum::response::Response {
    // application/json answers 200 whatever happened (the specification's rule for it).
    let status = if media == GRAPHQL_RESPONSE {
        match &batch {
            BatchResponse::Single(r) => response_status(r),
            BatchResponse::Batch(rs) => {
                let statuses: Vec<StatusCode> = rs.iter().map(response_status).collect();
                if statuses.iter().all(|s| *s != StatusCode::OK) {
                    statuses.into_iter().max().unwrap_or(StatusCode::OK)
                } else {
                    StatusCode::OK
                }
            }
        }
    } else {
        StatusCode::OK
    };
    let body = match &batch {
        BatchResponse::Single(r) if r.errors.is_empty() && r.extensions.is_empty() => {
            serde_json::to_string(&DataOnly {
                data: SortedKeys(&r.data),
            })
        }
        _ => serde_json::to_value(&batch).map(|mut body| {
            strip_request_error_data(&batch, &mut body);
            body.to_string()
        }),
    };
    match body {
        Ok(body) => (
            status,
            [(CONTENT_TYPE, HeaderValue::from_static(media))],
            body,
        )
            .into_response(),
        Err(_) => error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            media,
            "response could not be encoded",
        ),
    }
}

/// An answer with data only, written as the general path below writes it, without first
/// copying the whole answer into a `serde_json::Value`.
#[derive(Serialize)]
struct DataOnly<'a> {
    data: SortedKeys<'a>,
}

/// A value with its objects' fields in key order: the general path's `serde_json::Value`
/// keeps its maps sorted, so answers have always been written in that order.
struct SortedKeys<'a>(&'a async_graphql::Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            async_graphql::Value::List(items) => {
                serializer.collect_seq(items.iter().map(SortedKeys))
            }
            async_graphql::Value::Object(fields) => {
                let mut sorted: Vec<_> = fields.iter().collect();
                sorted.sort_unstable_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
                serializer.collect_map(
                    sorted
                        .into_iter()
                        .map(|(name, value)| (name.as_str(), SortedKeys(value))),
                )
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// The status of one `application/graphql-response+json` answer: 200 when there is data
/// (the specification requires 2xx then); without data, the server's failure (5xx) when an
/// error is one, else 400 for a request error.
fn response_status(response: &Response) -> StatusCode {
    if response.data != async_graphql::Value::Null {
        return StatusCode::OK;
    }
    let server_side = response
        .errors
        .iter()
        .filter_map(|e| e.extensions.as_ref()?.get("code").cloned())
        .filter_map(|code| match code {
            async_graphql::Value::String(code) => Some(super::status_of(&code)),
            _ => None,
        })
        .filter(StatusCode::is_server_error)
        .max();
    match server_side {
        Some(status) => status,
        None if is_request_error(response) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    }
}

/// A request error (parse or validation failure, variables that do not coerce) raised before
/// execution has no `data` entry at all, not even `null`: the GraphQL specification's rule
/// for a response, which GraphQL over HTTP keeps for both media types (`application/json`
/// differs only in answering 200).
fn strip_request_error_data(batch: &BatchResponse, body: &mut serde_json::Value) {
    let strip = |response: &Response, body: &mut serde_json::Value| {
        if is_request_error(response) {
            if let Some(object) = body.as_object_mut() {
                object.remove("data");
            }
        }
    };
    match (batch, body) {
        (BatchResponse::Single(r), body) => strip(r, body),
        (BatchResponse::Batch(rs), serde_json::Value::Array(bodies)) => {
            for (r, body) in rs.iter().zip(bodies.iter_mut()) {
                strip(r, body);
            }
        }
        _ => {}
    }
}

/// Runs the request's operations against one deadline: a batch gets no more time than a
/// single operation would.
async fn execute(app: &AppContext, batch: BatchRequest, caller: Caller) -> BatchResponse {
    let deadline = caller.deadline;
    let run = |mut request: Request| {
        let identity = crate::graphql::Caller {
            principal: caller.principal.clone(),
            roles_generation: caller.roles_generation,
            client: caller.client.clone(),
        };
        app.queries.parse(&mut request);
        let operation = crate::metrics::operation_label(operation_name(&mut request).as_deref());
        let started = std::time::Instant::now();
        let response = limits::execute_until(
            &app.schema,
            &app.state,
            request,
            identity,
            deadline,
            app.request_timeout,
        );
        async move {
            let response = response.await;
            let outcome = if is_request_error(&response) {
                "request_error"
            } else if response.errors.is_empty() {
                "ok"
            } else {
                "error"
            };
            super::metrics::record_operation(operation, outcome, started.elapsed());
            response
        }
    };
    match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request).await),
        BatchRequest::Batch(requests) => {
            // In order: a later operation may read what an earlier one wrote.
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(request).await);
            }
            BatchResponse::Batch(responses)
        }
    }
}

/// The operation a request runs: the one it names, or its document's only one (from the
/// document `QueryCache::parse` gave the request, which the executor then uses too).
fn operation_name(request: &mut Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    let (name, _) = operation_of(request.parsed_query().ok()?, None)?;
    name.map(str::to_owned)
}

/// Who sent a request and from where.
struct Caller {
    principal: Option<Principal>,
    roles_generation: Option<i64>,
    client: ClientInfo,
    /// When the request must be done, counted from its arrival (authentication included).
    deadline: tokio::time::Instant,
}

/// Identifies the caller; an anonymous one may only log in.
async fn admit(
    app: &AppContext,
    headers: &HeaderMap,
    extensions: &Extensions,
    batch: &BatchRequest,
    media: &'static str,
) -> Result<Caller, axum::response::Response> {
    let refuse = |refusal: credentials::Refusal| {
        let mut response = coded_error_body(refusal.status, media, &refusal.message, refusal.code);
        if let Some(challenge) = refusal.challenge() {
            response
                .headers_mut()
                .insert(credentials::CHALLENGE_HEADER, challenge);
        }
        response
    };
    let deadline = tokio::time::Instant::now() + app.request_timeout;
    let identified = tokio::time::timeout_at(deadline, credentials::identify(app, headers))
        .await
        .map_err(|_| {
            coded_error_body(
                super::status_of("TIMEOUT"),
                media,
                &format!(
                    "the request took longer than {} ms and was stopped",
                    app.request_timeout.as_millis()
                ),
                "TIMEOUT",
            )
        })?
        .map_err(refuse)?;
    if identified.is_none() {
        credentials::admit_anonymous(batch).map_err(refuse)?;
    }
    let (principal, roles_generation) = match identified {
        Some(caller) => (Some(caller.principal), caller.roles_generation),
        None => (None, None),
    };
    Ok(Caller {
        principal,
        roles_generation,
        deadline,
        client: ClientInfo {
            // Present when the server runs with connect info (always, outside unit tests).
            address: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| {
                    client_address(a.ip(), headers, &app.trusted_proxies).to_string()
                }),
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(512).collect()),
        },
    })
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// `X-Forwarded-For` hops are read from the right (the ones our proxies appended) and the
/// first hop that is not a trusted proxy is the client. Hops further left were written by
/// the client and are not believed.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // A hop that is not an address ends what can be believed.
        let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Refuses a batch of more operations than allowed, before any of them runs.
fn refuse_large_batch(
    app: &AppContext,
    media: &'static str,
    batch: &BatchRequest,
) -> Option<axum::response::Response> {
    let BatchRequest::Batch(requests) = batch else {
        return None;
    };
    (requests.len() > app.max_batch_size).then(|| {
        coded_error_body(
            StatusCode::BAD_REQUEST,
            media,
            &format!(
                "a batch may hold at most {} operations; this one has {}",
                app.max_batch_size,
                requests.len()
            ),
            "BATCH_TOO_LARGE",
        )
    })
}

/// `POST /graphql` with an `application/json` body: one request or a batch.
pub async fn post(
    State(app): State<AppContext>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let Some(media) = negotiate(&headers) else {
        return error_body(
            StatusCode::NOT_ACCEPTABLE,
            JSON,
            "accept application/graphql-response+json or application/json",
        );
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some(JSON) {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send the request as application/json",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                media,
                &format!("the body is not a GraphQL request: {e}"),
            )
        }
    };
    if let Some(refused) = refuse_large_batch(&app, media, &batch) {
        return refused;
    }
    let caller = match admit(&app, &headers, &extensions, &batch, media).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    respond(media, execute(&app, batch, caller).await)
}

/// Whether the operation the request selects is a mutation (refused over GET).
fn selects_mutation(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let wanted = request.operation_name.as_deref();
    document.operations.iter().any(|(name, op)| {
        let selected = match wanted {
            Some(w) => name.is_some_and(|n| n.as_str() == w),
            None => true,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

/// `GET /graphql`: the playground for browsers, otherwise a query in the URL.
pub async fn get(
    State(app): State<AppContext>,
    extensions: Extensions,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && wants_html(&headers) {
        return super::playground::page().into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return error_body(
            StatusCode::NOT_ACCEPTABLE,
            JSON,
            "accept application/graphql-response+json or application/json",
        );
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(e) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                media,
                &format!("the URL is not a GraphQL request: {e}"),
            )
        }
    };
    if selects_mutation(&request) {
        let mut response = error_body(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations must use POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let batch = BatchRequest::Single(request);
    let caller = match admit(&app, &headers, &extensions, &batch, media).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    respond(media, execute(&app, batch, caller).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_comes_from_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.1.1.1".parse().expect("header"),
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.9")
        );
        // From an untrusted peer the header is the client's word: ignored.
        assert_eq!(
            client_address(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_data_only_answer_is_written_as_the_general_path_writes_it() {
        use async_graphql::{Name, Number, Value};
        let object = |fields: Vec<(&str, Value)>| {
            Value::Object(
                fields
                    .into_iter()
                    .map(|(name, value)| (Name::new(name), value))
                    .collect(),
            )
        };
        let item = |id: &str| {
            object(vec![
                ("id", Value::String(id.to_owned())),
                (
                    "displayName",
                    Value::String("Quote \" and \\ and \u{1} é".to_owned()),
                ),
                ("category", Value::Enum(Name::new("CLIENT"))),
                ("notes", Value::Null),
                ("zeta", Value::Boolean(true)),
                (
                    "amount",
                    Value::Number(Number::from_f64(12.5).expect("finite")),
                ),
                ("count", Value::Number(Number::from(-3))),
                ("bytes", Value::Binary(vec![0, 255].into())),
                ("Upper", Value::List(vec![])),
                ("_under", object(vec![])),
            ])
        };
        let data = object(vec![(
            "contacts",
            object(vec![
                ("nodes", Value::List(vec![item("b"), item("a")])),
                ("totalCount", Value::Number(Number::from(2))),
            ]),
        )]);
        let response = Response::new(data);
        let general = serde_json::to_value(&response).expect("value").to_string();
        let direct = serde_json::to_string(&DataOnly {
            data: SortedKeys(&response.data),
        })
        .expect("string");
        assert_eq!(direct, general);
        assert!(direct.starts_with(
            r#"{"data":{"contacts":{"nodes":[{"Upper":[],"_under":{},"amount":12.5,"bytes":[0,255]"#
        ));
    }
}
