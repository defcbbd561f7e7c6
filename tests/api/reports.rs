//! Tests of reports: matters per status and area, open deadlines per assignee,
//! communications and new contacts per month.

use chrono::{Datelike, TimeZone, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const MATTERS_BY_STATUS: &str = "{ reports { mattersByStatus { status practiceArea count } } }";
const DEADLINES_PER_ASSIGNEE: &str = "query($from: DateTime!, $to: DateTime!) { reports { openDeadlinesPerAssignee(from: $from, to: $to) { user { id displayName } team { id name } count } } }";
const COMMUNICATIONS_PER_MONTH: &str = "query($from: DateTime!, $to: DateTime!) { reports { communicationsPerMonth(from: $from, to: $to) { month channel count } } }";
const CONTACTS_PER_MONTH: &str = "query($from: DateTime!, $to: DateTime!) { reports { newContactsPerMonth(from: $from, to: $to) { month category count } } }";

/// Rows of (a, b, count) from a report's objects, sorted.
fn triples(rows: &Value, a: &str, b: &str) -> Vec<(String, String, i64)> {
    let mut out: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {rows}"))
        .iter()
        .map(|r| {
            (
                r[a].as_str().expect("string").to_owned(),
                r[b].as_str().expect("string").to_owned(),
                r["count"].as_i64().expect("count"),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected(rows: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    let mut out: Vec<(String, String, i64)> = rows
        .iter()
        .map(|(a, b, n)| (a.to_string(), b.to_string(), *n))
        .collect();
    out.sort();
    out
}

/// The months of a report in the order it returns them.
fn months_in_order(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["month"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_ascending(months: &[String]) {
    let mut sorted = months.to_vec();
    sorted.sort();
    assert_eq!(months, sorted, "months come oldest first");
}

async fn matters_by_status_counts_per_status_and_area(backend: Backend) {
    let app = TestApp::start(backend).await;
    let data = app.data(MATTERS_BY_STATUS, json!({})).await;
    assert_eq!(data["reports"]["mattersByStatus"], json!([]));

    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let civil = "Contenzioso civile";
    let labour = "Diritto del lavoro";
    let corporate = "Diritto societario";
    let mut ids = Vec::new();
    for (reference, status, area) in [
        ("2026/0001", "OPEN", civil),
        ("2026/0002", "OPEN", civil),
        ("2026/0003", "OPEN", labour),
        ("2026/0004", "CLOSED", civil),
        ("2026/0005", "INTAKE", corporate),
        ("2026/0006", "SUSPENDED", labour),
    ] {
        ids.push(
            create_matter(
                &app,
                reference,
                &client,
                json!({ "status": status, "practiceArea": area }),
            )
            .await,
        );
    }
    let data = app.data(MATTERS_BY_STATUS, json!({})).await;
    let rows = &data["reports"]["mattersByStatus"];
    assert_eq!(
        triples(rows, "status", "practiceArea"),
        expected(&[
            ("CLOSED", civil, 1),
            ("INTAKE", corporate, 1),
            ("OPEN", civil, 2),
            ("OPEN", labour, 1),
            ("SUSPENDED", labour, 1),
        ])
    );

    // The figures follow the matters: archive one, delete one, move one.
    app.data(
        "mutation($id: ID!) { archiveMatter(input: { id: $id }) { matter { status } } }",
        json!({ "id": ids[1] }),
    )
    .await;
    app.data(
        "mutation($id: ID!) { deleteMatter(input: { id: $id }) { deletedId } }",
        json!({ "id": ids[2] }),
    )
    .await;
    app.data(
        "mutation($input: UpdateMatterInput!) { updateMatter(input: $input) { matter { status practiceArea } } }",
        json!({ "input": { "id": ids[5], "status": "OPEN", "practiceArea": civil } }),
    )
    .await;
    let data = app.data(MATTERS_BY_STATUS, json!({})).await;
    assert_eq!(
        triples(
            &data["reports"]["mattersByStatus"],
            "status",
            "practiceArea"
        ),
        expected(&[
            ("ARCHIVED", civil, 1),
            ("CLOSED", civil, 1),
            ("INTAKE", corporate, 1),
            ("OPEN", civil, 2),
        ])
    );
}

async fn create_deadline(
    app: &TestApp,
    title: &str,
    due: &str,
    users: &[&str],
    teams: &[&str],
) -> String {
    let data = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id status } } }",
            json!({ "input": { "title": title, "kind": "INTERNAL_TASK", "dueAt": due, "assigneeUserIds": users, "assigneeTeamIds": teams } }),
        )
        .await;
    assert_eq!(data["createDeadline"]["deadline"]["status"], "OPEN");
    data["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

/// (kind, name, count) of each row of openDeadlinesPerAssignee, checking a row names
/// exactly one of user and team.
fn assignee_counts(rows: &Value) -> Vec<(String, String, i64)> {
    let mut out: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {rows}"))
        .iter()
        .map(|r| {
            let count = r["count"].as_i64().expect("count");
            match (&r["user"], &r["team"]) {
                (Value::Null, team) if !team.is_null() => (
                    "team".to_owned(),
                    team["name"].as_str().unwrap().to_owned(),
                    count,
                ),
                (user, Value::Null) if !user.is_null() => (
                    "user".to_owned(),
                    user["displayName"].as_str().unwrap().to_owned(),
                    count,
                ),
                _ => panic!("a row names exactly one of user and team: {r}"),
            }
        })
        .collect();
    out.sort();
    out
}

async fn open_deadlines_per_assignee_counts_the_window(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let bruno = create_user(&app, "bruno@studio.it", "lawyer").await;
    let carla = create_user(&app, "carla@studio.it", "trainee").await;
    let team = app
        .data(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "name": "Contenzioso", "memberIds": [carla] } }),
        )
        .await["createTeam"]["team"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The window is May 2026: [2026-05-01T00:00Z, 2026-06-01T00:00Z).
    create_deadline(&app, "A", "2026-05-10T09:00:00Z", &[&anna], &[]).await;
    create_deadline(
        &app,
        "B",
        "2026-05-20T09:00:00Z",
        &[&anna, &bruno],
        &[&team],
    )
    .await;
    // At `from`: included.
    create_deadline(&app, "C", "2026-05-01T00:00:00Z", &[], &[&team]).await;
    // Given with an offset: 2026-06-01T01:30+02:00 is 2026-05-31T23:30Z, inside.
    create_deadline(&app, "D", "2026-06-01T01:30:00+02:00", &[&bruno], &[]).await;
    // Done: excluded.
    let done = create_deadline(&app, "E", "2026-05-15T09:00:00Z", &[&bruno], &[&team]).await;
    app.data(
        "mutation($id: ID!) { completeDeadline(input: { id: $id }) { deadline { status } } }",
        json!({ "id": done }),
    )
    .await;
    // Cancelled: excluded.
    let cancelled = create_deadline(&app, "F", "2026-05-16T09:00:00Z", &[&anna], &[]).await;
    app.data(
        "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { status } } }",
        json!({ "input": { "id": cancelled, "status": "CANCELLED" } }),
    )
    .await;
    // At `to`, before `from`, and long after: excluded.
    create_deadline(&app, "G", "2026-06-01T00:00:00Z", &[&anna], &[&team]).await;
    create_deadline(&app, "H", "2026-04-30T23:59:59Z", &[&bruno], &[]).await;
    create_deadline(&app, "I", "2026-09-01T09:00:00Z", &[&carla], &[]).await;
    // Assigned to nobody: counted for nobody.
    create_deadline(&app, "J", "2026-05-12T09:00:00Z", &[], &[]).await;

    let window = json!({ "from": "2026-05-01T00:00:00Z", "to": "2026-06-01T00:00:00Z" });
    let data = app.data(DEADLINES_PER_ASSIGNEE, window.clone()).await;
    let rows = &data["reports"]["openDeadlinesPerAssignee"];
    // Carla is only counted through her team, not per user.
    assert_eq!(
        assignee_counts(rows),
        expected(&[
            ("team", "Contenzioso", 2),
            ("user", "anna", 2),
            ("user", "bruno", 2),
        ])
    );
    // The rows carry the right IDs.
    for row in rows.as_array().unwrap() {
        if !row["user"].is_null() {
            let expected_id = if row["user"]["displayName"] == "anna" {
                &anna
            } else {
                &bruno
            };
            assert_eq!(row["user"]["id"], expected_id.as_str());
        } else {
            assert_eq!(row["team"]["id"], team.as_str());
        }
    }

    // Reopening the done deadline counts it again.
    app.data(
        "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { status } } }",
        json!({ "input": { "id": done, "status": "OPEN" } }),
    )
    .await;
    let data = app.data(DEADLINES_PER_ASSIGNEE, window.clone()).await;
    assert_eq!(
        assignee_counts(&data["reports"]["openDeadlinesPerAssignee"]),
        expected(&[
            ("team", "Contenzioso", 3),
            ("user", "anna", 2),
            ("user", "bruno", 3),
        ])
    );

    // A narrower window.
    let data = app
        .data(
            DEADLINES_PER_ASSIGNEE,
            json!({ "from": "2026-05-15T00:00:00Z", "to": "2026-05-21T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        assignee_counts(&data["reports"]["openDeadlinesPerAssignee"]),
        expected(&[
            ("team", "Contenzioso", 2),
            ("user", "anna", 1),
            ("user", "bruno", 2),
        ])
    );

    // An empty window.
    let data = app
        .data(
            DEADLINES_PER_ASSIGNEE,
            json!({ "from": "2027-01-01T00:00:00Z", "to": "2027-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(data["reports"]["openDeadlinesPerAssignee"], json!([]));
}

async fn log_communication(app: &TestApp, participant: &str, channel: &str, at: &str) -> String {
    let data = app
        .data(
            "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
            json!({ "input": { "channel": channel, "direction": "INBOUND", "occurredAt": at, "subject": format!("{channel} at {at}"), "participantIds": [participant] } }),
        )
        .await;
    data["logCommunication"]["communication"]["id"]
        .as_str()
        .expect("communication id")
        .to_owned()
}

async fn communications_per_month_groups_by_utc_month_and_channel(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    let mut ids = Vec::new();
    for (channel, at) in [
        ("EMAIL", "2026-01-15T10:00:00Z"),
        ("EMAIL", "2026-01-20T16:45:00Z"),
        ("PHONE", "2026-01-20T09:00:00Z"),
        // At `from`: included.
        ("LETTER", "2026-01-01T00:00:00Z"),
        ("PEC", "2026-02-03T11:00:00Z"),
        ("PEC", "2026-02-28T23:59:59Z"),
        ("MEETING", "2026-03-31T23:30:00Z"),
        // 2026-03-31T23:30Z in UTC: March, although April in Rome.
        ("VIDEO", "2026-04-01T01:30:00+02:00"),
        // 2025-12-31T23:30Z in UTC: before the window, although January in Rome.
        ("EMAIL", "2026-01-01T00:30:00+01:00"),
        // At `to`: excluded.
        ("EMAIL", "2026-04-01T00:00:00Z"),
        ("PHONE", "2025-11-10T10:00:00Z"),
    ] {
        ids.push(log_communication(&app, &mario, channel, at).await);
    }

    let q1 = json!({ "from": "2026-01-01T00:00:00Z", "to": "2026-04-01T00:00:00Z" });
    let data = app.data(COMMUNICATIONS_PER_MONTH, q1.clone()).await;
    let rows = &data["reports"]["communicationsPerMonth"];
    assert_eq!(
        triples(rows, "month", "channel"),
        expected(&[
            ("2026-01", "EMAIL", 2),
            ("2026-01", "LETTER", 1),
            ("2026-01", "PHONE", 1),
            ("2026-02", "PEC", 2),
            ("2026-03", "MEETING", 1),
            ("2026-03", "VIDEO", 1),
        ])
    );
    assert_ascending(&months_in_order(rows));

    // One month only, with the bounds given in another time zone (same instants).
    let data = app
        .data(
            COMMUNICATIONS_PER_MONTH,
            json!({ "from": "2026-02-01T01:00:00+01:00", "to": "2026-03-01T01:00:00+01:00" }),
        )
        .await;
    assert_eq!(
        triples(
            &data["reports"]["communicationsPerMonth"],
            "month",
            "channel"
        ),
        expected(&[("2026-02", "PEC", 2)])
    );

    // A wider window takes in the earlier ones.
    let data = app
        .data(
            COMMUNICATIONS_PER_MONTH,
            json!({ "from": "2025-11-01T00:00:00Z", "to": "2026-04-01T00:00:01Z" }),
        )
        .await;
    let rows = &data["reports"]["communicationsPerMonth"];
    assert_eq!(
        triples(rows, "month", "channel"),
        expected(&[
            ("2025-11", "PHONE", 1),
            ("2025-12", "EMAIL", 1),
            ("2026-01", "EMAIL", 2),
            ("2026-01", "LETTER", 1),
            ("2026-01", "PHONE", 1),
            ("2026-02", "PEC", 2),
            ("2026-03", "MEETING", 1),
            ("2026-03", "VIDEO", 1),
            ("2026-04", "EMAIL", 1),
        ])
    );
    assert_ascending(&months_in_order(rows));

    // Changes show: one deleted, one moved to another month and channel.
    app.data(
        "mutation($id: ID!) { deleteCommunication(input: { id: $id }) { deletedId } }",
        json!({ "id": ids[0] }),
    )
    .await;
    app.data(
        "mutation($input: UpdateCommunicationInput!) { updateCommunication(input: $input) { communication { id } } }",
        json!({ "input": { "id": ids[2], "occurredAt": "2026-02-10T10:00:00Z", "channel": "PEC" } }),
    )
    .await;
    let data = app.data(COMMUNICATIONS_PER_MONTH, q1).await;
    assert_eq!(
        triples(
            &data["reports"]["communicationsPerMonth"],
            "month",
            "channel"
        ),
        expected(&[
            ("2026-01", "EMAIL", 1),
            ("2026-01", "LETTER", 1),
            ("2026-02", "PEC", 3),
            ("2026-03", "MEETING", 1),
            ("2026-03", "VIDEO", 1),
        ])
    );

    let data = app
        .data(
            COMMUNICATIONS_PER_MONTH,
            json!({ "from": "2024-01-01T00:00:00Z", "to": "2024-12-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(data["reports"]["communicationsPerMonth"], json!([]));
}

/// Moves a contact's creation time, which the API never lets a client set.
async fn backdate_contact(app: &TestApp, id: &str, at: chrono::DateTime<Utc>) {
    use lexgate::db::schema::contacts;
    let (_, key) = lexgate::ids::parse(id).expect("a contact ID");
    let at = at.naive_utc();
    let changed = app
        .db
        .run(move |conn| {
            Ok(diesel::update(contacts::table.filter(contacts::id.eq(key)))
                .set(contacts::created_at.eq(at))
                .execute(conn)?)
        })
        .await
        .expect("backdate contact");
    assert_eq!(changed, 1);
}

async fn new_contacts_per_month_counts_by_month_and_category(backend: Backend) {
    let app = TestApp::start(backend).await;
    let started = Utc::now();
    create_person(&app, "Mario", "Rossi", json!({})).await;
    create_organization(&app, "Acme S.r.l.", json!({})).await;
    let old_client = create_person(&app, "Anna", "Bianchi", json!({})).await;
    create_person(&app, "Luca", "Verdi", json!({ "category": "PROSPECT" })).await;
    let older_prospect =
        create_person(&app, "Paola", "Neri", json!({ "category": "PROSPECT" })).await;
    create_organization(&app, "Tribunale di Milano", json!({ "category": "COURT" })).await;
    let now = Utc::now();
    let month = now.format("%Y-%m").to_string();
    let m = month.as_str();
    if started.format("%Y-%m").to_string() != month {
        // The month turned while the contacts were made: the figures would straddle it.
        return;
    }

    backdate_contact(
        &app,
        &old_client,
        Utc.with_ymd_and_hms(2020, 1, 15, 10, 0, 0).unwrap(),
    )
    .await;
    backdate_contact(
        &app,
        &older_prospect,
        Utc.with_ymd_and_hms(2019, 12, 31, 23, 59, 59).unwrap(),
    )
    .await;

    let until = (now + chrono::TimeDelta::days(1)).to_rfc3339();
    let data = app
        .data(
            CONTACTS_PER_MONTH,
            json!({ "from": "2020-01-01T00:00:00Z", "to": until }),
        )
        .await;
    let rows = &data["reports"]["newContactsPerMonth"];
    assert_eq!(
        triples(rows, "month", "category"),
        expected(&[
            ("2020-01", "CLIENT", 1),
            (m, "CLIENT", 2),
            (m, "COURT", 1),
            (m, "PROSPECT", 1),
        ])
    );
    assert_ascending(&months_in_order(rows));

    // This month only.
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .unwrap()
        .to_rfc3339();
    let data = app
        .data(
            CONTACTS_PER_MONTH,
            json!({ "from": month_start, "to": until }),
        )
        .await;
    assert_eq!(
        triples(&data["reports"]["newContactsPerMonth"], "month", "category"),
        expected(&[(m, "CLIENT", 2), (m, "COURT", 1), (m, "PROSPECT", 1),])
    );

    // Both backdated ones, and the exact boundary.
    let data = app
        .data(
            CONTACTS_PER_MONTH,
            json!({ "from": "2019-12-31T23:59:59Z", "to": "2020-01-15T10:00:00Z" }),
        )
        .await;
    assert_eq!(
        triples(&data["reports"]["newContactsPerMonth"], "month", "category"),
        expected(&[("2019-12", "PROSPECT", 1)])
    );

    let data = app
        .data(
            CONTACTS_PER_MONTH,
            json!({ "from": "2021-01-01T00:00:00Z", "to": "2021-12-31T00:00:00Z" }),
        )
        .await;
    assert_eq!(data["reports"]["newContactsPerMonth"], json!([]));
}

/// PostgreSQL renders a timestamp cast to text after the session's `DateStyle`; the months
/// must not depend on it (an Italian server may well run with `SQL, DMY` or `German`).
async fn months_do_not_depend_on_the_date_style(backend: Backend) {
    let app = TestApp::start_with(backend, |settings| {
        if backend == Backend::Postgres {
            settings
                .database_url
                .push_str("?options=-c%20DateStyle%3DGerman");
        }
    })
    .await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    log_communication(&app, &mario, "EMAIL", "2026-01-15T10:00:00Z").await;
    log_communication(&app, &mario, "PEC", "2026-02-03T11:00:00Z").await;
    let old = create_person(&app, "Anna", "Bianchi", json!({})).await;
    backdate_contact(
        &app,
        &old,
        Utc.with_ymd_and_hms(2026, 1, 20, 9, 0, 0).unwrap(),
    )
    .await;

    let window = json!({ "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z" });
    let data = app.data(COMMUNICATIONS_PER_MONTH, window.clone()).await;
    assert_eq!(
        triples(
            &data["reports"]["communicationsPerMonth"],
            "month",
            "channel"
        ),
        expected(&[("2026-01", "EMAIL", 1), ("2026-02", "PEC", 1)])
    );
    let data = app.data(CONTACTS_PER_MONTH, window).await;
    assert_eq!(
        triples(&data["reports"]["newContactsPerMonth"], "month", "category"),
        expected(&[("2026-01", "CLIENT", 1)])
    );
}

async fn report_windows_must_move_forward(backend: Backend) {
    let app = TestApp::start(backend).await;
    for query in [
        DEADLINES_PER_ASSIGNEE,
        COMMUNICATIONS_PER_MONTH,
        CONTACTS_PER_MONTH,
    ] {
        for (from, to) in [
            ("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            ("2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            // The same instant written in two zones.
            ("2026-02-01T01:00:00+01:00", "2026-02-01T00:00:00Z"),
        ] {
            let error = app.error(query, json!({ "from": from, "to": to })).await;
            assert_eq!(
                error["extensions"]["code"], "BAD_USER_INPUT",
                "{query}: {error:#}"
            );
            assert_eq!(error["extensions"]["field"], "to", "{query}: {error:#}");
        }
    }
}

on_both_backends!(
    matters_by_status_counts_per_status_and_area,
    open_deadlines_per_assignee_counts_the_window,
    communications_per_month_groups_by_utc_month_and_channel,
    new_contacts_per_month_counts_by_month_and_category,
    months_do_not_depend_on_the_date_style,
    report_windows_must_move_forward,
);
