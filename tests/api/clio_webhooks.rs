//! Clio webhooks of a `clio` instance against the faithful fake, on both backends: registered
//! (one per pulled model) at `{public_url}/webhooks/{instance}?model=…&token=…` once the
//! instance is authorised, activated by Clio's `X-Hook-Secret` handshake (accepted only while
//! one of ours awaits it and only with the URL's random token, so whoever merely knows the
//! instance and model cannot answer it first), deliveries checked against the token and
//! `X-Hook-Signature` (a forged, tampered, unsigned or token-less one refused with 401 and
//! nothing recorded or synced), a signed one syncing the instance,
//! a redelivery recorded once, the webhooks deleted when the instance is disabled; renewed
//! before expiry by exactly one of two replicas, so the webhook outlives its first expiry.

use std::time::Duration;

use diesel::prelude::*;
use lexgate::db::schema::{connector_webhooks, contact_emails, sync_runs, webhook_events};
use lexgate::sync::SyncService;
use lexgate_connectors::clio::sign_hook;
use lexgate_connectors::testing::clio::ClioFake;
use lexgate_connectors::testing::{CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::mail_apis::authorise_directly;
use crate::on_both_backends;
use crate::reliability::eventually;
use crate::sync::seal_secrets;

const PUBLIC_URL: &str = "https://crm.studio.example";
const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id } } }";
const WEBHOOKS: &str =
    "query($id: ID!) { connectorInstance(id: $id) { webhooks { model status expiresAt lastError } } }";
const DAY: i64 = 86_400;

fn settings(app: &TestApp) -> lexgate::config::Settings {
    let mut settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        ..lexgate::config::Settings::default()
    };
    seal_secrets(&mut settings);
    settings.public_url = Some(format!("{PUBLIC_URL}/"));
    settings
}

/// Another replica on the app's database: its own connectors and claim holder.
async fn replica(app: &TestApp) -> std::sync::Arc<SyncService> {
    lexgate::server::sync_service(&app.db, &settings(app))
        .await
        .expect("sync service")
}

/// An app with a public URL, a fake Clio delivering to it (or, when `reachable` is false,
/// failing to reach it), and an authorised `clio` instance.
async fn setup(backend: Backend, reachable: bool) -> (TestApp, ClioFake, String) {
    let app = TestApp::start_with(backend, |s| {
        seal_secrets(s);
        s.public_url = Some(format!("{PUBLIC_URL}/"));
    })
    .await;
    let fake = ClioFake::start().await;
    // Clio reaches `public_url`; here that is the test server (or a closed port).
    fake.route_hooks_to(if reachable {
        &app.base_url
    } else {
        "http://127.0.0.1:9"
    });
    let created = app
        .data(
            CREATE,
            json!({ "input": { "name": "clio", "kind": "clio", "baseUrl": fake.api_root(),
                "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", fake.provider.base_url),
                "tokenUrl": format!("{}/token", fake.provider.base_url) } }),
        )
        .await;
    let instance = created["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("instance id")
        .to_owned();
    authorise_directly(&app, "clio", fake.provider.issue_tokens()).await;
    (app, fake, instance)
}

async fn webhooks(app: &TestApp, instance: &str) -> Vec<Value> {
    app.data(WEBHOOKS, json!({ "id": instance })).await["connectorInstance"]["webhooks"]
        .as_array()
        .cloned()
        .expect("webhooks")
}

async fn count(app: &TestApp, table: &'static str) -> i64 {
    app.db
        .run(move |c| {
            Ok(match table {
                "webhook_events" => webhook_events::table.count().get_result(c)?,
                "sync_runs" => sync_runs::table.count().get_result(c)?,
                _ => unreachable!("a table counted here"),
            })
        })
        .await
        .expect("count")
}

