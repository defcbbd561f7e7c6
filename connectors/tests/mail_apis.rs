//! The mail API connectors against their faithful local fakes: Microsoft Graph
//! `messages/delta` and the Gmail API (`messages.list`, `history.list`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lexgate_connectors::gmail::GmailConnector;
use lexgate_connectors::graph_mail::{GraphMailConnector, SELECT};
use lexgate_connectors::http::HttpClient;
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager};
use lexgate_connectors::testing::mail_apis::{GmailFake, GraphMailFake};
use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{
    Connector, ConnectorError, Cursor, Page, RemoteChannel, RemoteCommunication,
};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";

fn client(provider: &FakeProvider, store: Arc<MemoryTokenStore>) -> AuthorizedClient {
    let tokens = provider.issue_tokens();
    let manager =
        Arc::new(TokenManager::new(provider.app(REDIRECT), tokens, store).expect("token manager"));
    AuthorizedClient {
        http: HttpClient::new(fast_policy()).expect("client"),
        tokens: manager,
    }
}

fn graph(fake: &GraphMailFake, store: Arc<MemoryTokenStore>, page_size: u32) -> GraphMailConnector {
    GraphMailConnector::new(
        &fake.base_url(),
        client(&fake.provider, store),
        vec!["inbox".into(), "sentitems".into()],
        page_size,
    )
    .expect("connector")
}

fn mail(id: &str, from: &str, subject: &str, headers: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nFrom: {from}\r\nTo: avv.verdi@studioverdi.it\r\nSubject: {subject}\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n{headers}\r\nTesto.\r\n"
    )
    .into_bytes()
}

/// Pulls until the connector has nothing more; returns the pages' records and the cursor.
async fn pull_all(
    connector: &dyn Connector,
    mut cursor: Option<Cursor>,
) -> Result<(Vec<RemoteCommunication>, Cursor, usize), ConnectorError> {
    let mut records = Vec::new();
    let mut pages = 0;
    loop {
        let Page {
            records: page,
            cursor: next,
            more,
        } = connector.pull_communications(cursor.as_ref()).await?;
        pages += 1;
        records.extend(page);
        cursor = Some(next);
        if !more {
            break;
        }
        assert!(pages < 50, "the pull does not end");
    }
    Ok((records, cursor.expect("a cursor"), pages))
}

