//! The record of processing activities (Art. 30(1) GDPR): for each activity its purposes,
//! the controller's and DPO's contact details, whose data and which data, recipients,
//! transfers to third countries with their safeguards, retention and security measures.

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject, ID};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{category_list, from_json, to_json};
use crate::db::schema::{processing_activities, processing_activity_purposes, purposes};
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::Page;
use crate::validation::{apply_change, non_blank};

text_enum! {
    /// What a category of personal data is: special categories (Art. 9) and data on
    /// criminal convictions and offences (Art. 10) need a stricter basis.
    DataCategoryKind {
        /// Ordinary personal data, e.g. names and contact details.
        Ordinary => "ordinary",
        /// A special category (Art. 9): health, beliefs, ethnic origin, sex life, biometric or
        /// genetic data, trade-union membership, political opinions.
        Special => "special",
        /// Data on criminal convictions and offences (Art. 10).
        Judicial => "judicial",
    }
}

text_enum! {
    /// The ground a transfer to a third country rests on (Chapter V GDPR).
    TransferSafeguard {
        /// Art. 45.
        AdequacyDecision => "adequacy_decision",
        /// Art. 46(2)(c).
        StandardContractualClauses => "standard_contractual_clauses",
        /// Art. 47.
        BindingCorporateRules => "binding_corporate_rules",
        /// Art. 46(2)(e).
        CodeOfConduct => "code_of_conduct",
        /// Art. 46(2)(f).
        Certification => "certification",
        /// Art. 46(3)(a), authorised by the supervisory authority.
        AdHocClauses => "ad_hoc_clauses",
        /// Art. 49: name the derogation in `detail`.
        Derogation => "derogation",
    }
}

/// A category of personal data the activity processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PersonalDataCategoryInput")]
pub struct PersonalDataCategory {
    /// The category's name, e.g. "contact details" or "health data".
    pub name: String,
    /// Whether the category is ordinary, special or judicial data.
    pub kind: DataCategoryKind,
}

/// A transfer of personal data to a third country or an international organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(
    name = "ThirdCountryTransfer",
    input_name = "ThirdCountryTransferInput"
)]
pub struct Transfer {
    /// ISO 3166-1 alpha-2 code of a country outside the EEA, or the organisation's name.
    pub country: String,
    /// Who receives the data, e.g. a cloud provider or a correspondent firm.
    pub recipient: String,
    /// The ground the transfer rests on (Chapter V GDPR).
    pub safeguard: TransferSafeguard,
    /// Which clauses, rules or derogation; required for a derogation.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = processing_activities, treat_none_as_null = true)]
pub struct ActivityRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub controller_contact: String,
    pub joint_controller_contact: Option<String>,
    pub representative_contact: Option<String>,
    pub dpo_contact: Option<String>,
    /// JSON array of strings.
    pub data_subject_categories: String,
    /// JSON array of [`PersonalDataCategory`].
    pub personal_data_categories: String,
    /// JSON array of strings.
    pub recipient_categories: String,
    /// JSON array of processor names.
    pub processors: String,
    /// JSON array of [`Transfer`].
    pub transfers: String,
    pub retention: String,
    pub retention_months: Option<i32>,
    pub security_measures: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A purpose an activity serves, from the `purposes` table.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, SimpleObject)]
#[diesel(table_name = purposes)]
#[graphql(name = "ActivityPurpose")]
pub struct PurposeRef {
    /// The purpose's row ID, as `purposeIds` takes it.
    pub id: String,
    /// The purpose's key, e.g. `client_relationship`.
    pub key: String,
    /// The purpose's name as people read it.
    pub name: String,
}

/// A processing activity with its lists decoded and its purposes.
#[derive(Debug, Clone)]
pub struct Activity {
    pub row: ActivityRow,
    pub purposes: Vec<PurposeRef>,
    pub data_subject_categories: Vec<String>,
    pub personal_data_categories: Vec<PersonalDataCategory>,
    pub recipient_categories: Vec<String>,
    pub processors: Vec<String>,
    pub transfers: Vec<Transfer>,
}

impl Activity {
    fn decode(row: ActivityRow, purposes: Vec<PurposeRef>) -> Result<Activity> {
        Ok(Activity {
            data_subject_categories: from_json(&row.data_subject_categories)?,
            personal_data_categories: from_json(&row.personal_data_categories)?,
            recipient_categories: from_json(&row.recipient_categories)?,
            processors: from_json(&row.processors)?,
            transfers: from_json(&row.transfers)?,
            purposes,
            row,
        })
    }

    /// Whether any category is special (Art. 9) data.
    pub fn special_categories(&self) -> bool {
        self.personal_data_categories
            .iter()
            .any(|c| c.kind == DataCategoryKind::Special)
    }

