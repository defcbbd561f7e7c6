//! Campaigns that are sent (issue 18), through the mail outbox to a real SMTP server
//! (aiosmtpd): the audience re-checked at send time, one message per recipient with the
//! RFC 8058 one-click headers, the public unsubscribe endpoint (objection + suppression,
//! idempotent, forged tokens refused), the send records with their basis in GraphQL and in
//! the access export; and exactly once with two `lexgate serve` processes on one PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::processes::{admin_key, Server, SharedDatabase};
use crate::smtp_server::{Received, SmtpServer};

const PUBLIC_URL: &str = "https://crm.studiorossi.it";

const SEND: &str = "mutation($id: ID!) { sendCampaign(input: { id: $id }) {
  queued alreadySent campaign { status deliveryCounts { pending sent failed unsubscribed } }
} }";

const CAMPAIGN: &str = "query($id: ID!) { node(id: $id) { ... on Campaign {
  status deliveryCounts { pending sent failed unsubscribed }
  deliveries(first: 50) { totalCount nodes {
    contact { id } recipient basis groundId consentId assessmentId status attempts sentAt unsubscribedAt
  } }
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
        s.public_url = Some(PUBLIC_URL.to_owned());
    })
    .await;
    let settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        public_url: Some(PUBLIC_URL.to_owned()),
        mail: smtp.settings(),
        ..lexgate::config::Settings::default()
    };
    let worker = lexgate::server::mail_worker(&app.db, &settings)
        .await
        .expect("mail worker");
    (app, worker)
}

async fn subscriber(app: &TestApp, given: &str, email: &str, purpose: &str) -> String {
    create_person(
        app,
        given,
        "Rossi",
        json!({ "emails": [{ "address": email }], "grounds": [consent(purpose)] }),
    )
    .await
}

async fn campaign(app: &TestApp, name: &str, purpose: &str) -> String {
    app.data(
        "mutation($n: String!, $p: String!) { createCampaign(input: { name: $n, purpose: $p, description: \"Le novità dello studio.\" }) { campaign { id } } }",
        json!({ "n": name, "p": purpose }),
    )
    .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_owned()
}

async fn send(app: &TestApp, id: &str) -> Value {
    app.data(SEND, json!({ "id": id })).await["sendCampaign"].clone()
}

async fn read(app: &TestApp, id: &str) -> Value {
    app.data(CAMPAIGN, json!({ "id": id })).await["node"].clone()
}

fn to(received: &[Received], address: &str) -> Vec<Received> {
    received
        .iter()
        .filter(|m| m.to == [address])
        .cloned()
        .collect()
}

/// The one-click URL a message carries in `List-Unsubscribe`.
fn unsubscribe_url(message: &Received) -> String {
    let header = message
        .header("List-Unsubscribe")
        .unwrap_or_else(|| panic!("no List-Unsubscribe: {message:?}"));
    header
        .strip_prefix('<')
        .and_then(|h| h.strip_suffix('>'))
        .unwrap_or_else(|| panic!("not <URL>: {header}"))
        .to_owned()
}

fn token_of(url: &str) -> String {
    url.strip_prefix(&format!("{PUBLIC_URL}/unsubscribe/"))
        .unwrap_or_else(|| panic!("not a lexgate unsubscribe URL: {url}"))
        .to_owned()
}

/// The one-click POST a mail program sends (RFC 8058).
async fn one_click(app: &TestApp, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/unsubscribe/{token}", app.base_url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("POST sent");
    (
        response.status().as_u16(),
        response.text().await.expect("page"),
    )
}

async fn objections(app: &TestApp, contact: &str) -> Vec<Value> {
    app.data(
        "query($id: ID!) { contact(id: $id) { objections { method purpose { key } } } }",
        json!({ "id": contact }),
    )
    .await["contact"]["objections"]
        .as_array()
        .expect("objections")
        .clone()
}

