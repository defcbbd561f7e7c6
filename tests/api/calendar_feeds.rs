//! Per-user iCalendar feeds: `/ical/{token}.ics`, parsed back as RFC 5545.

use std::collections::BTreeSet;

use icalendar::{Calendar, Component, DatePerhapsTime};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const CREATE_FEED: &str =
    "mutation { createCalendarFeed { feed { id createdAt revokedAt } path } }";

const ADD_DEADLINE: &str =
    "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }";

/// Creates a feed as the user behind `token`; returns its ID and path.
async fn create_feed(app: &TestApp, token: &str) -> (String, String) {
    let body = app.gql_as(token, CREATE_FEED, json!({})).await;
    let feed = &body["data"]["createCalendarFeed"];
    let path = feed["path"]
        .as_str()
        .unwrap_or_else(|| panic!("feed created: {body:#}"))
        .to_owned();
    (feed["feed"]["id"].as_str().expect("id").to_owned(), path)
}

async fn add_deadline(app: &TestApp, input: Value) -> String {
    app.data(ADD_DEADLINE, json!({ "input": input })).await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

/// Fetches a feed the way a calendar application does: no credentials but the URL.
async fn fetch(app: &TestApp, path: &str) -> (u16, Option<String>, String) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.base_url))
        .send()
        .await
        .expect("feed fetched");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, content_type, response.text().await.expect("body"))
}

async fn calendar(app: &TestApp, path: &str) -> Calendar {
    let (status, content_type, body) = fetch(app, path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        content_type.as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    body.parse::<Calendar>()
        .unwrap_or_else(|e| panic!("not RFC 5545: {e}\n{body}"))
}

/// The UIDs of a calendar's events.
fn uids(calendar: &Calendar) -> BTreeSet<String> {
    calendar
        .events()
        .map(|e| e.get_uid().expect("every event has a UID").to_owned())
        .collect()
}

fn uid(deadline: &str) -> String {
    format!("{deadline}@lexgate")
}

async fn add_to_matter_team(app: &TestApp, matter: &str, user: &str) {
    app.data(
        "mutation($input: MatterTeamMemberInput!) { addMatterTeamMember(input: $input) { matter { id } } }",
        json!({ "input": { "matterId": matter, "userId": user, "role": "trainee" } }),
    )
    .await;
}

async fn serves_a_users_deadlines_and_hearings(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (anna, anna_token) = app.sign_in("anna@studio.it", "lawyer").await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let hers = create_matter(
        &app,
        "2027/0001",
        &client,
        json!({ "responsibleUserId": anna }),
    )
    .await;
    let other_client = create_person(&app, "Giulia", "Bianchi", json!({})).await;
    let others = create_matter(&app, "2027/0002", &other_client, json!({})).await;

    let hearing = add_deadline(
        &app,
        json!({
            "title": "Udienza di precisazione delle conclusioni", "kind": "HEARING",
            "dueAt": "2027-03-10T09:30:00Z", "matterId": hers, "contactId": client,
            "description": "Aula 4",
        }),
    )
    .await;
    let assigned = add_deadline(
        &app,
        json!({
            "title": "Deposito memoria", "kind": "COURT_DEADLINE",
            "dueAt": "2027-04-01T21:59:59Z", "assigneeUserIds": [anna],
        }),
    )
    .await;
    let not_hers = add_deadline(
        &app,
        json!({
            "title": "Termine altrui", "kind": "COURT_DEADLINE",
            "dueAt": "2027-04-02T21:59:59Z", "matterId": others,
        }),
    )
    .await;
    let cancelled = add_deadline(&app, json!({
        "title": "Annullata", "kind": "FILING", "dueAt": "2027-04-03T10:00:00Z", "matterId": hers,
    }))
    .await;
    app.data(
        "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { id } } }",
        json!({ "input": { "id": cancelled, "status": "CANCELLED" } }),
    )
    .await;

    let (_, path) = create_feed(&app, &anna_token).await;
    assert!(
        path.starts_with("/ical/") && path.ends_with(".ics"),
        "{path}"
    );
    let first = calendar(&app, &path).await;
    assert_eq!(uids(&first), set(&[&uid(&hearing), &uid(&assigned)]));
    assert!(!uids(&first).contains(&uid(&not_hers)));

    let event = first
        .events()
        .find(|e| e.get_uid() == Some(uid(&hearing).as_str()))
        .expect("the hearing");
    assert_eq!(
        event.get_summary(),
        Some("Udienza di precisazione delle conclusioni")
    );
    // A hearing is at its time; a deadline takes the whole (Italian) day it ends on.
    assert_eq!(
        event.get_start(),
        Some(DatePerhapsTime::DateTime(
            utc("2027-03-10T09:30:00Z").into()
        ))
    );
    let description = event.get_description().expect("a description");
    assert!(description.contains("Matter: 2027/0001"), "{description}");
    assert!(
        description.contains("Contact: Mario Rossi"),
        "{description}"
    );
    assert!(description.contains("Aula 4"), "{description}");
    let deadline = first
        .events()
        .find(|e| e.get_uid() == Some(uid(&assigned).as_str()))
        .expect("the deadline");
    assert_eq!(
        deadline.get_start(),
        Some(DatePerhapsTime::Date("2027-04-01".parse().expect("date")))
    );

    // UIDs are stable, so a subscribed calendar updates its events instead of adding more.
    let second = calendar(&app, &path).await;
    assert_eq!(uids(&second), uids(&first));

    // The feed's reads are in the access log like any read of personal data: as Anna's,
    // naming the contact whose name it showed.
    let dpo = dpo(&app).await;
    let log = app
        .gql_as(
            &dpo,
            "query($p: ID!) { accessLog(principal: $p) { nodes { operationName action fields subjects } } }",
            json!({ "p": anna }),
        )
        .await;
    let entries: Vec<&Value> = log["data"]["accessLog"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("access log: {log:#}"))
        .iter()
        .filter(|e| e["operationName"] == "CalendarFeed")
        .collect();
    assert_eq!(entries.len(), 2, "one per fetch: {log:#}");
    for entry in entries {
        assert_eq!(entry["action"], "READ");
        assert!(
            entry["fields"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("Contact.displayName"))),
            "{entry}"
        );
        assert_eq!(entry["subjects"], json!([client]));
    }
}

