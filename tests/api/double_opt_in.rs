//! Double opt-in through the mail outbox and the public confirmation endpoint, and the
//! re-consent that lifts a suppression for one purpose once confirmed (issues 14 and 18),
//! with a real SMTP server (aiosmtpd).

use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp_server::SmtpServer;

const CONSENTS: &str = "query($id: ID!) { contact(id: $id) { consents {
  id purpose { key } doubleOptInAt doubleOptInRequestedAt doubleOptInPending
  doubleOptInClientAddress doubleOptInUserAgent liftsSuppression
} } }";

fn consent(purpose: &str) -> Value {
    json!({
        "purpose": purpose,
        "legalBasis": "CONSENT",
        "consent": {
            "givenAt": "2026-03-10T18:05:00Z",
            "method": "WEB_FORM",
            "noticeVersion": "informativa-2026-01",
            "collectedBy": "Modulo iscrizione newsletter",
        },
    })
}

async fn start(backend: Backend, smtp: &SmtpServer) -> (TestApp, lexgate::mail::MailWorker) {
    let app = TestApp::start_with(backend, |s| {
        s.double_opt_in_purposes = vec!["newsletter".to_owned()];
    })
    .await;
    let settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        public_url: Some("https://crm.studiorossi.it".to_owned()),
        mail: smtp.settings(),
        ..lexgate::config::Settings::default()
    };
    let worker = lexgate::server::mail_worker(&app.db, &settings)
        .await
        .expect("mail worker");
    (app, worker)
}

async fn campaign(app: &TestApp, purpose: &str) -> String {
    app.data(
        "mutation($p: String!) { createCampaign(input: { name: \"Campagna\", purpose: $p }) { campaign { id } } }",
        json!({ "p": purpose }),
    )
    .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_owned()
}

async fn audience(app: &TestApp, campaign: &str) -> Vec<String> {
    app.data(
        "query($c: ID!) { campaignAudience(campaignId: $c, first: 100) { nodes { contact { id } } } }",
        json!({ "c": campaign }),
    )
    .await["campaignAudience"]["nodes"]
        .as_array()
        .expect("audience")
        .iter()
        .map(|n| n["contact"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn consents(app: &TestApp, contact: &str) -> Vec<Value> {
    app.data(CONSENTS, json!({ "id": contact })).await["contact"]["consents"]
        .as_array()
        .expect("consents")
        .clone()
}

/// The confirmation link's token in a mailed message to `to`.
fn token_sent_to(smtp: &SmtpServer, to: &str) -> String {
    let received = smtp.received();
    let message = received
        .iter()
        .find(|m| m.to == [to])
        .unwrap_or_else(|| panic!("nothing sent to {to}: {received:?}"));
    let at = message
        .body
        .find("https://crm.studiorossi.it/consent/confirm/")
        .unwrap_or_else(|| panic!("no link in {message:?}"));
    message.body[at..]
        .trim_start_matches("https://crm.studiorossi.it/consent/confirm/")
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned()
}

async fn open(app: &TestApp, token: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}/consent/confirm/{token}", app.base_url))
        .await
        .expect("GET sent");
    (
        response.status().as_u16(),
        response.text().await.expect("page"),
    )
}

async fn press(app: &TestApp, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/consent/confirm/{token}", app.base_url))
        .header("User-Agent", "Mozilla/5.0 (Test) Confirming-Browser")
        .send()
        .await
        .expect("POST sent");
    (
        response.status().as_u16(),
        response.text().await.expect("page"),
    )
}

async fn a_consent_counts_for_audiences_once_its_double_opt_in_is_confirmed(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = create_person(&app, "Anna", "Neri", json!({ "emails": [{ "address": "anna.neri@example.com" }], "grounds": [consent("newsletter")] })).await;
    // Events need no double opt-in here: that consent counts at once.
    let bruno = create_person(&app, "Bruno", "Sala", json!({ "emails": [{ "address": "bruno.sala@example.com" }], "grounds": [consent("events")] })).await;
    let newsletter = campaign(&app, "newsletter").await;
    let events = campaign(&app, "events").await;
    assert_eq!(audience(&app, &events).await, [bruno]);

    let pending = consents(&app, &anna).await;
    assert_eq!(pending[0]["doubleOptInPending"], true, "{pending:?}");
    assert!(pending[0]["doubleOptInRequestedAt"].is_string());
    assert!(audience(&app, &newsletter).await.is_empty());

    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.sent), (1, 1), "{round:?}");
    assert_eq!(worker.round().await.expect("round").sent, 0, "sent once");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].subject, "Please confirm: Newsletter");
    let token = token_sent_to(&smtp, "anna.neri@example.com");

    // Opening the link (a mail scanner does) changes nothing.
    let (status, page) = open(&app, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<form method=\"post\">") && page.contains("Newsletter"),
        "{page}"
    );
    assert_eq!(consents(&app, &anna).await[0]["doubleOptInPending"], true);
    assert!(audience(&app, &newsletter).await.is_empty());

    let (status, page) = press(&app, &token).await;
    assert_eq!(status, 200, "{page}");
    let confirmed = consents(&app, &anna).await;
    assert_eq!(confirmed[0]["doubleOptInPending"], false, "{confirmed:?}");
    assert!(confirmed[0]["doubleOptInAt"].is_string());
    assert_eq!(confirmed[0]["doubleOptInClientAddress"], "127.0.0.1");
    assert_eq!(
        confirmed[0]["doubleOptInUserAgent"],
        "Mozilla/5.0 (Test) Confirming-Browser"
    );
    assert_eq!(audience(&app, &newsletter).await, [anna.as_str()]);

    // A used link: a clear status, nothing changes.
    let (status, page) = press(&app, &token).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("already confirmed"), "{page}");
    assert_eq!(
        consents(&app, &anna).await[0]["doubleOptInAt"],
        confirmed[0]["doubleOptInAt"]
    );
}

