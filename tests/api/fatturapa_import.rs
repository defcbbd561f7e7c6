//! FatturaPA import (issue 16): the firm's issued e-invoices, as XML or signed `.p7m`, become
//! invoices linked to (or creating) client contacts; re-imports change nothing; bad documents
//! are refused naming their element, and nothing of them is imported.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const FIRM_PIVA: &str = "01234567897";
const ACME_PIVA: &str = "12345678903";
const ROSSIGNOLI_CF: &str = "RSSMRA85T10A562S";

const IMPORT: &str = "
mutation($input: ImportFatturaPaInput!) {
  importFatturaPa(input: $input) {
    invoices {
      created clientCreated
      invoice {
        id kind status number sequence fiscalYear issueDate dueDate
        clientName clientPartitaIva clientCodiceFiscale clientStreet clientCity recipientCode
        netCents cassaRateBasisPoints cassaCents vatRateBasisPoints vatCents
        withholdingRateBasisPoints withholdingCents totalCents payableCents notes
        client { id }
        lines { position description minutes rateCents amountCents date }
        externalIds { source externalId }
      }
    }
  }
}";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fatturapa")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("import").join(name)).expect("fixture")
}

async fn app(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |s| {
        s.firm = lexgate::billing::firm::FirmProfile {
            name: Some("Studio Legale Bianchi".to_owned()),
            partita_iva: Some(FIRM_PIVA.to_owned()),
            street: Some("Corso Magenta 10".to_owned()),
            postal_code: Some("20123".to_owned()),
            city: Some("Milano".to_owned()),
            province: Some("MI".to_owned()),
            ..Default::default()
        };
    })
    .await
}

async fn import(app: &TestApp, xml: &str) -> Vec<Value> {
    let data = app.data(IMPORT, json!({ "input": { "xml": xml } })).await;
    data["importFatturaPa"]["invoices"]
        .as_array()
        .expect("invoices")
        .clone()
}

async fn import_error(app: &TestApp, xml: &str) -> Value {
    app.error(IMPORT, json!({ "input": { "xml": xml } })).await
}

async fn counts(app: &TestApp) -> (i64, i64) {
    let data = app
        .data(
            "{ invoices(first: 1) { totalCount } contacts(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    (
        data["invoices"]["totalCount"].as_i64().expect("count"),
        data["contacts"]["totalCount"].as_i64().expect("count"),
    )
}

