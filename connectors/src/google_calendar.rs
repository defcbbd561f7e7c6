//! The `google_calendar` connector (pull only so far): one Google Calendar through
//! `events.list` with incremental sync.
//!
//! A first (full) sync lists the calendar's events with `singleEvents=true` (recurrences
//! expanded by Google), page by page with `pageToken`; only the last page carries
//! `nextSyncToken`, the cursor of the next sync. A sync with `syncToken` lists the changes
//! since, deletions as `status: cancelled`. A token Google no longer honours answers 410
//! (`fullSyncRequired`): an invalid cursor, so the engine starts a full resync. 429 with
//! `Retry-After` is waited out by the shared HTTP client. Not wired into the engine's kinds
//! yet, and deadlines are not pushed yet (client-chosen base32hex ids are what
//! [`event_id`] makes).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, EventOccurrence, MailAddress, Page,
    RemoteEvent,
};

pub const KIND: &str = "google_calendar";

pub struct GoogleCalendarConnector {
    /// e.g. `https://www.googleapis.com/calendar/v3`
    base_url: String,
    calendar_id: String,
    client: AuthorizedClient,
    page_size: u32,
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
        }
    }

    async fn list(&self, cursor: Option<&Cursor>) -> Result<Page<RemoteEvent>, ConnectorError> {
        let url = format!(
            "{}/calendars/{}/events",
            self.base_url,
            utf8_percent(&self.calendar_id)
        );
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
        let response = self
            .client
            .send(|http| {
                let mut query = vec![("singleEvents", "true"), ("maxResults", size.as_str())];
                if !key.is_empty() {
                    query.push((key, token));
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
            records: list.items.into_iter().filter_map(record).collect(),
            cursor: Cursor(cursor),
            more,
        })
    }
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
    let occurrence = EventOccurrence {
        id: event.id.clone(),
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
            ..Capabilities::default()
        }
    }

    fn pull_events<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteEvent>, ConnectorError>> {
        Box::pin(self.list(cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
