//! The `caldav` connector: one calendar collection of a CalDAV server (RFC 4791), synced
//! with `sync-collection` (RFC 6578).
//!
//! - Pull: `REPORT sync-collection` with the last sync-token lists the hrefs changed and
//!   deleted (404) since; `REPORT calendar-multiget` fetches the changed ones. Recurring
//!   events are expanded here for the synced window (a server's own time-range filtering is
//!   not trusted: Xandikos 0.4.10 gets it wrong). A refused sync-token (403 or 412 with
//!   `DAV:valid-sync-token`) is an invalid cursor: the engine starts a full resync.
//! - Push: a deadline becomes an event with a UID derived from lexgate's id, created with
//!   `If-None-Match: *` and updated with `If-Match`. The event carries a digest of what
//!   lexgate wrote (`X-LEXGATE-DIGEST`), so after a 412 a re-read tells an event nobody
//!   touched (updated) from one someone edited at the provider (left alone: a conflict).
//!   Removal is a `DELETE` with `If-Match`; after a 412 the same re-read decides (an event
//!   edited at the provider is kept).

use chrono::{DateTime, Duration, TimeZone, Utc};
use icalendar::{
    Calendar, CalendarDateTime, Component, DatePerhapsTime, Event, EventLike, EventStatus, Property,
};
use reqwest::header::{HeaderValue, CONTENT_TYPE, ETAG};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::dav::{body_text, child, refused, status_code, xml_escape, DavClient, DAV};
use crate::http::HttpClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, DeadlinePush, EventOccurrence,
    MailAddress, OutboundDeadline, Page, PushOutcome, PushedEvent, RemoteEvent, RemoveOutcome,
};

pub const KIND: &str = "caldav";

const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";

/// Occurrences of one recurring event taken from the window, at most.
const MAX_OCCURRENCES: u16 = 1000;

/// Where and how to reach one calendar.
#[derive(Debug, Clone)]
pub struct CalDavConfig {
    /// The calendar collection, e.g. `https://dav.example.com/calendars/avv.rossi/work/`.
    pub calendar_url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The window occurrences are expanded in, in days before and after now.
    pub past_days: u32,
    pub future_days: u32,
    /// Events fetched per `calendar-multiget`.
    pub batch_size: usize,
}

pub struct CalDavConnector {
    dav: DavClient,
    collection: Url,
    past_days: u32,
    future_days: u32,
    batch_size: usize,
}

impl CalDavConnector {
    pub fn new(config: CalDavConfig, http: HttpClient) -> Result<CalDavConnector, ConnectorError> {
        let mut url = config.calendar_url.trim().to_owned();
        // A collection URL ends with '/', or joining an href would drop its last segment.
        if !url.ends_with('/') {
            url.push('/');
        }
        let collection =
            Url::parse(&url).map_err(|e| ConnectorError::Protocol(format!("calendar URL: {e}")))?;
        Ok(CalDavConnector {
            dav: DavClient::new(http, config.username, config.password, "CalDAV"),
            collection,
            past_days: config.past_days,
            future_days: config.future_days,
            batch_size: config.batch_size.max(1),
        })
    }

    fn report(&self, url: Url, depth: &str, body: String) -> reqwest::RequestBuilder {
        self.dav
            .request(report_method(), url)
            .header("Depth", depth)
            .header(CONTENT_TYPE, "application/xml; charset=utf-8")
            .body(body)
    }