/// The fixtures are valid FatturaPA: the tests import what the SDI would accept.
#[test]
fn the_fixtures_pass_the_official_schema() {
    for name in ["td01_acme.xml", "td06_person.xml"] {
        let out = std::process::Command::new("xmllint")
            .args(["--nonet", "--noout", "--schema"])
            .arg(fixtures().join("FatturaPA_FPR12_v1.2.3.xsd"))
            .arg(fixtures().join("import").join(name))
            .output()
            .expect("xmllint (libxml2-utils) runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn an_invoice_links_its_client_and_a_reimport_changes_nothing(backend: Backend) {
    let app = app(backend).await;
    // The client is already a contact: matched by partita IVA, not duplicated.
    let acme = create_organization(&app, "Acme SpA", json!({ "partitaIva": ACME_PIVA })).await;
    let before = counts(&app).await;
    let xml = fixture("td01_acme.xml");
    let first = import(&app, &xml).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["created"], true);
    assert_eq!(first[0]["clientCreated"], false);
    let inv = &first[0]["invoice"];
    assert_eq!(inv["client"]["id"], acme.as_str(), "linked by partita IVA");
    assert_eq!(inv["kind"], "INVOICE");
    assert_eq!(inv["status"], "ISSUED");
    assert_eq!(
        (inv["sequence"].clone(), inv["fiscalYear"].clone()),
        (json!(12), json!(2025))
    );
    assert_eq!(inv["issueDate"], "2025-11-28");
    assert_eq!(inv["dueDate"], "2025-12-28");
    assert_eq!(inv["clientName"], "Acme Meccanica SpA", "as invoiced");
    assert_eq!(inv["clientPartitaIva"], ACME_PIVA);
    assert_eq!(inv["clientStreet"], "Via Roma 1");
    assert_eq!(inv["recipientCode"], "KRRH6B9");
    assert_eq!(inv["netCents"], 150_000);
    assert_eq!(inv["cassaRateBasisPoints"], 400);
    assert_eq!(inv["cassaCents"], 6_000);
    assert_eq!(inv["vatRateBasisPoints"], 2200);
    assert_eq!(inv["vatCents"], 34_320);
    assert_eq!(inv["withholdingRateBasisPoints"], 2000);
    assert_eq!(inv["withholdingCents"], 30_000);
    assert_eq!(inv["totalCents"], 190_320);
    assert_eq!(inv["payableCents"], 160_320);
    assert_eq!(
        inv["notes"],
        "Assistenza stragiudiziale contratto di fornitura"
    );
    assert_eq!(
        inv["lines"],
        json!([
            { "position": 1, "description": "Esame del contratto di fornitura e parere", "minutes": 240, "rateCents": 25000, "amountCents": 100000, "date": "2025-11-28" },
            { "position": 2, "description": "Riunione con il cliente", "minutes": 120, "rateCents": 25000, "amountCents": 50000, "date": "2025-11-28" },
        ])
    );
    assert_eq!(
        inv["externalIds"],
        json!([{ "source": "fatturapa", "externalId": format!("IT{FIRM_PIVA}/2025/FE-12/2025") }])
    );
    let after_first = counts(&app).await;
    assert_eq!(
        after_first,
        (before.0 + 1, before.1),
        "one invoice, no new contact"
    );

    // The same document again: the same invoice, nothing new.
    let again = import(&app, &xml).await;
    assert_eq!(again[0]["created"], false);
    assert_eq!(again[0]["invoice"]["id"], inv["id"]);
    assert_eq!(counts(&app).await, after_first);

    // The same key with other amounts is not the same invoice.
    let changed = xml.replace(
        "<PrezzoTotale>500.00</PrezzoTotale>",
        "<PrezzoTotale>600.00</PrezzoTotale>",
    );
    let changed = changed.replace(
        "<ImportoTotaleDocumento>1903.20</ImportoTotaleDocumento>",
        "",
    );
    let err = import_error(&app, &changed).await;
    assert_error(&err, "CONFLICT", "input.xml");
    assert!(
        err["message"].as_str().unwrap_or("").contains("Numero"),
        "{err:#}"
    );
    assert_eq!(counts(&app).await, after_first);
}

async fn a_parcella_creates_its_client_with_source_and_contract_basis(backend: Backend) {
    let app = app(backend).await;
    let before = counts(&app).await;
    let imported = import(&app, &fixture("td06_person.xml")).await;
    assert_eq!(imported[0]["created"], true);
    assert_eq!(imported[0]["clientCreated"], true);
    let inv = &imported[0]["invoice"];
    assert_eq!(inv["kind"], "PARCELLA");
    assert_eq!(inv["clientName"], "Mario Rossignoli");
    assert_eq!(inv["clientCodiceFiscale"], ROSSIGNOLI_CF);
    assert_eq!(inv["withholdingCents"], 0);
    assert_eq!(inv["totalCents"], 50_752);
    assert_eq!(inv["lines"][0]["minutes"], 0, "no hours stated");
    assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 1));
    let client = inv["client"]["id"].as_str().expect("client");
    let contact = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Contact { kind category givenName familyName codiceFiscale
               addresses { street city postalCode }
               sources { kind detail }
               processingGrounds { legalBasis purpose { key } } } } }",
            json!({ "id": client }),
        )
        .await["node"]
        .clone();
    assert_eq!(contact["kind"], "PERSON");
    assert_eq!(contact["category"], "CLIENT");
    assert_eq!(
        (contact["givenName"].clone(), contact["familyName"].clone()),
        (json!("Mario"), json!("Rossignoli"))
    );
    assert_eq!(contact["codiceFiscale"], ROSSIGNOLI_CF);
    assert_eq!(contact["addresses"][0]["city"], "Bergamo");
    assert_eq!(contact["sources"][0]["kind"], "OTHER");
    assert!(
        contact["sources"][0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("FatturaPA e-invoice 13/2025"),
        "{contact:#}"
    );
    assert_eq!(
        contact["processingGrounds"],
        json!([{ "legalBasis": "CONTRACT", "purpose": { "key": "client_relationship" } }])
    );
    // A second invoice to the same person links to the contact the first created.
    let next =
        fixture("td06_person.xml").replace("<Numero>13/2025</Numero>", "<Numero>14/2025</Numero>");
    let second = import(&app, &next).await;
    assert_eq!(second[0]["clientCreated"], false);
    assert_eq!(second[0]["invoice"]["client"]["id"], client);
    assert_eq!(counts(&app).await, (before.0 + 2, before.1 + 1));
}

