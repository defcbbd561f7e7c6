//! Real `lexgate serve` processes and throwaway PostgreSQL clusters, for the tests of what
//! happens across processes and across database restarts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

/// A free loopback port (bound and released: another process could take it meanwhile, which
/// the start-up of a server notices and reports).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `lexgate serve` process on its own port; killed when dropped.
pub struct Server {
    pub child: tokio::process::Child,
    pub base_url: String,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts `lexgate serve` on `database_url` with `extra` TOML settings and waits until it
    /// answers `/healthz`; the error holds its log when it exited instead.
    pub async fn start(database_url: &str, extra: &str) -> Result<Server, String> {
        let mut server = Server::spawn(database_url, extra);
        server.wait_until_healthy().await.map(|()| server)
    }

    /// Starts the process without waiting for it.
    pub fn spawn(database_url: &str, extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let config = dir.path().join("lexgate.toml");
        std::fs::write(
            &config,
            format!(
                "database_url = \"{database_url}\"\nbind = \"127.0.0.1:{port}\"\n\
                 auth_secret = \"the-same-secret-on-every-replica-0123456789\"\n{extra}\n"
            ),
        )
        .expect("config written");
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lexgate"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("LEXGATE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("lexgate runs");
        Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    pub async fn wait_until_healthy(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("lexgate exited with {status}:\n{}", self.log()));
            }
            let answer = client
                .get(format!("{}/healthz", self.base_url))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("lexgate did not start in 60 s:\n{}", self.log()))
    }

    /// Sends a GraphQL request with `bearer`; returns the status and the body.
    pub async fn gql(&self, bearer: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", self.base_url))
            .bearer_auth(bearer)
            .json(&json!({ "query": query, "variables": variables }))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The status of `/readyz`, or None when the server did not answer.
    pub async fn ready_status(&self) -> Option<u16> {
        reqwest::Client::new()
            .get(format!("{}/readyz", self.base_url))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }
}

impl Server {
    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server runs");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// The server's address, for raw connections.
    pub fn address(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }
}

/// The directory holding PostgreSQL's server programs (`initdb`, `pg_ctl`): the newest under
/// /usr/lib/postgresql, or `LEXGATE_TEST_PG_BIN`.
fn postgres_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("LEXGATE_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().expect(
        "PostgreSQL's server programs (initdb, pg_ctl) are needed: install the postgresql \
         package (tests/servers/install) or set LEXGATE_TEST_PG_BIN",
    )
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A PostgreSQL cluster of the test's own in a temporary directory, on a spare port: it can be
/// stopped and restarted without touching the server other tests share.
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl Cluster {
    pub fn create() -> Cluster {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("temporary directory");
        if running_as_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            let status = std::process::Command::new("chown")
                .args(["postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "cannot give the cluster to user postgres");
        }
        let cluster = Cluster {
            port: free_port(),
            dir,
            bin,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("PostgreSQL program runs");
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data().display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash or a failover would.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// A new, empty database in the cluster.
    pub fn database(&self, name: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = diesel::PgConnection::establish(&admin).expect("cluster answers");
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("database created");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let program = self.bin.join("pg_ctl");
        let mut command = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// An admin API key created straight in the database (the servers under test share it).
pub async fn admin_key(database_url: &str) -> String {
    api_key(database_url, "admin").await
}

/// An API key of `role` created straight in the database.
pub async fn api_key(database_url: &str, role: &'static str) -> String {
    let db = lexgate::db::Database::connect(database_url, 1, false)
        .await
        .expect("database reachable");
    db.transaction(|c| lexgate::identity::create_api_key(c, "test", role, None, None))
        .await
        .expect("admin key created")
        .1
}

/// A fresh database on the shared PostgreSQL server, dropped with the guard.
pub struct SharedDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl SharedDatabase {
    pub fn create() -> SharedDatabase {
        let admin_url = std::env::var("LEXGATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("lexgate_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin_url)
            .expect("PostgreSQL must be running for the PostgreSQL tests (see README)");
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let base = admin_url.rsplit_once('/').map_or("", |(b, _)| b);
        SharedDatabase {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }
}

impl Drop for SharedDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}
