//! Database access on PostgreSQL, three ways, on the same seeded database and the same requests:
//!
//! - `sync`: today's path, lexgate's own API: `Database::run` takes a connection from the
//!   deadpool pool and hops to Tokio's blocking pool, where the synchronous `PgConnection`
//!   (inside `AnyConnection`) runs the domain functions (`contacts::get`, `contacts::list`,
//!   `contacts::emails_of`, `contacts::phones_of`). Q1's two child loads run as the
//!   DataLoaders run them: concurrently, one `run` (one hop, one pooled connection) each.
//! - `async`: diesel-async's `AsyncPgConnection` from its bb8 pool, the same Diesel queries
//!   awaited one after the other on one connection, no blocking-pool hop.
//! - `async-pipelined`: the same, with Q1's two independent child loads polled together on
//!   one connection, so diesel-async pipelines them (both sent before either answer is read).
//!
//! Workloads: Q0, one contact by primary key; Q1, the first 50 contacts by name with their
//! e-mail addresses and phone numbers (three statements). Each cell runs `--concurrency` tasks
//! in a loop for `--duration` seconds after a warm-up, `--rounds` times with the paths'
//! order rotated (the machine is shared); it reports requests/s (median of the rounds),
//! p50/p99 latency over every request of the rounds, the client process's CPU time per
//! request (getrusage: user + system, every thread, the blocking pool's included; PostgreSQL's
//! own CPU is not in it) and the 1-minute load average when the cell ended.
//!
//! `cargo bench --bench db_access` (see BENCHMARKS.md, "diesel-async evaluation"); the
//! database named by `--database-url` is created, migrated and seeded when it has no contacts.
//! Prints a Markdown table on stderr and one JSON object on stdout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::pooled_connection::bb8;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use lexgate::access_policy::Scope;
use lexgate::contacts::{
    self, ContactColumns, ContactOrder, ContactQuery, ContactRow, ContactRules, EmailRow, PhoneRow,
};
use lexgate::db::schema::{contact_emails, contact_phones, contacts as contacts_table};
use lexgate::db::Database;
use lexgate::listing::{group_by_key, Page};
use lexgate::seed::{synthetic, SyntheticSizes};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// A PostgreSQL database of its own: created if missing, migrated, and seeded when it has
    /// no contacts.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/lexgate_db_access"
    )]
    database_url: String,
    /// Contacts seeded into an empty database.
    #[arg(long, default_value_t = 5_000)]
    contacts: u64,
    /// Seconds measured per path, workload, concurrency and round.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent request tasks, one cell each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Connections in each pool (lexgate's default).
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// One contact by primary key.
    Q0,
    /// The first 50 contacts by name with e-mail addresses and phone numbers.
    Q1,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Q0 => "Q0 one contact by id",
            Workload::Q1 => "Q1 50 contacts with emails and phones",
        }
    }

    /// Pipelining needs independent statements: Q0 has one.
    fn paths(self) -> &'static [AccessPath] {
        match self {
            Workload::Q0 => &[AccessPath::Sync, AccessPath::Async],
            Workload::Q1 => &[
                AccessPath::Sync,
                AccessPath::Async,
                AccessPath::AsyncPipelined,
            ],
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AccessPath {
    Sync,
    Async,
    AsyncPipelined,
}

impl AccessPath {
    fn name(self) -> &'static str {
        match self {
            AccessPath::Sync => "sync (lexgate today)",
            AccessPath::Async => "async",
            AccessPath::AsyncPipelined => "async-pipelined",
        }
    }
}

type AsyncPool = bb8::Pool<AsyncPgConnection>;

/// What a request loaded, to check that every path answers the same.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    contact_ids: Vec<String>,
    emails: usize,
    phones: usize,
}

struct Paths {
    db: Database,
    pool: AsyncPool,
    rules: Arc<ContactRules>,
    /// Q0's keys, taken in turn.
    ids: Arc<Vec<String>>,
}

impl Paths {
    async fn request(
        &self,
        workload: Workload,
        path: AccessPath,
        n: usize,
    ) -> anyhow::Result<Answer> {
        let id = &self.ids[n % self.ids.len()];
        match (workload, path) {
            (Workload::Q0, AccessPath::Sync) => self.q0_sync(id.clone()).await,
            (Workload::Q0, _) => self.q0_async(id).await,
            (Workload::Q1, AccessPath::Sync) => self.q1_sync().await,
            (Workload::Q1, path) => self.q1_async(path == AccessPath::AsyncPipelined).await,
        }
    }

    async fn q0_sync(&self, id: String) -> anyhow::Result<Answer> {
        let row = self.db.run(move |conn| contacts::get(conn, &id)).await?;
        Ok(Answer::of(&[row], 0, 0))
    }

