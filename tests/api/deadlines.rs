//! Tests of deadlines.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const DEADLINE_FIELDS: &str = "
fragment DeadlineFields on Deadline {
  id title kind description dueAt status completedAt overdue
  matter { id reference }
  contact { id displayName }
  assignedUsers { id email }
  assignedTeams { id name members { id } }
  reminderOffsets
  createdAt updatedAt
}";

const LIST: &str =
    "query($filter: DeadlineFilter, $order: SortDirection! = ASC, $first: Int, $after: String) {
  deadlines(filter: $filter, order: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id title }
  }
}";

fn with_fields(operation: &str) -> String {
    format!("{operation}\n{DEADLINE_FIELDS}")
}

fn titles(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a connection, got {connection}"))
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn create(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields("mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { ...DeadlineFields } } }"),
        json!({ "input": input }),
    )
    .await["createDeadline"]["deadline"]
        .clone()
}

async fn create_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
        json!({ "input": input }),
    )
    .await
}

/// Creates a deadline and returns its ID.
async fn add(app: &TestApp, title: &str, kind: &str, due: &str, extra: Value) -> String {
    let mut input = json!({ "title": title, "kind": kind, "dueAt": due });
    merge(&mut input, extra);
    create(app, input).await["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

async fn update(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields("mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { ...DeadlineFields } } }"),
        json!({ "input": input }),
    )
    .await["updateDeadline"]["deadline"]
        .clone()
}

async fn update_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: UpdateDeadlineInput!) { updateDeadline(input: $input) { deadline { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn complete(app: &TestApp, id: &str) -> Value {
    app.data(
        &with_fields("mutation($id: ID!) { completeDeadline(input: { id: $id }) { deadline { ...DeadlineFields } } }"),
        json!({ "id": id }),
    )
    .await["completeDeadline"]["deadline"]
        .clone()
}

async fn complete_error(app: &TestApp, id: &str) -> Value {
    app.error(
        "mutation($id: ID!) { completeDeadline(input: { id: $id }) { deadline { id } } }",
        json!({ "id": id }),
    )
    .await
}

async fn fetch(app: &TestApp, id: &str) -> Value {
    app.data(
        &with_fields("query($id: ID!) { node(id: $id) { ...DeadlineFields } }"),
        json!({ "id": id }),
    )
    .await["node"]
        .clone()
}

async fn list(app: &TestApp, variables: Value) -> Value {
    app.data(LIST, variables).await["deadlines"].clone()
}

async fn total(app: &TestApp) -> i64 {
    list(app, json!({})).await["totalCount"]
        .as_i64()
        .expect("totalCount")
}

async fn create_team(app: &TestApp, name: &str, members: &[&str]) -> String {
    let data = app
        .data(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "name": name, "memberIds": members } }),
        )
        .await;
    data["createTeam"]["team"]["id"]
        .as_str()
        .expect("team id")
        .to_owned()
}

/// The stored reminders of a deadline: (minutes before, when they fire), largest first.
async fn stored_reminders(app: &TestApp, id: &str) -> Vec<(i32, NaiveDateTime)> {
    use diesel::prelude::*;
    use lexgate::db::schema::deadline_reminders as r;
    let (_, key) = lexgate::ids::parse(id).expect("a deadline ID");
    app.db
        .run(move |c| {
            Ok(r::table
                .filter(r::deadline_id.eq(key))
                .order_by(r::minutes_before.desc())
                .select((r::minutes_before, r::remind_at))
                .load::<(i32, NaiveDateTime)>(c)?)
        })
        .await
        .expect("reminders")
}