    /// Whether any category is judicial (Art. 10) data.
    pub fn judicial_data(&self) -> bool {
        self.personal_data_categories
            .iter()
            .any(|c| c.kind == DataCategoryKind::Judicial)
    }
}

/// A new activity of the record of processing activities, for `createProcessingActivity`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateProcessingActivityInput {
    /// The activity's name, e.g. "Client relationship management".
    pub name: String,
    /// What the processing consists of.
    pub description: Option<String>,
    /// Purposes from the firm's purposes (their row IDs, e.g. `purpose-matter-handling`).
    pub purpose_ids: Vec<ID>,
    /// Name and contact details of the controller.
    pub controller_contact: String,
    /// Name and contact details of a joint controller (Art. 26), if any.
    pub joint_controller_contact: Option<String>,
    /// The controller's representative in the Union (Art. 27), if any.
    pub representative_contact: Option<String>,
    /// Name and contact details of the data protection officer, if any.
    pub dpo_contact: Option<String>,
    /// The categories of people whose data is processed, e.g. "clients".
    pub data_subject_categories: Vec<String>,
    /// The categories of personal data processed.
    pub personal_data_categories: Vec<PersonalDataCategory>,
    /// The categories of recipients, e.g. "courts".
    #[graphql(default)]
    pub recipient_categories: Vec<String>,
    /// Processors (Art. 28) by name.
    #[graphql(default)]
    pub processors: Vec<String>,
    /// Transfers to third countries or international organisations.
    #[graphql(default)]
    pub transfers: Vec<Transfer>,
    /// The time limits for erasure, in words.
    pub retention: String,
    /// The retention period in months, when it is a fixed one.
    pub retention_months: Option<i32>,
    /// Technical and organisational security measures (Art. 32).
    pub security_measures: String,
}

/// Fields left out stay as they are; `null` clears an optional one; a list replaces the list.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateProcessingActivityInput {
    /// The `ProcessingActivity` to change.
    pub id: ID,
    /// The activity's name.
    pub name: Option<String>,
    /// What the processing consists of; null clears it.
    pub description: MaybeUndefined<String>,
    /// The purposes it serves (`ActivityPurpose.id`); the list replaces the old one.
    pub purpose_ids: Option<Vec<ID>>,
    /// Name and contact details of the controller.
    pub controller_contact: Option<String>,
    /// Name and contact details of a joint controller; null for none.
    pub joint_controller_contact: MaybeUndefined<String>,
    /// Name and contact details of the EU representative; null for none.
    pub representative_contact: MaybeUndefined<String>,
    /// Name and contact details of the DPO; null for none.
    pub dpo_contact: MaybeUndefined<String>,
    /// The categories of people whose data is processed.
    pub data_subject_categories: Option<Vec<String>>,
    /// The categories of personal data processed.
    pub personal_data_categories: Option<Vec<PersonalDataCategory>>,
    /// The categories of recipients.
    pub recipient_categories: Option<Vec<String>>,
    /// Processors (Art. 28) by name.
    pub processors: Option<Vec<String>>,
    /// Transfers to third countries or international organisations.
    pub transfers: Option<Vec<Transfer>>,
    /// The time limits for erasure, in words.
    pub retention: Option<String>,
    /// The same limit in months; null when one number does not state it.
    pub retention_months: MaybeUndefined<i32>,
    /// The technical and organisational security measures (Art. 32), in words.
    pub security_measures: Option<String>,
}

/// Every field of an activity, before validation.
struct Draft {
    name: String,
    description: Option<String>,
    purpose_ids: Vec<String>,
    controller_contact: String,
    joint_controller_contact: Option<String>,
    representative_contact: Option<String>,
    dpo_contact: Option<String>,
    data_subject_categories: Vec<String>,
    personal_data_categories: Vec<PersonalDataCategory>,
    recipient_categories: Vec<String>,
    processors: Vec<String>,
    transfers: Vec<Transfer>,
    retention: String,
    retention_months: Option<i32>,
    security_measures: String,
}

/// EEA members: transfers among them are not third-country transfers.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

const MAX_NAME: usize = 200;

