//! GDPR core: provenance and legal basis on every contact, consent evidence and withdrawal,
//! objections, the suppression list, the assessments register and campaign audiences.

use serde_json::{json, Value};

use crate::fixtures::{create_contact, create_organization, create_person, dpo, lia};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const CREATE: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";
const RECORD_GROUND: &str = "mutation($input: RecordProcessingGroundInput!) { recordProcessingGround(input: $input) { ground { id legalBasis active consent { id } } } }";

fn source() -> Value {
    json!({ "kind": "EVENT", "detail": "Convegno ADR, Milano", "acquiredAt": "2026-03-10T18:00:00Z" })
}

fn consent(purpose: &str) -> Value {
    json!({
        "purpose": purpose,
        "legalBasis": "CONSENT",
        "consent": {
            "givenAt": "2026-03-10T18:05:00Z",
            "method": "WEB_FORM",
            "noticeVersion": "informativa-2026-01",
            "collectedBy": "Modulo iscrizione newsletter",
            "proofReference": "submission-4471",
            "doubleOptInAt": "2026-03-10T18:20:00Z"
        }
    })
}

async fn total_contacts(app: &TestApp) -> i64 {
    app.data("{ contacts { totalCount } }", json!({})).await["contacts"]["totalCount"]
        .as_i64()
        .expect("count")
}