    async fn q0_async(&self, id: &str) -> anyhow::Result<Answer> {
        let mut conn = self.pool.get().await?;
        let row = contacts_table::table
            .find(id)
            .select(ContactRow::as_select())
            .first::<ContactRow>(&mut *conn)
            .await?;
        Ok(Answer::of(&[row], 0, 0))
    }

    async fn q1_sync(&self) -> anyhow::Result<Answer> {
        let rules = self.rules.clone();
        let page = self
            .db
            .run(move |conn| {
                contacts::list(
                    conn,
                    &Scope::Firm,
                    &ContactQuery::default(),
                    ContactOrder::default(),
                    FIRST_PAGE,
                    &rules,
                    ContactColumns::All,
                )
            })
            .await?;
        let ids: Vec<String> = page.iter().map(|c| c.id().to_owned()).collect();
        let (email_ids, phone_ids) = (ids.clone(), ids.clone());
        let (emails, phones) = tokio::try_join!(
            self.db
                .run(move |conn| contacts::emails_of(conn, &email_ids)),
            self.db
                .run(move |conn| contacts::phones_of(conn, &phone_ids)),
        )?;
        Ok(Answer {
            contact_ids: ids,
            emails: count(&emails),
            phones: count(&phones),
        })
    }

    /// The same statements as `contacts::list` (Firm scope, no filter, name order),
    /// `contacts::emails_of` and `contacts::phones_of` emit, written for diesel-async.
    async fn q1_async(&self, pipelined: bool) -> anyhow::Result<Answer> {
        let mut conn = self.pool.get().await?;
        let page = contacts_table::table
            .order_by((contacts_table::sort_name.asc(), contacts_table::id.asc()))
            .offset(FIRST_PAGE.offset)
            .limit(FIRST_PAGE.limit)
            .select(ContactRow::as_select())
            .load::<ContactRow>(&mut *conn)
            .await?;
        let ids: Vec<&str> = page.iter().map(|c| c.id.as_str()).collect();
        let emails = contact_emails::table
            .filter(contact_emails::contact_id.eq_any(&ids))
            .order_by((contact_emails::contact_id, contact_emails::position))
            .select(EmailRow::as_select());
        let phones = contact_phones::table
            .filter(contact_phones::contact_id.eq_any(&ids))
            .order_by((contact_phones::contact_id, contact_phones::position))
            .select(PhoneRow::as_select());
        let (emails, phones) = if pipelined {
            // Loading through a shared reference lets both statements be in flight at once.
            let shared: &AsyncPgConnection = &conn;
            tokio::try_join!(
                emails.load::<EmailRow>(&mut &*shared),
                phones.load::<PhoneRow>(&mut &*shared),
            )?
        } else {
            let emails = emails.load::<EmailRow>(&mut *conn).await?;
            (emails, phones.load::<PhoneRow>(&mut *conn).await?)
        };
        let emails = group_by_key(emails, |r| r.contact_id.clone());
        let phones = group_by_key(phones, |r| r.contact_id.clone());
        Ok(Answer::of(&page, count(&emails), count(&phones)))
    }
}

const FIRST_PAGE: Page = Page {
    offset: 0,
    limit: 50,
};

fn count<V>(grouped: &HashMap<String, Vec<V>>) -> usize {
    grouped.values().map(Vec::len).sum()
}

impl Answer {
    fn of(rows: &[ContactRow], emails: usize, phones: usize) -> Answer {
        Answer {
            contact_ids: rows.iter().map(|c| c.id.clone()).collect(),
            emails,
            phones,
        }
    }
}

/// User plus system CPU time of this process so far (all threads).
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// One measurement: `tasks` tasks sending requests back to back until `duration` is over.
struct Sample {
    requests: usize,
    seconds: f64,
    cpu: Duration,
    /// Every request's latency, in microseconds.
    latencies: Vec<u64>,
}

