//! The `google_calendar` connector: one Google Calendar through the Calendar API v3, over
//! the OAuth layer.
//!
//! **Pull.** A first (full) sync lists the calendar's events with `singleEvents=true`
//! (recurrences expanded by Google), page by page with `pageToken`; only the last page
//! carries `nextSyncToken`, the cursor of the next sync. A sync with `syncToken` lists the
//! changes since, deletions as `status: cancelled`. A token Google no longer honours answers
//! 410 (`fullSyncRequired`): an invalid cursor, so the engine starts a full resync. 429, and
//! 403 with reason `rateLimitExceeded`/`userRateLimitExceeded`, are throttles waited out by
//! the shared HTTP client (`Retry-After`, else backoff). An occurrence's id is the event's
//! `iCalUID` (+ `/` + its original start for an instance of a recurring event), as CalDAV's,
//! so the same meeting seen through either is one communication. Events lexgate pushed
//! (their ids, see [`event_id`]) are not listed back.
//!
//! **Push.** A deadline becomes the event with the client-chosen id [`event_id`] (base32hex
//! of `lexgate:{id}`), created with `events.insert`: a retried insert whose first attempt
//! went through answers 409 `duplicate`, and the event is re-read and taken as done when it
//! says what lexgate sent. Updates are `events.patch` with `If-Match` the stored ETag; a 412
//! re-reads the event: one nobody edited (what it says still has the digest lexgate wrote
//! into `extendedProperties.private.lexgateDigest`) is updated, one edited in the calendar
//! is left as it is (a conflict). Removal is `events.delete` with `If-Match`, decided the
//! same way after a 412; 404/410 mean already gone. Google keeps a deleted event's id, so a
//! deadline whose event was deleted is restored by a patch (`status: confirmed`).

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::http::HttpError;
use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, DeadlinePush, EventOccurrence,
    MailAddress, OutboundDeadline, Page, PushOutcome, PushedEvent, RemoteEvent, RemoveOutcome,
};

pub const KIND: &str = "google_calendar";

