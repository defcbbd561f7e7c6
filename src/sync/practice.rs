//! Importing a practice-management system (the `clio` kind): its matters as lexgate matters,
//! their calendar entries as deadlines and their time entries as `TimeEntry` rows.
//!
//! **Keys.** `sync_record_links` says which provider record each row is (instance, stream,
//! the provider's id) and keeps a digest of what the provider said last: a record whose digest
//! is unchanged writes nothing, so a re-run changes nothing and an edit made in lexgate stands
//! until the provider changes the record again. A row deleted in lexgate is not re-created.
//!
//! **Matters** are matched by number: a provider matter whose `display_number` is a lexgate
//! matter's reference is linked to it (lexgate's title, status and team stand; the provider
//! only fills in a missing client or responsible lawyer), one without a match is created, so
//! the same matter never exists twice. Creating needs the client: a matter whose client is not
//! a contact of lexgate (in review, restricted, or erased and so never imported again) fails,
//! and is tried again when the provider lists it again (a change, or the daily full listing). A change at the provider updates number (when no other matter has it),
//! title, status, practice area, dates, responsible lawyer (matched to a user by email) and
//! client (a move to another client replaces the client the import set); each change is
//! recorded in the matter's history.
//!
//! **Deadlines and time** belong to the matter their provider matter was imported as (or, for
//! one never imported, the matter with its number); entries without a matter are skipped, as
//! are those lexgate pushed itself (the connector leaves them out). Billed time is the
//! invoice's: a change or deletion at the provider is recorded in the matter's history, never
//! written into it.
//!
//! **Deletions** (and records a full listing no longer lists) never drop lexgate data: a
//! matter stays, with the deletion in its history; a deadline is cancelled; unbilled time
//! stays as non-billable time. Each is recorded in the matter's history.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use lexgate_connectors::{RemoteDeadline, RemoteMatter, RemoteMatterStatus, RemoteTimeEntry};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::upsert::{self, Outcome, PageScope};
use crate::billing::TimeEntryRow;
use crate::db::schema::{
    deadline_reminders, deadlines, matter_parties, matters, sync_record_links, time_entries, users,
};
use crate::db::{new_id, now, AnyConnection};
use crate::deadlines::{DeadlineKind, DeadlineRow, DeadlineStatus};
use crate::error::{Error, Result};
use crate::listing::lower;
use crate::matters::{self as matter_service, MatterRow, MatterStatus, PartyRole};

/// The streams whose records are kept here, by their cursor's name.
pub const MATTERS: &str = "matters";
pub const DEADLINES: &str = "deadlines";
pub const TIME_ENTRIES: &str = "time_entries";

/// A matter created without a practice area at the provider.
const DEFAULT_PRACTICE_AREA: &str = "general";
/// The narrative of time recorded without a note.
const NO_NOTE: &str = "(no description)";
/// lexgate's longest time entry, in minutes.
const MAX_MINUTES: i32 = 24 * 60;

#[derive(Debug, Queryable)]
struct Link {
    record_id: String,
    digest: String,
    client_external_id: Option<String>,
    removed_at: Option<NaiveDateTime>,
}

fn link(
    conn: &mut AnyConnection,
    instance_id: &str,
    stream: &str,
    external_id: &str,
) -> Result<Option<Link>> {
    Ok(sync_record_links::table
        .find((instance_id, stream, external_id))
        .select((
            sync_record_links::record_id,
            sync_record_links::digest,
            sync_record_links::client_external_id,
            sync_record_links::removed_at,
        ))
        .first(conn)
        .optional()?)
}

/// What a link says after a record was applied.
struct Seen<'a> {
    stream: &'a str,
    external_id: &'a str,
    record_id: &'a str,
    digest: &'a str,
    client_external_id: Option<&'a str>,
}

