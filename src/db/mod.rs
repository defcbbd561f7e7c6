//! The database behind one module: the connection type that spans both backends, the pool,
//! migrations and the unit-of-work helpers every domain service uses.
//!
//! Diesel's `MultiConnection` lets one query code base run on PostgreSQL and SQLite. Work runs
//! as a closure over a synchronous connection on Tokio's blocking pool (one hop per unit of
//! work, not per statement). diesel-async was measured against this path (BENCHMARKS.md,
//! "diesel-async evaluation"): faster on PostgreSQL, but one async code base for both backends
//! needs diesel 2.4's async `MultiConnection`, a migration not made yet.

pub mod schema;
mod text_enum;

pub(crate) use text_enum::text_enum;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_sync::SyncWrapper;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tracing::Instrument;

use crate::error::{Error, Result};

/// The backend type queries are written against: either database at run time.
pub type Db = <AnyConnection as Connection>::Backend;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// One connection to whichever backend the URL names.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The SQLite file path inside `sqlite://path`, `sqlite:path` or a bare path.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Opens a connection on the backend the URL names: never guesses, so a PostgreSQL outage
/// cannot silently fall back to creating an SQLite file named like the URL.
pub fn establish(url: &str) -> ConnectionResult<AnyConnection> {
    match Backend::of_url(url) {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(url)?;
            // Timestamps are UTC and render as ISO text whatever the server's defaults.
            conn.batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';")
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(AnyConnection::Postgresql(conn))
        }
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(sqlite_path(url))?;
            // WAL lets readers run beside the single writer; the busy timeout covers other
            // processes (a CLI seed while the server runs). `synchronous = FULL` syncs the WAL
            // at every commit: with NORMAL the last commits can be lost on power loss, and a
            // response must not be sent before its access-log entries are on disk (the group
            // commit of the access log pays one sync per batch, not per request).
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
            )
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(AnyConnection::Sqlite(conn))
        }
    }
}

/// Refreshes the planner's statistics of `tables` on PostgreSQL (a no-op on SQLite, whose
/// planner does not depend on them). For bulk work into tables that grow from empty: plans
/// made while a table was small keep scanning it whole, or pick the wrong index, until its
/// statistics change, which without autovacuum (or before it wakes) does not happen.
pub fn refresh_statistics(conn: &mut AnyConnection, tables: &[&str]) -> QueryResult<()> {
    match conn {
        AnyConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("ANALYZE {}", tables.join(", ")))
        }
        AnyConnection::Sqlite(_) => Ok(()),
    }
}

/// Takes the PostgreSQL advisory lock `key` until the current transaction ends, unless another
/// session holds it (then `false`, at once): for work that must run in one process at a time
/// across replicas. On SQLite it is always granted: its single writer already runs write
/// transactions one after the other.
pub fn try_transaction_lock(conn: &mut AnyConnection, key: i64) -> Result<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    match conn {
        AnyConnection::Postgresql(pg) => {
            let query = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(key);
            Ok(query.get_result::<Locked>(pg)?.locked)
        }
        AnyConnection::Sqlite(_) => Ok(true),
    }
}

/// Runs `work` in a transaction on `conn`, or in a savepoint inside the one already open: all
/// of it is written or none of it. Use this, never diesel's `Connection::transaction`.
///
/// On SQLite the outermost transaction begins `IMMEDIATE`, taking the write lock before its
/// first read. A deferred one reads from a snapshot and upgrades at its first write; if
/// another connection (another process: the in-process lock of [`Database`] cannot see it)
/// committed in between, the upgrade fails at once with "database is locked", which the
/// busy timeout does not cover. Taking the lock up front makes the other writer wait instead.
pub fn transaction<T, E, F>(conn: &mut AnyConnection, work: F) -> std::result::Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> std::result::Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <AnyConnection as Connection>::TransactionManager;
    let began_immediate = match conn {
        AnyConnection::Sqlite(sqlite) => {
            match AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
                Ok(()) => true,
                Err(diesel::result::Error::AlreadyInTransaction) => false,
                Err(e) => return Err(e.into()),
            }
        }
        AnyConnection::Postgresql(_) => false,
    };
    if !began_immediate {
        #[allow(clippy::disallowed_methods)] // the one place diesel's own transaction runs
        return conn.transaction(work);
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(failure) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(failure),
            Err(rollback_failure) => Err(rollback_failure.into()),
        },
    }
}

