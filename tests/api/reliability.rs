//! Surviving the database going away, replicas started together, scheduled work run once
//! across processes, and stopping cleanly.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::processes::{admin_key, api_key, Cluster, Server, SharedDatabase};

const COUNT_CONTACTS: &str = "{ contacts(first: 1) { totalCount } }";

/// Polls until `check` holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Closes every connection the server holds to its database, from the database's side.
fn terminate_backends(database_url: &str) {
    let (base, name) = database_url.rsplit_once('/').expect("database URL");
    let mut admin =
        diesel::PgConnection::establish(&format!("{base}/postgres")).expect("admin connection");
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .expect("backends terminated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_terminated_under_load_are_replaced() {
    let app = TestApp::start(Backend::Postgres).await;
    let contact = json!({ "input": crate::fixtures::with_provenance(json!({ "kind": "PERSON", "givenName": "Anna", "familyName": "Rossi", "category": "CLIENT" })) });
    const CREATE: &str =
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";
    app.data(CREATE, contact.clone()).await;
    // Every pooled connection and the access log's own are open and in use.
    let load: Vec<_> = (0..6)
        .map(|_| {
            let (client, url) = (app.client.clone(), format!("{}/graphql", app.base_url));
            tokio::spawn(async move {
                for _ in 0..40 {
                    let _ = client
                        .post(&url)
                        .json(&json!({ "query": COUNT_CONTACTS }))
                        .send()
                        .await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = app.database_url.clone();
    tokio::task::spawn_blocking(move || terminate_backends(&url))
        .await
        .expect("terminated");
    for task in load {
        task.await.expect("load finished");
    }
    let recovered = eventually(Duration::from_secs(20), || async {
        app.gql(COUNT_CONTACTS, json!({}))
            .await
            .get("errors")
            .is_none()
    })
    .await;
    assert!(
        recovered,
        "queries still fail after the connections were terminated"
    );
    // Not one lucky connection: every request now succeeds, reads and logged writes alike.
    for _ in 0..12 {
        let body = app.gql(COUNT_CONTACTS, json!({})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let body = app.gql(CREATE, contact.clone()).await;
    let body = if body.get("errors").is_some() {
        // The access log's connection may learn it was closed on this first write.
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
            "{body:#}"
        );
        app.gql(CREATE, contact).await
    } else {
        body
    };
    assert!(body.get("errors").is_none(), "{body:#}");
    let ready = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_recovers_after_a_database_restart() {
    let cluster = tokio::task::spawn_blocking(Cluster::create)
        .await
        .expect("cluster created");
    let url = cluster.database("lexgate");
    let server = Server::start(&url, "pool_size = 3")
        .await
        .expect("server starts");
    let key = admin_key(&url).await;
    let (status, body) = server.gql(&key, COUNT_CONTACTS, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(server.ready_status().await, Some(200));

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .expect("cluster stopped");
    assert_eq!(server.ready_status().await, Some(503));
    let (_, body) = server.gql(&key, COUNT_CONTACTS, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body:#}"
    );

    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start();
        cluster
    })
    .await
    .expect("cluster restarted");
    let ready = eventually(Duration::from_secs(20), || async {
        server.ready_status().await == Some(200)
    })
    .await;
    assert!(
        ready,
        "/readyz stays unready after the database came back:\n{}",
        server.log()
    );
    for _ in 0..10 {
        let (status, body) = server.gql(&key, COUNT_CONTACTS, json!({})).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body.get("errors").is_none(), "{body:#}");
    }
}

/// Starts two servers at the same moment on `url`; both must come up.
async fn start_two_together(url: &str) -> (Server, Server) {
    let (mut a, mut b) = (Server::spawn(url, ""), Server::spawn(url, ""));
    let (ready_a, ready_b) = tokio::join!(a.wait_until_healthy(), b.wait_until_healthy());
    if let Err(log) = ready_a.and(ready_b) {
        panic!("a replica started beside another failed: {log}");
    }
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_all_come_up() {
    for _ in 0..3 {
        // An empty database: both migrate it, then both need the generated GDPR key.
        let database = tokio::task::spawn_blocking(SharedDatabase::create)
            .await
            .expect("database");
        let (a, b) = start_two_together(&database.url).await;
        // Both hash with the one key stored, so both agree on what is suppressed.
        let key = admin_key(&database.url).await;
        for server in [&a, &b] {
            let (status, body) = server.gql(&key, COUNT_CONTACTS, json!({})).await;
            assert_eq!(status, 200, "{body:#}");
        }
        drop((a, b));
        let db = lexgate::db::Database::connect(&database.url, 1, false)
            .await
            .expect("database");
        let keys = db
            .run(|c| {
                use diesel::prelude::*;
                use lexgate::db::schema::instance_keys;
                Ok(instance_keys::table.count().get_result::<i64>(c)?)
            })
            .await
            .expect("keys counted");
        assert_eq!(keys, 1);
        // A migrated database without the generated key: both create it at once.
        db.run(|c| Ok(c.batch_execute("DELETE FROM instance_keys")?))
            .await
            .expect("key removed");
        let _both = start_two_together(&database.url).await;
    }
}

const RUN_RETENTION: &str = "mutation { runRetention { groundsEnded contactsErased } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_in_one_process_at_a_time() {
    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let manual = "retention_interval_hours = 0";
    let a = Server::start(&database.url, manual)
        .await
        .expect("A starts");
    let b = Server::start(&database.url, manual)
        .await
        .expect("B starts");
    let key = api_key(&database.url, "dpo").await;

    // A run in progress elsewhere (this connection holds the run's lock): both skip, saying so.
    let url = database.url.clone();
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (held, is_held) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connection");
        #[allow(clippy::disallowed_methods)] // a bare PostgreSQL connection: no SQLite lock
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            c.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({})",
                lexgate::personal_data::retention::RUN_LOCK
            ))?;
            held.send(()).expect("told");
            release.recv().expect("released");
            Ok(())
        })
        .expect("lock held");
    });
    is_held.recv().expect("lock taken");
    for server in [&a, &b] {
        let (status, body) = server.gql(&key, RUN_RETENTION, json!({})).await;
        assert_eq!(status, 200);
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "CONFLICT", "{body:#}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("already in progress")),
            "{body:#}"
        );
    }
    hold.send(()).expect("release");
    holder.join().expect("holder done");

    // Both replicas asked at once: each run either completes or is skipped, never fails.
    for _ in 0..3 {
        let (first, second) = tokio::join!(
            a.gql(&key, RUN_RETENTION, json!({})),
            b.gql(&key, RUN_RETENTION, json!({}))
        );
        let mut completed = 0;
        for (_, body) in [first, second] {
            match body.get("errors") {
                None => completed += 1,
                Some(errors) => assert_eq!(errors[0]["extensions"]["code"], "CONFLICT", "{body:#}"),
            }
        }
        assert!(completed >= 1, "no run completed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_does_not_keep_a_stopping_server_up() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("directory");
    let url = format!("sqlite://{}", dir.path().join("lexgate.db").display());
    // Header reads may take long here: the shutdown deadline is what must end the request.
    let mut server = Server::start(
        &url,
        "shutdown_timeout_seconds = 1\nheader_read_timeout_seconds = 600\nbody_read_timeout_seconds = 600",
    )
    .await
    .expect("server starts");
    let mut half = tokio::net::TcpStream::connect(server.address())
        .await
        .expect("connected");
    half.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
        .await
        .expect("half a request sent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    let exited = tokio::time::timeout(Duration::from_secs(30), server.child.wait()).await;
    let status = exited
        .unwrap_or_else(|_| panic!("still running 30 s after SIGTERM:\n{}", server.log()))
        .expect("exit status");
    assert!(status.success(), "{status}:\n{}", server.log());
    assert!(
        server.log().contains("shutdown deadline passed"),
        "{}",
        server.log()
    );
    drop(half);
}

/// Reads from `stream` until the server closes it; returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("directory");
    let url = format!("sqlite://{}", dir.path().join("lexgate.db").display());
    let server = Server::start(
        &url,
        "header_read_timeout_seconds = 1\nbody_read_timeout_seconds = 1",
    )
    .await
    .expect("server starts");
    // Slowloris: headers that never end.
    let mut slow: Vec<tokio::net::TcpStream> = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(server.address())
            .await
            .expect("connected");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("partial headers");
        slow.push(stream);
    }
    for stream in &mut slow {
        let closed = tokio::time::timeout(Duration::from_secs(30), read_until_closed(stream)).await;
        assert!(
            closed.is_ok(),
            "a connection with unfinished headers stayed open"
        );
    }
    // A body that stops half-way gets an error answer, and the connection is not held.
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .expect("connected");
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
        .await
        .expect("half a body");
    let answer = tokio::time::timeout(Duration::from_secs(30), read_until_closed(&mut stream))
        .await
        .expect("the server gave up on the body");
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The server still serves everyone else.
    let health = reqwest::get(format!("{}/healthz", server.base_url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_never_a_client_error() {
    let cluster = tokio::task::spawn_blocking(Cluster::create)
        .await
        .expect("cluster created");
    let url = cluster.database("lexgate");
    let server = Server::start(&url, "pool_size = 2")
        .await
        .expect("server starts");
    let key = admin_key(&url).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .expect("cluster stopped");
    for accept in ["application/graphql-response+json", "application/json"] {
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", server.base_url))
            .bearer_auth(&key)
            .header("accept", accept)
            .json(&json!({ "query": COUNT_CONTACTS }))
            .send()
            .await
            .expect("answered");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
            "{body:#}"
        );
        // application/json answers 200 whatever happened; the other tells by its status.
        if accept == "application/json" {
            assert!(status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE);
        } else {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body:#}");
        }
    }
    // Past authentication (anonymous login), a failure while executing: no data, and the
    // status says the server failed, not the client.
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "mutation { login(input: { email: \"a@studio.it\", password: \"Ombrello-Verde-2026\" }) { accessToken } }" }))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["data"], serde_json::Value::Null, "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body:#}"
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body:#}");
    drop(cluster);
}

