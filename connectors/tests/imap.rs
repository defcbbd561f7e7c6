//! The IMAP connector against a real Dovecot: first pull, paging, incremental pulls, a
//! deletion upstream, a changed UIDVALIDITY and a refused login.

use std::time::Duration;

use lexgate_connectors::dovecot::Dovecot;
use lexgate_connectors::imap::{ImapConnector, ImapLogin, ImapSettings};
use lexgate_connectors::{Connector, ConnectorError, Cursor, RemoteCommunication};

const USER: &str = "studio";
const PASSWORD: &str = "s3cret-pw";

fn message(n: u32) -> Vec<u8> {
    format!(
        "Message-ID: <m{n}@client.it>\r\nFrom: Mario Bianchi <mario@client.it>\r\n\
To: avv@firm.it\r\nSubject: Message {n}\r\nDate: Tue, 1 Dec 2026 10:0{n}:00 +0000\r\n\r\nBody {n}\r\n"
    )
    .into_bytes()
}

fn connector(server: &Dovecot, password: &str, page_size: u32) -> ImapConnector {
    let (host, port, security) = ImapSettings::endpoint(&server.url(), true).expect("url");
    ImapConnector::new(ImapSettings {
        host,
        port,
        security,
        username: USER.into(),
        login: ImapLogin::Password(password.into()),
        folders: vec!["INBOX".into(), "Sent".into()],
        page_size,
        extra_roots: vec![],
        ..quick_retries()
    })
    .expect("connector")
}

/// The fields these tests leave at their usual values (short backoffs).
fn quick_retries() -> ImapSettings {
    ImapSettings {
        host: String::new(),
        port: 0,
        security: lexgate_connectors::imap::Security::Plain,
        username: String::new(),
        login: ImapLogin::Password(String::new()),
        folders: vec![],
        page_size: 0,
        extra_roots: vec![],
        max_connections: lexgate_connectors::imap::DEFAULT_MAX_CONNECTIONS,
        retries: 3,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    }
}

/// Pulls to the end; the records and the last cursor.
async fn pull_all(
    connector: &ImapConnector,
    mut cursor: Option<Cursor>,
) -> Result<(Vec<RemoteCommunication>, Cursor), ConnectorError> {
    let mut records = Vec::new();
    loop {
        let page = connector.pull_communications(cursor.as_ref()).await?;
        records.extend(page.records);
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((records, cursor.expect("cursor")));
        }
    }
}