async fn bad_documents_are_refused_naming_the_element(backend: Backend) {
    let app = app(backend).await;
    let before = counts(&app).await;
    let xml = fixture("td01_acme.xml");
    let cases: Vec<(String, &str)> = vec![
        (
            xml.replace("<Numero>FE-12/2025</Numero>", ""),
            "FatturaElettronicaBody[1]/DatiGenerali/DatiGeneraliDocumento/Numero",
        ),
        (
            xml.replace(
                "<IdCodice>12345678903</IdCodice>",
                "<IdCodice>12345678900</IdCodice>",
            ),
            "CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdCodice",
        ),
        (
            xml.replace(
                "<TipoDocumento>TD01</TipoDocumento>",
                "<TipoDocumento>TD04</TipoDocumento>",
            ),
            "DatiGeneraliDocumento/TipoDocumento",
        ),
        (
            xml.replace("<Data>2025-11-28</Data>", "<Data>28/11/2025</Data>"),
            "DatiGeneraliDocumento/Data",
        ),
        (
            xml.replace(
                "<PrezzoTotale>500.00</PrezzoTotale>",
                "<PrezzoTotale>5OO.00</PrezzoTotale>",
            ),
            "DettaglioLinee[2]/PrezzoTotale",
        ),
        (
            xml.replace(
                "<ImportoTotaleDocumento>1903.20",
                "<ImportoTotaleDocumento>1900.00",
            ),
            "DatiGeneraliDocumento/ImportoTotaleDocumento",
        ),
        (
            xml.replace(FIRM_PIVA, "09876543217"),
            "CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdCodice",
        ),
        (xml[..xml.len() / 2].to_owned(), "FatturaElettronica"),
        (
            "<Fattura><Numero>1</Numero></Fattura>".to_owned(),
            "Fattura",
        ),
    ];
    for (bad, element) in cases {
        let err = import_error(&app, &bad).await;
        assert_error(&err, "BAD_USER_INPUT", "input.xml");
        assert!(
            err["message"].as_str().unwrap_or("").contains(element),
            "names {element}: {err:#}"
        );
    }
    // Nothing half-imported: the second invoice of a document clashes with the first's
    // number, and the first is not kept either.
    let body_start = xml.find("<FatturaElettronicaBody>").expect("body");
    let body_end = xml.find("</FatturaElettronicaBody>").expect("body end")
        + "</FatturaElettronicaBody>".len();
    let second = xml[body_start..body_end].replace("FE-12/2025", "PA-12/2025");
    let two = format!("{}{}{}", &xml[..body_end], second, &xml[body_end..]);
    let err = import_error(&app, &two).await;
    assert_error(&err, "CONFLICT", "input.xml");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("FatturaElettronicaBody[2]/DatiGenerali/DatiGeneraliDocumento/Numero"),
        "{err:#}"
    );
    assert_eq!(
        counts(&app).await,
        before,
        "nothing imported, no contact created"
    );
    // Exactly one of xml and p7mBase64.
    let err = app
        .error(
            IMPORT,
            json!({ "input": { "xml": xml, "p7mBase64": "MA==" } }),
        )
        .await;
    assert_error(&err, "BAD_USER_INPUT", "input");
}

async fn a_signed_p7m_envelope_is_imported(backend: Backend) {
    use base64::Engine;
    let app = app(backend).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (key, cert, out) = (
        dir.path().join("key.pem"),
        dir.path().join("cert.pem"),
        dir.path().join("fattura.xml.p7m"),
    );
    let openssl = |args: &[&std::ffi::OsStr]| {
        let o = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    openssl(&[
        "req".as_ref(),
        "-x509".as_ref(),
        "-newkey".as_ref(),
        "rsa:2048".as_ref(),
        "-nodes".as_ref(),
        "-subj".as_ref(),
        "/CN=Avv. Bianchi".as_ref(),
        "-days".as_ref(),
        "1".as_ref(),
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    let xml = fixtures().join("import").join("td01_acme.xml");
    openssl(&[
        "cms".as_ref(),
        "-sign".as_ref(),
        "-binary".as_ref(),
        "-nodetach".as_ref(),
        "-outform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        xml.as_os_str(),
        "-signer".as_ref(),
        cert.as_os_str(),
        "-inkey".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        out.as_os_str(),
    ]);
    let der = std::fs::read(&out).expect("p7m");
    let p7m = base64::engine::general_purpose::STANDARD.encode(&der);
    let data = app
        .data(IMPORT, json!({ "input": { "p7mBase64": p7m } }))
        .await;
    let inv = &data["importFatturaPa"]["invoices"][0]["invoice"];
    assert_eq!(inv["totalCents"], 190_320, "{data:#}");
    assert_eq!(inv["clientPartitaIva"], ACME_PIVA);
    // The same document as plain XML is the same invoice.
    let again = import(&app, &fixture("td01_acme.xml")).await;
    assert_eq!(again[0]["created"], false);
    assert_eq!(again[0]["invoice"]["id"], inv["id"]);
    // Not an envelope.
    let err = app
        .error(
            IMPORT,
            json!({ "input": { "p7mBase64": base64::engine::general_purpose::STANDARD.encode(b"<xml/>") } }),
        )
        .await;
    assert_error(&err, "BAD_USER_INPUT", "input.p7mBase64");
}

async fn only_invoice_administrators_import(backend: Backend) {
    const IMPORT: &str = "mutation($input: ImportFatturaPaInput!) { importFatturaPa(input: $input) { invoices { created } } }";
    let app = app(backend).await;
    let (_, lawyer) = app.sign_in("avv.verdi@studio.it", "lawyer").await;
    let body = app
        .gql_as(
            &lawyer,
            IMPORT,
            json!({ "input": { "xml": fixture("td01_acme.xml") } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body:#}"
    );
    let (_, staff) = app.sign_in("amministrazione@studio.it", "staff").await;
    let body = app
        .gql_as(
            &staff,
            IMPORT,
            json!({ "input": { "xml": fixture("td01_acme.xml") } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(
        body["data"]["importFatturaPa"]["invoices"][0]["created"],
        true
    );
}

on_both_backends!(
    an_invoice_links_its_client_and_a_reimport_changes_nothing,
    a_parcella_creates_its_client_with_source_and_contract_basis,
    bad_documents_are_refused_naming_the_element,
    a_signed_p7m_envelope_is_imported,
    only_invoice_administrators_import,
);
