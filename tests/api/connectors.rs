//! Connector administration over the API and the connectors' HTTP endpoints, on both
//! backends: instances with write-only secrets, the OAuth authorisation through the server,
//! manual syncs and their runs, the review queue, pushes, and signed webhooks.

use std::time::Duration;

use diesel::prelude::*;
use lexgate::db::schema::{connector_instances, sync_runs};
use lexgate::sync::config::ConnectorConfig;
use lexgate::sync::instances;
use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
use lexgate_connectors::webhook;
use lexgate_connectors::{ContactOrigin, RemoteContact};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::sync::{seal_secrets, secret_box, start_sealing_secrets, SECRETS_KEY, SECRETS_KEY_ID};

const WEBHOOK_SECRET: &str = "whsec-test-7c1e2a";

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id name kind hasClientSecret hasWebhookSecret authorized sourceDetail provenance { origin basis purposeKey assessmentId category } } } }";

fn instance_input(provider: &FakeProvider) -> Value {
    json!({
        "name": "billing",
        "kind": "json_feed",
        "baseUrl": provider.base_url,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "authUrl": format!("{}/authorize", provider.base_url),
        "tokenUrl": format!("{}/token", provider.base_url),
        "webhookSecret": WEBHOOK_SECRET,
        "sourceDetail": "Billing system",
    })
}

