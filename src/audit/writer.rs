//! The group-commit writer: one task appends the entries of all concurrent requests in one
//! transaction, then tells each request its entries are committed.
//!
//! A batch costs five statements when its subject sets are stored already (begin, lock and
//! read the head, insert the entries, move the head, commit), and two more when one is new
//! (which of the batch's sets are stored, insert the new ones' contacts). What each entry
//! needs that does not depend on the chain (normalizing, its subject set's id) is worked out
//! by the request before it queues, so the single writer does only the chain's own work.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use tokio::sync::{mpsc, oneshot};

use super::chain::Chained;
use super::model::{
    AccessEntry, AccessLogRow, SetMemberRow, ACCESS_LOG_COLUMNS, SET_MEMBER_COLUMNS,
};
use super::sets;
use crate::db::schema::{access_log, access_log_head, access_log_subject_sets};
use crate::db::{insert_batch, AnyConnection, Database, DedicatedConnection};
use crate::error::{Error, Result};

/// Most requests written in one transaction; the rest wait for the next one.
const MAX_REQUESTS_PER_BATCH: usize = 512;

/// Requests that may wait for the writer before `append` itself waits (back-pressure).
const QUEUE_CAPACITY: usize = 4 * MAX_REQUESTS_PER_BATCH;

/// Subject sets the writer remembers as stored (so it neither asks nor writes them again);
/// past this many it forgets them all and relearns the ones still in use.
const KNOWN_SETS_CAPACITY: usize = 16_384;

/// A normalized entry with the id of its subject set.
struct Prepared {
    entry: AccessEntry,
    subject_set: String,
}

/// What each entry needs that does not depend on the chain, worked out before the head is
/// locked.
fn prepare(entries: Vec<AccessEntry>) -> Result<Vec<Prepared>> {
    entries
        .into_iter()
        .map(|entry| {
            let entry = entry.normalized()?;
            let subject_set = sets::set_id(&entry.subjects);
            Ok(Prepared { entry, subject_set })
        })
        .collect()
}

/// One request's entries and where to report their fate.
struct Pending {
    entries: Vec<Prepared>,
    done: oneshot::Sender<Result<()>>,
}

/// Cloneable handle to the group-commit writer task.
#[derive(Clone)]
pub struct AccessLog {
    queue: mpsc::Sender<Pending>,
    batches: Arc<AtomicU64>,
}

