//! Tests of nodes: `node(id:)`, `nodes(ids:)` and the checks on global IDs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// Every node type's fields, through inline fragments.
const NODE_FIELDS: &str = "
    __typename
    ... on Node { id }
    ... on Contact { displayName contactKind: kind category tags }
    ... on Matter { reference title practiceArea matterStatus: status responsibleLawyer { id } clients { id } }
    ... on Communication { channel direction occurredAt subject matter { id } participants { id } author { id } }
    ... on Deadline { title deadlineKind: kind dueAt deadlineStatus: status matter { id } assignedUsers { id } assignedTeams { id } }
    ... on User { email displayName role active teams { id } }
    ... on Team { name description members { id } }
    ... on Campaign { name purpose campaignStatus: status matchingContacts }
";

fn node_query() -> String {
    format!("query($id: ID!) {{ node(id: $id) {{ {NODE_FIELDS} }} }}")
}

fn nodes_query() -> String {
    format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_FIELDS} }} }}")
}

/// A well-formed global ID of `type_name` for an object that does not exist.
fn unknown_id(type_name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", uuid::Uuid::new_v4()))
}

fn id_at(data: &Value, path: &[&str]) -> String {
    let mut value = data;
    for key in path {
        value = &value[*key];
    }
    value
        .as_str()
        .unwrap_or_else(|| panic!("no ID at {path:?} in {data:#}"))
        .to_owned()
}

/// One object of every node type, linked together.
struct World {
    contact: String,
    matter: String,
    communication: String,
    deadline: String,
    user: String,
    team: String,
    campaign: String,
}

async fn build_world(app: &TestApp) -> World {
    let user = create_user(app, "avv.rossi@studio.it", "lawyer").await;
    let data = app
        .data(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "name": "Contenzioso", "description": "Cause civili", "memberIds": [user] } }),
        )
        .await;
    let team = id_at(&data, &["createTeam", "team", "id"]);
    let contact = create_person(app, "Mario", "Bianchi", json!({ "tags": ["vip"] })).await;
    let matter = create_matter(
        app,
        "2026/0042",
        &contact,
        json!({ "responsibleUserId": user, "practiceArea": "Diritto del lavoro" }),
    )
    .await;
    let data = app
        .data(
            "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }",
            json!({ "input": { "channel": "PEC", "direction": "OUTBOUND", "occurredAt": "2026-03-02T10:15:00Z", "subject": "Diffida", "matterId": matter, "participantIds": [contact], "authorId": user } }),
        )
        .await;
    let communication = id_at(&data, &["logCommunication", "communication", "id"]);
    let data = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": "Deposito memoria", "kind": "FILING", "dueAt": "2026-04-15T12:00:00Z", "matterId": matter, "assigneeUserIds": [user], "assigneeTeamIds": [team] } }),
        )
        .await;
    let deadline = id_at(&data, &["createDeadline", "deadline", "id"]);
    let data = app
        .data(
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }",
            json!({ "input": { "name": "Newsletter", "purpose": "newsletter", "audienceFilter": { "tags": ["vip"] } } }),
        )
        .await;
    let campaign = id_at(&data, &["createCampaign", "campaign", "id"]);
    World {
        contact,
        matter,
        communication,
        deadline,
        user,
        team,
        campaign,
    }
}

async fn node(app: &TestApp, id: &str) -> Value {
    app.data(&node_query(), json!({ "id": id })).await["node"].clone()
}

