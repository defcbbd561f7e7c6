//! `GET /metrics`: refused without the token, absent without one configured, and after some
//! requests it holds their counts and latencies, the pool's usage and the access log's batches.

use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures::create_person;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

pub const TOKEN: &str = "metrics-token-for-the-tests-0123456789";

pub async fn scrape(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    // A client without the harness's admin key: the metrics token is all that counts.
    let request = reqwest::Client::new().get(format!("{}/metrics", app.base_url));
    let request = match authorization {
        Some(value) => request.header(AUTHORIZATION, value),
        None => request,
    };
    request.send().await.expect("metrics request")
}

/// The value of the sample whose line starts with `series` (name and labels).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn metrics_need_the_token(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.metrics_token = Some(TOKEN.to_owned())).await;
    assert_eq!(scrape(&app, None).await.status(), StatusCode::UNAUTHORIZED);
    let wrong = scrape(&app, Some("Bearer metrics-token-for-the-tests-0123456780")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    // A user's session is not the metrics token either.
    let (_, session) = app.sign_in("ops@example.com", "admin").await;
    let user = scrape(&app, Some(&format!("Bearer {session}"))).await;
    assert_eq!(user.status(), StatusCode::UNAUTHORIZED);
    let right = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(right.status(), StatusCode::OK);

    let without = TestApp::start(backend).await;
    let none = scrape(&without, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}

async fn metrics_count_requests_pool_and_access_log(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.metrics_token = Some(TOKEN.to_owned())).await;
    // Servers in this test process share one recorder: names unique to this test.
    let ok = format!("MetricsProbe{backend:?}");
    let broken = format!("MetricsBroken{backend:?}");
    for _ in 0..3 {
        app.data(
            &format!("query {ok} {{ teams {{ totalCount }} }}"),
            json!({}),
        )
        .await;
    }
    app.error(&format!("query {broken} {{ nonsense }}"), json!({}))
        .await;
    // Reading a contact's personal field goes through the group-committed access log (a
    // change's own entry is written in the change's transaction instead).
    let id = create_person(&app, "Maria", "Bianchi", json!({})).await;
    app.data(
        "query($id: ID!) { contact(id: $id) { id displayName } }",
        json!({ "id": id }),
    )
    .await;

    let response = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("content type")
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.expect("metrics text");

    let requests = format!("lexgate_graphql_requests_total{{operation=\"{ok}\",outcome=\"ok\"}}");
    assert_eq!(sample(&text, &requests), Some(3.0), "{text}");
    let refused = format!(
        "lexgate_graphql_requests_total{{operation=\"{broken}\",outcome=\"request_error\"}}"
    );
    assert_eq!(sample(&text, &refused), Some(1.0), "{text}");
    let latency = format!(
        "lexgate_graphql_request_duration_seconds_bucket{{operation=\"{ok}\",outcome=\"ok\",le=\"+Inf\"}}"
    );
    assert_eq!(sample(&text, &latency), Some(3.0), "{text}");
    let latency_count = format!(
        "lexgate_graphql_request_duration_seconds_count{{operation=\"{ok}\",outcome=\"ok\"}}"
    );
    assert_eq!(sample(&text, &latency_count), Some(3.0), "{text}");

    assert!(
        sample(&text, "lexgate_db_pool_max_connections").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "lexgate_db_pool_connections{state=\"idle\"}").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "lexgate_access_log_batch_entries_count").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "lexgate_access_log_batches_total{outcome=\"ok\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "lexgate_access_log_commit_duration_seconds_count{outcome=\"ok\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE lexgate_graphql_request_duration_seconds histogram"));
}

on_both_backends!(
    metrics_need_the_token,
    metrics_count_requests_pool_and_access_log
);
