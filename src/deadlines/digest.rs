//! The daily digest: a user who opts in gets, once a day at the hour they chose in their time
//! zone, one message listing the open deadlines and tasks they may see (need-to-know: those
//! of the matters whose team they are on or lead, and those assigned to them or to one of
//! their teams) that are due today or in the next days. Nothing is sent on a day with
//! nothing to list. The message's key names the user and their local date, so every process
//! and every round within the hour enqueues it once.

use std::collections::{HashMap, HashSet};

use async_graphql::InputObject;
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::{DeadlineKind, DeadlineStatus};
use crate::access_policy::Scope;
use crate::db::schema::{daily_digests, deadlines, matters, outbox_messages, users};
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::mail::outbox::{self, MessageKind, NewMessage};

/// The time zone of a user who names none.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Rome";
/// Days after today a digest looks ahead when the user says nothing.
pub const DEFAULT_DAYS_AHEAD: i32 = 7;
/// The most days ahead a digest may cover.
pub const MAX_DAYS_AHEAD: i32 = 31;

/// A user's digest setting.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = daily_digests)]
pub struct DigestSettingRow {
    pub user_id: String,
    pub enabled: bool,
    /// The local hour (0-23) the digest is sent at.
    pub hour: i32,
    /// An IANA time zone name.
    pub time_zone: String,
    pub days_ahead: i32,
    pub updated_at: NaiveDateTime,
}

/// The caller's choice, for `setDailyDigest`.
#[derive(Debug, Clone, InputObject)]
pub struct SetDailyDigestInput {
    /// Whether to receive the digest.
    pub enabled: bool,
    /// The hour of the day (0-23, in `timeZone`) the digest is sent at; default 7.
    #[graphql(default = 7)]
    pub hour: i32,
    /// The IANA time zone the hour and "today" are in, e.g. "Europe/Rome" (the default).
    pub time_zone: Option<String>,
    /// How many days after today the digest looks ahead (0-31, default 7): 0 lists today's
    /// items only.
    #[graphql(default = 7)]
    pub days_ahead: i32,
}

/// The caller's setting, if they ever chose one.
pub fn get(conn: &mut AnyConnection, user_id: &str) -> Result<Option<DigestSettingRow>> {
    Ok(daily_digests::table
        .find(user_id)
        .select(DigestSettingRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `user_id`'s choice (validated: the hour, the time zone, the days ahead).
pub fn set(
    conn: &mut AnyConnection,
    user_id: &str,
    input: SetDailyDigestInput,
) -> Result<DigestSettingRow> {
    let mut v = Validator::default();
    if !(0..=23).contains(&input.hour) {
        v.add("input.hour", "an hour of the day, 0 to 23");
    }
    if !(0..=MAX_DAYS_AHEAD).contains(&input.days_ahead) {
        v.add("input.daysAhead", format!("between 0 and {MAX_DAYS_AHEAD}"));
    }
    let time_zone = input
        .time_zone
        .as_deref()
        .map(str::trim)
        .unwrap_or(DEFAULT_TIME_ZONE)
        .to_owned();
    if time_zone.parse::<Tz>().is_err() {
        v.add("input.timeZone", "an IANA time zone name, e.g. Europe/Rome");
    }
    v.finish()?;
    let row = DigestSettingRow {
        user_id: user_id.to_owned(),
        enabled: input.enabled,
        hour: input.hour,
        time_zone,
        days_ahead: input.days_ahead,
        updated_at: now(),
    };
    let stored = diesel::update(daily_digests::table.find(user_id))
        .set(&row)
        .execute(conn)?;
    if stored == 0 {
        diesel::insert_into(daily_digests::table)
            .values(&row)
            .execute(conn)?;
    }
    Ok(row)
}

/// One line of a digest.
#[derive(Debug, Clone, Queryable)]
struct Item {
    title: String,
    kind: String,
    due_at: NaiveDateTime,
    matter: Option<String>,
}

/// The key of `user_id`'s digest of `date` (their local date).
pub fn dedup_key(user_id: &str, date: NaiveDate) -> String {
    format!("digest:{user_id}:{date}")
}

/// Enqueues the digest of every opted-in active user whose chosen hour it is at `at` (UTC)
/// in their time zone, unless enqueued already for their local date or empty; returns how
/// many were added.
pub fn enqueue_due(conn: &mut AnyConnection, at: NaiveDateTime) -> Result<usize> {
    let opted_in: Vec<(DigestSettingRow, String)> = daily_digests::table
        .inner_join(users::table)
        .filter(daily_digests::enabled.eq(true))
        .filter(users::active.eq(true))
        .select((DigestSettingRow::as_select(), users::email))
        .load(conn)?;
    let mut due = Vec::new();
    for (setting, email) in opted_in {
        let zone: Tz = setting.time_zone.parse().unwrap_or(chrono_tz::Europe::Rome);
        let local = zone.from_utc_datetime(&at);
        if i64::from(local.hour()) != i64::from(setting.hour) {
            continue;
        }
        let key = dedup_key(&setting.user_id, local.date_naive());
        due.push((setting, email, zone, local.date_naive(), key));
    }
    if due.is_empty() {
        return Ok(0);
    }
    let keys: Vec<&String> = due.iter().map(|d| &d.4).collect();
    let enqueued: HashSet<String> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::DailyDigest.as_str()))
        .filter(outbox_messages::dedup_key.eq_any(keys))
        .select(outbox_messages::dedup_key)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut added = 0;
    for (setting, email, zone, today, key) in due {
        if enqueued.contains(&key) {
            continue;
        }
        let items = items_for(conn, &setting, zone, today)?;
        if items.is_empty() {
            continue;
        }
        let message = NewMessage {
            kind: MessageKind::DailyDigest,
            dedup_key: key,
            reference_id: Some(setting.user_id.clone()),
            recipient: email,
            user_id: Some(setting.user_id.clone()),
            contact_id: None,
            subject: subject(today, items.len()),
            body: body(&items, zone, today, setting.days_ahead),
        };
        if outbox::enqueue(conn, message)? {
            added += 1;
        }
    }
    Ok(added)
}

/// Enqueues what is due now (for the mail worker).
pub fn enqueue_due_now(conn: &mut AnyConnection) -> Result<usize> {
    enqueue_due(conn, now())
}

/// UTC midnight starting `date` in `zone` (the earliest, should the day start in a gap).
fn start_of(zone: Tz, date: NaiveDate) -> Result<NaiveDateTime> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map(|t| t.naive_utc())
        .ok_or_else(|| Error::Internal(format!("no midnight on {date} in {zone}")))
}

