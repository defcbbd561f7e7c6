//! Authentication: passwords and sessions, API keys, and what anonymous callers get.

use lexgate::directory::CreateUserInput;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const VIEWER: &str = "{ viewer { role user { email } apiKey { name role } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken refreshToken accessTokenExpiresAt user { email } } }";
const PASSWORD: &str = "Ombrello-Verde-2026";

/// Posts a query with an optional bearer credential; returns the status and the body.
async fn send(
    app: &TestApp,
    bearer: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn add_user(app: &TestApp, email: &str, role: &str) -> String {
    let (email, role) = (email.to_owned(), role.to_owned());
    app.db
        .transaction(move |c| {
            let user = lexgate::directory::create_user(
                c,
                CreateUserInput {
                    email,
                    display_name: "Carla Neri".to_owned(),
                    role,
                },
            )?;
            lexgate::identity::set_password(c, &user.id, PASSWORD)?;
            Ok(user.id)
        })
        .await
        .expect("user created")
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    send(
        app,
        None,
        LOGIN,
        json!({ "email": email, "password": password }),
    )
    .await
}

async fn anonymous_callers_get_only_public_things(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (status, body) = send(&app, None, "{ contacts { totalCount } }", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body["data"].is_null());
    let (status, _) = send(
        &app,
        Some("not-a-token"),
        "{ contacts { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Public: health, the playground page, and logging in.
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let page = client
        .get(format!("{}/graphql", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("playground");
    assert_eq!(page.status(), StatusCode::OK);
    add_user(&app, "carla.neri@studio.it", "lawyer").await;
    let (status, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body:#}");
    // A mixed operation is refused whole: nothing private rides along with `login`.
    let (status, _) = send(
        &app,
        None,
        "mutation { login(input: { email: \"x@y.it\", password: \"p\" }) { accessToken } createTeam(input: { name: \"T\" }) { team { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let teams = app.data("{ teams { totalCount } }", json!({})).await;
    assert_eq!(teams["teams"]["totalCount"], 0);
}

async fn login_gives_tokens_that_identify_the_user(backend: Backend) {
    let app = TestApp::start(backend).await;
    add_user(&app, "carla.neri@studio.it", "lawyer").await;
    let (status, body) = login(&app, "Carla.Neri@studio.it", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let session = &body["data"]["login"];
    assert_eq!(session["user"]["email"], "carla.neri@studio.it");
    let token = session["accessToken"].as_str().expect("access token");
    let (status, body) = send(&app, Some(token), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["viewer"]["role"], "lawyer");
    assert_eq!(
        body["data"]["viewer"]["user"]["email"],
        "carla.neri@studio.it"
    );
    // The password is stored as an argon2id hash, never as given.
    let stored: Option<String> = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            use lexgate::db::schema::users;
            Ok(users::table
                .filter(users::email.eq("carla.neri@studio.it"))
                .select(users::password_hash)
                .first::<Option<String>>(c)?)
        })
        .await
        .expect("hash");
    let stored = stored.expect("a hash");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));
}

async fn failed_logins_are_logged_and_rate_limited(backend: Backend) {
    let app = TestApp::start(backend).await;
    add_user(&app, "carla.neri@studio.it", "lawyer").await;
    for _ in 0..5 {
        let (status, body) = login(&app, "carla.neri@studio.it", "Wrong-Password-123").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(body["errors"][0]["message"], "wrong email or password");
    }
    // Locked: even the right password is refused for now.
    let (_, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS",
        "{body:#}"
    );
    let logged: i64 = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            use lexgate::db::schema::login_failures;
            Ok(login_failures::table
                .filter(login_failures::email.eq("carla.neri@studio.it"))
                .count()
                .get_result(c)?)
        })
        .await
        .expect("count");
    assert_eq!(logged, 5);
    // Unknown accounts fail the same way, without saying the account does not exist.
    let (_, body) = login(&app, "nobody@studio.it", PASSWORD).await;
    assert_eq!(body["errors"][0]["message"], "wrong email or password");
}

async fn refresh_rotates_and_logout_ends_the_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    add_user(&app, "carla.neri@studio.it", "lawyer").await;
    let (_, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    let first_refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
    let (status, body) = send(&app, None, REFRESH, json!({ "t": first_refresh })).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let access = body["data"]["refreshSession"]["accessToken"]
        .as_str()
        .expect("access")
        .to_owned();
    let second_refresh = body["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(first_refresh, second_refresh);
    // Reusing the first refresh token ends the session: see security::reused_refresh_tokens_end_the_session.

    let (status, _) = send(&app, Some(&access), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = send(
        &app,
        Some(&access),
        "mutation { logout { loggedOut } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["logout"]["loggedOut"], true, "{body:#}");
    let (status, _) = send(&app, Some(&access), VIEWER, json!({})).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the access token dies with the session"
    );
    let (_, body) = send(&app, None, REFRESH, json!({ "t": second_refresh })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn deactivated_users_are_locked_out_at_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let user = add_user(&app, "carla.neri@studio.it", "lawyer").await;
    let (_, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    let access = body["data"]["login"]["accessToken"]
        .as_str()
        .expect("access")
        .to_owned();
    let id = lexgate::ids::encode(lexgate::ids::NodeType::User, &user);
    app.data(
        "mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { active } } }",
        json!({ "id": id }),
    )
    .await;
    let (status, _) = send(&app, Some(&access), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn weak_passwords_are_refused_with_reasons(backend: Backend) {
    let app = TestApp::start(backend).await;
    let user = add_user(&app, "carla.neri@studio.it", "lawyer").await;
    let id = lexgate::ids::encode(lexgate::ids::NodeType::User, &user);
    const SET: &str = "mutation($id: ID!, $p: String!) { setUserPassword(input: { userId: $id, password: $p }) { loggedOut } }";
    for (weak, reason) in [
        ("short-1", "at least 12 characters"),
        ("password1234", "common passwords"),
        ("carla-neri-2026!", "your name or email"),
    ] {
        let error = app.error(SET, json!({ "id": id, "p": weak })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], "input.password");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{weak}: {message}");
    }
    let (_, body) = login(&app, "carla.neri@studio.it", PASSWORD).await;
    assert!(
        body["data"]["login"]["accessToken"].is_string(),
        "the old password still works"
    );
    app.data(SET, json!({ "id": id, "p": "Nuovo-Ombrello-2027" }))
        .await;
    let (_, body) = login(&app, "carla.neri@studio.it", "Nuovo-Ombrello-2027").await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body:#}");
}

async fn api_keys_are_shown_once_and_can_be_revoked(backend: Backend) {
    let app = TestApp::start(backend).await;
    let created = app
        .data(
            "mutation { createApiKey(input: { name: \"billing sync\", role: \"integration\" }) { secret apiKey { id name role prefix revokedAt lastUsedAt } } }",
            json!({}),
        )
        .await;
    let secret = created["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let key = &created["createApiKey"]["apiKey"];
    assert!(secret.starts_with(&format!("lxg_{}_", key["prefix"].as_str().expect("prefix"))));
    assert!(key["lastUsedAt"].is_null());
    let listed = app.gql("{ apiKeys { id name prefix } }", json!({})).await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never shown again"
    );
    assert_eq!(
        listed["data"]["apiKeys"][0]["name"], "billing sync",
        "newest first"
    );

    let (status, body) = send(&app, Some(&secret), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["data"]["viewer"]["role"], "integration");
    assert_eq!(body["data"]["viewer"]["apiKey"]["name"], "billing sync");
    let used = app.data("{ apiKeys { lastUsedAt } }", json!({})).await;
    assert!(used["apiKeys"][0]["lastUsedAt"].is_string());

    let tampered = format!("{}x", &secret[..secret.len() - 1]);
    let (status, _) = send(&app, Some(&tampered), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.data(
        "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } } }",
        json!({ "id": key["id"] }),
    )
    .await;
    let (status, body) = send(&app, Some(&secret), VIEWER, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let error = app
        .error(
            "mutation { createApiKey(input: { name: \"x\", role: \"emperor\" }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "input.role");
    let error = app
        .error(
            "mutation { createApiKey(input: { name: \"x\", role: \"staff\", expiresAt: \"2020-01-01T00:00:00Z\" }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "input.expiresAt");
}

async fn the_cli_bootstraps_the_first_admin(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
        .args([
            "users",
            "create",
            "--email",
            "dpo@studio.it",
            "--name",
            "Dora Privacy",
            "--role",
            "dpo",
        ])
        .env("DATABASE_URL", &app.database_url)
        .env("LEXGATE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("lexgate runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("password written");
    }
    let output = child.wait_with_output().expect("lexgate finishes");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let (status, body) = login(&app, "dpo@studio.it", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["login"]["user"]["email"], "dpo@studio.it",
        "{body:#}"
    );
}

on_both_backends!(
    anonymous_callers_get_only_public_things,
    login_gives_tokens_that_identify_the_user,
    failed_logins_are_logged_and_rate_limited,
    refresh_rotates_and_logout_ends_the_session,
    deactivated_users_are_locked_out_at_once,
    weak_passwords_are_refused_with_reasons,
    api_keys_are_shown_once_and_can_be_revoked,
    the_cli_bootstraps_the_first_admin,
);
