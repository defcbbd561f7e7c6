//! Billing: time recorded against matters and the invoices made from it (issue 16). Money is
//! integer cents, rates cents per hour, percentages basis points.
//!
//! Row-level need-to-know is a [`Scope`] rendered as SQL: a lawyer sees the time and invoices
//! of the matters they are on (and the time they recorded themselves).

pub mod fatturapa;
pub mod fatturapa_import;
pub mod firm;
pub mod invoices;
pub mod ledes;
pub mod money;
pub mod utbms;

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::invoices as invoice_table;
use crate::db::schema::time_entries;
use crate::db::{new_id, now, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{group_by_key, Page, SortDirection};

/// The most time one entry records: a day.
pub const MAX_MINUTES: i32 = 24 * 60;

pub use crate::access_policy::Scope;

/// `query` kept within the time entries `scope` sees.
fn entries_within(
    scope: &Scope,
    query: time_entries::BoxedQuery<'static, Db>,
) -> time_entries::BoxedQuery<'static, Db> {
    match scope.time_entries() {
        Some(visible) => query.filter(visible),
        None => query,
    }
}

/// `query` kept within the invoices `scope` sees.
fn invoices_within(
    scope: &Scope,
    query: invoice_table::BoxedQuery<'static, Db>,
) -> invoice_table::BoxedQuery<'static, Db> {
    match scope.invoices() {
        Some(visible) => query.filter(visible),
        None => query,
    }
}

/// A time entry as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = time_entries,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct TimeEntryRow {
    pub id: String,
    pub matter_id: String,
    pub user_id: Option<String>,
    pub work_date: NaiveDate,
    pub minutes: i32,
    pub task_code: Option<String>,
    pub activity_code: Option<String>,
    pub narrative: String,
    pub billable: bool,
    pub rate_cents: i64,
    pub invoice_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TimeEntryRow {
    /// What the entry is worth at its rate (whether billable or not).
    pub fn amount_cents(&self) -> i64 {
        money::amount(self.minutes, self.rate_cents)
    }
}

/// Time worked on a matter, for `createTimeEntry`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateTimeEntryInput {
    /// The `Matter` the time was spent on.
    pub matter_id: ID,
    /// The `User` who worked (the timekeeper); the caller when left out.
    pub user_id: Option<ID>,
    /// The day the work was done (ISO 8601 date).
    pub date: NaiveDate,
    /// How long, in minutes: 1 to 1440.
    pub minutes: i32,
    /// The UTBMS task code, e.g. "L120" (litigation) or "C300" (counseling).
    pub task_code: Option<String>,
    /// The UTBMS activity code, e.g. "A103" (draft/revise).
    pub activity_code: Option<String>,
    /// What was done, as the client will read it on the invoice.
    pub narrative: String,
    /// Whether the time is charged to the client (true unless said otherwise).
    #[graphql(default = true)]
    pub billable: bool,
    /// The hourly rate in cents (e.g. 25000 for 250.00 an hour); needed when billable.
    pub rate_cents: Option<i64>,
}

/// Changes to a time entry not yet billed, for `updateTimeEntry`: omitted fields keep their
/// value; null clears a code.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateTimeEntryInput {
    /// The `TimeEntry` to change.
    pub id: ID,
    /// The day the work was done.
    pub date: Option<NaiveDate>,
    /// How long, in minutes: 1 to 1440.
    pub minutes: Option<i32>,
    /// The UTBMS task code; null clears it.
    pub task_code: MaybeUndefined<String>,
    /// The UTBMS activity code; null clears it.
    pub activity_code: MaybeUndefined<String>,
    /// What was done.
    pub narrative: Option<String>,
    /// Whether the time is charged to the client.
    pub billable: Option<bool>,
    /// The hourly rate in cents.
    pub rate_cents: Option<i64>,
}

/// Which time entries `timeEntries` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct TimeEntryFilter {
    /// Time of this `Matter`.
    pub matter_id: Option<ID>,
    /// Time of this `User` (timekeeper).
    pub user_id: Option<ID>,
    /// Worked on or after this day.
    pub from: Option<NaiveDate>,
    /// Worked on or before this day.
    pub to: Option<NaiveDate>,
    /// Only billable (true) or non-billable (false) time.
    pub billable: Option<bool>,
    /// Only time already on an invoice (true) or not yet (false).
    pub billed: Option<bool>,
    /// Time billed on this `Invoice`.
    pub invoice_id: Option<ID>,
}

