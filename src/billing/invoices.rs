//! Invoices made from a matter's unbilled time: drafted with their lines computed and the time
//! marked billed in one transaction, then issued (numbered per year), paid and cancelled.

use std::collections::{BTreeSet, HashMap};

use async_graphql::{InputObject, ID};
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use diesel::dsl::max;
use diesel::prelude::*;

use super::{invoices_within, money, Scope, TimeEntryRow};
use crate::access_policy::scope::InvoiceMatters;
use crate::db::schema::{
    invoice_external_ids, invoice_lines, invoice_matters, invoice_payments, invoices, matters,
    time_entries,
};
use crate::db::{insert_batch, new_id, now, text_enum, AnyConnection, Db};
use crate::error::{Error, Result, Validator};
use crate::ids::{self, NodeType};
use crate::listing::{group_by_key, group_pairs, Page, SortDirection};
use crate::matters::MatterRow;

/// The cassa forense contribution (art. 11 L. 576/1980): 4% of the fees.
pub const CASSA_RATE_BP: i32 = 400;
/// Withholding tax on professional fees (ritenuta d'acconto, art. 25 DPR 600/1973): 20%.
pub const WITHHOLDING_RATE_BP: i32 = 2_000;
/// The ordinary VAT rate.
pub const DEFAULT_VAT_RATE_BP: i32 = 2_200;
/// Days from issue to due date when none is given.
const DEFAULT_PAYMENT_DAYS: i64 = 30;
/// The SDI code for a recipient reached by PEC or a private person.
pub const NO_RECIPIENT_CODE: &str = "0000000";

text_enum! {
    /// What sort of document an invoice is (its FatturaPA TipoDocumento).
    InvoiceKind {
        /// An invoice (fattura, TD01).
        Invoice => "invoice",
        /// A lawyer's fee note (parcella, TD06).
        Parcella => "parcella",
    }
}

