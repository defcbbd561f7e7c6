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
use crate::graphql::authorization::access;
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, read, state, write, write_about};
use crate::graphql::loaders::ContactById;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::{decode_id, rows, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};

/// One activity of the record of processing activities (Art. 30 GDPR).
pub struct ProcessingActivity(pub Activity);

impl From<Activity> for ProcessingActivity {
    fn from(activity: Activity) -> Self {
        ProcessingActivity(activity)
    }
}

#[Object]
impl ProcessingActivity {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::ProcessingActivity, &self.0.row.id)
    }

    async fn name(&self) -> &str {
        &self.0.row.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.row.description.as_deref()
    }

    async fn purposes(&self) -> &[PurposeRef] {
        &self.0.purposes
    }

    /// Name and contact details of the controller.
    async fn controller_contact(&self) -> &str {
        &self.0.row.controller_contact
    }

    async fn joint_controller_contact(&self) -> Option<&str> {
        self.0.row.joint_controller_contact.as_deref()
    }

    async fn representative_contact(&self) -> Option<&str> {
        self.0.row.representative_contact.as_deref()
    }

    async fn dpo_contact(&self) -> Option<&str> {
        self.0.row.dpo_contact.as_deref()
    }

    async fn data_subject_categories(&self) -> &[String] {
        &self.0.data_subject_categories
    }

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

    async fn recipient_categories(&self) -> &[String] {
        &self.0.recipient_categories
    }

    /// Processors (Art. 28) by name.
    async fn processors(&self) -> &[String] {
        &self.0.processors
    }

    async fn transfers(&self) -> &[Transfer] {
        &self.0.transfers
    }

    async fn retention(&self) -> &str {
        &self.0.row.retention
    }

    async fn retention_months(&self) -> Option<i32> {
        self.0.row.retention_months
    }

    async fn security_measures(&self) -> &str {
        &self.0.row.security_measures
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at.and_utc()
    }

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

#[Object]
impl Breach {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Breach, &self.0.id)
    }

    /// When the firm became aware of it: the 72-hour clock starts here.
    async fn detected_at(&self) -> DateTime<Utc> {
        self.0.detected_at.and_utc()
    }

    async fn natures(&self) -> async_graphql::Result<Vec<BreachNature>> {
        self.0.natures().gql()
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn subject_categories(&self) -> async_graphql::Result<Vec<String>> {
        self.0.subject_categories().gql()
    }

    async fn approximate_subjects(&self) -> Option<i64> {
        self.0.approximate_subjects
    }

    async fn record_categories(&self) -> async_graphql::Result<Vec<String>> {
        self.0.record_categories().gql()
    }

    async fn approximate_records(&self) -> Option<i64> {
        self.0.approximate_records
    }

    async fn likely_consequences(&self) -> Option<&str> {
        self.0.likely_consequences.as_deref()
    }

    /// Measures taken or proposed.
    async fn measures(&self) -> Option<&str> {
        self.0.measures.as_deref()
    }

    async fn authority_notification_required(&self) -> bool {
        self.0.authority_notification_required
    }

    async fn no_notification_reason(&self) -> Option<&str> {
        self.0.no_notification_reason.as_deref()
    }

    async fn authority_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.authority_notified_at.map(|t| t.and_utc())
    }

    async fn subjects_notification_required(&self) -> bool {
        self.0.subjects_notification_required
    }

    async fn subjects_notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.subjects_notified_at.map(|t| t.and_utc())
    }

    async fn dpo_notes(&self) -> Option<&str> {
        self.0.dpo_notes.as_deref()
    }

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

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// A data subject a breach touched, with the fields the access log shows were touched.
pub struct BreachSubject(BreachSubjectRow);

#[Object]
impl BreachSubject {
    /// The contact's ID (kept after an erasure).
    async fn contact_id(&self, ctx: &Context<'_>) -> ID {
        access(ctx).trail.read_subject(&self.0.contact_id);
        ids::encode(NodeType::Contact, &self.0.contact_id)
    }

    /// The contact, while it exists.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let contact = loader(ctx)
            .load_one(ContactById(self.0.contact_id.clone()))
            .await?
            .map(Contact);
        rows::reference(ctx, contact).await
    }

    /// `Type.field` names touched.
    async fn fields(&self) -> async_graphql::Result<Vec<String>> {
        serde_json::from_str(&self.0.fields).map_err(|_| {
            crate::error::Error::Internal("unreadable breach subject fields".to_owned()).into()
        })
    }
}

#[derive(SimpleObject)]
pub struct ProcessingActivityPayload {
    pub processing_activity: ProcessingActivity,
}

#[derive(SimpleObject)]
pub struct BreachPayload {
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
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
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

    async fn processing_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
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
        format: RegisterFormat,
    ) -> async_graphql::Result<Option<String>> {
        let disabled = state(ctx).contact_rules.disabled_fields.clone();
        read(ctx, move |c| export::export(c, format, &disabled))
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
        filter: Option<BreachFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
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

    async fn breach(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Breach>> {
        let key = decode_id(NodeType::Breach, &id)?;
        let found = read(ctx, move |c| breaches::get_many(c, &[key])).await?;
        Ok(found.into_values().next().map(Breach))
    }
}

#[derive(Default)]
pub struct RegisterMutations;

#[Object]
impl RegisterMutations {
    async fn create_processing_activity(
        &self,
        ctx: &Context<'_>,
        input: CreateProcessingActivityInput,
    ) -> async_graphql::Result<Option<ProcessingActivityPayload>> {
        let activity = write(ctx, move |c| activities::create(c, input)).await?;
        Ok(Some(ProcessingActivityPayload {
            processing_activity: ProcessingActivity(activity),
        }))
    }

    async fn update_processing_activity(
        &self,
        ctx: &Context<'_>,
        input: UpdateProcessingActivityInput,
    ) -> async_graphql::Result<Option<ProcessingActivityPayload>> {
        let activity = write(ctx, move |c| activities::update(c, input)).await?;
        Ok(Some(ProcessingActivityPayload {
            processing_activity: ProcessingActivity(activity),
        }))
    }

    async fn delete_processing_activity(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = input.key(NodeType::ProcessingActivity)?;
        write(ctx, move |c| activities::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    async fn record_breach(
        &self,
        ctx: &Context<'_>,
        input: RecordBreachInput,
    ) -> async_graphql::Result<Option<BreachPayload>> {
        let row = write(ctx, move |c| breaches::record(c, input)).await?;
        Ok(Some(BreachPayload {
            breach: Breach(row),
        }))
    }

    async fn update_breach(
        &self,
        ctx: &Context<'_>,
        input: UpdateBreachInput,
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
