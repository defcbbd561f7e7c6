//! The DPO's registers: the record of processing activities (Art. 30 GDPR) with its JSON and
//! Markdown export, and the breach register (Art. 33, 34) with its 72-hour clock and the data
//! subjects filled in from the access log.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const ACTIVITY_FIELDS: &str = "id name description purposes { id key name } controllerContact \
    jointControllerContact representativeContact dpoContact dataSubjectCategories \
    personalDataCategories { name kind } specialCategories judicialData recipientCategories \
    processors transfers { country recipient safeguard detail } retention retentionMonths \
    securityMeasures createdAt updatedAt";

const BREACH_FIELDS: &str = "id detectedAt natures description subjectCategories \
    approximateSubjects recordCategories approximateRecords likelyConsequences measures \
    authorityNotificationRequired noNotificationReason authorityNotifiedAt \
    subjectsNotificationRequired subjectsNotifiedAt dpoNotes closedAt notificationDueAt \
    overdue hoursRemaining createdAt updatedAt";

fn create_activity_mutation() -> String {
    format!(
        "mutation($input: CreateProcessingActivityInput!) {{ createProcessingActivity(input: $input) {{ processingActivity {{ {ACTIVITY_FIELDS} }} }} }}"
    )
}

fn activity_input(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Mandates from clients, from intake to archive",
        "purposeIds": ["purpose-matter-handling", "purpose-client-relationship"],
        "controllerContact": "Studio Legale Esempio, Via Roma 1, Milano, studio@esempio.it",
        "dpoContact": "DPO Esempio, dpo@esempio.it",
        "dataSubjectCategories": ["clients", "counterparties", "witnesses"],
        "personalDataCategories": [
            { "name": "identification data", "kind": "ORDINARY" },
            { "name": "health data in personal injury matters", "kind": "SPECIAL" },
            { "name": "criminal records", "kind": "JUDICIAL" }
        ],
        "recipientCategories": ["courts", "opposing counsel"],
        "processors": ["Cloud Mail S.r.l."],
        "transfers": [{
            "country": "us",
            "recipient": "Document review vendor",
            "safeguard": "STANDARD_CONTRACTUAL_CLAUSES",
            "detail": "2021/914 module 2"
        }],
        "retention": "Ten years after the matter closes",
        "retentionMonths": 120,
        "securityMeasures": "Encryption at rest, role-based access, access log"
    })
}