fn field_of(error: &Value) -> String {
    error["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Field names reported for a refused input, from `extensions.fieldErrors` or `field`.
fn fields_of(error: &Value) -> Vec<String> {
    match error["extensions"]["fieldErrors"].as_array() {
        Some(list) => list
            .iter()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect(),
        None => vec![field_of(error)],
    }
}

async fn contacts_need_a_source_and_a_legal_basis(backend: Backend) {
    let app = TestApp::start(backend).await;
    let person = json!({ "kind": "PERSON", "givenName": "Anna", "familyName": "Neri", "category": "PROSPECT" });
    // Without a source: refused by the schema, naming the missing field.
    let mut input = person.clone();
    input["grounds"] = json!([{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }]);
    let body = app.gql(CREATE, json!({ "input": input })).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("source"), "{body:#}");
    assert!(body["data"].is_null() || body["data"]["createContact"].is_null());
    // Without a basis: refused with the field named.
    let mut input = person.clone();
    input["source"] = source();
    input["grounds"] = json!([]);
    let error = app.error(CREATE, json!({ "input": input })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(
        fields_of(&error).contains(&"input.grounds".to_owned()),
        "{error:#}"
    );
    // Incomplete or impossible sources, every problem reported at once.
    let mut input = person.clone();
    input["source"] =
        json!({ "kind": "CONNECTOR_IMPORT", "detail": " ", "acquiredAt": "2099-01-01T00:00:00Z" });
    input["grounds"] = json!([{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }]);
    let error = app.error(CREATE, json!({ "input": input })).await;
    let fields = fields_of(&error);
    for expected in [
        "input.source.detail",
        "input.source.connector",
        "input.source.acquiredAt",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected}: {error:#}"
        );
    }
    // A basis that breaks a rule is refused after the contact's own fields pass, and the
    // contact is not left behind half-written.
    let before = total_contacts(&app).await;
    let mut input = person.clone();
    input["source"] = source();
    input["grounds"] = json!([
        { "purpose": "client_relationship", "legalBasis": "CONTRACT" },
        { "purpose": "newsletter", "legalBasis": "CONTRACT" }
    ]);
    let error = app.error(CREATE, json!({ "input": input })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(
        fields_of(&error).contains(&"input.grounds[1].legalBasis".to_owned()),
        "{error:#}"
    );
    assert_eq!(total_contacts(&app).await, before);
    // With both: the contact carries its source, who recorded it, and its basis.
    let mut input = person.clone();
    input["source"] = source();
    input["grounds"] = json!([consent("newsletter")]);
    let id =
        app.data(CREATE, json!({ "input": input })).await["createContact"]["contact"]["id"].clone();
    let read = app
        .data(
            "query($id: ID!) { contact(id: $id) { sources { kind detail acquiredAt recordedBy } processingGrounds { legalBasis purpose { key } consent { method noticeVersion collectedBy proofReference doubleOptInAt active } } } }",
            json!({ "id": id }),
        )
        .await;
    let contact = &read["contact"];
    assert_eq!(contact["sources"][0]["kind"], "EVENT");
    assert_eq!(contact["sources"][0]["detail"], "Convegno ADR, Milano");
    assert_eq!(
        contact["sources"][0]["acquiredAt"],
        "2026-03-10T18:00:00+00:00"
    );
    assert!(contact["sources"][0]["recordedBy"]
        .as_str()
        .is_some_and(|r| r.starts_with("api_key:")));
    let ground = &contact["processingGrounds"][0];
    assert_eq!(ground["legalBasis"], "CONSENT");
    assert_eq!(ground["purpose"]["key"], "newsletter");
    assert_eq!(ground["consent"]["method"], "WEB_FORM");
    assert_eq!(ground["consent"]["noticeVersion"], "informativa-2026-01");
    assert_eq!(ground["consent"]["proofReference"], "submission-4471");
    assert_eq!(
        ground["consent"]["doubleOptInAt"],
        "2026-03-10T18:20:00+00:00"
    );
    assert_eq!(ground["consent"]["active"], true);
    // A further source is added, not overwritten.
    app.data(
        "mutation($id: ID!) { addContactSource(input: { contactId: $id, source: { kind: REFERRAL, detail: \"Avv. Bianchi\", acquiredAt: \"2026-05-01T09:00:00Z\" } }) { source { kind } } }",
        json!({ "id": id }),
    )
    .await;
    let sources = app
        .data(
            "query($id: ID!) { contact(id: $id) { sources { kind } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        sources["contact"]["sources"],
        json!([{ "kind": "EVENT" }, { "kind": "REFERRAL" }])
    );
}

async fn bases_follow_the_configured_rules(backend: Backend) {
    let app = TestApp::start(backend).await;
    let acme = create_organization(&app, "Acme SpA", json!({})).await;
    let cfo = create_person(
        &app,
        "Carla",
        "Verdi",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "Group CFO" }] }),
    )
    .await;
    let intern = create_person(
        &app,
        "Ivo",
        "Bassi",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "Stagista" }] }),
    )
    .await;
    let private = create_person(&app, "Pia", "Gallo", json!({})).await;
    // Roles match as whole words: "COO" is not in "Coordinatore", and the CEO's assistant
    // does not hold the CEO's role.
    let buyer = create_person(
        &app,
        "Ugo",
        "Riva",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "Coordinatore Acquisti" }] }),
    )
    .await;
    let assistant = create_person(
        &app,
        "Eva",
        "Sala",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "Assistant to the CEO" }] }),
    )
    .await;
    let approved = lia(&app, &["marketing_email"], "APPROVED").await;
    let rejected = lia(&app, &["marketing_email"], "REJECTED").await;
    let other_purpose = lia(&app, &["events"], "APPROVED").await;
    let dpia = app
        .gql_as(
            &dpo(&app).await,
            "mutation { createAssessment(input: { kind: DPIA, title: \"CRM\", outcome: APPROVED, assessedOn: \"2026-01-10\", purposes: [\"marketing_email\"] }) { assessment { id } } }",
            json!({}),
        )
        .await["data"]["createAssessment"]["assessment"]["id"]
        .clone();
    let li = |contact: &str, assessment: Value| json!({ "input": { "contactId": contact, "ground": { "purpose": "marketing_email", "legalBasis": "LEGITIMATE_INTEREST", "assessmentId": assessment } } });
    // Legitimate interest for marketing: business contacts in an allowed role, with an
    // approved LIA that covers the purpose.
    let ok = app.data(RECORD_GROUND, li(&cfo, json!(approved))).await;
    assert_eq!(
        ok["recordProcessingGround"]["ground"]["legalBasis"],
        "LEGITIMATE_INTEREST"
    );
    let again = app.error(RECORD_GROUND, li(&cfo, json!(approved))).await;
    assert_eq!(again["extensions"]["code"], "CONFLICT", "{again:#}");
    for (contact, assessment, field) in [
        (&intern, json!(approved), "input.ground.legalBasis"),
        (&private, json!(approved), "input.ground.legalBasis"),
        (&buyer, json!(approved), "input.ground.legalBasis"),
        (&assistant, json!(approved), "input.ground.legalBasis"),
        (&cfo, json!(rejected), "input.ground.assessmentId"),
        (&cfo, json!(other_purpose), "input.ground.assessmentId"),
        (&cfo, dpia.clone(), "input.ground.assessmentId"),
        (&cfo, Value::Null, "input.ground.assessmentId"),
    ] {
        let error = app.error(RECORD_GROUND, li(contact, assessment)).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert!(
            fields_of(&error).contains(&field.to_owned()),
            "{field}: {error:#}"
        );
    }
    // Consent needs its evidence; evidence belongs to consent only.
    let no_evidence = app
        .error(RECORD_GROUND, json!({ "input": { "contactId": private, "ground": { "purpose": "newsletter", "legalBasis": "CONSENT" } } }))
        .await;
    assert_eq!(
        field_of(&no_evidence),
        "input.ground.consent",
        "{no_evidence:#}"
    );
    let mut misplaced = consent("client_relationship");
    misplaced["legalBasis"] = json!("CONTRACT");
    let error = app
        .error(
            RECORD_GROUND,
            json!({ "input": { "contactId": private, "ground": misplaced } }),
        )
        .await;
    assert_eq!(field_of(&error), "input.ground.consent", "{error:#}");
    // The job-title list is configuration: a firm that lists only general counsels refuses
    // the CFO.
    let strict = TestApp::start_with(backend, |s| {
        s.marketing_job_titles = vec!["General Counsel".to_owned()];
    })
    .await;
    let acme = create_organization(&strict, "Acme SpA", json!({})).await;
    let cfo = create_person(
        &strict,
        "Carla",
        "Verdi",
        json!({ "affiliations": [{ "organizationId": acme, "jobTitle": "Group CFO" }] }),
    )
    .await;
    let approved = lia(&strict, &["marketing_email"], "APPROVED").await;
    let error = strict.error(RECORD_GROUND, li(&cfo, json!(approved))).await;
    assert_eq!(field_of(&error), "input.ground.legalBasis", "{error:#}");
}

