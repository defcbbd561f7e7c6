//! The Clio Manage connector against the fake API v4: cursor paging (`order=id(asc)`,
//! `meta.paging.next` replayed, only towards the configured host), `fields=` on every request,
//! `updated_since` from the provider's clock, 429 and the `X-RateLimit-*` window honoured, a
//! bad `X-API-VERSION` (410) refused as a configuration error, contacts, matters, calendar
//! entries and time mapped, and pushes of deadlines and time that are idempotent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use lexgate_connectors::clio::{ClioConnector, API_VERSION};
use lexgate_connectors::http::HttpClient;
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager};
use lexgate_connectors::testing::clio::ClioFake;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{
    Connector, ConnectorError, ContactOrigin, Cursor, OutboundDeadline, OutboundTimeEntry,
    PushOutcome, RemoteMatterStatus, RemoveOutcome,
};
use serde_json::json;

fn connector(fake: &ClioFake, page_size: u32) -> ClioConnector {
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
    ClioConnector::new(&fake.api_root(), client, page_size).expect("connector")
}

fn seed(fake: &ClioFake) {
    fake.upsert(
        "contacts",
        json!({ "id": 11, "type": "Person", "name": "Giulia Bianchi", "first_name": "Giulia",
                "last_name": "Bianchi", "is_client": true,
                "email_addresses": [{ "address": "Giulia.Bianchi@example.org", "primary": true }],
                "phone_numbers": [{ "number": "+39 02 1234567", "primary": true }] }),
    );
    fake.upsert(
        "contacts",
        json!({ "id": 12, "type": "Company", "name": "Acme S.p.A.", "is_client": false,
                "email_addresses": [{ "address": "info@acme.example" }] }),
    );
    fake.upsert(
        "contacts",
        json!({ "id": 13, "type": "Person", "first_name": "Marco", "last_name": "Verdi" }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 21, "display_number": "2026/0042", "description": "Bianchi v. Acme",
                "status": "Open", "open_date": "2026-01-15", "client": { "id": 11 },
                "responsible_attorney": { "id": 3, "name": "Avv. Rossi", "email": "Rossi@Studio.example" },
                "practice_area": { "id": 4, "name": "Contenzioso civile" } }),
    );
}

#[tokio::test]
async fn listings_page_by_cursor_with_fields_and_continue_from_updated_since() {
    let fake = ClioFake::start().await;
    seed(&fake);
    // Records older than the listing by more than its overlap.
    fake.advance(600);
    let clio = connector(&fake, 2);

    let first = clio.pull_contacts(None).await.expect("first page");
    assert!(first.more);
    let second = clio
        .pull_contacts(Some(&first.cursor))
        .await
        .expect("second page");
    assert!(!second.more);
    let contacts: Vec<_> = first.records.iter().chain(&second.records).collect();
    assert_eq!(
        contacts
            .iter()
            .map(|c| c.external_id.as_str())
            .collect::<Vec<_>>(),
        ["11", "12", "13"]
    );
    let giulia = contacts[0];
    assert_eq!(giulia.given_name.as_deref(), Some("Giulia"));
    assert_eq!(giulia.family_name.as_deref(), Some("Bianchi"));
    assert_eq!(giulia.emails, ["giulia.bianchi@example.org"]);
    assert_eq!(giulia.phones, ["+39 02 1234567"]);
    assert_eq!(giulia.origin, ContactOrigin::BillingClient);
    assert!(giulia.basis_arose_at.is_some());
    let acme = contacts[1];
    assert!(acme.organization);
    assert_eq!(acme.organization_name.as_deref(), Some("Acme S.p.A."));
    assert_eq!(acme.origin, ContactOrigin::AddressBook);

    // Every listing asks for cursor paging and names its fields; the second page replays
    // `meta.paging.next`.
    let requests = fake.requests();
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.starts_with("GET /api/v4/contacts.json"))
        .collect();
    assert_eq!(lists.len(), 2, "{requests:?}");
    for request in &lists {
        assert!(request.contains("order=id(asc)"), "{request}");
        assert!(request.contains("limit=2"), "{request}");
        assert!(
            request.contains("email_addresses{address,primary}"),
            "{request}"
        );
        assert!(!request.contains("updated_since"), "{request}");
    }
    assert!(lists[1].contains("page_token="), "{}", lists[1]);

    // Later: only what changed since the listing started (by Clio's clock).
    fake.advance(600);
    fake.edit("contacts", 13, json!({ "last_name": "Verdi-Neri" }));
    fake.advance(600);
    let changed = clio
        .pull_contacts(Some(&second.cursor))
        .await
        .expect("changes");
    assert!(!changed.more);
    assert_eq!(changed.records.len(), 1);
    assert_eq!(
        changed.records[0].family_name.as_deref(),
        Some("Verdi-Neri")
    );
    let last = fake.requests().last().cloned().unwrap_or_default();
    assert!(last.contains("updated_since="), "{last}");

    // A run with nothing new (since the overlap before the last listing) gets nothing.
    let nothing = clio
        .pull_contacts(Some(&changed.cursor))
        .await
        .expect("no changes");
    assert!(nothing.records.is_empty());

    // A paging link to another service is never followed (it would carry the token).
    let elsewhere = Cursor(
        json!({ "started": "2026-01-01T00:00:00Z", "full": "2026-01-01T00:00:00Z",
                "next": "https://elsewhere.example/api/v4/contacts.json?page_token=c1" })
        .to_string(),
    );
    assert!(matches!(
        clio.pull_contacts(Some(&elsewhere)).await,
        Err(ConnectorError::InvalidCursor)
    ));
    assert!(matches!(
        clio.pull_contacts(Some(&Cursor("garbage".into()))).await,
        Err(ConnectorError::InvalidCursor)
    ));
}

