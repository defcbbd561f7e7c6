//! The daily digest, delivered through the mail outbox to a real SMTP server (aiosmtpd): a user
//! opts in on their own account; at their hour, in their time zone, they get one message a
//! day listing the open deadlines and tasks they may see, due today and in the next days;
//! nothing when there is nothing; exactly once with two `lexgate serve` processes on one
//! PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use lexgate::db::schema::outbox_messages;
use lexgate::deadlines::digest;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::processes::{admin_key, Server, SharedDatabase};
use crate::smtp_server::SmtpServer;

const SET: &str = "mutation($input: SetDailyDigestInput!) { setDailyDigest(input: $input) { dailyDigest { enabled hour timeZone daysAhead } } }";

/// The current hour in `zone`, after waiting out the last seconds of an hour (so that the
/// test's rounds run in the hour it chose).
async fn steady_hour(zone: Tz) -> u32 {
    let now = Utc::now().with_timezone(&zone);
    if now.minute() == 59 && now.second() >= 30 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - now.second()))).await;
    }
    Utc::now().with_timezone(&zone).hour()
}

fn rome() -> Tz {
    chrono_tz::Europe::Rome
}

async fn create_deadline(
    app: &TestApp,
    title: &str,
    kind: &str,
    due: DateTime<Utc>,
    extra: Value,
) -> String {
    let mut input = json!({ "title": title, "kind": kind, "dueAt": due.to_rfc3339() });
    if let (Some(input), Value::Object(extra)) = (input.as_object_mut(), extra) {
        input.extend(extra);
    }
    app.data(
        "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
        json!({ "input": input }),
    )
    .await["createDeadline"]["deadline"]["id"]
        .as_str()
        .expect("deadline id")
        .to_owned()
}

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

async fn enqueue_at(app: &TestApp, at: NaiveDateTime) -> usize {
    app.db
        .transaction(move |c| digest::enqueue_due(c, at))
        .await
        .expect("digests enqueued")
}

async fn digest_keys(app: &TestApp) -> Vec<String> {
    app.db
        .run(|c| {
            Ok(outbox_messages::table
                .filter(outbox_messages::kind.eq("daily_digest"))
                .order(outbox_messages::dedup_key)
                .select(outbox_messages::dedup_key)
                .load::<String>(c)?)
        })
        .await
        .expect("outbox read")
}

fn key(global: &str) -> String {
    lexgate::ids::parse(global).expect("a global ID").1
}