async fn forged_and_expired_links_change_nothing(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = create_person(&app, "Anna", "Neri", json!({ "emails": [{ "address": "anna.neri@example.com" }], "grounds": [consent("newsletter")] })).await;
    worker.round().await.expect("round");
    let token = token_sent_to(&smtp, "anna.neri@example.com");
    let consent_id = token.split('.').next().expect("consent id").to_owned();

    let mut forged = token.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(open(&app, &forged).await.0, 404);
    assert_eq!(press(&app, &forged).await.0, 404);
    assert_eq!(press(&app, "not-a-token").await.0, 404);

    // Signed by this instance, but past its expiry.
    let key = app
        .db
        .run(|c| lexgate::gdpr::KeyedHasher::load(c, None))
        .await
        .expect("instance key");
    let expired = lexgate::gdpr::double_opt_in::token(
        &key,
        &consent_id,
        lexgate::db::now() - TimeDelta::minutes(1),
    );
    let (status, page) = press(&app, &expired).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert_eq!(open(&app, &expired).await.0, 410);
    let still = consents(&app, &anna).await;
    assert_eq!(still[0]["doubleOptInPending"], true, "{still:?}");
    assert!(still[0]["doubleOptInAt"].is_null());
    // The genuine link still works.
    assert_eq!(press(&app, &token).await.0, 200);
}

