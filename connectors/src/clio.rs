//! The `clio` connector: Clio Manage through its API v4, over the OAuth layer.
//!
//! **Regions.** Clio keeps each account in one of four regions, each its own host for the
//! API and the OAuth endpoints (a token of one region is refused by the others): [`Region`].
//!
//! **Requests.** Every request names the API version (`X-API-VERSION`, [`API_VERSION`]); Clio
//! answers 410 Gone to a version it does not know, which is a configuration error here, not
//! the invalid cursor a 410 means elsewhere. Clio answers only `id` and `etag` unless `fields=`
//! names more (nested records as `matter{id,display_number}`), so every request names the
//! fields it reads.
//!
//! **Pull.** A listing pages with cursors (`order=id(asc)`, at most 200 records a page),
//! following `meta.paging.next`, a full URL that is replayed as given (and only towards the
//! configured host, which receives the bearer token). The cursor stored between pages is
//! that URL; between runs it is the `updated_since` of the next listing: the provider's time
//! (its `Date` header) when the last listing started, less [`OVERLAP`] for changes committed
//! while it ran. Records seen twice are harmless: the sync engine's upserts are idempotent.
//! Clio's listings leave deleted records out; deletions reach lexgate through `deleted`
//! webhook events (see [`parse_hook`]) and through a full listing, whose end reconciles what
//! it did not see: with [`ClioConnector::relist_after`], a listing that starts longer than
//! that after the last full one answers [`ConnectorError::InvalidCursor`], so the engine
//! starts one.
//!
//! **Throttling.** `X-RateLimit-Remaining` reaching 0 holds every request until
//! `X-RateLimit-Reset`; a 429 is waited out by the shared HTTP client (`Retry-After`).
//!
//! **Push.** A deadline becomes a calendar entry carrying lexgate's id and the digest of what
//! lexgate wrote as external properties (`lexgate_id`, `lexgate_digest`); before creating
//! one, the entry with that id is looked up, so a push whose answer was lost is not
//! repeated. Updates send `If-Match` with the entry's ETag and never overwrite an entry
//! edited in Clio (its content no longer matches the digest lexgate wrote). A time entry
//! becomes an activity (`TimeEntry`) whose `reference` is `lexgate:{id}`; the matter's
//! activities are searched for it first. Entries lexgate pushed are not pulled back.
//!
//! **Webhooks.** One webhook per pulled model ([`HOOK_MODELS`]), for its `created`, `updated`
//! and `deleted` events, carrying only the record's `id` and `etag` ([`HOOK_FIELDS`]): created
//! `pending` (`POST webhooks.json`), Clio then POSTs a handshake with `X-Hook-Secret` to the
//! URL, and the receiver's 200 echoing it enables the webhook; deliveries carry
//! `X-Hook-Signature`, the hex HMAC-SHA256 of the raw body under that secret
//! ([`verify_hook_signature`]). A webhook lives until its `expires_at`, at most
//! [`MAX_HOOK_LIFETIME`] ahead, and is renewed by moving it (`PATCH`); `DELETE` ends it. What
//! Clio refuses (a URL that is not `https`, an expiry too far, a webhook it no longer has) is
//! [`ConnectorError::Rejected`].

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::HttpError;
use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, ContactOrigin, Cursor, DeadlinePush,
    OutboundDeadline, OutboundTimeEntry, Page, PushOutcome, PushedEvent, RemoteContact,
    RemoteDeadline, RemoteMatter, RemoteMatterStatus, RemoteTimeEntry, RemoteWebhook,
    RemoveOutcome,
};

pub const KIND: &str = "clio";

/// The API version every request asks for. From 4.0.4 on, a time entry's `quantity` is in
/// seconds (hours before).
pub const API_VERSION: &str = "4.0.13";

/// Clio's largest page.
pub const MAX_PAGE: u32 = 200;

/// How far the next listing's `updated_since` reaches back before the last listing started.
pub const OVERLAP: chrono::Duration = chrono::Duration::seconds(60);

/// The external property of a calendar entry naming the deadline lexgate pushed.
pub const ID_PROPERTY: &str = "lexgate_id";
/// The external property with the digest of what lexgate wrote into the entry.
pub const DIGEST_PROPERTY: &str = "lexgate_digest";
/// How a time entry's `reference` names lexgate's entry.
pub const REFERENCE_PREFIX: &str = "lexgate:";

/// The header of Clio's webhook handshake, echoed back to activate the webhook.
pub const HOOK_SECRET_HEADER: &str = "x-hook-secret";
/// The header with the HMAC-SHA256 (hex) of a delivery's raw body under the hook's secret.
pub const HOOK_SIGNATURE_HEADER: &str = "x-hook-signature";

/// The models lexgate pulls, by the identifiers Clio's webhooks take: one webhook each.
pub const HOOK_MODELS: &[&str] = &["contact", "matter", "calendar_entry", "activity"];
/// The events every webhook subscribes to.
pub const HOOK_EVENTS: [&str; 3] = ["created", "updated", "deleted"];
/// The longest life Clio gives a webhook: a later `expires_at` is refused.
pub const MAX_HOOK_LIFETIME: chrono::Duration = chrono::Duration::days(31);
/// What a delivery carries of the record: its id and version only, so no personal data
/// travels in a webhook (the sync it starts reads the record).
pub const HOOK_FIELDS: &str = "id,etag";
/// The fields of a webhook read back.
const HOOK_READ_FIELDS: &str = "id,etag,model,status,expires_at";

