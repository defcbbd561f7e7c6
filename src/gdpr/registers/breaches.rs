//! The register of personal data breaches (Art. 33(5) GDPR): what happened, whom it touched,
//! what was done, and the 72-hour clock for notifying the supervisory authority.

use std::collections::BTreeSet;

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

use super::{category_list, from_json, to_json};
use crate::audit::{self, AccessLogFilter};
use crate::db::schema::{breach_subjects, breaches};
use crate::db::{new_id, now, text_enum, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::Page;
use crate::validation::{apply_change, non_blank};

/// Art. 33(1): notify the supervisory authority within 72 hours of becoming aware.
pub const NOTIFICATION_DEADLINE: TimeDelta = TimeDelta::hours(72);

text_enum! {
    /// Which security property the breach broke.
    BreachNature {
        /// Data was disclosed to or accessed by someone not entitled to it.
        Confidentiality => "confidentiality",
        /// Data was altered without authority.
        Integrity => "integrity",
        /// Data was lost or could not be reached.
        Availability => "availability",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = breaches, treat_none_as_null = true)]
pub struct BreachRow {
    pub id: String,
    pub detected_at: NaiveDateTime,
    /// JSON array of [`BreachNature`].
    pub natures: String,
    pub description: String,
    /// JSON array of strings.
    pub subject_categories: String,
    pub approximate_subjects: Option<i64>,
    /// JSON array of strings.
    pub record_categories: String,
    pub approximate_records: Option<i64>,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    pub authority_notification_required: bool,
    pub no_notification_reason: Option<String>,
    pub authority_notified_at: Option<NaiveDateTime>,
    pub subjects_notification_required: bool,
    pub subjects_notified_at: Option<NaiveDateTime>,
    pub dpo_notes: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl BreachRow {
    pub fn natures(&self) -> Result<Vec<BreachNature>> {
        from_json(&self.natures)
    }

    pub fn subject_categories(&self) -> Result<Vec<String>> {
        from_json(&self.subject_categories)
    }

    pub fn record_categories(&self) -> Result<Vec<String>> {
        from_json(&self.record_categories)
    }

    pub fn notification_due_at(&self) -> NaiveDateTime {
        self.detected_at + NOTIFICATION_DEADLINE
    }

    /// The authority must still be told.
    pub fn notification_pending(&self) -> bool {
        self.authority_notification_required && self.authority_notified_at.is_none()
    }

    /// Pending past the 72 hours.
    pub fn overdue(&self, at: NaiveDateTime) -> bool {
        self.notification_pending() && at > self.notification_due_at()
    }

    /// Hours left to notify (negative once overdue); `None` once nothing is pending.
    pub fn hours_remaining(&self, at: NaiveDateTime) -> Option<f64> {
        self.notification_pending().then(|| {
            let left = self.notification_due_at() - at;
            (left.num_seconds() as f64 / 3600.0 * 100.0).round() / 100.0
        })
    }
}

/// A data subject the breach touched, and the fields touched of them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = breach_subjects)]
pub struct BreachSubjectRow {
    pub breach_id: String,
    pub contact_id: String,
    /// JSON array of `Type.field` names.
    pub fields: String,
}

/// A breach to record, for `recordBreach`.
#[derive(Debug, Clone, InputObject)]
pub struct RecordBreachInput {
    /// When the firm became aware of the breach: the 72-hour clock starts here.
    pub detected_at: DateTime<Utc>,
    /// Which security properties the breach broke.
    pub natures: Vec<BreachNature>,
    /// What happened.
    pub description: String,
    /// The categories of people concerned.
    #[graphql(default)]
    pub subject_categories: Vec<String>,
    /// Roughly how many people are concerned.
    pub approximate_subjects: Option<i64>,
    /// Categories of personal data records concerned.
    #[graphql(default)]
    pub record_categories: Vec<String>,
    /// Roughly how many records are concerned.
    pub approximate_records: Option<i64>,
    /// The likely consequences for the people concerned.
    pub likely_consequences: Option<String>,
    /// Measures taken or proposed to address the breach and mitigate its effects.
    pub measures: Option<String>,
    /// Whether the supervisory authority must be notified (Art. 33).
    pub authority_notification_required: bool,
    /// Required when the authority need not be notified (Art. 33(1): unlikely to result in a risk).
    pub no_notification_reason: Option<String>,
    /// When the authority was notified (ISO 8601).
    pub authority_notified_at: Option<DateTime<Utc>>,
    /// Art. 34: a high risk to the data subjects' rights and freedoms.
    pub subjects_notification_required: bool,
    /// When the people concerned were told (ISO 8601).
    pub subjects_notified_at: Option<DateTime<Utc>>,
    /// The DPO's working notes.
    pub dpo_notes: Option<String>,
}

/// Fields left out stay as they are; `null` clears an optional one.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateBreachInput {
    /// The `Breach` to change.
    pub id: ID,
    /// When the firm became aware of the breach (ISO 8601).
    pub detected_at: Option<DateTime<Utc>>,
    /// Which security properties the breach broke.
    pub natures: Option<Vec<BreachNature>>,
    /// What happened.
    pub description: Option<String>,
    /// The categories of people concerned.
    pub subject_categories: Option<Vec<String>>,
    /// Roughly how many people are concerned; null when unknown.
    pub approximate_subjects: MaybeUndefined<i64>,
    /// The categories of personal data records concerned.
    pub record_categories: Option<Vec<String>>,
    /// Roughly how many records are concerned; null when unknown.
    pub approximate_records: MaybeUndefined<i64>,
    /// The likely consequences for the people concerned; null clears them.
    pub likely_consequences: MaybeUndefined<String>,
    /// Measures taken or proposed; null clears them.
    pub measures: MaybeUndefined<String>,
    /// Whether the supervisory authority must be notified (Art. 33).
    pub authority_notification_required: Option<bool>,
    /// Why the authority need not be notified; null clears it.
    pub no_notification_reason: MaybeUndefined<String>,
    /// When the authority was notified (ISO 8601); null clears it.
    pub authority_notified_at: MaybeUndefined<DateTime<Utc>>,
    /// Whether the people concerned must be told (Art. 34).
    pub subjects_notification_required: Option<bool>,
    /// When the people concerned were told (ISO 8601); null clears it.
    pub subjects_notified_at: MaybeUndefined<DateTime<Utc>>,
    /// The DPO's working notes; null clears them.
    pub dpo_notes: MaybeUndefined<String>,
    /// When the breach was dealt with; an open breach has none.
    pub closed_at: MaybeUndefined<DateTime<Utc>>,
}

/// Which breaches a list returns; all given conditions hold.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct BreachFilter {
    /// Only breaches whose authority notification is past the 72 hours (or only others).
    pub overdue: Option<bool>,
    /// Only breaches not closed yet (or only closed ones).
    pub open: Option<bool>,
}

