//! Small builders for the records most tests need.

use std::collections::BTreeSet;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::harness::TestApp;

pub async fn create_user(app: &TestApp, email: &str, role: &str) -> String {
    let data = app
        .data(
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": email, "displayName": email.split('@').next().unwrap_or(email), "role": role } }),
        )
        .await;
    data["createUser"]["user"]["id"]
        .as_str()
        .expect("user id")
        .to_owned()
}

pub async fn create_person(app: &TestApp, given: &str, family: &str, extra: Value) -> String {
    let mut input =
        json!({ "kind": "PERSON", "givenName": given, "familyName": family, "category": "CLIENT" });
    merge(&mut input, extra);
    create_contact(app, input).await
}

pub async fn create_organization(app: &TestApp, name: &str, extra: Value) -> String {
    let mut input =
        json!({ "kind": "ORGANIZATION", "organizationName": name, "category": "CLIENT" });
    merge(&mut input, extra);
    create_contact(app, input).await
}

/// Every contact needs an acquisition source and a legal basis; tests that are not about
/// those get a manual entry held for the client relationship.
pub fn with_provenance(mut input: Value) -> Value {
    if input.get("source").is_none() {
        input["source"] = json!({ "kind": "MANUAL_ENTRY", "detail": "Entered for the test", "acquiredAt": "2026-01-15T10:00:00Z" });
    }
    if input.get("grounds").is_none() {
        input["grounds"] = json!([{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }]);
    }
    input
}

pub async fn create_contact(app: &TestApp, input: Value) -> String {
    let input = with_provenance(input);
    let data = app
        .data(
            "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
            json!({ "input": input }),
        )
        .await;
    data["createContact"]["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned()
}

pub async fn create_matter(app: &TestApp, reference: &str, client: &str, extra: Value) -> String {
    let mut input = json!({ "reference": reference, "title": format!("Matter {reference}"), "practiceArea": "Contenzioso civile", "clientIds": [client] });
    merge(&mut input, extra);
    let data = app
        .data(
            "mutation($input: CreateMatterInput!) { createMatter(input: $input) { matter { id } } }",
            json!({ "input": input }),
        )
        .await;
    data["createMatter"]["matter"]["id"]
        .as_str()
        .expect("matter id")
        .to_owned()
}

pub fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

/// The error names the list element at `index` (e.g. `input.clientIds[2]`) as the bad field.
#[track_caller]
pub fn assert_bad_list_element(error: &Value, list: &str, index: usize) {
    let element = format!("{list}[{index}]");
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], element.as_str(), "{error:#}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&element),
        "the message names {element}: {error:#}"
    );
    assert_eq!(
        message.matches("invalid input").count(),
        1,
        "doubled message: {error:#}"
    );
}

/// A well-formed global ID of `type_name` that names nothing in the database.
pub fn missing_id(type_name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{type_name}:{}", uuid::Uuid::now_v7()))
}

pub fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a time: {value}")),
    )
    .expect("RFC 3339 time")
    .with_timezone(&Utc)
}

pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("UTC time")
}

#[track_caller]
pub fn assert_error(error: &Value, code: &str, field: &str) {
    assert_eq!(error["extensions"]["code"], code, "{error:#}");
    assert_eq!(error["extensions"]["field"], field, "{error:#}");
}

/// A column of the live schema, read from the database catalogue.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct SchemaColumn {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub data_type: String,
}

impl SchemaColumn {
    pub fn is_text(&self) -> bool {
        let t = self.data_type.to_lowercase();
        t == "text" || t.contains("char")
    }
}

#[derive(diesel::QueryableByName)]
struct TextValue {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    v: Option<String>,
}

