//! The `stripe` connector against a real localstripe on 127.0.0.1.

use std::sync::atomic::Ordering;

use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::localstripe::{LocalStripe, API_KEY};
use lexgate_connectors::stripe::StripeConnector;
use lexgate_connectors::{Connector, ConnectorError, ContactOrigin, OutboundInvoiceItem};

fn connector(base_url: &str, key: &str, page_size: u32) -> StripeConnector {
    let policy = HttpPolicy {
        requests_per_second: None,
        ..HttpPolicy::default()
    };
    StripeConnector::new(
        base_url,
        key,
        HttpClient::new(policy).expect("client"),
        page_size,
    )
}

#[tokio::test]
async fn customers_are_listed_in_pages_to_the_end_and_then_relisted() {
    let stripe = LocalStripe::start();
    stripe
        .customer(&[
            ("name", "Alfa Costruzioni S.r.l."),
            ("email", "amministrazione@alfa-costruzioni.example"),
            ("metadata[partita_iva]", "12345678903"),
        ])
        .await;
    stripe
        .customer(&[
            ("name", "Beta Servizi S.p.A."),
            ("email", "fatture@beta-servizi.example"),
            ("tax_id_data[0][type]", "eu_vat"),
            ("tax_id_data[0][value]", "IT01234567897"),
        ])
        .await;
    let person = stripe
        .customer(&[
            ("name", "Giulia Ferraresi"),
            ("email", "giulia.ferraresi@example.org"),
            ("phone", "+39 02 1234567"),
        ])
        .await;
    let stripe_connector = connector(&stripe.base_url, API_KEY, 2);
    assert!(stripe_connector.capabilities().pull_contacts);

    let first = stripe_connector.pull_contacts(None).await.expect("page 1");
    assert_eq!(first.records.len(), 2);
    assert!(first.more);
    let second = stripe_connector
        .pull_contacts(Some(&first.cursor))
        .await
        .expect("page 2");
    assert!(!second.more);
    let all: Vec<_> = first.records.iter().chain(&second.records).collect();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|c| c.origin == ContactOrigin::BillingClient));
    let alfa = all
        .iter()
        .find(|c| c.organization_name.as_deref() == Some("Alfa Costruzioni S.r.l."))
        .expect("Alfa");
    assert_eq!(alfa.partita_iva.as_deref(), Some("12345678903"));
    let beta = all
        .iter()
        .find(|c| c.organization_name.as_deref() == Some("Beta Servizi S.p.A."))
        .expect("Beta");
    assert_eq!(beta.partita_iva.as_deref(), Some("01234567897"));
    let giulia = all
        .iter()
        .find(|c| c.external_id == person)
        .expect("person");
    assert!(!giulia.organization);
    assert_eq!(giulia.family_name.as_deref(), Some("Ferraresi"));
    assert_eq!(giulia.emails, ["giulia.ferraresi@example.org"]);

    // A finished listing asks the engine for a new full one (which reconciles deletions).
    assert!(matches!(
        stripe_connector.pull_contacts(Some(&second.cursor)).await,
        Err(ConnectorError::InvalidCursor)
    ));
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let stripe = LocalStripe::start();
    let refused = connector(&stripe.base_url, "not-a-stripe-key", 10)
        .pull_contacts(None)
        .await;
    assert!(
        matches!(refused, Err(ConnectorError::Unauthorized(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_request_repeated() {
    let stripe = LocalStripe::start();
    stripe
        .customer(&[("name", "Gamma S.r.l."), ("email", "info@gamma.example")])
        .await;
    let (front, refused) = stripe.throttled(2).await;
    let started = std::time::Instant::now();
    let page = connector(&front, API_KEY, 10)
        .pull_contacts(None)
        .await
        .expect("the page after the throttling");
    assert_eq!(refused.load(Ordering::SeqCst), 2);
    assert_eq!(page.records.len(), 1);
    // Retry-After: 1, twice.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn a_pushed_item_is_found_again_by_its_key_and_invoiced() {
    let stripe = LocalStripe::start();
    let customer = stripe
        .customer(&[("name", "Delta S.r.l."), ("email", "delta@delta.example")])
        .await;
    // localstripe invoices only customers with a subscription; its first invoice takes the
    // pending items, so it is made before any.
    stripe.subscribe(&customer).await;
    let stripe_connector = connector(&stripe.base_url, API_KEY, 1);
    let request = OutboundInvoiceItem {
        customer: customer.clone(),
        amount_cents: 36_000,
        currency: "eur".into(),
        description: "2026-12-01 Studio atti (2h)".into(),
        key: "lexgate-te-0001-v1".into(),
    };
    // Nothing yet: a push that crashed before reaching Stripe finds nothing to reconcile.
    assert_eq!(
        stripe_connector
            .find_invoice_item(&customer, &request.key)
            .await
            .expect("lookup"),
        None
    );
    let created = stripe_connector
        .create_invoice_item(&request)
        .await
        .expect("item");
    assert_eq!(created.amount, 36_000);
    // Another item, so the lookup has to page (page size 1).
    stripe_connector
        .create_invoice_item(&OutboundInvoiceItem {
            key: "lexgate-te-0002-v1".into(),
            amount_cents: 12_000,
            ..request.clone()
        })
        .await
        .expect("second item");
    let found = stripe_connector
        .find_invoice_item(&customer, &request.key)
        .await
        .expect("lookup")
        .expect("the item the unrecorded push made");
    assert_eq!(found.id, created.id);

    let invoice = stripe_connector
        .create_invoice(&customer, "lexgate-invoice-0001")
        .await
        .expect("invoice");
    assert_eq!(invoice.customer_external_id, customer);
    assert_eq!(invoice.total_cents, 48_000);
    let listed = stripe_connector
        .list_invoices(None)
        .await
        .expect("invoices");
    assert!(listed
        .records
        .iter()
        .any(|i| i.external_id == invoice.external_id));
    // Items on an invoice are no longer pending: listed by lookups no more.
    assert_eq!(
        stripe_connector
            .find_invoice_item(&customer, &request.key)
            .await
            .expect("lookup"),
        None
    );
}
