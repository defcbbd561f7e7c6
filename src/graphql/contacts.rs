//! Contacts in the GraphQL API.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::{Context, Object, SelectionField, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::access_policy::RowKind;
use crate::communications::CommunicationRow;
use crate::contacts::{
    self, AddressRow, AffiliationInput, AffiliationRow, ContactCategory, ContactColumns,
    ContactFilter, ContactKind, ContactOrder, ContactQuery, ContactRecord, ContactRow,
    CreateContactInput, DuplicateReason, EmailRow, MergeContactsInput, OptionalContactField,
    PhoneRow, TextSearchScope, UpdateContactInput,
};
use crate::error::{Error, GraphqlResult};
use crate::gdpr::suppression;
use crate::graphql::communications::Communication;
use crate::graphql::context::{loader, read, state, write, write_about};
use crate::graphql::directory::User;
use crate::graphql::field_guard::{access, forbid, ContactRead, RequestAccess};
use crate::graphql::gdpr::{self, Consent, ContactSource, Objection, ProcessingGround};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::pagination::{paginate_db, paginate_loaded, PageArgs, Paged};
use crate::graphql::subject_rights::{
    change_history, restriction_of, ContactChange, ProcessingRestriction,
};
use crate::graphql::visibility;
use crate::graphql::{decode_id, load_many, DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::matters::PartyRole;

/// A person or organisation the firm deals with: its whole row, or the summary a list read
/// because its selection asked for nothing more (see [`columns_of`]).
pub struct Contact(ContactRecord);

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Contact(row.into())
    }
}

impl From<ContactRecord> for Contact {
    fn from(record: ContactRecord) -> Self {
        Contact(record)
    }
}

impl Contact {
    /// The contact's row key.
    pub fn key(&self) -> &str {
        self.0.id()
    }

    /// The whole row. A summary has it read by ID; the look-ahead makes that rare, since a
    /// list whose selection has a field outside [`SUMMARY_FIELDS`] reads every column.
    async fn row(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, ContactRow>> {
        if let Some(row) = self.0.whole() {
            return Ok(Cow::Borrowed(row));
        }
        loader(ctx)
            .load_one(ContactById(self.key().to_owned()))
            .await?
            .map(Cow::Owned)
            .ok_or_else(|| Error::NotFound {
                entity: "contact",
                id: ids::encode(NodeType::Contact, self.key()).to_string(),
            })
            .gql()
    }
}

/// The `Contact` fields a [`ContactSummaryRow`] answers: its own columns, and relations read
/// by the contact's ID. A list whose selection has only these reads the summary; any other
/// field makes it read every column, and one resolved from a summary anyway reads its row
/// by ID (`Contact::row`), so this list can cost a statement, never a wrong answer.
const SUMMARY_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "kind",
    "category",
    "displayName",
    "emails",
    "pec",
    "phones",
    "addresses",
    "tags",
    "sources",
    "processingGrounds",
    "consents",
    "objections",
    "organizations",
    "members",
    "matters",
    "communications",
    "changeHistory",
];

