//! The CalDAV connector against real Radicale and Xandikos servers started by each test.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lexgate_connectors::caldav::{deadline_uid, CalDavConfig, CalDavConnector};
use lexgate_connectors::dav_servers::{event_ics, DavServer, DavServerKind, PASSWORD, USER};
use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::{
    Connector, ConnectorError, Cursor, OutboundDeadline, PushOutcome, PushedEvent, RemoteEvent,
    RemoveOutcome,
};

fn connector(server: &DavServer, password: &str) -> CalDavConnector {
    let http = HttpClient::new(HttpPolicy {
        max_retries: 1,
        base_backoff: Duration::from_millis(10),
        requests_per_second: None,
        ..HttpPolicy::default()
    })
    .expect("client");
    CalDavConnector::new(
        CalDavConfig {
            calendar_url: server.calendar_url.clone(),
            username: Some(USER.into()),
            password: Some(password.into()),
            past_days: 30,
            future_days: 60,
            batch_size: 2,
        },
        http,
    )
    .expect("connector")
}

/// An iCalendar UTC time `days` from now at 09:00.
fn day(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days))
        .format("%Y%m%dT090000Z")
        .to_string()
}

/// The pulled records by resource name.
fn by_name(records: Vec<RemoteEvent>) -> BTreeMap<String, RemoteEvent> {
    records
        .into_iter()
        .map(|r| {
            let name = r
                .external_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            (name, r)
        })
        .collect()
}

async fn pull_sync(server: DavServer) {
    let name = server.kind.name();
    server
        .put_event(
            "meeting.ics",
            &event_ics(
                "meeting-1",
                "Call about 2026/0042",
                &day(2),
                "ATTENDEE;CN=Bianchi:mailto:Giulia.Bianchi@Example.org\r\n\
                 ORGANIZER:mailto:avv.rossi@studio.example\r\n",
            ),
        )
        .await;
    // Weekly, ten times from 35 days ago, one week excluded.
    let weekly_start = day(-35);
    let excluded = day(-35 + 7 * 6);
    server
        .put_event(
            "weekly.ics",
            &event_ics(
                "weekly-1",
                "Team meeting",
                &weekly_start,
                &format!("RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE:{excluded}\r\n"),
            ),
        )
        .await;
    server
        .put_event("old.ics", &event_ics("old-1", "Long ago", &day(-400), ""))
        .await;
    let caldav = connector(&server, PASSWORD);

    // First import: everything, recurrences expanded in the window.
    let first = caldav.pull_events(None).await.expect("first pull");
    assert!(!first.more);
    let records = by_name(first.records);
    assert_eq!(records.len(), 3, "{name}: {records:?}");
    let meeting = &records["meeting.ics"];
    assert_eq!(meeting.occurrences.len(), 1, "{name}");
    assert_eq!(meeting.occurrences[0].title, "Call about 2026/0042");
    let attendees: Vec<&str> = meeting.occurrences[0]
        .attendees
        .iter()
        .map(|a| a.address.as_str())
        .collect();
    assert_eq!(attendees, ["giulia.bianchi@example.org"]);
    assert_eq!(
        meeting.occurrences[0].attendees[0].name.as_deref(),
        Some("Bianchi")
    );
    assert_eq!(
        meeting.occurrences[0]
            .organizer
            .as_ref()
            .map(|o| o.address.as_str()),
        Some("avv.rossi@studio.example")
    );
    assert_eq!(
        meeting.occurrences[0].ends_at.expect("end") - meeting.occurrences[0].starts_at,
        chrono::Duration::hours(1)
    );
    // Weeks -35..=+28 days: -35 is outside the 30-day window, -28 .. +28 inside (9 weeks),
    // one of them (+7) excluded.
    let weekly = &records["weekly.ics"];
    let window_start: DateTime<Utc> = Utc::now() - chrono::Duration::days(30);
    assert!(weekly
        .occurrences
        .iter()
        .all(|o| o.starts_at >= window_start));
    assert_eq!(
        weekly.occurrences.len(),
        8,
        "{name}: {:?}",
        weekly.occurrences
    );
    assert!(weekly
        .occurrences
        .iter()
        .all(|o| o.id.starts_with("weekly-1/")));
    assert!(records["old.ics"].occurrences.is_empty(), "{name}");

    // Nothing changed: an empty page, and a token that still works.
    let again = caldav
        .pull_events(Some(&first.cursor))
        .await
        .expect("incremental pull");
    assert!(again.records.is_empty(), "{name}: {:?}", again.records);

    // Incremental: one changed, one new, one deleted.
    server
        .put_event(
            "meeting.ics",
            &event_ics("meeting-1", "Call moved", &day(3), ""),
        )
        .await;
    server
        .put_event("new.ics", &event_ics("new-1", "New one", &day(5), ""))
        .await;
    server.delete_event("old.ics").await;
    let changes = caldav
        .pull_events(Some(&again.cursor))
        .await
        .expect("changes");
    let changes = by_name(changes.records);
    assert_eq!(
        changes.keys().collect::<Vec<_>>(),
        ["meeting.ics", "new.ics", "old.ics"],
        "{name}"
    );
    assert_eq!(changes["meeting.ics"].occurrences[0].title, "Call moved");
    assert!(!changes["new.ics"].deleted);
    assert!(changes["old.ics"].deleted, "{name}");

    // A token the server does not know: Radicale answers 403, Xandikos 412, both naming
    // DAV:valid-sync-token; either way the connector asks for a full resync.
    let bogus = Cursor(match server.kind {
        DavServerKind::Radicale => "http://radicale.org/ns/sync/0000deadbeef".into(),
        DavServerKind::Xandikos => "0000000000000000000000000000000000000000".into(),
    });
    assert!(
        matches!(
            caldav.pull_events(Some(&bogus)).await,
            Err(ConnectorError::InvalidCursor)
        ),
        "{name}"
    );
}