async fn node_fetches_every_type(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = build_world(&app).await;

    let contact = node(&app, &w.contact).await;
    assert_eq!(
        contact,
        json!({ "__typename": "Contact", "id": w.contact, "displayName": "Mario Bianchi", "contactKind": "PERSON", "category": "CLIENT", "tags": ["vip"] })
    );

    let matter = node(&app, &w.matter).await;
    assert_eq!(
        matter,
        json!({
            "__typename": "Matter", "id": w.matter, "reference": "2026/0042", "title": "Matter 2026/0042",
            "practiceArea": "Diritto del lavoro", "matterStatus": "OPEN",
            "responsibleLawyer": { "id": w.user }, "clients": [{ "id": w.contact }]
        })
    );

    let communication = node(&app, &w.communication).await;
    assert_eq!(communication["__typename"], "Communication");
    assert_eq!(communication["id"], w.communication.as_str());
    assert_eq!(communication["channel"], "PEC");
    assert_eq!(communication["direction"], "OUTBOUND");
    assert_eq!(communication["subject"], "Diffida");
    let occurred =
        chrono::DateTime::parse_from_rfc3339(communication["occurredAt"].as_str().unwrap())
            .expect("occurredAt");
    assert_eq!(
        occurred,
        chrono::DateTime::parse_from_rfc3339("2026-03-02T10:15:00Z").unwrap()
    );
    assert_eq!(communication["matter"], json!({ "id": w.matter }));
    assert_eq!(communication["participants"], json!([{ "id": w.contact }]));
    assert_eq!(communication["author"], json!({ "id": w.user }));

    let deadline = node(&app, &w.deadline).await;
    assert_eq!(deadline["__typename"], "Deadline");
    assert_eq!(deadline["id"], w.deadline.as_str());
    assert_eq!(deadline["title"], "Deposito memoria");
    assert_eq!(deadline["deadlineKind"], "FILING");
    assert_eq!(deadline["deadlineStatus"], "OPEN");
    let due =
        chrono::DateTime::parse_from_rfc3339(deadline["dueAt"].as_str().unwrap()).expect("dueAt");
    assert_eq!(
        due,
        chrono::DateTime::parse_from_rfc3339("2026-04-15T12:00:00Z").unwrap()
    );
    assert_eq!(deadline["matter"], json!({ "id": w.matter }));
    assert_eq!(deadline["assignedUsers"], json!([{ "id": w.user }]));
    assert_eq!(deadline["assignedTeams"], json!([{ "id": w.team }]));

    let user = node(&app, &w.user).await;
    assert_eq!(
        user,
        json!({
            "__typename": "User", "id": w.user, "email": "avv.rossi@studio.it", "displayName": "avv.rossi",
            "role": "lawyer", "active": true, "teams": [{ "id": w.team }]
        })
    );

    let team = node(&app, &w.team).await;
    assert_eq!(
        team,
        json!({ "__typename": "Team", "id": w.team, "name": "Contenzioso", "description": "Cause civili", "members": [{ "id": w.user }] })
    );

    let campaign = node(&app, &w.campaign).await;
    assert_eq!(
        campaign,
        json!({ "__typename": "Campaign", "id": w.campaign, "name": "Newsletter", "purpose": "newsletter", "campaignStatus": "DRAFT", "matchingContacts": 1 })
    );
}

async fn node_of_a_deleted_object_is_null(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = build_world(&app).await;
    // Delete in an order every mutation accepts; each node is then gone.
    for (mutation, id) in [
        ("deleteCampaign", &w.campaign),
        ("deleteDeadline", &w.deadline),
        ("deleteCommunication", &w.communication),
        ("deleteMatter", &w.matter),
        ("deleteContact", &w.contact),
        ("deleteTeam", &w.team),
        ("deleteUser", &w.user),
    ] {
        assert!(!node(&app, id).await.is_null(), "{mutation}: exists before");
        let data = app
            .data(
                &format!(
                    "mutation($id: ID!) {{ {mutation}(input: {{ id: $id }}) {{ deletedId }} }}"
                ),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data[mutation]["deletedId"], id.as_str());
        assert_eq!(node(&app, id).await, Value::Null, "{mutation}: gone after");
    }

    // Well-formed IDs that never named anything are null too, not errors.
    for type_name in [
        "Contact",
        "Matter",
        "Communication",
        "Deadline",
        "User",
        "Team",
        "Campaign",
    ] {
        let body = app
            .gql(&node_query(), json!({ "id": unknown_id(type_name) }))
            .await;
        assert!(body.get("errors").is_none(), "{type_name}: {body:#}");
        assert_eq!(body["data"]["node"], Value::Null, "{type_name}");
    }
}

async fn node_with_a_malformed_id_is_bad_user_input(backend: Backend) {
    let app = TestApp::start(backend).await;
    let contact = create_person(&app, "Mario", "Rossi", json!({})).await;
    let raw_uuid = uuid::Uuid::new_v4().to_string();
    let malformed = [
        "not-an-id".to_owned(),
        String::new(),
        // The key alone, not base64.
        raw_uuid.clone(),
        // A valid type but not a UUID key.
        URL_SAFE_NO_PAD.encode("Contact:123"),
        // An unknown type.
        URL_SAFE_NO_PAD.encode(format!("Widget:{raw_uuid}")),
        // Type names are case-sensitive.
        URL_SAFE_NO_PAD.encode(format!("contact:{raw_uuid}")),
        // No separator.
        URL_SAFE_NO_PAD.encode(format!("Contact{raw_uuid}")),
        // A real ID with a character changed into one base64 does not know.
        format!("{}!", &contact[..contact.len() - 1]),
    ];
    for id in &malformed {
        let error = app.error(&node_query(), json!({ "id": id })).await;
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{id:?}: {error:#}"
        );
        assert_eq!(error["extensions"]["field"], "id", "{id:?}: {error:#}");
    }
    // The message repeats the offending ID.
    let error = app.error(&node_query(), json!({ "id": "not-an-id" })).await;
    assert!(
        error["message"].as_str().unwrap().contains("not-an-id"),
        "{error:#}"
    );
}

