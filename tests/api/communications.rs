//! Tests of communications.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const COMMUNICATION_FIELDS: &str = "
fragment CommunicationFields on Communication {
  id channel direction occurredAt subject summary
  matter { id reference }
  participants { id displayName }
  author { id email }
  createdAt updatedAt
}";

const LIST: &str = "query($filter: CommunicationFilter, $order: SortDirection! = DESC, $first: Int, $after: String) {
  communications(filter: $filter, order: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id subject }
  }
}";

fn with_fields(operation: &str) -> String {
    format!("{operation}\n{COMMUNICATION_FIELDS}")
}

fn node_ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a connection, got {connection}"))
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn log(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields("mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { ...CommunicationFields } } }"),
        json!({ "input": input }),
    )
    .await["logCommunication"]["communication"]
        .clone()
}

async fn log_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn update(app: &TestApp, input: Value) -> Value {
    app.data(
        &with_fields("mutation($input: UpdateCommunicationInput!) { updateCommunication(input: $input) { communication { ...CommunicationFields } } }"),
        json!({ "input": input }),
    )
    .await["updateCommunication"]["communication"]
        .clone()
}

async fn update_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: UpdateCommunicationInput!) { updateCommunication(input: $input) { communication { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn fetch(app: &TestApp, id: &str) -> Value {
    app.data(
        &with_fields("query($id: ID!) { node(id: $id) { ...CommunicationFields } }"),
        json!({ "id": id }),
    )
    .await["node"]
        .clone()
}

async fn list(app: &TestApp, variables: Value) -> Value {
    app.data(LIST, variables).await["communications"].clone()
}

async fn total(app: &TestApp) -> i64 {
    list(app, json!({})).await["totalCount"]
        .as_i64()
        .expect("totalCount")
}

/// Logs a communication and returns its ID.
async fn record(app: &TestApp, input: Value) -> String {
    log(app, input).await["id"]
        .as_str()
        .expect("communication id")
        .to_owned()
}

async fn logs_every_channel_and_direction(backend: Backend) {
    let app = TestApp::start(backend).await;
    let author = create_user(&app, "avv.bianchi@studio.it", "lawyer").await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    let acme = create_organization(&app, "Acme S.p.A.", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &mario, json!({})).await;

    let cases = [
        ("EMAIL", "INBOUND", "2026-01-05T09:00:00Z"),
        ("PEC", "OUTBOUND", "2026-01-06T10:15:00Z"),
        ("PHONE", "INTERNAL", "2026-01-07T11:30:00Z"),
        ("MEETING", "INBOUND", "2026-01-08T12:45:00Z"),
        ("VIDEO", "OUTBOUND", "2026-01-09T14:00:00Z"),
        ("LETTER", "INTERNAL", "2026-01-10T15:20:00Z"),
    ];
    let mut logged = Vec::new();
    for (channel, direction, at) in cases {
        let before = Utc::now();
        let c = log(
            &app,
            json!({
                "channel": channel, "direction": direction, "occurredAt": at,
                "subject": format!("  {channel} subject "), "summary": format!("{direction} summary"),
                "matterId": matter, "participantIds": [mario, acme, mario], "authorId": author
            }),
        )
        .await;
        assert_eq!(c["channel"], channel);
        assert_eq!(c["direction"], direction);
        assert_eq!(time(&c["occurredAt"]), utc(at));
        assert_eq!(
            c["subject"],
            format!("{channel} subject"),
            "subject is trimmed"
        );
        assert_eq!(c["summary"], format!("{direction} summary"));
        assert_eq!(c["matter"]["id"], matter.as_str());
        assert_eq!(c["matter"]["reference"], "2026/0001");
        assert_eq!(
            ids(&c["participants"]),
            set(&[&mario, &acme]),
            "a participant listed twice takes part once"
        );
        assert_eq!(c["participants"].as_array().unwrap().len(), 2);
        assert_eq!(c["author"]["id"], author.as_str());
        assert_eq!(c["author"]["email"], "avv.bianchi@studio.it");
        let created = time(&c["createdAt"]);
        assert!(created >= before - chrono::TimeDelta::seconds(1) && created <= Utc::now());
        assert_eq!(fetch(&app, c["id"].as_str().unwrap()).await, c);
        logged.push(c);
    }

    // Every channel and direction can be filtered back out of the list.
    for (channel, direction, _) in cases {
        let page = list(&app, json!({ "filter": { "channels": [channel] } })).await;
        assert_eq!(page["totalCount"], 1, "{channel}");
        assert_eq!(page["nodes"][0]["subject"], format!("{channel} subject"));
        let page = list(&app, json!({ "filter": { "direction": direction } })).await;
        assert_eq!(page["totalCount"], 2, "{direction}");
    }

    // Only a summary, no matter, no author, a time with an offset.
    let c = log(
        &app,
        json!({
            "channel": "PHONE", "direction": "OUTBOUND", "occurredAt": "2026-01-11T10:00:00+02:00",
            "summary": "Richiamato il cliente", "participantIds": [acme]
        }),
    )
    .await;
    assert_eq!(c["subject"], Value::Null);
    assert_eq!(c["summary"], "Richiamato il cliente");
    assert_eq!(c["matter"], Value::Null);
    assert_eq!(c["author"], Value::Null);
    assert_eq!(time(&c["occurredAt"]), utc("2026-01-11T08:00:00Z"));
    assert_eq!(ids(&c["participants"]), set(&[&acme]));
    assert_eq!(total(&app).await, 7);

    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { communications { totalCount } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["communications"]["totalCount"], 6);
}

async fn rejects_invalid_communications_without_writing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &mario, json!({})).await;
    let valid = json!({
        "channel": "EMAIL", "direction": "INBOUND", "occurredAt": "2026-01-05T09:00:00Z",
        "subject": "Diffida", "participantIds": [mario]
    });
    let with = |extra: Value| {
        let mut input = valid.clone();
        merge(&mut input, extra);
        input
    };
    let cases = [
        (json!({ "participantIds": [] }), "input.participantIds"),
        (json!({ "subject": null, "summary": null }), "input.subject"),
        (json!({ "subject": "   ", "summary": "" }), "input.subject"),
        (
            json!({ "participantIds": [mario, missing_id("Contact")] }),
            "input.participantIds[1]",
        ),
        (
            json!({ "matterId": missing_id("Matter") }),
            "input.matterId",
        ),
        (json!({ "matterId": mario }), "input.matterId"),
        (json!({ "authorId": missing_id("User") }), "input.authorId"),
    ];
    for (extra, field) in cases {
        let error = log_error(&app, with(extra.clone())).await;
        assert_error(&error, "BAD_USER_INPUT", field);
    }

    // Participant IDs that are malformed or of another type.
    let error = log_error(&app, with(json!({ "participantIds": [mario, matter] }))).await;
    assert_bad_list_element(&error, "input.participantIds", 1);
    let error = log_error(&app, with(json!({ "participantIds": ["not-an-id"] }))).await;
    assert_bad_list_element(&error, "input.participantIds", 0);

    // All invalid fields at once.
    let error = log_error(
        &app,
        with(json!({ "participantIds": [], "subject": null, "matterId": "bad" })),
    )
    .await;
    let fields: BTreeSet<&str> = error["extensions"]["fieldErrors"]
        .as_array()
        .expect("fieldErrors")
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["input.participantIds", "input.subject", "input.matterId"])
    );

    assert_eq!(total(&app).await, 0, "nothing was written");
    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) { communications { totalCount } } }",
            json!({ "id": mario }),
        )
        .await;
    assert_eq!(data["contact"]["communications"]["totalCount"], 0);

    record(&app, valid).await;
    assert_eq!(total(&app).await, 1);
}

