//! A fake provider for tests (feature `testing`): an axum server on a loopback port that
//! speaks the `json_feed` protocol and is its own OAuth 2 authorisation server (code flow
//! with PKCE S256, rotating refresh tokens). Tests script it: change records, invalidate
//! cursors, expire tokens, queue failures.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::http::HttpPolicy;
use crate::oauth::{OAuthApp, TokenSet, TokenStore};
use crate::{BoxFuture, OutboundContact, RemoteContact};

pub mod calendar_apis;
pub mod clio;
pub mod mail_apis;

/// A token store in memory for connector tests: what was saved, the last one loaded.
#[derive(Default)]
pub struct MemoryTokenStore(pub Mutex<Vec<TokenSet>>);

impl TokenStore for MemoryTokenStore {
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0
                .lock()
                .map_err(|e| e.to_string())?
                .push(tokens.clone());
            Ok(())
        })
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, String>> {
        Box::pin(async move { Ok(self.0.lock().map_err(|e| e.to_string())?.last().cloned()) })
    }
}

/// The retry policy of connector tests: short backoffs, three retries, no rate limit.
pub fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        base_backoff: std::time::Duration::from_millis(10),
        max_backoff: std::time::Duration::from_millis(50),
        max_retries: 3,
        requests_per_second: None,
        ..HttpPolicy::default()
    }
}

pub const CLIENT_ID: &str = "lexgate-test-client";
pub const CLIENT_SECRET: &str = "lexgate-test-secret";

/// A failure served instead of the next contacts response.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub status: u16,
    pub retry_after_seconds: Option<u64>,
    /// The error's reason, for the Google APIs' fakes (`rateLimitExceeded` by default).
    pub reason: &'static str,
}

#[derive(Default)]
struct FakeState {
    /// external id → (change sequence, record); deleted records stay as tombstones.
    contacts: BTreeMap<String, (u64, RemoteContact)>,
    /// change sequence → external id, so a page is read from its cursor on, not by sorting
    /// every record (the sync benchmark serves 100k).
    changes: BTreeMap<u64, String>,
    sequence: u64,
    /// Cursors carry the epoch they were issued in; those of an earlier epoch are refused
    /// with 410 (a full listing started after the invalidation pages on normally).
    epoch: u64,
    faults: VecDeque<Fault>,
    access_tokens: HashSet<String>,
    refresh_tokens: HashSet<String>,
    /// code → (PKCE challenge, redirect URI)
    codes: HashMap<String, (String, String)>,
    issued: u64,
    token_lifetime_seconds: u64,
    refreshes: u64,
    contact_requests: u64,
    /// The user the introspection endpoint names as a token's owner.
    subject: String,
    introspections: u64,
    pushed: Vec<OutboundContact>,
    /// Google Calendar events: id → (change sequence, event JSON); cancelled ones stay.
    events: BTreeMap<String, (u64, serde_json::Value)>,
    /// Google Calendar writes answered (insert, patch, delete), whatever their status.
    calendar_writes: u64,
}

/// The running fake provider. Dropping it stops the server.
pub struct FakeProvider {
    pub base_url: String,
    state: Arc<Mutex<FakeState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeState {
    /// A new change in the feed: the record gets the next sequence number.
    fn record_change(&mut self, contact: RemoteContact) {
        self.sequence += 1;
        let sequence = self.sequence;
        self.changes.insert(sequence, contact.external_id.clone());
        if let Some((previous, _)) = self
            .contacts
            .insert(contact.external_id.clone(), (sequence, contact))
        {
            self.changes.remove(&previous);
        }
    }
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks bearer tokens against those the fake provider issued, for the API fakes that
/// share its authorisation server.
#[derive(Clone)]
pub struct BearerCheck(Arc<Mutex<FakeState>>);

impl BearerCheck {
    /// Whether the request carries an access token the provider issued and still accepts.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        bearer_valid(&lock(&self.0), headers)
    }
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        FakeProvider::start_with(|_| Router::new()).await
    }

