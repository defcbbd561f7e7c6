//! [`GraphCalendarFake`], Microsoft Graph `me/calendarView/delta`, behind the fake
//! provider's OAuth 2 authorisation server, following the documented behaviour: the first
//! request must name the window (`startDateTime` and `endDateTime`, else 400); every page
//! ends with an absolute `@odata.nextLink` (`$skiptoken`) or `@odata.deltaLink`
//! (`$deltatoken`) that must be replayed verbatim (a token with any other query parameter,
//! or one never issued, is a 400); `Prefer: odata.maxpagesize` is honoured; a deleted event
//! comes back in the next delta as `{"id": …, "@removed": {"reason": "deleted"}}`; a changed
//! one is listed again; once the sync state is dropped every token answers 410 Gone
//! (`SyncStateNotFound`); 429 with `Retry-After` when told; 401 for a refused token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{BearerCheck, FakeProvider, Fault};

/// Graph's page size for events when the client states none.
const DEFAULT_PAGE: usize = 10;

#[derive(Clone)]
struct Listing {
    epoch: u64,
    /// Changes after this sequence (0 for a full listing, which leaves deletions out).
    since: u64,
    /// Changes up to this sequence (the state when the listing started).
    upto: u64,
    offset: usize,
    full: bool,
}

#[derive(Default)]
struct CalendarState {
    base_url: String,
    /// id → (change sequence, event; `None` once deleted)
    events: HashMap<String, (u64, Option<Value>)>,
    sequence: u64,
    epoch: u64,
    issued: u64,
    tokens: HashMap<String, Listing>,
    faults: VecDeque<Fault>,
    requests: u64,
}

fn lock(state: &Mutex<CalendarState>) -> MutexGuard<'_, CalendarState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fake Microsoft Graph calendar (`/v1.0/me/calendarView/delta`).
pub struct GraphCalendarFake {
    /// The authorisation server (`/authorize`, `/token`) and token controls.
    pub provider: FakeProvider,
    state: Arc<Mutex<CalendarState>>,
}

impl GraphCalendarFake {
    pub async fn start() -> GraphCalendarFake {
        let state = Arc::new(Mutex::new(CalendarState::default()));
        let routes_state = state.clone();
        let provider = FakeProvider::start_with(move |bearer| {
            Router::new()
                .route("/v1.0/me/calendarView/delta", get(delta))
                .with_state((routes_state, bearer))
        })
        .await;
        lock(&state).base_url = format!("{}/v1.0", provider.base_url);
        GraphCalendarFake { provider, state }
    }

    /// The Graph root the connector is configured with.
    pub fn base_url(&self) -> String {
        format!("{}/v1.0", self.provider.base_url)
    }

    /// Adds or changes an event (its `id` names it): listed again by the next delta.
    pub fn upsert(&self, event: Value) {
        let mut state = lock(&self.state);
        state.sequence += 1;
        let sequence = state.sequence;
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        state.events.insert(id, (sequence, Some(event)));
    }

    /// Deletes an event: the next delta lists it as `@removed`.
    pub fn delete(&self, id: &str) {
        let mut state = lock(&self.state);
        state.sequence += 1;
        let sequence = state.sequence;
        state.events.insert(id.to_owned(), (sequence, None));
    }

    /// Drops the sync state: every token issued so far answers 410 Gone.
    pub fn drop_sync_state(&self) {
        lock(&self.state).epoch += 1;
    }

    /// The next request fails with `status` (and `Retry-After` when given).
    pub fn fail_next(&self, status: u16, retry_after_seconds: Option<u64>) {
        lock(&self.state).faults.push_back(Fault {
            status,
            retry_after_seconds,
            reason: "TooManyRequests",
        });
    }

    /// Delta requests answered (faults and refusals included).
    pub fn requests(&self) -> u64 {
        lock(&self.state).requests
    }
}

fn graph_error(status: StatusCode, code: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": code } });
    (status, Json(body)).into_response()
}

fn page_size(headers: &HeaderMap) -> usize {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.parse().ok())
        .unwrap_or(DEFAULT_PAGE)
        .max(1)
}

async fn delta(
    State((state, bearer)): State<(Arc<Mutex<CalendarState>>, BearerCheck)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut state = lock(&state);
    state.requests += 1;
    if !bearer.accepts(&headers) {
        return graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    if let Some(fault) = state.faults.pop_front() {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = graph_error(status, fault.reason);
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url_pairs(&query);
    let token = pairs
        .iter()
        .find(|(k, _)| k == "$skiptoken" || k == "$deltatoken")
        .map(|(_, v)| v.clone());
    let listing = match token {
        Some(token) => {
            // A link is replayed as given: the token alone.
            if pairs.len() != 1 {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest");
            }
            // Links stay valid (a page replayed after a crash is answered again).
            let Some(listing) = state.tokens.get(&token).cloned() else {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest");
            };
            if listing.epoch != state.epoch {
                return graph_error(StatusCode::GONE, "SyncStateNotFound");
            }
            if listing.offset == 0 && !listing.full && listing.upto < state.sequence {
                // A delta token: the changes since it, up to now.
                Listing {
                    since: listing.upto,
                    upto: state.sequence,
                    ..listing
                }
            } else {
                listing
            }
        }
        None => {
            let named = |key: &str| pairs.iter().any(|(k, _)| k == key);
            if !named("startDateTime") || !named("endDateTime") {
                return graph_error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
            }
            Listing {
                epoch: state.epoch,
                since: 0,
                upto: state.sequence,
                offset: 0,
                full: true,
            }
        }
    };
    let mut changes: Vec<(u64, &String, &Option<Value>)> = state
        .events
        .iter()
        .filter(|(_, (seq, _))| *seq > listing.since && *seq <= listing.upto)
        .filter(|(_, (_, event))| !listing.full || event.is_some())
        .map(|(id, (seq, event))| (*seq, id, event))
        .collect();
    changes.sort_by_key(|(seq, _, _)| *seq);
    let size = page_size(&headers);
    let items: Vec<Value> = changes
        .iter()
        .skip(listing.offset)
        .take(size)
        .map(|(_, id, event)| match event {
            Some(event) => (*event).clone(),
            None => json!({ "id": id, "@removed": { "reason": "deleted" } }),
        })
        .collect();
    let more = changes.len() > listing.offset + size;
    state.issued += 1;
    let token = format!("t{}x{}", state.issued, rand::random::<u32>());
    let base = state.base_url.clone();
    let mut body = json!({ "value": items });
    if more {
        body["@odata.nextLink"] = json!(format!("{base}/me/calendarView/delta?$skiptoken={token}"));
        let next = Listing {
            offset: listing.offset + size,
            ..listing
        };
        state.tokens.insert(token, next);
    } else {
        body["@odata.deltaLink"] =
            json!(format!("{base}/me/calendarView/delta?$deltatoken={token}"));
        let next = Listing {
            epoch: listing.epoch,
            since: listing.upto,
            upto: listing.upto,
            offset: 0,
            full: false,
        };
        state.tokens.insert(token, next);
    }
    Json(body).into_response()
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}
