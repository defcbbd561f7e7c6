//! The DPO's registers in the GraphQL API: the record of processing activities (with its
//! export) and the breach register.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::db::now;
use crate::error::GraphqlResult;
use crate::gdpr::registers::activities::{
    self, Activity, CreateProcessingActivityInput, PersonalDataCategory, PurposeRef, Transfer,
    UpdateProcessingActivityInput,
};
use crate::gdpr::registers::breaches::{
    self, BreachFilter, BreachNature, BreachRow, BreachSubjectRow, FillBreachSubjectsInput,
    RecordBreachInput, UpdateBreachInput,
};
use crate::gdpr::registers::export::{self, RegisterFormat};
use crate::graphql::contacts::Contact;
use crate::graphql::context::{read, state, write, write_about};
use crate::graphql::field_guard::access;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::{decode_id, visibility, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};

/// One activity of the record of processing activities (Art. 30 GDPR).
pub struct ProcessingActivity(pub Activity);

impl From<Activity> for ProcessingActivity {
    fn from(activity: Activity) -> Self {
        ProcessingActivity(activity)
    }
}

/// One activity of the record of processing activities (Art. 30 GDPR). The DPO keeps the record;
/// admins may read it.
#[Object]
impl ProcessingActivity {
    /// The activity's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::ProcessingActivity, &self.0.row.id)
    }

    /// The activity's name, e.g. "Client relationship management".
    async fn name(&self) -> &str {
        &self.0.row.name
    }

    /// What the processing consists of; null when not given.
    async fn description(&self) -> Option<&str> {
        self.0.row.description.as_deref()
    }

    /// The purposes the activity serves.
    async fn purposes(&self) -> &[PurposeRef] {
        &self.0.purposes
    }

    /// Name and contact details of the controller.
    async fn controller_contact(&self) -> &str {
        &self.0.row.controller_contact
    }

    /// Name and contact details of a joint controller (Art. 26); null when none.
    async fn joint_controller_contact(&self) -> Option<&str> {
        self.0.row.joint_controller_contact.as_deref()
    }

    /// Name and contact details of the controller's EU representative (Art. 27); null when none.
    async fn representative_contact(&self) -> Option<&str> {
        self.0.row.representative_contact.as_deref()
    }

    /// Name and contact details of the data protection officer; null when none.
    async fn dpo_contact(&self) -> Option<&str> {
        self.0.row.dpo_contact.as_deref()
    }

    /// The categories of people whose data is processed, e.g. "clients", "counterparties".
    async fn data_subject_categories(&self) -> &[String] {
        &self.0.data_subject_categories
    }

    /// The categories of personal data processed, each marked ordinary, special (Art. 9) or
    /// judicial (Art. 10).
    async fn personal_data_categories(&self) -> &[PersonalDataCategory] {
        &self.0.personal_data_categories
    }

    /// Whether special categories of data (Art. 9) are processed.
    async fn special_categories(&self) -> bool {
        self.0.special_categories()
    }

    /// Whether data on criminal convictions and offences (Art. 10) is processed.
    async fn judicial_data(&self) -> bool {
        self.0.judicial_data()
    }

    /// The categories of recipients the data is disclosed to, e.g. "courts", "accountants".
    async fn recipient_categories(&self) -> &[String] {
        &self.0.recipient_categories
    }

    /// Processors (Art. 28) by name.
    async fn processors(&self) -> &[String] {
        &self.0.processors
    }

    /// Transfers to third countries or international organisations, with their safeguards.
    async fn transfers(&self) -> &[Transfer] {
        &self.0.transfers
    }

    /// The time limits for erasure, in words (Art. 30(1)(f)).
    async fn retention(&self) -> &str {
        &self.0.row.retention
    }

    /// The same limit in months, where one number states it; null otherwise.
    async fn retention_months(&self) -> Option<i32> {
        self.0.row.retention_months
    }

    /// The technical and organisational security measures (Art. 32), in words.
    async fn security_measures(&self) -> &str {
        &self.0.row.security_measures
    }

    /// When the activity was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at.and_utc()
    }

    /// When the activity last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.row.updated_at.and_utc()
    }
}

/// A personal data breach (Art. 33, 34 GDPR).
pub struct Breach(pub BreachRow);

impl From<BreachRow> for Breach {
    fn from(row: BreachRow) -> Self {
        Breach(row)
    }
}

