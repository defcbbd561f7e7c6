//! The Google Calendar connector against the fake provider's `events.list`: a full sync in
//! pages with `nextSyncToken` only on the last, an incremental sync with changes and
//! `cancelled` deletions, 429 with `Retry-After` waited out, 410 `fullSyncRequired` as an
//! invalid cursor; and the fake's client-chosen ids (base32hex, 409 on a duplicate).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lexgate_connectors::google_calendar::{event_id, GoogleCalendarConnector};
use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager, TokenSet, TokenStore};
use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::{BoxFuture, Connector, ConnectorError, Cursor, RemoteEvent};
use serde_json::json;

#[derive(Default)]
struct MemoryStore(Mutex<Vec<TokenSet>>);

impl TokenStore for MemoryStore {
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

fn connector(provider: &FakeProvider, tokens: TokenSet) -> GoogleCalendarConnector {
    let app = provider.app("http://127.0.0.1:9/oauth/callback");
    let manager = Arc::new(
        TokenManager::new(app, tokens, Arc::new(MemoryStore::default())).expect("manager"),
    );
    let policy = HttpPolicy {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retries: 3,
        requests_per_second: None,
        ..HttpPolicy::default()
    };
    let client = AuthorizedClient {
        http: HttpClient::new(policy).expect("client"),
        tokens: manager,
    };
    GoogleCalendarConnector::new(
        &format!("{}/calendar/v3", provider.base_url),
        "avv.rossi@studio.example",
        client,
        2,
    )
}

fn event(id: &str, summary: &str, day: u32) -> serde_json::Value {
    json!({
        "id": id,
        "status": "confirmed",
        "summary": summary,
        "start": { "dateTime": format!("2026-03-{day:02}T09:00:00Z") },
        "end": { "dateTime": format!("2026-03-{day:02}T10:00:00Z") },
        "organizer": { "email": "Avv.Rossi@studio.example" },
        "attendees": [
            { "email": "avv.rossi@studio.example" },
            { "email": "Giulia.Bianchi@example.org", "displayName": "Giulia Bianchi" }
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
async fn events_are_listed_in_pages_then_incrementally_and_resynced_after_410() {
    let provider = FakeProvider::start().await;
    provider.upsert_event(event("ev1", "Riunione 2026/0042", 2));
    provider.upsert_event(event("ev2", "Call", 3));
    provider.upsert_event(event("ev3", "Sopralluogo", 4));
    let calendar = connector(&provider, provider.issue_tokens());

    // Full sync: two pages; only the last carries the sync token.
    let first = calendar.pull_events(None).await.expect("first page");
    assert!(first.more);
    assert!(first.cursor.0.starts_with("page:"), "{:?}", first.cursor);
    assert_eq!(
        ids(&first.records),
        [("ev1".into(), false), ("ev2".into(), false)]
    );
    let occurrence = &first.records[0].occurrences[0];
    assert_eq!(occurrence.title, "Riunione 2026/0042");
    assert_eq!(
        occurrence.organizer.as_ref().map(|o| o.address.as_str()),
        Some("avv.rossi@studio.example")
    );
    assert_eq!(
        occurrence.attendees[1].address,
        "giulia.bianchi@example.org"
    );
    assert_eq!(
        occurrence.attendees[1].name.as_deref(),
        Some("Giulia Bianchi")
    );
    assert_eq!(
        occurrence.ends_at.expect("end") - occurrence.starts_at,
        chrono::Duration::hours(1)
    );
    let last = calendar
        .pull_events(Some(&first.cursor))
        .await
        .expect("last page");
    assert!(!last.more);
    assert!(last.cursor.0.starts_with("sync:"), "{:?}", last.cursor);
    assert_eq!(ids(&last.records), [("ev3".into(), false)]);

    // Nothing changed: an empty incremental page.
    let none = calendar
        .pull_events(Some(&last.cursor))
        .await
        .expect("page");
    assert!(none.records.is_empty() && !none.more);

    // A change and a cancellation, behind a 429 with Retry-After.
    provider.upsert_event(event("ev1", "Riunione 2026/0042 (spostata)", 5));
    provider.cancel_event("ev2");
    provider.fail_next(429, Some(1));
    let started = Instant::now();
    let changes = calendar
        .pull_events(Some(&none.cursor))
        .await
        .expect("changes after the 429");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After not honoured"
    );
    assert_eq!(
        ids(&changes.records),
        [("ev1".into(), false), ("ev2".into(), true)]
    );
    assert_eq!(
        changes.records[0].occurrences[0].title,
        "Riunione 2026/0042 (spostata)"
    );

    // Google drops the sync state: 410 fullSyncRequired is an invalid cursor, and a full
    // sync lists the live events only.
    provider.invalidate_cursors();
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

#[tokio::test]
async fn client_chosen_ids_are_base32hex_and_unique() {
    let provider = FakeProvider::start().await;
    let token = provider.issue_tokens().access_token;
    let url = format!("{}/calendar/v3/calendars/primary/events", provider.base_url);
    let insert = |id: String| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "id": id, "summary": "Udienza" }))
            .send()
    };
    let id = event_id("d-1");
    assert_eq!(insert(id.clone()).await.expect("insert").status(), 200);
    assert_eq!(insert(id).await.expect("insert").status(), 409);
    assert_eq!(
        insert("Not_Base32".into()).await.expect("insert").status(),
        400
    );
}