async fn updates_and_deletes_a_communication(backend: Backend) {
    let app = TestApp::start(backend).await;
    let author = create_user(&app, "avv@studio.it", "lawyer").await;
    let mario = create_person(&app, "Mario", "Rossi", json!({})).await;
    let anna = create_person(&app, "Anna", "Verdi", json!({})).await;
    let luca = create_person(&app, "Luca", "Neri", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &mario, json!({})).await;
    let original = log(
        &app,
        json!({
            "channel": "EMAIL", "direction": "INBOUND", "occurredAt": "2026-01-05T09:00:00Z",
            "subject": "Diffida", "summary": "Ricevuta diffida", "matterId": matter,
            "participantIds": [mario, anna], "authorId": author
        }),
    )
    .await;
    let id = original["id"].as_str().unwrap().to_owned();
    let contact_total = |contact: String| {
        let app = &app;
        async move {
            app.data(
                "query($id: ID!) { contact(id: $id) { communications { totalCount nodes { id } } } }",
                json!({ "id": contact }),
            )
            .await["contact"]["communications"]["totalCount"]
                .as_i64()
                .unwrap()
        }
    };

    // The participants list is replaced as a whole; other fields stay.
    let after = update(&app, json!({ "id": id, "participantIds": [luca] })).await;
    assert_eq!(ids(&after["participants"]), set(&[&luca]));
    let mut expected = original.clone();
    expected["participants"] = after["participants"].clone();
    expected["updatedAt"] = after["updatedAt"].clone();
    assert_eq!(after, expected);
    assert!(time(&after["updatedAt"]) >= time(&original["updatedAt"]));
    assert_eq!(contact_total(mario.clone()).await, 0);
    assert_eq!(contact_total(anna.clone()).await, 0);
    assert_eq!(contact_total(luca.clone()).await, 1);

    // Scalar fields.
    let after = update(
        &app,
        json!({
            "id": id, "channel": "PEC", "direction": "OUTBOUND",
            "occurredAt": "2026-01-06T10:00:00Z", "subject": " Risposta "
        }),
    )
    .await;
    assert_eq!(after["channel"], "PEC");
    assert_eq!(after["direction"], "OUTBOUND");
    assert_eq!(time(&after["occurredAt"]), utc("2026-01-06T10:00:00Z"));
    assert_eq!(after["subject"], "Risposta");
    assert_eq!(after["summary"], "Ricevuta diffida");
    assert_eq!(after["matter"]["id"], matter.as_str());
    assert_eq!(after["author"]["id"], author.as_str());

    // `null` clears the matter link.
    let after = update(&app, json!({ "id": id, "matterId": null })).await;
    assert_eq!(after["matter"], Value::Null);
    assert_eq!(after["subject"], "Risposta");
    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { communications { totalCount } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["communications"]["totalCount"], 0);
    let page = list(&app, json!({ "filter": { "matterId": matter } })).await;
    assert_eq!(page["totalCount"], 0);

    // Clearing the subject is fine while a summary remains, not when both go.
    let after = update(&app, json!({ "id": id, "subject": null })).await;
    assert_eq!(after["subject"], Value::Null);
    assert_eq!(after["summary"], "Ricevuta diffida");
    let unchanged = fetch(&app, &id).await;
    let error = update_error(&app, json!({ "id": id, "summary": null })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.subject");
    let error = update_error(&app, json!({ "id": id, "summary": "  " })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.subject");
    let error = update_error(&app, json!({ "id": id, "participantIds": [] })).await;
    assert_error(&error, "BAD_USER_INPUT", "input.participantIds");
    let error = update_error(
        &app,
        json!({ "id": id, "channel": "LETTER", "participantIds": [mario, missing_id("Contact")] }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.participantIds[1]");
    let error = update_error(
        &app,
        json!({ "id": id, "channel": "LETTER", "matterId": missing_id("Matter") }),
    )
    .await;
    assert_error(&error, "BAD_USER_INPUT", "input.matterId");
    assert_eq!(
        fetch(&app, &id).await,
        unchanged,
        "refused updates write nothing"
    );

    // Re-linking to the matter.
    let after = update(&app, json!({ "id": id, "matterId": matter })).await;
    assert_eq!(after["matter"]["id"], matter.as_str());

    // Deleting.
    let other = record(
        &app,
        json!({
            "channel": "PHONE", "direction": "OUTBOUND", "occurredAt": "2026-01-07T09:00:00Z",
            "summary": "Telefonata", "participantIds": [luca]
        }),
    )
    .await;
    let data = app
        .data(
            "mutation($id: ID!) { deleteCommunication(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["deleteCommunication"]["deletedId"], id.as_str());
    assert_eq!(fetch(&app, &id).await, Value::Null);
    assert_eq!(node_ids(&list(&app, json!({})).await), [other.as_str()]);
    assert_eq!(contact_total(luca.clone()).await, 1);
    let data = app
        .data(
            "query($id: ID!) { matter(id: $id) { communications { totalCount } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(data["matter"]["communications"]["totalCount"], 0);

    let error = app
        .error(
            "mutation($id: ID!) { deleteCommunication(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = update_error(&app, json!({ "id": id, "subject": "x" })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app
        .error(
            "mutation($id: ID!) { deleteCommunication(input: { id: $id }) { deletedId } }",
            json!({ "id": matter }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.id");
}

/// Five communications across two matters and three contacts.
struct Seeded {
    a: String,
    b: String,
    c: String,
    m1: String,
    m2: String,
    /// c1..c5 in time order.
    comms: Vec<String>,
}

async fn seed(app: &TestApp) -> Seeded {
    let a = create_person(app, "Mario", "Rossi", json!({})).await;
    let b = create_organization(app, "Acme S.p.A.", json!({})).await;
    let c = create_person(app, "Anna", "Verdi", json!({})).await;
    let m1 = create_matter(app, "2026/0001", &a, json!({})).await;
    let m2 = create_matter(app, "2026/0002", &b, json!({})).await;
    let inputs = [
        json!({ "channel": "EMAIL", "direction": "INBOUND", "occurredAt": "2026-01-05T09:00:00Z",
                "subject": "Atto di citazione", "participantIds": [a], "matterId": m1 }),
        json!({ "channel": "PEC", "direction": "OUTBOUND", "occurredAt": "2026-01-10T10:00:00Z",
                "subject": "Notifica PEC", "summary": "Invio ATTO firmato", "participantIds": [a, b], "matterId": m1 }),
        json!({ "channel": "PHONE", "direction": "INBOUND", "occurredAt": "2026-01-15T11:00:00Z",
                "summary": "Chiamata sul preventivo", "participantIds": [b], "matterId": m2 }),
        json!({ "channel": "MEETING", "direction": "INTERNAL", "occurredAt": "2026-01-20T12:00:00Z",
                "subject": "Riunione", "summary": "Strategia 100% condivisa", "participantIds": [c] }),
        json!({ "channel": "LETTER", "direction": "OUTBOUND", "occurredAt": "2026-02-01T00:00:00Z",
                "subject": "Raccomandata", "participantIds": [a, c], "matterId": m2 }),
    ];
    let mut comms = Vec::new();
    // Logged out of time order so the order must come from occurredAt.
    for i in [2, 0, 4, 1, 3] {
        comms.push((i, record(app, inputs[i].clone()).await));
    }
    comms.sort();
    Seeded {
        a,
        b,
        c,
        m1,
        m2,
        comms: comms.into_iter().map(|(_, id)| id).collect(),
    }
}

async fn filters_and_orders_communications(backend: Backend) {
    let app = TestApp::start(backend).await;
    let s = seed(&app).await;
    let c = |n: usize| s.comms[n - 1].clone();

    // Newest first by default; oldest first with `order: ASC`.
    let page = list(&app, json!({})).await;
    assert_eq!(node_ids(&page), [c(5), c(4), c(3), c(2), c(1)]);
    assert_eq!(page["totalCount"], 5);
    let page = list(&app, json!({ "order": "ASC" })).await;
    assert_eq!(node_ids(&page), [c(1), c(2), c(3), c(4), c(5)]);

    let cases = [
        (json!({ "matterId": s.m1 }), vec![c(2), c(1)]),
        (json!({ "matterId": s.m2 }), vec![c(5), c(3)]),
        (json!({ "contactId": s.a }), vec![c(5), c(2), c(1)]),
        (json!({ "contactId": s.b }), vec![c(3), c(2)]),
        (json!({ "contactId": s.c }), vec![c(5), c(4)]),
        (json!({ "channels": ["EMAIL", "PEC"] }), vec![c(2), c(1)]),
        (json!({ "channels": ["VIDEO"] }), vec![]),
        (json!({ "direction": "OUTBOUND" }), vec![c(5), c(2)]),
        (json!({ "direction": "INBOUND" }), vec![c(3), c(1)]),
        (json!({ "direction": "INTERNAL" }), vec![c(4)]),
        // From is inclusive, to is exclusive.
        (
            json!({ "occurredFrom": "2026-01-10T10:00:00Z", "occurredTo": "2026-01-20T12:00:00Z" }),
            vec![c(3), c(2)],
        ),
        (
            json!({ "occurredFrom": "2026-01-20T13:00:00+01:00" }),
            vec![c(5), c(4)],
        ),
        (
            json!({ "occurredTo": "2026-01-10T10:00:00.000001Z" }),
            vec![c(2), c(1)],
        ),
        (json!({ "text": "atto" }), vec![c(2), c(1)]),
        (json!({ "text": "PREVENTIVO" }), vec![c(3)]),
        (json!({ "text": "100%" }), vec![c(4)]),
        (json!({ "text": "0%" }), vec![c(4)]),
        (json!({ "text": "nessuno" }), vec![]),
        (
            json!({ "contactId": s.b, "direction": "INBOUND" }),
            vec![c(3)],
        ),
        (
            json!({ "contactId": s.a, "matterId": s.m2, "channels": ["LETTER"], "text": "racc" }),
            vec![c(5)],
        ),
    ];
    for (filter, expected) in cases {
        let page = list(&app, json!({ "filter": filter })).await;
        assert_eq!(node_ids(&page), expected, "filter {filter}");
        assert_eq!(
            page["totalCount"],
            expected.len(),
            "totalCount for {filter}"
        );
    }
    let page = list(
        &app,
        json!({ "filter": { "contactId": s.a }, "order": "ASC" }),
    )
    .await;
    assert_eq!(node_ids(&page), [c(1), c(2), c(5)]);

    // Pages of two, newest first.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = list(&app, json!({ "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], 5);
        seen.extend(node_ids(&page));
        pages += 1;
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [c(5), c(4), c(3), c(2), c(1)]);

    let error = app
        .error(
            "query($id: ID!) { communications(filter: { matterId: $id }) { totalCount } }",
            json!({ "id": s.a }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
}

async fn pages_contact_and_matter_communications(backend: Backend) {
    let app = TestApp::start(backend).await;
    let s = seed(&app).await;
    let c = |n: usize| s.comms[n - 1].clone();
    const CONTACT: &str = "query($id: ID!, $first: Int, $after: String) {
      contact(id: $id) { communications(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id occurredAt }
      } }
    }";
    const MATTER: &str = "query($id: ID!, $first: Int, $after: String) {
      matter(id: $id) { communications(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id occurredAt }
      } }
    }";

    for (query, root, owner, expected) in [
        (CONTACT, "contact", &s.a, vec![c(5), c(2), c(1)]),
        (CONTACT, "contact", &s.b, vec![c(3), c(2)]),
        (CONTACT, "contact", &s.c, vec![c(5), c(4)]),
        (MATTER, "matter", &s.m1, vec![c(2), c(1)]),
        (MATTER, "matter", &s.m2, vec![c(5), c(3)]),
    ] {
        // All at once: newest first.
        let data = app.data(query, json!({ "id": owner })).await;
        let all = &data[root]["communications"];
        assert_eq!(node_ids(all), expected, "{root} {owner}");
        assert_eq!(all["totalCount"], expected.len());
        let times: Vec<DateTime<Utc>> = all["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| time(&n["occurredAt"]))
            .collect();
        assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");

        // One by one.
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app
                .data(query, json!({ "id": owner, "first": 1, "after": after }))
                .await;
            let page = &data[root]["communications"];
            assert_eq!(page["totalCount"], expected.len());
            assert_eq!(page["pageInfo"]["hasPreviousPage"], !seen.is_empty());
            let ids = node_ids(page);
            assert_eq!(ids.len(), 1);
            seen.extend(ids);
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, expected, "{root} {owner} paged");
    }

    // A contact in no communication has an empty connection.
    let nobody = create_person(&app, "Nessuno", "Nessuno", json!({})).await;
    let data = app.data(CONTACT, json!({ "id": nobody, "first": 5 })).await;
    assert_eq!(
        data["contact"]["communications"],
        json!({ "totalCount": 0, "pageInfo": { "hasNextPage": false, "hasPreviousPage": false, "endCursor": null }, "nodes": [] })
    );
}

on_both_backends!(
    logs_every_channel_and_direction,
    rejects_invalid_communications_without_writing,
    updates_and_deletes_a_communication,
    filters_and_orders_communications,
    pages_contact_and_matter_communications,
);
