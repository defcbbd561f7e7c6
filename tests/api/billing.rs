//! Tests of billing (issue 16): time entries, invoices drafted from a matter's unbilled time,
//! issuing, payments, cancelling, need-to-know, the reports and the LEDES export.

use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

const ENTRY_FIELDS: &str = "
fragment EntryFields on TimeEntry {
  id date minutes taskCode activityCode narrative billable rateCents amountCents billed
  matter { id } user { id } invoice { id status }
}";

const INVOICE_FIELDS: &str = "
fragment InvoiceFields on Invoice {
  id kind status number sequence fiscalYear clientName clientPartitaIva clientCity
  issueDate dueDate netCents cassaCents vatCents withholdingCents totalCents payableCents
  paidCents outstandingCents
  client { id }
  matters { id }
  lines { position description minutes rateCents amountCents taskCode activityCode date }
  payments { amountCents method }
}";

const PIVA: &str = "12345678903";

struct Firm {
    client: String,
    matter: String,
    lawyer: String,
    lawyer_token: String,
}

/// A client organisation with its partita IVA and seat, a matter of theirs, and a lawyer on it.
async fn firm(app: &TestApp) -> Firm {
    let client = create_organization(
        app,
        "Acme SpA",
        json!({
            "partitaIva": PIVA,
            "addresses": [{ "street": "Via Roma 1", "postalCode": "20121", "city": "Milano", "province": "MI" }],
        }),
    )
    .await;
    let (lawyer, lawyer_token) = app.sign_in("avv.rossi@studio.it", "lawyer").await;
    let matter = create_matter(
        app,
        "2026/0100",
        &client,
        json!({ "team": [{ "userId": lawyer }] }),
    )
    .await;
    Firm {
        client,
        matter,
        lawyer,
        lawyer_token,
    }
}

async fn add_entry(app: &TestApp, token: Option<&str>, input: Value) -> Value {
    let query = format!("mutation($input: CreateTimeEntryInput!) {{ createTimeEntry(input: $input) {{ timeEntry {{ ...EntryFields }} }} }}\n{ENTRY_FIELDS}");
    let body = match token {
        Some(t) => app.gql_as(t, &query, json!({ "input": input })).await,
        None => app.gql(&query, json!({ "input": input })).await,
    };
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["createTimeEntry"]["timeEntry"].clone()
}

