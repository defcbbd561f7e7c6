//! Import throughput of the sync engine: `--contacts` records from the fake provider (the
//! `json_feed` protocol over OAuth 2, on a loopback port) into an empty database, with every
//! GDPR rule on (source, legal basis citing an LIA, tombstone check, matching by email and
//! phone). The baseline, measured in the same run, is the same pages pulled through the same
//! connector without writing anything: what is left is the engine's own cost.
//!
//! `bench/run` runs it (see BENCHMARKS.md); by hand:
//! `cargo bench --bench sync_import -- --database-url postgres://... --contacts 100000`.
//! Prints one JSON object on stdout.

#[path = "common.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use lexgate::contacts::ContactRules;
use lexgate::db::Database;
use lexgate::gdpr::KeyedHasher;
use lexgate::sync::erasure::Tombstones;
use lexgate::sync::instances::{self, CreateConnectorInstanceInput};
use lexgate::sync::runs::RunRow;
use lexgate::sync::{ConnectorRuntime, SyncEngine};
use lexgate_connectors::http::HttpPolicy;
use lexgate_connectors::testing::{FakeProvider, CLIENT_ID, CLIENT_SECRET};
use lexgate_connectors::{Connector, ContactOrigin, Cursor, RemoteContact};
use serde_json::json;

use common::{approve_correspondents_lia, per_second, secret_box};

#[derive(Parser)]
struct Args {
    /// An empty database (the benchmark migrates it).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Records per provider page (the json_feed maximum is 1000).
    #[arg(long, default_value_t = 1000)]
    page_size: i32,
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A deterministic firm's billing export: four in five records are clients (contract basis),
/// one in five correspondents of a matter (legitimate interest under the firm's LIA).
fn record(i: usize) -> RemoteContact {
    let origin = if i % 5 == 0 {
        ContactOrigin::MatterCorrespondent
    } else {
        ContactOrigin::BillingClient
    };
    RemoteContact {
        external_id: format!("bill-{i:07}"),
        origin,
        given_name: Some(format!("Nome{i}")),
        family_name: Some(format!("Cognome{i}")),
        emails: vec![format!("nome{i}.cognome@example.it")],
        phones: vec![format!("+39 347 {:07}", i)],
        ..RemoteContact::default()
    }
}

/// Pulls every page without writing: the baseline.
async fn pull_only(connector: &dyn Connector) -> anyhow::Result<usize> {
    let mut cursor: Option<Cursor> = None;
    let mut records = 0;
    loop {
        let page = connector.pull_contacts(cursor.as_ref()).await?;
        records += page.records.len();
        cursor = Some(page.cursor);
        if !page.more {
            return Ok(records);
        }
    }
}

fn run_json(run: &RunRow, seconds: f64, records: usize, statements: u64) -> serde_json::Value {
    json!({
        "seconds": (seconds * 100.0).round() / 100.0,
        "contacts_per_second": per_second(records, seconds),
        // Every statement the pool ran (transaction control included), per record.
        "statements_per_record": (statements as f64 / records.max(1) as f64 * 100.0).round() / 100.0,
        "created": run.created, "updated": run.updated, "linked": run.linked,
        "skipped": run.skipped, "review": run.review, "failed": run.failed,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = Database::connect(&args.database_url, args.pool_size, true)
        .await
        .context("the benchmark database")?;
    let provider = FakeProvider::start().await;
    for i in 0..args.contacts {
        provider.upsert(record(i));
    }
    let (secrets, tokens, base) = (
        secret_box()?,
        provider.issue_tokens(),
        provider.base_url.clone(),
    );
    let page_size = args.page_size;
    let instance = db
        .transaction(move |conn| {
            approve_correspondents_lia(conn)?;
            let row = instances::create(
                conn,
                Some(&secrets),
                CreateConnectorInstanceInput {
                    name: "billing".into(),
                    kind: "json_feed".into(),
                    auth_url: Some(format!("{base}/authorize")),
                    token_url: Some(format!("{base}/token")),
                    base_url: base,
                    client_id: Some(CLIENT_ID.into()),
                    client_secret: Some(CLIENT_SECRET.into()),
                    scopes: vec![],
                    webhook_secret: None,
                    schedule_minutes: None,
                    page_size: Some(page_size),
                    source_detail: Some("Billing system".into()),
                    provenance: None,
                    ..CreateConnectorInstanceInput::default()
                },
            )?;
            instances::save_tokens(conn, &secrets, &row.id, &tokens)?;
            instances::get(conn, &row.id)
        })
        .await?;
    let policy = HttpPolicy {
        requests_per_second: None,
        ..HttpPolicy::default()
    };
    let runtime = ConnectorRuntime::new(
        db.clone(),
        Some(secret_box()?),
        policy,
        "http://127.0.0.1:9/oauth/callback".into(),
    );
    let connector = runtime.connector(&instance)?;

    let started = Instant::now();
    let pulled = pull_only(connector.as_ref()).await?;
    let pull_seconds = started.elapsed().as_secs_f64();

    let hasher = db.run(|conn| KeyedHasher::load(conn, None)).await?;
    let engine = SyncEngine::new(
        db.clone(),
        ContactRules::default(),
        Arc::new(Tombstones { hasher }),
    );
    let statements = db.statement_count();
    let started = Instant::now();
    let import = engine
        .run(&instance, connector.as_ref(), "bench", &|_| {})
        .await?;
    let import_seconds = started.elapsed().as_secs_f64();
    let import_statements = db.statement_count() - statements;
    if import.created as usize != args.contacts || import.failed != 0 {
        bail!("the import did not create every contact: {import:?}");
    }

    // The provider forgets our cursor: a full resync that finds every record unchanged.
    provider.invalidate_cursors();
    let statements = db.statement_count();
    let started = Instant::now();
    let resync = engine
        .run(&instance, connector.as_ref(), "bench", &|_| {})
        .await?;
    let resync_seconds = started.elapsed().as_secs_f64();
    let resync_statements = db.statement_count() - statements;
    if resync.skipped as usize != args.contacts {
        bail!("the resync changed records: {resync:?}");
    }

    let result = json!({
        "contacts": args.contacts,
        "page_size": args.page_size,
        "pool_size": args.pool_size,
        "backend": if args.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" },
        "pull_only": { "seconds": (pull_seconds * 100.0).round() / 100.0,
                       "contacts_per_second": per_second(pulled, pull_seconds) },
        "first_import": run_json(&import, import_seconds, args.contacts, import_statements),
        "full_resync_unchanged": run_json(&resync, resync_seconds, args.contacts, resync_statements),
    });
    println!("{result}");
    Ok(())
}
