//! Fakes of the mail APIs no local server exists for, behind the fake provider's OAuth 2
//! authorisation server (rotating refresh tokens), following the providers' documented
//! behaviour.
//!
//! [`GraphMailFake`], Microsoft Graph mail `messages/delta` per folder: absolute
//! `@odata.nextLink` / `@odata.deltaLink` that must be replayed verbatim (a link with its
//! query changed is refused with 400), `Prefer: odata.maxpagesize` (answered with
//! `Preference-Applied`), `$select` (only the selected properties come back; an unknown one
//! is a 400), deletions as `"@removed": {"reason": "deleted"}`, a change (read flag) listing
//! the message again, 410 Gone with `SyncStateNotFound` or `resyncRequired` once the sync
//! state is dropped, 429 with `Retry-After`, 401 `InvalidAuthenticationToken` for a token
//! the authorisation server no longer accepts, and the MIME content at
//! `/me/messages/{id}/$value`.
//!
//! [`GmailFake`], the Gmail API: `users/me/profile` with the mailbox's `historyId`,
//! `messages.list` by `labelIds` paged with `maxResults` / `pageToken` / `nextPageToken`
//! (ids and thread ids only, newest first), `messages.get` with `format=raw` (base64url),
//! `minimal` or `metadata`, `history.list?startHistoryId` (with `historyTypes`, `labelId`,
//! paged the same way, `historyId` the mailbox's current one) answering **404** when the id is
//! older than the history kept, 429 with `Retry-After`, and 401 for a refused token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{BearerCheck, FakeProvider, Fault};

/// The properties of a message the fake can return besides its id.
const GRAPH_PROPERTIES: &[&str] = &["internetMessageId", "receivedDateTime", "subject"];

/// Graph's page size for messages when the client states none.
const GRAPH_DEFAULT_PAGE: usize = 10;

struct GraphMessage {
    id: String,
    folder: String,
    raw: Vec<u8>,
    internet_message_id: Option<String>,
    subject: Option<String>,
    received: String,
    /// The change sequence of its last change.
    sequence: u64,
    /// Why it left the folder, once it did.
    removed: Option<String>,
}

/// Where a listing stands, behind the opaque token of a next or delta link.
#[derive(Clone)]
struct Listing {
    folder: String,
    epoch: u64,
    /// Changes after this sequence; `None` for a full listing.
    since: Option<u64>,
    /// Changes up to this sequence (the state when the listing started).
    upto: u64,
    offset: usize,
    page_size: usize,
    select: Vec<String>,
    /// A delta token (the next sync) rather than a skip token (the next page).
    delta: bool,
}

#[derive(Default)]
struct GraphState {
    base_url: String,
    messages: Vec<GraphMessage>,
    sequence: u64,
    issued: u64,
    epoch: u64,
    gone_code: String,
    links: HashMap<String, Listing>,
    faults: VecDeque<Fault>,
    delta_requests: u64,
    content_requests: u64,
    selects: Vec<String>,
    page_sizes: Vec<usize>,
    /// Messages whose content answers 404 although listed (deleted in between).
    lost: Vec<String>,
}

fn lock(state: &Mutex<GraphState>) -> MutexGuard<'_, GraphState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fake Microsoft Graph mailbox (`/v1.0/me/...`) and its authorisation server.
pub struct GraphMailFake {
    /// The authorisation server (`/authorize`, `/token`) and token controls.
    pub provider: FakeProvider,
    state: Arc<Mutex<GraphState>>,
}

impl GraphMailFake {
    pub async fn start() -> GraphMailFake {
        let state = Arc::new(Mutex::new(GraphState::default()));
        let routes_state = state.clone();
        let provider = FakeProvider::start_with(move |bearer| {
            Router::new()
                .route("/v1.0/{*rest}", get(graph))
                .with_state((routes_state, bearer))
        })
        .await;
        lock(&state).base_url = format!("{}/v1.0", provider.base_url);
        GraphMailFake { provider, state }
    }

    /// The Graph root the connector is configured with.
    pub fn base_url(&self) -> String {
        format!("{}/v1.0", self.provider.base_url)
    }

