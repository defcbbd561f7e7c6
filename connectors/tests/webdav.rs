//! The WebDAV connector against a real Apache `mod_dav_fs` and a real WsgiDAV, each started by
//! the test: matter folders made with their dead property, a first pull, an incremental one
//! after the weak ETags of a write turned strong, a change, a move between matter folders,
//! a deletion, and a re-run that finds nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use lexgate_connectors::dav_servers::{FileDavKind, FileDavServer, PASSWORD, USER};
use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::webdav::{self, WebDavConfig, WebDavConnector, MATTER_PROPERTY, NAMESPACE};
use lexgate_connectors::{Connector, ConnectorError, Cursor, MatterFolder, RemoteDocument};

fn connector(server: &FileDavServer, password: &str) -> WebDavConnector {
    let http = HttpClient::new(HttpPolicy {
        max_retries: 1,
        base_backoff: Duration::from_millis(10),
        requests_per_second: None,
        ..HttpPolicy::default()
    })
    .expect("client");
    WebDavConnector::new(
        WebDavConfig {
            root_url: server.root_url.clone(),
            username: Some(USER.into()),
            password: Some(password.into()),
        },
        http,
    )
    .expect("connector")
}

fn matter(reference: &str) -> MatterFolder {
    MatterFolder {
        reference: reference.into(),
        title: format!("Matter {reference}"),
    }
}

/// The pulled records by "folder/file name" (decoded).
fn by_name(records: Vec<RemoteDocument>) -> BTreeMap<String, RemoteDocument> {
    records
        .into_iter()
        .map(|r| {
            let mut parts = r.external_id.trim_end_matches('/').rsplit('/');
            let file = parts.next().unwrap_or_default().replace("%20", " ");
            let folder = parts.next().unwrap_or_default().to_owned();
            (format!("{folder}/{file}"), r)
        })
        .collect()
}

async fn pull(
    connector: &WebDavConnector,
    cursor: Option<&Cursor>,
) -> (Vec<RemoteDocument>, Cursor) {
    let page = connector.pull_documents(cursor).await.expect("pull");
    assert!(!page.more);
    (page.records, page.cursor)
}

