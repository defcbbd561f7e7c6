//! The sync engine: pulls an instance's streams (contacts, communications, events, documents, invoices, matters,
//! deadlines, time entries) page by page and
//! applies each page in one transaction together with the cursor after it and the run's counts, so a crash at any
//! point neither loses nor repeats a record. The next page is pulled while the current one is
//! committed (the provider's time and the database's overlap); only a commit moves the
//! stored cursor, and pages are applied in order. A lease in the database keeps each instance
//! syncing in one place; an invalid cursor starts a full resync that ends by reconciling
//! the records the provider no longer has. A run ends SUCCEEDED, FAILED, or THROTTLED when
//! the provider kept throttling through every retry (its committed pages stay).

use std::sync::Arc;

use diesel::prelude::*;
use lexgate_connectors::{
    Connector, ConnectorError, Cursor, Page, PushOutcome, RemoteCommunication, RemoteContact,
    RemoteDeadline, RemoteDocument, RemoteEvent, RemoteInvoice, RemoteMatter, RemoteTimeEntry,
    RemoveOutcome,
};
use tracing::Instrument;

use super::billing;
use super::calendar;
use super::contact_page;
use super::deadline_push;
use super::documents;
use super::erasure::ErasureRegister;
use super::folders;
use super::instances::InstanceRow;
use super::lease;
use super::mail::{self, MailScope};
use super::practice;
use super::provenance::Provenance;
use super::runs::{self, Counts, RunRow, SyncRunStatus};
use super::time_push;
use super::upsert::{self, ChangedContacts, Outcome, PageScope};
use crate::audit::ChangeLog;
use crate::contacts::ContactRules;
use crate::db::schema::{sync_cursors, sync_links};
use crate::db::{now, AnyConnection, Database};
use crate::error::{Error, Result};

/// The streams the engine imports, each with its own cursor and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Contacts,
    Communications,
    Events,
    Documents,
    Invoices,
    Matters,
    Deadlines,
    TimeEntries,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Contacts => "contacts",
            Stream::Communications => "communications",
            Stream::Events => "events",
            Stream::Documents => "documents",
            Stream::Invoices => billing::INVOICES_STREAM,
            Stream::Matters => practice::MATTERS,
            Stream::Deadlines => practice::DEADLINES,
            Stream::TimeEntries => practice::TIME_ENTRIES,
        }
    }
}

/// A page of one stream.
enum Records {
    Contacts(Page<RemoteContact>),
    Communications(Page<RemoteCommunication>),
    Events(Page<RemoteEvent>),
    Documents(Page<RemoteDocument>),
    Invoices(Page<RemoteInvoice>),
    Matters(Page<RemoteMatter>),
    Deadlines(Page<RemoteDeadline>),
    TimeEntries(Page<RemoteTimeEntry>),
}

impl Records {
    fn more(&self) -> bool {
        match self {
            Records::Contacts(page) => page.more,
            Records::Communications(page) => page.more,
            Records::Events(page) => page.more,
            Records::Documents(page) => page.more,
            Records::Invoices(page) => page.more,
            Records::Matters(page) => page.more,
            Records::Deadlines(page) => page.more,
            Records::TimeEntries(page) => page.more,
        }
    }