fn ids(records: &[RemoteCommunication]) -> Vec<(String, bool)> {
    let mut ids: Vec<(String, bool)> = records
        .iter()
        .map(|r| {
            (
                r.message_id
                    .clone()
                    .unwrap_or_else(|| r.external_id.clone()),
                r.deleted,
            )
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn graph_delta_pages_by_links_then_follows_changes_and_deletions() {
    let fake = GraphMailFake::start().await;
    let inbox: Vec<String> = (1..=3)
        .map(|n| {
            fake.add(
                "inbox",
                &mail(
                    &format!("in{n}@cliente.it"),
                    "mario@cliente.it",
                    &format!("In {n}"),
                    "",
                ),
            )
        })
        .collect();
    let sent = fake.add(
        "sentitems",
        &mail(
            "out1@studioverdi.it",
            "avv.verdi@studioverdi.it",
            "Diffida",
            "X-Trasporto: posta-certificata\r\n",
        ),
    );
    let connector = graph(&fake, Default::default(), 2);
    let (records, cursor, pages) = pull_all(&connector, None).await.expect("first sync");
    assert_eq!(
        ids(&records),
        [
            ("in1@cliente.it".to_owned(), false),
            ("in2@cliente.it".to_owned(), false),
            ("in3@cliente.it".to_owned(), false),
            ("out1@studioverdi.it".to_owned(), false),
        ]
    );
    // Inbox in two pages of two (next link), then the sent folder.
    assert!(pages >= 2, "paged: {pages}");
    assert_eq!(fake.page_sizes(), [2, 2], "Prefer: odata.maxpagesize");
    assert_eq!(fake.selects(), [SELECT, SELECT]);
    let pec = records
        .iter()
        .find(|r| r.subject.as_deref() == Some("Diffida"))
        .expect("sent message");
    assert_eq!(pec.channel, RemoteChannel::Pec);
    assert_eq!(pec.external_id, format!("sentitems/{sent}"));
    assert_eq!(pec.from[0].address, "avv.verdi@studioverdi.it");

    // Nothing changed: the delta links list nothing.
    let before = fake.content_requests();
    let (records, cursor, _) = pull_all(&connector, Some(cursor))
        .await
        .expect("no changes");
    assert!(records.is_empty(), "{records:?}");
    assert_eq!(fake.content_requests(), before);

    // A new message, a deleted one and a read flag (Graph lists the changed message again,
    // the engine knows it): the deletion carries the location.
    fake.add(
        "inbox",
        &mail("in4@cliente.it", "mario@cliente.it", "In 4", ""),
    );
    fake.delete(&sent);
    fake.mark_read(&inbox[0]);
    let (records, cursor, _) = pull_all(&connector, Some(cursor)).await.expect("changes");
    assert_eq!(
        ids(&records),
        [
            ("in1@cliente.it".to_owned(), false),
            ("in4@cliente.it".to_owned(), false),
            (format!("sentitems/{sent}"), true),
        ]
    );
    // Both folders' delta links stay valid afterwards.
    let (records, _, _) = pull_all(&connector, Some(cursor)).await.expect("again");
    assert!(records.is_empty());
}

#[tokio::test]
async fn graph_dropped_sync_state_is_an_invalid_cursor_and_a_relisting_works() {
    for code in ["SyncStateNotFound", "resyncRequired"] {
        let fake = GraphMailFake::start().await;
        fake.add("inbox", &mail("a@cliente.it", "mario@cliente.it", "A", ""));
        let connector = graph(&fake, Default::default(), 10);
        let (_, cursor, _) = pull_all(&connector, None).await.expect("first");
        fake.drop_sync_state(code);
        let refused = connector.pull_communications(Some(&cursor)).await;
        assert!(
            matches!(refused, Err(ConnectorError::InvalidCursor)),
            "{code}: {:?}",
            refused.map(|p| p.records.len())
        );
        let (records, _, _) = pull_all(&connector, None).await.expect("relisting");
        assert_eq!(ids(&records), [("a@cliente.it".to_owned(), false)]);
    }
}

#[tokio::test]
async fn graph_a_message_gone_before_its_content_is_fetched_is_skipped() {
    let fake = GraphMailFake::start().await;
    fake.add("inbox", &mail("a@cliente.it", "mario@cliente.it", "A", ""));
    let gone = fake.add("inbox", &mail("b@cliente.it", "mario@cliente.it", "B", ""));
    fake.lose_content(&gone);
    let connector = graph(&fake, Default::default(), 10);
    let (records, cursor, _) = pull_all(&connector, None).await.expect("no resync");
    assert_eq!(ids(&records), [("a@cliente.it".to_owned(), false)]);
    fake.delete(&gone);
    let (records, _, _) = pull_all(&connector, Some(cursor))
        .await
        .expect("the delta link still works");
    assert_eq!(ids(&records), [(format!("inbox/{gone}"), true)]);
}

#[tokio::test]
async fn graph_throttling_waits_retry_after_and_a_refused_token_is_refreshed() {
    let fake = GraphMailFake::start().await;
    fake.add("inbox", &mail("a@cliente.it", "mario@cliente.it", "A", ""));
    let store = Arc::new(MemoryTokenStore::default());
    let connector = graph(&fake, store.clone(), 10);
    fake.fail_next(429, Some(1));
    let started = Instant::now();
    let (records, cursor, _) = pull_all(&connector, None).await.expect("after waiting");
    assert_eq!(records.len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After");
    // Inbox: the 429 and its retry; sent items: one.
    assert_eq!(fake.delta_requests(), 3);

    // The access token is refused (InvalidAuthenticationToken): one refresh, whose rotated
    // refresh token is saved before use, and the request again.
    fake.provider.expire_access_tokens();
    fake.add("inbox", &mail("b@cliente.it", "mario@cliente.it", "B", ""));
    let (records, _, _) = pull_all(&connector, Some(cursor))
        .await
        .expect("after a refresh");
    assert_eq!(ids(&records), [("b@cliente.it".to_owned(), false)]);
    assert_eq!(fake.provider.refreshes(), 1);
    let saved = store.0.lock().expect("store").clone();
    assert_eq!(saved.len(), 1);
    let rotated = saved[0].refresh_token.clone().expect("refresh token");
    assert!(fake.provider.is_valid_refresh_token(&rotated));
}

#[tokio::test]
async fn graph_links_are_replayed_verbatim_and_only_to_the_configured_host() {
    let fake = GraphMailFake::start().await;
    for n in 1..=3 {
        fake.add(
            "inbox",
            &mail(&format!("m{n}@cliente.it"), "mario@cliente.it", "M", ""),
        );
    }
    let connector = graph(&fake, Default::default(), 2);
    let first = connector.pull_communications(None).await.expect("page");
    assert!(first.more);
    let state: serde_json::Value = serde_json::from_str(&first.cursor.0).expect("cursor json");
    let link = state["folders"][0]["link"].as_str().expect("next link");
    assert!(link.starts_with(&fake.base_url()) && link.contains("$skiptoken="));
    // The fake refuses a link whose query was changed.
    let tampered = reqwest::Client::new()
        .get(format!("{link}&$select=id"))
        .bearer_auth(fake.provider.issue_tokens().access_token)
        .send()
        .await
        .expect("answer");
    assert_eq!(tampered.status(), 400);
    // A link to another host never gets the token.
    let foreign = state
        .to_string()
        .replace(&fake.provider.base_url, "http://127.0.0.2:9");
    let refused = connector.pull_communications(Some(&Cursor(foreign))).await;
    assert!(matches!(refused, Err(ConnectorError::Protocol(_))));
    let rest = connector
        .pull_communications(Some(&first.cursor))
        .await
        .expect("rest");
    assert_eq!(first.records.len() + rest.records.len(), 3);
}

fn gmail(fake: &GmailFake, store: Arc<MemoryTokenStore>, page_size: u32) -> GmailConnector {
    GmailConnector::new(
        &fake.base_url(),
        client(&fake.provider, store),
        vec!["INBOX".into(), "SENT".into()],
        page_size,
    )
    .expect("connector")
}

#[tokio::test]
async fn gmail_lists_pages_then_follows_history_and_relists_when_it_is_gone() {
    let fake = GmailFake::start().await;
    let first: Vec<String> = (1..=3)
        .map(|n| {
            fake.add(
                &["INBOX", "UNREAD"],
                &mail(
                    &format!("in{n}@cliente.it"),
                    "mario@cliente.it",
                    &format!("In {n}"),
                    "",
                ),
            )
        })
        .collect();
    let sent = fake.add(
        &["SENT"],
        &mail(
            "out1@studioverdi.it",
            "avv.verdi@studioverdi.it",
            "Diffida",
            "X-Trasporto: posta-certificata\r\n",
        ),
    );
    fake.add(
        &["SPAM"],
        &mail("spam@x.example", "spam@x.example", "Offerta", ""),
    );
    let connector = gmail(&fake, Default::default(), 2);
    let (records, cursor, pages) = pull_all(&connector, None).await.expect("full sync");
    assert_eq!(
        ids(&records),
        [
            ("in1@cliente.it".to_owned(), false),
            ("in2@cliente.it".to_owned(), false),
            ("in3@cliente.it".to_owned(), false),
            ("out1@studioverdi.it".to_owned(), false),
        ]
    );
    assert_eq!(pages, 3, "INBOX in two pages of two, then SENT");
    assert!(fake.formats().iter().all(|f| f == "raw"));
    let pec = records
        .iter()
        .find(|r| r.subject.as_deref() == Some("Diffida"))
        .expect("sent");
    assert_eq!(pec.channel, RemoteChannel::Pec);
    assert_eq!(pec.external_id, sent);

    // Nothing changed: history lists nothing.
    let (records, cursor, _) = pull_all(&connector, Some(cursor)).await.expect("quiet");
    assert!(records.is_empty(), "{records:?}");
    assert_eq!(fake.list_requests(), 3, "no listing again");

    // New mail, a deletion, an archived message (INBOX removed), a read flag and a label on
    // spam: only what touches the synced labels.
    fake.add(
        &["INBOX"],
        &mail("in4@cliente.it", "mario@cliente.it", "In 4", ""),
    );
    fake.delete(&sent);
    fake.remove_label(&first[0], "INBOX");
    fake.remove_label(&first[1], "UNREAD");
    fake.add_label(&first[2], "STARRED");
    let (records, cursor, _) = pull_all(&connector, Some(cursor)).await.expect("changes");
    let mut expected = vec![
        (first[0].clone(), true),
        ("in4@cliente.it".to_owned(), false),
        (sent.clone(), true),
    ];
    expected.sort();
    assert_eq!(ids(&records), expected);

    // The history was dropped: 404 is an invalid cursor; a new full sync lists what is left.
    fake.forget_history();
    let refused = connector.pull_communications(Some(&cursor)).await;
    assert!(matches!(refused, Err(ConnectorError::InvalidCursor)));
    let (records, _, _) = pull_all(&connector, None).await.expect("relisting");
    assert_eq!(records.len(), 3);
}

#[tokio::test]
async fn gmail_throttling_waits_retry_after_and_a_refused_token_is_refreshed() {
    let fake = GmailFake::start().await;
    fake.add(
        &["INBOX"],
        &mail("a@cliente.it", "mario@cliente.it", "A", ""),
    );
    let store = Arc::new(MemoryTokenStore::default());
    let connector = gmail(&fake, store.clone(), 10);
    fake.fail_next(429, Some(1));
    let started = Instant::now();
    let (records, cursor, _) = pull_all(&connector, None).await.expect("after waiting");
    assert_eq!(records.len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After");

    fake.provider.expire_access_tokens();
    fake.add(
        &["INBOX"],
        &mail("b@cliente.it", "mario@cliente.it", "B", ""),
    );
    let (records, _, _) = pull_all(&connector, Some(cursor))
        .await
        .expect("after a refresh");
    assert_eq!(ids(&records), [("b@cliente.it".to_owned(), false)]);
    assert_eq!(fake.provider.refreshes(), 1);
    let saved = store.0.lock().expect("store").clone();
    let rotated = saved[0].refresh_token.clone().expect("refresh token");
    assert!(fake.provider.is_valid_refresh_token(&rotated));
    assert_eq!(
        fake.history_requests(),
        1,
        "the refused request is not served"
    );
    assert!(fake.requests() > fake.history_requests());
}

#[tokio::test]
async fn gmail_403_rate_limits_are_throttles_and_other_403s_refusals() {
    let fake = GmailFake::start().await;
    fake.add(
        &["INBOX"],
        &mail("a@cliente.it", "mario@cliente.it", "A", ""),
    );
    let connector = gmail(&fake, Arc::new(MemoryTokenStore::default()), 10);
    // Waited out (Retry-After, or backoff without it), not a refused credential.
    fake.fail_next_because(403, Some(1), "userRateLimitExceeded");
    fake.fail_next_because(403, None, "rateLimitExceeded");
    let started = Instant::now();
    let (records, _, _) = pull_all(&connector, None).await.expect("after waiting");
    assert_eq!(records.len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After");
    // A 403 for anything else is the provider refusing us.
    fake.fail_next_because(403, None, "insufficientPermissions");
    let refused = connector.pull_communications(None).await;
    assert!(
        matches!(refused, Err(ConnectorError::Unauthorized(_))),
        "{refused:?}"
    );
}
