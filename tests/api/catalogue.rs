//! The personal-data catalogue against the live database: it names every column on both
//! backends (which agree with each other and with `src/db/schema.rs`); the access export
//! holds every personal value the firm holds about the person; a full erasure leaves no
//! personal value of the person; a held one keeps only what the hold needs; third parties'
//! data in an export is flagged per item and withheld from the redacted variant.

use std::collections::{BTreeMap, BTreeSet};

use lexgate::gdpr::catalogue::{self, live, Erasure, Held};
use serde_json::{json, Value};

use crate::dsar::subject_in_every_table;
use crate::fixtures::{create_matter, create_person, gdpr_records, verified_request};
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const EXPORT: &str = "query($id: ID!, $redact: Boolean!) { subjectAccessExport(contactId: $id, redactThirdParties: $redact) }";
const EXECUTE: &str = "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }";

fn key(id: &str) -> String {
    lexgate::ids::parse(id).expect("global ID").1
}

/// Every (table, column) → values of the personal columns of rows naming `contact`, in
/// every table the catalogue says names contacts (the columns naming the person left out:
/// they are the person's own ID).
async fn personal_values(app: &TestApp, contact: &str) -> BTreeMap<(String, String), Vec<String>> {
    let contact = contact.to_owned();
    app.db
        .run(move |c| {
            let mut out = BTreeMap::new();
            for table in catalogue::naming_contacts() {
                let columns: Vec<&str> = table
                    .personal()
                    .filter(|p| !table.refers().any(|r| r == *p))
                    .collect();
                let rows =
                    live::rows_where(c, table, &columns, &live::naming(table.refers(), &contact))?;
                for (i, column) in columns.iter().enumerate() {
                    let values: Vec<String> = rows.iter().filter_map(|r| r[i].clone()).collect();
                    out.insert((table.table.to_owned(), (*column).to_owned()), values);
                }
            }
            Ok(out)
        })
        .await
        .expect("personal values read")
}

/// Gives every empty personal text column of the rows naming `contact` a value, so the checks
/// below have something to find in every personal column; and fails unless every table
/// naming contacts has a row naming the person (extend `subject_in_every_table`).
async fn fill_personal_columns(app: &TestApp, contact: &str) {
    let contact = contact.to_owned();
    app.db
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            let types = live::actual_columns(c)?;
            let is_text = |t: &str, col: &str| {
                types.iter().any(|x| {
                    x.table_name == t
                        && x.column_name == col
                        && x.data_type.to_lowercase().contains("text")
                })
            };
            for table in catalogue::naming_contacts() {
                let filter = live::naming(table.refers(), &contact);
                let present = live::rows_where(c, table, &[table.columns[0].0], &filter)?;
                assert!(
                    !present.is_empty(),
                    "the fixture puts the subject in no row of {} (extend subject_in_every_table)",
                    table.table
                );
                for column in table
                    .personal()
                    .filter(|p| !table.refers().any(|r| r == *p))
                {
                    if !is_text(table.table, column) {
                        continue;
                    }
                    c.batch_execute(&format!(
                        "UPDATE {} SET {1} = {2} WHERE {filter} AND {1} IS NULL",
                        live::quoted(table.table),
                        live::quoted(column),
                        live::literal(&format!("Filled {}.{column}", table.table)),
                    ))?;
                }
            }
            Ok(())
        })
        .await
        .expect("personal columns filled");
}

