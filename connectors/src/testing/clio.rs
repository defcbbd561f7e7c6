//! [`ClioFake`], Clio Manage API v4, behind the fake provider's OAuth 2 authorisation server,
//! following the documented behaviour: a record answers only `id` and `etag` unless `fields=`
//! names more (nested records as `matter{id,display_number}`); pages of at most 200
//! (`limit`, more is a 400); cursor paging only with `order=id(asc)` (`meta.paging.next` a
//! full URL with a `page_token`), offset paging otherwise; `updated_since` (inclusive);
//! deleted records are left out of listings; `X-RateLimit-Limit/Remaining/Reset` on every
//! answer and 429 with `Retry-After` once the window is spent; a bad `X-API-VERSION` is 410
//! Gone; `If-Match` against the ETag (412); calendar entries' external properties (and the
//! `external_property_name`/`_value` filter); activities' `type` and `matter_id` filters;
//! matters' `query`. The fake's clock can be moved on ([`ClioFake::advance`]), and it
//! answers with its own `Date`.
//!
//! Webhooks (`/api/v4/webhooks.json`): one per model (`contact`, `matter`, `calendar_entry`,
//! `activity`) with `created`/`updated`/`deleted` events, `fields` and `expires_at` (at most
//! 31 days ahead, else 422; an `https` URL, or `http` to a loopback host for tests, else
//! 422). A new webhook is `pending`; the fake then POSTs the handshake to its URL with an
//! `X-Hook-Secret` header, and a 200 answer echoing the header makes it `enabled`. From then
//! on every change of a record of its model (through the API or the test controls) is POSTed
//! as `{"data": {fields}, "meta": {"event", "webhook_id", "model"}}` with `X-Hook-Signature`,
//! the hex HMAC-SHA256 of the raw body under that secret, until `expires_at` (by the fake's
//! clock) passes; `PATCH` moves `expires_at`, `DELETE` removes the webhook. Deliveries run in
//! the background: [`ClioFake::settle`] waits for them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{BearerCheck, FakeProvider, Fault};
use crate::clio::{sign_hook, HOOK_EVENTS, HOOK_MODELS, MAX_HOOK_LIFETIME};

/// The models the fake serves.
const MODELS: [&str; 6] = [
    "contacts",
    "matters",
    "calendar_entries",
    "activities",
    "calendars",
    "users",
];

/// Nested records a record names by id, the model they are records of, and the fields Clio
/// shows of them: always as the related record is now (a matter renumbered shows its new
/// `display_number` in its calendar entries).
const RELATED: [(&str, &str, &[&str]); 4] = [
    ("matter", "matters", &["display_number", "description"]),
    ("client", "contacts", &["name", "first_name", "last_name"]),
    ("responsible_attorney", "users", &["name", "email"]),
    ("user", "users", &["name", "email"]),
];

/// The API versions the fake knows: `4.0.0` to `4.0.13`, less those retired.
fn known_version(version: &str, retired_from: Option<u32>) -> bool {
    version
        .strip_prefix("4.0.")
        .and_then(|minor| minor.parse::<u32>().ok())
        .is_some_and(|minor| minor <= 13 && retired_from.is_none_or(|r| minor < r))
}

struct Stored {
    value: Value,
    updated_at: DateTime<Utc>,
    deleted: bool,
}

/// A registered webhook.
struct StoredHook {
    url: String,
    /// Singular, as webhooks name models (`contact`).
    model: String,
    events: Vec<String>,
    fields: String,
    status: &'static str,
    /// The handshake's `X-Hook-Secret`.
    secret: String,
    expires_at: DateTime<Utc>,
    etag: u64,
}

impl StoredHook {
    fn to_json(&self, id: u64) -> Value {
        json!({
            "id": id,
            "etag": format!("\"{}\"", self.etag),
            "url": self.url,
            "model": self.model,
            "events": self.events,
            "fields": self.fields,
            "status": self.status,
            "expires_at": self.expires_at.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        })
    }
}

/// A POST the fake sends to a webhook's URL: the handshake or a delivery.
#[derive(Clone)]
struct Outgoing {
    hook: u64,
    url: String,
    /// The handshake's secret; none for a delivery.
    handshake: Option<String>,
    event: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// What a webhook's URL answered to a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDelivery {
    pub webhook_id: u64,
    /// `handshake`, `created`, `updated` or `deleted`.
    pub event: String,
    /// The status answered; 0 when the request failed.
    pub status: u16,
}

struct Quota {
    limit: u32,
    remaining: u32,
    window: Duration,
    resets_at: Instant,
}

