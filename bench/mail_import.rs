//! Mail import throughput of the sync engine: `--messages` messages in a real Dovecot's INBOX
//! (the test helper, started on 127.0.0.1) imported as communications into a fresh database
//! with every rule applied: Message-ID dedupe, direction from the firm's domains, known
//! correspondents linked to their contacts, unknown ones created with source and basis,
//! automated senders and PEC receipts kept out of the contacts, the erasure register, and
//! matter linking by reference or shared matter. Measured in one run:
//!
//! - pull only: the connector's pages of the whole mailbox, nothing written (the baseline);
//! - first import through the engine;
//! - a re-run that changes nothing: the stored cursor is forgotten, so the engine lists the
//!   whole mailbox again and finds every message already imported.
//!
//! The firm (contacts with addresses, matters with references and parties) comes from
//! `lexgate::seed::synthetic`; the mailbox is written straight into Dovecot's maildir and
//! indexed (`Dovecot::seed_inbox`). Seeding is timed apart and is not part of any figure.
//! Statements per message come from the database's statement counter (every statement on
//! every pooled connection, transactions and savepoints included).
//!
//! `bench/run` runs it (see BENCHMARKS.md); by hand:
//! `cargo bench --bench mail_import -- --database-url postgres://... --messages 20000`.
//! Prints one JSON object on stdout.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use anyhow::{bail, Context};
use chrono::{Duration, TimeZone, Utc};
use clap::Parser;
use diesel::prelude::*;
use lexgate::contacts::ContactRules;
use lexgate::db::schema::{contact_emails, matters, sync_cursors};
use lexgate::db::Database;
use lexgate::gdpr::tombstones::{self, Identifiers};
use lexgate::gdpr::KeyedHasher;
use lexgate::seed::{synthetic, SyntheticSizes};
use lexgate::sync::erasure::Tombstones;
use lexgate::sync::instances::{self, CreateConnectorInstanceInput};
use lexgate::sync::runs::RunRow;
use lexgate::sync::{ConnectorRuntime, SyncEngine};
use lexgate_connectors::dovecot::Dovecot;
use lexgate_connectors::http::HttpPolicy;
use lexgate_connectors::{Connector, Cursor};
use serde_json::json;

use common::{approve_correspondents_lia, per_second, secret_box};

const USER: &str = "avv.rossi";
const PASSWORD: &str = "Bench-Imap-2026";
const OWN_DOMAIN: &str = "studiorossi.example";
/// Unknown correspondents: each writes about ten messages of the mailbox.
const UNKNOWN_PEOPLE: usize = 2_000;
/// Unknown correspondents the firm erased earlier (Art. 17): their mail is not imported.
const ERASED_PEOPLE: usize = 40;