    /// The changes since `token` (everything without one).
    async fn sync_collection(&self, token: Option<&str>) -> Result<Listing, ConnectorError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#,
            xml_escape(token.unwrap_or(""))
        );
        let response = self
            .dav
            .send(self.report(self.collection.clone(), "0", body))
            .await?;
        let status = response.status();
        let text = body_text(response).await?;
        if !status.is_success() {
            // Radicale answers 403 and Xandikos 412; both name the failed precondition.
            if token.is_some() && text.contains("valid-sync-token") {
                return Err(ConnectorError::InvalidCursor);
            }
            return Err(refused("sync-collection", status));
        }
        let multistatus = parse_multistatus(&text)?;
        let token = multistatus.sync_token.ok_or_else(|| {
            ConnectorError::Protocol("sync-collection without a sync-token".into())
        })?;
        let mut listing = Listing {
            token,
            changed: Vec::new(),
            deleted: Vec::new(),
        };
        for item in multistatus.responses {
            let Some(url) = self.member(&item.href) else {
                continue;
            };
            if item.status == Some(404) {
                listing.deleted.push(url);
            } else if item.etag.is_some() {
                listing.changed.push(url);
            }
        }
        Ok(listing)
    }

    /// A member resource of the collection (not the collection itself, nor a sub-collection).
    fn member(&self, href: &str) -> Option<Url> {
        let url = self.collection.join(href).ok()?;
        let inside = url.as_str().starts_with(self.collection.as_str())
            && url.path() != self.collection.path()
            && !url.path().ends_with('/');
        inside.then_some(url)
    }

    /// The calendar data of `urls`; those gone meanwhile are missing from the answer.
    async fn multiget(&self, urls: &[Url]) -> Result<Vec<Fetched>, ConnectorError> {
        let hrefs: String = urls
            .iter()
            .map(|u| format!("<d:href>{}</d:href>", xml_escape(u.path())))
            .collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"#
        );
        let response = self
            .dav
            .send(self.report(self.collection.clone(), "1", body))
            .await?;
        let status = response.status();
        let text = body_text(response).await?;
        if !status.is_success() {
            return Err(refused("calendar-multiget", status));
        }
        let multistatus = parse_multistatus(&text)?;
        Ok(multistatus
            .responses
            .into_iter()
            .filter_map(|item| {
                let url = self.member(&item.href)?;
                Some(Fetched {
                    url,
                    data: item.calendar_data?,
                })
            })
            .collect())
    }

    /// The window occurrences are expanded in.
    fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = Utc::now();
        (
            now - Duration::days(self.past_days.into()),
            now + Duration::days(self.future_days.into()),
        )
    }

    fn event_url(&self, deadline: &OutboundDeadline) -> Result<Url, ConnectorError> {
        self.collection
            .join(&format!("{}.ics", deadline_uid(&deadline.id)))
            .map_err(|e| ConnectorError::Protocol(format!("event URL: {e}")))
    }

    async fn put(
        &self,
        url: &Url,
        body: &str,
        precondition: Precondition<'_>,
    ) -> Result<Put, ConnectorError> {
        let mut builder = self
            .dav
            .request(Method::PUT, url.clone())
            .header(CONTENT_TYPE, "text/calendar; charset=utf-8")
            .body(body.to_owned());
        builder = match precondition {
            Precondition::Absent => builder.header("If-None-Match", "*"),
            Precondition::Version(etag) => builder.header("If-Match", etag),
        };
        let response = self.dav.send(builder).await?;
        match response.status() {
            StatusCode::PRECONDITION_FAILED => Ok(Put::PreconditionFailed),
            status if status.is_success() => {
                let etag = header_etag(response.headers().get(ETAG));
                Ok(Put::Written(etag))
            }
            status => Err(refused("PUT", status)),
        }
    }

    /// The event at `url` with its ETag, or `None` when there is none.
    async fn get(&self, url: &Url) -> Result<Option<(Option<String>, String)>, ConnectorError> {
        let response = self
            .dav
            .send(self.dav.request(Method::GET, url.clone()))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            status if status.is_success() => {
                let etag = header_etag(response.headers().get(ETAG));
                Ok(Some((etag, body_text(response).await?)))
            }
            status => Err(refused("GET", status)),
        }
    }

    /// The ETag after a write whose answer did not carry one.
    async fn version_after_write(
        &self,
        url: &Url,
        etag: Option<String>,
    ) -> Result<Option<String>, ConnectorError> {
        if etag.is_some() {
            return Ok(etag);
        }
        Ok(self.get(url).await?.and_then(|(etag, _)| etag))
    }

    async fn push(&self, deadline: &OutboundDeadline) -> Result<DeadlinePush, ConnectorError> {
        let url = self.event_url(deadline)?;
        let (body, digest) = render_deadline(deadline)?;
        let pushed = |version: Option<String>| PushedEvent {
            external_id: url.path().to_owned(),
            version,
            digest: digest.clone(),
        };
        if let Some(previous) = &deadline.previous {
            if previous.digest == digest {
                return Ok(DeadlinePush {
                    outcome: PushOutcome::Unchanged,
                    pushed: previous.clone(),
                });
            }
        }
        let first = match deadline
            .previous
            .as_ref()
            .and_then(|p| p.version.as_deref())
        {
            Some(etag) => self.put(&url, &body, Precondition::Version(etag)).await?,
            None => self.put(&url, &body, Precondition::Absent).await?,
        };
        if let Put::Written(etag) = first {
            let outcome = if deadline.previous.is_some() {
                PushOutcome::Updated
            } else {
                PushOutcome::Created
            };
            let version = self.version_after_write(&url, etag).await?;
            return Ok(DeadlinePush {
                outcome,
                pushed: pushed(version),
            });
        }
        // The precondition failed: the event exists unknown to us, or changed since we wrote
        // it. Re-read it and decide.
        let Some((etag, remote)) = self.get(&url).await? else {
            // Deleted at the provider: lexgate's deadline still stands, so it is recreated.
            return match self.put(&url, &body, Precondition::Absent).await? {
                Put::Written(etag) => Ok(DeadlinePush {
                    outcome: PushOutcome::Created,
                    pushed: pushed(self.version_after_write(&url, etag).await?),
                }),
                Put::PreconditionFailed => Err(ConnectorError::Rejected(
                    "the event reappeared while it was being recreated".into(),
                )),
            };
        };
        let (remote_digest, written_digest) = remote_digests(&remote)?;
        if remote_digest == digest {
            return Ok(DeadlinePush {
                outcome: PushOutcome::Unchanged,
                pushed: pushed(etag),
            });
        }
        let untouched = written_digest.as_deref() == Some(remote_digest.as_str());
        if let (true, Some(etag)) = (untouched, etag.as_deref()) {
            if let Put::Written(new_etag) =
                self.put(&url, &body, Precondition::Version(etag)).await?
            {
                return Ok(DeadlinePush {
                    outcome: PushOutcome::Updated,
                    pushed: pushed(self.version_after_write(&url, new_etag).await?),
                });
            }
        }
        // Edited at the provider (or changing under us): not overwritten. The version seen is
        // kept with lexgate's digest: nothing is sent again until the deadline changes.
        Ok(DeadlinePush {
            outcome: PushOutcome::Conflict,
            pushed: pushed(etag),
        })
    }

    async fn delete(&self, url: &Url, etag: &str) -> Result<bool, ConnectorError> {
        let response = self
            .dav
            .send(
                self.dav
                    .request(Method::DELETE, url.clone())
                    .header("If-Match", etag),
            )
            .await?;
        match response.status() {
            StatusCode::PRECONDITION_FAILED => Ok(false),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(true),
            status if status.is_success() => Ok(true),
            status => Err(refused("DELETE", status)),
        }
    }

    async fn remove(&self, pushed: &PushedEvent) -> Result<RemoveOutcome, ConnectorError> {
        let url = self.member(&pushed.external_id).ok_or_else(|| {
            ConnectorError::Protocol("the event lies outside the calendar".into())
        })?;
        if let Some(etag) = pushed.version.as_deref() {
            if self.delete(&url, etag).await? {
                return Ok(RemoveOutcome::Removed);
            }
        }
        // Changed since (or no version known): re-read and remove only what nobody edited.
        let Some((etag, remote)) = self.get(&url).await? else {
            return Ok(RemoveOutcome::Removed);
        };
        let (remote_digest, written_digest) = remote_digests(&remote)?;
        let untouched = written_digest.as_deref() == Some(remote_digest.as_str());
        match (untouched, etag) {
            (true, Some(etag)) if self.delete(&url, &etag).await? => Ok(RemoveOutcome::Removed),
            _ => Ok(RemoveOutcome::Kept),
        }
    }
}

