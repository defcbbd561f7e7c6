//! Every path that returns personal data names its subjects in the access log, so that
//! breach scoping finds them. The types walked come from the field policy and the served
//! schema: a new type with a personal field and no walk case here fails the test.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use lexgate::access_policy::{DataClass, POLICY};
use lexgate::graphql::schema_map::SCHEMA_MAP;
use serde_json::{json, Value};

use crate::fixtures::{create_matter, create_organization, create_person, dpo, gdpr_records};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// Whom reading a type's personal fields is about.
enum Subjects {
    /// These contacts (at least).
    Contacts(Vec<String>),
    /// No contact of the CRM: the reason says whose data it is instead.
    NoContact(&'static str),
}

/// One type's walk: who asks, along which path, what the answer shows (so the path reached
/// the data), and whom the log must name.
struct Walk {
    type_name: &'static str,
    token: String,
    query: &'static str,
    shows: String,
    subjects: Subjects,
}

/// The object types with a field the policy classes personal or special.
fn personal_types() -> BTreeSet<String> {
    SCHEMA_MAP
        .fields
        .iter()
        .filter(|f| !f.is_input && f.type_name != "Mutation")
        .filter(|f| {
            POLICY
                .rule(&f.type_name, &f.field)
                .is_some_and(|r| r.class != DataClass::Plain)
        })
        .map(|f| f.type_name.clone())
        .collect()
}

fn raw(id: &str) -> String {
    lexgate::ids::parse(id).expect("a global ID").1
}

/// Runs `query` (anonymous) as `token`, named `operation`: the name the access log records.
async fn run(app: &TestApp, token: &str, operation: &str, query: &str, variables: &Value) -> Value {
    let query = match query.strip_prefix("query") {
        Some(rest) => format!("query {operation}{rest}"),
        None => format!("query {operation} {query}"),
    };
    let body: Value = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables, "operationName": operation }))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a JSON answer");
    assert!(body.get("errors").is_none(), "{operation}: {body:#}");
    body
}

/// A person with everything a contact can have, an organisation they work for, a
/// duplicate, a matter, an imported communication, a campaign, a subject request, a change,
/// a review item, a processing activity and a breach: every personal type has data.
struct Firm {
    person: String,
    duplicate: String,
    organization: String,
    matter: String,
    communication: String,
    campaign: String,
    deadline: String,
    time_entry: String,
    invoice: String,
}

