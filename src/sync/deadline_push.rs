//! Pushing deadlines and hearings to calendars, after an instance's pull (issue 15).
//!
//! **Which deadlines an instance covers.** A calendar instance names lexgate users
//! (`deadline_users`, by email): it receives the open court deadlines, hearings and filings
//! (not internal tasks) assigned to one of them, directly or through one of their teams, or
//! belonging to a matter one of them is responsible for, due from the instance's `past_days`
//! ago onwards. Without `deadline_users` nothing is pushed.
//!
//! **What a push does.** Each covered deadline becomes one event with the stable UID
//! `lexgate-deadline-{id}`; `deadline_pushes` keeps what lexgate left there (href, ETag, the
//! digest of what it sent). A deadline whose digest is unchanged sends no request at all, so a
//! re-run changes nothing. A create is `If-None-Match: *` and an update `If-Match` the stored
//! ETag; on a 412 the connector re-reads the event and decides: an event nobody edited
//! (only its ETag moved) is updated; one edited at the provider is left as it is (outcome
//! `conflict`) and lexgate sends nothing more until the deadline itself changes in lexgate:
//! then lexgate's newer version (or the event's removal) goes out, conditional on the
//! edited version it saw, so an edit is never overwritten unseen. A deadline completed,
//! cancelled, deleted or no longer assigned to the instance's users removes its event
//! (`DELETE` with `If-Match`); one edited at the provider since lexgate's last look is
//! kept (outcome `kept`) and never retried. A deadline that merely falls behind the window
//! keeps its event. An event deleted at the provider is recreated when its deadline next
//! changes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use lexgate_connectors::caldav::deadline_uid;
use lexgate_connectors::{
    Connector, ConnectorError, DeadlinePush, OutboundDeadline, PushOutcome, PushedEvent,
    RemoveOutcome,
};
use tracing::Instrument;

use super::instances::InstanceSettings;
use super::runs::Counts;
use crate::db::schema::{
    deadline_pushes, deadline_team_assignees, deadline_user_assignees, deadlines, matters,
    sync_record_links, team_members, users,
};
use crate::db::{now, AnyConnection};
use crate::deadlines::{DeadlineKind, DeadlineRow, DeadlineStatus};
use crate::error::Result;
use crate::listing::lower;

/// The kinds pushed: the firm's court-facing dates, not its internal tasks.
const PUSHED_KINDS: [DeadlineKind; 3] = [
    DeadlineKind::CourtDeadline,
    DeadlineKind::Hearing,
    DeadlineKind::Filing,
];

/// A row's outcome once its event was removed: the row stays as history, but counts as no
/// event at all.
const REMOVED: &str = "removed";
/// Removal refused because the event was edited at the provider: never retried.
const KEPT: &str = "kept";

/// What one push step has to do.
pub struct Plan {
    pub send: Vec<OutboundDeadline>,
    /// Deadline id and what lexgate left for it.
    pub remove: Vec<(String, PushedEvent)>,
}

/// The deadlines `settings` covers now, and the events of those it no longer covers.
pub fn plan(
    conn: &mut AnyConnection,
    instance_id: &str,
    settings: &InstanceSettings,
    at: DateTime<Utc>,
) -> Result<Plan> {
    let stored: Vec<(String, String, Option<String>, String, String)> = deadline_pushes::table
        .filter(deadline_pushes::instance_id.eq(instance_id))
        .filter(deadline_pushes::outcome.ne(REMOVED))
        .select((
            deadline_pushes::deadline_id,
            deadline_pushes::external_id,
            deadline_pushes::etag,
            deadline_pushes::digest,
            deadline_pushes::outcome,
        ))
        .load(conn)?;
    let assigned = assigned(conn, settings)?;
    let mut previous: HashMap<String, (PushedEvent, String)> = stored
        .into_iter()
        .map(|(deadline, external_id, version, digest, outcome)| {
            let pushed = PushedEvent {
                external_id,
                version,
                digest,
            };
            (deadline, (pushed, outcome))
        })
        .collect();
    let remove = previous
        .iter()
        .filter(|(id, (_, outcome))| !assigned.contains(*id) && outcome != KEPT)
        .map(|(id, (pushed, _))| (id.clone(), pushed.clone()))
        .collect();
    let from = (at - TimeDelta::days(settings.past_days.into())).naive_utc();
    let ids: Vec<String> = assigned.into_iter().collect();
    // What the instance's calendar gave lexgate is there already.
    let imported = sync_record_links::table
        .filter(sync_record_links::instance_id.eq(instance_id))
        .filter(sync_record_links::stream.eq(super::practice::DEADLINES))
        .select(sync_record_links::record_id);
    let rows: Vec<DeadlineRow> = deadlines::table
        .filter(deadlines::id.eq_any(&ids))
        .filter(diesel::dsl::not(deadlines::id.eq_any(imported)))
        .filter(deadlines::due_at.ge(from))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .select(DeadlineRow::as_select())
        .load(conn)?;
    let matter_ids: Vec<&String> = rows.iter().filter_map(|d| d.matter_id.as_ref()).collect();
    let references: HashMap<String, String> = matters::table
        .filter(matters::id.eq_any(matter_ids))
        .select((matters::id, matters::reference))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let send = rows
        .into_iter()
        .map(|row| OutboundDeadline {
            previous: previous.remove(&row.id).map(|(pushed, _)| pushed),
            matter_reference: row
                .matter_id
                .as_ref()
                .and_then(|m| references.get(m).cloned()),
            id: row.id,
            kind: row.kind,
            title: row.title,
            description: row.description,
            due_at: row.due_at.and_utc(),
        })
        .collect();
    Ok(Plan { send, remove })
}