async fn create_activity(app: &TestApp, dpo: &str, name: &str) -> Value {
    let body = app
        .gql_as(
            dpo,
            &create_activity_mutation(),
            json!({ "input": activity_input(name) }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["createProcessingActivity"]["processingActivity"].clone()
}

fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    &body["data"]
}

fn first_error(body: &Value) -> &Value {
    body["errors"]
        .get(0)
        .unwrap_or_else(|| panic!("expected an error: {body:#}"))
}

async fn processing_activities_crud_for_the_dpo(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;

    let created = create_activity(&app, &dpo, "Matter handling").await;
    assert_eq!(created["name"], "Matter handling");
    assert_eq!(created["specialCategories"], true);
    assert_eq!(created["judicialData"], true);
    let purpose_keys: Vec<&str> = created["purposes"]
        .as_array()
        .expect("purposes")
        .iter()
        .map(|p| p["key"].as_str().expect("key"))
        .collect();
    assert_eq!(purpose_keys, ["client_relationship", "matter_handling"]);
    assert_eq!(created["transfers"][0]["country"], "US", "normalised");
    assert_eq!(created["retentionMonths"], 120);
    let id = created["id"].as_str().expect("id").to_owned();

    for name in ["Billing", "Newsletter"] {
        create_activity(&app, &dpo, name).await;
    }
    let page = app
        .gql_as(
            &dpo,
            "{ processingActivities(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } }",
            json!({}),
        )
        .await;
    let page = &data(&page)["processingActivities"];
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["nodes"][0]["name"], "Billing");
    let rest = app
        .gql_as(
            &dpo,
            "query($after: String) { processingActivities(first: 2, after: $after) { nodes { name } } }",
            json!({ "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        data(&rest)["processingActivities"]["nodes"],
        json!([{ "name": "Newsletter" }])
    );

    let by_node = app
        .gql_as(
            &dpo,
            "query($id: ID!) { node(id: $id) { ... on ProcessingActivity { name dpoContact } } processingActivity(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&by_node)["node"]["name"], "Matter handling");
    assert_eq!(data(&by_node)["processingActivity"]["id"], id.as_str());

    let updated = app
        .gql_as(
            &dpo,
            &format!("mutation($input: UpdateProcessingActivityInput!) {{ updateProcessingActivity(input: $input) {{ processingActivity {{ {ACTIVITY_FIELDS} }} }} }}"),
            json!({ "input": {
                "id": id,
                "name": "Matter handling and litigation",
                "dpoContact": null,
                "purposeIds": ["purpose-matter-handling"],
                "personalDataCategories": [{ "name": "identification data", "kind": "ORDINARY" }],
                "transfers": []
            } }),
        )
        .await;
    let updated = &data(&updated)["updateProcessingActivity"]["processingActivity"];
    assert_eq!(updated["name"], "Matter handling and litigation");
    assert_eq!(updated["dpoContact"], Value::Null);
    assert_eq!(updated["specialCategories"], false);
    assert_eq!(updated["judicialData"], false);
    assert_eq!(updated["transfers"], json!([]));
    assert_eq!(updated["purposes"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        updated["securityMeasures"], created["securityMeasures"],
        "fields left out stay"
    );

    let deleted = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { deleteProcessingActivity(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&deleted)["deleteProcessingActivity"]["deletedId"],
        id.as_str()
    );
    let gone = app
        .gql_as(
            &dpo,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&gone)["node"], Value::Null);
    let again = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { deleteProcessingActivity(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(first_error(&again)["extensions"]["code"], "NOT_FOUND");
}

async fn invalid_activities_are_refused_by_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "  " }), "input.name"),
        (
            json!({ "purposeIds": ["purpose-matter-handling", "purpose-nonexistent"] }),
            "input.purposeIds[1]",
        ),
        (json!({ "purposeIds": [] }), "input.purposeIds"),
        (
            json!({ "controllerContact": "" }),
            "input.controllerContact",
        ),
        (
            json!({ "personalDataCategories": [] }),
            "input.personalDataCategories",
        ),
        (
            json!({ "dataSubjectCategories": ["clients", " "] }),
            "input.dataSubjectCategories[1]",
        ),
        (
            json!({ "transfers": [{ "country": "DE", "recipient": "Vendor", "safeguard": "ADEQUACY_DECISION" }] }),
            "input.transfers[0].country",
        ),
        (
            json!({ "transfers": [{ "country": "BR", "recipient": "Vendor", "safeguard": "DEROGATION" }] }),
            "input.transfers[0].detail",
        ),
        (json!({ "retentionMonths": 0 }), "input.retentionMonths"),
        (json!({ "securityMeasures": "" }), "input.securityMeasures"),
    ];
    for (change, field) in cases {
        let mut input = activity_input("Invalid");
        merge(&mut input, change);
        let body = app
            .gql_as(&dpo, &create_activity_mutation(), json!({ "input": input }))
            .await;
        assert_error(first_error(&body), "BAD_USER_INPUT", field);
    }
    let count = app
        .gql_as(&dpo, "{ processingActivities { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data(&count)["processingActivities"]["totalCount"],
        0,
        "nothing written"
    );
}