async fn creates_deadlines_with_links_assignees_and_reminders(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let bruno = create_user(&app, "bruno@studio.it", "trainee").await;
    let carla = create_user(&app, "carla@studio.it", "staff").await;
    let team = create_team(&app, "Contenzioso", &[&bruno, &carla]).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;

    let d = create(
        &app,
        json!({
            "title": "  Deposito memoria ", "kind": "FILING", "description": "Memoria ex art. 183",
            "dueAt": "2030-05-10T09:00:00Z", "matterId": matter, "contactId": client,
            "assigneeUserIds": [anna, anna], "assigneeTeamIds": [team],
            "reminderOffsets": [1440, 10080, 60, 1440, 0]
        }),
    )
    .await;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["title"], "Deposito memoria");
    assert_eq!(d["kind"], "FILING");
    assert_eq!(d["description"], "Memoria ex art. 183");
    assert_eq!(time(&d["dueAt"]), utc("2030-05-10T09:00:00Z"));
    assert_eq!(d["status"], "OPEN");
    assert_eq!(d["completedAt"], Value::Null);
    assert_eq!(d["overdue"], false);
    assert_eq!(d["matter"]["id"], matter.as_str());
    assert_eq!(d["matter"]["reference"], "2026/0001");
    assert_eq!(d["contact"]["id"], client.as_str());
    assert_eq!(d["contact"]["displayName"], "Mario Rossi");
    assert_eq!(
        d["assignedUsers"],
        json!([{ "id": anna, "email": "anna@studio.it" }])
    );
    assert_eq!(ids(&d["assignedTeams"]), set(&[&team]));
    assert_eq!(d["assignedTeams"][0]["name"], "Contenzioso");
    assert_eq!(
        ids(&d["assignedTeams"][0]["members"]),
        set(&[&bruno, &carla])
    );
    assert_eq!(
        d["reminderOffsets"],
        json!([10080, 1440, 60, 0]),
        "deduplicated, largest first"
    );
    assert_eq!(fetch(&app, &id).await, d);
    let due = utc("2030-05-10T09:00:00Z").naive_utc();
    assert_eq!(
        stored_reminders(&app, &id).await,
        [10080, 1440, 60, 0].map(|m| (m, due - TimeDelta::minutes(m.into())))
    );

    // Every kind, with nothing linked.
    for kind in ["COURT_DEADLINE", "HEARING", "FILING", "INTERNAL_TASK"] {
        let d = create(
            &app,
            json!({ "title": format!("Solo {kind}"), "kind": kind, "dueAt": "2030-06-01T00:00:00+02:00" }),
        )
        .await;
        assert_eq!(d["kind"], kind);
        assert_eq!(time(&d["dueAt"]), utc("2030-05-31T22:00:00Z"));
        assert_eq!(d["matter"], Value::Null);
        assert_eq!(d["contact"], Value::Null);
        assert_eq!(d["description"], Value::Null);
        assert_eq!(d["assignedUsers"], json!([]));
        assert_eq!(d["assignedTeams"], json!([]));
        assert_eq!(d["reminderOffsets"], json!([]));
        let page = list(&app, json!({ "filter": { "kinds": [kind] } })).await;
        let expected = if kind == "FILING" { 2 } else { 1 };
        assert_eq!(page["totalCount"], expected, "{kind}");
    }

    // The bounds of reminder offsets: 0 minutes up to a year (366 days).
    let d = create(
        &app,
        json!({ "title": "Limiti", "kind": "INTERNAL_TASK", "dueAt": "2030-01-01T00:00:00Z",
                "reminderOffsets": [0, 527040] }),
    )
    .await;
    assert_eq!(d["reminderOffsets"], json!([527040, 0]));
    assert_eq!(total(&app).await, 6);
}

