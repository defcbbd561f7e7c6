//! Sync runs: when each started and finished, what it did (created, updated, linked,
//! deleted, skipped, sent to review, failed) and its errors. Counts are written with every
//! page, so a crashed run still shows what it committed.

use async_graphql::Enum;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::sync_runs;
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};

/// Where a sync run stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRunStatus {
    /// Going on now.
    Running,
    /// Every record was handled (some may have failed: see the counts).
    Succeeded,
    /// The run stopped early (provider unreachable, credentials refused, lease lost).
    Failed,
    /// The run stopped early because the provider kept throttling it through every retry
    /// (HTTP 429, Google's 403 `rateLimitExceeded`, IMAP connection limits). What it
    /// committed stays, and the next run continues from there.
    Throttled,
    /// The process running it stopped; a later run continued from its last committed page.
    Abandoned,
}

impl SyncRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncRunStatus::Running => "running",
            SyncRunStatus::Succeeded => "succeeded",
            SyncRunStatus::Failed => "failed",
            SyncRunStatus::Abandoned => "abandoned",
            SyncRunStatus::Throttled => "throttled",
        }
    }

    pub fn from_db(text: &str) -> Result<SyncRunStatus> {
        [
            SyncRunStatus::Running,
            SyncRunStatus::Succeeded,
            SyncRunStatus::Failed,
            SyncRunStatus::Abandoned,
            SyncRunStatus::Throttled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| Error::Internal(format!("unknown sync run status {text}")))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_runs, treat_none_as_null = true)]
pub struct RunRow {
    pub id: String,
    pub instance_id: String,
    pub trigger: String,
    pub holder: String,
    pub status: String,
    pub full_sync: bool,
    pub started_at: chrono::NaiveDateTime,
    pub finished_at: Option<chrono::NaiveDateTime>,
    pub created: i32,
    pub updated: i32,
    pub linked: i32,
    pub deleted: i32,
    pub skipped: i32,
    pub review: i32,
    pub failed: i32,
    pub errors: String,
    pub pushed: i32,
    pub push_removed: i32,
    pub push_conflicts: i32,
}

/// One record that failed, by the provider's id; the message names fields, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "SyncRunError")]
pub struct RunError {
    /// The provider's id of the record that failed; null when the failure was not about one record.
    pub external_id: Option<String>,
    /// What went wrong; it names fields, never their values.
    pub message: String,
}

/// What a run did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i32,
    pub updated: i32,
    pub linked: i32,
    pub deleted: i32,
    pub skipped: i32,
    pub review: i32,
    pub failed: i32,
    pub errors: Vec<RunError>,
    /// Deadline events created or updated, and time entries created, at the provider.
    pub pushed: i32,
    /// Deadline events removed at the provider.
    pub push_removed: i32,
    /// Deadline events edited at the provider and left alone.
    pub push_conflicts: i32,
}

/// The most errors kept per run; the count keeps counting.
const MAX_ERRORS: usize = 100;

impl Counts {
    pub fn fail(&mut self, external_id: Option<&str>, message: String) {
        self.failed += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(RunError {
                external_id: external_id.map(str::to_owned),
                message,
            });
        }
    }

    pub fn handled(&self) -> i32 {
        self.created
            + self.updated
            + self.linked
            + self.deleted
            + self.skipped
            + self.review
            + self.failed
    }
}

impl RunRow {
    pub fn status(&self) -> Result<SyncRunStatus> {
        SyncRunStatus::from_db(&self.status)
    }

    pub fn errors(&self) -> Vec<RunError> {
        serde_json::from_str(&self.errors).unwrap_or_default()
    }
}

/// Starts a run; runs of the instance still marked running belong to a holder whose lease
/// expired (we hold it now), so they are marked abandoned.
pub fn start(
    conn: &mut AnyConnection,
    instance_id: &str,
    trigger: &str,
    holder: &str,
) -> Result<RunRow> {
    let at = now();
    diesel::update(
        sync_runs::table.filter(
            sync_runs::instance_id
                .eq(instance_id)
                .and(sync_runs::status.eq(SyncRunStatus::Running.as_str())),
        ),
    )
    .set((
        sync_runs::status.eq(SyncRunStatus::Abandoned.as_str()),
        sync_runs::finished_at.eq(at),
    ))
    .execute(conn)?;
    let row = RunRow {
        id: new_id(),
        instance_id: instance_id.to_owned(),
        trigger: trigger.to_owned(),
        holder: holder.to_owned(),
        status: SyncRunStatus::Running.as_str().to_owned(),
        full_sync: false,
        started_at: at,
        finished_at: None,
        created: 0,
        updated: 0,
        linked: 0,
        deleted: 0,
        skipped: 0,
        review: 0,
        failed: 0,
        errors: "[]".to_owned(),
        pushed: 0,
        push_removed: 0,
        push_conflicts: 0,
    };
    diesel::insert_into(sync_runs::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Writes the counts so far (with the page they cover).
pub fn record(
    conn: &mut AnyConnection,
    run_id: &str,
    full_sync: bool,
    counts: &Counts,
) -> Result<()> {
    let errors =
        serde_json::to_string(&counts.errors).map_err(|e| Error::Internal(format!("json: {e}")))?;
    diesel::update(sync_runs::table.find(run_id))
        .set((
            sync_runs::full_sync.eq(full_sync),
            sync_runs::created.eq(counts.created),
            sync_runs::updated.eq(counts.updated),
            sync_runs::linked.eq(counts.linked),
            sync_runs::deleted.eq(counts.deleted),
            sync_runs::skipped.eq(counts.skipped),
            sync_runs::review.eq(counts.review),
            sync_runs::failed.eq(counts.failed),
            sync_runs::errors.eq(errors),
            sync_runs::pushed.eq(counts.pushed),
            sync_runs::push_removed.eq(counts.push_removed),
            sync_runs::push_conflicts.eq(counts.push_conflicts),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn finish(
    conn: &mut AnyConnection,
    run_id: &str,
    status: SyncRunStatus,
    full_sync: bool,
    counts: &Counts,
) -> Result<RunRow> {
    record(conn, run_id, full_sync, counts)?;
    diesel::update(sync_runs::table.find(run_id))
        .set((
            sync_runs::status.eq(status.as_str()),
            sync_runs::finished_at.eq(now()),
        ))
        .execute(conn)?;
    get(conn, run_id)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<RunRow> {
    sync_runs::table
        .find(id)
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("SyncRun", id))
}

/// The latest runs of an instance, newest first.
pub fn latest(conn: &mut AnyConnection, instance_id: &str, limit: i64) -> Result<Vec<RunRow>> {
    Ok(sync_runs::table
        .filter(sync_runs::instance_id.eq(instance_id))
        .order((sync_runs::started_at.desc(), sync_runs::id.desc()))
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)?)
}