fn strings(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

async fn the_catalogue_names_every_live_column(backend: Backend) {
    let app = TestApp::start(backend).await;
    let problems = app
        .db
        .run(live::undeclared_columns)
        .await
        .expect("catalogue read");
    assert!(problems.is_empty(), "{problems:#?}");
    let declared = catalogue::declaration_problems();
    assert!(declared.is_empty(), "{declared:#?}");
}

async fn the_access_export_contains_every_personal_value_held(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = subject_in_every_table(&app, &dpo).await;
    fill_personal_columns(&app, &key(&person)).await;
    let held = personal_values(&app, &key(&person)).await;

    let body = app
        .gql_as(&dpo, EXPORT, json!({ "id": person, "redact": false }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let export = &body["data"]["subjectAccessExport"];
    for ((table, column), values) in &held {
        let rules = catalogue::find(table).expect("declared");
        let section = match rules.export {
            catalogue::Export::Subject => &export["subject"],
            catalogue::Export::Section(heading) => &export["data"][heading],
            catalogue::Export::Undeclared => panic!("{table} has no heading"),
        };
        let mut shown = BTreeSet::new();
        strings(section, &mut shown);
        assert!(
            !values.is_empty(),
            "{table}.{column} has no value to look for"
        );
        for value in values {
            assert!(
                shown.contains(value),
                "{table}.{column} value {value:?} is not in the export: {section:#}"
            );
        }
    }
    // The values the old export left out (issue 14).
    let subject = &export["subject"];
    assert_eq!(subject["birthDate"], "1979-04-12", "{subject:#}");
    assert_eq!(subject["personalInterests"], "Sailing", "{subject:#}");
    assert_eq!(subject["familyDetails"], "Two sons", "{subject:#}");
}

/// After `erase`, what personal values of the person remain, outside the tables whose
/// records outlive any erasure.
async fn remaining(app: &TestApp, contact: &str) -> Vec<(String, String, String)> {
    personal_values(app, contact)
        .await
        .into_iter()
        .filter(|((t, _), _)| catalogue::find(t).is_some_and(|r| r.erasure != Erasure::Keep))
        .flat_map(|((t, c), values)| values.into_iter().map(move |v| (t.clone(), c.clone(), v)))
        .collect()
}

async fn erase(app: &TestApp, dpo: &str, person: &str) -> Value {
    let request = verified_request(app, dpo, "ERASURE", person, "Teodora Lanzi").await;
    let body = app.gql_as(dpo, EXECUTE, json!({ "id": request })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["executeErasure"]["erasure"].clone()
}

/// The records every erasure keeps (Art. 5(2), 17(3)): listed here so widening it is a
/// deliberate change.
#[test]
fn only_accountability_records_outlive_an_erasure() {
    let kept: BTreeSet<&str> = catalogue::naming_contacts()
        .filter(|t| t.erasure == Erasure::Keep)
        .map(|t| t.table)
        .collect();
    assert_eq!(
        kept,
        BTreeSet::from(["access_log_subject_sets", "breach_subjects", "erasure_log"])
    );
}

async fn a_full_erasure_leaves_no_personal_value_of_the_person(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = subject_in_every_table(&app, &dpo).await;
    let contact = key(&person);
    // Nothing holds the person any more: the hold is released, the matter closed and the
    // invoice issued long ago.
    let statements = format!(
        "UPDATE legal_holds SET released_at = '2026-11-01 00:00:00' WHERE contact_id = '{contact}';
         UPDATE matters SET status = 'closed', closed_on = '2012-03-01'
           WHERE id IN (SELECT matter_id FROM matter_parties WHERE contact_id = '{contact}');
         UPDATE invoices SET issue_date = '2012-03-01' WHERE client_contact_id = '{contact}';"
    );
    app.db
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            Ok(c.batch_execute(&statements)?)
        })
        .await
        .expect("hold released");
    fill_personal_columns(&app, &contact).await;
    assert!(!remaining(&app, &contact).await.is_empty());

    let erasure = erase(&app, &dpo, &person).await;
    assert_eq!(erasure["contactDeleted"], true, "{erasure:#}");
    let left = remaining(&app, &contact).await;
    assert!(
        left.is_empty(),
        "personal values left after a full erasure: {left:#?}"
    );
}

async fn a_held_erasure_keeps_only_what_the_hold_needs(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let person = subject_in_every_table(&app, &dpo).await;
    let contact = key(&person);
    fill_personal_columns(&app, &contact).await;

    let erasure = erase(&app, &dpo, &person).await;
    assert_eq!(erasure["contactDeleted"], false, "{erasure:#}");
    let mut wrongly_kept = Vec::new();
    for (table, column, value) in remaining(&app, &contact).await {
        let rules = catalogue::find(&table).expect("declared");
        let keeps_columns =
            rules.erasure == Erasure::Subject || rules.held == Held::KeepHoldColumns;
        if !(keeps_columns && rules.hold_keeps.contains(&column.as_str())) {
            wrongly_kept.push((table, column, value));
        }
    }
    assert!(
        wrongly_kept.is_empty(),
        "kept without the hold needing it: {wrongly_kept:#?}"
    );
    // What the hold needs is still there.
    let contact_row = app
        .data(
            "query($id: ID!) { contact(id: $id) { givenName familyName birthDate personalInterests familyDetails } }",
            json!({ "id": person }),
        )
        .await["contact"]
        .clone();
    assert_eq!(
        contact_row,
        json!({ "givenName": "Teodora", "familyName": "Lanzi", "birthDate": null,
                "personalInterests": null, "familyDetails": null })
    );
}

async fn a_counterpartys_export_flags_and_can_withhold_third_party_data(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let client = create_person(&app, "Gualtiero", "Benvenuti", json!({})).await;
    let counterparty = create_person(&app, "Ilario", "Stocchi", json!({})).await;
    create_matter(
        &app,
        "2026/0900",
        &client,
        json!({ "title": "Benvenuti v. Stocchi", "counterpartyIds": [counterparty] }),
    )
    .await;
    app.data(
        "mutation($p: [ID!]!) { logCommunication(input: { channel: PHONE, direction: INBOUND, occurredAt: \"2026-11-02T10:00:00Z\", subject: \"Settlement\", summary: \"Benvenuti would accept half\", participantIds: $p }) { communication { id } } }",
        json!({ "p": [client, counterparty] }),
    )
    .await;

    let full = app
        .gql_as(&dpo, EXPORT, json!({ "id": counterparty, "redact": false }))
        .await["data"]["subjectAccessExport"]
        .clone();
    let matter = &full["data"]["matters"][0];
    assert_eq!(
        matter["matter"]["title"], "Benvenuti v. Stocchi",
        "{matter:#}"
    );
    assert_eq!(
        matter["thirdPartyData"],
        json!(["matter.title"]),
        "{matter:#}"
    );
    let communication = &full["data"]["communications"][0];
    assert_eq!(
        communication["thirdPartyData"],
        json!(["communication.subject", "communication.summary"]),
        "{communication:#}"
    );
    assert_eq!(full["redacted"], false);
    assert_eq!(full["thirdPartyItems"], 2);

    let redacted = app
        .gql_as(&dpo, EXPORT, json!({ "id": counterparty, "redact": true }))
        .await["data"]["subjectAccessExport"]
        .clone();
    assert_eq!(redacted["redacted"], true);
    let matter = &redacted["data"]["matters"][0];
    assert_eq!(matter["matter"]["title"], Value::Null, "{matter:#}");
    assert_eq!(matter["matter"]["reference"], "2026/0900", "{matter:#}");
    assert_eq!(matter["thirdPartyData"], json!(["matter.title"]));
    assert!(
        !redacted.to_string().contains("Benvenuti"),
        "the client's name is withheld: {redacted:#}"
    );
    assert!(
        redacted.to_string().contains("Stocchi"),
        "the subject's own data stays"
    );

    // The command line writes the same redacted variant.
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("export.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args([
            "dsar",
            "export",
            "--redact-third-parties",
            "--contact",
            &counterparty,
            "--output",
        ])
        .arg(&file)
        .args(["--database-url", &app.database_url])
        .env("LEXGATE_LOG", "error")
        .status()
        .expect("lexgate runs");
    assert!(status.success());
    let cli: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("export written"))
        .expect("the export is JSON");
    assert_eq!(cli["redacted"], true);
    assert_eq!(cli["data"]["matters"], redacted["data"]["matters"]);
    assert_eq!(
        cli["data"]["communications"],
        redacted["data"]["communications"]
    );
}

