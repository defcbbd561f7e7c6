//! Logs and traces of a real `lexgate serve` process: JSON log lines on standard error, and
//! OpenTelemetry traces received over OTLP/HTTP by a collector started here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};

use lexgate_connectors::testing::FakeProvider;
use lexgate_connectors::{ContactOrigin, RemoteContact};

use crate::harness::Backend;
use crate::on_both_backends;
use crate::processes::{admin_key, Server, SharedDatabase};
use crate::sync::{secret_box, SECRETS_KEY, SECRETS_KEY_ID};

const PASSWORD: &str = "Lanterna-Rossa-Sul-Po-1987";
const EMAIL: &str = "ornella.vanoni@studio-legale.it";
/// A personal value sent only as a variable: it must appear in no log line and no span.
const PERSONAL: &str = "Gianmarco Tognazzi-Ferretti";
/// A record the connector pulls: it must not reach a span either.
const REMOTE_FAMILY_NAME: &str = "Scarabelli-Trace";

/// The database a test's server runs on, removed afterwards.
enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres(SharedDatabase),
}

impl TestDatabase {
    fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::Sqlite(tempfile::tempdir().expect("directory")),
            Backend::Postgres => TestDatabase::Postgres(SharedDatabase::create()),
        }
    }

    fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite(dir) => {
                format!("sqlite://{}", dir.path().join("lexgate.db").display())
            }
            TestDatabase::Postgres(db) => db.url.clone(),
        }
    }
}

/// A user who can log in with `PASSWORD`.
async fn add_user(database_url: &str) {
    let db = lexgate::db::Database::connect(database_url, 1, false)
        .await
        .expect("database reachable");
    db.transaction(|c| {
        let user = lexgate::directory::create_user(
            c,
            lexgate::directory::CreateUserInput {
                email: EMAIL.to_owned(),
                display_name: "Ornella Vanoni".to_owned(),
                role: "lawyer".to_owned(),
            },
        )?;
        lexgate::identity::set_password(c, &user.id, PASSWORD)
    })
    .await
    .expect("user created");
}

/// Logs in (once with a wrong password, once rightly); returns the tokens the server issued.
async fn log_in(server: &Server) -> Vec<String> {
    let login = |password: &str| {
        reqwest::Client::new()
            .post(format!("{}/graphql", server.base_url))
            .json(&json!({
                "query": "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken refreshToken } }",
                "variables": { "email": EMAIL, "password": password },
            }))
            .send()
    };
    let refused: Value = login("Lanterna-Sbagliata-1987")
        .await
        .expect("request sent")
        .json()
        .await
        .expect("json");
    assert!(refused["errors"][0]["message"].is_string(), "{refused}");
    let answer = login(PASSWORD).await.expect("request sent");
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.expect("json");
    let tokens: Vec<String> = ["accessToken", "refreshToken"]
        .iter()
        .map(|t| {
            body["data"]["login"][t]
                .as_str()
                .expect("a token")
                .to_owned()
        })
        .collect();
    tokens
}

/// Stops the server with SIGTERM and waits for it to exit (it exports its last spans then).
async fn stop(server: &mut Server) {
    server.terminate();
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the server stops within 30 s")
        .expect("exit status");
    assert!(status.success(), "lexgate exited with {status}");
}

async fn json_logs_are_one_object_per_line_without_secrets(backend: Backend) {
    let database = TestDatabase::create(backend);
    let url = database.url();
    let mut server = Server::start(&url, "log_format = \"json\"")
        .await
        .expect("server starts");
    add_user(&url).await;
    let tokens = log_in(&server).await;
    let (status, _) = server
        .gql(
            &tokens[0],
            "query($text: String) { teams(text: $text) { totalCount } }",
            json!({ "text": PERSONAL }),
        )
        .await;
    assert_eq!(status, 200);
    stop(&mut server).await;

    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "too few log lines: {log}");
    let entries: Vec<Value> = lines
        .iter()
        .map(|line| {
            let entry: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(entry.is_object(), "not a JSON object: {line}");
            for field in ["timestamp", "level", "message", "target"] {
                assert!(entry[field].is_string(), "no {field} in {line}");
            }
            entry
        })
        .collect();
    let messages: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("lexgate listening on")),
        "no start-up line: {log}"
    );
    assert!(
        messages.contains(&"lexgate stopped"),
        "no shut-down line: {log}"
    );
    for secret in [
        PASSWORD,
        "Lanterna-Sbagliata-1987",
        &tokens[0],
        &tokens[1],
        PERSONAL,
    ] {
        assert!(!log.contains(secret), "the log holds `{secret}`: {log}");
    }
}