/// The columns to read of the contacts these selections (of one field, or of a connection's
/// `nodes` and `edges { node }`) return: the summary when every field they select, through
/// fragments too, is one of [`SUMMARY_FIELDS`].
fn columns_of(contacts: &[SelectionField<'_>]) -> ContactColumns {
    let summary = contacts.iter().all(|contact| {
        contact
            .selection_set()
            .all(|field| SUMMARY_FIELDS.contains(&field.name()))
    });
    if summary {
        ContactColumns::Summary
    } else {
        ContactColumns::All
    }
}

/// The columns to read of the contacts the field being resolved returns (one or a list).
pub fn columns_here(ctx: &Context<'_>) -> ContactColumns {
    columns_of(&ctx.look_ahead().selection_fields())
}

/// The columns to read of the contacts the connection being resolved returns.
fn columns_of_connection(ctx: &Context<'_>) -> ContactColumns {
    let connection = ctx.look_ahead();
    let mut contacts = connection.field("nodes").selection_fields();
    contacts.extend(connection.field("edges").field("node").selection_fields());
    columns_of(&contacts)
}

// Every field notes the contact in the request's access trail when it carries personal data.
/// A person or organisation the firm deals with: client, prospect, counterparty, court,
/// expert. Everyone signed in reads the names and emails of the contacts they may see; phones,
/// addresses and tax codes need a casework role or the DPO's.
#[Object(guard = "ContactRead(self.key())")]
impl Contact {
    /// The contact's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Contact, self.key())
    }

    /// Whether the contact is a person or an organisation.
    async fn kind(&self) -> async_graphql::Result<ContactKind> {
        ContactKind::from_db(self.0.kind()).gql()
    }

    /// What the contact is to the firm.
    async fn category(&self) -> async_graphql::Result<ContactCategory> {
        ContactCategory::from_db(self.0.category()).gql()
    }

    /// "Given Family" for people, the name for organisations.
    async fn display_name(&self) -> &str {
        self.0.display_name()
    }

    /// A person's given name; null for organisations.
    async fn given_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.given_name.clone())
    }

    /// A person's family name; null for organisations.
    async fn family_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.family_name.clone())
    }

    /// An organisation's name; null for people.
    async fn organization_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.organization_name.clone())
    }

    /// Italian tax code: 16 characters for people, 11 digits for organisations.
    async fn codice_fiscale(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.codice_fiscale.clone())
    }

    /// Italian VAT number (11 digits).
    async fn partita_iva(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.partita_iva.clone())
    }

    /// Where and when the firm obtained the contact's data, first acquisition first.
    async fn sources(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ContactSource>>> {
        gdpr::sources_of(ctx, self.key()).await.map(Some)
    }

    /// The legal bases the contact's data is processed on, per purpose; ended ones too when asked.
    async fn processing_grounds(
        &self,
        ctx: &Context<'_>,
        #[graphql(default, desc = "Also list grounds that have ended (default false).")]
        include_ended: bool,
    ) -> async_graphql::Result<Option<Vec<ProcessingGround>>> {
        gdpr::grounds_of(ctx, self.key(), include_ended)
            .await
            .map(Some)
    }

    /// Every consent given, withdrawn ones included, newest first.
    async fn consents(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Consent>>> {
        gdpr::consents_of(ctx, self.key()).await.map(Some)
    }

    /// Objections to processing (Art. 21 GDPR) the contact has made, newest first.
    async fn objections(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Objection>>> {
        gdpr::objections_of(ctx, self.key()).await.map(Some)
    }

    /// Free-text notes about the contact. Admins, partners, lawyers, trainees, integrations and
    /// the DPO.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.row(ctx).await?.notes.clone())
    }

    /// Null while switched off by data minimisation (`disabled_contact_fields`).
    async fn birth_date(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<NaiveDate>> {
        Ok(self
            .row(ctx)
            .await?
            .birth_date
            .filter(|_| collects(ctx, OptionalContactField::BirthDate)))
    }

    /// Null while switched off by data minimisation.
    async fn personal_interests(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(collected_text(
            ctx,
            OptionalContactField::PersonalInterests,
            &self.row(ctx).await?.personal_interests,
        )
        .map(str::to_owned))
    }

    /// Null while switched off by data minimisation.
    async fn family_details(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(collected_text(
            ctx,
            OptionalContactField::FamilyDetails,
            &self.row(ctx).await?.family_details,
        )
        .map(str::to_owned))
    }

    /// Email and PEC addresses, in the order entered.
    async fn emails(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EmailRow>> {
        Ok(loader(ctx)
            .load_one(EmailsOf(self.key().to_owned()))
            .await?
            .unwrap_or_default())
    }

    /// The first certified (PEC) address, if any.
    async fn pec(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let emails = loader(ctx)
            .load_one(EmailsOf(self.key().to_owned()))
            .await?
            .unwrap_or_default();
        Ok(emails.into_iter().find(|e| e.is_pec).map(|e| e.address))
    }

    /// Phone numbers (E.164, e.g. `+390212345678`). Casework roles and the DPO.
    async fn phones(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<PhoneRow>>> {
        Ok(Some(
            loader(ctx)
                .load_one(PhonesOf(self.key().to_owned()))
                .await?
                .unwrap_or_default(),
        ))
    }

    /// Postal addresses. Casework roles and the DPO.
    async fn addresses(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<AddressRow>>> {
        Ok(Some(
            loader(ctx)
                .load_one(AddressesOf(self.key().to_owned()))
                .await?
                .unwrap_or_default(),
        ))
    }

    /// Free labels the firm gives contacts, e.g. `newsletter` or `vip`.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(loader(ctx)
            .load_one(TagsOf(self.key().to_owned()))
            .await?
            .unwrap_or_default())
    }

    /// The firm's user responsible for this contact.
    async fn responsible(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.row(ctx).await?.responsible_user_id.clone() else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(UserById(id)).await?.map(User))
    }

    /// For people: the organisations they work for.
    async fn organizations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Affiliation>> {
        let columns = columns_of(&ctx.look_ahead().field("organization").selection_fields());
        let rows = loader(ctx)
            .load_one(EmployersOf(self.key().to_owned(), columns))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|a| Affiliation {
                row: a.affiliation,
                person: None,
                organization: Some((a.contact, a.visible)),
            })
            .collect())
    }

    /// For organisations: the people on record.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Affiliation>> {
        let columns = columns_of(&ctx.look_ahead().field("person").selection_fields());
        let rows = loader(ctx)
            .load_one(MembersOf(self.key().to_owned(), columns))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|a| Affiliation {
                row: a.affiliation,
                person: Some((a.contact, a.visible)),
                organization: None,
            })
            .collect())
    }

    /// Matters this contact is a party to, optionally only in one role.
    async fn matters(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only matters where the contact is a party in this role.")] role: Option<
            PartyRole,
        >,
    ) -> async_graphql::Result<Option<Vec<Matter>>> {
        // One statement: the matters with their rows, which the caller's scope marks visible
        // or not (the loader's query applies it).
        let matters = loader(ctx)
            .load_one(MattersOfContact(self.key().to_owned()))
            .await?
            .unwrap_or_default();
        Ok(Some(
            matters
                .into_iter()
                .filter(|m| m.visible && role.is_none_or(|role| role.as_str() == m.role))
                .map(|m| Matter(m.matter))
                .collect(),
        ))
    }

    /// Communications this contact took part in, newest first.
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn communications(
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
    ) -> async_graphql::Result<Option<Paged<Communication>>> {
        let rows: Vec<CommunicationRow> = loader(ctx)
            .load_one(CommunicationsOfContact(self.key().to_owned()))
            .await?
            .unwrap_or_default();
        let rows = visibility::visible_only(ctx, rows.into_iter().map(Communication).collect())
            .await?
            .into_iter()
            .map(|c| c.0)
            .collect();
        paginate_loaded(ctx, PageArgs::new(after, before, first, last), rows)
            .await
            .map(Some)
    }

    /// Every change to the contact's personal fields, newest first (for the DPO).
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn change_history(
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
    ) -> async_graphql::Result<Option<Paged<ContactChange>>> {
        change_history(ctx, self.key(), PageArgs::new(after, before, first, last)).await
    }

    /// Set while processing is restricted (Art. 18): keep the contact out of every use.
    async fn restriction(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ProcessingRestriction>> {
        Ok(restriction_of(&*self.row(ctx).await?))
    }

    /// When the contact was created (UTC, ISO 8601).
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.created_at.and_utc())
    }

    /// When the contact last changed (UTC, ISO 8601).
    async fn updated_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.updated_at.and_utc())
    }
}

