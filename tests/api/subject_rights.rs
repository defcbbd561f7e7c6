//! The register of data-subject requests (due dates, overdue, extensions, refusals), the
//! rectification history and restriction of processing.

use serde_json::{json, Value};

use crate::fixtures::{assert_error, create_person, find_values, verified_request};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const CREATE: &str = "mutation($input: CreateSubjectRequestInput!) { createSubjectRequest(input: $input) { request { id kind status channel requesterName dueOn originalDueOn overdue receivedAt contact { id } handledBy } } }";
const FIELDS: &str =
    "id kind status dueOn originalDueOn overdue extensionReason refusalReason executedAt notes";

async fn create(app: &TestApp, dpo: &str, input: Value) -> Value {
    let body = app.gql_as(dpo, CREATE, json!({ "input": input })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["createSubjectRequest"]["request"].clone()
}

async fn listed(app: &TestApp, dpo: &str, filter: Value) -> Vec<String> {
    let body = app
        .gql_as(
            dpo,
            "query($f: SubjectRequestFilter) { subjectRequests(filter: $f, first: 50) { totalCount nodes { id } } }",
            json!({ "f": filter }),
        )
        .await;
    let nodes = body["data"]["subjectRequests"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body:#}"))
        .clone();
    assert_eq!(body["data"]["subjectRequests"]["totalCount"], nodes.len());
    nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn requests_are_due_a_calendar_month_after_receipt(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let contact = create_person(&app, "Lia", "Fontana", json!({})).await;
    let old = create(
        &app,
        &dpo,
        json!({ "kind": "ACCESS", "channel": "PEC", "receivedAt": "2026-01-31T16:00:00Z",
                "requesterName": "Lia Fontana", "contactId": contact }),
    )
    .await;
    assert_eq!(old["dueOn"], "2026-02-28", "clamped to the end of February");
    assert_eq!(old["overdue"], true);
    assert_eq!(old["status"], "RECEIVED");
    assert_eq!(old["contact"]["id"], contact.as_str());
    assert!(old["handledBy"].as_str().is_some());
    let fresh = create(
        &app,
        &dpo,
        json!({ "kind": "PORTABILITY", "channel": "WEB_FORM", "requesterName": "Someone" }),
    )
    .await;
    assert_eq!(fresh["overdue"], false);
    assert_eq!(fresh["contact"], Value::Null);

    assert_eq!(
        listed(&app, &dpo, json!({ "overdue": true })).await,
        vec![old["id"].as_str().unwrap_or_default().to_owned()]
    );
    assert_eq!(
        listed(&app, &dpo, json!({ "overdue": false })).await,
        vec![fresh["id"].as_str().unwrap_or_default().to_owned()]
    );
    assert_eq!(
        listed(&app, &dpo, json!({ "kinds": ["PORTABILITY"] }))
            .await
            .len(),
        1
    );
    assert_eq!(
        listed(&app, &dpo, json!({ "contactId": contact }))
            .await
            .len(),
        1
    );
    assert_eq!(
        listed(&app, &dpo, json!({ "statuses": ["RECEIVED"] }))
            .await
            .len(),
        2
    );

    // One extension of at most two further months, with reasons.
    const EXTEND: &str = "mutation($input: ExtendSubjectRequestInput!) { extendSubjectRequest(input: $input) { request { dueOn originalDueOn overdue extensionReason } } }";
    let too_long = app
        .gql_as(
            &dpo,
            EXTEND,
            json!({ "input": { "id": old["id"], "months": 3, "reason": "complex" } }),
        )
        .await;
    assert_error(&too_long["errors"][0], "BAD_USER_INPUT", "input.months");
    // An overdue request can no longer be extended (Art. 12(3): within the first month).
    let late = app
        .gql_as(&dpo, EXTEND, json!({ "input": { "id": old["id"], "months": 2, "reason": "Many matters to search" } }))
        .await;
    assert_error(&late["errors"][0], "CONFLICT", "input.id");
    let still = listed(&app, &dpo, json!({ "overdue": true })).await;
    assert_eq!(
        still,
        vec![old["id"].as_str().unwrap_or_default().to_owned()]
    );
    let recent = create(
        &app,
        &dpo,
        json!({ "kind": "ACCESS", "channel": "EMAIL", "requesterName": "Lia Fontana",
                "receivedAt": (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339() }),
    )
    .await;
    let extended = app
        .gql_as(&dpo, EXTEND, json!({ "input": { "id": recent["id"], "months": 2, "reason": "Many matters to search" } }))
        .await;
    let request = &extended["data"]["extendSubjectRequest"]["request"];
    let original: chrono::NaiveDate = recent["dueOn"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("{recent:#}"));
    let due = original
        .checked_add_months(chrono::Months::new(2))
        .expect("a date");
    assert_eq!(request["dueOn"], due.to_string(), "{extended:#}");
    assert_eq!(request["originalDueOn"], original.to_string());
    assert_eq!(request["overdue"], false);
    assert_eq!(request["extensionReason"], "Many matters to search");
    let twice = app
        .gql_as(
            &dpo,
            EXTEND,
            json!({ "input": { "id": recent["id"], "months": 1, "reason": "again" } }),
        )
        .await;
    assert_error(&twice["errors"][0], "CONFLICT", "input.id");

    // Executing needs a verified identity; a refusal names its legal reason and closes it.
    const COMPLETE: &str = "mutation($id: ID!) { completeSubjectRequest(input: { id: $id, notes: \"export sent\" }) { request { status } } }";
    let early = app.gql_as(&dpo, COMPLETE, json!({ "id": old["id"] })).await;
    assert_error(&early["errors"][0], "CONFLICT", "input.id");
    const REFUSE: &str = "mutation($input: RefuseRequestInput!) { refuseRequest(input: $input) { request { status refusalReason overdue executedAt } } }";
    let blank = app
        .gql_as(
            &dpo,
            REFUSE,
            json!({ "input": { "id": old["id"], "legalReason": "" } }),
        )
        .await;
    assert_error(&blank["errors"][0], "BAD_USER_INPUT", "input.legalReason");
    let refused = app
        .gql_as(&dpo, REFUSE, json!({ "input": { "id": old["id"], "legalReason": "Art. 12(5): manifestly unfounded" } }))
        .await;
    let request = &refused["data"]["refuseRequest"]["request"];
    assert_eq!(request["status"], "REFUSED", "{refused:#}");
    assert_eq!(request["overdue"], false, "a closed request is not overdue");
    assert!(request["executedAt"].as_str().is_some());
    assert!(listed(&app, &dpo, json!({ "overdue": true }))
        .await
        .is_empty());

    let done = verified_request(&app, &dpo, "ACCESS", &contact, "Lia Fontana").await;
    let completed = app.gql_as(&dpo, COMPLETE, json!({ "id": done })).await;
    assert_eq!(
        completed["data"]["completeSubjectRequest"]["request"]["status"], "EXECUTED",
        "{completed:#}"
    );

    let node = app
        .gql_as(
            &dpo,
            &format!(
                "query($id: ID!) {{ node(id: $id) {{ ... on SubjectRequest {{ {FIELDS} }} }} }}"
            ),
            json!({ "id": done }),
        )
        .await;
    assert_eq!(node["data"]["node"]["status"], "EXECUTED", "{node:#}");
    assert!(node["data"]["node"]["notes"]
        .as_str()
        .is_some_and(|n| n.contains("export sent")));

    let future = app
        .gql_as(&dpo, CREATE, json!({ "input": { "kind": "ACCESS", "channel": "EMAIL", "requesterName": "X", "receivedAt": "2099-01-01T00:00:00Z" } }))
        .await;
    assert_error(&future["errors"][0], "BAD_USER_INPUT", "input.receivedAt");
    let nobody = app
        .gql_as(&dpo, CREATE, json!({ "input": { "kind": "ACCESS", "channel": "EMAIL", "requesterName": "X", "contactId": crate::fixtures::missing_id("Contact") } }))
        .await;
    assert_error(&nobody["errors"][0], "BAD_USER_INPUT", "input.contactId");
}

async fn only_the_dpo_handles_requests(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let (_, lawyer) = app.sign_in("lawyer@studio.it", "lawyer").await;
    let request = create(
        &app,
        &dpo,
        json!({ "kind": "OBJECTION", "channel": "PHONE", "requesterName": "Ugo" }),
    )
    .await;
    let body = app
        .gql_as(&lawyer, "{ subjectRequests { totalCount } }", json!({}))
        .await;
    assert_eq!(body["data"]["subjectRequests"], Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let body = app
        .gql(
            CREATE,
            json!({ "input": { "kind": "ACCESS", "channel": "EMAIL", "requesterName": "X" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "admins do not handle requests"
    );
    let body = app
        .gql_as(
            &lawyer,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": request["id"] }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body:#}"
    );
}

const HISTORY: &str = "query($id: ID!) { contact(id: $id) { changeHistory(first: 20) { totalCount nodes { field oldValue newValue changedAt changedBy } } } }";

async fn every_rectification_is_recorded_for_the_dpo(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (dpo_id, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let contact = create_person(
        &app,
        "Nino",
        "Sala",
        json!({ "emails": [{ "address": "nino@old.it" }], "codiceFiscale": "RSSMRA85T10A562S" }),
    )
    .await;
    let body = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { updateContact(input: { id: $id, familyName: \"Salani\", codiceFiscale: null, emails: [{ address: \"nino@new.it\" }], category: PROSPECT }) { contact { id } } }",
            json!({ "id": contact }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let history = app.gql_as(&dpo, HISTORY, json!({ "id": contact })).await;
    let changes = &history["data"]["contact"]["changeHistory"];
    assert_eq!(changes["totalCount"], 4, "{history:#}");
    let by_field = |field: &str| {
        changes["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|c| c["field"] == field).cloned())
            .unwrap_or_else(|| panic!("no change of {field}: {history:#}"))
    };
    assert_eq!(by_field("familyName")["oldValue"], "Sala");
    assert_eq!(by_field("familyName")["newValue"], "Salani");
    assert_eq!(by_field("codiceFiscale")["oldValue"], "RSSMRA85T10A562S");
    assert_eq!(by_field("codiceFiscale")["newValue"], Value::Null);
    assert_eq!(by_field("category")["newValue"], "prospect");
    assert!(by_field("emails")["oldValue"]
        .as_str()
        .is_some_and(|v| v.contains("nino@old.it")));
    assert!(by_field("emails")["newValue"]
        .as_str()
        .is_some_and(|v| v.contains("nino@new.it")));
    let (_, dpo_key) = lexgate::ids::parse(&dpo_id).expect("user id");
    assert_eq!(
        by_field("familyName")["changedBy"],
        format!("user:{dpo_key}").as_str()
    );

    // A merge records what the survivor gained.
    let twin = create_person(
        &app,
        "Nino",
        "Salani",
        json!({ "phones": [{ "number": "+39 333 111 2222" }], "tags": ["alpha-twin"] }),
    )
    .await;
    app.gql_as(&dpo, "mutation($id: ID!) { updateContact(input: { id: $id, tags: [\"beta-twin\"] }) { contact { id } } }", json!({ "id": twin }))
        .await;
    app.data(
        "mutation($s: ID!, $m: ID!) { mergeContacts(input: { survivorId: $s, mergedIds: [$m] }) { contact { id } } }",
        json!({ "s": contact, "m": twin }),
    )
    .await;
    let history = app.gql_as(&dpo, HISTORY, json!({ "id": contact })).await;
    let nodes = history["data"]["contact"]["changeHistory"]["nodes"].to_string();
    assert!(nodes.contains("+393331112222"), "{history:#}");

    // The twin's own history follows it into the survivor.
    assert!(nodes.contains("alpha-twin"), "{history:#}");

    // A deleted contact's history keeps which field changed when, not the values.
    let gone = create_person(
        &app,
        "Uberto",
        "Cancellato",
        json!({ "notes": "first-note-4471" }),
    )
    .await;
    app.gql_as(&dpo, "mutation($id: ID!) { updateContact(input: { id: $id, notes: \"second\" }) { contact { id } } }", json!({ "id": gone }))
        .await;
    assert_eq!(
        find_values(&app, &["first-note-4471"]).len(),
        1,
        "the history holds the old note"
    );
    let deleted = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedId } }",
            json!({ "id": gone }),
        )
        .await;
    assert!(deleted.get("errors").is_none(), "{deleted:#}");
    assert!(find_values(&app, &["first-note-4471"]).is_empty());

    let (_, lawyer) = app.sign_in("partner@studio.it", "partner").await;
    let denied = app.gql_as(&lawyer, HISTORY, json!({ "id": contact })).await;
    assert_eq!(denied["data"]["contact"]["changeHistory"], Value::Null);
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

async fn restriction_is_visible_and_excludes_the_contact(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let (_, staff) = app.sign_in("staff@studio.it", "staff").await;
    let contact = create_person(&app, "Rita", "Greco", json!({})).await;
    let other = create_person(&app, "Olga", "Bruni", json!({})).await;
    const RESTRICT: &str = "mutation($input: RestrictProcessingInput!) { restrictProcessing(input: $input) { contact { id restriction { restrictedAt reason } } } }";
    let blank = app
        .gql_as(
            &dpo,
            RESTRICT,
            json!({ "input": { "contactId": contact, "reason": " " } }),
        )
        .await;
    assert_error(&blank["errors"][0], "BAD_USER_INPUT", "input.reason");
    let unknown = app
        .gql_as(&dpo, RESTRICT, json!({ "input": { "contactId": crate::fixtures::missing_id("Contact"), "reason": "accuracy contested" } }))
        .await;
    assert_error(&unknown["errors"][0], "BAD_USER_INPUT", "input.contactId");
    let body = app
        .gql_as(&dpo, RESTRICT, json!({ "input": { "contactId": contact, "reason": "Accuracy contested (Art. 18(1)(a))" } }))
        .await;
    let restriction = &body["data"]["restrictProcessing"]["contact"]["restriction"];
    assert_eq!(
        restriction["reason"], "Accuracy contested (Art. 18(1)(a))",
        "{body:#}"
    );
    assert!(restriction["restrictedAt"].as_str().is_some());

    let seen = app
        .gql_as(
            &staff,
            "query($id: ID!) { contact(id: $id) { restriction { reason } } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(
        seen["data"]["contact"]["restriction"]["reason"], "Accuracy contested (Art. 18(1)(a))",
        "{seen:#}"
    );

    let ids: Vec<String> = [&contact, &other]
        .iter()
        .map(|id| lexgate::ids::parse(id).expect("contact id").1)
        .collect();
    let (restricted, unrestricted) = app
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::contacts;
            let restricted = lexgate::contacts::restricted_among(c, &ids)?;
            let usable: Vec<String> = contacts::table
                .filter(lexgate::contacts::not_restricted())
                .select(contacts::id)
                .load(c)?;
            Ok((restricted, usable))
        })
        .await
        .expect("restriction read");
    let key = |id: &str| lexgate::ids::parse(id).expect("id").1;
    assert_eq!(restricted, vec![key(&contact)]);
    assert_eq!(unrestricted, vec![key(&other)]);

    let lifted = app
        .gql_as(&dpo, "mutation($id: ID!) { liftRestriction(input: { contactId: $id }) { contact { restriction { reason } } } }", json!({ "id": contact }))
        .await;
    assert_eq!(
        lifted["data"]["liftRestriction"]["contact"]["restriction"],
        Value::Null,
        "{lifted:#}"
    );
    let check = key(&contact);
    let still = app
        .db
        .run(move |c| lexgate::contacts::is_restricted(c, &check))
        .await
        .expect("read");
    assert!(!still);
    let denied = app
        .gql_as(
            &staff,
            RESTRICT,
            json!({ "input": { "contactId": contact, "reason": "x" } }),
        )
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

on_both_backends!(
    requests_are_due_a_calendar_month_after_receipt,
    only_the_dpo_handles_requests,
    every_rectification_is_recorded_for_the_dpo,
    restriction_is_visible_and_excludes_the_contact,
);
