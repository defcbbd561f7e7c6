//! FatturaPA import (issue 16): the firm's issued e-invoices, as plain XML (FPR12/FPA12 1.2.x)
//! or as a signed CAdES envelope (`.p7m`, DER), become invoices. The CessionarioCommittente
//! becomes a client contact, or is linked to the one with the same partita IVA or codice
//! fiscale; the lines, VAT, cassa, ritenuta and totals are kept as the document states them.
//!
//! An invoice's natural key is the seller's partita IVA, the year and the number as printed:
//! importing the same document again changes nothing. Everything a file holds is imported in
//! the caller's transaction or nothing is; a bad document is refused naming its element.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Deserialize;

use super::firm::FirmProfile;
use super::invoices::{self, InvoiceKind, InvoiceLineRow, InvoiceRow, InvoiceStatus};
use crate::contacts::{self, AddressInput, ContactCategory, ContactKind, ContactRules};
use crate::db::schema::{contacts as contact_table, invoice_external_ids, invoice_lines};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::grounds::{LegalBasis, ProcessingGroundInput};
use crate::gdpr::provenance::{ContactSourceInput, SourceKind};
use crate::gdpr::{Actor, BasisRules, KeyedHasher};
use crate::validation::{normalize_codice_fiscale, normalize_partita_iva};

/// The source system of a FatturaPA import's external IDs.
pub const SOURCE: &str = "fatturapa";
/// The purpose a client's data is held for; its basis is the contract (art. 6(1)(b)).
pub const CLIENT_PURPOSE: &str = "client_relationship";