#[derive(Default)]
struct ClioState {
    base_url: String,
    /// Seconds the fake's clock is ahead of the real one.
    offset: i64,
    records: HashMap<&'static str, BTreeMap<u64, Stored>>,
    next_id: u64,
    version: u64,
    faults: VecDeque<Fault>,
    /// Faults for the next creations, updates or deletions only (reads pass).
    write_faults: VecDeque<Fault>,
    quota: Option<Quota>,
    /// `METHOD path?query` (decoded) of every request.
    requests: Vec<String>,
    /// Creations, updates and deletions through the API.
    writes: u64,
    /// API versions `4.0.N` from this N on are unknown.
    retired_from: Option<u32>,
    hooks: BTreeMap<u64, StoredHook>,
    /// Handshakes and deliveries to send once the state is unlocked.
    outbox: Vec<Outgoing>,
    /// The last delivery sent, for a redelivery.
    last_delivery: Option<Outgoing>,
    delivered: Vec<HookDelivery>,
    in_flight: Vec<tokio::task::JoinHandle<()>>,
    /// Where deliveries go instead of the registered URL's origin (tests).
    hook_origin: Option<String>,
}

/// The model webhooks name for a listed model (`contacts` → `contact`).
fn hook_model(model: &str) -> Option<&'static str> {
    let singular = match model {
        "contacts" => "contact",
        "matters" => "matter",
        "calendar_entries" => "calendar_entry",
        "activities" => "activity",
        _ => return None,
    };
    HOOK_MODELS.iter().copied().find(|m| *m == singular)
}

/// Whether the fake accepts `url` for a webhook: `https`, or `http` to loopback.
fn hook_url_accepted(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|url| match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    })
}

impl ClioState {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset)
    }

    fn models(&mut self, model: &'static str) -> &mut BTreeMap<u64, Stored> {
        self.records.entry(model).or_default()
    }

    /// Stores `value` (its `id` assigned when missing) with a new ETag and `updated_at`.
    fn store(&mut self, model: &'static str, mut value: Value) -> u64 {
        let id = match value["id"].as_u64() {
            Some(id) => id,
            None => {
                self.next_id += 1;
                1000 + self.next_id
            }
        };
        self.version += 1;
        let now = self.now();
        let at = now.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
        value["id"] = json!(id);
        value["etag"] = json!(format!("\"{}\"", self.version));
        value["updated_at"] = json!(at);
        if value.get("created_at").is_none() {
            value["created_at"] = json!(at);
        }
        let existed = self.live(model, id).is_some();
        let shown = self.resolved(&value);
        self.announce(model, &shown, if existed { "updated" } else { "created" });
        self.models(model).insert(
            id,
            Stored {
                value,
                updated_at: now,
                deleted: false,
            },
        );
        id
    }

    /// Marks a record deleted, announcing it.
    fn remove(&mut self, model: &'static str, id: u64) {
        let now = self.now();
        let Some(value) = self.live(model, id).map(|s| s.value.clone()) else {
            return;
        };
        self.announce(model, &value, "deleted");
        if let Some(stored) = self.models(model).get_mut(&id) {
            stored.deleted = true;
            stored.updated_at = now;
        }
    }

    /// Queues a signed delivery of `event` on `value` to every enabled, unexpired webhook of
    /// the model subscribed to it.
    fn announce(&mut self, model: &str, value: &Value, event: &str) {
        let Some(model) = hook_model(model) else {
            return;
        };
        let now = self.now();
        let mut outgoing = Vec::new();
        for (id, hook) in &self.hooks {
            if hook.model != model
                || hook.status != "enabled"
                || hook.expires_at <= now
                || !hook.events.iter().any(|e| e == event)
            {
                continue;
            }
            let body = json!({
                "data": project(value, &parse_fields(&hook.fields)),
                "meta": { "event": event, "webhook_id": id, "model": model },
            })
            .to_string()
            .into_bytes();
            outgoing.push(Outgoing {
                hook: *id,
                url: hook.url.clone(),
                handshake: None,
                event: event.to_owned(),
                headers: vec![
                    ("x-hook-signature", sign_hook(hook.secret.as_bytes(), &body)),
                    ("content-type", "application/json".to_owned()),
                ],
                body,
            });
        }
        self.outbox.extend(outgoing);
    }

    /// The record as Clio shows it: a nested record named by id gets the fields Clio shows of
    /// it, as that record is now (one the fake does not hold stays as given).
    fn resolved(&self, value: &Value) -> Value {
        let mut value = value.clone();
        for (field, model, keys) in RELATED {
            let Some(id) = value[field]["id"].as_u64() else {
                continue;
            };
            let Some(stored) = self.records.get(model).and_then(|m| m.get(&id)) else {
                continue;
            };
            let mut related = json!({ "id": id });
            for key in keys {
                if let Some(v) = stored.value.get(*key) {
                    related[*key] = v.clone();
                }
            }
            value[field] = related;
        }
        value
    }

    fn live(&mut self, model: &'static str, id: u64) -> Option<&Stored> {
        self.models(model).get(&id).filter(|s| !s.deleted)
    }
}