async fn a_digest_lists_what_the_user_may_see_once_a_day(backend: Backend) {
    let app = TestApp::start(backend).await;
    let smtp = SmtpServer::start();
    let (anna, anna_token) = app.sign_in("anna.verdi@studiorossi.it", "lawyer").await;
    let (_, bruno_token) = app.sign_in("bruno.neri@studiorossi.it", "lawyer").await;
    let (carla, _) = app.sign_in("carla.blu@studiorossi.it", "lawyer").await;
    let team = app
        .data(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "name": "Contenzioso", "memberIds": [anna] } }),
        )
        .await["createTeam"]["team"]["id"]
        .clone();
    let client = create_person(&app, "Mario", "Rossi", json!({})).await;
    let matter = create_matter(
        &app,
        "2026/0042",
        &client,
        json!({ "responsibleUserId": anna }),
    )
    .await;
    let now = Utc::now();
    // Anna's: assigned to her, to her team, on her matter.
    create_deadline(
        &app,
        "Deposito memoria",
        "COURT_DEADLINE",
        now + TimeDelta::hours(2),
        json!({ "assigneeUserIds": [anna] }),
    )
    .await;
    create_deadline(
        &app,
        "Preparare il fascicolo",
        "INTERNAL_TASK",
        now + TimeDelta::days(3),
        json!({ "assigneeTeamIds": [team] }),
    )
    .await;
    create_deadline(
        &app,
        "Udienza di comparizione",
        "HEARING",
        now + TimeDelta::days(5),
        json!({ "matterId": matter }),
    )
    .await;
    // Not in her digest: too far ahead, done, or someone else's.
    create_deadline(
        &app,
        "Udienza lontana",
        "HEARING",
        now + TimeDelta::days(20),
        json!({ "assigneeUserIds": [anna] }),
    )
    .await;
    let done = create_deadline(
        &app,
        "Termine rispettato",
        "FILING",
        now + TimeDelta::days(1),
        json!({ "assigneeUserIds": [anna] }),
    )
    .await;
    app.data(
        "mutation($id: ID!) { completeDeadline(input: { id: $id }) { deadline { status } } }",
        json!({ "id": done }),
    )
    .await;
    create_deadline(
        &app,
        "Termine di Carla",
        "FILING",
        now + TimeDelta::days(1),
        json!({ "assigneeUserIds": [carla] }),
    )
    .await;

    let hour = steady_hour(rome()).await;
    let set = app
        .gql_as(
            &anna_token,
            SET,
            json!({ "input": { "enabled": true, "hour": hour, "daysAhead": 7 } }),
        )
        .await;
    assert_eq!(
        set["data"]["setDailyDigest"]["dailyDigest"],
        json!({ "enabled": true, "hour": hour, "timeZone": "Europe/Rome", "daysAhead": 7 }),
        "{set:#}"
    );
    // Bruno opts in too but has nothing: no message. Carla has not opted in.
    let set = app
        .gql_as(
            &bruno_token,
            SET,
            json!({ "input": { "enabled": true, "hour": hour } }),
        )
        .await;
    assert!(set.get("errors").is_none(), "{set:#}");

    let worker = mail_worker(&app, &smtp).await;
    let round = worker.round().await.expect("round");
    assert_eq!((round.enqueued, round.sent), (1, 1), "{round:?}");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].to, ["anna.verdi@studiorossi.it"]);
    assert!(
        received[0]
            .subject
            .starts_with("Your deadlines and tasks from ")
            && received[0].subject.ends_with(": 3 items"),
        "{received:?}"
    );
    let body = &received[0].body;
    for listed in [
        "Deposito memoria",
        "Preparare il fascicolo",
        "Udienza di comparizione",
        "2026/0042",
    ] {
        assert!(body.contains(listed), "{listed} missing: {body}");
    }
    for left_out in ["Udienza lontana", "Termine rispettato", "Termine di Carla"] {
        assert!(!body.contains(left_out), "{left_out} listed: {body}");
    }
    let today = Utc::now().with_timezone(&rome()).date_naive();
    assert_eq!(
        digest_keys(&app).await,
        vec![format!("digest:{}:{today}", key(&anna))]
    );

    // Later rounds, and a restart, send nothing again that day.
    let again = worker.round().await.expect("round");
    let restarted = mail_worker(&app, &smtp).await.round().await.expect("round");
    assert_eq!((again.enqueued, again.sent), (0, 0), "{again:?}");
    assert_eq!((restarted.enqueued, restarted.sent), (0, 0));
    assert_eq!(smtp.received().len(), 1);

    // Another hour of the day: nothing; the same hour the next day: the next digest.
    let at = Utc::now().naive_utc();
    assert_eq!(enqueue_at(&app, at + TimeDelta::hours(1)).await, 0);
    assert_eq!(enqueue_at(&app, at + TimeDelta::days(1)).await, 1);
    // Opted out: nothing from then on.
    let set = app
        .gql_as(&anna_token, SET, json!({ "input": { "enabled": false } }))
        .await;
    assert_eq!(
        set["data"]["setDailyDigest"]["dailyDigest"]["enabled"], false,
        "{set:#}"
    );
    assert_eq!(enqueue_at(&app, at + TimeDelta::days(2)).await, 0);
    assert_eq!(digest_keys(&app).await.len(), 2);
}

