//! The `stripe` kind against a real localstripe started here, on both backends: from
//! `createConnectorInstance` to the imported clients (source `connector_import`, basis
//! contract, matched by email and partita IVA) and invoices (paid state, deletions upstream),
//! re-runs that change nothing, Stripe's 429 waited out, restricted and erased people left
//! alone, a matter's time billed through Stripe exactly once (twice asked, and after a crash
//! between a remote call and its record), and webhooks signed with `Stripe-Signature`
//! (localstripe's own deliveries) verified and deduplicated.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use lexgate::db::schema::{billing_pushes, webhook_events};
use lexgate_connectors::localstripe::{LocalStripe, API_KEY};
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use crate::sync::start_sealing_secrets;

const CREATE: &str = "mutation($input: CreateConnectorInstanceInput!) { createConnectorInstance(input: $input) { connectorInstance { id kind baseUrl hasApiKey hasWebhookSecret hasClientSecret } } }";
const SYNC: &str = "mutation($id: ID!) { runConnectorSync(input: { id: $id }) { run { status fullSync created updated linked deleted skipped review failed errors { message } } } }";
const CONTACTS: &str = "{ contacts(first: 50) { nodes { id displayName partitaIva emails { address } sources { kind connector externalId } processingGrounds { legalBasis purpose { key } } } } }";
const INVOICES: &str = "{ invoices(first: 50) { nodes { id status netCents totalCents paidCents notes client { id } matters { id } lines { description minutes amountCents } payments { amountCents } externalIds { source externalId } cancelledAt } } }";
const BILL: &str = "mutation($input: BillMatterThroughConnectorInput!) { billMatterThroughConnector(input: $input) { invoice { id status netCents client { id } matters { id } lines { description amountCents } externalIds { source externalId } } itemsPushed itemsRecovered } }";
const ENTRIES: &str = "query($matter: ID!) { timeEntries(filter: { matterId: $matter }, first: 50) { nodes { id billed invoice { id status } } } }";

const WEBHOOK_SECRET: &str = "whsec_lexgate_test_secret";
const ALFA_PIVA: &str = "12345678903";

async fn sync(app: &TestApp, id: &str) -> Value {
    app.data(SYNC, json!({ "id": id })).await["runConnectorSync"]["run"].clone()
}

/// created, updated, linked, deleted, skipped, failed
fn counts(run: &Value) -> [i64; 6] {
    [
        "created", "updated", "linked", "deleted", "skipped", "failed",
    ]
    .map(|k| run[k].as_i64().unwrap_or(-1))
}

async fn create_instance(app: &TestApp, base_url: &str, extra: Value) -> String {
    let mut input = json!({
        "name": "stripe",
        "kind": "stripe",
        "baseUrl": base_url,
        "apiKey": API_KEY,
        "webhookSecret": WEBHOOK_SECRET,
        "pageSize": 2,
    });
    merge(&mut input, extra);
    let data = app.data(CREATE, json!({ "input": input })).await;
    let instance = &data["createConnectorInstance"]["connectorInstance"];
    assert_eq!(instance["kind"], "stripe", "{data:#}");
    assert_eq!(instance["hasApiKey"], true);
    assert_eq!(instance["hasWebhookSecret"], true);
    assert_eq!(instance["hasClientSecret"], false);
    instance["id"].as_str().expect("instance id").to_owned()
}

async fn contacts(app: &TestApp) -> Vec<Value> {
    app.data(CONTACTS, json!({})).await["contacts"]["nodes"]
        .as_array()
        .expect("contacts")
        .clone()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|c| c["displayName"] == name)
        .unwrap_or_else(|| panic!("{name} missing in {list:#?}"))
}

async fn invoices(app: &TestApp) -> Vec<Value> {
    app.data(INVOICES, json!({})).await["invoices"]["nodes"]
        .as_array()
        .expect("invoices")
        .clone()
}

fn by_external<'a>(list: &'a [Value], external_id: &str) -> &'a Value {
    list.iter()
        .find(|i| i["externalIds"][0]["externalId"] == external_id)
        .unwrap_or_else(|| panic!("{external_id} missing in {list:#?}"))
}