async fn folders_pull_and_reconcile(kind: FileDavKind) {
    let server = FileDavServer::start(kind);
    let name = kind.name();
    let dav = connector(&server, PASSWORD);
    assert!(dav.capabilities().pull_documents && dav.capabilities().make_matter_folders);

    // Folders: made once with the matter's reference as a dead property.
    let made = dav
        .ensure_matter_folders(&[matter("2026/0042"), matter("2026/0043")])
        .await
        .expect("folders");
    assert_eq!(made, 2, "{name}");
    let again = dav
        .ensure_matter_folders(&[matter("2026/0042"), matter("2026/0043")])
        .await
        .expect("folders again");
    assert_eq!(again, 0, "{name}: the folders exist");
    let property = server
        .property("2026-0042/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(property.contains("2026/0042"), "{name}: {property}");
    // A folder made by hand names its matter by its name.
    server.mkcol("2026-0099/").await;

    server
        .put("2026-0042/Atto%20di%20citazione.pdf", "%PDF-1.4 citazione")
        .await;
    server.put("2026-0042/Memoria.docx", "memoria v1").await;
    server.put("2026-0043/Parere.pdf", "%PDF-1.4 parere").await;
    server.put("2026-0099/Nota.txt", "nota").await;

    // First pull: everything, with its matter.
    let (records, cursor) = pull(&dav, None).await;
    let first = by_name(records);
    assert_eq!(first.len(), 4, "{name}: {first:#?}");
    let citazione = &first["2026-0042/Atto di citazione.pdf"];
    assert_eq!(citazione.title, "Atto di citazione.pdf");
    assert_eq!(citazione.matter_reference.as_deref(), Some("2026/0042"));
    assert_eq!(citazione.size, Some(18));
    assert_eq!(citazione.content_type.as_deref(), Some("application/pdf"));
    let etag = citazione.etag.clone().expect("an ETag");
    assert!(
        !etag.starts_with("W/") && !etag.contains('"'),
        "{name}: {etag}"
    );
    assert!(citazione.modified_at.is_some() && !citazione.deleted);
    assert_eq!(
        first["2026-0099/Nota.txt"].matter_reference.as_deref(),
        Some("2026-0099")
    );

    // Apache's ETags turn from weak to strong a second after a write: no change for that.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (records, cursor) = pull(&dav, Some(&cursor)).await;
    assert!(records.is_empty(), "{name}: nothing changed: {records:#?}");

    // A change, a move to another matter's folder, a deletion.
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
    let (records, cursor) = pull(&dav, Some(&cursor)).await;
    let changes = by_name(records);
    assert_eq!(changes.len(), 3, "{name}: {changes:#?}");
    let memoria = &changes["2026-0042/Memoria.docx"];
    assert_eq!(
        (memoria.size, memoria.moved_from.as_deref()),
        (Some(18), None)
    );
    let moved = &changes["2026-0043/Atto di citazione.pdf"];
    assert_eq!(moved.matter_reference.as_deref(), Some("2026/0043"));
    assert_eq!(
        moved.moved_from.as_deref(),
        Some(citazione.external_id.as_str()),
        "{name}: the move is recognised"
    );
    let parere = &changes["2026-0043/Parere.pdf"];
    assert!(parere.deleted, "{name}");

    // A re-run finds nothing new.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (records, _) = pull(&dav, Some(&cursor)).await;
    assert!(records.is_empty(), "{name}: {records:#?}");

    // A cursor that is not ours starts a full resync; a wrong password is refused.
    assert!(matches!(
        dav.pull_documents(Some(&Cursor("bogus".into()))).await,
        Err(ConnectorError::InvalidCursor)
    ));
    assert!(matches!(
        connector(&server, "wrong").pull_documents(None).await,
        Err(ConnectorError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn apache_folders_pull_and_reconcile() {
    folders_pull_and_reconcile(FileDavKind::Apache).await;
}

#[tokio::test]
async fn wsgidav_folders_pull_and_reconcile() {
    folders_pull_and_reconcile(FileDavKind::WsgiDav).await;
}

/// The `PROPFIND Depth: 0` status of `path`.
async fn status_of(server: &FileDavServer, path: &str) -> u16 {
    server
        .request("PROPFIND", path)
        .header("Depth", "0")
        .send()
        .await
        .expect("PROPFIND")
        .status()
        .as_u16()
}

async fn one_matter_folder_is_made_idempotently(kind: FileDavKind) {
    let server = FileDavServer::start(kind);
    let name = kind.name();
    let dav = connector(&server, PASSWORD);

    // Made with its property; made again: the 405 to MKCOL is fine, the property stays.
    dav.make_matter_folder(&matter("2026/0042"))
        .await
        .expect("made");
    dav.make_matter_folder(&matter("2026/0042"))
        .await
        .expect("made again");
    let property = server
        .property("2026-0042/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(property.contains("2026/0042"), "{name}: {property}");

    // A folder an earlier attempt made without its property (PROPPATCH failed) is completed.
    server.mkcol("2026-0050/").await;
    let before = server
        .property("2026-0050/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(!before.contains("2026/0050"), "{name}: {before}");
    dav.make_matter_folder(&matter("2026/0050"))
        .await
        .expect("completed");
    let after = server
        .property("2026-0050/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(after.contains("2026/0050"), "{name}: {after}");

    // A folder renamed at the store keeps naming its matter: no second folder is made. A
    // folder of a matter's name that names another matter is not taken over.
    dav.make_matter_folder(&matter("2026/0062"))
        .await
        .expect("made");
    server.move_to("2026-0062/", "2026-0061/").await;
    dav.make_matter_folder(&matter("2026/0062"))
        .await
        .expect("found renamed");
    assert_eq!(status_of(&server, "2026-0062/").await, 404, "{name}");
    let refused = dav.make_matter_folder(&matter("2026/0061")).await;
    assert!(
        matches!(refused, Err(ConnectorError::Rejected(_))),
        "{name}: {refused:?}"
    );
    let kept = server
        .property("2026-0061/", NAMESPACE, MATTER_PROPERTY)
        .await;
    assert!(kept.contains("2026/0062"), "{name}: {kept}");
}

#[tokio::test]
async fn apache_one_matter_folder_is_made_idempotently() {
    one_matter_folder_is_made_idempotently(FileDavKind::Apache).await;
}

#[tokio::test]
async fn wsgidav_one_matter_folder_is_made_idempotently() {
    one_matter_folder_is_made_idempotently(FileDavKind::WsgiDav).await;
}

async fn sub_folders_are_walked(kind: FileDavKind) {
    let server = FileDavServer::start(kind);
    let name = kind.name();
    let dav = connector(&server, PASSWORD);
    dav.make_matter_folder(&matter("2026/0042"))
        .await
        .expect("made");
    server.mkcol("2026-0042/Atti/").await;
    server.mkcol("2026-0042/Atti/Primo%20grado/").await;
    server.mkcol("2026-0042/Atti/Appello/").await;
    server.put("2026-0042/Mandato.pdf", "mandato").await;
    server
        .put(
            "2026-0042/Atti/Primo%20grado/Sentenza.pdf",
            "sentenza di primo grado",
        )
        .await;
    server.put("2026-0042/Atti/Ricorso.pdf", "ricorso").await;
    // A chain of sub-folders deeper than the walk goes: level MAX_DEPTH is read, the next not.
    let mut path = "2026-0042".to_owned();
    for level in 1..=webdav::MAX_DEPTH + 1 {
        path.push_str(&format!("/L{level}"));
        server.mkcol(&format!("{path}/")).await;
        server
            .put(&format!("{path}/at-{level}.txt"), &format!("level {level}"))
            .await;
    }

    let (records, cursor) = pull(&dav, None).await;
    let folders: BTreeMap<String, Option<String>> = records
        .iter()
        .map(|r| (r.title.clone(), r.folder.clone()))
        .collect();
    let deepest = format!("at-{}.txt", webdav::MAX_DEPTH);
    let too_deep = format!("at-{}.txt", webdav::MAX_DEPTH + 1);
    assert_eq!(folders["Mandato.pdf"], None, "{name}");
    assert_eq!(folders["Ricorso.pdf"].as_deref(), Some("Atti"), "{name}");
    assert_eq!(
        folders["Sentenza.pdf"].as_deref(),
        Some("Atti/Primo grado"),
        "{name}"
    );
    assert_eq!(folders["at-1.txt"].as_deref(), Some("L1"), "{name}");
    assert!(folders.contains_key(&deepest), "{name}: {folders:#?}");
    assert!(!folders.contains_key(&too_deep), "{name}: {folders:#?}");
    assert_eq!(records.len(), 3 + webdav::MAX_DEPTH, "{name}: {folders:#?}");
    assert!(records
        .iter()
        .all(|r| r.matter_reference.as_deref() == Some("2026/0042")));
    let sentenza = records
        .iter()
        .find(|r| r.title == "Sentenza.pdf")
        .expect("sentenza")
        .clone();

    // Nothing changed: nothing pulled.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (records, cursor) = pull(&dav, Some(&cursor)).await;
    assert!(records.is_empty(), "{name}: {records:#?}");

    // A move between sub-folders is a move, not a deletion and a creation.
    server
        .move_to(
            "2026-0042/Atti/Primo%20grado/Sentenza.pdf",
            "2026-0042/Atti/Appello/Sentenza.pdf",
        )
        .await;
    let (records, cursor) = pull(&dav, Some(&cursor)).await;
    assert_eq!(records.len(), 1, "{name}: {records:#?}");
    let moved = &records[0];
    assert!(!moved.deleted, "{name}");
    assert_eq!(moved.folder.as_deref(), Some("Atti/Appello"), "{name}");
    assert_eq!(
        moved.moved_from.as_deref(),
        Some(sentenza.external_id.as_str()),
        "{name}"
    );

    // A sub-folder deleted with its files: they are deleted.
    server.delete("2026-0042/Atti/Appello/").await;
    let (records, _) = pull(&dav, Some(&cursor)).await;
    assert_eq!(records.len(), 1, "{name}: {records:#?}");
    assert!(records[0].deleted && records[0].external_id == moved.external_id);
}

#[tokio::test]
async fn apache_sub_folders_are_walked() {
    sub_folders_are_walked(FileDavKind::Apache).await;
}

#[tokio::test]
async fn wsgidav_sub_folders_are_walked() {
    sub_folders_are_walked(FileDavKind::WsgiDav).await;
}
