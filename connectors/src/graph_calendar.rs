//! The `graph_calendar` connector (pull only): a Microsoft 365 calendar through Microsoft
//! Graph `calendarView/delta`, over the OAuth layer.
//!
//! - The first pull is `GET {base}/me/calendarView/delta?startDateTime=…&endDateTime=…` for
//!   the window (days before and after today, midnight UTC), with `Prefer:
//!   odata.maxpagesize=N` and `Prefer: outlook.timezone="UTC"` (times come back in UTC).
//!   Graph expands recurring events into their occurrences in the window. Every later
//!   request replays the absolute `@odata.nextLink` (while paging) or `@odata.deltaLink`
//!   (the next sync) exactly as given; a link to another host than the configured one is
//!   refused (it would carry the bearer token there).
//! - An item with `"@removed"`, or `isCancelled`, is a deletion of that event.
//! - 410 Gone (`SyncStateNotFound`, `resyncRequired`) is an invalid cursor: the engine starts
//!   a full resync. 429 with `Retry-After` is waited out by the shared HTTP client; a 401
//!   refreshes the token once through the OAuth layer.
//!
//! An occurrence's id is the event's `iCalUId` (Graph gives each occurrence its own), the
//! natural key of the meeting it becomes.

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::Url;
use serde::Deserialize;

use crate::oauth::AuthorizedClient;
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, Cursor, EventOccurrence, MailAddress, Page,
    RemoteEvent,
};

pub const KIND: &str = "graph_calendar";

pub struct GraphCalendarConnector {
    base: Url,
    client: AuthorizedClient,
    page_size: u32,
    /// Days before and after today the view covers.
    window: (u32, u32),
}

#[derive(Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<GraphEvent>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GraphEvent {
    id: String,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    subject: Option<String>,
    body_preview: Option<String>,
    location: Option<Location>,
    start: Option<When>,
    end: Option<When>,
    organizer: Option<Recipient>,
    attendees: Vec<Recipient>,
    is_cancelled: bool,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct When {
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Location {
    display_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Recipient {
    email_address: Option<EmailAddress>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailAddress {
    address: Option<String>,
    name: Option<String>,
}

fn protocol(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Protocol(format!("Microsoft Graph: {what}"))
}

impl GraphCalendarConnector {
    /// `base_url` is the Graph root with its version, e.g. `https://graph.microsoft.com/v1.0`.
    pub fn new(
        base_url: &str,
        client: AuthorizedClient,
        page_size: u32,
        past_days: u32,
        future_days: u32,
    ) -> Result<GraphCalendarConnector, ConnectorError> {
        let mut base = base_url.trim().trim_end_matches('/').to_owned();
        base.push('/');
        let base = Url::parse(&base).map_err(|e| protocol(format!("base URL: {e}")))?;
        Ok(GraphCalendarConnector {
            base,
            client,
            page_size: page_size.max(1),
            window: (past_days, future_days),
        })
    }

    /// The first request of a full listing: the window's calendar view.
    fn initial(&self) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| protocol("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(["me", "calendarView", "delta"]);
        let today = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| protocol("midnight"))?
            .and_utc();
        let (past, future) = self.window;
        let format = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        url.query_pairs_mut()
            .append_pair(
                "startDateTime",
                &format(today - chrono::Duration::days(past.into())),
            )
            .append_pair(
                "endDateTime",
                &format(today + chrono::Duration::days(i64::from(future) + 1)),
            );
        Ok(url)
    }

    /// A link the service gave, used as given, if it points back at the configured service.
    fn replayable(&self, link: &str) -> Result<Url, ConnectorError> {
        let url = Url::parse(link).map_err(|_| protocol("a link that is not a URL"))?;
        if url.origin() != self.base.origin() {
            return Err(protocol("a link to another host"));
        }
        Ok(url)
    }

    async fn pull(&self, cursor: Option<&Cursor>) -> Result<Page<RemoteEvent>, ConnectorError> {
        let url = match cursor {
            Some(cursor) => self
                .replayable(&cursor.0)
                .map_err(|_| ConnectorError::InvalidCursor)?,
            None => self.initial()?,
        };
        let prefer = format!("odata.maxpagesize={}", self.page_size);
        let page: DeltaPage = self
            .client
            .send(|http| {
                http.get(url.clone())
                    .header("Prefer", prefer.as_str())
                    .header("Prefer", "outlook.timezone=\"UTC\"")
            })
            .await?
            .json()
            .await
            .map_err(|e| protocol(e.without_url()))?;
        let (link, more) = match (page.next_link, page.delta_link) {
            (Some(next), _) => (next, true),
            (None, Some(delta)) => (delta, false),
            (None, None) => return Err(protocol("a delta page without a next or delta link")),
        };
        // Checked now, so a stored cursor is always one that can be replayed.
        self.replayable(&link)?;
        Ok(Page {
            records: page.value.into_iter().filter_map(record).collect(),
            cursor: Cursor(link),
            more,
        })
    }
}

/// A time as Graph writes it (`2026-03-02T09:00:00.0000000`, in the zone asked for: UTC).
fn instant(when: &When) -> Option<DateTime<Utc>> {
    let text = when.date_time.as_deref()?.trim();
    let zone = when.time_zone.as_deref().unwrap_or("UTC");
    if !zone.eq_ignore_ascii_case("UTC") {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

fn person(recipient: &Recipient) -> Option<MailAddress> {
    let email = recipient.email_address.as_ref()?;
    Some(MailAddress {
        address: email.address.as_deref()?.trim().to_lowercase(),
        name: email.name.clone().filter(|n| !n.trim().is_empty()),
    })
}

fn record(event: GraphEvent) -> Option<RemoteEvent> {
    if event.id.is_empty() {
        return None;
    }
    if event.removed.is_some() || event.is_cancelled {
        return Some(RemoteEvent {
            external_id: event.id,
            deleted: true,
            occurrences: Vec::new(),
        });
    }
    let starts_at = event.start.as_ref().and_then(instant)?;
    let occurrence = EventOccurrence {
        id: event
            .ical_uid
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| event.id.clone()),
        title: event.subject.unwrap_or_default(),
        description: event.body_preview.filter(|b| !b.trim().is_empty()),
        location: event.location.and_then(|l| l.display_name),
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

impl Connector for GraphCalendarConnector {
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
        Box::pin(self.pull(cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_are_read_as_utc() {
        let when = |text: &str, zone: &str| When {
            date_time: Some(text.into()),
            time_zone: Some(zone.into()),
        };
        assert_eq!(
            instant(&when("2026-03-02T09:00:00.0000000", "UTC")),
            "2026-03-02T09:00:00Z".parse().ok()
        );
        assert_eq!(
            instant(&when("2026-03-02T09:00:00", "W. Europe Standard Time")),
            None
        );
    }
}
