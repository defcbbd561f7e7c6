//! Data minimisation: the optional personal contact fields (birth date, personal interests,
//! family details) are stored while collected; switched off in the settings they refuse
//! writes, read as null, and the record of processing lists them as not collected.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const OPTIONAL: &str = "birthDate personalInterests familyDetails";

fn create_mutation() -> String {
    format!("mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ contact {{ id {OPTIONAL} }} }} }}")
}

fn update_mutation() -> String {
    format!("mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ contact {{ id {OPTIONAL} }} }} }}")
}

fn person(extra: Value) -> Value {
    let mut input = json!({ "kind": "PERSON", "givenName": "Elena", "familyName": "Sarti", "category": "CLIENT" });
    merge(&mut input, extra);
    with_provenance(input)
}

async fn optional_fields_are_kept_while_collected(backend: Backend) {
    let app = TestApp::start(backend).await;
    let created = app
        .data(
            &create_mutation(),
            json!({ "input": person(json!({ "birthDate": "1979-03-14", "personalInterests": "  sailing ", "familyDetails": "two children" })) }),
        )
        .await;
    let contact = &created["createContact"]["contact"];
    assert_eq!(contact["birthDate"], "1979-03-14");
    assert_eq!(contact["personalInterests"], "sailing", "trimmed");
    assert_eq!(contact["familyDetails"], "two children");

    let updated = app
        .data(
            &update_mutation(),
            json!({ "input": { "id": contact["id"], "familyDetails": null, "personalInterests": "chess" } }),
        )
        .await;
    let contact = &updated["updateContact"]["contact"];
    assert_eq!(contact["birthDate"], "1979-03-14", "left out: kept");
    assert_eq!(contact["personalInterests"], "chess");
    assert_eq!(contact["familyDetails"], Value::Null);

    let future = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let error = app
        .error(
            &create_mutation(),
            json!({ "input": person(json!({ "birthDate": future })) }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.birthDate");

    // Marketing may not write them: they are contact details, not campaign data.
    let (_, marketing) = app.sign_in("mkt@studio.example", "marketing").await;
    let body = app
        .gql_as(
            &marketing,
            &create_mutation(),
            json!({ "input": person(json!({ "familyDetails": "x" })) }),
        )
        .await;
    assert_error(&body["errors"][0], "FORBIDDEN", "input.familyDetails");
}

async fn switched_off_fields_are_refused_and_read_as_null(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.disabled_contact_fields = vec!["birthDate".to_owned(), "familyDetails".to_owned()];
    })
    .await;
    let error = app
        .error(
            &create_mutation(),
            json!({ "input": person(json!({ "birthDate": "1979-03-14" })) }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.birthDate");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("disabled by data minimisation"),
        "{error:#}"
    );
    let count = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(count["contacts"]["totalCount"], 0, "nothing written");

    // The field still collected is accepted beside them.
    let created = app
        .data(
            &create_mutation(),
            json!({ "input": person(json!({ "personalInterests": "opera" })) }),
        )
        .await;
    let id = created["createContact"]["contact"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        created["createContact"]["contact"]["personalInterests"],
        "opera"
    );

    let error = app
        .error(
            &update_mutation(),
            json!({ "input": { "id": id, "familyDetails": "married" } }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.familyDetails");
    // Clearing stays possible, to purge what was kept before the switch.
    app.data(
        &update_mutation(),
        json!({ "input": { "id": id, "familyDetails": null } }),
    )
    .await;

    // A value stored before the field was switched off is not served.
    let key = lexgate::ids::parse(&id).expect("contact id").1;
    app.db
        .run(move |c| {
            use lexgate::db::schema::contacts;
            diesel::update(contacts::table.find(key))
                .set((
                    contacts::birth_date.eq(chrono::NaiveDate::from_ymd_opt(1979, 3, 14)),
                    contacts::family_details.eq(Some("married")),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("stored behind the API's back");
    let read = app
        .data(
            &format!("query($id: ID!) {{ contact(id: $id) {{ {OPTIONAL} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["contact"]["birthDate"], Value::Null);
    assert_eq!(read["contact"]["familyDetails"], Value::Null);
    assert_eq!(read["contact"]["personalInterests"], "opera");

    // The record of processing reports what is not collected.
    let (_, dpo) = app.sign_in("dpo@studio.example", "dpo").await;
    let body = app
        .gql_as(
            &dpo,
            "{ processingRegisterExport(format: JSON) }",
            json!({}),
        )
        .await;
    let text = body["data"]["processingRegisterExport"]
        .as_str()
        .unwrap_or_else(|| panic!("{body:#}"));
    let document: Value = serde_json::from_str(text).expect("JSON");
    let collected: Vec<(String, bool)> = document["optionalContactFields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap_or_default().to_owned(),
                f["collected"] == true,
            )
        })
        .collect();
    assert_eq!(
        collected,
        [
            ("birthDate".to_owned(), false),
            ("personalInterests".to_owned(), true),
            ("familyDetails".to_owned(), false)
        ]
    );
}

on_both_backends!(
    optional_fields_are_kept_while_collected,
    switched_off_fields_are_refused_and_read_as_null,
);