    /// The provider with more routes (another API) behind the same authorisation server.
    pub async fn start_with(routes: impl FnOnce(BearerCheck) -> Router) -> FakeProvider {
        let state = Arc::new(Mutex::new(FakeState {
            token_lifetime_seconds: 3600,
            ..FakeState::default()
        }));
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/introspect", axum::routing::post(introspect))
            .route("/contacts", get(list_contacts).post(push_contact))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(list_events).post(insert_event),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{event}",
                get(get_event).patch(patch_event).delete(delete_event),
            )
            .with_state(state.clone())
            .merge(routes(BearerCheck(state.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port for the fake provider");
        let address = listener.local_addr().expect("bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeProvider {
            base_url: format!("http://{address}"),
            state,
            server,
        }
    }

    /// The OAuth registration of lexgate at this provider.
    pub fn app(&self, redirect_url: &str) -> OAuthApp {
        OAuthApp {
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            auth_url: format!("{}/authorize", self.base_url),
            token_url: format!("{}/token", self.base_url),
            redirect_url: redirect_url.to_owned(),
            scopes: vec!["contacts".to_owned()],
        }
    }

    /// Adds or changes a record (a new change in the feed).
    pub fn upsert(&self, contact: RemoteContact) {
        lock(&self.state).record_change(contact);
    }

    /// Deletes a record: incremental feeds report it, full listings leave it out.
    pub fn delete(&self, external_id: &str) {
        lock(&self.state).record_change(RemoteContact {
            external_id: external_id.to_owned(),
            deleted: true,
            ..RemoteContact::default()
        });
    }

    /// Removes a record without a trace in the feed (as a provider that compacts its log),
    /// so only a full resync notices.
    pub fn forget(&self, external_id: &str) {
        let mut state = lock(&self.state);
        if let Some((sequence, _)) = state.contacts.remove(external_id) {
            state.changes.remove(&sequence);
        }
    }

    /// Every cursor issued so far becomes invalid (410).
    pub fn invalidate_cursors(&self) {
        lock(&self.state).epoch += 1;
    }

    /// The next contacts request fails with `status` (and `Retry-After` when given).
    pub fn fail_next(&self, status: u16, retry_after_seconds: Option<u64>) {
        lock(&self.state).faults.push_back(Fault {
            status,
            retry_after_seconds,
            reason: "rateLimitExceeded",
        });
    }

    /// Every access token issued so far is refused from now on (401).
    pub fn expire_access_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }

    /// Lifetime announced for tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        lock(&self.state).token_lifetime_seconds = seconds;
    }

    /// Tokens as if the authorisation flow had run (for tests of what comes after it).
    pub fn issue_tokens(&self) -> TokenSet {
        let mut state = lock(&self.state);
        let (access, refresh, lifetime) = new_tokens(&mut state);
        TokenSet {
            access_token: access,
            refresh_token: Some(refresh),
            expires_at: Some(chrono::Utc::now() + chrono::Duration::seconds(lifetime as i64)),
        }
    }

    /// The RFC 7662 token-introspection endpoint (what a mail server asks about a token).
    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.base_url)
    }

    /// The user introspection names as the owner of every token.
    pub fn set_token_subject(&self, user: &str) {
        lock(&self.state).subject = user.to_owned();
    }

    /// Introspection requests answered.
    pub fn introspections(&self) -> u64 {
        lock(&self.state).introspections
    }

    pub fn refreshes(&self) -> u64 {
        lock(&self.state).refreshes
    }

    pub fn contact_requests(&self) -> u64 {
        lock(&self.state).contact_requests
    }

    pub fn pushed(&self) -> Vec<OutboundContact> {
        lock(&self.state).pushed.clone()
    }

    /// Google Calendar: adds or changes an event (a new change in `events.list`, a new
    /// ETag).
    pub fn upsert_event(&self, mut event: serde_json::Value) {
        let mut state = lock(&self.state);
        state.sequence += 1;
        let sequence = state.sequence;
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        event["etag"] = json!(format!("\"{sequence}\""));
        state.events.insert(id, (sequence, event));
    }

    /// Google Calendar: what a user changes in their calendar (`changes` merged into the
    /// event as `events.patch` merges): a new change and a new ETag.
    pub fn edit_event(&self, id: &str, changes: serde_json::Value) {
        let state = lock(&self.state);
        if let Some((_, event)) = state.events.get(id) {
            let mut event = event.clone();
            merge(&mut event, changes);
            drop(state);
            self.upsert_event(event);
        }
    }

    /// Google Calendar: the event as stored (cancelled ones included).
    pub fn calendar_event(&self, id: &str) -> Option<serde_json::Value> {
        lock(&self.state).events.get(id).map(|(_, e)| e.clone())
    }

    /// Google Calendar: the live (not cancelled) events.
    pub fn live_events(&self) -> Vec<serde_json::Value> {
        lock(&self.state)
            .events
            .values()
            .filter(|(_, e)| e["status"] != "cancelled")
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Google Calendar: insert, patch and delete requests answered so far.
    pub fn calendar_writes(&self) -> u64 {
        lock(&self.state).calendar_writes
    }

    /// Google Calendar: cancels (deletes) an event: incremental syncs report it with
    /// `status: cancelled`, full syncs leave it out.
    pub fn cancel_event(&self, id: &str) {
        let event = json!({ "id": id, "status": "cancelled" });
        self.upsert_event(event);
    }

    pub fn is_valid_refresh_token(&self, token: &str) -> bool {
        lock(&self.state).refresh_tokens.contains(token)
    }
}