/// Fills a breach's data subjects from the access log: the entries of a principal and/or
/// a time window `[from, to)`.
#[derive(Debug, Clone, InputObject)]
pub struct FillBreachSubjectsInput {
    /// The `Breach` ID.
    pub breach_id: ID,
    /// A user's or API key's global ID, or `issuer#subject`, as the access log names
    /// principals.
    pub principal: Option<ID>,
    /// Start of the window (ISO 8601, inclusive).
    pub from: Option<DateTime<Utc>>,
    /// End of the window (ISO 8601, exclusive).
    pub to: Option<DateTime<Utc>>,
}

fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

fn validate(v: &mut Validator, mut row: BreachRow, natures: &[BreachNature]) -> BreachRow {
    let at = now();
    if row.detected_at > at {
        v.add("input.detectedAt", "must not be in the future");
    }
    if natures.is_empty() {
        v.add(
            "input.natures",
            "name at least one: confidentiality, integrity or availability",
        );
    }
    row.description = v.required("input.description", &row.description);
    for (field, count) in [
        ("input.approximateSubjects", row.approximate_subjects),
        ("input.approximateRecords", row.approximate_records),
    ] {
        if count.is_some_and(|n| n < 0) {
            v.add(field, "must not be negative");
        }
    }
    row.likely_consequences = non_blank(row.likely_consequences);
    row.measures = non_blank(row.measures);
    row.no_notification_reason = non_blank(row.no_notification_reason);
    row.dpo_notes = non_blank(row.dpo_notes);
    if !row.authority_notification_required && row.no_notification_reason.is_none() {
        v.add(
            "input.noNotificationReason",
            "say why the authority need not be notified (Art. 33(1))",
        );
    }
    for (field, time) in [
        ("input.authorityNotifiedAt", row.authority_notified_at),
        ("input.subjectsNotifiedAt", row.subjects_notified_at),
        ("input.closedAt", row.closed_at),
    ] {
        if let Some(time) = time {
            if time < row.detected_at || time > at {
                v.add(field, "must lie between detection and now");
            }
        }
    }
    row
}

fn lists(
    v: &mut Validator,
    row: &mut BreachRow,
    natures: &[BreachNature],
    subjects: Vec<String>,
    records: Vec<String>,
) -> Result<()> {
    let mut unique: Vec<BreachNature> = Vec::new();
    for nature in natures {
        if !unique.contains(nature) {
            unique.push(*nature);
        }
    }
    row.natures = to_json(&unique)?;
    row.subject_categories = to_json(&category_list(v, "input.subjectCategories", subjects))?;
    row.record_categories = to_json(&category_list(v, "input.recordCategories", records))?;
    Ok(())
}