async fn entry_error(app: &TestApp, input: Value) -> Value {
    app.error(
        "mutation($input: CreateTimeEntryInput!) { createTimeEntry(input: $input) { timeEntry { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn create_invoice(app: &TestApp, input: Value) -> Value {
    app.data(
        &format!("mutation($input: CreateInvoiceInput!) {{ createInvoice(input: $input) {{ invoice {{ ...InvoiceFields }} }} }}\n{INVOICE_FIELDS}"),
        json!({ "input": input }),
    )
    .await["createInvoice"]["invoice"]
        .clone()
}

async fn issue(app: &TestApp, id: &str, date: &str) -> Value {
    app.data(
        &format!("mutation($id: ID!, $d: NaiveDate) {{ issueInvoice(input: {{ id: $id, issueDate: $d }}) {{ invoice {{ ...InvoiceFields }} }} }}\n{INVOICE_FIELDS}"),
        json!({ "id": id, "d": date }),
    )
    .await["issueInvoice"]["invoice"]
        .clone()
}

async fn pay(app: &TestApp, id: &str, cents: i64) -> Value {
    app.gql(
        &format!("mutation($id: ID!, $c: Int!) {{ recordPayment(input: {{ invoiceId: $id, amountCents: $c, paidOn: \"2026-04-20\", method: BANK_TRANSFER, reference: \"CRO 123\" }}) {{ invoice {{ ...InvoiceFields }} payment {{ amountCents }} }} }}\n{INVOICE_FIELDS}"),
        json!({ "id": id, "c": cents }),
    )
    .await
}

fn entry(matter: &str, date: &str, minutes: i64, narrative: &str, extra: Value) -> Value {
    let mut input = json!({
        "matterId": matter, "date": date, "minutes": minutes, "narrative": narrative,
        "rateCents": 20000, "taskCode": "L120", "activityCode": "A103",
    });
    merge(&mut input, extra);
    input
}

async fn time_is_invoiced_issued_paid_and_reported(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;

    // The lawyer records their own time: they are the timekeeper.
    let first = add_entry(
        &app,
        Some(&f.lawyer_token),
        entry(
            &f.matter,
            "2026-03-02",
            90,
            "Drafted the statement of claim",
            json!({}),
        ),
    )
    .await;
    assert_eq!(first["user"]["id"], f.lawyer.as_str());
    assert_eq!(first["amountCents"], 30000);
    assert_eq!(first["billed"], false);
    let second = add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-05",
            20,
            "Call with the client",
            json!({ "userId": f.lawyer, "rateCents": 25000, "taskCode": "l120", "activityCode": "A106" }),
        ),
    )
    .await;
    assert_eq!(second["taskCode"], "L120", "codes are stored upper case");
    assert_eq!(
        second["amountCents"], 8333,
        "20 minutes at 250.00 round to 83.33"
    );
    let unbillable = add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-06",
            30,
            "Internal file review",
            json!({ "userId": f.lawyer, "billable": false, "rateCents": null }),
        ),
    )
    .await;
    assert_eq!(unbillable["rateCents"], 0);

    let unbilled = app
        .data(
            "{ reports { unbilledTimePerMatter { matter { id } entries minutes amountCents } unbilledTimePerLawyer { user { id } minutes amountCents } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        unbilled["reports"]["unbilledTimePerMatter"],
        json!([{ "matter": { "id": f.matter }, "entries": 2, "minutes": 110, "amountCents": 38333 }])
    );
    assert_eq!(
        unbilled["reports"]["unbilledTimePerLawyer"],
        json!([{ "user": { "id": f.lawyer }, "minutes": 110, "amountCents": 38333 }])
    );

    // One client: no need to name them. An organisation withholds tax by default.
    let draft = create_invoice(&app, json!({ "matterIds": [f.matter] })).await;
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["client"]["id"], f.client.as_str());
    assert_eq!(draft["clientName"], "Acme SpA");
    assert_eq!(draft["clientPartitaIva"], PIVA);
    assert_eq!(draft["clientCity"], "Milano");
    let lines = draft["lines"].as_array().expect("lines");
    assert_eq!(
        lines.len(),
        2,
        "the non-billable entry is not billed: {draft:#}"
    );
    assert_eq!(lines[0]["description"], "Drafted the statement of claim");
    assert_eq!(lines[0]["position"], 1);
    assert_eq!(lines[1]["amountCents"], 8333);
    // 383.33 fees; 15.33 cassa (4%); VAT 22% of 398.66 = 87.71; 20% withheld = 76.67.
    assert_eq!(draft["netCents"], 38333);
    assert_eq!(draft["cassaCents"], 1533);
    assert_eq!(draft["vatCents"], 8771);
    assert_eq!(draft["withholdingCents"], 7667);
    assert_eq!(draft["totalCents"], 48637);
    assert_eq!(draft["payableCents"], 40970);
    assert_eq!(draft["outstandingCents"], 0, "nothing is owed on a draft");
    let invoice = draft["id"].as_str().expect("invoice id").to_owned();

    // The time is billed: it cannot change, nor be billed twice.
    let billed = app
        .data(
            &format!("query($m: ID!) {{ matter(id: $m) {{ timeEntries(billed: true) {{ totalCount nodes {{ ...EntryFields }} }} }} }}\n{ENTRY_FIELDS}"),
            json!({ "m": f.matter }),
        )
        .await;
    let billed = &billed["matter"]["timeEntries"];
    assert_eq!(billed["totalCount"], 2);
    assert_eq!(billed["nodes"][0]["invoice"]["id"], invoice.as_str());
    let changed = app
        .error(
            "mutation($id: ID!) { updateTimeEntry(input: { id: $id, minutes: 60 }) { timeEntry { id } } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_error(&changed, "CONFLICT", "input.id");
    let deleted = app
        .error(
            "mutation($id: ID!) { deleteTimeEntry(input: { id: $id }) { deletedId } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_error(&deleted, "CONFLICT", "input.id");
    let again = app
        .error(
            "mutation($m: ID!) { createInvoice(input: { matterIds: [$m] }) { invoice { id } } }",
            json!({ "m": f.matter }),
        )
        .await;
    assert_error(&again, "BAD_USER_INPUT", "input.matterIds");

    // Issuing numbers it in its year, and a payment must be on an issued invoice.
    let early = pay(&app, &invoice, 100).await;
    assert_eq!(
        early["errors"][0]["extensions"]["code"], "CONFLICT",
        "{early:#}"
    );
    let issued = issue(&app, &invoice, "2026-03-31").await;
    assert_eq!(issued["status"], "ISSUED");
    assert_eq!(issued["number"], "1/2026");
    assert_eq!(issued["issueDate"], "2026-03-31");
    assert_eq!(
        issued["dueDate"], "2026-04-30",
        "due 30 days after issue by default"
    );
    assert_eq!(issued["outstandingCents"], 40970);
    let twice = app
        .error(
            "mutation($id: ID!) { issueInvoice(input: { id: $id }) { invoice { id } } }",
            json!({ "id": invoice }),
        )
        .await;
    assert_error(&twice, "CONFLICT", "input.id");

    let part = pay(&app, &invoice, 20000).await;
    assert!(part.get("errors").is_none(), "{part:#}");
    let part = &part["data"]["recordPayment"]["invoice"];
    assert_eq!(part["status"], "ISSUED");
    assert_eq!(part["outstandingCents"], 20970);
    let too_much = pay(&app, &invoice, 20971).await;
    assert_eq!(
        too_much["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        too_much["errors"][0]["extensions"]["field"],
        "input.amountCents"
    );
    let negative = pay(&app, &invoice, -5).await;
    assert_eq!(
        negative["errors"][0]["extensions"]["field"],
        "input.amountCents"
    );
    let rest = pay(&app, &invoice, 20970).await;
    let rest = &rest["data"]["recordPayment"]["invoice"];
    assert_eq!(rest["status"], "PAID");
    assert_eq!(rest["paidCents"], 40970);
    assert_eq!(rest["payments"].as_array().map(Vec::len), Some(2));
    let cancel_paid = app
        .error(
            "mutation($id: ID!) { cancelInvoice(input: { id: $id }) { invoice { id } } }",
            json!({ "id": invoice }),
        )
        .await;
    assert_error(&cancel_paid, "CONFLICT", "input.id");

    // A second invoice the same year takes the next number.
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-04-01",
            60,
            "Hearing",
            json!({ "userId": f.lawyer, "activityCode": "A109", "taskCode": "L450" }),
        ),
    )
    .await;
    let next = create_invoice(
        &app,
        json!({ "matterIds": [f.matter], "withholding": false, "kind": "PARCELLA" }),
    )
    .await;
    assert_eq!(next["withholdingCents"], 0);
    assert_eq!(next["kind"], "PARCELLA");
    let next = issue(&app, next["id"].as_str().expect("id"), "2026-04-15").await;
    assert_eq!(next["number"], "2/2026");

    let months = app
        .data(
            "{ reports { invoicedPerMonth(from: \"2026-01-01\", to: \"2026-12-31\") { month invoices netCents totalCents } collectedPerMonth(from: \"2026-01-01\", to: \"2026-12-31\") { month payments amountCents } unbilledTimePerMatter { entries } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        months["reports"]["invoicedPerMonth"],
        json!([
            { "month": "2026-03", "invoices": 1, "netCents": 38333, "totalCents": 48637 },
            { "month": "2026-04", "invoices": 1, "netCents": 20000, "totalCents": 25376 },
        ])
    );
    assert_eq!(
        months["reports"]["collectedPerMonth"],
        json!([{ "month": "2026-04", "payments": 2, "amountCents": 40970 }])
    );
    assert_eq!(months["reports"]["unbilledTimePerMatter"], json!([]));

    let listed = app
        .data(
            "query($c: ID!) { invoices(filter: { clientId: $c, statuses: [PAID] }) { totalCount nodes { number } } }",
            json!({ "c": f.client }),
        )
        .await;
    assert_eq!(listed["invoices"]["totalCount"], 1);
    assert_eq!(listed["invoices"]["nodes"][0]["number"], "1/2026");
}