/// A personal data breach in the breach register (Art. 33, 34 GDPR), with the 72-hour notification
/// clock. The DPO only.
#[Object]
impl Breach {
    /// The breach's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Breach, &self.0.id)
    }

    /// When the firm became aware of it: the 72-hour clock starts here.
    async fn detected_at(&self) -> DateTime<Utc> {
        self.0.detected_at.and_utc()
    }

    /// Which security properties the breach broke.
    async fn natures(&self) -> async_graphql::Result<Vec<BreachNature>> {
        self.0.natures().gql()
    }

    /// What happened. May name people.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The categories of people concerned, e.g. "clients".
    async fn subject_categories(&self) -> async_graphql::Result<Vec<String>> {
        self.0.subject_categories().gql()
    }

    /// Roughly how many people are concerned; null when unknown.
    async fn approximate_subjects(&self) -> Option<i64> {
        self.0.approximate_subjects
    }

    /// The categories of personal data records concerned.
    async fn record_categories(&self) -> async_graphql::Result<Vec<String>> {
        self.0.record_categories().gql()
    }

    /// Roughly how many records are concerned; null when unknown.
    async fn approximate_records(&self) -> Option<i64> {
        self.0.approximate_records
    }

    /// The likely consequences for the people concerned; null when not assessed yet. May name
    /// people.
    async fn likely_consequences(&self) -> Option<&str> {
        self.0.likely_consequences.as_deref()
    }

    /// Measures taken or proposed.
    async fn measures(&self) -> Option<&str> {
        self.0.measures.as_deref()
    }

    /// Whether the supervisory authority (the Garante) must be notified (Art. 33).
    async fn authority_notification_required(&self) -> bool {
        self.0.authority_notification_required
    }

    /// Why the authority need not be notified (unlikely to result in a risk); null when it must be.
    async fn no_notification_reason(&self) -> Option<&str> {
        self.0.no_notification_reason.as_deref()
    }

    /// When the authority was notified (UTC, ISO 8601); null until then.
    async fn authority_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.authority_notified_at.map(|t| t.and_utc())
    }

    /// Whether the people concerned must be told (Art. 34: a high risk to their rights and
    /// freedoms).
    async fn subjects_notification_required(&self) -> bool {
        self.0.subjects_notification_required
    }

    /// When the people concerned were told (UTC, ISO 8601); null until then.
    async fn subjects_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.subjects_notified_at.map(|t| t.and_utc())
    }

    /// The DPO's working notes; null when none. May name people.
    async fn dpo_notes(&self) -> Option<&str> {
        self.0.dpo_notes.as_deref()
    }

    /// When the breach was dealt with (UTC, ISO 8601); null while open.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at.map(|t| t.and_utc())
    }

    /// `detectedAt` plus 72 hours (Art. 33(1)).
    async fn notification_due_at(&self) -> DateTime<Utc> {
        self.0.notification_due_at().and_utc()
    }

    /// The authority must be notified, has not been, and the 72 hours are over.
    async fn overdue(&self) -> bool {
        self.0.overdue(now())
    }

    /// Hours left to notify the authority (negative once overdue); null when nothing is pending.
    async fn hours_remaining(&self) -> Option<f64> {
        self.0.hours_remaining(now())
    }

    /// The data subjects filled in from the access log (`fillBreachSubjects`).
    async fn subjects(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BreachSubject>> {
        let id = self.0.id.clone();
        let rows = read(ctx, move |c| breaches::subjects_of(c, &id)).await?;
        Ok(rows.into_iter().map(BreachSubject).collect())
    }

    /// When the breach was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the breach record last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// A data subject a breach touched, with the fields the access log shows were touched.
pub struct BreachSubject(BreachSubjectRow);

/// A data subject a breach touched, with the fields the access log shows were touched.
#[Object]
impl BreachSubject {
    /// The contact's ID (kept after an erasure).
    async fn contact_id(&self, ctx: &Context<'_>) -> ID {
        access(ctx).trail.read_subject(&self.0.contact_id);
        ids::encode(NodeType::Contact, &self.0.contact_id)
    }

    /// The contact, while it exists.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        visibility::referenced_contact(ctx, &self.0.contact_id).await
    }

    /// `Type.field` names touched.
    async fn fields(&self) -> async_graphql::Result<Vec<String>> {
        serde_json::from_str(&self.0.fields).map_err(|_| {
            crate::error::Error::Internal("unreadable breach subject fields".to_owned()).into()
        })
    }
}

/// The answer to `createProcessingActivity` and `updateProcessingActivity`.
#[derive(SimpleObject)]
pub struct ProcessingActivityPayload {
    /// The activity as saved.
    pub processing_activity: ProcessingActivity,
}

/// The answer to the breach mutations.
#[derive(SimpleObject)]
pub struct BreachPayload {
    /// The breach as saved.
    pub breach: Breach,
}

#[derive(Default)]
pub struct RegisterQueries;

