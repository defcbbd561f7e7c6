//! Per-user iCalendar feeds: a secret URL (`/ical/{token}.ics`) any calendar application can
//! subscribe to, listing the user's deadlines and hearings.
//!
//! The token is a bearer secret, stored only as its SHA-256 and shown once; revoking it ends
//! the feed at once. What a feed shows is read as its user would read it through the API (see
//! `crate::http::calendar_feeds`): their row-level need-to-know, their role's field policy,
//! and an access-log entry for the personal data read.

mod render;

pub use render::{render, FeedItem};

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::access_policy::Scope;
use crate::db::schema::{calendar_feeds, deadlines, users};
use crate::db::{new_id, now, AnyConnection};
use crate::deadlines::DeadlineStatus;
use crate::error::{Error, Result};
use crate::identity::{digest, random_secret};

/// A feed as stored (never its token).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendar_feeds)]
pub struct CalendarFeedRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Whose feed a token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOwner {
    pub user_id: String,
    pub role: String,
}

/// A feed shows deadlines due from this many days ago onwards.
const PAST_DAYS: i64 = 90;
/// The most deadlines one feed lists (the soonest).
pub const MAX_ITEMS: i64 = 1000;
/// Last-used times are kept to the minute: calendar clients poll often.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// Creates a feed for `user_id`; returns it with its token, which is never stored.
pub fn create(conn: &mut AnyConnection, user_id: &str) -> Result<(CalendarFeedRow, String)> {
    let token = random_secret();
    let id = new_id();
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::id.eq(&id),
            calendar_feeds::user_id.eq(user_id),
            calendar_feeds::token_hash.eq(digest(&token)),
            calendar_feeds::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok((get(conn, user_id, &id)?, token))
}

/// One of `user_id`'s feeds; another user's is not found.
pub fn get(conn: &mut AnyConnection, user_id: &str, id: &str) -> Result<CalendarFeedRow> {
    calendar_feeds::table
        .find(id)
        .filter(calendar_feeds::user_id.eq(user_id))
        .select(CalendarFeedRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("CalendarFeed", id))
}

/// The feeds of `user_id`, newest first.
pub fn list(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<CalendarFeedRow>> {
    Ok(calendar_feeds::table
        .filter(calendar_feeds::user_id.eq(user_id))
        .order_by((calendar_feeds::created_at.desc(), calendar_feeds::id.desc()))
        .select(CalendarFeedRow::as_select())
        .load(conn)?)
}

pub fn revoke(conn: &mut AnyConnection, user_id: &str, id: &str) -> Result<CalendarFeedRow> {
    let feed = get(conn, user_id, id)?;
    if feed.revoked_at.is_none() {
        diesel::update(calendar_feeds::table.find(id))
            .set(calendar_feeds::revoked_at.eq(Some(now())))
            .execute(conn)?;
    }
    get(conn, user_id, id)
}

/// The owner of a live feed: `None` for an unknown or revoked token, or a user no longer
/// active.
pub fn open(conn: &mut AnyConnection, token: &str) -> Result<Option<FeedOwner>> {
    let found: Option<(String, String, String, Option<NaiveDateTime>)> = calendar_feeds::table
        .inner_join(users::table)
        .filter(calendar_feeds::token_hash.eq(digest(token)))
        .filter(calendar_feeds::revoked_at.is_null())
        .filter(users::active.eq(true))
        .select((
            calendar_feeds::id,
            users::id,
            users::role,
            calendar_feeds::last_used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((feed_id, user_id, role, last_used)) = found else {
        return Ok(None);
    };
    let current = now();
    if last_used.is_none_or(|at| (current - at).num_seconds() >= LAST_USED_RESOLUTION_SECONDS) {
        diesel::update(calendar_feeds::table.find(&feed_id))
            .set(calendar_feeds::last_used_at.eq(Some(current)))
            .execute(conn)?;
    }
    Ok(Some(FeedOwner { user_id, role }))
}

/// The user's deadlines and hearings: those assigned to them or to a team of theirs, and
/// those of the matters whose team they are on or lead; not cancelled, due from
/// `PAST_DAYS` ago, soonest first. Whether they may still see each one is for the reader.
pub fn deadline_ids_of(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    let mut theirs = deadlines::table.into_boxed();
    if let Some(visible) = Scope::own_matters(user_id).deadlines() {
        theirs = theirs.filter(visible);
    }
    Ok(theirs
        .filter(deadlines::status.ne(DeadlineStatus::Cancelled.as_str()))
        .filter(deadlines::due_at.ge(now() - TimeDelta::days(PAST_DAYS)))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(MAX_ITEMS)
        .select(deadlines::id)
        .load(conn)?)
}