async fn firm(app: &TestApp, dpo: &str) -> Firm {
    let organization = create_organization(app, "Walk SpA", json!({})).await;
    let person = create_person(
        app,
        "Pia",
        "Walk",
        json!({
            "emails": [{ "address": "pia.walk@example.it" }],
            "phones": [{ "number": "+39 347 555 0101" }],
            "affiliations": [{ "organizationId": organization, "jobTitle": "Socia Walk" }],
        }),
    )
    .await;
    let duplicate = create_person(
        app,
        "Pio",
        "Walk",
        json!({ "phones": [{ "number": "+39 347 555 0101" }] }),
    )
    .await;
    gdpr_records(app, &person, "EXT-WALK-1", "Walk").await;
    app.data(
        "mutation($id: ID!) { updateContact(input: { id: $id, givenName: \"Pina\" }) { contact { id } } }",
        json!({ "id": person }),
    )
    .await;
    let matter = create_matter(
        app,
        "2026/0777",
        &person,
        json!({ "description": "Walk: recupero crediti" }),
    )
    .await;
    let communication = app
        .data(
            "mutation($m: ID!, $p: ID!) { logCommunication(input: { channel: EMAIL, direction: INBOUND, occurredAt: \"2026-11-02T10:00:00Z\", subject: \"Walk\", summary: \"Walk summary\", matterId: $m, participantIds: [$p] }) { communication { id } } }",
            json!({ "m": matter, "p": person }),
        )
        .await["logCommunication"]["communication"]["id"]
        .as_str()
        .expect("communication id")
        .to_owned();
    let campaign = app
        .data(
            "mutation { createCampaign(input: { name: \"Walk news\", purpose: \"newsletter\", description: \"Walk text\" }) { campaign { id } } }",
            json!({}),
        )
        .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_owned();
    // Sent, so it has a send record naming the person.
    app.data(
        "mutation($c: ID!) { sendCampaign(input: { id: $c }) { queued } }",
        json!({ "c": campaign }),
    )
    .await;
    let deadline = app
        .data(
            "mutation($m: ID!) { createDeadline(input: { title: \"Walk filing\", kind: FILING, dueAt: \"2026-12-01T09:00:00Z\", matterId: $m }) { deadline { id } } }",
            json!({ "m": matter }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned();
    // Billing (issue 16): time on the matter and the invoice made from it.
    let timekeeper = crate::fixtures::create_user(app, "timekeeper.walk@studio.it", "lawyer").await;
    let time_entry = app
        .data(
            "mutation($m: ID!, $u: ID!) { createTimeEntry(input: { matterId: $m, userId: $u, date: \"2026-11-03\", minutes: 60, narrative: \"Walk time\", rateCents: 10000 }) { timeEntry { id } } }",
            json!({ "m": matter, "u": timekeeper }),
        )
        .await["createTimeEntry"]["timeEntry"]["id"]
        .as_str()
        .expect("time entry id")
        .to_owned();
    let invoice = app
        .data(
            "mutation($m: ID!) { createInvoice(input: { matterIds: [$m] }) { invoice { id } } }",
            json!({ "m": matter }),
        )
        .await["createInvoice"]["invoice"]["id"]
        .as_str()
        .expect("invoice id")
        .to_owned();
    // What only a connector or the mail loop writes: the mail import, its attachment, a review
    // item, a reminder's delivery.
    let (p, c, d, m) = (
        raw(&person),
        raw(&communication),
        raw(&deadline),
        raw(&matter),
    );
    let statements = format!(
        "INSERT INTO connector_instances (id, name, kind, base_url, settings, credentials, webhook_secret, provenance, schedule_minutes, enabled, created_at, updated_at) \
             VALUES ('ci-walk', 'mailbox', 'json_feed', 'https://mail.invalid', '{{}}', NULL, NULL, '{{}}', NULL, FALSE, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
         INSERT INTO communication_imports (communication_id, message_id, instance_id, body, imported_at) \
             VALUES ('{c}', 'walk-1@example.invalid', 'ci-walk', 'Walk body', '2026-01-05 10:00:00');
         INSERT INTO communication_attachments (id, communication_id, position, name, content_type, size_bytes, sha256) \
             VALUES ('att-walk', '{c}', 0, 'walk.pdf', 'application/pdf', 10, 'c0ffee');
         INSERT INTO sync_review_items (id, instance_id, external_id, origin, record, reason, created_at, updated_at, resolved_at, resolution, resolved_by, contact_id) \
             VALUES ('rv-walk', 'ci-walk', 'EXT-WALK-2', 'unknown_correspondent', '{{\"given_name\": \"Pia\", \"family_name\": \"Walk\"}}', 'no basis', '2026-01-05 10:00:00', '2026-01-05 10:00:00', '2026-01-06 10:00:00', 'linked', 'user:x', '{p}');
         INSERT INTO outbox_messages (id, kind, dedup_key, reference_id, recipient, user_id, contact_id, subject, body, status, attempts, next_attempt_at, claimed_by, claimed_until, last_error, created_at, sent_at) \
             VALUES ('om-walk', 'deadline_reminder', 'walk-reminder', '{d}', 'lawyer.walk@studio.it', NULL, NULL, 'Walk filing', 'Walk filing is due', 'sent', 1, '2026-01-05 10:00:00', NULL, NULL, NULL, '2026-01-05 10:00:00', '2026-01-05 10:00:00');
         INSERT INTO documents (id, matter_id, title, href, content_type, etag, size_bytes, sha256, created_by, modified_by, created_at, modified_at, instance_id, external_id, status, deleted_at, moved_from, moved_at, seen_generation, imported_at, updated_at) \
             VALUES ('doc-walk', '{m}', 'Walk diffida.pdf', '/Pratiche/2026-0777/Walk%20diffida.pdf', 'application/pdf', 'e1', 10, NULL, 'Pia Walk', NULL, '2026-01-05 10:00:00', '2026-01-05 10:00:00', 'ci-walk', '/Pratiche/2026-0777/Walk%20diffida.pdf', 'current', NULL, NULL, NULL, 1, '2026-01-05 10:00:00', '2026-01-05 10:00:00');"
    );
    app.db
        .run(move |conn| Ok(conn.batch_execute(&statements)?))
        .await
        .expect("connector rows inserted");
    crate::fixtures::verified_request(app, dpo, "ACCESS", &person, "Pia Walk").await;
    let activity = app
        .gql_as(
            dpo,
            "mutation { createProcessingActivity(input: { name: \"Matters\", purposeIds: [\"purpose-matter-handling\"], controllerContact: \"Studio Walk\", dataSubjectCategories: [\"clients\"], personalDataCategories: [{ name: \"identity\", kind: ORDINARY }], retention: \"10 years\", securityMeasures: \"encryption\" }) { processingActivity { id } } }",
            json!({}),
        )
        .await;
    assert!(activity.get("errors").is_none(), "{activity:#}");
    let breach = app
        .gql_as(
            dpo,
            "mutation { recordBreach(input: { detectedAt: \"2026-01-10T08:00:00Z\", natures: [CONFIDENTIALITY], description: \"Walk file sent astray\", authorityNotificationRequired: false, noNotificationReason: \"Deleted\", subjectsNotificationRequired: false }) { breach { id } } }",
            json!({}),
        )
        .await["data"]["recordBreach"]["breach"]["id"]
        .clone();
    let filled = app
        .gql_as(
            dpo,
            "mutation($b: ID!) { fillBreachSubjects(input: { breachId: $b, from: \"2000-01-01T00:00:00Z\" }) { breach { id } } }",
            json!({ "b": breach }),
        )
        .await;
    assert!(filled.get("errors").is_none(), "{filled:#}");
    Firm {
        person,
        duplicate,
        organization,
        matter,
        communication,
        campaign,
        deadline,
        time_entry,
        invoice,
    }
}

async fn every_personal_type_logs_its_subjects(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, admin) = app.sign_in("admin.walk@studio.it", "admin").await;
    let dpo = dpo(&app).await;
    let f = firm(&app, &dpo).await;
    // Documents are for partners and the matter's team.
    let (_, partner) = app.sign_in("partner.walk@studio.it", "partner").await;
    let person = || Subjects::Contacts(vec![f.person.clone()]);
    let walk = |type_name, token: &String, query, shows: &str, subjects| Walk {
        type_name,
        token: token.clone(),
        query,
        shows: shows.to_owned(),
        subjects,
    };
    let walks = vec![
        walk("Query", &dpo, "query($p: ID!) { subjectAccessExport(contactId: $p) }", "Walk", person()),
        walk("Contact", &admin, "query($p: ID!) { contact(id: $p) { displayName } }", "Walk", person()),
        walk("ContactSource", &admin, "query($p: ID!) { contact(id: $p) { sources { detail } } }", "billing", person()),
        walk("ProcessingGround", &admin, "query($p: ID!) { contact(id: $p) { processingGrounds { note } } }", "ground Walk", person()),
        walk("Consent", &admin, "query($p: ID!) { contact(id: $p) { consents { proofReference } } }", "proof Walk", person()),
        walk("Objection", &admin, "query($p: ID!) { contact(id: $p) { objections { note } } }", "objection Walk", person()),
        walk("ContactChange", &dpo, "query($p: ID!) { contact(id: $p) { changeHistory { nodes { oldValue } } } }", "Pia", person()),
        walk("Affiliation", &admin, "query($o: ID!) { contact(id: $o) { members { jobTitle } } }", "Socia Walk", person()),
        walk("DuplicateGroup", &admin, "{ findDuplicates { value } }", "+393475550101", Subjects::Contacts(vec![f.person.clone(), f.duplicate.clone()])),
        walk("CampaignRecipient", &admin, "query($c: ID!) { campaignAudience(campaignId: $c) { nodes { emails } } }", "pia.walk@example.it", person()),
        walk("CampaignDelivery", &admin, "query($c: ID!) { node(id: $c) { ... on Campaign { deliveries { nodes { recipient } } } } }", "pia.walk@example.it", person()),
        walk("Matter", &admin, "query($m: ID!) { matter(id: $m) { description } }", "Walk: recupero", person()),
        walk("Communication", &admin, "query($k: ID!) { node(id: $k) { ... on Communication { summary } } }", "Walk summary", person()),
        walk("CommunicationSource", &admin, "query($k: ID!) { node(id: $k) { ... on Communication { source { messageId } } } }", "walk-1@", person()),
        walk("CommunicationAttachment", &admin, "query($k: ID!) { node(id: $k) { ... on Communication { attachments { name } } } }", "walk.pdf", person()),
        walk("SyncReviewItem", &admin, "{ syncReviewItems(includeResolved: true) { name } }", "Pia Walk", person()),
        walk("SubjectRequest", &dpo, "{ subjectRequests { nodes { requesterName } } }", "Pia Walk", person()),
        walk("BreachSubject", &dpo, "{ breaches { nodes { subjects { contactId } } } }", &f.person, person()),
        walk("AccessLogEntry", &dpo, "{ accessLog(first: 500) { nodes { subjects } } }", &f.person, person()),
        walk("BreachScope", &dpo, "{ breachScope { subjects } }", &f.person, person()),
        walk("TimeEntry", &admin, "query($t: ID!) { node(id: $t) { ... on TimeEntry { narrative } } }", "Walk time", person()),
        walk("Invoice", &admin, "query($i: ID!) { node(id: $i) { ... on Invoice { clientName } } }", "Walk", person()),
        walk("InvoiceLine", &admin, "query($i: ID!) { node(id: $i) { ... on Invoice { lines { description } } } }", "Walk time", person()),
        walk("User", &admin, "{ users { nodes { email } } }", "admin.walk@studio.it", Subjects::NoContact("the firm's own users, not contacts of the CRM")),
        walk("Document", &partner, "query($m: ID!) { matter(id: $m) { documents { nodes { title createdBy } } } }", "Walk diffida.pdf", person()),
        walk("ReminderDelivery", &admin, "query($d: ID!) { node(id: $d) { ... on Deadline { reminderDeliveries { recipient } } } }", "lawyer.walk@studio.it", Subjects::NoContact("the firm's own users, whom reminders go to")),
        walk("ProcessingActivity", &dpo, "{ processingActivities { nodes { controllerContact } } }", "Studio Walk", Subjects::NoContact("the firm's own contact details, as free text")),
        walk("Breach", &dpo, "{ breaches { nodes { description } } }", "Walk file", Subjects::NoContact("the incident in free text; its contacts are its `subjects`, walked as BreachSubject")),
    ];

    // Every type with a personal field has a walk, and no walk is for a type without one.
    let walked: BTreeSet<String> = walks.iter().map(|w| w.type_name.to_owned()).collect();
    assert_eq!(
        walked,
        personal_types(),
        "every type exposing personal fields needs a walk case (and only those)"
    );

    let variables = json!({
        "p": f.person, "o": f.organization, "m": f.matter, "k": f.communication, "c": f.campaign,
        "d": f.deadline, "t": f.time_entry, "i": f.invoice,
    });
    for w in &walks {
        let body = run(
            &app,
            &w.token,
            &format!("Walk{}", w.type_name),
            w.query,
            &variables,
        )
        .await;
        assert!(
            body["data"].to_string().contains(&w.shows),
            "the {} walk did not reach its data: {body:#}",
            w.type_name
        );
    }

    let log = run(
        &app,
        &dpo,
        "ReadLog",
        "{ accessLog(first: 1000) { nodes { operationName action fields subjects } } }",
        &json!({}),
    )
    .await;
    let entries = log["data"]["accessLog"]["nodes"]
        .as_array()
        .expect("entries");
    let mut failures = Vec::new();
    for w in &walks {
        let operation = format!("Walk{}", w.type_name);
        let Some(entry) = entries
            .iter()
            .find(|e| e["operationName"] == operation.as_str() && e["action"] == "READ")
        else {
            failures.push(format!("{}: no READ entry", w.type_name));
            continue;
        };
        // The read is logged by field, whoever the data is about.
        let prefix = format!("{}.", w.type_name);
        let logged_field = entry["fields"].as_array().is_some_and(|fields| {
            fields
                .iter()
                .any(|f| f.as_str().is_some_and(|f| f.starts_with(&prefix)))
        });
        if !logged_field {
            let whose = match &w.subjects {
                Subjects::Contacts(_) => "contacts",
                Subjects::NoContact(whose) => whose,
            };
            failures.push(format!(
                "{}: no field of the type logged (data about {whose}): {entry}",
                w.type_name
            ));
        }
        let named: BTreeSet<&str> = entry["subjects"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Subjects::Contacts(expected) = &w.subjects {
            for contact in expected {
                if !named.contains(contact.as_str()) {
                    failures.push(format!("{}: {contact} not named: {entry}", w.type_name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

on_both_backends!(every_personal_type_logs_its_subjects);
