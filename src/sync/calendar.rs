//! Importing calendar events as meetings through the mail import (one import path for
//! communications): each occurrence in the synced window becomes a MEETING communication,
//! the organiser as its sender and the attendees as its recipients, so the firm's own
//! addresses, the provenance rules, erasure and restriction apply as they do to mail. The
//! natural key is `ical:` + the UID (+ `/` + the recurrence's original start), so a re-run or
//! a full resync creates no duplicates; each occurrence's location at the provider is
//! `href#occurrence`, so an event deleted upstream takes its occurrences with it and an
//! updated one drops the occurrences it no longer has and updates those it keeps.
//!
//! Events never become deadlines or hearings: those are lexgate's own records, pushed to the
//! calendar (`deadlines`), and the events of those pushes are not imported back.

use std::collections::HashSet;

use diesel::prelude::*;
use lexgate_connectors::caldav::deadline_uid;
use lexgate_connectors::{EventOccurrence, RemoteChannel, RemoteCommunication, RemoteEvent};

use super::mail::{self, MailScope};
use super::upsert::{Outcome, PageScope};
use crate::db::schema::{communication_imports, communications, sync_message_links};
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result};

/// Applies one event (or its deletion) in the caller's transaction; one outcome per
/// occurrence touched.
pub fn apply(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mail_scope: &MailScope,
    record: &RemoteEvent,
) -> Result<Vec<Outcome>> {
    if record.external_id.trim().is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    let prefix = format!("{}#", record.external_id);
    let stored: Vec<(String, Option<String>)> = sync_message_links::table
        .filter(sync_message_links::instance_id.eq(scope.instance_id))
        .filter(
            sync_message_links::external_id
                .like(format!("{}%", escape_like(&prefix)))
                .escape('\\'),
        )
        .select((
            sync_message_links::external_id,
            sync_message_links::communication_id,
        ))
        .load(conn)?;
    let pushed_by_us = deadline_uid("");
    let current: Vec<&EventOccurrence> = match record.deleted {
        true => Vec::new(),
        false => record
            .occurrences
            .iter()
            .filter(|o| !o.id.starts_with(&pushed_by_us))
            .collect(),
    };
    let keep: HashSet<String> = current
        .iter()
        .map(|o| format!("{prefix}{}", o.id))
        .collect();
    let mut outcomes = Vec::new();
    for (external_id, _) in stored.iter().filter(|(id, _)| !keep.contains(id)) {
        if mail::remove_location(conn, scope.instance_id, external_id, scope.changed)? {
            outcomes.push(Outcome::Deleted);
        }
    }
    for occurrence in current {
        let meeting = as_communication(&prefix, occurrence);
        let known: Option<String> = stored
            .iter()
            .find(|(id, _)| id == &meeting.external_id)
            .and_then(|(_, communication)| communication.clone());
        outcomes.push(match known {
            Some(communication_id) => {
                refresh(conn, scope, mail_scope, &meeting, communication_id.as_str())?
            }
            None => mail::apply(conn, scope, mail_scope, &meeting)?,
        });
    }
    Ok(outcomes)
}

/// An occurrence as a message: the organiser sends it to the attendees, their `CN`s as the
/// display names (which name a correspondent who becomes a contact, as for mail).
fn as_communication(prefix: &str, occurrence: &EventOccurrence) -> RemoteCommunication {
    RemoteCommunication {
        external_id: format!("{prefix}{}", occurrence.id),
        deleted: false,
        message_id: Some(format!("ical:{}", occurrence.id)),
        channel: RemoteChannel::Meeting,
        occurred_at: occurrence.starts_at,
        subject: Some(occurrence.title.clone()),
        from: occurrence.organizer.iter().cloned().collect(),
        recipients: occurrence.attendees.clone(),
        body: occurrence.description.clone(),
        ..RemoteCommunication::default()
    }
}

/// An occurrence already imported: its title, time and description follow the calendar.
fn refresh(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mail_scope: &MailScope,
    meeting: &RemoteCommunication,
    communication_id: &str,
) -> Result<Outcome> {
    diesel::update(sync_message_links::table.find((scope.instance_id, &meeting.external_id)))
        .set(sync_message_links::seen_generation.eq(scope.generation))
        .execute(conn)?;
    let subject = meeting
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let body = meeting
        .body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let summary = body.map(mail::summary);
    let occurred_at = meeting.occurred_at.naive_utc();
    let stored: Option<(Option<String>, Option<String>, chrono::NaiveDateTime)> =
        communications::table
            .find(communication_id)
            .select((
                communications::subject,
                communications::summary,
                communications::occurred_at,
            ))
            .first(conn)
            .optional()?;
    let changed =
        stored.is_some_and(|stored| stored != (subject.clone(), summary.clone(), occurred_at));
    if changed {
        diesel::update(communications::table.find(communication_id))
            .set((
                communications::subject.eq(&subject),
                communications::summary.eq(&summary),
                communications::occurred_at.eq(occurred_at),
                communications::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    if !changed {
        return Ok(Outcome::Skipped);
    }
    mail::note_participants(conn, scope.changed, communication_id)?;
    diesel::update(communication_imports::table.find(communication_id))
        .set(communication_imports::body.eq(body.filter(|_| mail_scope.stores_bodies())))
        .execute(conn)?;
    Ok(Outcome::Updated)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