fn lock(state: &Mutex<ClioState>) -> MutexGuard<'_, ClioState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends what the outbox holds, each POST on its own task.
fn dispatch(state: &Arc<Mutex<ClioState>>) {
    let (outgoing, origin) = {
        let mut fake = lock(state);
        (std::mem::take(&mut fake.outbox), fake.hook_origin.clone())
    };
    for out in outgoing {
        let shared = state.clone();
        let origin = origin.clone();
        let task = tokio::spawn(async move {
            let status = send_hook(&out, origin.as_deref()).await;
            let mut fake = lock(&shared);
            match (&out.handshake, &status) {
                (Some(secret), Some((200, echoed))) if echoed.as_deref() == Some(secret) => {
                    if let Some(hook) = fake.hooks.get_mut(&out.hook) {
                        hook.status = "enabled";
                        hook.secret = secret.clone();
                    }
                }
                (None, _) => fake.last_delivery = Some(out.clone()),
                _ => {}
            }
            fake.delivered.push(HookDelivery {
                webhook_id: out.hook,
                event: out.event.clone(),
                status: status.map_or(0, |(status, _)| status),
            });
        });
        lock(state).in_flight.push(task);
    }
}

/// POSTs one handshake or delivery: the status and the `X-Hook-Secret` answered.
async fn send_hook(out: &Outgoing, origin: Option<&str>) -> Option<(u16, Option<String>)> {
    let mut url = reqwest::Url::parse(&out.url).ok()?;
    if let Some(origin) = origin.and_then(|o| reqwest::Url::parse(o).ok()) {
        url.set_scheme(origin.scheme()).ok()?;
        url.set_host(origin.host_str()).ok()?;
        url.set_port(origin.port()).ok()?;
    }
    let mut request = reqwest::Client::new().post(url).body(out.body.clone());
    for (name, value) in &out.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.ok()?;
    let echoed = response
        .headers()
        .get("x-hook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Some((response.status().as_u16(), echoed))
}

type Shared = (Arc<Mutex<ClioState>>, BearerCheck);

/// A fake Clio Manage account (`/api/v4/…`).
pub struct ClioFake {
    /// The authorisation server (`/authorize`, `/token`) and token controls.
    pub provider: FakeProvider,
    state: Arc<Mutex<ClioState>>,
}

fn model_name(model: &str) -> &'static str {
    MODELS
        .into_iter()
        .find(|m| *m == model)
        .unwrap_or_else(|| panic!("the Clio fake has no model {model}"))
}

impl ClioFake {
    pub async fn start() -> ClioFake {
        let state = Arc::new(Mutex::new(ClioState::default()));
        let routes_state = state.clone();
        let provider = FakeProvider::start_with(move |bearer| {
            let mut router: Router<Shared> = Router::new();
            for model in MODELS {
                router = router
                    .route(
                        &format!("/api/v4/{model}.json"),
                        get(
                            move |State(s): State<Shared>,
                                  headers: HeaderMap,
                                  RawQuery(q): RawQuery| async move {
                                list(s, model, headers, q)
                            },
                        )
                        .post(
                            move |State(s): State<Shared>,
                                  headers: HeaderMap,
                                  RawQuery(q): RawQuery,
                                  body: Bytes| async move {
                                create(s, model, headers, q, body)
                            },
                        ),
                    )
                    .route(
                        &format!("/api/v4/{model}/{{id}}"),
                        get(
                            move |State(s): State<Shared>,
                                  Path(id): Path<String>,
                                  headers: HeaderMap,
                                  RawQuery(q): RawQuery| async move {
                                one(s, model, id, headers, q, None)
                            },
                        )
                        .patch(
                            move |State(s): State<Shared>,
                                  Path(id): Path<String>,
                                  headers: HeaderMap,
                                  RawQuery(q): RawQuery,
                                  body: Bytes| async move {
                                one(s, model, id, headers, q, Some(Write::Patch(body)))
                            },
                        )
                        .delete(
                            move |State(s): State<Shared>,
                                  Path(id): Path<String>,
                                  headers: HeaderMap,
                                  RawQuery(q): RawQuery| async move {
                                one(s, model, id, headers, q, Some(Write::Delete))
                            },
                        ),
                    );
            }
            router =
                    router
                        .route(
                            "/api/v4/webhooks.json",
                            get(
                                |State(s): State<Shared>,
                                 headers: HeaderMap,
                                 RawQuery(q): RawQuery| async move {
                                    hooks_list(s, headers, q)
                                },
                            )
                            .post(
                                |State(s): State<Shared>,
                                 headers: HeaderMap,
                                 RawQuery(q): RawQuery,
                                 body: Bytes| async move {
                                    hook_create(s, headers, q, body)
                                },
                            ),
                        )
                        .route(
                            "/api/v4/webhooks/{id}",
                            get(
                                |State(s): State<Shared>,
                                 Path(id): Path<String>,
                                 headers: HeaderMap,
                                 RawQuery(q): RawQuery| async move {
                                    hook_one(s, id, headers, q, None)
                                },
                            )
                            .patch(
                                |State(s): State<Shared>,
                                 Path(id): Path<String>,
                                 headers: HeaderMap,
                                 RawQuery(q): RawQuery,
                                 body: Bytes| async move {
                                    hook_one(s, id, headers, q, Some(Write::Patch(body)))
                                },
                            )
                            .delete(
                                |State(s): State<Shared>,
                                 Path(id): Path<String>,
                                 headers: HeaderMap,
                                 RawQuery(q): RawQuery| async move {
                                    hook_one(s, id, headers, q, Some(Write::Delete))
                                },
                            ),
                        );
            router.with_state((routes_state, bearer))
        })
        .await;
        {
            let mut fake = lock(&state);
            fake.base_url = provider.base_url.clone();
            // The authorised user's calendar.
            fake.store("calendars", json!({ "id": 7, "type": "UserCalendar" }));
        }
        ClioFake { provider, state }
    }

