//! Tests of matters.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const MATTER_FIELDS: &str = "
fragment MatterFields on Matter {
  id reference title practiceArea status description openedOn closedOn
  responsibleLawyer { id email }
  clients { id displayName }
  counterparties { id displayName }
  team { user { id email } role }
}";

const LIST: &str =
    "query($filter: MatterFilter, $orderBy: MatterOrder, $first: Int, $after: String) {
  matters(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor }
    nodes { id reference }
  }
}";

const TIMELINE: &str = "query($id: ID!, $first: Int, $after: String, $last: Int) {
  matter(id: $id) {
    timeline(first: $first, after: $after, last: $last) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      nodes {
        __typename
        ... on Communication { id occurredAt subject }
        ... on Deadline { id dueAt title }
        ... on MatterEvent { kind summary occurredAt }
      }
    }
  }
}";

fn with_fields(operation: &str) -> String {
    format!("{operation}\n{MATTER_FIELDS}")
}

/// (user ID, role) pairs of a matter's team.
fn roles(team: &Value) -> BTreeSet<(String, Option<String>)> {
    team.as_array()
        .unwrap_or_else(|| panic!("expected a team, got {team}"))
        .iter()
        .map(|m| {
            let user = m["user"]["id"].as_str().expect("user id").to_owned();
            (user, m["role"].as_str().map(str::to_owned))
        })
        .collect()
}

fn role(user: &str, role: Option<&str>) -> (String, Option<String>) {
    (user.to_owned(), role.map(str::to_owned))
}

fn refs(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["reference"].as_str().expect("reference").to_owned())
        .collect()
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

async fn create(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields(
            "mutation($input: CreateMatterInput!) { createMatter(input: $input) { matter { ...MatterFields } } }",
        ),
        json!({ "input": input }),
    )
    .await["createMatter"]["matter"]
        .clone()
}