/// The data region of a Clio account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `app.clio.com`
    Us,
    /// `eu.app.clio.com`
    Eu,
    /// `ca.app.clio.com`
    Ca,
    /// `au.app.clio.com`
    Au,
}

impl Region {
    pub const ALL: [Region; 4] = [Region::Us, Region::Eu, Region::Ca, Region::Au];

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Ca => "ca",
            Region::Au => "au",
        }
    }

    pub fn parse(text: &str) -> Option<Region> {
        let text = text.trim().to_ascii_lowercase();
        Region::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn host(self) -> &'static str {
        match self {
            Region::Us => "app.clio.com",
            Region::Eu => "eu.app.clio.com",
            Region::Ca => "ca.app.clio.com",
            Region::Au => "au.app.clio.com",
        }
    }

    /// The API root, e.g. `https://eu.app.clio.com/api/v4`.
    pub fn api_root(self) -> String {
        format!("https://{}/api/v4", self.host())
    }

    pub fn auth_url(self) -> String {
        format!("https://{}/oauth/authorize", self.host())
    }

    pub fn token_url(self) -> String {
        format!("https://{}/oauth/token", self.host())
    }
}

/// One listed model: its path under the API root and the fields read.
struct Model {
    path: &'static str,
    fields: &'static str,
    /// Filters every listing of the model carries.
    filters: &'static [(&'static str, &'static str)],
}

const CONTACTS: Model = Model {
    path: "contacts.json",
    fields: "id,etag,type,name,first_name,last_name,is_client,created_at,updated_at,\
             email_addresses{address,primary},phone_numbers{number,primary}",
    filters: &[],
};

const MATTERS: Model = Model {
    path: "matters.json",
    fields: "id,etag,display_number,description,status,open_date,close_date,updated_at,\
             client{id},responsible_attorney{id,name,email},practice_area{id,name}",
    filters: &[],
};

const CALENDAR_ENTRIES: Model = Model {
    path: "calendar_entries.json",
    fields: "id,etag,summary,description,location,start_at,end_at,all_day,updated_at,\
             matter{id,display_number},external_properties{id,name,value}",
    filters: &[],
};

const ACTIVITIES: Model = Model {
    path: "activities.json",
    fields: "id,etag,type,date,quantity,price,non_billable,note,reference,updated_at,\
             matter{id,display_number},user{id,email}",
    filters: &[("type", "TimeEntry")],
};

/// Where a stream stands: the cursor, as JSON.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    /// `updated_since` of the listing in progress; none in a full listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<DateTime<Utc>>,
    /// When the listing in progress started (the provider's clock, less [`OVERLAP`]): the
    /// next listing's `updated_since`.
    started: DateTime<Utc>,
    /// When the last full listing started.
    full: DateTime<Utc>,
    /// The page the listing continues with, while it has more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Listing<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    paging: Paging,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Paging {
    next: Option<String>,
}

