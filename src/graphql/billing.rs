//! Time entries and invoices in the GraphQL API (issue 16).

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};

use crate::access_policy::RowKind;
use crate::billing::invoices::{
    self, CreateInvoiceInput, InvoiceFilter, InvoiceKind, InvoiceLineRow, InvoiceQuery, InvoiceRow,
    InvoiceStatus, IssueInvoiceInput, PaymentMethod, PaymentRow, RecordPaymentInput,
};
use crate::billing::{
    self, fatturapa_import, CreateTimeEntryInput, Scope, TimeEntryFilter, TimeEntryQuery,
    TimeEntryRow, UpdateTimeEntryInput,
};
use crate::contacts::ContactColumns;
use crate::error::{Error, GraphqlResult};
use crate::graphql::contacts::Contact;
use crate::graphql::context::{loader, read, state, write, write_about};
use crate::graphql::directory::User;
use crate::graphql::field_guard::{
    access, forbid, note_read_subjects, reads_personal, SubjectRead,
};
use crate::graphql::loaders::*;
use crate::graphql::matters::Matter;
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::graphql::visibility;
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::listing::SortDirection;

/// The caller's need-to-know, which billing's queries render as SQL.
async fn scope(ctx: &Context<'_>) -> async_graphql::Result<Scope> {
    Ok(visibility::scope(ctx).clone())
}

/// Whether the caller may see invoice `key`.
pub async fn invoice_visible(ctx: &Context<'_>, key: &str) -> async_graphql::Result<bool> {
    visibility::sees(ctx, RowKind::Invoice, key).await
}

/// Notes a matter's parties as read when a personal field of `type_name` is: time recorded on
/// a matter is about its parties.
struct MatterPartiesRead<'a> {
    type_name: &'static str,
    matter_id: Option<&'a str>,
}

impl async_graphql::Guard for MatterPartiesRead<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if let (true, Some(matter)) = (reads_personal(ctx, self.type_name), self.matter_id) {
            let parties = loader(ctx)
                .load_one(PartiesOfMatter(matter.to_owned(), ContactColumns::Summary))
                .await?
                .unwrap_or_default();
            note_read_subjects(ctx, parties.iter().map(|p| p.contact.id()));
        }
        Ok(())
    }
}

async fn matter_of(
    ctx: &Context<'_>,
    id: Option<&String>,
) -> async_graphql::Result<Option<Matter>> {
    let Some(id) = id else {
        return Ok(None);
    };
    visibility::referenced_matter(ctx, id).await
}

async fn user_of(ctx: &Context<'_>, id: Option<&String>) -> async_graphql::Result<Option<User>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(loader(ctx).load_one(UserById(id.clone())).await?.map(User))
}

/// Time worked on a matter.
pub struct TimeEntry(pub TimeEntryRow);

impl From<TimeEntryRow> for TimeEntry {
    fn from(row: TimeEntryRow) -> Self {
        TimeEntry(row)
    }
}

/// Time a lawyer or other timekeeper worked on a matter: the day, how long, what was done
/// (UTBMS-coded) and at what rate, and the invoice once billed. Casework roles; lawyers and
/// trainees see the time of their matters and their own.
#[Object(
    guard = "MatterPartiesRead { type_name: \"TimeEntry\", matter_id: Some(&self.0.matter_id) }"
)]
impl TimeEntry {
    /// The time entry's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::TimeEntry, &self.0.id)
    }

    /// The matter the time was spent on; null with a `FORBIDDEN` error when the caller is not
    /// on it.
    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        matter_of(ctx, Some(&self.0.matter_id)).await
    }

    /// The user who worked (the timekeeper); null if since deleted.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_of(ctx, self.0.user_id.as_ref()).await
    }

    /// The day the work was done (ISO 8601 date).
    async fn date(&self) -> NaiveDate {
        self.0.work_date
    }

    /// How long, in minutes.
    async fn minutes(&self) -> i32 {
        self.0.minutes
    }

    /// The UTBMS task code, e.g. "L120"; null when none.
    async fn task_code(&self) -> Option<&str> {
        self.0.task_code.as_deref()
    }

    /// The UTBMS activity code, e.g. "A103"; null when none.
    async fn activity_code(&self) -> Option<&str> {
        self.0.activity_code.as_deref()
    }

    /// What was done, as the client reads it on the invoice.
    async fn narrative(&self) -> &str {
        &self.0.narrative
    }

    /// Whether the time is charged to the client.
    async fn billable(&self) -> bool {
        self.0.billable
    }

    /// The hourly rate in cents.
    async fn rate_cents(&self) -> i64 {
        self.0.rate_cents
    }

    /// What the time is worth at its rate, in cents (rounded half up).
    async fn amount_cents(&self) -> i64 {
        self.0.amount_cents()
    }

    /// Whether the time is on an invoice (not cancelled).
    async fn billed(&self) -> bool {
        self.0.invoice_id.is_some()
    }

    /// The invoice the time is billed on; null while unbilled, or null with a `FORBIDDEN` error
    /// when the caller may not see it.
    async fn invoice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Invoice>> {
        let Some(id) = &self.0.invoice_id else {
            return Ok(None);
        };
        let Some(row) = loader(ctx).load_one(InvoiceById(id.clone())).await? else {
            return Ok(None);
        };
        if invoice_visible(ctx, id).await? {
            Ok(Some(Invoice(row)))
        } else {
            Ok(forbid(ctx, "this invoice bills matters you are not on"))
        }
    }

    /// When the entry was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When it last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// Visible with its matter, or to the user who recorded it.
