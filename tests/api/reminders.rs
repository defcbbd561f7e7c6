//! Deadline reminders delivered through the mail outbox to a real SMTP server (aiosmtpd):
//! once per person and reminder, to the assignees and every member of the teams assigned,
//! retried while the server is down, failures visible on the deadline; and exactly once with
//! two `lexgate serve` processes on one PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::processes::{admin_key, Server, SharedDatabase};
use crate::smtp_server::{Received, SmtpServer};

const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on Deadline {
  reminderDeliveries { recipient recipientUser { id } status attempts lastError nextAttemptAt sentAt }
} } }";

async fn mail_worker(app: &TestApp, smtp: &SmtpServer) -> lexgate::mail::MailWorker {
    let settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        mail: smtp.settings(),
        ..lexgate::config::Settings::default()
    };
    lexgate::server::mail_worker(&app.db, &settings)
        .await
        .expect("mail worker")
}

/// A deadline due in two hours whose `offsets` (minutes before) are counted from then: 180
/// is an hour past, 30 still ahead.
async fn deadline(
    app: &TestApp,
    title: &str,
    users: &[&str],
    teams: &[&str],
    offsets: &[i32],
) -> String {
    let due = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    app.data(
        "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
        json!({ "input": {
            "title": title, "kind": "COURT_DEADLINE", "dueAt": due,
            "assigneeUserIds": users, "assigneeTeamIds": teams, "reminderOffsets": offsets,
        } }),
    )
    .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    app.data(DELIVERIES, json!({ "id": id })).await["node"]["reminderDeliveries"]
        .as_array()
        .expect("deliveries")
        .clone()
}

/// Messages per recipient.
fn per_recipient(received: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in received {
        for to in &message.to {
            *counts.entry(to.clone()).or_default() += 1;
        }
    }
    counts
}

async fn a_due_reminder_reaches_its_assignee_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let smtp = SmtpServer::start();
    let anna = create_user(&app, "anna.verdi@studiorossi.it", "lawyer").await;
    let id = deadline(
        &app,
        "Deposito comparsa conclusionale",
        &[&anna],
        &[],
        &[180, 30],
    )
    .await;
    let worker = mail_worker(&app, &smtp).await;

    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.sent), (1, 1), "{round:?}");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].to, ["anna.verdi@studiorossi.it"]);
    assert!(
        received[0]
            .subject
            .starts_with("Reminder: Deposito comparsa conclusionale due "),
        "{received:?}"
    );
    assert!(received[0].body.contains("Deposito comparsa conclusionale"));

    // Later rounds (and a restart: a new worker) send nothing again; the second reminder is
    // not due yet.
    let again = worker.round().await.expect("round");
    let restarted = mail_worker(&app, &smtp).await.round().await.expect("round");
    assert_eq!(again, Default::default());
    assert_eq!(restarted, Default::default());
    assert_eq!(smtp.received().len(), 1);

    let delivered = deliveries(&app, &id).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["recipient"], "anna.verdi@studiorossi.it");
    assert_eq!(delivered[0]["recipientUser"]["id"], anna.as_str());
    assert_eq!(delivered[0]["status"], "SENT");
    assert_eq!(delivered[0]["attempts"], 1);
    assert!(delivered[0]["sentAt"].is_string());
    assert!(delivered[0]["lastError"].is_null());
}

async fn a_down_smtp_server_is_retried_and_the_failure_shows(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut smtp = SmtpServer::start();
    let anna = create_user(&app, "anna.verdi@studiorossi.it", "lawyer").await;
    let bounce = create_user(&app, "bounce.bianchi@studiorossi.it", "lawyer").await;
    let id = deadline(&app, "Udienza di precisazione", &[&anna], &[], &[180]).await;
    let refused = deadline(&app, "Memoria 183", &[&bounce], &[], &[180]).await;
    let settings = lexgate::config::Settings {
        database_url: app.database_url.clone(),
        mail: lexgate::mail::MailSettings {
            retry_seconds: 3,
            ..smtp.settings()
        },
        ..lexgate::config::Settings::default()
    };
    let worker = lexgate::server::mail_worker(&app.db, &settings)
        .await
        .expect("mail worker");

    smtp.stop();
    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.retrying), (2, 2), "{round:?}");
    // Not again before the backoff has passed.
    assert_eq!(worker.round().await.expect("round"), Default::default());
    let pending = deliveries(&app, &id).await;
    assert_eq!(pending[0]["status"], "PENDING", "{pending:?}");
    assert_eq!(pending[0]["attempts"], 1);
    assert!(
        pending[0]["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{pending:?}"
    );
    assert!(pending[0]["nextAttemptAt"].is_string());
    assert!(pending[0]["sentAt"].is_null());

    smtp.resume();
    let (mut sent, mut failed) = (0, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sent + failed < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let round = worker.round().await.expect("round");
        sent += round.sent;
        failed += round.failed;
        assert_eq!(round.retrying, 0, "{round:?}");
    }
    assert_eq!((sent, failed), (1, 1));
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].to, ["anna.verdi@studiorossi.it"]);
    let sent = deliveries(&app, &id).await;
    assert_eq!(sent[0]["status"], "SENT", "{sent:?}");
    assert_eq!(sent[0]["attempts"], 2);

    // A permanent refusal (550) is not retried.
    let failed = deliveries(&app, &refused).await;
    assert_eq!(failed[0]["status"], "FAILED", "{failed:?}");
    assert_eq!(failed[0]["attempts"], 2);
    assert!(
        failed[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("550")),
        "{failed:?}"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(worker.round().await.expect("round"), Default::default());
    assert_eq!(deliveries(&app, &refused).await[0]["attempts"], 2);
}

