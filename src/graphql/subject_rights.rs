//! Data-subject rights in the GraphQL API, for the DPO: the request register with deadlines,
//! restriction, legal holds, erasure with its log, and the subject access export.

use async_graphql::{Context, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::contacts::history::{self, ContactChangeRow};
use crate::contacts::restriction::{self, LiftRestrictionInput, RestrictProcessingInput};
use crate::error::GraphqlResult;
use crate::gdpr::requests::{
    self, CompleteSubjectRequestInput, CreateSubjectRequestInput, ExtendSubjectRequestInput,
    RefuseRequestInput, RequestChannel, RequestQuery, SubjectRequestFilter, SubjectRequestKind,
    SubjectRequestRow, SubjectRequestStatus, UpdateSubjectRequestInput, VerifySubjectIdentityInput,
};
use crate::graphql::contacts::{Contact, ContactPayload};
use crate::graphql::context::{read, state, write, write_about};
use crate::graphql::decode_id;
use crate::graphql::field_guard::{access, SubjectRead};
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::visibility;
use crate::ids::{self, NodeType};
use crate::personal_data::erasure::{self, ErasureLogRow, ExecuteErasureInput};
use crate::personal_data::export;
use crate::personal_data::holds::{self, LegalHoldRow, PlaceLegalHoldInput, ReleaseLegalHoldInput};

/// A request from a data subject exercising a right (Art. 15-21).
pub struct SubjectRequest(pub SubjectRequestRow);

impl From<SubjectRequestRow> for SubjectRequest {
    fn from(row: SubjectRequestRow) -> Self {
        SubjectRequest(row)
    }
}

/// A request from a data subject exercising a right under Art. 15-21 GDPR (access, rectification,
/// erasure, restriction, portability, objection), with its one-month deadline (Art. 12(3)). The DPO
/// only.
#[Object(guard = "SubjectRead::new(\"SubjectRequest\", self.0.contact_id.as_deref())")]
impl SubjectRequest {
    /// The request's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::SubjectRequest, &self.0.id)
    }

    /// Which right the person exercises.
    async fn kind(&self) -> async_graphql::Result<SubjectRequestKind> {
        self.0.kind().gql()
    }

    /// Where the request stands.
    async fn status(&self) -> async_graphql::Result<SubjectRequestStatus> {
        self.0.status().gql()
    }

    /// The contact the request is about; null once erased (see `contactId`) or not identified.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        visibility::referenced_contact(ctx, id).await
    }

    /// The contact's ID, kept after the contact is erased.
    async fn contact_id(&self) -> Option<ID> {
        self.0
            .contact_id
            .as_deref()
            .map(|id| ids::encode(NodeType::Contact, id))
    }

    /// When the firm received the request (UTC, ISO 8601); the deadline runs from here.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at.and_utc()
    }

    /// How the request reached the firm.
    async fn channel(&self) -> async_graphql::Result<RequestChannel> {
        RequestChannel::from_db(&self.0.channel).gql()
    }

    /// Who asked; cleared by an erasure.
    async fn requester_name(&self) -> Option<&str> {
        self.0.requester_name.as_deref()
    }

    /// How to reach the requester (an email, PEC or postal address); cleared by an erasure.
    async fn requester_contact(&self) -> Option<&str> {
        self.0.requester_contact.as_deref()
    }

    /// When the requester's identity was verified (UTC, ISO 8601); null until then.
    async fn identity_verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.identity_verified_at.map(|t| t.and_utc())
    }

    /// The principal who verified the identity.
    async fn identity_verified_by(&self) -> Option<&str> {
        self.0.identity_verified_by.as_deref()
    }

    /// How the identity was verified, e.g. "ID document checked in person"; null until then.
    async fn identity_method(&self) -> Option<&str> {
        self.0.identity_method.as_deref()
    }

    /// When the answer is due: the extended date if the deadline was extended.
    async fn due_on(&self) -> NaiveDate {
        self.0.effective_due_on()
    }

    /// One month after receipt (Art. 12(3)).
    async fn original_due_on(&self) -> NaiveDate {
        self.0.due_on
    }

    /// Why the deadline was extended (Art. 12(3)); null unless extended.
    async fn extension_reason(&self) -> Option<&str> {
        self.0.extension_reason.as_deref()
    }

    /// Still open and past its due date.
    async fn overdue(&self) -> bool {
        self.0.overdue_on(requests::today())
    }

    /// The legal reason for a refusal (e.g. Art. 17(3)(e)).
    async fn refusal_reason(&self) -> Option<&str> {
        self.0.refusal_reason.as_deref()
    }

    /// When it was executed or refused.
    async fn executed_at(&self) -> Option<DateTime<Utc>> {
        self.0.executed_at.map(|t| t.and_utc())
    }

    /// The DPO's notes on the request; null when none.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// The principal who last handled it.
    async fn handled_by(&self) -> Option<&str> {
        self.0.handled_by.as_deref()
    }

    /// When the request was registered (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the request last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// One change to a contact's personal field.