async fn rejects_invalid_deadlines_without_writing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let team = create_team(&app, "Contenzioso", &[&anna]).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;
    let valid = json!({
        "title": "Udienza", "kind": "HEARING", "dueAt": "2030-01-10T09:00:00Z",
        "matterId": matter, "contactId": client, "assigneeUserIds": [anna],
        "assigneeTeamIds": [team], "reminderOffsets": [60]
    });
    let with = |extra: Value| {
        let mut input = valid.clone();
        merge(&mut input, extra);
        input
    };
    let cases = [
        (json!({ "title": " " }), "input.title"),
        (
            json!({ "reminderOffsets": [60, -1] }),
            "input.reminderOffsets[1]",
        ),
        (
            json!({ "reminderOffsets": [527041, 60] }),
            "input.reminderOffsets[0]",
        ),
        (
            json!({ "matterId": missing_id("Matter") }),
            "input.matterId",
        ),
        (json!({ "matterId": client }), "input.matterId"),
        (
            json!({ "contactId": missing_id("Contact") }),
            "input.contactId",
        ),
        (
            json!({ "assigneeUserIds": [anna, missing_id("User")] }),
            "input.assigneeUserIds[1]",
        ),
        (
            json!({ "assigneeTeamIds": [missing_id("Team")] }),
            "input.assigneeTeamIds[0]",
        ),
    ];
    for (extra, field) in cases {
        let error = create_error(&app, with(extra.clone())).await;
        assert_error(&error, "BAD_USER_INPUT", field);
    }

    // Assignee IDs that are malformed or of another type.
    let error = create_error(&app, with(json!({ "assigneeUserIds": [anna, team] }))).await;
    assert_bad_list_element(&error, "input.assigneeUserIds", 1);
    let error = create_error(&app, with(json!({ "assigneeTeamIds": ["nonsense"] }))).await;
    assert_bad_list_element(&error, "input.assigneeTeamIds", 0);

    // Every bad offset is reported.
    let error = create_error(&app, with(json!({ "reminderOffsets": [-5, 30, 600000] }))).await;
    assert_error(&error, "BAD_USER_INPUT", "input.reminderOffsets[0]");
    let fields: Vec<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["input.reminderOffsets[0]", "input.reminderOffsets[2]"]
    );

    assert_eq!(total(&app).await, 0, "nothing was written");
    let created = create(&app, valid).await;
    assert_eq!(created["reminderOffsets"], json!([60]));
    assert_eq!(total(&app).await, 1);

    // Updates are validated the same way and write nothing when refused.
    let id = created["id"].as_str().unwrap().to_owned();
    let before = fetch(&app, &id).await;
    let cases = [
        (json!({ "title": "" }), "input.title"),
        (
            json!({ "reminderOffsets": [10, 527041] }),
            "input.reminderOffsets[1]",
        ),
        (
            json!({ "title": "Mai salvato", "matterId": missing_id("Matter") }),
            "input.matterId",
        ),
        (
            json!({ "title": "Mai salvato", "assigneeTeamIds": [missing_id("Team"), team] }),
            "input.assigneeTeamIds[0]",
        ),
    ];
    for (extra, field) in cases {
        let mut input = json!({ "id": id });
        merge(&mut input, extra);
        let error = update_error(&app, input).await;
        assert_error(&error, "BAD_USER_INPUT", field);
    }
    assert_eq!(fetch(&app, &id).await, before);
}