    /// Delivers a MIME message into `folder` (a well-known name such as `inbox`); returns
    /// its Graph id.
    pub fn add(&self, folder: &str, raw: &[u8]) -> String {
        let parsed = mail_parser::MessageParser::default().parse(raw);
        let internet_message_id = parsed
            .as_ref()
            .and_then(|m| m.message_id())
            .map(|id| format!("<{id}>"));
        let subject = parsed.as_ref().and_then(|m| m.subject()).map(str::to_owned);
        let mut state = lock(&self.state);
        state.sequence += 1;
        state.issued += 1;
        let id = format!("AAMkADg{:04}{}=", state.issued, rand::random::<u32>());
        let message = GraphMessage {
            id: id.clone(),
            folder: folder.to_lowercase(),
            raw: raw.to_vec(),
            internet_message_id,
            subject,
            received: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            sequence: state.sequence,
            removed: None,
        };
        state.messages.push(message);
        id
    }

    /// Deletes a message for good: delta queries report it as removed.
    pub fn delete(&self, id: &str) {
        self.change(id, Some("deleted"));
    }

    /// Marks a message read: a change that lists it again in the next delta.
    pub fn mark_read(&self, id: &str) {
        self.change(id, None);
    }

    fn change(&self, id: &str, removed: Option<&str>) {
        let mut state = lock(&self.state);
        state.sequence += 1;
        let sequence = state.sequence;
        if let Some(message) = state.messages.iter_mut().find(|m| m.id == id) {
            message.sequence = sequence;
            if let Some(reason) = removed {
                message.removed = Some(reason.to_owned());
            }
        }
    }

    /// The message's content answers 404 while delta still lists it, as when it is deleted
    /// between a delta page and the fetch of its content.
    pub fn lose_content(&self, id: &str) {
        lock(&self.state).lost.push(id.to_owned());
    }

    /// Drops the sync state: every link issued so far answers 410 Gone with `code`
    /// (`SyncStateNotFound` or `resyncRequired`).
    pub fn drop_sync_state(&self, code: &str) {
        let mut state = lock(&self.state);
        state.epoch += 1;
        state.gone_code = code.to_owned();
    }

    /// The next delta request fails with `status` (and `Retry-After` when given).
    pub fn fail_next(&self, status: u16, retry_after_seconds: Option<u64>) {
        lock(&self.state).faults.push_back(Fault {
            status,
            retry_after_seconds,
            reason: "rateLimitExceeded",
        });
    }

    /// Delta requests served (faults and refusals included).
    pub fn delta_requests(&self) -> u64 {
        lock(&self.state).delta_requests
    }

    /// MIME contents served.
    pub fn content_requests(&self) -> u64 {
        lock(&self.state).content_requests
    }

    /// The `$select` of every listing started.
    pub fn selects(&self) -> Vec<String> {
        lock(&self.state).selects.clone()
    }

    /// The page size of every listing started.
    pub fn page_sizes(&self) -> Vec<usize> {
        lock(&self.state).page_sizes.clone()
    }
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn graph(
    State((state, bearer)): State<(Arc<Mutex<GraphState>>, BearerCheck)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().trim_start_matches("/v1.0/").to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let delta = matches!(
        segments.as_slice(),
        ["me", "mailFolders", _, "messages", "delta"]
    );
    let mut state = lock(&state);
    if delta {
        state.delta_requests += 1;
    }
    if !bearer.accepts(&headers) {
        let mut response = graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
        );
        return response;
    }
    match segments.as_slice() {
        ["me", "mailFolders", folder, "messages", "delta"] => {
            let folder = folder.to_lowercase();
            delta_page(&mut state, &folder, uri.query(), &headers)
        }
        ["me", "messages", id, "$value"] => {
            state.content_requests += 1;
            match state
                .messages
                .iter()
                .find(|m| m.id == *id && m.removed.is_none() && !state.lost.contains(&m.id))
            {
                Some(message) => {
                    ([(header::CONTENT_TYPE, "text/plain")], message.raw.clone()).into_response()
                }
                None => graph_error(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ),
            }
        }
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        ),
    }
}

/// `odata.maxpagesize` of a `Prefer` header.
fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.trim().parse().ok())
}