/// Runs `work` on a fresh connection of the test database's own backend: catalogue queries
/// differ between the two, and these helpers inspect the schema itself.
fn with_raw<T>(
    app: &TestApp,
    postgres: impl FnOnce(&mut diesel::PgConnection) -> T,
    sqlite: impl FnOnce(&mut diesel::SqliteConnection) -> T,
) -> T {
    use diesel::Connection;
    let url = &app.database_url;
    if url.starts_with("postgres") {
        postgres(&mut diesel::PgConnection::establish(url).expect("PostgreSQL connection"))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        sqlite(&mut diesel::SqliteConnection::establish(path).expect("SQLite connection"))
    }
}

/// Every column of every application table (migration bookkeeping left out).
pub fn schema_columns(app: &TestApp) -> Vec<SchemaColumn> {
    use diesel::RunQueryDsl;
    const PG: &str = "SELECT table_name::text AS table_name, column_name::text AS column_name, \
        data_type::text AS data_type FROM information_schema.columns \
        WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
        ORDER BY table_name, ordinal_position";
    const SQLITE: &str = "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type \
        FROM sqlite_master m JOIN pragma_table_info(m.name) p \
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
        AND m.name <> '__diesel_schema_migrations' ORDER BY m.name, p.cid";
    with_raw(
        app,
        |pg| diesel::sql_query(PG).load(pg).expect("catalogue"),
        |lite| diesel::sql_query(SQLITE).load(lite).expect("catalogue"),
    )
}

/// Every (table, column, value) of a text column whose value contains one of `needles`
/// (case-insensitive).
pub fn find_values(app: &TestApp, needles: &[&str]) -> Vec<(String, String, String)> {
    use diesel::RunQueryDsl;
    let needles: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
    let mut found = Vec::new();
    for column in schema_columns(app)
        .into_iter()
        .filter(SchemaColumn::is_text)
    {
        let sql = format!(
            "SELECT \"{}\" AS v FROM \"{}\"",
            column.column_name, column.table_name
        );
        let values: Vec<TextValue> = with_raw(
            app,
            |pg| diesel::sql_query(&sql).load(pg).expect("column values"),
            |lite| diesel::sql_query(&sql).load(lite).expect("column values"),
        );
        for value in values.into_iter().filter_map(|v| v.v) {
            let lower = value.to_lowercase();
            if needles.iter().any(|n| lower.contains(n.as_str())) {
                found.push((column.table_name.clone(), column.column_name.clone(), value));
            }
        }
    }
    found
}

