//! Query limits and HTTP hardening: each limit lets a request just inside it through and
//! refuses one just outside with a clear message and a stable code; introspection and
//! suggestions follow the profile; CORS and security headers.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, ORIGIN};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// Asserts `error` carries `code` and a message mentioning each of `words`.
fn assert_refused(error: &Value, code: &str, words: &[&str]) {
    assert_eq!(error["extensions"]["code"], code, "wrong code: {error:#}");
    let message = error["message"].as_str().unwrap_or_default();
    for word in words {
        assert!(message.contains(word), "`{word}` not in: {message}");
    }
}

async fn post_batch(app: &TestApp, batch: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/graphql", app.base_url))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&batch)
        .send()
        .await
        .expect("request sent")
}

async fn depth_is_limited(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_query_depth = 5).await;
    let five = "{ users { edges { node { teams { name } } } } }";
    app.data(five, json!({})).await;
    let six = "{ users { edges { node { teams { members { id } } } } } }";
    let error = app.error(six, json!({})).await;
    assert_refused(&error, "QUERY_TOO_DEEP", &["nested too deep", "5 levels"]);
}

async fn a_document_seen_before_is_checked_again(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.max_query_complexity = 100;
        s.max_aliases = 1;
    })
    .await;
    // The server keeps parsed documents and passed validations: what it refused once, it
    // refuses again, and what passed does not let a neighbour through.
    let passes = "{ users(first: 33) { edges { node { id } } } }";
    let too_complex = "{ users(first: 34) { edges { node { id } } } }";
    let aliased = "{ a: users(first: 1) { totalCount } b: users(first: 1) { totalCount } }";
    for _ in 0..2 {
        app.data(passes, json!({})).await;
        let error = app.error(too_complex, json!({})).await;
        assert_refused(&error, "QUERY_TOO_COMPLEX", &["100"]);
        let error = app.error(aliased, json!({})).await;
        assert_refused(&error, "TOO_MANY_ALIASES", &["2 aliased"]);
    }
}

async fn complexity_counts_page_sizes(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_query_complexity = 100).await;
    // users(first: n) costs 1 + n × (edges 1 + node 1 + id 1) = 1 + 3n.
    let page = |n: u32| format!("{{ users(first: {n}) {{ edges {{ node {{ id }} }} }} }}");
    app.data(&page(33), json!({})).await; // 100
    let error = app.error(&page(34), json!({})).await; // 103
    assert_refused(&error, "QUERY_TOO_COMPLEX", &["too complex", "100"]);
    // Without first/last a list is counted at the default page size of 50: 151.
    let error = app
        .error("{ users { edges { node { id } } } }", json!({}))
        .await;
    assert_refused(&error, "QUERY_TOO_COMPLEX", &["100"]);
    // The page size given as a variable counts too.
    let by_variable = "query($n: Int) { users(first: $n) { edges { node { id } } } }";
    app.data(by_variable, json!({ "n": 33 })).await;
    let error = app.error(by_variable, json!({ "n": 34 })).await;
    assert_refused(&error, "QUERY_TOO_COMPLEX", &["100"]);
}

/// The default limit lets a full page through and refuses a large page in a large page.
async fn default_complexity_refuses_nested_large_pages(backend: Backend) {
    let app = TestApp::start(backend).await;
    let full_page = "{ contacts(first: 1000) { totalCount edges { cursor node { id displayName \
                     kind category createdAt updatedAt } } } }";
    app.data(full_page, json!({})).await;
    let nested = "{ matters(first: 1000) { edges { node { communications(first: 1000) { \
                  edges { node { id } } } } } } }";
    let error = app.error(nested, json!({})).await;
    assert_refused(&error, "QUERY_TOO_COMPLEX", &["25000"]);
}

async fn aliases_are_limited(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_aliases = 3).await;
    let three = "{ a: users { totalCount } b: users { totalCount } c: teams { totalCount } }";
    let data = app.data(three, json!({})).await;
    assert_eq!(data["c"]["totalCount"], 0);
    let four = "{ a: users { totalCount } b: users { totalCount } c: teams { totalCount } \
                ...More } fragment More on Query { d: teams { totalCount } }";
    let error = app.error(four, json!({})).await;
    assert_refused(
        &error,
        "TOO_MANY_ALIASES",
        &["4 aliased fields", "at most 3"],
    );
}