/// Whether the firm collects an optional field; a switched-off one reads as null even if a
/// value was stored before it was switched off.
fn collects(ctx: &Context<'_>, field: OptionalContactField) -> bool {
    state(ctx).contact_rules.collects(field)
}

fn collected_text<'a>(
    ctx: &Context<'_>,
    field: OptionalContactField,
    value: &'a Option<String>,
) -> Option<&'a str> {
    value.as_deref().filter(|_| collects(ctx, field))
}

/// A person's link to an organisation.
pub struct Affiliation {
    row: AffiliationRow,
    /// The person's row and whether the caller may see it, when the query that found the
    /// affiliation read them too (an organisation's members).
    person: Option<(ContactRecord, bool)>,
    /// The same of the organisation (a person's organisations).
    organization: Option<(ContactRecord, bool)>,
}

/// The contact at one end of an affiliation: from the row the relation's query read with it,
/// or else looked up by ID. Null with a `FORBIDDEN` error when the caller may not see it.
async fn affiliated(
    ctx: &Context<'_>,
    read: &Option<(ContactRecord, bool)>,
    id: &str,
) -> async_graphql::Result<Option<Contact>> {
    match read {
        Some(found) => Ok(visibility::shown_or_withheld(
            ctx,
            Some(found.clone()),
            Contact::from,
        )),
        None => visibility::referenced_contact(ctx, id).await,
    }
}

