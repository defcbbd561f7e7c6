//! GDPR records in the GraphQL API: purposes, acquisition sources, processing grounds and
//! consents, objections, the suppression list, the assessments register and campaign audiences.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::access_policy::{RowKind, Scope};
use crate::campaigns::audience::{self, AudienceBasis, Recipient};
use crate::error::GraphqlResult;
use crate::gdpr::assessments::{
    self, AssessmentKind, AssessmentOutcome, AssessmentRow, CreateAssessmentInput,
    UpdateAssessmentInput,
};
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
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, read, state, write};
use crate::graphql::directory::User;
use crate::graphql::field_guard::{access, SubjectRead};
use crate::graphql::loaders::*;
use crate::graphql::pagination::{paginate_db, paginate_loaded, PageArgs, Paged};
use crate::graphql::{decode_id, visibility, DeleteInput, DeletePayload};
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

/// A purpose the firm processes personal data for (client relationship, matter handling,
/// newsletter, ...): grounds, consents, campaigns and retention refer to it. Everyone signed in
/// reads purposes.
#[Object]
impl Purpose {
    /// Stable identifier used in inputs, e.g. `newsletter`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The purpose's name as people read it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the processing for this purpose involves; null when not given.
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

    /// Whether lexgate ships the purpose (its key is fixed); the firm adds its own.
    async fn built_in(&self) -> bool {
        self.0.built_in
    }
}

/// How and when the firm obtained a contact's data.
pub struct ContactSource(pub ContactSourceRow);

/// How and when the firm obtained a contact's data, to answer "where did you get my data?" (Art.
/// 14, 15 GDPR).
#[Object]
impl ContactSource {
    /// What kind of source it was.
    async fn kind(&self) -> async_graphql::Result<SourceKind> {
        SourceKind::from_db(&self.0.kind).gql()
    }

    /// Which one: the fair's name, the register, the referring client, the form's address.
    async fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The connector instance, for imports.
    async fn connector(&self) -> Option<&str> {
        self.0.connector.as_deref()
    }

    /// The record's id in the connector's provider, for imports; null otherwise.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// When the firm obtained the data (UTC, ISO 8601).
    async fn acquired_at(&self) -> DateTime<Utc> {
        utc(self.0.acquired_at)
    }

    /// The firm's user who acquired the contact.
    async fn acquired_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_by_id(ctx, self.0.acquired_by.as_deref()).await
    }

    /// When the source was recorded in lexgate (UTC, ISO 8601).
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

/// The legal basis (Art. 6(1) GDPR) on which a contact's data is processed for one purpose, with
/// its evidence.
#[Object]
impl ProcessingGround {
    /// The ground's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::ProcessingGround, &self.0.id)
    }

    /// The purpose the basis covers.
    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        purpose_by_id(ctx, &self.0.purpose_id).await
    }

    /// The basis under Art. 6(1).
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

    /// Free-text notes on the basis; null when none.
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

    /// When the ground ended (UTC, ISO 8601); null while processing may rely on it.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at.map(utc)
    }

    /// Why it ended, e.g. "consent withdrawn" or "the person objected (Art. 21)"; null while
    /// active.
    async fn end_reason(&self) -> Option<&str> {
        self.0.end_reason.as_deref()
    }

    /// Not ended: processing may rely on it.
    async fn active(&self) -> bool {
        self.0.ended_at.is_none()
    }

    /// The principal that recorded it: `user:ID`, `api_key:ID`, `system:seed`, ...
    async fn recorded_by(&self) -> Option<&str> {
        self.0.recorded_by.as_deref()
    }
}

/// Consent evidence (Art. 7(1)); withdrawal fills in when and how, once.
pub struct Consent(pub ConsentRow);

/// Consent evidence (Art. 7(1) GDPR): when, how and on which privacy notice a contact consented to
/// a purpose; a withdrawal fills in when and how, once.
#[Object]
impl Consent {
    /// The consent's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::Consent, &self.0.id)
    }

    /// The purpose consented to.
    async fn purpose(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Purpose>> {
        purpose_by_id(ctx, &self.0.purpose_id).await
    }

    /// When the person consented (UTC, ISO 8601).
    async fn given_at(&self) -> DateTime<Utc> {
        utc(self.0.given_at)
    }

    /// How the person consented.
    async fn method(&self) -> async_graphql::Result<ConsentMethod> {
        ConsentMethod::from_db(&self.0.method).gql()
    }

    /// The version of the privacy notice the person was shown.
    async fn notice_version(&self) -> &str {
        &self.0.notice_version
    }

    /// Who collected it: a person's name, or the form or system that did.
    async fn collected_by(&self) -> &str {
        &self.0.collected_by
    }

    /// Where the proof is kept (a signed form's file number, a form submission ID, a recording);
    /// null when not given.
    async fn proof_reference(&self) -> Option<&str> {
        self.0.proof_reference.as_deref()
    }

    /// When the person confirmed the address, where double opt-in is used (UTC, ISO 8601); null
    /// otherwise.
    async fn double_opt_in_at(&self) -> Option<DateTime<Utc>> {
        self.0.double_opt_in_at.map(utc)
    }

    /// When the person withdrew consent (UTC, ISO 8601); null while it stands.
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.0.withdrawn_at.map(utc)
    }

    /// How the person withdrew, e.g. "unsubscribe link"; null while it stands.
    async fn withdrawal_method(&self) -> Option<&str> {
        self.0.withdrawal_method.as_deref()
    }

    /// True until the consent is withdrawn.
    async fn active(&self) -> bool {
        self.0.withdrawn_at.is_none()
    }

    /// When the consent was recorded in lexgate (UTC, ISO 8601).
    async fn recorded_at(&self) -> DateTime<Utc> {
        utc(self.0.recorded_at)
    }

    /// The principal that recorded it: `user:ID`, `api_key:ID`, `system:seed`, ...
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