fn new_tokens(state: &mut FakeState) -> (String, String, u64) {
    state.issued += 1;
    let access = format!("access-{}-{}", state.issued, rand::random::<u64>());
    let refresh = format!("refresh-{}-{}", state.issued, rand::random::<u64>());
    state.access_tokens.insert(access.clone());
    state.refresh_tokens.insert(refresh.clone());
    (access, refresh, state.token_lifetime_seconds)
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

/// Approves at once (the user "consents") and redirects back with a code.
async fn authorize(
    State(state): State<Arc<Mutex<FakeState>>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    if query.response_type != "code"
        || query.client_id != CLIENT_ID
        || query.code_challenge_method != "S256"
    {
        return (StatusCode::BAD_REQUEST, "bad authorisation request").into_response();
    }
    let code = format!("code-{}", rand::random::<u64>());
    lock(&state).codes.insert(
        code.clone(),
        (query.code_challenge, query.redirect_uri.clone()),
    );
    let separator = if query.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!(
        "{}{separator}code={code}&state={}",
        query.redirect_uri, query.state
    ))
    .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
}

fn client_authenticated(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn token_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": code }))).into_response()
}

async fn token(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !client_authenticated(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let mut state = lock(&state);
    match form.grant_type.as_str() {
        "authorization_code" => {
            let Some((challenge, redirect)) =
                form.code.as_ref().and_then(|c| state.codes.remove(c))
            else {
                return token_error("invalid_grant");
            };
            let verifier = form.code_verifier.unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != challenge || form.redirect_uri.as_deref() != Some(redirect.as_str()) {
                return token_error("invalid_grant");
            }
        }
        "refresh_token" => {
            // Rotation: a refresh token works once.
            let presented = form.refresh_token.unwrap_or_default();
            if !state.refresh_tokens.remove(&presented) {
                return token_error("invalid_grant");
            }
            state.refreshes += 1;
        }
        _ => return token_error("unsupported_grant_type"),
    }
    let (access, refresh, lifetime) = new_tokens(&mut state);
    Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": lifetime,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct IntrospectForm {
    token: String,
}

/// RFC 7662: whether the token is active, and whose it is.
async fn introspect(
    State(state): State<Arc<Mutex<FakeState>>>,
    Form(form): Form<IntrospectForm>,
) -> Response {
    let mut state = lock(&state);
    state.introspections += 1;
    if !state.access_tokens.contains(&form.token) {
        return Json(json!({ "active": false })).into_response();
    }
    Json(json!({
        "active": true,
        "client_id": CLIENT_ID,
        "username": state.subject,
        "scope": "mail",
        "token_type": "Bearer",
    }))
    .into_response()
}

fn bearer_valid(state: &FakeState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| state.access_tokens.contains(token))
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_contacts(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut state = lock(&state);
    state.contact_requests += 1;
    if !bearer_valid(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(fault) = state.faults.pop_front() {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let after = match query
        .cursor
        .as_deref()
        .map(|c| parse_cursor(c, state.epoch))
    {
        None => None,
        Some(Some(seq)) => Some(seq),
        Some(None) => return StatusCode::GONE.into_response(),
    };
    let limit = query.limit.unwrap_or(100).max(1);
    let mut changes: Vec<&(u64, RemoteContact)> = state
        .changes
        .range(after.map_or(0, |seq| seq + 1)..)
        .filter_map(|(_, external_id)| state.contacts.get(external_id))
        // A full listing holds the live records only; a feed also reports deletions.
        .filter(|(_, record)| after.is_some() || !record.deleted)
        .take(limit + 1)
        .collect();
    let more = changes.len() > limit;
    changes.truncate(limit);
    let cursor = if more {
        changes.last().map_or(0, |(seq, _)| *seq)
    } else {
        state.sequence
    };
    let records: Vec<&RemoteContact> = changes.iter().map(|(_, r)| r).collect();
    let cursor = format!("{}.{cursor}", state.epoch);
    Json(json!({ "records": records, "cursor": cursor, "more": more })).into_response()
}

/// The sequence a cursor ("EPOCH.SEQUENCE") points after, if it is of the current epoch.
fn parse_cursor(cursor: &str, epoch: u64) -> Option<u64> {
    let (issued_in, sequence) = cursor.split_once('.')?;
    (issued_in.parse::<u64>().ok()? == epoch)
        .then(|| sequence.parse().ok())
        .flatten()
}

async fn push_contact(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Json(contact): Json<OutboundContact>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let external_id = contact
        .external_id
        .clone()
        .unwrap_or_else(|| format!("pushed-{}", contact.id));
    state.pushed.push(contact);
    Json(json!({ "external_id": external_id })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    sync_token: Option<String>,
    page_token: Option<String>,
    max_results: Option<usize>,
    time_min: Option<String>,
}

fn google_error(status: StatusCode, reason: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": reason,
        "errors": [{ "domain": "global", "reason": reason, "message": reason }] } });
    (status, Json(body)).into_response()
}

/// `events.list` as Google Calendar answers it: a full sync lists live events page by page
/// (`pageToken`/`nextPageToken`) and only its last page carries `nextSyncToken`; a sync
/// with `syncToken` lists changes since, cancelled events included; a token of an earlier
/// epoch is refused with 410 `fullSyncRequired`; `timeMin` with `syncToken` is a 400.
async fn list_events(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return google_error(StatusCode::UNAUTHORIZED, "authError");
    }
    if let Some(fault) = google_fault(&mut state) {
        return fault;
    }
    if query.sync_token.is_some() && query.time_min.is_some() {
        return google_error(StatusCode::BAD_REQUEST, "invalid");
    }
    // Tokens: "EPOCH.SINCE" (sync) and "EPOCH.SINCE.AFTER.FULL" (page).
    let parts: Option<Vec<u64>> = match (&query.page_token, &query.sync_token) {
        (Some(token), _) | (None, Some(token)) => token
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<Vec<u64>>>(),
        (None, None) => Some(vec![state.epoch, 0, 0, 1]),
    };
    let Some(mut parts) = parts else {
        return google_error(StatusCode::BAD_REQUEST, "invalid");
    };
    if parts.first() != Some(&state.epoch) {
        return google_error(StatusCode::GONE, "fullSyncRequired");
    }
    if parts.len() == 2 {
        parts.extend([parts[1], 0]);
    }
    let [_, since, after, full] = parts[..] else {
        return google_error(StatusCode::BAD_REQUEST, "invalid");
    };
    let limit = query.max_results.unwrap_or(250).max(1);
    let mut changes: Vec<(u64, serde_json::Value)> = state
        .events
        .values()
        .filter(|(seq, _)| *seq > since.max(after))
        .filter(|(_, event)| full == 0 || event["status"] != "cancelled")
        .cloned()
        .collect();
    changes.sort_by_key(|(seq, _)| *seq);
    let more = changes.len() > limit;
    changes.truncate(limit);
    let items: Vec<&serde_json::Value> = changes.iter().map(|(_, e)| e).collect();
    let epoch = state.epoch;
    let mut body = json!({ "kind": "calendar#events", "items": items });
    if more {
        let last = changes.last().map_or(0, |(seq, _)| *seq);
        body["nextPageToken"] = json!(format!("{epoch}.{since}.{last}.{full}"));
    } else {
        body["nextSyncToken"] = json!(format!("{epoch}.{}", state.sequence));
    }
    Json(body).into_response()
}