const CREATE_CONTACT: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }";

fn person(family: &str) -> serde_json::Value {
    json!({ "input": crate::fixtures::with_provenance(json!({ "kind": "PERSON", "givenName": "Anna", "familyName": family, "category": "CLIENT" })) })
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(database_url: &str, query: &str) -> i64 {
    use diesel::RunQueryDsl;
    let mut conn = diesel::PgConnection::establish(database_url).expect("connection");
    diesel::sql_query(query)
        .get_result::<Count>(&mut conn)
        .expect("counted")
        .n
}

/// Contacts that no write entry of the access log names.
const UNLOGGED_CONTACTS: &str = "SELECT count(*) AS n FROM contacts c WHERE NOT EXISTS ( \
     SELECT 1 FROM access_log l JOIN access_log_subject_sets s ON s.set_id = l.subject_set \
     WHERE l.action = 'write' AND s.contact_id = c.id)";

/// `lexgate audit verify` on the database: its exit code and what it printed.
async fn verify_cli(database_url: &str) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args(["audit", "verify", "--database-url", database_url])
        .env_remove("DATABASE_URL")
        .env("LEXGATE_LOG", "warn")
        .output()
        .await
        .expect("lexgate runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// A server killed (SIGKILL) while a change waits to be logged: the chain's head is locked
/// by another session, so whoever appends the change's entry waits. Whatever the server had
/// committed by then has its entry; the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_no_change_without_its_entry() {
    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let mut server = Server::start(&database.url, "").await.expect("starts");
    let key = admin_key(&database.url).await;
    let (status, body) = server.gql(&key, CREATE_CONTACT, person("Prima")).await;
    assert_eq!((status, body.get("errors")), (200, None), "{body:#}");

    let url = database.url.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connection");
        #[allow(clippy::disallowed_methods)] // a bare PostgreSQL connection: no SQLite lock
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            c.batch_execute("SELECT seq FROM access_log_head WHERE id = 1 FOR UPDATE")?;
            locked.send(()).expect("told");
            released.recv().expect("released");
            Ok(())
        })
        .expect("head locked");
    });
    is_locked.recv().expect("head locked");
    let request = {
        let (base, key) = (server.base_url.clone(), key.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .bearer_auth(key)
                .json(&json!({ "query": CREATE_CONTACT, "variables": person("Interrotta") }))
                .send()
                .await
        })
    };
    let url = database.url.clone();
    let waiting = eventually(Duration::from_secs(20), || {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                count(
                    &url,
                    "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
            })
            .await
            .expect("counted")
                > 0
        }
    })
    .await;
    assert!(waiting, "nothing waited for the chain's head");
    server.child.start_kill().expect("killed");
    server.child.wait().await.expect("exited");
    release.send(()).expect("release");
    holder.join().expect("holder done");
    assert!(
        request.await.expect("request task").is_err(),
        "the killed server answered"
    );

    let url = database.url.clone();
    let unlogged = tokio::task::spawn_blocking(move || count(&url, UNLOGGED_CONTACTS))
        .await
        .expect("counted");
    assert_eq!(unlogged, 0, "a committed change has no access-log entry");
    let (code, stdout) = verify_cli(&database.url).await;
    assert_eq!(code, Some(0), "{stdout}");
}