async fn directives_per_field_are_limited(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_directives = 2).await;
    let two = "{ users @include(if: true) @skip(if: false) { totalCount } }";
    assert_eq!(app.data(two, json!({})).await["users"]["totalCount"], 0);
    let three = "{ users @include(if: true) @skip(if: false) @include(if: true) { totalCount } }";
    let error = app.error(three, json!({})).await;
    assert_refused(
        &error,
        "TOO_MANY_DIRECTIVES",
        &["directives", "`users`", "2"],
    );
}

async fn batches_are_limited(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_batch_size = 2).await;
    let create = |name: &str| json!({ "query": format!("mutation {{ createTeam(input: {{ name: \"{name}\" }}) {{ team {{ name }} }} }}") });
    let inside = post_batch(&app, json!([create("Lavoro"), create("Famiglia")])).await;
    assert_eq!(inside.status(), StatusCode::OK);
    let answers: Value = inside.json().await.expect("json");
    assert_eq!(answers[1]["data"]["createTeam"]["team"]["name"], "Famiglia");

    let batch = json!([create("Penale"), create("Civile"), create("Tributario")]);
    let outside = post_batch(&app, batch).await;
    assert_eq!(outside.status(), StatusCode::BAD_REQUEST);
    let body: Value = outside.json().await.expect("json");
    assert_refused(
        &body["errors"][0],
        "BATCH_TOO_LARGE",
        &["at most 2 operations", "has 3"],
    );
    let teams = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(teams["teams"]["totalCount"], 2, "no operation may have run");
}

/// Holds the only pooled connection for `hold`, returning once it is held.
async fn hold_the_connection(app: &TestApp, hold: Duration) -> tokio::task::JoinHandle<()> {
    let (held_tx, held_rx) = tokio::sync::oneshot::channel();
    let db = app.db.clone();
    let holder = tokio::spawn(async move {
        db.run(move |_conn| {
            let _ = held_tx.send(());
            std::thread::sleep(hold);
            Ok(())
        })
        .await
        .expect("held the connection");
    });
    held_rx.await.expect("connection taken");
    holder
}

/// Deterministic: with one pooled connection held elsewhere, a query waits for it as long as
/// the holder decides, so it finishes inside the limit or runs past it by construction.
async fn slow_requests_time_out(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.pool_size = 1;
        s.request_timeout_ms = 1000;
    })
    .await;
    let query = "{ users { totalCount } }";

    let holder = hold_the_connection(&app, Duration::from_millis(100)).await;
    assert_eq!(app.data(query, json!({})).await["users"]["totalCount"], 0);
    holder.await.expect("holder");

    let holder = hold_the_connection(&app, Duration::from_millis(3000)).await;
    let error = app.error(query, json!({})).await;
    assert_refused(&error, "TIMEOUT", &["longer than 1000 ms"]);
    holder.await.expect("holder");
    // The server is fine afterwards.
    assert_eq!(app.data(query, json!({})).await["users"]["totalCount"], 0);
}

const SCHEMA_QUERY: &str = "{ __schema { queryType { name } } }";
const TYPE_QUERY: &str = "{ __type(name: \"User\") { name } }";