/// The most bind parameters one statement may carry on both backends: SQLite's limit
/// (`SQLITE_MAX_VARIABLE_NUMBER`, 32766 since 3.32); PostgreSQL allows 65535.
const MAX_BIND_PARAMETERS: usize = 32_766;

/// Inserts `rows` into `table` with multi-row `INSERT`s, as few as the bind-parameter limit
/// allows (`binds_per_row`: the values one row binds, i.e. its column count). Returns the
/// number of rows inserted.
///
/// On SQLite, derive the row's `Insertable` with `treat_none_as_default_value = false`:
/// Diesel's default makes every field (optional or not) possibly `DEFAULT`, which SQLite
/// cannot write in `VALUES`, so Diesel falls back to one `INSERT` per row.
pub fn insert_batch<T, R>(
    conn: &mut AnyConnection,
    table: T,
    rows: &[R],
    binds_per_row: usize,
) -> Result<usize>
where
    T: Copy,
    R: BatchRow<T>,
{
    let rows_per_statement = (MAX_BIND_PARAMETERS / binds_per_row.max(1)).max(1);
    let mut inserted = 0;
    for chunk in rows.chunks(rows_per_statement) {
        inserted += R::insert_chunk(conn, table, chunk)?;
    }
    Ok(inserted)
}

/// Rows that one multi-row `INSERT` can write into table `T` on both backends; implemented
/// for every such row type.
///
/// Diesel's `MultiBackend` has no batch insert, so the one generic statement is executed on
/// the concrete connection inside the enum: both arms run the same query, type-checked once
/// per backend. The bounds live on this trait rather than on [`insert_batch`] because bounds
/// on `&[R]` with `R` not yet inferred overflow the trait solver at the call site; a bound on
/// `R` itself waits until the arguments have fixed `R`.
pub trait BatchRow<T>: Sized {
    fn insert_chunk(conn: &mut AnyConnection, table: T, chunk: &[Self]) -> QueryResult<usize>;
}

impl<T, R> BatchRow<T> for R
where
    T: Table + Copy,
    for<'a> &'a [R]: Insertable<T>,
    for<'a> diesel::query_builder::InsertStatement<T, <&'a [R] as Insertable<T>>::Values>:
        diesel::query_dsl::methods::ExecuteDsl<diesel::PgConnection>
            + diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>,
{
    fn insert_chunk(conn: &mut AnyConnection, table: T, chunk: &[R]) -> QueryResult<usize> {
        let statement = diesel::insert_into(table).values(chunk);
        match conn {
            AnyConnection::Postgresql(pg) => statement.execute(pg),
            AnyConnection::Sqlite(sqlite) => statement.execute(sqlite),
        }
    }
}

/// The PostgreSQL advisory lock held while migrating (any number, the same in every process).
const MIGRATION_LOCK: i64 = 0x006c_6578_676d_6967;

/// Runs the pending migrations of the URL's backend; returns how many ran.
///
/// On PostgreSQL under an advisory lock: replicas started together would otherwise apply the
/// same migration twice, and all but one would fail on a duplicate. The others wait, then
/// find nothing pending. (SQLite's write lock already serialises them.)
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize> {
    let applied = match conn {
        AnyConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.len());
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            applied
        }
        AnyConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|applied| applied.len()),
    }
    .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
    Ok(applied)
}

/// Counts the SQL statements every pooled connection runs: the cheap, backend-neutral way to
/// prove that DataLoaders keep statements per request bounded by query depth. While asked to
/// ([`Database::record_statements`]) it also keeps their text, to show what they read.
#[derive(Clone, Default)]
pub struct StatementCounter {
    count: Arc<AtomicU64>,
    recorded: Arc<RecordedStatements>,
}

