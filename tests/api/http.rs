//! The HTTP surface: GraphQL over HTTP (media types, methods, status codes), the
//! playground, health and readiness.

use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn post_raw(app: &TestApp, accept: &str, content: &str, body: String) -> reqwest::Response {
    app.client
        .post(format!("{}/graphql", app.base_url))
        .header(ACCEPT, accept)
        .header(CONTENT_TYPE, content)
        .body(body)
        .send()
        .await
        .expect("request sent")
}

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::start(backend).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.expect("json")["status"], "ok");
    let ready = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<Value>().await.expect("json")["status"],
        "ready"
    );
}

async fn playground_is_served_to_browsers(backend: Backend) {
    let app = TestApp::start(backend).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("playground");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(content_type(&page).starts_with("text/html"));
    let html = page.text().await.expect("html");
    assert!(
        html.to_lowercase().contains("graphiql"),
        "not the playground: {html}"
    );
    let root = app
        .client
        .get(&app.base_url)
        .send()
        .await
        .expect("root follows the redirect");
    assert_eq!(root.url().path(), "/graphql");
}

async fn post_negotiates_the_response_media_type(backend: Backend) {
    let app = TestApp::start(backend).await;
    let body = json!({ "query": "{ users { totalCount } }" }).to_string();
    let modern = post_raw(&app, GRAPHQL_RESPONSE, "application/json", body.clone()).await;
    assert_eq!(modern.status(), StatusCode::OK);
    assert_eq!(content_type(&modern), GRAPHQL_RESPONSE);
    assert_eq!(
        modern.json::<Value>().await.expect("json")["data"]["users"]["totalCount"],
        0
    );

    let legacy = post_raw(
        &app,
        "application/json",
        "application/json; charset=utf-8",
        body.clone(),
    )
    .await;
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(content_type(&legacy), "application/json");

    let refused = post_raw(&app, "application/xml", "application/json", body.clone()).await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);

    let wrong_type = post_raw(&app, GRAPHQL_RESPONSE, "text/plain", body).await;
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn request_errors_are_400_for_graphql_response_json_and_200_for_json(backend: Backend) {
    let app = TestApp::start(backend).await;
    let not_json = post_raw(
        &app,
        GRAPHQL_RESPONSE,
        "application/json",
        "{ nope".to_owned(),
    )
    .await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);

    let syntax = json!({ "query": "{ users { totalCount " }).to_string();
    let modern = post_raw(&app, GRAPHQL_RESPONSE, "application/json", syntax.clone()).await;
    assert_eq!(modern.status(), StatusCode::BAD_REQUEST);
    let body: Value = modern.json().await.expect("json");
    assert!(body["errors"][0]["message"].is_string());
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );

    // application/json answers 200, with the same body: no data entry before execution.
    let legacy = post_raw(&app, "application/json", "application/json", syntax).await;
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(content_type(&legacy), "application/json");
    let body: Value = legacy.json().await.expect("json");
    assert!(body["errors"][0]["message"].is_string());
    assert!(
        body.get("data").is_none(),
        "a request error has no data with application/json either: {body}"
    );
    let not_json = post_raw(
        &app,
        "application/json",
        "application/json",
        "{ nope".to_owned(),
    )
    .await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let legacy_invalid = post_raw(
        &app,
        "application/json",
        "application/json",
        json!({ "query": "{ nonsense }" }).to_string(),
    )
    .await;
    assert_eq!(legacy_invalid.status(), StatusCode::OK);
    let body: Value = legacy_invalid.json().await.expect("json");
    assert!(body["errors"][0]["message"].is_string());
    assert!(
        body.get("data").is_none(),
        "a validation error has no data with application/json either: {body}"
    );
    let uncoerced = post_raw(
        &app,
        "application/json",
        "application/json",
        json!({
            "query": "query ($first: Int) { teams(first: $first) { totalCount } }",
            "variables": { "first": "many" }
        })
        .to_string(),
    )
    .await;
    assert_eq!(uncoerced.status(), StatusCode::OK);
    let body: Value = uncoerced.json().await.expect("json");
    assert!(body["errors"][0]["message"].is_string());
    assert!(
        body.get("data").is_none(),
        "variables that do not coerce are a request error: {body}"
    );

    let unknown_field = json!({ "query": "{ nonsense }" }).to_string();
    let invalid = post_raw(&app, GRAPHQL_RESPONSE, "application/json", unknown_field).await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let body: Value = invalid.json().await.expect("json");
    assert!(
        body.get("data").is_none(),
        "a validation error has no data: {body}"
    );

    // A field error is not a request error: the response still has data.
    let missing = json!({ "query": "{ contact(id: \"bm90LWFuLWlk\") { id } }" }).to_string();
    let field_error = post_raw(&app, GRAPHQL_RESPONSE, "application/json", missing).await;
    assert_eq!(field_error.status(), StatusCode::OK);
    let body: Value = field_error.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["path"][0], "contact");
    assert!(
        body.get("data").is_some(),
        "a field error keeps data: {body}"
    );
    let missing = json!({ "query": "{ contact(id: \"bm90LWFuLWlk\") { id } }" }).to_string();
    let legacy_field_error = post_raw(&app, "application/json", "application/json", missing).await;
    assert_eq!(legacy_field_error.status(), StatusCode::OK);
    let body: Value = legacy_field_error.json().await.expect("json");
    assert!(
        body.get("data").is_some(),
        "a field error keeps data: {body}"
    );
}

