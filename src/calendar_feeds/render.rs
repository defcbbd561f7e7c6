//! A feed's deadlines as an RFC 5545 calendar.

use chrono::{DateTime, TimeDelta, Utc};
use icalendar::{Calendar, Component, Event, EventLike};
use serde::Deserialize;

/// A deadline as its reader may see it: any field their role may not read is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedItem {
    /// The deadline's global ID, which the event's UID is made of.
    pub id: String,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub description: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub matter: Option<FeedMatter>,
    pub contact: Option<FeedContact>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FeedMatter {
    pub reference: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedContact {
    pub display_name: Option<String>,
}

/// How long a hearing's event lasts in the calendar; other deadlines are all-day events.
const HEARING_MINUTES: i64 = 60;

fn event_of(item: &FeedItem, due: DateTime<Utc>) -> Event {
    let mut event = Event::new();
    // Stable across fetches, so a calendar updates the event instead of adding another.
    event.uid(&format!("{}@lexgate", item.id));
    event.summary(item.title.as_deref().unwrap_or("Deadline"));
    if let Some(updated) = item.updated_at {
        event.timestamp(updated);
        event.last_modified(updated);
    }
    if item.kind.as_deref() == Some("HEARING") {
        event
            .starts(due)
            .ends(due + TimeDelta::minutes(HEARING_MINUTES));
    } else {
        // Procedural terms end with the day, Italian time.
        event.all_day(due.with_timezone(&chrono_tz::Europe::Rome).date_naive());
    }
    let mut lines = Vec::new();
    if let Some(matter) = &item.matter {
        let name = [matter.reference.as_deref(), matter.title.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            lines.push(format!("Matter: {name}"));
        }
    }
    if let Some(name) = item
        .contact
        .as_ref()
        .and_then(|c| c.display_name.as_deref())
    {
        lines.push(format!("Contact: {name}"));
    }
    if let Some(status) = &item.status {
        lines.push(format!("Status: {}", status.to_lowercase()));
    }
    if let Some(text) = &item.description {
        lines.push(text.clone());
    }
    if !lines.is_empty() {
        event.description(&lines.join("\n"));
    }
    event.done()
}

/// The calendar of `items`; those without a readable due time are left out.
pub fn render(items: &[FeedItem]) -> String {
    let mut calendar = Calendar::new();
    calendar.name("lexgate: deadlines and hearings");
    for item in items {
        if let Some(due) = item.due_at {
            calendar.push(event_of(item, due));
        }
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_all_day_and_hearings_timed_with_stable_uids() {
        let due: DateTime<Utc> = "2026-04-01T21:59:59Z".parse().expect("time");
        let items = [
            FeedItem {
                id: "RGVhZGxpbmU6MQ".to_owned(),
                title: Some("Appello".to_owned()),
                kind: Some("COURT_DEADLINE".to_owned()),
                due_at: Some(due),
                ..FeedItem::default()
            },
            FeedItem {
                id: "RGVhZGxpbmU6Mg".to_owned(),
                title: Some("Udienza".to_owned()),
                kind: Some("HEARING".to_owned()),
                due_at: Some("2026-04-02T08:30:00Z".parse().expect("time")),
                contact: Some(FeedContact {
                    display_name: Some("Mario Rossi".to_owned()),
                }),
                ..FeedItem::default()
            },
            // A due time the reader may not see: no event.
            FeedItem {
                id: "RGVhZGxpbmU6Mw".to_owned(),
                title: Some("Hidden".to_owned()),
                ..FeedItem::default()
            },
        ];
        let text = render(&items);
        assert!(text.contains("UID:RGVhZGxpbmU6MQ@lexgate"), "{text}");
        // 21:59:59 UTC on 1 April is 23:59:59 in Rome (summer time): that day, all day.
        assert!(text.contains("DTSTART;VALUE=DATE:20260401"), "{text}");
        assert!(text.contains("DTSTART:20260402T083000Z"), "{text}");
        assert!(text.contains("DTEND:20260402T093000Z"), "{text}");
        assert!(text.contains("Contact: Mario Rossi"), "{text}");
        assert!(!text.contains("Hidden"), "{text}");
    }
}