#[derive(Default)]
struct RecordedStatements {
    on: AtomicBool,
    texts: std::sync::Mutex<Vec<String>>,
}

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            self.count.fetch_add(1, Ordering::Relaxed);
            if self.recorded.on.load(Ordering::Relaxed) {
                // The SQL alone: diesel appends the bind values, which are personal data.
                let text = query.to_string();
                let sql = text.split(" -- binds: ").next().unwrap_or_default();
                self.recorded
                    .texts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(sql.to_owned());
            }
        }
    }
}

/// deadpool manager that opens [`AnyConnection`]s through [`establish`].
pub struct ConnectionManager {
    url: String,
    counter: StatementCounter,
}

impl managed::Manager for ConnectionManager {
    type Type = SyncWrapper<AnyConnection>;
    type Error = Error;

    async fn create(&self) -> Result<Self::Type> {
        let url = self.url.clone();
        let counter = self.counter.clone();
        SyncWrapper::new(deadpool::Runtime::Tokio1, move || {
            let mut conn = establish(&url)?;
            conn.set_instrumentation(counter);
            Ok::<_, Error>(conn)
        })
        .await
    }

    /// Hands out only connections that work: a connection the server has not used for a while
    /// may have been closed by a database restart or an administrator (`pg_terminate_backend`)
    /// without anyone noticing, so it is checked with one cheap query first; old and broken
    /// ones are replaced. Busy connections skip the query (a failure on them is caught by
    /// [`Database::run`]).
    async fn recycle(&self, conn: &mut Self::Type, metrics: &Metrics) -> RecycleResult<Error> {
        if conn.is_mutex_poisoned() {
            return Err(RecycleError::message("connection mutex poisoned"));
        }
        if metrics.age() > MAX_CONNECTION_LIFETIME {
            return Err(RecycleError::message(
                "connection reached its maximum lifetime",
            ));
        }
        if metrics.last_used() > MAX_IDLE_TIME {
            return Err(RecycleError::message("connection idle for too long"));
        }
        let check = metrics.last_used() > CHECK_AFTER_IDLE;
        let healthy = conn
            .interact(move |c| !is_broken(c) && (!check || c.batch_execute("SELECT 1").is_ok()))
            .await
            .unwrap_or(false);
        if healthy {
            Ok(())
        } else {
            Err(RecycleError::message("connection no longer works"))
        }
    }
}

/// A pooled connection older than this is closed and replaced, so none outlives a failover
/// or a configuration change on the server side for long.
const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A connection unused for this long is closed rather than checked.
const MAX_IDLE_TIME: Duration = Duration::from_secs(10 * 60);

/// A connection unused for this long is checked with `SELECT 1` before it is handed out.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Whether diesel gave up on the connection's transaction state (a failed rollback).
fn is_broken(conn: &mut AnyConnection) -> bool {
    use diesel::connection::TransactionManager;
    <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
}

pub type Pool = managed::Pool<ConnectionManager>;

/// A connection outside the pool, from [`Database::dedicated_connection`].
pub struct DedicatedConnection(SyncWrapper<AnyConnection>);

/// The application's handle on its database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    /// SQLite has a single writer: this process's transactions queue for it here, in order,
    /// rather than in SQLite's busy handler, which polls (other processes still wait there).
    write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    statements: StatementCounter,
}

