//! The register of data-subject requests: what was asked, by whom, when it is due (Art. 12(3):
//! one month, extendable by two), how the requester's identity was checked, and the outcome.

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::subject_requests;
use crate::db::{new_id, now, text_enum, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::Page;
use crate::validation::non_blank;

text_enum! {
    /// The right the data subject exercises.
    SubjectRequestKind {
        /// Art. 15.
        Access => "access",
        /// Art. 20.
        Portability => "portability",
        /// Art. 16.
        Rectification => "rectification",
        /// Art. 17.
        Erasure => "erasure",
        /// Art. 18.
        Restriction => "restriction",
        /// Art. 21.
        Objection => "objection",
    }
}

text_enum! {
    /// Where a request is: received, identity verified, then executed or refused.
    SubjectRequestStatus {
        /// Registered; the requester's identity is not verified yet.
        Received => "received",
        /// The requester's identity is verified: the request can be executed.
        IdentityVerified => "identity_verified",
        /// Answered: the right was given effect.
        Executed => "executed",
        /// Refused, with the legal reason in `refusalReason`.
        Refused => "refused",
    }
}

text_enum! {
    /// How the request reached the firm.
    RequestChannel {
        /// Ordinary email.
        Email => "email",
        /// PEC (certified email).
        Pec => "pec",
        /// A letter (post, registered post, courier or by hand).
        Letter => "letter",
        /// A phone call.
        Phone => "phone",
        /// In person at the firm.
        InPerson => "in_person",
        /// A form on the firm's website.
        WebForm => "web_form",
    }
}

impl SubjectRequestStatus {
    /// Still waiting for an answer: counts towards the deadline.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            SubjectRequestStatus::Received | SubjectRequestStatus::IdentityVerified
        )
    }
}

const OPEN_STATUSES: [&str; 2] = ["received", "identity_verified"];

/// The longest extension Art. 12(3) allows, in months.
const MAX_EXTENSION_MONTHS: i32 = 2;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = subject_requests, treat_none_as_null = true)]
pub struct SubjectRequestRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub contact_id: Option<String>,
    pub received_at: NaiveDateTime,
    pub channel: String,
    pub requester_name: Option<String>,
    pub requester_contact: Option<String>,
    pub identity_verified_at: Option<NaiveDateTime>,
    pub identity_verified_by: Option<String>,
    pub identity_method: Option<String>,
    pub due_on: NaiveDate,
    pub extended_due_on: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub refusal_reason: Option<String>,
    pub executed_at: Option<NaiveDateTime>,
    pub notes: Option<String>,
    pub handled_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl SubjectRequestRow {
    pub fn status(&self) -> Result<SubjectRequestStatus> {
        SubjectRequestStatus::from_db(&self.status)
    }

    pub fn kind(&self) -> Result<SubjectRequestKind> {
        SubjectRequestKind::from_db(&self.kind)
    }

    /// The date the answer is due: the extended one when the deadline was extended.
    pub fn effective_due_on(&self) -> NaiveDate {
        self.extended_due_on.unwrap_or(self.due_on)
    }

    /// Open and past its (possibly extended) due date on `today`.
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        self.status().is_ok_and(SubjectRequestStatus::is_open) && today > self.effective_due_on()
    }
}

/// One calendar month after receipt (Art. 12(3)); a day the next month lacks becomes its last
/// day (31 January is due 28 or 29 February).
pub fn due_date(received: NaiveDate) -> NaiveDate {
    add_months(received, 1)
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono clamps to the month's end; only the year 262143 would overflow.
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A data subject's request as received, for `createSubjectRequest`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateSubjectRequestInput {
    /// Which right the person exercises.
    pub kind: SubjectRequestKind,
    /// How the request reached the firm.
    pub channel: RequestChannel,
    /// When the request reached the firm; now when left out. The deadline runs from here.
    pub received_at: Option<DateTime<Utc>>,
    /// Who asked.
    pub requester_name: String,
    /// How to answer the requester (address, email, phone).
    pub requester_contact: Option<String>,
    /// The contact the request is about, once identified.
    pub contact_id: Option<ID>,
    /// The DPO's notes.
    pub notes: Option<String>,
}