    /// The API root the connector is configured with.
    pub fn api_root(&self) -> String {
        format!("{}/api/v4", self.provider.base_url)
    }

    /// Adds a record (its `id` assigned when missing) or replaces the one with its `id`:
    /// a new ETag and `updated_at`. Answers its id.
    pub fn upsert(&self, model: &str, record: Value) -> u64 {
        let id = lock(&self.state).store(model_name(model), record);
        dispatch(&self.state);
        id
    }

    /// What a user changes in Clio: `changes` merged into the record.
    pub fn edit(&self, model: &str, id: u64, changes: Value) {
        let mut state = lock(&self.state);
        let model = model_name(model);
        let Some(stored) = state.live(model, id) else {
            return;
        };
        let mut value = stored.value.clone();
        merge(&mut value, changes);
        state.store(model, value);
        drop(state);
        dispatch(&self.state);
    }

    /// Deletes a record: listings leave it out from now on.
    pub fn delete(&self, model: &str, id: u64) {
        lock(&self.state).remove(model_name(model), id);
        dispatch(&self.state);
    }

    /// The record as stored, unless deleted.
    pub fn record(&self, model: &str, id: u64) -> Option<Value> {
        lock(&self.state)
            .live(model_name(model), id)
            .map(|s| s.value.clone())
    }

    /// Every record of `model` not deleted.
    pub fn live(&self, model: &str) -> Vec<Value> {
        lock(&self.state)
            .models(model_name(model))
            .values()
            .filter(|s| !s.deleted)
            .map(|s| s.value.clone())
            .collect()
    }

    /// Moves the fake's clock on (what `updated_at` and `Date` say).
    pub fn advance(&self, seconds: i64) {
        lock(&self.state).offset += seconds;
    }

    /// The next request fails with `status` (and `Retry-After` when given).
    pub fn fail_next(&self, status: u16, retry_after_seconds: Option<u64>) {
        lock(&self.state).faults.push_back(Fault {
            status,
            retry_after_seconds,
            reason: "RateLimited",
        });
    }

    /// The next write (a request other than `GET`) fails with `status`; reads before it pass.
    pub fn fail_next_write(&self, status: u16) {
        lock(&self.state).write_faults.push_back(Fault {
            status,
            retry_after_seconds: None,
            reason: "Refused",
        });
    }

    /// Allows `limit` requests per `window`; beyond, 429 with `Retry-After`.
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        lock(&self.state).quota = Some(Quota {
            limit,
            remaining: limit,
            window,
            resets_at: Instant::now() + window,
        });
    }

    /// API versions `4.0.N` from `minor` on become unknown (410 Gone).
    pub fn retire_versions_from(&self, minor: u32) {
        lock(&self.state).retired_from = Some(minor);
    }

    /// Every request so far, as `METHOD path?query` with the query decoded.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// Creations, updates and deletions made through the API.
    pub fn writes(&self) -> u64 {
        lock(&self.state).writes
    }

    /// The webhooks (without their secrets), as the API answers them with every field.
    pub fn hooks(&self) -> Vec<Value> {
        lock(&self.state)
            .hooks
            .iter()
            .map(|(id, hook)| hook.to_json(*id))
            .collect()
    }

    /// Sends handshakes and deliveries to `origin` (`http://127.0.0.1:port`) instead of the
    /// origin of the URL each webhook was registered with (path and query kept).
    pub fn route_hooks_to(&self, origin: &str) {
        lock(&self.state).hook_origin = Some(origin.trim_end_matches('/').to_owned());
    }

    /// Waits for every handshake and delivery sent so far to be answered.
    pub async fn settle(&self) {
        loop {
            let tasks = std::mem::take(&mut lock(&self.state).in_flight);
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    }

    /// Every handshake and delivery answered so far, in order.
    pub fn deliveries(&self) -> Vec<HookDelivery> {
        lock(&self.state).delivered.clone()
    }

    /// Sends the last delivery again, byte for byte (Clio retries one that failed).
    pub fn redeliver_last(&self) {
        {
            let mut state = lock(&self.state);
            if let Some(last) = state.last_delivery.clone() {
                state.outbox.push(last);
            }
        }
        dispatch(&self.state);
    }
}