async fn create_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: CreateMatterInput!) { createMatter(input: $input) { matter { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn update(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields(
            "mutation($input: UpdateMatterInput!) { updateMatter(input: $input) { matter { ...MatterFields } } }",
        ),
        json!({ "input": input }),
    )
    .await["updateMatter"]["matter"]
        .clone()
}

async fn update_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: UpdateMatterInput!) { updateMatter(input: $input) { matter { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn fetch(app: &TestApp, id: &str) -> Value {
    app.data(
        &with_fields("query($id: ID!) { matter(id: $id) { ...MatterFields } }"),
        json!({ "id": id }),
    )
    .await["matter"]
        .clone()
}

async fn list(app: &TestApp, variables: Value) -> Value {
    app.data(LIST, variables).await["matters"].clone()
}

async fn matter_count(app: &TestApp) -> i64 {
    list(app, json!({})).await["totalCount"]
        .as_i64()
        .expect("totalCount")
}

/// The IDs of the matters a contact is a party to, optionally only in one role.
async fn matters_of(app: &TestApp, contact: &str, role: Option<&str>) -> BTreeSet<String> {
    let data = app
        .data(
            "query($id: ID!, $role: PartyRole) { contact(id: $id) { matters(role: $role) { id } } }",
            json!({ "id": contact, "role": role }),
        )
        .await;
    ids(&data["contact"]["matters"])
}

async fn events(app: &TestApp, matter: &str) -> Vec<String> {
    let data = app
        .data(TIMELINE, json!({ "id": matter, "first": 1000 }))
        .await;
    data["matter"]["timeline"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["__typename"] == "MatterEvent")
        .map(|n| n["kind"].as_str().expect("kind").to_owned())
        .collect()
}

async fn log_communication(app: &TestApp, matter: &str, contact: &str, at: &str) -> String {
    let data = app
        .data(
            "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
            json!({ "input": {
                "channel": "EMAIL", "direction": "INBOUND", "occurredAt": at,
                "subject": format!("Email of {at}"), "matterId": matter, "participantIds": [contact]
            } }),
        )
        .await;
    data["logCommunication"]["communication"]["id"]
        .as_str()
        .expect("communication id")
        .to_owned()
}

async fn create_deadline(app: &TestApp, matter: &str, title: &str, due: &str) -> String {
    let data = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": title, "kind": "FILING", "dueAt": due, "matterId": matter } }),
        )
        .await;
    data["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

async fn creates_a_matter_with_parties_team_and_defaults(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lead = create_user(&app, "giulia.bianchi@studio.it", "lawyer").await;
    let associate = create_user(&app, "luca.verdi@studio.it", "lawyer").await;
    let trainee = create_user(&app, "sara.neri@studio.it", "trainee").await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    let acme = create_organization(&app, "Acme S.p.A.", json!({})).await;
    let beta =
        create_organization(&app, "Beta S.r.l.", json!({ "category": "COUNTERPARTY" })).await;
    let bystander = create_person(&app, "Anna", "Gialli", json!({})).await;

    let today_before = Utc::now().date_naive();
    let matter = create(
        &app,
        json!({
            "reference": " 2026/0042 ",
            "title": "Rossi e Acme c. Beta",
            "practiceArea": "Contenzioso civile",
            "description": "Recupero crediti",
            "responsibleUserId": lead,
            "clientIds": [mario, acme, mario],
            "counterpartyIds": [beta],
            "team": [
                { "userId": lead, "role": "lead" },
                { "userId": associate, "role": " associate " },
                { "userId": trainee }
            ]
        }),
    )
    .await;
    let today_after = Utc::now().date_naive();
    let id = matter["id"].as_str().expect("matter id").to_owned();

    assert_eq!(matter["reference"], "2026/0042", "reference is trimmed");
    assert_eq!(matter["title"], "Rossi e Acme c. Beta");
    assert_eq!(matter["practiceArea"], "Contenzioso civile");
    assert_eq!(matter["description"], "Recupero crediti");
    assert_eq!(matter["status"], "OPEN", "status defaults to OPEN");
    let opened = date(matter["openedOn"].as_str().expect("openedOn"));
    assert!(
        opened == today_before || opened == today_after,
        "openedOn defaults to today (UTC), got {opened}"
    );
    assert_eq!(matter["closedOn"], Value::Null);
    assert_eq!(matter["responsibleLawyer"]["id"], lead.as_str());
    assert_eq!(
        matter["responsibleLawyer"]["email"],
        "giulia.bianchi@studio.it"
    );
    assert_eq!(
        ids(&matter["clients"]),
        set(&[&mario, &acme]),
        "a client listed twice is stored once"
    );
    assert_eq!(ids(&matter["counterparties"]), set(&[&beta]));
    assert_eq!(matter["counterparties"][0]["displayName"], "Beta S.r.l.");
    assert_eq!(
        roles(&matter["team"]),
        BTreeSet::from([
            role(&lead, Some("lead")),
            role(&associate, Some("associate")),
            role(&trainee, None),
        ])
    );

    // Reading it back gives the same matter.
    assert_eq!(fetch(&app, &id).await, matter);

    // The parties see the matter from their side.
    assert_eq!(matters_of(&app, &mario, None).await, set(&[&id]));
    assert_eq!(matters_of(&app, &acme, Some("CLIENT")).await, set(&[&id]));
    assert!(matters_of(&app, &acme, Some("COUNTERPARTY"))
        .await
        .is_empty());
    assert_eq!(
        matters_of(&app, &beta, Some("COUNTERPARTY")).await,
        set(&[&id])
    );
    assert!(matters_of(&app, &beta, Some("CLIENT")).await.is_empty());
    assert!(matters_of(&app, &bystander, None).await.is_empty());

    // A second matter for another client, with an explicit opening date and status.
    let other = create(
        &app,
        json!({
            "reference": "2026/0043", "title": "Gialli", "practiceArea": "Famiglia",
            "status": "INTAKE", "openedOn": "2026-01-15", "clientIds": [bystander]
        }),
    )
    .await;
    assert_eq!(other["status"], "INTAKE");
    assert_eq!(other["openedOn"], "2026-01-15");
    assert_eq!(other["responsibleLawyer"], Value::Null);
    assert_eq!(other["team"], json!([]));
    assert_eq!(other["counterparties"], json!([]));

    for (contact, expected) in [
        (&mario, vec!["2026/0042"]),
        (&beta, vec!["2026/0042"]),
        (&bystander, vec!["2026/0043"]),
    ] {
        let page = list(&app, json!({ "filter": { "contactId": contact } })).await;
        assert_eq!(refs(&page), expected, "matters(filter: {{contactId}})");
        assert_eq!(page["totalCount"], expected.len());
    }
    assert_eq!(matter_count(&app).await, 2);

    // A matter created CLOSED is closed today.
    let closed = create(
        &app,
        json!({
            "reference": "2026/0044", "title": "Chiusa", "practiceArea": "Famiglia",
            "status": "CLOSED", "clientIds": [bystander]
        }),
    )
    .await;
    assert_eq!(closed["status"], "CLOSED");
    let closed_on = date(closed["closedOn"].as_str().expect("closedOn"));
    assert!(closed_on == today_before || closed_on == Utc::now().date_naive());
}

async fn rejects_invalid_matters_without_writing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let user = create_user(&app, "avv@studio.it", "lawyer").await;
    let existing = create_matter(&app, "2026/0001", &client, json!({})).await;
    let valid = json!({
        "reference": "2026/0002", "title": "Nuova pratica", "practiceArea": "Societario",
        "clientIds": [client]
    });
    let with = |extra: Value| {
        let mut input = valid.clone();
        merge(&mut input, extra);
        input
    };

    let cases = [
        (json!({ "reference": "   " }), "input.reference"),
        (json!({ "title": "" }), "input.title"),
        (json!({ "practiceArea": " " }), "input.practiceArea"),
        (json!({ "clientIds": [] }), "input.clientIds"),
        (
            json!({ "counterpartyIds": [client] }),
            "input.counterpartyIds[0]",
        ),
        (
            json!({ "clientIds": [client, missing_id("Contact")] }),
            "input.clientIds[1]",
        ),
        (
            json!({ "counterpartyIds": [missing_id("Contact")] }),
            "input.counterpartyIds[0]",
        ),
        (
            json!({ "responsibleUserId": missing_id("User") }),
            "input.responsibleUserId",
        ),
        (
            json!({ "responsibleUserId": client.clone() }),
            "input.responsibleUserId",
        ),
        (
            json!({ "team": [{ "userId": user.clone() }, { "userId": "nonsense" }] }),
            "input.team[1].userId",
        ),
        // Created closed (today) but opened in the future: closes before it opens.
        (
            json!({ "status": "CLOSED", "openedOn": "2999-01-01" }),
            "input.closedOn",
        ),
    ];
    for (extra, field) in cases {
        let error = create_error(&app, with(extra.clone())).await;
        assert_error(&error, "BAD_USER_INPUT", field);
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "the message names the field for {extra}: {error:#}"
        );
    }

    // A contact list holding an ID of another type.
    let error = create_error(&app, with(json!({ "clientIds": [client, existing] }))).await;
    assert_bad_list_element(&error, "input.clientIds", 1);
    let error = create_error(&app, with(json!({ "counterpartyIds": ["not-an-id"] }))).await;
    assert_bad_list_element(&error, "input.counterpartyIds", 0);

    // An unknown team member is refused too (the field names the team input).
    let error = create_error(
        &app,
        with(json!({ "team": [{ "userId": missing_id("User") }] })),
    )
    .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(
        error["extensions"]["field"]
            .as_str()
            .unwrap_or_default()
            .starts_with("input.team"),
        "{error:#}"
    );

    // Every invalid field is reported at once; `field` is the first.
    let error = create_error(&app, with(json!({ "reference": "", "title": " " }))).await;
    assert_error(&error, "BAD_USER_INPUT", "input.reference");
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["input.reference", "input.title"]);

    // Duplicate references conflict, also when padded with spaces.
    for reference in ["2026/0001", "  2026/0001 "] {
        let error = create_error(&app, with(json!({ "reference": reference }))).await;
        assert_error(&error, "CONFLICT", "input.reference");
    }

    // Nothing was written by any failed attempt.
    assert_eq!(matter_count(&app).await, 1);
    assert_eq!(matters_of(&app, &client, None).await, set(&[&existing]));
    let data = app
        .data(
            "query($id: ID!) { matters(filter: { teamMemberId: $id }) { totalCount } }",
            json!({ "id": user }),
        )
        .await;
    assert_eq!(data["matters"]["totalCount"], 0);

    // The valid input is accepted afterwards.
    let created = create(&app, valid).await;
    assert_eq!(created["reference"], "2026/0002");
    assert_eq!(matter_count(&app).await, 2);
}

async fn updates_a_matter_partially(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv@studio.it", "lawyer").await;
    let first_client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let second_client = create_organization(&app, "Acme S.p.A.", json!({})).await;
    let counterparty = create_organization(&app, "Beta S.r.l.", json!({})).await;
    let id = create_matter(
        &app,
        "2026/0010",
        &first_client,
        json!({
            "description": "Prima descrizione", "responsibleUserId": lawyer,
            "openedOn": "2026-01-15", "counterpartyIds": [counterparty]
        }),
    )
    .await;
    let other = create_matter(&app, "2026/0011", &second_client, json!({})).await;
    let before = fetch(&app, &id).await;

    // Only the title changes.
    let after = update(&app, json!({ "id": id, "title": "  Titolo nuovo " })).await;
    assert_eq!(after["title"], "Titolo nuovo");
    let mut expected = before.clone();
    expected["title"] = json!("Titolo nuovo");
    assert_eq!(after, expected, "fields left out stay as they are");
    assert_eq!(fetch(&app, &id).await, expected);

    // `null` clears the description and nothing else.
    let after = update(&app, json!({ "id": id, "description": null })).await;
    assert_eq!(after["description"], Value::Null);
    assert_eq!(after["title"], "Titolo nuovo");
    assert_eq!(after["responsibleLawyer"]["id"], lawyer.as_str());
    assert_eq!(after["openedOn"], "2026-01-15");

    // A list replaces the whole list.
    let after = update(&app, json!({ "id": id, "clientIds": [second_client] })).await;
    assert_eq!(ids(&after["clients"]), set(&[&second_client]));
    assert_eq!(ids(&after["counterparties"]), set(&[&counterparty]));
    assert!(matters_of(&app, &first_client, None).await.is_empty());
    assert_eq!(
        matters_of(&app, &second_client, None).await,
        set(&[&id, &other])
    );

    // Closing sets the closing date to today.
    let today = Utc::now().date_naive();
    let after = update(&app, json!({ "id": id, "status": "CLOSED" })).await;
    assert_eq!(after["status"], "CLOSED");
    let closed_on = date(after["closedOn"].as_str().expect("closedOn"));
    assert!(closed_on == today || closed_on == Utc::now().date_naive());

    // Invalid changes are refused and leave the matter as it was.
    let unchanged = fetch(&app, &id).await;
    let error = update_error(&app, json!({ "id": id, "closedOn": "2025-12-31" })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.closedOn");
    let error = update_error(&app, json!({ "id": id, "reference": "2026/0011" })).await;
    assert_error(&error, "CONFLICT", "input.reference");
    let error = update_error(&app, json!({ "id": id, "title": "" })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.title");
    let error = update_error(&app, json!({ "id": id, "clientIds": [] })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.clientIds");
    let error = update_error(
        &app,
        json!({ "id": id, "title": "Mai salvato", "clientIds": [missing_id("Contact")] }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.clientIds[0]");
    let error = update_error(
        &app,
        json!({ "id": id, "title": "Mai salvato", "counterpartyIds": [counterparty, second_client] }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.counterpartyIds[1]");
    // Making a current counterparty a client would put it on both sides.
    let error = update_error(
        &app,
        json!({ "id": id, "title": "Mai salvato", "clientIds": [second_client, counterparty] }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.clientIds[1]");
    let error = update_error(
        &app,
        json!({ "id": id, "responsibleUserId": missing_id("User") }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.responsibleUserId");
    assert_eq!(
        fetch(&app, &id).await,
        unchanged,
        "a refused update writes nothing"
    );

    // Swapping sides in one update is fine.
    let after = update(
        &app,
        json!({ "id": id, "clientIds": [counterparty], "counterpartyIds": [second_client] }),
    )
    .await;
    assert_eq!(ids(&after["clients"]), set(&[&counterparty]));
    assert_eq!(ids(&after["counterparties"]), set(&[&second_client]));

    // `null` clears the responsible lawyer; a date change is kept.
    let after = update(
        &app,
        json!({ "id": id, "responsibleUserId": null, "openedOn": "2026-01-10" }),
    )
    .await;
    assert_eq!(after["responsibleLawyer"], Value::Null);
    assert_eq!(after["openedOn"], "2026-01-10");
    assert_eq!(after["status"], "CLOSED");

    // Keeping its own reference is no conflict.
    let after = update(&app, json!({ "id": id, "reference": "2026/0010" })).await;
    assert_eq!(after["reference"], "2026/0010");

    let error = update_error(&app, json!({ "id": missing_id("Matter"), "title": "x" })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    assert_eq!(matter_count(&app).await, 2);
}

async fn archives_and_deletes_matters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let archived = create_matter(&app, "2026/0001", &client, json!({})).await;
    let data = app
        .data(
            &with_fields("mutation($id: ID!) { archiveMatter(input: { id: $id }) { matter { ...MatterFields } } }"),
            json!({ "id": archived }),
        )
        .await;
    let matter = &data["archiveMatter"]["matter"];
    assert_eq!(matter["status"], "ARCHIVED");
    assert!(matter["closedOn"].is_string(), "archiving closes: {matter}");
    assert_eq!(fetch(&app, &archived).await["status"], "ARCHIVED");
    assert_eq!(events(&app, &archived).await, ["created", "status_changed"]);

    // Deleting takes the deadlines and history, and unlinks the communications.
    let doomed = create_matter(&app, "2026/0002", &client, json!({})).await;
    let kept = create_matter(&app, "2026/0003", &client, json!({})).await;
    create_deadline(&app, &doomed, "Deposito", "2030-01-01T09:00:00Z").await;
    create_deadline(&app, &doomed, "Udienza", "2030-02-01T09:00:00Z").await;
    create_deadline(&app, &kept, "Altro", "2030-03-01T09:00:00Z").await;
    let email = log_communication(&app, &doomed, &client, "2026-01-05T10:00:00Z").await;

    let data = app
        .data(
            "mutation($id: ID!) { deleteMatter(input: { id: $id }) { deletedId } }",
            json!({ "id": doomed }),
        )
        .await;
    assert_eq!(data["deleteMatter"]["deletedId"], doomed.as_str());
    assert_eq!(fetch(&app, &doomed).await, Value::Null);
    assert_eq!(matter_count(&app).await, 2);
    assert_eq!(
        matters_of(&app, &client, None).await,
        set(&[&archived, &kept])
    );

    let data = app
        .data("{ deadlines { totalCount nodes { title } } }", json!({}))
        .await;
    assert_eq!(data["deadlines"]["totalCount"], 1);
    assert_eq!(data["deadlines"]["nodes"][0]["title"], "Altro");

    let data = app
        .data(
            "{ communications { totalCount nodes { id subject matter { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["communications"]["totalCount"], 1);
    assert_eq!(data["communications"]["nodes"][0]["id"], email.as_str());
    assert_eq!(data["communications"]["nodes"][0]["matter"], Value::Null);

    let error = app
        .error(
            "mutation($id: ID!) { deleteMatter(input: { id: $id }) { deletedId } }",
            json!({ "id": doomed }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app
        .error(
            "mutation($id: ID!) { archiveMatter(input: { id: $id }) { matter { id } } }",
            json!({ "id": doomed }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn manages_the_matter_team(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let bruno = create_user(&app, "bruno@studio.it", "trainee").await;
    let id = create_matter(&app, "2026/0001", &client, json!({})).await;
    const ADD: &str = "mutation($input: MatterTeamMemberInput!) { addMatterTeamMember(input: $input) { matter { id team { user { id email } role } } } }";
    const REMOVE: &str = "mutation($input: MatterTeamMemberInput!) { removeMatterTeamMember(input: $input) { matter { id team { user { id } role } } } }";
    let team_of = |data: &Value, op: &str| roles(&data[op]["matter"]["team"]);

    let data = app
        .data(
            ADD,
            json!({ "input": { "matterId": id, "userId": anna, "role": "associate" } }),
        )
        .await;
    assert_eq!(data["addMatterTeamMember"]["matter"]["id"], id.as_str());
    assert_eq!(
        team_of(&data, "addMatterTeamMember"),
        BTreeSet::from([role(&anna, Some("associate"))])
    );

    // Adding again changes the role; the member is not duplicated.
    let data = app
        .data(
            ADD,
            json!({ "input": { "matterId": id, "userId": anna, "role": "lead" } }),
        )
        .await;
    assert_eq!(
        team_of(&data, "addMatterTeamMember"),
        BTreeSet::from([role(&anna, Some("lead"))])
    );
    let data = app
        .data(ADD, json!({ "input": { "matterId": id, "userId": bruno } }))
        .await;
    assert_eq!(
        team_of(&data, "addMatterTeamMember"),
        BTreeSet::from([role(&anna, Some("lead")), role(&bruno, None)])
    );
    assert_eq!(fetch(&app, &id).await["team"].as_array().unwrap().len(), 2);

    let data = app
        .data(
            REMOVE,
            json!({ "input": { "matterId": id, "userId": anna } }),
        )
        .await;
    assert_eq!(
        team_of(&data, "removeMatterTeamMember"),
        BTreeSet::from([role(&bruno, None)])
    );

    // Removing someone who is not a member is refused.
    let error = app
        .error(
            REMOVE,
            json!({ "input": { "matterId": id, "userId": anna } }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.userId");
    let error = app
        .error(
            ADD,
            json!({ "input": { "matterId": id, "userId": missing_id("User") } }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.userId");
    let error = app
        .error(
            ADD,
            json!({ "input": { "matterId": missing_id("Matter"), "userId": anna } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");

    let team = fetch(&app, &id).await["team"].clone();
    assert_eq!(
        team,
        json!([{ "user": { "id": bruno, "email": "bruno@studio.it" }, "role": null }])
    );
    assert_eq!(
        events(&app, &id).await,
        [
            "created",
            "team_member_added",
            "team_member_added",
            "team_member_removed"
        ],
        "a role change is not a new member"
    );
    for (user, expected) in [(&anna, 0), (&bruno, 1)] {
        let page = list(&app, json!({ "filter": { "teamMemberId": user } })).await;
        assert_eq!(page["totalCount"], expected);
    }
}

async fn filters_orders_and_pages_matters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "partner").await;
    let bruno = create_user(&app, "bruno@studio.it", "lawyer").await;
    let rossi = create_person(&app, "Mario", "Rossi", json!({})).await;
    let verdi = create_person(&app, "Giuseppe", "Verdi", json!({})).await;
    create_matter(
        &app,
        "2025/0003",
        &rossi,
        json!({
            "title": "Rossi c. Bianchi", "practiceArea": "Contenzioso civile",
            "responsibleUserId": anna, "team": [{ "userId": bruno }], "openedOn": "2025-01-10"
        }),
    )
    .await;
    create_matter(
        &app,
        "2025/0001",
        &rossi,
        json!({
            "title": "Acquisizione Beta", "practiceArea": "Societario",
            "status": "CLOSED", "openedOn": "2025-03-01"
        }),
    )
    .await;
    create_matter(
        &app,
        "2024/0007",
        &verdi,
        json!({
            "title": "Divorzio Verdi", "practiceArea": "Famiglia", "status": "SUSPENDED",
            "responsibleUserId": bruno, "openedOn": "2024-11-30", "counterpartyIds": [rossi]
        }),
    )
    .await;
    create_matter(
        &app,
        "2026/0002",
        &verdi,
        json!({
            "title": "Parere ROSSI srl", "practiceArea": "Societario", "status": "INTAKE",
            "team": [{ "userId": anna, "role": "lead" }], "openedOn": "2026-02-01"
        }),
    )
    .await;

    let cases = [
        (json!({ "text": "rossi" }), vec!["2025/0003", "2026/0002"]),
        (json!({ "text": "  BIANCHI " }), vec!["2025/0003"]),
        (json!({ "text": "2025/" }), vec!["2025/0001", "2025/0003"]),
        (json!({ "text": "%" }), vec![]),
        (json!({ "text": "_" }), vec![]),
        (
            json!({ "text": "" }),
            vec!["2024/0007", "2025/0001", "2025/0003", "2026/0002"],
        ),
        (
            json!({ "statuses": ["OPEN", "SUSPENDED"] }),
            vec!["2024/0007", "2025/0003"],
        ),
        (json!({ "statuses": ["ARCHIVED"] }), vec![]),
        (
            json!({ "practiceAreas": ["Societario"] }),
            vec!["2025/0001", "2026/0002"],
        ),
        (
            json!({ "practiceAreas": ["Famiglia", "Contenzioso civile"] }),
            vec!["2024/0007", "2025/0003"],
        ),
        (json!({ "responsibleUserId": anna }), vec!["2025/0003"]),
        (json!({ "responsibleUserId": bruno }), vec!["2024/0007"]),
        (json!({ "teamMemberId": bruno }), vec!["2025/0003"]),
        (json!({ "teamMemberId": anna }), vec!["2026/0002"]),
        (
            json!({ "contactId": rossi }),
            vec!["2024/0007", "2025/0001", "2025/0003"],
        ),
        (
            json!({ "contactId": verdi }),
            vec!["2024/0007", "2026/0002"],
        ),
        (
            json!({ "openedFrom": "2025-01-10" }),
            vec!["2025/0001", "2025/0003", "2026/0002"],
        ),
        (
            json!({ "openedTo": "2025-01-10" }),
            vec!["2024/0007", "2025/0003"],
        ),
        (
            json!({ "openedFrom": "2025-01-01", "openedTo": "2025-12-31" }),
            vec!["2025/0001", "2025/0003"],
        ),
        (
            json!({ "statuses": ["OPEN", "CLOSED", "INTAKE"], "practiceAreas": ["Societario"], "text": "beta" }),
            vec!["2025/0001"],
        ),
    ];
    for (filter, expected) in cases {
        let page = list(&app, json!({ "filter": filter })).await;
        assert_eq!(refs(&page), expected, "filter {filter}");
        assert_eq!(
            page["totalCount"],
            expected.len(),
            "totalCount for {filter}"
        );
    }

    let orders = [
        (
            Value::Null,
            vec!["2024/0007", "2025/0001", "2025/0003", "2026/0002"],
        ),
        (
            json!({ "field": "REFERENCE" }),
            vec!["2024/0007", "2025/0001", "2025/0003", "2026/0002"],
        ),
        (
            json!({ "field": "REFERENCE", "direction": "DESC" }),
            vec!["2026/0002", "2025/0003", "2025/0001", "2024/0007"],
        ),
        (
            json!({ "field": "OPENED_ON", "direction": "ASC" }),
            vec!["2024/0007", "2025/0003", "2025/0001", "2026/0002"],
        ),
        (
            json!({ "field": "OPENED_ON", "direction": "DESC" }),
            vec!["2026/0002", "2025/0001", "2025/0003", "2024/0007"],
        ),
        (
            json!({ "field": "TITLE" }),
            vec!["2025/0001", "2024/0007", "2026/0002", "2025/0003"],
        ),
    ];
    for (order, expected) in orders {
        let page = list(&app, json!({ "orderBy": order })).await;
        assert_eq!(refs(&page), expected, "orderBy {order}");
    }

    // Pages of two, by reference descending.
    let order = json!({ "field": "REFERENCE", "direction": "DESC" });
    let first = list(&app, json!({ "orderBy": order, "first": 3 })).await;
    assert_eq!(refs(&first), ["2026/0002", "2025/0003", "2025/0001"]);
    assert_eq!(first["totalCount"], 4);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(first["pageInfo"]["endCursor"], first["edges"][2]["cursor"]);
    let second = list(
        &app,
        json!({ "orderBy": order, "first": 3, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(refs(&second), ["2024/0007"]);
    assert_eq!(second["totalCount"], 4);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);

    // Paging a filtered list: totalCount counts the filtered list.
    let filter = json!({ "contactId": rossi });
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = list(
            &app,
            json!({ "filter": filter, "first": 1, "after": after }),
        )
        .await;
        assert_eq!(page["totalCount"], 3);
        seen.extend(refs(&page));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["2024/0007", "2025/0001", "2025/0003"]);
}

async fn merges_the_timeline_oldest_first(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let lawyer = create_user(&app, "avv@studio.it", "lawyer").await;
    let id = create_matter(&app, "2026/0001", &client, json!({})).await;
    let other = create_matter(&app, "2026/0002", &client, json!({})).await;

    // Past and future communications and deadlines around the matter's own changes (now).
    let c1 = log_communication(&app, &id, &client, "2024-01-10T09:00:00Z").await;
    let c2 = log_communication(&app, &id, &client, "2024-03-05T15:30:00+01:00").await;
    let c3 = log_communication(&app, &id, &client, "2099-01-01T08:00:00Z").await;
    let d1 = create_deadline(&app, &id, "Memoria", "2024-02-01T12:00:00Z").await;
    let d2 = create_deadline(&app, &id, "Udienza", "2024-03-05T14:30:00Z").await;
    let d3 = create_deadline(&app, &id, "Appello", "2098-06-30T23:59:00Z").await;
    // Noise on another matter and on no matter at all.
    log_communication(&app, &other, &client, "2024-02-02T00:00:00Z").await;
    create_deadline(&app, &other, "Altra", "2024-02-03T00:00:00Z").await;
    update(&app, json!({ "id": id, "status": "SUSPENDED" })).await;
    app.data(
        "mutation($input: MatterTeamMemberInput!) { addMatterTeamMember(input: $input) { matter { id } } }",
        json!({ "input": { "matterId": id, "userId": lawyer, "role": "lead" } }),
    )
    .await;

    let data = app.data(TIMELINE, json!({ "id": id, "first": 100 })).await;
    let timeline = &data["matter"]["timeline"];
    assert_eq!(
        timeline["totalCount"], 9,
        "3 communications + 3 deadlines + 3 events"
    );
    let nodes = timeline["nodes"].as_array().expect("nodes");
    let key = |n: &Value| -> String {
        match n["__typename"].as_str().unwrap() {
            "MatterEvent" => format!("MatterEvent:{}", n["kind"].as_str().unwrap()),
            other => format!("{other}:{}", n["id"].as_str().unwrap()),
        }
    };
    let at = |n: &Value| -> DateTime<Utc> {
        match n["__typename"].as_str().unwrap() {
            "Deadline" => time(&n["dueAt"]),
            _ => time(&n["occurredAt"]),
        }
    };
    let keys: Vec<String> = nodes.iter().map(key).collect();
    let d = |id: &str| format!("Deadline:{id}");
    let c = |id: &str| format!("Communication:{id}");
    // c2 (14:30Z) and d2 (14:30Z) are at the same instant; both sit between d1 and the events.
    assert_eq!(keys[0], c(&c1));
    assert_eq!(keys[1], d(&d1));
    assert_eq!(
        BTreeSet::from([keys[2].clone(), keys[3].clone()]),
        BTreeSet::from([c(&c2), d(&d2)])
    );
    assert_eq!(
        keys[4..],
        [
            "MatterEvent:created".to_owned(),
            "MatterEvent:status_changed".to_owned(),
            "MatterEvent:team_member_added".to_owned(),
            d(&d3),
            c(&c3),
        ]
    );
    let times: Vec<DateTime<Utc>> = nodes.iter().map(at).collect();
    assert_eq!(times[0], utc("2024-01-10T09:00:00Z"));
    assert_eq!(times[1], utc("2024-02-01T12:00:00Z"));
    assert_eq!(times[2], utc("2024-03-05T14:30:00Z"));
    assert_eq!(times[3], utc("2024-03-05T14:30:00Z"));
    assert_eq!(times[7], utc("2098-06-30T23:59:00Z"));
    assert_eq!(times[8], utc("2099-01-01T08:00:00Z"));
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
    let now = Utc::now();
    assert!(times[4..7].iter().all(|t| *t > times[3] && *t <= now));
    assert_eq!(nodes[5]["summary"], "Status changed from open to suspended");
    assert_eq!(timeline["pageInfo"]["hasNextPage"], false);

    // Paging covers every entry exactly once, in the same order, for several page sizes.
    for size in [1, 2, 4, 8] {
        let mut paged = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let data = app
                .data(TIMELINE, json!({ "id": id, "first": size, "after": after }))
                .await;
            let page = &data["matter"]["timeline"];
            assert_eq!(page["totalCount"], 9);
            assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0);
            let nodes = page["nodes"].as_array().unwrap();
            assert!(nodes.len() <= size);
            paged.extend(nodes.iter().map(key));
            pages += 1;
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            assert_eq!(nodes.len(), size, "only the last page is short");
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, keys, "pages of {size}");
        assert_eq!(pages, 9usize.div_ceil(size));
    }

    // The last entries.
    let data = app.data(TIMELINE, json!({ "id": id, "last": 2 })).await;
    let tail: Vec<String> = data["matter"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(tail, keys[7..]);

    // The other matter's timeline holds only its own entries.
    let data = app
        .data(TIMELINE, json!({ "id": other, "first": 100 }))
        .await;
    let timeline = &data["matter"]["timeline"];
    assert_eq!(timeline["totalCount"], 3);
    let kinds: Vec<&str> = timeline["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Communication", "Deadline", "MatterEvent"]);
}

on_both_backends!(
    creates_a_matter_with_parties_team_and_defaults,
    rejects_invalid_matters_without_writing,
    updates_a_matter_partially,
    archives_and_deletes_matters,
    manages_the_matter_team,
    filters_orders_and_pages_matters,
    merges_the_timeline_oldest_first,
);