impl Connector for CalDavConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_events: true,
            push_deadlines: true,
            ..Capabilities::default()
        }
    }

    fn pull_events<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteEvent>, ConnectorError>> {
        Box::pin(async move {
            let listing = self.sync_collection(cursor.map(|c| c.0.as_str())).await?;
            let window = self.window();
            let mut records = Vec::new();
            for batch in listing.changed.chunks(self.batch_size) {
                let fetched = self.multiget(batch).await?;
                for url in batch {
                    let external_id = url.path().to_owned();
                    // Deleted between the listing and the fetch.
                    let Some(found) = fetched.iter().find(|f| &f.url == url) else {
                        records.push(deleted(external_id));
                        continue;
                    };
                    let occurrences = expand(&found.data, window).map_err(|e| {
                        ConnectorError::Protocol(format!("event {external_id}: {e}"))
                    })?;
                    records.push(RemoteEvent {
                        external_id,
                        deleted: false,
                        occurrences,
                    });
                }
            }
            records.extend(listing.deleted.iter().map(|u| deleted(u.path().to_owned())));
            Ok(Page {
                records,
                cursor: Cursor(listing.token),
                more: false,
            })
        })
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
}

/// What a sync-collection report listed.
struct Listing {
    token: String,
    changed: Vec<Url>,
    deleted: Vec<Url>,
}

