//! Pushing lexgate's time to a practice-management system (the `clio` kind), after an
//! instance's pull (issue 17).
//!
//! **Which entries.** Every time entry recorded in lexgate on a matter the instance linked to
//! one of its matters (`sync_record_links`, stream `matters`), except those the instance's
//! own time gave lexgate (stream `time_entries`): lexgate's time reaches the system holding
//! its matters, and nothing goes back where it came from.
//!
//! **Once.** Each entry becomes an activity whose `reference` is `lexgate:{id}`; the connector
//! looks that reference up before creating, so a push whose answer was lost is not repeated.
//! A pushed entry is recorded in `time_entry_pushes`, with the provider's id and the digest of
//! what was sent, and never sent again: a re-run sends no request. The pull leaves activities with a `lexgate:` reference out, so pushed time never
//! comes back as an imported duplicate.
//!
//! **Creation only.** An entry changed in lexgate after its push is not sent again: the
//! connector creates activities and never rewrites them (once in Clio, the activity is the
//! firm's to bill and edit there). The stored digest says what was sent, so such an entry can
//! be told apart later.
//!
//! **Failures.** An entry the provider refuses is counted as failed and sent again by the next
//! run; an unreachable provider or refused credentials end the pushing for this run (the rest
//! wait for the next one). Neither fails the run: its import is committed already.

use diesel::dsl::not;
use diesel::prelude::*;
use lexgate_connectors::{Connector, ConnectorError, OutboundTimeEntry};
use tracing::Instrument;

use super::practice::{self, digest_of};
use crate::db::schema::{matters, sync_record_links, time_entries, time_entry_pushes};
use crate::db::{now, AnyConnection};
use crate::error::Result;

/// The time entries to push to the instance: on its linked matters, neither imported from it
/// nor pushed to it before; oldest first.
pub fn plan(conn: &mut AnyConnection, instance_id: &str) -> Result<Vec<OutboundTimeEntry>> {
    let linked_matters = sync_record_links::table
        .filter(sync_record_links::instance_id.eq(instance_id))
        .filter(sync_record_links::stream.eq(practice::MATTERS))
        .filter(sync_record_links::removed_at.is_null())
        .select(sync_record_links::record_id);
    let imported = sync_record_links::table
        .filter(sync_record_links::instance_id.eq(instance_id))
        .filter(sync_record_links::stream.eq(practice::TIME_ENTRIES))
        .select(sync_record_links::record_id);
    let pushed = time_entry_pushes::table
        .filter(time_entry_pushes::instance_id.eq(instance_id))
        .select(time_entry_pushes::time_entry_id);
    let rows: Vec<(String, String, i32, String, chrono::NaiveDate)> = time_entries::table
        .inner_join(matters::table)
        .filter(time_entries::matter_id.eq_any(linked_matters))
        .filter(not(time_entries::id.eq_any(imported)))
        .filter(not(time_entries::id.eq_any(pushed)))
        .order_by((time_entries::created_at.asc(), time_entries::id.asc()))
        .select((
            time_entries::id,
            matters::reference,
            time_entries::minutes,
            time_entries::narrative,
            time_entries::work_date,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, matter_reference, minutes, description, worked_on)| OutboundTimeEntry {
                id,
                matter_reference,
                minutes,
                description,
                worked_on: Some(worked_on),
            },
        )
        .collect())
}

/// Records that `entry` was pushed as the provider's `external_id`.
pub fn record_push(
    conn: &mut AnyConnection,
    instance_id: &str,
    entry: &OutboundTimeEntry,
    external_id: &str,
) -> Result<()> {
    diesel::insert_into(time_entry_pushes::table)
        .values((
            time_entry_pushes::instance_id.eq(instance_id),
            time_entry_pushes::time_entry_id.eq(&entry.id),
            time_entry_pushes::external_id.eq(external_id),
            time_entry_pushes::digest.eq(digest_of(entry)?),
            time_entry_pushes::pushed_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sends one time entry; answers the provider's id for it.
pub async fn send(
    connector: &dyn Connector,
    instance_name: &str,
    entry: &OutboundTimeEntry,
) -> std::result::Result<String, ConnectorError> {
    connector
        .push_time_entry(entry)
        .instrument(super::connector_span(
            connector,
            instance_name,
            "push",
            "time_entries",
        ))
        .await
}
