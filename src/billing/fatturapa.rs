//! FatturaPA (FPR12, schema 1.2.3): an issued invoice as the XML the SDI takes, TD01 for an
//! invoice and TD06 for a parcella, with the cassa forense contribution (TC01), the
//! withholding tax (RT01) and one DettaglioLinee per line. Written with quick-xml; the tests
//! validate it against the official XSD with `xmllint`.

use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::firm::FirmProfile;
use super::invoices::{self, InvoiceKind, InvoiceLineRow, InvoiceRow, InvoiceStatus};
use super::money;
use crate::db::AnyConnection;
use crate::error::{Error, Result};

const NAMESPACE: &str = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2";
/// Nature of a line without VAT: not subject, other cases (N2.2).
const NO_VAT_NATURE: &str = "N2.2";

/// Text as the schema's Latin types take it: characters outside Basic Latin and Latin-1
/// replaced (typographic quotes and dashes by their ASCII forms), blanks collapsed, at most
/// `max` characters.
pub fn latin(text: &str, max: usize) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            c if c.is_control() => ' ',
            c if (c as u32) <= 0xFF => c,
            _ => '?',
        })
        .collect();
    mapped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

fn missing(element: &str, what: &str) -> Error {
    Error::Conflict {
        field: Some("invoiceId".to_owned()),
        message: format!("FatturaPA needs {element}: {what}"),
    }
}

fn required<'a>(value: Option<&'a str>, element: &str, what: &str) -> Result<&'a str> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(element, what))
}

/// An address as the schema's IndirizzoType takes it.
struct Seat {
    street: String,
    cap: String,
    city: String,
    province: Option<String>,
    country: String,
}

fn seat(
    who: &str,
    street: Option<&str>,
    cap: Option<&str>,
    city: Option<&str>,
    province: Option<&str>,
    country: Option<&str>,
    fix: &str,
) -> Result<Seat> {
    let country = country.unwrap_or("IT").trim().to_ascii_uppercase();
    let street = required(street, &format!("{who}/Sede/Indirizzo"), fix)?;
    let city = required(city, &format!("{who}/Sede/Comune"), fix)?;
    let cap = if country == "IT" {
        let cap = required(cap, &format!("{who}/Sede/CAP"), fix)?;
        if cap.len() != 5 || !cap.chars().all(|c| c.is_ascii_digit()) {
            return Err(missing(&format!("{who}/Sede/CAP"), "five digits"));
        }
        cap.to_owned()
    } else {
        // Abroad the SDI takes 00000 (the foreign code goes nowhere in FPR12).
        "00000".to_owned()
    };
    let province = province
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| country == "IT" && p.len() == 2 && p.chars().all(|c| c.is_ascii_uppercase()));
    Ok(Seat {
        street: latin(street, 60),
        cap,
        city: latin(city, 60),
        province,
        country,
    })
}

type W = Writer<Vec<u8>>;

fn text(w: &mut W, name: &str, value: &str) -> std::io::Result<()> {
    // Only `<`, `>` and `&` need escaping in element text; apostrophes stay as written
    // ("dell'atto"), as the SDI's own examples and every reader expect.
    w.create_element(name)
        .write_text_content(BytesText::from_escaped(partial_escape(value)))?;
    Ok(())
}

fn write_seat(w: &mut W, s: &Seat) -> std::io::Result<()> {
    w.create_element("Sede").write_inner_content(|w| {
        text(w, "Indirizzo", &s.street)?;
        text(w, "CAP", &s.cap)?;
        text(w, "Comune", &s.city)?;
        if let Some(p) = &s.province {
            text(w, "Provincia", p)?;
        }
        text(w, "Nazione", &s.country)
    })?;
    Ok(())
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!("writing FatturaPA failed: {e}"))
}