fn ids(records: &[RemoteCommunication]) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .filter(|r| !r.deleted)
        .filter_map(|r| r.message_id.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn imap_pulls_pages_increments_deletions_and_uidvalidity_changes() {
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    for n in 1..=3 {
        server.append(USER, PASSWORD, "INBOX", &message(n)).await;
    }
    server.append(USER, PASSWORD, "Sent", &message(4)).await;
    let imap = connector(&server, PASSWORD, 2);

    let (first, cursor) = pull_all(&imap, None).await.expect("first pull");
    assert_eq!(
        ids(&first),
        [
            "m1@client.it",
            "m2@client.it",
            "m3@client.it",
            "m4@client.it"
        ]
    );
    assert_eq!(first[0].subject.as_deref(), Some("Message 1"));
    assert_eq!(first[0].from[0].address, "mario@client.it");

    let (again, cursor) = pull_all(&imap, Some(cursor)).await.expect("unchanged pull");
    assert!(again.is_empty(), "nothing new: {again:?}");

    server.append(USER, PASSWORD, "INBOX", &message(5)).await;
    server
        .delete(USER, PASSWORD, "INBOX", "<m2@client.it>")
        .await;
    let (changes, cursor) = pull_all(&imap, Some(cursor)).await.expect("incremental");
    assert_eq!(ids(&changes), ["m5@client.it"]);
    let deleted: Vec<_> = changes.iter().filter(|r| r.deleted).collect();
    assert_eq!(deleted.len(), 1, "{changes:?}");
    assert!(first.iter().any(|r| r.external_id == deleted[0].external_id
        && r.message_id.as_deref() == Some("m2@client.it")));

    server.set_uid_validity(USER, "INBOX", 4242);
    assert!(matches!(
        imap.pull_communications(Some(&cursor)).await,
        Err(ConnectorError::InvalidCursor)
    ));
    let (resynced, _) = pull_all(&imap, None).await.expect("full resync");
    assert_eq!(
        ids(&resynced),
        [
            "m1@client.it",
            "m3@client.it",
            "m4@client.it",
            "m5@client.it"
        ]
    );
    assert!(resynced
        .iter()
        .any(|r| r.external_id.starts_with("INBOX/4242/")));

    let refused = connector(&server, "wrong", 2)
        .pull_communications(None)
        .await;
    match refused {
        Err(ConnectorError::Unauthorized(message)) => assert!(message.contains(USER)),
        other => panic!("expected a refused login, got {other:?}"),
    }
}

/// XOAUTH2 and OAUTHBEARER against the real Dovecot, its `passdb { driver = oauth2 }`
/// checking each access token at the fake provider's RFC 7662 introspection endpoint: a
/// valid token logs in; a token the provider stopped accepting is refreshed once through
/// the OAuth layer (the rotated refresh token saved) and the login retried; a token of
/// another user is refused, clearly.
#[tokio::test]
async fn xoauth2_and_oauthbearer_logins_go_through_the_oauth_layer() {
    use std::sync::{Arc, Mutex};

    use lexgate_connectors::oauth::{TokenManager, TokenSet, TokenStore};
    use lexgate_connectors::testing::FakeProvider;
    use lexgate_connectors::BoxFuture;

    #[derive(Default)]
    struct Saved(Mutex<Vec<TokenSet>>);
    impl TokenStore for Saved {
        fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), String>> {
            Box::pin(async move {
                self.0
                    .lock()
                    .map_err(|e| e.to_string())?
                    .push(tokens.clone());
                Ok(())
            })
        }
        fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, String>> {
            Box::pin(async move { Ok(self.0.lock().map_err(|e| e.to_string())?.last().cloned()) })
        }
    }

    let provider = FakeProvider::start().await;
    provider.set_token_subject(USER);
    let server = Dovecot::start_with_oauth(&[(USER, PASSWORD)], &provider.introspection_url());
    server.append(USER, PASSWORD, "INBOX", &message(1)).await;
    let oauth_connector = |login: fn(Arc<TokenManager>) -> ImapLogin, store: Arc<Saved>| {
        let manager = Arc::new(
            TokenManager::new(
                provider.app("http://127.0.0.1:9/oauth/callback"),
                provider.issue_tokens(),
                store,
            )
            .expect("token manager"),
        );
        let (host, port, security) = ImapSettings::endpoint(&server.url(), true).expect("url");
        ImapConnector::new(ImapSettings {
            host,
            port,
            security,
            username: USER.into(),
            login: login(manager),
            folders: vec!["INBOX".into()],
            page_size: 10,
            extra_roots: vec![],
            ..quick_retries()
        })
        .expect("connector")
    };
    for login in [ImapLogin::Xoauth2 as fn(_) -> _, ImapLogin::OauthBearer] {
        let store = Arc::new(Saved::default());
        let connector = oauth_connector(login, store.clone());
        let before = provider.introspections();
        let (records, _) = pull_all(&connector, None).await.unwrap_or_else(|e| {
            panic!("OAuth login: {e}\n{}", server.log());
        });
        assert_eq!(ids(&records), ["m1@client.it"]);
        assert!(
            provider.introspections() > before,
            "Dovecot asked the provider"
        );
        assert!(
            store.0.lock().expect("store").is_empty(),
            "no refresh needed"
        );

        // The provider stops accepting the access token: one refresh, then the login works.
        let refreshes = provider.refreshes();
        provider.expire_access_tokens();
        let (records, _) = pull_all(&connector, None)
            .await
            .unwrap_or_else(|e| panic!("after a refresh: {e}\n{}", server.log()));
        assert_eq!(records.len(), 1);
        assert_eq!(provider.refreshes(), refreshes + 1);
        let saved = store.0.lock().expect("store").clone();
        assert_eq!(saved.len(), 1);
        let rotated = saved[0].refresh_token.clone().expect("rotated");
        assert!(provider.is_valid_refresh_token(&rotated));
    }

    // A valid token of someone else: refused, and the error names the login.
    provider.set_token_subject("someone.else");
    let connector = oauth_connector(ImapLogin::Xoauth2, Default::default());
    let error = pull_all(&connector, None).await.expect_err("refused");
    assert!(
        matches!(&error, ConnectorError::Unauthorized(m) if m.contains(USER)),
        "{error:?}"
    );
}