async fn completes_reopens_and_cancels(backend: Backend) {
    let app = TestApp::start(backend).await;
    let id = add(
        &app,
        "Termine scaduto",
        "COURT_DEADLINE",
        "2020-01-10T09:00:00Z",
        json!({}),
    )
    .await;
    let d = fetch(&app, &id).await;
    assert_eq!(d["status"], "OPEN");
    assert_eq!(d["overdue"], true, "open and past its due time");

    let before = Utc::now();
    let done = complete(&app, &id).await;
    let after = Utc::now();
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["overdue"], false);
    let completed_at = time(&done["completedAt"]);
    assert!(
        completed_at >= before - TimeDelta::seconds(1) && completed_at <= after,
        "completedAt is the time of completion: {completed_at}"
    );
    assert_eq!(fetch(&app, &id).await["completedAt"], done["completedAt"]);

    // Completing again keeps the first completion time.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = complete(&app, &id).await;
    assert_eq!(again["status"], "DONE");
    assert_eq!(again["completedAt"], done["completedAt"]);
    assert_eq!(time(&again["completedAt"]), completed_at);

    // Reopening clears the completion time.
    let reopened = update(&app, json!({ "id": id, "status": "OPEN" })).await;
    assert_eq!(reopened["status"], "OPEN");
    assert_eq!(reopened["completedAt"], Value::Null);
    assert_eq!(reopened["overdue"], true);
    assert_eq!(fetch(&app, &id).await["completedAt"], Value::Null);

    // A cancelled deadline cannot be completed.
    let cancelled = update(&app, json!({ "id": id, "status": "CANCELLED" })).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["completedAt"], Value::Null);
    assert_eq!(cancelled["overdue"], false);
    let error = complete_error(&app, &id).await;
    assert_error(&error, "CONFLICT", "input.id");
    let d = fetch(&app, &id).await;
    assert_eq!(d["status"], "CANCELLED");
    assert_eq!(d["completedAt"], Value::Null);

    // Setting DONE through an update records the completion time too.
    let done = update(&app, json!({ "id": id, "status": "DONE" })).await;
    assert_eq!(done["status"], "DONE");
    let completed_at = time(&done["completedAt"]);
    assert!(completed_at >= before && completed_at <= Utc::now());

    let error = complete_error(&app, &missing_id("Deadline")).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = complete_error(&app, &missing_id("Matter")).await;
    assert_error(&error, "BAD_USER_INPUT", "input.id");
}

async fn updates_keep_reminders_and_deletes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let team = create_team(&app, "Contenzioso", &[&anna]).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;
    let original = create(
        &app,
        json!({
            "title": "Udienza", "kind": "HEARING", "description": "Prima udienza",
            "dueAt": "2030-01-10T09:00:00Z", "matterId": matter, "contactId": client,
            "assigneeUserIds": [anna], "assigneeTeamIds": [team], "reminderOffsets": [60, 1440]
        }),
    )
    .await;
    let id = original["id"].as_str().unwrap().to_owned();

    // Moving the due time keeps the reminders, which move with it.
    let moved = update(&app, json!({ "id": id, "dueAt": "2030-02-20T15:30:00Z" })).await;
    assert_eq!(time(&moved["dueAt"]), utc("2030-02-20T15:30:00Z"));
    assert_eq!(moved["reminderOffsets"], json!([1440, 60]));
    let mut expected = original.clone();
    expected["dueAt"] = moved["dueAt"].clone();
    expected["updatedAt"] = moved["updatedAt"].clone();
    assert_eq!(moved, expected, "fields left out stay as they are");
    let due = utc("2030-02-20T15:30:00Z").naive_utc();
    assert_eq!(
        stored_reminders(&app, &id).await,
        [
            (1440, due - TimeDelta::days(1)),
            (60, due - TimeDelta::hours(1))
        ]
    );

    // Other changes keep them too.
    let after = update(
        &app,
        json!({ "id": id, "title": "Udienza di rinvio", "kind": "COURT_DEADLINE" }),
    )
    .await;
    assert_eq!(after["title"], "Udienza di rinvio");
    assert_eq!(after["kind"], "COURT_DEADLINE");
    assert_eq!(after["reminderOffsets"], json!([1440, 60]));

    // A list replaces the whole list.
    let after = update(
        &app,
        json!({ "id": id, "reminderOffsets": [30, 30, 10080] }),
    )
    .await;
    assert_eq!(after["reminderOffsets"], json!([10080, 30]));
    assert_eq!(
        stored_reminders(&app, &id).await,
        [
            (10080, due - TimeDelta::weeks(1)),
            (30, due - TimeDelta::minutes(30))
        ]
    );
    let after = update(&app, json!({ "id": id, "reminderOffsets": [] })).await;
    assert_eq!(after["reminderOffsets"], json!([]));
    assert!(stored_reminders(&app, &id).await.is_empty());
    let after = update(&app, json!({ "id": id, "assigneeUserIds": [] })).await;
    assert_eq!(after["assignedUsers"], json!([]));
    assert_eq!(ids(&after["assignedTeams"]), set(&[&team]));

    // `null` clears.
    let after = update(
        &app,
        json!({ "id": id, "description": null, "matterId": null, "contactId": null }),
    )
    .await;
    assert_eq!(after["description"], Value::Null);
    assert_eq!(after["matter"], Value::Null);
    assert_eq!(after["contact"], Value::Null);
    assert_eq!(after["title"], "Udienza di rinvio");
    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { deadlines { totalCount } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["deadlines"]["totalCount"], 0);

    // Deleting.
    let other = add(
        &app,
        "Altra",
        "FILING",
        "2030-03-01T00:00:00Z",
        json!({ "reminderOffsets": [5] }),
    )
    .await;
    let data = app
        .data(
            "mutation($id: ID!) { deleteDeadline(input: { id: $id }) { deletedId } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(data["deleteDeadline"]["deletedId"], other.as_str());
    assert_eq!(fetch(&app, &other).await, Value::Null);
    assert!(stored_reminders(&app, &other).await.is_empty());
    let page = list(&app, json!({})).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["nodes"][0]["id"], id.as_str());
    let error = app
        .error(
            "mutation($id: ID!) { deleteDeadline(input: { id: $id }) { deletedId } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = update_error(&app, json!({ "id": other, "title": "x" })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
}