#[derive(Parser)]
struct Args {
    /// An empty database (the benchmark migrates it).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Messages per IMAP pull (the instance maximum is 1000).
    #[arg(long, default_value_t = 1000)]
    page_size: i32,
    /// Contacts of the seeded firm (their addresses are the known correspondents).
    #[arg(long, default_value_t = 2_000)]
    contacts: u64,
    /// Matters of the seeded firm (their references appear in subjects).
    #[arg(long, default_value_t = 400)]
    matters: u64,
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn unknown_address(k: usize) -> String {
    format!("corrispondente{k}@esterni.example")
}

/// The firm as the mailbox knows it: contact addresses and matter references.
struct Firm {
    addresses: Vec<String>,
    references: Vec<String>,
}

/// Message `i` of the mailbox: a deterministic mix of a law firm's mail. Of every 20: 9 from
/// known contacts, 4 from the firm to known contacts, 3 from unknown correspondents (some
/// erased), 2 newsletters, 1 PEC receipt, 1 copy of the previous message (same Message-ID,
/// as when a message is filed twice). One in four names a matter in the subject, one in
/// three carries an attachment.
fn message(i: usize, firm: &Firm) -> Vec<u8> {
    let known = |n: usize| firm.addresses[n % firm.addresses.len()].clone();
    let own = format!("Avv. Rossi <avv.rossi@{OWN_DOMAIN}>");
    let slot = i % 20;
    let mut message_id = format!("m{i}@bench.example");
    let mut extra = String::new();
    let (from, to) = match slot {
        0..=8 => (format!("Cliente {i} <{}>", known(i * 7)), own.clone()),
        9..=12 => (
            own.clone(),
            format!("<{}>, <{}>", known(i * 3), known(i * 3 + 1)),
        ),
        13..=15 => (
            format!(
                "Persona Esterna{} <{}>",
                i % UNKNOWN_PEOPLE,
                unknown_address(i % UNKNOWN_PEOPLE)
            ),
            own.clone(),
        ),
        16 | 17 => {
            extra.push_str("List-Id: <notizie.giuridiche.example>\r\n");
            (
                "Notizie Giuridiche <notizie@news.example>".to_owned(),
                own.clone(),
            )
        }
        18 => {
            extra.push_str("X-Ricevuta: accettazione\r\nX-Trasporto: posta-certificata\r\n");
            (
                "posta-certificata@pec.provider.example".to_owned(),
                own.clone(),
            )
        }
        _ => {
            message_id = format!("m{}@bench.example", i - 1);
            (
                format!("Cliente {} <{}>", i - 1, known((i - 1) * 7)),
                own.clone(),
            )
        }
    };
    let source = if slot == 19 { i - 1 } else { i };
    let subject = if source % 4 == 0 {
        format!(
            "Rif. {} - aggiornamento {source}",
            firm.references[source % firm.references.len()]
        )
    } else {
        format!("Aggiornamento pratica {source}")
    };
    let date = Utc
        .with_ymd_and_hms(2026, 1, 1, 8, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(source as i64 * 7);
    let body = format!(
        "Gentile avvocato,\r\nle scrivo in merito alla questione {source}. Resto a disposizione.\r\n"
    );
    let (content, part) = if source % 3 == 0 {
        (
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n".to_owned(),
            format!(
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}--b\r\n\
Content-Type: application/pdf; name=doc{source}.pdf\r\n\
Content-Disposition: attachment; filename=doc{source}.pdf\r\n\r\n%PDF-1.4 documento {source}\r\n--b--\r\n"
            ),
        )
    } else {
        (
            "Content-Type: text/plain; charset=utf-8\r\n".to_owned(),
            body,
        )
    };
    format!(
        "Message-ID: <{message_id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
Date: {}\r\n{extra}{content}\r\n{part}",
        date.to_rfc2822()
    )
    .into_bytes()
}

/// Pulls every page without writing: the baseline.
async fn pull_only(connector: &dyn Connector) -> anyhow::Result<usize> {
    let mut cursor: Option<Cursor> = None;
    let mut records = 0;
    loop {
        let page = connector.pull_communications(cursor.as_ref()).await?;
        records += page.records.len();
        cursor = Some(page.cursor);
        if !page.more {
            return Ok(records);
        }
    }
}

fn per_message(statements: u64, messages: usize) -> f64 {
    (statements as f64 / messages as f64 * 100.0).round() / 100.0
}

fn run_json(run: &RunRow, seconds: f64, messages: usize, statements: u64) -> serde_json::Value {
    json!({
        "seconds": (seconds * 100.0).round() / 100.0,
        "messages_per_second": per_second(messages, seconds),
        "statements": statements,
        "statements_per_message": per_message(statements, messages),
        "created": run.created, "linked": run.linked, "skipped": run.skipped,
        "deleted": run.deleted, "review": run.review, "failed": run.failed,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.messages == 0 {
        bail!("--messages must be at least 1");
    }
    let db = Database::connect(&args.database_url, args.pool_size, true)
        .await
        .context("the benchmark database")?;

    // Seeding: the firm, the erased correspondents, the mailbox.
    let seeding = Instant::now();
    let sizes = SyntheticSizes {
        contacts: args.contacts,
        matters: args.matters,
        communications: 0,
        deadlines: 0,
    };
    synthetic(&db, sizes, 7, |_| {}).await?;
    let firm = db
        .run(|conn| {
            let addresses: Vec<String> = contact_emails::table
                .select(contact_emails::address)
                .order(contact_emails::address)
                .load(conn)?;
            let references: Vec<String> = matters::table
                .select(matters::reference)
                .order(matters::reference)
                .load(conn)?;
            Ok(Firm {
                addresses,
                references,
            })
        })
        .await?;
    if firm.addresses.is_empty() || firm.references.is_empty() {
        bail!("the seeded firm has no addresses or no matters");
    }
    let hasher = db.run(|conn| KeyedHasher::load(conn, None)).await?;
    let erased = Identifiers {
        emails: (0..ERASED_PEOPLE).map(unknown_address).collect(),
        ..Identifiers::default()
    };
    let burying = hasher.clone();
    db.transaction(move |conn| tombstones::bury(conn, &burying, &erased, None))
        .await?;
    let server = Dovecot::start(&[(USER, PASSWORD)]);
    let seeded = server.seed_inbox(USER, (0..args.messages).map(|i| message(i, &firm)));
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let (secrets, url, page_size) = (secret_box()?, server.url(), args.page_size);
    let instance = db
        .transaction(move |conn| {
            approve_correspondents_lia(conn)?;
            let row = instances::create(
                conn,
                Some(&secrets),
                CreateConnectorInstanceInput {
                    name: "mailbox".into(),
                    kind: "imap".into(),
                    base_url: url,
                    plaintext: Some(true),
                    username: Some(USER.into()),
                    password: Some(PASSWORD.into()),
                    folders: Some(vec!["INBOX".into()]),
                    own_domains: Some(vec![OWN_DOMAIN.into()]),
                    store_bodies: Some(false),
                    page_size: Some(page_size),
                    ..CreateConnectorInstanceInput::default()
                },
            )?;
            instances::get(conn, &row.id)
        })
        .await?;
    let runtime = ConnectorRuntime::new(
        db.clone(),
        Some(secret_box()?),
        HttpPolicy::default(),
        "http://127.0.0.1:9/oauth/callback".into(),
    );
    let connector = runtime.connector(&instance)?;

    let started = Instant::now();
    let pulled = pull_only(connector.as_ref()).await?;
    let pull_seconds = started.elapsed().as_secs_f64();
    if pulled != args.messages {
        bail!("the pull found {pulled} of {} messages", args.messages);
    }

    let engine = SyncEngine::new(
        db.clone(),
        ContactRules::default(),
        std::sync::Arc::new(Tombstones { hasher }),
    );
    let statements = db.statement_count();
    let started = Instant::now();
    let import = engine
        .run(&instance, connector.as_ref(), "bench", &|_| {})
        .await?;
    let import_seconds = started.elapsed().as_secs_f64();
    let import_statements = db.statement_count() - statements;
    let accounted = (import.created + import.linked + import.skipped) as usize;
    if import.status != "succeeded" || import.failed != 0 || accounted != args.messages {
        bail!("the import did not take every message: {import:?}");
    }

    // The cursor is forgotten: a full listing that finds every message already imported.
    let instance_id = instance.id.clone();
    db.transaction(move |conn| {
        diesel::update(sync_cursors::table.filter(sync_cursors::instance_id.eq(&instance_id)))
            .set((
                sync_cursors::cursor.eq(None::<String>),
                sync_cursors::generation.eq(sync_cursors::generation + 1),
                sync_cursors::full_sync.eq(true),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await?;
    let statements = db.statement_count();
    let started = Instant::now();
    let rerun = engine
        .run(&instance, connector.as_ref(), "bench", &|_| {})
        .await?;
    let rerun_seconds = started.elapsed().as_secs_f64();
    let rerun_statements = db.statement_count() - statements;
    let imported = (import.created + import.linked) as usize;
    if rerun.failed != 0 || rerun.created != 0 || rerun.deleted != 0 || rerun.linked != 0 {
        bail!("the re-run changed something: {rerun:?}");
    }

    let result = json!({
        "messages": args.messages,
        "page_size": args.page_size,
        "pool_size": args.pool_size,
        "firm": { "contacts": args.contacts, "matters": args.matters,
                  "erased_correspondents": ERASED_PEOPLE },
        "backend": if args.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" },
        "seeding": { "seconds": (seed_seconds * 100.0).round() / 100.0, "messages": seeded },
        "pull_only": { "seconds": (pull_seconds * 100.0).round() / 100.0,
                       "messages_per_second": per_second(pulled, pull_seconds) },
        "first_import": run_json(&import, import_seconds, args.messages, import_statements),
        "rerun_unchanged": run_json(&rerun, rerun_seconds, args.messages, rerun_statements),
        "imported": imported,
    });
    println!("{result}");
    Ok(())
}