async fn nodes_keep_order_and_null_missing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = build_world(&app).await;
    let gone = create_person(&app, "Luca", "Verdi", json!({})).await;
    app.data(
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedId } }",
        json!({ "id": gone }),
    )
    .await;

    let ids = [
        w.campaign.clone(),
        unknown_id("Matter"),
        w.user.clone(),
        w.contact.clone(),
        gone.clone(),
        w.team.clone(),
        w.contact.clone(),
        w.deadline.clone(),
        w.matter.clone(),
        w.communication.clone(),
    ];
    let data = app.data(&nodes_query(), json!({ "ids": ids })).await;
    let nodes = data["nodes"].as_array().expect("a list");
    assert_eq!(nodes.len(), ids.len());
    let typenames: Vec<&Value> = nodes.iter().map(|n| &n["__typename"]).collect();
    assert_eq!(
        typenames,
        [
            &json!("Campaign"),
            &Value::Null,
            &json!("User"),
            &json!("Contact"),
            &Value::Null,
            &json!("Team"),
            &json!("Contact"),
            &json!("Deadline"),
            &json!("Matter"),
            &json!("Communication"),
        ]
    );
    assert_eq!(nodes[1], Value::Null);
    assert_eq!(nodes[4], Value::Null);
    // Each node is the one asked for at its position.
    for (i, (id, node)) in ids.iter().zip(nodes).enumerate() {
        if !node.is_null() {
            assert_eq!(node["id"], id.as_str(), "position {i}");
        }
    }
    assert_eq!(nodes[0]["name"], "Newsletter");
    assert_eq!(nodes[3]["displayName"], "Mario Bianchi");
    assert_eq!(nodes[6]["displayName"], "Mario Bianchi");
    assert_eq!(nodes[8]["reference"], "2026/0042");

    let data = app.data(&nodes_query(), json!({ "ids": [] })).await;
    assert_eq!(data["nodes"], json!([]));

    // One malformed ID fails the whole field.
    let error = app
        .error(&nodes_query(), json!({ "ids": [w.contact, "garbage"] }))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
}

async fn nodes_accepts_at_most_one_hundred_ids(backend: Backend) {
    let app = TestApp::start(backend).await;
    let contact = create_person(&app, "Mario", "Rossi", json!({})).await;

    let hundred: Vec<String> = (0..100)
        .map(|i| {
            if i % 2 == 0 {
                contact.clone()
            } else {
                unknown_id("Contact")
            }
        })
        .collect();
    let data = app.data(&nodes_query(), json!({ "ids": hundred })).await;
    let nodes = data["nodes"].as_array().expect("a list");
    assert_eq!(nodes.len(), 100);
    for (i, node) in nodes.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(node["id"], contact.as_str(), "position {i}");
        } else {
            assert_eq!(*node, Value::Null, "position {i}");
        }
    }

    let too_many: Vec<String> = (0..101).map(|_| contact.clone()).collect();
    let body = app.gql(&nodes_query(), json!({ "ids": too_many })).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body:#}");
    assert_eq!(error["extensions"]["field"], "ids", "{body:#}");
    assert!(
        error["message"].as_str().unwrap().contains("100"),
        "{body:#}"
    );
    assert_eq!(body["data"], Value::Null, "{body:#}");
}

async fn typed_lookups_refuse_ids_of_another_type(backend: Backend) {
    let app = TestApp::start(backend).await;
    let contact = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(&app, "2026/0001", &contact, json!({})).await;

    let error = app
        .error(
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "id", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("expected a Contact ID") && message.contains("Matter"),
        "{message}"
    );

    let error = app
        .error(
            "query($id: ID!) { matter(id: $id) { id } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("expected a Matter ID") && message.contains("Contact"),
        "{message}"
    );

    let error = app
        .error(
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": "garbage" }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");

    // The right type finds the object; an unknown one of the right type is null.
    let data = app
        .data(
            "query($a: ID!, $b: ID!, $c: ID!) { a: contact(id: $a) { id } b: contact(id: $b) { id } c: matter(id: $c) { id } }",
            json!({ "a": contact, "b": unknown_id("Contact"), "c": matter }),
        )
        .await;
    assert_eq!(data["a"]["id"], contact.as_str());
    assert_eq!(data["b"], Value::Null);
    assert_eq!(data["c"]["id"], matter.as_str());

    // Mutations check the type of the IDs they are given, too.
    let error = app
        .error(
            "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedId } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "input.id", "{error:#}");
    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(data["contact"]["id"], contact.as_str(), "still there");
}

on_both_backends!(
    node_fetches_every_type,
    node_of_a_deleted_object_is_null,
    node_with_a_malformed_id_is_bad_user_input,
    nodes_keep_order_and_null_missing,
    nodes_accepts_at_most_one_hundred_ids,
    typed_lookups_refuse_ids_of_another_type,
);