#[Object]
impl RegisterQueries {
    /// The record of processing activities, by name.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn processing_activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return the items after this cursor (an `endCursor` or edge cursor of this list)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Return the items before this cursor (a `startCursor` or edge cursor of this list)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Return the first N items (after `after`, if given), N at most `max_page_size` (1000 unless configured). Without `first` and `last`, a page holds `default_page_size` items (50 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the last N items (before `before`, if given), N at most `max_page_size` (1000 unless configured)."
        )]
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<ProcessingActivity>>> {
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            activities::count,
            activities::list,
        )
        .await
        .map(Some)
    }

    /// One processing activity by ID. The DPO and admins.
    async fn processing_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `ProcessingActivity` ID.")] id: ID,
    ) -> async_graphql::Result<Option<ProcessingActivity>> {
        let key = decode_id(NodeType::ProcessingActivity, &id)?;
        let found = read(ctx, move |c| activities::get_many(c, &[key])).await?;
        Ok(found.into_values().next().map(ProcessingActivity))
    }

    /// The whole record as one document, saying which optional personal fields data
    /// minimisation switched off.
    async fn processing_register_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document's format.")] format: RegisterFormat,
    ) -> async_graphql::Result<Option<String>> {
        let disabled = state(ctx).contact_rules.disabled_fields.clone();
        let fields = crate::contacts::OptionalContactField::statuses(&disabled);
        read(ctx, move |c| export::export(c, format, fields))
            .await
            .map(Some)
    }

    /// The breach register, most recently detected first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn breaches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only breaches matching this filter; all when omitted.")] filter: Option<
            BreachFilter,
        >,
        #[graphql(
            desc = "Return the items after this cursor (an `endCursor` or edge cursor of this list)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Return the items before this cursor (a `startCursor` or edge cursor of this list)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Return the first N items (after `after`, if given), N at most `max_page_size` (1000 unless configured). Without `first` and `last`, a page holds `default_page_size` items (50 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the last N items (before `before`, if given), N at most `max_page_size` (1000 unless configured)."
        )]
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<Breach>>> {
        let filter = filter.unwrap_or_default();
        let at = now();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| breaches::count(c, filter, at),
            move |c, page| breaches::list(c, filter, at, page),
        )
        .await
        .map(Some)
    }

    /// One breach by ID. The DPO only.
    async fn breach(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Breach` ID.")] id: ID,
    ) -> async_graphql::Result<Option<Breach>> {
        let key = decode_id(NodeType::Breach, &id)?;
        let found = read(ctx, move |c| breaches::get_many(c, &[key])).await?;
        Ok(found.into_values().next().map(Breach))
    }
}

#[derive(Default)]
pub struct RegisterMutations;

#[Object]
impl RegisterMutations {
    /// Adds an activity to the record of processing activities. The DPO only.
    async fn create_processing_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new activity.")] input: CreateProcessingActivityInput,
    ) -> async_graphql::Result<Option<ProcessingActivityPayload>> {
        let activity = write(ctx, move |c| activities::create(c, input)).await?;
        Ok(Some(ProcessingActivityPayload {
            processing_activity: ProcessingActivity(activity),
        }))
    }

    /// Changes a processing activity; fields left out keep their value. The DPO only.
    async fn update_processing_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's ID and the fields to change.")]
        input: UpdateProcessingActivityInput,
    ) -> async_graphql::Result<Option<ProcessingActivityPayload>> {
        let activity = write(ctx, move |c| activities::update(c, input)).await?;
        Ok(Some(ProcessingActivityPayload {
            processing_activity: ProcessingActivity(activity),
        }))
    }

    /// Removes an activity from the record. The DPO only.
    async fn delete_processing_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `ProcessingActivity` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::ProcessingActivity)?;
        write(ctx, move |c| activities::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Records a breach in the register; the 72-hour clock runs from its `detectedAt`. The DPO
    /// only.
    async fn record_breach(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The breach as known so far.")] input: RecordBreachInput,
    ) -> async_graphql::Result<Option<BreachPayload>> {
        let row = write(ctx, move |c| breaches::record(c, input)).await?;
        Ok(Some(BreachPayload {
            breach: Breach(row),
        }))
    }

    /// Changes a breach: notifications made, measures, closure. Fields left out keep their value.
    /// The DPO only.
    async fn update_breach(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The breach's ID and the fields to change.")] input: UpdateBreachInput,
    ) -> async_graphql::Result<Option<BreachPayload>> {
        let row = write(ctx, move |c| breaches::update(c, input)).await?;
        Ok(Some(BreachPayload {
            breach: Breach(row),
        }))
    }

    /// Replaces the breach's data subjects with those the access log shows a principal
    /// and/or a time window touched, and updates its approximate counts.
    async fn fill_breach_subjects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The breach and the principal and/or time window to look up.")]
        input: FillBreachSubjectsInput,
    ) -> async_graphql::Result<Option<BreachPayload>> {
        let (row, _) = write_about(
            ctx,
            move |c| breaches::fill_subjects(c, input),
            |(_, subjects)| subjects.iter().map(|s| s.contact_id.clone()).collect(),
        )
        .await?;
        Ok(Some(BreachPayload {
            breach: Breach(row),
        }))
    }
}
