//! Delivering reminders: when a reminder's time has come, each person it concerns (the users
//! assigned to the deadline and every member of the teams assigned) gets one message through
//! the outbox. The message's key names the deadline, the reminder's time and the person, so
//! enqueueing again (another process, a restart, a deadline edited without moving it) adds
//! nothing; moving the due time makes a new reminder.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DeadlineStatus;
use crate::db::schema::{
    deadline_reminders, deadline_team_assignees, deadline_user_assignees, deadlines,
    outbox_messages, team_members, users,
};
use crate::db::{now, AnyConnection};
use crate::error::Result;
use crate::mail::outbox::{self, MessageKind, NewMessage, OutboxRow};

/// A reminder whose time has come, of an open deadline still ahead.
#[derive(Debug, Clone, Queryable)]
struct DueReminder {
    deadline_id: String,
    minutes_before: i32,
    remind_at: NaiveDateTime,
    title: String,
    kind: String,
    due_at: NaiveDateTime,
}

/// Enqueues a message per person for every reminder due at `at` and not yet enqueued;
/// returns how many were added. Reminders of deadlines already past, done or cancelled are
/// not sent.
pub fn enqueue_due(conn: &mut AnyConnection, at: NaiveDateTime) -> Result<usize> {
    let due: Vec<DueReminder> = deadline_reminders::table
        .inner_join(deadlines::table)
        .filter(deadline_reminders::remind_at.le(at))
        .filter(deadlines::due_at.gt(at))
        .filter(deadlines::status.eq(DeadlineStatus::Open.as_str()))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .select((
            deadline_reminders::deadline_id,
            deadline_reminders::minutes_before,
            deadline_reminders::remind_at,
            deadlines::title,
            deadlines::kind,
            deadlines::due_at,
        ))
        .load(conn)?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = due
        .iter()
        .map(|r| r.deadline_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let enqueued: HashSet<String> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::DeadlineReminder.as_str()))
        .filter(outbox_messages::reference_id.eq_any(&ids))
        .select(outbox_messages::dedup_key)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let recipients = recipients_of(conn, &ids)?;
    let mut added = 0;
    for reminder in &due {
        for (user_id, email) in recipients.get(&reminder.deadline_id).into_iter().flatten() {
            let key = format!(
                "deadline-reminder:{}:{}:{}:{user_id}",
                reminder.deadline_id,
                reminder.minutes_before,
                reminder.remind_at.and_utc().timestamp(),
            );
            if enqueued.contains(&key) {
                continue;
            }
            let message = NewMessage {
                kind: MessageKind::DeadlineReminder,
                dedup_key: key,
                reference_id: Some(reminder.deadline_id.clone()),
                recipient: email.clone(),
                user_id: Some(user_id.clone()),
                contact_id: None,
                subject: subject(reminder),
                body: body(reminder),
            };
            if outbox::enqueue(conn, message)? {
                added += 1;
            }
        }
    }
    Ok(added)
}

fn subject(reminder: &DueReminder) -> String {
    format!(
        "Reminder: {} due {}",
        reminder.title,
        reminder.due_at.format("%Y-%m-%d %H:%M UTC")
    )
}

fn body(reminder: &DueReminder) -> String {
    format!(
        "{}\n\nKind: {}\nDue: {}\n\nYou receive this reminder because the deadline is assigned \
         to you or to one of your teams.\n",
        reminder.title,
        reminder.kind.replace('_', " "),
        reminder.due_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// The active users each deadline concerns, with their addresses: those assigned and the
/// members of the teams assigned, each once.
fn recipients_of(
    conn: &mut AnyConnection,
    deadline_ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>> {
    let direct: Vec<(String, String)> = deadline_user_assignees::table
        .filter(deadline_user_assignees::deadline_id.eq_any(deadline_ids))
        .select((
            deadline_user_assignees::deadline_id,
            deadline_user_assignees::user_id,
        ))
        .load(conn)?;
    let teams: Vec<(String, String)> = deadline_team_assignees::table
        .filter(deadline_team_assignees::deadline_id.eq_any(deadline_ids))
        .select((
            deadline_team_assignees::deadline_id,
            deadline_team_assignees::team_id,
        ))
        .load(conn)?;
    let team_ids: Vec<&String> = teams.iter().map(|(_, team)| team).collect();
    let members: Vec<(String, String)> = team_members::table
        .filter(team_members::team_id.eq_any(team_ids))
        .select((team_members::team_id, team_members::user_id))
        .load(conn)?;
    let mut per_deadline: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (deadline, user) in direct {
        per_deadline.entry(deadline).or_default().insert(user);
    }
    for (deadline, team) in &teams {
        for (_, user) in members.iter().filter(|(t, _)| t == team) {
            per_deadline
                .entry(deadline.clone())
                .or_default()
                .insert(user.clone());
        }
    }
    let user_ids: Vec<&String> = per_deadline.values().flatten().collect();
    let addresses: HashMap<String, String> = users::table
        .filter(users::id.eq_any(user_ids))
        .filter(users::active.eq(true))
        .select((users::id, users::email))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(per_deadline
        .into_iter()
        .map(|(deadline, users)| {
            let found = users
                .into_iter()
                .filter_map(|user| addresses.get(&user).map(|email| (user, email.clone())))
                .collect();
            (deadline, found)
        })
        .collect())
}

/// The reminder messages of each deadline, oldest first.
pub fn deliveries_of(
    conn: &mut AnyConnection,
    deadline_ids: &[String],
) -> Result<HashMap<String, Vec<OutboxRow>>> {
    outbox::about(conn, MessageKind::DeadlineReminder, deadline_ids)
}

/// Enqueues what is due now (for the mail worker).
pub fn enqueue_due_now(conn: &mut AnyConnection) -> Result<usize> {
    enqueue_due(conn, now())
}