struct Fetched {
    url: Url,
    data: String,
}

enum Precondition<'a> {
    /// `If-None-Match: *`: create only.
    Absent,
    /// `If-Match`: update only this version.
    Version(&'a str),
}

enum Put {
    Written(Option<String>),
    PreconditionFailed,
}

fn deleted(external_id: String) -> RemoteEvent {
    RemoteEvent {
        external_id,
        deleted: true,
        occurrences: Vec::new(),
    }
}

fn report_method() -> Method {
    // A valid token: REPORT is a registered method name.
    Method::from_bytes(b"REPORT").unwrap_or(Method::POST)
}

fn header_etag(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// One `DAV:response` of a multistatus.
struct Item {
    href: String,
    /// The response's own status (a deleted member's 404).
    status: Option<u16>,
    etag: Option<String>,
    calendar_data: Option<String>,
}

struct Multistatus {
    sync_token: Option<String>,
    responses: Vec<Item>,
}

/// Reads a multistatus by namespace, whatever prefixes the server chose.
fn parse_multistatus(text: &str) -> Result<Multistatus, ConnectorError> {
    let document = roxmltree::Document::parse(text)
        .map_err(|e| ConnectorError::Protocol(format!("multistatus: {e}")))?;
    let root = document.root_element();
    if !root.has_tag_name((DAV, "multistatus")) {
        return Err(ConnectorError::Protocol("not a DAV:multistatus".into()));
    }
    let mut responses = Vec::new();
    for response in root
        .children()
        .filter(|c| c.has_tag_name((DAV, "response")))
    {
        let Some(href) = text_of(child(response, DAV, "href")) else {
            continue;
        };
        let status = text_of(child(response, DAV, "status")).and_then(|s| status_code(&s));
        let mut item = Item {
            href,
            status,
            etag: None,
            calendar_data: None,
        };
        for propstat in response
            .children()
            .filter(|c| c.has_tag_name((DAV, "propstat")))
        {
            let ok = text_of(child(propstat, DAV, "status"))
                .and_then(|s| status_code(&s))
                .is_none_or(|code| (200..300).contains(&code));
            let Some(prop) = child(propstat, DAV, "prop").filter(|_| ok) else {
                continue;
            };
            item.etag = item.etag.or(text_of(child(prop, DAV, "getetag")));
            item.calendar_data = item.calendar_data.or(child(prop, CALDAV, "calendar-data")
                .and_then(|n| n.text())
                .map(str::to_owned));
        }
        responses.push(item);
    }
    Ok(Multistatus {
        sync_token: text_of(child(root, DAV, "sync-token")),
        responses,
    })
}

fn text_of(node: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text()).map(|t| t.trim().to_owned())
}

/// The stable UID of a deadline's event (also its resource name).
pub fn deadline_uid(id: &str) -> String {
    format!("lexgate-deadline-{id}")
}

