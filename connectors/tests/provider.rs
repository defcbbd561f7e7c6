//! The HTTP layer, OAuth 2 and the json_feed connector against the local fake provider.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lexgate_connectors::http::HttpClient;
use lexgate_connectors::json_feed::JsonFeedConnector;
use lexgate_connectors::oauth::{AuthorizedClient, OAuthError, TokenManager, TokenSet};
use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{Connector, ConnectorError, Cursor, RemoteContact};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";

/// Remembers every token set it was asked to save.
fn connector(
    provider: &FakeProvider,
    tokens: TokenSet,
    store: Arc<MemoryTokenStore>,
) -> (JsonFeedConnector, Arc<TokenManager>) {
    let manager =
        Arc::new(TokenManager::new(provider.app(REDIRECT), tokens, store).expect("manager"));
    let client = AuthorizedClient {
        http: HttpClient::new(fast_policy()).expect("client"),
        tokens: manager.clone(),
    };
    (
        JsonFeedConnector::new(&provider.base_url, client, 2),
        manager,
    )
}

fn person(id: &str, family: &str) -> RemoteContact {
    RemoteContact {
        external_id: id.to_owned(),
        family_name: Some(family.to_owned()),
        ..RemoteContact::default()
    }
}

#[tokio::test]
async fn the_code_flow_checks_state_and_pkce() {
    let provider = FakeProvider::start().await;
    let app = provider.app(REDIRECT);
    let start = app.start().expect("start");
    assert!(start.url.contains("code_challenge_method=S256"));
    assert!(start.url.contains(&format!("state={}", start.state)));

    // The browser's trip to the provider, which redirects back with code and state.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let answer = browser.get(&start.url).send().await.expect("authorize");
    let location = answer.headers()["location"].to_str().expect("location");
    let callback = reqwest::Url::parse(location).expect("callback URL");
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .expect(name)
    };
    assert_eq!(param("state"), start.state);

    let http = lexgate_connectors::oauth::token_http_client().expect("http");
    // A verifier other than the one the challenge was made from is refused.
    let code = param("code");
    let wrong = app
        .exchange(
            &http,
            &code,
            "a-different-verifier-of-enough-length-1234567",
        )
        .await;
    assert!(matches!(wrong, Err(OAuthError::Refused(e)) if e == "invalid_grant"));

    // A fresh authorisation with the right verifier succeeds.
    let start = app.start().expect("start");
    let location = browser
        .get(&start.url)
        .send()
        .await
        .expect("authorize")
        .headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = reqwest::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let tokens = app
        .exchange(&http, &code, &start.pkce_verifier)
        .await
        .expect("tokens");
    assert!(tokens.refresh_token.is_some());
    assert!(tokens.expires_at.is_some());
    // Tokens never show in Debug output.
    assert!(!format!("{tokens:?}").contains(&tokens.access_token));
    // A code works once.
    assert!(app
        .exchange(&http, &code, &start.pkce_verifier)
        .await
        .is_err());
}