async fn filters_orders_and_pages_deadlines(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_user(&app, "anna@studio.it", "lawyer").await;
    let bruno = create_user(&app, "bruno@studio.it", "lawyer").await;
    let carla = create_user(&app, "carla@studio.it", "trainee").await;
    let dario = create_user(&app, "dario@studio.it", "staff").await;
    let civil = create_team(&app, "Contenzioso", &[&bruno]).await;
    let office = create_team(&app, "Segreteria", &[&carla]).await;
    let rossi = create_person(&app, "Mario", "Rossi", json!({})).await;
    let verdi = create_person(&app, "Anna", "Verdi", json!({})).await;
    let m1 = create_matter(&app, "2026/0001", &rossi, json!({})).await;
    let m2 = create_matter(&app, "2026/0002", &verdi, json!({})).await;

    // Created out of due order so the order must come from dueAt.
    add(&app, "Termine appello", "COURT_DEADLINE", "2030-01-20T12:00:00Z",
        json!({ "matterId": m2, "contactId": verdi, "assigneeUserIds": [bruno], "assigneeTeamIds": [civil] })).await;
    add(
        &app,
        "Udienza Rossi",
        "HEARING",
        "2030-01-10T09:00:00Z",
        json!({ "matterId": m1, "contactId": rossi, "assigneeUserIds": [anna] }),
    )
    .await;
    let call = add(
        &app,
        "Chiamare cliente",
        "INTERNAL_TASK",
        "2030-02-01T08:00:00Z",
        json!({ "contactId": rossi, "assigneeTeamIds": [office] }),
    )
    .await;
    add(
        &app,
        "Deposito ricorso",
        "FILING",
        "2030-01-15T00:00:00Z",
        json!({ "matterId": m1, "assigneeTeamIds": [civil] }),
    )
    .await;
    let cancelled = add(
        &app,
        "Scadenza annullata",
        "COURT_DEADLINE",
        "2030-01-25T10:00:00Z",
        json!({ "matterId": m2 }),
    )
    .await;
    complete(&app, &call).await;
    update(&app, json!({ "id": cancelled, "status": "CANCELLED" })).await;

    let all = [
        "Udienza Rossi",
        "Deposito ricorso",
        "Termine appello",
        "Scadenza annullata",
        "Chiamare cliente",
    ];
    let page = list(&app, json!({})).await;
    assert_eq!(titles(&page), all, "soonest first by default");
    assert_eq!(page["totalCount"], 5);
    let page = list(&app, json!({ "order": "DESC" })).await;
    let mut reversed = all.to_vec();
    reversed.reverse();
    assert_eq!(titles(&page), reversed);

    let cases: Vec<(Value, Vec<&str>)> = vec![
        // From is inclusive, to is exclusive.
        (
            json!({ "dueFrom": "2030-01-15T00:00:00Z", "dueTo": "2030-01-25T10:00:00Z" }),
            vec!["Deposito ricorso", "Termine appello"],
        ),
        (
            json!({ "dueFrom": "2030-01-15T00:00:00.000001Z", "dueTo": "2030-01-25T10:00:00.000001Z" }),
            vec!["Termine appello", "Scadenza annullata"],
        ),
        (
            json!({ "dueTo": "2030-01-15T01:00:00+01:00" }),
            vec!["Udienza Rossi"],
        ),
        (
            json!({ "dueFrom": "2030-01-25T11:00:00+01:00" }),
            vec!["Scadenza annullata", "Chiamare cliente"],
        ),
        (
            json!({ "statuses": ["OPEN"] }),
            vec!["Udienza Rossi", "Deposito ricorso", "Termine appello"],
        ),
        (
            json!({ "statuses": ["DONE", "CANCELLED"] }),
            vec!["Scadenza annullata", "Chiamare cliente"],
        ),
        (json!({ "statuses": ["DONE"] }), vec!["Chiamare cliente"]),
        (
            json!({ "kinds": ["COURT_DEADLINE"] }),
            vec!["Termine appello", "Scadenza annullata"],
        ),
        (
            json!({ "kinds": ["HEARING", "INTERNAL_TASK"] }),
            vec!["Udienza Rossi", "Chiamare cliente"],
        ),
        (
            json!({ "matterId": m1 }),
            vec!["Udienza Rossi", "Deposito ricorso"],
        ),
        (
            json!({ "matterId": m2 }),
            vec!["Termine appello", "Scadenza annullata"],
        ),
        (
            json!({ "contactId": rossi }),
            vec!["Udienza Rossi", "Chiamare cliente"],
        ),
        (json!({ "contactId": verdi }), vec!["Termine appello"]),
        (json!({ "assigneeUserId": anna }), vec!["Udienza Rossi"]),
        // Directly and through a team: listed once.
        (
            json!({ "assigneeUserId": bruno }),
            vec!["Deposito ricorso", "Termine appello"],
        ),
        (json!({ "assigneeUserId": carla }), vec!["Chiamare cliente"]),
        (json!({ "assigneeUserId": dario }), vec![]),
        (
            json!({ "assigneeTeamId": civil }),
            vec!["Deposito ricorso", "Termine appello"],
        ),
        (
            json!({ "assigneeTeamId": office }),
            vec!["Chiamare cliente"],
        ),
        (json!({ "text": "ROSSI" }), vec!["Udienza Rossi"]),
        (
            json!({ "assigneeUserId": bruno, "statuses": ["OPEN"], "kinds": ["FILING"], "matterId": m1 }),
            vec!["Deposito ricorso"],
        ),
    ];
    for (filter, expected) in &cases {
        let page = list(&app, json!({ "filter": filter })).await;
        assert_eq!(&titles(&page), expected, "filter {filter}");
        assert_eq!(
            page["totalCount"],
            expected.len(),
            "totalCount for {filter}"
        );
    }

    // Joining a team brings its deadlines into the user's list; leaving takes them out.
    const MEMBERSHIP: &str =
        "mutation($input: TeamMembershipInput!) { addTeamMember(input: $input) { team { id } } }";
    app.data(
        MEMBERSHIP,
        json!({ "input": { "teamId": civil, "userId": anna } }),
    )
    .await;
    let page = list(&app, json!({ "filter": { "assigneeUserId": anna } })).await;
    assert_eq!(
        titles(&page),
        ["Udienza Rossi", "Deposito ricorso", "Termine appello"]
    );
    app.data(
        "mutation($input: TeamMembershipInput!) { removeTeamMember(input: $input) { team { id } } }",
        json!({ "input": { "teamId": civil, "userId": anna } }),
    )
    .await;
    let page = list(&app, json!({ "filter": { "assigneeUserId": anna } })).await;
    assert_eq!(titles(&page), ["Udienza Rossi"]);

    // Pages of two, soonest first.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = list(&app, json!({ "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], 5);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0);
        seen.extend(titles(&page));
        pages += 1;
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);

    let error = app
        .error(
            "query($id: ID!) { deadlines(filter: { assigneeTeamId: $id }) { totalCount } }",
            json!({ "id": anna }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
}

async fn flags_overdue_and_lists_matter_deadlines(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &client, json!({})).await;
    let past = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let future = (Utc::now() + TimeDelta::days(2)).to_rfc3339();
    let link = json!({ "matterId": matter });
    let late = add(&app, "Scaduta aperta", "FILING", &past, link.clone()).await;
    let done = add(
        &app,
        "Scaduta fatta",
        "FILING",
        "2020-01-01T00:00:00Z",
        link.clone(),
    )
    .await;
    let cancelled = add(
        &app,
        "Scaduta annullata",
        "FILING",
        "2021-01-01T00:00:00Z",
        link.clone(),
    )
    .await;
    let upcoming = add(&app, "Futura", "HEARING", &future, link.clone()).await;
    let elsewhere = add(
        &app,
        "Altrove",
        "HEARING",
        "2019-01-01T00:00:00Z",
        json!({}),
    )
    .await;
    complete(&app, &done).await;
    update(&app, json!({ "id": cancelled, "status": "CANCELLED" })).await;

    for (id, overdue) in [
        (&late, true),
        (&done, false),
        (&cancelled, false),
        (&upcoming, false),
        (&elsewhere, true),
    ] {
        assert_eq!(fetch(&app, id).await["overdue"], overdue, "{id}");
    }

    const MATTER: &str =
        "query($id: ID!, $statuses: [DeadlineStatus!], $first: Int, $after: String) {
      matter(id: $id) { deadlines(statuses: $statuses, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id title status overdue }
      } }
    }";
    let data = app.data(MATTER, json!({ "id": matter })).await;
    let all = &data["matter"]["deadlines"];
    assert_eq!(
        titles(all),
        [
            "Scaduta fatta",
            "Scaduta annullata",
            "Scaduta aperta",
            "Futura"
        ],
        "soonest first, only this matter's"
    );
    assert_eq!(all["totalCount"], 4);

    let data = app
        .data(MATTER, json!({ "id": matter, "statuses": ["OPEN"] }))
        .await;
    let open = &data["matter"]["deadlines"];
    assert_eq!(titles(open), ["Scaduta aperta", "Futura"]);
    assert_eq!(open["totalCount"], 2);
    assert_eq!(open["nodes"][0]["overdue"], true);
    assert_eq!(open["nodes"][1]["overdue"], false);

    let data = app
        .data(
            MATTER,
            json!({ "id": matter, "statuses": ["DONE", "CANCELLED"], "first": 1 }),
        )
        .await;
    let closed = &data["matter"]["deadlines"];
    assert_eq!(titles(closed), ["Scaduta fatta"]);
    assert_eq!(closed["totalCount"], 2);
    assert_eq!(closed["pageInfo"]["hasNextPage"], true);
    let data = app
        .data(
            MATTER,
            json!({ "id": matter, "statuses": ["DONE", "CANCELLED"], "first": 1,
                    "after": closed["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &data["matter"]["deadlines"];
    assert_eq!(titles(rest), ["Scaduta annullata"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // Completing the late one makes it no longer overdue.
    let completed = complete(&app, &late).await;
    assert_eq!(completed["overdue"], false);
    let data = app
        .data(MATTER, json!({ "id": matter, "statuses": ["OPEN"] }))
        .await;
    assert_eq!(titles(&data["matter"]["deadlines"]), ["Futura"]);
}

on_both_backends!(
    creates_deadlines_with_links_assignees_and_reminders,
    rejects_invalid_deadlines_without_writing,
    completes_reopens_and_cancels,
    updates_keep_reminders_and_deletes,
    filters_orders_and_pages_deadlines,
    flags_overdue_and_lists_matter_deadlines,
);