pub struct GoogleCalendarConnector {
    /// e.g. `https://www.googleapis.com/calendar/v3`
    base_url: String,
    calendar_id: String,
    client: AuthorizedClient,
    page_size: u32,
    /// Days before and after today that a full sync lists (`timeMin`/`timeMax`; an
    /// incremental sync keeps its full sync's window): none lists everything.
    window: Option<(u32, u32)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventList {
    #[serde(default)]
    items: Vec<GoogleEvent>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GoogleEvent {
    id: String,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    recurring_event_id: Option<String>,
    original_start_time: Option<When>,
    etag: Option<String>,
    extended_properties: Option<ExtendedProperties>,
    status: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<When>,
    end: Option<When>,
    organizer: Option<Person>,
    attendees: Vec<Person>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct When {
    date_time: Option<DateTime<Utc>>,
    date: Option<NaiveDate>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtendedProperties {
    private: std::collections::HashMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Person {
    email: Option<String>,
    display_name: Option<String>,
}

/// The cursor: where the next `events.list` starts.
const SYNC: &str = "sync:";
const PAGE: &str = "page:";

impl GoogleCalendarConnector {
    pub fn new(
        base_url: &str,
        calendar_id: &str,
        client: AuthorizedClient,
        page_size: u32,
    ) -> GoogleCalendarConnector {
        GoogleCalendarConnector {
            base_url: base_url.trim_end_matches('/').to_owned(),
            calendar_id: calendar_id.to_owned(),
            client,
            page_size: page_size.clamp(1, 2500),
            window: None,
        }
    }

    /// Lists only events from `past_days` before to `future_days` after today (midnight
    /// UTC, so every page of one full sync asks for the same window).
    pub fn with_window(mut self, past_days: u32, future_days: u32) -> GoogleCalendarConnector {
        self.window = Some((past_days, future_days));
        self
    }

    fn time_range(&self) -> Option<(String, String)> {
        let (past, future) = self.window?;
        let today = Utc::now().date_naive().and_hms_opt(0, 0, 0)?.and_utc();
        let format = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        Some((
            format(today - chrono::Duration::days(past.into())),
            format(today + chrono::Duration::days(i64::from(future) + 1)),
        ))
    }

    async fn list(&self, cursor: Option<&Cursor>) -> Result<Page<RemoteEvent>, ConnectorError> {
        let url = self.events_url();
        let size = self.page_size.to_string();
        let position = cursor.map(|c| c.0.as_str()).unwrap_or_default();
        let (key, token) = if let Some(token) = position.strip_prefix(SYNC) {
            ("syncToken", token)
        } else if let Some(token) = position.strip_prefix(PAGE) {
            ("pageToken", token)
        } else if position.is_empty() {
            ("", "")
        } else {
            return Err(ConnectorError::InvalidCursor);
        };
        // timeMin/timeMax with a syncToken is a 400: the token keeps its full sync's window.
        let range = if key == "syncToken" {
            None
        } else {
            self.time_range()
        };
        let response = self
            .client
            .send(|http| {
                let mut query = vec![("singleEvents", "true"), ("maxResults", size.as_str())];
                if !key.is_empty() {
                    query.push((key, token));
                }
                if let Some((from, to)) = &range {
                    query.push(("timeMin", from.as_str()));
                    query.push(("timeMax", to.as_str()));
                }
                http.get(&url).query(&query)
            })
            .await?;
        let list: EventList = response
            .json()
            .await
            .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
        let (cursor, more) = match (list.next_page_token, list.next_sync_token) {
            (Some(page), _) => (format!("{PAGE}{page}"), true),
            (None, Some(sync)) => (format!("{SYNC}{sync}"), false),
            (None, None) => {
                return Err(ConnectorError::Protocol(
                    "events.list without nextPageToken or nextSyncToken".into(),
                ))
            }
        };
        Ok(Page {
            records: list
                .items
                .into_iter()
                .filter(|event| !is_ours(&event.id))
                .filter_map(record)
                .collect(),
            cursor: Cursor(cursor),
            more,
        })
    }
}

/// What a write answered.
enum Written {
    /// The event as the provider now has it.
    Event(Box<GoogleEvent>),
    /// 409: an event with this id exists (or existed: Google keeps deleted events' ids).
    Duplicate,
    /// 412: the event's ETag is no longer the one sent.
    PreconditionFailed,
    /// 404 or 410: no such event (any more).
    Gone,
}

impl GoogleCalendarConnector {
    fn events_url(&self) -> String {
        format!(
            "{}/calendars/{}/events",
            self.base_url,
            utf8_percent(&self.calendar_id)
        )
    }

    fn event_url(&self, id: &str) -> String {
        format!("{}/{}", self.events_url(), utf8_percent(id))
    }

    /// One write (or read) of an event; the answers the push decides on are returned, the
    /// rest are errors.
    async fn write(
        &self,
        method: Method,
        url: &str,
        if_match: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Written, ConnectorError> {
        let response = self
            .client
            .send(|http| {
                let mut request = http.request(method.clone(), url);
                if let Some(etag) = if_match {
                    request = request.header("If-Match", etag);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await;
        let response = match response {
            Ok(response) => response,
            Err(HttpError::Status { status: 409, .. }) => return Ok(Written::Duplicate),
            Err(HttpError::Status { status: 412, .. }) => return Ok(Written::PreconditionFailed),
            Err(HttpError::Status {
                status: 404 | 410, ..
            }) => return Ok(Written::Gone),
            Err(HttpError::Status { status, .. })
                if (400..500).contains(&status) && status != 401 && status != 403 =>
            {
                return Err(ConnectorError::Rejected(format!(
                    "{method} of a calendar event answered {status}"
                )))
            }
            Err(other) => return Err(other.into()),
        };
        if response.status() == StatusCode::NO_CONTENT || method == Method::DELETE {
            return Ok(Written::Event(Box::default()));
        }
        let event: GoogleEvent = response
            .json()
            .await
            .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
        Ok(Written::Event(Box::new(event)))
    }

    async fn read(&self, id: &str) -> Result<Option<GoogleEvent>, ConnectorError> {
        match self
            .write(Method::GET, &self.event_url(id), None, None)
            .await?
        {
            Written::Event(event) => Ok(Some(*event)),
            Written::Gone => Ok(None),
            Written::Duplicate | Written::PreconditionFailed => Err(ConnectorError::Protocol(
                "events.get answered a write's error".into(),
            )),
        }
    }

    async fn push(&self, deadline: &OutboundDeadline) -> Result<DeadlinePush, ConnectorError> {
        let id = event_id(&deadline.id);
        let (body, digest) = render_deadline(deadline);
        let pushed = |version: Option<String>| PushedEvent {
            external_id: id.clone(),
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
        let url = self.event_url(&id);
        let first = match deadline
            .previous
            .as_ref()
            .and_then(|p| p.version.as_deref())
        {
            Some(etag) => {
                self.write(Method::PATCH, &url, Some(etag), Some(&body))
                    .await?
            }
            None => {
                let mut insert = body.clone();
                insert["id"] = json!(id);
                self.write(Method::POST, &self.events_url(), None, Some(&insert))
                    .await?
            }
        };
        if let Written::Event(event) = first {
            let outcome = if deadline.previous.is_some() {
                PushOutcome::Updated
            } else {
                PushOutcome::Created
            };
            return Ok(DeadlinePush {
                outcome,
                pushed: pushed(event.etag),
            });
        }
        // The id exists (a retried insert, or an event deleted since), or the event changed
        // since lexgate wrote it: re-read it and decide.
        let Some(remote) = self.read(&id).await? else {
            return Err(ConnectorError::Rejected(
                "the event is neither insertable nor readable".into(),
            ));
        };
        if remote.status.as_deref() == Some("cancelled") {
            // Deleted in the calendar: lexgate's deadline still stands, so it is restored.
            let mut restore = body.clone();
            restore["status"] = json!("confirmed");
            return match self
                .write(Method::PATCH, &url, remote.etag.as_deref(), Some(&restore))
                .await?
            {
                Written::Event(event) => Ok(DeadlinePush {
                    outcome: PushOutcome::Created,
                    pushed: pushed(event.etag),
                }),
                _ => Err(ConnectorError::Rejected(
                    "the event changed while it was being restored".into(),
                )),
            };
        }
        let (remote_digest, written_digest) = remote_digests(&remote);
        if remote_digest == digest {
            // What lexgate meant to write is there already (e.g. the insert went through
            // before its answer was lost).
            let outcome = if deadline.previous.is_some() {
                PushOutcome::Unchanged
            } else {
                PushOutcome::Created
            };
            return Ok(DeadlinePush {
                outcome,
                pushed: pushed(remote.etag),
            });
        }
        let untouched = written_digest.as_deref() == Some(remote_digest.as_str());
        if let (true, Some(etag)) = (untouched, remote.etag.as_deref()) {
            if let Written::Event(event) = self
                .write(Method::PATCH, &url, Some(etag), Some(&body))
                .await?
            {
                return Ok(DeadlinePush {
                    outcome: PushOutcome::Updated,
                    pushed: pushed(event.etag),
                });
            }
        }
        // Edited in the calendar (or changing under us): not overwritten. The version seen is
        // kept with lexgate's digest: nothing is sent again until the deadline changes.
        Ok(DeadlinePush {
            outcome: PushOutcome::Conflict,
            pushed: pushed(remote.etag),
        })
    }

    async fn remove(&self, pushed: &PushedEvent) -> Result<RemoveOutcome, ConnectorError> {
        let url = self.event_url(&pushed.external_id);
        if let Some(etag) = pushed.version.as_deref() {
            match self.write(Method::DELETE, &url, Some(etag), None).await? {
                Written::Event(_) | Written::Gone => return Ok(RemoveOutcome::Removed),
                Written::PreconditionFailed | Written::Duplicate => {}
            }
        }
        // Changed since (or no version known): re-read and remove only what nobody edited.
        let Some(remote) = self.read(&pushed.external_id).await? else {
            return Ok(RemoveOutcome::Removed);
        };
        if remote.status.as_deref() == Some("cancelled") {
            return Ok(RemoveOutcome::Removed);
        }
        let (remote_digest, written_digest) = remote_digests(&remote);
        let untouched = written_digest.as_deref() == Some(remote_digest.as_str());
        match (untouched, remote.etag.as_deref()) {
            (true, Some(etag)) => match self.write(Method::DELETE, &url, Some(etag), None).await? {
                Written::Event(_) | Written::Gone => Ok(RemoveOutcome::Removed),
                Written::PreconditionFailed | Written::Duplicate => Ok(RemoveOutcome::Kept),
            },
            _ => Ok(RemoveOutcome::Kept),
        }
    }
}

/// The private extended property carrying the digest of what lexgate wrote.
const DIGEST_PROPERTY: &str = "lexgateDigest";
/// The private extended property naming the deadline's kind.
const KIND_PROPERTY: &str = "lexgateKind";

/// The event fields of a deadline (without its id) and the digest of what they say.
fn render_deadline(deadline: &OutboundDeadline) -> (serde_json::Value, String) {
    let mut description = deadline.description.clone().unwrap_or_default();
    if let Some(reference) = &deadline.matter_reference {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Matter {reference}"));
    }
    let start = utc_seconds(deadline.due_at);
    let end = utc_seconds(deadline.due_at + chrono::Duration::minutes(30));
    let digest = digest_of(&deadline.title, &description, &start, &deadline.kind);
    let body = json!({
        "summary": deadline.title,
        "description": description,
        "start": { "dateTime": start },
        "end": { "dateTime": end },
        "extendedProperties": { "private": {
            DIGEST_PROPERTY: digest,
            KIND_PROPERTY: deadline.kind,
        } },
    });
    (body, digest)
}

/// An instant as the event carries it: UTC, whole seconds.
fn utc_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn digest_of(summary: &str, description: &str, start: &str, kind: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [summary, description, start, kind] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest of what an event of ours says now, and the one lexgate wrote into it.
fn remote_digests(event: &GoogleEvent) -> (String, Option<String>) {
    let private = event.extended_properties.as_ref().map(|p| &p.private);
    let start = event
        .start
        .as_ref()
        .and_then(|s| s.date_time)
        .map(utc_seconds)
        .unwrap_or_default();
    let digest = digest_of(
        event.summary.as_deref().unwrap_or_default(),
        event.description.as_deref().unwrap_or_default(),
        &start,
        private
            .and_then(|p| p.get(KIND_PROPERTY))
            .map(String::as_str)
            .unwrap_or_default(),
    );
    let written = private.and_then(|p| p.get(DIGEST_PROPERTY)).cloned();
    (digest, written)
}

/// Whether the event is one lexgate pushed: its id is the base32hex of `lexgate:…`.
fn is_ours(id: &str) -> bool {
    // "lexgate:" is 64 bits: its first 12 base32hex characters (60 bits) never depend on
    // what follows.
    let prefix = event_id("");
    id.len() > 12 && id.starts_with(&prefix[..12])
}

fn utf8_percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// One listed event (an instance, with `singleEvents`) as a record.
fn record(event: GoogleEvent) -> Option<RemoteEvent> {
    if event.id.is_empty() {
        return None;
    }
    if event.status.as_deref() == Some("cancelled") {
        return Some(RemoteEvent {
            external_id: event.id,
            deleted: true,
            occurrences: Vec::new(),
        });
    }
    let instant = |when: &When| {
        when.date_time.or_else(|| {
            when.date
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
    };
    let starts_at = event.start.as_ref().and_then(instant)?;
    let person = |p: &Person| {
        Some(MailAddress {
            address: p.email.as_deref()?.trim().to_lowercase(),
            name: p.display_name.clone().filter(|n| !n.trim().is_empty()),
        })
    };
    let uid = event
        .ical_uid
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| event.id.clone());
    let original = event.original_start_time.as_ref().and_then(instant);
    let id = match (&event.recurring_event_id, original) {
        (Some(_), Some(original)) => format!("{uid}/{}", original.format("%Y%m%dT%H%M%SZ")),
        _ => uid,
    };
    let occurrence = EventOccurrence {
        id,
        title: event.summary.unwrap_or_default(),
        description: event.description,
        location: event.location,
        starts_at,
        ends_at: event.end.as_ref().and_then(instant),
        organizer: event.organizer.as_ref().and_then(person),
        attendees: event.attendees.iter().filter_map(person).collect(),
    };
    Some(RemoteEvent {
        external_id: event.id,
        deleted: false,
        occurrences: vec![occurrence],
    })
}

/// The API root and the calendar id of a calendar's URL,
/// `https://www.googleapis.com/calendar/v3/calendars/{calendarId}` (the id percent-encoded
/// or not: `primary`, `avv.rossi%40studio.example`).
pub fn split_calendar_url(url: &str) -> Result<(String, String), String> {
    let trimmed = url.trim().trim_end_matches('/');
    let (root, id) = trimmed
        .rsplit_once("/calendars/")
        .ok_or("a calendar URL ending in /calendars/{calendarId}")?;
    let id = percent_decode(id).ok_or("a calendar id in UTF-8")?;
    if id.is_empty() || id.contains('/') || id.chars().any(char::is_control) {
        return Err("a calendar URL ending in /calendars/{calendarId}".into());
    }
    Ok((root.to_owned(), id))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A client-chosen event id for lexgate's record `id`: base32hex of `lexgate:{id}`, the
/// alphabet Google requires of ids set by the client.
pub fn event_id(id: &str) -> String {
    base32hex(format!("lexgate:{id}").as_bytes())
}

/// RFC 4648 base32hex, lower-case, without padding (`0`–`9`, `a`–`v`).
fn base32hex(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

impl Connector for GoogleCalendarConnector {
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
        Box::pin(self.list(cursor))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_urls_split_into_root_and_id() {
        assert_eq!(
            split_calendar_url(
                "https://www.googleapis.com/calendar/v3/calendars/avv.rossi%40studio.example/"
            ),
            Ok((
                "https://www.googleapis.com/calendar/v3".to_owned(),
                "avv.rossi@studio.example".to_owned()
            ))
        );
        assert!(split_calendar_url("https://www.googleapis.com/calendar/v3").is_err());
        assert!(split_calendar_url("https://x.example/calendars/").is_err());
        assert!(split_calendar_url("https://x.example/calendars/a%2").is_err());
        assert!(is_ours(&event_id("0193a8f2")));
        assert!(!is_ours("ev1"));
    }

    #[test]
    fn event_ids_are_base32hex() {
        // RFC 4648 test vectors, lower-case and unpadded.
        assert_eq!(base32hex(b"f"), "co");
        assert_eq!(base32hex(b"foobar"), "cpnmuoj1e8");
        let id = event_id("0193a8f2-7c1d");
        assert!(
            id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')),
            "{id}"
        );
        assert_ne!(id, event_id("0193a8f2-7c1e"));
    }
}