async fn measure(
    paths: &Arc<Paths>,
    workload: Workload,
    path: AccessPath,
    tasks: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let deadline = started + duration;
    let mut running = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let paths = paths.clone();
        running.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = task * 7_919;
            while Instant::now() < deadline {
                let sent = Instant::now();
                paths.request(workload, path, n).await?;
                latencies.push(sent.elapsed().as_micros() as u64);
                n += 1;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = running.join_next().await {
        latencies.extend(done??);
    }
    Ok(Sample {
        requests: latencies.len(),
        seconds: started.elapsed().as_secs_f64(),
        cpu: cpu_time() - cpu_before,
        latencies,
    })
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    (sorted[at] as f64 / 10.0).round() / 100.0
}

async fn prepare(args: &Args) -> anyhow::Result<Paths> {
    setup::create_database(&args.database_url)?;
    let db = Database::connect(&args.database_url, args.pool_size, true)
        .await
        .context("the benchmark database")?;
    let seeded: i64 = db
        .run(|conn| {
            Ok(diesel::RunQueryDsl::get_result(
                contacts_table::table.count(),
                conn,
            )?)
        })
        .await?;
    if seeded == 0 {
        eprintln!("seeding {} contacts", args.contacts);
        let sizes = SyntheticSizes {
            contacts: args.contacts,
            matters: args.contacts / 10,
            communications: 0,
            deadlines: 0,
        };
        synthetic(&db, sizes, 42, |_| {}).await?;
        db.run(|conn| {
            Ok(lexgate::db::refresh_statistics(
                conn,
                &["contacts", "contact_emails", "contact_phones"],
            )?)
        })
        .await?;
    }
    let ids: Vec<String> = db
        .run(|conn| {
            let ids = contacts_table::table
                .select(contacts_table::id)
                .order_by(contacts_table::id);
            Ok(diesel::RunQueryDsl::load(ids, conn)?)
        })
        .await?;
    if ids.is_empty() {
        bail!("the benchmark database has no contacts");
    }
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(&args.database_url);
    let pool = bb8::Pool::builder()
        .max_size(args.pool_size as u32)
        .build(manager)
        .await?;
    Ok(Paths {
        db,
        pool,
        rules: Arc::new(ContactRules::default()),
        ids: Arc::new(ids),
    })
}

/// The database's creation, with the synchronous Diesel API (kept apart: both `RunQueryDsl`
/// traits in one scope make every query method ambiguous).
mod setup {
    use anyhow::{bail, Context};
    use diesel::prelude::*;

    /// Creates the URL's database through the server's `postgres` database unless it exists.
    pub fn create_database(url: &str) -> anyhow::Result<()> {
        let Some((server, name)) = url.rsplit_once('/') else {
            bail!("--database-url names no database");
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--database-url: the database name may hold letters, digits and _ only");
        }
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres"))
            .context("PostgreSQL (the benchmark needs it)")?;
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Exists>(&mut admin)?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.database_url.starts_with("postgres") {
        bail!("diesel-async is evaluated on PostgreSQL: --database-url must be postgres://");
    }
    let paths = Arc::new(prepare(&args).await?);
    for workload in [Workload::Q0, Workload::Q1] {
        let reference = paths.request(workload, AccessPath::Sync, 0).await?;
        for &path in workload.paths() {
            let answer = paths.request(workload, path, 0).await?;
            if answer != reference {
                bail!(
                    "{} answered {} differently: {answer:?} against {reference:?}",
                    path.name(),
                    workload.name()
                );
            }
        }
    }

    let duration = Duration::from_secs_f64(args.duration);
    let warm_up = Duration::from_secs_f64((args.duration / 3.0).min(1.0));
    let load_before = load_average();
    let mut cells = Vec::new();
    eprintln!("| workload | tasks | path | requests/s | p50 ms | p99 ms | CPU µs/request | load |");
    eprintln!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for workload in [Workload::Q0, Workload::Q1] {
        for &tasks in &args.concurrency {
            let order = workload.paths();
            let mut samples: Vec<Vec<Sample>> = order.iter().map(|_| Vec::new()).collect();
            for round in 0..args.rounds {
                for k in 0..order.len() {
                    let at = (k + round) % order.len();
                    measure(&paths, workload, order[at], tasks, warm_up).await?;
                    samples[at].push(measure(&paths, workload, order[at], tasks, duration).await?);
                }
            }
            let load = load_average();
            for (path, runs) in order.iter().zip(samples) {
                let mut rates: Vec<f64> =
                    runs.iter().map(|s| s.requests as f64 / s.seconds).collect();
                rates.sort_by(f64::total_cmp);
                let rate = rates[rates.len() / 2];
                let requests: usize = runs.iter().map(|s| s.requests).sum();
                let cpu: Duration = runs.iter().map(|s| s.cpu).sum();
                let mut latencies: Vec<u64> = runs.into_iter().flat_map(|s| s.latencies).collect();
                latencies.sort_unstable();
                let cpu_us = (cpu.as_secs_f64() * 1e6 / requests.max(1) as f64).round();
                let (p50, p99) = (
                    percentile_ms(&latencies, 0.5),
                    percentile_ms(&latencies, 0.99),
                );
                eprintln!(
                    "| {} | {tasks} | {} | {:.0} | {p50:.2} | {p99:.2} | {cpu_us:.0} | {load:.2} |",
                    workload.name(),
                    path.name(),
                    rate,
                );
                cells.push(json!({
                    "workload": workload.name(), "tasks": tasks, "path": path.name(),
                    "requests_per_second": rate.round(), "rounds": rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
                    "p50_ms": p50, "p99_ms": p99, "cpu_us_per_request": cpu_us, "load_average": load,
                }));
            }
        }
    }
    let result = json!({
        "contacts": paths.ids.len(),
        "pool_size": args.pool_size,
        "duration": args.duration,
        "rounds": args.rounds,
        "load_average": { "before": load_before, "after": load_average() },
        "cells": cells,
    });
    println!("{result}");
    Ok(())
}
