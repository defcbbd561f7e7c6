//! The `clio` kind (Clio Manage API v4) from `createConnectorInstance` against the faithful
//! fake, on both backends: the region's API root checked, contacts imported with source and
//! legal basis, an incremental sync from `updated_since`, a re-run that changes nothing, and
//! deadlines pushed as calendar entries of the Clio matter with the same number, once; Clio's
//! matters, calendar entries and time entries imported as matters (matched by number),
//! deadlines and time entries, read through GraphQL with the matter's timeline; a move and
//! upstream deletions reconciled without dropping lexgate data, billed time never rewritten,
//! a 429 waited out, and an erased person not re-created through a matter's client; lexgate's
//! time on Clio-linked matters pushed once with its id as the reference, and retried.

use chrono::Utc;
use diesel::prelude::*;
use lexgate::db::schema::{
    contact_emails, contact_sources, matters, processing_grounds, purposes, sync_cursors,
};
use lexgate::ids::NodeType;
use lexgate_connectors::testing::clio::ClioFake;
use lexgate_connectors::testing::{CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::mail_apis::authorise_directly;
use crate::on_both_backends;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind baseUrl deadlineUsers authorized } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed pushed pushRemoved pushConflicts errors { message } } } }";

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

/// linked, skipped
fn links(run: &Value) -> [i64; 2] {
    ["linked", "skipped"].map(|k| run[k].as_i64().unwrap_or(-1))
}

/// Creates a `clio` instance on the fake and authorises it.
async fn clio_instance(app: &TestApp, fake: &ClioFake, extra: Value) -> String {
    let mut input = json!({ "name": "clio", "kind": "clio", "baseUrl": fake.api_root(),
        "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "authUrl": format!("{}/authorize", fake.provider.base_url),
        "tokenUrl": format!("{}/token", fake.provider.base_url), "pageSize": 2 });
    if let (Some(input), Value::Object(extra)) = (input.as_object_mut(), extra) {
        input.extend(extra);
    }
    let created = app.data(CREATE, json!({ "input": input })).await;
    let id = created["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("instance id")
        .to_owned();
    authorise_directly(app, "clio", fake.provider.issue_tokens()).await;
    id
}

/// The global ID of the matter numbered `reference`.
async fn matter_numbered(app: &TestApp, reference: &'static str) -> Option<String> {
    let key = app
        .db
        .run(move |c| {
            Ok(matters::table
                .filter(matters::reference.eq(reference))
                .select(matters::id)
                .first::<String>(c)
                .optional()?)
        })
        .await
        .expect("query");
    key.map(|k| lexgate::ids::encode(NodeType::Matter, &k).to_string())
}

const MATTER: &str = "query($id: ID!) { matter(id: $id) {
    reference title practiceArea status closedOn responsibleLawyer { email }
    clients { emails { address } }
    deadlines { nodes { title kind status dueAt description } }
    timeEntries { nodes { date minutes narrative billable rateCents billed user { email } } }
    timeline(first: 100) { nodes { __typename
        ... on Deadline { title }
        ... on MatterEvent { kind summary } } } } }";

async fn matter_view(app: &TestApp, reference: &'static str) -> Value {
    let id = matter_numbered(app, reference)
        .await
        .unwrap_or_else(|| panic!("no matter {reference}"));
    app.data(MATTER, json!({ "id": id })).await["matter"].clone()
}

