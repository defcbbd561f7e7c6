//! Tests of contacts.
//!
//! People and organisations end to end over HTTP: creation with normalised child records,
//! validation errors with input paths, updates, deletion, filters, ordering, Relay
//! pagination, duplicate detection and merging.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

// Valid Italian tax identifiers (check characters verified).
const CF_MARIO: &str = "RSSMRA85T10A562S";
const CF_MATTEO: &str = "MRTMTT25D09F205Z";
const CF_LAURA: &str = "BNCLRA90A41H501F";
const PIVA_A: &str = "12345678903";
const PIVA_B: &str = "09876543217";
const PIVA_C: &str = "13579246805";

const CONTACT_FIELDS: &str = "id kind category displayName givenName familyName \
    organizationName codiceFiscale partitaIva notes \
    emails { address label isPec } pec phones { number label } \
    addresses { label street postalCode city province country } tags \
    responsible { id } \
    organizations { jobTitle organization { id displayName } person { id } } \
    members { jobTitle person { id displayName } organization { id } } \
    createdAt updatedAt";

const CREATE: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";

fn update_mutation() -> String {
    format!(
        "mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ contact {{ {CONTACT_FIELDS} }} }} }}"
    )
}

const DELETE: &str =
    "mutation($input: DeleteInput!) { deleteContact(input: $input) { deletedId } }";

const MERGE: &str = "mutation($input: MergeContactsInput!) { mergeContacts(input: $input) { contact { id displayName } } }";

const DUPLICATES: &str = "query($id: ID) { findDuplicates(contactId: $id) { reason value contacts { id displayName } } }";

/// A Contact ID that is well formed but names no stored contact.
fn missing_contact_id() -> String {
    lexgate::ids::encode(
        lexgate::ids::NodeType::Contact,
        &uuid::Uuid::now_v7().to_string(),
    )
    .0
}

/// A User ID that is well formed but names no stored user.
fn missing_user_id() -> String {
    lexgate::ids::encode(
        lexgate::ids::NodeType::User,
        &uuid::Uuid::now_v7().to_string(),
    )
    .0
}