text_enum! {
    /// Where an invoice stands.
    InvoiceStatus {
        /// Being prepared: no number yet, its time already reserved.
        Draft => "draft",
        /// Issued with its number; awaiting payment.
        Issued => "issued",
        /// Paid in full.
        Paid => "paid",
        /// Withdrawn; its time can be billed again.
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// How a payment was made.
    PaymentMethod {
        /// Bank transfer (bonifico).
        BankTransfer => "bank_transfer",
        /// Card.
        Card => "card",
        /// Cash.
        Cash => "cash",
        /// Cheque (assegno).
        Cheque => "cheque",
        /// Any other way.
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = invoices,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct InvoiceRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub fiscal_year: Option<i32>,
    pub number: Option<i32>,
    pub client_contact_id: Option<String>,
    pub client_name: Option<String>,
    pub client_codice_fiscale: Option<String>,
    pub client_partita_iva: Option<String>,
    pub client_street: Option<String>,
    pub client_postal_code: Option<String>,
    pub client_city: Option<String>,
    pub client_province: Option<String>,
    pub client_country: Option<String>,
    pub recipient_code: String,
    pub recipient_pec: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub net_cents: i64,
    pub cassa_rate_bp: i32,
    pub cassa_cents: i64,
    pub vat_rate_bp: i32,
    pub vat_cents: i64,
    pub withholding_rate_bp: i32,
    pub withholding_cents: i64,
    pub paid_cents: i64,
    pub notes: Option<String>,
    pub created_by: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl InvoiceRow {
    pub fn status(&self) -> Result<InvoiceStatus> {
        InvoiceStatus::from_db(&self.status)
    }

    pub fn kind(&self) -> Result<InvoiceKind> {
        InvoiceKind::from_db(&self.kind)
    }

    /// "12/2026" once issued.
    pub fn display_number(&self) -> Option<String> {
        Some(format!("{}/{}", self.number?, self.fiscal_year?))
    }

    /// Fees, contribution and VAT: the document's total.
    pub fn total_cents(&self) -> i64 {
        self.net_cents + self.cassa_cents + self.vat_cents
    }

    /// What the client pays: the total less the tax they withhold.
    pub fn payable_cents(&self) -> i64 {
        self.total_cents() - self.withholding_cents
    }

    pub fn outstanding_cents(&self) -> i64 {
        match self.status() {
            Ok(InvoiceStatus::Issued | InvoiceStatus::Paid) => {
                self.payable_cents() - self.paid_cents
            }
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_lines, treat_none_as_default_value = false)]
pub struct InvoiceLineRow {
    pub id: String,
    pub invoice_id: String,
    pub position: i32,
    pub time_entry_id: Option<String>,
    pub matter_id: Option<String>,
    pub user_id: Option<String>,
    pub work_date: NaiveDate,
    pub description: String,
    pub task_code: Option<String>,
    pub activity_code: Option<String>,
    pub minutes: i32,
    pub rate_cents: i64,
    pub amount_cents: i64,
}

const LINE_COLUMNS: usize = 13;

/// An invoice's identifier in another system (a FatturaPA import's natural key, ...).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invoice_external_ids)]
pub struct InvoiceExternalIdRow {
    pub source: String,
    pub external_id: String,
    pub invoice_id: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_payments, treat_none_as_default_value = false)]
pub struct PaymentRow {
    pub id: String,
    pub invoice_id: String,
    pub amount_cents: i64,
    pub paid_on: NaiveDate,
    pub method: String,
    pub reference: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: NaiveDateTime,
}

/// An invoice to draft from the unbilled billable time of one or more matters, for
/// `createInvoice`.
#[derive(Debug, Clone, InputObject)]
pub struct CreateInvoiceInput {
    /// The `Matter`s whose unbilled billable time the invoice bills.
    pub matter_ids: Vec<ID>,
    /// The client `Contact` invoiced: a client of every matter; needed only when the matters
    /// have more than one client in common.
    pub client_id: Option<ID>,
    /// An invoice (TD01, the default) or a fee note (parcella, TD06).
    #[graphql(default_with = "InvoiceKind::Invoice")]
    pub kind: InvoiceKind,
    /// Bill only time worked on or before this day; all unbilled time when left out.
    pub through: Option<NaiveDate>,
    /// The VAT rate in basis points (2200 = 22%, the default; 0 for none).
    #[graphql(default = 2200)]
    pub vat_rate_basis_points: i32,
    /// Whether the client withholds tax (ritenuta d'acconto, 20% of the fees): true by default
    /// for an organisation, false for a private person.
    pub withholding: Option<bool>,
    /// The client's SDI recipient code (codice destinatario): seven characters, "0000000" (the
    /// default) when the invoice goes by PEC or to a private person.
    pub recipient_code: Option<String>,
    /// The client's PEC address the SDI delivers to, when there is no recipient code.
    pub recipient_pec: Option<String>,
    /// Free text printed on the invoice.
    pub notes: Option<String>,
}

/// Issues a draft invoice, for `issueInvoice`.
#[derive(Debug, Clone, InputObject)]
pub struct IssueInvoiceInput {
    /// The draft `Invoice`.
    pub id: ID,
    /// The date of issue, which also picks the year the number counts in; today when left out.
    pub issue_date: Option<NaiveDate>,
    /// When payment is due; 30 days after issue when left out.
    pub due_date: Option<NaiveDate>,
}

/// A payment received, for `recordPayment`.
#[derive(Debug, Clone, InputObject)]
pub struct RecordPaymentInput {
    /// The issued `Invoice` paid.
    pub invoice_id: ID,
    /// The amount received in cents: more than 0, at most what is outstanding.
    pub amount_cents: i64,
    /// The day the money arrived.
    pub paid_on: NaiveDate,
    /// How it was paid.
    pub method: PaymentMethod,
    /// The bank's or the payer's reference (e.g. a transfer's CRO).
    pub reference: Option<String>,
}

/// Which invoices `invoices` lists; the conditions combine with AND.
#[derive(Debug, Clone, Default, InputObject)]
pub struct InvoiceFilter {
    /// Any of these statuses.
    pub statuses: Option<Vec<InvoiceStatus>>,
    /// Invoices to this client `Contact`.
    pub client_id: Option<ID>,
    /// Invoices billing this `Matter`.
    pub matter_id: Option<ID>,
    /// Invoices numbered in this year.
    pub fiscal_year: Option<i32>,
    /// Issued on or after this day.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before this day.
    pub issued_to: Option<NaiveDate>,
}

fn conflict(message: impl Into<String>) -> Error {
    Error::Conflict {
        field: Some("input.id".to_owned()),
        message: message.into(),
    }
}

/// The client details an invoice keeps as they were when it was made (and issued).
pub fn snapshot_client(conn: &mut AnyConnection, row: &mut InvoiceRow) -> Result<()> {
    let Some(contact_id) = row.client_contact_id.clone() else {
        return Ok(());
    };
    let contact = crate::contacts::get(conn, &contact_id)?;
    let address = crate::contacts::addresses_of(conn, std::slice::from_ref(&contact_id))?
        .remove(&contact_id)
        .and_then(|a| a.into_iter().next());
    row.client_name = Some(contact.display_name);
    row.client_codice_fiscale = contact.codice_fiscale;
    row.client_partita_iva = contact.partita_iva;
    row.client_street = address.as_ref().map(|a| a.street.clone());
    row.client_postal_code = address.as_ref().and_then(|a| a.postal_code.clone());
    row.client_city = address.as_ref().map(|a| a.city.clone());
    row.client_province = address.as_ref().and_then(|a| a.province.clone());
    row.client_country = address.map(|a| a.country);
    Ok(())
}

fn valid_recipient_code(code: &str) -> bool {
    (6..=7).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Drafts an invoice from the matters' unbilled billable time: its lines, its amounts, and the
/// time marked billed, in the caller's transaction.
pub fn create(
    conn: &mut AnyConnection,
    input: CreateInvoiceInput,
    by: Option<&str>,
) -> Result<(InvoiceRow, usize)> {
    let mut v = Validator::new();
    let matter_ids = v
        .check(
            "input.matterIds",
            ids::decode_all(NodeType::Matter, &input.matter_ids, "input.matterIds"),
        )
        .unwrap_or_default();
    if input.matter_ids.is_empty() {
        v.add("input.matterIds", "name at least one matter");
    }
    let client_id = input.client_id.as_ref().and_then(|id| {
        v.check(
            "input.clientId",
            ids::decode(NodeType::Contact, id, "input.clientId"),
        )
    });
    if !(0..=10_000).contains(&input.vat_rate_basis_points) {
        v.add(
            "input.vatRateBasisPoints",
            "give the VAT rate in basis points, 0 to 10000",
        );
    }
    let recipient_code = input
        .recipient_code
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| NO_RECIPIENT_CODE.to_owned());
    if !valid_recipient_code(&recipient_code) {
        v.add(
            "input.recipientCode",
            "an SDI recipient code has seven letters and digits (six for public administrations)",
        );
    }
    let recipient_pec = crate::validation::non_blank(input.recipient_pec.clone());
    if recipient_pec.as_deref().is_some_and(|p| !p.contains('@')) {
        v.add("input.recipientPec", "not an email address");
    }
    v.finish()?;
    let matter_ids: Vec<String> = matter_ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (i, matter) in matter_ids.iter().enumerate() {
        crate::matters::get(conn, matter).map_err(|e| {
            e.as_bad_reference(&format!("input.matterIds[{i}]"), "no matter with this ID")
        })?;
    }
    let client_id = choose_client(conn, &matter_ids, client_id)?;
    let client = crate::contacts::get(conn, &client_id)
        .map_err(|e| e.as_bad_reference("input.clientId", "no contact with this ID"))?;

    let mut query = time_entries::table
        .filter(time_entries::matter_id.eq_any(&matter_ids))
        .filter(time_entries::billable.eq(true))
        .filter(time_entries::invoice_id.is_null())
        .into_boxed::<Db>();
    if let Some(through) = input.through {
        query = query.filter(time_entries::work_date.le(through));
    }
    let entries: Vec<TimeEntryRow> = query
        .order_by((
            time_entries::work_date.asc(),
            time_entries::created_at.asc(),
            time_entries::id.asc(),
        ))
        .select(TimeEntryRow::as_select())
        .load(conn)?;
    if entries.is_empty() {
        return Err(Error::invalid(
            "input.matterIds",
            "the matters have no unbilled billable time to invoice",
        ));
    }

    let withholding = input
        .withholding
        .unwrap_or(client.kind == crate::contacts::ContactKind::Organization.as_str());
    let withholding_bp = if withholding { WITHHOLDING_RATE_BP } else { 0 };
    let id = new_id();
    let lines = lines_for(&id, &entries);
    let net = lines.iter().map(|l| l.amount_cents).sum();
    let t = money::totals(
        net,
        CASSA_RATE_BP,
        input.vat_rate_basis_points,
        withholding_bp,
    );
    let timestamp = now();
    let mut row = InvoiceRow {
        id: id.clone(),
        kind: input.kind.as_str().to_owned(),
        status: InvoiceStatus::Draft.as_str().to_owned(),
        fiscal_year: None,
        number: None,
        client_contact_id: Some(client_id),
        client_name: None,
        client_codice_fiscale: None,
        client_partita_iva: None,
        client_street: None,
        client_postal_code: None,
        client_city: None,
        client_province: None,
        client_country: None,
        recipient_code,
        recipient_pec,
        issue_date: None,
        due_date: None,
        net_cents: t.net,
        cassa_rate_bp: CASSA_RATE_BP,
        cassa_cents: t.cassa,
        vat_rate_bp: input.vat_rate_basis_points,
        vat_cents: t.vat,
        withholding_rate_bp: withholding_bp,
        withholding_cents: t.withholding,
        paid_cents: 0,
        notes: crate::validation::non_blank(input.notes),
        created_by: by.map(str::to_owned),
        paid_at: None,
        cancelled_at: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    snapshot_client(conn, &mut row)?;
    diesel::insert_into(invoices::table)
        .values(&row)
        .execute(conn)?;
    for matter in &matter_ids {
        diesel::insert_into(invoice_matters::table)
            .values((
                invoice_matters::invoice_id.eq(&id),
                invoice_matters::matter_id.eq(matter),
            ))
            .execute(conn)?;
    }
    insert_lines(conn, &lines)?;
    let entry_ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    // Only still-unbilled time: a concurrent invoice that took some of it makes this one fail
    // (and roll back) rather than bill the same time twice.
    let marked = diesel::update(
        time_entries::table
            .filter(time_entries::id.eq_any(&entry_ids))
            .filter(time_entries::invoice_id.is_null()),
    )
    .set(time_entries::invoice_id.eq(&id))
    .execute(conn)?;
    if marked != entry_ids.len() {
        return Err(Error::Conflict {
            field: Some("input.matterIds".to_owned()),
            message: "some of the time was billed meanwhile; try again".to_owned(),
        });
    }
    Ok((row, lines.len()))
}

/// The client to invoice: the one named (a client of every matter), or the matters' only
/// common client.
fn choose_client(
    conn: &mut AnyConnection,
    matter_ids: &[String],
    named: Option<String>,
) -> Result<String> {
    let parties = crate::matters::parties_of(conn, matter_ids)?;
    let clients_of = |matter: &String| -> BTreeSet<String> {
        parties
            .get(matter)
            .into_iter()
            .flatten()
            .filter(|(_, role)| role == "client")
            .map(|(c, _)| c.clone())
            .collect()
    };
    let mut common: Option<BTreeSet<String>> = None;
    for matter in matter_ids {
        let clients = clients_of(matter);
        common = Some(match common {
            None => clients,
            Some(c) => c.intersection(&clients).cloned().collect(),
        });
    }
    let common = common.unwrap_or_default();
    match named {
        Some(client) if common.contains(&client) => Ok(client),
        Some(_) => Err(Error::invalid(
            "input.clientId",
            "the contact is not a client of every matter invoiced",
        )),
        None if common.len() == 1 => Ok(common.into_iter().next().unwrap_or_default()),
        None if common.is_empty() => Err(Error::invalid(
            "input.clientId",
            "the matters have no client in common: invoice them separately",
        )),
        None => Err(Error::invalid(
            "input.clientId",
            "the matters have more than one client: name the one invoiced",
        )),
    }
}

/// One invoice line per time entry, in the entries' order.
pub fn lines_for(invoice_id: &str, entries: &[TimeEntryRow]) -> Vec<InvoiceLineRow> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| InvoiceLineRow {
            id: new_id(),
            invoice_id: invoice_id.to_owned(),
            position: i32::try_from(i + 1).unwrap_or(i32::MAX),
            time_entry_id: Some(e.id.clone()),
            matter_id: Some(e.matter_id.clone()),
            user_id: e.user_id.clone(),
            work_date: e.work_date,
            description: e.narrative.clone(),
            task_code: e.task_code.clone(),
            activity_code: e.activity_code.clone(),
            minutes: e.minutes,
            rate_cents: e.rate_cents,
            amount_cents: e.amount_cents(),
        })
        .collect()
}

/// Writes an invoice's lines.
pub fn insert_lines(conn: &mut AnyConnection, lines: &[InvoiceLineRow]) -> Result<()> {
    insert_batch(conn, invoice_lines::table, lines, LINE_COLUMNS)?;
    Ok(())
}

/// Numbers a draft in the year of its issue date (one more than the year's last number).
pub fn issue(
    conn: &mut AnyConnection,
    input: IssueInvoiceInput,
    today: NaiveDate,
) -> Result<InvoiceRow> {
    let id = ids::decode(NodeType::Invoice, &input.id, "input.id")?;
    let mut row = get(conn, &id)?;
    if row.status()? != InvoiceStatus::Draft {
        return Err(conflict(format!(
            "only a draft can be issued; this invoice is {}",
            row.status
        )));
    }
    let issue_date = input.issue_date.unwrap_or(today);
    let due_date = input
        .due_date
        .unwrap_or(issue_date + TimeDelta::days(DEFAULT_PAYMENT_DAYS));
    if due_date < issue_date {
        return Err(Error::invalid(
            "input.dueDate",
            "the due date cannot come before the date of issue",
        ));
    }
    let year = issue_date.year();
    let last: Option<i32> = invoices::table
        .filter(invoices::fiscal_year.eq(year))
        .select(max(invoices::number))
        .first(conn)?;
    snapshot_client(conn, &mut row).or_else(|e| match e {
        // The client was since erased: the draft's snapshot stands.
        Error::NotFound { .. } => Ok(()),
        other => Err(other),
    })?;
    row.fiscal_year = Some(year);
    row.number = Some(last.unwrap_or(0) + 1);
    row.issue_date = Some(issue_date);
    row.due_date = Some(due_date);
    row.status = InvoiceStatus::Issued.as_str().to_owned();
    row.updated_at = now();
    diesel::update(invoices::table.find(&id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

/// Records money received on an issued invoice; paid in full, it becomes paid.
pub fn record_payment(
    conn: &mut AnyConnection,
    input: RecordPaymentInput,
    by: Option<&str>,
) -> Result<(InvoiceRow, PaymentRow)> {
    let id = ids::decode(NodeType::Invoice, &input.invoice_id, "input.invoiceId")?;
    let mut row = get(conn, &id)?;
    if row.status()? != InvoiceStatus::Issued {
        return Err(Error::Conflict {
            field: Some("input.invoiceId".to_owned()),
            message: format!(
                "payments are recorded on issued invoices; this invoice is {}",
                row.status
            ),
        });
    }
    let outstanding = row.payable_cents() - row.paid_cents;
    if input.amount_cents <= 0 {
        return Err(Error::invalid(
            "input.amountCents",
            "a payment is more than 0 cents",
        ));
    }
    if input.amount_cents > outstanding {
        return Err(Error::invalid(
            "input.amountCents",
            format!("more than the {} outstanding", money::decimal(outstanding)),
        ));
    }
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: id.clone(),
        amount_cents: input.amount_cents,
        paid_on: input.paid_on,
        method: input.method.as_str().to_owned(),
        reference: crate::validation::non_blank(input.reference),
        recorded_by: by.map(str::to_owned),
        created_at: now(),
    };
    diesel::insert_into(invoice_payments::table)
        .values(&payment)
        .execute(conn)?;
    row.paid_cents += input.amount_cents;
    if row.paid_cents == row.payable_cents() {
        row.status = InvoiceStatus::Paid.as_str().to_owned();
        row.paid_at = Some(now());
    }
    row.updated_at = now();
    diesel::update(invoices::table.find(&id))
        .set(&row)
        .execute(conn)?;
    Ok((row, payment))
}

/// Cancels a draft or an issued invoice nobody paid anything on; its time is unbilled again.
pub fn cancel(conn: &mut AnyConnection, id: &str) -> Result<InvoiceRow> {
    let mut row = get(conn, id)?;
    match row.status()? {
        InvoiceStatus::Draft | InvoiceStatus::Issued if row.paid_cents == 0 => {}
        InvoiceStatus::Cancelled => return Err(conflict("the invoice is cancelled already")),
        _ => {
            return Err(conflict(
                "an invoice with payments cannot be cancelled; issue a credit note instead",
            ))
        }
    }
    diesel::update(time_entries::table.filter(time_entries::invoice_id.eq(id)))
        .set(time_entries::invoice_id.eq(None::<String>))
        .execute(conn)?;
    row.status = InvoiceStatus::Cancelled.as_str().to_owned();
    row.cancelled_at = Some(now());
    row.updated_at = now();
    diesel::update(invoices::table.find(id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<InvoiceRow> {
    invoices::table
        .find(id)
        .select(InvoiceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Invoice", id))
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, InvoiceRow>> {
    Ok(invoices::table
        .filter(invoices::id.eq_any(ids))
        .select(InvoiceRow::as_select())
        .load::<InvoiceRow>(conn)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

/// Lines per invoice, in order.
pub fn lines_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<InvoiceLineRow>>> {
    let rows = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq_any(ids))
        .order_by((invoice_lines::invoice_id, invoice_lines::position))
        .select(InvoiceLineRow::as_select())
        .load::<InvoiceLineRow>(conn)?;
    Ok(group_by_key(rows, |r| r.invoice_id.clone()))
}

/// External IDs per invoice, by source system.
pub fn external_ids_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<InvoiceExternalIdRow>>> {
    let rows = invoice_external_ids::table
        .filter(invoice_external_ids::invoice_id.eq_any(ids))
        .order_by((
            invoice_external_ids::invoice_id,
            invoice_external_ids::source,
            invoice_external_ids::external_id,
        ))
        .select(InvoiceExternalIdRow::as_select())
        .load::<InvoiceExternalIdRow>(conn)?;
    Ok(group_by_key(rows, |r| r.invoice_id.clone()))
}

/// Payments per invoice, oldest first.
pub fn payments_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<PaymentRow>>> {
    let rows = invoice_payments::table
        .filter(invoice_payments::invoice_id.eq_any(ids))
        .order_by((
            invoice_payments::invoice_id,
            invoice_payments::paid_on,
            invoice_payments::created_at,
        ))
        .select(PaymentRow::as_select())
        .load::<PaymentRow>(conn)?;
    Ok(group_by_key(rows, |r| r.invoice_id.clone()))
}

/// The matters each invoice bills, with their rows and whether `scope` keeps each: one
/// statement joining the invoice's matters to the matters.
pub fn matters_of(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<(MatterRow, bool)>>> {
    let rows: Vec<(String, MatterRow, bool)> = matters::table
        .inner_join(invoice_matters::table)
        .filter(invoice_matters::invoice_id.eq_any(ids))
        .order_by((invoice_matters::invoice_id, invoice_matters::matter_id))
        .select((
            invoice_matters::invoice_id,
            MatterRow::as_select(),
            scope.sees_matters::<InvoiceMatters>(),
        ))
        .load(conn)?;
    Ok(group_pairs(rows.into_iter().map(
        |(invoice, matter, visible)| (invoice, (matter, visible)),
    )))
}

/// An `invoices` list: the filter, decoded, within the caller's scope.
#[derive(Debug, Clone)]
pub struct InvoiceQuery {
    filter: InvoiceFilter,
    client_id: Option<String>,
    matter_id: Option<String>,
    scope: Scope,
}

impl InvoiceQuery {
    pub fn new(filter: InvoiceFilter, scope: Scope) -> Result<InvoiceQuery> {
        let decode =
            |id: &Option<ID>, t, field| id.as_ref().map(|id| ids::decode(t, id, field)).transpose();
        Ok(InvoiceQuery {
            client_id: decode(&filter.client_id, NodeType::Contact, "filter.clientId")?,
            matter_id: decode(&filter.matter_id, NodeType::Matter, "filter.matterId")?,
            filter,
            scope,
        })
    }

    fn boxed(&self) -> invoices::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut q = invoices_within(&self.scope, invoices::table.into_boxed());
        if let Some(statuses) = &f.statuses {
            q = q.filter(
                invoices::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            );
        }
        if let Some(client) = &self.client_id {
            q = q.filter(invoices::client_contact_id.eq(client.clone()));
        }
        if let Some(matter) = &self.matter_id {
            let billing = invoice_matters::table
                .filter(invoice_matters::matter_id.eq(matter.clone()))
                .select(invoice_matters::invoice_id);
            q = q.filter(invoices::id.eq_any(billing));
        }
        if let Some(year) = f.fiscal_year {
            q = q.filter(invoices::fiscal_year.eq(year));
        }
        if let Some(from) = f.issued_from {
            q = q.filter(invoices::issue_date.ge(from));
        }
        if let Some(to) = f.issued_to {
            q = q.filter(invoices::issue_date.le(to));
        }
        q
    }
}

/// Newest first unless `direction` says otherwise.
pub fn list(
    conn: &mut AnyConnection,
    query: &InvoiceQuery,
    direction: SortDirection,
    page: Page,
) -> Result<Vec<InvoiceRow>> {
    let q = query.boxed();
    let q = match direction {
        SortDirection::Asc => q.order_by((invoices::created_at.asc(), invoices::id.asc())),
        SortDirection::Desc => q.order_by((invoices::created_at.desc(), invoices::id.desc())),
    };
    Ok(q.offset(page.offset)
        .limit(page.limit)
        .select(InvoiceRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection, query: &InvoiceQuery) -> Result<i64> {
    Ok(query.boxed().count().get_result(conn)?)
}

/// Why a contact must be kept (art. 2220 c.c.): the invoices issued to them in the last ten
/// years, one reason each.
pub fn retention_holds(
    conn: &mut AnyConnection,
    contact_id: &str,
    today: NaiveDate,
) -> Result<Vec<String>> {
    let since = today
        .checked_sub_months(chrono::Months::new(12 * 10))
        .unwrap_or(NaiveDate::MIN);
    let issued: Vec<(Option<i32>, Option<i32>, Option<NaiveDate>)> = invoices::table
        .filter(invoices::client_contact_id.eq(contact_id))
        .filter(invoices::issue_date.ge(since))
        .filter(invoices::status.ne(InvoiceStatus::Draft.as_str()))
        .order_by(invoices::issue_date)
        .select((
            invoices::number,
            invoices::fiscal_year,
            invoices::issue_date,
        ))
        .load(conn)?;
    Ok(issued
        .into_iter()
        .filter_map(|(number, year, date)| {
            Some(format!(
                "accounting records (art. 2220 c.c.): invoice {}/{} issued on {}, kept for 10 years",
                number?, year?, date?
            ))
        })
        .collect())
}