fn check_minutes(v: &mut Validator, field: &str, minutes: i32) {
    if !(1..=MAX_MINUTES).contains(&minutes) {
        v.add(
            field,
            format!("give the duration in minutes, from 1 to {MAX_MINUTES}"),
        );
    }
}

fn check_rate(v: &mut Validator, field: &str, rate: i64) {
    if rate < 0 {
        v.add(field, "a rate cannot be negative");
    } else if rate > 100_000_000 {
        v.add(field, "the rate is beyond any hourly rate (cents per hour)");
    }
}

/// A UTBMS code checked against its set; `None` for a blank one.
fn code(
    v: &mut Validator,
    field: &str,
    value: Option<&str>,
    find: fn(&str) -> Option<&'static str>,
    what: &str,
) -> Option<String> {
    let value = value.map(str::trim).filter(|c| !c.is_empty())?;
    match find(value) {
        Some(code) => Some(code.to_owned()),
        None => {
            v.add(field, format!("`{value}` is not a UTBMS {what} code"));
            None
        }
    }
}

fn task_code(v: &mut Validator, value: Option<&str>) -> Option<String> {
    code(v, "input.taskCode", value, utbms::task, "task")
}

fn activity_code(v: &mut Validator, value: Option<&str>) -> Option<String> {
    code(v, "input.activityCode", value, utbms::activity, "activity")
}