async fn introspection_follows_profile(backend: Backend) {
    let development = TestApp::start(backend).await;
    let data = development.data(SCHEMA_QUERY, json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");

    let production = TestApp::start_with(backend, |s| {
        s.profile = lexgate::config::Profile::Production;
    })
    .await;
    for query in [SCHEMA_QUERY, TYPE_QUERY] {
        let error = production.error(query, json!({})).await;
        assert_refused(
            &error,
            "INTROSPECTION_DISABLED",
            &["introspection is disabled"],
        );
    }
    // __typename is not introspection of the schema: it stays.
    let typename = production.data("{ __typename }", json!({})).await;
    assert_eq!(typename["__typename"], "Query");

    let explicit_on = TestApp::start_with(backend, |s| {
        s.profile = lexgate::config::Profile::Production;
        s.introspection = Some(true);
    })
    .await;
    explicit_on.data(TYPE_QUERY, json!({})).await;

    let explicit_off = TestApp::start_with(backend, |s| s.introspection = Some(false)).await;
    let error = explicit_off.error(SCHEMA_QUERY, json!({})).await;
    assert_refused(&error, "INTROSPECTION_DISABLED", &[]);
}

async fn suggestions_are_hidden_in_production(backend: Backend) {
    let typo = "{ userz { totalCount } }";
    let development = TestApp::start(backend).await;
    let error = development.error(typo, json!({})).await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "no suggestion: {message}");

    let production = TestApp::start_with(backend, |s| {
        s.profile = lexgate::config::Profile::Production;
    })
    .await;
    let error = production.error(typo, json!({})).await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("userz"), "unclear error: {message}");
    assert!(
        !message.contains("Did you mean"),
        "suggestion leaked: {message}"
    );
}

const ALLOWED: &str = "https://crm.example.it";

async fn post_from(app: &TestApp, origin: &str) -> HeaderMap {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header(ORIGIN, origin)
        .json(&json!({ "query": "{ teams { totalCount } }" }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    response.headers().clone()
}

fn allowed_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

async fn cors_allows_only_configured_origins(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.cors_allowed_origins = vec![ALLOWED.to_owned()];
    })
    .await;
    assert_eq!(
        allowed_origin(&post_from(&app, ALLOWED).await),
        Some(ALLOWED)
    );
    assert_eq!(
        allowed_origin(&post_from(&app, "https://evil.example").await),
        None
    );

    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/graphql", app.base_url),
        )
        .header(ORIGIN, ALLOWED)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success());
    let headers = preflight.headers();
    assert_eq!(allowed_origin(headers), Some(ALLOWED));
    let methods = headers
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed_headers = headers
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );

    // Nothing configured: no CORS headers, whoever asks.
    let closed = TestApp::start(backend).await;
    assert_eq!(allowed_origin(&post_from(&closed, ALLOWED).await), None);
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn assert_security_headers(headers: &HeaderMap) {
    assert_eq!(header(headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(headers, "x-frame-options"), "DENY");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer");
    assert!(header(headers, "content-security-policy").contains("default-src 'self'"));
}

/// The origins (`https://host`) of the absolute URLs the page loads scripts, styles and
/// icons from.
/// Every `src` and `href` of the page.
fn loaded_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            urls.push(piece.split('"').next().unwrap_or_default().to_owned());
        }
    }
    urls
}

async fn security_headers_on_every_response(backend: Backend) {
    let app = TestApp::start(backend).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_security_headers(health.headers());

    let graphql = post_batch(&app, json!({ "query": "{ teams { totalCount } }" })).await;
    assert_security_headers(graphql.headers());
    assert_eq!(header(graphql.headers(), "cache-control"), "no-store");

    let refused = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header(CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .expect("refused");
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_security_headers(refused.headers());
    assert_eq!(header(refused.headers(), "cache-control"), "no-store");

    // The playground loads everything from this origin, and the policy allows nothing else.
    let page = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .expect("playground");
    assert_security_headers(page.headers());
    let policy = header(page.headers(), "content-security-policy").to_owned();
    let html = page.text().await.expect("html");
    let urls = loaded_urls(&html);
    assert!(!urls.is_empty(), "the page loads nothing? {html}");
    for url in urls {
        assert!(
            url.starts_with("/playground/") || url.starts_with("data:"),
            "{url} is not served by lexgate"
        );
    }
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("https:"), "{policy}");
}

on_both_backends!(
    depth_is_limited,
    complexity_counts_page_sizes,
    a_document_seen_before_is_checked_again,
    default_complexity_refuses_nested_large_pages,
    aliases_are_limited,
    directives_per_field_are_limited,
    batches_are_limited,
    slow_requests_time_out,
    introspection_follows_profile,
    suggestions_are_hidden_in_production,
    cors_allows_only_configured_origins,
    security_headers_on_every_response,
);
