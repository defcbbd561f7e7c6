//! The WebDAV connector against a real Apache `mod_dav_fs` and a real WsgiDAV, each started by
//! the test: matter folders made with their dead property, a first pull, an incremental one
//! after the weak ETags of a write turned strong, a change, a move between matter folders,
//! a deletion, and a re-run that finds nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use lexgate_connectors::dav_servers::{FileDavKind, FileDavServer, PASSWORD, USER};
use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::webdav::{WebDavConfig, WebDavConnector, MATTER_PROPERTY, NAMESPACE};
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