fn tls_connector(url: &str, extra_roots: Vec<Vec<u8>>) -> ImapConnector {
    let (host, port, security) = ImapSettings::endpoint(url, false).expect("url");
    ImapConnector::new(ImapSettings {
        host,
        port,
        security,
        username: USER.into(),
        login: ImapLogin::Password(PASSWORD.into()),
        folders: vec!["INBOX".into()],
        page_size: 10,
        extra_roots,
        ..quick_retries()
    })
    .expect("connector")
}

#[tokio::test]
async fn imaps_and_starttls_log_in_and_an_untrusted_certificate_is_refused() {
    use lexgate_connectors::imap::{certificates_from_pem, Security};
    let server = Dovecot::start_tls(&[(USER, PASSWORD)]);
    server.append(USER, PASSWORD, "INBOX", &message(1)).await;
    let roots = certificates_from_pem(&server.ca_pem()).expect("the test CA");
    assert_eq!(roots.len(), 1);

    let imaps = server.imaps_url();
    let starttls = server.url();
    assert_eq!(
        ImapSettings::endpoint(&imaps, false).expect("url").2,
        Security::Tls
    );
    assert_eq!(
        ImapSettings::endpoint(&starttls, false).expect("url").2,
        Security::StartTls
    );
    for url in [&imaps, &starttls] {
        let (records, _) = pull_all(&tls_connector(url, roots.clone()), None)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}\n{}", server.log()));
        assert_eq!(ids(&records), ["m1@client.it"], "{url}");

        // The public roots alone do not trust the test CA: refused before any login.
        match pull_all(&tls_connector(url, vec![]), None).await {
            Err(ConnectorError::Unavailable(message)) => {
                assert!(message.contains("not trusted"), "{url}: {message}");
            }
            other => panic!("{url}: an untrusted certificate was accepted: {other:?}"),
        }
    }
    assert!(
        server.log().contains("TLS"),
        "Dovecot logged the TLS logins: {}",
        server.log()
    );

    // A PEM without any certificate is refused with a reason.
    assert!(certificates_from_pem("not a certificate").is_err());
}

/// Dovecot limiting each user to two sessions per address (`mail_max_userip_connections`):
/// with both taken, a pull is refused `NO [LIMIT]` at login, retried with backoff, then
/// reported throttled (not as a bad credential); a session freed while it backs off lets the
/// retried pull through; and eight pulls at once on one instance allowed two sessions are
/// all served.
#[tokio::test]
async fn connection_limits_are_throttling_and_a_freed_session_lets_the_retry_in() {
    let server = Dovecot::start_limited(&[(USER, PASSWORD)], 2);
    for n in 1..=3 {
        server.append(USER, PASSWORD, "INBOX", &message(n)).await;
    }
    let held = [
        server.hold_session(USER, PASSWORD).await,
        server.hold_session(USER, PASSWORD).await,
    ];
    let imap = connector(&server, PASSWORD, 10);
    match imap.pull_communications(None).await {
        Err(ConnectorError::Throttled { message, .. }) => {
            assert!(message.contains("[LIMIT]"), "{message}");
        }
        other => panic!("expected throttled, got {other:?}"),
    }
    // One attempt and three retries, all refused (Dovecot's log may lag a little).
    let refusals = || {
        server
            .log()
            .matches("Maximum number of connections")
            .count()
    };
    let mut waited = 0;
    while refusals() < 4 && waited < 40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(refusals(), 4, "{}", server.log());

    // A session is freed while the pull backs off: a retry gets through.
    let patient = ImapConnector::new(ImapSettings {
        retries: 20,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(200),
        ..connector_settings(&server, 10)
    })
    .expect("connector");
    let [first, second] = held;
    let (pulled, ()) = tokio::join!(pull_all(&patient, None), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
    });
    let (records, _) = pulled.expect("a retry after the session was freed");
    assert_eq!(
        ids(&records),
        ["m1@client.it", "m2@client.it", "m3@client.it"]
    );
    assert!(
        refusals() > 4,
        "the patient pull was refused before it got in"
    );
    drop(second);

    // Eight pulls at once on an instance allowed two sessions: none is refused.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = refusals();
    let bounded = ImapConnector::new(ImapSettings {
        retries: 0,
        ..connector_settings(&server, 10)
    })
    .expect("connector");
    let pulls = (0..8).map(|_| bounded.pull_communications(None));
    for result in futures_util::future::join_all(pulls).await {
        assert_eq!(ids(&result.expect("a bounded pull").records).len(), 3);
    }
    assert_eq!(refusals(), before, "{}", server.log());
}

