//! Test harness: every test gets its own database and its own server on a free loopback port.
//!
//! The database is a copy of a template migrated once: on PostgreSQL a `CREATE DATABASE ...
//! TEMPLATE` clone (dropped when the test ends), on SQLite a copied file in a temporary
//! directory. The templates are named after a hash of the migrations, so a changed migration
//! never reuses a stale one. `LEXGATE_TEST_FRESH_DATABASES=1` migrates every test's database
//! from empty instead.
//!
//! The GraphQL helpers (`gql`, `gql_as`, `data`, `error`, `sign_in`) hand their requests to the
//! router in-process (tower's `oneshot`), each on a task of its own as hyper would run it;
//! everything else (`client` with `base_url`) goes over real HTTP to the same router.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use lexgate::config::Settings;
use lexgate::db::Database;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower::ServiceExt;

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

/// The URL of database `name` on the server `admin_url` points at.
fn postgres_url(admin_url: &str, name: &str) -> String {
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{name}")
}

/// Whether each test migrates its own database from empty (to rule the templates out).
fn fresh_databases() -> bool {
    std::env::var("LEXGATE_TEST_FRESH_DATABASES").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// How many templates of other migration sets are kept (other branches' test runs may be
/// using them); older ones are dropped whenever a new template is built.
const OTHER_TEMPLATES_KEPT: usize = 3;

/// A hash of every file under `migrations/<backend>` (paths and contents): the templates'
/// names, so that any change to a migration builds a new template.
fn migrations_hash(backend: Backend) -> String {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("migrations directory readable") {
            let path = entry.expect("migrations directory entry").path();
            if path.is_dir() {
                collect(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("file under the root");
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        let mut contents = Vec::new();
        std::fs::File::open(&file)
            .and_then(|mut f| f.read_to_end(&mut contents))
            .expect("migration file readable");
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The PostgreSQL advisory lock (on the admin database) under which templates are built and
/// cloned: `CREATE DATABASE ... TEMPLATE` fails while anyone else is connected to the
/// template, and test processes (cargo-nextest runs one per test) race to build it.
const TEMPLATE_LOCK: i64 = 0x6c65_7874_706c_0001;

/// Creates database `name` as a clone of the migrated template, building the template
/// first if this set of migrations has none yet.
fn clone_postgres_template(admin: &mut diesel::PgConnection, admin_url: &str, name: &str) {
    let template = format!("lexgate_template_{}", migrations_hash(Backend::Postgres));
    // Released when the admin connection closes, should this panic half-way.
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .expect("template lock taken");
    if !postgres_database_exists(admin, &template) {
        build_postgres_template(admin, admin_url, &template);
    }
    admin
        .batch_execute(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .expect("test database cloned from the template");
    admin
        .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .expect("template lock released");
}

fn postgres_database_exists(admin: &mut diesel::PgConnection, name: &str) -> bool {
    use diesel::RunQueryDsl;
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result(admin)
    .expect("pg_database readable")
}

/// Migrates a new template under a temporary name and renames it when complete, so a run
/// that dies half-way leaves nothing that looks usable. Runs under [`TEMPLATE_LOCK`], so any
/// partial template found is an orphan; templates beyond the newest [`OTHER_TEMPLATES_KEPT`]
/// of other migration sets go too.
fn build_postgres_template(admin: &mut diesel::PgConnection, admin_url: &str, template: &str) {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let existing: Vec<Named> = diesel::sql_query(
        "SELECT datname::text AS datname FROM pg_database \
         WHERE datname LIKE 'lexgate\\_template\\_%' ORDER BY oid DESC",
    )
    .load(admin)
    .expect("templates listed");
    let (partial, complete): (Vec<_>, Vec<_>) = existing
        .into_iter()
        .map(|n| n.datname)
        .partition(|n| n.ends_with("_partial"));
    for stale in partial
        .into_iter()
        .chain(complete.into_iter().skip(OTHER_TEMPLATES_KEPT))
    {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{stale}\" WITH (FORCE)"))
            .expect("stale template dropped");
    }
    let partial = format!("{template}_partial");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{partial}\""))
        .expect("template database created");
    {
        let mut conn = lexgate::db::establish(&postgres_url(admin_url, &partial))
            .expect("template database reachable");
        lexgate::db::run_migrations(&mut conn).expect("template migrated");
    }
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{partial}\" RENAME TO \"{template}\""
        ))
        .expect("template renamed");
}

