//! Surviving the database going away, replicas started together, scheduled work run once
//! across processes, and stopping cleanly.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::processes::{admin_key, Cluster, Server, SharedDatabase};

const COUNT_CONTACTS: &str = "{ contacts(first: 1) { totalCount } }";

/// Polls until `check` holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
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