fn merge(target: &mut Value, changes: Value) {
    match (target, changes) {
        (Value::Object(target), Value::Object(changes)) => {
            for (key, value) in changes {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, changes) => *target = changes,
    }
}

fn clio_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": status.canonical_reason(), "message": message } })),
    )
        .into_response()
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// What every request goes through: the log, the bearer token, the API version, queued
/// faults and the rate limit. `Ok` carries the headers every answer gets.
fn admit(
    state: &mut ClioState,
    bearer: &BearerCheck,
    headers: &HeaderMap,
    line: String,
) -> Result<HeaderMap, Box<Response>> {
    let read = line.starts_with("GET ");
    state.requests.push(line);
    if !bearer.accepts(headers) {
        return Err(Box::new(clio_error(
            StatusCode::UNAUTHORIZED,
            "invalid token",
        )));
    }
    if let Some(version) = headers.get("x-api-version") {
        if !known_version(version.to_str().unwrap_or_default(), state.retired_from) {
            return Err(Box::new(clio_error(
                StatusCode::GONE,
                "unknown API version",
            )));
        }
    }
    let mut answer = HeaderMap::new();
    let date = state.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(date) = HeaderValue::from_str(&date) {
        answer.insert(header::DATE, date);
    }
    let fault = match state.faults.pop_front() {
        None if !read => state.write_faults.pop_front(),
        queued => queued,
    };
    if let Some(fault) = fault {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = clio_error(status, fault.reason);
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return Err(Box::new(response));
    }
    if let Some(quota) = &mut state.quota {
        let now = Instant::now();
        if now >= quota.resets_at {
            quota.remaining = quota.limit;
            quota.resets_at = now + quota.window;
        }
        let left = quota.resets_at.saturating_duration_since(now);
        let reset = Utc::now().timestamp() + i64::try_from(left.as_secs()).unwrap_or(0) + 1;
        answer.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
        answer.insert("x-ratelimit-reset", HeaderValue::from(reset));
        if quota.remaining == 0 {
            answer.insert("x-ratelimit-remaining", HeaderValue::from(0));
            answer.insert(header::RETRY_AFTER, HeaderValue::from(left.as_secs() + 1));
            let mut response = clio_error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
            response.headers_mut().extend(answer);
            return Err(Box::new(response));
        }
        quota.remaining -= 1;
        answer.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
    }
    Ok(answer)
}

fn with_headers(mut response: Response, headers: HeaderMap) -> Response {
    response.headers_mut().extend(headers);
    response
}

/// A `fields=` selection: names, and nested selections as `name{…}`.
enum Field {
    Name(String),
    Nested(String, Vec<Field>),
}

fn parse_fields(text: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let bytes: Vec<char> = text.chars().collect();
    let mut push = |part: String| {
        let part = part.trim().to_owned();
        if part.is_empty() {
            return;
        }
        match part.split_once('{') {
            Some((name, rest)) => fields.push(Field::Nested(
                name.trim().to_owned(),
                parse_fields(rest.strip_suffix('}').unwrap_or(rest)),
            )),
            None => fields.push(Field::Name(part)),
        }
    };
    for (i, c) in bytes.iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                push(bytes[start..i].iter().collect());
                start = i + 1;
            }
            _ => {}
        }
    }
    push(bytes[start..].iter().collect());
    fields
}