/// The migrated SQLite template file, built if missing. A new one is migrated under a
/// temporary name and renamed into place, so concurrent processes never copy a half-built
/// file (two racing builders both rename a complete one).
fn sqlite_template() -> PathBuf {
    let dir = std::env::temp_dir().join("lexgate-test-templates");
    let template = dir.join(format!("sqlite-{}.db", migrations_hash(Backend::Sqlite)));
    if template.exists() {
        return template;
    }
    std::fs::create_dir_all(&dir).expect("template directory");
    let partial = dir.join(format!("sqlite-{}.partial", uuid::Uuid::new_v4().simple()));
    {
        let url = format!("sqlite://{}", partial.display());
        let mut conn = lexgate::db::establish(&url).expect("template database opened");
        lexgate::db::run_migrations(&mut conn).expect("template migrated");
        // One self-contained file: no write-ahead log beside it to copy.
        conn.batch_execute("PRAGMA journal_mode = DELETE")
            .expect("template journal mode");
    }
    std::fs::rename(&partial, &template).expect("template moved into place");
    prune_sqlite_templates(&dir, &template);
    template
}

/// Removes the SQLite templates beyond the newest [`OTHER_TEMPLATES_KEPT`] of other
/// migration sets, and partial ones older than an hour (left by a run that died).
fn prune_sqlite_templates(dir: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut others = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("db") if path != current => others.push((modified, path)),
            Some("partial") if modified.elapsed().is_ok_and(|age| age.as_secs() > 3600) => {
                let _ = std::fs::remove_file(&path);
            }
            _ => {}
        }
    }
    others.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in others.into_iter().skip(OTHER_TEMPLATES_KEPT) {
        let _ = std::fs::remove_file(path);
    }
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
            let file = dir.path().join("lexgate.db");
            if !fresh_databases() {
                std::fs::copy(sqlite_template(), &file).expect("template copied");
            }
            let url = format!("sqlite://{}", file.display());
            (url, DbGuard::Sqlite(dir))
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("lexgate_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin_url)
                .expect("PostgreSQL must be running for the PostgreSQL tests (see README)");
            if fresh_databases() {
                conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create test database");
            } else {
                clone_postgres_template(&mut conn, &admin_url, &name);
            }
            let url = postgres_url(&admin_url, &name);
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
    /// The router the listener serves, for in-process requests.
    router: axum::Router,
    /// The admin key `client` sends.
    admin_key: String,
    /// The client address in-process requests come from (as over TCP: loopback).
    peer: SocketAddr,
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
        let router = lexgate::http::router(state, &settings);
        let service = router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, service)
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
            router,
            admin_key: token,
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            shutdown: Some(tx),
            _guard: Arc::new(guard),
        }
    }

    /// POSTs a GraphQL request to `/graphql` in-process, with `bearer` if given, and returns
    /// the response body as JSON. The request carries what reqwest's would (host, accept,
    /// content type, the loopback peer address) and runs on its own task, as hyper runs
    /// each connection's.
    async fn post_graphql(&self, bearer: Option<&str>, body: &Value) -> Value {
        use axum::http::header;
        let mut request = axum::http::Request::post("/graphql")
            .header(header::HOST, self.base_url.trim_start_matches("http://"))
            .header(header::ACCEPT, "*/*")
            .header(header::CONTENT_TYPE, "application/json")
            .extension(ConnectInfo(self.peer));
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let request = request
            .body(axum::body::Body::from(body.to_string()))
            .expect("request built");
        let router = self.router.clone();
        let response = tokio::spawn(router.oneshot(request))
            .await
            .expect("request handled")
            .expect("the router is infallible");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "JSON response expected ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// Sends a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_graphql(Some(&self.admin_key), &body).await
    }

    /// Sends a GraphQL request with another caller's bearer credential.
    pub async fn gql_as(&self, bearer: &str, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_graphql(Some(bearer), &body).await
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
        let body = self
            .post_graphql(
                None,
                &json!({
                    "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
                    "variables": { "e": email, "p": PASSWORD },
                }),
            )
            .await;
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
