//! The group-commit writer: one task appends the entries of all concurrent requests in one
//! transaction, then tells each request its entries are committed.
//!
//! A batch costs four statements when its subject sets are stored already and the head is
//! where this writer left it (begin, move the head on from there, insert the entries, commit),
//! two more when another writer moved the head meanwhile (lock and read it, move it), and
//! two more when a set is new (which of the batch's sets are stored, insert the new ones'
//! contacts). The head's move and the entries' insert are statements the database has
//! prepared once per connection, whatever the batch's size (see [`insert_rows`]): parsing and
//! planning them anew was most of PostgreSQL's work for a batch. What each entry needs that
//! does not depend on the chain (normalizing, its subject set's id) is worked out by the
//! request before it queues, so the single writer does only the chain's own work.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, SingleValue, Text, Timestamp};
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
    // Where this writer's last batch left the chain: the next batch is hashed onto it before
    // the head is read, and moves the head only if no other writer moved it since.
    let mut head: Option<Head> = None;
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
        let expected = head.take();
        let result = match result {
            Ok(conn) => {
                db.transaction_on(conn, move |c| {
                    append_in_transaction(c, entries, &known, expected.as_ref())
                })
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
            Ok(Appended {
                sets: written,
                head: moved,
            }) => {
                head = Some(moved);
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
        append_in_transaction(conn, prepared, &HashSet::new(), None)?;
    }
    Ok(())
}

/// The chain's head: its last entry's seq and hash.
#[derive(QueryableByName, Clone, Debug, PartialEq, Eq)]
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

/// What a batch's transaction wrote: the ids of its subject sets (all stored once it
/// commits) and the head it left.
struct Appended {
    sets: Vec<String>,
    head: Head,
}

/// The batch's rows chained after `head`, and the head after them.
fn chain(entries: &[Prepared], head: &Head) -> (Vec<AccessLogRow>, Head) {
    let (mut seq, mut prev_hash) = (head.seq, head.hash.clone());
    let rows = entries
        .iter()
        .map(|prepared| {
            seq += 1;
            let hash = Chained::of_entry(seq, &prepared.entry).hash(&prev_hash);
            let prev = std::mem::replace(&mut prev_hash, hash.clone());
            AccessLogRow::new(
                seq,
                &prepared.entry,
                prepared.subject_set.clone(),
                prev,
                hash,
            )
        })
        .collect();
    (
        rows,
        Head {
            seq,
            hash: prev_hash,
        },
    )
}

/// Moves the head from `from` to `to` if it is still at `from`, taking its row lock; false
/// (and no lock taken on PostgreSQL) if another writer moved it. A writer waiting on the lock
/// sees the head its holder committed, so two never append after the same entry.
fn move_head_from(conn: &mut AnyConnection, from: &Head, to: &Head) -> Result<bool> {
    let moved = diesel::update(
        access_log_head::table
            .filter(access_log_head::id.eq(1))
            .filter(access_log_head::seq.eq(from.seq))
            .filter(access_log_head::hash.eq(&from.hash)),
    )
    .set((
        access_log_head::seq.eq(to.seq),
        access_log_head::hash.eq(&to.hash),
    ))
    .execute(conn)?;
    Ok(moved == 1)
}

/// Appends prepared entries after the current head, inside the caller's transaction, and
/// stores the subject sets neither `known` nor the database holds yet. `expected` is where
/// the caller last left the head, if it knows: the entries are hashed onto it and the head
/// moved on from it in one statement, and only if another writer moved it meanwhile is it
/// locked and read, and the entries hashed again.
fn append_in_transaction(
    conn: &mut AnyConnection,
    entries: Vec<Prepared>,
    known: &HashSet<String>,
    expected: Option<&Head>,
) -> Result<Appended> {
    let guessed = match expected {
        Some(from) => {
            let (rows, to) = chain(&entries, from);
            move_head_from(conn, from, &to)?.then_some((rows, to))
        }
        None => None,
    };
    let (rows, head) = match guessed {
        Some(appended) => appended,
        None => {
            let current = lock_head(conn)?;
            let (rows, to) = chain(&entries, &current);
            if !move_head_from(conn, &current, &to)? {
                return Err(Error::Internal(
                    "the access log head moved while locked".to_owned(),
                ));
            }
            (rows, to)
        }
    };
    let mut batch_sets: HashSet<&str> = HashSet::new();
    let mut unknown: Vec<&Prepared> = Vec::new();
    for prepared in &entries {
        if batch_sets.insert(&prepared.subject_set)
            // The empty set has no rows to store.
            && !known.contains(&prepared.subject_set)
            && !prepared.entry.subjects.is_empty()
        {
            unknown.push(prepared);
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
    let sets = batch_sets.into_iter().map(str::to_owned).collect();
    insert_rows(conn, rows)?;
    Ok(Appended { sets, head })
}

diesel::define_sql_function! {
    /// PostgreSQL's `unnest`: an array's elements as rows. Several in one select list are
    /// unnested side by side.
    fn unnest<T: SingleValue>(array: Array<T>) -> T;
}

/// Inserts the batch's rows. On PostgreSQL in one statement whatever their number, each
/// column bound as one array: its text does not depend on the batch's size, so it is
/// prepared once per connection (a multi-row `VALUES` list is a new statement for every size,
/// parsed and planned each time). SQLite, which has no arrays, takes multi-row `INSERT`s.
fn insert_rows(conn: &mut AnyConnection, rows: Vec<AccessLogRow>) -> Result<()> {
    let AnyConnection::Postgresql(pg) = conn else {
        insert_batch(conn, access_log::table, &rows, ACCESS_LOG_COLUMNS)?;
        return Ok(());
    };
    let mut columns = LogColumns::with_capacity(rows.len());
    for row in rows {
        columns.push(row);
    }
    let LogColumns {
        seq,
        occurred_at,
        principal_kind,
        principal_id,
        role,
        operation_name,
        client_address,
        user_agent,
        action,
        fields,
        subject_count,
        prev_hash,
        hash,
        subject_set,
    } = columns;
    diesel::insert_into(access_log::table)
        .values(diesel::select((
            unnest::<BigInt, _>(seq),
            unnest::<Timestamp, _>(occurred_at),
            unnest::<Text, _>(principal_kind),
            unnest::<Text, _>(principal_id),
            unnest::<Text, _>(role),
            unnest::<Nullable<Text>, _>(operation_name),
            unnest::<Nullable<Text>, _>(client_address),
            unnest::<Nullable<Text>, _>(user_agent),
            unnest::<Text, _>(action),
            unnest::<Text, _>(fields),
            unnest::<BigInt, _>(subject_count),
            unnest::<Text, _>(prev_hash),
            unnest::<Text, _>(hash),
            unnest::<Text, _>(subject_set),
        )))
        .into_columns((
            access_log::seq,
            access_log::occurred_at,
            access_log::principal_kind,
            access_log::principal_id,
            access_log::role,
            access_log::operation_name,
            access_log::client_address,
            access_log::user_agent,
            access_log::action,
            access_log::fields,
            access_log::subject_count,
            access_log::prev_hash,
            access_log::hash,
            access_log::subject_set,
        ))
        .execute(pg)?;
    Ok(())
}

/// [`AccessLogRow`]s column by column, as [`insert_rows`] binds them on PostgreSQL.
struct LogColumns {
    seq: Vec<i64>,
    occurred_at: Vec<chrono::NaiveDateTime>,
    principal_kind: Vec<String>,
    principal_id: Vec<String>,
    role: Vec<String>,
    operation_name: Vec<Option<String>>,
    client_address: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    action: Vec<String>,
    fields: Vec<String>,
    subject_count: Vec<i64>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
    subject_set: Vec<String>,
}

impl LogColumns {
    fn with_capacity(n: usize) -> Self {
        LogColumns {
            seq: Vec::with_capacity(n),
            occurred_at: Vec::with_capacity(n),
            principal_kind: Vec::with_capacity(n),
            principal_id: Vec::with_capacity(n),
            role: Vec::with_capacity(n),
            operation_name: Vec::with_capacity(n),
            client_address: Vec::with_capacity(n),
            user_agent: Vec::with_capacity(n),
            action: Vec::with_capacity(n),
            fields: Vec::with_capacity(n),
            subject_count: Vec::with_capacity(n),
            prev_hash: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
            subject_set: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, row: AccessLogRow) {
        self.seq.push(row.seq);
        self.occurred_at.push(row.occurred_at);
        self.principal_kind.push(row.principal_kind);
        self.principal_id.push(row.principal_id);
        self.role.push(row.role);
        self.operation_name.push(row.operation_name);
        self.client_address.push(row.client_address);
        self.user_agent.push(row.user_agent);
        self.action.push(row.action);
        self.fields.push(row.fields);
        self.subject_count.push(row.subject_count);
        self.prev_hash.push(row.prev_hash);
        self.hash.push(row.hash);
        self.subject_set.push(row.subject_set);
    }
}