/// A merge moves every row the catalogue says follows the person: the merged contact's
/// sources, consents, grounds and objections are the survivor's afterwards, not deleted with it.
async fn a_merge_moves_what_follows_the_person(backend: Backend) {
    let app = TestApp::start(backend).await;
    let survivor = create_person(&app, "Ottone", "Rapisardi", json!({})).await;
    let merged = create_person(&app, "Ottone", "Rapisardi", json!({})).await;
    gdpr_records(&app, &merged, "CRM-0042", "Rapisardi").await;
    let before = personal_values(&app, &key(&merged)).await;
    let body = app
        .gql(
            "mutation($input: MergeContactsInput!) { mergeContacts(input: $input) { contact { id } } }",
            json!({ "input": { "survivorId": survivor, "mergedIds": [merged] } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let after = personal_values(&app, &key(&survivor)).await;
    let gone = personal_values(&app, &key(&merged)).await;
    for table in catalogue::naming_contacts().filter(|t| t.merge == catalogue::Merge::Move) {
        for ((t, column), values) in before.iter().filter(|((t, _), _)| t == table.table) {
            for value in values {
                assert!(
                    after[&(t.clone(), column.clone())].contains(value),
                    "{t}.{column} {value:?} did not follow the person"
                );
            }
            assert!(
                gone[&(t.clone(), column.clone())].is_empty(),
                "{t} still names the merged contact"
            );
        }
    }
    let moved: usize = before
        .iter()
        .filter(|((t, _), _)| {
            [
                "consents",
                "processing_grounds",
                "objections",
                "contact_sources",
            ]
            .contains(&t.as_str())
        })
        .map(|(_, v)| v.len())
        .sum();
    assert!(
        moved >= 4,
        "the fixture gave the merged contact evidence to move: {before:#?}"
    );
}

/// A column as the database or `schema.rs` declares it: name, type family, nullability.
type Columns = BTreeSet<(String, String, String, bool)>;

/// The type family both backends and Diesel agree on.
fn family(data_type: &str) -> String {
    let t = data_type.to_lowercase();
    let family = if t.contains("timestamp") {
        "timestamp"
    } else if t == "date" {
        "date"
    } else if t.contains("bigint") || t == "int8" {
        "bigint"
    } else if t.contains("int") {
        "integer"
    } else if t.contains("bool") {
        "bool"
    } else if t.contains("text") || t.contains("char") {
        "text"
    } else if t.contains("double") || t.contains("real") || t.contains("float") {
        "double"
    } else {
        return t;
    };
    family.to_owned()
}

async fn live_columns(backend: Backend) -> Columns {
    let app = TestApp::start(backend).await;
    app.db
        .run(live::actual_columns)
        .await
        .expect("catalogue read")
        .into_iter()
        .filter(|c| c.table_name != "__diesel_schema_migrations")
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                family(&c.data_type),
                c.nullable,
            )
        })
        .collect()
}