async fn get_contact(app: &TestApp, id: &str) -> Value {
    let data = app
        .data(
            &format!("query($id: ID!) {{ contact(id: $id) {{ {CONTACT_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    data["contact"].clone()
}

/// Display names of the contacts matching `filter` (ordered by `order`, or by name), checking
/// on the way that `totalCount` agrees with the number of nodes.
async fn names_ordered(app: &TestApp, filter: Value, order: Value) -> Vec<String> {
    let data = app
        .data(
            "query($filter: ContactFilter, $order: ContactOrder) { contacts(filter: $filter, orderBy: $order, first: 1000) { totalCount nodes { displayName } } }",
            json!({ "filter": filter, "order": order }),
        )
        .await;
    let nodes = data["contacts"]["nodes"].as_array().expect("nodes").clone();
    assert_eq!(
        data["contacts"]["totalCount"].as_i64(),
        Some(nodes.len() as i64),
        "totalCount must equal the number of matching contacts: {data:#}"
    );
    nodes
        .iter()
        .map(|n| n["displayName"].as_str().expect("displayName").to_owned())
        .collect()
}

async fn names(app: &TestApp, filter: Value) -> Vec<String> {
    names_ordered(app, filter, Value::Null).await
}

async fn total(app: &TestApp) -> i64 {
    let data = app.data("{ contacts { totalCount } }", json!({})).await;
    data["contacts"]["totalCount"].as_i64().expect("totalCount")
}

async fn create_error(app: &TestApp, input: Value) -> Value {
    app.error(
        CREATE,
        json!({ "input": crate::fixtures::with_provenance(input) }),
    )
    .await
}

async fn update_error(app: &TestApp, input: Value) -> Value {
    app.error(&update_mutation(), json!({ "input": input }))
        .await
}

async fn update(app: &TestApp, input: Value) -> Value {
    let data = app
        .data(&update_mutation(), json!({ "input": input }))
        .await;
    data["updateContact"]["contact"].clone()
}

fn person(given: &str, family: &str, extra: Value) -> Value {
    let mut input =
        json!({ "kind": "PERSON", "givenName": given, "familyName": family, "category": "CLIENT" });
    merge(&mut input, extra);
    input
}

fn organization(name: &str, extra: Value) -> Value {
    let mut input =
        json!({ "kind": "ORGANIZATION", "organizationName": name, "category": "CLIENT" });
    merge(&mut input, extra);
    input
}

/// Asserts a BAD_USER_INPUT error whose first field is `field`.
fn assert_bad_input(error: &Value, field: &str) {
    assert_eq!(
        error["extensions"]["code"], "BAD_USER_INPUT",
        "expected BAD_USER_INPUT: {error:#}"
    );
    assert_eq!(
        error["extensions"]["field"], field,
        "expected the error to name {field}: {error:#}"
    );
}

/// The `field`s of `extensions.fieldErrors`.
fn error_fields(error: &Value) -> Vec<String> {
    error["extensions"]["fieldErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no fieldErrors in {error:#}"))
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

fn field_message(error: &Value, field: &str) -> String {
    error["extensions"]["fieldErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no fieldErrors in {error:#}"))
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error for {field} in {error:#}"))["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value:#}"))
        .iter()
        .map(|v| {
            let v = if key.is_empty() { v } else { &v[key] };
            v.as_str()
                .unwrap_or_else(|| panic!("not a string: {v:#}"))
                .to_owned()
        })
        .collect()
}

fn ids_of(value: &Value) -> Vec<String> {
    strings(value, "id")
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

async fn creates_person_with_normalised_details(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let id = create_contact(
        &app,
        person(
            "  Mario ",
            " Rossi",
            json!({
                "category": "PROSPECT",
                "emails": [
                    { "address": " Mario.Rossi@Example.IT ", "label": "work" },
                    { "address": "mario.rossi@pec.it", "isPec": true }
                ],
                "phones": [
                    { "number": "02 1234 5678", "label": "office" },
                    { "number": "+39 333 123 4567" }
                ],
                "addresses": [
                    { "street": "Via Roma 1", "postalCode": "20121", "city": "Milano", "province": "mi" },
                    { "label": "home", "street": "Rue de Rivoli 5", "city": "Paris", "country": "fr" }
                ],
                "tags": ["VIP", " vip ", "Litigation", "vip"],
                "codiceFiscale": "rssmra 85t10 a562s",
                "partitaIva": "IT 1234567890 3",
                "notes": "  prefers phone calls  ",
                "responsibleUserId": lawyer,
            }),
        ),
    )
    .await;

    let c = get_contact(&app, &id).await;
    assert_eq!(c["id"], id);
    assert_eq!(c["kind"], "PERSON");
    assert_eq!(c["category"], "PROSPECT");
    assert_eq!(c["givenName"], "Mario");
    assert_eq!(c["familyName"], "Rossi");
    assert_eq!(c["displayName"], "Mario Rossi");
    assert_eq!(c["organizationName"], Value::Null);
    assert_eq!(c["codiceFiscale"], CF_MARIO);
    assert_eq!(c["partitaIva"], PIVA_A);
    assert_eq!(c["notes"], "prefers phone calls");
    assert_eq!(
        c["emails"],
        json!([
            // The domain is lower-cased, the local part kept as typed.
            { "address": "Mario.Rossi@example.it", "label": "work", "isPec": false },
            { "address": "mario.rossi@pec.it", "label": null, "isPec": true }
        ])
    );
    assert_eq!(c["pec"], "mario.rossi@pec.it");
    assert_eq!(
        c["phones"],
        json!([
            { "number": "+390212345678", "label": "office" },
            { "number": "+393331234567", "label": null }
        ])
    );
    assert_eq!(
        c["addresses"],
        json!([
            { "label": null, "street": "Via Roma 1", "postalCode": "20121", "city": "Milano", "province": "MI", "country": "IT" },
            { "label": "home", "street": "Rue de Rivoli 5", "postalCode": null, "city": "Paris", "province": null, "country": "FR" }
        ])
    );
    assert_eq!(c["tags"], json!(["litigation", "vip"]));
    assert_eq!(c["responsible"]["id"], lawyer);
    assert_eq!(c["organizations"], json!([]));
    assert_eq!(c["members"], json!([]));
    assert_eq!(c["createdAt"], c["updatedAt"]);
}

async fn creates_organization_with_affiliated_person(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(
        &app,
        "Acme S.p.A.",
        json!({
            "codiceFiscale": "01114601006",
            "partitaIva": PIVA_B,
            "emails": [{ "address": "acme@legalmail.it", "isPec": true }],
            "phones": [{ "number": "06 1234 5678" }],
        }),
    )
    .await;
    let other_org = create_organization(&app, "Beta S.r.l.", json!({})).await;
    let anna = create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "affiliations": [
            { "organizationId": org, "jobTitle": " General Counsel " },
            { "organizationId": other_org }
        ] }),
    )
    .await;

    let o = get_contact(&app, &org).await;
    assert_eq!(o["kind"], "ORGANIZATION");
    assert_eq!(o["displayName"], "Acme S.p.A.");
    assert_eq!(o["organizationName"], "Acme S.p.A.");
    assert_eq!(o["givenName"], Value::Null);
    assert_eq!(o["familyName"], Value::Null);
    assert_eq!(o["codiceFiscale"], "01114601006");
    assert_eq!(o["partitaIva"], PIVA_B);
    assert_eq!(o["pec"], "acme@legalmail.it");
    assert_eq!(o["phones"][0]["number"], "+390612345678");
    assert_eq!(
        o["members"],
        json!([{ "jobTitle": "General Counsel", "person": { "id": anna, "displayName": "Anna Bianchi" }, "organization": { "id": org } }])
    );
    assert_eq!(o["organizations"], json!([]));

    let p = get_contact(&app, &anna).await;
    let mut orgs: Vec<(String, Value)> = p["organizations"]
        .as_array()
        .expect("organizations")
        .iter()
        .map(|a| {
            assert_eq!(a["person"]["id"], anna);
            (
                a["organization"]["displayName"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
                a["jobTitle"].clone(),
            )
        })
        .collect();
    orgs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        orgs,
        vec![
            ("Acme S.p.A.".to_owned(), json!("General Counsel")),
            ("Beta S.r.l.".to_owned(), Value::Null),
        ]
    );
    assert_eq!(p["members"], json!([]));
    let beta = get_contact(&app, &other_org).await;
    assert_eq!(
        ids_of(&Value::Array(
            beta["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["person"].clone())
                .collect()
        )),
        vec![anna]
    );
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

async fn rejects_person_without_family_name(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        json!({ "kind": "PERSON", "givenName": "Mario", "familyName": "   ", "category": "CLIENT" }),
    )
    .await;
    assert_bad_input(&error, "input.familyName");
    assert_eq!(error_fields(&error), vec!["input.familyName"]);

    let error = create_error(
        &app,
        json!({ "kind": "PERSON", "familyName": "Rossi", "organizationName": "Acme", "category": "CLIENT" }),
    )
    .await;
    assert_bad_input(&error, "input.organizationName");
    assert_eq!(total(&app).await, 0);
}

async fn rejects_organization_with_person_names(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(&app, organization("Acme", json!({ "givenName": "Mario" }))).await;
    assert_bad_input(&error, "input.givenName");

    let error = create_error(&app, organization("Acme", json!({ "familyName": "Rossi" }))).await;
    assert_bad_input(&error, "input.givenName");

    let error = create_error(
        &app,
        json!({ "kind": "ORGANIZATION", "organizationName": " ", "category": "CLIENT" }),
    )
    .await;
    assert_bad_input(&error, "input.organizationName");

    let person_id = create_person(&app, "Anna", "Bianchi", json!({})).await;
    let error = create_error(
        &app,
        organization(
            "Acme",
            json!({ "affiliations": [{ "organizationId": person_id }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations");
    assert_eq!(total(&app).await, 1);
}

async fn rejects_codice_fiscale_with_wrong_check_character(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "codiceFiscale": "RSSMRA85T10A562X" }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.codiceFiscale");
    let message = field_message(&error, "input.codiceFiscale");
    assert!(
        message.contains("check character") && message.contains("'S'") && message.contains("'X'"),
        "message should name the expected check character: {message}"
    );
    assert!(error["message"]
        .as_str()
        .expect("message")
        .contains("check character"));
    assert_eq!(total(&app).await, 0);
}

async fn rejects_company_codice_fiscale_for_person(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        person("Mario", "Rossi", json!({ "codiceFiscale": "01114601006" })),
    )
    .await;
    assert_bad_input(&error, "input.codiceFiscale");
    assert!(field_message(&error, "input.codiceFiscale").contains("16"));
    // The same 11-digit code is fine for an organisation.
    let org = create_organization(&app, "Acme", json!({ "codiceFiscale": "01114601006" })).await;
    assert_eq!(
        get_contact(&app, &org).await["codiceFiscale"],
        "01114601006"
    );
    assert_eq!(total(&app).await, 1);
}

async fn rejects_invalid_partita_iva(backend: Backend) {
    let app = TestApp::start(backend).await;
    for bad in ["12345678904", "1234567890", "IT12345A78903"] {
        let error = create_error(&app, organization("Acme", json!({ "partitaIva": bad }))).await;
        assert_bad_input(&error, "input.partitaIva");
    }
    let error = create_error(
        &app,
        organization("Acme", json!({ "partitaIva": "12345678904" })),
    )
    .await;
    assert!(
        field_message(&error, "input.partitaIva").contains("check"),
        "{error:#}"
    );
    assert_eq!(total(&app).await, 0);
}

async fn rejects_bad_email_and_phone_with_input_path(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "emails": [{ "address": "ok@example.it" }, { "address": "not-an-email" }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.emails[1].address");
    assert!(field_message(&error, "input.emails[1].address").contains("e-mail"));

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "phones": [{ "number": "02 1234 5678" }, { "number": "+39 333 123 4567" }, { "number": "12" }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.phones[2].number");
    assert!(field_message(&error, "input.phones[2].number").contains("phone"));

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "phones": [{ "number": "02 1234 5678" }, { "number": "+390212345678" }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.phones[1].number");

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "addresses": [{ "street": "Via Roma 1", "city": " ", "country": "ITA" }] }),
        ),
    )
    .await;
    assert_eq!(
        error_fields(&error),
        vec!["input.addresses[0].city", "input.addresses[0].country"]
    );

    let error = create_error(
        &app,
        person("Mario", "Rossi", json!({ "tags": ["ok", "  "] })),
    )
    .await;
    assert_bad_input(&error, "input.tags[1]");
    assert_eq!(total(&app).await, 0);
}

async fn rejects_duplicate_email_in_one_input(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "emails": [
                { "address": "mario@example.it" },
                { "address": "other@example.it" },
                { "address": "MARIO@Example.it", "isPec": true }
            ] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.emails[2].address");
    assert_eq!(error_fields(&error), vec!["input.emails[2].address"]);
    assert_eq!(total(&app).await, 0);
}

async fn rejects_affiliation_to_missing_or_non_organization(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(&app, "Acme", json!({})).await;
    let colleague = create_person(&app, "Anna", "Bianchi", json!({})).await;

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "affiliations": [{ "organizationId": org }, { "organizationId": missing_contact_id() }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[1].organizationId");

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "affiliations": [{ "organizationId": colleague }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[0].organizationId");

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "affiliations": [{ "organizationId": org }, { "organizationId": org }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[1].organizationId");

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "affiliations": [{ "organizationId": "garbage" }] }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[0].organizationId");

    assert_eq!(total(&app).await, 2);
    assert_eq!(get_contact(&app, &org).await["members"], json!([]));
}

async fn rejects_responsible_user_of_wrong_type_or_missing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let other = create_person(&app, "Anna", "Bianchi", json!({})).await;

    let error = create_error(
        &app,
        person("Mario", "Rossi", json!({ "responsibleUserId": other })),
    )
    .await;
    assert_bad_input(&error, "input.responsibleUserId");
    let message = field_message(&error, "input.responsibleUserId");
    assert!(
        message.contains("User") && message.contains("Contact"),
        "{message}"
    );

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "responsibleUserId": missing_user_id() }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.responsibleUserId");

    let error = create_error(
        &app,
        person("Mario", "Rossi", json!({ "responsibleUserId": "nope" })),
    )
    .await;
    assert_bad_input(&error, "input.responsibleUserId");
    assert_eq!(total(&app).await, 1);
}

async fn reports_every_invalid_field_at_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = create_error(
        &app,
        json!({
            "kind": "PERSON",
            "givenName": "Mario",
            "category": "CLIENT",
            "codiceFiscale": "RSSMRA85T10A562X",
            "partitaIva": "12345678904",
            "emails": [{ "address": "ok@example.it" }, { "address": "bad@" }],
            "phones": [{ "number": "abc" }],
            "tags": [""],
        }),
    )
    .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    let mut fields = error_fields(&error);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "input.codiceFiscale",
            "input.emails[1].address",
            "input.familyName",
            "input.partitaIva",
            "input.phones[0].number",
            "input.tags[0]",
        ]
    );
    // `field` is the first of them.
    assert_eq!(
        error["extensions"]["field"],
        error["extensions"]["fieldErrors"][0]["field"]
    );
    // Every message is a human sentence, never empty.
    for e in error["extensions"]["fieldErrors"].as_array().expect("list") {
        assert!(!e["message"].as_str().expect("message").is_empty());
    }
    assert_eq!(total(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// No half-writes
// ---------------------------------------------------------------------------------------------

async fn failed_create_leaves_no_contact(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(&app, "Acme", json!({})).await;
    let deleted_org = create_organization(&app, "Gone S.r.l.", json!({})).await;
    app.data(DELETE, json!({ "input": { "id": deleted_org } }))
        .await;
    assert_eq!(total(&app).await, 1);

    // Passes input validation; fails on the reference check in the database.
    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({
                "emails": [{ "address": "mario@example.it" }],
                "phones": [{ "number": "02 1234 5678" }],
                "tags": ["vip"],
                "affiliations": [{ "organizationId": org }, { "organizationId": deleted_org }],
            }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[1].organizationId");

    let error = create_error(
        &app,
        person(
            "Mario",
            "Rossi",
            json!({ "emails": [{ "address": "mario@example.it" }], "responsibleUserId": missing_user_id() }),
        ),
    )
    .await;
    assert_bad_input(&error, "input.responsibleUserId");

    assert_eq!(total(&app).await, 1);
    assert_eq!(
        names(&app, json!({ "text": "rossi" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "tags": ["vip"] })).await,
        Vec::<String>::new()
    );
    assert_eq!(get_contact(&app, &org).await["members"], json!([]));
    // No orphaned email or phone rows pair up with a new contact as duplicates.
    create_person(
        &app,
        "Maria",
        "Verdi",
        json!({ "emails": [{ "address": "mario@example.it" }], "phones": [{ "number": "02 1234 5678" }] }),
    )
    .await;
    let data = app.data(DUPLICATES, json!({})).await;
    assert_eq!(data["findDuplicates"], json!([]));
}

async fn failed_update_leaves_old_values(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(&app, "Acme", json!({})).await;
    let id = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "mario@example.it" }],
            "phones": [{ "number": "02 1234 5678" }],
            "tags": ["vip"],
            "notes": "original",
            "codiceFiscale": CF_MARIO,
            "affiliations": [{ "organizationId": org, "jobTitle": "CEO" }],
        }),
    )
    .await;
    let before = get_contact(&app, &id).await;

    // Fails on the reference check, after validation passed.
    let error = update_error(
        &app,
        json!({
            "id": id,
            "givenName": "Luigi",
            "notes": "changed",
            "emails": [{ "address": "luigi@example.it" }],
            "phones": [],
            "tags": ["new"],
            "affiliations": [{ "organizationId": missing_contact_id() }],
        }),
    )
    .await;
    assert_bad_input(&error, "input.affiliations[0].organizationId");

    // Fails validation: clearing the family name, with a bad email.
    let error = update_error(
        &app,
        json!({
            "id": id,
            "familyName": null,
            "codiceFiscale": null,
            "emails": [{ "address": "x" }],
        }),
    )
    .await;
    assert_eq!(
        error_fields(&error),
        vec!["input.familyName", "input.emails[0].address"]
    );

    // Fails on a missing responsible user.
    let error = update_error(
        &app,
        json!({ "id": id, "notes": "changed", "responsibleUserId": missing_user_id() }),
    )
    .await;
    assert_bad_input(&error, "input.responsibleUserId");

    let after = get_contact(&app, &id).await;
    assert_eq!(after, before);
    assert_eq!(after["notes"], "original");
    assert_eq!(after["emails"][0]["address"], "mario@example.it");
    assert_eq!(after["organizations"][0]["jobTitle"], "CEO");
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

