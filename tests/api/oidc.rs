//! Bearer tokens from an OpenID Connect provider, against a local issuer the test starts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const AUDIENCE: &str = "lexgate-api";
const ISSUER_KEY: &[u8] = include_bytes!("keys/oidc-test-issuer.pem");
const OTHER_KEY: &[u8] = include_bytes!("keys/oidc-other.pem");
const JWKS: &str = include_str!("keys/oidc-test-jwks.json");

/// A provider publishing discovery and its key set; counts key-set downloads.
struct LocalIssuer {
    url: String,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn start_issuer() -> LocalIssuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let counter = jwks_fetches.clone();
    let discovery = json!({ "issuer": url, "jwks_uri": format!("{url}/jwks.json") });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks.json",
            get(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Json(serde_json::from_str::<Value>(JWKS).expect("JWKS fixture"))
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    LocalIssuer { url, jwks_fetches }
}

fn token(issuer: &str, key: &[u8], claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".to_owned());
    let now = chrono::Utc::now().timestamp();
    let mut body = json!({ "iss": issuer, "aud": AUDIENCE, "sub": "anna@firm.example", "iat": now, "exp": now + 300, "roles": ["partner"] });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), claims) {
        body.extend(extra);
    }
    let key = EncodingKey::from_rsa_pem(key).expect("test key");
    jsonwebtoken::encode(&header, &body, &key).expect("signed")
}

async fn viewer(app: &TestApp, bearer: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(bearer)
        .json(&json!({ "query": "{ viewer { role externalSubject user { id } } }" }))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn provider_tokens_map_their_role_claim(backend: Backend) {
    let issuer = start_issuer().await;
    let url = issuer.url.clone();
    let app = TestApp::start_with(backend, move |s| {
        s.oidc_issuer = Some(url);
        s.oidc_audience = Some(AUDIENCE.to_owned());
    })
    .await;
    let good = token(&issuer.url, ISSUER_KEY, json!({}));
    let (status, body) = viewer(&app, &good).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["data"]["viewer"]["role"], "partner");
    assert_eq!(
        body["data"]["viewer"]["externalSubject"],
        "anna@firm.example"
    );
    assert!(body["data"]["viewer"]["user"].is_null());

    // The key set is cached: more requests, no more downloads.
    let lawyer = token(
        &issuer.url,
        ISSUER_KEY,
        json!({ "roles": ["Staff-Portal", "LAWYER"] }),
    );
    let (_, body) = viewer(&app, &lawyer).await;
    assert_eq!(
        body["data"]["viewer"]["role"], "lawyer",
        "first claim value naming a lexgate role"
    );
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 1);

    for (name, bad) in [
        (
            "wrong audience",
            token(&issuer.url, ISSUER_KEY, json!({ "aud": "another-app" })),
        ),
        (
            "expired",
            token(
                &issuer.url,
                ISSUER_KEY,
                json!({ "exp": chrono::Utc::now().timestamp() - 600 }),
            ),
        ),
        ("forged signature", token(&issuer.url, OTHER_KEY, json!({}))),
        (
            "no lexgate role",
            token(&issuer.url, ISSUER_KEY, json!({ "roles": ["viewer"] })),
        ),
    ] {
        let (status, body) = viewer(&app, &bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{name}"
        );
    }
    // A token naming another issuer is not sent to the provider: it is just invalid.
    let (status, _) = viewer(
        &app,
        &token("http://127.0.0.1:9/elsewhere", ISSUER_KEY, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn provider_tokens_are_refused_when_no_provider_is_configured(backend: Backend) {
    let issuer = start_issuer().await;
    let app = TestApp::start(backend).await;
    let (status, _) = viewer(&app, &token(&issuer.url, ISSUER_KEY, json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 0);
}

on_both_backends!(
    provider_tokens_map_their_role_claim,
    provider_tokens_are_refused_when_no_provider_is_configured,
);