async fn suppressions(app: &TestApp) -> Vec<Value> {
    app.data(
        "{ suppressions { nodes { channel reason purpose { key } } } }",
        json!({}),
    )
    .await["suppressions"]["nodes"]
        .as_array()
        .expect("suppressions")
        .clone()
}

async fn a_campaign_reaches_its_audience_as_it_is_at_send_time_once(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let bruno = subscriber(&app, "Bruno", "bruno@example.com", "newsletter").await;
    // A consent to another purpose does not count for the newsletter.
    subscriber(&app, "Carla", "carla@example.com", "events").await;
    let id = campaign(&app, "Newsletter di marzo", "newsletter").await;
    // Bruno objects between the campaign's creation and its sending.
    app.data(
        "mutation($id: ID!) { recordObjection(input: { contactId: $id, receivedAt: \"2026-07-01T10:00:00Z\", method: \"letter\" }) { objection { id } } }",
        json!({ "id": bruno }),
    )
    .await;

    let sent = send(&app, &id).await;
    assert_eq!(
        (sent["queued"].clone(), sent["alreadySent"].clone()),
        (json!(1), json!(0)),
        "{sent:#}"
    );
    assert_eq!(sent["campaign"]["status"], "SENDING");
    assert_eq!(sent["campaign"]["deliveryCounts"]["pending"], 1);

    let round = worker.round().await.expect("round");
    assert_eq!(round.sent, 1, "{round:?}");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(message.to, ["anna@example.com"]);
    assert_eq!(message.subject, "Newsletter di marzo");
    assert!(
        message.body.contains("Le novità dello studio."),
        "{message:?}"
    );
    let url = unsubscribe_url(message);
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}/unsubscribe/")),
        "{url}"
    );
    assert_eq!(
        message.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click"),
        "{message:?}"
    );
    assert!(
        message.body.contains(&url),
        "the text offers the opt-out too: {message:?}"
    );

    // The next round notices nothing waits any more: the campaign is sent.
    worker.round().await.expect("round");
    let stored = read(&app, &id).await;
    assert_eq!(stored["status"], "SENT", "{stored:#}");
    assert_eq!(
        stored["deliveryCounts"],
        json!({ "pending": 0, "sent": 1, "failed": 0, "unsubscribed": 0 })
    );
    let deliveries = &stored["deliveries"];
    assert_eq!(deliveries["totalCount"], 1);
    let delivery = &deliveries["nodes"][0];
    assert_eq!(delivery["contact"]["id"], anna.as_str());
    assert_eq!(delivery["recipient"], "anna@example.com");
    assert_eq!(delivery["basis"], "CONSENT");
    assert!(delivery["consentId"].is_string(), "{delivery:#}");
    assert!(delivery["groundId"].is_string(), "{delivery:#}");
    assert!(delivery["assessmentId"].is_null());
    assert_eq!(delivery["status"], "SENT");
    assert_eq!(delivery["attempts"], 1);
    assert!(delivery["sentAt"].is_string());

    // Sending again sends nobody the campaign twice...
    let again = send(&app, &id).await;
    assert_eq!(
        (again["queued"].clone(), again["alreadySent"].clone()),
        (json!(0), json!(1)),
        "{again:#}"
    );
    assert_eq!(again["campaign"]["status"], "SENT");
    assert_eq!(worker.round().await.expect("round").sent, 0);
    // ...and reaches whoever qualifies since.
    subscriber(&app, "Dario", "dario@example.com", "newsletter").await;
    let later = send(&app, &id).await;
    assert_eq!(
        (later["queued"].clone(), later["alreadySent"].clone()),
        (json!(1), json!(1)),
        "{later:#}"
    );
    assert_eq!(worker.round().await.expect("round").sent, 1);
    let received = smtp.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(to(&received, "dario@example.com").len(), 1);
    assert!(to(&received, "bruno@example.com").is_empty());
    assert!(to(&received, "carla@example.com").is_empty());

    // A sent campaign keeps its send records.
    let refused = app
        .error(
            "mutation($id: ID!) { deleteCampaign(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(refused["extensions"]["code"], "CONFLICT", "{refused:#}");
}

async fn the_one_click_link_objects_and_suppresses_once_and_later_sends_skip(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let bruno = subscriber(&app, "Bruno", "bruno@example.com", "newsletter").await;
    let march = campaign(&app, "Newsletter di marzo", "newsletter").await;
    assert_eq!(send(&app, &march).await["queued"], 2);
    worker.round().await.expect("round");
    let received = smtp.received();
    let token = token_of(&unsubscribe_url(&to(&received, "anna@example.com")[0]));

    // Opening the link (a mail scanner does) shows a button and changes nothing.
    let page = reqwest::get(format!("{}/unsubscribe/{token}", app.base_url))
        .await
        .expect("GET sent");
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.expect("page");
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(objections(&app, &anna).await.is_empty());
    assert!(suppressions(&app).await.is_empty());

    let (status, page) = one_click(&app, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("no longer receive"), "{page}");
    let objected = objections(&app, &anna).await;
    assert_eq!(objected.len(), 1, "{objected:?}");
    assert_eq!(objected[0]["method"], "unsubscribe link (one-click)");
    assert_eq!(objected[0]["purpose"]["key"], "newsletter");
    let suppressed = suppressions(&app).await;
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    assert_eq!(suppressed[0]["channel"], "EMAIL");
    assert_eq!(suppressed[0]["reason"], "OBJECTION");
    assert_eq!(suppressed[0]["purpose"]["key"], "newsletter");
    assert_eq!(
        read(&app, &march).await["deliveryCounts"]["unsubscribed"],
        1
    );

    // Idempotent: a second click changes nothing.
    let (status, page) = one_click(&app, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("already unsubscribed"), "{page}");
    assert_eq!(objections(&app, &anna).await.len(), 1);
    assert_eq!(suppressions(&app).await.len(), 1);

    // The next campaign for the purpose skips her.
    let april = campaign(&app, "Newsletter di aprile", "newsletter").await;
    assert_eq!(send(&app, &april).await["queued"], 1);
    worker.round().await.expect("round");
    let received = smtp.received();
    assert_eq!(to(&received, "anna@example.com").len(), 1, "{received:?}");
    assert_eq!(to(&received, "bruno@example.com").len(), 2, "{received:?}");
    let _ = bruno;
}

async fn forged_and_foreign_tokens_are_refused_and_change_nothing(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let bruno = subscriber(&app, "Bruno", "bruno@example.com", "newsletter").await;
    let id = campaign(&app, "Newsletter di marzo", "newsletter").await;
    send(&app, &id).await;
    worker.round().await.expect("round");
    let token = token_of(&unsubscribe_url(
        &to(&smtp.received(), "anna@example.com")[0],
    ));

    // Altered signature.
    let mut forged = token.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == '0' { '1' } else { '0' });
    // Anna's signature on Bruno's ID.
    let (_, anna_key) = lexgate::ids::parse(&anna).expect("contact id");
    let (_, bruno_key) = lexgate::ids::parse(&bruno).expect("contact id");
    let swapped = token.replacen(&anna_key, &bruno_key, 1);
    assert_ne!(swapped, token);
    // A double-opt-in confirmation token signed by this very instance is no unsubscribe token.
    let key = app
        .db
        .run(|c| lexgate::gdpr::KeyedHasher::load(c, None))
        .await
        .expect("instance key");
    let (campaign_key, _) = token.split_once('.').expect("claims");
    let confirmation = lexgate::gdpr::double_opt_in::token(
        &key,
        campaign_key,
        lexgate::db::now() + chrono::TimeDelta::days(1),
    );
    for bad in [
        forged.as_str(),
        swapped.as_str(),
        confirmation.as_str(),
        "garbage",
    ] {
        let (status, page) = one_click(&app, bad).await;
        assert_eq!(status, 404, "{bad}: {page}");
        assert!(page.contains("not valid"), "{page}");
        let opened = reqwest::get(format!("{}/unsubscribe/{bad}", app.base_url))
            .await
            .expect("GET sent");
        assert_eq!(opened.status().as_u16(), 404);
    }
    // And an unsubscribe token does not confirm a consent.
    let (status, _) = {
        let r = reqwest::Client::new()
            .post(format!("{}/consent/confirm/{token}", app.base_url))
            .send()
            .await
            .expect("POST sent");
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 404);
    assert!(objections(&app, &anna).await.is_empty());
    assert!(objections(&app, &bruno).await.is_empty());
    assert!(suppressions(&app).await.is_empty());
    assert_eq!(read(&app, &id).await["deliveryCounts"]["unsubscribed"], 0);
}