/// The calendar object of a deadline and the digest of what it says.
fn render_deadline(deadline: &OutboundDeadline) -> Result<(String, String), ConnectorError> {
    let mut description = deadline.description.clone().unwrap_or_default();
    if let Some(reference) = &deadline.matter_reference {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Matter {reference}"));
    }
    let build = |digest: Option<&str>| {
        let mut event = Event::new();
        event
            .uid(&deadline_uid(&deadline.id))
            .summary(&deadline.title)
            .starts(CalendarDateTime::Utc(deadline.due_at))
            .add_property("CATEGORIES", deadline.kind.as_str());
        if !description.is_empty() {
            event.description(&description);
        }
        if let Some(digest) = digest {
            event.add_property("X-LEXGATE-DIGEST", digest);
        }
        let mut calendar = Calendar::new();
        calendar.push(event.done());
        calendar.to_string()
    };
    // The digest is taken from the text as read back, exactly as a re-read will take it.
    let (digest, _) = remote_digests(&build(None))?;
    Ok((build(Some(&digest)), digest))
}

/// The digest of what an event of ours says now, and the one lexgate wrote into it.
fn remote_digests(data: &str) -> Result<(String, Option<String>), ConnectorError> {
    let calendar: Calendar = data
        .parse()
        .map_err(|e| ConnectorError::Protocol(format!("calendar data: {e}")))?;
    let event = calendar
        .events()
        .next()
        .ok_or_else(|| ConnectorError::Protocol("no VEVENT in the calendar data".into()))?;
    let start = event
        .get_start()
        .and_then(|s| to_utc(&s))
        .map(|s| s.to_rfc3339())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        event.get_summary().unwrap_or_default(),
        event.get_description().unwrap_or_default(),
        start.as_str(),
        event.property_value("CATEGORIES").unwrap_or_default(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hex(&hasher.finalize());
    let written = event.property_value("X-LEXGATE-DIGEST").map(str::to_owned);
    Ok((digest, written))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An instant: zoned times converted, floating times and dates read as UTC (they carry no
/// zone, and the firm's calendar server has none to offer either).
fn to_utc(value: &DatePerhapsTime) -> Option<DateTime<Utc>> {
    match value {
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(naive)) => {
            Some(Utc.from_utc_datetime(naive))
        }
        DatePerhapsTime::DateTime(dt) => dt.try_into_utc(),
        DatePerhapsTime::Date(date) => date.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n)),
    }
}

/// Whether a start has no zone of its own (so the recurrence library placed it in the
/// machine's local zone, and its wall-clock time is what counts).
fn is_zoneless(value: &DatePerhapsTime) -> bool {
    matches!(
        value,
        DatePerhapsTime::Date(_) | DatePerhapsTime::DateTime(CalendarDateTime::Floating(_))
    )
}