/// Records for a contact in the GDPR core tables that have no mutations of their own here:
/// a connector source with an external ID, a newsletter consent with its processing ground,
/// and an objection to profiling.
pub async fn gdpr_records(app: &TestApp, contact: &str, external_id: &str, note: &str) {
    use diesel::prelude::*;
    use lexgate::db::schema::{consents, contact_sources, objections, processing_grounds};
    let (_, key) = lexgate::ids::parse(contact).expect("a contact ID");
    let (external_id, note) = (external_id.to_owned(), note.to_owned());
    app.db
        .transaction(move |c| {
            let now = lexgate::db::now();
            diesel::insert_into(contact_sources::table)
                .values((
                    contact_sources::id.eq(lexgate::db::new_id()),
                    contact_sources::contact_id.eq(&key),
                    contact_sources::kind.eq("connector_import"),
                    contact_sources::detail.eq("Imported from the billing system"),
                    contact_sources::connector.eq("billing"),
                    contact_sources::external_id.eq(&external_id),
                    contact_sources::acquired_at.eq(now),
                    contact_sources::recorded_at.eq(now),
                ))
                .execute(c)?;
            let consent = lexgate::db::new_id();
            diesel::insert_into(consents::table)
                .values((
                    consents::id.eq(&consent),
                    consents::contact_id.eq(&key),
                    consents::purpose_id.eq("purpose-newsletter"),
                    consents::given_at.eq(now),
                    consents::method.eq("web form"),
                    consents::notice_version.eq("v3"),
                    consents::collected_by.eq("website"),
                    consents::proof_reference.eq(format!("proof {note}")),
                    consents::recorded_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(processing_grounds::table)
                .values((
                    processing_grounds::id.eq(lexgate::db::new_id()),
                    processing_grounds::contact_id.eq(&key),
                    processing_grounds::purpose_id.eq("purpose-newsletter"),
                    processing_grounds::legal_basis.eq("consent"),
                    processing_grounds::consent_id.eq(&consent),
                    processing_grounds::note.eq(format!("ground {note}")),
                    processing_grounds::started_at.eq(now),
                    processing_grounds::recorded_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(objections::table)
                .values((
                    objections::id.eq(lexgate::db::new_id()),
                    objections::contact_id.eq(&key),
                    objections::purpose_id.eq("purpose-profiling"),
                    objections::received_at.eq(now),
                    objections::method.eq("email"),
                    objections::note.eq(format!("objection {note}")),
                    objections::recorded_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("GDPR records inserted");
}

/// A subject request registered, identified and verified by the DPO; returns its ID.
pub async fn verified_request(
    app: &TestApp,
    dpo: &str,
    kind: &str,
    contact: &str,
    requester: &str,
) -> String {
    let body = app
        .gql_as(
            dpo,
            "mutation($input: CreateSubjectRequestInput!) { createSubjectRequest(input: $input) { request { id } } }",
            json!({ "input": { "kind": kind, "channel": "EMAIL", "requesterName": requester,
                    "requesterContact": format!("{requester} by post"), "contactId": contact,
                    "notes": format!("asked by {requester}") } }),
        )
        .await;
    let id = body["data"]["createSubjectRequest"]["request"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("request created: {body:#}"))
        .to_owned();
    let body = app
        .gql_as(
            dpo,
            "mutation($id: ID!) { verifySubjectIdentity(input: { id: $id, method: \"ID card checked at reception\" }) { request { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["data"]["verifySubjectIdentity"]["request"]["status"], "IDENTITY_VERIFIED",
        "{body:#}"
    );
    id
}

/// An approved legitimate-interest assessment covering the purposes.
/// Written by the DPO, whose register it is (a DPO user is signed in on first use).
pub async fn lia(app: &TestApp, purposes: &[&str], outcome: &str) -> String {
    let body = app
        .gql_as(
            &dpo(app).await,
            "mutation($i: CreateAssessmentInput!) { createAssessment(input: $i) { assessment { id } } }",
            json!({ "i": { "kind": "LIA", "title": "B2B marketing", "outcome": outcome, "assessedOn": "2026-01-10", "purposes": purposes } }),
        )
        .await;
    body["data"]["createAssessment"]["assessment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("assessment created: {body:#}"))
        .to_owned()
}

/// The token of the app's DPO, signed in once.
pub async fn dpo(app: &TestApp) -> String {
    let login = app
        .gql(
            "mutation { login(input: { email: \"dpo@studio.it\", password: \"Ombrello-Verde-2026\" }) { accessToken } }",
            json!({}),
        )
        .await;
    if let Some(token) = login["data"]["login"]["accessToken"].as_str() {
        return token.to_owned();
    }
    app.sign_in("dpo@studio.it", "dpo").await.1
}

/// Two deadlines assigned to `lawyer`: "Udienza" on a matter they lead (2026/0001, whose
/// client is `client`) and "Memoria" on one they are not on (2026/0002, Paolo Neri's).
pub async fn deadlines_on_and_off_a_lawyers_matter(app: &TestApp, lawyer: &str, client: &str) {
    let theirs = create_matter(
        app,
        "2026/0001",
        client,
        json!({ "team": [{ "userId": lawyer, "role": "lead" }] }),
    )
    .await;
    let stranger = create_person(app, "Paolo", "Neri", json!({})).await;
    let other = create_matter(app, "2026/0002", &stranger, json!({})).await;
    for (title, matter, contact) in [("Udienza", &theirs, client), ("Memoria", &other, &stranger)] {
        app.data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": title, "kind": "HEARING", "dueAt": "2026-05-01T09:00:00Z",
                               "matterId": matter, "contactId": contact,
                               "assigneeUserIds": [lawyer] } }),
        )
        .await;
    }
}