fn validate(v: &mut Validator, mut d: Draft) -> Draft {
    d.name = v.required("input.name", &d.name);
    if d.name.chars().count() > MAX_NAME {
        v.add("input.name", format!("at most {MAX_NAME} characters"));
    }
    d.description = non_blank(d.description);
    d.controller_contact = v.required("input.controllerContact", &d.controller_contact);
    d.joint_controller_contact = non_blank(d.joint_controller_contact);
    d.representative_contact = non_blank(d.representative_contact);
    d.dpo_contact = non_blank(d.dpo_contact);
    if d.purpose_ids.is_empty() {
        v.add("input.purposeIds", "name at least one purpose");
    }
    d.data_subject_categories =
        category_list(v, "input.dataSubjectCategories", d.data_subject_categories);
    if d.data_subject_categories.is_empty() {
        v.add(
            "input.dataSubjectCategories",
            "name at least one category of data subjects",
        );
    }
    if d.personal_data_categories.is_empty() {
        v.add(
            "input.personalDataCategories",
            "name at least one category of personal data",
        );
    }
    for (i, category) in d.personal_data_categories.iter_mut().enumerate() {
        category.name = v.required(
            &format!("input.personalDataCategories[{i}].name"),
            &category.name,
        );
    }
    d.recipient_categories = category_list(v, "input.recipientCategories", d.recipient_categories);
    d.processors = category_list(v, "input.processors", d.processors);
    for (i, transfer) in d.transfers.iter_mut().enumerate() {
        validate_transfer(v, i, transfer);
    }
    d.retention = v.required("input.retention", &d.retention);
    if d.retention_months.is_some_and(|m| m <= 0) {
        v.add(
            "input.retentionMonths",
            "must be a positive number of months",
        );
    }
    d.security_measures = v.required("input.securityMeasures", &d.security_measures);
    d
}

fn validate_transfer(v: &mut Validator, i: usize, t: &mut Transfer) {
    let field = |name: &str| format!("input.transfers[{i}].{name}");
    t.country = v.required(&field("country"), &t.country);
    let code = t.country.to_ascii_uppercase();
    if code.len() == 2 && EEA.contains(&code.as_str()) {
        v.add(
            field("country"),
            format!("{code} is in the EEA: not a transfer to a third country"),
        );
    }
    if code.len() == 2 {
        t.country = code;
    }
    t.recipient = v.required(&field("recipient"), &t.recipient);
    t.detail = non_blank(t.detail.take());
    if t.safeguard == TransferSafeguard::Derogation && t.detail.is_none() {
        v.add(
            field("detail"),
            "name the Art. 49 derogation the transfer relies on",
        );
    }
}

/// Purpose row IDs, each checked to exist; a missing one is the caller's bad input.
fn check_purposes(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    let found: Vec<String> = purposes::table
        .filter(purposes::id.eq_any(ids))
        .select(purposes::id)
        .load(conn)?;
    match ids.iter().position(|id| !found.contains(id)) {
        Some(i) => Err(Error::invalid(
            format!("input.purposeIds[{i}]"),
            format!("no purpose has the ID `{}`", ids[i]),
        )),
        None => Ok(()),
    }
}

