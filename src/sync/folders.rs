//! Case-file folders made when a matter is opened. `createMatter` records a request per
//! document-store instance whose settings say `matterFolders`, in the matter's own
//! transaction ([`request_for_matter`]); a worker makes the folder right after the commit and
//! the scheduler retries what failed, with backoff, on whichever replica claims it first
//! ([`claim_due`] takes a request with one conditional UPDATE, so two replicas never work on
//! the same one at once). Making a folder is idempotent in the connector, so a claim that
//! lapses mid-way (a crash) only costs a repeat. Each sync run of the instance still makes
//! every open matter's missing folder, and then settles its pending requests.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use lexgate_connectors::MatterFolder;

use super::documents::CLOSED;
use super::instances::{self, InstanceRow};
use crate::db::schema::{connector_instances, matter_folder_requests, matters};
use crate::db::{now, AnyConnection};
use crate::error::Result;
use crate::listing::group_by_key;

/// How long a claim keeps other replicas off a request (a folder takes a few requests).
const CLAIM: Duration = Duration::minutes(2);
/// The longest wait between two attempts.
const MAX_BACKOFF_MINUTES: i64 = 60;
/// Requests taken per round, so one round stays short.
const ROUND: i64 = 50;

/// A request as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = matter_folder_requests)]
pub struct FolderRequestRow {
    pub instance_id: String,
    pub matter_id: String,
    pub requested_at: NaiveDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub not_before: NaiveDateTime,
    pub made_at: Option<NaiveDateTime>,
}

/// Where a matter's case-file folder stands in a document store.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseFileFolderStatus {
    /// Not tried yet, or being made.
    Pending,
    /// The store has the folder.
    Made,
    /// The last attempt failed; another follows.
    Failing,
}

impl FolderRequestRow {
    pub fn status(&self) -> CaseFileFolderStatus {
        if self.made_at.is_some() {
            CaseFileFolderStatus::Made
        } else if self.last_error.is_some() {
            CaseFileFolderStatus::Failing
        } else {
            CaseFileFolderStatus::Pending
        }
    }
}

/// The instances that make a folder for every new matter.
fn folder_instances(conn: &mut AnyConnection) -> Result<Vec<InstanceRow>> {
    let mut wanted = Vec::new();
    for instance in instances::list(conn)? {
        if instance.enabled && instance.settings()?.matter_folders {
            wanted.push(instance);
        }
    }
    Ok(wanted)
}

