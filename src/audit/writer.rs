//! The group-commit writer: one task appends the entries of all concurrent requests in one
//! transaction, then tells each request its entries are committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::chain::Chained;
use super::model::{AccessEntry, AccessLogRow, SubjectRow, ACCESS_LOG_COLUMNS, SUBJECT_COLUMNS};
use crate::db::schema::{access_log, access_log_head, access_log_subjects};
use crate::db::{insert_batch, AnyConnection, Database};
use crate::error::{Error, Result};

/// Most requests written in one transaction; the rest wait for the next one.
const MAX_REQUESTS_PER_BATCH: usize = 512;

/// Requests that may wait for the writer before `append` itself waits (back-pressure).
const QUEUE_CAPACITY: usize = 4 * MAX_REQUESTS_PER_BATCH;

/// One request's entries and where to report their fate.
struct Pending {
    entries: Vec<AccessEntry>,
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
        let entries = entries
            .into_iter()
            .map(AccessEntry::normalized)
            .collect::<Result<Vec<_>>>()?;
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
        let result = db
            .transaction(move |conn| append_in_transaction(conn, &entries))
            .await;
        match &result {
            Ok(()) => {
                batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(error = %e, requests = waiters.len(), "access log batch not written")
            }
        }
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

/// Appends normalized entries after the current head, inside the caller's transaction.
///
/// Touching the head row first takes its row lock on PostgreSQL (and SQLite's write lock
/// before anything is read), so writers in other processes sharing the database queue behind
/// this transaction and the chain has one order.
fn append_in_transaction(conn: &mut AnyConnection, entries: &[AccessEntry]) -> Result<()> {
    let head = access_log_head::table.find(1);
    let locked = diesel::update(head)
        .set(access_log_head::seq.eq(access_log_head::seq))
        .execute(conn)?;
    if locked != 1 {
        return Err(Error::Internal(
            "the access log head row is missing".to_owned(),
        ));
    }
    let (mut seq, mut prev_hash): (i64, String) = head
        .select((access_log_head::seq, access_log_head::hash))
        .first(conn)?;
    let mut rows = Vec::with_capacity(entries.len());
    let mut subjects = Vec::new();
    for entry in entries {
        seq += 1;
        let hash = Chained::of_entry(seq, entry).hash(&prev_hash);
        let prev = std::mem::replace(&mut prev_hash, hash.clone());
        rows.push(AccessLogRow::new(seq, entry, prev, hash));
        subjects.extend(entry.subjects.iter().map(|contact_id| SubjectRow {
            seq,
            contact_id: contact_id.clone(),
        }));
    }
    insert_batch(conn, access_log::table, &rows, ACCESS_LOG_COLUMNS)?;
    insert_batch(conn, access_log_subjects::table, &subjects, SUBJECT_COLUMNS)?;
    diesel::update(head)
        .set((
            access_log_head::seq.eq(seq),
            access_log_head::hash.eq(prev_hash),
        ))
        .execute(conn)?;
    Ok(())
}