fn delta_page(
    state: &mut GraphState,
    folder: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if let Some(fault) = state.faults.pop_front() {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = graph_error(
            status,
            if fault.status == 429 {
                "ApplicationThrottled"
            } else {
                "ServiceUnavailable"
            },
            "Please retry later.",
        );
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let pairs: Vec<(String, String)> = url_pairs(query.unwrap_or_default());
    let token = pairs
        .iter()
        .find(|(k, _)| k == "$skiptoken" || k == "$deltatoken");
    let mut listing = match token {
        Some((kind, token)) => {
            // A link is used as given: nothing added to its query.
            if pairs.len() != 1 {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "A next or delta link must be used as returned, without other query options.",
                );
            }
            let Some(listing) = state.links.get(token).cloned() else {
                return graph_error(
                    StatusCode::GONE,
                    "SyncStateNotFound",
                    "The sync state generation is not found.",
                );
            };
            if listing.epoch != state.epoch {
                let code = state.gone_code.clone();
                return graph_error(StatusCode::GONE, &code, "Resync required.");
            }
            if listing.folder != folder || listing.delta != (kind == "$deltatoken") {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid token.");
            }
            if listing.delta {
                // The next sync: the changes since the listing that issued the token.
                Listing {
                    since: Some(listing.upto),
                    upto: state.sequence,
                    offset: 0,
                    delta: false,
                    ..listing
                }
            } else {
                listing
            }
        }
        None => {
            let mut select = Vec::new();
            for (key, value) in &pairs {
                match key.as_str() {
                    "$select" => {
                        state.selects.push(value.clone());
                        for property in value.split(',').map(str::trim) {
                            if property != "id" && !GRAPH_PROPERTIES.contains(&property) {
                                return graph_error(
                                    StatusCode::BAD_REQUEST,
                                    "RequestBroker--ParseUri",
                                    &format!("Could not find a property named '{property}'."),
                                );
                            }
                            select.push(property.to_owned());
                        }
                    }
                    other => {
                        return graph_error(
                            StatusCode::BAD_REQUEST,
                            "BadRequest",
                            &format!("Query option '{other}' is not supported here."),
                        )
                    }
                }
            }
            if select.is_empty() {
                select = GRAPH_PROPERTIES.iter().map(|p| (*p).to_owned()).collect();
            }
            let page_size = max_page_size(headers)
                .unwrap_or(GRAPH_DEFAULT_PAGE)
                .clamp(1, 1000);
            state.page_sizes.push(page_size);
            Listing {
                folder: folder.to_owned(),
                epoch: state.epoch,
                since: None,
                upto: state.sequence,
                offset: 0,
                page_size,
                select,
                delta: false,
            }
        }
    };
    let mut items: Vec<&GraphMessage> = state
        .messages
        .iter()
        .filter(|m| m.folder == listing.folder && m.sequence <= listing.upto)
        .filter(|m| match listing.since {
            None => m.removed.is_none(),
            Some(since) => m.sequence > since,
        })
        .collect();
    items.sort_by_key(|m| m.sequence);
    let end = (listing.offset + listing.page_size).min(items.len());
    let value: Vec<Value> = items[listing.offset.min(end)..end]
        .iter()
        .map(|m| {
            let mut item = Map::new();
            item.insert("@odata.type".into(), json!("#microsoft.graph.message"));
            item.insert("id".into(), json!(m.id));
            if let Some(reason) = &m.removed {
                item.insert("@removed".into(), json!({ "reason": reason }));
                return Value::Object(item);
            }
            for property in &listing.select {
                let v = match property.as_str() {
                    "internetMessageId" => json!(m.internet_message_id),
                    "receivedDateTime" => json!(m.received),
                    "subject" => json!(m.subject),
                    _ => continue,
                };
                item.insert(property.clone(), v);
            }
            Value::Object(item)
        })
        .collect();
    let more = end < items.len();
    state.issued += 1;
    let token = format!("{}{:016x}", state.issued, rand::random::<u64>());
    listing.offset = end;
    listing.delta = !more;
    let link = format!(
        "{}/me/mailFolders/{}/messages/delta?{}={token}",
        state.base_url,
        listing.folder,
        if more { "$skiptoken" } else { "$deltatoken" }
    );
    let page_size = listing.page_size;
    state.links.insert(token, listing);
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#Collection(message)", state.base_url),
        "value": value,
    });
    body[if more {
        "@odata.nextLink"
    } else {
        "@odata.deltaLink"
    }] = json!(link);
    let mut response = Json(body).into_response();
    if let Ok(applied) = HeaderValue::from_str(&format!("odata.maxpagesize={page_size}")) {
        response.headers_mut().insert("preference-applied", applied);
    }
    response
}

/// The decoded pairs of a query string.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

struct GmailMessage {
    id: String,
    labels: Vec<String>,
    raw: Vec<u8>,
    internal_ms: i64,
    deleted: bool,
}

