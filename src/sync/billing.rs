//! Billing systems (kind `stripe`): their invoices imported as `Invoice` rows, and a matter's
//! unbilled time pushed to them as invoice items and an invoice.
//!
//! Import: an invoice is keyed by the provider's id (`invoice_external_ids`, source the
//! connector's kind) and linked to the instance with the generation of the listing that last
//! saw it (`sync_invoice_links`); its client is the contact the contacts stream linked to the
//! customer. The paid state comes from the provider's amounts (a payment row per increase); a
//! voided invoice is cancelled, and one missing from a finished full listing (Stripe deletes
//! drafts only) is cancelled too rather than dropped; either way its time can be billed again.
//!
//! Push: a bill is planned in `billing_pushes` before anything is sent (one pending row per
//! time entry and one for the invoice, each with the Idempotency-Key it will send), and each row
//! is completed after its remote call. A retry resumes the unfinished bill: a pending item is
//! first looked up at the provider by its key (the provider, or localstripe, may ignore
//! `Idempotency-Key`), a pending invoice by the invoice that took the bill's items. So neither
//! a retry nor a crash between a remote call and its record bills the same time twice. The
//! instance's sync lease is held throughout, so two bills (or a bill and a sync) never
//! interleave.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use lexgate_connectors::{Connector, ConnectorError, OutboundInvoiceItem, RemoteInvoice};
use tracing::Instrument;

use super::instances::InstanceRow;
use super::lease;
use super::upsert::{self, Outcome, PageScope};
use crate::billing::invoices::{
    self as invoice_service, InvoiceKind, InvoiceRow, InvoiceStatus, PaymentMethod, PaymentRow,
    NO_RECIPIENT_CODE,
};
use crate::billing::TimeEntryRow;
use crate::db::schema::{
    billing_pushes, data_recipients, invoice_external_ids, invoice_lines, invoice_matters,
    invoice_payments, invoices, sync_cursors, sync_invoice_links, sync_links, time_entries,
};
use crate::db::{new_id, now, AnyConnection, Database};
use crate::error::{Error, Result};

/// The stream whose generation marks the invoices a listing saw.
pub const INVOICES_STREAM: &str = "invoices";

/// Stripe limits an invoice item's description; longer narratives are cut.
const MAX_DESCRIPTION: usize = 500;

/// Where a provider's invoice stands in lexgate's terms: `open` and `uncollectible` are issued
/// and unpaid, `void` is cancelled.
fn status_of(record: &RemoteInvoice) -> InvoiceStatus {
    match record.status.as_str() {
        "draft" => InvoiceStatus::Draft,
        "paid" => InvoiceStatus::Paid,
        "void" => InvoiceStatus::Cancelled,
        _ => InvoiceStatus::Issued,
    }
}

/// Applies one invoice of a page in the caller's transaction.
pub fn apply_invoice(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    source: &str,
    record: &RemoteInvoice,
) -> Result<Outcome> {
    if record.external_id.trim().is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    let client = upsert::linked_contact(conn, scope.instance_id, &record.customer_external_id)?;
    let (_, outcome) = store_invoice(
        conn,
        scope.instance_id,
        source,
        scope.generation,
        record,
        client,
    )?;
    Ok(outcome)
}

