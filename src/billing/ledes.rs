//! LEDES 1998B: the e-billing text format. A first line `LEDES1998B[]`, a line naming the 24
//! fields, then one line per invoice line item; fields separated by `|`, every line ending in
//! `[]`; dates `YYYYMMDD`; amounts with two decimals and no thousands separators; no field
//! may contain `|`, `[]` or a line break.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::invoices::{self, InvoiceLineRow, InvoiceRow, InvoiceStatus};
use super::money;
use crate::db::AnyConnection;
use crate::directory::UserRow;
use crate::error::{Error, Result};

/// The 24 fields of a LEDES 1998B line, in order.
pub const FIELDS: [&str; 24] = [
    "INVOICE_DATE",
    "INVOICE_NUMBER",
    "CLIENT_ID",
    "LAW_FIRM_MATTER_ID",
    "INVOICE_TOTAL",
    "BILLING_START_DATE",
    "BILLING_END_DATE",
    "INVOICE_DESCRIPTION",
    "LINE_ITEM_NUMBER",
    "EXP/FEE/INV_ADJ_TYPE",
    "LINE_ITEM_NUMBER_OF_UNITS",
    "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL",
    "LINE_ITEM_DATE",
    "LINE_ITEM_TASK_CODE",
    "LINE_ITEM_EXPENSE_CODE",
    "LINE_ITEM_ACTIVITY_CODE",
    "TIMEKEEPER_ID",
    "LINE_ITEM_DESCRIPTION",
    "LAW_FIRM_ID",
    "LINE_ITEM_UNIT_COST",
    "TIMEKEEPER_NAME",
    "TIMEKEEPER_CLASSIFICATION",
    "CLIENT_MATTER_ID",
];

/// The timekeeper of a line, as LEDES names and classifies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timekeeper {
    pub id: String,
    /// "Last, First".
    pub name: String,
    /// PT partner, AS associate, LA legal assistant, PL paralegal, OT other.
    pub classification: &'static str,
}

impl Timekeeper {
    pub fn of(user: &UserRow) -> Timekeeper {
        Timekeeper {
            id: user.id.clone(),
            name: last_first(&user.display_name),
            classification: match user.role.as_str() {
                "partner" => "PT",
                "lawyer" => "AS",
                "trainee" => "LA",
                "staff" => "PL",
                _ => "OT",
            },
        }
    }
}

/// "Maria Rossi" → "Rossi, Maria"; a single word stays as it is.
pub fn last_first(name: &str) -> String {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.rsplit_once(' ') {
        Some((first, last)) => format!("{last}, {first}"),
        None => name,
    }
}

/// Everything one export needs, read from the database beforehand.
pub struct LedesInvoice<'a> {
    pub invoice: &'a InvoiceRow,
    pub lines: &'a [InvoiceLineRow],
    /// Matter references by matter key.
    pub matter_refs: &'a HashMap<String, String>,
    pub timekeepers: &'a HashMap<String, Timekeeper>,
    pub law_firm_id: &'a str,
}