/// Writes the link as seen in this listing (and not removed).
fn save_link(conn: &mut AnyConnection, scope: &PageScope<'_>, seen: Seen<'_>) -> Result<()> {
    let at = now();
    let updated = diesel::update(sync_record_links::table.find((
        scope.instance_id,
        seen.stream,
        seen.external_id,
    )))
    .set((
        sync_record_links::record_id.eq(seen.record_id),
        sync_record_links::digest.eq(seen.digest),
        sync_record_links::client_external_id.eq(seen.client_external_id),
        sync_record_links::seen_generation.eq(scope.generation),
        sync_record_links::removed_at.eq(None::<NaiveDateTime>),
        sync_record_links::updated_at.eq(at),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sync_record_links::table)
            .values((
                sync_record_links::instance_id.eq(scope.instance_id),
                sync_record_links::stream.eq(seen.stream),
                sync_record_links::external_id.eq(seen.external_id),
                sync_record_links::record_id.eq(seen.record_id),
                sync_record_links::digest.eq(seen.digest),
                sync_record_links::client_external_id.eq(seen.client_external_id),
                sync_record_links::seen_generation.eq(scope.generation),
                sync_record_links::created_at.eq(at),
                sync_record_links::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Marks the link seen in this listing, nothing else.
fn touch(conn: &mut AnyConnection, scope: &PageScope<'_>, stream: &str, id: &str) -> Result<()> {
    diesel::update(sync_record_links::table.find((scope.instance_id, stream, id)))
        .set(sync_record_links::seen_generation.eq(scope.generation))
        .execute(conn)?;
    Ok(())
}

/// The provider's record as a digest (of its JSON form: every field the connector gives).
pub(super) fn digest_of(record: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(json)))
}

fn required_id(external_id: &str) -> Result<&str> {
    let id = external_id.trim();
    if id.is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    Ok(id)
}

/// The user whose login email is `email`, if any.
fn user_by_email(conn: &mut AnyConnection, email: Option<&str>) -> Result<Option<String>> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    Ok(users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(users::id)
        .first(conn)
        .optional()?)
}

fn matter_status(status: RemoteMatterStatus) -> MatterStatus {
    match status {
        // Clio's pending matters are not yet taken on.
        RemoteMatterStatus::Pending => MatterStatus::Intake,
        RemoteMatterStatus::Open => MatterStatus::Open,
        RemoteMatterStatus::Closed => MatterStatus::Closed,
    }
}

fn non_blank(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn clients_of(conn: &mut AnyConnection, matter_id: &str) -> Result<Vec<String>> {
    Ok(matter_parties::table
        .filter(matter_parties::matter_id.eq(matter_id))
        .filter(matter_parties::role.eq(PartyRole::Client.as_str()))
        .select(matter_parties::contact_id)
        .load(conn)?)
}

fn add_client(conn: &mut AnyConnection, matter_id: &str, contact_id: &str) -> Result<()> {
    if clients_of(conn, matter_id)?.iter().any(|c| c == contact_id) {
        return Ok(());
    }
    // A counterparty who becomes the client is no longer the other side.
    diesel::delete(matter_parties::table.find((matter_id, contact_id, "counterparty")))
        .execute(conn)?;
    diesel::insert_into(matter_parties::table)
        .values((
            matter_parties::matter_id.eq(matter_id),
            matter_parties::contact_id.eq(contact_id),
            matter_parties::role.eq(PartyRole::Client.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The instance's name as the matter's history names the source.
fn source(scope: &PageScope<'_>) -> String {
    format!("the connector instance {}", scope.instance_name)
}

/// Applies one matter (or its deletion) in the caller's transaction.
pub fn apply_matter(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteMatter,
) -> Result<Outcome> {
    let external_id = required_id(&record.external_id)?;
    let known = link(conn, scope.instance_id, MATTERS, external_id)?;
    if record.deleted {
        return match known {
            Some(known) => remove(conn, scope, MATTERS, external_id, &known),
            None => Ok(Outcome::Skipped),
        };
    }
    let reference = record.reference.trim();
    if reference.is_empty() {
        return Err(Error::invalid("reference", "a matter needs its number"));
    }
    let digest = digest_of(record)?;
    let client = match &record.client_external_id {
        Some(client) => upsert::linked_contact(conn, scope.instance_id, client)?,
        None => None,
    };
    let responsible = user_by_email(conn, record.responsible_email.as_deref())?;
    let seen = |record_id| Seen {
        stream: MATTERS,
        external_id,
        record_id,
        digest: &digest,
        client_external_id: record.client_external_id.as_deref(),
    };
    if let Some(known) = known {
        if known.digest == digest && known.removed_at.is_none() {
            touch(conn, scope, MATTERS, external_id)?;
            return Ok(Outcome::Skipped);
        }
        let Some(row) = matters::table
            .find(&known.record_id)
            .select(MatterRow::as_select())
            .first(conn)
            .optional()?
        else {
            // Deleted in lexgate: it stays deleted.
            save_link(conn, scope, seen(&known.record_id))?;
            return Ok(Outcome::Skipped);
        };
        let previous_client = match &known.client_external_id {
            Some(previous) if Some(previous) != record.client_external_id.as_ref() => {
                upsert::linked_contact(conn, scope.instance_id, previous)?
            }
            _ => None,
        };
        let changed = update_matter(
            conn,
            scope,
            row,
            record,
            responsible,
            client.as_deref(),
            previous_client.as_deref(),
        )?;
        save_link(conn, scope, seen(&known.record_id))?;
        return Ok(if changed {
            Outcome::Updated
        } else {
            Outcome::Skipped
        });
    }
    let matched: Option<MatterRow> = matters::table
        .filter(matters::reference.eq(reference))
        .select(MatterRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(mut row) = matched {
        let taken: Option<String> = sync_record_links::table
            .filter(sync_record_links::instance_id.eq(scope.instance_id))
            .filter(sync_record_links::stream.eq(MATTERS))
            .filter(sync_record_links::record_id.eq(&row.id))
            .filter(sync_record_links::removed_at.is_null())
            .select(sync_record_links::external_id)
            .first(conn)
            .optional()?;
        if taken.is_some() {
            return Err(Error::Conflict {
                field: Some("reference".into()),
                message: "the matter with this number is linked to another record of the instance"
                    .into(),
            });
        }
        // lexgate's matter stands; the provider fills in only what it lacks.
        if row.responsible_user_id.is_none() && responsible.is_some() {
            row.responsible_user_id = responsible;
            row.updated_at = now();
            diesel::update(matters::table.find(&row.id))
                .set(&row)
                .execute(conn)?;
        }
        let clients = clients_of(conn, &row.id)?;
        let mut summary = format!("Linked to matter {external_id} of {}", source(scope));
        match &client {
            Some(client) if clients.is_empty() => add_client(conn, &row.id, client)?,
            Some(client) if !clients.contains(client) => {
                summary.push_str(", which names another client: lexgate's clients stand")
            }
            _ => {}
        }
        matter_service::record_event(conn, &row.id, "linked", summary)?;
        save_link(conn, scope, seen(&row.id))?;
        return Ok(Outcome::Linked);
    }
    let Some(client) = client else {
        return Err(Error::invalid(
            "client",
            "the matter's client is not a contact of lexgate (not imported, in review, or erased)",
        ));
    };
    let status = record.status.map_or(MatterStatus::Open, matter_status);
    let at = now();
    let row = MatterRow {
        id: new_id(),
        reference: reference.to_owned(),
        title: non_blank(Some(&record.title)).unwrap_or_else(|| reference.to_owned()),
        practice_area: non_blank(record.practice_area.as_deref())
            .unwrap_or_else(|| DEFAULT_PRACTICE_AREA.to_owned()),
        status: status.as_str().to_owned(),
        description: None,
        responsible_user_id: responsible,
        opened_on: record.opened_on.or(Some(at.date())),
        closed_on: match status {
            MatterStatus::Closed => record.closed_on.or(Some(at.date())),
            _ => None,
        },
        created_at: at,
        updated_at: at,
        criminal_proceedings_notes: None,
        health_details: None,
    };
    diesel::insert_into(matters::table)
        .values(&row)
        .execute(conn)?;
    add_client(conn, &row.id, &client)?;
    matter_service::record_event(
        conn,
        &row.id,
        "created",
        format!("Matter {} imported from {}", row.reference, source(scope)),
    )?;
    save_link(conn, scope, seen(&row.id))?;
    Ok(Outcome::Created)
}

/// What the provider changed, written into lexgate's matter and recorded in its history;
/// answers whether anything changed (a field lexgate does not keep may have).
fn update_matter(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mut row: MatterRow,
    record: &RemoteMatter,
    responsible: Option<String>,
    client: Option<&str>,
    previous_client: Option<&str>,
) -> Result<bool> {
    let before = row.clone();
    let mut changes = Vec::new();
    let reference = record.reference.trim();
    if row.reference != reference {
        let taken: Option<String> = matters::table
            .filter(matters::reference.eq(reference))
            .filter(matters::id.ne(&row.id))
            .select(matters::id)
            .first(conn)
            .optional()?;
        if taken.is_some() {
            return Err(Error::Conflict {
                field: Some("reference".into()),
                message: "another matter has the number the provider gave this one".into(),
            });
        }
        changes.push(format!("number {} → {reference}", row.reference));
        row.reference = reference.to_owned();
    }
    if let Some(title) = non_blank(Some(&record.title)) {
        row.title = title;
    }
    if let Some(area) = non_blank(record.practice_area.as_deref()) {
        row.practice_area = area;
    }
    if let Some(status) = record.status.map(matter_status) {
        // An archived matter is closed already.
        let archived = row.status == MatterStatus::Archived.as_str();
        if !(archived && status == MatterStatus::Closed) && row.status != status.as_str() {
            changes.push(format!("status {} → {}", row.status, status.as_str()));
            row.status = status.as_str().to_owned();
        }
    }
    row.opened_on = record.opened_on.or(row.opened_on);
    row.closed_on = match row.status.as_str() {
        "closed" | "archived" => record.closed_on.or(row.closed_on).or(Some(now().date())),
        _ => None,
    };
    if responsible.is_some() && responsible != row.responsible_user_id {
        row.responsible_user_id = responsible;
        changes.push("responsible lawyer".to_owned());
    }
    if let Some(client) = client {
        let mut moved = false;
        if !clients_of(conn, &row.id)?.iter().any(|c| c == client) {
            add_client(conn, &row.id, client)?;
            moved = true;
        }
        // The client the import set before, replaced; clients added in lexgate stay.
        if let Some(previous) = previous_client.filter(|p| *p != client) {
            moved |= diesel::delete(matter_parties::table.find((
                &row.id,
                previous,
                PartyRole::Client.as_str(),
            )))
            .execute(conn)?
                > 0;
        }
        if moved {
            changes.push("client".to_owned());
        }
    } else if record.client_external_id.is_some() && previous_client.is_some() {
        changes.push("client (to a contact lexgate does not hold: the client stays)".to_owned());
    }
    let fields_changed = (
        &before.title,
        &before.practice_area,
        &before.opened_on,
        &before.closed_on,
    ) != (
        &row.title,
        &row.practice_area,
        &row.opened_on,
        &row.closed_on,
    );
    if fields_changed && changes.is_empty() {
        changes.push("details".to_owned());
    }
    if changes.is_empty() {
        return Ok(false);
    }
    row.updated_at = now();
    diesel::update(matters::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    matter_service::record_event(
        conn,
        &row.id,
        "updated",
        format!("Changed in {}: {}", source(scope), changes.join(", ")),
    )?;
    Ok(true)
}

/// The matter a provider's entry belongs to: the one its provider matter was imported as, or
/// the one with its number. `Ok(None)`: the entry names no matter.
fn matter_of(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    external_id: Option<&str>,
    reference: Option<&str>,
) -> Result<Option<String>> {
    if let Some(external_id) = external_id {
        if let Some(known) = link(conn, scope.instance_id, MATTERS, external_id)? {
            let exists: Option<String> = matters::table
                .find(&known.record_id)
                .select(matters::id)
                .first(conn)
                .optional()?;
            if exists.is_some() {
                return Ok(exists);
            }
        }
    }
    let Some(reference) = reference.map(str::trim).filter(|r| !r.is_empty()) else {
        return match external_id {
            Some(_) => Err(not_in_lexgate()),
            None => Ok(None),
        };
    };
    let found: Option<String> = matters::table
        .filter(matters::reference.eq(reference))
        .select(matters::id)
        .first(conn)
        .optional()?;
    found.map(Some).ok_or_else(not_in_lexgate)
}

fn not_in_lexgate() -> Error {
    Error::invalid("matter", "the entry's matter is not a matter of lexgate")
}

fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    chrono::DurationRound::duration_trunc(at, chrono::TimeDelta::seconds(1))
        .unwrap_or(at)
        .naive_utc()
}

/// Applies one calendar entry (or its deletion) as a deadline, in the caller's transaction.
pub fn apply_deadline(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteDeadline,
) -> Result<Outcome> {
    let external_id = required_id(&record.external_id)?;
    let known = link(conn, scope.instance_id, DEADLINES, external_id)?;
    if record.deleted {
        return match known {
            Some(known) => remove(conn, scope, DEADLINES, external_id, &known),
            None => Ok(Outcome::Skipped),
        };
    }
    let digest = digest_of(record)?;
    if let Some(known) = &known {
        if known.digest == digest && known.removed_at.is_none() {
            touch(conn, scope, DEADLINES, external_id)?;
            return Ok(Outcome::Skipped);
        }
    }
    let Some(matter_id) = matter_of(
        conn,
        scope,
        record.matter_external_id.as_deref(),
        record.matter_reference.as_deref(),
    )?
    else {
        // Not a matter's date: the provider's own calendar, not lexgate's.
        return Ok(Outcome::Skipped);
    };
    let title = non_blank(Some(&record.title)).unwrap_or_else(|| "(untitled)".to_owned());
    let description = match (
        non_blank(record.description.as_deref()),
        non_blank(record.location.as_deref()),
    ) {
        (Some(text), Some(place)) => Some(format!("{text}\n\n{place}")),
        (text, place) => text.or(place),
    };
    // A whole day is a time limit; a timed entry a hearing or appointment.
    let kind = if record.all_day {
        DeadlineKind::CourtDeadline
    } else {
        DeadlineKind::Hearing
    };
    let due_at = naive(record.due_at);
    let at = now();
    let seen = |record_id| Seen {
        stream: DEADLINES,
        external_id,
        record_id,
        digest: &digest,
        client_external_id: None,
    };
    if let Some(known) = known {
        let Some(mut row) = deadlines::table
            .find(&known.record_id)
            .select(DeadlineRow::as_select())
            .first(conn)
            .optional()?
        else {
            save_link(conn, scope, seen(&known.record_id))?;
            return Ok(Outcome::Skipped);
        };
        if known.removed_at.is_some() && row.status == DeadlineStatus::Cancelled.as_str() {
            // Deleted at the provider and back again.
            row.status = DeadlineStatus::Open.as_str().to_owned();
        }
        row.title = title;
        row.description = description;
        row.kind = kind.as_str().to_owned();
        row.matter_id = Some(matter_id);
        if row.due_at != due_at {
            row.due_at = due_at;
            move_reminders(conn, &row)?;
        }
        row.updated_at = at;
        diesel::update(deadlines::table.find(&row.id))
            .set(&row)
            .execute(conn)?;
        save_link(conn, scope, seen(&known.record_id))?;
        return Ok(Outcome::Updated);
    }
    let row = DeadlineRow {
        id: new_id(),
        title,
        kind: kind.as_str().to_owned(),
        description,
        due_at,
        status: DeadlineStatus::Open.as_str().to_owned(),
        completed_at: None,
        matter_id: Some(matter_id),
        contact_id: None,
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(deadlines::table)
        .values(&row)
        .execute(conn)?;
    save_link(conn, scope, seen(&row.id))?;
    Ok(Outcome::Created)
}

/// Reminders set in lexgate follow their deadline's new due time.
fn move_reminders(conn: &mut AnyConnection, row: &DeadlineRow) -> Result<()> {
    let minutes: Vec<i32> = deadline_reminders::table
        .filter(deadline_reminders::deadline_id.eq(&row.id))
        .select(deadline_reminders::minutes_before)
        .load(conn)?;
    for before in minutes {
        diesel::update(deadline_reminders::table.find((&row.id, before)))
            .set(
                deadline_reminders::remind_at
                    .eq(row.due_at - chrono::TimeDelta::minutes(i64::from(before))),
            )
            .execute(conn)?;
    }
    Ok(())
}

/// Applies one time entry (or its deletion) in the caller's transaction.
pub fn apply_time_entry(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteTimeEntry,
) -> Result<Outcome> {
    let external_id = required_id(&record.external_id)?;
    let known = link(conn, scope.instance_id, TIME_ENTRIES, external_id)?;
    if record.deleted {
        return match known {
            Some(known) => remove(conn, scope, TIME_ENTRIES, external_id, &known),
            None => Ok(Outcome::Skipped),
        };
    }
    let digest = digest_of(record)?;
    if let Some(known) = &known {
        if known.digest == digest && known.removed_at.is_none() {
            touch(conn, scope, TIME_ENTRIES, external_id)?;
            return Ok(Outcome::Skipped);
        }
    }
    let matter_id = matter_of(
        conn,
        scope,
        record.matter_external_id.as_deref(),
        record.matter_reference.as_deref(),
    )?
    .ok_or_else(|| Error::invalid("matter", "time is recorded on a matter"))?;
    if !(1..=MAX_MINUTES).contains(&record.minutes) {
        return Err(Error::invalid(
            "minutes",
            format!("lexgate keeps time from 1 to {MAX_MINUTES} minutes"),
        ));
    }
    let user_id = user_by_email(conn, record.timekeeper_email.as_deref())?;
    let narrative = non_blank(Some(&record.description)).unwrap_or_else(|| NO_NOTE.to_owned());
    let rate_cents = record.rate_cents.unwrap_or(0).max(0);
    let at = now();
    let seen = |record_id| Seen {
        stream: TIME_ENTRIES,
        external_id,
        record_id,
        digest: &digest,
        client_external_id: None,
    };
    if let Some(known) = known {
        let Some(mut row) = time_entries::table
            .find(&known.record_id)
            .select(TimeEntryRow::as_select())
            .first(conn)
            .optional()?
        else {
            save_link(conn, scope, seen(&known.record_id))?;
            return Ok(Outcome::Skipped);
        };
        if row.invoice_id.is_some() {
            matter_service::record_event(
                conn,
                &row.matter_id,
                "time_entry_kept",
                format!(
                    "Time of {} ({} min) changed in {} after it was billed: the billed entry stands",
                    row.work_date,
                    row.minutes,
                    source(scope)
                ),
            )?;
            save_link(conn, scope, seen(&known.record_id))?;
            return Ok(Outcome::Skipped);
        }
        row.matter_id = matter_id;
        row.user_id = user_id.or(row.user_id);
        row.work_date = record.worked_on;
        row.minutes = record.minutes;
        row.narrative = narrative;
        row.billable = !record.non_billable;
        row.rate_cents = rate_cents;
        row.updated_at = at;
        diesel::update(time_entries::table.find(&row.id))
            .set(&row)
            .execute(conn)?;
        save_link(conn, scope, seen(&known.record_id))?;
        return Ok(Outcome::Updated);
    }
    let row = TimeEntryRow {
        id: new_id(),
        matter_id,
        user_id,
        work_date: record.worked_on,
        minutes: record.minutes,
        task_code: None,
        activity_code: None,
        narrative,
        billable: !record.non_billable,
        rate_cents,
        invoice_id: None,
        created_at: at,
        updated_at: at,
    };
    diesel::insert_into(time_entries::table)
        .values(&row)
        .execute(conn)?;
    save_link(conn, scope, seen(&row.id))?;
    Ok(Outcome::Created)
}

/// A record the provider deleted: its row stays (a deadline cancelled, unbilled time no longer
/// billable), the deletion recorded in the matter's history; the link ends.
fn remove(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    stream: &str,
    external_id: &str,
    known: &Link,
) -> Result<Outcome> {
    if known.removed_at.is_some() {
        return Ok(Outcome::Skipped);
    }
    let at = now();
    let whence = source(scope);
    match stream {
        MATTERS => {
            let exists: Option<String> = matters::table
                .find(&known.record_id)
                .select(matters::id)
                .first(conn)
                .optional()?;
            if let Some(matter_id) = exists {
                matter_service::record_event(
                    conn,
                    &matter_id,
                    "deleted_upstream",
                    format!("Deleted in {whence}: the matter stays in lexgate"),
                )?;
            }
        }
        DEADLINES => {
            let row: Option<DeadlineRow> = deadlines::table
                .find(&known.record_id)
                .select(DeadlineRow::as_select())
                .first(conn)
                .optional()?;
            if let Some(row) = row.filter(|r| r.status == DeadlineStatus::Open.as_str()) {
                diesel::update(deadlines::table.find(&row.id))
                    .set((
                        deadlines::status.eq(DeadlineStatus::Cancelled.as_str()),
                        deadlines::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                if let Some(matter_id) = &row.matter_id {
                    matter_service::record_event(
                        conn,
                        matter_id,
                        "deadline_cancelled",
                        format!("Deadline \"{}\" deleted in {whence}: cancelled", row.title),
                    )?;
                }
            }
        }
        _ => {
            let row: Option<TimeEntryRow> = time_entries::table
                .find(&known.record_id)
                .select(TimeEntryRow::as_select())
                .first(conn)
                .optional()?;
            if let Some(row) = row {
                let what = if row.invoice_id.is_some() {
                    "the billed entry stands"
                } else {
                    diesel::update(time_entries::table.find(&row.id))
                        .set((
                            time_entries::billable.eq(false),
                            time_entries::updated_at.eq(at),
                        ))
                        .execute(conn)?;
                    "kept as non-billable time"
                };
                matter_service::record_event(
                    conn,
                    &row.matter_id,
                    "time_entry_removed",
                    format!(
                        "Time of {} ({} min) deleted in {whence}: {what}",
                        row.work_date, row.minutes
                    ),
                )?;
            }
        }
    }
    diesel::update(sync_record_links::table.find((scope.instance_id, stream, external_id)))
        .set((
            sync_record_links::removed_at.eq(Some(at)),
            sync_record_links::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(Outcome::Deleted)
}

/// At the end of a full listing of `stream`: its records not seen in this generation were
/// deleted at the provider.
pub fn reconcile_deletions(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    stream: &str,
) -> Result<i32> {
    let stale: Vec<(String, String, String, Option<String>)> = sync_record_links::table
        .filter(sync_record_links::instance_id.eq(scope.instance_id))
        .filter(sync_record_links::stream.eq(stream))
        .filter(sync_record_links::removed_at.is_null())
        .filter(sync_record_links::seen_generation.lt(scope.generation))
        .select((
            sync_record_links::external_id,
            sync_record_links::record_id,
            sync_record_links::digest,
            sync_record_links::client_external_id,
        ))
        .load(conn)?;
    let mut removed = 0;
    for (external_id, record_id, digest, client_external_id) in stale {
        let known = Link {
            record_id,
            digest,
            client_external_id,
            removed_at: None,
        };
        if remove(conn, scope, stream, &external_id, &known)? == Outcome::Deleted {
            removed += 1;
        }
    }
    Ok(removed)
}
