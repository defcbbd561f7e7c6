//! Billing reports: unbilled time per matter and per lawyer, invoiced and collected per
//! month. One GROUP BY each; amounts are summed per entry as the invoice would round them.

use chrono::NaiveDate;
use diesel::dsl::{count_star, sql, sum};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::month_of;
use crate::billing::invoices::InvoiceStatus;
use crate::db::schema::{invoice_payments, invoices, time_entries};
use crate::db::AnyConnection;
use crate::error::Result;

/// The value of the entries grouped, each rounded half up to the cent as on an invoice.
/// (PostgreSQL sums BIGINT as NUMERIC: the cast brings it back.)
const ENTRY_AMOUNTS: &str = "CAST(SUM((minutes * rate_cents + 30) / 60) AS BIGINT)";

/// Unbilled billable time of one matter or one lawyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbilled {
    /// The matter's or the user's key; `None` for time of a since-deleted user.
    pub key: Option<String>,
    pub entries: i64,
    pub minutes: i64,
    pub amount_cents: i64,
}

/// (key, entries, minutes, cents) as the GROUP BY answers it.
type UnbilledRow = (Option<String>, i64, Option<i64>, Option<i64>);

fn unbilled(rows: Vec<UnbilledRow>) -> Vec<Unbilled> {
    rows.into_iter()
        .map(|(key, entries, minutes, amount)| Unbilled {
            key,
            entries,
            minutes: minutes.unwrap_or(0),
            amount_cents: amount.unwrap_or(0),
        })
        .collect()
}

/// Billable time not yet on an invoice, per matter.
pub fn unbilled_per_matter(conn: &mut AnyConnection) -> Result<Vec<Unbilled>> {
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = time_entries::table
        .filter(time_entries::billable.eq(true))
        .filter(time_entries::invoice_id.is_null())
        .group_by(time_entries::matter_id)
        .select((
            time_entries::matter_id,
            count_star(),
            sum(time_entries::minutes),
            sql::<Nullable<BigInt>>(ENTRY_AMOUNTS),
        ))
        .order_by(time_entries::matter_id)
        .load(conn)?;
    Ok(unbilled(
        rows.into_iter()
            .map(|(k, e, m, a)| (Some(k), e, m, a))
            .collect(),
    ))
}

/// Billable time not yet on an invoice, per timekeeper.
pub fn unbilled_per_lawyer(conn: &mut AnyConnection) -> Result<Vec<Unbilled>> {
    let rows = time_entries::table
        .filter(time_entries::billable.eq(true))
        .filter(time_entries::invoice_id.is_null())
        .group_by(time_entries::user_id)
        .select((
            time_entries::user_id,
            count_star(),
            sum(time_entries::minutes),
            sql::<Nullable<BigInt>>(ENTRY_AMOUNTS),
        ))
        .order_by(time_entries::user_id)
        .load(conn)?;
    Ok(unbilled(rows))
}

/// One month's invoicing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyInvoiced {
    pub month: String,
    pub invoices: i64,
    pub net_cents: i64,
    pub total_cents: i64,
}

/// Invoices issued in `[from, to]` (by date of issue, cancelled ones left out), per month.
pub fn invoiced_per_month(
    conn: &mut AnyConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MonthlyInvoiced>> {
    let month = month_of("issue_date");
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = invoices::table
        .filter(
            invoices::status.eq_any([InvoiceStatus::Issued.as_str(), InvoiceStatus::Paid.as_str()]),
        )
        .filter(invoices::issue_date.ge(from))
        .filter(invoices::issue_date.le(to))
        .group_by(sql::<Text>(&month))
        .select((
            sql::<Text>(&month),
            count_star(),
            sql::<Nullable<BigInt>>("CAST(SUM(net_cents) AS BIGINT)"),
            sql::<Nullable<BigInt>>("CAST(SUM(net_cents + cassa_cents + vat_cents) AS BIGINT)"),
        ))
        .order_by(sql::<Text>(&month))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(month, invoices, net, total)| MonthlyInvoiced {
            month,
            invoices,
            net_cents: net.unwrap_or(0),
            total_cents: total.unwrap_or(0),
        })
        .collect())
}

/// Payments received in `[from, to]`, per month: (month, payments, cents).
pub fn collected_per_month(
    conn: &mut AnyConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64, i64)>> {
    let month = month_of("paid_on");
    let rows: Vec<(String, i64, Option<i64>)> = invoice_payments::table
        .filter(invoice_payments::paid_on.ge(from))
        .filter(invoice_payments::paid_on.le(to))
        .group_by(sql::<Text>(&month))
        .select((
            sql::<Text>(&month),
            count_star(),
            sql::<Nullable<BigInt>>("CAST(SUM(amount_cents) AS BIGINT)"),
        ))
        .order_by(sql::<Text>(&month))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(m, n, cents)| (m, n, cents.unwrap_or(0)))
        .collect())
}
