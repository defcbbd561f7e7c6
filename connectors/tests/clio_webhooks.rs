//! Clio Manage webhooks against the fake API v4: one webhook per pulled model, `pending` until
//! the receiver answers the `X-Hook-Secret` handshake, then deliveries signed with
//! `X-Hook-Signature` (HMAC-SHA256 of the raw body) carrying only the record's id and ETag,
//! renewed by moving `expires_at`, silent once expired, deleted; what Clio refuses comes back
//! as typed errors.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use lexgate_connectors::clio::{parse_hook, verify_hook_signature, ClioConnector, HOOK_MODELS};
use lexgate_connectors::http::HttpClient;
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager};
use lexgate_connectors::testing::clio::ClioFake;
use lexgate_connectors::testing::{fast_policy, MemoryTokenStore};
use lexgate_connectors::{Connector, ConnectorError};
use serde_json::json;

fn connector(fake: &ClioFake) -> ClioConnector {
    let app = fake.provider.app("http://127.0.0.1:9/oauth/callback");
    let manager = Arc::new(
        TokenManager::new(
            app,
            fake.provider.issue_tokens(),
            Arc::new(MemoryTokenStore::default()),
        )
        .expect("manager"),
    );
    let client = AuthorizedClient {
        http: HttpClient::new(fast_policy()).expect("client"),
        tokens: manager,
    };
    ClioConnector::new(&fake.api_root(), client, 200).expect("connector")
}

/// A delivery as received: its `X-Hook-Signature` and raw body.
type Delivery = (String, Vec<u8>);

/// A webhook endpoint: echoes the handshake's `X-Hook-Secret` (and keeps it), and keeps
/// every delivery's signature and raw body, and the query of every request.
#[derive(Default, Clone)]
struct Receiver {
    secret: Arc<Mutex<Option<String>>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    queries: Arc<Mutex<Vec<Option<String>>>>,
}