/// The queued failure, as Google answers it (`rateLimitExceeded`, with `Retry-After`).
fn google_fault(state: &mut FakeState) -> Option<Response> {
    let fault = state.faults.pop_front()?;
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = google_error(status, fault.reason);
    if let Some(seconds) = fault.retry_after_seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Some(response)
}

/// `events.insert` with a client-chosen id: base32hex (`a`–`v`, `0`–`9`), 5 to 1024
/// characters; an id in use answers 409 `duplicate`, also when its event was deleted
/// (Google keeps deleted events' ids: such an event can only be restored by an update).
async fn insert_event(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Json(mut event): Json<serde_json::Value>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return google_error(StatusCode::UNAUTHORIZED, "authError");
    }
    state.calendar_writes += 1;
    if let Some(fault) = google_fault(&mut state) {
        return fault;
    }
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let valid =
        (5..=1024).contains(&id.len()) && id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9'));
    if !valid {
        return google_error(StatusCode::BAD_REQUEST, "invalid");
    }
    if state.events.contains_key(&id) {
        return google_error(StatusCode::CONFLICT, "duplicate");
    }
    state.sequence += 1;
    let sequence = state.sequence;
    event["status"] = json!("confirmed");
    event["etag"] = json!(format!("\"{sequence}\""));
    event["iCalUID"] = json!(format!("{id}@google.com"));
    state.events.insert(id, (sequence, event.clone()));
    Json(event).into_response()
}