/// The occurrences of a calendar object inside `window`: the master event's recurrence set
/// (RRULE, RDATE, EXDATE), with overridden instances (RECURRENCE-ID) replaced and
/// cancelled ones left out.
fn expand(
    data: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<EventOccurrence>, String> {
    let calendar: Calendar = data.parse()?;
    let events: Vec<&Event> = calendar.events().collect();
    let overrides: Vec<(DateTime<Utc>, &Event)> = events
        .iter()
        .filter_map(|e| Some((to_utc(&e.get_recurrence_id()?)?, *e)))
        .collect();
    let mut occurrences = Vec::new();
    for master in events.iter().filter(|e| e.get_recurrence_id().is_none()) {
        let uid = master.get_uid().ok_or("an event without UID")?;
        let start = master.get_start().ok_or("an event without DTSTART")?;
        let first = to_utc(&start).ok_or("a DTSTART in an unknown time zone")?;
        let length = event_length(master, first);
        let zoneless = is_zoneless(&start);
        let set = master.get_recurrence().map_err(|e| e.to_string())?;
        let tz = set.get_dt_start().timezone();
        // Occurrences that started before the window but still run into it count.
        let lookback = length.unwrap_or_else(Duration::zero);
        let after = (from - lookback).with_timezone(&tz);
        let before = to.with_timezone(&tz);
        let dates = set.after(after).before(before).all(MAX_OCCURRENCES).dates;
        for date in dates {
            let at = if zoneless {
                Utc.from_utc_datetime(&date.naive_local())
            } else {
                date.with_timezone(&Utc)
            };
            if overrides.iter().any(|(original, _)| *original == at) {
                continue;
            }
            if master.get_status() == Some(EventStatus::Cancelled) {
                continue;
            }
            occurrences.push(occurrence(master, uid, at, at, length));
        }
    }
    for (original, event) in overrides {
        let uid = event.get_uid().ok_or("an event without UID")?;
        if event.get_status() == Some(EventStatus::Cancelled) {
            continue;
        }
        let start = event
            .get_start()
            .and_then(|s| to_utc(&s))
            .unwrap_or(original);
        let length = event_length(event, start);
        let end = start + length.unwrap_or_else(Duration::zero);
        if end < from || start > to {
            continue;
        }
        occurrences.push(occurrence(event, uid, original, start, length));
    }
    occurrences.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
    Ok(occurrences)
}

fn occurrence(
    event: &Event,
    uid: &str,
    original: DateTime<Utc>,
    start: DateTime<Utc>,
    length: Option<Duration>,
) -> EventOccurrence {
    let recurring = event.property_value("RRULE").is_some()
        || event.get_recurrence_id().is_some()
        || event.multi_properties().contains_key("RDATE");
    let id = if recurring {
        format!("{uid}/{}", original.format("%Y%m%dT%H%M%SZ"))
    } else {
        uid.to_owned()
    };
    let attendees = event
        .multi_properties()
        .get("ATTENDEE")
        .map(|list| list.iter().filter_map(party).collect())
        .unwrap_or_default();
    EventOccurrence {
        id,
        title: event.get_summary().unwrap_or_default().to_owned(),
        description: event.get_description().map(str::to_owned),
        location: event.get_location().map(str::to_owned),
        starts_at: start,
        ends_at: length.map(|l| start + l),
        organizer: event.properties().get("ORGANIZER").and_then(party),
        attendees,
    }
}

/// An ORGANIZER or ATTENDEE: its address and its common name (`CN`), if any.
fn party(property: &Property) -> Option<MailAddress> {
    let name = property
        .params()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("CN"))
        .map(|(_, cn)| cn.value().trim().trim_matches('"').trim().to_owned())
        .filter(|cn| !cn.is_empty());
    Some(MailAddress {
        address: address(property.value())?,
        name,
    })
}

/// `mailto:Avv.Rossi@Example.com` → `avv.rossi@example.com`.
fn address(value: &str) -> Option<String> {
    let value = value.trim();
    let address = value
        .strip_prefix("mailto:")
        .or_else(|| value.strip_prefix("MAILTO:"))
        .unwrap_or(value)
        .trim()
        .to_lowercase();
    address.contains('@').then_some(address)
}

/// DTEND minus DTSTART, or DURATION; `None` when the event gives neither.
fn event_length(event: &Event, start: DateTime<Utc>) -> Option<Duration> {
    if let Some(end) = event.get_end().and_then(|e| to_utc(&e)) {
        return Some(end - start);
    }
    event.property_value("DURATION").and_then(parse_duration)
}