async fn partial_update_keeps_other_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let org = create_organization(&app, "Acme", json!({})).await;
    let id = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "mario@example.it", "isPec": true }],
            "phones": [{ "number": "02 1234 5678" }],
            "addresses": [{ "street": "Via Roma 1", "city": "Milano" }],
            "tags": ["vip"],
            "codiceFiscale": CF_MARIO,
            "partitaIva": PIVA_A,
            "notes": "n",
            "responsibleUserId": lawyer,
            "affiliations": [{ "organizationId": org, "jobTitle": "CEO" }],
        }),
    )
    .await;
    let before = get_contact(&app, &id).await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let c = update(&app, json!({ "id": id, "givenName": "Luigi" })).await;
    assert_eq!(c["givenName"], "Luigi");
    assert_eq!(c["displayName"], "Luigi Rossi");
    for field in [
        "kind",
        "category",
        "familyName",
        "codiceFiscale",
        "partitaIva",
        "notes",
        "emails",
        "phones",
        "addresses",
        "tags",
        "responsible",
        "organizations",
        "createdAt",
    ] {
        assert_eq!(c[field], before[field], "{field} changed");
    }
    assert_ne!(c["updatedAt"], before["updatedAt"]);

    let c = update(&app, json!({ "id": id, "category": "COUNTERPARTY" })).await;
    assert_eq!(c["category"], "COUNTERPARTY");
    assert_eq!(c["givenName"], "Luigi");
    assert_eq!(c["tags"], json!(["vip"]));
    // And it is stored, not only returned.
    let stored = get_contact(&app, &id).await;
    assert_eq!(stored["category"], "COUNTERPARTY");
    assert_eq!(stored["displayName"], "Luigi Rossi");
    assert_eq!(
        names(&app, json!({ "text": "luigi" })).await,
        vec!["Luigi Rossi"]
    );
}

async fn null_clears_nullable_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let id = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "codiceFiscale": CF_MARIO,
            "partitaIva": PIVA_A,
            "notes": "to be removed",
            "responsibleUserId": lawyer,
        }),
    )
    .await;
    let c = update(
        &app,
        json!({ "id": id, "notes": null, "codiceFiscale": null, "givenName": null }),
    )
    .await;
    assert_eq!(c["notes"], Value::Null);
    assert_eq!(c["codiceFiscale"], Value::Null);
    assert_eq!(c["givenName"], Value::Null);
    assert_eq!(c["displayName"], "Rossi");
    assert_eq!(c["partitaIva"], PIVA_A);
    assert_eq!(c["responsible"]["id"], lawyer);

    let c = update(
        &app,
        json!({ "id": id, "partitaIva": null, "responsibleUserId": null }),
    )
    .await;
    assert_eq!(c["partitaIva"], Value::Null);
    assert_eq!(c["responsible"], Value::Null);

    let stored = get_contact(&app, &id).await;
    assert_eq!(stored["notes"], Value::Null);
    assert_eq!(stored["codiceFiscale"], Value::Null);
    assert_eq!(stored["responsible"], Value::Null);
    assert_eq!(
        names(&app, json!({ "responsibleUserId": lawyer })).await,
        Vec::<String>::new()
    );
    // The cleared codice fiscale no longer finds the contact.
    assert_eq!(
        names(&app, json!({ "text": CF_MARIO })).await,
        Vec::<String>::new()
    );

    // Values are validated and normalised on update too.
    let c = update(
        &app,
        json!({ "id": id, "codiceFiscale": "mrtmtt25d09f205z", "notes": "  again " }),
    )
    .await;
    assert_eq!(c["codiceFiscale"], CF_MATTEO);
    assert_eq!(c["notes"], "again");
}