fn client_emails(matter: &Value) -> Vec<String> {
    let mut emails: Vec<String> = matter["clients"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["emails"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["address"].as_str().map(str::to_owned))
        .collect();
    emails.sort();
    emails
}

fn events(matter: &Value) -> Vec<(String, String)> {
    matter["timeline"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["__typename"] == "MatterEvent")
        .map(|n| {
            (
                n["kind"].as_str().unwrap_or_default().to_owned(),
                n["summary"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Makes the instance's next listings full ones: the last full listing two days back, past
/// the daily relisting.
async fn age_full_listings(app: &TestApp, instance: &str) {
    let (_, key) = lexgate::ids::parse(instance).expect("an instance id");
    app.db
        .run(move |c| {
            let rows: Vec<(String, Option<String>)> = sync_cursors::table
                .filter(sync_cursors::instance_id.eq(&key))
                .select((sync_cursors::stream, sync_cursors::cursor))
                .load(c)?;
            for (stream, cursor) in rows {
                let Some(cursor) = cursor else { continue };
                let mut position: Value = serde_json::from_str(&cursor).expect("a Clio cursor");
                position["full"] = json!((Utc::now() - chrono::Duration::days(2)).to_rfc3339());
                diesel::update(sync_cursors::table.find((&key, &stream)))
                    .set(sync_cursors::cursor.eq(position.to_string()))
                    .execute(c)?;
            }
            Ok(())
        })
        .await
        .expect("cursors aged");
}

/// Clio's matters, calendar entries and time entries, from configuration to the matter's
/// deadlines, time and timeline through GraphQL: first import, a re-run that changes nothing
/// (through a 429), an incremental run with a matter renumbered and moved to another client,
/// billed time left alone, and deletions found by the daily full listing.
async fn clio_matters_deadlines_and_time(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = ClioFake::start().await;
    create_user(&app, ROSSI, "lawyer").await;
    let bianchi = create_person(
        &app,
        "Mario",
        "Bianchi",
        json!({ "emails": [{ "address": "mario.bianchi@example.org" }] }),
    )
    .await;
    // lexgate's own matter, which Clio's 2026/0042 is.
    create_matter(
        &app,
        "2026/0042",
        &bianchi,
        json!({ "title": "Bianchi c. Acme" }),
    )
    .await;

    fake.upsert(
        "users",
        json!({ "id": 5, "name": "Anna Rossi", "email": ROSSI }),
    );
    fake.upsert(
        "contacts",
        json!({ "id": 11, "type": "Person", "first_name": "Giulia", "last_name": "Verdi",
                "is_client": true,
                "email_addresses": [{ "address": "giulia.verdi@example.org", "primary": true }] }),
    );
    fake.upsert(
        "contacts",
        json!({ "id": 12, "type": "Company", "name": "Neri S.p.A.", "is_client": true,
                "email_addresses": [{ "address": "legale@neri.example", "primary": true }] }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 21, "display_number": "2026/0042", "description": "Bianchi v. Acme (Clio)",
                "status": "Open", "client": { "id": 11 } }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 22, "display_number": "2026/0077", "description": "Neri - licenziamento",
                "status": "Pending", "client": { "id": 12 }, "responsible_attorney": { "id": 5 },
                "practice_area": { "id": 3, "name": "Employment" }, "open_date": "2026-11-02" }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 23, "display_number": "2026/0099", "description": "Verdi - parere",
                "status": "Open", "client": { "id": 11 } }),
    );
    let due = Utc::now() + chrono::Duration::days(20);
    let start = due.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    fake.upsert(
        "calendar_entries",
        json!({ "id": 31, "summary": "Udienza Neri", "start_at": start, "all_day": false,
                "location": "Tribunale di Milano", "matter": { "id": 22 } }),
    );
    fake.upsert(
        "calendar_entries",
        json!({ "id": 32, "summary": "Termine memoria", "start_at": start, "all_day": true,
                "matter": { "id": 21 } }),
    );
    // Not a matter's: left out.
    fake.upsert(
        "calendar_entries",
        json!({ "id": 33, "summary": "Dentista", "start_at": start, "all_day": false }),
    );
    // lexgate pushed this one: not pulled back.
    fake.upsert(
        "calendar_entries",
        json!({ "id": 34, "summary": "Pushed", "start_at": start, "matter": { "id": 22 },
                "external_properties": [{ "id": 901, "name": "lexgate_id", "value": "abc" }] }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 41, "type": "TimeEntry", "date": "2026-11-20", "quantity": 3600,
                "price": 250.0, "note": "Studio del ricorso", "non_billable": false,
                "matter": { "id": 22 }, "user": { "id": 5 } }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 42, "type": "TimeEntry", "date": "2026-11-21", "quantity": 1800,
                "price": 200.0, "note": "Telefonata", "non_billable": true,
                "matter": { "id": 21 } }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 43, "type": "TimeEntry", "date": "2026-11-21", "quantity": 600,
                "reference": "lexgate:xyz", "note": "Pushed", "matter": { "id": 22 } }),
    );
    fake.upsert(
        "activities",
        json!({ "id": 44, "type": "ExpenseEntry", "date": "2026-11-21", "quantity": 1,
                "matter": { "id": 22 } }),
    );
    fake.advance(600);
    // Rossi's deadlines are pushed to Clio: not those Clio gave.
    let instance = clio_instance(&app, &fake, json!({ "deadlineUsers": [ROSSI] })).await;

    // First import: 2 contacts, 2 matters created and 1 linked, 2 deadlines, 2 time entries;
    // nothing pushed back.
    let first = sync(&app, &instance).await;
    assert_eq!(counts(&first), [8, 0, 0, 0, 0], "{first:#}");
    assert_eq!(links(&first)[0], 1, "{first:#}");
    // Matched by number: lexgate's title and client stand, the link is in its history.
    let linked = matter_view(&app, "2026/0042").await;
    assert_eq!(linked["title"], "Bianchi c. Acme");
    assert_eq!(client_emails(&linked), ["mario.bianchi@example.org"]);
    assert!(
        events(&linked).iter().any(|(k, _)| k == "linked"),
        "{linked:#}"
    );
    assert_eq!(linked["deadlines"]["nodes"][0]["kind"], "COURT_DEADLINE");
    assert_eq!(linked["deadlines"]["nodes"][0]["title"], "Termine memoria");
    assert_eq!(linked["timeEntries"]["nodes"][0]["billable"], false);
    assert_eq!(linked["timeEntries"]["nodes"][0]["minutes"], 30);
    // Created: status, practice area, responsible lawyer and client mapped.
    let neri = matter_view(&app, "2026/0077").await;
    assert_eq!(neri["title"], "Neri - licenziamento");
    assert_eq!(neri["status"], "INTAKE");
    assert_eq!(neri["practiceArea"], "Employment");
    assert_eq!(neri["responsibleLawyer"]["email"], ROSSI);
    assert_eq!(client_emails(&neri), ["legale@neri.example"]);
    let deadlines = neri["deadlines"]["nodes"].as_array().expect("deadlines");
    assert_eq!(deadlines.len(), 1, "{neri:#}");
    assert_eq!(deadlines[0]["title"], "Udienza Neri");
    assert_eq!(deadlines[0]["kind"], "HEARING");
    assert_eq!(deadlines[0]["description"], "Tribunale di Milano");
    let time = neri["timeEntries"]["nodes"].as_array().expect("time");
    assert_eq!(time.len(), 1, "{neri:#}");
    assert_eq!(time[0]["minutes"], 60);
    assert_eq!(time[0]["rateCents"], 25000);
    assert_eq!(time[0]["billable"], true);
    assert_eq!(time[0]["narrative"], "Studio del ricorso");
    assert_eq!(time[0]["user"]["email"], ROSSI);
    let timeline = &neri["timeline"]["nodes"];
    assert!(
        timeline
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["__typename"] == "Deadline" && n["title"] == "Udienza Neri"),
        "{timeline:#}"
    );
    assert!(
        events(&neri).iter().any(|(k, _)| k == "created"),
        "{neri:#}"
    );
    assert!(matter_numbered(&app, "2026/0099").await.is_some());
    assert_eq!(fake.live("calendar_entries").len(), 4);

    // A re-run changes nothing, through a 429 waited out.
    fake.advance(600);
    fake.fail_next(429, Some(1));
    let requests = fake.requests().len();
    let again = sync(&app, &instance).await;
    assert_eq!(counts(&again), [0, 0, 0, 0, 0], "{again:#}");
    assert_eq!(links(&again)[0], 0, "{again:#}");
    // The throttled request was sent again.
    let sent = fake.requests();
    assert_eq!(sent.get(requests), sent.get(requests + 1), "{sent:#?}");
    assert_eq!(matter_view(&app, "2026/0077").await, neri);

    // Incremental: the matter renumbered and moved to another client, the hearing moved, the
    // time corrected.
    fake.edit(
        "matters",
        22,
        json!({ "display_number": "2026/0078", "client": { "id": 11 }, "status": "Open" }),
    );
    let later = (due + chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    fake.edit("calendar_entries", 31, json!({ "start_at": later }));
    fake.edit("activities", 41, json!({ "quantity": 5400 }));
    fake.advance(600);
    let moved = sync(&app, &instance).await;
    assert!(!moved["fullSync"].as_bool().unwrap_or(true), "{moved:#}");
    assert_eq!(counts(&moved), [0, 3, 0, 0, 0], "{moved:#}");
    assert!(matter_numbered(&app, "2026/0077").await.is_none());
    let neri = matter_view(&app, "2026/0078").await;
    assert_eq!(neri["status"], "OPEN");
    assert_eq!(client_emails(&neri), ["giulia.verdi@example.org"]);
    assert!(
        events(&neri).iter().any(|(k, s)| k == "updated"
            && s.contains("2026/0077 → 2026/0078")
            && s.contains("client")),
        "{neri:#}"
    );
    assert_eq!(
        neri["deadlines"]["nodes"][0]["dueAt"]
            .as_str()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.timestamp()),
        Some(due.timestamp() + 7 * 86400)
    );
    assert_eq!(neri["timeEntries"]["nodes"][0]["minutes"], 90);

    // Billed in lexgate: a later change in Clio is recorded, not written.
    let neri_id = matter_numbered(&app, "2026/0078").await.expect("matter");
    let invoiced = app
        .gql(
            "mutation($m: ID!) { createInvoice(input: { matterIds: [$m] }) { invoice { id } } }",
            json!({ "m": neri_id }),
        )
        .await;
    assert!(invoiced.get("errors").is_none(), "{invoiced:#}");
    fake.edit(
        "activities",
        41,
        json!({ "quantity": 7200, "note": "Rewritten" }),
    );
    // Deleted in Clio: found by the daily full listing.
    fake.delete("calendar_entries", 32);
    fake.delete("activities", 42);
    fake.delete("matters", 23);
    fake.advance(600);
    age_full_listings(&app, &instance).await;
    let full = sync(&app, &instance).await;
    assert!(full["fullSync"].as_bool().unwrap_or(false), "{full:#}");
    assert_eq!(counts(&full), [0, 0, 3, 0, 0], "{full:#}");
    let neri = matter_view(&app, "2026/0078").await;
    let billed = &neri["timeEntries"]["nodes"][0];
    assert_eq!(billed["minutes"], 90, "{neri:#}");
    assert_eq!(billed["billed"], true);
    assert_eq!(billed["narrative"], "Studio del ricorso");
    assert!(
        events(&neri).iter().any(|(k, _)| k == "time_entry_kept"),
        "{neri:#}"
    );
    let linked = matter_view(&app, "2026/0042").await;
    assert_eq!(linked["deadlines"]["nodes"][0]["status"], "CANCELLED");
    assert_eq!(linked["timeEntries"]["nodes"][0]["minutes"], 30);
    assert_eq!(linked["timeEntries"]["nodes"][0]["billable"], false);
    let kinds: Vec<String> = events(&linked).into_iter().map(|e| e.0).collect();
    assert!(
        kinds.contains(&"deadline_cancelled".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"time_entry_removed".to_owned()),
        "{kinds:?}"
    );
    // The deleted matter stays, its deletion in its history.
    let gone = matter_view(&app, "2026/0099").await;
    assert_eq!(gone["status"], "OPEN");
    assert!(
        events(&gone).iter().any(|(k, _)| k == "deleted_upstream"),
        "{gone:#}"
    );

    // And again: nothing.
    fake.advance(600);
    let last = sync(&app, &instance).await;
    assert_eq!(counts(&last), [0, 0, 0, 0, 0], "{last:#}");
}