impl Database {
    /// Opens a pool on `url`, creating the SQLite file if needed, and optionally migrates.
    pub async fn connect(url: &str, pool_size: usize, migrate: bool) -> Result<Database> {
        let backend = Backend::of_url(url);
        let statements = StatementCounter::default();
        let manager = ConnectionManager {
            url: url.to_owned(),
            counter: statements.clone(),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Internal(format!("cannot build connection pool: {e}")))?;
        let db = Database {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(()))),
            statements,
        };
        if migrate {
            let applied = db.run(run_migrations).await?;
            tracing::info!(applied, "database migrations applied");
        }
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Total SQL statements run through this pool so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.get()
    }

    /// Starts keeping the SQL text (without bind values) of every statement the pool runs,
    /// until [`Database::recorded_statements`]: how tests see which columns a query reads.
    pub fn record_statements(&self) {
        let recorded = &self.statements.recorded;
        recorded
            .texts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        recorded.on.store(true, Ordering::Relaxed);
    }

    /// The statements run since [`Database::record_statements`], which stops recording.
    pub fn recorded_statements(&self) -> Vec<String> {
        let recorded = &self.statements.recorded;
        recorded.on.store(false, Ordering::Relaxed);
        std::mem::take(&mut *recorded.texts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `work` on a pooled connection, outside any explicit transaction (reads).
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run_on_pool(work).instrument(self.span("db.run")).await
    }

    /// The trace span of a piece of database work (the statements are not recorded: their
    /// parameters are personal data).
    fn span(&self, name: &'static str) -> tracing::Span {
        tracing::info_span!(
            target: crate::telemetry::TRACE_TARGET,
            "db",
            otel.name = name,
            otel.kind = "client",
            db.system.name = match self.backend {
                Backend::Postgres => "postgresql",
                Backend::Sqlite => "sqlite",
            },
        )
    }

    async fn run_on_pool<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.pool.get().await.map_err(pool_error)?;
        let (result, healthy) = conn
            .interact(move |c| {
                let result = work(c);
                // A failure that is not the caller's may be the connection's: check it
                // before it goes back to the pool.
                let healthy = match &result {
                    Err(e) if e.is_server_side() => {
                        !is_broken(c) && c.batch_execute("SELECT 1").is_ok()
                    }
                    _ => true,
                };
                (result, healthy)
            })
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))?;
        if !healthy {
            tracing::warn!("a database connection stopped working: replacing it and every idle one opened before");
            // A restart or a mass termination closes every connection opened before it:
            // those waiting in the pool would fail the next requests one by one.
            drop(managed::Object::take(conn));
            self.pool.retain(|_, _| false);
            return result
                .map_err(|e| Error::Unavailable(format!("database connection lost: {e}")));
        }
        result
    }

    /// Runs `work` in one transaction: all of it is written or none of it.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let transaction = async {
            let _guard = match &self.write_lock {
                Some(lock) => Some(lock.lock().await),
                None => None,
            };
            self.run_on_pool(move |conn| transaction(conn, work)).await
        };
        transaction.instrument(self.span("db.transaction")).await
    }

    /// A connection of its own, outside the pool (its statements are counted with the
    /// pool's): for a task that writes continually and must not queue behind requests for a
    /// pooled connection, the access log's group-commit writer.
    pub async fn dedicated_connection(&self) -> Result<DedicatedConnection> {
        managed::Manager::create(self.pool.manager())
            .await
            .map(DedicatedConnection)
    }

    /// Runs `work` in one transaction on `conn`, like [`Database::transaction`] (on SQLite,
    /// after the in-process write lock).
    pub async fn transaction_on<T, F>(&self, conn: &DedicatedConnection, work: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let transaction = async {
            let _guard = match &self.write_lock {
                Some(lock) => Some(lock.lock().await),
                None => None,
            };
            conn.0
                .interact(move |c| transaction(c, work))
                .await
                .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
        };
        transaction.instrument(self.span("db.transaction")).await
    }

    /// Runs `work` in a transaction that is always rolled back: a dry run sees exactly what
    /// the real run would do, and changes nothing.
    pub async fn dry_run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _guard = match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        self.run(move |conn| {
            let mut outcome = None;
            let rolled_back = transaction::<(), Error, _>(conn, |c| {
                outcome = Some(work(c)?);
                Err(Error::Database(diesel::result::Error::RollbackTransaction))
            });
            match (rolled_back, outcome) {
                (Err(Error::Database(diesel::result::Error::RollbackTransaction)), Some(v)) => {
                    Ok(v)
                }
                (Err(e), _) => Err(e),
                (Ok(()), _) => Err(Error::Internal("a dry run committed".to_owned())),
            }
        })
        .await
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        self.run(|conn| Ok(conn.batch_execute("SELECT 1")?)).await
    }

    /// The pool's size, idle connections and waiting requests (for metrics).
    pub fn pool_status(&self) -> managed::Status {
        self.pool.status()
    }
}

fn pool_error(e: managed::PoolError<Error>) -> Error {
    match e {
        managed::PoolError::Backend(inner) => inner,
        other => Error::Unavailable(format!("database connection pool: {other}")),
    }
}

/// A fresh application-generated identifier (time-ordered, so inserts stay index-friendly).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current time, truncated to microseconds so both backends store the same value.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}
