//! Deadlines and tasks: court deadlines, hearings, filings and internal tasks, with reminders,
//! assigned to users and teams and linked to a matter and/or a contact.

pub mod courts;
pub mod digest;
pub mod holidays;
pub mod reminders;
pub mod terms;

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

use crate::access_policy::Scope;
use crate::db::schema::{
    deadline_reminders, deadline_team_assignees, deadline_user_assignees, deadlines, team_members,
    teams, users,
};
use crate::db::{insert_batch, new_id, now, text_enum, AnyConnection, Db};
use crate::directory::{TeamRow, UserRow};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, group_by_key, group_pairs, lower, Page, SortDirection};
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// What sort of deadline it is.
    DeadlineKind {
        /// A time limit set by law or by the court (termine processuale).
        CourtDeadline => "court_deadline",
        /// A hearing (udienza).
        Hearing => "hearing",
        /// A filing to make, e.g. a brief to lodge with the court.
        Filing => "filing",
        /// A task inside the firm.
        InternalTask => "internal_task",
    }
}

text_enum! {
    /// Where a deadline stands.
    DeadlineStatus {
        /// Still to be met.
        Open => "open",
        /// Met; `completedAt` says when.
        Done => "done",
        /// No longer needed.
        Cancelled => "cancelled",
    }
}

/// Reminders are at most a year before the due time.
const MAX_REMINDER_MINUTES: i32 = 366 * 24 * 60;

/// `None` binds as NULL rather than `DEFAULT`, so that SQLite writes a batch of rows in one
/// statement (see `crate::db::insert_batch`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = deadlines,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct DeadlineRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub description: Option<String>,
    pub due_at: NaiveDateTime,
    pub status: String,
    pub completed_at: Option<NaiveDateTime>,
    pub matter_id: Option<String>,
    pub contact_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

const DEADLINE_COLUMNS: usize = 11;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deadline_user_assignees, treat_none_as_default_value = false)]
struct UserAssigneeRow {
    deadline_id: String,
    user_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deadline_team_assignees, treat_none_as_default_value = false)]
struct TeamAssigneeRow {
    deadline_id: String,
    team_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deadline_reminders, treat_none_as_default_value = false)]
struct ReminderRow {
    deadline_id: String,
    minutes_before: i32,
    remind_at: NaiveDateTime,
}

const ASSIGNEE_COLUMNS: usize = 2;
const REMINDER_COLUMNS: usize = 3;

/// A deadline that passed validation, with its assignees and reminders, ready to be written:
/// what `create` writes, and what bulk writers (seeding) collect to write many at once.
pub struct PreparedDeadline {
    pub row: DeadlineRow,
    users: Vec<String>,
    teams: Vec<String>,
    offsets: Vec<i32>,
}

impl PreparedDeadline {
    /// Gives the deadline a status before it is written (a record of past work: done or
    /// cancelled), with the completion time `update` would set.
    pub fn set_status(&mut self, status: DeadlineStatus) {
        set_status(&mut self.row, status);
    }
}

/// A new deadline or task, for `createDeadline`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateDeadlineInput {
    /// A short title, e.g. "Deposito memoria ex art. 183 c.p.c.".
    pub title: String,
    /// What sort of deadline it is.
    pub kind: DeadlineKind,
    /// Free-text details.
    pub description: Option<String>,
    /// When it is due; give this or `term`.
    pub due_at: Option<DateTime<Utc>>,
    /// A procedural term from an event, which sets the due time: the end of the term's last
    /// day, Italian time.
    pub term: Option<terms::DeadlineTermInput>,
    /// The `Matter` it belongs to, if any.
    pub matter_id: Option<ID>,
    /// The `Contact` it concerns, if any.
    pub contact_id: Option<ID>,
    /// The `User`s who must meet it.
    #[graphql(default)]
    pub assignee_user_ids: Vec<ID>,
    /// The `Team`s who must meet it.
    #[graphql(default)]
    pub assignee_team_ids: Vec<ID>,
    /// Minutes before the due time at which to remind, e.g. [10080, 1440] for a week and a day.
    #[graphql(default)]
    pub reminder_offsets: Vec<i32>,
}

