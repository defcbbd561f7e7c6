//! The `clio` kind (Clio Manage API v4) from `createConnectorInstance` against the faithful
//! fake, on both backends: the region's API root checked, contacts imported with source and
//! legal basis, an incremental sync from `updated_since`, a re-run that changes nothing, and
//! deadlines pushed as calendar entries of the Clio matter with the same number, once.

use chrono::Utc;
use diesel::prelude::*;
use lexgate::db::schema::{contact_emails, contact_sources, processing_grounds, purposes};
use lexgate_connectors::testing::clio::ClioFake;
use lexgate_connectors::testing::{CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail_apis::authorise_directly;
use crate::on_both_backends;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind baseUrl deadlineUsers authorized } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated deleted skipped review failed pushed pushRemoved pushConflicts errors { message } } } }";

const ROSSI: &str = "avv.rossi@studiorossi.it";

async fn sync(app: &TestApp, id: &str) -> Value {
    let run = app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    run
}

/// created, updated, deleted, failed, pushed
fn counts(run: &Value) -> [i64; 5] {
    ["created", "updated", "deleted", "failed", "pushed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

async fn contact_by_email(app: &TestApp, email: &'static str) -> Option<String> {
    app.db
        .run(move |c| {
            Ok(contact_emails::table
                .filter(contact_emails::address.eq(email))
                .select(contact_emails::contact_id)
                .first::<String>(c)
                .optional()?)
        })
        .await
        .expect("query")
}

async fn clio_contacts_with_source_basis_and_pushed_deadlines(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = ClioFake::start().await;
    let rossi = create_user(&app, ROSSI, "lawyer").await;
    let client = create_person(&app, "Mario", "Bianchi", json!({})).await;
    let matter = create_matter(
        &app,
        "2026/0042",
        &client,
        json!({ "responsibleUserId": rossi }),
    )
    .await;

    // Only a region's API root, and OAuth only.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "clio", "kind": "clio",
                "baseUrl": "https://uk.app.clio.com/api/v4", "password": "x" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    for field in ["input.baseUrl", "input.clientId", "input.password"] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }
    // A region's root gives the OAuth endpoints.
    let eu = app
        .data(
            CREATE,
            json!({ "input": { "name": "clio-eu", "kind": "clio",
                "baseUrl": "https://eu.app.clio.com/api/v4", "clientId": "app" } }),
        )
        .await;
    assert_eq!(
        eu["createConnectorInstance"]["connectorInstance"]["kind"],
        "clio"
    );

    let created = app
        .data(
            CREATE,
            json!({ "input": { "name": "clio", "kind": "clio", "baseUrl": fake.api_root(),
                "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", fake.provider.base_url),
                "tokenUrl": format!("{}/token", fake.provider.base_url),
                "deadlineUsers": [ROSSI], "pageSize": 1 } }),
        )
        .await;
    let instance = created["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("instance id")
        .to_owned();
    authorise_directly(&app, "clio", fake.provider.issue_tokens()).await;

    fake.upsert(
        "contacts",
        json!({ "id": 11, "type": "Person", "first_name": "Giulia", "last_name": "Verdi",
                "is_client": true,
                "email_addresses": [{ "address": "giulia.verdi@example.org", "primary": true }] }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 21, "display_number": "2026/0042", "description": "Bianchi v. Acme",
                "status": "Open", "client": { "id": 11 } }),
    );
    fake.advance(600);
    let hearing = app
        .data(
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": "Udienza Bianchi", "kind": "HEARING",
                "dueAt": (Utc::now() + chrono::Duration::days(10)).to_rfc3339(),
                "matterId": matter } }),
        )
        .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned();
    let (_, hearing_key) = lexgate::ids::parse(&hearing).expect("a deadline id");

    // First import: the client with its source and the contract basis; the deadline pushed
    // to the Clio matter numbered as lexgate's.
    let first = sync(&app, &instance).await;
    assert!(first["fullSync"].as_bool().unwrap_or(false), "{first:#}");
    assert_eq!(counts(&first), [1, 0, 0, 0, 1], "{first:#}");
    let giulia = contact_by_email(&app, "giulia.verdi@example.org")
        .await
        .expect("imported");
    let id = giulia.clone();
    let (kind, connector, external) = app
        .db
        .run(move |c| {
            Ok(contact_sources::table
                .filter(contact_sources::contact_id.eq(id))
                .select((
                    contact_sources::kind,
                    contact_sources::connector,
                    contact_sources::external_id,
                ))
                .first::<(String, Option<String>, Option<String>)>(c)?)
        })
        .await
        .expect("source");
    assert_eq!(kind, "connector_import");
    assert_eq!(connector.as_deref(), Some("clio"));
    assert_eq!(external.as_deref(), Some("11"));
    let id = giulia.clone();
    let grounds = app
        .db
        .run(move |c| {
            Ok(processing_grounds::table
                .inner_join(purposes::table)
                .filter(processing_grounds::contact_id.eq(id))
                .select((purposes::key, processing_grounds::legal_basis))
                .load::<(String, String)>(c)?)
        })
        .await
        .expect("grounds");
    assert_eq!(
        grounds,
        [("client_relationship".to_owned(), "contract".to_owned())]
    );
    let entries = fake.live("calendar_entries");
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["summary"], "Udienza Bianchi");
    assert_eq!(entries[0]["matter"]["id"], 21);
    assert!(entries[0]["external_properties"]
        .as_array()
        .expect("properties")
        .iter()
        .any(|p| p["name"] == "lexgate_id" && p["value"] == hearing_key.as_str()));

    // Incremental: only what changed since the last listing.
    fake.edit(
        "contacts",
        11,
        json!({ "phone_numbers": [{ "number": "+39 02 7654321", "primary": true }] }),
    );
    fake.advance(600);
    let writes = fake.writes();
    let second = sync(&app, &instance).await;
    assert!(!second["fullSync"].as_bool().unwrap_or(true), "{second:#}");
    assert_eq!(counts(&second), [0, 1, 0, 0, 0], "{second:#}");
    let listed = fake.requests();
    assert!(
        listed
            .iter()
            .any(|r| r.starts_with("GET /api/v4/contacts.json") && r.contains("updated_since=")),
        "{listed:#?}"
    );

    // A re-run changes nothing, and sends nothing.
    fake.advance(600);
    let third = sync(&app, &instance).await;
    assert_eq!(counts(&third), [0, 0, 0, 0, 0], "{third:#}");
    assert_eq!(fake.writes(), writes);
    assert_eq!(fake.live("calendar_entries").len(), 1);
}

on_both_backends!(clio_contacts_with_source_basis_and_pushed_deadlines);