/// The tables `src/db/schema.rs` declares, read from its `table!` blocks.
fn schema_rs_columns() -> Columns {
    let text = include_str!("../../src/db/schema.rs");
    let mut out = Columns::new();
    let mut table: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.ends_with('{') && line.contains('(') && !line.starts_with("diesel::") {
            table = line.split_whitespace().next().map(str::to_owned);
        } else if line == "}" {
            table = None;
        } else if let (Some(t), Some((name, ty))) = (&table, line.split_once("->")) {
            let ty = ty.trim().trim_end_matches(',');
            let nullable = ty.starts_with("Nullable<");
            let inner = ty.trim_start_matches("Nullable<").trim_end_matches('>');
            let family = match inner {
                "Text" => "text",
                "Timestamp" => "timestamp",
                "Date" => "date",
                "Int4" | "Integer" => "integer",
                "Int8" | "BigInt" => "bigint",
                "Bool" => "bool",
                "Float8" | "Double" => "double",
                other => other,
            };
            out.insert((
                t.clone(),
                name.trim().to_owned(),
                family.to_lowercase(),
                nullable,
            ));
        }
    }
    out
}

fn differences(a: &Columns, b: &Columns) -> Vec<String> {
    a.symmetric_difference(b)
        .map(|(t, c, ty, null)| {
            let side = if a.contains(&(t.clone(), c.clone(), ty.clone(), *null)) {
                "only in the first"
            } else {
                "only in the second"
            };
            format!("{t}.{c} {ty}{} {side}", if *null { " NULL" } else { "" })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_and_schema_rs_declare_the_same_columns() {
    let sqlite = live_columns(Backend::Sqlite).await;
    let postgres = live_columns(Backend::Postgres).await;
    let declared = schema_rs_columns();
    assert!(
        declared.len() > 300,
        "schema.rs parsed: {} columns",
        declared.len()
    );
    // SQLite has one integer type, whatever the migration spells: compare integers as one.
    let one_integer = |columns: &Columns| -> Columns {
        columns
            .iter()
            .map(|(t, c, ty, null)| {
                let ty = if ty == "bigint" {
                    "integer".to_owned()
                } else {
                    ty.clone()
                };
                (t.clone(), c.clone(), ty, *null)
            })
            .collect()
    };
    let backends = differences(&one_integer(&sqlite), &one_integer(&postgres));
    assert!(
        backends.is_empty(),
        "SQLite (first) and PostgreSQL (second) differ: {backends:#?}"
    );
    let rs = differences(&postgres, &declared);
    assert!(
        rs.is_empty(),
        "PostgreSQL (first) and src/db/schema.rs (second) differ: {rs:#?}"
    );
}

on_both_backends!(
    the_catalogue_names_every_live_column,
    the_access_export_contains_every_personal_value_held,
    a_full_erasure_leaves_no_personal_value_of_the_person,
    a_held_erasure_keeps_only_what_the_hold_needs,
    a_counterpartys_export_flags_and_can_withhold_third_party_data,
    a_merge_moves_what_follows_the_person,
);