async fn withdrawals_and_objections_end_grounds_and_suppress(backend: Backend) {
    let app = TestApp::start(backend).await;
    let anna = create_person(&app, "Anna", "Neri", json!({ "emails": [{ "address": "Anna.Neri@example.com" }], "phones": [{ "number": "+39 333 123 4567" }], "grounds": [{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }, consent("newsletter")] })).await;
    let consents = app
        .data(
            "query($id: ID!) { contact(id: $id) { consents { id } } }",
            json!({ "id": anna }),
        )
        .await;
    let consent_id = consents["contact"]["consents"][0]["id"].clone();
    let withdraw = "mutation($i: WithdrawConsentInput!) { withdrawConsent(input: $i) { consent { withdrawnAt withdrawalMethod active givenAt } } }";
    let early = app
        .error(withdraw, json!({ "i": { "consentId": consent_id, "withdrawnAt": "2020-01-01T00:00:00Z", "method": "email" } }))
        .await;
    assert_eq!(field_of(&early), "input.withdrawnAt", "{early:#}");
    let done = app
        .data(withdraw, json!({ "i": { "consentId": consent_id, "withdrawnAt": "2026-06-01T08:00:00Z", "method": "unsubscribe link" } }))
        .await;
    let withdrawn = &done["withdrawConsent"]["consent"];
    assert_eq!(withdrawn["withdrawnAt"], "2026-06-01T08:00:00+00:00");
    assert_eq!(withdrawn["active"], false);
    assert_eq!(
        withdrawn["givenAt"], "2026-03-10T18:05:00+00:00",
        "the evidence stays"
    );
    let twice = app
        .error(withdraw, json!({ "i": { "consentId": consent_id, "withdrawnAt": "2026-06-02T08:00:00Z", "method": "again" } }))
        .await;
    assert_eq!(twice["extensions"]["code"], "CONFLICT");
    let grounds = app
        .data("query($id: ID!) { contact(id: $id) { active: processingGrounds { purpose { key } } all: processingGrounds(includeEnded: true) { purpose { key } active endReason } } }", json!({ "id": anna }))
        .await;
    assert_eq!(
        grounds["contact"]["active"],
        json!([{ "purpose": { "key": "client_relationship" } }])
    );
    let ended: Vec<&Value> = grounds["contact"]["all"]
        .as_array()
        .expect("grounds")
        .iter()
        .filter(|g| g["active"] == false)
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["endReason"], "consent withdrawn");
    let check = "query($e: [String!]!, $p: String!) { suppressedEmails(emails: $e, purpose: $p) }";
    let suppressed = app
        .data(
            check,
            json!({ "e": ["anna.neri@EXAMPLE.com", "other@example.com"], "p": "newsletter" }),
        )
        .await;
    assert_eq!(
        suppressed["suppressedEmails"],
        json!(["anna.neri@EXAMPLE.com"])
    );
    let events = app
        .data(
            check,
            json!({ "e": ["anna.neri@example.com"], "p": "events" }),
        )
        .await;
    assert_eq!(
        events["suppressedEmails"],
        json!([]),
        "withdrawal is per purpose"
    );
    // The list keeps hashes only, never the address.
    let list = app
        .data(
            "{ suppressions { totalCount nodes { channel valueHash reason purpose { key } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["suppressions"]["totalCount"], 2, "{list:#}");
    let text = list.to_string().to_lowercase();
    // The whole number's digits: a lone "333" turns up in one random hash in seventy.
    assert!(
        !text.contains("anna") && !text.contains("3331234567") && !text.contains("333 123"),
        "{list:#}"
    );

    // An objection to all direct marketing ends every marketing ground and suppresses for all.
    let bruno = create_person(&app, "Bruno", "Sala", json!({ "emails": [{ "address": "bruno@example.com" }], "grounds": [{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }, consent("newsletter"), consent("events")] })).await;
    let objection = app
        .data("mutation($id: ID!) { recordObjection(input: { contactId: $id, receivedAt: \"2026-07-01T10:00:00Z\", method: \"letter\" }) { objection { purpose { key } method } } }", json!({ "id": bruno }))
        .await;
    assert_eq!(
        objection["recordObjection"]["objection"]["purpose"],
        Value::Null
    );
    let grounds = app
        .data("query($id: ID!) { contact(id: $id) { processingGrounds { purpose { key } } objections { method } } }", json!({ "id": bruno }))
        .await;
    assert_eq!(
        grounds["contact"]["processingGrounds"],
        json!([{ "purpose": { "key": "client_relationship" } }])
    );
    for purpose in ["events", "marketing_email"] {
        let suppressed = app
            .data(check, json!({ "e": ["bruno@example.com"], "p": purpose }))
            .await;
        assert_eq!(
            suppressed["suppressedEmails"],
            json!(["bruno@example.com"]),
            "{purpose}"
        );
    }
    // An objection to matter handling ends the legitimate-interest basis, not a legal obligation.
    let approved = lia(&app, &["matter_handling"], "APPROVED").await;
    let carlo = create_person(&app, "Carlo", "Riva", json!({ "category": "COUNTERPARTY", "grounds": [
        { "purpose": "matter_handling", "legalBasis": "LEGITIMATE_INTEREST", "assessmentId": approved },
        { "purpose": "matter_handling", "legalBasis": "LEGAL_OBLIGATION" }
    ] })).await;
    app.data("mutation($id: ID!) { recordObjection(input: { contactId: $id, purpose: \"matter_handling\", receivedAt: \"2026-07-01T10:00:00Z\", method: \"PEC\" }) { objection { id } } }", json!({ "id": carlo }))
        .await;
    let grounds = app
        .data(
            "query($id: ID!) { contact(id: $id) { processingGrounds { legalBasis } } }",
            json!({ "id": carlo }),
        )
        .await;
    assert_eq!(
        grounds["contact"]["processingGrounds"],
        json!([{ "legalBasis": "LEGAL_OBLIGATION" }])
    );

    // The suppression list survives the contact's deletion.
    app.data(
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { deletedId } }",
        json!({ "id": anna }),
    )
    .await;
    let suppressed = app
        .data(
            check,
            json!({ "e": ["anna.neri@example.com"], "p": "newsletter" }),
        )
        .await;
    assert_eq!(
        suppressed["suppressedEmails"],
        json!(["anna.neri@example.com"])
    );
    // Adding a suppressed address again is allowed, with a warning naming what it is
    // suppressed for; an address off the list gets none.
    let create = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } warnings } }";
    let again = app
        .data(
            create,
            json!({ "input": crate::fixtures::with_provenance(json!({ "kind": "PERSON", "givenName": "Anna", "familyName": "Neri", "category": "CLIENT", "emails": [{ "address": "anna.neri@example.com" }, { "address": "anna@altro.it" }] })) }),
        )
        .await;
    let warnings = again["createContact"]["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{again:#}"))
        .clone();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap_or_default();
            w.starts_with("anna.neri@example.com") && w.contains("`newsletter` (withdrawal)")
        }),
        "{again:#}"
    );
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().unwrap_or_default().contains("altro")),
        "{again:#}"
    );
    let clean = app
        .data(
            create,
            json!({ "input": crate::fixtures::with_provenance(json!({ "kind": "PERSON", "givenName": "Bea", "familyName": "Neri", "category": "CLIENT", "emails": [{ "address": "bea@altro.it" }] })) }),
        )
        .await;
    assert_eq!(clean["createContact"]["warnings"], json!([]));
}