impl visibility::Row for TimeEntry {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::TimeEntry, &self.0.id))
    }
}

/// An invoice or fee note to a client.
pub struct Invoice(pub InvoiceRow);

impl From<InvoiceRow> for Invoice {
    fn from(row: InvoiceRow) -> Self {
        Invoice(row)
    }
}

/// An invoice (fattura) or fee note (parcella) to a client, made from the unbilled time of one
/// or more matters: its lines, the fees with the cassa forense contribution, VAT and the
/// withholding tax, its number once issued, and its payments. Amounts are in cents. Kept ten
/// years (art. 2220 c.c.). Casework roles; lawyers and trainees see those of their matters.
#[Object(guard = "SubjectRead::new(\"Invoice\", self.0.client_contact_id.as_deref())")]
impl Invoice {
    /// The invoice's global ID.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Invoice, &self.0.id)
    }

    /// An invoice (TD01) or a fee note (parcella, TD06).
    async fn kind(&self) -> async_graphql::Result<InvoiceKind> {
        self.0.kind().gql()
    }

    /// Draft, issued, paid or cancelled.
    async fn status(&self) -> async_graphql::Result<InvoiceStatus> {
        self.0.status().gql()
    }

    /// The invoice number as printed, e.g. "7/2026"; null while a draft.
    async fn number(&self) -> Option<String> {
        self.0.display_number()
    }

    /// The progressive number within its year; null while a draft.
    async fn sequence(&self) -> Option<i32> {
        self.0.number
    }

    /// The year the number counts in (the year of issue); null while a draft.
    async fn fiscal_year(&self) -> Option<i32> {
        self.0.fiscal_year
    }

    /// The client invoiced; null if the contact was since erased, or null with a `FORBIDDEN`
    /// error when the caller may not see it.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = &self.0.client_contact_id else {
            return Ok(None);
        };
        visibility::referenced_contact(ctx, id).await
    }

    /// The client's name as invoiced.
    async fn client_name(&self) -> Option<&str> {
        self.0.client_name.as_deref()
    }

    /// The client's codice fiscale as invoiced.
    async fn client_codice_fiscale(&self) -> Option<&str> {
        self.0.client_codice_fiscale.as_deref()
    }

    /// The client's partita IVA as invoiced.
    async fn client_partita_iva(&self) -> Option<&str> {
        self.0.client_partita_iva.as_deref()
    }

    /// The client's street and number as invoiced.
    async fn client_street(&self) -> Option<&str> {
        self.0.client_street.as_deref()
    }

    /// The client's postal code as invoiced.
    async fn client_postal_code(&self) -> Option<&str> {
        self.0.client_postal_code.as_deref()
    }

    /// The client's municipality as invoiced.
    async fn client_city(&self) -> Option<&str> {
        self.0.client_city.as_deref()
    }

    /// The client's province code as invoiced.
    async fn client_province(&self) -> Option<&str> {
        self.0.client_province.as_deref()
    }

    /// The client's country (ISO 3166-1 alpha-2) as invoiced.
    async fn client_country(&self) -> Option<&str> {
        self.0.client_country.as_deref()
    }

    /// The client's SDI recipient code ("0000000" when by PEC or to a private person).
    async fn recipient_code(&self) -> &str {
        &self.0.recipient_code
    }

    /// The PEC address the SDI delivers to, if any.
    async fn recipient_pec(&self) -> Option<&str> {
        self.0.recipient_pec.as_deref()
    }

    /// The matters the invoice bills (those the caller may see).
    async fn matters(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Matter>> {
        let matters = loader(ctx)
            .load_one(MattersOfInvoice(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(matters
            .into_iter()
            .filter_map(|(matter, visible)| visible.then_some(Matter(matter)))
            .collect())
    }

    /// The date of issue; null while a draft.
    async fn issue_date(&self) -> Option<NaiveDate> {
        self.0.issue_date
    }

    /// When payment is due; null while a draft.
    async fn due_date(&self) -> Option<NaiveDate> {
        self.0.due_date
    }

    /// The currency (ISO 4217): EUR.
    async fn currency(&self) -> &str {
        "EUR"
    }

    /// The fees: the sum of the lines, in cents.
    async fn net_cents(&self) -> i64 {
        self.0.net_cents
    }

    /// The cassa forense contribution rate in basis points (400 = 4%).
    async fn cassa_rate_basis_points(&self) -> i32 {
        self.0.cassa_rate_bp
    }

    /// The cassa forense contribution on the fees, in cents.
    async fn cassa_cents(&self) -> i64 {
        self.0.cassa_cents
    }

    /// The VAT rate in basis points (2200 = 22%).
    async fn vat_rate_basis_points(&self) -> i32 {
        self.0.vat_rate_bp
    }

    /// VAT on the fees and the contribution, in cents.
    async fn vat_cents(&self) -> i64 {
        self.0.vat_cents
    }

    /// The withholding tax rate in basis points (2000 = 20%; 0 when the client withholds
    /// nothing).
    async fn withholding_rate_basis_points(&self) -> i32 {
        self.0.withholding_rate_bp
    }

    /// The tax the client withholds on the fees (ritenuta d'acconto), in cents.
    async fn withholding_cents(&self) -> i64 {
        self.0.withholding_cents
    }

    /// Fees, contribution and VAT: the document's total, in cents.
    async fn total_cents(&self) -> i64 {
        self.0.total_cents()
    }

    /// What the client pays: the total less the withholding tax, in cents.
    async fn payable_cents(&self) -> i64 {
        self.0.payable_cents()
    }

    /// What was paid so far, in cents.
    async fn paid_cents(&self) -> i64 {
        self.0.paid_cents
    }

    /// What remains to be paid on an issued invoice, in cents (0 for drafts and cancelled
    /// invoices).
    async fn outstanding_cents(&self) -> i64 {
        self.0.outstanding_cents()
    }

    /// The invoice's lines, one per time entry billed.
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<InvoiceLine>> {
        Ok(loader(ctx)
            .load_one(LinesOfInvoice(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|row| InvoiceLine {
                row,
                client: self.0.client_contact_id.clone(),
            })
            .collect())
    }

    /// The payments received, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<InvoicePayment>> {
        Ok(loader(ctx)
            .load_one(PaymentsOfInvoice(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(InvoicePayment)
            .collect())
    }

    /// Free text printed on the invoice.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// The invoice's identifiers in other systems, one per source system and record (e.g.
    /// source `fatturapa`, the seller's partita IVA, year and number of an imported
    /// e-invoice); empty for an invoice made here and never exported elsewhere.
    async fn external_ids(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InvoiceExternalId>> {
        Ok(loader(ctx)
            .load_one(ExternalIdsOfInvoice(self.0.id.clone()))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|r| InvoiceExternalId {
                source: r.source,
                external_id: r.external_id,
                created_at: r.created_at.and_utc(),
            })
            .collect())
    }

    /// When it was paid in full (UTC, ISO 8601).
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at.map(|t| t.and_utc())
    }

    /// When it was cancelled (UTC, ISO 8601).
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at.map(|t| t.and_utc())
    }

    /// When it was drafted (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When it last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

/// One line of an invoice.
pub struct InvoiceLine {
    row: InvoiceLineRow,
    client: Option<String>,
}

/// One line of an invoice: a time entry as billed (its own copy, which later changes to the
/// entry do not touch).
#[Object(guard = "SubjectRead::new(\"InvoiceLine\", self.client.as_deref())")]
impl InvoiceLine {
    /// The line's number on the invoice, from 1.
    async fn position(&self) -> i32 {
        self.row.position
    }

    /// The matter the time was spent on; null if since deleted, or null with a `FORBIDDEN`
    /// error when the caller is not on it.
    async fn matter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Matter>> {
        matter_of(ctx, self.row.matter_id.as_ref()).await
    }

    /// The timekeeper.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_of(ctx, self.row.user_id.as_ref()).await
    }

    /// The day worked.
    async fn date(&self) -> NaiveDate {
        self.row.work_date
    }

    /// What was done, as billed.
    async fn description(&self) -> &str {
        &self.row.description
    }

    /// The UTBMS task code.
    async fn task_code(&self) -> Option<&str> {
        self.row.task_code.as_deref()
    }

    /// The UTBMS activity code.
    async fn activity_code(&self) -> Option<&str> {
        self.row.activity_code.as_deref()
    }

    /// How long, in minutes.
    async fn minutes(&self) -> i32 {
        self.row.minutes
    }

    /// The hourly rate in cents.
    async fn rate_cents(&self) -> i64 {
        self.row.rate_cents
    }

    /// The line's amount in cents (minutes at the rate, rounded half up).
    async fn amount_cents(&self) -> i64 {
        self.row.amount_cents
    }
}

/// A payment received on an invoice.
pub struct InvoicePayment(PaymentRow);

/// A payment received on an invoice.
#[Object]
impl InvoicePayment {
    /// The payment's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::InvoicePayment, &self.0.id)
    }

    /// The amount in cents.
    async fn amount_cents(&self) -> i64 {
        self.0.amount_cents
    }

    /// The day the money arrived.
    async fn paid_on(&self) -> NaiveDate {
        self.0.paid_on
    }

    /// How it was paid.
    async fn method(&self) -> async_graphql::Result<PaymentMethod> {
        PaymentMethod::from_db(&self.0.method).gql()
    }

    /// The bank's or payer's reference.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    /// When it was recorded (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }
}

/// The answer to the time-entry mutations.
#[derive(SimpleObject)]
pub struct TimeEntryPayload {
    /// The time entry as saved.
    pub time_entry: TimeEntry,
}

/// An invoice's identifier in another system.
#[derive(SimpleObject)]
pub struct InvoiceExternalId {
    /// The system, e.g. `fatturapa` for an imported e-invoice.
    pub source: String,
    /// The invoice's identifier there (for `fatturapa`: `IT` and the seller's partita IVA,
    /// the year and the number as printed, e.g. `IT01234567897/2026/FE-12`).
    pub external_id: String,
    /// When it was recorded (UTC, ISO 8601).
    pub created_at: DateTime<Utc>,
}

/// A FatturaPA document to import, for `importFatturaPa`: exactly one of `xml` and
/// `p7mBase64`.
#[derive(Debug, Clone, InputObject)]
pub struct ImportFatturaPaInput {
    /// The document as plain XML (FPR12 or FPA12, schema 1.2.x).
    pub xml: Option<String>,
    /// A signed CAdES envelope (`.p7m`, DER) in base64; the signed XML inside is imported
    /// (the signature itself is not verified; BER envelopes with indefinite lengths and
    /// detached signatures are refused).
    #[graphql(name = "p7mBase64")]
    pub p7m_base64: Option<String>,
}

/// One invoice of an imported document.
#[derive(SimpleObject)]
pub struct ImportedInvoice {
    /// The invoice, as imported now or before.
    pub invoice: Invoice,
    /// False when the invoice was there already: importing it again changed nothing.
    pub created: bool,
    /// Whether the import created the client contact (else it was matched by partita IVA or
    /// codice fiscale).
    pub client_created: bool,
}

/// The answer to `importFatturaPa`.
#[derive(SimpleObject)]
pub struct ImportFatturaPaPayload {
    /// Each invoice of the document (FatturaElettronicaBody), in order.
    pub invoices: Vec<ImportedInvoice>,
}

/// The answer to the invoice mutations.
#[derive(SimpleObject)]
pub struct InvoicePayload {
    /// The invoice as saved.
    pub invoice: Invoice,
}

/// A matter to bill through a billing connector.
#[derive(Debug, Clone, InputObject)]
pub struct BillMatterThroughConnectorInput {
    /// The `ConnectorInstance` of the billing system (kind `stripe`).
    pub instance_id: ID,
    /// The `Matter` whose unbilled billable time is billed; its client must be a customer the
    /// instance imported.
    pub matter_id: ID,
}

/// The answer to `billMatterThroughConnector`.
#[derive(SimpleObject)]
pub struct BillMatterThroughConnectorPayload {
    /// The invoice the billing system made, keyed by its id there (`externalIds`), with the
    /// billed time as its lines.
    pub invoice: Invoice,
    /// Time entries this call sent as new invoice items.
    pub items_pushed: i32,
    /// Invoice items an interrupted earlier call had created, found again by their key
    /// instead of being sent twice.
    pub items_recovered: i32,
}

/// The answer to `recordPayment`.
#[derive(SimpleObject)]
pub struct RecordPaymentPayload {
    /// The invoice, paid in full or not.
    pub invoice: Invoice,
    /// The payment recorded.
    pub payment: InvoicePayment,
}

#[derive(Default)]
pub struct BillingQueries;

#[Object]
impl BillingQueries {
    /// Time entries, oldest work first unless `order: DESC`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn time_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only time entries matching this filter; all the caller may see when omitted."
        )]
        filter: Option<TimeEntryFilter>,
        #[graphql(
            default_with = "SortDirection::Asc",
            desc = "`ASC` (default) for the oldest work first, `DESC` for the latest first."
        )]
        order: SortDirection,
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
    ) -> async_graphql::Result<Option<Paged<TimeEntry>>> {
        let query = TimeEntryQuery::new(filter.unwrap_or_default(), scope(ctx).await?).gql()?;
        let count_query = query.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| billing::count_entries(c, &count_query),
            move |c, page| billing::list_entries(c, &query, order, page),
        )
        .await
        .map(Some)
    }

    /// Invoices, newest first unless `order: ASC`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only invoices matching this filter; all the caller may see when omitted."
        )]
        filter: Option<InvoiceFilter>,
        #[graphql(
            default_with = "SortDirection::Desc",
            desc = "`DESC` (default) for the newest first, `ASC` for the oldest first, by creation."
        )]
        order: SortDirection,
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
    ) -> async_graphql::Result<Option<Paged<Invoice>>> {
        let query = InvoiceQuery::new(filter.unwrap_or_default(), scope(ctx).await?).gql()?;
        let count_query = query.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| invoices::count(c, &count_query),
            move |c, page| invoices::list(c, &query, order, page),
        )
        .await
        .map(Some)
    }

    /// An issued invoice's time as LEDES 1998B text (e-billing): a header, the 24 field names,
    /// one line per invoice line.
    async fn ledes_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The issued `Invoice`.")] invoice_id: ID,
    ) -> async_graphql::Result<Option<String>> {
        let key = require_invoice(ctx, &invoice_id, "invoiceId").await?;
        let firm_id = state(ctx).firm.ledes_firm_id().to_owned();
        let id = key.clone();
        let text = read(ctx, move |c| billing::ledes::export(c, &id, &firm_id)).await?;
        note_client_read(ctx, &key).await?;
        Ok(Some(text))
    }
    /// A matter's billed time as LEDES 1998B text: its lines on every issued or paid invoice,
    /// oldest invoice first, each with that invoice's number, date and total of its lines.
    async fn matter_ledes_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Matter`.")] matter_id: ID,
    ) -> async_graphql::Result<Option<String>> {
        visibility::require_visible(ctx, NodeType::Matter, &matter_id, "matterId").await?;
        let key = ids::decode(NodeType::Matter, &matter_id, "matterId").gql()?;
        let firm_id = state(ctx).firm.ledes_firm_id().to_owned();
        let (text, clients) = read(ctx, move |c| {
            billing::ledes::export_matter(c, &key, &firm_id)
        })
        .await?;
        note_read_subjects(ctx, clients.iter().map(String::as_str));
        Ok(Some(text))
    }

    /// An issued invoice as FatturaPA XML (FPR12 1.2.3): TD01 for an invoice, TD06 for a
    /// parcella, the firm from the `[firm]` configuration as CedentePrestatore.
    async fn fattura_pa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The issued `Invoice`.")] invoice_id: ID,
    ) -> async_graphql::Result<Option<String>> {
        let key = require_invoice(ctx, &invoice_id, "invoiceId").await?;
        let firm = state(ctx).firm.clone();
        let id = key.clone();
        let xml = read(ctx, move |c| billing::fatturapa::export(c, &id, &firm)).await?;
        note_client_read(ctx, &key).await?;
        Ok(Some(xml))
    }
}

/// An invoice ID the caller may see, decoded; one they may not see is not found.
async fn require_invoice(ctx: &Context<'_>, id: &ID, field: &str) -> async_graphql::Result<String> {
    let key = ids::decode(NodeType::Invoice, id, field).gql()?;
    if !invoice_visible(ctx, &key).await? {
        return Err(Error::not_found("Invoice", key)).gql();
    }
    Ok(key)
}

/// An export of an invoice is about its client: the access log names them.
async fn note_client_read(ctx: &Context<'_>, key: &str) -> async_graphql::Result<()> {
    if let Some(row) = loader(ctx).load_one(InvoiceById(key.to_owned())).await? {
        note_read_subjects(ctx, row.client_contact_id.as_deref());
    }
    Ok(())
}

#[derive(Default)]
pub struct BillingMutations;

#[Object]
impl BillingMutations {
    /// Records time worked on a matter the caller may see; the timekeeper is the caller unless
    /// named.
    async fn create_time_entry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The matter, day, duration, codes, narrative and rate.")]
        input: CreateTimeEntryInput,
    ) -> async_graphql::Result<Option<TimeEntryPayload>> {
        visibility::require_visible(ctx, NodeType::Matter, &input.matter_id, "input.matterId")
            .await?;
        let caller = access(ctx).user_id().map(str::to_owned);
        let row = write(ctx, move |c| {
            billing::create_entry(c, input, caller.as_deref())
        })
        .await?;
        Ok(Some(TimeEntryPayload {
            time_entry: TimeEntry(row),
        }))
    }

    /// Changes a time entry not yet billed; fields left out keep their value.
    async fn update_time_entry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The entry's ID and the fields to change.")] input: UpdateTimeEntryInput,
    ) -> async_graphql::Result<Option<TimeEntryPayload>> {
        visibility::require_visible(ctx, NodeType::TimeEntry, &input.id, "input.id").await?;
        let row = write(ctx, move |c| billing::update_entry(c, input)).await?;
        Ok(Some(TimeEntryPayload {
            time_entry: TimeEntry(row),
        }))
    }

    /// Deletes a time entry not yet billed.
    async fn delete_time_entry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `TimeEntry` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        visibility::require_visible(ctx, NodeType::TimeEntry, &input.id, "input.id").await?;
        let key = input.key(NodeType::TimeEntry)?;
        write(ctx, move |c| billing::delete_entry(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Drafts an invoice from the unbilled billable time of matters the caller may see: one
    /// line per entry, the amounts computed, the time marked billed, all at once.
    async fn create_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The matters, the client and the tax settings.")]
        input: CreateInvoiceInput,
    ) -> async_graphql::Result<Option<InvoicePayload>> {
        visibility::require_all_visible(
            ctx,
            NodeType::Matter,
            &input.matter_ids,
            "input.matterIds",
        )
        .await?;
        let by = access(ctx).user_id().map(str::to_owned);
        let (row, _) = write_about(
            ctx,
            move |c| invoices::create(c, input, by.as_deref()),
            |(row, _)| row.client_contact_id.iter().cloned().collect(),
        )
        .await?;
        Ok(Some(InvoicePayload {
            invoice: Invoice(row),
        }))
    }

    /// Issues a draft: numbers it in the year of issue and fixes the client's details.
    async fn issue_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft and its dates.")] input: IssueInvoiceInput,
    ) -> async_graphql::Result<Option<InvoicePayload>> {
        require_invoice(ctx, &input.id, "input.id").await?;
        let today = Utc::now().date_naive();
        let row = write_about(
            ctx,
            move |c| invoices::issue(c, input, today),
            |row| row.client_contact_id.iter().cloned().collect(),
        )
        .await?;
        Ok(Some(InvoicePayload {
            invoice: Invoice(row),
        }))
    }

    /// Records a payment on an issued invoice; paid in full, it becomes paid.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice, amount, day and method.")] input: RecordPaymentInput,
    ) -> async_graphql::Result<Option<RecordPaymentPayload>> {
        require_invoice(ctx, &input.invoice_id, "input.invoiceId").await?;
        let by = access(ctx).user_id().map(str::to_owned);
        let (row, payment) = write(ctx, move |c| {
            invoices::record_payment(c, input, by.as_deref())
        })
        .await?;
        Ok(Some(RecordPaymentPayload {
            invoice: Invoice(row),
            payment: InvoicePayment(payment),
        }))
    }

    /// Imports the firm's issued e-invoices from a FatturaPA document (TD01 and TD06): each
    /// becomes an issued invoice with its lines, cassa, VAT, withholding and totals as the
    /// document states them; the CessionarioCommittente is linked to the contact with their
    /// partita IVA or codice fiscale, or becomes a client contact (source: the import; basis:
    /// contract). The same document imported again changes nothing. A bad document is
    /// refused naming its element (`BAD_USER_INPUT`), and nothing of it is imported.
    async fn import_fattura_pa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document, as XML or as a signed `.p7m` envelope.")]
        input: ImportFatturaPaInput,
    ) -> async_graphql::Result<Option<ImportFatturaPaPayload>> {
        let (field, xml) = match (input.xml, input.p7m_base64) {
            (Some(xml), None) => ("input.xml", xml),
            (None, Some(p7m)) => (
                "input.p7mBase64",
                fatturapa_import::unwrap_p7m("input.p7mBase64", p7m.as_bytes()).gql()?,
            ),
            _ => {
                return Err(Error::invalid(
                    "input",
                    "give exactly one of xml and p7mBase64",
                ))
                .gql()
            }
        };
        let firm = state(ctx).firm.clone();
        let contact_rules = state(ctx).contact_rules.clone();
        let basis_rules = state(ctx).gdpr.rules.clone();
        let hasher = state(ctx).gdpr.hasher.clone();
        let actor = crate::graphql::gdpr::actor(ctx);
        let imported = write_about(
            ctx,
            move |c| {
                fatturapa_import::import(
                    c,
                    field,
                    &xml,
                    &fatturapa_import::ImportRules {
                        firm: &firm,
                        contact_rules: &contact_rules,
                        basis_rules: &basis_rules,
                        actor: &actor,
                        hasher: &hasher,
                    },
                )
            },
            |imported| {
                imported
                    .iter()
                    .filter(|i| i.created)
                    .map(|i| i.client_id.clone())
                    .collect()
            },
        )
        .await?;
        Ok(Some(ImportFatturaPaPayload {
            invoices: imported
                .into_iter()
                .map(|i| ImportedInvoice {
                    invoice: Invoice(i.invoice),
                    created: i.created,
                    client_created: i.client_created,
                })
                .collect(),
        }))
    }

    /// Bills a matter's unbilled billable time through a billing connector (kind `stripe`):
    /// each time entry becomes an invoice item of the client's customer there, then one
    /// invoice takes them, and the time is marked billed on the `Invoice` of that invoice.
    /// Each push is recorded before and after its remote call, so calling again after a failure
    /// (`SERVICE_UNAVAILABLE`, `TOO_MANY_REQUESTS`) or a crash finishes the same bill and never
    /// bills the same time twice.
    async fn bill_matter_through_connector(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The billing connector instance and the matter.")]
        input: BillMatterThroughConnectorInput,
    ) -> async_graphql::Result<Option<BillMatterThroughConnectorPayload>> {
        let instance = ids::decode(
            NodeType::ConnectorInstance,
            &input.instance_id,
            "input.instanceId",
        )
        .gql()?;
        visibility::require_visible(ctx, NodeType::Matter, &input.matter_id, "input.matterId")
            .await?;
        let matter = ids::decode(NodeType::Matter, &input.matter_id, "input.matterId").gql()?;
        let billed = state(ctx)
            .sync
            .bill_matter(&instance, &matter)
            .await
            .gql()?;
        // The time's narratives went to the billing system under the client's customer.
        if let Some(client) = &billed.invoice.client_contact_id {
            access(ctx).trail.wrote_subject(client);
        }
        Ok(Some(BillMatterThroughConnectorPayload {
            invoice: Invoice(billed.invoice),
            items_pushed: billed.items_pushed,
            items_recovered: billed.items_recovered,
        }))
    }

    /// Cancels a draft, or an issued invoice with no payments; its time can be billed again.
    async fn cancel_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `Invoice` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<InvoicePayload>> {
        let key = require_invoice(ctx, &input.id, "input.id").await?;
        let row = write(ctx, move |c| invoices::cancel(c, &key)).await?;
        Ok(Some(InvoicePayload {
            invoice: Invoice(row),
        }))
    }
}