async fn get_runs_queries_but_not_mutations(backend: Backend) {
    let app = TestApp::start(backend).await;
    let query = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .query(&[
            ("query", "query Count { teams { totalCount } }"),
            ("operationName", "Count"),
        ])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("get");
    assert_eq!(query.status(), StatusCode::OK);
    assert_eq!(
        query.json::<Value>().await.expect("json")["data"]["teams"]["totalCount"],
        0
    );

    let mutation = "mutation { createTeam(input: { name: \"Contenzioso\" }) { team { id } } }";
    let refused = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .query(&[("query", mutation)])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("get");
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        refused.headers().get(ALLOW).and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let teams = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(
        teams["teams"]["totalCount"], 0,
        "the mutation must not have run"
    );
}

async fn batches_answer_in_order(backend: Backend) {
    let app = TestApp::start(backend).await;
    let body = json!([
        { "query": "mutation { createTeam(input: { name: \"Lavoro\" }) { team { name } } }" },
        { "query": "{ teams { totalCount } }" }
    ])
    .to_string();
    let response = post_raw(&app, "application/json", "application/json", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answers: Value = response.json().await.expect("json");
    assert_eq!(answers[0]["data"]["createTeam"]["team"]["name"], "Lavoro");
    assert_eq!(answers[1]["data"]["teams"]["totalCount"], 1);
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.body_limit_bytes = 2048).await;
    let padding = " ".repeat(4096);
    let body = json!({ "query": format!("{{ teams {{ totalCount }} }}{padding}") }).to_string();
    let response = post_raw(&app, "application/json", "application/json", body).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// The GraphQL over HTTP audit suite (npm `graphql-http`, installed by `.ci/run`): every
/// MUST and SHOULD audit passes.
async fn graphql_http_audit_passes_must_and_should(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, token) = app.sign_in("audit@example.com", "admin").await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http");
    assert!(
        dir.join("node_modules/graphql-http").is_dir(),
        "the graphql-http audit is not installed: run `npm ci --prefix tests/graphql-http` (.ci/run does)"
    );
    let output = tokio::process::Command::new("node")
        .arg("audit.mjs")
        .arg(format!("{}/graphql", app.base_url))
        .env("LEXGATE_AUDIT_TOKEN", token)
        .current_dir(&dir)
        .output()
        .await
        .expect("node runs (install Node.js: .ci/run does)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "graphql-http audit failed:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("MUST "), "no audit ran: {report}");
}

on_both_backends!(
    graphql_http_audit_passes_must_and_should,
    health_and_readiness,
    playground_is_served_to_browsers,
    post_negotiates_the_response_media_type,
    request_errors_are_400_for_graphql_response_json_and_200_for_json,
    get_runs_queries_but_not_mutations,
    batches_answer_in_order,
    oversized_bodies_are_refused,
);