/// The record as Clio answers it: `id` and `etag` unless `fields` names more.
fn project(value: &Value, fields: &[Field]) -> Value {
    let mut out = Map::new();
    if fields.is_empty() {
        for key in ["id", "etag"] {
            if let Some(v) = value.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        return Value::Object(out);
    }
    for field in fields {
        match field {
            Field::Name(name) => {
                out.insert(
                    name.clone(),
                    value.get(name).cloned().unwrap_or(Value::Null),
                );
            }
            Field::Nested(name, sub) => {
                let nested = match value.get(name) {
                    Some(Value::Array(items)) => {
                        Value::Array(items.iter().map(|i| project(i, sub)).collect())
                    }
                    Some(object @ Value::Object(_)) => project(object, sub),
                    _ => Value::Null,
                };
                out.insert(name.clone(), nested);
            }
        }
    }
    Value::Object(out)
}

fn list(
    shared: Shared,
    model: &'static str,
    headers: HeaderMap,
    query: Option<String>,
) -> Response {
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let query = query.unwrap_or_default();
    let pairs = url_pairs(&query);
    let line = format!("GET /api/v4/{model}.json?{}", decoded(&pairs));
    let answer = match admit(&mut state, &bearer, &headers, line) {
        Ok(answer) => answer,
        Err(refusal) => return *refusal,
    };
    let param = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let limit = match param("limit").map(str::parse::<usize>) {
        None => 200,
        Some(Ok(limit)) if (1..=200).contains(&limit) => limit,
        Some(_) => return clio_error(StatusCode::BAD_REQUEST, "limit must be between 1 and 200"),
    };
    let cursor_paging = param("order") == Some("id(asc)");
    let after = match param("page_token") {
        None => 0,
        Some(_) if !cursor_paging => {
            return clio_error(StatusCode::BAD_REQUEST, "page_token requires order=id(asc)")
        }
        Some(token) => match token.strip_prefix('c').and_then(|t| t.parse::<u64>().ok()) {
            Some(after) => after,
            None => return clio_error(StatusCode::BAD_REQUEST, "invalid page_token"),
        },
    };
    let offset = param("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let since = match param("updated_since") {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => return clio_error(StatusCode::BAD_REQUEST, "invalid updated_since"),
        },
    };
    let fields = parse_fields(param("fields").unwrap_or_default());
    let matches = |stored: &Stored| {
        let value = &stored.value;
        let text = |v: &Value| match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        since.is_none_or(|since| stored.updated_at >= since)
            && param("type").is_none_or(|t| value["type"] == t)
            && param("matter_id").is_none_or(|m| text(&value["matter"]["id"]) == m)
            && param("query").is_none_or(|q| {
                let q = q.to_lowercase();
                ["display_number", "description", "name"].iter().any(|k| {
                    value[*k]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&q))
                })
            })
            && param("external_property_name").is_none_or(|name| {
                value["external_properties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        p["name"] == name
                            && param("external_property_value").is_none_or(|v| p["value"] == v)
                    })
            })
    };
    let base_url = state.base_url.clone();
    let state: &ClioState = &state;
    let all: Vec<(&u64, &Stored)> = state
        .records
        .get(model)
        .into_iter()
        .flatten()
        .filter(|(_, s)| !s.deleted && matches(s))
        .collect();
    let total = all.len();
    let remaining: Vec<&(&u64, &Stored)> = if cursor_paging {
        all.iter().filter(|(id, _)| **id > after).collect()
    } else {
        all.iter().skip(offset).collect()
    };
    let page: Vec<&(&u64, &Stored)> = remaining.iter().take(limit).copied().collect();
    let data: Vec<Value> = page
        .iter()
        .map(|(_, s)| project(&state.resolved(&s.value), &fields))
        .collect();
    let next = (remaining.len() > limit).then(|| {
        let mut keep: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page_token" && k != "offset")
            .cloned()
            .collect();
        if cursor_paging {
            let last = page.last().map(|(id, _)| **id).unwrap_or(after);
            keep.push(("page_token".into(), format!("c{last}")));
        } else {
            keep.push(("offset".into(), (offset + limit).to_string()));
        }
        let mut url = reqwest::Url::parse(&format!("{base_url}/api/v4/{model}.json"))
            .unwrap_or_else(|_| unreachable!("the fake's own URL"));
        url.query_pairs_mut().extend_pairs(keep);
        url.to_string()
    });
    let body = json!({
        "data": data,
        "meta": { "paging": { "next": next }, "records": total },
    });
    with_headers(Json(body).into_response(), answer)
}

fn decoded(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn data_of(body: &Bytes) -> Option<Value> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("data").filter(|d| d.is_object()).cloned()
}

fn create(
    shared: Shared,
    model: &'static str,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let arc = shared.0.clone();
    let response = create_record(shared, model, headers, query, body);
    dispatch(&arc);
    response
}

fn create_record(
    shared: Shared,
    model: &'static str,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let pairs = url_pairs(&query.unwrap_or_default());
    let line = format!("POST /api/v4/{model}.json?{}", decoded(&pairs));
    let answer = match admit(&mut state, &bearer, &headers, line) {
        Ok(answer) => answer,
        Err(refusal) => return *refusal,
    };
    let Some(mut data) = data_of(&body) else {
        return clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a data object is required",
        );
    };
    if data.get("id").is_some() {
        return clio_error(StatusCode::UNPROCESSABLE_ENTITY, "id is read-only");
    }
    match model {
        "calendar_entries" => {
            if data["calendar_owner"]["id"].is_null() {
                return clio_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "calendar_owner is required",
                );
            }
            let mut properties = Vec::new();
            for property in data["external_properties"].as_array().into_iter().flatten() {
                state.next_id += 1;
                let mut property = property.clone();
                property["id"] = json!(5000 + state.next_id);
                properties.push(property);
            }
            data["external_properties"] = Value::Array(properties);
        }
        "activities" if data["type"].as_str().is_none() || data["matter"]["id"].is_null() => {
            return clio_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "type and matter are required",
            );
        }
        _ => {}
    }
    let id = state.store(model, data);
    state.writes += 1;
    let fields = parse_fields(
        pairs
            .iter()
            .find(|(k, _)| k == "fields")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default(),
    );
    let record = state
        .live(model, id)
        .map(|s| s.value.clone())
        .map(|v| project(&state.resolved(&v), &fields))
        .unwrap_or(Value::Null);
    with_headers(
        (StatusCode::CREATED, Json(json!({ "data": record }))).into_response(),
        answer,
    )
}