/// A person's link to an organisation, e.g. an employee or director of a client company.
#[Object]
impl Affiliation {
    /// The person; null with a `FORBIDDEN` error when the caller may not see them.
    async fn person(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        affiliated(ctx, &self.person, &self.row.person_id).await
    }

    /// The organisation; null with a `FORBIDDEN` error when the caller may not see it.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        affiliated(ctx, &self.organization, &self.row.organization_id).await
    }

    /// The person's job title: about the person, so only for callers who may see them (and
    /// logged as a read of them).
    async fn job_title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        let person_visible = match &self.person {
            Some((_, visible)) => *visible,
            None => visibility::sees(ctx, RowKind::Contact, &self.row.person_id).await?,
        };
        if !person_visible {
            return Ok(forbid(
                ctx,
                "this job title is about a person you may not see",
            ));
        }
        if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
            access.trail.read_subject(&self.row.person_id);
        }
        Ok(self.row.job_title.as_deref())
    }
}

/// Contacts that share an identifying value and may be the same.
pub struct DuplicateGroup(contacts::DuplicateGroup);

/// Contacts that share an identifying value and may be the same person or organisation (see
/// `mergeContacts`).
#[Object]
impl DuplicateGroup {
    /// Which kind of value they share.
    async fn reason(&self) -> DuplicateReason {
        self.0.reason
    }

    /// The shared email, PEC, phone or tax code: null (`FORBIDDEN`) when the caller's role may
    /// not read the contact field it comes from.
    async fn value(&self, ctx: &Context<'_>) -> Option<&str> {
        let source = match self.0.reason {
            DuplicateReason::Email => "emails",
            DuplicateReason::Pec => "pec",
            DuplicateReason::Phone => "phones",
            DuplicateReason::CodiceFiscale => "codiceFiscale",
            DuplicateReason::PartitaIva => "partitaIva",
        };
        let access = ctx.data_opt::<Arc<RequestAccess>>()?;
        if !access.grant.allows("Contact", source) {
            let message = format!(
                "the {} role may not read `Contact.{source}`, which this value comes from",
                access.grant.name
            );
            return forbid(ctx, &message);
        }
        for contact in &self.0.contact_ids {
            access.trail.read_subject(contact);
        }
        Some(&self.0.value)
    }

    /// The contacts sharing the value, as far as the caller may see them.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        load_many(ctx, self.0.contact_ids.clone(), ContactById, Contact::from).await
    }
}

/// The answer to the contact mutations: the contact as saved and any warnings.
#[derive(SimpleObject)]
pub struct ContactPayload {
    /// The contact as saved.
    pub contact: Contact,
    /// What the caller should know but did not stop the change: the contact's addresses and
    /// numbers that are on the suppression list.
    pub warnings: Vec<String>,
}

#[derive(Default)]
pub struct ContactQueries;

/// A text search matches only the fields the caller's role may read.
fn text_search_scope(ctx: &Context<'_>) -> TextSearchScope {
    let grant = &access(ctx).grant;
    TextSearchScope {
        emails: grant.allows("Contact", "emails"),
        phones: grant.allows("Contact", "phones"),
        codice_fiscale: grant.allows("Contact", "codiceFiscale"),
        partita_iva: grant.allows("Contact", "partitaIva"),
    }
}