async fn bad_time_is_refused_with_field_paths(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;
    let user = json!({ "userId": f.lawyer });
    let cases = [
        (json!({ "minutes": -30 }), "input.minutes"),
        (json!({ "minutes": 0 }), "input.minutes"),
        (json!({ "minutes": 1441 }), "input.minutes"),
        (json!({ "taskCode": "L999" }), "input.taskCode"),
        (json!({ "activityCode": "L110" }), "input.activityCode"),
        (json!({ "rateCents": -1 }), "input.rateCents"),
        (json!({ "rateCents": null }), "input.rateCents"),
        (json!({ "narrative": "  " }), "input.narrative"),
        (json!({ "userId": missing_id("User") }), "input.userId"),
    ];
    for (extra, field) in cases {
        let mut extra = extra;
        merge(&mut extra, json!({}));
        let mut input = entry(&f.matter, "2026-03-02", 30, "Work", user.clone());
        merge(&mut input, extra);
        let error = entry_error(&app, input).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], field, "{error:#}");
    }
    // An API key is no user: the timekeeper must be named.
    let error = entry_error(&app, entry(&f.matter, "2026-03-02", 30, "Work", json!({}))).await;
    assert_error(&error, "BAD_USER_INPUT", "input.userId");
    let none = app.data("{ timeEntries { totalCount } }", json!({})).await;
    assert_eq!(none["timeEntries"]["totalCount"], 0, "nothing half-written");

    let bad_invoice = app
        .error(
            "mutation($m: ID!) { createInvoice(input: { matterIds: [$m], recipientCode: \"12\", vatRateBasisPoints: -1 }) { invoice { id } } }",
            json!({ "m": f.matter }),
        )
        .await;
    assert_eq!(bad_invoice["extensions"]["code"], "BAD_USER_INPUT");
    let fields: Vec<&str> = bad_invoice["extensions"]["fieldErrors"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["input.vatRateBasisPoints", "input.recipientCode"]);
}