#[tokio::test]
async fn matters_calendar_entries_and_time_are_mapped_and_ours_left_out() {
    let fake = ClioFake::start().await;
    seed(&fake);
    fake.upsert(
        "calendar_entries",
        json!({ "id": 31, "summary": "Udienza di precisazione conclusioni",
                "description": "Tribunale di Milano", "location": "Aula 3",
                "start_at": "2026-03-02T09:00:00Z", "end_at": "2026-03-02T10:00:00Z",
                "all_day": false, "matter": { "id": 21 } }),
    );
    fake.upsert(
        "calendar_entries",
        json!({ "id": 32, "summary": "Pushed by lexgate", "start_at": "2026-03-03T09:00:00Z",
                "external_properties": [{ "id": 1, "name": "lexgate_id", "value": "d-1" }] }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 41, "type": "TimeEntry", "date": "2026-02-10", "quantity": 5400,
                "note": "Studio atti", "matter": { "id": 21 }, "price": 180.5,
                "non_billable": true,
                "user": { "id": 3, "email": "Rossi@Studio.example" } }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 42, "type": "ExpenseEntry", "date": "2026-02-10", "quantity": 1,
                "matter": { "id": 21 } }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 43, "type": "TimeEntry", "date": "2026-02-11", "quantity": 600,
                "reference": "lexgate:t-1", "matter": { "id": 21 } }),
    );
    let clio = connector(&fake, 200);

    let matters = clio.pull_matters(None).await.expect("matters");
    let matter = &matters.records[0];
    assert_eq!(matter.reference, "2026/0042");
    assert_eq!(matter.title, "Bianchi v. Acme");
    assert_eq!(matter.client_external_id.as_deref(), Some("11"));
    assert_eq!(matter.status, Some(RemoteMatterStatus::Open));
    assert_eq!(matter.practice_area.as_deref(), Some("Contenzioso civile"));
    assert_eq!(
        matter.responsible_email.as_deref(),
        Some("rossi@studio.example")
    );
    assert_eq!(matter.opened_on, NaiveDate::from_ymd_opt(2026, 1, 15));

    let deadlines = clio.pull_deadlines(None).await.expect("calendar entries");
    assert_eq!(deadlines.records.len(), 1, "{:?}", deadlines.records);
    let hearing = &deadlines.records[0];
    assert_eq!(hearing.external_id, "31");
    assert_eq!(hearing.matter_reference.as_deref(), Some("2026/0042"));
    assert_eq!(hearing.matter_external_id.as_deref(), Some("21"));
    assert_eq!(hearing.title, "Udienza di precisazione conclusioni");
    assert_eq!(
        hearing.due_at,
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    );

    // A renumbered matter shows its new number in its entries, as Clio does.
    fake.edit("matters", 21, json!({ "display_number": "2026/0042-bis" }));
    let renumbered = clio.pull_deadlines(None).await.expect("calendar entries");
    assert_eq!(
        renumbered.records[0].matter_reference.as_deref(),
        Some("2026/0042-bis")
    );
    fake.edit("matters", 21, json!({ "display_number": "2026/0042" }));

    let time = clio.pull_time_entries(None).await.expect("activities");
    assert_eq!(time.records.len(), 1, "{:?}", time.records);
    let entry = &time.records[0];
    assert_eq!(entry.minutes, 90);
    assert_eq!(entry.matter_reference.as_deref(), Some("2026/0042"));
    assert_eq!(entry.matter_external_id.as_deref(), Some("21"));
    assert_eq!(entry.rate_cents, Some(18050));
    assert!(entry.non_billable);
    assert_eq!(
        entry.timekeeper_email.as_deref(),
        Some("rossi@studio.example")
    );
    let listed = fake.requests();
    assert!(
        listed
            .iter()
            .any(|r| r.starts_with("GET /api/v4/activities.json") && r.contains("type=TimeEntry")),
        "{listed:?}"
    );
}