async fn list_in_update_replaces_whole_list(backend: Backend) {
    let app = TestApp::start(backend).await;
    let acme = create_organization(&app, "Acme", json!({})).await;
    let beta = create_organization(&app, "Beta", json!({})).await;
    let id = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "a@example.it" }, { "address": "b@example.it" }],
            "phones": [{ "number": "02 1234 5678" }],
            "addresses": [{ "street": "Via Roma 1", "city": "Milano" }],
            "tags": ["one", "two"],
            "affiliations": [{ "organizationId": acme }],
        }),
    )
    .await;

    let c = update(
        &app,
        json!({
            "id": id,
            "emails": [{ "address": "C@Example.it", "isPec": true }],
            "phones": [{ "number": "333 123 4567" }, { "number": "06 1234 5678" }],
            "addresses": [{ "street": "Via Po 2", "city": "Torino", "province": "to" }],
            "tags": ["Three"],
            "affiliations": [{ "organizationId": beta, "jobTitle": "Counsel" }],
        }),
    )
    .await;
    assert_eq!(
        c["emails"],
        json!([{ "address": "C@example.it", "label": null, "isPec": true }])
    );
    assert_eq!(
        strings(&c["phones"], "number"),
        vec!["+393331234567", "+390612345678"]
    );
    assert_eq!(strings(&c["addresses"], "city"), vec!["Torino"]);
    assert_eq!(c["addresses"][0]["province"], "TO");
    assert_eq!(c["tags"], json!(["three"]));
    assert_eq!(c["organizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["organizations"][0]["organization"]["id"], beta);
    assert_eq!(c["organizations"][0]["jobTitle"], "Counsel");
    assert_eq!(get_contact(&app, &acme).await["members"], json!([]));
    assert_eq!(
        names(&app, json!({ "text": "a@example" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "tags": ["one"] })).await,
        Vec::<String>::new()
    );

    // An empty list empties it; an omitted list stays.
    let c = update(&app, json!({ "id": id, "emails": [], "tags": [] })).await;
    assert_eq!(c["emails"], json!([]));
    assert_eq!(c["pec"], Value::Null);
    assert_eq!(c["tags"], json!([]));
    assert_eq!(c["phones"].as_array().map(Vec::len), Some(2));
    assert_eq!(c["organizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(get_contact(&app, &id).await["emails"], json!([]));
}

async fn update_cannot_change_kind(backend: Backend) {
    let app = TestApp::start(backend).await;
    let id = create_person(&app, "Mario", "Rossi", json!({})).await;
    let error = update_error(&app, json!({ "id": id, "kind": "ORGANIZATION" })).await;
    assert!(
        error["message"].as_str().expect("message").contains("kind"),
        "{error:#}"
    );
    // A person cannot become organisation-shaped either.
    let error = update_error(
        &app,
        json!({ "id": id, "organizationName": "Acme", "familyName": null }),
    )
    .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    let mut fields = error_fields(&error);
    fields.sort();
    assert_eq!(fields, vec!["input.familyName", "input.organizationName"]);

    let org = create_organization(&app, "Acme", json!({})).await;
    let error = update_error(&app, json!({ "id": org, "familyName": "Rossi" })).await;
    assert_bad_input(&error, "input.givenName");
    let error = update_error(&app, json!({ "id": org, "organizationName": null })).await;
    assert_bad_input(&error, "input.organizationName");
    let other_org = create_organization(&app, "Beta", json!({})).await;
    let error = update_error(
        &app,
        json!({ "id": org, "affiliations": [{ "organizationId": other_org }] }),
    )
    .await;
    assert_bad_input(&error, "input.affiliations");

    assert_eq!(get_contact(&app, &id).await["kind"], "PERSON");
    assert_eq!(get_contact(&app, &id).await["displayName"], "Mario Rossi");
    assert_eq!(get_contact(&app, &org).await["kind"], "ORGANIZATION");
    assert_eq!(get_contact(&app, &org).await["displayName"], "Acme");
}

async fn update_of_missing_or_malformed_id_fails(backend: Backend) {
    let app = TestApp::start(backend).await;
    let error = update_error(&app, json!({ "id": missing_contact_id(), "notes": "x" })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");

    let error = update_error(&app, json!({ "id": "not-an-id", "notes": "x" })).await;
    assert_bad_input(&error, "input.id");

    let user = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let error = update_error(&app, json!({ "id": user, "notes": "x" })).await;
    assert_bad_input(&error, "input.id");
    assert_eq!(total(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

async fn delete_removes_contact_and_its_details(backend: Backend) {
    let app = TestApp::start(backend).await;
    let org = create_organization(&app, "Acme", json!({})).await;
    let keep = create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "emails": [{ "address": "shared@example.it" }], "phones": [{ "number": "02 1234 5678" }] }),
    )
    .await;
    let gone = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "Shared@example.it" }],
            "phones": [{ "number": "+390212345678" }],
            "tags": ["vip"],
            "affiliations": [{ "organizationId": org }],
        }),
    )
    .await;
    let data = app.data(DUPLICATES, json!({})).await;
    assert_eq!(data["findDuplicates"].as_array().map(Vec::len), Some(2));

    let data = app.data(DELETE, json!({ "input": { "id": gone } })).await;
    assert_eq!(data["deleteContact"]["deletedId"], gone);

    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) { id } node(id: $id) { id } }",
            json!({ "id": gone }),
        )
        .await;
    assert_eq!(data["contact"], Value::Null);
    assert_eq!(data["node"], Value::Null);
    assert_eq!(total(&app).await, 2);
    let data = app.data(DUPLICATES, json!({})).await;
    assert_eq!(data["findDuplicates"], json!([]));
    assert_eq!(get_contact(&app, &org).await["members"], json!([]));
    assert_eq!(
        names(&app, json!({ "tags": ["vip"] })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        get_contact(&app, &keep).await["emails"][0]["address"],
        "shared@example.it"
    );

    // Deleting it again, or deleting nonsense, fails.
    let error = app.error(DELETE, json!({ "input": { "id": gone } })).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app.error(DELETE, json!({ "input": { "id": "zzz" } })).await;
    assert_bad_input(&error, "input.id");
    assert_eq!(total(&app).await, 2);
}

// ---------------------------------------------------------------------------------------------
// Listing and filters
// ---------------------------------------------------------------------------------------------

async fn text_search_matches_names_emails_tax_ids_and_phones(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "codiceFiscale": CF_MARIO,
            "emails": [{ "address": "m.rossi@studio-legale.it" }],
            "phones": [{ "number": "+39 02 1234 5678" }],
        }),
    )
    .await;
    create_person(
        &app,
        "Laura",
        "Bianchi",
        json!({ "codiceFiscale": CF_LAURA, "emails": [{ "address": "laura@example.com" }] }),
    )
    .await;
    create_organization(
        &app,
        "Rossini Costruzioni S.r.l.",
        json!({ "partitaIva": PIVA_B, "phones": [{ "number": "06 1234 5678" }] }),
    )
    .await;
    create_organization(&app, "Acme S.p.A.", json!({ "partitaIva": PIVA_C })).await;

    // Name: partial and case-insensitive.
    assert_eq!(
        names(&app, json!({ "text": "ROSS" })).await,
        vec!["Mario Rossi", "Rossini Costruzioni S.r.l."]
    );
    assert_eq!(
        names(&app, json!({ "text": "io ros" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "text": "  aCmE " })).await,
        vec!["Acme S.p.A."]
    );
    // Part of an email address (any case).
    assert_eq!(
        names(&app, json!({ "text": "Studio-Legale" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "text": "example.com" })).await,
        vec!["Laura Bianchi"]
    );
    // A whole codice fiscale, in any case; a part does not match.
    assert_eq!(
        names(&app, json!({ "text": "bnclra90a41h501f" })).await,
        vec!["Laura Bianchi"]
    );
    assert_eq!(
        names(&app, json!({ "text": "BNCLRA90" })).await,
        Vec::<String>::new()
    );
    // A partita IVA as printed on invoices.
    assert_eq!(
        names(&app, json!({ "text": "IT 09876 543217" })).await,
        vec!["Rossini Costruzioni S.r.l."]
    );
    assert_eq!(
        names(&app, json!({ "text": PIVA_C })).await,
        vec!["Acme S.p.A."]
    );
    // A phone number in national or international notation.
    assert_eq!(
        names(&app, json!({ "text": "02 1234 5678" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "text": "+39 06 12345678" })).await,
        vec!["Rossini Costruzioni S.r.l."]
    );
    assert_eq!(
        names(&app, json!({ "text": "nobody" })).await,
        Vec::<String>::new()
    );
    // Blank text filters nothing.
    assert_eq!(names(&app, json!({ "text": "   " })).await.len(), 4);
}