/// The open deadlines and tasks the user may see, due from the start of `today` to the end
/// of the last day ahead, soonest first. Need-to-know is the user's own work whatever their
/// role: the same rule that limits lawyers' lists ([`Scope::own_matters`]).
fn items_for(
    conn: &mut AnyConnection,
    setting: &DigestSettingRow,
    zone: Tz,
    today: NaiveDate,
) -> Result<Vec<Item>> {
    let last = today
        .checked_add_days(chrono::Days::new(
            u64::try_from(setting.days_ahead).unwrap_or(0) + 1,
        ))
        .unwrap_or(today);
    let (from, to) = (start_of(zone, today)?, start_of(zone, last)?);
    let mut theirs = deadlines::table.into_boxed();
    if let Some(visible) = Scope::own_matters(&setting.user_id).deadlines() {
        theirs = theirs.filter(visible);
    }
    // The predicate is over `deadlines` alone, so the matters' references come second.
    let due: Vec<(String, String, NaiveDateTime, Option<String>)> = theirs
        .filter(deadlines::status.eq(DeadlineStatus::Open.as_str()))
        .filter(deadlines::due_at.ge(from))
        .filter(deadlines::due_at.lt(to))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .select((
            deadlines::title,
            deadlines::kind,
            deadlines::due_at,
            deadlines::matter_id,
        ))
        .load(conn)?;
    let matter_ids: Vec<String> = due.iter().filter_map(|d| d.3.clone()).collect();
    let references: HashMap<String, String> = matters::table
        .filter(matters::id.eq_any(matter_ids))
        .select((matters::id, matters::reference))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(due
        .into_iter()
        .map(|(title, kind, due_at, matter)| Item {
            title,
            kind,
            due_at,
            matter: matter.and_then(|m| references.get(&m).cloned()),
        })
        .collect())
}

fn subject(today: NaiveDate, count: usize) -> String {
    let what = if count == 1 { "item" } else { "items" };
    format!("Your deadlines and tasks from {today}: {count} {what}")
}

fn kind_label(kind: &str) -> String {
    match DeadlineKind::from_db(kind) {
        Ok(DeadlineKind::CourtDeadline) => "Court deadline".to_owned(),
        Ok(DeadlineKind::Hearing) => "Hearing".to_owned(),
        Ok(DeadlineKind::Filing) => "Filing".to_owned(),
        Ok(DeadlineKind::InternalTask) => "Task".to_owned(),
        Err(_) => kind.replace('_', " "),
    }
}

fn body(items: &[Item], zone: Tz, today: NaiveDate, days_ahead: i32) -> String {
    let mut text = match days_ahead {
        0 => format!("Open deadlines and tasks due today, {today}:\n\n"),
        days => {
            format!("Open deadlines and tasks due today, {today}, and in the next {days} days:\n\n")
        }
    };
    for item in items {
        let due = zone.from_utc_datetime(&item.due_at);
        text.push_str(&format!(
            "- {} {}: {}",
            due.format("%Y-%m-%d %H:%M"),
            kind_label(&item.kind),
            item.title
        ));
        if let Some(reference) = &item.matter {
            text.push_str(&format!(" (matter {reference})"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "\nTimes are in {zone}. You receive this digest because you turned it on; turn it off \
         with setDailyDigest(input: {{ enabled: false }}).\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_local_midnight() {
        let rome: Tz = DEFAULT_TIME_ZONE.parse().expect("zone");
        let winter = NaiveDate::from_ymd_opt(2026, 12, 8).expect("date");
        let summer = NaiveDate::from_ymd_opt(2026, 7, 8).expect("date");
        assert_eq!(
            start_of(rome, winter).expect("start").to_string(),
            "2026-12-07 23:00:00"
        );
        assert_eq!(
            start_of(rome, summer).expect("start").to_string(),
            "2026-07-07 22:00:00"
        );
    }

    #[test]
    fn the_key_names_the_user_and_the_local_date() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 8).expect("date");
        assert_eq!(dedup_key("u1", date), "digest:u1:2026-12-08");
    }
}
