//! GDPR records in the GraphQL API: purposes, acquisition sources, processing grounds and
//! consents, objections, the suppression list, the assessments register and campaign audiences.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::GraphqlResult;
use crate::gdpr::assessments::{
    self, AssessmentKind, AssessmentOutcome, AssessmentRow, CreateAssessmentInput,
    UpdateAssessmentInput,
};
use crate::gdpr::audience::{self, AudienceBasis, Recipient};
use crate::gdpr::grounds::{
    self, ConsentMethod, ConsentRow, EndProcessingGroundInput, GroundRow, LegalBasis,
    RecordProcessingGroundInput, WithdrawConsentInput,
};
use crate::gdpr::objections::{self, ObjectionRow, RecordObjectionInput};
use crate::gdpr::provenance::{self, ContactSourceInput, ContactSourceRow, SourceKind};
use crate::gdpr::purposes::{self, CreatePurposeInput, PurposeRow, UpdatePurposeInput};
use crate::gdpr::suppression::{
    self, SuppressAddressInput, SuppressionChannel, SuppressionReason, SuppressionRow,
};
use crate::gdpr::Actor;
use crate::graphql::authorization::access;
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, read, state, write};
use crate::graphql::directory::User;
use crate::graphql::loaders::*;
use crate::graphql::pagination::{paginate_db, paginate_loaded, PageArgs, Paged};
use crate::graphql::{decode_id, rows, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};

/// Who is recording: kept with every GDPR record as evidence.
pub fn actor(ctx: &Context<'_>) -> Actor {
    access(ctx)
        .principal
        .as_ref()
        .map_or_else(|| Actor::system("anonymous"), Actor::of)
}

fn utc(at: chrono::NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

async fn purpose_by_id(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<Purpose>> {
    Ok(loader(ctx)
        .load_one(PurposeById(id.to_owned()))
        .await?
        .map(Purpose))
}

async fn user_by_id(ctx: &Context<'_>, id: Option<&str>) -> async_graphql::Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(loader(ctx)
        .load_one(UserById(id.to_owned()))
        .await?
        .map(User))
}

/// A purpose the firm processes personal data for.
pub struct Purpose(pub PurposeRow);

#[Object]
impl Purpose {
    /// Stable identifier used in inputs, e.g. `newsletter`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Direct marketing: only consent or legitimate interest may be its basis.
    async fn marketing(&self) -> bool {
        self.0.marketing
    }

    /// Profiling: the profiling retention clock applies (12 months by default).
    async fn profiling(&self) -> bool {
        self.0.profiling
    }

    async fn built_in(&self) -> bool {
        self.0.built_in
    }
}

/// How and when the firm obtained a contact's data.
pub struct ContactSource(pub ContactSourceRow);

#[Object]
impl ContactSource {
    async fn kind(&self) -> async_graphql::Result<SourceKind> {
        SourceKind::from_db(&self.0.kind).gql()
    }

    async fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The connector instance, for imports.
    async fn connector(&self) -> Option<&str> {
        self.0.connector.as_deref()
    }

    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    async fn acquired_at(&self) -> DateTime<Utc> {
        utc(self.0.acquired_at)
    }

    /// The firm's user who acquired the contact.
    async fn acquired_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_by_id(ctx, self.0.acquired_by.as_deref()).await
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        utc(self.0.recorded_at)
    }

    /// The principal that recorded it: `user:ID`, `api_key:ID`, `system:seed`, ...
    async fn recorded_by(&self) -> Option<&str> {
        self.0.recorded_by.as_deref()
    }
}

/// The legal basis on which a contact's data is processed for a purpose.
pub struct ProcessingGround(pub GroundRow);