#[tokio::test]
async fn a_429_and_a_spent_rate_limit_window_are_waited_out() {
    let fake = ClioFake::start().await;
    seed(&fake);
    for id in 14..=17 {
        fake.upsert(
            "contacts",
            json!({ "id": id, "type": "Person", "last_name": format!("C{id}") }),
        );
    }
    let clio = connector(&fake, 1);

    fake.fail_next(429, Some(1));
    let started = Instant::now();
    let page = clio.pull_contacts(None).await.expect("after the 429");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(page.records.len(), 1);

    // Two requests a second: every third page waits for the window to reset instead of
    // drawing a 429.
    fake.set_rate_limit(2, Duration::from_secs(1));
    let before = fake.requests().len();
    let mut cursor = page.cursor;
    let mut seen = 1;
    loop {
        let page = clio.pull_contacts(Some(&cursor)).await.expect("page");
        seen += page.records.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, 7);
    assert_eq!(
        fake.requests().len() - before,
        6,
        "no request was refused: {:?}",
        fake.requests()
    );
}

#[tokio::test]
async fn an_unknown_api_version_is_a_refusal_not_a_resync() {
    let fake = ClioFake::start().await;
    seed(&fake);
    fake.retire_versions_from(0);
    let clio = connector(&fake, 10);
    match clio.pull_contacts(None).await {
        Err(ConnectorError::Rejected(message)) => {
            assert!(message.contains(API_VERSION), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_listing_long_after_the_last_full_one_starts_a_full_one() {
    let fake = ClioFake::start().await;
    seed(&fake);
    let clio = connector(&fake, 10).relist_after(chrono::Duration::zero());
    let full = clio.pull_contacts(None).await.expect("full listing");
    assert!(!full.more);
    assert!(matches!(
        clio.pull_contacts(Some(&full.cursor)).await,
        Err(ConnectorError::InvalidCursor)
    ));
    let patient = connector(&fake, 10).relist_after(chrono::Duration::days(1));
    assert!(patient.pull_contacts(Some(&full.cursor)).await.is_ok());
}

fn hearing(id: &str, title: &str) -> OutboundDeadline {
    OutboundDeadline {
        id: id.to_owned(),
        kind: "hearing".to_owned(),
        title: title.to_owned(),
        description: Some("Tribunale di Milano".to_owned()),
        due_at: Utc.with_ymd_and_hms(2026, 4, 14, 9, 30, 0).unwrap(),
        matter_reference: Some("2026/0042".to_owned()),
        previous: None,
    }
}

#[tokio::test]
async fn deadline_pushes_carry_our_id_and_never_repeat_or_overwrite() {
    let fake = ClioFake::start().await;
    seed(&fake);
    let clio = connector(&fake, 10);

    let first = clio
        .push_deadline(&hearing("d-1", "Udienza"))
        .await
        .expect("created");
    assert_eq!(first.outcome, PushOutcome::Created);
    let id: u64 = first.pushed.external_id.parse().expect("numeric id");
    let entry = fake.record("calendar_entries", id).expect("entry");
    assert_eq!(entry["summary"], "Udienza");
    assert_eq!(entry["matter"]["id"], 21);
    assert_eq!(entry["calendar_owner"]["id"], 7);
    assert!(entry["external_properties"]
        .as_array()
        .expect("properties")
        .iter()
        .any(|p| p["name"] == "lexgate_id" && p["value"] == "d-1"));
    assert_eq!(fake.writes(), 1);

    // The answer was lost: pushing again finds the entry by our id instead of a second one.
    let again = clio
        .push_deadline(&hearing("d-1", "Udienza"))
        .await
        .expect("found");
    assert_eq!(again.outcome, PushOutcome::Created);
    assert_eq!(again.pushed.external_id, first.pushed.external_id);
    assert_eq!(fake.writes(), 1);
    assert_eq!(fake.live("calendar_entries").len(), 1);

    // Nothing new: nothing sent.
    let mut known = hearing("d-1", "Udienza");
    known.previous = Some(first.pushed.clone());
    let unchanged = clio.push_deadline(&known).await.expect("unchanged");
    assert_eq!(unchanged.outcome, PushOutcome::Unchanged);
    assert_eq!(fake.writes(), 1);

    // Changed in lexgate: updated, conditionally on the ETag seen.
    let mut moved = hearing("d-1", "Udienza rinviata");
    moved.previous = Some(first.pushed.clone());
    let updated = clio.push_deadline(&moved).await.expect("updated");
    assert_eq!(updated.outcome, PushOutcome::Updated);
    assert_eq!(
        fake.record("calendar_entries", id).expect("entry")["summary"],
        "Udienza rinviata"
    );
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.starts_with("PATCH /api/v4/calendar_entries/")));

    // Edited in Clio: lexgate's change is not written over it, nor is it removed.
    fake.edit(
        "calendar_entries",
        id,
        json!({ "summary": "Udienza (spostata in Clio)" }),
    );
    let mut again_moved = hearing("d-1", "Udienza rinviata al 20");
    again_moved.previous = Some(updated.pushed.clone());
    let conflict = clio.push_deadline(&again_moved).await.expect("conflict");
    assert_eq!(conflict.outcome, PushOutcome::Conflict);
    assert_eq!(
        fake.record("calendar_entries", id).expect("entry")["summary"],
        "Udienza (spostata in Clio)"
    );
    assert_eq!(
        clio.remove_deadline(&conflict.pushed).await.expect("kept"),
        RemoveOutcome::Kept
    );

    // One nobody touched is removed; removing it again is harmless.
    let other = clio
        .push_deadline(&hearing("d-2", "Deposito memoria"))
        .await
        .expect("created");
    assert_eq!(
        clio.remove_deadline(&other.pushed).await.expect("removed"),
        RemoveOutcome::Removed
    );
    assert_eq!(
        clio.remove_deadline(&other.pushed).await.expect("gone"),
        RemoveOutcome::Removed
    );
    assert_eq!(fake.live("calendar_entries").len(), 1);
}

#[tokio::test]
async fn a_time_entry_push_is_idempotent_by_its_reference() {
    let fake = ClioFake::start().await;
    seed(&fake);
    let clio = connector(&fake, 10);
    let entry = OutboundTimeEntry {
        id: "t-9".to_owned(),
        matter_reference: "2026/0042".to_owned(),
        minutes: 45,
        description: "Redazione atto di citazione".to_owned(),
        worked_on: NaiveDate::from_ymd_opt(2026, 2, 12),
    };
    let id = clio.push_time_entry(&entry).await.expect("created");
    let again = clio.push_time_entry(&entry).await.expect("found");
    assert_eq!(id, again);
    let activities = fake.live("activities");
    assert_eq!(activities.len(), 1);
    let activity = &activities[0];
    assert_eq!(activity["type"], "TimeEntry");
    assert_eq!(activity["quantity"], 2700);
    assert_eq!(activity["date"], "2026-02-12");
    assert_eq!(activity["reference"], "lexgate:t-9");
    assert_eq!(activity["matter"]["id"], 21);

    let unknown = OutboundTimeEntry {
        matter_reference: "1999/0001".to_owned(),
        ..entry
    };
    assert!(matches!(
        clio.push_time_entry(&unknown).await,
        Err(ConnectorError::Rejected(_))
    ));
}