pub struct ContactChange(pub ContactChangeRow);

impl From<ContactChangeRow> for ContactChange {
    fn from(row: ContactChangeRow) -> Self {
        ContactChange(row)
    }
}

/// One change to a contact's personal field, kept to show rectifications (Art. 16 GDPR).
#[Object]
impl ContactChange {
    /// The API name of the field (`codiceFiscale`, `emails`, ...).
    async fn field(&self) -> &str {
        &self.0.field
    }

    /// The value before; lists as JSON arrays. Null once erased.
    async fn old_value(&self) -> Option<&str> {
        self.0.old_value.as_deref()
    }

    /// The value after; lists as JSON arrays. Null when the field was cleared, or once erased.
    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }

    /// When the change was made (UTC, ISO 8601).
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at.and_utc()
    }

    /// The principal who made the change.
    async fn changed_by(&self) -> &str {
        &self.0.changed_by
    }
}

/// Art. 18: the contact is kept but not used.
#[derive(SimpleObject)]
pub struct ProcessingRestriction {
    /// When processing was restricted (UTC, ISO 8601).
    pub restricted_at: DateTime<Utc>,
    /// Why, e.g. "accuracy contested"; null when not given.
    pub reason: Option<String>,
}

/// Data kept despite an erasure request.
pub struct LegalHold(pub LegalHoldRow);

/// A legal hold: data kept despite an erasure request or a retention period, because a legal duty
/// or a legal claim needs it (Art. 17(3) GDPR). The DPO only.
#[Object]
impl LegalHold {
    /// The hold's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::LegalHold, &self.0.id)
    }

    /// The contact held; null when the hold is on a matter, or once the contact is gone.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        visibility::referenced_contact(ctx, id).await
    }

    /// The matter held (an ID: the DPO does not read matters).
    async fn matter_id(&self) -> Option<ID> {
        self.0
            .matter_id
            .as_deref()
            .map(|id| ids::encode(NodeType::Matter, id))
    }

    /// Why the data is kept, in words.
    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The provision that requires or allows keeping it, e.g. "art. 2220 c.c." or "Art. 17(3)(e)
    /// GDPR".
    async fn legal_basis(&self) -> &str {
        &self.0.legal_basis
    }

    /// The last day of the hold; open-ended when null.
    async fn until(&self) -> Option<NaiveDate> {
        self.0.until_on
    }

    /// Whether the hold applies today: not released and not past `until`.
    async fn active(&self) -> bool {
        self.0.active_on(requests::today())
    }

    /// The principal who placed it: `user:ID`, `api_key:ID`, ...
    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }

    /// When the hold was placed (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When the hold was released (UTC, ISO 8601); null while in force.
    async fn released_at(&self) -> Option<DateTime<Utc>> {
        self.0.released_at.map(|t| t.and_utc())
    }

    /// The principal who released it; null while in force.
    async fn released_by(&self) -> Option<&str> {
        self.0.released_by.as_deref()
    }
}

/// What one erasure did: never the erased data.
pub struct ErasureLogEntry(pub ErasureLogRow);

impl From<ErasureLogRow> for ErasureLogEntry {
    fn from(row: ErasureLogRow) -> Self {
        ErasureLogEntry(row)
    }
}

/// What one erasure did, for the record: never the erased data. The DPO only.
#[Object]
impl ErasureLogEntry {
    /// The data subject's request, when one caused the erasure.
    async fn request_id(&self) -> Option<ID> {
        self.0
            .request_id
            .as_ref()
            .map(|id| ids::encode(NodeType::SubjectRequest, id))
    }

    /// The retention policy whose period expired, when that caused the erasure.
    async fn retention_policy_id(&self) -> Option<ID> {
        self.0
            .retention_policy_id
            .as_ref()
            .map(|id| ids::encode(NodeType::RetentionPolicy, id))
    }