async fn lawyers_see_their_matters_billing_and_marketing_none(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;
    let other_client = create_person(&app, "Bruno", "Verdi", json!({})).await;
    let other = create_matter(&app, "2026/0200", &other_client, json!({})).await;
    let (partner, _) = app.sign_in("partner@studio.it", "partner").await;
    let theirs = add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-02",
            60,
            "Theirs",
            json!({ "userId": f.lawyer }),
        ),
    )
    .await;
    let foreign = add_entry(
        &app,
        None,
        entry(
            &other,
            "2026-03-02",
            60,
            "Not theirs",
            json!({ "userId": partner }),
        ),
    )
    .await;
    let their_invoice = create_invoice(&app, json!({ "matterIds": [f.matter] })).await;
    let other_invoice = create_invoice(&app, json!({ "matterIds": [other] })).await;

    let seen = app
        .gql_as(
            &f.lawyer_token,
            "{ timeEntries { nodes { id narrative } } invoices { nodes { id clientName } } }",
            json!({}),
        )
        .await;
    assert!(seen.get("errors").is_none(), "{seen:#}");
    assert_eq!(
        ids(&seen["data"]["timeEntries"]["nodes"]),
        set(&[theirs["id"].as_str().expect("id")])
    );
    assert_eq!(
        ids(&seen["data"]["invoices"]["nodes"]),
        set(&[their_invoice["id"].as_str().expect("id")])
    );
    let node = app
        .gql_as(
            &f.lawyer_token,
            "query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }",
            json!({ "a": foreign["id"], "b": other_invoice["id"] }),
        )
        .await;
    assert_eq!(node["data"]["a"], Value::Null, "{node:#}");
    assert_eq!(node["data"]["b"], Value::Null, "{node:#}");
    let refused = app
        .gql_as(
            &f.lawyer_token,
            "mutation($m: ID!) { createTimeEntry(input: { matterId: $m, date: \"2026-03-03\", minutes: 10, narrative: \"x\", rateCents: 1 }) { timeEntry { id } } }",
            json!({ "m": other }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused:#}"
    );
    let ledes = app
        .gql_as(
            &f.lawyer_token,
            "query($i: ID!) { ledesExport(invoiceId: $i) }",
            json!({ "i": other_invoice["id"] }),
        )
        .await;
    assert_eq!(
        ledes["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{ledes:#}"
    );

    let (_, marketing) = app.sign_in("marketing@studio.it", "marketing").await;
    let denied = app
        .gql_as(
            &marketing,
            "{ timeEntries { totalCount } invoices { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(denied["data"]["timeEntries"], Value::Null, "{denied:#}");
    assert_eq!(denied["data"]["invoices"], Value::Null, "{denied:#}");
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Lawyers draft invoices but do not issue them.
    let issue = app
        .gql_as(
            &f.lawyer_token,
            "mutation($i: ID!) { issueInvoice(input: { id: $i }) { invoice { id } } }",
            json!({ "i": their_invoice["id"] }),
        )
        .await;
    assert_eq!(
        issue["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{issue:#}"
    );
}

async fn cancelling_releases_the_time_and_ledes_exports_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-02",
            90,
            "Drafting | brief",
            json!({ "userId": f.lawyer }),
        ),
    )
    .await;
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-09",
            20,
            "Call",
            json!({ "userId": f.lawyer, "rateCents": 25000 }),
        ),
    )
    .await;
    let draft = create_invoice(&app, json!({ "matterIds": [f.matter] })).await;
    let id = draft["id"].as_str().expect("id").to_owned();
    let not_yet = app
        .error(
            "query($i: ID!) { ledesExport(invoiceId: $i) }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(not_yet["extensions"]["code"], "CONFLICT");
    let cancelled = app
        .data(
            "mutation($id: ID!) { cancelInvoice(input: { id: $id }) { invoice { status cancelledAt } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(cancelled["cancelInvoice"]["invoice"]["status"], "CANCELLED");
    let unbilled = app
        .data(
            "{ timeEntries(filter: { billed: false }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        unbilled["timeEntries"]["totalCount"], 2,
        "the time is free again"
    );

    let again = create_invoice(
        &app,
        json!({ "matterIds": [f.matter], "through": "2026-03-05" }),
    )
    .await;
    assert_eq!(
        again["lines"].as_array().map(Vec::len),
        Some(1),
        "only time up to `through`"
    );
    let again = issue(&app, again["id"].as_str().expect("id"), "2026-03-31").await;
    let text = app
        .data(
            "query($i: ID!) { ledesExport(invoiceId: $i) }",
            json!({ "i": again["id"] }),
        )
        .await["ledesExport"]
        .as_str()
        .expect("text")
        .to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "LEDES1998B[]");
    assert!(
        lines[1].starts_with("INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    let fields: Vec<&str> = lines[2].trim_end_matches("[]").split('|').collect();
    assert_eq!(fields.len(), 24, "{text}");
    assert_eq!(fields[0], "20260331");
    assert_eq!(fields[1], "1/2026");
    assert_eq!(fields[2], PIVA);
    assert_eq!(fields[3], "2026/0100");
    assert_eq!(fields[12], "300.00");
    assert_eq!(fields[18], "Drafting / brief");
    assert_eq!(fields[22], "AS", "a lawyer is an associate");
}

async fn an_invoiced_client_is_held_against_erasure(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-02",
            60,
            "Advice",
            json!({ "userId": f.lawyer }),
        ),
    )
    .await;
    let draft = create_invoice(&app, json!({ "matterIds": [f.matter] })).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let invoice = issue(&app, draft["id"].as_str().expect("id"), &today).await;
    // The matter closed long ago: only the invoice keeps the client.
    let (_, matter) = lexgate::ids::parse(&f.matter).expect("matter id");
    app.db
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            Ok(c.batch_execute(&format!(
                "UPDATE matters SET status = 'closed', closed_on = '2012-03-01' WHERE id = '{matter}'"
            ))?)
        })
        .await
        .expect("matter closed");
    let dpo = dpo(&app).await;
    let request = verified_request(&app, &dpo, "ERASURE", &f.client, "Acme SpA").await;
    let body = app
        .gql_as(
            &dpo,
            "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted holdReasons } } }",
            json!({ "id": request }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let erasure = &body["data"]["executeErasure"]["erasure"];
    assert_eq!(erasure["contactDeleted"], false, "{body:#}");
    let reasons = erasure["holdReasons"].to_string();
    assert!(reasons.contains("art. 2220 c.c."), "{reasons}");
    assert!(reasons.contains("invoice 1/"), "{reasons}");
    let kept = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Invoice { clientName clientPartitaIva clientStreet client { id } } } }",
            json!({ "id": invoice["id"] }),
        )
        .await;
    assert_eq!(
        kept["node"],
        json!({ "clientName": "Acme SpA", "clientPartitaIva": PIVA, "clientStreet": "Via Roma 1", "client": { "id": f.client } })
    );
}