pub fn record(conn: &mut AnyConnection, input: RecordBreachInput) -> Result<BreachRow> {
    let timestamp = now();
    let mut v = Validator::new();
    let mut row = BreachRow {
        id: new_id(),
        detected_at: naive(input.detected_at),
        natures: String::new(),
        description: input.description,
        subject_categories: String::new(),
        approximate_subjects: input.approximate_subjects,
        record_categories: String::new(),
        approximate_records: input.approximate_records,
        likely_consequences: input.likely_consequences,
        measures: input.measures,
        authority_notification_required: input.authority_notification_required,
        no_notification_reason: input.no_notification_reason,
        authority_notified_at: input.authority_notified_at.map(naive),
        subjects_notification_required: input.subjects_notification_required,
        subjects_notified_at: input.subjects_notified_at.map(naive),
        dpo_notes: input.dpo_notes,
        closed_at: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    lists(
        &mut v,
        &mut row,
        &input.natures,
        input.subject_categories,
        input.record_categories,
    )?;
    let row = validate(&mut v, row, &input.natures);
    v.finish()?;
    diesel::insert_into(breaches::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn update(conn: &mut AnyConnection, input: UpdateBreachInput) -> Result<BreachRow> {
    let id = ids::decode(NodeType::Breach, &input.id, "input.id")?;
    let current = get(conn, &id)?;
    let natures = match input.natures {
        Some(natures) => natures,
        None => current.natures()?,
    };
    let subjects = match input.subject_categories {
        Some(list) => list,
        None => current.subject_categories()?,
    };
    let records = match input.record_categories {
        Some(list) => list,
        None => current.record_categories()?,
    };
    let mut v = Validator::new();
    let mut row = BreachRow {
        id: current.id,
        detected_at: input.detected_at.map_or(current.detected_at, naive),
        natures: String::new(),
        description: input.description.unwrap_or(current.description),
        subject_categories: String::new(),
        approximate_subjects: apply_change(
            current.approximate_subjects,
            input.approximate_subjects,
        ),
        record_categories: String::new(),
        approximate_records: apply_change(current.approximate_records, input.approximate_records),
        likely_consequences: apply_change(current.likely_consequences, input.likely_consequences),
        measures: apply_change(current.measures, input.measures),
        authority_notification_required: input
            .authority_notification_required
            .unwrap_or(current.authority_notification_required),
        no_notification_reason: apply_change(
            current.no_notification_reason,
            input.no_notification_reason,
        ),
        authority_notified_at: apply_change(
            current.authority_notified_at,
            input.authority_notified_at.map_value(naive),
        ),
        subjects_notification_required: input
            .subjects_notification_required
            .unwrap_or(current.subjects_notification_required),
        subjects_notified_at: apply_change(
            current.subjects_notified_at,
            input.subjects_notified_at.map_value(naive),
        ),
        dpo_notes: apply_change(current.dpo_notes, input.dpo_notes),
        closed_at: apply_change(current.closed_at, input.closed_at.map_value(naive)),
        created_at: current.created_at,
        updated_at: now(),
    };
    lists(&mut v, &mut row, &natures, subjects, records)?;
    let row = validate(&mut v, row, &natures);
    v.finish()?;
    diesel::update(breaches::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<BreachRow> {
    breaches::table
        .find(id)
        .select(BreachRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Breach", id))
}

pub fn get_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, BreachRow>> {
    Ok(breaches::table
        .filter(breaches::id.eq_any(ids))
        .select(BreachRow::as_select())
        .load::<BreachRow>(conn)?
        .into_iter()
        .map(|b| (b.id.clone(), b))
        .collect())
}

fn filtered(filter: BreachFilter, at: NaiveDateTime) -> breaches::BoxedQuery<'static, Db> {
    let mut query = breaches::table.into_boxed();
    let due_before = at - NOTIFICATION_DEADLINE;
    match filter.overdue {
        Some(true) => {
            query = query
                .filter(breaches::authority_notification_required.eq(true))
                .filter(breaches::authority_notified_at.is_null())
                .filter(breaches::detected_at.lt(due_before));
        }
        Some(false) => {
            query = query.filter(
                breaches::authority_notification_required
                    .eq(false)
                    .or(breaches::authority_notified_at.is_not_null())
                    .or(breaches::detected_at.ge(due_before)),
            );
        }
        None => {}
    }
    match filter.open {
        Some(true) => query = query.filter(breaches::closed_at.is_null()),
        Some(false) => query = query.filter(breaches::closed_at.is_not_null()),
        None => {}
    }
    query
}

pub fn count(conn: &mut AnyConnection, filter: BreachFilter, at: NaiveDateTime) -> Result<i64> {
    Ok(filtered(filter, at).count().get_result(conn)?)
}

/// A page of breaches, most recently detected first.
pub fn list(
    conn: &mut AnyConnection,
    filter: BreachFilter,
    at: NaiveDateTime,
    page: Page,
) -> Result<Vec<BreachRow>> {
    Ok(filtered(filter, at)
        .order_by((breaches::detected_at.desc(), breaches::id))
        .offset(page.offset)
        .limit(page.limit)
        .select(BreachRow::as_select())
        .load(conn)?)
}

/// The breach's data subjects with the fields touched of each, by contact ID.
pub fn subjects_of(conn: &mut AnyConnection, breach_id: &str) -> Result<Vec<BreachSubjectRow>> {
    Ok(breach_subjects::table
        .filter(breach_subjects::breach_id.eq(breach_id))
        .order_by(breach_subjects::contact_id)
        .select(BreachSubjectRow::as_select())
        .load(conn)?)
}

/// Replaces the breach's subjects with those the access log shows the principal and/or
/// window touched, and sets the approximate counts: subjects are the distinct contacts,
/// records the (contact, field) pairs touched.
pub fn fill_subjects(
    conn: &mut AnyConnection,
    input: FillBreachSubjectsInput,
) -> Result<(BreachRow, Vec<BreachSubjectRow>)> {
    let id = ids::decode(NodeType::Breach, &input.breach_id, "input.breachId")?;
    let principal = input
        .principal
        .filter(|p| !p.trim().is_empty())
        .map(|p| audit::principal_key(&p, "input.principal"))
        .transpose()?;
    if principal.is_none() && input.from.is_none() && input.to.is_none() {
        return Err(Error::invalid(
            "input.principal",
            "scope the breach by a principal, a time window or both",
        ));
    }
    if let (Some(from), Some(to)) = (input.from, input.to) {
        if from >= to {
            return Err(Error::invalid("input.to", "must be after `from`"));
        }
    }
    get(conn, &id)?;
    let filter = AccessLogFilter {
        subject: None,
        principal_id: principal,
        from: input.from.map(naive),
        to: input.to.map(naive),
    };
    let touched = audit::fields_by_subject(conn, &filter)?;
    let rows = touched
        .into_iter()
        .map(|(contact_id, fields)| {
            Ok(BreachSubjectRow {
                breach_id: id.clone(),
                contact_id,
                fields: to_json(&fields.into_iter().collect::<BTreeSet<_>>())?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let records: usize = rows
        .iter()
        .map(|r| from_json::<Vec<String>>(&r.fields).map(|f| f.len()))
        .sum::<Result<usize>>()?;
    diesel::delete(breach_subjects::table.filter(breach_subjects::breach_id.eq(&id)))
        .execute(conn)?;
    crate::db::insert_batch(conn, breach_subjects::table, &rows, 3)?;
    let subjects = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let records = i64::try_from(records).unwrap_or(i64::MAX);
    diesel::update(breaches::table.find(&id))
        .set((
            breaches::approximate_subjects.eq(Some(subjects)),
            breaches::approximate_records.eq(Some(records)),
            breaches::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok((get(conn, &id)?, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breach(detected_at: NaiveDateTime) -> BreachRow {
        BreachRow {
            id: "b".to_owned(),
            detected_at,
            natures: "[]".to_owned(),
            description: "x".to_owned(),
            subject_categories: "[]".to_owned(),
            approximate_subjects: None,
            record_categories: "[]".to_owned(),
            approximate_records: None,
            likely_consequences: None,
            measures: None,
            authority_notification_required: true,
            no_notification_reason: None,
            authority_notified_at: None,
            subjects_notification_required: false,
            subjects_notified_at: None,
            dpo_notes: None,
            closed_at: None,
            created_at: detected_at,
            updated_at: detected_at,
        }
    }

    #[test]
    fn the_72_hour_clock() {
        let detected = now();
        let mut b = breach(detected);
        assert_eq!(b.notification_due_at(), detected + TimeDelta::hours(72));
        assert!(!b.overdue(detected + TimeDelta::hours(71)));
        assert_eq!(
            b.hours_remaining(detected + TimeDelta::hours(70)),
            Some(2.0)
        );
        assert!(b.overdue(detected + TimeDelta::hours(73)));
        assert_eq!(
            b.hours_remaining(detected + TimeDelta::hours(73)),
            Some(-1.0)
        );
        b.authority_notified_at = Some(detected + TimeDelta::hours(80));
        assert!(!b.overdue(detected + TimeDelta::hours(90)));
        assert_eq!(b.hours_remaining(detected + TimeDelta::hours(90)), None);
    }
}