enum HistoryKind {
    Added,
    Deleted,
    LabelsAdded(Vec<String>),
    LabelsRemoved(Vec<String>),
}

struct HistoryRecord {
    id: u64,
    message: String,
    kind: HistoryKind,
    /// The message's labels after the change.
    labels: Vec<String>,
}

/// Where a paged list stands behind its `pageToken`.
#[derive(Clone)]
enum GmailPaging {
    Messages {
        labels: Vec<String>,
        offset: usize,
    },
    History {
        start: u64,
        upto: u64,
        offset: usize,
    },
}

#[derive(Default)]
struct GmailState {
    messages: Vec<GmailMessage>,
    history: Vec<HistoryRecord>,
    history_id: u64,
    /// History older than this is gone: a `startHistoryId` below it answers 404.
    oldest_history: u64,
    issued: u64,
    tokens: HashMap<String, GmailPaging>,
    faults: VecDeque<Fault>,
    requests: u64,
    history_requests: u64,
    list_requests: u64,
    formats: Vec<String>,
}

fn gmail_lock(state: &Mutex<GmailState>) -> MutexGuard<'_, GmailState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GmailState {
    fn record(&mut self, message: &str, kind: HistoryKind) {
        self.history_id += 1;
        let labels = self
            .messages
            .iter()
            .find(|m| m.id == message)
            .map(|m| m.labels.clone())
            .unwrap_or_default();
        self.history.push(HistoryRecord {
            id: self.history_id,
            message: message.to_owned(),
            kind,
            labels,
        });
    }

    fn token(&mut self, paging: GmailPaging) -> String {
        self.issued += 1;
        let token = format!("{:08}{:016x}", self.issued, rand::random::<u64>());
        self.tokens.insert(token.clone(), paging);
        token
    }
}

/// A fake Gmail API (`/gmail/v1/users/me/...`) and its authorisation server.
pub struct GmailFake {
    /// The authorisation server (`/authorize`, `/token`) and token controls.
    pub provider: FakeProvider,
    state: Arc<Mutex<GmailState>>,
}

impl GmailFake {
    pub async fn start() -> GmailFake {
        let state = Arc::new(Mutex::new(GmailState {
            history_id: 4000,
            oldest_history: 4000,
            ..GmailState::default()
        }));
        let routes_state = state.clone();
        let provider = FakeProvider::start_with(move |bearer| {
            Router::new()
                .route("/gmail/v1/users/{*rest}", get(gmail))
                .with_state((routes_state, bearer))
        })
        .await;
        GmailFake { provider, state }
    }

    /// The API root the connector is configured with.
    pub fn base_url(&self) -> String {
        self.provider.base_url.clone()
    }