enum Write {
    Patch(Bytes),
    Delete,
}

/// A request's query, decoded into its pairs in order.
type QueryPairs = Vec<(String, String)>;

/// A request for one record (`/api/v4/{path}`): its query's pairs, and the answer's headers
/// once `admit` lets it through.
fn admit_one(
    state: &mut ClioState,
    bearer: &BearerCheck,
    headers: &HeaderMap,
    path: &str,
    query: Option<String>,
    write: &Option<Write>,
) -> Result<(QueryPairs, HeaderMap), Box<Response>> {
    let pairs = url_pairs(&query.unwrap_or_default());
    let method = match write {
        None => "GET",
        Some(Write::Patch(_)) => "PATCH",
        Some(Write::Delete) => "DELETE",
    };
    let line = format!("{method} /api/v4/{path}?{}", decoded(&pairs));
    let answer = admit(state, bearer, headers, line)?;
    Ok((pairs, answer))
}

fn one(
    shared: Shared,
    model: &'static str,
    id: String,
    headers: HeaderMap,
    query: Option<String>,
    write: Option<Write>,
) -> Response {
    let arc = shared.0.clone();
    let response = one_record(shared, model, id, headers, query, write);
    dispatch(&arc);
    response
}

fn one_record(
    shared: Shared,
    model: &'static str,
    id: String,
    headers: HeaderMap,
    query: Option<String>,
    write: Option<Write>,
) -> Response {
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let path = format!("{model}/{id}");
    let (pairs, answer) = match admit_one(&mut state, &bearer, &headers, &path, query, &write) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let Some(id) = id.strip_suffix(".json").and_then(|i| i.parse::<u64>().ok()) else {
        return clio_error(StatusCode::NOT_FOUND, "not found");
    };
    let Some(stored) = state.live(model, id) else {
        return clio_error(StatusCode::NOT_FOUND, "not found");
    };
    let mut value = stored.value.clone();
    if write.is_some() {
        let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
        if if_match.is_some_and(|etag| Some(etag) != value["etag"].as_str()) {
            return clio_error(StatusCode::PRECONDITION_FAILED, "the record has changed");
        }
    }
    match write {
        None => {}
        Some(Write::Delete) => {
            state.remove(model, id);
            state.writes += 1;
            return with_headers(StatusCode::NO_CONTENT.into_response(), answer);
        }
        Some(Write::Patch(body)) => {
            let Some(mut changes) = data_of(&body) else {
                return clio_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "a data object is required",
                );
            };
            // External properties are updated by their id, added without one.
            if let Some(Value::Array(given)) = changes
                .as_object_mut()
                .and_then(|c| c.remove("external_properties"))
            {
                let mut properties = value["external_properties"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for property in given {
                    match properties
                        .iter_mut()
                        .find(|p| !property["id"].is_null() && p["id"] == property["id"])
                    {
                        Some(existing) => merge(existing, property),
                        None => {
                            state.next_id += 1;
                            let mut property = property;
                            property["id"] = json!(5000 + state.next_id);
                            properties.push(property);
                        }
                    }
                }
                value["external_properties"] = Value::Array(properties);
            }
            merge(&mut value, changes);
            state.store(model, value);
            state.writes += 1;
            value = state
                .live(model, id)
                .map(|s| s.value.clone())
                .unwrap_or(Value::Null);
        }
    }
    let fields = parse_fields(
        pairs
            .iter()
            .find(|(k, _)| k == "fields")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default(),
    );
    with_headers(
        Json(json!({ "data": project(&state.resolved(&value), &fields) })).into_response(),
        answer,
    )
}

fn fields_param(pairs: &[(String, String)]) -> Vec<Field> {
    parse_fields(
        pairs
            .iter()
            .find(|(k, _)| k == "fields")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default(),
    )
}

fn hooks_list(shared: Shared, headers: HeaderMap, query: Option<String>) -> Response {
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let pairs = url_pairs(&query.unwrap_or_default());
    let line = format!("GET /api/v4/webhooks.json?{}", decoded(&pairs));
    let answer = match admit(&mut state, &bearer, &headers, line) {
        Ok(answer) => answer,
        Err(refusal) => return *refusal,
    };
    let fields = fields_param(&pairs);
    let data: Vec<Value> = state
        .hooks
        .iter()
        .map(|(id, hook)| project(&hook.to_json(*id), &fields))
        .collect();
    with_headers(
        Json(json!({ "data": data, "meta": { "paging": {}, "records": data.len() } }))
            .into_response(),
        answer,
    )
}

