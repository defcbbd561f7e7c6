//! Data-subject rights in the GraphQL API, for the DPO: the request register with deadlines,
//! restriction, legal holds, erasure with its log, and the subject access export.

use async_graphql::{Context, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::GraphqlResult;
use crate::gdpr::rights::erasure::{self, ErasureLogRow, ExecuteErasureInput};
use crate::gdpr::rights::export;
use crate::gdpr::rights::history::{self, ContactChangeRow};
use crate::gdpr::rights::holds::{self, LegalHoldRow, PlaceLegalHoldInput, ReleaseLegalHoldInput};
use crate::gdpr::rights::requests::{
    self, CompleteSubjectRequestInput, CreateSubjectRequestInput, ExtendSubjectRequestInput,
    RefuseRequestInput, RequestChannel, RequestQuery, SubjectRequestFilter, SubjectRequestKind,
    SubjectRequestRow, SubjectRequestStatus, UpdateSubjectRequestInput, VerifySubjectIdentityInput,
};
use crate::gdpr::rights::restriction::{self, LiftRestrictionInput, RestrictProcessingInput};
use crate::graphql::authorization::{access, SubjectRead};
use crate::graphql::contacts::{Contact, ContactPayload};
use crate::graphql::context::{loader, read, state, write, write_about};
use crate::graphql::decode_id;
use crate::graphql::loaders::ContactById;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::rows;
use crate::ids::{self, NodeType};

/// A request from a data subject exercising a right (Art. 15-21).
pub struct SubjectRequest(pub SubjectRequestRow);

impl From<SubjectRequestRow> for SubjectRequest {
    fn from(row: SubjectRequestRow) -> Self {
        SubjectRequest(row)
    }
}

#[Object(guard = "SubjectRead::new(\"SubjectRequest\", self.0.contact_id.as_deref())")]
impl SubjectRequest {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::SubjectRequest, &self.0.id)
    }

    async fn kind(&self) -> async_graphql::Result<SubjectRequestKind> {
        self.0.kind().gql()
    }

    async fn status(&self) -> async_graphql::Result<SubjectRequestStatus> {
        self.0.status().gql()
    }

    /// The contact the request is about; null once erased (see `contactId`) or not identified.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        let contact = loader(ctx)
            .load_one(ContactById(id.clone()))
            .await?
            .map(Contact);
        rows::reference(ctx, contact).await
    }

    /// The contact's ID, kept after the contact is erased.
    async fn contact_id(&self) -> Option<ID> {
        self.0
            .contact_id
            .as_deref()
            .map(|id| ids::encode(NodeType::Contact, id))
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at.and_utc()
    }

    async fn channel(&self) -> async_graphql::Result<RequestChannel> {
        RequestChannel::from_db(&self.0.channel).gql()
    }

    /// Who asked; cleared by an erasure.
    async fn requester_name(&self) -> Option<&str> {
        self.0.requester_name.as_deref()
    }

    async fn requester_contact(&self) -> Option<&str> {
        self.0.requester_contact.as_deref()
    }

    async fn identity_verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.identity_verified_at.map(|t| t.and_utc())
    }

    /// The principal who verified the identity.
    async fn identity_verified_by(&self) -> Option<&str> {
        self.0.identity_verified_by.as_deref()
    }

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

    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// The principal who last handled it.
    async fn handled_by(&self) -> Option<&str> {
        self.0.handled_by.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

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

    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }

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
    pub restricted_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Data kept despite an erasure request.
pub struct LegalHold(pub LegalHoldRow);

#[Object]
impl LegalHold {
    async fn id(&self) -> ID {
        ids::encode(NodeType::LegalHold, &self.0.id)
    }

    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.contact_id else {
            return Ok(None);
        };
        let contact = loader(ctx)
            .load_one(ContactById(id.clone()))
            .await?
            .map(Contact);
        rows::reference(ctx, contact).await
    }

    /// The matter held (an ID: the DPO does not read matters).
    async fn matter_id(&self) -> Option<ID> {
        self.0
            .matter_id
            .as_deref()
            .map(|id| ids::encode(NodeType::Matter, id))
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }

    async fn legal_basis(&self) -> &str {
        &self.0.legal_basis
    }

    /// The last day of the hold; open-ended when null.
    async fn until(&self) -> Option<NaiveDate> {
        self.0.until_on
    }

    async fn active(&self) -> bool {
        self.0.active_on(requests::today())
    }

    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn released_at(&self) -> Option<DateTime<Utc>> {
        self.0.released_at.map(|t| t.and_utc())
    }

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

    async fn contact_id(&self) -> ID {
        ids::encode(NodeType::Contact, &self.0.contact_id)
    }

    async fn executed_at(&self) -> DateTime<Utc> {
        self.0.executed_at.and_utc()
    }

    async fn executed_by(&self) -> &str {
        &self.0.executed_by
    }

    /// True when nothing held the contact and its row was deleted.
    async fn contact_deleted(&self) -> bool {
        self.0.contact_deleted
    }

    async fn erased_categories(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.erased_categories)
    }

    async fn kept_categories(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.kept_categories)
    }

    async fn hold_reasons(&self) -> Vec<String> {
        ErasureLogRow::list(&self.0.hold_reasons)
    }
}

#[derive(SimpleObject)]
pub struct SubjectRequestPayload {
    pub request: SubjectRequest,
}

#[derive(SimpleObject)]
pub struct ErasurePayload {
    pub request: SubjectRequest,
    pub erasure: ErasureLogEntry,
}

#[derive(SimpleObject)]
pub struct LegalHoldPayload {
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
        filter: Option<SubjectRequestFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
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
        contact_id: Option<ID>,
        matter_id: Option<ID>,
        #[graphql(default)] include_released: bool,
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
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
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
        contact_id: ID,
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
        input: CreateSubjectRequestInput,
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
        input: UpdateSubjectRequestInput,
    ) -> async_graphql::Result<Option<SubjectRequestPayload>> {
        let by = access(ctx).principal_id();
        let row = write_about(ctx, move |c| requests::update(c, input, &by), subject_of).await?;
        Ok(Some(SubjectRequestPayload {
            request: SubjectRequest(row),
        }))
    }

    async fn verify_subject_identity(
        &self,
        ctx: &Context<'_>,
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
        input: RefuseRequestInput,
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
        input: ExecuteErasureInput,
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
        input: RestrictProcessingInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        let row = write(ctx, move |c| restriction::restrict(c, input)).await?;
        Ok(Some(ContactPayload {
            contact: Contact(row),
            warnings: Vec::new(),
        }))
    }

    async fn lift_restriction(
        &self,
        ctx: &Context<'_>,
        input: LiftRestrictionInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        let row = write(ctx, move |c| restriction::lift(c, input)).await?;
        Ok(Some(ContactPayload {
            contact: Contact(row),
            warnings: Vec::new(),
        }))
    }

    async fn place_legal_hold(
        &self,
        ctx: &Context<'_>,
        input: PlaceLegalHoldInput,
    ) -> async_graphql::Result<Option<LegalHoldPayload>> {
        let by = access(ctx).principal_id();
        let row = write(ctx, move |c| holds::place(c, input, &by)).await?;
        Ok(Some(LegalHoldPayload {
            legal_hold: LegalHold(row),
        }))
    }

    async fn release_legal_hold(
        &self,
        ctx: &Context<'_>,
        input: ReleaseLegalHoldInput,
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