/// Changes to a deadline, for `updateDeadline`: omitted fields keep their value; null clears an
/// optional one; a list replaces the whole list.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateDeadlineInput {
    /// The `Deadline` to change.
    pub id: ID,
    /// A short title.
    pub title: Option<String>,
    /// What sort of deadline it is.
    pub kind: Option<DeadlineKind>,
    /// Free-text details; null clears them.
    pub description: MaybeUndefined<String>,
    /// When it falls due (ISO 8601).
    pub due_at: Option<DateTime<Utc>>,
    /// Setting OPEN clears the completion time; DONE sets it.
    pub status: Option<DeadlineStatus>,
    /// The `Matter` it belongs to; null unlinks it.
    pub matter_id: MaybeUndefined<ID>,
    /// The `Contact` it concerns; null unlinks it.
    pub contact_id: MaybeUndefined<ID>,
    /// The `User`s who must meet it; the list replaces the old one.
    pub assignee_user_ids: Option<Vec<ID>>,
    /// The `Team`s who must meet it; the list replaces the old one.
    pub assignee_team_ids: Option<Vec<ID>>,
    /// Minutes before the due time at which to remind; the list replaces the old one.
    pub reminder_offsets: Option<Vec<i32>>,
}

/// Which deadlines `deadlines` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct DeadlineFilter {
    /// Part of the title.
    pub text: Option<String>,
    /// Due at or after this time.
    pub due_from: Option<DateTime<Utc>>,
    /// Due before this time.
    pub due_to: Option<DateTime<Utc>>,
    /// Any of these statuses.
    pub statuses: Option<Vec<DeadlineStatus>>,
    /// Any of these kinds.
    pub kinds: Option<Vec<DeadlineKind>>,
    /// Deadlines of this `Matter`.
    pub matter_id: Option<ID>,
    /// Deadlines concerning this `Contact`.
    pub contact_id: Option<ID>,
    /// Assigned to this user directly or through one of their teams.
    pub assignee_user_id: Option<ID>,
    /// Deadlines assigned to this `Team`.
    pub assignee_team_id: Option<ID>,
}

fn validate_offsets(v: &mut Validator, offsets: &[i32]) -> Vec<i32> {
    let mut unique: Vec<i32> = Vec::new();
    for (i, minutes) in offsets.iter().enumerate() {
        if !(0..=MAX_REMINDER_MINUTES).contains(minutes) {
            v.add(
                format!("input.reminderOffsets[{i}]"),
                format!("use 0 to {MAX_REMINDER_MINUTES} minutes before the due time"),
            );
        } else if !unique.contains(minutes) {
            unique.push(*minutes);
        }
    }
    unique
}

struct Assignment {
    users: Option<Vec<String>>,
    teams: Option<Vec<String>>,
    offsets: Option<Vec<i32>>,
}

fn ensure_references(conn: &mut AnyConnection, row: &DeadlineRow, a: &Assignment) -> Result<()> {
    if let Some(matter) = &row.matter_id {
        crate::matters::get(conn, matter)
            .map_err(|e| e.as_bad_reference("input.matterId", "no matter with this ID"))?;
    }
    if let Some(contact) = &row.contact_id {
        crate::contacts::get(conn, contact)
            .map_err(|e| e.as_bad_reference("input.contactId", "no contact with this ID"))?;
    }
    if let Some(users) = &a.users {
        crate::directory::ensure_users_exist(conn, users, "input.assigneeUserIds")?;
    }
    if let Some(teams) = &a.teams {
        crate::directory::ensure_teams_exist(conn, teams, "input.assigneeTeamIds")?;
    }
    Ok(())
}

