//! Calendars synced through their APIs, from the faithful fakes, on both backends: the
//! `google_calendar` kind (Calendar API v3: `syncToken`, 410 `fullSyncRequired`, cancelled
//! events, 429 and 403 `rateLimitExceeded`; deadlines pushed with client-chosen ids) and the
//! `graph_calendar` kind (Graph `calendarView/delta`: delta links, `@removed`, 410
//! `SyncStateNotFound`, 429 with `Retry-After`). Each from `createConnectorInstance` to the
//! meetings with participants, matter, source and legal basis, and `matter.timeline`. A
//! provider that keeps throttling makes a THROTTLED run, on the instance and in `lexgate
//! sync`.

use std::time::{Duration, Instant};

use chrono::Utc;
use lexgate_connectors::google_calendar::event_id;
use lexgate_connectors::testing::calendar_apis::GraphCalendarFake;
use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail::{by_subject, communications, count_rows};
use crate::mail_apis::authorise_directly;
use crate::on_both_backends;
use crate::sync::{start_sealing_secrets, SECRETS_KEY, SECRETS_KEY_ID};

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind baseUrl ownDomains deadlineUsers hasClientSecret authorized } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed pushed pushRemoved pushConflicts errors { message } } } }";
const TIMELINE: &str = "{ matters(first: 5) { nodes { reference timeline(first: 20) { nodes { __typename ... on Communication { subject channel } } } } } }";

const ROSSI: &str = "avv.rossi@studiorossi.it";

async fn sync(app: &TestApp, id: &str) -> Value {
    app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone()
}