async fn a_team_reminder_reaches_every_member_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let smtp = SmtpServer::start();
    let anna = create_user(&app, "anna.verdi@studiorossi.it", "lawyer").await;
    let bruno = create_user(&app, "bruno.neri@studiorossi.it", "trainee").await;
    let carla = create_user(&app, "carla.blu@studiorossi.it", "staff").await;
    let outsider = create_user(&app, "dario.rosa@studiorossi.it", "lawyer").await;
    let team = app
        .data(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "name": "Contenzioso", "memberIds": [anna, bruno, carla] } }),
        )
        .await["createTeam"]["team"]["id"]
        .as_str()
        .expect("team id")
        .to_owned();
    // Anna is assigned both directly and through the team: one message.
    let id = deadline(&app, "Termine appello", &[&anna], &[&team], &[180]).await;

    let round = mail_worker(&app, &smtp).await.round().await.expect("round");
    assert_eq!(round.sent, 3, "{round:?}");
    let counts = per_recipient(&smtp.received());
    assert_eq!(
        counts,
        BTreeMap::from([
            ("anna.verdi@studiorossi.it".to_owned(), 1),
            ("bruno.neri@studiorossi.it".to_owned(), 1),
            ("carla.blu@studiorossi.it".to_owned(), 1),
        ])
    );
    assert!(
        !counts.contains_key("dario.rosa@studiorossi.it"),
        "{outsider}"
    );
    assert_eq!(deliveries(&app, &id).await.len(), 3);
}

on_both_backends!(
    a_due_reminder_reaches_its_assignee_once,
    a_down_smtp_server_is_retried_and_the_failure_shows,
    a_team_reminder_reaches_every_member_once,
);

/// Two `serve` processes with their mail loops on one PostgreSQL: every reminder arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_each_reminder_exactly_once() {
    let database = SharedDatabase::create();
    let smtp = SmtpServer::start();
    let extra = format!("mail_interval_seconds = 1\n{}", smtp.toml());
    let first = Server::start(&database.url, &extra)
        .await
        .expect("first server");
    let second = Server::start(&database.url, &extra)
        .await
        .expect("second server");
    let key = admin_key(&database.url).await;
    let gql = |server: &Server, query: &'static str, variables: Value| {
        let key = key.clone();
        let base = server.base_url.clone();
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
    let mut users = Vec::new();
    for name in ["anna", "bruno", "carla"] {
        let data = gql(
            &first,
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": format!("{name}@studiorossi.it"), "displayName": name, "role": "lawyer" } }),
        )
        .await;
        users.push(
            data["createUser"]["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let due = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    // Created through both servers, each deadline to all three: 8 × 3 messages.
    for n in 0..8 {
        let server = if n % 2 == 0 { &first } else { &second };
        gql(
            server,
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": {
                "title": format!("Scadenza {n}"), "kind": "FILING", "dueAt": due,
                "assigneeUserIds": users, "reminderOffsets": [180],
            } }),
        )
        .await;
    }
    let expected = 8 * 3;
    let received = smtp.wait_for(expected, Duration::from_secs(60)).await;
    // Rounds of both processes after the last message: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received_after = smtp.received();
    assert_eq!(
        received.len(),
        expected,
        "{}\n{}",
        first.log(),
        second.log()
    );
    assert_eq!(received_after.len(), expected);
    let mut seen = BTreeMap::new();
    for message in &received_after {
        *seen
            .entry((message.to.clone(), message.subject.clone()))
            .or_insert(0) += 1;
    }
    assert_eq!(seen.len(), expected, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    let logs = format!("{}{}", first.log(), second.log());
    assert!(logs.contains("mail round"), "{logs}");
}