fn write_assignment(conn: &mut AnyConnection, row: &DeadlineRow, a: Assignment) -> Result<()> {
    let id = row.id.as_str();
    if let Some(users) = a.users {
        diesel::delete(
            deadline_user_assignees::table.filter(deadline_user_assignees::deadline_id.eq(id)),
        )
        .execute(conn)?;
        for user in users.iter().collect::<HashSet<_>>() {
            diesel::insert_into(deadline_user_assignees::table)
                .values((
                    deadline_user_assignees::deadline_id.eq(id),
                    deadline_user_assignees::user_id.eq(user),
                ))
                .execute(conn)?;
        }
    }
    if let Some(teams) = a.teams {
        diesel::delete(
            deadline_team_assignees::table.filter(deadline_team_assignees::deadline_id.eq(id)),
        )
        .execute(conn)?;
        for team in teams.iter().collect::<HashSet<_>>() {
            diesel::insert_into(deadline_team_assignees::table)
                .values((
                    deadline_team_assignees::deadline_id.eq(id),
                    deadline_team_assignees::team_id.eq(team),
                ))
                .execute(conn)?;
        }
    }
    let offsets = match a.offsets {
        Some(offsets) => offsets,
        // The due time may have moved: recompute the stored reminder times.
        None => reminders_of(conn, std::slice::from_ref(&row.id))?
            .remove(id)
            .unwrap_or_default(),
    };
    diesel::delete(deadline_reminders::table.filter(deadline_reminders::deadline_id.eq(id)))
        .execute(conn)?;
    for minutes in offsets {
        diesel::insert_into(deadline_reminders::table)
            .values((
                deadline_reminders::deadline_id.eq(id),
                deadline_reminders::minutes_before.eq(minutes),
                deadline_reminders::remind_at
                    .eq(row.due_at - TimeDelta::minutes(i64::from(minutes))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn decode_opt(v: &mut Validator, id: Option<&ID>, t: NodeType, field: &str) -> Option<String> {
    id.and_then(|id| v.check(field, ids::decode(t, id, field)))
}

const DUE_AT_NEEDED: &str = "give dueAt, or a term to compute it from";

/// Computes the due time of a deadline created with a `term`, and says how.
pub fn apply_term(
    input: &mut CreateDeadlineInput,
    courts: &courts::Courts,
) -> Result<Option<terms::Computation>> {
    let Some(term) = input.term.take() else {
        return Ok(None);
    };
    if input.due_at.is_some() {
        return Err(Error::invalid("input.term", "give either dueAt or term"));
    }
    let computed = term.compute("input.term", courts)?;
    input.due_at = Some(terms::expiry(computed.date)?);
    Ok(Some(computed))
}

/// Validates a new deadline without touching the database; the matter, contact, users and
/// teams it names are checked by `create`, or by the foreign keys when written with
/// `insert_prepared`.
pub fn prepare(input: CreateDeadlineInput) -> Result<PreparedDeadline> {
    let mut v = Validator::new();
    let title = v.required("input.title", &input.title);
    let matter_id = decode_opt(
        &mut v,
        input.matter_id.as_ref(),
        NodeType::Matter,
        "input.matterId",
    );
    let contact_id = decode_opt(
        &mut v,
        input.contact_id.as_ref(),
        NodeType::Contact,
        "input.contactId",
    );
    let users = v.check(
        "input.assigneeUserIds",
        ids::decode_all(
            NodeType::User,
            &input.assignee_user_ids,
            "input.assigneeUserIds",
        ),
    );
    let teams = v.check(
        "input.assigneeTeamIds",
        ids::decode_all(
            NodeType::Team,
            &input.assignee_team_ids,
            "input.assigneeTeamIds",
        ),
    );
    let offsets = validate_offsets(&mut v, &input.reminder_offsets);
    if input.due_at.is_none() {
        v.add("input.dueAt", DUE_AT_NEEDED);
    }
    v.finish()?;
    let due_at = input
        .due_at
        .ok_or_else(|| Error::invalid("input.dueAt", DUE_AT_NEEDED))?;
    let timestamp = now();
    let row = DeadlineRow {
        id: new_id(),
        title,
        kind: input.kind.as_str().to_owned(),
        description: non_blank(input.description),
        due_at: due_at.naive_utc(),
        status: DeadlineStatus::Open.as_str().to_owned(),
        completed_at: None,
        matter_id,
        contact_id,
        created_at: timestamp,
        updated_at: timestamp,
    };
    Ok(PreparedDeadline {
        row,
        users: unique(users.unwrap_or_default()),
        teams: unique(teams.unwrap_or_default()),
        offsets,
    })
}

fn unique(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids
}

pub fn create(conn: &mut AnyConnection, input: CreateDeadlineInput) -> Result<DeadlineRow> {
    let prepared = prepare(input)?;
    let assignment = Assignment {
        users: Some(prepared.users.clone()),
        teams: Some(prepared.teams.clone()),
        offsets: None,
    };
    ensure_references(conn, &prepared.row, &assignment)?;
    let mut rows = insert_prepared(conn, vec![prepared])?;
    rows.pop()
        .ok_or_else(|| Error::Internal("deadline not written".to_owned()))
}

/// Writes prepared deadlines with their assignees and reminders, one multi-row INSERT per
/// table (per chunk), in the caller's transaction.
pub fn insert_prepared(
    conn: &mut AnyConnection,
    prepared: Vec<PreparedDeadline>,
) -> Result<Vec<DeadlineRow>> {
    let mut rows = Vec::with_capacity(prepared.len());
    let (mut users, mut teams, mut reminders) = (Vec::new(), Vec::new(), Vec::new());
    for deadline in prepared {
        let id = &deadline.row.id;
        users.extend(deadline.users.into_iter().map(|user_id| UserAssigneeRow {
            deadline_id: id.clone(),
            user_id,
        }));
        teams.extend(deadline.teams.into_iter().map(|team_id| TeamAssigneeRow {
            deadline_id: id.clone(),
            team_id,
        }));
        reminders.extend(deadline.offsets.into_iter().map(|minutes| ReminderRow {
            deadline_id: id.clone(),
            minutes_before: minutes,
            remind_at: deadline.row.due_at - TimeDelta::minutes(i64::from(minutes)),
        }));
        rows.push(deadline.row);
    }
    insert_batch(conn, deadlines::table, &rows, DEADLINE_COLUMNS)?;
    insert_batch(
        conn,
        deadline_user_assignees::table,
        &users,
        ASSIGNEE_COLUMNS,
    )?;
    insert_batch(
        conn,
        deadline_team_assignees::table,
        &teams,
        ASSIGNEE_COLUMNS,
    )?;
    insert_batch(
        conn,
        deadline_reminders::table,
        &reminders,
        REMINDER_COLUMNS,
    )?;
    Ok(rows)
}

fn set_status(row: &mut DeadlineRow, status: DeadlineStatus) {
    row.status = status.as_str().to_owned();
    row.completed_at = match status {
        DeadlineStatus::Done => row.completed_at.or(Some(now())),
        DeadlineStatus::Open | DeadlineStatus::Cancelled => None,
    };
}

pub fn update(conn: &mut AnyConnection, input: UpdateDeadlineInput) -> Result<DeadlineRow> {
    let id = ids::decode(NodeType::Deadline, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    let mut v = Validator::new();
    if let Some(title) = &input.title {
        row.title = v.required("input.title", title);
    }
    if let Some(kind) = input.kind {
        row.kind = kind.as_str().to_owned();
    }
    row.description = non_blank(apply_change(row.description.take(), input.description));
    if let Some(due) = input.due_at {
        row.due_at = due.naive_utc();
    }
    if let Some(status) = input.status {
        set_status(&mut row, status);
    }
    match &input.matter_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.matter_id = None,
        MaybeUndefined::Value(m) => {
            row.matter_id = decode_opt(&mut v, Some(m), NodeType::Matter, "input.matterId")
        }
    }
    match &input.contact_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.contact_id = None,
        MaybeUndefined::Value(c) => {
            row.contact_id = decode_opt(&mut v, Some(c), NodeType::Contact, "input.contactId")
        }
    }
    let users = input.assignee_user_ids.as_ref().and_then(|u| {
        v.check(
            "input.assigneeUserIds",
            ids::decode_all(NodeType::User, u, "input.assigneeUserIds"),
        )
    });
    let teams = input.assignee_team_ids.as_ref().and_then(|t| {
        v.check(
            "input.assigneeTeamIds",
            ids::decode_all(NodeType::Team, t, "input.assigneeTeamIds"),
        )
    });
    let offsets = input
        .reminder_offsets
        .as_ref()
        .map(|o| validate_offsets(&mut v, o));
    v.finish()?;
    let assignment = Assignment {
        users,
        teams,
        offsets,
    };
    ensure_references(conn, &row, &assignment)?;
    row.updated_at = now();
    diesel::update(deadlines::table.find(&id))
        .set(&row)
        .execute(conn)?;
    write_assignment(conn, &row, assignment)?;
    Ok(row)
}

/// Marks a deadline done; completing a done deadline keeps its first completion time.
pub fn complete(conn: &mut AnyConnection, id: &str) -> Result<DeadlineRow> {
    let mut row = get(conn, id)?;
    if row.status == DeadlineStatus::Cancelled.as_str() {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "a cancelled deadline cannot be completed; reopen it first".to_owned(),
        });
    }
    set_status(&mut row, DeadlineStatus::Done);
    row.updated_at = now();
    diesel::update(deadlines::table.find(id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    // Its reminders, sent or not, are about nothing once it is gone.
    crate::mail::outbox::discard_about(conn, crate::mail::MessageKind::DeadlineReminder, id)?;
    match diesel::delete(deadlines::table.find(id)).execute(conn)? {
        0 => Err(Error::not_found("Deadline", id)),
        _ => Ok(()),
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<DeadlineRow> {
    deadlines::table
        .find(id)
        .select(DeadlineRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Deadline", id))
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, DeadlineRow>> {
    Ok(deadlines::table
        .filter(deadlines::id.eq_any(ids))
        .select(DeadlineRow::as_select())
        .load::<DeadlineRow>(conn)?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct DeadlineQuery {
    filter: DeadlineFilter,
    matter_id: Option<String>,
    contact_id: Option<String>,
    assignee_user_id: Option<String>,
    assignee_team_id: Option<String>,
}

impl DeadlineQuery {
    pub fn new(filter: DeadlineFilter) -> Result<DeadlineQuery> {
        let decode =
            |id: &Option<ID>, t, field| id.as_ref().map(|id| ids::decode(t, id, field)).transpose();
        Ok(DeadlineQuery {
            matter_id: decode(&filter.matter_id, NodeType::Matter, "filter.matterId")?,
            contact_id: decode(&filter.contact_id, NodeType::Contact, "filter.contactId")?,
            assignee_user_id: decode(
                &filter.assignee_user_id,
                NodeType::User,
                "filter.assigneeUserId",
            )?,
            assignee_team_id: decode(
                &filter.assignee_team_id,
                NodeType::Team,
                "filter.assigneeTeamId",
            )?,
            filter,
        })
    }

    fn boxed(&self, scope: &Scope) -> deadlines::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut query = deadlines::table.into_boxed();
        if let Some(visible) = scope.deadlines() {
            query = query.filter(visible);
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            query = query.filter(
                lower(deadlines::title)
                    .like(contains_pattern(&text.to_lowercase()))
                    .escape('\\'),
            );
        }
        if let Some(from) = f.due_from {
            query = query.filter(deadlines::due_at.ge(from.naive_utc()));
        }
        if let Some(to) = f.due_to {
            query = query.filter(deadlines::due_at.lt(to.naive_utc()));
        }
        if let Some(statuses) = &f.statuses {
            query = query.filter(
                deadlines::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(kinds) = &f.kinds {
            query = query.filter(
                deadlines::kind.eq_any(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(matter) = &self.matter_id {
            query = query.filter(deadlines::matter_id.eq(matter.clone()));
        }
        if let Some(contact) = &self.contact_id {
            query = query.filter(deadlines::contact_id.eq(contact.clone()));
        }
        if let Some(user) = &self.assignee_user_id {
            let direct = deadline_user_assignees::table
                .filter(deadline_user_assignees::user_id.eq(user.clone()))
                .select(deadline_user_assignees::deadline_id);
            let their_teams = team_members::table
                .filter(team_members::user_id.eq(user.clone()))
                .select(team_members::team_id);
            let via_team = deadline_team_assignees::table
                .filter(deadline_team_assignees::team_id.eq_any(their_teams))
                .select(deadline_team_assignees::deadline_id);
            query = query.filter(
                deadlines::id
                    .eq_any(direct)
                    .or(deadlines::id.eq_any(via_team)),
            );
        }
        if let Some(team) = &self.assignee_team_id {
            let assigned = deadline_team_assignees::table
                .filter(deadline_team_assignees::team_id.eq(team.clone()))
                .select(deadline_team_assignees::deadline_id);
            query = query.filter(deadlines::id.eq_any(assigned));
        }
        query
    }
}

/// Soonest first unless `direction` says otherwise.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &DeadlineQuery,
    direction: SortDirection,
    page: Page,
) -> Result<Vec<DeadlineRow>> {
    let q = query.boxed(scope);
    let q = match direction {
        SortDirection::Asc => q.order_by((deadlines::due_at.asc(), deadlines::id.asc())),
        SortDirection::Desc => q.order_by((deadlines::due_at.desc(), deadlines::id.desc())),
    };
    Ok(q.offset(page.offset)
        .limit(page.limit)
        .select(DeadlineRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, scope: &Scope, query: &DeadlineQuery) -> Result<i64> {
    Ok(query.boxed(scope).count().get_result(conn)?)
}

/// The users each deadline is assigned to, with their rows: one statement joining the
/// assignments to the users.
pub fn assigned_users_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<UserRow>>> {
    let rows: Vec<(String, UserRow)> = deadline_user_assignees::table
        .inner_join(users::table)
        .filter(deadline_user_assignees::deadline_id.eq_any(ids))
        .order_by((
            deadline_user_assignees::deadline_id,
            deadline_user_assignees::user_id,
        ))
        .select((deadline_user_assignees::deadline_id, UserRow::as_select()))
        .load(conn)?;
    Ok(group_pairs(rows))
}

/// The teams each deadline is assigned to, with their rows.
pub fn assigned_teams_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<TeamRow>>> {
    let rows: Vec<(String, TeamRow)> = deadline_team_assignees::table
        .inner_join(teams::table)
        .filter(deadline_team_assignees::deadline_id.eq_any(ids))
        .order_by((
            deadline_team_assignees::deadline_id,
            deadline_team_assignees::team_id,
        ))
        .select((deadline_team_assignees::deadline_id, TeamRow::as_select()))
        .load(conn)?;
    Ok(group_pairs(rows))
}

/// Reminder offsets (minutes before due) per deadline, largest first.
pub fn reminders_of(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, Vec<i32>>> {
    let rows: Vec<(String, i32)> = deadline_reminders::table
        .filter(deadline_reminders::deadline_id.eq_any(ids))
        .order_by((
            deadline_reminders::deadline_id,
            deadline_reminders::minutes_before.desc(),
        ))
        .select((
            deadline_reminders::deadline_id,
            deadline_reminders::minutes_before,
        ))
        .load(conn)?;
    Ok(group_by_key(rows, |r| r.0.clone())
        .into_iter()
        .map(|(d, rows)| (d, rows.into_iter().map(|r| r.1).collect()))
        .collect())
}

/// Deadlines of each matter, soonest first.
pub fn of_matters(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<DeadlineRow>>> {
    let rows = deadlines::table
        .filter(deadlines::matter_id.eq_any(ids))
        .order_by((deadlines::due_at.asc(), deadlines::id.asc()))
        .select(DeadlineRow::as_select())
        .load::<DeadlineRow>(conn)?;
    Ok(group_by_key(rows, |r| {
        r.matter_id.clone().unwrap_or_default()
    }))
}

#[cfg(test)]
mod tests {
    use super::DeadlineKind;

    /// JSON (stored campaign filters) and table columns spell deadline kinds the same way.
    #[test]
    fn serde_names_are_the_stored_text() {
        for kind in DeadlineKind::ALL {
            let json = serde_json::to_string(kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(DeadlineKind::from_db(kind.as_str()).ok(), Some(*kind));
        }
    }
}