/// An objection to processing (Art. 21 GDPR) a contact made.
#[Object]
impl Objection {
    /// The objection's global ID.
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

    /// When the firm received it (UTC, ISO 8601).
    async fn received_at(&self) -> DateTime<Utc> {
        utc(self.0.received_at)
    }

    /// How it reached the firm, e.g. "unsubscribe link", "letter", "phone call".
    async fn method(&self) -> &str {
        &self.0.method
    }

    /// Free-text notes; null when none.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The principal that recorded it: `user:ID`, `api_key:ID`, ...
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

/// A legitimate-interest assessment (LIA) or data-protection impact assessment (DPIA, Art. 35 GDPR)
/// in the firm's assessments register. Admins, partners, marketing and the DPO read it.
#[Object]
impl Assessment {
    /// The assessment's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Assessment, &self.0.id)
    }

    /// LIA or DPIA.
    async fn kind(&self) -> async_graphql::Result<AssessmentKind> {
        AssessmentKind::from_db(&self.0.kind).gql()
    }

    /// What was assessed, e.g. "Newsletter to business contacts".
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Its conclusion; only an approved LIA (with or without measures) supports a
    /// legitimate-interest basis.
    async fn outcome(&self) -> async_graphql::Result<AssessmentOutcome> {
        AssessmentOutcome::from_db(&self.0.outcome).gql()
    }

    /// The reasoning in brief; null when not given.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }

    /// The date of the assessment (ISO 8601 date).
    async fn assessed_on(&self) -> NaiveDate {
        self.0.assessed_on
    }