async fn fatturapa_of_an_issued_invoice_passes_the_official_schema(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.firm = lexgate::billing::firm::FirmProfile {
            name: Some("Studio Legale Bianchi".to_owned()),
            partita_iva: Some("01234567890".to_owned()),
            street: Some("Corso Magenta 10".to_owned()),
            postal_code: Some("20123".to_owned()),
            city: Some("Milano".to_owned()),
            province: Some("MI".to_owned()),
            ..Default::default()
        };
    })
    .await;
    let f = firm(&app).await;
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-03-02",
            90,
            "Redazione dell\u{2019}atto",
            json!({ "userId": f.lawyer }),
        ),
    )
    .await;
    let draft = create_invoice(&app, json!({ "matterIds": [f.matter], "kind": "PARCELLA" })).await;
    let early = app
        .error(
            "query($i: ID!) { fatturaPa(invoiceId: $i) }",
            json!({ "i": draft["id"] }),
        )
        .await;
    assert_eq!(
        early["extensions"]["code"], "CONFLICT",
        "a draft has no number: {early:#}"
    );
    let issued = issue(&app, draft["id"].as_str().expect("id"), "2026-03-31").await;
    let xml = app
        .data(
            "query($i: ID!) { fatturaPa(invoiceId: $i) }",
            json!({ "i": issued["id"] }),
        )
        .await["fatturaPa"]
        .as_str()
        .expect("xml")
        .to_owned();
    assert!(xml.contains("<TipoDocumento>TD06</TipoDocumento>"), "{xml}");
    assert!(
        xml.contains("<IdCodice>12345678903</IdCodice>"),
        "the client's partita IVA: {xml}"
    );
    assert!(xml.contains("<Numero>1/2026</Numero>"), "{xml}");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fatturapa/FatturaPA_FPR12_v1.2.3.xsd");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("fattura.xml");
    std::fs::write(&file, &xml).expect("written");
    let out = std::process::Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) runs");
    assert!(
        out.status.success(),
        "{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn a_matters_ledes_export_holds_its_lines_of_every_issued_invoice(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = firm(&app).await;
    let other = create_matter(&app, "2026/0101", &f.client, json!({})).await;
    let keeper = json!({ "userId": f.lawyer });
    add_entry(
        &app,
        None,
        entry(&f.matter, "2026-03-02", 90, "Drafting", keeper.clone()),
    )
    .await;
    add_entry(
        &app,
        None,
        entry(&other, "2026-03-03", 60, "Other matter", keeper.clone()),
    )
    .await;
    let nothing = app
        .error(
            "query($m: ID!) { matterLedesExport(matterId: $m) }",
            json!({ "m": f.matter }),
        )
        .await;
    assert_eq!(nothing["extensions"]["code"], "CONFLICT", "{nothing:#}");
    let first = create_invoice(&app, json!({ "matterIds": [f.matter, other] })).await;
    issue(&app, first["id"].as_str().expect("id"), "2026-03-31").await;
    add_entry(
        &app,
        None,
        entry(
            &f.matter,
            "2026-04-02",
            30,
            "Hearing | notes",
            json!({ "userId": f.lawyer, "rateCents": 30000 }),
        ),
    )
    .await;
    let second = create_invoice(&app, json!({ "matterIds": [f.matter] })).await;
    issue(&app, second["id"].as_str().expect("id"), "2026-04-30").await;
    // A draft is not exported.
    add_entry(
        &app,
        None,
        entry(&f.matter, "2026-05-04", 15, "Draft time", keeper),
    )
    .await;
    create_invoice(&app, json!({ "matterIds": [f.matter] })).await;

    let text = app
        .data(
            "query($m: ID!) { matterLedesExport(matterId: $m) }",
            json!({ "m": f.matter }),
        )
        .await["matterLedesExport"]
        .as_str()
        .expect("text")
        .to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "LEDES1998B[]");
    assert!(
        lines[1].starts_with("INVOICE_DATE|INVOICE_NUMBER|"),
        "{text}"
    );
    assert_eq!(
        lines.len(),
        4,
        "two lines of the matter, none of the other: {text}"
    );
    let rows: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|l| {
            assert!(l.ends_with("[]") && l.matches("[]").count() == 1, "{l}");
            l.trim_end_matches("[]").split('|').collect()
        })
        .collect();
    for r in &rows {
        assert_eq!(r.len(), 24, "{text}");
        assert_eq!(r[3], "2026/0100", "only this matter's lines");
    }
    assert_eq!((rows[0][0], rows[0][1]), ("20260331", "1/2026"));
    assert_eq!(
        rows[0][4], "300.00",
        "the invoice's total of the lines in the file"
    );
    assert_eq!(rows[0][12], "300.00");
    assert_eq!((rows[1][0], rows[1][1]), ("20260430", "2/2026"));
    assert_eq!(
        (rows[1][4], rows[1][12], rows[1][20]),
        ("150.00", "150.00", "300.00")
    );
    assert_eq!(rows[1][18], "Hearing / notes");
    assert_eq!(rows[1][10], "0.50");

    // Need-to-know: a lawyer not on the matter gets nothing.
    let (_, outsider) = app.sign_in("avv.neri@studio.it", "lawyer").await;
    let body = app
        .gql_as(
            &outsider,
            "query($m: ID!) { matterLedesExport(matterId: $m) }",
            json!({ "m": f.matter }),
        )
        .await;
    assert!(body["data"]["matterLedesExport"].is_null(), "{body:#}");
    assert!(body.get("errors").is_some(), "{body:#}");
    // The lawyer on it may export it.
    let body = app
        .gql_as(
            &f.lawyer_token,
            "query($m: ID!) { matterLedesExport(matterId: $m) }",
            json!({ "m": f.matter }),
        )
        .await;
    assert_eq!(
        body["data"]["matterLedesExport"].as_str(),
        Some(text.as_str()),
        "{body:#}"
    );
}