#[derive(Deserialize)]
struct One<T> {
    data: T,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClioContact {
    id: Value,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    is_client: Option<bool>,
    created_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "or_default")]
    email_addresses: Vec<EmailAddress>,
    #[serde(deserialize_with = "or_default")]
    phone_numbers: Vec<PhoneNumber>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailAddress {
    address: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PhoneNumber {
    number: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClioMatter {
    id: Value,
    display_number: Option<String>,
    description: Option<String>,
    status: Option<String>,
    open_date: Option<NaiveDate>,
    close_date: Option<NaiveDate>,
    client: Option<Related>,
    responsible_attorney: Option<Related>,
    practice_area: Option<Related>,
}

/// A nested record: only the fields asked for are there.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct Related {
    id: Value,
    name: Option<String>,
    email: Option<String>,
    display_number: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct CalendarEntry {
    id: Value,
    etag: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start_at: Option<DateTime<Utc>>,
    end_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "or_default")]
    all_day: bool,
    matter: Option<Related>,
    #[serde(deserialize_with = "or_default")]
    external_properties: Vec<ExternalProperty>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ExternalProperty {
    id: Value,
    #[serde(deserialize_with = "or_default")]
    name: String,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Activity {
    id: Value,
    #[serde(rename = "type")]
    kind: Option<String>,
    date: Option<NaiveDate>,
    /// Seconds (from API 4.0.4 on).
    quantity: Option<f64>,
    /// A time entry's hourly rate.
    price: Option<f64>,
    #[serde(deserialize_with = "or_default")]
    non_billable: bool,
    note: Option<String>,
    reference: Option<String>,
    matter: Option<Related>,
    user: Option<Related>,
}

/// A field Clio may answer with `null` (a list or flag of a record without any): its default.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Clio's ids are numbers (calendar entries' may be strings): their text either way.
fn id_text(id: &Value) -> Option<String> {
    match id {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn protocol(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol(format!("Clio: {what}"))
}

/// A refusal as the engine should see it: Clio's 410 refuses the API version (a setting to
/// correct), not a cursor.
fn refused(error: HttpError) -> ConnectorError {
    match error {
        HttpError::Status { status: 410, .. } => ConnectorError::Rejected(format!(
            "Clio refused the API version {API_VERSION} (410 Gone)"
        )),
        other => other.into(),
    }
}

pub struct ClioConnector {
    /// The API root with a trailing slash, e.g. `https://app.clio.com/api/v4/`.
    base: Url,
    client: AuthorizedClient,
    page_size: u32,
    relist_after: Option<chrono::Duration>,
    /// The longest `X-RateLimit-Reset` waited for; a longer one ends the run as throttled.
    max_wait: Duration,
    /// No request before this: the provider said the rate limit's window is spent.
    quiet_until: Mutex<Option<tokio::time::Instant>>,
    /// The calendar new entries go to (the authorised user's own).
    calendar: tokio::sync::OnceCell<Value>,
}

impl ClioConnector {
    /// `base_url` is the API root, e.g. [`Region::api_root`].
    pub fn new(
        base_url: &str,
        client: AuthorizedClient,
        page_size: u32,
    ) -> Result<ClioConnector, ConnectorError> {
        let mut base = base_url.trim().trim_end_matches('/').to_owned();
        base.push('/');
        let base = Url::parse(&base).map_err(|e| protocol(format!("base URL: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(protocol("the base URL cannot take a path"));
        }
        Ok(ClioConnector {
            base,
            client,
            page_size: page_size.clamp(1, MAX_PAGE),
            relist_after: None,
            max_wait: Duration::from_secs(120),
            quiet_until: Mutex::new(None),
            calendar: tokio::sync::OnceCell::new(),
        })
    }

    /// A listing that starts longer than `after` since the last full one is a full listing
    /// (which finds the records deleted in Clio).
    pub fn relist_after(mut self, after: chrono::Duration) -> ClioConnector {
        self.relist_after = Some(after);
        self
    }

    /// The longest wait for the rate limit's window to reset.
    pub fn max_wait(mut self, wait: Duration) -> ClioConnector {
        self.max_wait = wait;
        self
    }

    fn url(&self, path: &str) -> Result<Url, ConnectorError> {
        self.base
            .join(path)
            .map_err(|e| protocol(format!("{path}: {e}")))
    }

    /// A link Clio gave, if it points back at the configured host.
    fn replayable(&self, link: &str) -> Result<Url, ConnectorError> {
        let url = Url::parse(link).map_err(|_| protocol("a paging link that is not a URL"))?;
        if url.origin() != self.base.origin() || !url.path().starts_with(self.base.path()) {
            return Err(protocol("a paging link to another service"));
        }
        Ok(url)
    }

    /// Waits while the rate limit's window is spent.
    async fn wait_for_quota(&self) -> Result<(), ConnectorError> {
        let until = *self
            .quiet_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(until) = until else {
            return Ok(());
        };
        let wait = until.saturating_duration_since(tokio::time::Instant::now());
        if wait > self.max_wait {
            return Err(ConnectorError::Throttled {
                message: format!("Clio's rate limit resets in {}s", wait.as_secs()),
                retry_after: Some(wait),
            });
        }
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    /// Notes `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds, or seconds from
    /// now in older answers) of an answer.
    fn note_quota(&self, response: &reqwest::Response) {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let mut quiet = self
            .quiet_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match (header("x-ratelimit-remaining"), header("x-ratelimit-reset")) {
            (Some(0), Some(reset)) => {
                let seconds = if reset > 1_000_000_000 {
                    reset - Utc::now().timestamp()
                } else {
                    reset
                };
                let wait = Duration::from_secs(u64::try_from(seconds.max(1)).unwrap_or(1));
                *quiet = Some(tokio::time::Instant::now() + wait);
            }
            _ => *quiet = None,
        }
    }

    /// One request with the API version, `If-Match` and a JSON body when given.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, HttpError> {
        if let Err(ConnectorError::Throttled { retry_after, .. }) = self.wait_for_quota().await {
            return Err(HttpError::RetryAfterTooLong {
                target: "Clio".into(),
                wait: retry_after.unwrap_or_default(),
            });
        }
        let response = self
            .client
            .send(|http| {
                let mut request = http
                    .request(method.clone(), url.clone())
                    .header("X-API-VERSION", API_VERSION);
                if let Some(etag) = if_match {
                    request = request.header("If-Match", etag);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await?;
        self.note_quota(&response);
        Ok(response)
    }

    async fn read_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<T, ConnectorError> {
        self.send(method, url, None, body)
            .await
            .map_err(refused)?
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))
    }

    /// The first page's URL of a listing of `model`.
    fn listing_url(
        &self,
        model: &Model,
        since: Option<DateTime<Utc>>,
        extra: &[(&str, &str)],
    ) -> Result<Url, ConnectorError> {
        let mut url = self.url(model.path)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("fields", model.fields)
                .append_pair("order", "id(asc)")
                .append_pair("limit", &self.page_size.to_string());
            for (key, value) in model.filters.iter().chain(extra) {
                query.append_pair(key, value);
            }
            if let Some(since) = since {
                query.append_pair("updated_since", &since.to_rfc3339());
            }
        }
        Ok(url)
    }

    /// One page of a listing of `model` from `cursor`, and the cursor after it.
    async fn page<T: DeserializeOwned>(
        &self,
        model: &Model,
        cursor: Option<&Cursor>,
    ) -> Result<(Vec<T>, Cursor, bool), ConnectorError> {
        let position = match cursor {
            None => None,
            Some(cursor) => Some(
                serde_json::from_str::<Position>(&cursor.0)
                    .map_err(|_| ConnectorError::InvalidCursor)?,
            ),
        };
        let (url, since, started, full) = match position {
            None => (self.listing_url(model, None, &[])?, None, None, None),
            Some(Position {
                next: Some(next),
                since,
                started,
                full,
            }) => (
                self.replayable(&next)
                    .map_err(|_| ConnectorError::InvalidCursor)?,
                since,
                Some(started),
                Some(full),
            ),
            Some(Position {
                next: None,
                started,
                full,
                ..
            }) => {
                let due = self
                    .relist_after
                    .is_some_and(|after| Utc::now() - full >= after);
                if due {
                    // The engine starts a full listing, which reconciles deletions.
                    return Err(ConnectorError::InvalidCursor);
                }
                (
                    self.listing_url(model, Some(started), &[])?,
                    Some(started),
                    None,
                    Some(full),
                )
            }
        };
        let response = self
            .send(Method::GET, &url, None, None)
            .await
            .map_err(refused)?;
        let served_at = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        let listing: Listing<T> = response
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))?;
        let started = started.unwrap_or(served_at - OVERLAP);
        let full = full.unwrap_or(started);
        let next = match listing.meta.paging.next.filter(|n| !n.trim().is_empty()) {
            // Checked now, so a stored cursor is always one that can be replayed.
            Some(next) => Some(self.replayable(&next)?.to_string()),
            None => None,
        };
        let more = next.is_some();
        let position = Position {
            since: if more { since } else { None },
            started,
            full: if since.is_none() && !more {
                // A full listing ended: the next full one is counted from its start.
                started
            } else {
                full
            },
            next,
        };
        let cursor = serde_json::to_string(&position).map_err(protocol)?;
        Ok((listing.data, Cursor(cursor), more))
    }

    async fn pull<T: DeserializeOwned, R>(
        &self,
        model: &Model,
        cursor: Option<&Cursor>,
        record: impl Fn(T) -> Option<R>,
    ) -> Result<Page<R>, ConnectorError> {
        let (data, cursor, more) = self.page::<T>(model, cursor).await?;
        Ok(Page {
            records: data.into_iter().filter_map(record).collect(),
            cursor,
            more,
        })
    }
}

fn contact(contact: ClioContact) -> Option<RemoteContact> {
    let external_id = id_text(&contact.id)?;
    let organization = contact.kind.as_deref() == Some("Company");
    let emails = contact
        .email_addresses
        .into_iter()
        .filter_map(|e| non_blank(e.address))
        .map(|e| e.to_lowercase())
        .collect();
    let phones = contact
        .phone_numbers
        .into_iter()
        .filter_map(|p| non_blank(p.number))
        .collect();
    Some(RemoteContact {
        external_id,
        deleted: false,
        // The instance's provenance rules give a client the contract basis and an entry of
        // the address book its own.
        origin: if contact.is_client == Some(true) {
            ContactOrigin::BillingClient
        } else {
            ContactOrigin::AddressBook
        },
        organization,
        given_name: if organization {
            None
        } else {
            non_blank(contact.first_name)
        },
        family_name: if organization {
            None
        } else {
            non_blank(contact.last_name).or_else(|| non_blank(contact.name.clone()))
        },
        organization_name: if organization {
            non_blank(contact.name)
        } else {
            None
        },
        emails,
        phones,
        basis_arose_at: contact.created_at,
        ..RemoteContact::default()
    })
}

fn matter(matter: ClioMatter) -> Option<RemoteMatter> {
    let external_id = id_text(&matter.id)?;
    let reference = non_blank(matter.display_number)?;
    let status = match matter
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("open") => Some(RemoteMatterStatus::Open),
        Some("pending") => Some(RemoteMatterStatus::Pending),
        Some("closed") => Some(RemoteMatterStatus::Closed),
        _ => None,
    };
    Some(RemoteMatter {
        external_id,
        deleted: false,
        title: non_blank(matter.description).unwrap_or_else(|| reference.clone()),
        reference,
        client_external_id: matter.client.as_ref().and_then(|c| id_text(&c.id)),
        status,
        practice_area: matter.practice_area.and_then(|p| non_blank(p.name)),
        responsible_email: matter
            .responsible_attorney
            .and_then(|a| non_blank(a.email))
            .map(|e| e.to_lowercase()),
        opened_on: matter.open_date,
        closed_on: matter.close_date,
    })
}

fn property<'a>(entry: &'a CalendarEntry, name: &str) -> Option<&'a ExternalProperty> {
    entry.external_properties.iter().find(|p| p.name == name)
}

fn deadline(entry: CalendarEntry) -> Option<RemoteDeadline> {
    // What lexgate pushed is lexgate's own deadline already.
    if property(&entry, ID_PROPERTY).is_some() {
        return None;
    }
    let external_id = id_text(&entry.id)?;
    Some(RemoteDeadline {
        external_id,
        deleted: false,
        matter_external_id: entry.matter.as_ref().and_then(|m| id_text(&m.id)),
        matter_reference: entry
            .matter
            .as_ref()
            .and_then(|m| non_blank(m.display_number.clone())),
        title: non_blank(entry.summary).unwrap_or_else(|| "(untitled)".to_owned()),
        description: non_blank(entry.description),
        location: non_blank(entry.location),
        due_at: entry.start_at?,
        ends_at: entry.end_at,
        all_day: entry.all_day,
    })
}

fn time_entry(activity: Activity) -> Option<RemoteTimeEntry> {
    if activity.kind.as_deref() != Some("TimeEntry") {
        return None;
    }
    if activity
        .reference
        .as_deref()
        .is_some_and(|r| r.starts_with(REFERENCE_PREFIX))
    {
        return None;
    }
    let external_id = id_text(&activity.id)?;
    let seconds = activity.quantity.unwrap_or(0.0).max(0.0);
    Some(RemoteTimeEntry {
        external_id,
        deleted: false,
        matter_external_id: activity.matter.as_ref().and_then(|m| id_text(&m.id)),
        matter_reference: activity
            .matter
            .as_ref()
            .and_then(|m| non_blank(m.display_number.clone())),
        worked_on: activity.date?,
        minutes: i32::try_from((seconds / 60.0).round() as i64).unwrap_or(i32::MAX),
        description: non_blank(activity.note).unwrap_or_default(),
        timekeeper_email: activity
            .user
            .and_then(|u| non_blank(u.email))
            .map(|e| e.to_lowercase()),
        non_billable: activity.non_billable,
        rate_cents: activity
            .price
            .filter(|p| p.is_finite() && *p >= 0.0)
            .map(|p| (p * 100.0).round() as i64),
    })
}

/// An instant as lexgate writes and compares it: UTC, whole seconds.
fn utc_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest_of(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex(&hasher.finalize())
}

/// What an entry says, as a digest: of what lexgate sends, or of what Clio holds.
fn entry_digest(
    summary: &str,
    description: &str,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    matter: Option<&str>,
) -> String {
    digest_of(&[
        summary,
        description,
        &start.map(utc_seconds).unwrap_or_default(),
        &end.map(utc_seconds).unwrap_or_default(),
        matter.unwrap_or_default(),
    ])
}

fn remote_digest(entry: &CalendarEntry) -> String {
    entry_digest(
        entry.summary.as_deref().unwrap_or_default(),
        entry.description.as_deref().unwrap_or_default(),
        entry.start_at,
        entry.end_at,
        entry
            .matter
            .as_ref()
            .and_then(|m| id_text(&m.id))
            .as_deref(),
    )
}

/// The fields of a calendar entry read when pushing.
const ENTRY_FIELDS: &str = "id,etag,summary,description,start_at,end_at,matter{id,display_number},\
                            external_properties{id,name,value}";

/// What a conditional write answered.
enum Written {
    Entry(Box<CalendarEntry>),
    /// 412: the ETag sent is no longer the entry's.
    Stale,
    /// 404: no such entry (any more).
    Gone,
}

impl ClioConnector {
    /// Clio's id of the matter numbered `reference`, if there is one.
    async fn matter_id(&self, reference: &str) -> Result<Option<Value>, ConnectorError> {
        let mut url = self.url(MATTERS.path)?;
        url.query_pairs_mut()
            .append_pair("fields", "id,display_number")
            .append_pair("query", reference)
            .append_pair("limit", &MAX_PAGE.to_string());
        let listing: Listing<Related> = self.read_json(Method::GET, &url, None).await?;
        // `query` matches words anywhere: the number must be the same.
        Ok(listing
            .data
            .into_iter()
            .find(|m| m.display_number.as_deref().map(str::trim) == Some(reference.trim()))
            .map(|m| m.id))
    }

    /// The calendar of the authorised user, where new entries go.
    async fn calendar(&self) -> Result<Value, ConnectorError> {
        self.calendar
            .get_or_try_init(|| async {
                let mut url = self.url("calendars.json")?;
                url.query_pairs_mut()
                    .append_pair("fields", "id,type")
                    .append_pair("owned", "true");
                let listing: Listing<Related> = self.read_json(Method::GET, &url, None).await?;
                listing
                    .data
                    .into_iter()
                    .map(|c| c.id)
                    .find(|id| id_text(id).is_some())
                    .ok_or_else(|| protocol("the authorised user owns no calendar"))
            })
            .await
            .cloned()
    }

    /// The entry lexgate pushed for the deadline `id`, found by its external property.
    async fn find_entry(&self, id: &str) -> Result<Option<CalendarEntry>, ConnectorError> {
        let mut url = self.url(CALENDAR_ENTRIES.path)?;
        url.query_pairs_mut()
            .append_pair("fields", ENTRY_FIELDS)
            .append_pair("external_property_name", ID_PROPERTY)
            .append_pair("external_property_value", id);
        let listing: Listing<CalendarEntry> = self.read_json(Method::GET, &url, None).await?;
        Ok(listing
            .data
            .into_iter()
            .find(|e| property(e, ID_PROPERTY).and_then(|p| p.value.as_deref()) == Some(id)))
    }

    fn entry_url(&self, id: &str) -> Result<Url, ConnectorError> {
        let mut url = self.url(&format!("calendar_entries/{}.json", utf8_percent(id)))?;
        url.query_pairs_mut().append_pair("fields", ENTRY_FIELDS);
        Ok(url)
    }

    async fn write(
        &self,
        method: Method,
        url: &Url,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Written, ConnectorError> {
        let response = match self.send(method.clone(), url, if_match, body).await {
            Ok(response) => response,
            Err(HttpError::Status { status: 412, .. }) => return Ok(Written::Stale),
            Err(HttpError::Status { status: 404, .. }) => return Ok(Written::Gone),
            Err(HttpError::Status { status, .. })
                if (400..500).contains(&status) && ![401, 403, 410, 429].contains(&status) =>
            {
                return Err(ConnectorError::Rejected(format!(
                    "{method} of a Clio calendar entry answered {status}"
                )))
            }
            Err(other) => return Err(refused(other)),
        };
        if method == Method::DELETE || response.status() == StatusCode::NO_CONTENT {
            return Ok(Written::Entry(Box::default()));
        }
        let one: One<CalendarEntry> = response
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))?;
        Ok(Written::Entry(Box::new(one.data)))
    }

    async fn read_entry(&self, id: &str) -> Result<Option<CalendarEntry>, ConnectorError> {
        match self
            .write(Method::GET, &self.entry_url(id)?, None, None)
            .await?
        {
            Written::Entry(entry) => Ok(Some(*entry)),
            Written::Gone => Ok(None),
            Written::Stale => Err(protocol("a read answered 412")),
        }
    }

    async fn push(&self, deadline: &OutboundDeadline) -> Result<DeadlinePush, ConnectorError> {
        let matter = match &deadline.matter_reference {
            Some(reference) => self.matter_id(reference).await?,
            None => None,
        };
        let matter_text = matter.as_ref().and_then(id_text);
        let mut description = deadline.description.clone().unwrap_or_default();
        if let (None, Some(reference)) = (&matter, &deadline.matter_reference) {
            // No matter of that number in Clio: the entry still says which one it is.
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("Matter {reference}"));
        }
        // Whole seconds, as Clio keeps them.
        let start = DateTime::from_timestamp(deadline.due_at.timestamp(), 0)
            .ok_or_else(|| protocol("a due time out of range"))?;
        let end = start + chrono::Duration::minutes(30);
        let digest = entry_digest(
            &deadline.title,
            &description,
            Some(start),
            Some(end),
            matter_text.as_deref(),
        );
        if let Some(previous) = &deadline.previous {
            if previous.digest == digest {
                return Ok(DeadlinePush {
                    outcome: PushOutcome::Unchanged,
                    pushed: previous.clone(),
                });
            }
        }
        let pushed = |entry: &CalendarEntry| PushedEvent {
            external_id: id_text(&entry.id).unwrap_or_default(),
            version: entry.etag.clone(),
            digest: digest.clone(),
        };
        let mut fields = json!({
            "summary": deadline.title,
            "description": description,
            "start_at": utc_seconds(start),
            "end_at": utc_seconds(end),
            "all_day": false,
        });
        if let Some(matter) = &matter {
            fields["matter"] = json!({ "id": matter });
        }
        // Found by lexgate's id first: an earlier push whose answer was lost is not repeated.
        let existing = match &deadline.previous {
            Some(previous) => match self.read_entry(&previous.external_id).await? {
                Some(entry) => Some(entry),
                None => self.find_entry(&deadline.id).await?,
            },
            None => self.find_entry(&deadline.id).await?,
        };
        let Some(existing) = existing else {
            let mut create = fields.clone();
            create["calendar_owner"] = json!({ "id": self.calendar().await? });
            create["external_properties"] = json!([
                { "name": ID_PROPERTY, "value": deadline.id },
                { "name": DIGEST_PROPERTY, "value": digest },
            ]);
            let mut url = self.url(CALENDAR_ENTRIES.path)?;
            url.query_pairs_mut().append_pair("fields", ENTRY_FIELDS);
            return match self
                .write(Method::POST, &url, None, Some(&json!({ "data": create })))
                .await?
            {
                Written::Entry(entry) => Ok(DeadlinePush {
                    outcome: PushOutcome::Created,
                    pushed: pushed(&entry),
                }),
                Written::Stale | Written::Gone => Err(ConnectorError::Rejected(
                    "Clio refused to create the calendar entry".into(),
                )),
            };
        };
        let now_says = remote_digest(&existing);
        if now_says == digest {
            // What lexgate meant to write is there already.
            let outcome = if deadline.previous.is_some() {
                PushOutcome::Unchanged
            } else {
                PushOutcome::Created
            };
            return Ok(DeadlinePush {
                outcome,
                pushed: pushed(&existing),
            });
        }
        let written = property(&existing, DIGEST_PROPERTY).cloned();
        let untouched = written.as_ref().and_then(|p| p.value.as_deref()) == Some(&now_says);
        let id = id_text(&existing.id).unwrap_or_default();
        if let (true, Some(etag), Some(written)) = (untouched, existing.etag.as_deref(), written) {
            let mut update = fields;
            update["external_properties"] = json!([{ "id": written.id, "value": digest }]);
            if let Written::Entry(entry) = self
                .write(
                    Method::PATCH,
                    &self.entry_url(&id)?,
                    Some(etag),
                    Some(&json!({ "data": update })),
                )
                .await?
            {
                return Ok(DeadlinePush {
                    outcome: PushOutcome::Updated,
                    pushed: pushed(&entry),
                });
            }
        }
        // Edited in Clio (or changing under us): kept as it is, and not sent again until the
        // deadline changes in lexgate.
        Ok(DeadlinePush {
            outcome: PushOutcome::Conflict,
            pushed: pushed(&existing),
        })
    }

    async fn remove(&self, pushed: &PushedEvent) -> Result<RemoveOutcome, ConnectorError> {
        let Some(entry) = self.read_entry(&pushed.external_id).await? else {
            return Ok(RemoveOutcome::Removed);
        };
        let now_says = remote_digest(&entry);
        let written = property(&entry, DIGEST_PROPERTY).and_then(|p| p.value.clone());
        if written.as_deref() != Some(now_says.as_str()) {
            return Ok(RemoveOutcome::Kept);
        }
        match self
            .write(
                Method::DELETE,
                &self.entry_url(&pushed.external_id)?,
                entry.etag.as_deref(),
                None,
            )
            .await?
        {
            Written::Entry(_) | Written::Gone => Ok(RemoveOutcome::Removed),
            Written::Stale => Ok(RemoveOutcome::Kept),
        }
    }

    async fn push_time(&self, entry: &OutboundTimeEntry) -> Result<String, ConnectorError> {
        let Some(matter) = self.matter_id(&entry.matter_reference).await? else {
            return Err(ConnectorError::Rejected(format!(
                "Clio has no matter numbered {}",
                entry.matter_reference
            )));
        };
        let reference = format!("{REFERENCE_PREFIX}{}", entry.id);
        let matter_text = id_text(&matter).unwrap_or_default();
        // The matter's time entries, for one lexgate pushed before (whose answer was lost).
        let mut url = self.listing_url(
            &Model {
                path: ACTIVITIES.path,
                fields: "id,reference",
                filters: ACTIVITIES.filters,
            },
            None,
            &[("matter_id", &matter_text)],
        )?;
        loop {
            let listing: Listing<Activity> = self.read_json(Method::GET, &url, None).await?;
            if let Some(found) = listing
                .data
                .iter()
                .find(|a| a.reference.as_deref() == Some(reference.as_str()))
            {
                return id_text(&found.id).ok_or_else(|| protocol("an activity without an id"));
            }
            match listing.meta.paging.next {
                Some(next) => url = self.replayable(&next)?,
                None => break,
            }
        }
        let body = json!({ "data": {
            "type": "TimeEntry",
            "date": entry.worked_on.unwrap_or_else(|| Utc::now().date_naive()).to_string(),
            "quantity": i64::from(entry.minutes.max(0)) * 60,
            "note": entry.description,
            "matter": { "id": matter },
            "reference": reference,
        } });
        let mut url = self.url(ACTIVITIES.path)?;
        url.query_pairs_mut().append_pair("fields", "id,etag");
        let created: One<Activity> = self.read_json(Method::POST, &url, Some(&body)).await?;
        id_text(&created.data.id).ok_or_else(|| protocol("a created activity without an id"))
    }
}