/// Two servers on one database, reading and writing at once: the group-commit writers and
/// the changes' own transactions append to one chain, which verifies, and every change has
/// its entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_holds_under_reads_and_writes_from_two_processes() {
    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let a = Server::start(&database.url, "").await.expect("A starts");
    let b = Server::start(&database.url, "").await.expect("B starts");
    let key = admin_key(&database.url).await;
    const READ: &str =
        "{ contacts(first: 20) { edges { node { familyName emails { address } } } } }";
    // Every read finds someone, so each is logged.
    let (_, body) = a.gql(&key, CREATE_CONTACT, person("Iniziale")).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    for round in 0..8 {
        let (wa, wb, ra, rb) = tokio::join!(
            a.gql(&key, CREATE_CONTACT, person(&format!("Aprile{round}"))),
            b.gql(&key, CREATE_CONTACT, person(&format!("Bruno{round}"))),
            a.gql(&key, READ, json!({})),
            b.gql(&key, READ, json!({})),
        );
        for (status, body) in [wa, wb, ra, rb] {
            assert_eq!((status, body.get("errors")), (200, None), "{body:#}");
        }
    }
    let url = database.url.clone();
    let (contacts, unlogged, reads) = tokio::task::spawn_blocking(move || {
        (
            count(&url, "SELECT count(*) AS n FROM contacts"),
            count(&url, UNLOGGED_CONTACTS),
            count(
                &url,
                "SELECT count(*) AS n FROM access_log WHERE action = 'read'",
            ),
        )
    })
    .await
    .expect("counted");
    assert_eq!((contacts, unlogged, reads), (17, 0, 16));
    let (code, stdout) = verify_cli(&database.url).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("access log intact"), "{stdout}");
}