/// A person erased in lexgate is not re-created from Clio, neither as a contact nor as the
/// client a matter moves to.
async fn clio_erased_client_not_recreated(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = ClioFake::start().await;
    fake.upsert(
        "contacts",
        json!({ "id": 11, "type": "Person", "first_name": "Giulia", "last_name": "Verdi",
                "is_client": true,
                "email_addresses": [{ "address": "giulia.verdi@example.org", "primary": true }] }),
    );
    fake.upsert(
        "contacts",
        json!({ "id": 12, "type": "Person", "first_name": "Teo", "last_name": "Lanzi",
                "is_client": true, "email_addresses": [{ "address": "teo.lanzi@example.org", "primary": true }] }),
    );
    fake.upsert(
        "matters",
        json!({ "id": 21, "display_number": "2026/0100", "description": "Verdi",
                "status": "Open", "client": { "id": 11 } }),
    );
    fake.advance(600);
    let instance = clio_instance(&app, &fake, json!({})).await;
    let first = sync(&app, &instance).await;
    assert_eq!(counts(&first), [3, 0, 0, 0, 0], "{first:#}");
    let teo = contact_by_email(&app, "teo.lanzi@example.org")
        .await
        .expect("imported");

    let dpo_token = dpo(&app).await;
    let teo_id = lexgate::ids::encode(NodeType::Contact, &teo).to_string();
    let request = verified_request(&app, &dpo_token, "ERASURE", &teo_id, "Teo Lanzi").await;
    let body = app
        .gql_as(
            &dpo_token,
            "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }",
            json!({ "id": request }),
        )
        .await;
    assert_eq!(
        body["data"]["executeErasure"]["erasure"]["contactDeleted"], true,
        "{body:#}"
    );

    // In Clio he changes, the matter moves to him, and a new matter of his is opened: it is
    // not created without its client (a full listing tries again).
    fake.edit("contacts", 12, json!({ "last_name": "Lanzi Bruni" }));
    fake.edit("matters", 21, json!({ "client": { "id": 12 } }));
    fake.upsert(
        "matters",
        json!({ "id": 24, "display_number": "2026/0200", "description": "Lanzi",
                "status": "Open", "client": { "id": 12 } }),
    );
    fake.advance(600);
    for failed in [1, 0] {
        let run = sync(&app, &instance).await;
        assert_eq!(run["failed"], failed, "{run:#}");
        assert!(matter_numbered(&app, "2026/0200").await.is_none());
        assert!(contact_by_email(&app, "teo.lanzi@example.org")
            .await
            .is_none());
        let matter = matter_view(&app, "2026/0100").await;
        assert_eq!(client_emails(&matter), ["giulia.verdi@example.org"]);
    }
    let matter = matter_view(&app, "2026/0100").await;
    assert!(
        events(&matter)
            .iter()
            .any(|(_, s)| s.contains("does not hold")),
        "{matter:#}"
    );
}

