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
