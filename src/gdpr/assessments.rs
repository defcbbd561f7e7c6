//! The assessments register: legitimate-interest assessments (LIA), which a legitimate-interest
//! basis must cite, and data-protection impact assessments (DPIA, Art. 35).

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, ID};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::purposes::{self, PurposeRow};
use crate::db::schema::purposes as purpose_table;
use crate::db::schema::{assessment_purposes, assessments, processing_grounds, users};
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::group_pairs;
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// The kind of assessment.
    AssessmentKind {
        /// Legitimate-interest assessment: purpose, necessity and balancing tests.
        Lia => "lia",
        /// Data-protection impact assessment (Art. 35).
        Dpia => "dpia",
    }
}

text_enum! {
    /// The conclusion of an assessment.
    AssessmentOutcome {
        /// Not concluded yet: nothing may rely on it.
        Pending => "pending",
        /// The interest prevails / the residual risk is acceptable.
        Approved => "approved",
        /// Acceptable only with the mitigating measures the summary lists.
        ApprovedWithMeasures => "approved_with_measures",
        /// The interest does not prevail, or the risk is not acceptable: nothing may rely on it.
        Rejected => "rejected",
    }
}

impl AssessmentOutcome {
    /// The outcomes processing may rely on.
    pub const SUPPORTING: [AssessmentOutcome; 2] = [
        AssessmentOutcome::Approved,
        AssessmentOutcome::ApprovedWithMeasures,
    ];

    /// Whether processing may rely on the assessment.
    pub fn supports_processing(self) -> bool {
        Self::SUPPORTING.contains(&self)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assessments, treat_none_as_null = true)]