    /// The erased contact's ID (the contact may no longer exist).
    async fn contact_id(&self) -> ID {
        ids::encode(NodeType::Contact, &self.0.contact_id)
    }

    /// When the erasure ran (UTC, ISO 8601).
    async fn executed_at(&self) -> DateTime<Utc> {
        self.0.executed_at.and_utc()
    }

    /// Who ran it: `user:ID`, `api_key:ID`, or `system:retention-schedule` for a scheduled run.
    async fn executed_by(&self) -> &str {
        &self.0.executed_by
    }

    /// True when nothing held the contact and its row was deleted.
    async fn contact_deleted(&self) -> bool {
        self.0.contact_deleted
    }

    /// The kinds of data erased, e.g. "identity", "emails", "matter links".
    async fn erased_categories(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.erased_categories)
    }

    /// The kinds of data kept because a legal hold needs them.
    async fn kept_categories(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.kept_categories)
    }

    /// The reasons of the legal holds that kept data.
    async fn hold_reasons(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.hold_reasons)
    }
}

/// The answer to the subject-request mutations.
#[derive(SimpleObject)]
pub struct SubjectRequestPayload {
    /// The request as saved.
    pub request: SubjectRequest,
}

/// The answer to `executeErasure`.
#[derive(SimpleObject)]
pub struct ErasurePayload {
    /// The request, now executed.
    pub request: SubjectRequest,
    /// What the erasure erased and kept.
    pub erasure: ErasureLogEntry,
}

/// The answer to `placeLegalHold` and `releaseLegalHold`.
#[derive(SimpleObject)]
pub struct LegalHoldPayload {
    /// The hold as saved.
    pub legal_hold: LegalHold,
}

/// `Contact.changeHistory`: the contact's rectification history, newest first.
pub async fn change_history(
    ctx: &Context<'_>,
    contact_id: &str,
    args: PageArgs,
) -> async_graphql::Result<Option<Paged<ContactChange>>> {
    let (count_id, list_id) = (contact_id.to_owned(), contact_id.to_owned());
    paginate_db(
        ctx,
        args,
        move |c| history::count(c, &count_id),
        move |c, page| history::list(c, &list_id, page),
    )
    .await
    .map(Some)
}

/// `Contact.restriction`.
pub fn restriction_of(row: &crate::contacts::ContactRow) -> Option<ProcessingRestriction> {
    row.restricted_at.map(|at| ProcessingRestriction {
        restricted_at: at.and_utc(),
        reason: row.restriction_reason.clone(),
    })
}

/// The request's data subject, for the access-log entry of a change to the request.
fn subject_of(row: &SubjectRequestRow) -> Vec<String> {
    row.contact_id.iter().cloned().collect()
}

#[derive(Default)]
pub struct SubjectRightsQueries;