async fn keeps_to_need_to_know_and_the_field_policy(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (tina, tina_token) = app.sign_in("tina@studio.it", "trainee").await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let hers = create_matter(&app, "2027/0001", &client, json!({})).await;
    let others = create_matter(&app, "2027/0002", &client, json!({})).await;
    add_to_matter_team(&app, &hers, &tina).await;
    let on_hers = add_deadline(
        &app,
        json!({
            "title": "Memoria 171-ter", "kind": "COURT_DEADLINE", "dueAt": "2027-02-01T22:59:59Z",
            "matterId": hers, "description": "Strategia riservata",
        }),
    )
    .await;
    let on_others = add_deadline(
        &app,
        json!({
            "title": "Altra pratica", "kind": "COURT_DEADLINE", "dueAt": "2027-02-02T22:59:59Z",
            "matterId": others,
        }),
    )
    .await;

    let (_, path) = create_feed(&app, &tina_token).await;
    let feed = calendar(&app, &path).await;
    assert_eq!(uids(&feed), set(&[&uid(&on_hers)]));
    assert!(!uids(&feed).contains(&uid(&on_others)));

    // Off the matter's team, its deadlines leave her feed at the next fetch.
    app.data(
        "mutation($input: MatterTeamMemberInput!) { removeMatterTeamMember(input: $input) { matter { id } } }",
        json!({ "input": { "matterId": hers, "userId": tina } }),
    )
    .await;
    assert!(uids(&calendar(&app, &path).await).is_empty());

    // A role that may not read deadlines' descriptions gets none in its feed either.
    app.data(
        "mutation { createRole(input: { name: \"junior\", baseRole: \"trainee\", deniedFields: [\"Deadline.description\"] }) { role { name } } }",
        json!({}),
    )
    .await;
    let (junior, junior_token) = app.sign_in("junior@studio.it", "junior").await;
    add_to_matter_team(&app, &hers, &junior).await;
    let (_, junior_path) = create_feed(&app, &junior_token).await;
    let (status, _, body) = fetch(&app, &junior_path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Memoria 171-ter"), "{body}");
    assert!(!body.contains("Strategia riservata"), "{body}");
}

async fn revoked_and_unknown_feeds_answer_404(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, anna_token) = app.sign_in("anna@studio.it", "lawyer").await;
    let (_, bruno_token) = app.sign_in("bruno@studio.it", "lawyer").await;
    let (feed, path) = create_feed(&app, &anna_token).await;
    assert_eq!(fetch(&app, &path).await.0, 200);

    // Only its owner lists and revokes it.
    let listed = app
        .gql_as(&bruno_token, "{ calendarFeeds { id } }", json!({}))
        .await;
    assert_eq!(listed["data"]["calendarFeeds"], json!([]), "{listed:#}");
    const REVOKE: &str =
        "mutation($id: ID!) { revokeCalendarFeed(input: { id: $id }) { feed { id revokedAt } } }";
    let refused = app
        .gql_as(&bruno_token, REVOKE, json!({ "id": feed }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused:#}"
    );
    assert_eq!(fetch(&app, &path).await.0, 200);

    let revoked = app.gql_as(&anna_token, REVOKE, json!({ "id": feed })).await;
    assert!(
        revoked["data"]["revokeCalendarFeed"]["feed"]["revokedAt"].is_string(),
        "{revoked:#}"
    );
    let listed = app
        .gql_as(
            &anna_token,
            "{ calendarFeeds { id revokedAt lastUsedAt } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["calendarFeeds"][0]["id"], feed.as_str());
    assert!(listed["data"]["calendarFeeds"][0]["lastUsedAt"].is_string());

    // Revoked, unknown and malformed feed URLs all answer the same bare 404.
    let (status, _, body) = fetch(&app, &path).await;
    assert_eq!((status, body.as_str()), (404, "not found"));
    let (status, _, unknown) = fetch(&app, "/ical/bm90LWEtdG9rZW4.ics").await;
    assert_eq!((status, unknown.as_str()), (404, "not found"));
    let token = path.trim_start_matches("/ical/").trim_end_matches(".ics");
    assert_eq!(fetch(&app, &format!("/ical/{token}")).await.0, 404);

    // An API key has no deadlines of its own to subscribe to.
    let error = app.error(CREATE_FEED, json!({})).await;
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{error:#}");
}

on_both_backends!(
    serves_a_users_deadlines_and_hearings,
    keeps_to_need_to_know_and_the_field_policy,
    revoked_and_unknown_feeds_answer_404,
);