/// What a collector received: the spans and the resources they came with.
#[derive(Default, Clone)]
struct Received(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

impl Received {
    fn spans(&self) -> Vec<Span> {
        let exports = self.0.lock().expect("not poisoned");
        exports
            .iter()
            .flat_map(|e| &e.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    fn service_names(&self) -> Vec<String> {
        let exports = self.0.lock().expect("not poisoned");
        exports
            .iter()
            .flat_map(|e| &e.resource_spans)
            .filter_map(|r| r.resource.as_ref())
            .flat_map(|r| &r.attributes)
            .filter(|a| a.key == "service.name")
            .filter_map(|a| text(a.value.as_ref()))
            .collect()
    }
}

/// A minimal OTLP/HTTP collector on 127.0.0.1: decodes every protobuf export it is sent.
async fn start_collector() -> (String, Received) {
    let received = Received::default();
    let store = received.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let export = ExportTraceServiceRequest::decode(body).expect("an OTLP export");
                store.0.lock().expect("not poisoned").push(export);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), received)
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a: &&KeyValue| a.key == key)
        .and_then(|a| text(a.value.as_ref()))
}

/// Whether `span` descends from `ancestor` (through its parents in the same trace).
fn descends_from(span: &Span, ancestor: &Span, spans: &[Span]) -> bool {
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        if parent == ancestor.span_id {
            return true;
        }
        parent = spans
            .iter()
            .find(|s| s.span_id == parent && s.trace_id == span.trace_id)
            .map(|s| s.parent_span_id.clone())
            .unwrap_or_default();
    }
    false
}

/// A connector instance `billing` on the fake provider, with its secrets sealed by the test
/// key, as the server's config file entry.
fn billing_connector(provider: &FakeProvider) -> String {
    format!(
        "secrets_key_id = \"{SECRETS_KEY_ID}\"\n[secrets_keys]\n\"{SECRETS_KEY_ID}\" = \"{SECRETS_KEY}\"\n\
         [[connectors]]\nname = \"billing\"\nkind = \"json_feed\"\nbase_url = \"{base}\"\n\
         client_id = \"lexgate\"\nclient_secret = \"fake-client-secret\"\n\
         auth_url = \"{base}/authorize\"\ntoken_url = \"{base}/token\"\n\
         [[connectors.provenance]]\norigin = \"billing_client\"\nbasis = \"contract\"\n\
         purpose_key = \"client_relationship\"\ncategory = \"client\"\n",
        base = provider.base_url
    )
}

/// Stores the provider's tokens for `billing`, as if the OAuth authorisation had run.
async fn authorise(database_url: &str, provider: &FakeProvider) {
    let tokens = provider.issue_tokens();
    let db = lexgate::db::Database::connect(database_url, 1, false)
        .await
        .expect("database reachable");
    db.transaction(move |c| {
        let row = lexgate::sync::instances::by_name(c, "billing")?;
        lexgate::sync::instances::save_tokens(c, &secret_box(), &row.id, &tokens)
    })
    .await
    .expect("tokens stored");
}