#[Object]
impl ProcessingGround {
    async fn id(&self) -> ID {
        ids::encode(NodeType::ProcessingGround, &self.0.id)
    }

    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        purpose_by_id(ctx, &self.0.purpose_id).await
    }

    async fn legal_basis(&self) -> async_graphql::Result<LegalBasis> {
        LegalBasis::from_db(&self.0.legal_basis).gql()
    }

    /// The consent a consent basis rests on.
    async fn consent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Consent>> {
        let Some(id) = &self.0.consent_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(ConsentById(id.clone()))
            .await?
            .map(Consent))
    }

    /// The legitimate-interest assessment a legitimate-interest basis cites.
    async fn assessment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Assessment>> {
        let Some(id) = &self.0.assessment_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(AssessmentById(id.clone()))
            .await?
            .map(Assessment))
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// When the basis arose (the consent's date, or a date given with its evidence); the
    /// retention clock starts here.
    async fn started_at(&self) -> DateTime<Utc> {
        utc(self.0.started_at)
    }

    /// What shows the date the basis arose, when it was given rather than the recording date.
    async fn basis_evidence(&self) -> Option<&str> {
        self.0.basis_evidence.as_deref()
    }

    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at.map(utc)
    }

    async fn end_reason(&self) -> Option<&str> {
        self.0.end_reason.as_deref()
    }

    /// Not ended: processing may rely on it.
    async fn active(&self) -> bool {
        self.0.ended_at.is_none()
    }

    async fn recorded_by(&self) -> Option<&str> {
        self.0.recorded_by.as_deref()
    }
}

/// Consent evidence (Art. 7(1)); withdrawal fills in when and how, once.
pub struct Consent(pub ConsentRow);

#[Object]
impl Consent {
    async fn id(&self) -> ID {
        ids::encode(NodeType::Consent, &self.0.id)
    }

    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        purpose_by_id(ctx, &self.0.purpose_id).await
    }

    async fn given_at(&self) -> DateTime<Utc> {
        utc(self.0.given_at)
    }

    async fn method(&self) -> async_graphql::Result<ConsentMethod> {
        ConsentMethod::from_db(&self.0.method).gql()
    }

    async fn notice_version(&self) -> &str {
        &self.0.notice_version
    }

    async fn collected_by(&self) -> &str {
        &self.0.collected_by
    }

    async fn proof_reference(&self) -> Option<&str> {
        self.0.proof_reference.as_deref()
    }

    async fn double_opt_in_at(&self) -> Option<DateTime<Utc>> {
        self.0.double_opt_in_at.map(utc)
    }

    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.0.withdrawn_at.map(utc)
    }

    async fn withdrawal_method(&self) -> Option<&str> {
        self.0.withdrawal_method.as_deref()
    }

    async fn active(&self) -> bool {
        self.0.withdrawn_at.is_none()
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        utc(self.0.recorded_at)
    }

    async fn recorded_by(&self) -> Option<&str> {
        self.0.recorded_by.as_deref()
    }

    /// When lexgate mailed the person a confirmation link (double opt-in).
    async fn double_opt_in_requested_at(&self) -> Option<DateTime<Utc>> {
        self.0.double_opt_in_requested_at.map(utc)
    }

    /// Waiting for the person's confirmation: until then it counts for no audience.
    async fn double_opt_in_pending(&self) -> bool {
        self.0.double_opt_in_requested_at.is_some() && self.0.double_opt_in_at.is_none()
    }

    /// The address the confirmation came from (evidence).
    async fn double_opt_in_client_address(&self) -> Option<&str> {
        self.0.double_opt_in_client_address.as_deref()
    }

    /// The browser that confirmed (evidence).
    async fn double_opt_in_user_agent(&self) -> Option<&str> {
        self.0.double_opt_in_user_agent.as_deref()
    }

    /// A re-consent: its confirmation lifts the suppression for its purpose.
    async fn lifts_suppression(&self) -> bool {
        self.0.lifts_suppression
    }
}

/// An objection to processing (Art. 21).
pub struct Objection(pub ObjectionRow);

#[Object]
impl Objection {
    async fn id(&self) -> ID {
        ids::encode(NodeType::Objection, &self.0.id)
    }