// The document as the schema lays it out; only what the import uses. Values stay text
// until checked, so that a bad one is reported naming its element.

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "@versione")]
    versione: String,
    #[serde(rename = "FatturaElettronicaHeader")]
    header: Header,
    #[serde(rename = "FatturaElettronicaBody")]
    bodies: Vec<Body>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    dati_trasmissione: Transmission,
    cedente_prestatore: Seller,
    cessionario_committente: Buyer,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Transmission {
    codice_destinatario: String,
    #[serde(rename = "PECDestinatario")]
    pec_destinatario: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Seller {
    dati_anagrafici: SellerRegistry,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SellerRegistry {
    #[serde(rename = "IdFiscaleIVA")]
    id_fiscale_iva: TaxId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TaxId {
    id_paese: String,
    id_codice: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Buyer {
    dati_anagrafici: BuyerRegistry,
    sede: Seat,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuyerRegistry {
    #[serde(rename = "IdFiscaleIVA")]
    id_fiscale_iva: Option<TaxId>,
    codice_fiscale: Option<String>,
    anagrafica: Names,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Names {
    denominazione: Option<String>,
    nome: Option<String>,
    cognome: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Seat {
    indirizzo: String,
    numero_civico: Option<String>,
    #[serde(rename = "CAP")]
    cap: String,
    comune: String,
    provincia: Option<String>,
    nazione: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Body {
    dati_generali: General,
    dati_beni_servizi: Goods,
    #[serde(default)]
    dati_pagamento: Vec<Payment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct General {
    dati_generali_documento: GeneralDocument,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GeneralDocument {
    tipo_documento: String,
    divisa: String,
    data: String,
    numero: String,
    #[serde(default)]
    dati_ritenuta: Vec<Withholding>,
    dati_bollo: Option<Stamp>,
    #[serde(default)]
    dati_cassa_previdenziale: Vec<Cassa>,
    importo_totale_documento: Option<String>,
    #[serde(default)]
    causale: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Withholding {
    importo_ritenuta: String,
    aliquota_ritenuta: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stamp {
    importo_bollo: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Cassa {
    al_cassa: String,
    importo_contributo_cassa: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Goods {
    dettaglio_linee: Vec<Line>,
    dati_riepilogo: Vec<Summary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Line {
    numero_linea: String,
    descrizione: String,
    quantita: Option<String>,
    unita_misura: Option<String>,
    prezzo_unitario: String,
    prezzo_totale: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    #[serde(rename = "AliquotaIVA")]
    aliquota_iva: String,
    imposta: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payment {
    #[serde(default)]
    dettaglio_pagamento: Vec<PaymentDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PaymentDetail {
    data_scadenza_pagamento: Option<String>,
}

/// The client as an invoice names them, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub organization_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub partita_iva: Option<String>,
    pub codice_fiscale: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub province: Option<String>,
    pub country: String,
    pub recipient_code: String,
    pub recipient_pec: Option<String>,
}

impl Client {
    pub fn display_name(&self) -> String {
        match &self.organization_name {
            Some(name) => name.clone(),
            None => [self.given_name.as_deref(), self.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One line as the document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    pub position: i32,
    pub description: String,
    /// Minutes when the quantity is in hours; 0 otherwise.
    pub minutes: i32,
    pub unit_price_cents: i64,
    pub amount_cents: i64,
}

/// One invoice (FatturaElettronicaBody) of a document, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedInvoice {
    pub seller_partita_iva: String,
    pub kind: InvoiceKind,
    pub number: String,
    pub date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub client: Client,
    pub lines: Vec<ParsedLine>,
    pub net_cents: i64,
    pub cassa_rate_bp: i32,
    pub cassa_cents: i64,
    pub vat_rate_bp: i32,
    pub vat_cents: i64,
    pub withholding_rate_bp: i32,
    pub withholding_cents: i64,
    pub notes: Option<String>,
}

impl ParsedInvoice {
    /// The natural key: seller partita IVA, year and number as printed.
    pub fn external_id(&self) -> String {
        format!(
            "IT{}/{}/{}",
            self.seller_partita_iva,
            self.date.year(),
            self.number
        )
    }

    /// The progressive number: the first run of digits of the printed number, if any.
    pub fn sequence(&self) -> Option<i32> {
        let digits: String = self
            .number
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

/// A bad document: `field` is the GraphQL input it came in, the message names the element.
fn bad(field: &str, element: &str, problem: impl std::fmt::Display) -> Error {
    Error::invalid(field, format!("{element}: {problem}"))
}

/// The element path of a deserialisation error, e.g.
/// `FatturaElettronicaBody[1]/DatiGenerali/DatiGeneraliDocumento/Numero`.
fn element_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let mut out = String::from("FatturaElettronica");
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                out.push_str(&format!("[{}]", index + 1));
            }
            serde_path_to_error::Segment::Map { key } => {
                out.push('/');
                out.push_str(key.trim_start_matches('@'));
            }
            serde_path_to_error::Segment::Enum { variant } => {
                out.push('/');
                out.push_str(variant);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    // "missing field `Numero`": the element that is missing.
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        out.push('/');
        out.push_str(name.trim_start_matches('@'));
    }
    out
}

/// The root element's local name, and that the text is well-formed up to it.
fn check_root(field: &str, xml: &str) -> Result<()> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                let name = e.local_name();
                let name = String::from_utf8_lossy(name.as_ref()).into_owned();
                if name != "FatturaElettronica" {
                    return Err(bad(
                        field,
                        &name,
                        "the root element is not FatturaElettronica: not a FatturaPA invoice",
                    ));
                }
                return Ok(());
            }
            Ok(quick_xml::events::Event::Eof) => {
                return Err(bad(field, "FatturaElettronica", "the document is empty"))
            }
            Ok(_) => {}
            Err(e) => {
                return Err(bad(
                    field,
                    "FatturaElettronica",
                    format!(
                        "not well-formed XML at byte {}: {e}",
                        reader.buffer_position()
                    ),
                ))
            }
        }
    }
}

/// Parses and checks a FatturaPA document: one [`ParsedInvoice`] per body.
pub fn parse(field: &str, xml: &str) -> Result<Vec<ParsedInvoice>> {
    let xml = xml.trim_start_matches('\u{feff}');
    check_root(field, xml)?;
    let mut de = quick_xml::de::Deserializer::from_str(xml);
    let doc: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let message = e.inner().to_string();
        let element = element_path(e.path(), &message);
        bad(field, &element, message)
    })?;
    if !matches!(doc.versione.trim(), "FPR12" | "FPA12") {
        return Err(bad(
            field,
            "FatturaElettronica/versione",
            format!("`{}` is not FPR12 or FPA12", doc.versione),
        ));
    }
    let header = &doc.header;
    let seller = &header.cedente_prestatore.dati_anagrafici.id_fiscale_iva;
    let seller_at = "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA";
    if seller.id_paese.trim() != "IT" {
        return Err(bad(
            field,
            &format!("{seller_at}/IdPaese"),
            "the firm's e-invoices have an Italian seller (IT)",
        ));
    }
    let seller_partita_iva = normalize_partita_iva(&seller.id_codice)
        .map_err(|e| bad(field, &format!("{seller_at}/IdCodice"), e))?;
    let client = client(field, header)?;
    if doc.bodies.is_empty() {
        return Err(bad(
            field,
            "FatturaElettronicaBody",
            "the document holds no invoice",
        ));
    }
    doc.bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            invoice(
                field,
                &format!("FatturaElettronicaBody[{}]", i + 1),
                body,
                &seller_partita_iva,
                &client,
            )
        })
        .collect()
}

fn non_blank(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn client(field: &str, header: &Header) -> Result<Client> {
    let at = "FatturaElettronicaHeader/CessionarioCommittente";
    let buyer = &header.cessionario_committente;
    let registry = &buyer.dati_anagrafici;
    let mut partita_iva = None;
    if let Some(id) = &registry.id_fiscale_iva {
        let country = id.id_paese.trim().to_ascii_uppercase();
        if country == "IT" {
            partita_iva = Some(normalize_partita_iva(&id.id_codice).map_err(|e| {
                bad(
                    field,
                    &format!("{at}/DatiAnagrafici/IdFiscaleIVA/IdCodice"),
                    e,
                )
            })?);
        }
    }
    let codice_fiscale = non_blank(registry.codice_fiscale.as_ref())
        .map(|cf| {
            normalize_codice_fiscale(&cf)
                .map_err(|e| bad(field, &format!("{at}/DatiAnagrafici/CodiceFiscale"), e))
        })
        .transpose()?;
    if partita_iva.is_none() && codice_fiscale.is_none() {
        return Err(bad(
            field,
            &format!("{at}/DatiAnagrafici"),
            "an Italian client needs IdFiscaleIVA (IT) or CodiceFiscale to be matched to a contact",
        ));
    }
    let names = &registry.anagrafica;
    let organization_name = non_blank(names.denominazione.as_ref());
    let given_name = non_blank(names.nome.as_ref());
    let family_name = non_blank(names.cognome.as_ref());
    if organization_name.is_none() && family_name.is_none() {
        return Err(bad(
            field,
            &format!("{at}/DatiAnagrafici/Anagrafica"),
            "needs Denominazione, or Nome and Cognome",
        ));
    }
    let seat = &buyer.sede;
    let street = match non_blank(seat.numero_civico.as_ref()) {
        Some(n) => format!("{} {n}", seat.indirizzo.trim()),
        None => seat.indirizzo.trim().to_owned(),
    };
    if street.is_empty() {
        return Err(bad(field, &format!("{at}/Sede/Indirizzo"), "is empty"));
    }
    let city = seat.comune.trim().to_owned();
    if city.is_empty() {
        return Err(bad(field, &format!("{at}/Sede/Comune"), "is empty"));
    }
    let country = seat.nazione.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(bad(
            field,
            &format!("{at}/Sede/Nazione"),
            "an ISO 3166-1 alpha-2 code",
        ));
    }
    let postal_code = seat.cap.trim().to_owned();
    if country == "IT"
        && (postal_code.len() != 5 || !postal_code.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad(field, &format!("{at}/Sede/CAP"), "five digits"));
    }
    let recipient_code = header
        .dati_trasmissione
        .codice_destinatario
        .trim()
        .to_ascii_uppercase();
    if !(6..=7).contains(&recipient_code.len())
        || !recipient_code.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(bad(
            field,
            "FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario",
            "six or seven letters and digits",
        ));
    }
    Ok(Client {
        organization_name,
        given_name,
        family_name,
        partita_iva,
        codice_fiscale,
        street,
        postal_code,
        city,
        province: non_blank(seat.provincia.as_ref()).map(|p| p.to_ascii_uppercase()),
        country,
        recipient_code,
        recipient_pec: non_blank(header.dati_trasmissione.pec_destinatario.as_ref()),
    })
}

/// A decimal as the schema writes amounts (`-?[0-9]+(\.[0-9]+)?`) in units of 10^-`places`,
/// rounded half away from zero.
fn scaled(text: &str, places: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 13
        || fraction.len() > 8
    {
        return None;
    }
    let places = places as usize;
    let mut value: i128 = whole.parse().ok()?;
    let mut kept = 0;
    for c in fraction.chars().take(places) {
        value = value * 10 + i128::from(c.to_digit(10)?);
        kept += 1;
    }
    for _ in kept..places {
        value *= 10;
    }
    if let Some(next) = fraction.chars().nth(places).and_then(|c| c.to_digit(10)) {
        if next >= 5 {
            value += 1;
        }
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

fn cents(field: &str, element: &str, text: &str) -> Result<i64> {
    scaled(text, 2).ok_or_else(|| bad(field, element, format!("`{text}` is not an amount")))
}

fn basis_points(field: &str, element: &str, text: &str) -> Result<i32> {
    scaled(text, 2)
        .filter(|bp| (0..=10_000).contains(bp))
        .and_then(|bp| i32::try_from(bp).ok())
        .ok_or_else(|| {
            bad(
                field,
                element,
                format!("`{text}` is not a rate from 0 to 100"),
            )
        })
}

fn date(field: &str, element: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        bad(
            field,
            element,
            format!("`{text}` is not a date (YYYY-MM-DD)"),
        )
    })
}

/// Whether a unit of measure is hours.
fn in_hours(unit: Option<&String>) -> bool {
    unit.map(|u| u.trim().to_lowercase().replace('.', ""))
        .is_some_and(|u| matches!(u.as_str(), "h" | "hh" | "ora" | "ore" | "hour" | "hours"))
}

fn invoice(
    field: &str,
    at: &str,
    body: &Body,
    seller_partita_iva: &str,
    client: &Client,
) -> Result<ParsedInvoice> {
    let doc = &body.dati_generali.dati_generali_documento;
    let doc_at = format!("{at}/DatiGenerali/DatiGeneraliDocumento");
    let kind = match doc.tipo_documento.trim() {
        "TD01" => InvoiceKind::Invoice,
        "TD06" => InvoiceKind::Parcella,
        other => {
            return Err(bad(
                field,
                &format!("{doc_at}/TipoDocumento"),
                format!("`{other}` is not imported: only TD01 (fattura) and TD06 (parcella)"),
            ))
        }
    };
    if doc.divisa.trim() != "EUR" {
        return Err(bad(
            field,
            &format!("{doc_at}/Divisa"),
            "only invoices in EUR are imported",
        ));
    }
    let issued = date(field, &format!("{doc_at}/Data"), &doc.data)?;
    let number = doc.numero.trim().to_owned();
    if number.is_empty()
        || number.chars().count() > 20
        || !number.chars().any(|c| c.is_ascii_digit())
    {
        return Err(bad(
            field,
            &format!("{doc_at}/Numero"),
            "1 to 20 characters with at least one digit",
        ));
    }
    let lines_at = format!("{at}/DatiBeniServizi/DettaglioLinee");
    let mut lines = Vec::with_capacity(body.dati_beni_servizi.dettaglio_linee.len());
    for (i, line) in body.dati_beni_servizi.dettaglio_linee.iter().enumerate() {
        let line_at = format!("{lines_at}[{}]", i + 1);
        let position = line
            .numero_linea
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad(field, &format!("{line_at}/NumeroLinea"), "a number from 1"))?;
        if lines.iter().any(|l: &ParsedLine| l.position == position) {
            return Err(bad(
                field,
                &format!("{line_at}/NumeroLinea"),
                format!("line {position} appears twice"),
            ));
        }
        let description = line.descrizione.trim().to_owned();
        if description.is_empty() {
            return Err(bad(field, &format!("{line_at}/Descrizione"), "is empty"));
        }
        let minutes = match &line.quantita {
            Some(q) if in_hours(line.unita_misura.as_ref()) => {
                let hundredths = scaled(q, 2)
                    .filter(|h| *h >= 0)
                    .ok_or_else(|| bad(field, &format!("{line_at}/Quantita"), "not a quantity"))?;
                i32::try_from((hundredths * 60 + 50) / 100).unwrap_or(i32::MAX)
            }
            Some(q) => {
                scaled(q, 2)
                    .ok_or_else(|| bad(field, &format!("{line_at}/Quantita"), "not a quantity"))?;
                0
            }
            None => 0,
        };
        lines.push(ParsedLine {
            position,
            description,
            minutes,
            unit_price_cents: cents(
                field,
                &format!("{line_at}/PrezzoUnitario"),
                &line.prezzo_unitario,
            )?,
            amount_cents: cents(
                field,
                &format!("{line_at}/PrezzoTotale"),
                &line.prezzo_totale,
            )?,
        });
    }
    if lines.is_empty() {
        return Err(bad(field, &lines_at, "the invoice has no lines"));
    }
    let net_cents: i64 = lines.iter().map(|l| l.amount_cents).sum();
    if net_cents < 0 {
        return Err(bad(
            field,
            &lines_at,
            "the lines add up to less than zero: a credit note (TD04) is not imported",
        ));
    }
    let mut cassa_rate_bp = 0;
    let mut cassa_cents = 0;
    for (i, c) in doc.dati_cassa_previdenziale.iter().enumerate() {
        let c_at = format!("{doc_at}/DatiCassaPrevidenziale[{}]", i + 1);
        let rate = basis_points(field, &format!("{c_at}/AlCassa"), &c.al_cassa)?;
        if i == 0 {
            cassa_rate_bp = rate;
        }
        cassa_cents += cents(
            field,
            &format!("{c_at}/ImportoContributoCassa"),
            &c.importo_contributo_cassa,
        )?;
    }
    let mut withholding_rate_bp = 0;
    let mut withholding_cents = 0;
    for (i, w) in doc.dati_ritenuta.iter().enumerate() {
        let w_at = format!("{doc_at}/DatiRitenuta[{}]", i + 1);
        let rate = basis_points(
            field,
            &format!("{w_at}/AliquotaRitenuta"),
            &w.aliquota_ritenuta,
        )?;
        if i == 0 {
            withholding_rate_bp = rate;
        }
        withholding_cents += cents(
            field,
            &format!("{w_at}/ImportoRitenuta"),
            &w.importo_ritenuta,
        )?;
    }
    let summaries_at = format!("{at}/DatiBeniServizi/DatiRiepilogo");
    let mut vat_rate_bp = 0;
    let mut vat_cents = 0;
    for (i, s) in body.dati_beni_servizi.dati_riepilogo.iter().enumerate() {
        let s_at = format!("{summaries_at}[{}]", i + 1);
        // The invoice keeps one rate: the highest (fees at 22% beside 0% expenses).
        vat_rate_bp = vat_rate_bp.max(basis_points(
            field,
            &format!("{s_at}/AliquotaIVA"),
            &s.aliquota_iva,
        )?);
        vat_cents += cents(field, &format!("{s_at}/Imposta"), &s.imposta)?;
    }
    if body.dati_beni_servizi.dati_riepilogo.is_empty() {
        return Err(bad(field, &summaries_at, "the VAT summary is missing"));
    }
    if let Some(total) = &doc.importo_totale_documento {
        let total_at = format!("{doc_at}/ImportoTotaleDocumento");
        let stated = cents(field, &total_at, total)?;
        let computed = net_cents + cassa_cents + vat_cents;
        let stamp = match doc
            .dati_bollo
            .as_ref()
            .and_then(|b| b.importo_bollo.as_ref())
        {
            Some(s) => cents(field, &format!("{doc_at}/DatiBollo/ImportoBollo"), s)?,
            None => 0,
        };
        if stated != computed && stated != computed + stamp {
            return Err(bad(
                field,
                &total_at,
                format!(
                    "{} does not add up: lines, cassa and VAT make {}",
                    super::money::decimal(stated),
                    super::money::decimal(computed)
                ),
            ));
        }
    }
    let mut due_date = None;
    for (i, p) in body.dati_pagamento.iter().enumerate() {
        for (j, d) in p.dettaglio_pagamento.iter().enumerate() {
            if let (None, Some(text)) = (due_date, &d.data_scadenza_pagamento) {
                due_date = Some(date(
                    field,
                    &format!(
                        "{at}/DatiPagamento[{}]/DettaglioPagamento[{}]/DataScadenzaPagamento",
                        i + 1,
                        j + 1
                    ),
                    text,
                )?);
            }
        }
    }
    let notes = Some(
        doc.causale
            .iter()
            .map(|c| c.trim())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .filter(|n| !n.is_empty());
    Ok(ParsedInvoice {
        seller_partita_iva: seller_partita_iva.to_owned(),
        kind,
        number,
        date: issued,
        due_date,
        client: client.clone(),
        lines,
        net_cents,
        cassa_rate_bp,
        cassa_cents,
        vat_rate_bp,
        vat_cents,
        withholding_rate_bp,
        withholding_cents,
        notes,
    })
}

/// The signed content of a CAdES-BES envelope (`.p7m`): the DER of a CMS SignedData with the
/// document encapsulated. The signature is not verified (the SDI did that); BER envelopes with
/// indefinite lengths and detached signatures are refused. Base64 text is decoded first.
pub fn unwrap_p7m(field: &str, bytes: &[u8]) -> Result<String> {
    use base64::Engine;
    use der::Decode;
    let decoded;
    let mut der_bytes = bytes;
    // Envelopes are often passed on as base64 text themselves.
    if bytes.first() != Some(&0x30) {
        let text: String = String::from_utf8_lossy(bytes)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        decoded = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| bad(field, "ContentInfo", "not a DER CMS envelope (.p7m)"))?;
        der_bytes = &decoded;
    }
    let envelope = |e: der::Error| {
        bad(
            field,
            "ContentInfo",
            format!(
                "not a DER CMS envelope (.p7m; BER with indefinite lengths is not supported): {e}"
            ),
        )
    };
    let info = cms::content_info::ContentInfo::from_der(der_bytes).map_err(envelope)?;
    let signed_data_oid = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
    if info.content_type != signed_data_oid {
        return Err(bad(
            field,
            "ContentInfo/contentType",
            format!("{} is not signedData", info.content_type),
        ));
    }
    let signed: cms::signed_data::SignedData = info.content.decode_as().map_err(envelope)?;
    let Some(content) = signed.encap_content_info.econtent else {
        return Err(bad(
            field,
            "SignedData/encapContentInfo/eContent",
            "the signature is detached: the envelope holds no document",
        ));
    };
    let octets: der::asn1::OctetString = content.decode_as().map_err(envelope)?;
    String::from_utf8(octets.as_bytes().to_vec()).map_err(|_| {
        bad(
            field,
            "SignedData/encapContentInfo/eContent",
            "the signed content is not UTF-8 XML",
        )
    })
}

/// What one import of a document did to each invoice.
#[derive(Debug, Clone)]
pub struct Imported {
    pub invoice: InvoiceRow,
    /// False when the invoice was there already (a re-import changes nothing).
    pub created: bool,
    /// The client contact, and whether this import created it.
    pub client_id: String,
    pub client_created: bool,
}

/// Everything an import needs besides the connection.
pub struct ImportRules<'a> {
    pub firm: &'a FirmProfile,
    pub contact_rules: &'a ContactRules,
    pub basis_rules: &'a BasisRules,
    pub actor: &'a Actor,
    pub hasher: &'a KeyedHasher,
}

/// Imports a document's invoices; the caller's transaction makes it all or nothing.
pub fn import(
    conn: &mut AnyConnection,
    field: &str,
    xml: &str,
    rules: &ImportRules<'_>,
) -> Result<Vec<Imported>> {
    let parsed = parse(field, xml)?;
    if let Some(own) = rules.firm.partita_iva.as_deref() {
        let own = own.trim().trim_start_matches("IT");
        if let Some(other) = parsed.iter().find(|p| p.seller_partita_iva != own) {
            return Err(bad(
                field,
                "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdCodice",
                format!(
                    "{} is not the firm's partita IVA: only the firm's own issued invoices are imported",
                    other.seller_partita_iva
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(parsed.len());
    for (i, p) in parsed.iter().enumerate() {
        out.push(import_one(
            conn,
            field,
            &format!("FatturaElettronicaBody[{}]", i + 1),
            p,
            rules,
        )?);
    }
    Ok(out)
}

fn same_content(row: &InvoiceRow, p: &ParsedInvoice) -> bool {
    row.issue_date == Some(p.date)
        && row.net_cents == p.net_cents
        && row.cassa_cents == p.cassa_cents
        && row.vat_cents == p.vat_cents
        && row.withholding_cents == p.withholding_cents
}

fn import_one(
    conn: &mut AnyConnection,
    field: &str,
    at: &str,
    p: &ParsedInvoice,
    rules: &ImportRules<'_>,
) -> Result<Imported> {
    let numero_at = format!("{at}/DatiGenerali/DatiGeneraliDocumento/Numero");
    let external_id = p.external_id();
    let known: Option<String> = invoice_external_ids::table
        .filter(invoice_external_ids::source.eq(SOURCE))
        .filter(invoice_external_ids::external_id.eq(&external_id))
        .select(invoice_external_ids::invoice_id)
        .first(conn)
        .optional()?;
    if let Some(id) = known {
        let row = invoices::get(conn, &id)?;
        if !same_content(&row, p) {
            return Err(Error::Conflict {
                field: Some(field.to_owned()),
                message: format!(
                    "{numero_at}: invoice {} of {} was imported before with other amounts or date",
                    p.number,
                    p.date.year()
                ),
            });
        }
        return Ok(Imported {
            client_id: row.client_contact_id.clone().unwrap_or_default(),
            invoice: row,
            created: false,
            client_created: false,
        });
    }
    let year = p.date.year();
    let sequence = p.sequence();
    // The same invoice lexgate itself issued (and exported) comes back: link it.
    if let Some(seq) = sequence {
        let existing: Option<InvoiceRow> = crate::db::schema::invoices::table
            .filter(crate::db::schema::invoices::fiscal_year.eq(year))
            .filter(crate::db::schema::invoices::number.eq(seq))
            .select(InvoiceRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(row) = existing {
            if row.display_number().as_deref() == Some(p.number.as_str()) && same_content(&row, p) {
                record_external_id(conn, &row.id, &external_id)?;
                return Ok(Imported {
                    client_id: row.client_contact_id.clone().unwrap_or_default(),
                    invoice: row,
                    created: false,
                    client_created: false,
                });
            }
            return Err(Error::Conflict {
                field: Some(field.to_owned()),
                message: format!(
                    "{numero_at}: number {seq} of {year} is another invoice's ({})",
                    row.display_number().unwrap_or_default()
                ),
            });
        }
    }
    let (client_id, client_created) = find_or_create_client(conn, field, p, rules)?;
    let timestamp = now();
    let id = new_id();
    let c = &p.client;
    let row = InvoiceRow {
        id: id.clone(),
        kind: p.kind.as_str().to_owned(),
        status: InvoiceStatus::Issued.as_str().to_owned(),
        fiscal_year: Some(year),
        number: sequence,
        client_contact_id: Some(client_id.clone()),
        client_name: Some(c.display_name()),
        client_codice_fiscale: c.codice_fiscale.clone(),
        client_partita_iva: c.partita_iva.clone(),
        client_street: Some(c.street.clone()),
        client_postal_code: Some(c.postal_code.clone()),
        client_city: Some(c.city.clone()),
        client_province: c.province.clone(),
        client_country: Some(c.country.clone()),
        recipient_code: c.recipient_code.clone(),
        recipient_pec: c.recipient_pec.clone(),
        issue_date: Some(p.date),
        due_date: p.due_date,
        net_cents: p.net_cents,
        cassa_rate_bp: p.cassa_rate_bp,
        cassa_cents: p.cassa_cents,
        vat_rate_bp: p.vat_rate_bp,
        vat_cents: p.vat_cents,
        withholding_rate_bp: p.withholding_rate_bp,
        withholding_cents: p.withholding_cents,
        paid_cents: 0,
        notes: p.notes.clone(),
        created_by: rules.actor.user_id.clone(),
        paid_at: None,
        cancelled_at: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(crate::db::schema::invoices::table)
        .values(&row)
        .execute(conn)?;
    let lines: Vec<InvoiceLineRow> = p
        .lines
        .iter()
        .map(|l| InvoiceLineRow {
            id: new_id(),
            invoice_id: id.clone(),
            position: l.position,
            time_entry_id: None,
            matter_id: None,
            user_id: None,
            work_date: p.date,
            description: l.description.clone(),
            task_code: None,
            activity_code: None,
            minutes: l.minutes,
            rate_cents: l.unit_price_cents,
            amount_cents: l.amount_cents,
        })
        .collect();
    for line in &lines {
        diesel::insert_into(invoice_lines::table)
            .values(line)
            .execute(conn)?;
    }
    record_external_id(conn, &id, &external_id)?;
    Ok(Imported {
        invoice: row,
        created: true,
        client_id,
        client_created,
    })
}

fn record_external_id(conn: &mut AnyConnection, invoice_id: &str, external_id: &str) -> Result<()> {
    diesel::insert_into(invoice_external_ids::table)
        .values((
            invoice_external_ids::source.eq(SOURCE),
            invoice_external_ids::external_id.eq(external_id),
            invoice_external_ids::invoice_id.eq(invoice_id),
            invoice_external_ids::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The contact with the client's partita IVA, else with their codice fiscale (the oldest when
/// several), else a new client contact with the import as its source and the contract as
/// its basis. An erased person is not re-created (`ERASED_SUBJECT`).
fn find_or_create_client(
    conn: &mut AnyConnection,
    field: &str,
    p: &ParsedInvoice,
    rules: &ImportRules<'_>,
) -> Result<(String, bool)> {
    let c = &p.client;
    let by = |conn: &mut AnyConnection, vat: bool, value: &str| -> Result<Option<String>> {
        let query = contact_table::table
            .order_by((contact_table::created_at, contact_table::id))
            .select(contact_table::id)
            .into_boxed();
        let query = if vat {
            query.filter(contact_table::partita_iva.eq(value.to_owned()))
        } else {
            query.filter(contact_table::codice_fiscale.eq(value.to_owned()))
        };
        Ok(query.first(conn).optional()?)
    };
    if let Some(vat) = &c.partita_iva {
        if let Some(id) = by(conn, true, vat)? {
            return Ok((id, false));
        }
    }
    if let Some(cf) = &c.codice_fiscale {
        if let Some(id) = by(conn, false, cf)? {
            return Ok((id, false));
        }
    }
    let arose = p.date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let reference = format!("FatturaPA e-invoice {} of {}", p.number, p.date);
    let input = contacts::CreateContactInput {
        kind: if c.organization_name.is_some() {
            ContactKind::Organization
        } else {
            ContactKind::Person
        },
        given_name: c
            .organization_name
            .is_none()
            .then(|| c.given_name.clone())
            .flatten(),
        family_name: c
            .organization_name
            .is_none()
            .then(|| c.family_name.clone())
            .flatten(),
        organization_name: c.organization_name.clone(),
        category: ContactCategory::Client,
        emails: Vec::new(),
        phones: Vec::new(),
        addresses: vec![AddressInput {
            label: Some("invoicing".to_owned()),
            street: c.street.clone(),
            postal_code: Some(c.postal_code.clone()),
            city: c.city.clone(),
            province: c.province.clone(),
            country: Some(c.country.clone()),
        }],
        tags: Vec::new(),
        codice_fiscale: c.codice_fiscale.clone(),
        partita_iva: c.partita_iva.clone(),
        notes: None,
        responsible_user_id: None,
        affiliations: Vec::new(),
        birth_date: None,
        personal_interests: None,
        family_details: None,
        source: ContactSourceInput {
            kind: SourceKind::Other,
            detail: format!("{reference}, imported (the client invoiced)"),
            connector: None,
            external_id: None,
            acquired_at: arose,
            acquired_by_id: None,
        },
        grounds: vec![ProcessingGroundInput {
            purpose: CLIENT_PURPOSE.to_owned(),
            legal_basis: LegalBasis::Contract,
            consent: None,
            assessment_id: None,
            note: Some("client invoiced by the firm (imported e-invoice)".to_owned()),
            basis_arose_at: Some(arose),
            basis_evidence: Some(reference),
        }],
        confirm_returning_subject: false,
    };
    let row = contacts::create(
        conn,
        input,
        rules.contact_rules,
        rules.basis_rules,
        rules.actor,
        Some(rules.hasher),
    )
    .map_err(|e| match e {
        // The contact's own field names mean nothing to the caller: name the document.
        Error::Validation(errors) => Error::Validation(
            errors
                .into_iter()
                .map(|mut fe| {
                    fe.message = format!(
                        "FatturaElettronicaHeader/CessionarioCommittente ({}): {}",
                        fe.field, fe.message
                    );
                    fe.field = field.to_owned();
                    fe
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok((row.id, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_rates_are_exact() {
        assert_eq!(scaled("1234.56", 2), Some(123_456));
        assert_eq!(scaled("0.005", 2), Some(1));
        assert_eq!(scaled("0.00499999", 2), Some(0));
        assert_eq!(scaled("-12.5", 2), Some(-1250));
        assert_eq!(scaled("150.00000000", 2), Some(15_000));
        assert_eq!(scaled("12", 2), Some(1200));
        assert_eq!(scaled("1,5", 2), None);
        assert_eq!(scaled(".5", 2), None);
        assert_eq!(scaled("1e3", 2), None);
        assert_eq!(scaled("", 2), None);
    }

    #[test]
    fn hours_are_recognised() {
        for unit in ["ore", "Ore", "h", "ORE.", "hours"] {
            assert!(in_hours(Some(&unit.to_owned())), "{unit}");
        }
        assert!(!in_hours(Some(&"pz".to_owned())));
        assert!(!in_hours(None));
    }
}