async fn only_the_dpo_keeps_the_registers(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    let (_, lawyer) = app.sign_in("lawyer@studio.example", "lawyer").await;
    let activity = create_activity(&app, &dpo, "Matter handling").await;

    // A lawyer may neither write nor read the registers.
    let body = app
        .gql_as(
            &lawyer,
            &create_activity_mutation(),
            json!({ "input": activity_input("Sneaky") }),
        )
        .await;
    assert_eq!(first_error(&body)["extensions"]["code"], "FORBIDDEN");
    for query in [
        "{ processingActivities { totalCount } }",
        "{ breaches { totalCount } }",
        "{ processingRegisterExport(format: JSON) }",
    ] {
        let body = app.gql_as(&lawyer, query, json!({})).await;
        assert_eq!(
            first_error(&body)["extensions"]["code"],
            "FORBIDDEN",
            "{query}"
        );
    }
    let node = app
        .gql_as(
            &lawyer,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": activity["id"] }),
        )
        .await;
    assert_eq!(first_error(&node)["extensions"]["code"], "FORBIDDEN");

    // An admin (the harness key) reads the record of processing, but keeps neither register.
    let read = app
        .data(
            "{ processingActivities { totalCount } processingRegisterExport(format: MARKDOWN) }",
            json!({}),
        )
        .await;
    assert_eq!(read["processingActivities"]["totalCount"], 1);
    for query in [
        "mutation { deleteProcessingActivity(input: { id: \"x\" }) { deletedId } }",
        "{ breaches { totalCount } }",
    ] {
        let error = app.error(query, json!({})).await;
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{query}");
    }
    let breach = app
        .error(
            "mutation { recordBreach(input: { detectedAt: \"2026-01-01T00:00:00Z\", natures: [CONFIDENTIALITY], description: \"x\", authorityNotificationRequired: true, subjectsNotificationRequired: false }) { breach { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(breach["extensions"]["code"], "FORBIDDEN");
}

async fn the_register_exports_as_json_and_markdown(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.disabled_contact_fields = vec!["familyDetails".to_owned()];
    })
    .await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    create_activity(&app, &dpo, "Matter handling").await;

    let body = app
        .gql_as(
            &dpo,
            "{ processingRegisterExport(format: JSON) }",
            json!({}),
        )
        .await;
    let text = data(&body)["processingRegisterExport"]
        .as_str()
        .expect("a document");
    let document: Value = serde_json::from_str(text).expect("the JSON export parses");
    let activity = &document["activities"][0];
    assert_eq!(activity["name"], "Matter handling");
    assert_eq!(activity["specialCategories"], true);
    assert_eq!(
        activity["thirdCountryTransfers"][0]["safeguard"],
        "standard_contractual_clauses"
    );
    assert_eq!(activity["purposes"][1]["key"], "matter_handling");
    assert_eq!(activity["retentionMonths"], 120);
    let fields = document["optionalContactFields"]
        .as_array()
        .expect("fields");
    let family = fields
        .iter()
        .find(|f| f["field"] == "familyDetails")
        .expect("familyDetails listed");
    assert_eq!(family["collected"], false);
    let birth = fields
        .iter()
        .find(|f| f["field"] == "birthDate")
        .expect("birthDate listed");
    assert_eq!(birth["collected"], true);

    let body = app
        .gql_as(
            &dpo,
            "{ processingRegisterExport(format: MARKDOWN) }",
            json!({}),
        )
        .await;
    let markdown = data(&body)["processingRegisterExport"]
        .as_str()
        .expect("a document");
    for section in [
        "# Record of processing activities (Art. 30 GDPR)",
        "## Data minimisation",
        "## Matter handling",
        "### Purposes",
        "### Controller and contacts",
        "### Categories of data subjects",
        "### Categories of personal data",
        "### Recipients",
        "### Transfers to third countries",
        "### Retention",
        "### Security measures",
    ] {
        assert!(
            markdown.lines().any(|l| l == section),
            "missing {section}:\n{markdown}"
        );
    }
    assert!(markdown.contains("`familyDetails` (family details): not collected"));
    assert!(markdown.contains("health data in personal injury matters (special category, Art. 9)"));
    assert!(
        markdown.contains("US to Document review vendor, safeguard standard_contractual_clauses")
    );
    assert!(markdown.contains("Cloud Mail S.r.l. (processor)"));

    // Reading the export (it names the DPO and the controller) is logged for the DPO.
    let log = app
        .gql_as(
            &dpo,
            "{ accessLog(first: 20) { nodes { fields role } } }",
            json!({}),
        )
        .await;
    let logged = data(&log)["accessLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| {
            e["fields"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("Query.processingRegisterExport")))
        });
    assert!(logged, "{log:#}");
}