impl Receiver {
    async fn start() -> (String, Receiver) {
        let receiver = Receiver::default();
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(
                move |RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes| {
                    let state = state.clone();
                    async move {
                        state.queries.lock().expect("lock").push(query);
                        let text = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        if let Some(secret) = text("x-hook-secret") {
                            *state.secret.lock().expect("lock") = Some(secret.clone());
                            return ([("x-hook-secret", secret)], "").into_response();
                        }
                        let signature = text("x-hook-signature").unwrap_or_default();
                        state
                            .deliveries
                            .lock()
                            .expect("lock")
                            .push((signature, body.to_vec()));
                        StatusCode::OK.into_response()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{address}/hooks"), receiver)
    }

    fn secret(&self) -> Option<String> {
        self.secret.lock().expect("lock").clone()
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().expect("lock").clone()
    }

    fn queries(&self) -> Vec<Option<String>> {
        self.queries.lock().expect("lock").clone()
    }
}

#[tokio::test]
async fn a_webhook_is_activated_by_its_handshake_signs_deliveries_and_is_renewed_until_deleted() {
    let fake = ClioFake::start().await;
    let clio = connector(&fake);
    let (endpoint, receiver) = Receiver::start().await;
    // The URL's query (lexgate's model and token) reaches the receiver unchanged.
    let query = "model=contact&token=Zk3_-q9aB0cD1eF2gH3iJ4kL5mN6oP7qR8sT9uV0wX1";
    let url = format!("{endpoint}?{query}");
    assert_eq!(
        clio.webhook_models(),
        ["contact", "matter", "calendar_entry", "activity"]
    );
    assert_eq!(clio.webhook_models(), HOOK_MODELS);

    let expires = Utc::now() + chrono::Duration::days(30);
    let hook = clio
        .create_webhook(&url, "contact", expires)
        .await
        .expect("created");
    assert_eq!(hook.status, "pending");
    assert_eq!(
        hook.expires_at.map(|at| at.timestamp()),
        Some(expires.timestamp())
    );
    let created = fake
        .requests()
        .into_iter()
        .find(|r| r.starts_with("POST /api/v4/webhooks.json"))
        .expect("created through the API");
    assert!(
        created.contains("fields=id,etag,model,status,expires_at"),
        "{created}"
    );

    // The handshake: the receiver echoed the secret, so the webhook is enabled.
    fake.settle().await;
    let secret = receiver.secret().expect("a handshake");
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["status"], "enabled");
    assert_eq!(hooks[0]["model"], "contact");
    assert_eq!(hooks[0]["fields"], "id,etag");
    assert_eq!(hooks[0]["events"], json!(["created", "updated", "deleted"]));
    assert_eq!(hooks[0]["url"], url);

    // A contact created in Clio is delivered, signed, with its id and ETag only; a matter
    // (no webhook of ours) is not.
    let id = fake.upsert(
        "contacts",
        json!({ "type": "Person", "first_name": "Anna", "last_name": "Neri" }),
    );
    fake.upsert("matters", json!({ "display_number": "2026/0001" }));
    fake.settle().await;
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 1);
    let (signature, body) = &deliveries[0];
    assert!(verify_hook_signature(secret.as_bytes(), signature, body));
    assert!(!verify_hook_signature(b"another secret", signature, body));
    assert!(!String::from_utf8_lossy(body).contains("Neri"));
    let event = parse_hook(body).expect("a delivery");
    assert_eq!(
        (event.model.as_str(), event.event.as_str()),
        ("contact", "created")
    );
    assert_eq!(event.record_id, id.to_string());
    assert_eq!(event.webhook_id, hook.id);

    // Renewed: the expiry moves, and the webhook outlives its first one.
    let later = Utc::now() + chrono::Duration::days(31) - chrono::Duration::minutes(1);
    let renewed = clio.renew_webhook(&hook.id, later).await.expect("renewed");
    assert_eq!(
        renewed.expires_at.map(|at| at.timestamp()),
        Some(later.timestamp())
    );
    assert_eq!(renewed.status, "enabled");
    fake.advance(30 * 86_400 + 3_600);
    fake.edit("contacts", id, json!({ "last_name": "Neri Rossi" }));
    fake.settle().await;
    assert_eq!(receiver.deliveries().len(), 2);
    let event = parse_hook(&receiver.deliveries()[1].1).expect("a delivery");
    assert_eq!(event.event, "updated");
    // The handshake and both deliveries, each to the registered URL's query.
    assert_eq!(receiver.queries(), vec![Some(query.to_owned()); 3]);

    // Past its expiry the webhook delivers nothing more.
    fake.advance(86_400);
    fake.delete("contacts", id);
    fake.settle().await;
    assert_eq!(receiver.deliveries().len(), 2);

    // Deleted; deleting it again is no error.
    clio.delete_webhook(&hook.id).await.expect("deleted");
    assert!(fake.hooks().is_empty());
    clio.delete_webhook(&hook.id).await.expect("already gone");
}

#[tokio::test]
async fn what_clio_refuses_comes_back_as_typed_errors() {
    let fake = ClioFake::start().await;
    let clio = connector(&fake);
    let in_a_day = Utc::now() + chrono::Duration::days(1);
    // Only https URLs (http to loopback, in the fake, for tests).
    let error = clio
        .create_webhook(
            "http://crm.studio.example/webhooks/clio",
            "contact",
            in_a_day,
        )
        .await
        .expect_err("refused");
    assert!(matches!(error, ConnectorError::Rejected(_)), "{error}");
    assert!(error.to_string().contains("422"), "{error}");
    // At most 31 days ahead.
    let error = clio
        .create_webhook(
            "https://crm.studio.example/webhooks/clio",
            "contact",
            Utc::now() + chrono::Duration::days(40),
        )
        .await
        .expect_err("refused");
    assert!(matches!(error, ConnectorError::Rejected(_)), "{error}");
    // Only the models lexgate pulls; nothing is sent for another.
    let sent = fake.requests().len();
    assert!(matches!(
        clio.create_webhook("https://crm.studio.example/webhooks/clio", "bill", in_a_day)
            .await,
        Err(ConnectorError::Unsupported(_))
    ));
    assert_eq!(fake.requests().len(), sent);
    // A webhook Clio no longer has cannot be renewed.
    let error = clio
        .renew_webhook("424242", in_a_day)
        .await
        .expect_err("refused");
    assert!(matches!(error, ConnectorError::Rejected(_)), "{error}");
    assert!(fake.hooks().is_empty());
}