/// The open deadlines of the pushed kinds assigned to the instance's users (directly, through
/// a team, or as the responsible lawyer of their matter), whenever due.
fn assigned(conn: &mut AnyConnection, settings: &InstanceSettings) -> Result<HashSet<String>> {
    if settings.deadline_users.is_empty() {
        return Ok(HashSet::new());
    }
    let people: Vec<String> = users::table
        .filter(lower(users::email).eq_any(&settings.deadline_users))
        .select(users::id)
        .load(conn)?;
    if people.is_empty() {
        return Ok(HashSet::new());
    }
    let direct = deadline_user_assignees::table
        .filter(deadline_user_assignees::user_id.eq_any(people.clone()))
        .select(deadline_user_assignees::deadline_id);
    let their_teams = team_members::table
        .filter(team_members::user_id.eq_any(people.clone()))
        .select(team_members::team_id);
    let via_team = deadline_team_assignees::table
        .filter(deadline_team_assignees::team_id.eq_any(their_teams))
        .select(deadline_team_assignees::deadline_id);
    let responsible = matters::table
        .filter(matters::responsible_user_id.eq_any(people))
        .select(matters::id);
    let responsible: Vec<String> = responsible.load(conn)?;
    Ok(deadlines::table
        .filter(
            deadlines::id
                .eq_any(direct)
                .or(deadlines::id.eq_any(via_team))
                .or(deadlines::matter_id.eq_any(responsible)),
        )
        .filter(deadlines::status.eq(DeadlineStatus::Open.as_str()))
        .filter(deadlines::kind.eq_any(PUSHED_KINDS.map(|k| k.as_str())))
        .select(deadlines::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Records what a push left at the provider.
pub fn record_push(
    conn: &mut AnyConnection,
    instance_id: &str,
    deadline_id: &str,
    push: &DeadlinePush,
) -> Result<()> {
    let outcome = match push.outcome {
        PushOutcome::Created => "created",
        PushOutcome::Updated => "updated",
        PushOutcome::Unchanged => "unchanged",
        PushOutcome::Conflict => "conflict",
    };
    write(conn, instance_id, deadline_id, &push.pushed, outcome)
}

/// Records the removal of a deadline's event (or why it was kept).
pub fn record_removal(
    conn: &mut AnyConnection,
    instance_id: &str,
    deadline_id: &str,
    pushed: &PushedEvent,
    outcome: RemoveOutcome,
) -> Result<()> {
    let outcome = match outcome {
        RemoveOutcome::Removed => REMOVED,
        RemoveOutcome::Kept => KEPT,
    };
    write(conn, instance_id, deadline_id, pushed, outcome)
}

fn write(
    conn: &mut AnyConnection,
    instance_id: &str,
    deadline_id: &str,
    pushed: &PushedEvent,
    outcome: &str,
) -> Result<()> {
    let updated = diesel::update(deadline_pushes::table.find((instance_id, deadline_id)))
        .set((
            deadline_pushes::external_id.eq(&pushed.external_id),
            deadline_pushes::etag.eq(&pushed.version),
            deadline_pushes::digest.eq(&pushed.digest),
            deadline_pushes::outcome.eq(outcome),
            deadline_pushes::pushed_at.eq(now()),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(deadline_pushes::table)
            .values((
                deadline_pushes::instance_id.eq(instance_id),
                deadline_pushes::deadline_id.eq(deadline_id),
                deadline_pushes::external_id.eq(&pushed.external_id),
                deadline_pushes::uid.eq(deadline_uid(deadline_id)),
                deadline_pushes::etag.eq(&pushed.version),
                deadline_pushes::digest.eq(&pushed.digest),
                deadline_pushes::outcome.eq(outcome),
                deadline_pushes::pushed_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A push the run stops at (the provider is unreachable, throttles us or refuses our
/// credentials), rather than one deadline the provider refused.
pub fn stops_the_run(error: &ConnectorError) -> bool {
    matches!(
        error,
        ConnectorError::Unavailable(_)
            | ConnectorError::Unauthorized(_)
            | ConnectorError::Throttled { .. }
    )
}

/// Sends one deadline (the connector sends no request when its digest is unchanged).
pub async fn send(
    connector: &dyn Connector,
    instance_name: &str,
    deadline: &OutboundDeadline,
) -> std::result::Result<DeadlinePush, ConnectorError> {
    connector
        .push_deadline(deadline)
        .instrument(super::connector_span(
            connector,
            instance_name,
            "push",
            "deadlines",
        ))
        .await
}

/// Removes one event.
pub async fn remove(
    connector: &dyn Connector,
    instance_name: &str,
    pushed: &PushedEvent,
) -> std::result::Result<RemoveOutcome, ConnectorError> {
    connector
        .remove_deadline(pushed)
        .instrument(super::connector_span(
            connector,
            instance_name,
            "remove",
            "deadlines",
        ))
        .await
}

/// Counts one push's outcome.
pub fn count(counts: &mut Counts, outcome: PushOutcome) {
    match outcome {
        PushOutcome::Created | PushOutcome::Updated => counts.pushed += 1,
        PushOutcome::Conflict => counts.push_conflicts += 1,
        PushOutcome::Unchanged => {}
    }
}