pub struct AssessmentRow {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub outcome: String,
    pub summary: Option<String>,
    pub assessed_on: NaiveDate,
    pub owner_id: Option<String>,
    pub review_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new assessment, for `createAssessment`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateAssessmentInput {
    /// LIA or DPIA.
    pub kind: AssessmentKind,
    /// What is assessed, e.g. "Newsletter to business contacts".
    pub title: String,
    /// The conclusion; `PENDING` until decided.
    pub outcome: AssessmentOutcome,
    /// The reasoning in brief.
    pub summary: Option<String>,
    /// The date of the assessment (ISO 8601 date).
    pub assessed_on: NaiveDate,
    /// The `User` responsible for it.
    pub owner_id: Option<ID>,
    /// When it is due for review (ISO 8601 date).
    pub review_on: Option<NaiveDate>,
    /// Keys of the purposes the assessment covers.
    pub purposes: Vec<String>,
}

/// Changes to an assessment, for `updateAssessment`: omitted fields keep their value.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateAssessmentInput {
    /// The `Assessment` to change.
    pub id: ID,
    /// What is assessed.
    pub title: Option<String>,
    /// The conclusion.
    pub outcome: Option<AssessmentOutcome>,
    /// The reasoning in brief; null clears it.
    pub summary: MaybeUndefined<String>,
    /// The date of the assessment (ISO 8601 date).
    pub assessed_on: Option<NaiveDate>,
    /// The `User` responsible; null for none.
    pub owner_id: MaybeUndefined<ID>,
    /// When it is due for review (ISO 8601 date); null for no date.
    pub review_on: MaybeUndefined<NaiveDate>,
    /// The keys of the purposes it covers; the list replaces the old one.
    pub purposes: Option<Vec<String>>,
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<AssessmentRow> {
    assessments::table
        .find(id)
        .select(AssessmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Assessment", id))
}

pub fn get_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, AssessmentRow>> {
    let rows = assessments::table
        .filter(assessments::id.eq_any(ids))
        .select(AssessmentRow::as_select())
        .load::<AssessmentRow>(conn)?;
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

pub fn list(conn: &mut AnyConnection, kind: Option<AssessmentKind>) -> Result<Vec<AssessmentRow>> {
    let mut query = assessments::table.into_boxed();
    if let Some(kind) = kind {
        query = query.filter(assessments::kind.eq(kind.as_str()));
    }
    Ok(query
        .order_by((assessments::assessed_on.desc(), assessments::id))
        .select(AssessmentRow::as_select())
        .load(conn)?)
}

/// The newest approved legitimate-interest assessment covering the purpose `purpose_key`.
pub fn newest_approved_lia_for(
    conn: &mut AnyConnection,
    purpose_key: &str,
) -> Result<Option<String>> {
    let supporting = AssessmentOutcome::SUPPORTING.map(AssessmentOutcome::as_str);
    Ok(assessments::table
        .inner_join(assessment_purposes::table.inner_join(purpose_table::table))
        .filter(purpose_table::key.eq(purpose_key))
        .filter(assessments::kind.eq(AssessmentKind::Lia.as_str()))
        .filter(assessments::outcome.eq_any(supporting))
        .order_by((assessments::assessed_on.desc(), assessments::id.desc()))
        .select(assessments::id)
        .first(conn)
        .optional()?)
}

/// The purposes each assessment covers, with their rows.
pub fn purposes_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<PurposeRow>>> {
    let rows: Vec<(String, PurposeRow)> = assessment_purposes::table
        .inner_join(purpose_table::table)
        .filter(assessment_purposes::assessment_id.eq_any(ids))
        .order_by((
            assessment_purposes::assessment_id,
            assessment_purposes::purpose_id,
        ))
        .select((assessment_purposes::assessment_id, PurposeRow::as_select()))
        .load(conn)?;
    Ok(group_pairs(rows))
}

fn check_owner(
    conn: &mut AnyConnection,
    v: &mut Validator,
    owner: Option<&ID>,
) -> Result<Option<String>> {
    let Some(id) = owner else { return Ok(None) };
    let Some(key) = v.check(
        "input.ownerId",
        ids::decode(NodeType::User, id, "input.ownerId"),
    ) else {
        return Ok(None);
    };
    let exists: i64 = users::table
        .filter(users::id.eq(&key))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        v.add("input.ownerId", "no such user");
    }
    Ok(Some(key))
}

fn purpose_ids(
    conn: &mut AnyConnection,
    v: &mut Validator,
    keys: &[String],
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        match purposes::find(conn, key)? {
            Some(p) if !found.contains(&p.id) => found.push(p.id),
            Some(_) => {}
            None => v.add(
                format!("input.purposes[{i}]"),
                format!("no purpose `{}`", key.trim()),
            ),
        }
    }
    Ok(found)
}

fn write_purposes(conn: &mut AnyConnection, id: &str, purpose_ids: &[String]) -> Result<()> {
    diesel::delete(assessment_purposes::table.filter(assessment_purposes::assessment_id.eq(id)))
        .execute(conn)?;
    for purpose in purpose_ids {
        diesel::insert_into(assessment_purposes::table)
            .values((
                assessment_purposes::assessment_id.eq(id),
                assessment_purposes::purpose_id.eq(purpose),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn check_dates(v: &mut Validator, assessed_on: NaiveDate, review_on: Option<NaiveDate>) {
    if review_on.is_some_and(|review| review < assessed_on) {
        v.add(
            "input.reviewOn",
            "a review cannot come before the assessment",
        );
    }
}

pub fn create(conn: &mut AnyConnection, input: CreateAssessmentInput) -> Result<AssessmentRow> {
    let mut v = Validator::new();
    let title = v.required("input.title", &input.title);
    let owner_id = check_owner(conn, &mut v, input.owner_id.as_ref())?;
    let purposes = purpose_ids(conn, &mut v, &input.purposes)?;
    if purposes.is_empty() && input.purposes.is_empty() {
        v.add(
            "input.purposes",
            "name at least one purpose the assessment covers",
        );
    }
    check_dates(&mut v, input.assessed_on, input.review_on);
    v.finish()?;
    let timestamp = now();
    let row = AssessmentRow {
        id: new_id(),
        kind: input.kind.as_str().to_owned(),
        title,
        outcome: input.outcome.as_str().to_owned(),
        summary: non_blank(input.summary),
        assessed_on: input.assessed_on,
        owner_id,
        review_on: input.review_on,
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(assessments::table)
        .values(&row)
        .execute(conn)?;
    write_purposes(conn, &row.id, &purposes)?;
    Ok(row)
}

pub fn update(conn: &mut AnyConnection, input: UpdateAssessmentInput) -> Result<AssessmentRow> {
    let id = ids::decode(NodeType::Assessment, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    let mut v = Validator::new();
    if let Some(title) = &input.title {
        row.title = v.required("input.title", title);
    }
    if let Some(outcome) = input.outcome {
        row.outcome = outcome.as_str().to_owned();
    }
    row.summary = non_blank(apply_change(row.summary, input.summary));
    if let Some(date) = input.assessed_on {
        row.assessed_on = date;
    }
    row.review_on = apply_change(row.review_on, input.review_on);
    row.owner_id = match &input.owner_id {
        MaybeUndefined::Undefined => row.owner_id,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(owner) => check_owner(conn, &mut v, Some(owner))?,
    };
    let purposes = match &input.purposes {
        Some(keys) => {
            let ids = purpose_ids(conn, &mut v, keys)?;
            if ids.is_empty() {
                v.add(
                    "input.purposes",
                    "name at least one purpose the assessment covers",
                );
            }
            Some(ids)
        }
        None => None,
    };
    check_dates(&mut v, row.assessed_on, row.review_on);
    v.finish()?;
    row.updated_at = now();
    diesel::update(assessments::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    if let Some(purposes) = purposes {
        write_purposes(conn, &row.id, &purposes)?;
    }
    Ok(row)
}

/// Deletes an assessment no processing ground cites.
pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let cited: i64 = processing_grounds::table
        .filter(processing_grounds::assessment_id.eq(id))
        .count()
        .get_result(conn)?;
    if cited > 0 {
        return Err(Error::Conflict {
            field: Some("input.id".to_owned()),
            message: format!(
                "{cited} processing grounds cite this assessment; it is their evidence"
            ),
        });
    }
    diesel::delete(assessment_purposes::table.filter(assessment_purposes::assessment_id.eq(id)))
        .execute(conn)?;
    if diesel::delete(assessments::table.find(id)).execute(conn)? == 0 {
        return Err(Error::not_found("Assessment", id));
    }
    Ok(())
}