async fn a_confirmed_reconsent_lifts_the_suppression_for_its_purpose_only(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let carla = create_person(&app, "Carla", "Blu", json!({ "emails": [{ "address": "carla.blu@example.com" }], "grounds": [{ "purpose": "client_relationship", "legalBasis": "CONTRACT" }, consent("events"), consent("marketing_email")] })).await;
    // She objects to all direct marketing: every marketing purpose is suppressed.
    app.data("mutation($id: ID!) { recordObjection(input: { contactId: $id, receivedAt: \"2026-07-01T10:00:00Z\", method: \"letter\" }) { objection { id } } }", json!({ "id": carla }))
        .await;
    let check =
        "query($p: String!) { suppressedEmails(emails: [\"carla.blu@example.com\"], purpose: $p) }";
    let suppressed = |purpose: &'static str| {
        let app = &app;
        async move { app.data(check, json!({ "p": purpose })).await["suppressedEmails"].clone() }
    };
    assert_eq!(suppressed("events").await, json!(["carla.blu@example.com"]));

    // Nothing to lift for someone not suppressed; a confirmation is not claimed by the caller.
    let dario = create_person(
        &app,
        "Dario",
        "Rosa",
        json!({ "emails": [{ "address": "dario@example.com" }] }),
    )
    .await;
    let reconsent = "mutation($i: RecordReconsentInput!) { recordReconsent(input: $i) { ground { id purpose { key } } } }";
    let evidence = json!({ "givenAt": "2026-09-01T09:00:00Z", "method": "SIGNED_PAPER", "noticeVersion": "informativa-2026-09", "collectedBy": "Segreteria" });
    let refused = app
        .error(
            reconsent,
            json!({ "i": { "contactId": dario, "purpose": "events", "consent": evidence } }),
        )
        .await;
    assert_eq!(
        refused["extensions"]["code"], "BAD_USER_INPUT",
        "{refused:#}"
    );
    assert_eq!(refused["extensions"]["field"], "input.contactId");
    let mut claimed = evidence.clone();
    claimed["doubleOptInAt"] = json!("2026-09-01T10:00:00Z");
    let refused = app
        .error(
            reconsent,
            json!({ "i": { "contactId": carla, "purpose": "events", "consent": claimed } }),
        )
        .await;
    assert_eq!(
        refused["extensions"]["field"], "input.consent.doubleOptInAt",
        "{refused:#}"
    );

    app.data(
        reconsent,
        json!({ "i": { "contactId": carla, "purpose": "events", "consent": evidence } }),
    )
    .await;
    let events = campaign(&app, "events").await;
    let marketing = campaign(&app, "marketing_email").await;
    // Until she confirms, the suppression and the objection stand.
    assert_eq!(suppressed("events").await, json!(["carla.blu@example.com"]));
    assert!(audience(&app, &events).await.is_empty());

    worker.round().await.expect("round");
    let token = token_sent_to(&smtp, "carla.blu@example.com");
    assert_eq!(press(&app, &token).await.0, 200);

    assert_eq!(suppressed("events").await, json!([]));
    assert_eq!(audience(&app, &events).await, [carla.as_str()]);
    // Other purposes stay suppressed.
    for purpose in ["marketing_email", "newsletter", "profiling"] {
        assert_eq!(
            suppressed(purpose).await,
            json!(["carla.blu@example.com"]),
            "{purpose}"
        );
    }
    assert!(audience(&app, &marketing).await.is_empty());
    let lifted = consents(&app, &carla).await;
    assert!(
        lifted.iter().any(|c| c["purpose"]["key"] == "events"
            && c["liftsSuppression"] == true
            && c["doubleOptInAt"].is_string()),
        "{lifted:?}"
    );
    // The lift is logged in her history.
    let (_, dpo) = app.sign_in("dpo@studiorossi.it", "dpo").await;
    let history = app
        .gql_as(
            &dpo,
            "query($id: ID!) { contact(id: $id) { changeHistory(first: 20) { nodes { field newValue } } } }",
            json!({ "id": carla }),
        )
        .await;
    assert!(history.get("errors").is_none(), "{history:#}");
    assert!(
        history.to_string().contains("lifted for `events`"),
        "{history:#}"
    );
}

on_both_backends!(
    a_consent_counts_for_audiences_once_its_double_opt_in_is_confirmed,
    forged_and_expired_links_change_nothing,
    a_confirmed_reconsent_lifts_the_suppression_for_its_purpose_only,
);
