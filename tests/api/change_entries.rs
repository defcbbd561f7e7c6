//! The mutations that commit their changes in transactions of their own (a retention run,
//! a connector sync page by page, a push to a connector) write each change's access-log
//! entry in that change's transaction, naming the contacts it changed, and not again at the
//! end of the request. On both backends: with write entries refused by the database (as a
//! crash between two commits would lose them) nothing is changed; a sync whose later page
//! fails keeps the earlier pages, each with its own entry.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lexgate::audit::{
    list_entries, verify_chain, AccessAction, AccessLogFilter, StoredAccessEntry,
};
use lexgate::db::schema::{contacts, data_recipients};
use lexgate::sync::instances;
use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
use lexgate_connectors::{ContactOrigin, RemoteContact};
use serde_json::json;

use crate::fixtures::create_person;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::sync::{secret_box, start_sealing_secrets};

async fn sql(app: &TestApp, statements: &str) {
    let statements = statements.to_owned();
    app.db
        .run(move |c| Ok(c.batch_execute(&statements)?))
        .await
        .expect("statements run");
}

/// Makes the database refuse every write entry (the entry of a change cannot be written).
async fn refuse_write_entries(app: &TestApp, backend: Backend) {
    let statements = match backend {
        Backend::Postgres => {
            "CREATE FUNCTION refuse_write_entries() RETURNS trigger AS $$ BEGIN \
               IF NEW.action = 'write' THEN RAISE EXCEPTION 'write entries refused'; END IF; \
               RETURN NEW; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_write_entries BEFORE INSERT ON access_log \
               FOR EACH ROW EXECUTE FUNCTION refuse_write_entries();"
        }
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_write_entries BEFORE INSERT ON access_log \
               WHEN NEW.action = 'write' BEGIN SELECT RAISE(ABORT, 'write entries refused'); END;"
        }
    };
    sql(app, statements).await;
}

async fn allow_write_entries(app: &TestApp, backend: Backend) {
    sql(
        app,
        match backend {
            Backend::Postgres => "DROP TRIGGER refuse_write_entries ON access_log;",
            Backend::Sqlite => "DROP TRIGGER refuse_write_entries;",
        },
    )
    .await;
}

/// Every entry, oldest first.
async fn all_entries(app: &TestApp) -> Vec<StoredAccessEntry> {
    let mut entries = app
        .db
        .run(|c| list_entries(c, &AccessLogFilter::default(), 0, 10_000))
        .await
        .expect("entries listed");
    entries.reverse();
    entries
}

async fn head(app: &TestApp) -> i64 {
    all_entries(app).await.last().map_or(0, |e| e.seq)
}

/// The write entries appended after `seq`.
async fn writes_after(app: &TestApp, seq: i64) -> Vec<StoredAccessEntry> {
    all_entries(app)
        .await
        .into_iter()
        .filter(|e| e.seq > seq && e.entry.action == AccessAction::Write)
        .collect()
}

async fn assert_chain_intact(app: &TestApp) {
    let outcome = app.db.run(verify_chain).await.expect("verified");
    assert!(
        matches!(outcome, lexgate::audit::VerifyOutcome::Intact { .. }),
        "{outcome:?}"
    );
}

fn key(global: &str) -> String {
    lexgate::ids::parse(global).expect("a global ID").1
}

async fn contact_exists(app: &TestApp, id: &str) -> bool {
    let id = id.to_owned();
    app.db
        .run(move |c| Ok(contacts::table.find(id).count().get_result::<i64>(c)? > 0))
        .await
        .expect("contact looked up")
}

const RUN_RETENTION: &str =
    "mutation RunRetention { runRetention(dryRun: false) { contactsErased } }";