async fn contact_exists(app: &TestApp, email: &'static str) -> bool {
    app.db
        .run(move |c| {
            Ok(contact_emails::table
                .filter(contact_emails::address.eq(email))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .expect("query")
        > 0
}

/// The query of the URL Clio holds for the webhook of `model`: `model=…&token=…`.
fn registered_query(fake: &ClioFake, model: &str) -> String {
    let hooks = fake.hooks();
    let url = hooks
        .iter()
        .find(|hook| hook["model"] == model)
        .and_then(|hook| hook["url"].as_str())
        .expect("a webhook of the model");
    reqwest::Url::parse(url)
        .expect("a URL")
        .query()
        .expect("a query")
        .to_owned()
}

/// The stored webhooks' status, sealed secret and token digest, by model.
async fn stored(app: &TestApp) -> Vec<(String, String, Option<String>, Option<String>)> {
    app.db
        .run(|c| {
            Ok(connector_webhooks::table
                .order_by(connector_webhooks::model.asc())
                .select((
                    connector_webhooks::model,
                    connector_webhooks::status,
                    connector_webhooks::secret,
                    connector_webhooks::token_hash,
                ))
                .load(c)?)
        })
        .await
        .expect("webhooks")
}

/// POSTs to the instance's webhook URL with `query` and `headers`.
async fn post_hook(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/clio?{query}", app.base_url))
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("posted")
}

async fn clio_webhooks_activate_verify_sync_and_deduplicate(backend: Backend) {
    let (app, fake, instance) = setup(backend, true).await;
    let server = replica(&app).await;

    // Registered: one per model, at the public URL, active once Clio's handshakes came.
    let registered = server
        .maintain_webhooks(lexgate::db::now(), None)
        .await
        .expect("maintained");
    assert_eq!(registered, 4);
    fake.settle().await;
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 4, "{hooks:#?}");
    let handshakes = fake.deliveries();
    let mut tokens = Vec::new();
    for hook in &hooks {
        assert_eq!(hook["status"], "enabled", "{hook:#} {handshakes:?}");
        assert_eq!(hook["fields"], "id,etag");
        let model = hook["model"].as_str().unwrap_or_default();
        let url = hook["url"].as_str().unwrap_or_default();
        let prefix = format!("{PUBLIC_URL}/webhooks/clio?model={model}&token=");
        let token = url
            .strip_prefix(&prefix)
            .expect("the token last in the URL");
        // 32 random bytes, URL-safe base64.
        assert_eq!(token.len(), 43, "{url}");
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{url}"
        );
        tokens.push((model.to_owned(), token.to_owned()));
    }
    // One token per webhook; only its digest is stored.
    tokens.sort();
    tokens.dedup_by(|a, b| a.1 == b.1);
    assert_eq!(tokens.len(), 4);
    let rows = stored(&app).await;
    for ((model, token), (stored_model, _, _, token_hash)) in tokens.iter().zip(&rows) {
        assert_eq!(model, stored_model);
        assert_eq!(
            token_hash.as_deref(),
            Some(lexgate::identity::digest(token).as_str())
        );
    }
    let shown = webhooks(&app, &instance).await;
    assert_eq!(
        shown.iter().map(|w| w["model"].clone()).collect::<Vec<_>>(),
        [
            json!("activity"),
            json!("calendar_entry"),
            json!("contact"),
            json!("matter")
        ]
    );
    for webhook in &shown {
        assert_eq!(webhook["status"], "ACTIVE", "{webhook:#}");
        assert!(webhook["expiresAt"].is_string(), "{webhook:#}");
        assert!(webhook["lastError"].is_null(), "{webhook:#}");
    }
    // The secrets are sealed at rest, never in GraphQL.
    let stored: Vec<Option<String>> = app
        .db
        .run(|c| {
            Ok(connector_webhooks::table
                .select(connector_webhooks::secret)
                .load(c)?)
        })
        .await
        .expect("secrets");
    assert!(stored
        .iter()
        .all(|s| s.as_deref().is_some_and(|s| s.len() > 40)));
    let sdl = app
        .data(
            "{ __type(name: \"ConnectorWebhook\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert!(
        !sdl.to_string().to_lowercase().contains("secret"),
        "{sdl:#}"
    );

    // A handshake nobody awaits is refused, its secret not echoed, even with the token.
    let contact = registered_query(&fake, "contact");
    let refused = post_hook(&app, &contact, &[("x-hook-secret", "attacker")], b"").await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("x-hook-secret").is_none());

    // A contact created in Clio: the signed delivery is accepted and syncs the instance.
    let runs = count(&app, "sync_runs").await;
    fake.upsert(
        "contacts",
        json!({ "id": 31, "type": "Person", "first_name": "Lucia", "last_name": "Ferri",
                "is_client": true,
                "email_addresses": [{ "address": "lucia.ferri@example.org", "primary": true }] }),
    );
    fake.settle().await;
    let delivered = fake.deliveries();
    let last = delivered.last().expect("a delivery");
    assert_eq!(
        (last.event.as_str(), last.status),
        ("created", 202),
        "{delivered:?}"
    );
    assert!(
        eventually(Duration::from_secs(20), || contact_exists(
            &app,
            "lucia.ferri@example.org"
        ))
        .await,
        "the delivery synced the contact"
    );
    assert_eq!(count(&app, "webhook_events").await, 1);

    // Forged, tampered or unsigned deliveries: 401, nothing recorded, nothing synced.
    let body = json!({ "data": { "id": 32, "etag": "\"99\"" },
                       "meta": { "event": "created", "webhook_id": 1, "model": "contact" } })
    .to_string();
    let forged = sign_hook(b"a guessed secret", body.as_bytes());
    let genuine_looking = post_hook(
        &app,
        &contact,
        &[("x-hook-signature", forged.as_str())],
        body.as_bytes(),
    )
    .await;
    assert_eq!(genuine_looking.status(), 401);
    assert_eq!(
        post_hook(&app, &contact, &[], body.as_bytes())
            .await
            .status(),
        401
    );
    assert_eq!(
        post_hook(
            &app,
            &contact,
            &[("x-hook-signature", "zz")],
            body.as_bytes()
        )
        .await
        .status(),
        401
    );
    // Another model's URL: that webhook's secret does not sign this body either.
    assert_eq!(
        post_hook(
            &app,
            &registered_query(&fake, "matter"),
            &[("x-hook-signature", forged.as_str())],
            body.as_bytes()
        )
        .await
        .status(),
        401
    );
    // An unknown model or instance answers the same.
    assert_eq!(
        post_hook(
            &app,
            "model=bill",
            &[("x-hook-signature", forged.as_str())],
            body.as_bytes()
        )
        .await
        .status(),
        401
    );
    // Clio's redelivery of the genuine event: answered, recorded once, not synced again.
    eventually(Duration::from_secs(20), || async {
        count(&app, "sync_runs").await > runs
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = count(&app, "sync_runs").await;
    fake.redeliver_last();
    fake.settle().await;
    let redelivered = fake.deliveries();
    assert_eq!(
        redelivered.last().map(|d| d.status),
        Some(200),
        "{redelivered:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&app, "webhook_events").await, 1);
    assert_eq!(count(&app, "sync_runs").await, runs);

    // Disabled: its webhooks are deleted at Clio and forgotten.
    app.data(
        "mutation($id: ID!) { updateConnectorInstance(input: { id: $id, enabled: false }) { connectorInstance { enabled } } }",
        json!({ "id": instance }),
    )
    .await;
    assert!(fake.hooks().is_empty(), "{:#?}", fake.hooks());
    assert!(webhooks(&app, &instance).await.is_empty());
}

async fn clio_webhooks_are_renewed_before_expiry_by_one_replica(backend: Backend) {
    let (app, fake, instance) = setup(backend, true).await;
    let (first, second) = (replica(&app).await, replica(&app).await);
    let now = lexgate::db::now();
    assert_eq!(
        first
            .maintain_webhooks(now, None)
            .await
            .expect("registered"),
        4
    );
    fake.settle().await;
    let expiry = webhooks(&app, &instance).await[0]["expiresAt"].clone();

    // Not due yet: nothing is sent.
    let patches = |fake: &ClioFake| {
        fake.requests()
            .iter()
            .filter(|r| r.starts_with("PATCH /api/v4/webhooks/"))
            .count()
    };
    assert_eq!(
        second
            .maintain_webhooks(now + chrono::Duration::days(26), None)
            .await
            .expect("nothing due"),
        0
    );
    assert_eq!(patches(&fake), 0);

    // 28 days on (3 days before expiry is due): both replicas run their round at once; each
    // webhook is renewed once.
    fake.advance(28 * DAY);
    let later = now + chrono::Duration::days(28);
    let (a, b) = tokio::join!(
        first.maintain_webhooks(later, None),
        second.maintain_webhooks(later, None)
    );
    assert_eq!(a.expect("first") + b.expect("second"), 4);
    assert_eq!(patches(&fake), 4);
    let renewed = webhooks(&app, &instance).await;
    for webhook in &renewed {
        assert_eq!(webhook["status"], "ACTIVE", "{webhook:#}");
        assert_ne!(webhook["expiresAt"], expiry, "{webhook:#}");
    }
    // And not again in the same round.
    assert_eq!(
        first.maintain_webhooks(later, None).await.expect("again"),
        0
    );
    assert_eq!(patches(&fake), 4);

    // Past the first expiry the webhooks still deliver, and the delivery syncs.
    fake.advance(3 * DAY);
    fake.upsert(
        "contacts",
        json!({ "id": 41, "type": "Person", "first_name": "Paolo", "last_name": "Gatti",
                "is_client": true,
                "email_addresses": [{ "address": "paolo.gatti@example.org", "primary": true }] }),
    );
    fake.settle().await;
    let delivered = fake.deliveries();
    assert_eq!(
        delivered.last().map(|d| (d.event.as_str(), d.status)),
        Some(("created", 202)),
        "{delivered:?}"
    );
    assert!(
        eventually(Duration::from_secs(20), || contact_exists(
            &app,
            "paolo.gatti@example.org"
        ))
        .await
    );
}

async fn clio_webhook_handshakes_and_deliveries_need_the_registered_token(backend: Backend) {
    // Clio cannot reach lexgate yet: the webhooks stay pending, open to a first handshake.
    let (app, fake, instance) = setup(backend, false).await;
    let server = replica(&app).await;
    assert_eq!(
        server
            .maintain_webhooks(lexgate::db::now(), None)
            .await
            .expect("registered"),
        4
    );
    fake.settle().await;
    let contact = registered_query(&fake, "contact");
    let matter = registered_query(&fake, "matter");
    let pending = stored(&app).await;
    assert!(
        pending
            .iter()
            .all(|(_, status, secret, _)| status == "pending" && secret.is_none()),
        "{pending:?}"
    );

    // Someone who knows the instance and model answers the handshake first: without the
    // token, with a wrong one, or with another webhook's: 401, nothing echoed or stored.
    let wrong = format!("model=contact&token={}", "A".repeat(43));
    let matter_token = matter.replace("model=matter", "model=contact");
    for query in [
        "model=contact",
        "model=contact&token=",
        &wrong,
        &matter_token,
    ] {
        let refused = post_hook(&app, query, &[("x-hook-secret", "attacker")], b"").await;
        assert_eq!(refused.status(), 401, "{query}");
        assert!(refused.headers().get("x-hook-secret").is_none(), "{query}");
    }
    assert_eq!(stored(&app).await, pending);
    for webhook in webhooks(&app, &instance).await {
        assert_eq!(webhook["status"], "PENDING", "{webhook:#}");
    }

    // Clio's own handshake, to the URL it was given, activates the webhook.
    let accepted = post_hook(&app, &contact, &[("x-hook-secret", "clio's secret")], b"").await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        accepted
            .headers()
            .get("x-hook-secret")
            .and_then(|v| v.to_str().ok()),
        Some("clio's secret")
    );
    let active = stored(&app).await;
    let (_, status, secret, _) = active
        .iter()
        .find(|(model, ..)| model == "contact")
        .expect("the contact webhook");
    assert_eq!(status, "active");
    assert!(secret.is_some());
    assert!(active
        .iter()
        .filter(|(model, ..)| model != "contact")
        .all(|(_, status, ..)| status == "pending"));

    // A delivery signed with that secret is refused without the token, accepted with it.
    let body = json!({ "data": { "id": 51, "etag": "\"7\"" },
                       "meta": { "event": "created", "webhook_id": 1, "model": "contact" } })
    .to_string();
    let signature = sign_hook(b"clio's secret", body.as_bytes());
    let signed = [("x-hook-signature", signature.as_str())];
    for query in ["model=contact", wrong.as_str(), matter_token.as_str()] {
        assert_eq!(
            post_hook(&app, query, &signed, body.as_bytes())
                .await
                .status(),
            401,
            "{query}"
        );
    }
    assert_eq!(count(&app, "webhook_events").await, 0);
    assert_eq!(
        post_hook(&app, &contact, &signed, body.as_bytes())
            .await
            .status(),
        202
    );
    assert_eq!(count(&app, "webhook_events").await, 1);
}

on_both_backends!(
    clio_webhooks_activate_verify_sync_and_deduplicate,
    clio_webhook_handshakes_and_deliveries_need_the_registered_token,
    clio_webhooks_are_renewed_before_expiry_by_one_replica
);