impl AccessLog {
    /// Spawns the writer task on the current Tokio runtime; it ends when the last handle is
    /// dropped, after writing what is queued.
    pub fn start(db: Database) -> AccessLog {
        let (queue, requests) = mpsc::channel(QUEUE_CAPACITY);
        let batches = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_batches(db, requests, batches.clone()));
        AccessLog { queue, batches }
    }

    /// Appends `entries` and returns once they are committed. An error means they were not
    /// written: the caller must not answer as if the access had been recorded.
    pub async fn append(&self, entries: Vec<AccessEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = prepare(entries)?;
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { entries, done })
            .await
            .map_err(|_| writer_stopped())?;
        committed.await.map_err(|_| writer_stopped())?
    }

    /// How many insert transactions the writer has committed.
    pub fn batches_written(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

fn writer_stopped() -> Error {
    Error::Unavailable("the access log writer has stopped".to_owned())
}

/// The writer task: waits for a request, takes whatever else is queued, writes it all in one
/// transaction and answers every request of the batch.
async fn write_batches(
    db: Database,
    mut requests: mpsc::Receiver<Pending>,
    batches: Arc<AtomicU64>,
) {
    // Sets are never removed (the table is append-only), so a set known to be committed
    // stays stored; only sets of committed batches are added.
    let mut known_sets: Arc<HashSet<String>> = Arc::default();
    // The writer's own connection, outside the pool: a batch never queues behind requests
    // for a pooled connection while every request of the batch waits for its commit.
    let mut connection: Option<DedicatedConnection> = None;
    while let Some(first) = requests.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_REQUESTS_PER_BATCH {
            match requests.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut waiters = Vec::with_capacity(batch.len());
        let mut entries = Vec::new();
        for pending in batch {
            entries.extend(pending.entries);
            waiters.push(pending.done);
        }
        let known = known_sets.clone();
        let (entry_count, started) = (entries.len(), std::time::Instant::now());
        let result = match &connection {
            Some(conn) => Ok(conn),
            None => db
                .dedicated_connection()
                .await
                .map(|c| &*connection.insert(c)),
        };
        let result = match result {
            Ok(conn) => {
                db.transaction_on(conn, move |c| append_in_transaction(c, &entries, &known))
                    .await
            }
            Err(e) => Err(e),
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::histogram!(crate::metrics::ACCESS_LOG_COMMIT_DURATION, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!(crate::metrics::ACCESS_LOG_BATCHES, "outcome" => outcome).increment(1);
        if result.is_ok() {
            metrics::histogram!(crate::metrics::ACCESS_LOG_BATCH_ENTRIES)
                .record(entry_count as f64);
        } else {
            // It may be the connection that failed: the next batch opens a fresh one.
            connection = None;
        }
        let result = match result {
            Ok(written) => {
                batches.fetch_add(1, Ordering::Relaxed);
                let known = Arc::make_mut(&mut known_sets);
                if known.len() + written.len() > KNOWN_SETS_CAPACITY {
                    known.clear();
                }
                known.extend(written);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, requests = waiters.len(), "access log batch not written");
                Err(e)
            }
        };
        for waiter in waiters {
            // A caller that gave up waiting no longer listens; its entries are written anyway.
            let _ = waiter.send(result.as_ref().map(|_| ()).map_err(shared_error));
        }
    }
}

/// The error each waiter of a failed batch gets (the original is logged once).
fn shared_error(e: &Error) -> Error {
    match e {
        Error::Unavailable(_) | Error::Connection(_) => {
            Error::Unavailable(format!("access log not written: {e}"))
        }
        _ => Error::Internal(format!("access log not written: {e}")),
    }
}

/// Appends `entries` inside the caller's transaction: for the entry of a change, which must
/// commit with the change or not at all (two commits leave a window in which a crash keeps
/// the change and loses its entry). The head's row lock orders it with the group-commit
/// writer and with every other process, as it orders their batches; taken last, it is held
/// only for the commit of the caller's work.
pub fn append_within(conn: &mut AnyConnection, entries: Vec<AccessEntry>) -> Result<()> {
    let prepared = prepare(entries)?;
    if !prepared.is_empty() {
        append_in_transaction(conn, &prepared, &HashSet::new())?;
    }
    Ok(())
}

/// The chain's head as the locking statement returns it.
#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    hash: String,
}

/// Touching the head row takes its row lock on PostgreSQL (and SQLite's write lock before
/// anything is read), so writers in other processes sharing the database queue behind this
/// transaction and the chain has one order; `RETURNING` reads it in the same statement.
const LOCK_HEAD: &str = "UPDATE access_log_head SET seq = seq WHERE id = 1 RETURNING seq, hash";

fn lock_head(conn: &mut AnyConnection) -> Result<Head> {
    let query = diesel::sql_query(LOCK_HEAD);
    let head = match conn {
        AnyConnection::Postgresql(pg) => query.get_result::<Head>(pg).optional()?,
        AnyConnection::Sqlite(sqlite) => query.get_result::<Head>(sqlite).optional()?,
    };
    head.ok_or_else(|| Error::Internal("the access log head row is missing".to_owned()))
}

/// Appends prepared entries after the current head, inside the caller's transaction, and
/// stores the subject sets neither `known` nor the database holds yet. Returns the ids of
/// the batch's sets, all stored once the transaction commits.
fn append_in_transaction(
    conn: &mut AnyConnection,
    entries: &[Prepared],
    known: &HashSet<String>,
) -> Result<Vec<String>> {
    let Head {
        mut seq,
        hash: mut prev_hash,
    } = lock_head(conn)?;
    let mut rows = Vec::with_capacity(entries.len());
    let mut batch_sets: HashSet<&str> = HashSet::new();
    let mut unknown: Vec<&Prepared> = Vec::new();
    for prepared in entries {
        let entry = &prepared.entry;
        seq += 1;
        let hash = Chained::of_entry(seq, entry).hash(&prev_hash);
        let prev = std::mem::replace(&mut prev_hash, hash.clone());
        rows.push(AccessLogRow::new(
            seq,
            entry,
            prepared.subject_set.clone(),
            prev,
            hash,
        ));
        if batch_sets.insert(&prepared.subject_set) {
            // The empty set has no rows to store.
            if !known.contains(&prepared.subject_set) && !entry.subjects.is_empty() {
                unknown.push(prepared);
            }
        }
    }
    if !unknown.is_empty() {
        let ids: Vec<&str> = unknown.iter().map(|p| p.subject_set.as_str()).collect();
        let stored: HashSet<String> = sets::stored(conn, &ids)?.into_iter().collect();
        let members: Vec<SetMemberRow> = unknown
            .iter()
            .filter(|p| !stored.contains(&p.subject_set))
            .flat_map(|p| {
                p.entry.subjects.iter().map(|contact_id| SetMemberRow {
                    set_id: p.subject_set.clone(),
                    contact_id: contact_id.clone(),
                })
            })
            .collect();
        insert_batch(
            conn,
            access_log_subject_sets::table,
            &members,
            SET_MEMBER_COLUMNS,
        )?;
    }
    insert_batch(conn, access_log::table, &rows, ACCESS_LOG_COLUMNS)?;
    diesel::update(access_log_head::table.find(1))
        .set((
            access_log_head::seq.eq(seq),
            access_log_head::hash.eq(prev_hash),
        ))
        .execute(conn)?;
    Ok(batch_sets.into_iter().map(str::to_owned).collect())
}