/// Records time; `caller` is the user the timekeeper defaults to.
pub fn create_entry(
    conn: &mut AnyConnection,
    input: CreateTimeEntryInput,
    caller: Option<&str>,
) -> Result<TimeEntryRow> {
    let mut v = Validator::new();
    let matter_id = v.check(
        "input.matterId",
        ids::decode(NodeType::Matter, &input.matter_id, "input.matterId"),
    );
    let user_id = match &input.user_id {
        Some(id) => v.check(
            "input.userId",
            ids::decode(NodeType::User, id, "input.userId"),
        ),
        None => {
            if caller.is_none() {
                v.add("input.userId", "name the timekeeper: the caller is no user");
            }
            caller.map(str::to_owned)
        }
    };
    check_minutes(&mut v, "input.minutes", input.minutes);
    let task_code = task_code(&mut v, input.task_code.as_deref());
    let activity_code = activity_code(&mut v, input.activity_code.as_deref());
    let narrative = v.required("input.narrative", &input.narrative);
    match input.rate_cents {
        Some(rate) => check_rate(&mut v, "input.rateCents", rate),
        None if input.billable => v.add("input.rateCents", "billable time needs an hourly rate"),
        None => {}
    }
    v.finish()?;
    let (Some(matter_id), Some(user_id)) = (matter_id, user_id) else {
        return Err(Error::invalid("input", "incomplete time entry"));
    };
    crate::matters::get(conn, &matter_id)
        .map_err(|e| e.as_bad_reference("input.matterId", "no matter with this ID"))?;
    crate::directory::get_user(conn, &user_id)
        .map_err(|e| e.as_bad_reference("input.userId", "no user with this ID"))?;
    let timestamp = now();
    let row = TimeEntryRow {
        id: new_id(),
        matter_id,
        user_id: Some(user_id),
        work_date: input.date,
        minutes: input.minutes,
        task_code,
        activity_code,
        narrative,
        billable: input.billable,
        rate_cents: input.rate_cents.unwrap_or(0),
        invoice_id: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(time_entries::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Billed time is the invoice's: it changes only after the invoice is cancelled.
fn require_unbilled(row: &TimeEntryRow, what: &str) -> Result<()> {
    if row.invoice_id.is_some() {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!(
                "the time entry is on an invoice: it cannot be {what} unless the invoice is cancelled"
            ),
        });
    }
    Ok(())
}

pub fn update_entry(conn: &mut AnyConnection, input: UpdateTimeEntryInput) -> Result<TimeEntryRow> {
    let id = ids::decode(NodeType::TimeEntry, &input.id, "input.id")?;
    let mut row = get_entry(conn, &id)?;
    require_unbilled(&row, "changed")?;
    let mut v = Validator::new();
    if let Some(date) = input.date {
        row.work_date = date;
    }
    if let Some(minutes) = input.minutes {
        check_minutes(&mut v, "input.minutes", minutes);
        row.minutes = minutes;
    }
    match &input.task_code {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.task_code = None,
        MaybeUndefined::Value(c) => row.task_code = task_code(&mut v, Some(c)),
    }
    match &input.activity_code {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.activity_code = None,
        MaybeUndefined::Value(c) => row.activity_code = activity_code(&mut v, Some(c)),
    }
    if let Some(narrative) = &input.narrative {
        row.narrative = v.required("input.narrative", narrative);
    }
    if let Some(billable) = input.billable {
        row.billable = billable;
    }
    if let Some(rate) = input.rate_cents {
        check_rate(&mut v, "input.rateCents", rate);
        row.rate_cents = rate;
    }
    v.finish()?;
    row.updated_at = now();
    diesel::update(time_entries::table.find(&id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn delete_entry(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let row = get_entry(conn, id)?;
    require_unbilled(&row, "deleted")?;
    diesel::delete(time_entries::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn get_entry(conn: &mut AnyConnection, id: &str) -> Result<TimeEntryRow> {
    time_entries::table
        .find(id)
        .select(TimeEntryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("TimeEntry", id))
}

pub fn entries_by_id(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, TimeEntryRow>> {
    Ok(time_entries::table
        .filter(time_entries::id.eq_any(ids))
        .select(TimeEntryRow::as_select())
        .load::<TimeEntryRow>(conn)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

/// Time entries of each matter, oldest work first.
pub fn entries_of_matters(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<TimeEntryRow>>> {
    let rows = time_entries::table
        .filter(time_entries::matter_id.eq_any(ids))
        .order_by((
            time_entries::work_date.asc(),
            time_entries::created_at.asc(),
            time_entries::id.asc(),
        ))
        .select(TimeEntryRow::as_select())
        .load::<TimeEntryRow>(conn)?;
    Ok(group_by_key(rows, |r| r.matter_id.clone()))
}

/// A `timeEntries` list: the filter, decoded, within the caller's scope.
#[derive(Debug, Clone)]
pub struct TimeEntryQuery {
    filter: TimeEntryFilter,
    matter_id: Option<String>,
    user_id: Option<String>,
    invoice_id: Option<String>,
    scope: Scope,
}

impl TimeEntryQuery {
    pub fn new(filter: TimeEntryFilter, scope: Scope) -> Result<TimeEntryQuery> {
        let decode =
            |id: &Option<ID>, t, field| id.as_ref().map(|id| ids::decode(t, id, field)).transpose();
        Ok(TimeEntryQuery {
            matter_id: decode(&filter.matter_id, NodeType::Matter, "filter.matterId")?,
            user_id: decode(&filter.user_id, NodeType::User, "filter.userId")?,
            invoice_id: decode(&filter.invoice_id, NodeType::Invoice, "filter.invoiceId")?,
            filter,
            scope,
        })
    }

    fn boxed(&self) -> time_entries::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut q = entries_within(&self.scope, time_entries::table.into_boxed());
        if let Some(m) = &self.matter_id {
            q = q.filter(time_entries::matter_id.eq(m.clone()));
        }
        if let Some(u) = &self.user_id {
            q = q.filter(time_entries::user_id.eq(u.clone()));
        }
        if let Some(i) = &self.invoice_id {
            q = q.filter(time_entries::invoice_id.eq(i.clone()));
        }
        if let Some(from) = f.from {
            q = q.filter(time_entries::work_date.ge(from));
        }
        if let Some(to) = f.to {
            q = q.filter(time_entries::work_date.le(to));
        }
        if let Some(billable) = f.billable {
            q = q.filter(time_entries::billable.eq(billable));
        }
        match f.billed {
            Some(true) => q = q.filter(time_entries::invoice_id.is_not_null()),
            Some(false) => q = q.filter(time_entries::invoice_id.is_null()),
            None => {}
        }
        q
    }
}

/// Oldest work first unless `direction` says otherwise.
pub fn list_entries(
    conn: &mut AnyConnection,
    query: &TimeEntryQuery,
    direction: SortDirection,
    page: Page,
) -> Result<Vec<TimeEntryRow>> {
    let q = query.boxed();
    let q = match direction {
        SortDirection::Asc => q.order_by((
            time_entries::work_date.asc(),
            time_entries::created_at.asc(),
            time_entries::id.asc(),
        )),
        SortDirection::Desc => q.order_by((
            time_entries::work_date.desc(),
            time_entries::created_at.desc(),
            time_entries::id.desc(),
        )),
    };
    Ok(q.offset(page.offset)
        .limit(page.limit)
        .select(TimeEntryRow::as_select())
        .load(conn)?)
}

pub fn count_entries(conn: &mut AnyConnection, query: &TimeEntryQuery) -> Result<i64> {
    Ok(query.boxed().count().get_result(conn)?)
}