async fn create_instance(app: &TestApp, provider: &FakeProvider) -> String {
    let data = app
        .data(CREATE, json!({ "input": instance_input(provider) }))
        .await;
    data["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .expect("instance id")
        .to_owned()
}

/// Stores tokens as if the authorisation had run (the flow itself has its own test).
async fn authorise_directly(app: &TestApp, provider: &FakeProvider) {
    let tokens = provider.issue_tokens();
    app.db
        .transaction(move |c| {
            let row = instances::by_name(c, "billing")?;
            instances::save_tokens(c, &secret_box(), &row.id, &tokens)
        })
        .await
        .expect("tokens stored");
}

async fn instances_are_configured_by_admins_and_secrets_never_come_back(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let body = app
        .gql(CREATE, json!({ "input": instance_input(&provider) }))
        .await;
    let instance = &body["data"]["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["name"], "billing");
    assert_eq!(instance["hasClientSecret"], true);
    assert_eq!(instance["hasWebhookSecret"], true);
    assert_eq!(instance["authorized"], false);
    assert_eq!(instance["sourceDetail"], "Billing system");
    // The default provenance rules of the issue. The firm has assessed no legitimate interest
    // yet, so matter correspondents are reviewed rather than imported on one.
    let rules = instance["provenance"].as_array().expect("rules");
    assert!(rules.contains(&json!({ "origin": "BILLING_CLIENT", "basis": "CONTRACT", "purposeKey": "client_relationship", "assessmentId": null, "category": "CLIENT" })));
    assert!(rules.contains(&json!({ "origin": "MATTER_CORRESPONDENT", "basis": null, "purposeKey": null, "assessmentId": null, "category": "OTHER" })));
    assert!(rules.contains(&json!({ "origin": "UNKNOWN_CORRESPONDENT", "basis": null, "purposeKey": null, "assessmentId": null, "category": "OTHER" })));
    let text = body.to_string();
    assert!(!text.contains(CLIENT_SECRET) && !text.contains(WEBHOOK_SECRET));
    // Sealed at rest.
    let (credentials, webhook_secret) = app
        .db
        .run(|c| {
            Ok(connector_instances::table
                .select((
                    connector_instances::credentials,
                    connector_instances::webhook_secret,
                ))
                .first::<(Option<String>, Option<String>)>(c)?)
        })
        .await
        .expect("row");
    let (credentials, webhook_secret) = (
        credentials.expect("sealed"),
        webhook_secret.expect("sealed"),
    );
    assert!(credentials.starts_with("test-key:") && !credentials.contains(CLIENT_SECRET));
    assert!(webhook_secret.starts_with("test-key:") && !webhook_secret.contains(WEBHOOK_SECRET));

    // Typed errors.
    let mut bad = instance_input(&provider);
    bad["name"] = json!("other");
    bad["kind"] = json!("exchange_ews");
    assert_error(
        &app.error(CREATE, json!({ "input": bad })).await,
        "BAD_USER_INPUT",
        "input.kind",
    );
    let mut bad = instance_input(&provider);
    bad["name"] = json!("other");
    bad["provenance"] = json!([{ "origin": "BILLING_CLIENT", "basis": "CONTRACT", "purposeKey": "no_such_purpose", "category": "CLIENT" }]);
    assert_error(
        &app.error(CREATE, json!({ "input": bad })).await,
        "BAD_USER_INPUT",
        "input.provenance[0].purposeKey",
    );
    assert_error(
        &app.error(CREATE, json!({ "input": instance_input(&provider) }))
            .await,
        "CONFLICT",
        "input.name",
    );

    // Not for other roles.
    let (_, staff) = app.sign_in("staff@studio.example", "staff").await;
    let denied = app
        .gql_as(&staff, "{ connectorInstances { name } }", json!({}))
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

async fn the_oauth_authorisation_runs_through_the_server(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let id = create_instance(&app, &provider).await;
    let data = app
        .data(
            "mutation($id: ID!) { startConnectorAuthorization(input: { id: $id }) { authorizationUrl } }",
            json!({ "id": id }),
        )
        .await;
    let url = data["startConnectorAuthorization"]["authorizationUrl"]
        .as_str()
        .expect("url");
    assert!(url.contains("code_challenge_method=S256") && url.contains("state="));

    // The admin's browser at the provider, which sends it back with a code.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let answer = browser.get(url).send().await.expect("authorize");
    let location =
        reqwest::Url::parse(answer.headers()["location"].to_str().expect("location")).expect("url");
    assert_eq!(location.path(), "/oauth/callback");
    let callback = format!(
        "{}/oauth/callback?{}",
        app.base_url,
        location.query().expect("query")
    );
    let done = browser.get(&callback).send().await.expect("callback");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("text").contains("billing"));
    // The state works once.
    let replay = browser.get(&callback).send().await.expect("replay");
    assert_eq!(replay.status(), 400);
    let forged = browser
        .get(format!(
            "{}/oauth/callback?code=x&state=forged",
            app.base_url
        ))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 400);

    let data = app
        .data(
            "query($id: ID!) { connectorInstance(id: $id) { authorized } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["connectorInstance"]["authorized"], true);

    // The granted tokens work: a manual sync imports and is listed with the instance.
    provider.upsert(RemoteContact {
        external_id: "c-1".into(),
        origin: ContactOrigin::BillingClient,
        given_name: Some("Mario".into()),
        family_name: Some("Rossi".into()),
        emails: vec!["mario.rossi@example.it".into()],
        ..RemoteContact::default()
    });
    let data = app
        .data(
            "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status trigger fullSync created failed } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["runConnectorSync"]["run"],
        json!({ "status": "SUCCEEDED", "trigger": "manual", "fullSync": true, "created": 1, "failed": 0 })
    );
    let data = app
        .data(
            "query($id: ID!) { connectorInstance(id: $id) { runs { created status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["connectorInstance"]["runs"],
        json!([{ "created": 1, "status": "SUCCEEDED" }])
    );
}

async fn the_review_queue_is_decided_by_admins(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let id = create_instance(&app, &provider).await;
    authorise_directly(&app, &provider).await;
    for (external, given) in [("u-1", "Ugo"), ("u-2", "Ada")] {
        provider.upsert(RemoteContact {
            external_id: external.into(),
            origin: ContactOrigin::UnknownCorrespondent,
            given_name: Some(given.into()),
            family_name: Some("Neri".into()),
            emails: vec![format!("{}@example.it", given.to_lowercase())],
            ..RemoteContact::default()
        });
    }
    let data = app
        .data("mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { created review } } }", json!({ "id": id }))
        .await;
    assert_eq!(
        data["runConnectorSync"]["run"],
        json!({ "created": 0, "review": 2 })
    );

    let list = "{ syncReviewItems { id externalId origin reason name emails resolution } }";
    let items = app.data(list, json!({})).await["syncReviewItems"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(2));
    assert_eq!(items[0]["origin"], "UNKNOWN_CORRESPONDENT");
    assert_eq!(items[0]["name"], "Ugo Neri");
    assert_eq!(items[0]["emails"], json!(["ugo@example.it"]));
    let (ugo, ada) = (items[0]["id"].clone(), items[1]["id"].clone());

    let resolve = "mutation($input: ResolveSyncReviewItemInput!) { resolveSyncReviewItem(input: $input) { item { resolution contactId } } }";
    let missing_basis = app.error(resolve, json!({ "input": { "id": ugo, "decision": "IMPORT", "purposeKey": "matter_handling" } })).await;
    assert_error(&missing_basis, "BAD_USER_INPUT", "input.basis");
    let unassessed = app.error(resolve, json!({ "input": { "id": ugo, "decision": "IMPORT", "basis": "LEGITIMATE_INTEREST", "purposeKey": "matter_handling" } })).await;
    assert_error(&unassessed, "BAD_USER_INPUT", "input.assessmentId");
    let matter_lia = lia(&app, &["matter_handling"], "APPROVED").await;
    let data = app
        .data(resolve, json!({ "input": { "id": ugo, "decision": "IMPORT", "basis": "LEGITIMATE_INTEREST", "purposeKey": "matter_handling", "assessmentId": matter_lia } }))
        .await;
    assert_eq!(
        data["resolveSyncReviewItem"]["item"]["resolution"],
        "imported"
    );
    let contact = data["resolveSyncReviewItem"]["item"]["contactId"].clone();
    let data = app
        .data(
            "query($id: ID!) { contact(id: $id) { displayName emails { address } } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(data["contact"]["displayName"], "Ugo Neri");
    let data = app
        .data(
            resolve,
            json!({ "input": { "id": ada, "decision": "DISMISS" } }),
        )
        .await;
    assert_eq!(
        data["resolveSyncReviewItem"]["item"],
        json!({ "resolution": "dismissed", "contactId": null })
    );
    let again = app
        .error(
            resolve,
            json!({ "input": { "id": ada, "decision": "DISMISS" } }),
        )
        .await;
    assert_error(&again, "CONFLICT", "input.id");
    assert_eq!(
        app.data(list, json!({})).await["syncReviewItems"],
        json!([])
    );

    // The imported contact now syncs as linked: an update is applied, not queued again.
    provider.upsert(RemoteContact {
        external_id: "u-1".into(),
        origin: ContactOrigin::UnknownCorrespondent,
        given_name: Some("Ugo".into()),
        family_name: Some("Neri".into()),
        emails: vec!["ugo@example.it".into(), "ugo.neri@studio.example".into()],
        ..RemoteContact::default()
    });
    let data = app
        .data("mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { updated review } } }", json!({ "id": id }))
        .await;
    assert_eq!(
        data["runConnectorSync"]["run"],
        json!({ "updated": 1, "review": 0 })
    );

    // Pushing it discloses it to the provider.
    let data = app
        .data(
            "mutation($i: ID!, $c: ID!) { pushContactToConnector(input: { instanceId: $i, contactId: $c }) { externalId } }",
            json!({ "i": id, "c": contact }),
        )
        .await;
    assert_eq!(data["pushContactToConnector"]["externalId"], "u-1");
    assert_eq!(provider.pushed().len(), 1);
}

async fn runs_of(app: &TestApp, trigger: &'static str) -> i64 {
    app.db
        .run(move |c| {
            Ok(sync_runs::table
                .filter(sync_runs::trigger.eq(trigger))
                .filter(sync_runs::finished_at.is_not_null())
                .count()
                .get_result(c)?)
        })
        .await
        .expect("runs")
}

async fn signed_webhooks_start_one_sync_per_event(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    create_instance(&app, &provider).await;
    authorise_directly(&app, &provider).await;
    provider.upsert(RemoteContact {
        external_id: "c-1".into(),
        origin: ContactOrigin::BillingClient,
        given_name: Some("Mario".into()),
        family_name: Some("Rossi".into()),
        ..RemoteContact::default()
    });
    let url = format!("{}/webhooks/billing", app.base_url);
    let plain = reqwest::Client::new();
    let send = |body: &'static str, signature: String| {
        plain
            .post(&url)
            .header(webhook::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
    };
    let body = r#"{"event_id":"evt-1","type":"contacts.changed"}"#;
    let now = chrono::Utc::now().timestamp();
    let signed = webhook::sign(WEBHOOK_SECRET.as_bytes(), now, body.as_bytes());

    let accepted = send(body, signed.clone()).await.expect("sent");
    assert_eq!(accepted.status(), 202);
    let mut waited = 0;
    while runs_of(&app, "webhook").await == 0 {
        assert!(waited < 100, "the webhook's sync did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let contacts: i64 = app
        .db
        .run(|c| Ok(lexgate::db::schema::contacts::table.count().get_result(c)?))
        .await
        .expect("count");
    assert_eq!(contacts, 1);

    // The same event again: acknowledged, no second sync.
    let duplicate = send(body, signed).await.expect("sent");
    assert_eq!(duplicate.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runs_of(&app, "webhook").await, 1);

    // Refused before parsing: wrong secret, changed body, stale timestamp, no signature.
    let forged = webhook::sign(b"not-the-secret", now, body.as_bytes());
    assert_eq!(send(body, forged).await.expect("sent").status(), 401);
    let other = r#"{"event_id":"evt-2"}"#;
    let for_other_body = webhook::sign(WEBHOOK_SECRET.as_bytes(), now, body.as_bytes());
    assert_eq!(
        send(other, for_other_body).await.expect("sent").status(),
        401
    );
    let stale = webhook::sign(WEBHOOK_SECRET.as_bytes(), now - 3600, other.as_bytes());
    assert_eq!(send(other, stale).await.expect("sent").status(), 401);
    let unsigned = plain.post(&url).body(other).send().await.expect("sent");
    assert_eq!(unsigned.status(), 401);
    let bad_signature: Value = unsigned.json().await.expect("JSON body");
    // An unknown instance answers exactly as a bad signature, so names cannot be guessed.
    let signed_other = webhook::sign(WEBHOOK_SECRET.as_bytes(), now, other.as_bytes());
    let unknown = plain
        .post(format!("{}/webhooks/nobody", app.base_url))
        .header(webhook::SIGNATURE_HEADER, signed_other)
        .body(other)
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        unknown.json::<Value>().await.expect("JSON body"),
        bad_signature
    );
    let no_id = webhook::sign(WEBHOOK_SECRET.as_bytes(), now, b"{}");
    assert_eq!(send("{}", no_id).await.expect("sent").status(), 400);
}

/// Statuses of the instance's runs, oldest first.
async fn run_statuses(app: &TestApp) -> Vec<(String, String)> {
    app.db
        .run(|c| {
            Ok(sync_runs::table
                .order(sync_runs::started_at)
                .select((sync_runs::trigger, sync_runs::status))
                .load(c)?)
        })
        .await
        .expect("runs")
}

const RUN_SYNC: &str =
    "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status created } } }";

/// One process, one instance, two starts while a run is live (a manual start and a webhook
/// during a run): the second manual start is refused with CONFLICT, the webhook's sync waits
/// for the run to end, and no run loses its lease to another.
async fn a_second_sync_of_a_live_instance_is_refused_or_queued(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let id = create_instance(&app, &provider).await;
    authorise_directly(&app, &provider).await;
    provider.upsert(RemoteContact {
        external_id: "c-1".into(),
        origin: ContactOrigin::BillingClient,
        given_name: Some("Mario".into()),
        family_name: Some("Rossi".into()),
        ..RemoteContact::default()
    });
    // The provider throttles the first page: the first run stays live for two seconds.
    provider.fail_next(429, Some(2));
    let vars = json!({ "id": id });
    let first = app.gql(RUN_SYNC, vars.clone());
    let during = async {
        let mut waited = 0;
        while !run_statuses(&app)
            .await
            .iter()
            .any(|(_, status)| status == "running")
        {
            assert!(waited < 100, "the first run did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        }
        let second = app.gql(RUN_SYNC, vars.clone()).await;
        let body = r#"{"event_id":"evt-during","type":"contacts.changed"}"#;
        let signature = webhook::sign(
            WEBHOOK_SECRET.as_bytes(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let webhook = reqwest::Client::new()
            .post(format!("{}/webhooks/billing", app.base_url))
            .header(webhook::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .expect("webhook sent");
        (second, webhook.status())
    };
    let (first, (second, webhook_status)) = tokio::join!(first, during);
    assert_eq!(
        first["data"]["runConnectorSync"]["run"],
        json!({ "status": "SUCCEEDED", "created": 1 }),
        "{first:#}"
    );
    let error = &second["errors"][0];
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{second:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("already running")),
        "{second:#}"
    );
    assert_eq!(webhook_status, 202);
    let mut waited = 0;
    while runs_of(&app, "webhook").await == 0 {
        assert!(
            waited < 200,
            "the webhook's sync did not run after the first"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        run_statuses(&app).await,
        [
            ("manual".to_owned(), "succeeded".to_owned()),
            ("webhook".to_owned(), "succeeded".to_owned())
        ]
    );
}

fn config_file_entry(provider: &FakeProvider, rule: &str) -> ConnectorConfig {
    toml::from_str(&format!(
        "name = \"calendar\"\nkind = \"json_feed\"\nbase_url = \"{base}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{CLIENT_SECRET}\"\nauth_url = \"{base}/authorize\"\n\
         token_url = \"{base}/token\"\nschedule_minutes = 30\n[[provenance]]\n{rule}",
        base = provider.base_url
    ))
    .expect("connector config")
}

async fn instances_in_the_config_file_are_applied_at_start_up(backend: Backend) {
    let provider = FakeProvider::start().await;
    let config = config_file_entry(
        &provider,
        "origin = \"billing_client\"\nbasis = \"contract\"\n\
         purpose_key = \"client_relationship\"\ncategory = \"client\"\n",
    );
    let app = TestApp::start_with(backend, |s| {
        seal_secrets(s);
        s.connectors = vec![config];
    })
    .await;
    let data = app
        .data("{ connectorInstances { name scheduleMinutes hasClientSecret provenance { origin basis } } }", json!({}))
        .await;
    assert_eq!(
        data["connectorInstances"],
        json!([{ "name": "calendar", "scheduleMinutes": 30, "hasClientSecret": true, "provenance": [{ "origin": "BILLING_CLIENT", "basis": "CONTRACT" }] }])
    );

    // A legitimate interest in the config file needs its assessment like one set through the
    // API; start-up refuses the file, naming the rule.
    let unassessed = config_file_entry(
        &provider,
        "origin = \"address_book\"\nbasis = \"legitimate_interest\"\n\
         purpose_key = \"matter_handling\"\ncategory = \"other\"\n",
    );
    let refused = app
        .db
        .transaction(move |c| lexgate::sync::config::apply(c, Some(&secret_box()), &[unassessed]))
        .await
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("input.provenance[0].assessmentId"),
        "{refused}"
    );
    let matter_lia = lia(&app, &["matter_handling"], "APPROVED").await;
    let assessed = config_file_entry(
        &provider,
        &format!(
            "origin = \"address_book\"\nbasis = \"legitimate_interest\"\n\
             purpose_key = \"matter_handling\"\nassessment_id = \"{matter_lia}\"\ncategory = \"other\"\n"
        ),
    );
    app.db
        .transaction(move |c| lexgate::sync::config::apply(c, Some(&secret_box()), &[assessed]))
        .await
        .expect("applied");
    let data = app
        .data(
            "{ connectorInstances { provenance { origin basis assessmentId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["connectorInstances"][0]["provenance"],
        json!([{ "origin": "ADDRESS_BOOK", "basis": "LEGITIMATE_INTEREST", "assessmentId": matter_lia }])
    );
}

/// After a key rotation every connector secret moves to the current key (the server does this
/// at start-up), so the old key can be removed.
async fn a_key_rotation_reseals_every_connector_secret(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    create_instance(&app, &provider).await;
    authorise_directly(&app, &provider).await;
    const NEW_KEY: &str = "VlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlY=";
    let keys = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
        pairs
            .iter()
            .map(|(id, key)| ((*id).to_owned(), (*key).to_owned()))
            .collect()
    };
    let both = lexgate_connectors::secrets::SecretBox::new(
        &keys(&[(SECRETS_KEY_ID, SECRETS_KEY), ("new-key", NEW_KEY)]),
        "new-key",
    )
    .expect("both keys");
    let resealed = app
        .db
        .transaction(move |c| instances::reseal(c, &both))
        .await
        .expect("resealed");
    assert_eq!(resealed, 1);
    let only_new =
        lexgate_connectors::secrets::SecretBox::new(&keys(&[("new-key", NEW_KEY)]), "new-key")
            .expect("new key");
    let (credentials, webhook) = app
        .db
        .run(move |c| {
            let row = instances::by_name(c, "billing")?;
            Ok((row.credentials(&only_new)?, row.webhook_secret(&only_new)?))
        })
        .await
        .expect("opened with the new key alone");
    assert_eq!(credentials.client_secret.as_deref(), Some(CLIENT_SECRET));
    assert!(credentials.tokens.is_some(), "the tokens moved too");
    assert_eq!(webhook.as_deref(), Some(WEBHOOK_SECRET.as_bytes()));
    let again = lexgate_connectors::secrets::SecretBox::new(
        &keys(&[(SECRETS_KEY_ID, SECRETS_KEY), ("new-key", NEW_KEY)]),
        "new-key",
    )
    .expect("both keys");
    let resealed = app
        .db
        .transaction(move |c| instances::reseal(c, &again))
        .await
        .expect("resealed");
    assert_eq!(resealed, 0, "nothing left under the old key");
}

/// A legitimate interest an import rule relies on is one the DPO assessed: an approved LIA
/// covering the purpose, checked when the rule is set and again for every contact imported.
async fn legitimate_interest_imports_cite_an_approved_assessment(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let provider = FakeProvider::start().await;
    let rule = |purpose: &str, assessment: Value| {
        let mut input = instance_input(&provider);
        input["provenance"] = json!([{ "origin": "MATTER_CORRESPONDENT", "basis": "LEGITIMATE_INTEREST",
            "purposeKey": purpose, "assessmentId": assessment, "category": "OTHER" }]);
        json!({ "input": input })
    };
    let refused = app
        .error(CREATE, rule("matter_handling", Value::Null))
        .await;
    assert_error(
        &refused,
        "BAD_USER_INPUT",
        "input.provenance[0].assessmentId",
    );
    let rejected = lia(&app, &["matter_handling"], "REJECTED").await;
    let refused = app
        .error(CREATE, rule("matter_handling", json!(rejected)))
        .await;
    assert_error(
        &refused,
        "BAD_USER_INPUT",
        "input.provenance[0].assessmentId",
    );
    let other_purpose = lia(&app, &["client_relationship"], "APPROVED").await;
    let refused = app
        .error(CREATE, rule("matter_handling", json!(other_purpose)))
        .await;
    assert_error(
        &refused,
        "BAD_USER_INPUT",
        "input.provenance[0].assessmentId",
    );
    let marketing = lia(&app, &["newsletter"], "APPROVED").await;
    let refused = app
        .error(CREATE, rule("newsletter", json!(marketing)))
        .await;
    assert_error(&refused, "BAD_USER_INPUT", "input.provenance[0].purposeKey");
    assert_eq!(
        app.data("{ connectorInstances { id } }", json!({})).await["connectorInstances"],
        json!([]),
        "nothing stored by a refused configuration"
    );

    // The default rules cite the firm's approved LIA for matter handling once there is one.
    let matter_lia = lia(&app, &["matter_handling"], "APPROVED").await;
    let instance = app
        .data(CREATE, json!({ "input": instance_input(&provider) }))
        .await["createConnectorInstance"]["connectorInstance"]
        .clone();
    let rules = instance["provenance"].as_array().expect("rules");
    assert!(rules.contains(&json!({ "origin": "MATTER_CORRESPONDENT", "basis": "LEGITIMATE_INTEREST", "purposeKey": "matter_handling", "assessmentId": matter_lia, "category": "OTHER" })));
    authorise_directly(&app, &provider).await;
    let correspondent = |id: &str, given: &str| RemoteContact {
        external_id: id.into(),
        origin: ContactOrigin::MatterCorrespondent,
        given_name: Some(given.into()),
        family_name: Some("Bianchi".into()),
        emails: vec![format!("{}@example.it", given.to_lowercase())],
        ..RemoteContact::default()
    };
    provider.upsert(correspondent("m-1", "Anna"));
    let sync = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { created failed errors { externalId message } } } }";
    let data = app.data(sync, json!({ "id": instance["id"] })).await;
    assert_eq!(data["runConnectorSync"]["run"]["created"], 1);
    let anna = app
        .data(
            "{ contacts(filter: { text: \"anna@example.it\" }) { nodes { processingGrounds { legalBasis assessment { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        anna["contacts"]["nodes"][0]["processingGrounds"],
        json!([{ "legalBasis": "LEGITIMATE_INTEREST", "assessment": { "id": matter_lia } }])
    );

    // The DPO revises the assessment: the interest no longer prevails. The rule cannot give
    // new contacts a basis nobody can justify, so their records fail and nothing is created.
    let body = app
        .gql_as(
            &dpo(&app).await,
            "mutation($i: UpdateAssessmentInput!) { updateAssessment(input: $i) { assessment { outcome } } }",
            json!({ "i": { "id": matter_lia, "outcome": "REJECTED" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateAssessment"]["assessment"]["outcome"], "REJECTED",
        "{body:#}"
    );
    provider.upsert(correspondent("m-2", "Bruno"));
    let data = app.data(sync, json!({ "id": instance["id"] })).await;
    let run = &data["runConnectorSync"]["run"];
    assert_eq!(
        (run["created"].clone(), run["failed"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(run["errors"][0]["externalId"], "m-2");
    assert!(
        run["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("assessmentId")),
        "{run:#}"
    );
    assert_eq!(
        app.data("{ contacts { totalCount } }", json!({})).await["contacts"]["totalCount"],
        1
    );
}

on_both_backends!(
    a_second_sync_of_a_live_instance_is_refused_or_queued,
    instances_are_configured_by_admins_and_secrets_never_come_back,
    the_oauth_authorisation_runs_through_the_server,
    the_review_queue_is_decided_by_admins,
    signed_webhooks_start_one_sync_per_event,
    instances_in_the_config_file_are_applied_at_start_up,
    legitimate_interest_imports_cite_an_approved_assessment,
    a_key_rotation_reseals_every_connector_secret,
);
