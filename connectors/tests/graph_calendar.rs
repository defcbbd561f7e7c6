//! The Microsoft Graph calendar connector against the fake `calendarView/delta`: a full
//! listing of the window in pages, links replayed verbatim (a changed one is refused, one to
//! another host never followed), changes and `@removed` deletions, 429 with `Retry-After`
//! waited out, and 410 `SyncStateNotFound` as an invalid cursor followed by a relisting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lexgate_connectors::graph_calendar::GraphCalendarConnector;
use lexgate_connectors::http::HttpClient;
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager};
use lexgate_connectors::testing::calendar_apis::GraphCalendarFake;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{Connector, ConnectorError, Cursor, RemoteEvent};
use serde_json::json;

fn connector(fake: &GraphCalendarFake) -> GraphCalendarConnector {
    let app = fake.provider.app("http://127.0.0.1:9/oauth/callback");
    let manager = Arc::new(
        TokenManager::new(
            app,
            fake.provider.issue_tokens(),
            Arc::new(MemoryTokenStore::default()),
        )
        .expect("manager"),
    );
    let policy = fast_policy();
    let client = AuthorizedClient {
        http: HttpClient::new(policy).expect("client"),
        tokens: manager,
    };
    GraphCalendarConnector::new(&fake.base_url(), client, 2, 30, 365).expect("connector")
}

fn event(id: &str, subject: &str, day: u32) -> serde_json::Value {
    json!({
        "id": id,
        "iCalUId": format!("uid-{id}"),
        "subject": subject,
        "bodyPreview": "Ordine del giorno",
        "isCancelled": false,
        "start": { "dateTime": format!("2026-03-{day:02}T09:00:00.0000000"), "timeZone": "UTC" },
        "end": { "dateTime": format!("2026-03-{day:02}T10:00:00.0000000"), "timeZone": "UTC" },
        "organizer": { "emailAddress": { "address": "Avv.Rossi@studio.example", "name": "Avv. Rossi" } },
        "attendees": [
            { "type": "required", "emailAddress": { "address": "Giulia.Bianchi@example.org", "name": "Giulia Bianchi" } }
        ]
    })
}

fn ids(records: &[RemoteEvent]) -> Vec<(String, bool)> {
    records
        .iter()
        .map(|r| (r.external_id.clone(), r.deleted))
        .collect()
}

#[tokio::test]
async fn calendar_view_delta_pages_follows_changes_and_resyncs_after_410() {
    let fake = GraphCalendarFake::start().await;
    fake.upsert(event("ev1", "Riunione 2026/0042", 2));
    fake.upsert(event("ev2", "Call", 3));
    fake.upsert(event("ev3", "Sopralluogo", 4));
    let calendar = connector(&fake);

    let first = calendar.pull_events(None).await.expect("first page");
    assert!(first.more);
    assert!(first.cursor.0.contains("$skiptoken="), "{:?}", first.cursor);
    assert_eq!(
        ids(&first.records),
        [("ev1".into(), false), ("ev2".into(), false)]
    );
    let meeting = &first.records[0].occurrences[0];
    assert_eq!(meeting.id, "uid-ev1");
    assert_eq!(meeting.title, "Riunione 2026/0042");
    assert_eq!(
        meeting.starts_at,
        "2026-03-02T09:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .expect("instant")
    );
    assert_eq!(
        meeting.organizer.as_ref().map(|o| o.address.as_str()),
        Some("avv.rossi@studio.example")
    );
    assert_eq!(meeting.attendees[0].address, "giulia.bianchi@example.org");

    // A link whose query was touched is refused: links are replayed verbatim.
    let touched = Cursor(format!("{}&$top=5", first.cursor.0));
    assert!(matches!(
        calendar.pull_events(Some(&touched)).await,
        Err(ConnectorError::Rejected(_))
    ));
    // A link to another host is never followed (it would carry the token there).
    let elsewhere =
        Cursor("https://elsewhere.example/v1.0/me/calendarView/delta?$skiptoken=x".into());
    let before = fake.requests();
    assert!(calendar.pull_events(Some(&elsewhere)).await.is_err());
    assert_eq!(fake.requests(), before);

    let last = calendar
        .pull_events(Some(&first.cursor))
        .await
        .expect("last page");
    assert!(!last.more);
    assert!(last.cursor.0.contains("$deltatoken="), "{:?}", last.cursor);
    assert_eq!(ids(&last.records), [("ev3".into(), false)]);

    let none = calendar
        .pull_events(Some(&last.cursor))
        .await
        .expect("delta");
    assert!(none.records.is_empty() && !none.more);

    // A change and a deletion, behind a 429 with Retry-After.
    fake.upsert(event("ev1", "Riunione 2026/0042 (spostata)", 5));
    fake.delete("ev2");
    fake.fail_next(429, Some(1));
    let started = Instant::now();
    let changes = calendar
        .pull_events(Some(&none.cursor))
        .await
        .expect("changes after the 429");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After"
    );
    assert_eq!(
        ids(&changes.records),
        [("ev1".into(), false), ("ev2".into(), true)]
    );
    assert_eq!(
        changes.records[0].occurrences[0].title,
        "Riunione 2026/0042 (spostata)"
    );

    // The sync state is dropped: 410 is an invalid cursor; a relisting has the live events.
    fake.drop_sync_state();
    assert!(matches!(
        calendar.pull_events(Some(&changes.cursor)).await,
        Err(ConnectorError::InvalidCursor)
    ));
    let mut listed = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = calendar.pull_events(cursor.as_ref()).await.expect("page");
        listed.extend(ids(&page.records));
        cursor = Some(page.cursor);
        if !page.more {
            break;
        }
    }
    listed.sort();
    assert_eq!(listed, [("ev1".into(), false), ("ev3".into(), false)]);
}