#[Object]
impl SubjectRightsQueries {
    /// Data-subject requests, newest first: by status, kind, contact, or overdue.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn subject_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only requests matching this filter; all when omitted.")] filter: Option<
            SubjectRequestFilter,
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
    ) -> async_graphql::Result<Option<Paged<SubjectRequest>>> {
        let query = RequestQuery::new(filter.unwrap_or_default()).gql()?;
        let count_query = query.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| requests::count(c, &count_query),
            move |c, page| requests::list(c, &query, page),
        )
        .await
        .map(Some)
    }

    /// Legal holds on a contact and/or a matter (all when neither is given).
    async fn legal_holds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only holds on this `Contact`.")] contact_id: Option<ID>,
        #[graphql(desc = "Only holds on this `Matter`.")] matter_id: Option<ID>,
        #[graphql(default, desc = "Also list released holds (default false).")]
        include_released: bool,
    ) -> async_graphql::Result<Option<Vec<LegalHold>>> {
        let contact = contact_id
            .map(|id| decode_id(NodeType::Contact, &id))
            .transpose()?;
        let matter = matter_id
            .map(|id| decode_id(NodeType::Matter, &id))
            .transpose()?;
        if let Some(contact) = &contact {
            access(ctx).trail.read_subject(contact);
        }
        let rows = read(ctx, move |c| {
            holds::list(c, contact.as_deref(), matter.as_deref(), include_released)
        })
        .await?;
        Ok(Some(rows.into_iter().map(LegalHold).collect()))
    }

    /// What each erasure erased and kept, newest first.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn erasure_log(
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
    ) -> async_graphql::Result<Option<Paged<ErasureLogEntry>>> {
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            erasure::count_log,
            erasure::list_log,
        )
        .await
        .map(Some)
    }

    /// Everything held about a person (Art. 15, 20) as machine-readable JSON, one section per
    /// table of the personal-data catalogue; items carrying third parties' data are flagged.
    async fn subject_access_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Contact` ID of the person.")] contact_id: ID,
        #[graphql(
            default = false,
            desc = "Withhold third parties' data (Art. 15(4) GDPR; art. 2-undecies Codice Privacy): the fields each item lists in `thirdPartyData` are null."
        )]
        redact_third_parties: bool,
    ) -> async_graphql::Result<Option<Json<serde_json::Value>>> {
        let key = crate::ids::decode(NodeType::Contact, &contact_id, "contactId").gql()?;
        access(ctx).trail.read_subject(&key);
        let hasher = state(ctx).gdpr.hasher.clone();
        let export = read(ctx, move |c| {
            export::subject_access_export(c, &hasher, &key, redact_third_parties)
        })
        .await?;
        Ok(Some(Json(export)))
    }
}

#[derive(Default)]
pub struct SubjectRightsMutations;

#[Object]
impl SubjectRightsMutations {
    /// Registers a request; due one calendar month after receipt.
    async fn create_subject_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request as received.")] input: CreateSubjectRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::create(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Names the contact once identified; notes; how to answer.
    async fn update_subject_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request's ID and the fields to change.")]
        input: UpdateSubjectRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::update(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Records that the requester's identity was verified, and how; a request is executed only once
    /// verified.
    async fn verify_subject_identity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request and how the identity was verified.")]
        input: VerifySubjectIdentityInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(
            ctx,
            move |c| requests::verify_identity(c, input, &by),
            subject_of,
        )
        .await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Extends the deadline once by one or two months, with the reason (Art. 12(3)).
    async fn extend_subject_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request, by how many months, and why.")]
        input: ExtendSubjectRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::extend(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Refuses an open request, with the legal reason.
    async fn refuse_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request and the legal reason.")] input: RefuseRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::refuse(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Marks a verified request other than an erasure executed.
    async fn complete_subject_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request and how it was answered.")]
        input: CompleteSubjectRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::complete(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    /// Erases the request's contact in one transaction, keeping what legal holds need.
    async fn execute_erasure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The erasure request to execute.")] input: ExecuteErasureInput,
    ) -> async_graphql::Result<Option<ErasurePayload>> {
        let by = access(ctx).principal_id();
        let hasher = state(ctx).gdpr.hasher.clone();
        let outcome = write_about(
            ctx,
            move |c| erasure::execute(c, &hasher, input, &by),
            |outcome| subject_of(&outcome.request),
        )
        .await?;
        Ok(Some(ErasurePayload {
            request: SubjectRequest(outcome.request),
            erasure: ErasureLogEntry(outcome.log),
        }))
    }

    /// Restricts processing of a contact (Art. 18).
    async fn restrict_processing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and why.")] input: RestrictProcessingInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        let row = write(ctx, move |c| restriction::restrict(c, input)).await?;
        Ok(Some(ContactPayload {
            contact: Contact::from(row),
            warnings: Vec::new(),
        }))
    }

    /// Lifts a restriction of processing (Art. 18(3)): the contact may be used again.
    async fn lift_restriction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] input: LiftRestrictionInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        let row = write(ctx, move |c| restriction::lift(c, input)).await?;
        Ok(Some(ContactPayload {
            contact: Contact::from(row),
            warnings: Vec::new(),
        }))
    }

    /// Places a legal hold on a contact or a matter: erasure and retention keep what it covers.
    async fn place_legal_hold(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact or matter, the reason and the legal basis.")]
        input: PlaceLegalHoldInput,
    ) -> async_graphql::Result<Option<LegalHoldPayload>> {
        let by = access(ctx).principal_id();
        let row = write(ctx, move |c| holds::place(c, input, &by)).await?;
        Ok(Some(LegalHoldPayload {
            legal_hold: LegalHold(row),
        }))
    }

    /// Releases a legal hold: erasure and retention may remove what it kept.
    async fn release_legal_hold(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The hold to release.")] input: ReleaseLegalHoldInput,
    ) -> async_graphql::Result<Option<LegalHoldPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(
            ctx,
            move |c| holds::release(c, input, &by),
            |row: &LegalHoldRow| row.contact_id.iter().cloned().collect(),
        )
        .await?;
        Ok(Some(LegalHoldPayload {
            legal_hold: LegalHold(row),
        }))
    }
}