/// A slow server (a loopback listener that greets, then answers each login after 200 ms with
/// `NO [LIMIT]`) counts the connections open at once: eight pulls at once on an instance
/// allowed two sessions never open more than two; allowed eight, they open eight.
#[tokio::test]
async fn an_instance_never_opens_more_sessions_than_allowed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    async fn busiest(max_connections: usize) -> usize {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let port = listener.local_addr().expect("address").port();
        let (open, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (open_, peak_) = (open.clone(), peak.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (open, peak) = (open_.clone(), peak_.clone());
                tokio::spawn(async move {
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write
                        .write_all(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
                        .await;
                    if let Ok(Some(line)) = lines.next_line().await {
                        let tag = line.split(' ').next().unwrap_or("*").to_owned();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        let answer = format!("{tag} NO [LIMIT] Too many connections\r\n");
                        let _ = write.write_all(answer.as_bytes()).await;
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        let imap = ImapConnector::new(ImapSettings {
            host: "127.0.0.1".into(),
            port,
            username: USER.into(),
            login: ImapLogin::Password(PASSWORD.into()),
            folders: vec!["INBOX".into()],
            page_size: 10,
            retries: 0,
            max_connections,
            ..quick_retries()
        })
        .expect("connector");
        let pulls = (0..8).map(|_| imap.pull_communications(None));
        for result in futures_util::future::join_all(pulls).await {
            assert!(
                matches!(result, Err(ConnectorError::Throttled { .. })),
                "{result:?}"
            );
        }
        server.abort();
        peak.load(Ordering::SeqCst)
    }
    assert_eq!(busiest(2).await, 2);
    assert_eq!(busiest(8).await, 8);
}

#[test]
fn overload_answers_are_throttling_and_bad_logins_are_not() {
    // The texts async-imap gives for NO/BAD answers (RFC 5530 codes it does not parse
    // stay in the text).
    assert!(lexgate_connectors::imap::is_throttling(
        "code: None, info: Some(\"[LIMIT] Maximum number of connections from user+IP exceeded\")"
    ));
    assert!(lexgate_connectors::imap::is_throttling(
        "[UNAVAILABLE] Temporary System Error"
    ));
    assert!(lexgate_connectors::imap::is_throttling(
        "Too many connections from your host"
    ));
    assert!(!lexgate_connectors::imap::is_throttling(
        "[AUTHENTICATIONFAILED] Authentication failed."
    ));
}

/// A server that greets with `* BYE` because it is overloaded (a loopback listener speaking
/// just that line, as Cyrus and Gmail do under load): throttled, not unavailable; a plain
/// BYE (server shutting down) is unavailable.
#[tokio::test]
async fn greeting_bye_on_overload_is_throttled() {
    use tokio::io::AsyncWriteExt;
    for (line, expect_throttled) in [
        (
            "* BYE [UNAVAILABLE] Server overloaded, try again later\r\n",
            true,
        ),
        ("* BYE Too many connections\r\n", true),
        ("* BYE Server shutting down\r\n", false),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            socket.write_all(line.as_bytes()).await.expect("greeting");
            socket.shutdown().await.ok();
        });
        let imap = ImapConnector::new(ImapSettings {
            host: "127.0.0.1".into(),
            port,
            retries: 0,
            ..quick_retries()
        })
        .expect("connector");
        let result = imap.pull_communications(None).await;
        server.await.expect("server task");
        match result {
            Err(ConnectorError::Throttled { .. }) if expect_throttled => {}
            Err(ConnectorError::Unavailable(message)) if !expect_throttled => {
                assert!(message.contains("shutting down"), "{message}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

fn connector_settings(server: &Dovecot, page_size: u32) -> ImapSettings {
    let (host, port, security) = ImapSettings::endpoint(&server.url(), true).expect("url");
    ImapSettings {
        host,
        port,
        security,
        username: USER.into(),
        login: ImapLogin::Password(PASSWORD.into()),
        folders: vec!["INBOX".into()],
        page_size,
        ..quick_retries()
    }
}