async fn otlp_traces_hold_the_request_execution_database_work_and_connector_calls(
    backend: Backend,
) {
    let (endpoint, received) = start_collector().await;
    let provider = FakeProvider::start().await;
    provider.upsert(RemoteContact {
        external_id: "c-1".into(),
        origin: ContactOrigin::BillingClient,
        given_name: Some("Remigio".into()),
        family_name: Some(REMOTE_FAMILY_NAME.into()),
        emails: vec!["remigio@example.it".into()],
        ..RemoteContact::default()
    });
    let database = TestDatabase::create(backend);
    let url = database.url();
    let mut server = Server::start(
        &url,
        &format!(
            "otlp_endpoint = \"{endpoint}\"\notlp_service_name = \"lexgate-test\"\n\
             sync_scheduler = false\n{}",
            billing_connector(&provider)
        ),
    )
    .await
    .expect("server starts");
    authorise(&url, &provider).await;
    add_user(&url).await;
    let tokens = log_in(&server).await;
    let key = admin_key(&url).await;
    let (status, body) = server
        .gql(
            &key,
            "query Teams($text: String) { teams(text: $text) { totalCount } }",
            json!({ "text": PERSONAL }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["teams"]["totalCount"], 0);
    let (_, instances) = server
        .gql(&key, "{ connectorInstances { id } }", json!({}))
        .await;
    let instance = instances["data"]["connectorInstances"][0]["id"].clone();
    let (status, body) = server
        .gql(
            &key,
            "mutation Sync($id: ID!) { runConnectorSync(input: { id: $id }) { run { status } } }",
            json!({ "id": instance }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["runConnectorSync"]["run"]["status"],
        "SUCCEEDED"
    );
    stop(&mut server).await;

    let spans = received.spans();
    assert!(
        received.service_names().iter().all(|n| n == "lexgate-test") && !spans.is_empty(),
        "no spans from lexgate-test: {:?}",
        received.service_names()
    );
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let executions = named("graphql.execute");
    let execution = executions
        .iter()
        .find(|s| attribute(s, "graphql.operation.name").as_deref() == Some("Teams"))
        .unwrap_or_else(|| {
            panic!(
                "no execution span of Teams: {:#?}",
                named("graphql.execute")
            )
        });
    let request = spans
        .iter()
        .find(|s| s.trace_id == execution.trace_id && s.parent_span_id.is_empty())
        .expect("the execution's trace has a root");
    assert_eq!(request.name, "POST /graphql");
    assert_eq!(
        attribute(request, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(descends_from(execution, request, &spans));
    let resolved = spans
        .iter()
        .find(|s| s.name == "Query.teams" && s.trace_id == request.trace_id)
        .expect("a span for the root field teams");
    assert!(descends_from(resolved, execution, &spans));
    let database_work: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name.starts_with("db.") && s.trace_id == request.trace_id)
        .collect();
    assert!(
        database_work
            .iter()
            .any(|s| descends_from(s, request, &spans)),
        "no database span under the request: {spans:#?}"
    );
    let system = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgresql"
    };
    assert!(database_work
        .iter()
        .all(|s| attribute(s, "db.system.name").as_deref() == Some(system)));

    let pull = spans
        .iter()
        .find(|s| s.name == "connector.pull contacts")
        .expect("a span for the connector's pull");
    assert_eq!(
        attribute(pull, "connector.kind").as_deref(),
        Some("json_feed")
    );
    assert_eq!(
        attribute(pull, "connector.instance").as_deref(),
        Some("billing")
    );
    let sync_request = spans
        .iter()
        .find(|s| s.trace_id == pull.trace_id && s.parent_span_id.is_empty())
        .expect("the pull's trace has a root");
    assert_eq!(sync_request.name, "POST /graphql");
    assert!(spans.iter().any(|s| s.trace_id == pull.trace_id
        && s.name == "graphql.execute"
        && attribute(s, "graphql.operation.name").as_deref() == Some("Sync")));

    // Nothing a client sent, a provider holds or the database holds: no variables,
    // records, passwords or tokens, nor the query text (it may carry literals).
    let secrets = [
        REMOTE_FAMILY_NAME,
        "remigio@example.it",
        "fake-client-secret",
        PASSWORD,
        EMAIL,
        PERSONAL,
        &tokens[0],
        &tokens[1],
        &key,
        "teams(text",
    ];
    for span in &spans {
        for attribute in &span.attributes {
            let value = text(attribute.value.as_ref()).unwrap_or_default();
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "span {} attribute {} holds `{secret}`",
                    span.name,
                    attribute.key
                );
            }
        }
        assert!(
            span.events.is_empty(),
            "span {} has events: {:?}",
            span.name,
            span.events
        );
    }
}

on_both_backends!(
    json_logs_are_one_object_per_line_without_secrets,
    otlp_traces_hold_the_request_execution_database_work_and_connector_calls,
);