async fn text_search_treats_wildcards_literally(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({})).await;
    create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "emails": [{ "address": "anna@example.it" }] }),
    )
    .await;
    create_organization(&app, "Sconti 100% S.r.l.", json!({})).await;
    create_organization(&app, "Studio_Legale Associato", json!({})).await;

    assert_eq!(
        names(&app, json!({ "text": "%" })).await,
        vec!["Sconti 100% S.r.l."]
    );
    assert_eq!(
        names(&app, json!({ "text": "100%" })).await,
        vec!["Sconti 100% S.r.l."]
    );
    assert_eq!(
        names(&app, json!({ "text": "r%i" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "text": "r_ssi" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "text": "anna_example" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, json!({ "text": "_" })).await,
        vec!["Studio_Legale Associato"]
    );
    assert_eq!(
        names(&app, json!({ "text": "\\" })).await,
        Vec::<String>::new()
    );
}

async fn filters_by_kind_categories_and_tags(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(
        &app,
        "Mario",
        "Rossi",
        json!({ "category": "CLIENT", "tags": ["vip", "litigation"] }),
    )
    .await;
    create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "category": "COUNTERPARTY", "tags": ["litigation"] }),
    )
    .await;
    create_person(&app, "Carlo", "Neri", json!({ "category": "EXPERT" })).await;
    create_organization(
        &app,
        "Acme",
        json!({ "category": "CLIENT", "tags": ["VIP"] }),
    )
    .await;
    create_organization(&app, "Tribunale di Milano", json!({ "category": "COURT" })).await;

    assert_eq!(
        names(&app, json!({ "kind": "PERSON" })).await,
        vec!["Anna Bianchi", "Carlo Neri", "Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "kind": "ORGANIZATION" })).await,
        vec!["Acme", "Tribunale di Milano"]
    );
    assert_eq!(
        names(&app, json!({ "categories": ["CLIENT"] })).await,
        vec!["Acme", "Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "categories": ["COURT", "EXPERT"] })).await,
        vec!["Carlo Neri", "Tribunale di Milano"]
    );
    assert_eq!(
        names(&app, json!({ "categories": [] })).await,
        Vec::<String>::new()
    );
    // Any of the tags, matched case-insensitively; a contact with two matching tags once.
    assert_eq!(
        names(&app, json!({ "tags": [" Vip "] })).await,
        vec!["Acme", "Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "tags": ["vip", "litigation"] })).await,
        vec!["Acme", "Anna Bianchi", "Mario Rossi"]
    );
    // Conditions combine.
    assert_eq!(
        names(&app, json!({ "tags": ["vip"], "kind": "PERSON" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(
            &app,
            json!({ "tags": ["litigation"], "categories": ["COUNTERPARTY"], "text": "bian" })
        )
        .await,
        vec!["Anna Bianchi"]
    );
    assert_eq!(names(&app, json!({})).await.len(), 5);
}

async fn filters_by_organization_and_responsible_user(backend: Backend) {
    let app = TestApp::start(backend).await;
    let verdi = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let neri = create_user(&app, "avv.neri@studio.it", "partner").await;
    let acme = create_organization(&app, "Acme", json!({ "responsibleUserId": verdi })).await;
    let beta = create_organization(&app, "Beta", json!({})).await;
    create_person(
        &app,
        "Mario",
        "Rossi",
        json!({ "affiliations": [{ "organizationId": acme }], "responsibleUserId": verdi }),
    )
    .await;
    create_person(
        &app,
        "Anna",
        "Bianchi",
        json!({ "affiliations": [{ "organizationId": acme }, { "organizationId": beta }], "responsibleUserId": neri }),
    )
    .await;
    create_person(&app, "Carlo", "Neri", json!({})).await;

    assert_eq!(
        names(&app, json!({ "organizationId": acme })).await,
        vec!["Anna Bianchi", "Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "organizationId": beta })).await,
        vec!["Anna Bianchi"]
    );
    assert_eq!(
        names(&app, json!({ "responsibleUserId": verdi })).await,
        vec!["Acme", "Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "responsibleUserId": neri })).await,
        vec!["Anna Bianchi"]
    );
    assert_eq!(
        names(
            &app,
            json!({ "responsibleUserId": verdi, "organizationId": acme })
        )
        .await,
        vec!["Mario Rossi"]
    );

    // IDs of the wrong type are refused, naming the filter field.
    let query = "query($filter: ContactFilter) { contacts(filter: $filter) { totalCount } }";
    let error = app
        .error(query, json!({ "filter": { "organizationId": verdi } }))
        .await;
    assert_bad_input(&error, "filter.organizationId");
    let error = app
        .error(query, json!({ "filter": { "responsibleUserId": acme } }))
        .await;
    assert_bad_input(&error, "filter.responsibleUserId");
}

async fn filters_by_creation_time(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut stamps = Vec::new();
    for (given, family) in [("Primo", "Uno"), ("Secondo", "Due"), ("Terzo", "Tre")] {
        let id = create_person(&app, given, family, json!({})).await;
        stamps.push(get_contact(&app, &id).await["createdAt"].clone());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stamps[0] != stamps[1] && stamps[1] != stamps[2]);

    // createdFrom is inclusive, createdTo exclusive.
    assert_eq!(
        names(
            &app,
            json!({ "createdFrom": stamps[1], "createdTo": stamps[2] })
        )
        .await,
        vec!["Secondo Due"]
    );
    assert_eq!(
        names(&app, json!({ "createdFrom": stamps[1] })).await,
        vec!["Secondo Due", "Terzo Tre"]
    );
    assert_eq!(
        names(&app, json!({ "createdTo": stamps[1] })).await,
        vec!["Primo Uno"]
    );
    assert_eq!(
        names(
            &app,
            json!({ "createdFrom": "2000-01-01T00:00:00Z", "createdTo": "2001-01-01T00:00:00Z" })
        )
        .await,
        Vec::<String>::new()
    );
    // Any offset is read as the instant it names.
    assert_eq!(
        names(&app, json!({ "createdFrom": "2000-01-01T00:00:00+02:00" }))
            .await
            .len(),
        3
    );
}

async fn organizations_query_returns_only_organizations(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({ "tags": ["vip"] })).await;
    create_organization(&app, "Rossi & Figli S.n.c.", json!({ "tags": ["vip"] })).await;
    create_organization(&app, "Acme", json!({})).await;

    let query = "query($filter: ContactFilter) { organizations(filter: $filter, first: 100) { totalCount nodes { displayName kind } } }";
    let data = app.data(query, json!({ "filter": null })).await;
    assert_eq!(data["organizations"]["totalCount"], 2);
    assert_eq!(
        data["organizations"]["nodes"],
        json!([
            { "displayName": "Acme", "kind": "ORGANIZATION" },
            { "displayName": "Rossi & Figli S.n.c.", "kind": "ORGANIZATION" }
        ])
    );
    // Even when the filter asks for people.
    let data = app
        .data(
            query,
            json!({ "filter": { "kind": "PERSON", "text": "rossi" } }),
        )
        .await;
    assert_eq!(data["organizations"]["totalCount"], 1);
    assert_eq!(
        data["organizations"]["nodes"][0]["displayName"],
        "Rossi & Figli S.n.c."
    );
    let data = app
        .data(query, json!({ "filter": { "tags": ["vip"] } }))
        .await;
    assert_eq!(data["organizations"]["totalCount"], 1);
}

// ---------------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------------

async fn orders_by_name_and_creation_time(backend: Backend) {
    let app = TestApp::start(backend).await;
    // Created in an order unrelated to the names.
    let created = [
        ("Mario", "Rossi"),
        ("Anna", "Rossi"),
        ("Zeno", "Bianchi"),
        ("Aldo", "Rossini"),
        ("Bruno", "Verdi"),
    ];
    for (given, family) in created {
        create_person(&app, given, family, json!({})).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    create_organization(&app, "Mediolanum S.p.A.", json!({})).await;

    let by_name = vec![
        "Zeno Bianchi",
        "Mediolanum S.p.A.",
        "Anna Rossi",
        "Mario Rossi",
        "Aldo Rossini",
        "Bruno Verdi",
    ];
    assert_eq!(names(&app, json!({})).await, by_name);
    assert_eq!(
        names_ordered(&app, json!({}), json!({ "field": "NAME" })).await,
        by_name
    );
    let mut desc = by_name.clone();
    desc.reverse();
    assert_eq!(
        names_ordered(
            &app,
            json!({}),
            json!({ "field": "NAME", "direction": "DESC" })
        )
        .await,
        desc
    );

    let by_creation = vec![
        "Mario Rossi",
        "Anna Rossi",
        "Zeno Bianchi",
        "Aldo Rossini",
        "Bruno Verdi",
        "Mediolanum S.p.A.",
    ];
    assert_eq!(
        names_ordered(&app, json!({}), json!({ "field": "CREATED_AT" })).await,
        by_creation
    );
    let mut desc = by_creation.clone();
    desc.reverse();
    assert_eq!(
        names_ordered(
            &app,
            json!({}),
            json!({ "field": "CREATED_AT", "direction": "DESC" })
        )
        .await,
        desc
    );
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

const PAGE: &str = "query($first: Int, $last: Int, $after: String, $before: String, $filter: ContactFilter) { contacts(first: $first, last: $last, after: $after, before: $before, filter: $filter) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { displayName } } } }";

fn page_names(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["displayName"].as_str().expect("name").to_owned())
        .collect()
}

async fn seven_people(app: &TestApp) -> Vec<String> {
    let people = [
        ("Giulia", "Bianchi"),
        ("Marco", "Colombo"),
        ("Sara", "Esposito"),
        ("Luca", "Ferrari"),
        ("Elena", "Greco"),
        ("Paolo", "Romano"),
        ("Chiara", "Russo"),
    ];
    for (given, family) in people {
        create_person(app, given, family, json!({ "tags": ["team"] })).await;
    }
    create_organization(app, "Zeta S.r.l.", json!({})).await;
    people.iter().map(|(g, f)| format!("{g} {f}")).collect()
}

async fn pages_forward_with_first_and_after(backend: Backend) {
    let app = TestApp::start(backend).await;
    let expected = seven_people(&app).await;
    let filter = json!({ "kind": "PERSON" });

    let mut collected = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let data = app
            .data(
                PAGE,
                json!({ "first": 3, "after": after, "filter": filter }),
            )
            .await;
        let page = &data["contacts"];
        pages += 1;
        assert_eq!(page["totalCount"], 7);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 1);
        let edges = page["edges"].as_array().expect("edges");
        assert!(!edges.is_empty(), "empty page: {page:#}");
        assert_eq!(page["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(
            page["pageInfo"]["endCursor"],
            edges[edges.len() - 1]["cursor"]
        );
        collected.extend(page_names(page));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        assert_eq!(edges.len(), 3);
        after = Some(
            page["pageInfo"]["endCursor"]
                .as_str()
                .expect("cursor")
                .to_owned(),
        );
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(collected, expected);

    // A page that ends exactly at the end of the list says so.
    let all = app
        .data(PAGE, json!({ "first": 7, "filter": filter }))
        .await;
    assert_eq!(all["contacts"]["pageInfo"]["hasNextPage"], false);
    let cursor = all["contacts"]["edges"][6]["cursor"].clone();
    let data = app
        .data(
            PAGE,
            json!({ "first": 3, "after": cursor, "filter": filter }),
        )
        .await;
    assert_eq!(page_names(&data["contacts"]), Vec::<String>::new());
    assert_eq!(data["contacts"]["pageInfo"]["hasNextPage"], false);

    // Without first/last: the default page holds everything here.
    let data = app.data(PAGE, json!({})).await;
    assert_eq!(data["contacts"]["totalCount"], 8);
    assert_eq!(data["contacts"]["edges"].as_array().map(Vec::len), Some(8));
    assert_eq!(data["contacts"]["pageInfo"]["hasNextPage"], false);
    // first: 0 gives no edges but still the count.
    let data = app.data(PAGE, json!({ "first": 0 })).await;
    assert_eq!(data["contacts"]["totalCount"], 8);
    assert_eq!(data["contacts"]["edges"], json!([]));
}

async fn pages_backward_with_last_and_before(backend: Backend) {
    let app = TestApp::start(backend).await;
    let expected = seven_people(&app).await;
    let filter = json!({ "tags": ["team"] });

    let data = app.data(PAGE, json!({ "last": 2, "filter": filter })).await;
    let page = &data["contacts"];
    assert_eq!(page_names(page), expected[5..].to_vec());
    assert_eq!(page["totalCount"], 7);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    let all = app
        .data(PAGE, json!({ "first": 100, "filter": filter }))
        .await;
    let cursor = all["contacts"]["edges"][4]["cursor"].clone();
    let data = app
        .data(
            PAGE,
            json!({ "last": 2, "before": cursor, "filter": filter }),
        )
        .await;
    let page = &data["contacts"];
    assert_eq!(page_names(page), expected[2..4].to_vec());
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        page["edges"][0]["cursor"],
        all["contacts"]["edges"][2]["cursor"]
    );

    // Walk backwards from the end to the start, collecting everything in order.
    let mut collected: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..10 {
        let data = app
            .data(
                PAGE,
                json!({ "last": 3, "before": before, "filter": filter }),
            )
            .await;
        let page = &data["contacts"];
        let mut names = page_names(page);
        names.extend(collected);
        collected = names;
        if page["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = Some(
            page["pageInfo"]["startCursor"]
                .as_str()
                .expect("cursor")
                .to_owned(),
        );
    }
    assert_eq!(collected, expected);

    // last larger than what is left before the cursor.
    let cursor = all["contacts"]["edges"][1]["cursor"].clone();
    let data = app
        .data(
            PAGE,
            json!({ "last": 5, "before": cursor, "filter": filter }),
        )
        .await;
    assert_eq!(page_names(&data["contacts"]), expected[..1].to_vec());
    assert_eq!(data["contacts"]["pageInfo"]["hasPreviousPage"], false);

    // first and after between two cursors.
    let after = all["contacts"]["edges"][1]["cursor"].clone();
    let before = all["contacts"]["edges"][5]["cursor"].clone();
    let data = app
        .data(
            PAGE,
            json!({ "after": after, "before": before, "filter": filter }),
        )
        .await;
    assert_eq!(page_names(&data["contacts"]), expected[2..5].to_vec());
}

async fn rejects_bad_pagination_arguments(backend: Backend) {
    let app = TestApp::start(backend).await;
    create_person(&app, "Mario", "Rossi", json!({})).await;

    let error = app.error(PAGE, json!({ "first": 1001 })).await;
    assert_bad_input(&error, "first");
    assert!(error["message"].as_str().expect("message").contains("1000"));
    let error = app.error(PAGE, json!({ "first": -1 })).await;
    assert_bad_input(&error, "first");
    let error = app.error(PAGE, json!({ "last": 1001 })).await;
    assert_bad_input(&error, "last");
    let error = app.error(PAGE, json!({ "last": -3 })).await;
    assert_bad_input(&error, "last");
    let error = app.error(PAGE, json!({ "after": "garbage!" })).await;
    assert_bad_input(&error, "after");
    let error = app.error(PAGE, json!({ "before": "Zm9vYmFy" })).await;
    assert_bad_input(&error, "before");
    // A cursor-shaped value with a negative offset.
    use base64::Engine;
    let negative = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("offset:-2");
    let error = app.error(PAGE, json!({ "after": negative })).await;
    assert_bad_input(&error, "after");
    // The maximum itself is accepted.
    let data = app.data(PAGE, json!({ "first": 1000 })).await;
    assert_eq!(page_names(&data["contacts"]), vec!["Mario Rossi"]);
}

// ---------------------------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------------------------

/// (reason, value, sorted display names) of every duplicate group.
fn groups(data: &Value) -> Vec<(String, String, Vec<String>)> {
    data["findDuplicates"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let mut names = strings(&g["contacts"], "displayName");
            names.sort();
            (
                g["reason"].as_str().expect("reason").to_owned(),
                g["value"].as_str().expect("value").to_owned(),
                names,
            )
        })
        .collect()
}

fn group(reason: &str, value: &str, names: &[&str]) -> (String, String, Vec<String>) {
    (
        reason.to_owned(),
        value.to_owned(),
        names.iter().map(|n| (*n).to_owned()).collect(),
    )
}

async fn finds_duplicates_by_each_identifier(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "Mario.Rossi@Example.it" }, { "address": "mario@pec.it", "isPec": true }],
            "phones": [{ "number": "02 1234 5678" }],
            "codiceFiscale": CF_MARIO,
        }),
    )
    .await;
    let b = create_person(
        &app,
        "M.",
        "Rossi",
        json!({
            "emails": [{ "address": "mario.rossi@example.IT" }],
            "codiceFiscale": "rssmra85t10a562s",
        }),
    )
    .await;
    let c = create_person(
        &app,
        "Mario",
        "Rossi Jr",
        json!({
            "emails": [{ "address": "MARIO@pec.it" }],
            "phones": [{ "number": "+390212345678" }],
        }),
    )
    .await;
    create_organization(
        &app,
        "Acme",
        json!({ "partitaIva": PIVA_A, "emails": [{ "address": "info@acme.it" }] }),
    )
    .await;
    create_organization(
        &app,
        "Acme Italia",
        json!({ "partitaIva": "IT12345678903" }),
    )
    .await;
    // Unrelated contacts with unique values form no group.
    create_person(
        &app,
        "Laura",
        "Bianchi",
        json!({ "codiceFiscale": CF_LAURA, "emails": [{ "address": "laura@example.it" }], "phones": [{ "number": "06 1234 5678" }] }),
    )
    .await;

    let data = app.data(DUPLICATES, json!({ "id": null })).await;
    assert_eq!(
        groups(&data),
        vec![
            group(
                "EMAIL",
                "mario.rossi@example.it",
                &["M. Rossi", "Mario Rossi"]
            ),
            group("PEC", "mario@pec.it", &["Mario Rossi", "Mario Rossi Jr"]),
            group("PHONE", "+390212345678", &["Mario Rossi", "Mario Rossi Jr"]),
            group("CODICE_FISCALE", CF_MARIO, &["M. Rossi", "Mario Rossi"]),
            group("PARTITA_IVA", PIVA_A, &["Acme", "Acme Italia"]),
        ]
    );

    // Only the groups of one contact.
    let data = app.data(DUPLICATES, json!({ "id": b })).await;
    assert_eq!(
        groups(&data),
        vec![
            group(
                "EMAIL",
                "mario.rossi@example.it",
                &["M. Rossi", "Mario Rossi"]
            ),
            group("CODICE_FISCALE", CF_MARIO, &["M. Rossi", "Mario Rossi"]),
        ]
    );
    let data = app.data(DUPLICATES, json!({ "id": c })).await;
    let reasons: Vec<String> = groups(&data).into_iter().map(|g| g.0).collect();
    assert_eq!(reasons, vec!["PEC", "PHONE"]);
    let data = app.data(DUPLICATES, json!({ "id": a })).await;
    assert_eq!(data["findDuplicates"].as_array().map(Vec::len), Some(4));
    for g in data["findDuplicates"].as_array().expect("groups") {
        assert!(ids_of(&g["contacts"]).contains(&a));
    }
    // A contact without duplicates, or unknown, has no groups; a bad ID is refused.
    let data = app
        .data(DUPLICATES, json!({ "id": missing_contact_id() }))
        .await;
    assert_eq!(data["findDuplicates"], json!([]));
    let error = app.error(DUPLICATES, json!({ "id": "bad" })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");

    // An address only one contact has forms no group.
    let data = app.data(DUPLICATES, json!({})).await;
    assert!(!groups(&data).iter().any(|g| g.1 == "info@acme.it"));
}

// ---------------------------------------------------------------------------------------------
// Merge
// ---------------------------------------------------------------------------------------------

async fn merge_folds_details_into_survivor(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lawyer = create_user(&app, "avv.verdi@studio.it", "lawyer").await;
    let acme = create_organization(&app, "Acme", json!({})).await;
    let beta = create_organization(&app, "Beta", json!({})).await;
    let survivor = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "category": "CLIENT",
            "emails": [{ "address": "mario.rossi@example.it", "label": "work" }],
            "phones": [{ "number": "02 1234 5678" }],
            "tags": ["vip"],
            "notes": "survivor notes",
            "affiliations": [{ "organizationId": acme, "jobTitle": "CEO" }],
        }),
    )
    .await;
    let first_created = get_contact(&app, &survivor).await["createdAt"].clone();
    let merged = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "category": "PROSPECT",
            "emails": [
                { "address": "MARIO.ROSSI@example.it" },
                { "address": "m.rossi@pec.it", "isPec": true }
            ],
            "phones": [{ "number": "+390212345678" }, { "number": "333 123 4567" }],
            "addresses": [{ "street": "Via Roma 1", "city": "Milano", "province": "MI" }],
            "tags": ["vip", "litigation"],
            "notes": "merged notes",
            "codiceFiscale": CF_MARIO,
            "responsibleUserId": lawyer,
            "affiliations": [{ "organizationId": acme, "jobTitle": "Director" }, { "organizationId": beta, "jobTitle": "Advisor" }],
        }),
    )
    .await;
    let third = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({
            "emails": [{ "address": "mario@studio.it" }],
            "tags": ["Studio"],
            "partitaIva": PIVA_C,
            "codiceFiscale": CF_MATTEO,
        }),
    )
    .await;
    let other = create_person(&app, "Anna", "Bianchi", json!({})).await;

    let data = app
        .data(
            MERGE,
            json!({ "input": { "survivorId": survivor, "mergedIds": [merged, third] } }),
        )
        .await;
    assert_eq!(data["mergeContacts"]["contact"]["id"], survivor);
    assert_eq!(
        data["mergeContacts"]["contact"]["displayName"],
        "Mario Rossi"
    );

    let c = get_contact(&app, &survivor).await;
    // Its own values win.
    assert_eq!(c["category"], "CLIENT");
    assert_eq!(c["notes"], "survivor notes");
    // Empty fields are filled from the merged contacts.
    assert_eq!(c["codiceFiscale"], CF_MARIO);
    assert_eq!(c["partitaIva"], PIVA_C);
    assert_eq!(c["responsible"]["id"], lawyer);
    assert_eq!(c["createdAt"], first_created);
    // Distinct emails, phones and tags of all of them.
    assert_eq!(
        c["emails"],
        json!([
            { "address": "mario.rossi@example.it", "label": "work", "isPec": false },
            { "address": "m.rossi@pec.it", "label": null, "isPec": true },
            { "address": "mario@studio.it", "label": null, "isPec": false }
        ])
    );
    assert_eq!(c["pec"], "m.rossi@pec.it");
    assert_eq!(
        strings(&c["phones"], "number"),
        vec!["+390212345678", "+393331234567"]
    );
    assert_eq!(c["tags"], json!(["litigation", "studio", "vip"]));
    assert_eq!(strings(&c["addresses"], "city"), vec!["Milano"]);
    // Links: its own link to Acme wins; the link to Beta moves over.
    let mut links: Vec<(String, Value)> = c["organizations"]
        .as_array()
        .expect("organizations")
        .iter()
        .map(|a| {
            (
                a["organization"]["displayName"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
                a["jobTitle"].clone(),
            )
        })
        .collect();
    links.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        links,
        vec![
            ("Acme".to_owned(), json!("CEO")),
            ("Beta".to_owned(), json!("Advisor"))
        ]
    );
    assert_eq!(
        ids_of(&Value::Array(
            get_contact(&app, &acme).await["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["person"].clone())
                .collect()
        )),
        vec![survivor.clone()]
    );

    // The merged contacts are gone, with their leftovers.
    for id in [&merged, &third] {
        let data = app
            .data(
                "query($id: ID!) { contact(id: $id) { id } node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["contact"], Value::Null);
        assert_eq!(data["node"], Value::Null);
    }
    assert_eq!(total(&app).await, 4);
    assert_eq!(
        names(&app, json!({ "kind": "PERSON" })).await,
        vec!["Anna Bianchi", "Mario Rossi"]
    );
    let data = app.data(DUPLICATES, json!({})).await;
    assert_eq!(data["findDuplicates"], json!([]));
    assert_eq!(get_contact(&app, &other).await["emails"], json!([]));
    // The merged values are searchable on the survivor.
    assert_eq!(
        names(&app, json!({ "text": "333 1234567" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({ "text": CF_MARIO })).await,
        vec!["Mario Rossi"]
    );
}

async fn merge_fills_missing_given_name(backend: Backend) {
    let app = TestApp::start(backend).await;
    let survivor = create_contact(
        &app,
        json!({ "kind": "PERSON", "familyName": "Rossi", "category": "CLIENT" }),
    )
    .await;
    let merged = create_person(&app, "Mario", "Rossi", json!({})).await;
    create_person(&app, "Anna", "Rossi", json!({})).await;
    assert_eq!(get_contact(&app, &survivor).await["displayName"], "Rossi");

    let data = app
        .data(
            MERGE,
            json!({ "input": { "survivorId": survivor, "mergedIds": [merged] } }),
        )
        .await;
    assert_eq!(
        data["mergeContacts"]["contact"]["displayName"],
        "Mario Rossi"
    );
    let c = get_contact(&app, &survivor).await;
    assert_eq!(c["givenName"], "Mario");
    assert_eq!(c["displayName"], "Mario Rossi");
    // The name is also searchable and sorts as "Rossi Mario".
    assert_eq!(
        names(&app, json!({ "text": "mario" })).await,
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(&app, json!({})).await,
        vec!["Anna Rossi", "Mario Rossi"]
    );
}

const LOG: &str = "mutation($input: LogCommunicationInput!) { logCommunication(input: $input) { communication { id } } }";

async fn merge_moves_matter_roles_communications_and_deadlines(backend: Backend) {
    let app = TestApp::start(backend).await;
    let survivor = create_person(&app, "Mario", "Rossi", json!({})).await;
    let merged = create_person(&app, "Mario", "Rossi", json!({ "category": "PROSPECT" })).await;
    let client = create_organization(&app, "Acme", json!({})).await;
    let third = create_person(&app, "Anna", "Bianchi", json!({})).await;

    let m1 = create_matter(&app, "2026/0001", &merged, json!({})).await;
    let m2 = create_matter(
        &app,
        "2026/0002",
        &client,
        json!({ "counterpartyIds": [merged] }),
    )
    .await;
    let m3 = create_matter(
        &app,
        "2026/0003",
        &survivor,
        json!({ "clientIds": [survivor, merged] }),
    )
    .await;

    let log = |participants: Vec<&String>, subject: &str| {
        json!({ "input": {
            "channel": "EMAIL",
            "direction": "INBOUND",
            "occurredAt": "2026-03-01T10:00:00Z",
            "subject": subject,
            "participantIds": participants,
        } })
    };
    let c1 = app.data(LOG, log(vec![&merged, &third], "Parere")).await["logCommunication"]
        ["communication"]["id"]
        .clone();
    let c2 = app
        .data(LOG, log(vec![&survivor, &merged], "Riunione"))
        .await["logCommunication"]["communication"]["id"]
        .clone();

    let deadline = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": "Richiamare", "kind": "INTERNAL_TASK", "dueAt": "2030-01-01T09:00:00Z", "contactId": merged } }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .clone();

    app.data(
        MERGE,
        json!({ "input": { "survivorId": survivor, "mergedIds": [merged] } }),
    )
    .await;

    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) {
                matters { id }
                asClient: matters(role: CLIENT) { id }
                asCounterparty: matters(role: COUNTERPARTY) { id }
                communications { totalCount nodes { id } }
            } }",
            json!({ "id": survivor }),
        )
        .await;
    let mut matters = ids_of(&data["contact"]["matters"]);
    matters.sort();
    let mut expected = vec![m1.clone(), m2.clone(), m3.clone()];
    expected.sort();
    assert_eq!(matters, expected);
    let mut as_client = ids_of(&data["contact"]["asClient"]);
    as_client.sort();
    let mut expected = vec![m1.clone(), m3.clone()];
    expected.sort();
    assert_eq!(as_client, expected);
    assert_eq!(ids_of(&data["contact"]["asCounterparty"]), vec![m2.clone()]);
    assert_eq!(data["contact"]["communications"]["totalCount"], 2);
    let mut comms = ids_of(&data["contact"]["communications"]["nodes"]);
    comms.sort();
    let mut expected = vec![
        c1.as_str().expect("id").to_owned(),
        c2.as_str().expect("id").to_owned(),
    ];
    expected.sort();
    assert_eq!(comms, expected);

    let matter = "query($id: ID!) { matter(id: $id) { clients { id } counterparties { id } } }";
    let data = app.data(matter, json!({ "id": m1 })).await;
    assert_eq!(ids_of(&data["matter"]["clients"]), vec![survivor.clone()]);
    let data = app.data(matter, json!({ "id": m2 })).await;
    assert_eq!(ids_of(&data["matter"]["clients"]), vec![client.clone()]);
    assert_eq!(
        ids_of(&data["matter"]["counterparties"]),
        vec![survivor.clone()]
    );
    let data = app.data(matter, json!({ "id": m3 })).await;
    assert_eq!(ids_of(&data["matter"]["clients"]), vec![survivor.clone()]);

    let comm = "query($id: ID!) { node(id: $id) { ... on Communication { participants { id } } } }";
    let data = app.data(comm, json!({ "id": c1 })).await;
    let mut participants = ids_of(&data["node"]["participants"]);
    participants.sort();
    let mut expected = vec![survivor.clone(), third.clone()];
    expected.sort();
    assert_eq!(participants, expected);
    let data = app.data(comm, json!({ "id": c2 })).await;
    assert_eq!(
        ids_of(&data["node"]["participants"]),
        vec![survivor.clone()]
    );

    let data = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Deadline { contact { id } } } }",
            json!({ "id": deadline }),
        )
        .await;
    assert_eq!(data["node"]["contact"]["id"], survivor);
}