/// Creates or brings up to date the invoice row of `record` and its link; the outcome says
/// which (Skipped: nothing changed).
fn store_invoice(
    conn: &mut AnyConnection,
    instance_id: &str,
    source: &str,
    generation: i32,
    record: &RemoteInvoice,
    client: Option<String>,
) -> Result<(String, Outcome)> {
    let known: Option<String> = invoice_external_ids::table
        .find((source, &record.external_id))
        .select(invoice_external_ids::invoice_id)
        .first(conn)
        .optional()?;
    let status = status_of(record);
    let at = now();
    let paid_at = record.paid_at.map(|t| t.naive_utc());
    let issued = status != InvoiceStatus::Draft;
    let Some(id) = known else {
        let id = new_id();
        let mut row = InvoiceRow {
            id: id.clone(),
            kind: InvoiceKind::Invoice.as_str().to_owned(),
            status: status.as_str().to_owned(),
            // The provider numbers its own invoices: lexgate's sequence is not theirs.
            fiscal_year: None,
            number: None,
            client_contact_id: client,
            client_name: None,
            client_codice_fiscale: None,
            client_partita_iva: None,
            client_street: None,
            client_postal_code: None,
            client_city: None,
            client_province: None,
            client_country: None,
            recipient_code: NO_RECIPIENT_CODE.to_owned(),
            recipient_pec: None,
            issue_date: record.issued_on.filter(|_| issued),
            due_date: record.due_on.filter(|_| issued),
            // The provider's total is what the client owes: no contribution, VAT or
            // withholding computed here.
            net_cents: record.total_cents.max(0),
            cassa_rate_bp: 0,
            cassa_cents: 0,
            vat_rate_bp: 0,
            vat_cents: 0,
            withholding_rate_bp: 0,
            withholding_cents: 0,
            paid_cents: 0,
            notes: Some(notes(source, record)),
            created_by: None,
            paid_at,
            cancelled_at: (status == InvoiceStatus::Cancelled).then_some(at),
            created_at: at,
            updated_at: at,
        };
        invoice_service::snapshot_client(conn, &mut row)?;
        diesel::insert_into(invoices::table)
            .values(&row)
            .execute(conn)?;
        diesel::insert_into(invoice_external_ids::table)
            .values((
                invoice_external_ids::source.eq(source),
                invoice_external_ids::external_id.eq(&record.external_id),
                invoice_external_ids::invoice_id.eq(&id),
                invoice_external_ids::created_at.eq(at),
            ))
            .execute(conn)?;
        record_payment(conn, &mut row, record, paid_at)?;
        touch_link(conn, instance_id, &record.external_id, &id, generation)?;
        return Ok((id, Outcome::Created));
    };
    let old = invoice_service::get(conn, &id)?;
    let mut row = old.clone();
    row.status = status.as_str().to_owned();
    row.net_cents = record.total_cents.max(0);
    row.issue_date = record.issued_on.filter(|_| issued);
    row.due_date = record.due_on.filter(|_| issued);
    row.paid_at = paid_at;
    row.notes = Some(notes(source, record));
    if status == InvoiceStatus::Cancelled && old.cancelled_at.is_none() {
        row.cancelled_at = Some(at);
    }
    if client.is_some() && client != old.client_contact_id {
        row.client_contact_id = client;
        invoice_service::snapshot_client(conn, &mut row)?;
    }
    let paid = record_payment(conn, &mut row, record, paid_at)?;
    let relinked = touch_link(conn, instance_id, &record.external_id, &id, generation)?;
    let changed = paid
        || row.status != old.status
        || row.net_cents != old.net_cents
        || row.issue_date != old.issue_date
        || row.due_date != old.due_date
        || row.paid_at != old.paid_at
        || row.notes != old.notes
        || row.client_contact_id != old.client_contact_id;
    if !changed && !relinked {
        return Ok((id, Outcome::Skipped));
    }
    row.updated_at = at;
    diesel::update(invoices::table.find(&id))
        .set(&row)
        .execute(conn)?;
    if status == InvoiceStatus::Cancelled {
        unbill(conn, &id)?;
    }
    Ok((id, Outcome::Updated))
}

/// What the invoice row notes of its origin: the provider's number and a currency other than
/// the euro (lexgate's amounts are euro cents).
fn notes(source: &str, record: &RemoteInvoice) -> String {
    let mut notes = match &record.number {
        Some(number) => format!("{source} invoice {number} ({})", record.external_id),
        None => format!("{source} invoice {}", record.external_id),
    };
    if !record.currency.eq_ignore_ascii_case("eur") {
        notes.push_str(&format!(
            "; amounts in {}",
            record.currency.to_ascii_uppercase()
        ));
    }
    notes
}