/// A value as a LEDES field: no `|`, no `[` or `]` (so never `[]`), no line breaks, trimmed.
pub fn field(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '|' => '/',
            '[' => '(',
            ']' => ')',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// The first two lines of every LEDES 1998B file: the format and the field names.
fn header() -> String {
    let mut out = String::from("LEDES1998B[]\n");
    out.push_str(&FIELDS.join("|"));
    out.push_str("[]\n");
    out
}

/// The export's text.
pub fn render(x: &LedesInvoice<'_>) -> Result<String> {
    let mut out = header();
    out.push_str(&rows(x)?);
    Ok(out)
}

/// One invoice's lines; its INVOICE_TOTAL is the sum of the lines given.
fn rows(x: &LedesInvoice<'_>) -> Result<String> {
    let inv = x.invoice;
    let (Some(number), Some(issued)) = (inv.display_number(), inv.issue_date) else {
        return Err(Error::Conflict {
            field: Some("invoiceId".to_owned()),
            message: "a draft has no number or date yet: issue it first".to_owned(),
        });
    };
    let client_id = inv
        .client_partita_iva
        .clone()
        .or_else(|| inv.client_codice_fiscale.clone())
        .or_else(|| inv.client_contact_id.clone())
        .unwrap_or_default();
    let total: i64 = x.lines.iter().map(|l| l.amount_cents).sum();
    let start = x.lines.iter().map(|l| l.work_date).min().unwrap_or(issued);
    let end = x.lines.iter().map(|l| l.work_date).max().unwrap_or(issued);
    let description = inv
        .notes
        .clone()
        .unwrap_or_else(|| "Professional services".to_owned());
    let mut out = String::new();
    for line in x.lines {
        let keeper = line
            .user_id
            .as_ref()
            .and_then(|u| x.timekeepers.get(u))
            .cloned()
            .unwrap_or_default();
        let matter = line
            .matter_id
            .as_ref()
            .and_then(|m| x.matter_refs.get(m))
            .cloned()
            .unwrap_or_default();
        let values: [String; 24] = [
            date(issued),
            field(&number),
            field(&client_id),
            field(&matter),
            money::decimal(total),
            date(start),
            date(end),
            field(&description),
            line.position.to_string(),
            "F".to_owned(),
            money::hours(line.minutes, 2, 8),
            money::decimal(0),
            money::decimal(line.amount_cents),
            date(line.work_date),
            field(line.task_code.as_deref().unwrap_or("")),
            String::new(),
            field(line.activity_code.as_deref().unwrap_or("")),
            field(&keeper.id),
            field(&line.description),
            field(x.law_firm_id),
            money::decimal(line.rate_cents),
            field(&keeper.name),
            keeper.classification.to_owned(),
            String::new(),
        ];
        out.push_str(&values.join("|"));
        out.push_str("[]\n");
    }
    Ok(out)
}

/// The matter references and timekeepers the lines name.
type Names = (HashMap<String, String>, HashMap<String, Timekeeper>);

fn names(conn: &mut AnyConnection, lines: &[InvoiceLineRow]) -> Result<Names> {
    let matter_ids: Vec<String> = lines.iter().filter_map(|l| l.matter_id.clone()).collect();
    let matter_refs = crate::matters::get_many(conn, &matter_ids)?
        .into_iter()
        .map(|(id, m)| (id, m.reference))
        .collect();
    let user_ids: Vec<String> = lines.iter().filter_map(|l| l.user_id.clone()).collect();
    let timekeepers = crate::directory::users_by_id(conn, &user_ids)?
        .into_iter()
        .map(|(id, u)| (id, Timekeeper::of(&u)))
        .collect();
    Ok((matter_refs, timekeepers))
}

/// A matter's billed time as one LEDES 1998B file: the matter's lines on each of its issued
/// (or paid) invoices, oldest invoice first, each invoice's INVOICE_TOTAL the sum of its
/// lines in the file. Also returns the clients invoiced (for the access log). A matter with
/// nothing on an issued invoice is a conflict.
pub fn export_matter(
    conn: &mut AnyConnection,
    matter_id: &str,
    law_firm_id: &str,
) -> Result<(String, Vec<String>)> {
    use crate::db::schema::{invoice_matters, invoices as invoice_table};
    use diesel::prelude::*;
    let ids: Vec<String> = invoice_matters::table
        .inner_join(invoice_table::table)
        .filter(invoice_matters::matter_id.eq(matter_id))
        .filter(
            invoice_table::status
                .eq_any([InvoiceStatus::Issued.as_str(), InvoiceStatus::Paid.as_str()]),
        )
        .order_by((
            invoice_table::issue_date.asc(),
            invoice_table::fiscal_year.asc(),
            invoice_table::number.asc(),
            invoice_table::id.asc(),
        ))
        .select(invoice_table::id)
        .load(conn)?;
    let mut invoices_by_id = invoices::get_many(conn, &ids)?;
    let mut lines_by_invoice = invoices::lines_of(conn, &ids)?;
    for lines in lines_by_invoice.values_mut() {
        lines.retain(|l| l.matter_id.as_deref() == Some(matter_id));
    }
    let all_lines: Vec<InvoiceLineRow> = lines_by_invoice.values().flatten().cloned().collect();
    let (matter_refs, timekeepers) = names(conn, &all_lines)?;
    let mut out = header();
    let mut clients = Vec::new();
    let mut any = false;
    for id in &ids {
        let (Some(invoice), Some(lines)) = (invoices_by_id.remove(id), lines_by_invoice.remove(id))
        else {
            continue;
        };
        if lines.is_empty() {
            continue;
        }
        any = true;
        out.push_str(&rows(&LedesInvoice {
            invoice: &invoice,
            lines: &lines,
            matter_refs: &matter_refs,
            timekeepers: &timekeepers,
            law_firm_id,
        })?);
        clients.extend(invoice.client_contact_id.clone());
    }
    if !any {
        return Err(Error::Conflict {
            field: Some("matterId".to_owned()),
            message: "no time of this matter is on an issued invoice yet".to_owned(),
        });
    }
    clients.sort();
    clients.dedup();
    Ok((out, clients))
}

/// Reads an invoice's lines, matters and timekeepers and renders its LEDES export.
pub fn export(conn: &mut AnyConnection, invoice_id: &str, law_firm_id: &str) -> Result<String> {
    let invoice = invoices::get(conn, invoice_id)?;
    if invoice.status()? == InvoiceStatus::Cancelled {
        return Err(Error::Conflict {
            field: Some("invoiceId".to_owned()),
            message: "the invoice is cancelled".to_owned(),
        });
    }
    let lines = invoices::lines_of(conn, std::slice::from_ref(&invoice.id))?
        .remove(&invoice.id)
        .unwrap_or_default();
    let (matter_refs, timekeepers) = names(conn, &lines)?;
    render(&LedesInvoice {
        invoice: &invoice,
        lines: &lines,
        matter_refs: &matter_refs,
        timekeepers: &timekeepers,
        law_firm_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice() -> InvoiceRow {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 31)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap_or_default();
        InvoiceRow {
            id: "inv".to_owned(),
            kind: "invoice".to_owned(),
            status: "issued".to_owned(),
            fiscal_year: Some(2026),
            number: Some(7),
            client_contact_id: Some("c1".to_owned()),
            client_name: Some("Acme SpA".to_owned()),
            client_codice_fiscale: None,
            client_partita_iva: Some("12345678903".to_owned()),
            client_street: None,
            client_postal_code: None,
            client_city: None,
            client_province: None,
            client_country: None,
            recipient_code: "0000000".to_owned(),
            recipient_pec: None,
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 31),
            due_date: None,
            net_cents: 38_333,
            cassa_rate_bp: 400,
            cassa_cents: 0,
            vat_rate_bp: 2200,
            vat_cents: 0,
            withholding_rate_bp: 0,
            withholding_cents: 0,
            paid_cents: 0,
            notes: Some("March | work [draft]".to_owned()),
            created_by: None,
            paid_at: None,
            cancelled_at: None,
            created_at: t,
            updated_at: t,
        }
    }

    fn line(position: i32, day: u32, minutes: i32, rate: i64, text: &str) -> InvoiceLineRow {
        InvoiceLineRow {
            id: format!("l{position}"),
            invoice_id: "inv".to_owned(),
            position,
            time_entry_id: None,
            matter_id: Some("m1".to_owned()),
            user_id: Some("u1".to_owned()),
            work_date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap_or_default(),
            description: text.to_owned(),
            task_code: Some("L120".to_owned()),
            activity_code: Some("A103".to_owned()),
            minutes,
            rate_cents: rate,
            amount_cents: money::amount(minutes, rate),
        }
    }

    fn export_of(lines: &[InvoiceLineRow]) -> String {
        let refs = HashMap::from([("m1".to_owned(), "2026/0042".to_owned())]);
        let keepers = HashMap::from([(
            "u1".to_owned(),
            Timekeeper {
                id: "u1".to_owned(),
                name: last_first("Maria  Rossi"),
                classification: "PT",
            },
        )]);
        render(&LedesInvoice {
            invoice: &invoice(),
            lines,
            matter_refs: &refs,
            timekeepers: &keepers,
            law_firm_id: "01234567890",
        })
        .expect("renders")
    }

    #[test]
    fn header_field_names_and_line_ends() {
        let text = export_of(&[line(1, 2, 90, 20_000, "Drafting")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "LEDES1998B[]");
        assert_eq!(lines[1], format!("{}[]", FIELDS.join("|")));
        assert_eq!(lines.len(), 3);
        for l in &lines {
            assert!(l.ends_with("[]"), "{l}");
            assert_eq!(l.matches("[]").count(), 1, "[] only at the end: {l}");
        }
        assert_eq!(FIELDS.len(), 24);
    }

    #[test]
    fn every_line_has_the_24_fields_in_order() {
        let text = export_of(&[
            line(1, 2, 90, 20_000, "Drafting | the brief"),
            line(2, 5, 20, 25_000, "Call with\nclient [urgent]"),
        ]);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(2)
            .map(|l| l.trim_end_matches("[]").split('|').collect())
            .collect();
        assert_eq!(rows.len(), 2);
        for r in &rows {
            assert_eq!(r.len(), 24, "{r:?}");
        }
        let r = &rows[0];
        assert_eq!(r[0], "20260331", "INVOICE_DATE is YYYYMMDD");
        assert_eq!(r[1], "7/2026");
        assert_eq!(r[2], "12345678903", "CLIENT_ID: the client's partita IVA");
        assert_eq!(r[3], "2026/0042");
        // 300.00 + 83.33: the total repeats on every line.
        assert_eq!(r[4], "383.33");
        assert_eq!(rows[1][4], "383.33");
        assert_eq!((r[5], r[6]), ("20260302", "20260305"), "billing period");
        assert_eq!(r[7], "March / work (draft)");
        assert_eq!((r[8], r[9]), ("1", "F"));
        assert_eq!(r[10], "1.50");
        assert_eq!(r[11], "0.00");
        assert_eq!(r[12], "300.00");
        assert_eq!(r[13], "20260302");
        assert_eq!((r[14], r[15], r[16]), ("L120", "", "A103"));
        assert_eq!(r[17], "u1");
        assert_eq!(r[18], "Drafting / the brief");
        assert_eq!(r[19], "01234567890");
        assert_eq!(r[20], "200.00");
        assert_eq!((r[21], r[22], r[23]), ("Rossi, Maria", "PT", ""));
        let r = &rows[1];
        assert_eq!(r[18], "Call with client (urgent)", "no line break, no []");
        assert_eq!(r[10], "0.33333333");
        assert_eq!(r[12], "83.33");
    }

    #[test]
    fn amounts_have_two_decimals_and_units_times_cost_make_the_total() {
        let text = export_of(&[line(1, 2, 20, 33_333, "x"), line(2, 3, 7, 12_345, "y")]);
        for l in text.lines().skip(2) {
            let r: Vec<&str> = l.trim_end_matches("[]").split('|').collect();
            for i in [4, 11, 12, 20] {
                let (units, cents) = r[i].split_once('.').expect("a decimal point");
                assert!(units.chars().all(|c| c.is_ascii_digit()), "{}", r[i]);
                assert_eq!(cents.len(), 2, "{} has two decimals", r[i]);
            }
            // LINE_ITEM_TOTAL = units x unit cost + adjustment, to the cent.
            let scaled = |s: &str, places: u32| -> i128 {
                let (a, b) = s.split_once('.').unwrap_or((s, ""));
                let b = format!("{b:0<width$}", width = places as usize);
                (a.to_owned() + &b).parse().unwrap_or(0)
            };
            let product = scaled(r[10], 8) * scaled(r[20], 2);
            let total = scaled(r[12], 2) * 100_000_000;
            assert!((product - total).abs() <= 50_000_000, "{l}");
        }
    }

    #[test]
    fn a_draft_cannot_be_exported() {
        let mut draft = invoice();
        draft.number = None;
        draft.issue_date = None;
        let refs = HashMap::new();
        let keepers = HashMap::new();
        let result = render(&LedesInvoice {
            invoice: &draft,
            lines: &[],
            matter_refs: &refs,
            timekeepers: &keepers,
            law_firm_id: "",
        });
        assert!(matches!(result, Err(Error::Conflict { .. })));
    }

    #[test]
    fn names_and_classifications() {
        assert_eq!(last_first("Anna Maria Bianchi"), "Bianchi, Anna Maria");
        assert_eq!(last_first("Cher"), "Cher");
        assert_eq!(field(" a\tb\r\nc "), "a b c");
    }
}