/// Changes to a request, for `updateSubjectRequest`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateSubjectRequestInput {
    /// The `SubjectRequest` to change.
    pub id: ID,
    /// The `Contact` the request is about, once identified.
    pub contact_id: MaybeUndefined<ID>,
    /// How to reach the requester; null clears it.
    pub requester_contact: MaybeUndefined<String>,
    /// The DPO's notes; null clears them.
    pub notes: MaybeUndefined<String>,
}

/// How a requester's identity was verified, for `verifySubjectIdentity`.
#[derive(Debug, Clone, InputObject)]
pub struct VerifySubjectIdentityInput {
    /// The `SubjectRequest` ID.
    pub id: ID,
    /// How the identity was checked (e.g. "ID card seen at reception", "signed PEC").
    pub method: String,
    /// Now when left out.
    pub verified_at: Option<DateTime<Utc>>,
}

/// An extension of a request's deadline, for `extendSubjectRequest`.
#[derive(Debug, Clone, InputObject)]
pub struct ExtendSubjectRequestInput {
    /// The `SubjectRequest` ID.
    pub id: ID,
    /// One or two further months (Art. 12(3)).
    pub months: i32,
    /// Why more time is needed (complexity or number of requests, Art. 12(3)).
    pub reason: String,
}

/// A refusal of a request, for `refuseRequest`.
#[derive(Debug, Clone, InputObject)]
pub struct RefuseRequestInput {
    /// The `SubjectRequest` ID.
    pub id: ID,
    /// The legal reason, e.g. "Art. 17(3)(e): establishment or defence of legal claims".
    pub legal_reason: String,
}

/// How a request was answered, for `completeSubjectRequest`.
#[derive(Debug, Clone, InputObject)]
pub struct CompleteSubjectRequestInput {
    /// The `SubjectRequest` ID.
    pub id: ID,
    /// What was done (e.g. "export sent by PEC").
    pub notes: Option<String>,
}

/// Which requests a list returns; all given conditions hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct SubjectRequestFilter {
    /// Any of these statuses.
    pub statuses: Option<Vec<SubjectRequestStatus>>,
    /// Any of these kinds.
    pub kinds: Option<Vec<SubjectRequestKind>>,
    /// True: open and past due; false: the others.
    pub overdue: Option<bool>,
    /// Requests about this `Contact`.
    pub contact_id: Option<ID>,
}

fn decode_contact(v: &mut Validator, id: &ID, field: &str) -> Option<String> {
    v.check(field, ids::decode(NodeType::Contact, id, field))
}

/// A request names a contact the firm holds. Read from the table directly: the register sits
/// below the contacts service, which moves requests when contacts merge.
fn ensure_contact(conn: &mut AnyConnection, id: &str, field: &str) -> Result<()> {
    let found = crate::db::schema::contacts::table
        .find(id)
        .select(crate::db::schema::contacts::id)
        .first::<String>(conn)
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::invalid(field, "no contact with this ID")),
    }
}

