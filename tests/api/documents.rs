//! Case-file documents imported from a real WebDAV store (Apache `mod_dav_fs`), on both
//! backends: an instance configured over GraphQL that makes a folder per open matter (the
//! reference as a dead property), a first import into `matter.documents` and
//! `matter.timeline`, need-to-know (partners and the matter's team; not staff), a re-run that
//! changes nothing, an upstream change, move and deletion, and a refused cursor (a full
//! listing that notices a deletion and duplicates nothing). And a store over HTTPS whose
//! certificate the firm's own CA issued (`caCertificate`).

use diesel::prelude::*;
use lexgate::db::schema::sync_cursors;
use lexgate_connectors::dav_servers::{FileDavKind, FileDavServer, PASSWORD, USER};
use lexgate_connectors::webdav::{MATTER_PROPERTY, NAMESPACE};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind username hasPassword } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed errors { externalId message } } } }";
const DOCUMENTS: &str = "query($m: ID!, $all: Boolean) { matter(id: $m) { documents(includeDeleted: $all) { totalCount nodes { id title href contentType sizeBytes etag status deletedAt movedFrom matter { reference } } } } }";

async fn sync(app: &TestApp, id: &str) -> Value {
    let run = app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    run
}

/// created, updated, deleted, skipped, failed
fn counts(run: &Value) -> [i64; 5] {
    ["created", "updated", "deleted", "skipped", "failed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

/// The documents of matter `m` as `token` sees them, by title.
async fn documents(app: &TestApp, token: &str, m: &str, all: bool) -> Vec<Value> {
    let body = app
        .gql_as(token, DOCUMENTS, json!({ "m": m, "all": all }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let mut nodes = body["data"]["matter"]["documents"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("documents: {body:#}"))
        .clone();
    nodes.sort_by_key(|n| n["title"].as_str().unwrap_or_default().to_owned());
    nodes
}

fn titles(nodes: &[Value]) -> Vec<&str> {
    nodes.iter().filter_map(|n| n["title"].as_str()).collect()
}

async fn documents_are_imported_from_a_webdav_store(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = FileDavServer::start(FileDavKind::Apache);
    let (lawyer_id, lawyer) = app.sign_in("avv.team@studio.it", "lawyer").await;
    let (_, outsider) = app.sign_in("avv.altro@studio.it", "lawyer").await;
    let (_, partner) = app.sign_in("socio@studio.it", "partner").await;
    let (_, staff) = app.sign_in("segreteria@studio.it", "staff").await;
    let client = create_person(&app, "Carla", "Verdi", json!({})).await;
    let m42 = create_matter(
        &app,
        "2026/0042",
        &client,
        json!({ "team": [{ "userId": lawyer_id }] }),
    )
    .await;
    let m43 = create_matter(&app, "2026/0043", &client, json!({})).await;
    create_matter(&app, "2025/0001", &client, json!({ "status": "CLOSED" })).await;

    // Plain HTTP only on loopback, and a password is required.
    let refused = app
        .error(
            CREATE,
            json!({ "input": {
                "name": "fascicoli", "kind": "webdav", "baseUrl": "http://dms.example/Pratiche/",
                "username": USER,
            } }),
        )
        .await;
    assert_eq!(
        refused["extensions"]["code"], "BAD_USER_INPUT",
        "{refused:#}"
    );
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("root collection") && message.contains("input.password"),
        "{refused:#}"
    );
    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "fascicoli",
                "kind": "webdav",
                "baseUrl": server.root_url,
                "username": USER,
                "password": PASSWORD,
                "matterFolders": true,
            } }),
        )
        .await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "webdav");
    assert_eq!(instance["hasPassword"], true);
    let id = instance["id"].as_str().expect("id").to_owned();

    // The first sync makes the open matters' folders, each naming its matter.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");
    let property = server
        .property("2026-0042/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(property.contains("2026/0042"), "{property}");
    let closed = server
        .request("PROPFIND", "2025-0001/")
        .header("Depth", "0")
        .send()
        .await
        .expect("PROPFIND");
    assert_eq!(closed.status(), 404, "no folder for a closed matter");

    server
        .put("2026-0042/Atto%20di%20citazione.pdf", "%PDF-1.4 citazione")
        .await;
    server.put("2026-0042/Memoria.docx", "memoria v1").await;
    server.put("2026-0043/Parere.pdf", "%PDF-1.4 parere").await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [3, 0, 0, 0, 0], "{run:#}");

    let docs = documents(&app, &partner, &m42, false).await;
    assert_eq!(titles(&docs), ["Atto di citazione.pdf", "Memoria.docx"]);
    let citazione = docs[0].clone();
    assert_eq!(citazione["contentType"], "application/pdf");
    assert_eq!(citazione["sizeBytes"], 18);
    assert_eq!(citazione["status"], "CURRENT");
    assert_eq!(citazione["matter"]["reference"], "2026/0042");
    assert!(citazione["href"]
        .as_str()
        .is_some_and(|h| h.ends_with("/Pratiche/2026-0042/Atto%20di%20citazione.pdf")));
    assert!(citazione["etag"]
        .as_str()
        .is_some_and(|e| !e.is_empty() && !e.starts_with("W/")));

    // The timeline shows them to the matter's team.
    let timeline = app
        .gql_as(
            &lawyer,
            "query($m: ID!) { matter(id: $m) { timeline(first: 20) { nodes { __typename ... on Document { title } } } } }",
            json!({ "m": m42 }),
        )
        .await;
    assert!(timeline.get("errors").is_none(), "{timeline:#}");
    let mut listed: Vec<&str> = timeline["data"]["matter"]["timeline"]["nodes"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|n| n["__typename"] == "Document")
        .filter_map(|n| n["title"].as_str())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["Atto di citazione.pdf", "Memoria.docx"]);

    // Need-to-know: the team sees them, a lawyer off the matter finds nothing, staff may
    // not read documents and their timeline leaves them out.
    assert_eq!(documents(&app, &lawyer, &m42, false).await.len(), 2);
    let hidden = app
        .gql_as(
            &outsider,
            "query($d: ID!, $m: ID!) { document(id: $d) { title } matter(id: $m) { id } }",
            json!({ "d": citazione["id"], "m": m42 }),
        )
        .await;
    assert_eq!(hidden["data"]["document"], Value::Null, "{hidden:#}");
    assert_eq!(hidden["data"]["matter"], Value::Null, "{hidden:#}");
    let refused = app
        .gql_as(
            &staff,
            "query($m: ID!) { matter(id: $m) { reference documents { totalCount } timeline { nodes { __typename } } } }",
            json!({ "m": m42 }),
        )
        .await;
    assert_eq!(
        refused["data"]["matter"]["reference"], "2026/0042",
        "{refused:#}"
    );
    assert_eq!(refused["data"]["matter"]["documents"], Value::Null);
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert!(refused["data"]["matter"]["timeline"]["nodes"]
        .as_array()
        .expect("timeline")
        .iter()
        .all(|n| n["__typename"] != "Document"));

    // A re-run changes nothing (Apache's weak ETags have meanwhile turned strong).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");

    // Changed, moved to the other matter's folder, deleted upstream.
    server
        .put("2026-0042/Memoria.docx", "memoria v2, longer")
        .await;
    server
        .move_to(
            "2026-0042/Atto%20di%20citazione.pdf",
            "2026-0043/Atto%20di%20citazione.pdf",
        )
        .await;
    server.delete("2026-0043/Parere.pdf").await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 2, 1, 0, 0], "{run:#}");
    let docs42 = documents(&app, &partner, &m42, false).await;
    assert_eq!(titles(&docs42), ["Memoria.docx"]);
    assert_eq!(docs42[0]["sizeBytes"], 18);
    let docs43 = documents(&app, &partner, &m43, true).await;
    assert_eq!(titles(&docs43), ["Atto di citazione.pdf", "Parere.pdf"]);
    let moved = &docs43[0];
    assert_eq!(
        moved["id"], citazione["id"],
        "the document follows its move"
    );
    assert_eq!(moved["movedFrom"], citazione["href"]);
    assert_eq!(moved["matter"]["reference"], "2026/0043");
    assert_eq!(docs43[1]["status"], "DELETED");
    assert!(docs43[1]["deletedAt"].is_string());
    assert_eq!(
        titles(&documents(&app, &partner, &m43, false).await),
        ["Atto di citazione.pdf"]
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");

    // A cursor that is not ours: a full listing, which notices what went meanwhile and
    // duplicates nothing.
    server.delete("2026-0042/Memoria.docx").await;
    app.db
        .run(|c| {
            diesel::update(sync_cursors::table.filter(sync_cursors::stream.eq("documents")))
                .set(sync_cursors::cursor.eq("not a cursor of ours"))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("cursor spoiled");
    let run = sync(&app, &id).await;
    assert_eq!(run["fullSync"], true, "{run:#}");
    assert_eq!(counts(&run), [0, 0, 1, 1, 0], "{run:#}");
    assert!(documents(&app, &partner, &m42, false).await.is_empty());
    assert_eq!(documents(&app, &partner, &m43, true).await.len(), 2);
}

const FOLDERS: &str = "query($m: ID!) { matter(id: $m) { caseFileFolders { store status failedAttempts lastError madeAt nextAttemptAt } } }";

/// The case-file folders of matter `m`, once `done` holds for them or after 15 s.
async fn folders_when(app: &TestApp, m: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut folders = Vec::new();
    for _ in 0..150 {
        let data = app.data(FOLDERS, json!({ "m": m })).await;
        folders = data["matter"]["caseFileFolders"]
            .as_array()
            .unwrap_or_else(|| panic!("caseFileFolders: {data:#}"))
            .clone();
        if done(&folders) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    folders
}

fn statuses(folders: &[Value]) -> Vec<&str> {
    folders
        .iter()
        .filter_map(|f| f["status"].as_str())
        .collect()
}

/// `createMatter` makes the matter's folder in every store that wants one, right after the
/// commit and without a sync run; a store that is down does not fail the matter, the failure
/// is shown on the matter and retried, and the next sync settles it.
async fn a_new_matter_gets_its_folder_without_a_sync(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = FileDavServer::start(FileDavKind::Apache);
    let client = create_person(&app, "Carla", "Verdi", json!({})).await;
    let create = |name: &str, url: &str| {
        json!({ "input": {
            "name": name, "kind": "webdav", "baseUrl": url, "username": USER,
            "password": PASSWORD, "matterFolders": true,
        } })
    };
    app.data(CREATE, create("fascicoli", &server.root_url))
        .await;
    // A store that wants no folders gets no request.
    app.data(
        CREATE,
        json!({ "input": {
            "name": "archivio", "kind": "webdav", "baseUrl": server.root_url, "username": USER,
            "password": PASSWORD,
        } }),
    )
    .await;

    let m = create_matter(&app, "2026/0077", &client, json!({})).await;
    let folders = folders_when(&app, &m, |f| statuses(f) == ["MADE"]).await;
    assert_eq!(statuses(&folders), ["MADE"], "{folders:#?}");
    assert_eq!(folders[0]["store"], "fascicoli");
    assert_eq!(folders[0]["failedAttempts"], 0);
    assert!(folders[0]["madeAt"].is_string() && folders[0]["nextAttemptAt"].is_null());
    let property = server
        .property("2026-0077/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(property.contains("2026/0077"), "{property}");

    // A matter entered as already closed needs no folder.
    let closed = create_matter(&app, "2019/0001", &client, json!({ "status": "CLOSED" })).await;
    assert!(folders_when(&app, &closed, |_| true).await.is_empty());

    // A store that does not answer: the matter is opened all the same, and the failure is
    // recorded with its next attempt.
    let down = format!(
        "http://127.0.0.1:{}/Pratiche/",
        crate::processes::free_port()
    );
    let data = app.data(CREATE, create("ufficio", &down)).await;
    let down_id = data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let m2 = create_matter(&app, "2026/0078", &client, json!({})).await;
    let folders = folders_when(&app, &m2, |f| statuses(f).contains(&"FAILING")).await;
    let mut seen = statuses(&folders);
    seen.sort_unstable();
    assert_eq!(seen, ["FAILING", "MADE"], "{folders:#?}");
    let failing = folders
        .iter()
        .find(|f| f["status"] == "FAILING")
        .expect("the failing store");
    assert_eq!(failing["store"], "ufficio");
    assert_eq!(failing["failedAttempts"], 1);
    assert!(
        failing["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{failing:#}"
    );
    assert!(failing["nextAttemptAt"].is_string(), "{failing:#}");
    assert!(!failing["lastError"]
        .as_str()
        .unwrap_or_default()
        .contains(PASSWORD));

    // The store comes back (here: the instance is pointed at it); its next sync makes every
    // open matter's folder and settles the request.
    app.data(
        "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { id } } }",
        json!({ "input": { "id": down_id, "baseUrl": server.root_url } }),
    )
    .await;
    sync(&app, &down_id).await;
    let folders = folders_when(&app, &m2, |_| true).await;
    assert_eq!(statuses(&folders), ["MADE", "MADE"], "{folders:#?}");
}

/// Replicas share the requests: a claimed request is nobody else's until its claim lapses; a
/// failed one waits for its backoff, then any replica may take it.
async fn replicas_claim_a_folder_request_once(backend: Backend) {
    use lexgate::sync::folders;

    let app = start_sealing_secrets(backend).await;
    let client = create_person(&app, "Carla", "Verdi", json!({})).await;
    let down = format!(
        "http://127.0.0.1:{}/Pratiche/",
        crate::processes::free_port()
    );
    app.data(
        CREATE,
        json!({ "input": {
            "name": "ufficio", "kind": "webdav", "baseUrl": down, "username": USER,
            "password": PASSWORD, "matterFolders": true,
        } }),
    )
    .await;
    let m = create_matter(&app, "2026/0079", &client, json!({})).await;
    // The creating request's own attempt fails; wait for it to be recorded.
    folders_when(&app, &m, |f| statuses(f) == ["FAILING"]).await;
    let claims = app
        .db
        .run(|c| {
            let early = folders::claim_due(c, "replica-a", None)?.len();
            // The backoff has passed.
            diesel::update(lexgate::db::schema::matter_folder_requests::table)
                .set(lexgate::db::schema::matter_folder_requests::not_before.eq(lexgate::db::now()))
                .execute(c)?;
            let a = folders::claim_due(c, "replica-a", None)?;
            let b = folders::claim_due(c, "replica-b", None)?.len();
            let (instance_id, matter_id) = (&a[0].instance_id, &a[0].matter_id);
            folders::failed(c, instance_id, matter_id, "status 503")?;
            let after_failure = folders::claim_due(c, "replica-b", None)?.len();
            folders::made(c, instance_id, matter_id)?;
            Ok((
                early,
                a.len(),
                a[0].folder.reference.clone(),
                b,
                after_failure,
            ))
        })
        .await
        .expect("claims");
    assert_eq!(claims, (0, 1, "2026/0079".to_owned(), 0, 0));
    let folders = folders_when(&app, &m, |_| true).await;
    assert_eq!(statuses(&folders), ["MADE"], "{folders:#?}");
    assert_eq!(folders[0]["failedAttempts"], 2, "{folders:#?}");
}

/// A document store over HTTPS (Apache `mod_ssl`) whose certificate the firm's own CA issued:
/// refused with a clear error, nothing made or imported, until the instance trusts that CA
/// (`caCertificate`); then synced. Another CA is no substitute.
async fn a_webdav_store_over_tls_needs_its_ca_certificate(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let server = FileDavServer::start_tls(FileDavKind::Apache);
    let ca = server.ca_pem.clone().expect("the test CA");
    assert!(
        server.root_url.starts_with("https://"),
        "{}",
        server.root_url
    );
    let (_, partner) = app.sign_in("socio@studio.it", "partner").await;
    let client = create_person(&app, "Carla", "Verdi", json!({})).await;
    let matter = create_matter(&app, "2026/0042", &client, json!({})).await;
    let data = app
        .data(
            CREATE,
            json!({ "input": {
                "name": "fascicoli-tls",
                "kind": "webdav",
                "baseUrl": server.root_url,
                "username": USER,
                "password": PASSWORD,
                "matterFolders": true,
            } }),
        )
        .await;
    let id = data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let run_raw = |id: String| {
        let app = &app;
        async move { app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone() }
    };
    let folder_status = || async {
        server
            .request("PROPFIND", "2026-0042/")
            .header("Depth", "0")
            .send()
            .await
            .expect("PROPFIND")
            .status()
    };

    // Without the CA: the store is not trusted, the run says what to do, nothing is made.
    let run = run_raw(id.clone()).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    let message = run["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not trusted") && message.contains("caCertificate"),
        "{run:#}"
    );
    assert_eq!(folder_status().await, 404, "no folder made without trust");

    // The instance trusts the firm's CA: the matter's folder is made and its file imported.
    let updated = app
        .data(
            "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { caCertificate } } }",
            json!({ "input": { "id": id, "caCertificate": ca } }),
        )
        .await;
    assert_eq!(
        updated["updateConnectorInstance"]["connectorInstance"]["caCertificate"],
        json!(ca.trim())
    );
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(folder_status().await, 207, "the matter's folder was made");
    server.put("2026-0042/Parere.pdf", "%PDF-1.4 parere").await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [1, 0, 0, 0, 0], "{run:#}");
    let docs = documents(&app, &partner, &matter, false).await;
    assert_eq!(titles(&docs), ["Parere.pdf"]);
    assert!(docs[0]["href"]
        .as_str()
        .is_some_and(|h| h.ends_with("/Pratiche/2026-0042/Parere.pdf")));

    // Another CA (the store's certificate is not one it issued) is no substitute.
    let other_ca = FileDavServer::start_tls(FileDavKind::Apache)
        .ca_pem
        .clone()
        .expect("another CA");
    app.data(
        "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { id } } }",
        json!({ "input": { "id": id, "caCertificate": other_ca } }),
    )
    .await;
    server.put("2026-0042/Memoria.docx", "memoria").await;
    let run = run_raw(id.clone()).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    assert_eq!(
        titles(&documents(&app, &partner, &matter, false).await),
        ["Parere.pdf"]
    );
}

on_both_backends!(
    documents_are_imported_from_a_webdav_store,
    a_new_matter_gets_its_folder_without_a_sync,
    replicas_claim_a_folder_request_once,
    a_webdav_store_over_tls_needs_its_ca_certificate,
);