async fn a_retention_run_commits_with_its_entry_or_not_at_all(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    // A prospect nobody has talked to since 2023: the inactive-prospect policy erases them.
    let stale = key(&create_person(
        &app,
        "Stale",
        "Prospect",
        json!({ "category": "PROSPECT", "emails": [{ "address": "stale@example.com" }],
                "source": { "kind": "WEB_FORM", "detail": "Modulo contatti", "acquiredAt": "2023-01-10T09:00:00Z" } }),
    )
    .await);

    refuse_write_entries(&app, backend).await;
    let body = app.gql_as(&dpo, RUN_RETENTION, json!({})).await;
    assert!(body.get("errors").is_some(), "{body:#}");
    assert!(
        contact_exists(&app, &stale).await,
        "a retention run erased a contact without its access-log entry"
    );

    allow_write_entries(&app, backend).await;
    let before = head(&app).await;
    let body = app.gql_as(&dpo, RUN_RETENTION, json!({})).await;
    assert_eq!(
        body["data"]["runRetention"]["contactsErased"], 1,
        "{body:#}"
    );
    assert!(!contact_exists(&app, &stale).await);
    let writes = writes_after(&app, before).await;
    assert_eq!(writes.len(), 1, "one write entry, the run's: {writes:#?}");
    assert_eq!(writes[0].entry.subjects, vec![stale]);
    assert_eq!(writes[0].entry.role, "dpo");
    assert_eq!(
        writes[0].entry.operation_name.as_deref(),
        Some("RunRetention")
    );
    // A dry run changes nothing: its mutation is logged once, at the end of the request.
    let before = head(&app).await;
    let body = app
        .gql_as(
            &dpo,
            "mutation { runRetention(dryRun: true) { contactsErased } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["runRetention"]["contactsErased"], 0,
        "{body:#}"
    );
    let writes = writes_after(&app, before).await;
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(writes[0].entry.subjects.is_empty());
    assert_chain_intact(&app).await;
}

/// A `json_feed` instance at the fake provider, `page_size` records a page, authorised.
async fn instance(app: &TestApp, provider: &FakeProvider, page_size: i32) -> String {
    let data = app
        .data(
            "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id } } }",
            json!({ "input": {
                "name": "billing",
                "kind": "json_feed",
                "baseUrl": provider.base_url,
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", provider.base_url),
                "tokenUrl": format!("{}/token", provider.base_url),
                "sourceDetail": "Billing system",
                "pageSize": page_size,
                "webhookSecret": HOOK_SECRET,
            } }),
        )
        .await;
    let tokens = provider.issue_tokens();
    app.db
        .transaction(move |c| {
            let row = instances::by_name(c, "billing")?;
            instances::save_tokens(c, &secret_box(), &row.id, &tokens)
        })
        .await
        .expect("tokens stored");
    data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("instance id")
        .to_owned()
}

const HOOK_SECRET: &str = "change-entries-hook-secret";

fn client(id: &str, given: &str) -> RemoteContact {
    RemoteContact {
        external_id: id.into(),
        origin: ContactOrigin::BillingClient,
        given_name: Some(given.into()),
        family_name: Some("Sincronizzato".into()),
        emails: vec![format!("{}@example.it", given.to_lowercase())],
        ..RemoteContact::default()
    }
}

async fn contact_with_email(app: &TestApp, address: &str) -> Option<String> {
    let address = address.to_owned();
    app.db
        .run(move |c| {
            use lexgate::db::schema::contact_emails;
            Ok(contact_emails::table
                .filter(contact_emails::address_key.eq(address))
                .select(contact_emails::contact_id)
                .first::<String>(c)
                .optional()?)
        })
        .await
        .expect("contact looked up")
}

const RUN_SYNC: &str = "mutation RunSync($id: ID!) { runConnectorSync(input: { id: $id }) { run { status created } } }";

async fn each_sync_page_commits_with_its_entry(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let id = instance(&app, &provider, 1).await;
    for (external, given) in [("b-1", "Anna"), ("b-2", "Bruno"), ("b-3", "Carla")] {
        provider.upsert(client(external, given));
    }

    // A page whose entry cannot be written is not committed.
    refuse_write_entries(&app, backend).await;
    let body = app.gql(RUN_SYNC, json!({ "id": id })).await;
    assert!(body.get("errors").is_some(), "{body:#}");
    assert_eq!(
        contact_with_email(&app, "anna@example.it").await,
        None,
        "a sync page was committed without its access-log entry"
    );
    allow_write_entries(&app, backend).await;

    // The third page (the last, whose cursor is "0.3") fails to commit: the first two stay,
    // each with the entry its own transaction wrote.
    sql(
        &app,
        match backend {
            Backend::Postgres => {
                "CREATE FUNCTION refuse_last_page() RETURNS trigger AS $$ BEGIN \
                   IF NEW.cursor = '0.3' THEN RAISE EXCEPTION 'last page refused'; END IF; \
                   RETURN NEW; END; $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER refuse_last_page BEFORE UPDATE ON sync_cursors \
                   FOR EACH ROW EXECUTE FUNCTION refuse_last_page();"
            }
            Backend::Sqlite => {
                "CREATE TRIGGER refuse_last_page BEFORE UPDATE ON sync_cursors \
                   WHEN NEW.cursor = '0.3' BEGIN SELECT RAISE(ABORT, 'last page refused'); END;"
            }
        },
    )
    .await;
    let before = head(&app).await;
    let data = app.data(RUN_SYNC, json!({ "id": id })).await;
    assert_eq!(
        data["runConnectorSync"]["run"],
        json!({ "status": "FAILED", "created": 2 })
    );
    let anna = contact_with_email(&app, "anna@example.it")
        .await
        .expect("page 1 committed");
    let bruno = contact_with_email(&app, "bruno@example.it")
        .await
        .expect("page 2 committed");
    assert_eq!(contact_with_email(&app, "carla@example.it").await, None);
    let writes = writes_after(&app, before).await;
    let subjects: Vec<Vec<String>> = writes.iter().map(|w| w.entry.subjects.clone()).collect();
    assert_eq!(
        subjects,
        vec![vec![anna], vec![bruno]],
        "one entry per committed page, none at the end of the request: {writes:#?}"
    );
    assert!(writes
        .iter()
        .all(|w| w.entry.operation_name.as_deref() == Some("RunSync")));
    assert_chain_intact(&app).await;
}