async fn the_access_export_shows_the_send_and_its_basis(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let anna = subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let id = campaign(&app, "Newsletter di marzo", "newsletter").await;
    send(&app, &id).await;
    worker.round().await.expect("round");
    let (_, dpo) = app.sign_in("dpo@studio.it", "dpo").await;
    let body = app
        .gql_as(
            &dpo,
            "query($id: ID!) { subjectAccessExport(contactId: $id) }",
            json!({ "id": anna }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let sends = &body["data"]["subjectAccessExport"]["data"]["campaignDeliveries"];
    let rows = sends
        .as_array()
        .unwrap_or_else(|| panic!("no sends: {body:#}"));
    assert_eq!(rows.len(), 1, "{sends:#}");
    let text = rows[0].to_string();
    for expected in [
        "anna@example.com",
        "consent",
        "Newsletter di marzo",
        "newsletter",
    ] {
        assert!(text.contains(expected), "{expected} missing: {sends:#}");
    }
    assert!(
        !text.contains("unsubscribe/"),
        "no unsubscribe link: {sends:#}"
    );
    // The message itself is in the export's messages, sent.
    let messages = body["data"]["subjectAccessExport"]["data"]["messages"].to_string();
    assert!(
        messages.contains("Newsletter di marzo") && messages.contains("sent"),
        "{messages}"
    );
}

async fn a_consent_waiting_for_its_double_opt_in_is_sent_to_once_confirmed(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::start_with(backend, |s| {
        s.public_url = Some(PUBLIC_URL.to_owned());
        s.double_opt_in_purposes = vec!["newsletter".to_owned()];
    })
    .await;
    let settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        public_url: Some(PUBLIC_URL.to_owned()),
        mail: smtp.settings(),
        ..lexgate::config::Settings::default()
    };
    let worker = lexgate::server::mail_worker(&app.db, &settings)
        .await
        .expect("mail worker");
    subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let id = campaign(&app, "Newsletter di marzo", "newsletter").await;

    // Not confirmed yet: nobody to send to, and the campaign is done at once.
    let sent = send(&app, &id).await;
    assert_eq!(sent["queued"], 0, "{sent:#}");
    assert_eq!(sent["campaign"]["status"], "SENT");
    worker.round().await.expect("round");
    let received = smtp.received();
    assert_eq!(
        received.len(),
        1,
        "only the confirmation request: {received:?}"
    );
    let link = received[0]
        .body
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{PUBLIC_URL}/consent/confirm/")))
        .unwrap_or_else(|| panic!("no confirmation link: {received:?}"))
        .to_owned();
    let confirmed = reqwest::Client::new()
        .post(link.replace(PUBLIC_URL, &app.base_url))
        .send()
        .await
        .expect("POST sent");
    assert_eq!(confirmed.status().as_u16(), 200);

    // Confirmed: the next send reaches her.
    let later = send(&app, &id).await;
    assert_eq!(later["queued"], 1, "{later:#}");
    worker.round().await.expect("round");
    let received = smtp.received();
    assert_eq!(to(&received, "anna@example.com").len(), 2, "{received:?}");
    assert!(received.iter().any(|m| m.subject == "Newsletter di marzo"));
}

async fn a_cancelled_campaign_sends_nothing_more(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    subscriber(&app, "Anna", "anna@example.com", "newsletter").await;
    let id = campaign(&app, "Newsletter di marzo", "newsletter").await;
    assert_eq!(send(&app, &id).await["queued"], 1);
    app.data(
        "mutation($id: ID!) { updateCampaign(input: { id: $id, status: CANCELLED }) { campaign { status } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(worker.round().await.expect("round").sent, 0);
    assert!(smtp.received().is_empty());
    let stored = read(&app, &id).await;
    assert_eq!(stored["status"], "CANCELLED");
    assert_eq!(stored["deliveryCounts"]["pending"], 0, "{stored:#}");
    assert_eq!(stored["deliveries"]["totalCount"], 0, "{stored:#}");
    let refused = app.error(SEND, json!({ "id": id })).await;
    assert_eq!(refused["extensions"]["code"], "CONFLICT", "{refused:#}");
}

/// A scheduled campaign whose `scheduledAt` has passed is sent by the mail loop, once, to the
/// audience as it is when the loop sends it; one not yet due, or a draft, waits.
async fn a_due_scheduled_campaign_is_sent_by_the_mail_loop_once(backend: Backend) {
    let smtp = SmtpServer::start();
    let (app, worker) = start(backend, &smtp).await;
    let create = |name: &str, scheduled_at: Option<&str>| {
        let mut input = json!({ "name": name, "purpose": "newsletter", "description": "Le novità dello studio." });
        if let Some(at) = scheduled_at {
            input["scheduledAt"] = json!(at);
        }
        let app = &app;
        async move {
            app.data(
                "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id status } } }",
                json!({ "input": input }),
            )
            .await["createCampaign"]["campaign"]
                .clone()
        }
    };
    let due = create("Newsletter di marzo", Some("2026-03-01T09:00:00Z")).await;
    assert_eq!(due["status"], "SCHEDULED");
    let due = due["id"].as_str().expect("id").to_owned();
    let future = create("Newsletter del 2099", Some("2099-01-01T09:00:00Z")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let draft = create("Bozza", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A due campaign that cannot be sent (its stored audience made unreadable) is rolled back
    // and logged: it holds up neither the other campaigns nor the rest of the mail loop.
    let broken = create("Rotta", Some("2026-02-01T09:00:00Z")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let spoiled = lexgate::ids::parse(&broken).expect("global ID").1;
    app.db
        .run(move |c| {
            use diesel::prelude::*;
            use lexgate::db::schema::campaigns;
            Ok(diesel::update(campaigns::table.find(spoiled))
                .set(campaigns::audience_filter.eq("not json"))
                .execute(c)?)
        })
        .await
        .map(|rows| assert_eq!(rows, 1, "one campaign spoiled"))
        .expect("audience spoiled");
    // The audience is the one at sending time: Anna subscribes after the campaign was made.
    subscriber(&app, "Anna", "anna@example.com", "newsletter").await;

    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.sent), (1, 1), "{round:?}");
    assert_eq!(read(&app, &broken).await["status"], "SCHEDULED");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].to, ["anna@example.com"]);
    assert_eq!(received[0].subject, "Newsletter di marzo");
    assert_eq!(
        received[0].header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(read(&app, &due).await["status"], "SENDING");

    // Later rounds send it to nobody again, and settle it as sent.
    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.sent), (0, 0), "{round:?}");
    let stored = read(&app, &due).await;
    assert_eq!(stored["status"], "SENT", "{stored:#}");
    assert_eq!(stored["deliveries"]["totalCount"], 1, "{stored:#}");
    assert_eq!(stored["deliveries"]["nodes"][0]["basis"], "CONSENT");
    // A subscriber arriving after it was sent is not sent it by the loop.
    subscriber(&app, "Bruno", "bruno@example.com", "newsletter").await;
    assert_eq!(worker.round().await.expect("round").sent, 0);
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(read(&app, &future).await["status"], "SCHEDULED");
    assert_eq!(read(&app, &draft).await["status"], "DRAFT");
}