    /// Delivers a MIME message with `labels` (e.g. `INBOX`, `SENT`); returns its id.
    pub fn add(&self, labels: &[&str], raw: &[u8]) -> String {
        let mut state = gmail_lock(&self.state);
        state.issued += 1;
        let id = format!("18c{:05x}{:08x}", state.issued, rand::random::<u32>());
        state.messages.push(GmailMessage {
            id: id.clone(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            raw: raw.to_vec(),
            internal_ms: chrono::Utc::now().timestamp_millis(),
            deleted: false,
        });
        state.record(&id, HistoryKind::Added);
        id
    }

    /// Deletes a message for good (not to the trash).
    pub fn delete(&self, id: &str) {
        let mut state = gmail_lock(&self.state);
        if let Some(message) = state.messages.iter_mut().find(|m| m.id == id) {
            message.deleted = true;
        }
        state.record(id, HistoryKind::Deleted);
    }

    /// Adds a label (`STARRED`, `SENT`…) to a message.
    pub fn add_label(&self, id: &str, label: &str) {
        let mut state = gmail_lock(&self.state);
        if let Some(message) = state.messages.iter_mut().find(|m| m.id == id) {
            message.labels.push(label.to_owned());
        }
        state.record(id, HistoryKind::LabelsAdded(vec![label.to_owned()]));
    }

    /// Removes a label from a message (archiving removes `INBOX`).
    pub fn remove_label(&self, id: &str, label: &str) {
        let mut state = gmail_lock(&self.state);
        if let Some(message) = state.messages.iter_mut().find(|m| m.id == id) {
            message.labels.retain(|l| l != label);
        }
        state.record(id, HistoryKind::LabelsRemoved(vec![label.to_owned()]));
    }

    /// Drops the history kept so far: every earlier `startHistoryId` answers 404.
    pub fn forget_history(&self) {
        let mut state = gmail_lock(&self.state);
        state.oldest_history = state.history_id + 1;
    }

    /// The next API request fails with `status` (and `Retry-After` when given), reason
    /// `rateLimitExceeded`.
    pub fn fail_next(&self, status: u16, retry_after_seconds: Option<u64>) {
        self.fail_next_because(status, retry_after_seconds, "rateLimitExceeded");
    }

    /// The next API request fails with `status` and the error reason `reason` (Gmail
    /// answers 403 for `rateLimitExceeded` and `userRateLimitExceeded` as for
    /// `insufficientPermissions`).
    pub fn fail_next_because(
        &self,
        status: u16,
        retry_after_seconds: Option<u64>,
        reason: &'static str,
    ) {
        gmail_lock(&self.state).faults.push_back(Fault {
            status,
            retry_after_seconds,
            reason,
        });
    }

    /// API requests served (faults and refusals included).
    pub fn requests(&self) -> u64 {
        gmail_lock(&self.state).requests
    }

    /// `history.list` requests served.
    pub fn history_requests(&self) -> u64 {
        gmail_lock(&self.state).history_requests
    }

    /// `messages.list` requests served.
    pub fn list_requests(&self) -> u64 {
        gmail_lock(&self.state).list_requests
    }

    /// The `format` of every `messages.get`.
    pub fn formats(&self) -> Vec<String> {
        gmail_lock(&self.state).formats.clone()
    }
}

fn google_error(status: StatusCode, message: &str, reason: &str) -> Response {
    let code = status.as_u16();
    (
        status,
        Json(json!({ "error": {
            "code": code,
            "message": message,
            "errors": [{ "message": message, "domain": "global", "reason": reason }],
            "status": status.canonical_reason().unwrap_or_default().to_uppercase().replace(' ', "_"),
        } })),
    )
        .into_response()
}

fn not_found() -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "Requested entity was not found.",
        "notFound",
    )
}