/// A pending invoice item of `amount` cents for `customer`, made at Stripe directly.
async fn invoice_item(stripe: &LocalStripe, customer: &str, amount: &str, key: &str) -> String {
    stripe
        .call(
            "POST",
            "/v1/invoiceitems",
            &[
                ("customer", customer),
                ("amount", amount),
                ("currency", "eur"),
                ("description", "Consulenza"),
                ("metadata[lexgate_key]", key),
            ],
        )
        .await["id"]
        .as_str()
        .expect("item id")
        .to_owned()
}

/// An invoice of the customer's pending items, made at Stripe directly.
async fn stripe_invoice(stripe: &LocalStripe, customer: &str) -> String {
    stripe
        .call("POST", "/v1/invoices", &[("customer", customer)])
        .await["id"]
        .as_str()
        .expect("invoice id")
        .to_owned()
}

/// The customer's invoices at Stripe.
async fn stripe_invoices(stripe: &LocalStripe, customer: &str) -> Vec<Value> {
    let list = stripe
        .call(
            "GET",
            &format!("/v1/invoices?customer={customer}&limit=100"),
            &[],
        )
        .await;
    list["data"].as_array().expect("invoices").clone()
}

async fn first_import_matches_clients_and_reruns_change_nothing(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    // Known to the firm already: one by partita IVA, one by email.
    let alfa =
        create_organization(&app, "Alfa Costruzioni", json!({ "partitaIva": ALFA_PIVA })).await;
    let giulia = create_person(
        &app,
        "Giulia",
        "Ferraresi",
        json!({ "emails": [{ "address": "giulia.ferraresi@example.org" }] }),
    )
    .await;
    let alfa_customer = stripe
        .customer(&[
            ("name", "Alfa Costruzioni S.r.l."),
            ("email", "amministrazione@alfa-costruzioni.example"),
            ("metadata[partita_iva]", ALFA_PIVA),
        ])
        .await;
    stripe
        .customer(&[
            ("name", "Giulia Ferraresi"),
            ("email", "Giulia.Ferraresi@example.org"),
        ])
        .await;
    let beta = stripe
        .customer(&[
            ("name", "Beta Servizi S.p.A."),
            ("email", "fatture@beta-servizi.example"),
            ("tax_id_data[0][type]", "eu_vat"),
            ("tax_id_data[0][value]", "IT01234567897"),
        ])
        .await;
    // Beta's first invoice (its subscription's, free) and a second of 480 € it paid.
    stripe.subscribe(&beta).await;
    invoice_item(&stripe, &beta, "48000", "manual-1").await;
    let paid = stripe_invoice(&stripe, &beta).await;
    stripe
        .call("POST", &format!("/v1/invoices/{paid}/pay"), &[])
        .await;
    let at_stripe = stripe_invoices(&stripe, &beta).await;
    assert_eq!(at_stripe.len(), 2);

    // The kind names what it misses and refuses what it does not take; no secret is quoted.
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "stripe", "kind": "stripe", "baseUrl": "http://stripe.example",
                "apiKey": "pk_test_publishable", "webhookSecret": "not-a-signing-secret",
                "clientId": "x", "password": "secret" } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    for field in [
        "input.baseUrl",
        "input.apiKey",
        "input.webhookSecret",
        "input.clientId",
        "input.password",
    ] {
        assert!(
            error.to_string().contains(field),
            "{field} missing in {error:#}"
        );
    }
    assert!(
        !error.to_string().contains("pk_test_publishable"),
        "{error:#}"
    );
    assert!(!error.to_string().contains("not-a-signing-secret"));
    let error = app
        .error(
            CREATE,
            json!({ "input": { "name": "stripe", "kind": "stripe" } }),
        )
        .await;
    assert_error(&error, "BAD_USER_INPUT", "input.apiKey");
    // Left out, the base URL is Stripe's.
    let default = app
        .data(
            CREATE,
            json!({ "input": { "name": "stripe-live", "kind": "stripe", "apiKey": "sk_live_0000000000" } }),
        )
        .await;
    assert_eq!(
        default["createConnectorInstance"]["connectorInstance"]["baseUrl"],
        "https://api.stripe.com"
    );

    let id = create_instance(&app, &stripe.base_url, json!({})).await;
    // Neither secret is stored in the clear.
    let found = find_values(&app, &[API_KEY, WEBHOOK_SECRET]);
    assert!(found.is_empty(), "secrets stored in the clear: {found:?}");

    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    // Beta and its two invoices created; Alfa and Giulia linked.
    assert_eq!(counts(&run), [3, 0, 2, 0, 0, 0], "{run:#}");
    let list = contacts(&app).await;
    assert_eq!(list.len(), 3, "{list:#?}");
    let beta_contact = by_name(&list, "Beta Servizi S.p.A.");
    assert_eq!(beta_contact["partitaIva"], "01234567897");
    assert_eq!(beta_contact["sources"][0]["kind"], "CONNECTOR_IMPORT");
    assert_eq!(beta_contact["sources"][0]["connector"], "stripe");
    assert_eq!(beta_contact["sources"][0]["externalId"], beta.as_str());
    assert_eq!(
        beta_contact["processingGrounds"][0]["legalBasis"],
        "CONTRACT"
    );
    assert_eq!(
        beta_contact["processingGrounds"][0]["purpose"]["key"],
        "client_relationship"
    );
    let alfa_row = list
        .iter()
        .find(|c| c["id"] == alfa.as_str())
        .expect("Alfa");
    assert_eq!(alfa_row["sources"][1]["externalId"], alfa_customer.as_str());
    assert!(alfa_row["emails"]
        .to_string()
        .contains("amministrazione@alfa-costruzioni.example"));
    let giulia_row = list
        .iter()
        .find(|c| c["id"] == giulia.as_str())
        .expect("Giulia");
    assert_eq!(giulia_row["sources"][1]["kind"], "CONNECTOR_IMPORT");

    let imported = invoices(&app).await;
    assert_eq!(imported.len(), 2, "{imported:#?}");
    let paid_invoice = by_external(&imported, &paid);
    assert_eq!(paid_invoice["status"], "PAID", "{paid_invoice:#}");
    assert_eq!(paid_invoice["netCents"], 48000);
    assert_eq!(paid_invoice["totalCents"], 48000);
    assert_eq!(paid_invoice["paidCents"], 48000);
    assert_eq!(paid_invoice["payments"][0]["amountCents"], 48000);
    assert_eq!(paid_invoice["client"]["id"], beta_contact["id"]);
    assert_eq!(paid_invoice["externalIds"][0]["source"], "stripe");

    // Stripe has no change feed: every run lists in full, and an unchanged account changes
    // nothing.
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["fullSync"], true);
    assert_eq!(counts(&run), [0, 0, 0, 0, 5, 0], "{run:#}");
    assert_eq!(contacts(&app).await, list);
    assert_eq!(invoices(&app).await, imported);
}