    /// The purpose objected to; null: all direct marketing.
    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        match &self.0.purpose_id {
            Some(id) => purpose_by_id(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn received_at(&self) -> DateTime<Utc> {
        utc(self.0.received_at)
    }

    async fn method(&self) -> &str {
        &self.0.method
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn recorded_by(&self) -> Option<&str> {
        self.0.recorded_by.as_deref()
    }
}

/// A legitimate-interest assessment or a data-protection impact assessment.
pub struct Assessment(pub AssessmentRow);

impl From<AssessmentRow> for Assessment {
    fn from(row: AssessmentRow) -> Self {
        Assessment(row)
    }
}

#[Object]
impl Assessment {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Assessment, &self.0.id)
    }

    async fn kind(&self) -> async_graphql::Result<AssessmentKind> {
        AssessmentKind::from_db(&self.0.kind).gql()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn outcome(&self) -> async_graphql::Result<AssessmentOutcome> {
        AssessmentOutcome::from_db(&self.0.outcome).gql()
    }

    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }

    async fn assessed_on(&self) -> NaiveDate {
        self.0.assessed_on
    }

    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id.as_deref()).await
    }

    async fn review_on(&self) -> Option<NaiveDate> {
        self.0.review_on
    }

    async fn purposes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Purpose>> {
        let ids = loader(ctx)
            .load_one(PurposesOfAssessment(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let found = loader(ctx)
            .load_many(ids.iter().cloned().map(PurposeById))
            .await?;
        Ok(ids
            .into_iter()
            .filter_map(|id| found.get(&PurposeById(id)).cloned().map(Purpose))
            .collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.0.updated_at)
    }
}

/// A suppressed address or number: only its keyed hash is kept.
pub struct Suppression(pub SuppressionRow);

impl From<SuppressionRow> for Suppression {
    fn from(row: SuppressionRow) -> Self {
        Suppression(row)
    }
}

#[Object]
impl Suppression {
    async fn channel(&self) -> async_graphql::Result<SuppressionChannel> {
        SuppressionChannel::from_db(&self.0.channel).gql()
    }

    /// HMAC-SHA256 of the normalised value under the instance's GDPR key.
    async fn value_hash(&self) -> &str {
        &self.0.value_hash
    }

    /// Null: suppressed for all direct marketing.
    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        match &self.0.purpose_id {
            Some(id) => purpose_by_id(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn reason(&self) -> async_graphql::Result<SuppressionReason> {
        SuppressionReason::from_db(&self.0.reason).gql()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }
}

/// Someone a campaign may reach, and why.
pub struct CampaignRecipient(pub Recipient);

impl From<Recipient> for CampaignRecipient {
    fn from(recipient: Recipient) -> Self {
        CampaignRecipient(recipient)
    }
}

#[Object]
impl CampaignRecipient {
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(loader(ctx)
            .load_one(ContactById(self.0.contact_id.clone()))
            .await?
            .map(Contact))
    }

    async fn basis(&self) -> AudienceBasis {
        self.0.basis
    }

    /// The processing ground relied on (none for the soft-spam exception).
    async fn ground_id(&self) -> Option<ID> {
        self.0
            .ground_id
            .as_ref()
            .map(|id| ids::encode(NodeType::ProcessingGround, id))
    }

    /// The addresses the campaign may use: those not suppressed.
    async fn emails(&self) -> &[String] {
        &self.0.emails
    }
}

/// The recipients of a campaign, computed now.
pub async fn campaign_recipients(
    ctx: &Context<'_>,
    campaign: crate::campaigns::CampaignRow,
) -> async_graphql::Result<Vec<Recipient>> {
    let gdpr = state(ctx).gdpr.clone();
    let rules = state(ctx).contact_rules.clone();
    read(ctx, move |c| {
        audience::recipients(c, &gdpr, &campaign, &rules)
    })
    .await
}

/// Contact fields resolved here so the contact type stays about the contact.
pub async fn sources_of(
    ctx: &Context<'_>,
    contact_id: &str,
) -> async_graphql::Result<Vec<ContactSource>> {
    Ok(loader(ctx)
        .load_one(SourcesOf(contact_id.to_owned()))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(ContactSource)
        .collect())
}

pub async fn grounds_of(
    ctx: &Context<'_>,
    contact_id: &str,
    include_ended: bool,
) -> async_graphql::Result<Vec<ProcessingGround>> {
    Ok(loader(ctx)
        .load_one(GroundsOf(contact_id.to_owned()))
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|g| include_ended || g.ended_at.is_none())
        .map(ProcessingGround)
        .collect())
}

pub async fn consents_of(
    ctx: &Context<'_>,
    contact_id: &str,
) -> async_graphql::Result<Vec<Consent>> {
    Ok(loader(ctx)
        .load_one(ConsentsOf(contact_id.to_owned()))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Consent)
        .collect())
}