fn record_breach_mutation() -> String {
    format!("mutation($input: RecordBreachInput!) {{ recordBreach(input: $input) {{ breach {{ {BREACH_FIELDS} }} }} }}")
}

fn breach_input(detected_hours_ago: i64) -> Value {
    json!({
        "detectedAt": (Utc::now() - Duration::hours(detected_hours_ago)).to_rfc3339(),
        "natures": ["CONFIDENTIALITY"],
        "description": "A laptop with client files was stolen",
        "subjectCategories": ["clients"],
        "approximateSubjects": 40,
        "recordCategories": ["contact details", "matter files"],
        "approximateRecords": 300,
        "likelyConsequences": "Identity theft",
        "measures": "Remote wipe requested",
        "authorityNotificationRequired": true,
        "subjectsNotificationRequired": true,
        "dpoNotes": "Disk was encrypted; checking the key escrow"
    })
}

async fn record_breach(app: &TestApp, dpo: &str, input: Value) -> Value {
    let body = app
        .gql_as(dpo, &record_breach_mutation(), json!({ "input": input }))
        .await;
    data(&body)["recordBreach"]["breach"].clone()
}

fn hours(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("hours expected: {value}"))
}

async fn the_72_hour_clock_and_the_overdue_filter(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;

    let late = record_breach(&app, &dpo, breach_input(80)).await;
    let due = time(&late["notificationDueAt"]) - time(&late["detectedAt"]);
    assert_eq!(due, Duration::hours(72));
    assert_eq!(late["overdue"], true);
    assert!(
        (hours(&late["hoursRemaining"]) + 8.0).abs() < 0.1,
        "{late:#}"
    );

    let recent = record_breach(&app, &dpo, breach_input(10)).await;
    assert_eq!(recent["overdue"], false);
    assert!(
        (hours(&recent["hoursRemaining"]) - 62.0).abs() < 0.1,
        "{recent:#}"
    );

    let mut harmless = breach_input(100);
    merge(
        &mut harmless,
        json!({ "authorityNotificationRequired": false, "noNotificationReason": "Encrypted, key not exposed" }),
    );
    let harmless = record_breach(&app, &dpo, harmless).await;
    assert_eq!(harmless["overdue"], false);
    assert_eq!(harmless["hoursRemaining"], Value::Null);

    let list = |filter: Value| {
        let app = &app;
        let dpo = dpo.clone();
        async move {
            let body = app
                .gql_as(
                    &dpo,
                    "query($f: BreachFilter) { breaches(filter: $f) { totalCount nodes { id } } }",
                    json!({ "f": filter }),
                )
                .await;
            data(&body)["breaches"].clone()
        }
    };
    let overdue = list(json!({ "overdue": true })).await;
    assert_eq!(overdue["totalCount"], 1);
    assert_eq!(overdue["nodes"][0]["id"], late["id"]);
    assert_eq!(list(json!({ "overdue": false })).await["totalCount"], 2);
    let all = list(Value::Null).await;
    assert_eq!(
        ids(&all["nodes"]),
        ids(&json!([recent, late, harmless])),
        "newest detection first"
    );
    assert_eq!(all["nodes"][0]["id"], recent["id"]);

    // Notifying the authority stops the clock; closing takes the breach out of the open list.
    let notified_at = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let body = app
        .gql_as(
            &dpo,
            &format!("mutation($input: UpdateBreachInput!) {{ updateBreach(input: $input) {{ breach {{ {BREACH_FIELDS} }} }} }}"),
            json!({ "input": { "id": late["id"], "authorityNotifiedAt": notified_at, "closedAt": Utc::now().to_rfc3339() } }),
        )
        .await;
    let updated = &data(&body)["updateBreach"]["breach"];
    assert_eq!(updated["overdue"], false);
    assert_eq!(updated["hoursRemaining"], Value::Null);
    assert_eq!(updated["description"], late["description"]);
    assert_eq!(list(json!({ "overdue": true })).await["totalCount"], 0);
    let open = list(json!({ "open": true })).await;
    assert_eq!(open["totalCount"], 2);
    assert_eq!(
        list(json!({ "open": false })).await["nodes"][0]["id"],
        late["id"]
    );

    let node = app
        .gql_as(
            &dpo,
            "query($id: ID!) { node(id: $id) { ... on Breach { dpoNotes natures } } breach(id: $id) { id } }",
            json!({ "id": recent["id"] }),
        )
        .await;
    assert_eq!(
        data(&node)["node"]["dpoNotes"],
        "Disk was encrypted; checking the key escrow"
    );
    assert_eq!(data(&node)["node"]["natures"], json!(["CONFIDENTIALITY"]));
    assert_eq!(data(&node)["breach"]["id"], recent["id"]);
}