async fn gmail(
    State((state, bearer)): State<(Arc<Mutex<GmailState>>, BearerCheck)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().trim_start_matches("/gmail/v1/users/").to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let query = url_pairs(uri.query().unwrap_or_default());
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let params = |name: &str| -> Vec<String> {
        query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut state = gmail_lock(&state);
    state.requests += 1;
    if !bearer.accepts(&headers) {
        let mut response = google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
            "authError",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
            ),
        );
        return response;
    }
    if let Some(fault) = state.faults.pop_front() {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = google_error(status, fault.reason, fault.reason);
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let max_results = match param("maxResults").map(|m| m.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "Invalid maxResults",
                "invalidArgument",
            )
        }
    };
    match segments.as_slice() {
        ["me", "profile"] => {
            let live = state.messages.iter().filter(|m| !m.deleted).count();
            Json(json!({
                "emailAddress": "avv.verdi@studioverdi.it",
                "messagesTotal": live,
                "threadsTotal": live,
                "historyId": state.history_id.to_string(),
            }))
            .into_response()
        }
        ["me", "messages"] => {
            state.list_requests += 1;
            let (labels, offset) = match param("pageToken") {
                Some(token) => match state.tokens.get(&token) {
                    Some(GmailPaging::Messages { labels, offset }) => (labels.clone(), *offset),
                    _ => {
                        return google_error(
                            StatusCode::BAD_REQUEST,
                            "Invalid pageToken",
                            "invalidArgument",
                        )
                    }
                },
                None => (params("labelIds"), 0),
            };
            // Newest first, as Gmail lists.
            let matching: Vec<&GmailMessage> = state
                .messages
                .iter()
                .rev()
                .filter(|m| !m.deleted && labels.iter().all(|l| m.labels.contains(l)))
                .collect();
            let end = (offset + max_results).min(matching.len());
            let page: Vec<Value> = matching[offset.min(end)..end]
                .iter()
                .map(|m| json!({ "id": m.id, "threadId": m.id }))
                .collect();
            let estimate = matching.len();
            let mut body = json!({ "resultSizeEstimate": estimate });
            if !page.is_empty() {
                body["messages"] = json!(page);
            }
            if end < estimate {
                body["nextPageToken"] = json!(state.token(GmailPaging::Messages {
                    labels,
                    offset: end,
                }));
            }
            Json(body).into_response()
        }
        ["me", "messages", id] => {
            let format = param("format").unwrap_or_else(|| "full".to_owned());
            state.formats.push(format.clone());
            let Some(message) = state.messages.iter().find(|m| m.id == *id && !m.deleted) else {
                return not_found();
            };
            let mut body = json!({
                "id": message.id,
                "threadId": message.id,
                "labelIds": message.labels,
                "historyId": state.history_id.to_string(),
                "internalDate": message.internal_ms.to_string(),
                "sizeEstimate": message.raw.len(),
            });
            match format.as_str() {
                "raw" => body["raw"] = json!(URL_SAFE.encode(&message.raw)),
                "minimal" => {}
                "metadata" | "full" => {
                    let text = String::from_utf8_lossy(&message.raw);
                    let head = text.split("\r\n\r\n").next().unwrap_or_default();
                    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
                    let headers: Vec<Value> = unfolded
                        .split("\r\n")
                        .filter_map(|line| line.split_once(':'))
                        .map(|(n, v)| json!({ "name": n.trim(), "value": v.trim() }))
                        .collect();
                    body["payload"] = json!({ "headers": headers });
                }
                _ => {
                    return google_error(
                        StatusCode::BAD_REQUEST,
                        "Invalid value for format",
                        "invalidArgument",
                    )
                }
            }
            Json(body).into_response()
        }
        ["me", "history"] => {
            state.history_requests += 1;
            let (start, upto, offset) = match param("pageToken") {
                Some(token) => match state.tokens.get(&token) {
                    Some(GmailPaging::History {
                        start,
                        upto,
                        offset,
                    }) => (*start, *upto, *offset),
                    _ => {
                        return google_error(
                            StatusCode::BAD_REQUEST,
                            "Invalid pageToken",
                            "invalidArgument",
                        )
                    }
                },
                None => {
                    let Some(Ok(start)) = param("startHistoryId").map(|s| s.parse::<u64>()) else {
                        return google_error(
                            StatusCode::BAD_REQUEST,
                            "Missing or invalid startHistoryId",
                            "invalidArgument",
                        );
                    };
                    (start, state.history_id, 0)
                }
            };
            if start < state.oldest_history {
                return not_found();
            }
            let types = params("historyTypes");
            let label = param("labelId");
            let wanted = |record: &&HistoryRecord| {
                let kind = match record.kind {
                    HistoryKind::Added => "messageAdded",
                    HistoryKind::Deleted => "messageDeleted",
                    HistoryKind::LabelsAdded(_) => "labelAdded",
                    HistoryKind::LabelsRemoved(_) => "labelRemoved",
                };
                record.id > start
                    && record.id <= upto
                    && (types.is_empty() || types.iter().any(|t| t == kind))
                    && label.as_ref().is_none_or(|l| record.labels.contains(l))
            };
            let matching: Vec<&HistoryRecord> = state.history.iter().filter(wanted).collect();
            let end = (offset + max_results).min(matching.len());
            let page: Vec<Value> = matching[offset.min(end)..end]
                .iter()
                .map(|record| {
                    let message =
                        json!({ "id": record.message, "threadId": record.message, "labelIds": record.labels });
                    let mut entry = json!({
                        "id": record.id.to_string(),
                        "messages": [{ "id": record.message, "threadId": record.message }],
                    });
                    match &record.kind {
                        HistoryKind::Added => {
                            entry["messagesAdded"] = json!([{ "message": message }])
                        }
                        HistoryKind::Deleted => {
                            entry["messagesDeleted"] = json!([{ "message": message }])
                        }
                        HistoryKind::LabelsAdded(labels) => {
                            entry["labelsAdded"] =
                                json!([{ "message": message, "labelIds": labels }])
                        }
                        HistoryKind::LabelsRemoved(labels) => {
                            entry["labelsRemoved"] =
                                json!([{ "message": message, "labelIds": labels }])
                        }
                    }
                    entry
                })
                .collect();
            let total = matching.len();
            let mut body = json!({ "historyId": state.history_id.to_string() });
            if !page.is_empty() {
                body["history"] = json!(page);
            }
            if end < total {
                body["nextPageToken"] = json!(state.token(GmailPaging::History {
                    start,
                    upto,
                    offset: end,
                }));
            }
            Json(body).into_response()
        }
        _ => not_found(),
    }
}