pub async fn objections_of(
    ctx: &Context<'_>,
    contact_id: &str,
) -> async_graphql::Result<Vec<Objection>> {
    Ok(loader(ctx)
        .load_one(ObjectionsOf(contact_id.to_owned()))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Objection)
        .collect())
}

#[derive(Default)]
pub struct GdprQueries;

#[Object]
impl GdprQueries {
    /// The purposes the firm processes personal data for.
    async fn purposes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Purpose>> {
        let rows = read(ctx, purposes::list).await?;
        Ok(rows.into_iter().map(Purpose).collect())
    }

    /// The assessments register (LIA and DPIA), newest first.
    async fn assessments(
        &self,
        ctx: &Context<'_>,
        kind: Option<AssessmentKind>,
    ) -> async_graphql::Result<Option<Vec<Assessment>>> {
        let rows = read(ctx, move |c| assessments::list(c, kind)).await?;
        Ok(Some(rows.into_iter().map(Assessment).collect()))
    }

    /// The suppression list, newest first (hashes only).
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn suppressions(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<Suppression>>> {
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            suppression::count,
            suppression::list,
        )
        .await
        .map(Some)
    }

    /// Which of these e-mail addresses are suppressed for the purpose (or for all marketing):
    /// for checking a list before it is used outside lexgate.
    async fn suppressed_emails(
        &self,
        ctx: &Context<'_>,
        emails: Vec<String>,
        purpose: String,
    ) -> async_graphql::Result<Option<Vec<String>>> {
        let hasher = state(ctx).gdpr.hasher.clone();
        read(ctx, move |c| {
            let purpose = purposes::named(c, &purpose, "purpose")?;
            let suppressed = suppression::suppressed_for(c, &purpose.id)?;
            Ok(emails
                .into_iter()
                .filter(|e| {
                    let hash = suppression::hash_email(&hasher, e);
                    suppressed.contains(&(SuppressionChannel::Email.as_str().to_owned(), hash))
                })
                .collect())
        })
        .await
        .map(Some)
    }

    /// Who the campaign may reach now: a valid ground for its purpose (or the soft-spam
    /// exception), not restricted, no objection, an address not suppressed.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn campaign_audience(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<CampaignRecipient>>> {
        let id = decode_id(NodeType::Campaign, &campaign_id)?;
        let Some(campaign) = loader(ctx).load_one(CampaignById(id.clone())).await? else {
            return Err(crate::error::Error::not_found("Campaign", id)).gql();
        };
        let recipients = campaign_recipients(ctx, campaign).await?;
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), recipients)
            .await
            .map(Some)
    }
}

#[derive(SimpleObject)]
pub struct PurposePayload {
    pub purpose: Purpose,
}

#[derive(SimpleObject)]
pub struct AssessmentPayload {
    pub assessment: Assessment,
}

#[derive(SimpleObject)]
pub struct ContactSourcePayload {
    pub source: ContactSource,
}

#[derive(SimpleObject)]
pub struct ProcessingGroundPayload {
    pub ground: ProcessingGround,
}

#[derive(SimpleObject)]
pub struct ConsentPayload {
    pub consent: Consent,
}

#[derive(SimpleObject)]
pub struct ObjectionPayload {
    pub objection: Objection,
}

