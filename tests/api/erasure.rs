//! Erasure (Art. 17): without a hold no personal value of the person survives in any table;
//! a legal hold keeps exactly what the case file needs; tombstones and suppressions recognise
//! the person later; the erasure log says what went and why the rest stayed.

use lexgate::gdpr::tombstones::{ExternalId, Identifiers};
use serde_json::{json, Value};

use crate::fixtures::{
    assert_error, create_matter, create_organization, create_person, find_values, gdpr_records,
    verified_request,
};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const GIVEN: &str = "Ermenegilda";
const FAMILY: &str = "Zuccarotti";
const CODICE_FISCALE: &str = "RSSMRA85T10A562S";
const EMAIL: &str = "ermenegilda.z@posta-esempio.it";
const OLD_EMAIL: &str = "vecchia.ermenegilda@posta-esempio.it";
const PHONE: &str = "+393475550199";
const STREET: &str = "Via Ghirlandaio 77";
const NOTE: &str = "Prefers calls after the penicillin shortage";
const TAG: &str = "golf-enthusiast";
const JOB: &str = "Sommelier capo";
const EXTERNAL_ID: &str = "BILL-99871";
const REQUESTER: &str = "Ermenegilda Z. in person";

/// Every personal value the person has anywhere, except the held identity.
const UNHELD_VALUES: &[&str] = &[
    EMAIL,
    OLD_EMAIL,
    PHONE,
    "347 555 0199",
    "Ghirlandaio",
    "penicillin",
    TAG,
    "Sommelier",
    EXTERNAL_ID,
    "Z. in person",
];

const EXECUTE: &str = "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { request { status requesterName executedAt } erasure { contactDeleted erasedCategories keptCategories holdReasons contactId } } }";

struct Person {
    id: String,
    matter: Option<String>,
    communication_in_matter: Option<String>,
    communication_alone: String,
    deadline_alone: String,
}