fn purpose_keys(ids: &[ID]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let key = id.trim().to_owned();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

fn row_of(id: String, d: &Draft, created_at: NaiveDateTime) -> Result<ActivityRow> {
    Ok(ActivityRow {
        id,
        name: d.name.clone(),
        description: d.description.clone(),
        controller_contact: d.controller_contact.clone(),
        joint_controller_contact: d.joint_controller_contact.clone(),
        representative_contact: d.representative_contact.clone(),
        dpo_contact: d.dpo_contact.clone(),
        data_subject_categories: to_json(&d.data_subject_categories)?,
        personal_data_categories: to_json(&d.personal_data_categories)?,
        recipient_categories: to_json(&d.recipient_categories)?,
        processors: to_json(&d.processors)?,
        transfers: to_json(&d.transfers)?,
        retention: d.retention.clone(),
        retention_months: d.retention_months,
        security_measures: d.security_measures.clone(),
        created_at,
        updated_at: now(),
    })
}

fn set_purposes(conn: &mut AnyConnection, activity_id: &str, ids: &[String]) -> Result<()> {
    diesel::delete(
        processing_activity_purposes::table
            .filter(processing_activity_purposes::activity_id.eq(activity_id)),
    )
    .execute(conn)?;
    // A handful of purposes: one insert each (no multi-row insert on both backends).
    for purpose_id in ids {
        diesel::insert_into(processing_activity_purposes::table)
            .values((
                processing_activity_purposes::activity_id.eq(activity_id),
                processing_activity_purposes::purpose_id.eq(purpose_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn create(conn: &mut AnyConnection, input: CreateProcessingActivityInput) -> Result<Activity> {
    let mut v = Validator::new();
    let draft = validate(
        &mut v,
        Draft {
            name: input.name,
            description: input.description,
            purpose_ids: purpose_keys(&input.purpose_ids),
            controller_contact: input.controller_contact,
            joint_controller_contact: input.joint_controller_contact,
            representative_contact: input.representative_contact,
            dpo_contact: input.dpo_contact,
            data_subject_categories: input.data_subject_categories,
            personal_data_categories: input.personal_data_categories,
            recipient_categories: input.recipient_categories,
            processors: input.processors,
            transfers: input.transfers,
            retention: input.retention,
            retention_months: input.retention_months,
            security_measures: input.security_measures,
        },
    );
    v.finish()?;
    check_purposes(conn, &draft.purpose_ids)?;
    let row = row_of(new_id(), &draft, now())?;
    diesel::insert_into(processing_activities::table)
        .values(&row)
        .execute(conn)?;
    set_purposes(conn, &row.id, &draft.purpose_ids)?;
    get(conn, &row.id)
}

pub fn update(conn: &mut AnyConnection, input: UpdateProcessingActivityInput) -> Result<Activity> {
    let id = ids::decode(NodeType::ProcessingActivity, &input.id, "input.id")?;
    let current = get(conn, &id)?;
    let row = current.row;
    let mut v = Validator::new();
    let draft = validate(
        &mut v,
        Draft {
            name: input.name.unwrap_or(row.name),
            description: apply_change(row.description, input.description),
            purpose_ids: match &input.purpose_ids {
                Some(ids) => purpose_keys(ids),
                None => current.purposes.into_iter().map(|p| p.id).collect(),
            },
            controller_contact: input.controller_contact.unwrap_or(row.controller_contact),
            joint_controller_contact: apply_change(
                row.joint_controller_contact,
                input.joint_controller_contact,
            ),
            representative_contact: apply_change(
                row.representative_contact,
                input.representative_contact,
            ),
            dpo_contact: apply_change(row.dpo_contact, input.dpo_contact),
            data_subject_categories: input
                .data_subject_categories
                .unwrap_or(current.data_subject_categories),
            personal_data_categories: input
                .personal_data_categories
                .unwrap_or(current.personal_data_categories),
            recipient_categories: input
                .recipient_categories
                .unwrap_or(current.recipient_categories),
            processors: input.processors.unwrap_or(current.processors),
            transfers: input.transfers.unwrap_or(current.transfers),
            retention: input.retention.unwrap_or(row.retention),
            retention_months: apply_change(row.retention_months, input.retention_months),
            security_measures: input.security_measures.unwrap_or(row.security_measures),
        },
    );
    v.finish()?;
    check_purposes(conn, &draft.purpose_ids)?;
    let updated = row_of(id.clone(), &draft, row.created_at)?;
    diesel::update(processing_activities::table.find(&id))
        .set(&updated)
        .execute(conn)?;
    set_purposes(conn, &id, &draft.purpose_ids)?;
    get(conn, &id)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let deleted = diesel::delete(processing_activities::table.find(id)).execute(conn)?;
    if deleted == 0 {
        return Err(Error::not_found("ProcessingActivity", id));
    }
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Activity> {
    let row = processing_activities::table
        .find(id)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ProcessingActivity", id))?;
    with_purposes(conn, vec![row])?
        .pop()
        .ok_or_else(|| Error::not_found("ProcessingActivity", id))
}

/// The activities with these IDs that exist, by ID.
pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, Activity>> {
    let rows = processing_activities::table
        .filter(processing_activities::id.eq_any(ids))
        .select(ActivityRow::as_select())
        .load(conn)?;
    Ok(with_purposes(conn, rows)?
        .into_iter()
        .map(|a| (a.row.id.clone(), a))
        .collect())
}

pub fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(processing_activities::table.count().get_result(conn)?)
}

/// A page of activities by name.
pub fn list(conn: &mut AnyConnection, page: Page) -> Result<Vec<Activity>> {
    let rows = processing_activities::table
        .order_by((processing_activities::name, processing_activities::id))
        .offset(page.offset)
        .limit(page.limit)
        .select(ActivityRow::as_select())
        .load(conn)?;
    with_purposes(conn, rows)
}

/// Every activity by name: what the export writes.
pub fn all(conn: &mut AnyConnection) -> Result<Vec<Activity>> {
    let rows = processing_activities::table
        .order_by((processing_activities::name, processing_activities::id))
        .select(ActivityRow::as_select())
        .load(conn)?;
    with_purposes(conn, rows)
}

/// Decodes rows and attaches their purposes, with one query for all of them.
fn with_purposes(conn: &mut AnyConnection, rows: Vec<ActivityRow>) -> Result<Vec<Activity>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let links: Vec<(String, PurposeRef)> = processing_activity_purposes::table
        .inner_join(purposes::table)
        .filter(processing_activity_purposes::activity_id.eq_any(ids))
        .order_by(purposes::key)
        .select((
            processing_activity_purposes::activity_id,
            PurposeRef::as_select(),
        ))
        .load(conn)?;
    let mut by_activity: HashMap<String, Vec<PurposeRef>> = HashMap::new();
    for (activity, purpose) in links {
        by_activity.entry(activity).or_default().push(purpose);
    }
    rows.into_iter()
        .map(|row| {
            let purposes = by_activity.remove(&row.id).unwrap_or_default();
            Activity::decode(row, purposes)
        })
        .collect()
}