async fn merge_refuses_invalid_requests_and_changes_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let survivor = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({ "emails": [{ "address": "mario@example.it" }], "tags": ["vip"] }),
    )
    .await;
    let duplicate = create_person(
        &app,
        "Mario",
        "Rossi",
        json!({ "emails": [{ "address": "mario@example.it" }, { "address": "other@example.it" }], "codiceFiscale": CF_MARIO }),
    )
    .await;
    let org = create_organization(
        &app,
        "Acme",
        json!({ "emails": [{ "address": "mario@example.it" }] }),
    )
    .await;
    let survivor_before = get_contact(&app, &survivor).await;
    let duplicate_before = get_contact(&app, &duplicate).await;
    let org_before = get_contact(&app, &org).await;
    let user = create_user(&app, "avv.verdi@studio.it", "lawyer").await;

    let input = |survivor: &str, merged: Value| json!({ "input": { "survivorId": survivor, "mergedIds": merged } });
    // Into itself.
    let error = app
        .error(MERGE, input(&survivor, json!([&duplicate, &survivor])))
        .await;
    assert_bad_input(&error, "input.mergedIds[1]");
    // A person with an organisation, both ways round.
    let error = app
        .error(MERGE, input(&survivor, json!([&duplicate, &org])))
        .await;
    assert_bad_input(&error, "input.mergedIds[1]");
    let error = app.error(MERGE, input(&org, json!([&survivor]))).await;
    assert_bad_input(&error, "input.mergedIds[0]");
    // Unknown or malformed merged IDs.
    let missing = missing_contact_id();
    let error = app
        .error(MERGE, input(&survivor, json!([&duplicate, &missing])))
        .await;
    assert_bad_input(&error, "input.mergedIds[1]");
    let error = app.error(MERGE, input(&survivor, json!(["bad"]))).await;
    assert_bad_input(&error, "input.mergedIds[0]");
    let error = app.error(MERGE, input(&survivor, json!([&user]))).await;
    assert_bad_input(&error, "input.mergedIds[0]");
    let error = app.error(MERGE, input(&survivor, json!([]))).await;
    assert_bad_input(&error, "input.mergedIds");
    // An unknown or malformed survivor.
    let error = app.error(MERGE, input(&missing, json!([&duplicate]))).await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    let error = app.error(MERGE, input("bad", json!([&duplicate]))).await;
    assert_bad_input(&error, "input.survivorId");

    assert_eq!(total(&app).await, 3);
    assert_eq!(get_contact(&app, &survivor).await, survivor_before);
    assert_eq!(get_contact(&app, &duplicate).await, duplicate_before);
    assert_eq!(get_contact(&app, &org).await, org_before);
    let data = app.data(DUPLICATES, json!({})).await;
    assert_eq!(
        groups(&data),
        vec![group(
            "EMAIL",
            "mario@example.it",
            &["Acme", "Mario Rossi", "Mario Rossi"]
        )]
    );
}

