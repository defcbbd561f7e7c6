//! The Google Calendar connector against the fake provider's `events.list`: a full sync in
//! pages with `nextSyncToken` only on the last, an incremental sync with changes and
//! `cancelled` deletions, 429 with `Retry-After` waited out, 410 `fullSyncRequired` as an
//! invalid cursor; and the fake's client-chosen ids (base32hex, 409 on a duplicate);
//! deadlines pushed: inserted with client-chosen ids (a retried insert's 409 taken as done),
//! patched with `If-Match` (412 re-read: updated when untouched, a conflict when edited),
//! deleted conditionally, restored after a deletion in the calendar, 403
//! `rateLimitExceeded` and 429 waited out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lexgate_connectors::google_calendar::{event_id, GoogleCalendarConnector};
use lexgate_connectors::http::HttpClient;
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager, TokenSet};
use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{
    Connector, ConnectorError, Cursor, OutboundDeadline, PushOutcome, PushedEvent, RemoteEvent,
    RemoveOutcome,
};
use serde_json::json;

fn connector(provider: &FakeProvider, tokens: TokenSet) -> GoogleCalendarConnector {
    let app = provider.app("http://127.0.0.1:9/oauth/callback");
    let manager = Arc::new(
        TokenManager::new(app, tokens, Arc::new(MemoryTokenStore::default())).expect("manager"),
    );
    let policy = fast_policy();
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

fn deadline(id: &str, title: &str, previous: Option<PushedEvent>) -> OutboundDeadline {
    OutboundDeadline {
        id: id.into(),
        kind: "hearing".into(),
        title: title.into(),
        description: Some("Aula 3".into()),
        due_at: "2026-03-10T09:30:00Z".parse().expect("instant"),
        matter_reference: Some("2026/0042".into()),
        previous,
    }
}

#[tokio::test]
async fn deadlines_are_inserted_with_client_ids_updated_with_if_match_and_deleted() {
    let provider = FakeProvider::start().await;
    let calendar = connector(&provider, provider.issue_tokens());
    let id = event_id("d1");

    // Created with the client-chosen id, behind a 403 rateLimitExceeded with Retry-After.
    provider.fail_next(403, Some(1));
    let started = Instant::now();
    let created = calendar
        .push_deadline(&deadline("d1", "Udienza", None))
        .await
        .expect("insert after the 403");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "403 rateLimitExceeded not waited out"
    );
    assert_eq!(created.outcome, PushOutcome::Created);
    assert_eq!(created.pushed.external_id, id);
    let stored = provider.calendar_event(&id).expect("event inserted");
    assert_eq!(stored["summary"], "Udienza");
    assert_eq!(stored["description"], "Aula 3\n\nMatter 2026/0042");
    assert_eq!(stored["start"]["dateTime"], "2026-03-10T09:30:00Z");
    assert_eq!(created.pushed.version.as_deref(), stored["etag"].as_str());
    let writes = provider.calendar_writes();

    // Unchanged: no request at all.
    let again = calendar
        .push_deadline(&deadline("d1", "Udienza", Some(created.pushed.clone())))
        .await
        .expect("push");
    assert_eq!(again.outcome, PushOutcome::Unchanged);
    assert_eq!(provider.calendar_writes(), writes);

    // A retried insert (its first answer lost): 409 duplicate, taken as done.
    let retried = calendar
        .push_deadline(&deadline("d1", "Udienza", None))
        .await
        .expect("retried insert");
    assert_eq!(retried.outcome, PushOutcome::Created);
    assert_eq!(retried.pushed, created.pushed);
    assert_eq!(provider.live_events().len(), 1);

    // Changed in lexgate: a patch with If-Match.
    let updated = calendar
        .push_deadline(&deadline(
            "d1",
            "Udienza rinviata",
            Some(created.pushed.clone()),
        ))
        .await
        .expect("update");
    assert_eq!(updated.outcome, PushOutcome::Updated);
    assert_eq!(
        provider.calendar_event(&id).expect("event")["summary"],
        "Udienza rinviata"
    );
    assert_ne!(updated.pushed.version, created.pushed.version);

    // Only the ETag moved (a colour set in the calendar): 412, re-read, updated anyway.
    provider.edit_event(&id, json!({ "colorId": "5" }));
    let recoloured = calendar
        .push_deadline(&deadline(
            "d1",
            "Udienza (aula 5)",
            Some(updated.pushed.clone()),
        ))
        .await
        .expect("update after 412");
    assert_eq!(recoloured.outcome, PushOutcome::Updated);
    let stored = provider.calendar_event(&id).expect("event");
    assert_eq!(stored["summary"], "Udienza (aula 5)");
    assert_eq!(stored["colorId"], "5");

    // Edited by its owner: 412, re-read, left as they made it.
    provider.edit_event(&id, json!({ "summary": "Udienza — portare fascicolo" }));
    let conflict = calendar
        .push_deadline(&deadline(
            "d1",
            "Udienza (aula 6)",
            Some(recoloured.pushed.clone()),
        ))
        .await
        .expect("conflict");
    assert_eq!(conflict.outcome, PushOutcome::Conflict);
    assert_eq!(
        provider.calendar_event(&id).expect("event")["summary"],
        "Udienza — portare fascicolo"
    );
    // The edit is kept: its removal is refused too (the bookkeeping of before the edit).
    assert_eq!(
        calendar
            .remove_deadline(&recoloured.pushed)
            .await
            .expect("remove"),
        RemoveOutcome::Kept
    );
    assert!(provider.calendar_event(&id).expect("event")["status"] != "cancelled");

    // Removed conditionally on the version seen; a second removal finds it gone (410).
    assert_eq!(
        calendar
            .remove_deadline(&conflict.pushed)
            .await
            .expect("remove"),
        RemoveOutcome::Removed
    );
    assert_eq!(
        provider.calendar_event(&id).expect("event")["status"],
        "cancelled"
    );
    assert_eq!(
        calendar
            .remove_deadline(&conflict.pushed)
            .await
            .expect("remove"),
        RemoveOutcome::Removed
    );

    // The deadline changes again: its deleted event (Google keeps the id) is restored.
    let restored = calendar
        .push_deadline(&deadline(
            "d1",
            "Udienza (aula 7)",
            Some(conflict.pushed.clone()),
        ))
        .await
        .expect("restore");
    assert_eq!(restored.outcome, PushOutcome::Created);
    let stored = provider.calendar_event(&id).expect("event");
    assert_eq!(stored["status"], "confirmed");
    assert_eq!(stored["summary"], "Udienza (aula 7)");

    // Throttled writes (429) are waited out too.
    provider.fail_next(429, Some(1));
    let started = Instant::now();
    let after = calendar
        .push_deadline(&deadline(
            "d1",
            "Udienza (aula 8)",
            Some(restored.pushed.clone()),
        ))
        .await
        .expect("patch after the 429");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(after.outcome, PushOutcome::Updated);

    // The events lexgate pushed are not listed back as meetings.
    provider.upsert_event(event("ev9", "Riunione", 6));
    let page = calendar.pull_events(None).await.expect("pull");
    let mut seen = ids(&page.records);
    let mut cursor = page.cursor;
    let mut more = page.more;
    while more {
        let page = calendar.pull_events(Some(&cursor)).await.expect("pull");
        seen.extend(ids(&page.records));
        cursor = page.cursor;
        more = page.more;
    }
    assert_eq!(seen, [("ev9".into(), false)]);
}

#[tokio::test]
async fn an_instance_of_a_recurring_event_is_keyed_by_ical_uid_and_original_start() {
    let provider = FakeProvider::start().await;
    let mut instance = event("rec1_20260302T090000Z", "Riunione settimanale", 2);
    instance["iCalUID"] = json!("weekly-42@studio.example");
    instance["recurringEventId"] = json!("rec1");
    instance["originalStartTime"] = json!({ "dateTime": "2026-03-02T09:00:00Z" });
    provider.upsert_event(instance);
    let mut single = event("single1", "Call", 3);
    single["iCalUID"] = json!("call-7@studio.example");
    provider.upsert_event(single);
    let calendar = connector(&provider, provider.issue_tokens());
    let page = calendar.pull_events(None).await.expect("pull");
    let occurrences: Vec<(&str, &str)> = page
        .records
        .iter()
        .map(|r| (r.external_id.as_str(), r.occurrences[0].id.as_str()))
        .collect();
    assert_eq!(
        occurrences,
        [
            (
                "rec1_20260302T090000Z",
                "weekly-42@studio.example/20260302T090000Z"
            ),
            ("single1", "call-7@studio.example")
        ]
    );
}