/// Filtering by a field reads it (which rows match tells its value): a filter on a field the
/// caller's role may not read is refused, naming the filter field.
fn require_filterable(ctx: &Context<'_>, filter: &ContactFilter) -> async_graphql::Result<()> {
    let grant = &access(ctx).grant;
    let used = [
        (filter.tags.is_some(), "tags", "filter.tags"),
        (
            filter.responsible_user_id.is_some(),
            "responsible",
            "filter.responsibleUserId",
        ),
        (
            filter.organization_id.is_some(),
            "organizations",
            "filter.organizationId",
        ),
    ];
    for (given, field, path) in used {
        if given && !grant.allows("Contact", field) {
            return Err(Error::forbidden(
                Some(path),
                format!(
                    "the {} role may not read `Contact.{field}`, so it may not filter by it",
                    grant.name
                ),
            ))
            .gql();
        }
    }
    Ok(())
}

async fn list(
    ctx: &Context<'_>,
    filter: ContactFilter,
    order: ContactOrder,
    args: PageArgs,
) -> async_graphql::Result<Paged<Contact>> {
    require_filterable(ctx, &filter)?;
    let scope = visibility::scope(ctx).clone();
    let query = ContactQuery::new(filter)
        .gql()?
        .searching(text_search_scope(ctx));
    let rules = state(ctx).contact_rules.clone();
    let (count_scope, count_query, count_rules) = (scope.clone(), query.clone(), rules.clone());
    let columns = columns_of_connection(ctx);
    paginate_db(
        ctx,
        args,
        move |c| contacts::count(c, &count_scope, &count_query, &count_rules),
        move |c, page| contacts::list(c, &scope, &query, order, page, &rules, columns),
    )
    .await
}