/// `If-Match` as Google checks it: absent, `*`, or the event's current ETag.
fn matches_etag(headers: &HeaderMap, event: &serde_json::Value) -> bool {
    match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        None | Some("*") => true,
        Some(wanted) => event["etag"].as_str() == Some(wanted),
    }
}

/// `events.get`: a deleted event is still returned, with `status: cancelled`.
async fn get_event(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    axum::extract::Path((_, id)): axum::extract::Path<(String, String)>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return google_error(StatusCode::UNAUTHORIZED, "authError");
    }
    if let Some(fault) = google_fault(&mut state) {
        return fault;
    }
    match state.events.get(&id) {
        Some((_, event)) => Json(event.clone()).into_response(),
        None => google_error(StatusCode::NOT_FOUND, "notFound"),
    }
}

/// `events.patch`: the fields sent replace the event's (objects merged, arrays replaced);
/// `If-Match` with another ETag is a 412 `conditionNotMet`; a deleted event is restored by
/// a patch setting `status: confirmed`.
async fn patch_event(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    axum::extract::Path((_, id)): axum::extract::Path<(String, String)>,
    Json(changes): Json<serde_json::Value>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return google_error(StatusCode::UNAUTHORIZED, "authError");
    }
    state.calendar_writes += 1;
    if let Some(fault) = google_fault(&mut state) {
        return fault;
    }
    let Some((_, event)) = state.events.get(&id) else {
        return google_error(StatusCode::NOT_FOUND, "notFound");
    };
    if !matches_etag(&headers, event) {
        return google_error(StatusCode::PRECONDITION_FAILED, "conditionNotMet");
    }
    let mut event = event.clone();
    merge(&mut event, changes);
    state.sequence += 1;
    let sequence = state.sequence;
    event["id"] = json!(id);
    event["etag"] = json!(format!("\"{sequence}\""));
    state.events.insert(id, (sequence, event.clone()));
    Json(event).into_response()
}

/// `events.delete`: 204; `If-Match` with another ETag is a 412; an unknown event a 404 and
/// one already deleted a 410 `deleted`. The event stays, cancelled, for incremental syncs.
async fn delete_event(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    axum::extract::Path((_, id)): axum::extract::Path<(String, String)>,
) -> Response {
    let mut state = lock(&state);
    if !bearer_valid(&state, &headers) {
        return google_error(StatusCode::UNAUTHORIZED, "authError");
    }
    state.calendar_writes += 1;
    if let Some(fault) = google_fault(&mut state) {
        return fault;
    }
    let Some((_, event)) = state.events.get(&id) else {
        return google_error(StatusCode::NOT_FOUND, "notFound");
    };
    if event["status"] == "cancelled" {
        return google_error(StatusCode::GONE, "deleted");
    }
    if !matches_etag(&headers, event) {
        return google_error(StatusCode::PRECONDITION_FAILED, "conditionNotMet");
    }
    let mut event = event.clone();
    state.sequence += 1;
    let sequence = state.sequence;
    event["status"] = json!("cancelled");
    event["etag"] = json!(format!("\"{sequence}\""));
    state.events.insert(id, (sequence, event));
    StatusCode::NO_CONTENT.into_response()
}

/// A JSON merge as `events.patch` applies it: objects merged key by key, anything else
/// replaced.
fn merge(target: &mut serde_json::Value, changes: serde_json::Value) {
    match (target, changes) {
        (serde_json::Value::Object(target), serde_json::Value::Object(changes)) => {
            for (key, value) in changes {
                merge(target.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (target, changes) => *target = changes,
    }
}