async fn campaign_audience(app: &TestApp, campaign: &str) -> Value {
    app.data(
        "query($c: ID!) { campaignAudience(campaignId: $c, first: 100) { totalCount nodes { contact { displayName } basis emails } } }",
        json!({ "c": campaign }),
    )
    .await["campaignAudience"]
        .clone()
}

fn audience_names(audience: &Value) -> Vec<String> {
    audience["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            n["contact"]["displayName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn create_campaign(app: &TestApp, purpose: &str, analogous: bool) -> String {
    app.data(
        "mutation($p: String!, $a: Boolean!) { createCampaign(input: { name: \"Campagna\", purpose: $p, analogousServices: $a }) { campaign { id } } }",
        json!({ "p": purpose, "a": analogous }),
    )
    .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_owned()
}

async fn campaigns_reach_only_those_with_a_valid_ground(backend: Backend) {
    let app = TestApp::start(backend).await;
    let email = |name: &str| json!([{ "address": format!("{name}@example.com") }]);
    let prospect = |name: &str, grounds: Value| json!({ "kind": "PERSON", "givenName": name, "familyName": "Test", "category": "PROSPECT", "emails": email(name), "grounds": grounds });
    let basic = json!({ "purpose": "client_relationship", "legalBasis": "CONTRACT" });
    // Consent: in.
    create_contact(
        &app,
        prospect("Alba", json!([basic, consent("newsletter")])),
    )
    .await;
    // Consent withdrawn: out.
    let bice = create_contact(
        &app,
        prospect("Bice", json!([basic, consent("newsletter")])),
    )
    .await;
    // Restricted: out.
    let cora = create_contact(
        &app,
        prospect("Cora", json!([basic, consent("newsletter")])),
    )
    .await;
    // No ground for the purpose: out.
    create_contact(&app, prospect("Dario", json!([basic]))).await;
    // One of two addresses suppressed: in, with the other only; the only address suppressed: out.
    let mut elio = prospect("Elio", json!([basic, consent("newsletter")]));
    elio["emails"] =
        json!([{ "address": "elio@example.com" }, { "address": "elio@work.example.com" }]);
    create_contact(&app, elio).await;
    create_contact(
        &app,
        prospect("Fede", json!([basic, consent("newsletter")])),
    )
    .await;
    for address in ["elio@example.com", "FEDE@example.com"] {
        app.data("mutation($e: String) { suppressAddress(input: { email: $e }) { suppression { reason } } }", json!({ "e": address }))
            .await;
    }
    let consent_of = app
        .data(
            "query($id: ID!) { contact(id: $id) { consents { id } } }",
            json!({ "id": bice }),
        )
        .await["contact"]["consents"][0]["id"]
        .clone();
    app.data("mutation($c: ID!) { withdrawConsent(input: { consentId: $c, withdrawnAt: \"2026-06-01T00:00:00Z\", method: \"email\" }) { consent { id } } }", json!({ "c": consent_of }))
        .await;
    let (_, cora_key) = lexgate::ids::parse(&cora).expect("contact id");
    app.db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::contacts;
            diesel::update(contacts::table.find(cora_key))
                .set(contacts::restricted_at.eq(lexgate::db::now()))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("restricted");

    let newsletter = create_campaign(&app, "newsletter", false).await;
    let audience = campaign_audience(&app, &newsletter).await;
    assert_eq!(
        audience_names(&audience),
        ["Alba Test", "Elio Test"],
        "{audience:#}"
    );
    assert_eq!(audience["nodes"][0]["basis"], "CONSENT");
    assert_eq!(
        audience["nodes"][1]["emails"],
        json!(["elio@work.example.com"])
    );
    let sizes = app
        .data("query($id: ID!) { node(id: $id) { ... on Campaign { audienceSize matchingContacts } } }", json!({ "id": newsletter }))
        .await;
    assert_eq!(sizes["node"]["audienceSize"], 2);
    assert_eq!(sizes["node"]["matchingContacts"], 6);

    // Legitimate interest for a business contact, while its assessment holds.
    let acme = create_organization(&app, "Acme SpA", json!({ "category": "PROSPECT" })).await;
    let lia_id = lia(&app, &["marketing_email"], "APPROVED").await;
    create_person(&app, "Gaia", "Test", json!({ "category": "PROSPECT", "emails": email("gaia"), "affiliations": [{ "organizationId": acme, "jobTitle": "CFO" }], "grounds": [
        { "purpose": "marketing_email", "legalBasis": "LEGITIMATE_INTEREST", "assessmentId": lia_id }
    ] })).await;
    // A client, reached only by a campaign about analogous services, until the client objects.
    let ugo = create_person(
        &app,
        "Ugo",
        "Test",
        json!({ "category": "CLIENT", "emails": email("ugo") }),
    )
    .await;
    let plain = create_campaign(&app, "marketing_email", false).await;
    assert_eq!(
        audience_names(&campaign_audience(&app, &plain).await),
        ["Gaia Test"]
    );
    let analogous = create_campaign(&app, "marketing_email", true).await;
    let audience = campaign_audience(&app, &analogous).await;
    assert_eq!(
        audience_names(&audience),
        ["Gaia Test", "Ugo Test"],
        "{audience:#}"
    );
    assert_eq!(audience["nodes"][0]["basis"], "LEGITIMATE_INTEREST");
    assert_eq!(audience["nodes"][1]["basis"], "SOFT_SPAM");
    app.data("mutation($id: ID!) { recordObjection(input: { contactId: $id, purpose: \"marketing_email\", receivedAt: \"2026-07-01T10:00:00Z\", method: \"phone\" }) { objection { id } } }", json!({ "id": ugo }))
        .await;
    // The assessment is reviewed and rejected: the ground no longer counts.
    let review = app
        .gql_as(&dpo(&app).await, "mutation($id: ID!) { updateAssessment(input: { id: $id, outcome: REJECTED }) { assessment { outcome } } }", json!({ "id": lia_id }))
        .await;
    assert_eq!(
        review["data"]["updateAssessment"]["assessment"]["outcome"], "REJECTED",
        "{review:#}"
    );
    assert!(audience_names(&campaign_audience(&app, &analogous).await).is_empty());
    // With soft spam switched off in configuration, clients need a ground like anyone else.
    let strict = TestApp::start_with(backend, |s| s.soft_spam = false).await;
    create_person(
        &strict,
        "Ugo",
        "Test",
        json!({ "category": "CLIENT", "emails": email("ugo") }),
    )
    .await;
    let analogous = create_campaign(&strict, "marketing_email", true).await;
    assert!(audience_names(&campaign_audience(&strict, &analogous).await).is_empty());
}

async fn purposes_and_campaign_purposes_are_checked(backend: Backend) {
    let app = TestApp::start(backend).await;
    let dpo = dpo(&app).await;
    let (_, staff) = app.sign_in("staff@studio.it", "staff").await;
    let create = "mutation($i: CreatePurposeInput!) { createPurpose(input: $i) { purpose { key name marketing builtIn } } }";
    let made = app
        .gql_as(
            &dpo,
            create,
            json!({ "i": { "key": "seminars", "name": "Seminari", "marketing": true } }),
        )
        .await;
    assert_eq!(
        made["data"]["createPurpose"]["purpose"],
        json!({ "key": "seminars", "name": "Seminari", "marketing": true, "builtIn": false }),
        "{made:#}"
    );
    let duplicate = app
        .gql_as(
            &dpo,
            create,
            json!({ "i": { "key": "seminars", "name": "Again", "marketing": true } }),
        )
        .await;
    assert_eq!(duplicate["errors"][0]["extensions"]["code"], "CONFLICT");
    let bad = app
        .gql_as(
            &dpo,
            create,
            json!({ "i": { "key": "Seminari 2027", "name": "x", "marketing": true } }),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "input.key");
    let denied = app
        .gql_as(
            &staff,
            create,
            json!({ "i": { "key": "other", "name": "x", "marketing": false } }),
        )
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let purposes = app.gql_as(&staff, "{ purposes { key } }", json!({})).await;
    assert!(purposes["data"]["purposes"]
        .as_array()
        .expect("purposes")
        .contains(&json!({ "key": "seminars" })));
    // A campaign must serve a purpose the firm has.
    let error = app
        .error("mutation { createCampaign(input: { name: \"X\", purpose: \"cold_calls\" }) { campaign { id } } }", json!({}))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        fields_of(&error).contains(&"input.purpose".to_owned()),
        "{error:#}"
    );
    // The new purpose is usable at once, with its marketing rules.
    let person = create_person(
        &app,
        "Lia",
        "Test",
        json!({ "grounds": [consent("seminars")] }),
    )
    .await;
    assert!(!person.is_empty());
    // Assessments are the DPO's to write; staff cannot read the register.
    let denied = app
        .gql_as(&staff, "{ assessments { id } }", json!({}))
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let in_use = lia(&app, &["seminars"], "APPROVED").await;
    let acme = create_organization(&app, "Acme SpA", json!({ "grounds": [{ "purpose": "seminars", "legalBasis": "LEGITIMATE_INTEREST", "assessmentId": in_use }] })).await;
    assert!(!acme.is_empty());
    let error = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { deleteAssessment(input: { id: $id }) { deletedId } }",
            json!({ "id": in_use }),
        )
        .await;
    assert_eq!(
        error["errors"][0]["extensions"]["code"], "CONFLICT",
        "cited assessments are evidence: {error:#}"
    );
}

on_both_backends!(
    contacts_need_a_source_and_a_legal_basis,
    bases_follow_the_configured_rules,
    withdrawals_and_objections_end_grounds_and_suppress,
    campaigns_reach_only_those_with_a_valid_ground,
    purposes_and_campaign_purposes_are_checked,
);