#[tokio::test]
async fn tokens_about_to_expire_are_refreshed_once_and_the_rotated_token_saved() {
    let provider = FakeProvider::start().await;
    // Expires within the refresh margin.
    provider.set_token_lifetime(30);
    let tokens = provider.issue_tokens();
    provider.set_token_lifetime(3600);
    let old_refresh = tokens.refresh_token.clone().expect("refresh token");
    let store = Arc::new(MemoryTokenStore::default());
    let (_, manager) = connector(&provider, tokens, store.clone());

    let callers = (0..8).map(|_| {
        let manager = manager.clone();
        tokio::spawn(async move { manager.access_token().await })
    });
    let mut seen = std::collections::HashSet::new();
    for caller in callers {
        seen.insert(caller.await.expect("task").expect("token"));
    }
    assert_eq!(provider.refreshes(), 1, "one refresh in flight");
    assert_eq!(seen.len(), 1);
    let saved = store.0.lock().expect("store").clone();
    assert_eq!(saved.len(), 1);
    let rotated = saved[0].refresh_token.clone().expect("rotated");
    assert_ne!(rotated, old_refresh);
    assert!(provider.is_valid_refresh_token(&rotated));
    assert!(!provider.is_valid_refresh_token(&old_refresh));
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_request_retried() {
    let provider = FakeProvider::start().await;
    provider.upsert(person("a", "Rossi"));
    let store = Arc::new(MemoryTokenStore::default());
    let (connector, _) = connector(&provider, provider.issue_tokens(), store.clone());
    provider.expire_access_tokens();
    let page = connector
        .pull_contacts(None)
        .await
        .expect("page after refresh");
    assert_eq!(page.records.len(), 1);
    assert_eq!(provider.refreshes(), 1);
    assert_eq!(store.0.lock().expect("store").len(), 1);
}

/// Two managers of one account on one store, as two server processes: once one has
/// refreshed (spending the rotating refresh token both were given), the other takes the
/// stored tokens instead of presenting the spent refresh token (`invalid_grant`).
#[tokio::test]
async fn a_refresh_by_another_process_is_taken_from_the_store() {
    let provider = FakeProvider::start().await;
    provider.upsert(person("a", "Rossi"));
    let tokens = provider.issue_tokens();
    let store = Arc::new(MemoryTokenStore(Mutex::new(vec![tokens.clone()])));
    let (first, _) = connector(&provider, tokens.clone(), store.clone());
    let (second, _) = connector(&provider, tokens, store.clone());
    provider.expire_access_tokens();
    first.pull_contacts(None).await.expect("first refreshes");
    assert_eq!(provider.refreshes(), 1);
    let page = second
        .pull_contacts(None)
        .await
        .expect("the second uses the first one's tokens");
    assert_eq!(page.records.len(), 1);
    assert_eq!(provider.refreshes(), 1, "no second refresh");

    // Expiring tokens are read from the store too before a refresh is spent.
    provider.set_token_lifetime(30);
    let expiring = provider.issue_tokens();
    provider.set_token_lifetime(3600);
    let store = Arc::new(MemoryTokenStore(Mutex::new(vec![expiring.clone()])));
    let (_, one) = connector(&provider, expiring.clone(), store.clone());
    let (_, other) = connector(&provider, expiring, store.clone());
    let token = one.access_token().await.expect("refreshed");
    assert_eq!(provider.refreshes(), 2);
    assert_eq!(other.access_token().await.expect("taken"), token);
    assert_eq!(provider.refreshes(), 2, "no second refresh");
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let provider = FakeProvider::start().await;
    provider.upsert(person("a", "Rossi"));
    let (connector, _) = connector(&provider, provider.issue_tokens(), Default::default());
    provider.fail_next(429, Some(1));
    let started = Instant::now();
    let page = connector.pull_contacts(None).await.expect("page");
    assert_eq!(page.records.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    assert_eq!(provider.contact_requests(), 2);
}

#[tokio::test]
async fn a_provider_that_keeps_throttling_is_reported_throttled() {
    let provider = FakeProvider::start().await;
    provider.upsert(person("a", "Rossi"));
    let (connector, _) = connector(&provider, provider.issue_tokens(), Default::default());
    // One attempt and three retries, each answered 429: the last with Retry-After.
    for wait in [None, Some(0), None, Some(0)] {
        provider.fail_next(429, wait);
    }
    match connector.pull_contacts(None).await {
        Err(ConnectorError::Throttled {
            message,
            retry_after,
        }) => {
            assert!(message.contains("4 attempts"), "{message}");
            assert_eq!(retry_after, Some(Duration::ZERO));
        }
        other => panic!(
            "expected Throttled, got {:?}",
            other.map(|p| p.records.len())
        ),
    }
    assert_eq!(provider.contact_requests(), 4);
    // Nothing was wrong with the instance: the next pull goes through.
    let page = connector.pull_contacts(None).await.expect("page");
    assert_eq!(page.records.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_given_up() {
    let provider = FakeProvider::start().await;
    provider.upsert(person("a", "Rossi"));
    let (connector, _) = connector(&provider, provider.issue_tokens(), Default::default());
    provider.fail_next(500, None);
    provider.fail_next(503, None);
    let page = connector
        .pull_contacts(None)
        .await
        .expect("page after two 5xx");
    assert_eq!(page.records.len(), 1);
    assert_eq!(provider.contact_requests(), 3);

    for _ in 0..4 {
        provider.fail_next(500, None);
    }
    let error = connector.pull_contacts(None).await;
    assert!(matches!(error, Err(ConnectorError::Unavailable(_))));
    // One attempt and three retries.
    assert_eq!(provider.contact_requests(), 7);
}

#[tokio::test]
async fn pages_follow_the_cursor_and_an_invalid_cursor_is_reported() {
    let provider = FakeProvider::start().await;
    for (id, name) in [("a", "Rossi"), ("b", "Bianchi"), ("c", "Verdi")] {
        provider.upsert(person(id, name));
    }
    let (connector, _) = connector(&provider, provider.issue_tokens(), Default::default());
    let first = connector.pull_contacts(None).await.expect("first page");
    assert_eq!(first.records.len(), 2);
    assert!(first.more);
    let second = connector
        .pull_contacts(Some(&first.cursor))
        .await
        .expect("second");
    assert_eq!(second.records.len(), 1);
    assert!(!second.more);

    provider.delete("a");
    let changes = connector
        .pull_contacts(Some(&second.cursor))
        .await
        .expect("changes");
    assert_eq!(changes.records.len(), 1);
    assert!(changes.records[0].deleted);

    provider.invalidate_cursors();
    let gone = connector
        .pull_contacts(Some(&Cursor(second.cursor.0.clone())))
        .await;
    assert!(matches!(gone, Err(ConnectorError::InvalidCursor)));
}

#[tokio::test]
async fn a_push_sends_the_contact() {
    let provider = FakeProvider::start().await;
    let (connector, _) = connector(&provider, provider.issue_tokens(), Default::default());
    let outbound = lexgate_connectors::OutboundContact {
        id: "c1".into(),
        display_name: "Anna Rossi".into(),
        emails: vec!["anna@example.it".into()],
        ..Default::default()
    };
    let id = connector.push_contact(&outbound).await.expect("pushed");
    assert_eq!(id, "pushed-c1");
    assert_eq!(provider.pushed(), vec![outbound]);
}