on_both_backends!(
    a_due_scheduled_campaign_is_sent_by_the_mail_loop_once,
    a_campaign_reaches_its_audience_as_it_is_at_send_time_once,
    the_one_click_link_objects_and_suppresses_once_and_later_sends_skip,
    forged_and_foreign_tokens_are_refused_and_change_nothing,
    the_access_export_shows_the_send_and_its_basis,
    a_consent_waiting_for_its_double_opt_in_is_sent_to_once_confirmed,
    a_cancelled_campaign_sends_nothing_more,
);

/// Two `serve` processes on one PostgreSQL, both asked to send the same campaign at once and
/// both running their mail loops: every recipient gets the campaign exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_send_a_campaign_to_each_recipient_exactly_once() {
    let database = SharedDatabase::create();
    let smtp = SmtpServer::start();
    let extra = format!(
        "mail_interval_seconds = 1\npublic_url = \"{PUBLIC_URL}\"\n{}",
        smtp.toml()
    );
    let first = Server::start(&database.url, &extra)
        .await
        .expect("first server");
    let second = Server::start(&database.url, &extra)
        .await
        .expect("second server");
    let key = admin_key(&database.url).await;
    let gql = |server: &Server, query: &'static str, variables: Value| {
        let (key, base) = (key.clone(), server.base_url.clone());
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .bearer_auth(key)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .expect("request sent")
                .json()
                .await
                .expect("JSON");
            assert!(body.get("errors").is_none(), "{body:#}");
            body["data"].clone()
        }
    };
    let expected = 12;
    for n in 0..expected {
        let server = if n % 2 == 0 { &first } else { &second };
        gql(
            server,
            "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
            json!({ "input": with_provenance(json!({
                "kind": "PERSON", "givenName": format!("Persona{n}"), "familyName": "Rossi",
                "category": "PROSPECT", "emails": [{ "address": format!("p{n}@example.com") }],
                "grounds": [consent("newsletter")],
            })) }),
        )
        .await;
    }
    let id = gql(
        &first,
        "mutation { createCampaign(input: { name: \"Newsletter\", purpose: \"newsletter\", description: \"Novità\" }) { campaign { id } } }",
        json!({}),
    )
    .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_owned();
    let (a, b) = tokio::join!(
        gql(&first, SEND, json!({ "id": id })),
        gql(&second, SEND, json!({ "id": id })),
    );
    let queued = |v: &Value| v["sendCampaign"]["queued"].as_i64().expect("queued");
    assert_eq!(queued(&a) + queued(&b), expected, "{a:#} {b:#}");

    let received = smtp
        .wait_for(expected as usize, Duration::from_secs(60))
        .await;
    // Rounds of both processes after the last message: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received_after = smtp.received();
    assert_eq!(
        received.len(),
        expected as usize,
        "{}\n{}",
        first.log(),
        second.log()
    );
    assert_eq!(received_after.len(), expected as usize);
    let mut per_recipient: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for message in &received_after {
        assert_eq!(
            message.header("List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        *per_recipient.entry(message.to.clone()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), expected as usize, "{per_recipient:?}");
    assert!(per_recipient.values().all(|&n| n == 1), "{per_recipient:?}");

    // A send repeated on the other process queues nobody again; the campaign ends sent.
    let again = gql(&second, SEND, json!({ "id": id })).await;
    assert_eq!(again["sendCampaign"]["queued"], 0, "{again:#}");
    assert_eq!(again["sendCampaign"]["alreadySent"], expected);
    assert_eq!(again["sendCampaign"]["campaign"]["status"], "SENT");
}