const TIME_ENTRY: &str = "mutation($input: CreateTimeEntryInput!) { createTimeEntry(input: $input) { timeEntry { id } } }";

/// Records `minutes` of `user`'s billable time on `matter` in lexgate; answers the entry's
/// global ID.
async fn record_time(
    app: &TestApp,
    user: &str,
    matter: &str,
    narrative: &str,
    minutes: i32,
) -> String {
    app.data(
        TIME_ENTRY,
        json!({ "input": { "matterId": matter, "userId": user, "date": "2026-11-30", "minutes": minutes,
            "narrative": narrative, "rateCents": 20000 } }),
    )
    .await["createTimeEntry"]["timeEntry"]["id"]
        .as_str()
        .expect("time entry id")
        .to_owned()
}

/// The activities lexgate pushed to the fake, by reference.
fn pushed_activities(fake: &ClioFake) -> Vec<Value> {
    fake.live("activities")
        .into_iter()
        .filter(|a| {
            a["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with("lexgate:"))
        })
        .collect()
}

/// lexgate's time on a matter linked to Clio is pushed once, with `lexgate:{id}` as its
/// reference: a re-run (and an edit in lexgate) sends nothing, the pushed activity is not
/// pulled back as a duplicate, time on a matter Clio does not hold stays home, and a refused
/// push is counted and retried by the next run.
async fn clio_time_entries_pushed_once(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let fake = ClioFake::start().await;
    let rossi = create_user(&app, ROSSI, "lawyer").await;
    let bianchi = create_person(&app, "Mario", "Bianchi", json!({})).await;
    let linked = create_matter(&app, "2026/0042", &bianchi, json!({})).await;
    let local = create_matter(&app, "2026/0500", &bianchi, json!({})).await;
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
    let instance = clio_instance(&app, &fake, json!({})).await;
    let drafting = record_time(&app, &rossi, &linked, "Redazione atto", 90).await;
    record_time(&app, &rossi, &local, "Parere interno", 30).await;
    let (_, drafting_key) = lexgate::ids::parse(&drafting).expect("a time entry id");

    // The first run links the matter, then pushes its time, and only its time.
    let first = sync(&app, &instance).await;
    assert_eq!(
        (first["pushed"].as_i64(), first["failed"].as_i64()),
        (Some(1), Some(0)),
        "{first:#}"
    );
    let pushed = pushed_activities(&fake);
    assert_eq!(pushed.len(), 1, "{pushed:#?}");
    assert_eq!(pushed[0]["reference"], format!("lexgate:{drafting_key}"));
    assert_eq!(pushed[0]["type"], "TimeEntry");
    assert_eq!(pushed[0]["matter"]["id"], 21);
    assert_eq!(pushed[0]["quantity"], 90 * 60);
    assert_eq!(pushed[0]["note"], "Redazione atto");
    assert_eq!(pushed[0]["date"], "2026-11-30");
    assert_eq!(fake.live("activities").len(), 1);

    // A re-run lists the pushed activity but neither imports it nor sends anything; nor does
    // an edit in lexgate (only creation is pushed).
    fake.advance(600);
    let writes = fake.writes();
    let second = sync(&app, &instance).await;
    assert_eq!(counts(&second), [0, 0, 0, 0, 0], "{second:#}");
    let listed = fake.requests();
    assert!(
        listed
            .iter()
            .any(|r| r.starts_with("GET /api/v4/activities.json")),
        "{listed:#?}"
    );
    let edited = app
        .data(
            "mutation($id: ID!) { updateTimeEntry(input: { id: $id, narrative: \"Redazione atto di citazione\" }) { timeEntry { id } } }",
            json!({ "id": drafting }),
        )
        .await;
    assert!(
        edited["updateTimeEntry"]["timeEntry"]["id"].is_string(),
        "{edited:#}"
    );
    fake.advance(600);
    let third = sync(&app, &instance).await;
    assert_eq!(counts(&third), [0, 0, 0, 0, 0], "{third:#}");
    assert_eq!(fake.writes(), writes);
    let matter = matter_view(&app, "2026/0042").await;
    let time = matter["timeEntries"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(time.len(), 1, "{matter:#}");
    assert_eq!(time[0]["narrative"], "Redazione atto di citazione");
    let local_view = matter_view(&app, "2026/0500").await;
    assert_eq!(
        local_view["timeEntries"]["nodes"].as_array().map(Vec::len),
        Some(1)
    );

    // A push Clio refuses fails that entry only; the next run sends it.
    let filing = record_time(&app, &rossi, &linked, "Deposito", 15).await;
    let (_, filing_key) = lexgate::ids::parse(&filing).expect("a time entry id");
    fake.fail_next_write(500);
    fake.advance(600);
    let refused = sync(&app, &instance).await;
    assert_eq!(
        (refused["pushed"].as_i64(), refused["failed"].as_i64()),
        (Some(0), Some(1)),
        "{refused:#}"
    );
    assert!(
        refused["errors"].to_string().contains("push time entry"),
        "{refused:#}"
    );
    assert_eq!(pushed_activities(&fake).len(), 1);
    fake.advance(600);
    let retried = sync(&app, &instance).await;
    assert_eq!(
        (retried["pushed"].as_i64(), retried["failed"].as_i64()),
        (Some(1), Some(0)),
        "{retried:#}"
    );
    let pushed = pushed_activities(&fake);
    assert_eq!(pushed.len(), 2, "{pushed:#?}");
    assert!(pushed
        .iter()
        .any(|a| a["reference"] == format!("lexgate:{filing_key}") && a["quantity"] == 15 * 60));
    fake.advance(600);
    let last = sync(&app, &instance).await;
    assert_eq!(counts(&last), [0, 0, 0, 0, 0], "{last:#}");
    let matter = matter_view(&app, "2026/0042").await;
    assert_eq!(
        matter["timeEntries"]["nodes"].as_array().map(Vec::len),
        Some(2),
        "{matter:#}"
    );
}

on_both_backends!(
    clio_contacts_with_source_basis_and_pushed_deadlines,
    clio_matters_deadlines_and_time,
    clio_erased_client_not_recreated,
    clio_time_entries_pushed_once,
);