/// The XML of an issued invoice. Missing firm or client details are refused naming the
/// element they would fill.
pub fn render(
    invoice: &InvoiceRow,
    lines: &[InvoiceLineRow],
    firm: &FirmProfile,
) -> Result<String> {
    let (Some(number), Some(year), Some(date)) =
        (invoice.number, invoice.fiscal_year, invoice.issue_date)
    else {
        return Err(missing("Numero and Data", "issue the invoice first"));
    };
    if invoice.status()? == InvoiceStatus::Cancelled {
        return Err(missing("a valid invoice", "this one is cancelled"));
    }
    if lines.is_empty() {
        return Err(missing("DettaglioLinee", "the invoice has no lines"));
    }
    let config = "set it in the [firm] table of the config file";
    let firm_name = latin(
        required(
            firm.name.as_deref(),
            "CedentePrestatore/Anagrafica/Denominazione",
            config,
        )?,
        80,
    );
    let firm_vat = required(
        firm.partita_iva.as_deref(),
        "CedentePrestatore/IdFiscaleIVA/IdCodice",
        config,
    )?;
    let firm_seat = seat(
        "CedentePrestatore",
        firm.street.as_deref(),
        firm.postal_code.as_deref(),
        firm.city.as_deref(),
        firm.province.as_deref(),
        firm.country.as_deref(),
        config,
    )?;
    let client_fix = "complete the client's contact and issue a new invoice";
    let client_name = latin(
        required(
            invoice.client_name.as_deref(),
            "CessionarioCommittente/Anagrafica/Denominazione",
            client_fix,
        )?,
        80,
    );
    let client_vat = invoice
        .client_partita_iva
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let client_cf = invoice
        .client_codice_fiscale
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if client_vat.is_none() && client_cf.is_none() {
        return Err(missing(
            "CessionarioCommittente/IdFiscaleIVA or CodiceFiscale",
            "the client has neither a partita IVA nor a codice fiscale",
        ));
    }
    let client_seat = seat(
        "CessionarioCommittente",
        invoice.client_street.as_deref(),
        invoice.client_postal_code.as_deref(),
        invoice.client_city.as_deref(),
        invoice.client_province.as_deref(),
        invoice.client_country.as_deref(),
        client_fix,
    )?;
    let document = match invoice.kind()? {
        InvoiceKind::Invoice => "TD01",
        InvoiceKind::Parcella => "TD06",
    };
    let vat_rate = money::rate(invoice.vat_rate_bp);
    let no_vat = invoice.vat_rate_bp == 0;
    let withholding = invoice.withholding_cents > 0;
    let transmitter = firm.codice_fiscale.as_deref().unwrap_or(firm_vat);

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let result: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("p:FatturaElettronica")
            .with_attribute(("versione", "FPR12"))
            .with_attribute(("xmlns:p", NAMESPACE))
            .with_attribute(("xmlns:ds", "http://www.w3.org/2000/09/xmldsig#"))
            .write_inner_content(|w| {
                w.create_element("FatturaElettronicaHeader")
                    .write_inner_content(|w| {
                        w.create_element("DatiTrasmissione")
                            .write_inner_content(|w| {
                                w.create_element("IdTrasmittente")
                                    .write_inner_content(|w| {
                                        text(w, "IdPaese", "IT")?;
                                        text(w, "IdCodice", transmitter)
                                    })?;
                                text(
                                    w,
                                    "ProgressivoInvio",
                                    &format!("{:02}{number:05}", year % 100),
                                )?;
                                text(w, "FormatoTrasmissione", "FPR12")?;
                                text(w, "CodiceDestinatario", &invoice.recipient_code)?;
                                if let Some(pec) = invoice.recipient_pec.as_deref().filter(|_| {
                                    invoice.recipient_code == invoices::NO_RECIPIENT_CODE
                                }) {
                                    text(w, "PECDestinatario", pec)?;
                                }
                                Ok(())
                            })?;
                        w.create_element("CedentePrestatore")
                            .write_inner_content(|w| {
                                w.create_element("DatiAnagrafici")
                                    .write_inner_content(|w| {
                                        w.create_element("IdFiscaleIVA").write_inner_content(
                                            |w| {
                                                text(w, "IdPaese", "IT")?;
                                                text(w, "IdCodice", firm_vat)
                                            },
                                        )?;
                                        if let Some(cf) = firm.codice_fiscale.as_deref() {
                                            text(w, "CodiceFiscale", cf)?;
                                        }
                                        w.create_element("Anagrafica").write_inner_content(
                                            |w| text(w, "Denominazione", &firm_name),
                                        )?;
                                        text(w, "RegimeFiscale", firm.regime())
                                    })?;
                                write_seat(w, &firm_seat)
                            })?;
                        w.create_element("CessionarioCommittente")
                            .write_inner_content(|w| {
                                w.create_element("DatiAnagrafici")
                                    .write_inner_content(|w| {
                                        if let Some(vat) = client_vat {
                                            w.create_element("IdFiscaleIVA").write_inner_content(
                                                |w| {
                                                    text(w, "IdPaese", &client_seat.country)?;
                                                    text(w, "IdCodice", vat)
                                                },
                                            )?;
                                        }
                                        if let Some(cf) = client_cf {
                                            text(w, "CodiceFiscale", cf)?;
                                        }
                                        w.create_element("Anagrafica").write_inner_content(
                                            |w| text(w, "Denominazione", &client_name),
                                        )?;
                                        Ok(())
                                    })?;
                                write_seat(w, &client_seat)
                            })?;
                        Ok(())
                    })?;
                w.create_element("FatturaElettronicaBody")
                    .write_inner_content(|w| {
                        w.create_element("DatiGenerali").write_inner_content(|w| {
                            w.create_element("DatiGeneraliDocumento")
                                .write_inner_content(|w| {
                                    text(w, "TipoDocumento", document)?;
                                    text(w, "Divisa", "EUR")?;
                                    text(w, "Data", &date.to_string())?;
                                    text(w, "Numero", &format!("{number}/{year}"))?;
                                    if withholding {
                                        w.create_element("DatiRitenuta").write_inner_content(
                                            |w| {
                                                text(w, "TipoRitenuta", "RT01")?;
                                                text(
                                                    w,
                                                    "ImportoRitenuta",
                                                    &money::decimal(invoice.withholding_cents),
                                                )?;
                                                text(
                                                    w,
                                                    "AliquotaRitenuta",
                                                    &money::rate(invoice.withholding_rate_bp),
                                                )?;
                                                text(w, "CausalePagamento", "A")
                                            },
                                        )?;
                                    }
                                    if invoice.cassa_cents > 0 {
                                        w.create_element("DatiCassaPrevidenziale")
                                            .write_inner_content(|w| {
                                                text(w, "TipoCassa", "TC01")?;
                                                text(
                                                    w,
                                                    "AlCassa",
                                                    &money::rate(invoice.cassa_rate_bp),
                                                )?;
                                                text(
                                                    w,
                                                    "ImportoContributoCassa",
                                                    &money::decimal(invoice.cassa_cents),
                                                )?;
                                                text(
                                                    w,
                                                    "ImponibileCassa",
                                                    &money::decimal(invoice.net_cents),
                                                )?;
                                                text(w, "AliquotaIVA", &vat_rate)?;
                                                if no_vat {
                                                    text(w, "Natura", NO_VAT_NATURE)?;
                                                }
                                                Ok(())
                                            })?;
                                    }
                                    text(
                                        w,
                                        "ImportoTotaleDocumento",
                                        &money::decimal(invoice.total_cents()),
                                    )?;
                                    if let Some(notes) = &invoice.notes {
                                        text(w, "Causale", &latin(notes, 200))?;
                                    }
                                    Ok(())
                                })?;
                            Ok(())
                        })?;
                        w.create_element("DatiBeniServizi")
                            .write_inner_content(|w| {
                                for line in lines {
                                    w.create_element("DettaglioLinee").write_inner_content(
                                        |w| {
                                            text(w, "NumeroLinea", &line.position.to_string())?;
                                            let description = latin(&line.description, 1000);
                                            text(
                                                w,
                                                "Descrizione",
                                                if description.is_empty() {
                                                    "-"
                                                } else {
                                                    &description
                                                },
                                            )?;
                                            text(w, "Quantita", &money::hours(line.minutes, 2, 8))?;
                                            text(w, "UnitaMisura", "ore")?;
                                            text(
                                                w,
                                                "DataInizioPeriodo",
                                                &line.work_date.to_string(),
                                            )?;
                                            text(
                                                w,
                                                "DataFinePeriodo",
                                                &line.work_date.to_string(),
                                            )?;
                                            text(
                                                w,
                                                "PrezzoUnitario",
                                                &money::decimal(line.rate_cents),
                                            )?;
                                            text(
                                                w,
                                                "PrezzoTotale",
                                                &money::decimal(line.amount_cents),
                                            )?;
                                            text(w, "AliquotaIVA", &vat_rate)?;
                                            if withholding {
                                                text(w, "Ritenuta", "SI")?;
                                            }
                                            if no_vat {
                                                text(w, "Natura", NO_VAT_NATURE)?;
                                            }
                                            Ok(())
                                        },
                                    )?;
                                }
                                w.create_element("DatiRiepilogo").write_inner_content(|w| {
                                    text(w, "AliquotaIVA", &vat_rate)?;
                                    if no_vat {
                                        text(w, "Natura", NO_VAT_NATURE)?;
                                    }
                                    text(
                                        w,
                                        "ImponibileImporto",
                                        &money::decimal(invoice.net_cents + invoice.cassa_cents),
                                    )?;
                                    text(w, "Imposta", &money::decimal(invoice.vat_cents))?;
                                    if !no_vat {
                                        text(w, "EsigibilitaIVA", "I")?;
                                    }
                                    Ok(())
                                })?;
                                Ok(())
                            })?;
                        w.create_element("DatiPagamento").write_inner_content(|w| {
                            text(w, "CondizioniPagamento", "TP02")?;
                            w.create_element("DettaglioPagamento")
                                .write_inner_content(|w| {
                                    text(w, "ModalitaPagamento", "MP05")?;
                                    if let Some(due) = invoice.due_date {
                                        text(w, "DataScadenzaPagamento", &due.to_string())?;
                                    }
                                    text(
                                        w,
                                        "ImportoPagamento",
                                        &money::decimal(invoice.payable_cents()),
                                    )
                                })?;
                            Ok(())
                        })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })();
    result.map_err(io)?;
    String::from_utf8(w.into_inner())
        .map_err(|e| Error::Internal(format!("FatturaPA is not UTF-8: {e}")))
}

/// Reads an invoice with its lines and renders its FatturaPA.
pub fn export(conn: &mut AnyConnection, invoice_id: &str, firm: &FirmProfile) -> Result<String> {
    let invoice = invoices::get(conn, invoice_id)?;
    let lines = invoices::lines_of(conn, std::slice::from_ref(&invoice.id))?
        .remove(&invoice.id)
        .unwrap_or_default();
    render(&invoice, &lines, firm)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use chrono::NaiveDate;

    use super::*;

    fn firm() -> FirmProfile {
        FirmProfile {
            name: Some("Studio Legale Rossi & Associati".to_owned()),
            partita_iva: Some("01234567890".to_owned()),
            codice_fiscale: None,
            regime_fiscale: None,
            street: Some("Corso Magenta 10".to_owned()),
            postal_code: Some("20123".to_owned()),
            city: Some("Milano".to_owned()),
            province: Some("MI".to_owned()),
            country: None,
            ledes_id: None,
        }
    }

    fn invoice(kind: &str, vat_bp: i32, withholding_bp: i32) -> (InvoiceRow, Vec<InvoiceLineRow>) {
        let t = NaiveDate::from_ymd_opt(2026, 3, 31)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap_or_default();
        let lines = vec![
            line(
                1,
                90,
                20_000,
                "Redazione dell\u{2019}atto di citazione \u{2013} prima bozza",
            ),
            line(2, 20, 25_000, "Telefonata con il cliente (10\u{20ac})"),
        ];
        let net = lines.iter().map(|l| l.amount_cents).sum();
        let t2 = money::totals(net, 400, vat_bp, withholding_bp);
        let row = InvoiceRow {
            id: "inv".to_owned(),
            kind: kind.to_owned(),
            status: "issued".to_owned(),
            fiscal_year: Some(2026),
            number: Some(7),
            client_contact_id: Some("c1".to_owned()),
            client_name: Some("Acme S.p.A.".to_owned()),
            client_codice_fiscale: None,
            client_partita_iva: Some("12345678903".to_owned()),
            client_street: Some("Via Roma 1".to_owned()),
            client_postal_code: Some("20121".to_owned()),
            client_city: Some("Milano".to_owned()),
            client_province: Some("mi".to_owned()),
            client_country: Some("IT".to_owned()),
            recipient_code: "0000000".to_owned(),
            recipient_pec: Some("acme@pec.it".to_owned()),
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 31),
            due_date: NaiveDate::from_ymd_opt(2026, 4, 30),
            net_cents: t2.net,
            cassa_rate_bp: 400,
            cassa_cents: t2.cassa,
            vat_rate_bp: vat_bp,
            vat_cents: t2.vat,
            withholding_rate_bp: withholding_bp,
            withholding_cents: t2.withholding,
            paid_cents: 0,
            notes: Some("Competenze marzo 2026".to_owned()),
            created_by: None,
            paid_at: None,
            cancelled_at: None,
            created_at: t,
            updated_at: t,
        };
        (row, lines)
    }

    fn line(position: i32, minutes: i32, rate: i64, text: &str) -> InvoiceLineRow {
        InvoiceLineRow {
            id: format!("l{position}"),
            invoice_id: "inv".to_owned(),
            position,
            time_entry_id: None,
            matter_id: None,
            user_id: None,
            work_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            description: text.to_owned(),
            task_code: None,
            activity_code: None,
            minutes,
            rate_cents: rate,
            amount_cents: money::amount(minutes, rate),
        }
    }

    /// Validates XML against the official schema with `xmllint --nonet`; `Err` holds its report.
    pub fn xsd_valid(xml: &str) -> std::result::Result<(), String> {
        let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fatturapa/FatturaPA_FPR12_v1.2.3.xsd");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("invoice.xml");
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(xml.as_bytes()))
            .map_err(|e| e.to_string())?;
        let out = std::process::Command::new("xmllint")
            .args(["--nonet", "--noout", "--schema"])
            .arg(&schema)
            .arg(&file)
            .output()
            .map_err(|e| format!("xmllint (libxml2-utils) must be installed: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    #[test]
    fn an_invoice_with_cassa_and_withholding_is_valid_fatturapa() {
        let (row, lines) = invoice("invoice", 2200, 2000);
        let xml = render(&row, &lines, &firm()).expect("renders");
        xsd_valid(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        for part in [
            "<TipoDocumento>TD01</TipoDocumento>",
            "<Numero>7/2026</Numero>",
            "<TipoRitenuta>RT01</TipoRitenuta>",
            "<ImportoRitenuta>76.67</ImportoRitenuta>",
            "<TipoCassa>TC01</TipoCassa>",
            "<ImportoContributoCassa>15.33</ImportoContributoCassa>",
            "<ImponibileImporto>398.66</ImponibileImporto>",
            "<Imposta>87.71</Imposta>",
            "<ImportoTotaleDocumento>486.37</ImportoTotaleDocumento>",
            "<ImportoPagamento>409.70</ImportoPagamento>",
            "<Quantita>0.33333333</Quantita>",
            "<PECDestinatario>acme@pec.it</PECDestinatario>",
            "<Provincia>MI</Provincia>",
            "Redazione dell'atto di citazione - prima bozza",
            "Denominazione>Studio Legale Rossi &amp; Associati<",
        ] {
            assert!(xml.contains(part), "{part} missing from\n{xml}");
        }
        assert!(!xml.contains('\u{20ac}'), "only Latin-1 text");
    }

    #[test]
    fn a_parcella_without_vat_or_withholding_is_valid_td06() {
        let (row, lines) = invoice("parcella", 0, 0);
        let xml = render(&row, &lines, &firm()).expect("renders");
        xsd_valid(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert!(xml.contains("<TipoDocumento>TD06</TipoDocumento>"));
        assert!(xml.contains("<Natura>N2.2</Natura>"));
        assert!(!xml.contains("DatiRitenuta"));
    }

    #[test]
    fn missing_details_name_the_element() {
        let (row, lines) = invoice("invoice", 2200, 2000);
        let mut no_firm = firm();
        no_firm.partita_iva = None;
        let err = render(&row, &lines, &no_firm).expect_err("refused");
        assert!(
            err.to_string()
                .contains("CedentePrestatore/IdFiscaleIVA/IdCodice"),
            "{err}"
        );
        let mut no_cap = row.clone();
        no_cap.client_postal_code = None;
        let err = render(&no_cap, &lines, &firm()).expect_err("refused");
        assert!(
            err.to_string().contains("CessionarioCommittente/Sede/CAP"),
            "{err}"
        );
        let mut draft = row;
        draft.number = None;
        assert!(render(&draft, &lines, &firm()).is_err());
    }

    #[test]
    fn the_schema_check_can_fail() {
        assert!(xsd_valid("<p:FatturaElettronica xmlns:p=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2\" versione=\"FPR12\"/>").is_err());
    }
}