/// A person present in every table that can hold a contact, optionally a party to `matter`.
async fn person_everywhere(app: &TestApp, dpo: &str, matter_extra: Option<Value>) -> Person {
    let org = create_organization(app, "Enoteca Srl", json!({})).await;
    let id = create_person(
        app,
        GIVEN,
        FAMILY,
        json!({
            "codiceFiscale": CODICE_FISCALE,
            "emails": [{ "address": OLD_EMAIL }],
            "phones": [{ "number": "347 555 0199" }],
            "addresses": [{ "street": STREET, "city": "Firenze" }],
            "tags": [TAG],
            "notes": NOTE,
            "affiliations": [{ "organizationId": org, "jobTitle": JOB }],
        }),
    )
    .await;
    // A rectification, so the history holds old and new values.
    let body = app
        .gql_as(
            dpo,
            "mutation($id: ID!, $e: String!) { updateContact(input: { id: $id, emails: [{ address: $e }] }) { contact { id } } }",
            json!({ "id": id, "e": EMAIL }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    gdpr_records(app, &id, EXTERNAL_ID, FAMILY).await;
    let matter = match matter_extra {
        Some(extra) => Some(create_matter(app, "2026/0042", &id, extra).await),
        None => None,
    };
    let log = |matter: Option<&String>| {
        json!({ "input": { "channel": "PHONE", "direction": "INBOUND", "occurredAt": "2026-10-02T10:00:00Z",
                "subject": "Call", "summary": "Discussed fees", "matterId": matter, "participantIds": [id] } })
    };
    let communication = |body: Value| {
        body["logCommunication"]["communication"]["id"]
            .as_str()
            .expect("communication id")
            .to_owned()
    };
    const LOG: &str = "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }";
    let communication_alone = communication(app.data(LOG, log(None)).await);
    let communication_in_matter = match &matter {
        Some(m) => Some(communication(app.data(LOG, log(Some(m))).await)),
        None => None,
    };
    let deadline = app
        .data(
            "mutation($c: ID!) { createDeadline(input: { title: \"Call back\", kind: INTERNAL_TASK, dueAt: \"2026-12-01T09:00:00Z\", contactId: $c }) { deadline { id } } }",
            json!({ "c": id }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned();
    Person {
        id,
        matter,
        communication_in_matter,
        communication_alone,
        deadline_alone: deadline,
    }
}

async fn is_erased(app: &TestApp, ids: Identifiers) -> bool {
    app.db
        .run(move |c| {
            let hasher = lexgate::gdpr::KeyedHasher::load(c, None)?;
            lexgate::gdpr::is_erased(c, &hasher, &ids)
        })
        .await
        .expect("tombstones read")
}

fn emails(list: &[&str]) -> Identifiers {
    Identifiers {
        emails: list.iter().map(|e| (*e).to_owned()).collect(),
        ..Identifiers::default()
    }
}

async fn erasure_without_a_hold_leaves_no_personal_value_anywhere(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = person_everywhere(&app, &dpo, None).await;
    assert!(
        !find_values(&app, &[FAMILY, EMAIL, EXTERNAL_ID, "penicillin"]).is_empty(),
        "the person is there before the erasure"
    );
    let request = verified_request(&app, &dpo, "ERASURE", &person.id, REQUESTER).await;

    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": request })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let result = &body["data"]["executeErasure"];
    assert_eq!(result["request"]["status"], "EXECUTED");
    assert_eq!(result["request"]["requesterName"], Value::Null);
    assert_eq!(result["erasure"]["contactDeleted"], true);
    assert_eq!(result["erasure"]["keptCategories"], json!([]));
    assert_eq!(result["erasure"]["contactId"], person.id.as_str());
    let erased = result["erasure"]["erasedCategories"].to_string();
    for category in ["emails", "phones", "consents", "change history values"] {
        assert!(erased.contains(category), "{erased}");
    }

    let mut needles = vec![GIVEN, FAMILY, CODICE_FISCALE];
    needles.extend_from_slice(UNHELD_VALUES);
    let survivors = find_values(&app, &needles);
    assert!(
        survivors.is_empty(),
        "personal values survived: {survivors:#?}"
    );

    let gone = app
        .gql_as(
            &dpo,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": person.id }),
        )
        .await;
    assert_eq!(gone["data"]["node"], Value::Null, "{gone:#}");
    let records = app
        .data(
            "query($c: ID!, $d: ID!) { c: node(id: $c) { ... on Communication { id participants { id } } } d: node(id: $d) { ... on Deadline { id contact { id } } } }",
            json!({ "c": person.communication_alone, "d": person.deadline_alone }),
        )
        .await;
    assert_eq!(
        records["c"]["participants"],
        json!([]),
        "the firm's record stays, without the person"
    );
    assert_eq!(records["d"]["contact"], Value::Null);

    // Tombstones recognise every identifier, however it is written; nothing else.
    assert!(is_erased(&app, emails(&["Ermenegilda.Z@Posta-Esempio.it"])).await);
    assert!(
        !is_erased(&app, emails(&[OLD_EMAIL])).await,
        "an address no longer held is not buried"
    );
    assert!(
        is_erased(
            &app,
            Identifiers {
                phones: vec![PHONE.to_owned()],
                ..Identifiers::default()
            }
        )
        .await
    );
    assert!(
        is_erased(
            &app,
            Identifiers {
                tax_codes: vec![CODICE_FISCALE.to_lowercase()],
                ..Identifiers::default()
            }
        )
        .await
    );
    let external = |connector: &str| Identifiers {
        external_ids: vec![ExternalId {
            connector: connector.to_owned(),
            id: EXTERNAL_ID.to_owned(),
        }],
        ..Identifiers::default()
    };
    assert!(is_erased(&app, external("billing")).await);
    assert!(!is_erased(&app, external("mailer")).await);
    assert!(!is_erased(&app, emails(&["someone.else@posta-esempio.it"])).await);

    let suppressed: i64 = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            use lexgate::db::schema::suppressions;
            Ok(suppressions::table
                .filter(suppressions::reason.eq("erasure"))
                .count()
                .get_result(c)?)
        })
        .await
        .expect("suppressions counted");
    assert_eq!(suppressed, 2, "the email and the phone are suppressed");

    let log = app
        .gql_as(
            &dpo,
            "{ erasureLog(first: 5) { totalCount nodes { requestId contactDeleted } } }",
            json!({}),
        )
        .await;
    assert_eq!(log["data"]["erasureLog"]["totalCount"], 1, "{log:#}");
    assert_eq!(
        log["data"]["erasureLog"]["nodes"][0]["requestId"],
        request.as_str()
    );
    // The access log still names the (now erased) subject by ID, with the erasure as a write.
    let accesses = app
        .gql_as(&dpo, "query($s: ID!) { accessLog(subject: $s, first: 50) { nodes { action operationName } } }", json!({ "s": person.id }))
        .await;
    let actions = accesses["data"]["accessLog"]["nodes"].to_string();
    assert!(actions.contains("WRITE"), "{accesses:#}");
}

async fn a_held_contact_keeps_exactly_the_held_parts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = person_everywhere(&app, &dpo, Some(json!({}))).await;
    let request = verified_request(&app, &dpo, "ERASURE", &person.id, REQUESTER).await;

    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": request })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let erasure = &body["data"]["executeErasure"]["erasure"];
    assert_eq!(erasure["contactDeleted"], false);
    assert!(
        erasure["keptCategories"]
            .to_string()
            .contains("links to held matters"),
        "{erasure:#}"
    );
    assert!(
        erasure["holdReasons"].to_string().contains("2026/0042"),
        "{erasure:#}"
    );
    // Each category appears once: erased, or kept with what of it stayed.
    let listed = |key: &str| -> Vec<String> {
        erasure[key]
            .as_array()
            .unwrap_or_else(|| panic!("{erasure:#}"))
            .iter()
            .map(|c| {
                let text = c.as_str().expect("a category");
                text.split(" (").next().unwrap_or(text).to_owned()
            })
            .collect()
    };
    let (erased, kept) = (listed("erasedCategories"), listed("keptCategories"));
    for partly in [
        "matter links",
        "communication participation",
        "processing grounds",
    ] {
        assert!(kept.iter().any(|c| c == partly), "{partly}: {erasure:#}");
        assert!(!erased.iter().any(|c| c == partly), "{partly}: {erasure:#}");
    }
    let mut all: Vec<&String> = erased.iter().chain(&kept).collect();
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "a category listed twice: {erasure:#}");

    // Only the identity the case file needs survives, and only on the contact row.
    let survivors = find_values(&app, UNHELD_VALUES);
    assert!(
        survivors.is_empty(),
        "unheld values survived: {survivors:#?}"
    );
    let identity = find_values(&app, &[GIVEN, FAMILY, CODICE_FISCALE]);
    assert!(!identity.is_empty());
    for (table, column, _) in &identity {
        assert_eq!(table, "contacts", "identity kept elsewhere: {identity:#?}");
        assert!(
            [
                "given_name",
                "family_name",
                "display_name",
                "sort_name",
                "codice_fiscale"
            ]
            .contains(&column.as_str()),
            "{identity:#?}"
        );
    }

    let contact = app
        .data(
            "query($id: ID!) { contact(id: $id) { givenName familyName codiceFiscale emails { address } phones { number } addresses { street } tags notes organizations { jobTitle } restriction { reason } matters { id } communications(first: 10) { nodes { id } } } }",
            json!({ "id": person.id }),
        )
        .await["contact"]
        .clone();
    assert_eq!(contact["givenName"], GIVEN);
    assert_eq!(contact["familyName"], FAMILY);
    assert_eq!(contact["codiceFiscale"], CODICE_FISCALE);
    for empty in ["emails", "phones", "addresses", "tags", "organizations"] {
        assert_eq!(contact[empty], json!([]), "{empty}: {contact:#}");
    }
    assert_eq!(contact["notes"], Value::Null);
    assert!(
        contact["restriction"]["reason"].as_str().is_some(),
        "the remainder is restricted"
    );
    assert_eq!(contact["matters"], json!([{ "id": person.matter }]));
    assert_eq!(
        contact["communications"]["nodes"],
        json!([{ "id": person.communication_in_matter }]),
        "only the held matter's communication keeps the person"
    );
    let (_, key) = lexgate::ids::parse(&person.id).expect("contact id");
    let grounds: Vec<Option<String>> = app
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::processing_grounds as g;
            Ok(g::table
                .filter(g::contact_id.eq(key))
                .select(g::end_reason)
                .load(c)?)
        })
        .await
        .expect("grounds read");
    assert!(!grounds.is_empty());
    assert!(
        grounds.iter().all(|r| r.as_deref() == Some("erasure")),
        "every ground but matter handling ends: {grounds:?}"
    );
}