/// A sync no request asked for (here one a signed webhook starts, as the scheduler's and the
/// CLI's go through the same `SyncService::sync_instance`) logs each page's changes as the
/// `system` principal naming the trigger and the instance.
async fn a_webhook_sync_logs_each_page_as_the_system(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    instance(&app, &provider, 1).await;
    for (external, given) in [("b-1", "Anna"), ("b-2", "Bruno")] {
        provider.upsert(client(external, given));
    }
    let before = head(&app).await;
    let body = r#"{"event_id":"evt-1","type":"contacts.changed"}"#;
    let signed = lexgate_connectors::webhook::sign(
        HOOK_SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let answer = reqwest::Client::new()
        .post(format!("{}/webhooks/billing", app.base_url))
        .header(lexgate_connectors::webhook::SIGNATURE_HEADER, signed)
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 202);
    let mut waited = 0;
    while contact_with_email(&app, "bruno@example.it").await.is_none() {
        assert!(
            waited < 100,
            "the webhook's sync did not import both contacts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    // Let the run finish (its last, empty page) before reading the entries.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let anna = contact_with_email(&app, "anna@example.it")
        .await
        .expect("page 1 committed");
    let bruno = contact_with_email(&app, "bruno@example.it")
        .await
        .expect("page 2 committed");
    let writes = writes_after(&app, before).await;
    let subjects: Vec<Vec<String>> = writes.iter().map(|w| w.entry.subjects.clone()).collect();
    assert_eq!(
        subjects,
        vec![vec![anna], vec![bruno]],
        "one entry per page naming its contact: {writes:#?}"
    );
    for write in &writes {
        assert_eq!(write.entry.principal_kind, "system");
        assert_eq!(write.entry.principal_id, "webhook:billing");
        assert_eq!(write.entry.role, "system");
        assert_eq!(write.entry.operation_name.as_deref(), Some("webhook sync"));
    }
    assert_chain_intact(&app).await;
}

const PUSH: &str = "mutation Push($i: ID!, $c: ID!) { pushContactToConnector(input: { instanceId: $i, contactId: $c }) { externalId } }";

async fn disclosures(app: &TestApp) -> i64 {
    app.db
        .run(|c| Ok(data_recipients::table.count().get_result(c)?))
        .await
        .expect("disclosures counted")
}

async fn a_push_records_its_disclosure_with_its_entry(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let id = instance(&app, &provider, 100).await;
    let contact = create_person(
        &app,
        "Paola",
        "Spinta",
        json!({ "emails": [{ "address": "paola@example.it" }] }),
    )
    .await;

    refuse_write_entries(&app, backend).await;
    let body = app.gql(PUSH, json!({ "i": id, "c": contact })).await;
    assert!(body.get("errors").is_some(), "{body:#}");
    assert_eq!(
        disclosures(&app).await,
        0,
        "a disclosure was recorded without its access-log entry"
    );
    allow_write_entries(&app, backend).await;

    let before = head(&app).await;
    let data = app.data(PUSH, json!({ "i": id, "c": contact })).await;
    assert!(data["pushContactToConnector"]["externalId"].is_string());
    assert_eq!(disclosures(&app).await, 1);
    let writes = writes_after(&app, before).await;
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].entry.subjects, vec![key(&contact)]);
    assert_eq!(writes[0].entry.operation_name.as_deref(), Some("Push"));
    assert_chain_intact(&app).await;
}

on_both_backends!(
    a_retention_run_commits_with_its_entry_or_not_at_all,
    each_sync_page_commits_with_its_entry,
    a_webhook_sync_logs_each_page_as_the_system,
    a_push_records_its_disclosure_with_its_entry,
);