#[tokio::test]
async fn radicale_pull_first_incremental_deleted_and_invalid_token() {
    pull_sync(DavServer::start(DavServerKind::Radicale).await).await;
}

#[tokio::test]
async fn xandikos_pull_first_incremental_deleted_and_invalid_token() {
    pull_sync(DavServer::start(DavServerKind::Xandikos).await).await;
}

fn hearing(id: &str, title: &str) -> OutboundDeadline {
    OutboundDeadline {
        id: id.into(),
        kind: "hearing".into(),
        title: title.into(),
        description: Some("Tribunale di Milano, aula 3".into()),
        due_at: Utc::now() + chrono::Duration::days(10),
        matter_reference: Some("2026/0042".into()),
        previous: None,
    }
}

async fn push_deadlines(server: DavServer) {
    let name = server.kind.name();
    let caldav = connector(&server, PASSWORD);
    let resource = format!("{}.ics", deadline_uid("d-1"));

    // Created with If-None-Match: *.
    let mut deadline = hearing("d-1", "Hearing Rossi v. Bianchi");
    let created = caldav.push_deadline(&deadline).await.expect("push");
    assert_eq!(created.outcome, PushOutcome::Created, "{name}");
    let (body, etag) = server.get_event(&resource).await.expect("event there");
    assert!(body.contains("UID:lexgate-deadline-d-1"), "{name}: {body}");
    assert!(body.contains("Hearing Rossi v. Bianchi"));
    assert_eq!(
        created.pushed.version.as_deref(),
        Some(etag.as_str()),
        "{name}"
    );

    // Pushed twice: nothing changes at the server.
    deadline.previous = Some(created.pushed.clone());
    let twice = caldav.push_deadline(&deadline).await.expect("push again");
    assert_eq!(twice.outcome, PushOutcome::Unchanged);
    assert_eq!(server.get_event(&resource).await.expect("event").1, etag);

    // Lexgate's state lost (previous unknown): If-None-Match fails, the re-read finds the
    // same event, nothing is written.
    let forgotten = OutboundDeadline {
        previous: None,
        ..deadline.clone()
    };
    let adopted = caldav.push_deadline(&forgotten).await.expect("push");
    assert_eq!(adopted.outcome, PushOutcome::Unchanged, "{name}");
    assert_eq!(server.get_event(&resource).await.expect("event").1, etag);

    // Changed in lexgate: updated with If-Match.
    deadline.title = "Hearing Rossi v. Bianchi (postponed)".into();
    let updated = caldav.push_deadline(&deadline).await.expect("update");
    assert_eq!(updated.outcome, PushOutcome::Updated, "{name}");
    let (body, etag) = server.get_event(&resource).await.expect("event");
    assert!(body.contains("(postponed)"), "{name}");
    assert_eq!(updated.pushed.version.as_deref(), Some(etag.as_str()));
    deadline.previous = Some(updated.pushed.clone());

    // Someone edits the event in their calendar app; lexgate then changes the deadline too.
    let edited = body.replace("(postponed)", "(moved to room 5)");
    server.put_event(&resource, &edited).await;
    let (_, edited_etag) = server.get_event(&resource).await.expect("event");
    deadline.title = "Hearing Rossi v. Bianchi (cancelled)".into();
    let conflict = caldav.push_deadline(&deadline).await.expect("push");
    assert_eq!(conflict.outcome, PushOutcome::Conflict, "{name}");
    let (body, etag) = server.get_event(&resource).await.expect("event");
    assert!(
        body.contains("(moved to room 5)"),
        "{name}: overwritten: {body}"
    );
    assert_eq!(etag, edited_etag);
    assert_eq!(conflict.pushed.version.as_deref(), Some(etag.as_str()));

    // An event whose etag changed without anyone editing what lexgate wrote (re-saved
    // as-is): the 412 is followed by a re-read and an update.
    let mut other = hearing("d-2", "Filing deadline");
    let first = caldav.push_deadline(&other).await.expect("push");
    let other_resource = format!("{}.ics", deadline_uid("d-2"));
    let (same, _) = server.get_event(&other_resource).await.expect("event");
    server.put_event(&other_resource, &same).await;
    other.previous = Some(first.pushed);
    other.title = "Filing deadline (extended)".into();
    let resaved = caldav.push_deadline(&other).await.expect("push");
    assert_eq!(resaved.outcome, PushOutcome::Updated, "{name}");
    assert!(server
        .get_event(&other_resource)
        .await
        .expect("event")
        .0
        .contains("(extended)"));

    // Deleted at the provider: the deadline still stands and is recreated.
    server.delete_event(&other_resource).await;
    other.previous = Some(resaved.pushed);
    other.title = "Filing deadline (final)".into();
    let recreated = caldav.push_deadline(&other).await.expect("push");
    assert_eq!(recreated.outcome, PushOutcome::Created, "{name}");
    assert!(server.get_event(&other_resource).await.is_some());

    // Removed with If-Match: gone, and removing it again is no error.
    let removed = caldav
        .remove_deadline(&recreated.pushed)
        .await
        .expect("remove");
    assert_eq!(removed, RemoveOutcome::Removed, "{name}");
    assert!(server.get_event(&other_resource).await.is_none(), "{name}");
    let again = caldav
        .remove_deadline(&recreated.pushed)
        .await
        .expect("remove");
    assert_eq!(again, RemoveOutcome::Removed, "{name}");

    // An event edited since the version lexgate knows: the 412 re-read keeps it.
    let stale = PushedEvent {
        version: updated.pushed.version.clone(),
        ..conflict.pushed.clone()
    };
    let kept = caldav.remove_deadline(&stale).await.expect("remove");
    assert_eq!(kept, RemoveOutcome::Kept, "{name}");
    assert!(server
        .get_event(&resource)
        .await
        .expect("kept")
        .0
        .contains("(moved to room 5)"));
}

#[tokio::test]
async fn radicale_push_is_conditional_and_idempotent() {
    push_deadlines(DavServer::start(DavServerKind::Radicale).await).await;
}

#[tokio::test]
async fn xandikos_push_is_conditional_and_idempotent() {
    push_deadlines(DavServer::start(DavServerKind::Xandikos).await).await;
}

#[tokio::test]
async fn radicale_reports_a_bad_password_as_unauthorized() {
    let server = DavServer::start(DavServerKind::Radicale).await;
    let caldav = connector(&server, "wrong");
    assert!(matches!(
        caldav.pull_events(None).await,
        Err(ConnectorError::Unauthorized(_))
    ));
    assert!(matches!(
        caldav.push_deadline(&hearing("d-9", "x")).await,
        Err(ConnectorError::Unauthorized(_))
    ));
}