async fn a_matter_closed_over_ten_years_ago_holds_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = person_everywhere(&app, &dpo, Some(json!({ "openedOn": "2013-03-01" }))).await;
    let matter = person.matter.clone().expect("matter");
    app.data(
        "mutation($id: ID!) { updateMatter(input: { id: $id, status: CLOSED, closedOn: \"2015-06-30\" }) { matter { id } } }",
        json!({ "id": matter }),
    )
    .await;
    let request = verified_request(&app, &dpo, "ERASURE", &person.id, REQUESTER).await;
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": request })).await;
    assert_eq!(
        body["data"]["executeErasure"]["erasure"]["contactDeleted"], true,
        "{body:#}"
    );
    let matter = app
        .data(
            "query($id: ID!) { matter(id: $id) { clients { id } } }",
            json!({ "id": matter }),
        )
        .await;
    assert_eq!(matter["matter"]["clients"], json!([]));
    assert!(find_values(&app, &[FAMILY, EMAIL]).is_empty());
}

async fn an_explicit_hold_keeps_the_identity_until_released(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = person_everywhere(&app, &dpo, None).await;
    const PLACE: &str = "mutation($input: PlaceLegalHoldInput!) { placeLegalHold(input: $input) { legalHold { id active reason contact { id } matterId } } }";
    let missing = app
        .gql_as(
            &dpo,
            PLACE,
            json!({ "input": { "reason": "x", "legalBasis": "y" } }),
        )
        .await;
    assert_error(&missing["errors"][0], "BAD_USER_INPUT", "input.contactId");
    let blank = app
        .gql_as(&dpo, PLACE, json!({ "input": { "contactId": person.id, "reason": " ", "legalBasis": "Art. 17(3)(e)" } }))
        .await;
    assert_error(&blank["errors"][0], "BAD_USER_INPUT", "input.reason");
    let placed = app
        .gql_as(&dpo, PLACE, json!({ "input": { "contactId": person.id, "reason": "Pending dispute over fees", "legalBasis": "Art. 17(3)(e) GDPR" } }))
        .await;
    let hold = placed["data"]["placeLegalHold"]["legalHold"].clone();
    assert_eq!(hold["active"], true, "{placed:#}");
    assert_eq!(hold["contact"]["id"], person.id.as_str());
    let listed = app
        .gql_as(
            &dpo,
            "query($c: ID!) { legalHolds(contactId: $c) { id } }",
            json!({ "c": person.id }),
        )
        .await;
    assert_eq!(listed["data"]["legalHolds"], json!([{ "id": hold["id"] }]));
    // An admin manages the firm, not its legal holds.
    let refused = app
        .gql(
            PLACE,
            json!({ "input": { "contactId": person.id, "reason": "r", "legalBasis": "b" } }),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let request = verified_request(&app, &dpo, "ERASURE", &person.id, REQUESTER).await;
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": request })).await;
    let erasure = &body["data"]["executeErasure"]["erasure"];
    assert_eq!(erasure["contactDeleted"], false, "{body:#}");
    assert!(erasure["holdReasons"]
        .to_string()
        .contains("Pending dispute over fees"));
    assert!(find_values(&app, UNHELD_VALUES).is_empty());

    const RELEASE: &str = "mutation($id: ID!) { releaseLegalHold(input: { id: $id }) { legalHold { active releasedAt } } }";
    let released = app.gql_as(&dpo, RELEASE, json!({ "id": hold["id"] })).await;
    assert_eq!(
        released["data"]["releaseLegalHold"]["legalHold"]["active"], false,
        "{released:#}"
    );
    let again = app.gql_as(&dpo, RELEASE, json!({ "id": hold["id"] })).await;
    assert_error(&again["errors"][0], "CONFLICT", "input.id");
}

async fn an_erasure_needs_a_verified_erasure_request_naming_a_contact(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let contact = create_person(&app, "Aldo", "Moretti", json!({})).await;
    const CREATE: &str = "mutation($input: CreateSubjectRequestInput!) { createSubjectRequest(input: $input) { request { id } } }";
    let unverified = app
        .gql_as(&dpo, CREATE, json!({ "input": { "kind": "ERASURE", "channel": "PEC", "requesterName": "Aldo", "contactId": contact } }))
        .await["data"]["createSubjectRequest"]["request"]["id"]
        .clone();
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": unverified })).await;
    assert_error(&body["errors"][0], "CONFLICT", "input.requestId");

    let access = verified_request(&app, &dpo, "ACCESS", &contact, "Aldo").await;
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": access })).await;
    assert_error(&body["errors"][0], "BAD_USER_INPUT", "input.requestId");

    let anonymous = app
        .gql_as(&dpo, CREATE, json!({ "input": { "kind": "ERASURE", "channel": "LETTER", "requesterName": "Someone" } }))
        .await["data"]["createSubjectRequest"]["request"]["id"]
        .clone();
    app.gql_as(&dpo, "mutation($id: ID!) { verifySubjectIdentity(input: { id: $id, method: \"signed letter\" }) { request { id } } }", json!({ "id": anonymous }))
        .await;
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": anonymous })).await;
    assert_error(&body["errors"][0], "BAD_USER_INPUT", "input.requestId");

    let body = app
        .gql_as(
            &dpo,
            EXECUTE,
            json!({ "id": crate::fixtures::missing_id("SubjectRequest") }),
        )
        .await;
    assert_error(&body["errors"][0], "BAD_USER_INPUT", "input.requestId");
    let body = app.gql(EXECUTE, json!({ "id": unverified })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body:#}"
    );
    // Nothing was erased by the refused attempts.
    assert!(!find_values(&app, &["Moretti"]).is_empty());
}

/// An erased person's email, phone or tax code is refused on a new or updated contact
/// (`ERASED_SUBJECT`) unless the caller confirms they came back on a new source and basis;
/// the source then records the return.
async fn an_erased_person_comes_back_only_when_confirmed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = person_everywhere(&app, &dpo, None).await;
    let request = verified_request(&app, &dpo, "ERASURE", &person.id, REQUESTER).await;
    let body = app.gql_as(&dpo, EXECUTE, json!({ "id": request })).await;
    assert!(body.get("errors").is_none(), "{body:#}");

    const CREATE: &str = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id sources { detail } } } }";
    let input = |extra: Value| {
        let mut input = json!({ "kind": "PERSON", "givenName": "Gildina", "familyName": "Z.", "category": "CLIENT" });
        crate::fixtures::merge(&mut input, extra);
        json!({ "input": crate::fixtures::with_provenance(input) })
    };
    for extra in [
        json!({ "emails": [{ "address": EMAIL.to_uppercase() }] }),
        json!({ "phones": [{ "number": "347 555 0199" }] }),
        json!({ "codiceFiscale": CODICE_FISCALE.to_lowercase() }),
    ] {
        let error = app.error(CREATE, input(extra.clone())).await;
        assert_error(&error, "ERASED_SUBJECT", "input.confirmReturningSubject");
        assert!(
            find_values(&app, &["Gildina"]).is_empty(),
            "{extra}: half-written"
        );
    }
    // Confirmed, on a new documented source: created, and the source says so.
    let mut confirmed = input(json!({
        "emails": [{ "address": EMAIL }],
        "confirmReturningSubject": true,
        "source": { "kind": "REFERRAL", "detail": "Came back through Avv. Neri", "acquiredAt": "2026-11-02T10:00:00Z" },
    }));
    confirmed["input"]["grounds"] =
        json!([{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }]);
    let created = app.data(CREATE, confirmed).await;
    let detail = created["createContact"]["contact"]["sources"][0]["detail"].clone();
    assert_eq!(
        detail,
        "Came back through Avv. Neri (returning after an erasure, confirmed on this source)",
        "{created:#}"
    );
    // Confirming for someone never erased notes nothing.
    let fresh = app
        .data(
            CREATE,
            input(json!({ "emails": [{ "address": "new@posta-esempio.it" }], "confirmReturningSubject": true })),
        )
        .await;
    assert_eq!(
        fresh["createContact"]["contact"]["sources"][0]["detail"],
        "Entered for the test"
    );

    // Adding an erased person's number to an existing contact needs the same confirmation.
    let other = create_person(&app, "Ada", "Conti", json!({})).await;
    const UPDATE: &str = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { contact { phones { number } sources { detail } } } }";
    let error = app
        .error(
            UPDATE,
            json!({ "input": { "id": other, "phones": [{ "number": PHONE }] } }),
        )
        .await;
    assert_error(&error, "ERASED_SUBJECT", "input.returningSubjectSource");
    let unchanged = app
        .data(
            "query($id: ID!) { contact(id: $id) { phones { number } } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(unchanged["contact"]["phones"], json!([]));
    let updated = app
        .data(
            UPDATE,
            json!({ "input": { "id": other, "phones": [{ "number": PHONE }],
                "returningSubjectSource": { "kind": "EMAIL", "detail": "Wrote to us again", "acquiredAt": "2026-11-03T10:00:00Z" } } }),
        )
        .await;
    let contact = &updated["updateContact"]["contact"];
    assert_eq!(contact["phones"], json!([{ "number": PHONE }]));
    assert!(
        contact["sources"]
            .to_string()
            .contains("Wrote to us again (returning after an erasure"),
        "{updated:#}"
    );
}

on_both_backends!(
    an_erased_person_comes_back_only_when_confirmed,
    erasure_without_a_hold_leaves_no_personal_value_anywhere,
    a_held_contact_keeps_exactly_the_held_parts,
    a_matter_closed_over_ten_years_ago_holds_nothing,
    an_explicit_hold_keeps_the_identity_until_released,
    an_erasure_needs_a_verified_erasure_request_naming_a_contact,
);