/// An RFC 5545 duration: `[+-]P[nW][nD][T[nH][nM][nS]]`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut rest = text.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut in_time = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('T') {
            in_time = true;
            rest = after;
            continue;
        }
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let amount: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        total += match (in_time, unit) {
            (false, 'W') => Duration::weeks(amount),
            (false, 'D') => Duration::days(amount),
            (true, 'H') => Duration::hours(amount),
            (true, 'M') => Duration::minutes(amount),
            (true, 'S') => Duration::seconds(amount),
            _ => return None,
        };
        rest = &rest[digits + 1..];
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        (
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        )
    }

    #[test]
    fn a_weekly_event_is_expanded_in_the_window_without_its_exdate_and_with_its_override() {
        let data = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20251201T000000Z\r\n\
DTSTART;TZID=Europe/Rome:20251201T100000\r\nDTEND;TZID=Europe/Rome:20251201T110000\r\n\
RRULE:FREQ=WEEKLY;COUNT=20\r\nEXDATE;TZID=Europe/Rome:20260112T100000\r\n\
SUMMARY:Team meeting\r\nATTENDEE;CN=Rossi:mailto:Mario.Rossi@Example.com\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20251201T000000Z\r\n\
RECURRENCE-ID;TZID=Europe/Rome:20260119T100000\r\n\
DTSTART;TZID=Europe/Rome:20260119T150000\r\nDTEND;TZID=Europe/Rome:20260119T160000\r\n\
SUMMARY:Team meeting (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let occurrences = expand(data, window()).expect("expanded");
        let starts: Vec<String> = occurrences
            .iter()
            .map(|o| o.starts_at.format("%m-%d %H:%M").to_string())
            .collect();
        // 20 weeks from 1 December: in January and February, 12 January excluded, 19
        // January moved to 15:00 Rome (14:00 UTC); Rome is UTC+1 in winter.
        assert_eq!(
            starts,
            [
                "01-05 09:00",
                "01-19 14:00",
                "01-26 09:00",
                "02-02 09:00",
                "02-09 09:00",
                "02-16 09:00",
                "02-23 09:00"
            ]
        );
        assert_eq!(occurrences[1].title, "Team meeting (moved)");
        assert_eq!(occurrences[1].id, "weekly-1/20260119T090000Z");
        assert_eq!(
            occurrences[0].attendees,
            [MailAddress {
                address: "mario.rossi@example.com".into(),
                name: Some("Rossi".into()),
            }]
        );
        assert_eq!(
            occurrences[0].ends_at.expect("end") - occurrences[0].starts_at,
            Duration::hours(1)
        );
    }

    #[test]
    fn a_single_event_outside_the_window_has_no_occurrence() {
        let data = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:once\r\nDTSTAMP:20251201T000000Z\r\nDTSTART:20250601T100000Z\r\n\
DURATION:PT1H30M\r\nSUMMARY:Old\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(expand(data, window()).expect("expanded").is_empty());
        let data = data.replace("20250601", "20260201");
        let occurrences = expand(&data, window()).expect("expanded");
        assert_eq!(occurrences.len(), 1);
        assert_eq!(occurrences[0].id, "once");
        assert_eq!(
            occurrences[0].ends_at.expect("end") - occurrences[0].starts_at,
            Duration::minutes(90)
        );
    }

    #[test]
    fn multistatus_is_read_by_namespace_whatever_the_prefixes() {
        let xml = r#"<?xml version="1.0"?><ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>/c/a.ics</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:getetag>"e1"</ns0:getetag><ns1:calendar-data>BEGIN:VCALENDAR</ns1:calendar-data></ns0:prop></ns0:propstat></ns0:response><ns0:response><ns0:href>/c/b.ics</ns0:href><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:response><ns0:sync-token>abc</ns0:sync-token></ns0:multistatus>"#;
        let parsed = parse_multistatus(xml).expect("parsed");
        assert_eq!(parsed.sync_token.as_deref(), Some("abc"));
        assert_eq!(parsed.responses[0].etag.as_deref(), Some("\"e1\""));
        assert_eq!(
            parsed.responses[0].calendar_data.as_deref(),
            Some("BEGIN:VCALENDAR")
        );
        assert_eq!(parsed.responses[1].status, Some(404));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1W2D"), Some(Duration::days(9)));
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("P1H"), None);
    }

    #[test]
    fn a_rendered_deadline_reads_back_to_its_own_digest() {
        let deadline = OutboundDeadline {
            id: "d1".into(),
            kind: "hearing".into(),
            title: "Udienza, Tribunale di Milano".into(),
            description: Some("Portare; fascicolo\nsecondo piano".into()),
            due_at: Utc.with_ymd_and_hms(2026, 2, 3, 9, 30, 0).unwrap(),
            matter_reference: Some("2026/0042".into()),
            previous: None,
        };
        let (body, digest) = render_deadline(&deadline).expect("rendered");
        let (read, written) = remote_digests(&body).expect("read");
        assert_eq!(read, digest);
        assert_eq!(written.as_deref(), Some(digest.as_str()));
        let edited = body.replace("Udienza", "Udienza rinviata");
        assert_ne!(remote_digests(&edited).expect("read").0, digest);
    }
}