    /// The user responsible for it; null when none.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_by_id(ctx, self.0.owner_id.as_deref()).await
    }

    /// When it is due for review (ISO 8601 date); null when no date is set.
    async fn review_on(&self) -> Option<NaiveDate> {
        self.0.review_on
    }

    /// The purposes it covers.
    async fn purposes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Purpose>> {
        let purposes = loader(ctx)
            .load_one(PurposesOfAssessment(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(purposes.into_iter().map(Purpose).collect())
    }

    /// When it was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When it last changed (UTC, ISO 8601).
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

/// An entry of the suppression list: an address or number that must not receive direct marketing.
/// Only a keyed hash of the value is kept. Admins, marketing and the DPO.
#[Object]
impl Suppression {
    /// Whether an email address or a phone number is suppressed.
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

    /// Why it was suppressed.
    async fn reason(&self) -> async_graphql::Result<SuppressionReason> {
        SuppressionReason::from_db(&self.0.reason).gql()
    }

    /// When it was suppressed (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// The principal that suppressed it: `user:ID`, `api_key:ID`, ...
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

/// Someone a campaign may reach now, and the basis that allows it.
#[Object(guard = "SubjectRead::new(\"CampaignRecipient\", Some(&self.0.contact_id))")]
impl CampaignRecipient {
    /// The contact.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(loader(ctx)
            .load_one(ContactById(self.0.contact_id.clone()))
            .await?
            .map(Contact::from))
    }

    /// The basis the campaign relies on for this contact.
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
        // A campaign and its audience are the firm's: the field policy decides who reaches
        // them.
        audience::recipients(c, &Scope::Firm, &gdpr, &campaign, &rules)
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
        #[graphql(desc = "Only assessments of this kind.")] kind: Option<AssessmentKind>,
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
        #[graphql(desc = "The addresses to check, in any case and spacing.")] emails: Vec<String>,
        #[graphql(desc = "The purpose's key, e.g. `newsletter`.")] purpose: String,
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
        #[graphql(desc = "The `Campaign` ID.")] campaign_id: ID,
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

/// The answer to `createPurpose` and `updatePurpose`.
#[derive(SimpleObject)]
pub struct PurposePayload {
    /// The purpose as saved.
    pub purpose: Purpose,
}

/// The answer to `createAssessment` and `updateAssessment`.
#[derive(SimpleObject)]
pub struct AssessmentPayload {
    /// The assessment as saved.
    pub assessment: Assessment,
}

/// The answer to `addContactSource`.
#[derive(SimpleObject)]
pub struct ContactSourcePayload {
    /// The source as recorded.
    pub source: ContactSource,
}

/// The answer to `recordProcessingGround` and `endProcessingGround`.
#[derive(SimpleObject)]
pub struct ProcessingGroundPayload {
    /// The ground as saved.
    pub ground: ProcessingGround,
}

/// The answer to `withdrawConsent`.
#[derive(SimpleObject)]
pub struct ConsentPayload {
    /// The consent, now withdrawn.
    pub consent: Consent,
}

/// The answer to `recordObjection`.
#[derive(SimpleObject)]
pub struct ObjectionPayload {
    /// The objection as recorded.
    pub objection: Objection,
}

/// The answer to `suppressAddress`.
#[derive(SimpleObject)]
pub struct SuppressionPayload {
    /// The suppression-list entry.
    pub suppression: Suppression,
}

/// A further acquisition source of a contact, for `addContactSource`.
#[derive(async_graphql::InputObject)]
pub struct AddContactSourceInput {
    /// The `Contact` ID.
    pub contact_id: ID,
    /// Where and when the data was obtained.
    pub source: ContactSourceInput,
}

/// The contact a GDPR mutation names, checked visible to the caller; its key.
async fn visible_contact(ctx: &Context<'_>, id: &ID, field: &str) -> async_graphql::Result<String> {
    visibility::require_visible(ctx, NodeType::Contact, id, field).await?;
    let key = ids::decode(NodeType::Contact, id, field).gql()?;
    access(ctx).trail.wrote_subject(&key);
    Ok(key)
}

/// A contact's GDPR record a mutation names by its own ID: if the caller may not see the
/// contact, the record is not there for them, exactly as an unknown ID of its kind.
async fn record_of_visible_contact(
    ctx: &Context<'_>,
    entity: &'static str,
    record_id: &str,
    contact_id: &str,
) -> async_graphql::Result<()> {
    if !visibility::sees(ctx, RowKind::Contact, contact_id).await? {
        return Err(crate::error::Error::not_found(entity, record_id)).gql();
    }
    access(ctx).trail.wrote_subject(contact_id);
    Ok(())
}

#[derive(Default)]
pub struct GdprMutations;

#[Object]
impl GdprMutations {
    /// Adds a purpose the firm processes personal data for. Admins and the DPO.
    async fn create_purpose(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new purpose.")] input: CreatePurposeInput,
    ) -> async_graphql::Result<Option<PurposePayload>> {
        let row = write(ctx, move |c| purposes::create(c, input)).await?;
        Ok(Some(PurposePayload {
            purpose: Purpose(row),
        }))
    }

    /// Changes a purpose; fields left out keep their value. Admins and the DPO.
    async fn update_purpose(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The purpose's key and the fields to change.")] input: UpdatePurposeInput,
    ) -> async_graphql::Result<Option<PurposePayload>> {
        let row = write(ctx, move |c| purposes::update(c, input)).await?;
        Ok(Some(PurposePayload {
            purpose: Purpose(row),
        }))
    }

    /// Adds an LIA or DPIA to the assessments register. The DPO only.
    async fn create_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new assessment.")] input: CreateAssessmentInput,
    ) -> async_graphql::Result<Option<AssessmentPayload>> {
        let row = write(ctx, move |c| assessments::create(c, input)).await?;
        Ok(Some(AssessmentPayload {
            assessment: Assessment(row),
        }))
    }

    /// Changes an assessment; fields left out keep their value. The DPO only.
    async fn update_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessment's ID and the fields to change.")]
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
        #[graphql(desc = "The `Assessment` ID.")] input: DeleteInput,
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
        #[graphql(desc = "The contact and the source.")] input: AddContactSourceInput,
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
        #[graphql(desc = "The contact and the ground.")] input: RecordProcessingGroundInput,
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
        #[graphql(desc = "The contact, the purpose and the new consent's evidence.")]
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
        #[graphql(desc = "The ground and why it ends.")] input: EndProcessingGroundInput,
    ) -> async_graphql::Result<ProcessingGroundPayload> {
        let id = ids::decode(NodeType::ProcessingGround, &input.id, "input.id").gql()?;
        let ground = read(ctx, move |c| grounds::get(c, &id)).await?;
        record_of_visible_contact(ctx, "ProcessingGround", &ground.id, &ground.contact_id).await?;
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
        #[graphql(desc = "The consent, when and how it was withdrawn.")]
        input: WithdrawConsentInput,
    ) -> async_graphql::Result<ConsentPayload> {
        let id = ids::decode(NodeType::Consent, &input.consent_id, "input.consentId").gql()?;
        let consent = read(ctx, move |c| grounds::get_consent(c, &id)).await?;
        record_of_visible_contact(ctx, "Consent", &consent.id, &consent.contact_id).await?;
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
        #[graphql(desc = "The contact and the objection.")] input: RecordObjectionInput,
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
        #[graphql(desc = "The address or number and the purpose.")] input: SuppressAddressInput,
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