async fn the_setting_is_the_users_own_and_validated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (anna, anna_token) = app.sign_in("anna.verdi@studiorossi.it", "lawyer").await;
    let (_, bruno_token) = app.sign_in("bruno.neri@studiorossi.it", "trainee").await;
    let read = "{ dailyDigest { enabled hour timeZone daysAhead } }";
    let nothing = app.gql_as(&anna_token, read, json!({})).await;
    assert_eq!(nothing["data"]["dailyDigest"], Value::Null, "{nothing:#}");

    let defaults = app
        .gql_as(&anna_token, SET, json!({ "input": { "enabled": true } }))
        .await;
    let expected = json!({ "enabled": true, "hour": 7, "timeZone": "Europe/Rome", "daysAhead": 7 });
    assert_eq!(
        defaults["data"]["setDailyDigest"]["dailyDigest"], expected,
        "{defaults:#}"
    );
    let mine = app.gql_as(&anna_token, read, json!({})).await;
    assert_eq!(mine["data"]["dailyDigest"], expected);
    let theirs = app.gql_as(&bruno_token, read, json!({})).await;
    assert_eq!(theirs["data"]["dailyDigest"], Value::Null, "{theirs:#}");

    for (input, field) in [
        (json!({ "enabled": true, "hour": 24 }), "input.hour"),
        (json!({ "enabled": true, "hour": -1 }), "input.hour"),
        (
            json!({ "enabled": true, "timeZone": "Mars/Olympus_Mons" }),
            "input.timeZone",
        ),
        (
            json!({ "enabled": true, "daysAhead": 40 }),
            "input.daysAhead",
        ),
    ] {
        let body = app
            .gql_as(&anna_token, SET, json!({ "input": input }))
            .await;
        assert_error(&body["errors"][0], "BAD_USER_INPUT", field);
    }
    assert_eq!(
        app.gql_as(&anna_token, read, json!({})).await["data"]["dailyDigest"],
        expected,
        "a refused change changes nothing"
    );
    // An API key has no deadlines of its own.
    let key_error = app
        .error(SET, json!({ "input": { "enabled": true } }))
        .await;
    assert_eq!(
        key_error["extensions"]["code"], "FORBIDDEN",
        "{key_error:#}"
    );

    // The hour and "today" are the user's time zone's.
    let new_york: Tz = chrono_tz::America::New_York;
    let hour = steady_hour(new_york).await;
    let set = app
        .gql_as(
            &anna_token,
            SET,
            json!({ "input": { "enabled": true, "hour": hour, "timeZone": "America/New_York", "daysAhead": 0 } }),
        )
        .await;
    assert!(set.get("errors").is_none(), "{set:#}");
    // Due at the last minute of her local day: listed today; a minute later: tomorrow's.
    let local_today = Utc::now().with_timezone(&new_york).date_naive();
    let end_of_day = |date: chrono::NaiveDate| {
        date.and_hms_opt(23, 59, 0)
            .and_then(|t| t.and_local_timezone(new_york).single())
            .map(|t| t.with_timezone(&Utc))
            .expect("a local time")
    };
    let last_minute = end_of_day(local_today);
    create_deadline(
        &app,
        "Ultimo minuto",
        "FILING",
        last_minute,
        json!({ "assigneeUserIds": [anna] }),
    )
    .await;
    create_deadline(
        &app,
        "Domani",
        "FILING",
        last_minute + TimeDelta::minutes(2),
        json!({ "assigneeUserIds": [anna] }),
    )
    .await;
    let rome_hour = Utc::now().with_timezone(&rome()).hour();
    assert_ne!(rome_hour, hour);
    assert_eq!(enqueue_at(&app, Utc::now().naive_utc()).await, 1);
    assert_eq!(
        digest_keys(&app).await,
        vec![format!("digest:{}:{local_today}", key(&anna))]
    );
    let body = app
        .db
        .run(|c| {
            Ok(outbox_messages::table
                .filter(outbox_messages::kind.eq("daily_digest"))
                .select(outbox_messages::body)
                .first::<String>(c)?)
        })
        .await
        .expect("digest body");
    assert!(body.contains("Ultimo minuto"), "{body}");
    assert!(body.contains("23:59"), "local times: {body}");
    assert!(!body.contains("Domani"), "{body}");
}

on_both_backends!(
    a_digest_lists_what_the_user_may_see_once_a_day,
    the_setting_is_the_users_own_and_validated,
);

/// Two `serve` processes with their mail loops on one PostgreSQL: every user's digest arrives
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_send_each_digest_exactly_once() {
    let database = SharedDatabase::create();
    let smtp = SmtpServer::start();
    let extra = format!("mail_interval_seconds = 1\n{}", smtp.toml());
    let first = Server::start(&database.url, &extra)
        .await
        .expect("first server");
    let second = Server::start(&database.url, &extra)
        .await
        .expect("second server");
    let token = admin_key(&database.url).await;
    let gql = |server: &Server, query: &'static str, variables: Value| {
        let token = token.clone();
        let base = server.base_url.clone();
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .bearer_auth(token)
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
    let names = ["anna", "bruno", "carla", "dario", "elena", "franco"];
    let mut users = Vec::new();
    for name in names {
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
    for (n, user) in users.iter().enumerate() {
        let server = if n % 2 == 0 { &first } else { &second };
        gql(
            server,
            "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { deadline { id } } }",
            json!({ "input": { "title": format!("Scadenza {n}"), "kind": "FILING", "dueAt": due, "assigneeUserIds": [user] } }),
        )
        .await;
    }
    // Everyone opts in for this hour at once, while both processes run their rounds.
    let hour = steady_hour(rome()).await;
    let db = lexgate::db::Database::connect(&database.url, 1, false)
        .await
        .expect("database reachable");
    let keys: Vec<String> = users.iter().map(|u| key(u)).collect();
    db.transaction(move |c| {
        for user in &keys {
            digest::set(
                c,
                user,
                digest::SetDailyDigestInput {
                    enabled: true,
                    hour: i32::try_from(hour).unwrap_or(0),
                    time_zone: None,
                    days_ahead: 1,
                },
            )?;
        }
        Ok(())
    })
    .await
    .expect("digests on");

    let expected = names.len();
    let received = smtp.wait_for(expected, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received_after = smtp.received();
    assert_eq!(
        received.len(),
        expected,
        "{}\n{}",
        first.log(),
        second.log()
    );
    assert_eq!(received_after.len(), expected, "{received_after:?}");
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for message in &received_after {
        for to in &message.to {
            *per_recipient.entry(to.clone()).or_default() += 1;
        }
    }
    assert_eq!(per_recipient.len(), expected, "{per_recipient:?}");
    assert!(per_recipient.values().all(|&n| n == 1), "{per_recipient:?}");
}
