//! Test harness: every test gets its own fresh database (an SQLite file in a temporary
//! directory, or a new PostgreSQL database dropped afterwards) and its own server on a free
//! loopback port, reached over real HTTP.

use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use lexgate::config::Settings;
use lexgate::db::Database;
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the per-test PostgreSQL databases are created.
fn postgres_admin_url() -> String {
    std::env::var("LEXGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Owns the test database and removes it when the test ends.
enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                let _ =
                    conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

fn create_database(backend: Backend) -> (String, DbGuard) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("lexgate.db").display());
            (url, DbGuard::Sqlite(dir))
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("lexgate_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin_url)
                .expect("PostgreSQL must be running for the PostgreSQL tests (see README)");
            conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .expect("create test database");
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            (url, DbGuard::Postgres { admin_url, name })
        }
    }
}

/// Every test app starts with an admin API key, which `client` sends on every request. A key
/// rather than a user, so the users a test creates are the only ones there are.
async fn bootstrap_admin_key(db: &Database) -> String {
    db.transaction(|c| lexgate::identity::create_api_key(c, "test harness", "admin", None, None))
        .await
        .expect("admin key created")
        .1
}

/// A running lexgate on a fresh database.
pub struct TestApp {
    pub base_url: String,
    pub database_url: String,
    pub db: Database,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _guard: Arc<DbGuard>,
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (url, guard) = tokio::task::spawn_blocking(move || create_database(backend))
            .await
            .expect("database set-up");
        let mut settings = Settings {
            database_url: url,
            pool_size: 4,
            ..Settings::default()
        };
        adjust(&mut settings);
        let database_url = settings.database_url.clone();
        let state = lexgate::server::app_state(&settings)
            .await
            .expect("app state");
        let db = state.db.clone();
        let token = bootstrap_admin_key(&state.db).await;
        let router = lexgate::http::router(state, &settings)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = format!("Bearer {token}").parse().expect("header value");
        headers.insert(reqwest::header::AUTHORIZATION, bearer);
        TestApp {
            base_url: format!("http://{addr}"),
            database_url,
            db,
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("HTTP client"),
            shutdown: Some(tx),
            _guard: Arc::new(guard),
        }
    }

    /// Sends a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent");
        response.json().await.expect("JSON response")
    }

    /// Sends a GraphQL request with another caller's bearer credential.
    pub async fn gql_as(&self, bearer: &str, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .bearer_auth(bearer)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent");
        response.json().await.expect("JSON response")
    }

    /// Creates an active user with `role` and logs them in; returns their global ID and an
    /// access token.
    pub async fn sign_in(&self, email: &str, role: &str) -> (String, String) {
        const PASSWORD: &str = "Ombrello-Verde-2026";
        let (email_owned, role) = (email.to_owned(), role.to_owned());
        let user_id = self
            .db
            .transaction(move |c| {
                let user = lexgate::directory::create_user(
                    c,
                    lexgate::directory::CreateUserInput {
                        email: email_owned,
                        display_name: "Test User".to_owned(),
                        role,
                    },
                )?;
                lexgate::identity::set_password(c, &user.id, PASSWORD)?;
                Ok(user.id)
            })
            .await
            .expect("user created");
        let body: Value = reqwest::Client::new()
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({
                "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
                "variables": { "e": email, "p": PASSWORD },
            }))
            .send()
            .await
            .expect("login sent")
            .json()
            .await
            .expect("login body");
        let token = body["data"]["login"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {body:#}"))
            .to_owned();
        let global = lexgate::ids::encode(lexgate::ids::NodeType::User, &user_id).to_string();
        (global, token)
    }

    /// Sends a GraphQL request that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Sends a GraphQL request that must fail and returns its first error.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        body["errors"]
            .get(0)
            .cloned()
            .unwrap_or_else(|| panic!("expected an error, got {body:#}"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs each listed async test fn (taking a `Backend`) once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Backend::Postgres).await
                }
            )*
        }
    };
}