#[derive(SimpleObject)]
pub struct SuppressionPayload {
    pub suppression: Suppression,
}

#[derive(async_graphql::InputObject)]
pub struct AddContactSourceInput {
    pub contact_id: ID,
    pub source: ContactSourceInput,
}

/// The contact a GDPR mutation names, checked visible to the caller; its key.
async fn visible_contact(ctx: &Context<'_>, id: &ID, field: &str) -> async_graphql::Result<String> {
    rows::require_visible(ctx, NodeType::Contact, id, field).await?;
    let key = ids::decode(NodeType::Contact, id, field).gql()?;
    access(ctx).trail.wrote_subject(&key);
    Ok(key)
}

#[derive(Default)]
pub struct GdprMutations;

#[Object]
impl GdprMutations {
    async fn create_purpose(
        &self,
        ctx: &Context<'_>,
        input: CreatePurposeInput,
    ) -> async_graphql::Result<Option<PurposePayload>> {
        let row = write(ctx, move |c| purposes::create(c, input)).await?;
        Ok(Some(PurposePayload {
            purpose: Purpose(row),
        }))
    }

    async fn update_purpose(
        &self,
        ctx: &Context<'_>,
        input: UpdatePurposeInput,
    ) -> async_graphql::Result<Option<PurposePayload>> {
        let row = write(ctx, move |c| purposes::update(c, input)).await?;
        Ok(Some(PurposePayload {
            purpose: Purpose(row),
        }))
    }

    async fn create_assessment(
        &self,
        ctx: &Context<'_>,
        input: CreateAssessmentInput,
    ) -> async_graphql::Result<Option<AssessmentPayload>> {
        let row = write(ctx, move |c| assessments::create(c, input)).await?;
        Ok(Some(AssessmentPayload {
            assessment: Assessment(row),
        }))
    }

    async fn update_assessment(
        &self,
        ctx: &Context<'_>,
        input: UpdateAssessmentInput,
    ) -> async_graphql::Result<Option<AssessmentPayload>> {
        let row = write(ctx, move |c| assessments::update(c, input)).await?;
        Ok(Some(AssessmentPayload {
            assessment: Assessment(row),
        }))
    }