/// Records, in the caller's transaction, a folder request for the new `matter_id` in every document
/// store that makes matter folders; answers how many.
pub fn request_for_matter(conn: &mut AnyConnection, matter_id: &str) -> Result<usize> {
    let status: String = matters::table
        .find(matter_id)
        .select(matters::status)
        .first(conn)?;
    // A matter recorded as already closed (an old one entered afterwards) needs no folder.
    if CLOSED.contains(&status.as_str()) {
        return Ok(0);
    }
    let at = now();
    let mut requested = 0;
    for instance in folder_instances(conn)? {
        requested += diesel::insert_into(matter_folder_requests::table)
            .values((
                matter_folder_requests::instance_id.eq(&instance.id),
                matter_folder_requests::matter_id.eq(matter_id),
                matter_folder_requests::requested_at.eq(at),
                matter_folder_requests::not_before.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(requested)
}

/// A claimed request with what the store needs to make the folder.
#[derive(Debug, Clone)]
pub struct ClaimedFolder {
    pub instance_id: String,
    pub matter_id: String,
    pub folder: MatterFolder,
}

/// Claims up to one round of due requests (of `matter_id` only, when given) for `holder`.
pub fn claim_due(
    conn: &mut AnyConnection,
    holder: &str,
    matter_id: Option<&str>,
) -> Result<Vec<ClaimedFolder>> {
    let at = now();
    let mut due = matter_folder_requests::table
        .inner_join(matters::table)
        .inner_join(connector_instances::table)
        .filter(connector_instances::enabled.eq(true))
        .filter(matter_folder_requests::made_at.is_null())
        .filter(matter_folder_requests::not_before.le(at))
        .select((
            matter_folder_requests::instance_id,
            matter_folder_requests::matter_id,
            matter_folder_requests::not_before,
            matters::reference,
            matters::title,
        ))
        .order_by(matter_folder_requests::not_before.asc())
        .limit(ROUND)
        .into_boxed();
    if let Some(matter_id) = matter_id {
        due = due.filter(matter_folder_requests::matter_id.eq(matter_id.to_owned()));
    }
    let due: Vec<(String, String, NaiveDateTime, String, String)> = due.load(conn)?;
    let mut claimed = Vec::new();
    for (instance_id, matter_id, seen_not_before, reference, title) in due {
        // Taken only if nobody changed it since it was read: the other replica's claim (or
        // finish) moved `not_before` or set `made_at`.
        let taken = diesel::update(
            matter_folder_requests::table
                .find((&instance_id, &matter_id))
                .filter(matter_folder_requests::made_at.is_null())
                .filter(matter_folder_requests::not_before.eq(seen_not_before)),
        )
        .set((
            matter_folder_requests::claimed_by.eq(holder),
            matter_folder_requests::not_before.eq(at + CLAIM),
        ))
        .execute(conn)?;
        if taken == 1 {
            claimed.push(ClaimedFolder {
                instance_id,
                matter_id,
                folder: MatterFolder { reference, title },
            });
        }
    }
    Ok(claimed)
}

/// Records that the store has the folder.
pub fn made(conn: &mut AnyConnection, instance_id: &str, matter_id: &str) -> Result<()> {
    let at = now();
    diesel::update(matter_folder_requests::table.find((instance_id, matter_id)))
        .set((
            matter_folder_requests::made_at.eq(Some(at)),
            matter_folder_requests::last_error.eq(None::<String>),
            matter_folder_requests::claimed_by.eq(None::<String>),
            matter_folder_requests::not_before.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt; the next one waits 1, 2, 4 … minutes, at most an hour.
pub fn failed(
    conn: &mut AnyConnection,
    instance_id: &str,
    matter_id: &str,
    error: &str,
) -> Result<()> {
    let attempts: i32 = matter_folder_requests::table
        .find((instance_id, matter_id))
        .select(matter_folder_requests::attempts)
        .first(conn)?;
    let attempts = attempts.saturating_add(1);
    let wait = 1_i64
        .checked_shl(u32::try_from(attempts - 1).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX)
        .min(MAX_BACKOFF_MINUTES);
    diesel::update(matter_folder_requests::table.find((instance_id, matter_id)))
        .set((
            matter_folder_requests::attempts.eq(attempts),
            matter_folder_requests::last_error.eq(Some(error)),
            matter_folder_requests::claimed_by.eq(None::<String>),
            matter_folder_requests::not_before.eq(now() + Duration::minutes(wait)),
        ))
        .execute(conn)?;
    Ok(())
}

/// After a sync run made every open matter's missing folder: the pending requests of open
/// matters are done.
pub fn settle_instance(conn: &mut AnyConnection, instance_id: &str) -> Result<usize> {
    let at = now();
    let open = matters::table
        .filter(matters::status.ne_all(CLOSED))
        .select(matters::id);
    Ok(diesel::update(
        matter_folder_requests::table
            .filter(matter_folder_requests::instance_id.eq(instance_id))
            .filter(matter_folder_requests::matter_id.eq_any(open))
            .filter(matter_folder_requests::made_at.is_null()),
    )
    .set((
        matter_folder_requests::made_at.eq(Some(at)),
        matter_folder_requests::last_error.eq(None::<String>),
        matter_folder_requests::claimed_by.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// A matter's folder request with the name of its document store's instance.
#[derive(Debug, Clone)]
pub struct CaseFolder {
    pub request: FolderRequestRow,
    pub store: String,
}

/// The folder requests of these matters, by matter, oldest first.
pub fn of_matters(
    conn: &mut AnyConnection,
    matter_ids: &[String],
) -> Result<HashMap<String, Vec<CaseFolder>>> {
    let rows: Vec<(FolderRequestRow, String)> = matter_folder_requests::table
        .inner_join(connector_instances::table)
        .filter(matter_folder_requests::matter_id.eq_any(matter_ids))
        .order_by((
            matter_folder_requests::requested_at.asc(),
            matter_folder_requests::instance_id.asc(),
        ))
        .select((FolderRequestRow::as_select(), connector_instances::name))
        .load(conn)?;
    Ok(group_by_key(
        rows.into_iter()
            .map(|(request, store)| CaseFolder { request, store }),
        |f| f.request.matter_id.clone(),
    ))
}