pub fn create(
    conn: &mut AnyConnection,
    input: CreateSubjectRequestInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut v = Validator::new();
    let requester_name = v.required("input.requesterName", &input.requester_name);
    let contact_id = input
        .contact_id
        .as_ref()
        .and_then(|id| decode_contact(&mut v, id, "input.contactId"));
    let timestamp = now();
    let received_at = input.received_at.map_or(timestamp, |t| t.naive_utc());
    if received_at > timestamp {
        v.add(
            "input.receivedAt",
            "a request cannot be received in the future",
        );
    }
    v.finish()?;
    if let Some(contact) = &contact_id {
        ensure_contact(conn, contact, "input.contactId")?;
    }
    let row = SubjectRequestRow {
        id: new_id(),
        kind: input.kind.as_str().to_owned(),
        status: SubjectRequestStatus::Received.as_str().to_owned(),
        contact_id,
        received_at,
        channel: input.channel.as_str().to_owned(),
        requester_name: Some(requester_name),
        requester_contact: non_blank(input.requester_contact),
        identity_verified_at: None,
        identity_verified_by: None,
        identity_method: None,
        due_on: due_date(received_at.date()),
        extended_due_on: None,
        extension_reason: None,
        refusal_reason: None,
        executed_at: None,
        notes: non_blank(input.notes),
        handled_by: Some(by.to_owned()),
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(subject_requests::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<SubjectRequestRow> {
    subject_requests::table
        .find(id)
        .select(SubjectRequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("SubjectRequest", id))
}

/// The request named by `input.id`, for a change.
fn load_for_change(conn: &mut AnyConnection, id: &ID) -> Result<SubjectRequestRow> {
    let key = ids::decode(NodeType::SubjectRequest, id, "input.id")?;
    get(conn, &key)
}

fn require_open(row: &SubjectRequestRow) -> Result<()> {
    if row.status()?.is_open() {
        Ok(())
    } else {
        Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!("the request is already {}", row.status),
        })
    }
}

fn save(
    conn: &mut AnyConnection,
    mut row: SubjectRequestRow,
    by: &str,
) -> Result<SubjectRequestRow> {
    row.updated_at = now();
    row.handled_by = Some(by.to_owned());
    diesel::update(subject_requests::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(
    conn: &mut AnyConnection,
    input: UpdateSubjectRequestInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut row = load_for_change(conn, &input.id)?;
    let mut v = Validator::new();
    match &input.contact_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.contact_id = None,
        MaybeUndefined::Value(id) => row.contact_id = decode_contact(&mut v, id, "input.contactId"),
    }
    v.finish()?;
    if let (MaybeUndefined::Value(_), Some(contact)) = (&input.contact_id, &row.contact_id) {
        ensure_contact(conn, contact, "input.contactId")?;
    }
    row.requester_contact =
        crate::validation::apply_change(row.requester_contact, input.requester_contact);
    row.notes = crate::validation::apply_change(row.notes, input.notes);
    save(conn, row, by)
}

pub fn verify_identity(
    conn: &mut AnyConnection,
    input: VerifySubjectIdentityInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut row = load_for_change(conn, &input.id)?;
    let mut v = Validator::new();
    let method = v.required("input.method", &input.method);
    let verified_at = input.verified_at.map_or_else(now, |t| t.naive_utc());
    if verified_at < row.received_at || verified_at > now() {
        v.add(
            "input.verifiedAt",
            "the identity is verified after the request arrived and not in the future",
        );
    }
    v.finish()?;
    if row.status()? != SubjectRequestStatus::Received {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!("the request is {}, not received", row.status),
        });
    }
    row.status = SubjectRequestStatus::IdentityVerified.as_str().to_owned();
    row.identity_verified_at = Some(verified_at);
    row.identity_verified_by = Some(by.to_owned());
    row.identity_method = Some(method);
    save(conn, row, by)
}

pub fn extend(
    conn: &mut AnyConnection,
    input: ExtendSubjectRequestInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut row = load_for_change(conn, &input.id)?;
    let mut v = Validator::new();
    let reason = v.required("input.reason", &input.reason);
    if !(1..=MAX_EXTENSION_MONTHS).contains(&input.months) {
        v.add(
            "input.months",
            format!("extend by 1 to {MAX_EXTENSION_MONTHS} months (Art. 12(3))"),
        );
    }
    v.finish()?;
    require_open(&row)?;
    // Art. 12(3): the extension is notified within the first month, so a late one cannot
    // retroactively clear the delay.
    if row.overdue_on(today()) {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!(
                "the request was due on {} and is overdue; Art. 12(3) allows an extension only within the first month",
                row.effective_due_on()
            ),
        });
    }
    if row.extended_due_on.is_some() {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "the deadline was extended already; Art. 12(3) allows one extension of at most two months".to_owned(),
        });
    }
    row.extended_due_on = Some(add_months(row.due_on, input.months.unsigned_abs()));
    row.extension_reason = Some(reason);
    save(conn, row, by)
}

pub fn refuse(
    conn: &mut AnyConnection,
    input: RefuseRequestInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut row = load_for_change(conn, &input.id)?;
    let mut v = Validator::new();
    let reason = v.required("input.legalReason", &input.legal_reason);
    v.finish()?;
    require_open(&row)?;
    row.status = SubjectRequestStatus::Refused.as_str().to_owned();
    row.refusal_reason = Some(reason);
    row.executed_at = Some(now());
    save(conn, row, by)
}

/// Marks a request other than an erasure done; erasures run through `erasure::execute`.
pub fn complete(
    conn: &mut AnyConnection,
    input: CompleteSubjectRequestInput,
    by: &str,
) -> Result<SubjectRequestRow> {
    let mut row = load_for_change(conn, &input.id)?;
    if row.kind()? == SubjectRequestKind::Erasure {
        return Err(Error::invalid(
            "input.id",
            "an erasure is executed with executeErasure",
        ));
    }
    require_verified(&row)?;
    if let Some(notes) = non_blank(input.notes) {
        row.notes = Some(match row.notes {
            Some(before) => format!("{before}\n{notes}"),
            None => notes,
        });
    }
    mark_executed(conn, row, by)
}