    /// Deletes an assessment no processing ground cites.
    async fn delete_assessment(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let id = ids::decode(NodeType::Assessment, &input.id, "input.id").gql()?;
        write(ctx, move |c| assessments::delete(c, &id)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Records a further acquisition source (the person was met again, imported again, ...).
    async fn add_contact_source(
        &self,
        ctx: &Context<'_>,
        input: AddContactSourceInput,
    ) -> async_graphql::Result<ContactSourcePayload> {
        let contact = visible_contact(ctx, &input.contact_id, "input.contactId").await?;
        let actor = actor(ctx);
        let row = write(ctx, move |c| {
            crate::contacts::get(c, &contact)?;
            let mut v = crate::error::Validator::new();
            let source = provenance::validate(&mut v, "input.source", input.source, &actor);
            v.finish()?;
            let source = source.ok_or_else(|| {
                crate::error::Error::invalid("input.source", "the source is incomplete")
            })?;
            provenance::record(c, "input.source", &contact, source, &actor)
        })
        .await?;
        Ok(ContactSourcePayload {
            source: ContactSource(row),
        })
    }

    /// Records the legal basis for processing a contact's data for a purpose (with the consent
    /// evidence or the assessment the basis needs).
    async fn record_processing_ground(
        &self,
        ctx: &Context<'_>,
        input: RecordProcessingGroundInput,
    ) -> async_graphql::Result<ProcessingGroundPayload> {
        let contact = visible_contact(ctx, &input.contact_id, "input.contactId").await?;
        let (actor, rules) = (actor(ctx), state(ctx).gdpr.rules.clone());
        let row = write(ctx, move |c| {
            grounds::record(c, "input.ground", &contact, input.ground, &rules, &actor)
        })
        .await?;
        Ok(ProcessingGroundPayload {
            ground: ProcessingGround(row),
        })
    }

    /// Records a new, documented consent of someone who objected or whose addresses are on
    /// the suppression list for a marketing purpose. lexgate mails them a confirmation link;
    /// once they confirm, the suppression is lifted for that purpose only.
    async fn record_reconsent(
        &self,
        ctx: &Context<'_>,
        input: grounds::RecordReconsentInput,
    ) -> async_graphql::Result<Option<ProcessingGroundPayload>> {
        let contact = visible_contact(ctx, &input.contact_id, "input.contactId").await?;
        let (actor, gdpr) = (actor(ctx), state(ctx).gdpr.clone());
        let row = write(ctx, move |c| {
            grounds::record_reconsent(c, &gdpr, &contact, input, &actor)
        })
        .await?;
        Ok(Some(ProcessingGroundPayload {
            ground: ProcessingGround(row),
        }))
    }

    /// Ends a ground: processing for its purpose stops relying on it; the record stays.
    async fn end_processing_ground(
        &self,
        ctx: &Context<'_>,
        input: EndProcessingGroundInput,
    ) -> async_graphql::Result<ProcessingGroundPayload> {
        let id = ids::decode(NodeType::ProcessingGround, &input.id, "input.id").gql()?;
        let ground = read(ctx, move |c| grounds::get(c, &id)).await?;
        visible_contact(
            ctx,
            &ids::encode(NodeType::Contact, &ground.contact_id),
            "input.id",
        )
        .await?;
        let row = write(ctx, move |c| grounds::end(c, input)).await?;
        Ok(ProcessingGroundPayload {
            ground: ProcessingGround(row),
        })
    }

    /// Withdraws a consent: its grounds end and, for marketing, the person's addresses are
    /// suppressed for the purpose.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        input: WithdrawConsentInput,
    ) -> async_graphql::Result<ConsentPayload> {
        let id = ids::decode(NodeType::Consent, &input.consent_id, "input.consentId").gql()?;
        let consent = read(ctx, move |c| grounds::get_consent(c, &id)).await?;
        let contact = ids::encode(NodeType::Contact, &consent.contact_id);
        visible_contact(ctx, &contact, "input.consentId").await?;
        let (actor, gdpr) = (actor(ctx), state(ctx).gdpr.clone());
        let row = write(ctx, move |c| {
            grounds::withdraw_consent(c, &gdpr, input, &actor)
        })
        .await?;
        Ok(ConsentPayload {
            consent: Consent(row),
        })
    }

    /// Records an objection (Art. 21): marketing ones end every marketing ground and suppress
    /// the person's addresses; others end the grounds based on legitimate interest.
    async fn record_objection(
        &self,
        ctx: &Context<'_>,
        input: RecordObjectionInput,
    ) -> async_graphql::Result<ObjectionPayload> {
        visible_contact(ctx, &input.contact_id, "input.contactId").await?;
        let (actor, gdpr) = (actor(ctx), state(ctx).gdpr.clone());
        let row = write(ctx, move |c| objections::record(c, &gdpr, input, &actor)).await?;
        Ok(ObjectionPayload {
            objection: Objection(row),
        })
    }

    /// Suppresses an address or number received outside the CRM (it need not be a contact's).
    async fn suppress_address(
        &self,
        ctx: &Context<'_>,
        input: SuppressAddressInput,
    ) -> async_graphql::Result<Option<SuppressionPayload>> {
        let (actor, gdpr) = (actor(ctx), state(ctx).gdpr.clone());
        let region = state(ctx).contact_rules.phone_region.clone();
        let row = write(ctx, move |c| {
            let purpose = match &input.purpose {
                Some(key) => Some(purposes::named(c, key, "input.purpose")?.id),
                None => None,
            };
            suppression::suppress_value(
                c,
                &gdpr.hasher,
                &input,
                purpose.as_deref(),
                &region,
                &actor,
            )
        })
        .await?;
        Ok(Some(SuppressionPayload {
            suppression: Suppression(row),
        }))
    }
}