fn utf8_percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A webhook as Clio answers it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Hook {
    id: Value,
    status: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

fn remote_hook(hook: Hook) -> Result<RemoteWebhook, ConnectorError> {
    Ok(RemoteWebhook {
        id: id_text(&hook.id).ok_or_else(|| protocol("a webhook without an id"))?,
        status: hook.status.unwrap_or_default(),
        expires_at: hook.expires_at,
    })
}

/// A refused webhook request: what Clio refused (a URL that is not `https`, an expiry beyond
/// [`MAX_HOOK_LIFETIME`], a webhook it no longer has) as [`ConnectorError::Rejected`].
fn hook_refused(what: &str, error: HttpError) -> ConnectorError {
    match error {
        HttpError::Status { status, .. } if matches!(status, 400 | 404 | 409 | 422) => {
            ConnectorError::Rejected(format!("Clio refused to {what} (status {status})"))
        }
        other => refused(other),
    }
}

impl ClioConnector {
    fn hook_url(&self, id: Option<&str>) -> Result<Url, ConnectorError> {
        let mut url = match id {
            Some(id) => self.url(&format!("webhooks/{}.json", utf8_percent(id)))?,
            None => self.url("webhooks.json")?,
        };
        url.query_pairs_mut()
            .append_pair("fields", HOOK_READ_FIELDS);
        Ok(url)
    }

    async fn hook_request(
        &self,
        method: Method,
        url: &Url,
        body: &Value,
        what: &str,
    ) -> Result<RemoteWebhook, ConnectorError> {
        let one: One<Hook> = self
            .send(method, url, None, Some(body))
            .await
            .map_err(|e| hook_refused(what, e))?
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))?;
        remote_hook(one.data)
    }

    /// Creates a webhook: Clio answers it `pending` and sends the handshake to `url`.
    async fn create_hook(
        &self,
        url: &str,
        model: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<RemoteWebhook, ConnectorError> {
        if !HOOK_MODELS.contains(&model) {
            return Err(ConnectorError::Unsupported("webhooks of that model"));
        }
        let body = json!({ "data": {
            "url": url,
            "model": model,
            "events": HOOK_EVENTS,
            "fields": HOOK_FIELDS,
            "expires_at": utc_seconds(expires_at),
        } });
        self.hook_request(
            Method::POST,
            &self.hook_url(None)?,
            &body,
            "create the webhook",
        )
        .await
    }

    async fn renew_hook(
        &self,
        id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<RemoteWebhook, ConnectorError> {
        let body = json!({ "data": { "expires_at": utc_seconds(expires_at) } });
        self.hook_request(
            Method::PATCH,
            &self.hook_url(Some(id))?,
            &body,
            "renew the webhook",
        )
        .await
    }

    async fn delete_hook(&self, id: &str) -> Result<(), ConnectorError> {
        match self
            .send(Method::DELETE, &self.hook_url(Some(id))?, None, None)
            .await
        {
            Ok(_) | Err(HttpError::Status { status: 404, .. }) => Ok(()),
            Err(other) => Err(hook_refused("delete the webhook", other)),
        }
    }
}

/// A webhook delivery: the record and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// `contact`, `matter`, `calendar_entry` or `activity`.
    pub model: String,
    /// `created`, `updated` or `deleted`.
    pub event: String,
    /// Clio's id of the record.
    pub record_id: String,
    /// The webhook that delivered it.
    pub webhook_id: String,
    /// Identifies the delivery for deduplication: the same record, event and version.
    pub delivery_id: String,
}