#[Object]
impl ContactQueries {
    /// People and organisations, filtered and ordered.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only contacts matching this filter; all the caller may see when omitted."
        )]
        filter: Option<ContactFilter>,
        #[graphql(desc = "The order; by name, ascending, when omitted.")] order_by: Option<
            ContactOrder,
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
    ) -> async_graphql::Result<Paged<Contact>> {
        list(
            ctx,
            filter.unwrap_or_default(),
            order_by.unwrap_or_default(),
            PageArgs::new(after, before, first, last),
        )
        .await
    }

    /// Organisations only: `contacts` with `kind: ORGANIZATION`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only organisations matching this filter (its `kind` is ignored).")]
        filter: Option<ContactFilter>,
        #[graphql(desc = "The order; by name, ascending, when omitted.")] order_by: Option<
            ContactOrder,
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
    ) -> async_graphql::Result<Paged<Contact>> {
        let filter = ContactFilter {
            kind: Some(ContactKind::Organization),
            ..filter.unwrap_or_default()
        };
        list(
            ctx,
            filter,
            order_by.unwrap_or_default(),
            PageArgs::new(after, before, first, last),
        )
        .await
    }

    /// One contact by ID; null when it does not exist or the caller may not see it.
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Contact` ID.")] id: ID,
    ) -> async_graphql::Result<Option<Contact>> {
        let key = decode_id(NodeType::Contact, &id)?;
        let contact = loader(ctx)
            .load_one(ContactById(key))
            .await?
            .map(Contact::from);
        visibility::lookup(ctx, contact).await
    }

    /// Groups of contacts sharing an email, PEC, phone, codice fiscale or partita IVA;
    /// only the groups of `contactId` when given.
    async fn find_duplicates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the groups this `Contact` belongs to.")] contact_id: Option<ID>,
    ) -> async_graphql::Result<Option<Vec<DuplicateGroup>>> {
        let only = contact_id
            .map(|id| decode_id(NodeType::Contact, &id))
            .transpose()?;
        let groups = read(ctx, move |c| contacts::find_duplicates(c, only.as_deref())).await?;
        Ok(Some(groups.into_iter().map(DuplicateGroup).collect()))
    }
}

/// Linking a person to an organisation the caller may not see would show them its members:
/// such an organisation is not there for them (NOT_FOUND, as an unknown ID).
async fn require_visible_organizations(
    ctx: &Context<'_>,
    affiliations: &[AffiliationInput],
) -> async_graphql::Result<()> {
    for (i, affiliation) in affiliations.iter().enumerate() {
        let field = format!("input.affiliations[{i}].organizationId");
        visibility::require_visible(ctx, NodeType::Contact, &affiliation.organization_id, &field)
            .await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct ContactMutations;

#[Object]
impl ContactMutations {
    /// Creates a contact with where its data came from and the legal grounds for processing it;
    /// the answer warns of suppressed addresses. Every role but the DPO.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new contact.")] input: CreateContactInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        require_visible_organizations(ctx, &input.affiliations).await?;
        let rules = state(ctx).contact_rules.clone();
        let (actor, basis_rules) = (gdpr::actor(ctx), state(ctx).gdpr.rules.clone());
        let hasher = state(ctx).gdpr.hasher.clone();
        let (row, warnings) = write_about(
            ctx,
            move |c| {
                let row = contacts::create(c, input, &rules, &basis_rules, &actor, Some(&hasher))?;
                let warnings = suppression::warnings_for_contact(c, &hasher, &row.id)?;
                Ok((row, warnings))
            },
            |(row, _)| vec![row.id.clone()],
        )
        .await?;
        Ok(Some(ContactPayload {
            contact: Contact::from(row),
            warnings,
        }))
    }

    /// Changes a contact the caller may see; fields left out keep their value, and each change goes
    /// to the contact's history.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's ID and the fields to change.")] input: UpdateContactInput,
    ) -> async_graphql::Result<ContactPayload> {
        visibility::require_visible(ctx, NodeType::Contact, &input.id, "input.id").await?;
        if let Some(affiliations) = &input.affiliations {
            require_visible_organizations(ctx, affiliations).await?;
        }
        let rules = state(ctx).contact_rules.clone();
        let author = access(ctx).principal_id();
        let (actor, hasher) = (gdpr::actor(ctx), state(ctx).gdpr.hasher.clone());
        let (row, warnings) = write(ctx, move |c| {
            let row = contacts::update(c, input, &rules, &author, &actor, &hasher)?;
            let warnings = suppression::warnings_for_contact(c, &hasher, &row.id)?;
            Ok((row, warnings))
        })
        .await?;
        Ok(ContactPayload {
            contact: Contact::from(row),
            warnings,
        })
    }

    /// Deletes a contact and what only describes it; matters and communications stay.
    async fn delete_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Contact` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        visibility::require_visible(ctx, NodeType::Contact, &input.id, "input.id").await?;
        let key = input.key(NodeType::Contact)?;
        write(ctx, move |c| contacts::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Folds duplicates into one contact, in one transaction.
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact that stays and those folded into it.")]
        input: MergeContactsInput,
    ) -> async_graphql::Result<Option<ContactPayload>> {
        visibility::require_visible(
            ctx,
            NodeType::Contact,
            &input.survivor_id,
            "input.survivorId",
        )
        .await?;
        for (i, id) in input.merged_ids.iter().enumerate() {
            let field = format!("input.mergedIds[{i}]");
            visibility::require_visible(ctx, NodeType::Contact, id, &field).await?;
        }
        let author = access(ctx).principal_id();
        let hasher = state(ctx).gdpr.hasher.clone();
        let (row, warnings) = write(ctx, move |c| {
            let row = contacts::merge(c, input, &author)?;
            let warnings = suppression::warnings_for_contact(c, &hasher, &row.id)?;
            Ok((row, warnings))
        })
        .await?;
        Ok(Some(ContactPayload {
            contact: Contact::from(row),
            warnings,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::SUMMARY_FIELDS;
    use crate::graphql::schema_map::SCHEMA_MAP;

    /// A renamed or removed field must leave the list, not linger in it unnoticed.
    #[test]
    fn every_summary_field_is_a_contact_field() {
        for field in SUMMARY_FIELDS.iter().filter(|f| **f != "__typename") {
            assert!(
                SCHEMA_MAP.field("Contact", field).is_some(),
                "Contact.{field} is not in the schema"
            );
        }
    }
}
