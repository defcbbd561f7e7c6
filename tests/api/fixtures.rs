//! Small builders for the records most tests need.

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

pub async fn create_contact(app: &TestApp, input: Value) -> String {
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