/// A request is executed only once the requester's identity is verified.
pub fn require_verified(row: &SubjectRequestRow) -> Result<()> {
    match row.status()? {
        SubjectRequestStatus::IdentityVerified => Ok(()),
        SubjectRequestStatus::Received => Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: "verify the requester's identity first".to_owned(),
        }),
        _ => Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!("the request is already {}", row.status),
        }),
    }
}

pub fn mark_executed(
    conn: &mut AnyConnection,
    mut row: SubjectRequestRow,
    by: &str,
) -> Result<SubjectRequestRow> {
    row.status = SubjectRequestStatus::Executed.as_str().to_owned();
    row.executed_at = Some(now());
    save(conn, row, by)
}

/// A request filter with its IDs decoded.
#[derive(Debug, Clone)]
pub struct RequestQuery {
    filter: SubjectRequestFilter,
    contact_id: Option<String>,
    today: NaiveDate,
}

impl RequestQuery {
    pub fn new(filter: SubjectRequestFilter) -> Result<RequestQuery> {
        let contact_id = filter
            .contact_id
            .as_ref()
            .map(|id| ids::decode(NodeType::Contact, id, "filter.contactId"))
            .transpose()?;
        Ok(RequestQuery {
            filter,
            contact_id,
            today: today(),
        })
    }

    fn boxed(&self) -> subject_requests::BoxedQuery<'static, Db> {
        use subject_requests::dsl as r;
        let mut query = subject_requests::table.into_boxed();
        if let Some(statuses) = &self.filter.statuses {
            let values: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
            query = query.filter(r::status.eq_any(values));
        }
        if let Some(kinds) = &self.filter.kinds {
            let values: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            query = query.filter(r::kind.eq_any(values));
        }
        if let Some(contact) = &self.contact_id {
            query = query.filter(r::contact_id.eq(contact.clone()));
        }
        if let Some(overdue) = self.filter.overdue {
            // Written so that no operand is NULL: `not(...)` of an unknown would drop rows.
            let past_due = r::status.eq_any(OPEN_STATUSES).and(
                r::extended_due_on
                    .is_null()
                    .and(r::due_on.lt(self.today))
                    .or(r::extended_due_on
                        .is_not_null()
                        .and(r::extended_due_on.lt(self.today).assume_not_null())),
            );
            query = if overdue {
                query.filter(past_due)
            } else {
                query.filter(diesel::dsl::not(past_due))
            };
        }
        query
    }
}

pub fn list(
    conn: &mut AnyConnection,
    query: &RequestQuery,
    page: Page,
) -> Result<Vec<SubjectRequestRow>> {
    Ok(query
        .boxed()
        .order_by((subject_requests::received_at.desc(), subject_requests::id))
        .offset(page.offset)
        .limit(page.limit)
        .select(SubjectRequestRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, query: &RequestQuery) -> Result<i64> {
    Ok(query.boxed().count().get_result(conn)?)
}

/// Points the requests about contacts merged into another at the survivor.
pub fn move_to(conn: &mut AnyConnection, merged: &[String], survivor: &str) -> Result<usize> {
    Ok(
        diesel::update(subject_requests::table.filter(subject_requests::contact_id.eq_any(merged)))
            .set(subject_requests::contact_id.eq(survivor))
            .execute(conn)?,
    )
}

/// The requests about one contact, oldest first (for the access export).
pub fn of_contact(conn: &mut AnyConnection, contact_id: &str) -> Result<Vec<SubjectRequestRow>> {
    Ok(subject_requests::table
        .filter(subject_requests::contact_id.eq(contact_id))
        .order_by((subject_requests::received_at, subject_requests::id))
        .select(SubjectRequestRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn due_one_calendar_month_later_clamped_to_the_month_end() {
        assert_eq!(due_date(date("2026-03-15")), date("2026-04-15"));
        assert_eq!(due_date(date("2026-01-31")), date("2026-02-28"));
        assert_eq!(due_date(date("2028-01-31")), date("2028-02-29"));
        assert_eq!(due_date(date("2026-12-31")), date("2027-01-31"));
        assert_eq!(add_months(date("2026-02-28"), 2), date("2026-04-28"));
    }
}