    fn cursor(&self) -> &Cursor {
        match self {
            Records::Contacts(page) => &page.cursor,
            Records::Communications(page) => &page.cursor,
            Records::Events(page) => &page.cursor,
            Records::Documents(page) => &page.cursor,
            Records::Invoices(page) => &page.cursor,
            Records::Matters(page) => &page.cursor,
            Records::Deadlines(page) => &page.cursor,
            Records::TimeEntries(page) => &page.cursor,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync of this connector instance is already running; try again when it ends")]
    Busy,
    #[error("the connector instance is disabled")]
    Disabled,
    #[error("the connector cannot be used: {0}")]
    Setup(String),
    #[error(transparent)]
    Database(#[from] Error),
}

/// Why a run stopped before its end: what to record, and whether it was the provider
/// throttling us through every retry (the run is THROTTLED, not FAILED: nothing is wrong with
/// the instance, and the next run continues from the last committed page).
#[derive(Debug)]
struct Stop {
    message: String,
    throttled: bool,
}

impl Stop {
    fn connector(error: &ConnectorError) -> Stop {
        Stop {
            message: error.to_string(),
            throttled: matches!(error, ConnectorError::Throttled { .. }),
        }
    }
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop {
            message,
            throttled: false,
        }
    }
}

/// Where the stream stands.
#[derive(Debug, Clone, Queryable)]
struct CursorState {
    cursor: Option<String>,
    generation: i32,
    full_sync: bool,
}

/// Contacts created in a run before the first statistics refresh.
const ANALYZE_FROM: i32 = 1000;

/// The tables an import grows.
const GROWN_TABLES: &[&str] = &[
    "contacts",
    "contact_emails",
    "contact_phones",
    "contact_sources",
    "processing_grounds",
    "sync_links",
];

/// Runs syncs for one process. `holder` names this process in leases and runs.
#[derive(Clone)]
pub struct SyncEngine {
    db: Database,
    rules: ContactRules,
    erasure: Arc<dyn ErasureRegister>,
    holder: String,
    lease_ttl: chrono::Duration,
}

impl SyncEngine {
    pub fn new(db: Database, rules: ContactRules, erasure: Arc<dyn ErasureRegister>) -> SyncEngine {
        SyncEngine {
            db,
            rules,
            erasure,
            holder: format!("lexgate-{}", uuid::Uuid::new_v4().simple()),
            lease_ttl: chrono::Duration::minutes(5),
        }
    }

    /// How long a lease lives without renewal (a page renews it).
    pub fn with_lease_ttl(mut self, ttl: chrono::Duration) -> SyncEngine {
        self.lease_ttl = ttl;
        self
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long a lease lives without renewal.
    pub fn lease_ttl(&self) -> chrono::Duration {
        self.lease_ttl
    }

    /// Syncs `instance` through `connector`; `progress` hears the counts after every page.
    pub async fn run(
        &self,
        instance: &InstanceRow,
        connector: &dyn Connector,
        trigger: &str,
        progress: &(dyn Fn(&Counts) + Send + Sync),
    ) -> Result<RunRow, SyncError> {
        self.run_logged(instance, connector, trigger, progress, None)
            .await
    }

    /// Like [`SyncEngine::run`], with each committed page's access-log entry, naming the
    /// contacts the page changed, appended by `log` in the page's transaction.
    pub async fn run_logged(
        &self,
        instance: &InstanceRow,
        connector: &dyn Connector,
        trigger: &str,
        progress: &(dyn Fn(&Counts) + Send + Sync),
        log: Option<&ChangeLog>,
    ) -> Result<RunRow, SyncError> {
        if !instance.enabled {
            return Err(SyncError::Disabled);
        }
        let provenance = instance.provenance()?;
        let (instance_id, holder, ttl) = (instance.id.clone(), self.holder.clone(), self.lease_ttl);
        let trigger = trigger.to_owned();
        let started = self
            .db
            .transaction(move |conn| {
                if !lease::acquire(conn, &instance_id, &holder, ttl)? {
                    return Ok(None);
                }
                Ok(Some(runs::start(conn, &instance_id, &trigger, &holder)?))
            })
            .await?;
        let Some(run) = started else {
            return Err(SyncError::Busy);
        };
        tracing::info!(instance = %instance.name, run = %run.id, "sync started");
        let mut counts = Counts::default();
        let offered = connector.capabilities();
        let streams = [
            (Stream::Contacts, offered.pull_contacts),
            // After the contacts (a matter's client), before what belongs to matters.
            (Stream::Matters, offered.pull_matters),
            (Stream::Deadlines, offered.pull_deadlines),
            (Stream::TimeEntries, offered.pull_time_entries),
            (Stream::Communications, offered.pull_communications),
            (Stream::Events, offered.pull_events),
            (Stream::Documents, offered.pull_documents),
            // After the contacts: an invoice's client is the contact of its customer.
            (Stream::Invoices, offered.pull_billing),
        ];
        let mut result = self.make_matter_folders(instance, connector).await;
        for stream in streams.into_iter().filter(|s| s.1).map(|s| s.0) {
            let pulled = self
                .pull_all(
                    instance,
                    &provenance,
                    connector,
                    stream,
                    &run,
                    &mut counts,
                    progress,
                    log,
                )
                .await;
            result = match (result, pulled) {
                (Ok(before), Ok(full)) => Ok(before || full),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() && offered.push_deadlines {
            if let Err(error) = self
                .push_deadlines(instance, connector, &run, &mut counts)
                .await
            {
                result = Err(error);
            }
        }
        // Time goes to the system holding the instance's matters (billing systems take
        // time through bills instead).
        if result.is_ok() && offered.push_time_entries && offered.pull_matters {
            if let Err(error) = self
                .push_time_entries(instance, connector, &run, &mut counts)
                .await
            {
                result = Err(error);
            }
        }
        let (status, full) = match result {
            Ok(full) => (SyncRunStatus::Succeeded, full),
            Err(stop) => {
                counts.errors.push(runs::RunError {
                    external_id: None,
                    message: stop.message,
                });
                let status = if stop.throttled {
                    SyncRunStatus::Throttled
                } else {
                    SyncRunStatus::Failed
                };
                (status, false)
            }
        };
        let (run_id, instance_id, holder) =
            (run.id.clone(), instance.id.clone(), self.holder.clone());
        let finished = self
            .db
            .transaction(move |conn| {
                let row = runs::finish(conn, &run_id, status, full, &counts)?;
                lease::release(conn, &instance_id, &holder)?;
                Ok(row)
            })
            .await?;
        tracing::info!(instance = %instance.name, run = %finished.id, status = %finished.status, "sync finished");
        record_run_metrics(&instance.name, &finished);
        Ok(finished)
    }

    /// Before pulling, a document store whose instance says so gets a folder for every open
    /// matter it lacks. `Ok(false)`: no full sync so far; the error stops the run.
    async fn make_matter_folders(
        &self,
        instance: &InstanceRow,
        connector: &dyn Connector,
    ) -> Result<bool, Stop> {
        let wanted = instance
            .settings()
            .map_err(|e| e.to_string())?
            .matter_folders;
        if !wanted || !connector.capabilities().make_matter_folders {
            return Ok(false);
        }
        let matters = self
            .db
            .run(documents::open_matter_folders)
            .await
            .map_err(|e| e.to_string())?;
        let span = crate::sync::connector_span(connector, &instance.name, "push", "folders");
        let made = connector
            .ensure_matter_folders(&matters)
            .instrument(span)
            .await
            .map_err(|e| Stop::connector(&e))?;
        let instance_id = instance.id.clone();
        let settled = self
            .db
            .run(move |conn| folders::settle_instance(conn, &instance_id))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(instance = %instance.name, made, settled, "matter folders made");
        Ok(false)
    }

    /// Pulls a stream until the provider has nothing more; returns whether the run was a
    /// full sync, or why it stopped.
    #[allow(clippy::too_many_arguments)]
    async fn pull_all(
        &self,
        instance: &InstanceRow,
        provenance: &Provenance,
        connector: &dyn Connector,
        stream: Stream,
        run: &RunRow,
        counts: &mut Counts,
        progress: &(dyn Fn(&Counts) + Send + Sync),
        log: Option<&ChangeLog>,
    ) -> Result<bool, Stop> {
        let mut full = false;
        let mut restarted = false;
        let mut analyzed_at = 0;
        // The next page, pulled from the end of the page being committed while it was
        // committed: (the cursor it was pulled from, what the pull gave).
        let mut prefetched: Option<(Cursor, Result<Records, ConnectorError>)> = None;
        loop {
            let instance_id = instance.id.clone();
            let state = self
                .db
                .transaction(move |conn| cursor_state(conn, &instance_id, stream))
                .await
                .map_err(|e| e.to_string())?;
            full |= state.full_sync;
            let cursor = state.cursor.clone().map(Cursor);
            // A prefetched page is used only if it starts where the committed cursor stands,
            // so pages are applied in the provider's order, each exactly once.
            let pulled = match prefetched.take() {
                Some((from, pulled)) if cursor.as_ref() == Some(&from) => pulled,
                _ => pull(connector, &instance.name, stream, cursor.as_ref()).await,
            };
            let page = match pulled {
                Ok(page) => page,
                Err(ConnectorError::InvalidCursor) if cursor.is_some() && !restarted => {
                    tracing::warn!(instance = %instance.name, "cursor refused; full resync");
                    restarted = true;
                    self.start_full_resync(instance, stream)
                        .await
                        .map_err(|e| e.to_string())?;
                    continue;
                }
                Err(error) => return Err(Stop::connector(&error)),
            };
            let more = page.more();
            let next = page.cursor().clone();
            let commit = self.commit_page(
                instance,
                provenance,
                run,
                state,
                stream,
                page,
                counts.clone(),
                log.cloned(),
            );
            *counts = if more {
                // The pull (the provider's and the parser's time) overlaps the commit (the
                // database's). Only the commit moves the stored cursor; a failed commit drops
                // the pull, and what the pull brought is applied only after this commit.
                let pull_next = async {
                    Ok::<_, Error>(pull(connector, &instance.name, stream, Some(&next)).await)
                };
                let (committed, pulled) =
                    tokio::try_join!(commit, pull_next).map_err(|e| e.to_string())?;
                prefetched = Some((next, pulled));
                committed
            } else {
                commit.await.map_err(|e| e.to_string())?
            };
            if let Some(log) = log {
                log.committed();
            }
            progress(counts);
            if counts.created >= (2 * analyzed_at).max(ANALYZE_FROM) {
                analyzed_at = counts.created;
                self.refresh_statistics().await;
            }
            if !more {
                return Ok(full);
            }
        }
    }

    /// After the pull: sends the deadlines the instance covers and removes the events of
    /// those it no longer does (see `deadline_push`); each result is committed as it comes,
    /// with the run's counts. A deadline the provider refuses is counted as failed; an
    /// unreachable provider or refused credentials stop the run.
    async fn push_deadlines(
        &self,
        instance: &InstanceRow,
        connector: &dyn Connector,
        run: &RunRow,
        counts: &mut Counts,
    ) -> Result<(), Stop> {
        // Without deadline users the plan covers nothing: it removes what earlier runs
        // pushed for the users the instance named before.
        let settings = instance.settings().map_err(|e| e.to_string())?;
        let instance_id = instance.id.clone();
        let plan = self
            .db
            .run(move |conn| deadline_push::plan(conn, &instance_id, &settings, chrono::Utc::now()))
            .await
            .map_err(|e| e.to_string())?;
        for deadline in &plan.send {
            let push = match deadline_push::send(connector, &instance.name, deadline).await {
                Ok(push) => push,
                Err(error) if deadline_push::stops_the_run(&error) => {
                    return Err(Stop::connector(&error))
                }
                Err(error) => {
                    counts.fail(Some(&deadline.id), format!("push: {error}"));
                    continue;
                }
            };
            let unchanged = push.outcome == PushOutcome::Unchanged
                && deadline.previous.as_ref() == Some(&push.pushed);
            if unchanged {
                continue;
            }
            deadline_push::count(counts, push.outcome);
            let id = deadline.id.clone();
            self.commit_push(instance, run, counts, move |conn, instance_id| {
                deadline_push::record_push(conn, instance_id, &id, &push)
            })
            .await?;
        }
        for (deadline_id, pushed) in &plan.remove {
            let outcome = match deadline_push::remove(connector, &instance.name, pushed).await {
                Ok(outcome) => outcome,
                Err(error) if deadline_push::stops_the_run(&error) => {
                    return Err(Stop::connector(&error))
                }
                Err(error) => {
                    counts.fail(Some(deadline_id), format!("remove: {error}"));
                    continue;
                }
            };
            match outcome {
                RemoveOutcome::Removed => counts.push_removed += 1,
                RemoveOutcome::Kept => counts.push_conflicts += 1,
            }
            let (id, pushed) = (deadline_id.clone(), pushed.clone());
            self.commit_push(instance, run, counts, move |conn, instance_id| {
                deadline_push::record_removal(conn, instance_id, &id, &pushed, outcome)
            })
            .await?;
        }
        Ok(())
    }

    /// After the pull: sends lexgate's time on the instance's matters that it has not sent
    /// before (see `time_push`), recording each push with the run's counts as it comes. A
    /// failed push is counted and retried by the next run; an unreachable provider or refused
    /// credentials end the pushing, not the run.
    async fn push_time_entries(
        &self,
        instance: &InstanceRow,
        connector: &dyn Connector,
        run: &RunRow,
        counts: &mut Counts,
    ) -> Result<(), Stop> {
        let instance_id = instance.id.clone();
        let plan = self
            .db
            .run(move |conn| time_push::plan(conn, &instance_id))
            .await
            .map_err(|e| e.to_string())?;
        for entry in plan {
            let external_id = match time_push::send(connector, &instance.name, &entry).await {
                Ok(external_id) => external_id,
                Err(error) => {
                    counts.fail(Some(&entry.id), format!("push time entry: {error}"));
                    if deadline_push::stops_the_run(&error) {
                        break;
                    }
                    continue;
                }
            };
            counts.pushed += 1;
            self.commit_push(instance, run, counts, move |conn, instance_id| {
                time_push::record_push(conn, instance_id, &entry, &external_id)
            })
            .await?;
        }
        Ok(())
    }

    /// One push's record and the run's counts in one transaction, while the lease holds.
    async fn commit_push(
        &self,
        instance: &InstanceRow,
        run: &RunRow,
        counts: &Counts,
        write: impl FnOnce(&mut AnyConnection, &str) -> Result<()> + Send + 'static,
    ) -> Result<(), String> {
        let (instance_id, holder, ttl) = (instance.id.clone(), self.holder.clone(), self.lease_ttl);
        let (run_id, counts) = (run.id.clone(), counts.clone());
        self.db
            .transaction(move |conn| {
                ensure_lease(conn, &instance_id, &holder, ttl)?;
                write(conn, &instance_id)?;
                let full_sync = runs::get(conn, &run_id)?.full_sync;
                runs::record(conn, &run_id, full_sync, &counts)
            })
            .await
            .map_err(|e| e.to_string())
    }

    /// Each time an import has doubled what it created, the planner learns the new sizes of
    /// the tables it grows (an empty database's first import would otherwise run on plans
    /// made for empty tables). A failure only costs speed, so it is logged, not raised.
    async fn refresh_statistics(&self) {
        let refreshed = self
            .db
            .run(|conn| Ok(crate::db::refresh_statistics(conn, GROWN_TABLES)?))
            .await;
        if let Err(error) = refreshed {
            tracing::warn!(%error, "statistics not refreshed during the import");
        }
    }

    async fn start_full_resync(&self, instance: &InstanceRow, stream: Stream) -> Result<()> {
        let (instance_id, holder, ttl) = (instance.id.clone(), self.holder.clone(), self.lease_ttl);
        self.db
            .transaction(move |conn| {
                ensure_lease(conn, &instance_id, &holder, ttl)?;
                let state = cursor_state(conn, &instance_id, stream)?;
                diesel::update(sync_cursors::table.find((&instance_id, stream.name())))
                    .set((
                        sync_cursors::cursor.eq(None::<String>),
                        sync_cursors::generation.eq(state.generation + 1),
                        sync_cursors::full_sync.eq(true),
                        sync_cursors::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                Ok(())
            })
            .await
    }

    /// One page, its cursor and the run's counts in one transaction, while the lease holds.
    #[allow(clippy::too_many_arguments)]
    async fn commit_page(
        &self,
        instance: &InstanceRow,
        provenance: &Provenance,
        run: &RunRow,
        state: CursorState,
        stream: Stream,
        page: Records,
        mut counts: Counts,
        log: Option<ChangeLog>,
    ) -> Result<Counts> {
        let settings = instance.settings()?;
        let (instance_id, instance_name) = (instance.id.clone(), instance.name.clone());
        let kind = instance.kind.clone();
        let (holder, ttl, run_id) = (self.holder.clone(), self.lease_ttl, run.id.clone());
        let provenance = provenance.clone();
        let rules = self.rules.clone();
        let erasure = self.erasure.clone();
        self.db
            .transaction(move |conn| {
                ensure_lease(conn, &instance_id, &holder, ttl)?;
                let changed = ChangedContacts::default();
                let scope = PageScope {
                    instance_id: &instance_id,
                    instance_name: &instance_name,
                    provenance: &provenance,
                    generation: state.generation,
                    rules: &rules,
                    erasure: erasure.as_ref(),
                    changed: &changed,
                };
                // A savepoint per record: a failed record does not stop the page.
                match &page {
                    Records::Contacts(page) => apply_batched(
                        conn,
                        &changed,
                        &mut counts,
                        &page.records,
                        |r| &r.external_id,
                        |c| contact_page::apply_page(c, &scope, &page.records).map(Some),
                        |c, record| upsert::apply(c, &scope, record),
                    ),
                    Records::Communications(page) => {
                        let mail_scope = MailScope::load(conn, &settings)?;
                        apply_batched(
                            conn,
                            &changed,
                            &mut counts,
                            &page.records,
                            |r| &r.external_id,
                            |c| mail::apply_page(c, &scope, &mail_scope, &page.records),
                            |c, record| mail::apply(c, &scope, &mail_scope, record),
                        )
                    }
                    Records::Events(page) => {
                        let mail_scope = MailScope::load(conn, &settings)?;
                        for record in &page.records {
                            let mark = changed.mark();
                            match crate::db::transaction(conn, |c| {
                                calendar::apply(c, &scope, &mail_scope, record)
                            }) {
                                Ok(outcomes) => {
                                    outcomes.into_iter().for_each(|o| count(&mut counts, o))
                                }
                                Err(error) => {
                                    changed.undo_to(mark);
                                    counts.fail(Some(&record.external_id), record_error(&error))
                                }
                            }
                        }
                    }
                    Records::Documents(page) => apply_each(
                        conn,
                        &scope,
                        &page.records,
                        &mut counts,
                        |r| &r.external_id,
                        documents::apply,
                    ),
                    Records::Invoices(page) => apply_each(
                        conn,
                        &scope,
                        &page.records,
                        &mut counts,
                        |r| &r.external_id,
                        |c, scope, record| billing::apply_invoice(c, scope, &kind, record),
                    ),
                    Records::Matters(page) => apply_each(
                        conn,
                        &scope,
                        &page.records,
                        &mut counts,
                        |r| &r.external_id,
                        practice::apply_matter,
                    ),
                    Records::Deadlines(page) => apply_each(
                        conn,
                        &scope,
                        &page.records,
                        &mut counts,
                        |r| &r.external_id,
                        practice::apply_deadline,
                    ),
                    Records::TimeEntries(page) => apply_each(
                        conn,
                        &scope,
                        &page.records,
                        &mut counts,
                        |r| &r.external_id,
                        practice::apply_time_entry,
                    ),
                }
                let more = page.more();
                if state.full_sync && !more {
                    counts.deleted += match stream {
                        Stream::Contacts => {
                            reconcile_deletions(conn, &instance_id, state.generation, &changed)?
                        }
                        // Meetings are kept where messages are: one location per occurrence.
                        Stream::Communications | Stream::Events => mail::reconcile_deletions(
                            conn,
                            &instance_id,
                            state.generation,
                            &changed,
                        )?,
                        Stream::Documents => {
                            documents::reconcile_deletions(conn, &instance_id, state.generation)?
                        }
                        Stream::Invoices => {
                            billing::reconcile_invoices(conn, &instance_id, state.generation)?
                        }
                        Stream::Matters | Stream::Deadlines | Stream::TimeEntries => {
                            practice::reconcile_deletions(conn, &scope, stream.name())?
                        }
                    };
                }
                diesel::update(sync_cursors::table.find((&instance_id, stream.name())))
                    .set((
                        sync_cursors::cursor.eq(&page.cursor().0),
                        sync_cursors::full_sync.eq(state.full_sync && more),
                        sync_cursors::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                runs::record(conn, &run_id, state.full_sync, &counts)?;
                // Last: the entry takes the chain head's lock, held only for the commit.
                if let Some(log) = &log {
                    log.append_within(conn, changed.take())?;
                }
                Ok(counts)
            })
            .await
    }
}

/// Applies a page's records: the whole page at once through `batch`, or, when `batch`
/// declines (`None`) or its statements fail (rolled back to a savepoint), one by one through
/// `one`, each in a savepoint of its own. Either way a failing record fails alone.
#[allow(clippy::too_many_arguments)]
fn apply_batched<R>(
    conn: &mut AnyConnection,
    changed: &ChangedContacts,
    counts: &mut Counts,
    records: &[R],
    external_id: impl Fn(&R) -> &str,
    batch: impl FnOnce(&mut AnyConnection) -> Result<Option<Vec<Result<Outcome>>>>,
    one: impl Fn(&mut AnyConnection, &R) -> Result<Outcome>,
) {
    let mark = changed.mark();
    let outcomes = match crate::db::transaction(conn, batch) {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::warn!(%error, "page import failed; importing its records one by one");
            changed.undo_to(mark);
            None
        }
    };
    if let Some(outcomes) = outcomes {
        for (record, outcome) in records.iter().zip(outcomes) {
            match outcome {
                Ok(outcome) => count(counts, outcome),
                Err(error) => counts.fail(Some(external_id(record)), record_error(&error)),
            }
        }
        return;
    }
    for record in records {
        let mark = changed.mark();
        match crate::db::transaction(conn, |c| one(c, record)) {
            Ok(outcome) => count(counts, outcome),
            Err(error) => {
                changed.undo_to(mark);
                counts.fail(Some(external_id(record)), record_error(&error))
            }
        }
    }
}

/// One page of `stream` after `cursor`.
async fn pull(
    connector: &dyn Connector,
    instance_name: &str,
    stream: Stream,
    cursor: Option<&Cursor>,
) -> Result<Records, ConnectorError> {
    let span = crate::sync::connector_span(connector, instance_name, "pull", stream.name());
    match stream {
        Stream::Contacts => connector
            .pull_contacts(cursor)
            .instrument(span)
            .await
            .map(Records::Contacts),
        Stream::Communications => connector
            .pull_communications(cursor)
            .instrument(span)
            .await
            .map(Records::Communications),
        Stream::Events => connector
            .pull_events(cursor)
            .instrument(span)
            .await
            .map(Records::Events),
        Stream::Documents => connector
            .pull_documents(cursor)
            .instrument(span)
            .await
            .map(Records::Documents),
        Stream::Invoices => connector
            .pull_invoices(cursor)
            .instrument(span)
            .await
            .map(Records::Invoices),
        Stream::Matters => connector
            .pull_matters(cursor)
            .instrument(span)
            .await
            .map(Records::Matters),
        Stream::Deadlines => connector
            .pull_deadlines(cursor)
            .instrument(span)
            .await
            .map(Records::Deadlines),
        Stream::TimeEntries => connector
            .pull_time_entries(cursor)
            .instrument(span)
            .await
            .map(Records::TimeEntries),
    }
}

/// Applies each record of a page in a savepoint of its own (a failed record does not stop the
/// page), counting what happened.
fn apply_each<R>(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    records: &[R],
    counts: &mut Counts,
    external_id: impl Fn(&R) -> &String,
    apply: impl Fn(&mut AnyConnection, &PageScope<'_>, &R) -> Result<Outcome>,
) {
    for record in records {
        match crate::db::transaction(conn, |c| apply(c, scope, record)) {
            Ok(outcome) => count(counts, outcome),
            Err(error) => counts.fail(Some(external_id(record)), record_error(&error)),
        }
    }
}

fn count(counts: &mut Counts, outcome: Outcome) {
    match outcome {
        Outcome::Created => counts.created += 1,
        Outcome::Updated => counts.updated += 1,
        Outcome::Linked => counts.linked += 1,
        Outcome::Deleted => counts.deleted += 1,
        Outcome::Skipped => counts.skipped += 1,
        Outcome::Review => counts.review += 1,
    }
}

/// Why a record failed, naming fields but never their values (which validation messages
/// may quote).
fn record_error(error: &Error) -> String {
    match error {
        Error::Validation(fields) => format!(
            "invalid: {}",
            fields
                .iter()
                .map(|f| f.field.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => {
            tracing::warn!(error = %other, "sync record failed");
            format!("could not be stored ({})", other.code())
        }
    }
}

fn ensure_lease(
    conn: &mut AnyConnection,
    instance_id: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<()> {
    if lease::renew(conn, instance_id, holder, ttl)? {
        Ok(())
    } else {
        Err(Error::Conflict {
            field: None,
            message: "the sync lease was lost to another process".into(),
        })
    }
}

/// The stream's state, created for a first (full) sync.
fn cursor_state(
    conn: &mut AnyConnection,
    instance_id: &str,
    stream: Stream,
) -> Result<CursorState> {
    let state = sync_cursors::table
        .find((instance_id, stream.name()))
        .select((
            sync_cursors::cursor,
            sync_cursors::generation,
            sync_cursors::full_sync,
        ))
        .first::<CursorState>(conn)
        .optional()?;
    if let Some(state) = state {
        return Ok(state);
    }
    diesel::insert_into(sync_cursors::table)
        .values((
            sync_cursors::instance_id.eq(instance_id),
            sync_cursors::stream.eq(stream.name()),
            sync_cursors::generation.eq(1),
            sync_cursors::full_sync.eq(true),
            sync_cursors::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(CursorState {
        cursor: None,
        generation: 1,
        full_sync: true,
    })
}

/// At the end of a full listing: links not seen in this generation were deleted at the
/// provider.
fn reconcile_deletions(
    conn: &mut AnyConnection,
    instance_id: &str,
    generation: i32,
    changed: &ChangedContacts,
) -> Result<i32> {
    let stale = sync_links::table
        .filter(sync_links::instance_id.eq(instance_id))
        .filter(sync_links::deleted_at.is_null())
        .filter(sync_links::seen_generation.lt(generation));
    let unlinked: Vec<Option<String>> = stale.select(sync_links::contact_id).load(conn)?;
    unlinked
        .iter()
        .flatten()
        .for_each(|contact| changed.note(contact));
    let ended = diesel::update(stale)
        .set((
            sync_links::deleted_at.eq(now()),
            sync_links::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(ended as i32)
}

/// Counts a committed run and its records, labelled by the instance's name.
fn record_run_metrics(instance: &str, run: &RunRow) {
    let instance = instance.to_owned();
    metrics::counter!(crate::metrics::SYNC_RUNS, "instance" => instance.clone(), "outcome" => run.status.clone())
        .increment(1);
    let records = [
        ("created", run.created),
        ("updated", run.updated),
        ("linked", run.linked),
        ("deleted", run.deleted),
        ("skipped", run.skipped),
        ("review", run.review),
        ("failed", run.failed),
    ];
    for (outcome, count) in records {
        metrics::counter!(crate::metrics::SYNC_RECORDS, "instance" => instance.clone(), "outcome" => outcome)
            .increment(u64::try_from(count).unwrap_or(0));
    }
}