/// created, updated, deleted, skipped, failed
fn counts(run: &Value) -> [i64; 5] {
    ["created", "updated", "deleted", "skipped", "failed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

/// pushed, pushRemoved, pushConflicts
fn pushes(run: &Value) -> [i64; 3] {
    ["pushed", "pushRemoved", "pushConflicts"].map(|k| run[k].as_i64().unwrap_or(-1))
}

/// An instant `days` from now at 10:00 UTC (plus `hours`), RFC 3339.
fn at(days: i64, hours: i64) -> String {
    let day = (Utc::now() + chrono::Duration::days(days)).date_naive();
    let at = day.and_hms_opt(10, 0, 0).expect("10:00").and_utc() + chrono::Duration::hours(hours);
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The meetings of the matter's timeline, sorted.
async fn timeline_meetings(app: &TestApp) -> Vec<String> {
    let data = app.data(TIMELINE, json!({})).await;
    let mut subjects: Vec<String> = data["matters"]["nodes"][0]["timeline"]["nodes"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|n| n["channel"] == "MEETING")
        .filter_map(|n| n["subject"].as_str().map(str::to_owned))
        .collect();
    subjects.sort_unstable();
    subjects
}

fn ids(list: &[Value]) -> Vec<Value> {
    list.iter().map(|c| c["id"].clone()).collect()
}

/// A Google Calendar event as `events.list` gives it (`singleEvents=true`).
fn google_event(id: &str, uid: &str, summary: &str, day: i64, extra: Value) -> Value {
    let mut event = json!({
        "id": id,
        "iCalUID": uid,
        "status": "confirmed",
        "summary": summary,
        "start": { "dateTime": at(day, 0) },
        "end": { "dateTime": at(day, 1) },
        "organizer": { "email": ROSSI },
    });
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    event
}

async fn google_calendar_meetings_in_and_deadlines_out(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let rossi = create_user(&app, ROSSI, "lawyer").await;
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    let matter = create_matter(
        &app,
        "2026/017",
        &mario,
        json!({ "responsibleUserId": rossi }),
    )
    .await;
    lia(&app, &["matter_handling"], "APPROVED").await;

    // The kind names what it misses.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "gcal", "kind": "google_calendar",
                "baseUrl": "https://www.googleapis.com/calendar/v3", "password": "x" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    for field in [
        "input.baseUrl",
        "input.clientId",
        "input.authUrl",
        "input.tokenUrl",
        "input.ownDomains",
        "input.password",
    ] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }

    provider.upsert_event(google_event(
        "gclient1",
        "meet-client@google.com",
        "Riunione con il cliente",
        2,
        json!({ "attendees": [
            { "email": "Mario.Bianchi@cliente.it" },
            { "email": ROSSI, "self": true },
        ] }),
    ));
    provider.upsert_event(google_event(
        "gexpert1",
        "meet-expert@google.com",
        "Sopralluogo con il perito",
        5,
        json!({
            "description": "Pratica 2026/017, sopralluogo",
            "attendees": [{ "email": "luca.neri@perito.it", "displayName": "Luca Neri" }],
        }),
    ));
    // Two occurrences of a weekly internal meeting, as singleEvents lists them.
    for (index, day) in [(1, 1), (2, 8)] {
        provider.upsert_event(google_event(
            &format!("gweekly_{index}"),
            "weekly@google.com",
            "Punto settimanale",
            day,
            json!({
                "recurringEventId": "gweekly",
                "originalStartTime": { "dateTime": at(day, 0) },
                "attendees": [{ "email": "collega@studiorossi.it" }],
            }),
        ));
    }
    let hearing = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": "Udienza Bianchi", "kind": "HEARING",
                "dueAt": (Utc::now() + chrono::Duration::days(10)).to_rfc3339(),
                "matterId": matter } }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned();
    let (_, hearing_key) = lexgate::ids::parse(&hearing).expect("a deadline id");
    let pushed_id = event_id(&hearing_key);

    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "gcal",
                "kind": "google_calendar",
                "baseUrl": format!("{}/calendar/v3/calendars/avv.rossi%40studiorossi.it", provider.base_url),
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", provider.base_url),
                "tokenUrl": format!("{}/token", provider.base_url),
                "scopes": ["https://www.googleapis.com/auth/calendar.events"],
                "ownDomains": ["studiorossi.it"],
                "deadlineUsers": ["Avv.Rossi@StudioRossi.it"],
                "pageSize": 2,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "google_calendar");
    assert_eq!(instance["deadlineUsers"], json!([ROSSI]));
    assert_eq!(instance["hasClientSecret"], true);
    assert_eq!(instance["authorized"], false);
    let id = instance["id"].as_str().expect("id").to_owned();
    authorise_directly(&app, "gcal", provider.issue_tokens()).await;

    // First run: four meetings in, the hearing out.
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true, "{run:#}");
    assert_eq!(counts(&run), [4, 0, 0, 0, 0], "{run:#}");
    assert_eq!(pushes(&run), [1, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 4, "{list:#?}");
    let client = by_subject(&list, "Riunione con il cliente");
    assert_eq!(client["channel"], "MEETING");
    assert_eq!(client["direction"], "OUTBOUND");
    assert_eq!(client["matter"]["reference"], "2026/017");
    assert_eq!(client["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(client["participants"][0]["familyName"], "Bianchi");
    assert_eq!(client["source"]["connector"], "gcal");
    assert_eq!(client["source"]["messageId"], "ical:meet-client@google.com");
    let expert = by_subject(&list, "Sopralluogo con il perito");
    assert_eq!(expert["matter"]["reference"], "2026/017");
    let neri = &expert["participants"][0];
    assert_eq!(neri["familyName"], "Neri", "{expert:#}");
    assert_eq!(neri["sources"][0]["kind"], "CONNECTOR_IMPORT");
    assert_eq!(neri["sources"][0]["connector"], "gcal");
    assert_eq!(
        neri["processingGrounds"][0]["legalBasis"],
        "LEGITIMATE_INTEREST"
    );
    let weekly: Vec<&Value> = list
        .iter()
        .filter(|c| c["subject"] == "Punto settimanale")
        .collect();
    assert_eq!(weekly.len(), 2);
    assert!(weekly
        .iter()
        .all(|c| c["direction"] == "INTERNAL" && c["participants"] == json!([])));
    assert_eq!(count_rows(&app).await, (4, 2));
    assert_eq!(
        timeline_meetings(&app).await,
        ["Riunione con il cliente", "Sopralluogo con il perito"]
    );
    // The hearing is an event with lexgate's client-chosen id.
    let event = provider.calendar_event(&pushed_id).expect("pushed event");
    assert_eq!(event["summary"], "Udienza Bianchi");
    assert!(event["description"]
        .as_str()
        .is_some_and(|d| d.contains("Matter 2026/017")));

    // A re-run changes nothing, writes nothing, and does not import lexgate's own event.
    let writes = provider.calendar_writes();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], false, "{run:#}");
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(pushes(&run), [0, 0, 0], "{run:#}");
    assert_eq!(provider.calendar_writes(), writes);
    assert_eq!(count_rows(&app).await, (4, 2));

    // Edited in the calendar, then changed in lexgate: the 412 is followed by a re-read and
    // the edit is left alone.
    provider.edit_event(&pushed_id, json!({ "summary": "Udienza Bianchi (aula 3)" }));
    app.data(
        "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { id } } }",
        json!({ "input": { "id": hearing, "title": "Udienza Bianchi (rinviata)" } }),
    )
    .await;
    // Upstream: one meeting moved and renamed, one cancelled; the provider throttles the
    // first request (429 with Retry-After) and its retry (403 rateLimitExceeded).
    provider.edit_event(
        "gexpert1",
        json!({ "summary": "Sopralluogo rinviato", "start": { "dateTime": at(9, 0) } }),
    );
    provider.cancel_event("gclient1");
    provider.fail_next(429, Some(1));
    provider.fail_next(403, None);
    let started = Instant::now();
    let run = sync(&app, &id).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], false, "{run:#}");
    assert_eq!(counts(&run), [0, 1, 1, 0, 0], "{run:#}");
    assert_eq!(pushes(&run), [0, 0, 1], "{run:#}");
    let edited = provider.calendar_event(&pushed_id).expect("event");
    assert_eq!(edited["summary"], "Udienza Bianchi (aula 3)", "overwritten");
    let list = communications(&app).await;
    assert_eq!(list.len(), 3, "{list:#?}");
    assert_eq!(
        by_subject(&list, "Sopralluogo rinviato")["id"],
        expert["id"]
    );
    assert!(list
        .iter()
        .all(|c| c["subject"] != "Riunione con il cliente"));
    // Nothing is sent again while lexgate's version stays.
    let writes = provider.calendar_writes();
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 0], "{run:#}");
    assert_eq!(provider.calendar_writes(), writes);

    // Google no longer honours the sync token: 410, a full resync, nothing twice.
    provider.invalidate_cursors();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true, "{run:#}");
    assert_eq!(run["created"], 0, "{run:#}");
    assert_eq!(run["deleted"], 0, "{run:#}");
    assert_eq!(pushes(&run), [0, 0, 0], "{run:#}");
    assert_eq!(count_rows(&app).await, (3, 2));
    assert_eq!(ids(&communications(&app).await), ids(&list));

    // The provider keeps throttling, through every retry the policy allows: the run is
    // THROTTLED (not FAILED), on the instance and in `lexgate sync` with its counts.
    provider.edit_event("gexpert1", json!({ "summary": "Sopralluogo confermato" }));
    for _ in 0..ATTEMPTS {
        provider.fail_next(429, Some(0));
    }
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "THROTTLED", "{run:#}");
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");
    let message = run["errors"][0]["message"].as_str().expect("error");
    assert!(message.contains("throttling"), "{message}");
    let runs = app
        .data(
            "{ connectorInstances { name runs(first: 1) { status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        runs["connectorInstances"][0]["runs"][0]["status"],
        "THROTTLED"
    );
    for _ in 0..ATTEMPTS {
        provider.fail_next(429, Some(0));
    }
    let (code, printed) = cli_sync(&app, "gcal").await;
    assert_eq!(code, Some(75), "{printed}");
    assert!(
        printed.contains("gcal: throttled: 0 created, 0 updated"),
        "{printed}"
    );
    assert!(printed.contains("kept throttling"), "{printed}");
    // Once the provider lets us through, the change comes in.
    let (code, printed) = cli_sync(&app, "gcal").await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        printed.contains("gcal: succeeded: 0 created, 1 updated"),
        "{printed}"
    );

    // The users whose deadlines are pushed change: only users lexgate knows; none left
    // removes the event (conditionally, on the version lexgate last saw); Rossi again
    // restores it (Google keeps a deleted event's id: a 409, a re-read, a patch).
    const UPDATE: &str = "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { deadlineUsers } } }";
    let error = app
        .error(
            UPDATE,
            json!({ "input": { "id": id, "deadlineUsers": ["nobody@studiorossi.it"] } }),
        )
        .await;
    assert!(
        error.to_string().contains("input.deadlineUsers[0]"),
        "{error:#}"
    );
    let data = app
        .data(
            UPDATE,
            json!({ "input": { "id": id, "deadlineUsers": [] } }),
        )
        .await;
    assert_eq!(
        data["updateConnectorInstance"]["connectorInstance"]["deadlineUsers"],
        json!([])
    );
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(pushes(&run), [0, 1, 0], "{run:#}");
    assert_eq!(
        provider.calendar_event(&pushed_id).expect("event")["status"],
        "cancelled"
    );
    app.data(
        UPDATE,
        json!({ "input": { "id": id, "deadlineUsers": [ROSSI] } }),
    )
    .await;
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [1, 0, 0], "{run:#}");
    let restored = provider.calendar_event(&pushed_id).expect("event");
    assert_eq!(restored["status"], "confirmed");
    assert_eq!(restored["summary"], "Udienza Bianchi (rinviata)");
    let run = sync(&app, &id).await;
    assert_eq!(pushes(&run), [0, 0, 0], "{run:#}");
}