/// An `expires_at` Clio takes: an ISO-8601 time no later than [`MAX_HOOK_LIFETIME`] ahead;
/// otherwise why it is refused (422).
fn hook_expiry(value: &Value, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, &'static str> {
    let Some(text) = value.as_str() else {
        return if value.is_null() {
            Ok(None)
        } else {
            Err("expires_at must be a time")
        };
    };
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| "invalid expires_at")?
        .with_timezone(&Utc);
    if at > now + MAX_HOOK_LIFETIME || at <= now {
        return Err("expires_at must be in the next 31 days");
    }
    Ok(Some(at))
}

fn hook_create(shared: Shared, headers: HeaderMap, query: Option<String>, body: Bytes) -> Response {
    let arc = shared.0.clone();
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let pairs = url_pairs(&query.unwrap_or_default());
    let line = format!("POST /api/v4/webhooks.json?{}", decoded(&pairs));
    let answer = match admit(&mut state, &bearer, &headers, line) {
        Ok(answer) => answer,
        Err(refusal) => return *refusal,
    };
    let Some(data) = data_of(&body) else {
        return clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a data object is required",
        );
    };
    let url = data["url"].as_str().unwrap_or_default().to_owned();
    if !hook_url_accepted(&url) {
        return clio_error(StatusCode::UNPROCESSABLE_ENTITY, "url must be an https URL");
    }
    let model = data["model"].as_str().unwrap_or_default();
    let Some(model) = HOOK_MODELS.iter().copied().find(|m| *m == model) else {
        return clio_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown model");
    };
    let Some(fields) = data["fields"].as_str().filter(|f| !f.trim().is_empty()) else {
        return clio_error(StatusCode::UNPROCESSABLE_ENTITY, "fields is required");
    };
    let events: Vec<String> = match data["events"].as_array() {
        None => HOOK_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
        Some(events) => {
            let events: Vec<String> = events
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            if events.is_empty() || events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                return clio_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown event");
            }
            events
        }
    };
    let now = state.now();
    // Clio applies a default expiry when none is given; the fake's is three days.
    let expires_at = match hook_expiry(&data["expires_at"], now) {
        Ok(at) => at.unwrap_or(now + chrono::Duration::days(3)),
        Err(why) => return clio_error(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    state.next_id += 1;
    state.version += 1;
    let id = 9000 + state.next_id;
    let secret: String = {
        use rand::Rng;
        let bytes: [u8; 16] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let hook = StoredHook {
        url: url.clone(),
        model: model.to_owned(),
        events,
        fields: fields.to_owned(),
        status: "pending",
        secret: String::new(),
        expires_at,
        etag: state.version,
    };
    let record = project(&hook.to_json(id), &fields_param(&pairs));
    state.hooks.insert(id, hook);
    state.writes += 1;
    state.outbox.push(Outgoing {
        hook: id,
        url,
        handshake: Some(secret.clone()),
        event: "handshake".into(),
        headers: vec![("x-hook-secret", secret)],
        body: Vec::new(),
    });
    drop(state);
    dispatch(&arc);
    with_headers(
        (StatusCode::CREATED, Json(json!({ "data": record }))).into_response(),
        answer,
    )
}

fn hook_one(
    shared: Shared,
    id: String,
    headers: HeaderMap,
    query: Option<String>,
    write: Option<Write>,
) -> Response {
    let (state, bearer) = shared;
    let mut state = lock(&state);
    let path = format!("webhooks/{id}");
    let (pairs, answer) = match admit_one(&mut state, &bearer, &headers, &path, query, &write) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let Some(id) = id
        .strip_suffix(".json")
        .and_then(|i| i.parse::<u64>().ok())
        .filter(|id| state.hooks.contains_key(id))
    else {
        return clio_error(StatusCode::NOT_FOUND, "not found");
    };
    match write {
        None => {}
        Some(Write::Delete) => {
            state.hooks.remove(&id);
            state.writes += 1;
            return with_headers(StatusCode::NO_CONTENT.into_response(), answer);
        }
        Some(Write::Patch(body)) => {
            let Some(changes) = data_of(&body) else {
                return clio_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "a data object is required",
                );
            };
            let now = state.now();
            let expires_at = match hook_expiry(&changes["expires_at"], now) {
                Ok(at) => at,
                Err(why) => return clio_error(StatusCode::UNPROCESSABLE_ENTITY, why),
            };
            state.version += 1;
            let version = state.version;
            if let Some(hook) = state.hooks.get_mut(&id) {
                if let Some(at) = expires_at {
                    hook.expires_at = at;
                }
                hook.etag = version;
            }
            state.writes += 1;
        }
    }
    let record = state
        .hooks
        .get(&id)
        .map(|hook| project(&hook.to_json(id), &fields_param(&pairs)))
        .unwrap_or(Value::Null);
    with_headers(Json(json!({ "data": record })).into_response(), answer)
}