/// A firm role changed through one server applies to the very next request another server
/// answers (the role generation is read per request), not after a cache expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_on_one_replica_applies_on_the_other_at_once() {
    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let a = Server::start(&database.url, "").await.expect("A starts");
    let b = Server::start(&database.url, "").await.expect("B starts");
    let admin = admin_key(&database.url).await;
    let (_, body) = a
        .gql(
            &admin,
            "mutation { createRole(input: { name: \"paralegal\", baseRole: \"partner\" }) { role { name } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = a.gql(&admin, CREATE_CONTACT, person("Verdi")).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let paralegal = api_key(&database.url, "paralegal").await;
    const READ: &str = "{ contacts(first: 5) { edges { node { familyName codiceFiscale } } } }";
    // B has the role's grant in hand.
    let (_, body) = b.gql(&paralegal, READ, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");

    let (_, body) = a
        .gql(
            &admin,
            "mutation { updateRole(input: { name: \"paralegal\", deniedFields: [\"Contact.codiceFiscale\"] }) { role { name } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = b.gql(&paralegal, READ, json!({})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{body:#}");
    assert_eq!(
        error["path"],
        json!(["contacts", "edges", 0, "node", "codiceFiscale"]),
        "{body:#}"
    );
    assert_eq!(
        body["data"]["contacts"]["edges"][0]["node"]["familyName"],
        "Verdi"
    );

    // And back: the field is readable again on B at once.
    let (_, body) = a
        .gql(
            &admin,
            "mutation { updateRole(input: { name: \"paralegal\", deniedFields: [] }) { role { name } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = b.gql(&paralegal, READ, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

/// Each server remembers the principal behind a credential it has seen; a logout, a revoked
/// API key or a deactivated user committed through one server stops the credential on the
/// other at its very next request (the credentials' generation is read per request), and a
/// credential that still holds keeps working there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_revoked_on_one_replica_stops_on_the_other_at_once() {
    const VIEWER: &str = "{ viewer { role } }";
    const PASSWORD: &str = "Ombrello-Verde-2026";
    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let a = Server::start(&database.url, "").await.expect("A starts");
    let b = Server::start(&database.url, "").await.expect("B starts");
    let admin = admin_key(&database.url).await;
    let works = |(status, body): (u16, serde_json::Value)| {
        status == 200 && body.get("errors").is_none() && body["data"]["viewer"]["role"].is_string()
    };
    let refused = |(status, body): (u16, serde_json::Value)| {
        status == 401 && body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    };

    let db = lexgate::db::Database::connect(&database.url, 1, false)
        .await
        .expect("database reachable");
    let mut users = Vec::new();
    for email in ["avv.rossi@studio.it", "avv.bianchi@studio.it"] {
        let id = db
            .transaction(move |c| {
                let user = lexgate::directory::create_user(
                    c,
                    lexgate::directory::CreateUserInput {
                        email: email.to_owned(),
                        display_name: "Avvocato".to_owned(),
                        role: "lawyer".to_owned(),
                    },
                )?;
                lexgate::identity::set_password(c, &user.id, PASSWORD)?;
                Ok(user.id)
            })
            .await
            .expect("user created");
        let body: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/graphql", a.base_url))
            .json(&json!({
                "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
                "variables": { "e": email, "p": PASSWORD },
            }))
            .send()
            .await
            .expect("login sent")
            .json()
            .await
            .expect("login answer");
        let token = body["data"]["login"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("login: {body:#}"))
            .to_owned();
        users.push((id, token));
    }
    let (_, body) = a
        .gql(
            &admin,
            "mutation { createApiKey(input: { name: \"billing sync\", role: \"integration\" }) { secret apiKey { id } } }",
            json!({}),
        )
        .await;
    let key_secret = body["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("key: {body:#}"))
        .to_owned();
    let key_id = body["data"]["createApiKey"]["apiKey"]["id"].clone();
    let [(rossi_id, rossi), (_, bianchi)] = &users[..] else {
        panic!("two users");
    };
    // B has seen (and remembers) every credential, twice.
    for credential in [rossi, bianchi, &key_secret] {
        for _ in 0..2 {
            assert!(works(b.gql(credential, VIEWER, json!({})).await));
        }
    }

    // Logged out through A: refused by B at once; the other session still works on B.
    let (_, body) = a
        .gql(bianchi, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"]["loggedOut"], true, "{body:#}");
    assert!(refused(b.gql(bianchi, VIEWER, json!({})).await));
    assert!(works(b.gql(rossi, VIEWER, json!({})).await));

    // The API key revoked through A.
    let (_, body) = a
        .gql(
            &admin,
            "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } } }",
            json!({ "id": key_id }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(refused(b.gql(&key_secret, VIEWER, json!({})).await));

    // The user deactivated through A.
    let (_, body) = a
        .gql(
            &admin,
            "mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { active } } }",
            json!({ "id": lexgate::ids::encode(lexgate::ids::NodeType::User, rossi_id) }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(refused(b.gql(rossi, VIEWER, json!({})).await));
    assert!(works(b.gql(&admin, VIEWER, json!({})).await));
}

/// Two servers sync one OAuth connector with rotating refresh tokens (the fake provider
/// refuses a spent one with `invalid_grant`): after B refreshed, A syncs with the tokens B
/// stored instead of spending the old refresh token again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sync_one_oauth_connector_one_after_the_other() {
    use crate::sync::{secret_box, SECRETS_KEY, SECRETS_KEY_ID};
    use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
    use lexgate_connectors::{ContactOrigin, RemoteContact};

    let database = tokio::task::spawn_blocking(SharedDatabase::create)
        .await
        .expect("database");
    let secrets = format!("secrets_key_id = \"{SECRETS_KEY_ID}\"\n[secrets_keys]\n{SECRETS_KEY_ID} = \"{SECRETS_KEY}\"");
    let a = Server::start(&database.url, &secrets)
        .await
        .expect("A starts");
    let b = Server::start(&database.url, &secrets)
        .await
        .expect("B starts");
    let admin = admin_key(&database.url).await;
    let provider = FakeProvider::start().await;
    let (_, body) = a
        .gql(
            &admin,
            "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id } } }",
            json!({ "input": {
                "name": "billing", "kind": "json_feed", "baseUrl": provider.base_url,
                "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                "authUrl": format!("{}/authorize", provider.base_url),
                "tokenUrl": format!("{}/token", provider.base_url),
                "sourceDetail": "Billing system",
            } }),
        )
        .await;
    let id = body["data"]["createConnectorInstance"]["connectorInstance"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("instance created: {body:#}"))
        .to_owned();
    // Tokens as the authorisation would have stored them.
    let tokens = provider.issue_tokens();
    let db = lexgate::db::Database::connect(&database.url, 1, false)
        .await
        .expect("database reachable");
    db.transaction(move |c| {
        let row = lexgate::sync::instances::by_name(c, "billing")?;
        lexgate::sync::instances::save_tokens(c, &secret_box(), &row.id, &tokens)
    })
    .await
    .expect("tokens stored");
    let mut people = (0..).map(|i| RemoteContact {
        external_id: format!("c-{i}"),
        origin: ContactOrigin::BillingClient,
        given_name: Some("Mario".into()),
        family_name: Some(format!("Rossi{i}")),
        ..RemoteContact::default()
    });
    const RUN: &str =
        "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status created errors { message } } } }";
    let run = |server: &Server| {
        let (server_url, key, id) = (server.base_url.clone(), admin.clone(), id.clone());
        async move {
            let body: serde_json::Value = reqwest::Client::new()
                .post(format!("{server_url}/graphql"))
                .bearer_auth(key)
                .json(&json!({ "query": RUN, "variables": { "id": id } }))
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            body["data"]["runConnectorSync"]["run"].clone()
        }
    };
    // Each replica has synced once with the stored tokens (and holds them).
    for server in [&a, &b] {
        provider.upsert(people.next().expect("person"));
        let outcome = run(server).await;
        assert_eq!(outcome["status"], "SUCCEEDED", "{outcome:#}");
    }
    // The access token is revoked: B refreshes, spending the refresh token A holds too.
    provider.expire_access_tokens();
    provider.upsert(people.next().expect("person"));
    let outcome = run(&b).await;
    assert_eq!(outcome["status"], "SUCCEEDED", "{outcome:#}");
    assert_eq!(provider.refreshes(), 1);
    // A's next sync works, with B's tokens.
    provider.upsert(people.next().expect("person"));
    let outcome = run(&a).await;
    assert_eq!(outcome["status"], "SUCCEEDED", "{outcome:#}");
    assert_eq!(outcome["created"], 1, "{outcome:#}");
    assert_eq!(provider.refreshes(), 1, "A did not refresh again");
}

/// A transaction that reads before it writes is not failed by a write another process makes
/// in between. On SQLite a deferred transaction would: its read pins a snapshot, and its
/// first write then fails at once with "database is locked" (CI saw a sync run fail so).
/// `db::transaction` takes the write lock up front, and the other writer waits for it.
async fn a_write_from_another_process_does_not_fail_a_transaction(backend: Backend) {
    use diesel::prelude::*;
    use lexgate::db::schema::teams;

    fn add_team(conn: &mut lexgate::db::AnyConnection, name: &str) -> lexgate::error::Result<()> {
        let at = lexgate::db::now();
        diesel::insert_into(teams::table)
            .values((
                teams::id.eq(lexgate::db::new_id()),
                teams::name.eq(name),
                teams::created_at.eq(at),
                teams::updated_at.eq(at),
            ))
            .execute(conn)?;
        Ok(())
    }

    let app = TestApp::start(backend).await;
    // A pool of its own, with its own in-process write lock: another process, as far as
    // locking goes.
    let other = lexgate::db::Database::connect(&app.database_url, 1, false)
        .await
        .expect("second pool");
    let (has_read, read) = tokio::sync::oneshot::channel();
    let first = app.db.transaction(move |c| {
        let before: i64 = teams::table.count().get_result(c)?;
        let _ = has_read.send(());
        std::thread::sleep(Duration::from_millis(300));
        add_team(c, "Contenzioso")?;
        Ok(before)
    });
    let second = async {
        read.await.expect("the first transaction read");
        other.run(|c| add_team(c, "Societario")).await
    };
    let (first, second) = tokio::join!(first, second);
    let before = first.expect("the transaction that read first commits");
    second.expect("the other process's write commits");
    let after: i64 = app
        .db
        .run(|c| Ok(teams::table.count().get_result(c)?))
        .await
        .expect("count");
    assert_eq!(after, before + 2, "both teams were written");
}

crate::on_both_backends!(a_write_from_another_process_does_not_fail_a_transaction);
