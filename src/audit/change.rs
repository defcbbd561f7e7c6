//! The access-log entries of changes that code other than `context::write` commits itself (a
//! retention run, each page of a sync, a push's disclosure record): the caller hands such
//! code a [`ChangeLog`], which appends the entry of each change with
//! [`append_within`](super::append_within) inside the change's own transaction, naming the
//! contacts that transaction changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::model::AccessEntry;
use crate::db::AnyConnection;
use crate::error::Result;

/// The principal kind (and role) of the entries of jobs that run without a request.
pub const SYSTEM_PRINCIPAL: &str = "system";

/// Makes the entry of a change from the contacts it changed (`None`: not logged, e.g. no
/// principal).
type MakeEntry = dyn Fn(Vec<String>) -> Option<AccessEntry> + Send + Sync;

/// Writes the entries of one request's (or one job's) changes in their transactions.
#[derive(Clone)]
pub struct ChangeLog {
    make: Arc<MakeEntry>,
    committed: Arc<AtomicBool>,
}

impl ChangeLog {
    /// A log whose entries `make` builds from the contacts each change touched.
    pub fn new(make: impl Fn(Vec<String>) -> Option<AccessEntry> + Send + Sync + 'static) -> Self {
        ChangeLog {
            make: Arc::new(make),
            committed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The log of changes no request asked for (a scheduled or webhook-triggered sync, the
    /// scheduled retention run, the command line): each entry names the job as a `system`
    /// principal (`job`, e.g. `"webhook:billing"`, `"scheduler:retention"`, `"cli:sync"`),
    /// with role `system` and `field` (e.g. `"Mutation.runConnectorSync"`, the operation the
    /// job does) as its one field.
    pub fn system(job: impl Into<String>, operation: &str, field: &str) -> Self {
        let (job, operation, field) = (job.into(), operation.to_owned(), field.to_owned());
        ChangeLog::new(move |subjects| {
            Some(AccessEntry {
                occurred_at: crate::db::now(),
                principal_kind: SYSTEM_PRINCIPAL.to_owned(),
                principal_id: job.clone(),
                role: SYSTEM_PRINCIPAL.to_owned(),
                operation_name: Some(operation.clone()),
                client_address: None,
                user_agent: None,
                action: super::AccessAction::Write,
                fields: vec![field.clone()],
                subjects,
            })
        })
    }

    /// Appends the entry of the change being made in `conn`'s transaction, naming `subjects`
    /// (contact ids). Call it last in the transaction, just before the commit: it takes the
    /// chain head's row lock, which is held until then.
    pub fn append_within(&self, conn: &mut AnyConnection, subjects: Vec<String>) -> Result<()> {
        match (self.make)(subjects) {
            Some(entry) => super::append_within(conn, vec![entry]),
            None => Ok(()),
        }
    }

    /// Notes that a transaction holding an entry of this log committed.
    pub fn committed(&self) {
        self.committed.store(true, Ordering::SeqCst);
    }

    /// Whether any transaction holding an entry of this log committed: the request's own
    /// write entry is then not repeated at its end.
    pub fn any_committed(&self) -> bool {
        self.committed.load(Ordering::SeqCst)
    }
}