async fn invalid_breaches_are_refused_by_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let before_detection = (Utc::now() - Duration::hours(20)).to_rfc3339();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "authorityNotificationRequired": false }),
            "input.noNotificationReason",
        ),
        (json!({ "detectedAt": future }), "input.detectedAt"),
        (json!({ "natures": [] }), "input.natures"),
        (json!({ "description": " " }), "input.description"),
        (
            json!({ "approximateSubjects": -1 }),
            "input.approximateSubjects",
        ),
        (
            json!({ "authorityNotifiedAt": before_detection }),
            "input.authorityNotifiedAt",
        ),
        (
            json!({ "recordCategories": ["ok", ""] }),
            "input.recordCategories[1]",
        ),
    ];
    for (change, field) in cases {
        let mut input = breach_input(10);
        merge(&mut input, change);
        let body = app
            .gql_as(&dpo, &record_breach_mutation(), json!({ "input": input }))
            .await;
        assert_error(first_error(&body), "BAD_USER_INPUT", field);
    }
    let count = app
        .gql_as(&dpo, "{ breaches { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&count)["breaches"]["totalCount"], 0);
}

async fn breach_subjects_are_filled_from_the_access_log(backend: Backend) {
    // Before anything is logged: the empty window below ends here, not at `before`, which
    // the contacts' creation may precede by more than a second on a loaded machine.
    let started = Utc::now() - Duration::seconds(1);
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    let (staff_id, staff) = app.sign_in("staff@studio.example", "staff").await;
    let anna = create_person(
        &app,
        "Anna",
        "Neri",
        json!({ "phones": [{ "number": "+393331112222" }] }),
    )
    .await;
    let bruno = create_person(&app, "Bruno", "Gialli", json!({})).await;
    let carla = create_person(&app, "Carla", "Viola", json!({})).await;
    let before = Utc::now() - Duration::seconds(1);

    // The staff member (the breach's principal) reads two contacts.
    for (id, selection) in [
        (&anna, "displayName phones { number }"),
        (&bruno, "displayName"),
    ] {
        let body = app
            .gql_as(
                &staff,
                &format!("query($id: ID!) {{ contact(id: $id) {{ {selection} }} }}"),
                json!({ "id": id }),
            )
            .await;
        data(&body);
    }
    // Someone else reads a third one: not the breach's concern.
    app.data(
        "query($id: ID!) { contact(id: $id) { displayName } }",
        json!({ "id": carla }),
    )
    .await;

    let breach = record_breach(&app, &dpo, breach_input(1)).await;
    let fill = "mutation($input: FillBreachSubjectsInput!) { fillBreachSubjects(input: $input) { breach { approximateSubjects approximateRecords subjects { contactId contact { displayName } fields } } } }";
    let body = app
        .gql_as(
            &dpo,
            fill,
            json!({ "input": { "breachId": breach["id"], "principal": staff_id, "from": before.to_rfc3339() } }),
        )
        .await;
    let filled = &data(&body)["fillBreachSubjects"]["breach"];
    assert_eq!(filled["approximateSubjects"], 2);
    let subjects = filled["subjects"].as_array().expect("subjects");
    let by_id = |id: &str| {
        subjects
            .iter()
            .find(|s| s["contactId"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {filled:#}"))
    };
    let anna_fields = by_id(&anna)["fields"].as_array().expect("fields").clone();
    assert!(
        anna_fields.contains(&json!("Contact.phones")),
        "{anna_fields:?}"
    );
    assert!(anna_fields.contains(&json!("Contact.displayName")));
    assert_eq!(by_id(&anna)["contact"]["displayName"], "Anna Neri");
    assert_eq!(by_id(&bruno)["fields"], json!(["Contact.displayName"]));
    assert!(!subjects.iter().any(|s| s["contactId"] == carla.as_str()));
    let records: usize = subjects
        .iter()
        .map(|s| s["fields"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(filled["approximateRecords"], records);

    // Filling is itself logged as a write touching those subjects.
    let dpo_id = app
        .gql_as(&dpo, "{ viewer { user { id } } }", json!({}))
        .await["data"]["viewer"]["user"]["id"]
        .as_str()
        .expect("the DPO's ID")
        .to_owned();
    let log = app
        .gql_as(
            &dpo,
            "query($p: ID) { accessLog(principal: $p, first: 50) { nodes { action principalId subjects } } }",
            json!({ "p": dpo_id }),
        )
        .await;
    let wrote_subjects = data(&log)["accessLog"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| {
            e["action"] == "WRITE"
                && e["subjects"]
                    .as_array()
                    .is_some_and(|s| s.contains(&json!(anna)) && s.contains(&json!(bruno)))
        });
    assert!(wrote_subjects, "{log:#}");
    assert!(
        data(&log)["accessLog"]["nodes"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["principalId"] == dpo_id.as_str()),
        "{log:#}"
    );

    // Refilling replaces: a window before anything happened touches no one.
    let body = app
        .gql_as(
            &dpo,
            fill,
            json!({ "input": { "breachId": breach["id"], "to": started.to_rfc3339(), "from": (started - Duration::hours(1)).to_rfc3339() } }),
        )
        .await;
    let empty = &data(&body)["fillBreachSubjects"]["breach"];
    assert_eq!(empty["approximateSubjects"], 0);
    assert_eq!(empty["subjects"], json!([]));

    // Principals are named by global ID: a raw UUID or another kind of ID is refused, not
    // taken as a principal who touched nothing.
    let raw = lexgate::ids::parse(&staff_id).expect("user id").1;
    for wrong in [json!(raw), json!(anna)] {
        let body = app
            .gql_as(
                &dpo,
                fill,
                json!({ "input": { "breachId": breach["id"], "principal": wrong } }),
            )
            .await;
        assert_error(first_error(&body), "BAD_USER_INPUT", "input.principal");
    }
    // Scoping needs a principal or a window.
    let body = app
        .gql_as(&dpo, fill, json!({ "input": { "breachId": breach["id"] } }))
        .await;
    assert_error(first_error(&body), "BAD_USER_INPUT", "input.principal");
    let body = app
        .gql_as(
            &staff,
            fill,
            json!({ "input": { "breachId": breach["id"], "principal": staff_id } }),
        )
        .await;
    assert_eq!(first_error(&body)["extensions"]["code"], "FORBIDDEN");
}

on_both_backends!(
    processing_activities_crud_for_the_dpo,
    invalid_activities_are_refused_by_field,
    only_the_dpo_keeps_the_registers,
    the_register_exports_as_json_and_markdown,
    the_72_hour_clock_and_the_overdue_filter,
    invalid_breaches_are_refused_by_field,
    breach_subjects_are_filled_from_the_access_log,
);