/// Attempts of the default HTTP policy: one and four retries.
const ATTEMPTS: usize = 5;

/// `lexgate sync NAME` against the test's database: its exit code and what it printed.
async fn cli_sync(app: &TestApp, name: &str) -> (Option<i32>, String) {
    let config = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(
        config.path(),
        format!("secrets_key_id = \"{SECRETS_KEY_ID}\"\n[secrets_keys]\n\"{SECRETS_KEY_ID}\" = \"{SECRETS_KEY}\"\n"),
    )
    .expect("config written");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .arg("--config")
        .arg(config.path())
        .args(["sync", name, "--database-url", &app.database_url])
        .env_remove("DATABASE_URL")
        .env_remove("LEXGATE_CONFIG")
        .env("LEXGATE_LOG", "warn")
        .output()
        .await
        .expect("lexgate runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}

/// A Graph event as `calendarView/delta` gives it (times in UTC, as the connector asks).
fn graph_event(id: &str, uid: &str, subject: &str, day: i64, extra: Value) -> Value {
    let graph_time = |text: String| text.trim_end_matches('Z').to_owned() + ".0000000";
    let mut event = json!({
        "id": id,
        "iCalUId": uid,
        "subject": subject,
        "bodyPreview": "",
        "isCancelled": false,
        "start": { "dateTime": graph_time(at(day, 0)), "timeZone": "UTC" },
        "end": { "dateTime": graph_time(at(day, 1)), "timeZone": "UTC" },
        "organizer": { "emailAddress": { "address": ROSSI, "name": "Avv. Rossi" } },
    });
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    event
}

fn attendee(address: &str, name: &str) -> Value {
    json!({ "type": "required", "emailAddress": { "address": address, "name": name } })
}

async fn graph_calendar_meetings_are_imported(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = GraphCalendarFake::start().await;
    let mario = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@cliente.it" }] }),
    )
    .await;
    create_matter(&app, "2026/017", &mario, json!({})).await;
    lia(&app, &["matter_handling"], "APPROVED").await;
    create_user(&app, ROSSI, "lawyer").await;

    // OAuth only, and pull only: it pushes no deadlines.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "m365cal", "kind": "graph_calendar",
                "baseUrl": "http://graph.example.com/v1.0", "login": "PASSWORD",
                "ownDomains": ["studiorossi.it"], "deadlineUsers": [ROSSI] } }),
        )
        .await;
    for field in [
        "input.baseUrl",
        "input.clientId",
        "input.authUrl",
        "input.tokenUrl",
        "input.login",
        "input.deadlineUsers",
    ] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }
    assert!(!error.to_string().contains("input.ownDomains"), "{error:#}");

    fake.upsert(graph_event(
        "AAMk-client",
        "040000-client",
        "Riunione con il cliente",
        2,
        json!({ "attendees": [attendee("Mario.Bianchi@cliente.it", "Mario Bianchi"), attendee(ROSSI, "Avv. Rossi")] }),
    ));
    fake.upsert(graph_event(
        "AAMk-expert",
        "040000-expert",
        "Sopralluogo con il perito",
        5,
        json!({ "bodyPreview": "Pratica 2026/017, sopralluogo",
                "attendees": [attendee("luca.neri@perito.it", "Luca Neri")] }),
    ));
    fake.upsert(graph_event(
        "AAMk-internal",
        "040000-internal",
        "Punto settimanale",
        1,
        json!({ "attendees": [attendee("collega@studiorossi.it", "Collega")] }),
    ));
    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "m365cal",
                "kind": "graph_calendar",
                "baseUrl": fake.base_url(),
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", fake.provider.base_url),
                "tokenUrl": format!("{}/token", fake.provider.base_url),
                "scopes": ["Calendars.Read", "offline_access"],
                "ownDomains": ["studiorossi.it"],
                "pageSize": 1,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "graph_calendar");
    let id = instance["id"].as_str().expect("id").to_owned();
    authorise_directly(&app, "m365cal", fake.provider.issue_tokens()).await;

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [3, 0, 0, 0, 0], "{run:#}");
    let list = communications(&app).await;
    let client = by_subject(&list, "Riunione con il cliente");
    assert_eq!(client["channel"], "MEETING");
    assert_eq!(client["direction"], "OUTBOUND");
    assert_eq!(client["matter"]["reference"], "2026/017");
    assert_eq!(client["participants"][0]["familyName"], "Bianchi");
    assert_eq!(client["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(client["source"]["connector"], "m365cal");
    assert_eq!(client["source"]["messageId"], "ical:040000-client");
    let expert = by_subject(&list, "Sopralluogo con il perito");
    assert_eq!(expert["matter"]["reference"], "2026/017");
    assert_eq!(expert["participants"][0]["familyName"], "Neri");
    assert_eq!(
        expert["participants"][0]["sources"][0]["kind"],
        "CONNECTOR_IMPORT"
    );
    assert_eq!(
        by_subject(&list, "Punto settimanale")["direction"],
        "INTERNAL"
    );
    assert_eq!(count_rows(&app).await, (3, 2));
    assert_eq!(
        timeline_meetings(&app).await,
        ["Riunione con il cliente", "Sopralluogo con il perito"]
    );

    // A re-run changes nothing.
    let run = sync(&app, &id).await;
    assert_eq!(run["fullSync"], false, "{run:#}");
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");

    // Changed and deleted upstream (`@removed`), with a 429 and Retry-After on the way.
    fake.upsert(graph_event(
        "AAMk-expert",
        "040000-expert",
        "Sopralluogo rinviato",
        9,
        json!({ "attendees": [attendee("luca.neri@perito.it", "Luca Neri")] }),
    ));
    fake.delete("AAMk-client");
    fake.fail_next(429, Some(1));
    let started = Instant::now();
    let run = sync(&app, &id).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], false, "{run:#}");
    assert_eq!(counts(&run), [0, 1, 1, 0, 0], "{run:#}");
    let list = communications(&app).await;
    assert_eq!(list.len(), 2, "{list:#?}");
    assert_eq!(
        by_subject(&list, "Sopralluogo rinviato")["id"],
        expert["id"]
    );

    // The sync state is gone (410 SyncStateNotFound): a full resync, nothing twice.
    fake.drop_sync_state();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true, "{run:#}");
    assert_eq!(counts(&run), [0, 0, 0, 2, 0], "{run:#}");
    assert_eq!(count_rows(&app).await, (2, 2));
    assert_eq!(ids(&communications(&app).await), ids(&list));
}

on_both_backends!(
    google_calendar_meetings_in_and_deadlines_out,
    graph_calendar_meetings_are_imported,
);