on_both_backends!(
    creates_person_with_normalised_details,
    creates_organization_with_affiliated_person,
    rejects_person_without_family_name,
    rejects_organization_with_person_names,
    rejects_codice_fiscale_with_wrong_check_character,
    rejects_company_codice_fiscale_for_person,
    rejects_invalid_partita_iva,
    rejects_bad_email_and_phone_with_input_path,
    rejects_duplicate_email_in_one_input,
    rejects_affiliation_to_missing_or_non_organization,
    rejects_responsible_user_of_wrong_type_or_missing,
    reports_every_invalid_field_at_once,
    failed_create_leaves_no_contact,
    failed_update_leaves_old_values,
    partial_update_keeps_other_fields,
    null_clears_nullable_fields,
    list_in_update_replaces_whole_list,
    update_cannot_change_kind,
    update_of_missing_or_malformed_id_fails,
    delete_removes_contact_and_its_details,
    text_search_matches_names_emails_tax_ids_and_phones,
    text_search_treats_wildcards_literally,
    filters_by_kind_categories_and_tags,
    filters_by_organization_and_responsible_user,
    filters_by_creation_time,
    organizations_query_returns_only_organizations,
    orders_by_name_and_creation_time,
    pages_forward_with_first_and_after,
    pages_backward_with_last_and_before,
    rejects_bad_pagination_arguments,
    finds_duplicates_by_each_identifier,
    merge_folds_details_into_survivor,
    merge_fills_missing_given_name,
    merge_moves_matter_roles_communications_and_deadlines,
    merge_refuses_invalid_requests_and_changes_nothing,
);
