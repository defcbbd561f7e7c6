//! Aggregate reports on matters, deadlines, communications and contacts. Each is one
//! GROUP BY query, written once for both backends.

pub mod billing;

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::schema::{
    communications, contacts, deadline_team_assignees, deadline_user_assignees, deadlines, matters,
};
use crate::db::AnyConnection;
use crate::deadlines::DeadlineStatus;
use crate::error::Result;

/// `YYYY-MM` of a timestamp column. SQLite stores timestamps as `YYYY-MM-DD HH:MM:SS...`
/// text and PostgreSQL renders them so under the ISO `DateStyle` every connection is pinned
/// to (see `db::establish`), so the first seven characters are the month on both.
fn month_of(column: &str) -> String {
    format!("substr(CAST({column} AS TEXT), 1, 7)")
}

/// Grouping by a computed month and a plain column: Diesel's typed GROUP BY cannot mix a
/// literal with a column, so both go in as trusted SQL fragments built from constants.
fn month_and(month: &str, other: &str) -> diesel::expression::SqlLiteral<Text> {
    sql::<Text>(&format!("{month}, {other}"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterCount {
    pub status: String,
    pub practice_area: String,
    pub count: i64,
}

pub fn matters_by_status_and_area(conn: &mut AnyConnection) -> Result<Vec<MatterCount>> {
    let rows: Vec<(String, String, i64)> = matters::table
        .group_by((matters::status, matters::practice_area))
        .select((matters::status, matters::practice_area, count_star()))
        .order_by((matters::status, matters::practice_area))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(status, practice_area, count)| MatterCount {
            status,
            practice_area,
            count,
        })
        .collect())
}

/// Open deadlines due in `[from, to)` per assigned user and per assigned team.
pub struct AssigneeCounts {
    pub per_user: Vec<(String, i64)>,
    pub per_team: Vec<(String, i64)>,
}

pub fn open_deadlines_per_assignee(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AssigneeCounts> {
    let (from, to) = (from.naive_utc(), to.naive_utc());
    let per_user = deadline_user_assignees::table
        .inner_join(deadlines::table)
        .filter(deadlines::status.eq(DeadlineStatus::Open.as_str()))
        .filter(deadlines::due_at.ge(from))
        .filter(deadlines::due_at.lt(to))
        .group_by(deadline_user_assignees::user_id)
        .select((deadline_user_assignees::user_id, count_star()))
        .order_by(deadline_user_assignees::user_id)
        .load(conn)?;
    let per_team = deadline_team_assignees::table
        .inner_join(deadlines::table)
        .filter(deadlines::status.eq(DeadlineStatus::Open.as_str()))
        .filter(deadlines::due_at.ge(from))
        .filter(deadlines::due_at.lt(to))
        .group_by(deadline_team_assignees::team_id)
        .select((deadline_team_assignees::team_id, count_star()))
        .order_by(deadline_team_assignees::team_id)
        .load(conn)?;
    Ok(AssigneeCounts { per_user, per_team })
}

/// (month, channel, count) of communications that occurred in `[from, to)`.
pub fn communications_per_month(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    let month = month_of("occurred_at");
    Ok(communications::table
        .filter(communications::occurred_at.ge(from.naive_utc()))
        .filter(communications::occurred_at.lt(to.naive_utc()))
        .group_by(month_and(&month, "channel"))
        .select((sql::<Text>(&month), sql::<Text>("channel"), count_star()))
        .order_by(month_and(&month, "channel"))
        .load(conn)?)
}

/// (month, category, count) of contacts created in `[from, to)`.
pub fn new_contacts_per_month(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    let month = month_of("created_at");
    Ok(contacts::table
        .filter(contacts::created_at.ge(from.naive_utc()))
        .filter(contacts::created_at.lt(to.naive_utc()))
        .group_by(month_and(&month, "category"))
        .select((sql::<Text>(&month), sql::<Text>("category"), count_star()))
        .order_by(month_and(&month, "category"))
        .load(conn)?)
}