/// An invoice's matters are one statement joining them to the invoice, which also says which
/// of them the caller may see: a lawyer on one of an invoice's two matters is shown that one.
/// (Before: the invoice's matter IDs, the matters by ID and, for a lawyer, the `Visible`
/// check of them.)
async fn an_invoices_matters_are_one_statement_within_need_to_know(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.access_log = false).await;
    let f = firm(&app).await;
    let second = create_matter(&app, "2026/0101", &f.client, json!({})).await;
    for matter in [&f.matter, &second] {
        add_entry(
            &app,
            None,
            entry(
                matter,
                "2026-03-02",
                60,
                "Studio",
                json!({ "userId": f.lawyer }),
            ),
        )
        .await;
    }
    create_invoice(&app, json!({ "matterIds": [f.matter, second] })).await;
    const QUERY: &str = "{ invoices { nodes { clientName matters { reference } } } }";
    let ask = |token: Option<String>| {
        let app = &app;
        async move {
            let run = || async {
                match &token {
                    Some(t) => app.gql_as(t, QUERY, json!({})).await,
                    None => app.gql(QUERY, json!({})).await,
                }
            };
            run().await;
            let before = app.db.statement_count();
            let body = run().await;
            let statements = app.db.statement_count() - before;
            assert!(body.get("errors").is_none(), "{body:#}");
            let references: Vec<Value> = body["data"]["invoices"]["nodes"][0]["matters"]
                .as_array()
                .expect("matters")
                .iter()
                .map(|m| m["reference"].clone())
                .collect();
            (statements, references)
        }
    };
    let (admin, all) = ask(None).await;
    assert_eq!(all, vec![json!("2026/0100"), json!("2026/0101")]);
    assert_eq!(admin, 3, "principal, invoices, their matters");
    let (lawyer, theirs) = ask(Some(f.lawyer_token.clone())).await;
    assert_eq!(
        theirs,
        vec![json!("2026/0100")],
        "only the matter they are on"
    );
    assert_eq!(lawyer, 3, "the lawyer: as the admin");
}

on_both_backends!(
    time_is_invoiced_issued_paid_and_reported,
    an_invoices_matters_are_one_statement_within_need_to_know,
    bad_time_is_refused_with_field_paths,
    lawyers_see_their_matters_billing_and_marketing_none,
    cancelling_releases_the_time_and_ledes_exports_it,
    an_invoiced_client_is_held_against_erasure,
    fatturapa_of_an_issued_invoice_passes_the_official_schema,
    a_matters_ledes_export_holds_its_lines_of_every_issued_invoice,
);