async fn changes_and_deletions_upstream_are_applied(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    let gamma = stripe
        .customer(&[
            ("name", "Gamma S.r.l."),
            ("email", "info@gamma.example"),
            ("metadata[partita_iva]", ALFA_PIVA),
        ])
        .await;
    let delta = stripe
        .customer(&[("name", "Delta Rossi"), ("email", "delta@example.org")])
        .await;
    stripe.subscribe(&gamma).await;
    invoice_item(&stripe, &gamma, "12000", "manual-1").await;
    let draft = stripe_invoice(&stripe, &gamma).await;
    invoice_item(&stripe, &gamma, "30000", "manual-2").await;
    let to_pay = stripe_invoice(&stripe, &gamma).await;
    let id = create_instance(&app, &stripe.base_url, json!({})).await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [5, 0, 0, 0, 0, 0], "{run:#}");
    let list = invoices(&app).await;
    assert_eq!(by_external(&list, &draft)["status"], "DRAFT");
    assert_eq!(by_external(&list, &to_pay)["status"], "DRAFT");

    // Gamma's processing is restricted (Art. 18): what Stripe changes of it is not taken.
    let dpo_token = dpo(&app).await;
    let gamma_contact = by_name(&contacts(&app).await, "Gamma S.r.l.")["id"].clone();
    let body = app
        .gql_as(
            &dpo_token,
            "mutation($input: RestrictProcessingInput!) { restrictProcessing(input: $input) { contact { id } } }",
            json!({ "input": { "contactId": gamma_contact, "reason": "Accuracy contested (Art. 18(1)(a))" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    stripe
        .call(
            "POST",
            &format!("/v1/customers/{gamma}"),
            &[("phone", "+39 02 5550199")],
        )
        .await;
    // Upstream: a new customer, Delta deleted, one draft deleted, the other paid.
    stripe
        .customer(&[
            ("name", "Epsilon Bianchi"),
            ("email", "epsilon@example.org"),
        ])
        .await;
    stripe
        .call("DELETE", &format!("/v1/customers/{delta}"), &[])
        .await;
    stripe
        .call("DELETE", &format!("/v1/invoices/{draft}"), &[])
        .await;
    stripe
        .call("POST", &format!("/v1/invoices/{to_pay}/pay"), &[])
        .await;
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    // Epsilon created; the paid invoice updated; Delta's link and the draft ended; Gamma
    // (restricted) and the subscription's invoice untouched.
    assert_eq!(counts(&run), [1, 1, 0, 2, 2, 0], "{run:#}");
    let people = contacts(&app).await;
    assert_eq!(people.len(), 3, "the deleted customer's contact stays");
    by_name(&people, "Epsilon Bianchi");
    let gamma_row = by_name(&people, "Gamma S.r.l.");
    assert!(
        !gamma_row.to_string().contains("5550199"),
        "a restricted contact was updated: {gamma_row:#}"
    );
    let list = invoices(&app).await;
    let deleted = by_external(&list, &draft);
    assert_eq!(deleted["status"], "CANCELLED", "{deleted:#}");
    assert!(deleted["cancelledAt"].is_string());
    assert!(deleted["notes"]
        .as_str()
        .is_some_and(|n| n.contains("deleted upstream")));
    let paid = by_external(&list, &to_pay);
    assert_eq!(paid["status"], "PAID", "{paid:#}");
    assert_eq!(paid["paidCents"], 30000);

    // Again: nothing new.
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [0, 0, 0, 0, 4, 0], "{run:#}");
}

async fn an_erased_person_is_not_recreated(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    let customer = stripe
        .customer(&[
            ("name", "Mario Rossi"),
            ("email", "mario.rossi@example.it"),
            ("phone", "+39 347 5550101"),
        ])
        .await;
    let id = create_instance(&app, &stripe.base_url, json!({})).await;
    let run = sync(&app, &id).await;
    assert_eq!(counts(&run), [1, 0, 0, 0, 0, 0], "{run:#}");
    let mario = by_name(&contacts(&app).await, "Mario Rossi")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let dpo_token = dpo(&app).await;
    let request = verified_request(&app, &dpo_token, "ERASURE", &mario, "Mario Rossi").await;
    let body = app
        .gql_as(
            &dpo_token,
            "mutation($id: ID!) { executeErasure(input: { requestId: $id }) { erasure { contactDeleted } } }",
            json!({ "id": request }),
        )
        .await;
    assert_eq!(
        body["data"]["executeErasure"]["erasure"]["contactDeleted"], true,
        "{body:#}"
    );

    // Stripe still has him, changed; and a second customer carries his email.
    stripe
        .call(
            "POST",
            &format!("/v1/customers/{customer}"),
            &[("name", "Mario G. Rossi")],
        )
        .await;
    stripe
        .customer(&[("name", "M. Rossi"), ("email", "Mario.Rossi@example.it")])
        .await;
    // Both skipped; the first run also ends the erased record's link (the erasure left it
    // without a contact, and the skip does not mark it seen).
    for ended in [1, 0] {
        let run = sync(&app, &id).await;
        assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
        assert_eq!(counts(&run), [0, 0, 0, ended, 2, 0], "{run:#}");
        assert!(contacts(&app).await.is_empty());
    }
}

async fn stripe_throttling_is_waited_out(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    stripe
        .customer(&[("name", "Zeta S.r.l."), ("email", "info@zeta.example")])
        .await;
    let (front, refused) = stripe.throttled(2).await;
    let id = create_instance(&app, &front, json!({})).await;
    let started = Instant::now();
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run), [1, 0, 0, 0, 0, 0], "{run:#}");
    assert_eq!(refused.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Retry-After: 1, twice.
    assert!(started.elapsed() >= Duration::from_secs(2));

    // A Stripe that keeps refusing: the run is THROTTLED, and nothing is lost.
    let (front, _) = stripe.throttled(1_000).await;
    let body = app
        .gql(
            "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { baseUrl } } }",
            json!({ "input": { "id": id, "baseUrl": front } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let run = sync(&app, &id).await;
    assert_eq!(run["status"], "THROTTLED", "{run:#}");
    assert_eq!(contacts(&app).await.len(), 1);
}

/// A client that is a Stripe customer with a subscription (localstripe invoices only those),
/// imported; a matter of theirs with a lawyer's time: 90 minutes billable, 30 billable, and
/// 60 not billable, at 200 € an hour.
struct Billing {
    app: TestApp,
    stripe: LocalStripe,
    instance: String,
    customer: String,
    client: String,
    matter: String,
}

async fn billing(backend: Backend) -> Billing {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    let customer = stripe
        .customer(&[
            ("name", "Omega Impianti S.r.l."),
            ("email", "amministrazione@omega.example"),
            ("metadata[partita_iva]", ALFA_PIVA),
        ])
        .await;
    stripe.subscribe(&customer).await;
    let instance = create_instance(&app, &stripe.base_url, json!({})).await;
    let run = sync(&app, &instance).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    let client = by_name(&contacts(&app).await, "Omega Impianti S.r.l.")["id"]
        .as_str()
        .expect("client")
        .to_owned();
    let (lawyer, token) = app.sign_in("avv.verdi@studio.it", "lawyer").await;
    let matter = create_matter(
        &app,
        "2026/0200",
        &client,
        json!({ "team": [{ "userId": lawyer }] }),
    )
    .await;
    for (date, minutes, narrative, billable) in [
        ("2026-11-02", 90, "Studio del contratto d'appalto", true),
        ("2026-11-03", 30, "Telefonata con il cliente", true),
        ("2026-11-04", 60, "Formazione interna", false),
    ] {
        let body = app
            .gql_as(
                &token,
                "mutation($input: CreateTimeEntryInput!) { createTimeEntry(input: $input) { timeEntry { id } } }",
                json!({ "input": { "matterId": matter, "date": date, "minutes": minutes,
                    "narrative": narrative, "rateCents": 20000, "billable": billable } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    Billing {
        app,
        stripe,
        instance,
        customer,
        client,
        matter,
    }
}

impl Billing {
    async fn bill(&self) -> Value {
        self.app
            .gql(
                BILL,
                json!({ "input": { "instanceId": self.instance, "matterId": self.matter } }),
            )
            .await
    }

    /// The matter's entries: (billed, invoice status), in order.
    async fn entries(&self) -> Vec<(bool, Value)> {
        let data = self
            .app
            .data(ENTRIES, json!({ "matter": self.matter }))
            .await;
        data["timeEntries"]["nodes"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| (e["billed"] == true, e["invoice"]["status"].clone()))
            .collect()
    }

    /// The customer's invoices at Stripe made from items (the subscription's has none).
    async fn item_invoices(&self) -> Vec<Value> {
        stripe_invoices(&self.stripe, &self.customer)
            .await
            .into_iter()
            .filter(|i| i["total"].as_i64().unwrap_or(0) > 0)
            .collect()
    }
}

async fn a_matter_is_billed_through_stripe_once(backend: Backend) {
    let b = billing(backend).await;
    let body = b.bill().await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let billed = &body["data"]["billMatterThroughConnector"];
    assert_eq!(billed["itemsPushed"], 2, "{body:#}");
    assert_eq!(billed["itemsRecovered"], 0);
    let invoice = &billed["invoice"];
    // 1h30 and 0h30 at 200 €/h; the non-billable hour stays out.
    assert_eq!(invoice["netCents"], 40000, "{invoice:#}");
    assert_eq!(invoice["status"], "DRAFT");
    assert_eq!(invoice["client"]["id"], b.client.as_str());
    assert_eq!(invoice["matters"][0]["id"], b.matter.as_str());
    assert_eq!(invoice["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(invoice["externalIds"][0]["source"], "stripe");
    let at_stripe = b.item_invoices().await;
    assert_eq!(at_stripe.len(), 1, "{at_stripe:#?}");
    assert_eq!(at_stripe[0]["total"], 40000);
    assert_eq!(
        invoice["externalIds"][0]["externalId"], at_stripe[0]["id"],
        "{invoice:#}"
    );
    let entries = b.entries().await;
    assert_eq!(
        entries.iter().filter(|(billed, _)| *billed).count(),
        2,
        "{entries:?}"
    );

    // Asked again: nothing left to bill, and Stripe has still one invoice of 400 €.
    let again = b.bill().await;
    assert_error(&again["errors"][0], "BAD_USER_INPUT", "input.matterId");
    assert_eq!(b.item_invoices().await.len(), 1);

    // The next sync knows the invoice already: it neither duplicates nor unbills it.
    let run = sync(&b.app, &b.instance).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(counts(&run)[0], 0, "{run:#}");
    let list = invoices(&b.app).await;
    assert_eq!(
        list.len(),
        2,
        "the subscription's and the bill's: {list:#?}"
    );
    let synced = by_external(&list, at_stripe[0]["id"].as_str().expect("id"));
    assert_eq!(synced["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(synced["matters"][0]["id"], b.matter.as_str());
    assert_eq!(
        b.entries()
            .await
            .iter()
            .filter(|(billed, _)| *billed)
            .count(),
        2
    );
    let pending: i64 = b
        .app
        .db
        .run(|c| {
            Ok(billing_pushes::table
                .filter(billing_pushes::remote_id.is_null())
                .count()
                .get_result(c)?)
        })
        .await
        .expect("count");
    assert_eq!(pending, 0);
}

/// The first of the matter's planned items, as a crashed call would have left it: recorded
/// pending, created at Stripe with its key, never recorded as done. Answers the item's id.
async fn crash_after_the_first_item(b: &Billing) -> String {
    // A call that fails at Stripe after planning leaves the plan pending: a Stripe that is
    // down when the bill starts.
    let body = b
        .app
        .gql(
            "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { id } } }",
            json!({ "input": { "id": b.instance, "baseUrl": "http://127.0.0.1:9" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let failed = b.bill().await;
    assert_eq!(
        failed["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{failed:#}"
    );
    let body = b
        .app
        .gql(
            "mutation($input: UpdateConnectorInstanceInput!) { updateConnectorInstance(input: $input) { connectorInstance { id } } }",
            json!({ "input": { "id": b.instance, "baseUrl": b.stripe.base_url } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let planned: Vec<(String, i64)> = b
        .app
        .db
        .run(|c| {
            Ok(billing_pushes::table
                .filter(billing_pushes::kind.eq("item"))
                .order_by(billing_pushes::amount_cents.desc())
                .select((
                    billing_pushes::idempotency_key,
                    billing_pushes::amount_cents,
                ))
                .load(c)?)
        })
        .await
        .expect("planned items");
    assert_eq!(planned.len(), 2, "the plan was recorded before any call");
    let (key, amount) = &planned[0];
    invoice_item(&b.stripe, &b.customer, &amount.to_string(), key).await
}

async fn a_crash_between_a_remote_create_and_its_record_bills_once(backend: Backend) {
    let b = billing(backend).await;
    crash_after_the_first_item(&b).await;
    let body = b.bill().await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let billed = &body["data"]["billMatterThroughConnector"];
    assert_eq!(billed["itemsRecovered"], 1, "{body:#}");
    assert_eq!(billed["itemsPushed"], 1, "{body:#}");
    let at_stripe = b.item_invoices().await;
    assert_eq!(at_stripe.len(), 1, "{at_stripe:#?}");
    let lines = b
        .stripe
        .call(
            "GET",
            &format!(
                "/v1/invoices/{}/lines?limit=100",
                at_stripe[0]["id"].as_str().expect("id")
            ),
            &[],
        )
        .await;
    let items: Vec<&Value> = lines["data"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["type"] == "invoiceitem")
        .collect();
    assert_eq!(items.len(), 2, "no item was created twice: {lines:#}");
    assert_eq!(at_stripe[0]["total"], 40000);
    assert_eq!(billed["invoice"]["netCents"], 40000);
}

async fn a_crash_after_the_remote_invoice_makes_no_second_one(backend: Backend) {
    let b = billing(backend).await;
    let first = crash_after_the_first_item(&b).await;
    // The crash comes later this time: both items were made and recorded, then the invoice
    // was made at Stripe (taking them) but not recorded.
    let (first_key, second_key): (String, String) = b
        .app
        .db
        .run(|c| {
            let keys: Vec<String> = billing_pushes::table
                .filter(billing_pushes::kind.eq("item"))
                .order_by(billing_pushes::amount_cents.desc())
                .select(billing_pushes::idempotency_key)
                .load(c)?;
            Ok((keys[0].clone(), keys[1].clone()))
        })
        .await
        .expect("planned items");
    let second = invoice_item(&b.stripe, &b.customer, "10000", &second_key).await;
    b.app
        .db
        .run(move |c| {
            for (key, id) in [(first_key, first), (second_key, second)] {
                diesel::update(billing_pushes::table.find(key))
                    .set(billing_pushes::remote_id.eq(id))
                    .execute(c)?;
            }
            Ok(())
        })
        .await
        .expect("items recorded");
    let made = stripe_invoice(&b.stripe, &b.customer).await;

    let body = b.bill().await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let billed = &body["data"]["billMatterThroughConnector"];
    assert_eq!(billed["itemsPushed"], 0, "{body:#}");
    assert_eq!(
        billed["invoice"]["externalIds"][0]["externalId"],
        made.as_str()
    );
    let at_stripe = b.item_invoices().await;
    assert_eq!(at_stripe.len(), 1, "{at_stripe:#?}");
    assert_eq!(
        b.entries()
            .await
            .iter()
            .filter(|(billed, _)| *billed)
            .count(),
        2
    );
}

/// localstripe's own signed deliveries start syncs; a forged signature is refused; a
/// redelivered event is accepted once.
async fn stripe_webhooks_are_verified_and_deduplicated(backend: Backend) {
    let app = start_sealing_secrets(backend).await;
    let stripe = LocalStripe::start();
    let id = create_instance(&app, &stripe.base_url, json!({})).await;
    let hook = format!("{}/webhooks/stripe", app.base_url);
    // localstripe's configuration answers with an empty body, which `call` cannot read.
    let configured = reqwest::Client::new()
        .post(format!("{}/_config/webhooks/lexgate", stripe.base_url))
        .form(&[("url", hook.as_str()), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .expect("localstripe answered");
    assert!(configured.status().is_success(), "{configured:?}");

    // A customer made at Stripe: its customer.created event reaches lexgate, which syncs.
    stripe
        .customer(&[("name", "Kappa S.r.l."), ("email", "info@kappa.example")])
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while contacts(&app).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "no webhook sync imported the customer: {}",
            stripe.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let runs = app
        .data(
            "query($id: ID!) { connectorInstance(id: $id) { runs { trigger status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        runs["connectorInstance"]["runs"][0]["trigger"], "webhook",
        "{runs:#}"
    );

    // The event as Stripe would deliver it again.
    let events = stripe.call("GET", "/v1/events?limit=100", &[]).await;
    let event = events["data"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["type"] == "customer.created")
        .expect("customer.created")
        .clone();
    let event_id = event["id"].as_str().expect("event id").to_owned();
    let body = serde_json::to_vec(&event).expect("body");
    let post = |signature: String, body: Vec<u8>| {
        app.client
            .post(&hook)
            .header("Stripe-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let now = chrono::Utc::now().timestamp();

    // Forged: another secret, the lexgate header, a stale timestamp, no signature at all.
    let forged = lexgate_connectors::webhook::sign(b"whsec_forged", now, &body);
    assert_eq!(
        post(forged, body.clone()).await.expect("post").status(),
        401
    );
    let stale = lexgate_connectors::webhook::sign(WEBHOOK_SECRET.as_bytes(), now - 3600, &body);
    assert_eq!(post(stale, body.clone()).await.expect("post").status(), 401);
    let lexgate_header = app
        .client
        .post(&hook)
        .header(
            lexgate_connectors::webhook::SIGNATURE_HEADER,
            lexgate_connectors::webhook::sign(WEBHOOK_SECRET.as_bytes(), now, &body),
        )
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(lexgate_header.status(), 401);

    // Redelivered with a valid signature: accepted, but counted once.
    let signed = lexgate_connectors::webhook::sign(WEBHOOK_SECRET.as_bytes(), now, &body);
    let again = post(signed, body.clone()).await.expect("post");
    assert_eq!(again.status(), 200);
    let answer: Value = again.json().await.expect("json");
    assert_eq!(answer["status"], "duplicate");
    let recorded: i64 = app
        .db
        .run(move |c| {
            Ok(webhook_events::table
                .filter(webhook_events::event_id.eq(&event_id))
                .count()
                .get_result(c)?)
        })
        .await
        .expect("count");
    assert_eq!(recorded, 1);
}

on_both_backends!(
    first_import_matches_clients_and_reruns_change_nothing,
    changes_and_deletions_upstream_are_applied,
    an_erased_person_is_not_recreated,
    stripe_throttling_is_waited_out,
    a_matter_is_billed_through_stripe_once,
    a_crash_between_a_remote_create_and_its_record_bills_once,
    a_crash_after_the_remote_invoice_makes_no_second_one,
    stripe_webhooks_are_verified_and_deduplicated,
);