/// Checks `X-Hook-Signature` (HMAC-SHA256, hex, of the raw body) against the hook's secret,
/// in constant time.
pub fn verify_hook_signature(secret: &[u8], signature: &str, body: &[u8]) -> bool {
    let Some(expected) = decode_hex(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `X-Hook-Signature` Clio puts on `body` (for the fake and tests).
pub fn sign_hook(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads a (verified) delivery: `{"data": {"id": …, "etag": …}, "meta": {"event": …,
/// "webhook_id": …, "model": …}}`.
pub fn parse_hook(body: &[u8]) -> Option<HookEvent> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let record_id = id_text(&value["data"]["id"])?;
    let meta = &value["meta"];
    let event = meta["event"].as_str()?.to_owned();
    let model = meta["model"].as_str().unwrap_or_default().to_owned();
    let webhook_id = id_text(&meta["webhook_id"]).unwrap_or_default();
    let version = value["data"]["etag"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| value["data"]["updated_at"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let delivery_id = digest_of(&[&webhook_id, &model, &event, &record_id, &version]);
    Some(HookEvent {
        model,
        event,
        record_id,
        webhook_id,
        delivery_id,
    })
}

impl Connector for ClioConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_contacts: true,
            pull_matters: true,
            pull_deadlines: true,
            pull_time_entries: true,
            push_deadlines: true,
            push_time_entries: true,
            ..Capabilities::default()
        }
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(self.pull(&CONTACTS, cursor, contact))
    }

    fn pull_matters<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteMatter>, ConnectorError>> {
        Box::pin(self.pull(&MATTERS, cursor, matter))
    }

    fn pull_deadlines<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteDeadline>, ConnectorError>> {
        Box::pin(self.pull(&CALENDAR_ENTRIES, cursor, deadline))
    }

    fn pull_time_entries<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteTimeEntry>, ConnectorError>> {
        Box::pin(self.pull(&ACTIVITIES, cursor, time_entry))
    }

    fn push_deadline<'a>(
        &'a self,
        deadline: &'a OutboundDeadline,
    ) -> BoxFuture<'a, Result<DeadlinePush, ConnectorError>> {
        Box::pin(self.push(deadline))
    }

    fn remove_deadline<'a>(
        &'a self,
        pushed: &'a PushedEvent,
    ) -> BoxFuture<'a, Result<RemoveOutcome, ConnectorError>> {
        Box::pin(self.remove(pushed))
    }

    fn push_time_entry<'a>(
        &'a self,
        entry: &'a OutboundTimeEntry,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(self.push_time(entry))
    }

    fn webhook_models(&self) -> &'static [&'static str] {
        HOOK_MODELS
    }

    fn create_webhook<'a>(
        &'a self,
        url: &'a str,
        model: &'a str,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<RemoteWebhook, ConnectorError>> {
        Box::pin(self.create_hook(url, model, expires_at))
    }

    fn renew_webhook<'a>(
        &'a self,
        id: &'a str,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<RemoteWebhook, ConnectorError>> {
        Box::pin(self.renew_hook(id, expires_at))
    }

    fn delete_webhook<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(self.delete_hook(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_name_their_hosts() {
        assert_eq!(Region::parse(" EU "), Some(Region::Eu));
        assert_eq!(Region::parse("uk"), None);
        assert_eq!(Region::Us.api_root(), "https://app.clio.com/api/v4");
        assert_eq!(
            Region::Au.token_url(),
            "https://au.app.clio.com/oauth/token"
        );
        assert_eq!(
            Region::Ca.auth_url(),
            "https://ca.app.clio.com/oauth/authorize"
        );
    }

    #[test]
    fn a_hook_signature_verifies_only_for_its_body_and_secret() {
        let signature = sign_hook(b"s3cret", b"{\"data\":{}}");
        assert!(verify_hook_signature(
            b"s3cret",
            &signature,
            b"{\"data\":{}}"
        ));
        assert!(!verify_hook_signature(
            b"s3cret",
            &signature,
            b"{\"data\":1}"
        ));
        assert!(!verify_hook_signature(
            b"other",
            &signature,
            b"{\"data\":{}}"
        ));
        assert!(!verify_hook_signature(b"s3cret", "zz", b"{\"data\":{}}"));
    }

    #[test]
    fn a_delivery_names_its_record_and_event() {
        let body = br#"{"data":{"id":42,"etag":"\"7\""},"meta":{"event":"deleted","webhook_id":9,"model":"contact"}}"#;
        let event = parse_hook(body).expect("event");
        assert_eq!(event.record_id, "42");
        assert_eq!(event.event, "deleted");
        assert_eq!(event.model, "contact");
        assert_eq!(event.webhook_id, "9");
        assert!(parse_hook(b"{}").is_none());
    }
}