/// What the provider collected beyond what lexgate recorded becomes one payment row; answers
/// whether there was any.
fn record_payment(
    conn: &mut AnyConnection,
    row: &mut InvoiceRow,
    record: &RemoteInvoice,
    paid_at: Option<NaiveDateTime>,
) -> Result<bool> {
    let more = record.amount_paid_cents - row.paid_cents;
    if more <= 0 {
        return Ok(false);
    }
    let at = now();
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: row.id.clone(),
        amount_cents: more,
        paid_on: paid_at.unwrap_or(at).date(),
        method: PaymentMethod::Other.as_str().to_owned(),
        reference: Some(record.external_id.clone()),
        recorded_by: None,
        created_at: at,
    };
    diesel::insert_into(invoice_payments::table)
        .values(&payment)
        .execute(conn)?;
    row.paid_cents = record.amount_paid_cents;
    diesel::update(invoices::table.find(&row.id))
        .set(invoices::paid_cents.eq(row.paid_cents))
        .execute(conn)?;
    Ok(true)
}

/// The time of a cancelled invoice can be billed again.
fn unbill(conn: &mut AnyConnection, invoice_id: &str) -> Result<()> {
    diesel::update(time_entries::table.filter(time_entries::invoice_id.eq(invoice_id)))
        .set(time_entries::invoice_id.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// Marks the link seen in this generation; answers whether it had been removed (the
/// record came back).
fn touch_link(
    conn: &mut AnyConnection,
    instance_id: &str,
    external_id: &str,
    invoice_id: &str,
    generation: i32,
) -> Result<bool> {
    let at = now();
    let removed: Option<Option<NaiveDateTime>> = sync_invoice_links::table
        .find((instance_id, external_id))
        .select(sync_invoice_links::removed_at)
        .first(conn)
        .optional()?;
    match removed {
        Some(removed) => {
            diesel::update(sync_invoice_links::table.find((instance_id, external_id)))
                .set((
                    sync_invoice_links::invoice_id.eq(invoice_id),
                    sync_invoice_links::seen_generation.eq(generation),
                    sync_invoice_links::removed_at.eq(None::<NaiveDateTime>),
                    sync_invoice_links::updated_at.eq(at),
                ))
                .execute(conn)?;
            Ok(removed.is_some())
        }
        None => {
            diesel::insert_into(sync_invoice_links::table)
                .values((
                    sync_invoice_links::instance_id.eq(instance_id),
                    sync_invoice_links::external_id.eq(external_id),
                    sync_invoice_links::invoice_id.eq(invoice_id),
                    sync_invoice_links::seen_generation.eq(generation),
                    sync_invoice_links::created_at.eq(at),
                    sync_invoice_links::updated_at.eq(at),
                ))
                .execute(conn)?;
            Ok(false)
        }
    }
}

/// At the end of a full listing: the invoices it did not see were deleted upstream. Each link
/// ends; an unpaid draft or issued invoice is cancelled (its time billable again), anything
/// paid is kept as it is. Answers how many links ended.
pub fn reconcile_invoices(
    conn: &mut AnyConnection,
    instance_id: &str,
    generation: i32,
) -> Result<i32> {
    let stale: Vec<(String, String)> = sync_invoice_links::table
        .filter(sync_invoice_links::instance_id.eq(instance_id))
        .filter(sync_invoice_links::removed_at.is_null())
        .filter(sync_invoice_links::seen_generation.lt(generation))
        .select((
            sync_invoice_links::external_id,
            sync_invoice_links::invoice_id,
        ))
        .load(conn)?;
    let at = now();
    for (external_id, invoice_id) in &stale {
        diesel::update(sync_invoice_links::table.find((instance_id, external_id)))
            .set((
                sync_invoice_links::removed_at.eq(at),
                sync_invoice_links::updated_at.eq(at),
            ))
            .execute(conn)?;
        let row = invoice_service::get(conn, invoice_id)?;
        let unpaid = matches!(row.status()?, InvoiceStatus::Draft | InvoiceStatus::Issued)
            && row.paid_cents == 0;
        if unpaid {
            let notes = match &row.notes {
                Some(notes) => format!("{notes}; deleted upstream"),
                None => "deleted upstream".to_owned(),
            };
            diesel::update(invoices::table.find(invoice_id))
                .set((
                    invoices::status.eq(InvoiceStatus::Cancelled.as_str()),
                    invoices::cancelled_at.eq(at),
                    invoices::notes.eq(notes),
                    invoices::updated_at.eq(at),
                ))
                .execute(conn)?;
            unbill(conn, invoice_id)?;
        }
    }
    Ok(i32::try_from(stale.len()).unwrap_or(i32::MAX))
}

/// One row of a bill.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = billing_pushes, treat_none_as_default_value = false)]
struct PushRow {
    idempotency_key: String,
    bill_key: String,
    kind: String,
    instance_id: String,
    matter_id: String,
    time_entry_id: Option<String>,
    customer: String,
    amount_cents: i64,
    remote_id: Option<String>,
    created_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
}

const ITEM: &str = "item";
const INVOICE: &str = "invoice";

/// A planned (or resumed) bill: its items and the invoice row.
struct Bill {
    items: Vec<PushRow>,
    invoice: PushRow,
    /// The client contact billed.
    client: String,
}

/// What a bill did.
#[derive(Debug, Clone)]
pub struct Billed {
    /// The invoice row of the provider's invoice.
    pub invoice: InvoiceRow,
    /// Time entries sent as new invoice items by this call.
    pub items_pushed: i32,
    /// Items an earlier, interrupted call had created and this one found by their key.
    pub items_recovered: i32,
}

/// Pushes the matter's unbilled billable time to the instance's billing system as invoice
/// items and an invoice, holding the instance's lease (`holder`, `ttl`) throughout; resumes an
/// unfinished bill of the matter first.
pub async fn bill_matter(
    db: &Database,
    instance: &InstanceRow,
    connector: &dyn Connector,
    matter_id: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<Billed> {
    if !connector.capabilities().push_time_entries {
        return Err(Error::invalid(
            "input.instanceId",
            "this connector cannot bill time",
        ));
    }
    if !instance.enabled {
        return Err(Error::invalid(
            "input.instanceId",
            "the connector instance is disabled",
        ));
    }
    let (instance_id, lease_holder) = (instance.id.clone(), holder.to_owned());
    let acquired = db
        .transaction(move |conn| lease::acquire(conn, &instance_id, &lease_holder, ttl))
        .await?;
    if !acquired {
        return Err(Error::Conflict {
            field: Some("input.instanceId".into()),
            message: "a sync or another bill of this instance is running; try again when it ends"
                .into(),
        });
    }
    let billed = push_bill(db, instance, connector, matter_id).await;
    let (instance_id, lease_holder) = (instance.id.clone(), holder.to_owned());
    let released = db
        .transaction(move |conn| lease::release(conn, &instance_id, &lease_holder))
        .await;
    if let Err(error) = released {
        // The lease expires by itself; the bill's outcome is what the caller needs.
        tracing::warn!(instance = %instance.name, %error, "billing lease not released");
    }
    billed
}

async fn push_bill(
    db: &Database,
    instance: &InstanceRow,
    connector: &dyn Connector,
    matter_id: &str,
) -> Result<Billed> {
    let (instance_id, matter) = (instance.id.clone(), matter_id.to_owned());
    let bill = db
        .transaction(move |conn| plan(conn, &instance_id, &matter))
        .await?;
    let span = || super::connector_span(connector, &instance.name, "push", "invoices");
    let (mut pushed, mut recovered) = (0, 0);
    for item in bill.items.iter().filter(|i| i.remote_id.is_none()) {
        let key = item.idempotency_key.clone();
        let found = connector
            .find_invoice_item(&item.customer, &key)
            .instrument(span())
            .await
            .map_err(provider_error)?;
        let remote_id = match found {
            Some(found) => {
                recovered += 1;
                found.id
            }
            None => {
                let entry_id = item.time_entry_id.clone();
                let entry = db
                    .run(move |conn| entry_of(conn, entry_id.as_deref()))
                    .await?;
                let Some(entry) = entry else {
                    // Deleted since the bill was planned, and never sent: nothing to bill.
                    db.transaction(move |conn| {
                        diesel::delete(billing_pushes::table.find(&key)).execute(conn)?;
                        Ok(())
                    })
                    .await?;
                    continue;
                };
                let created = connector
                    .push_invoice_item(&OutboundInvoiceItem {
                        customer: item.customer.clone(),
                        amount_cents: item.amount_cents,
                        currency: "eur".to_owned(),
                        description: description(&entry),
                        key: key.clone(),
                    })
                    .instrument(span())
                    .await
                    .map_err(provider_error)?;
                pushed += 1;
                created.id
            }
        };
        let key = item.idempotency_key.clone();
        db.transaction(move |conn| complete(conn, &key, &remote_id))
            .await?;
    }
    let bill_key = bill.invoice.bill_key.clone();
    let items: Vec<PushRow> = db
        .run(move |conn| {
            Ok(billing_pushes::table
                .filter(billing_pushes::bill_key.eq(&bill_key))
                .filter(billing_pushes::kind.eq(ITEM))
                .select(PushRow::as_select())
                .load(conn)?)
        })
        .await?;
    let Some(first_item) = items.iter().find_map(|i| i.remote_id.clone()) else {
        let bill_key = bill.invoice.bill_key.clone();
        db.transaction(move |conn| {
            diesel::delete(billing_pushes::table.filter(billing_pushes::bill_key.eq(&bill_key)))
                .execute(conn)?;
            Ok(())
        })
        .await?;
        return Err(Error::invalid(
            "input.matterId",
            "the matter's unbilled time was deleted meanwhile: nothing to bill",
        ));
    };
    // The invoice takes every pending item of the customer: if one of this bill's items is on
    // an invoice already, that invoice was made by an interrupted call.
    let taken = connector
        .invoice_item(&first_item)
        .instrument(span())
        .await
        .map_err(provider_error)?
        .invoice;
    let remote = match taken {
        Some(external_id) => RemoteInvoice {
            external_id,
            customer_external_id: bill.invoice.customer.clone(),
            number: None,
            status: "draft".to_owned(),
            currency: "eur".to_owned(),
            total_cents: items.iter().map(|i| i.amount_cents).sum(),
            amount_paid_cents: 0,
            issued_on: None,
            due_on: None,
            paid_at: None,
        },
        None => connector
            .create_invoice(&bill.invoice.customer, &bill.invoice.idempotency_key)
            .instrument(span())
            .await
            .map_err(provider_error)?,
    };
    let (instance_id, instance_name, kind) = (
        instance.id.clone(),
        instance.name.clone(),
        instance.kind.clone(),
    );
    let invoice_push = bill.invoice.clone();
    let client = bill.client.clone();
    let invoice = db
        .transaction(move |conn| {
            record_bill(
                conn,
                &instance_id,
                &instance_name,
                &kind,
                &invoice_push,
                &items,
                &client,
                &remote,
            )
        })
        .await?;
    Ok(Billed {
        invoice,
        items_pushed: pushed,
        items_recovered: recovered,
    })
}

/// The provider's failure as the caller sees it: throttling is "try later", anything else the
/// provider being unable to take the bill. The unfinished bill stays for the retry.
fn provider_error(error: ConnectorError) -> Error {
    match error {
        ConnectorError::Throttled { .. } => Error::TooManyRequests(format!(
            "the billing system is throttling requests; retry later to finish the bill ({error})"
        )),
        other => Error::Unavailable(format!(
            "the billing system did not take the bill; retry to finish it ({other})"
        )),
    }
}

fn entry_of(conn: &mut AnyConnection, id: Option<&str>) -> Result<Option<TimeEntryRow>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(time_entries::table
        .find(id)
        .select(TimeEntryRow::as_select())
        .first(conn)
        .optional()?)
}

/// "2026-12-01 Studio atti (1h30)", cut to what Stripe takes.
fn description(entry: &TimeEntryRow) -> String {
    let text = format!(
        "{} {} ({}h{:02})",
        entry.work_date,
        entry.narrative.trim(),
        entry.minutes / 60,
        entry.minutes % 60
    );
    text.chars().take(MAX_DESCRIPTION).collect()
}

fn complete(conn: &mut AnyConnection, key: &str, remote_id: &str) -> Result<()> {
    diesel::update(billing_pushes::table.find(key))
        .set((
            billing_pushes::remote_id.eq(remote_id),
            billing_pushes::completed_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The matter's unfinished bill at this instance, else a new one of its unbilled billable
/// time, recorded pending before anything is sent.
fn plan(conn: &mut AnyConnection, instance_id: &str, matter_id: &str) -> Result<Bill> {
    crate::matters::get(conn, matter_id)
        .map_err(|e| e.as_bad_reference("input.matterId", "no matter with this ID"))?;
    let client = matter_client(conn, matter_id)?;
    let open: Option<PushRow> = billing_pushes::table
        .filter(billing_pushes::instance_id.eq(instance_id))
        .filter(billing_pushes::matter_id.eq(matter_id))
        .filter(billing_pushes::kind.eq(INVOICE))
        .filter(billing_pushes::remote_id.is_null())
        .select(PushRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(invoice) = open {
        let items = billing_pushes::table
            .filter(billing_pushes::bill_key.eq(&invoice.bill_key))
            .filter(billing_pushes::kind.eq(ITEM))
            .order_by(billing_pushes::created_at)
            .select(PushRow::as_select())
            .load(conn)?;
        return Ok(Bill {
            items,
            invoice,
            client,
        });
    }
    let customer: String = sync_links::table
        .filter(sync_links::instance_id.eq(instance_id))
        .filter(sync_links::contact_id.eq(&client))
        .filter(sync_links::deleted_at.is_null())
        .order_by((sync_links::created_at, sync_links::external_id))
        .select(sync_links::external_id)
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            Error::invalid(
                "input.matterId",
                "the matter's client is not a customer of this billing system (sync the instance first)",
            )
        })?;
    let entries: Vec<TimeEntryRow> = time_entries::table
        .filter(time_entries::matter_id.eq(matter_id))
        .filter(time_entries::billable.eq(true))
        .filter(time_entries::invoice_id.is_null())
        .order_by((
            time_entries::work_date.asc(),
            time_entries::created_at.asc(),
            time_entries::id.asc(),
        ))
        .select(TimeEntryRow::as_select())
        .load(conn)?;
    if entries.is_empty() {
        return Err(Error::invalid(
            "input.matterId",
            "the matter has no unbilled billable time",
        ));
    }
    let at = now();
    let bill_key = format!("lexgate-bill-{}", new_id());
    let row = |key: String, kind: &str, entry: Option<&TimeEntryRow>, amount: i64| PushRow {
        idempotency_key: key,
        bill_key: bill_key.clone(),
        kind: kind.to_owned(),
        instance_id: instance_id.to_owned(),
        matter_id: matter_id.to_owned(),
        time_entry_id: entry.map(|e| e.id.clone()),
        customer: customer.clone(),
        amount_cents: amount,
        remote_id: None,
        created_at: at,
        completed_at: None,
    };
    let items: Vec<PushRow> = entries
        .iter()
        .map(|e| {
            row(
                format!("lexgate-item-{}", new_id()),
                ITEM,
                Some(e),
                e.amount_cents(),
            )
        })
        .collect();
    let total = items.iter().map(|i| i.amount_cents).sum();
    let invoice = row(bill_key.clone(), INVOICE, None, total);
    for item in &items {
        diesel::insert_into(billing_pushes::table)
            .values(item)
            .execute(conn)?;
    }
    diesel::insert_into(billing_pushes::table)
        .values(&invoice)
        .execute(conn)
        .map_err(|e| match e {
            // The partial unique index: another call planned a bill of this matter meanwhile.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Error::Conflict {
                field: Some("input.matterId".into()),
                message: "the matter is being billed already; try again when that ends".into(),
            },
            other => other.into(),
        })?;
    Ok(Bill {
        items,
        invoice,
        client,
    })
}

/// The matter's one client.
fn matter_client(conn: &mut AnyConnection, matter_id: &str) -> Result<String> {
    let parties = crate::matters::parties_of(conn, &[matter_id.to_owned()])?;
    let mut clients: Vec<String> = parties
        .get(matter_id)
        .into_iter()
        .flatten()
        .filter(|(_, role)| role == "client")
        .map(|(c, _)| c.clone())
        .collect();
    clients.sort_unstable();
    clients.dedup();
    match clients.as_slice() {
        [client] => Ok(client.clone()),
        [] => Err(Error::invalid("input.matterId", "the matter has no client")),
        _ => Err(Error::invalid(
            "input.matterId",
            "the matter has more than one client: bill it by hand",
        )),
    }
}

/// After the provider made the invoice: the invoice push completed, the invoice row with its
/// matter and lines, the bill's time marked billed, and the disclosure to the provider
/// recorded for the client, in one transaction.
#[allow(clippy::too_many_arguments)]
fn record_bill(
    conn: &mut AnyConnection,
    instance_id: &str,
    instance_name: &str,
    source: &str,
    invoice_push: &PushRow,
    items: &[PushRow],
    client: &str,
    remote: &RemoteInvoice,
) -> Result<InvoiceRow> {
    complete(conn, &invoice_push.idempotency_key, &remote.external_id)?;
    // Seen in the listing under way, if any, so that its reconciliation does not take the
    // new invoice for a deleted one.
    let generation: i32 = sync_cursors::table
        .find((instance_id, INVOICES_STREAM))
        .select(sync_cursors::generation)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    let (invoice_id, _) = store_invoice(
        conn,
        instance_id,
        source,
        generation,
        remote,
        Some(client.to_owned()),
    )?;
    let matter_linked: i64 = invoice_matters::table
        .filter(invoice_matters::invoice_id.eq(&invoice_id))
        .filter(invoice_matters::matter_id.eq(&invoice_push.matter_id))
        .count()
        .get_result(conn)?;
    if matter_linked == 0 {
        diesel::insert_into(invoice_matters::table)
            .values((
                invoice_matters::invoice_id.eq(&invoice_id),
                invoice_matters::matter_id.eq(&invoice_push.matter_id),
            ))
            .execute(conn)?;
    }
    let entry_ids: Vec<String> = items
        .iter()
        .filter(|i| i.remote_id.is_some())
        .filter_map(|i| i.time_entry_id.clone())
        .collect();
    let entries: Vec<TimeEntryRow> = time_entries::table
        .filter(time_entries::id.eq_any(&entry_ids))
        .order_by((
            time_entries::work_date.asc(),
            time_entries::created_at.asc(),
        ))
        .select(TimeEntryRow::as_select())
        .load(conn)?;
    let has_lines: i64 = invoice_lines::table
        .filter(invoice_lines::invoice_id.eq(&invoice_id))
        .count()
        .get_result(conn)?;
    if has_lines == 0 {
        invoice_service::insert_lines(conn, &invoice_service::lines_for(&invoice_id, &entries))?;
    }
    diesel::update(
        time_entries::table
            .filter(time_entries::id.eq_any(&entry_ids))
            .filter(time_entries::invoice_id.is_null()),
    )
    .set(time_entries::invoice_id.eq(&invoice_id))
    .execute(conn)?;
    diesel::insert_into(data_recipients::table)
        .values((
            data_recipients::id.eq(new_id()),
            data_recipients::contact_id.eq(client),
            data_recipients::instance_id.eq(instance_id),
            data_recipients::recipient.eq(instance_name),
            data_recipients::fields.eq(r#"["timeEntries"]"#),
            data_recipients::external_id.eq(&remote.external_id),
            data_recipients::disclosed_at.eq(now()),
        ))
        .execute(conn)?;
    invoice_service::get(conn, &invoice_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(status: &str) -> RemoteInvoice {
        RemoteInvoice {
            external_id: "in_1".into(),
            customer_external_id: "cus_1".into(),
            number: Some("ABC-0001".into()),
            status: status.into(),
            currency: "eur".into(),
            total_cents: 100,
            amount_paid_cents: 0,
            issued_on: None,
            due_on: None,
            paid_at: None,
        }
    }

    #[test]
    fn provider_statuses_map_to_lexgate_ones() {
        assert_eq!(status_of(&invoice("draft")), InvoiceStatus::Draft);
        assert_eq!(status_of(&invoice("open")), InvoiceStatus::Issued);
        assert_eq!(status_of(&invoice("uncollectible")), InvoiceStatus::Issued);
        assert_eq!(status_of(&invoice("paid")), InvoiceStatus::Paid);
        assert_eq!(status_of(&invoice("void")), InvoiceStatus::Cancelled);
    }

    #[test]
    fn notes_name_the_number_and_a_foreign_currency() {
        assert_eq!(
            notes("stripe", &invoice("open")),
            "stripe invoice ABC-0001 (in_1)"
        );
        let usd = RemoteInvoice {
            currency: "usd".into(),
            number: None,
            ..invoice("open")
        };
        assert_eq!(notes("stripe", &usd), "stripe invoice in_1; amounts in USD");
    }
}
