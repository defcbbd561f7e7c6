//! The `stripe` connector: a firm's Stripe account (API v1, form-encoded requests, a secret
//! key as bearer token).
//!
//! - Customers become billing clients ([`ContactOrigin::BillingClient`]): `name`, `email`,
//!   `phone`, the partita IVA from `metadata[partita_iva]` or an `eu_vat` tax id (`IT…`), the
//!   codice fiscale from `metadata[codice_fiscale]`. Stripe's lists have no change feed for
//!   updates, so every sync lists the customers in full (`limit`, `starting_after`,
//!   `has_more`); the cursor is the last id of the listing in progress, and a finished
//!   listing's cursor asks the engine for a new full listing, which ends by reconciling the
//!   customers Stripe no longer has.
//! - Invoices are listed the same way ([`StripeConnector::list_invoices`]).
//! - Pushing time: one invoice item per time entry, sent with a deterministic
//!   `Idempotency-Key` and the same key in `metadata[lexgate_key]`, so an item whose creation
//!   was not recorded can be found again ([`StripeConnector::find_invoice_item`]) instead of
//!   being created twice (localstripe, like a retry after Stripe's 24 hours, ignores the key).
//!
//! 429 answers are waited out (`Retry-After`, else backoff) by the shared [`HttpClient`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::http::{HttpClient, HttpError};
use crate::{
    BoxFuture, Capabilities, Connector, ConnectorError, ContactOrigin, Cursor, OutboundInvoiceItem,
    Page, RemoteContact, RemoteInvoice, RemoteInvoiceItem,
};

pub const KIND: &str = "stripe";

/// The metadata key carrying lexgate's push key on invoice items.
pub const PUSH_KEY: &str = "lexgate_key";

/// The cursor of a finished listing: the next pull starts a new full listing.
const LISTED: &str = "listed";

pub struct StripeConnector {
    base_url: String,
    api_key: String,
    http: HttpClient,
    page_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
struct List<T> {
    data: Vec<T>,
    has_more: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Customer {
    id: String,
    #[serde(default)]
    deleted: bool,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    created: Option<i64>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    tax_ids: Option<List<TaxId>>,
}

#[derive(Debug, Clone, Deserialize)]
struct TaxId {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawInvoice {
    id: String,
    customer: String,
    number: Option<String>,
    status: Option<String>,
    currency: Option<String>,
    total: Option<i64>,
    amount_paid: Option<i64>,
    date: Option<i64>,
    created: Option<i64>,
    due_date: Option<i64>,
    status_transitions: Option<StatusTransitions>,
}

#[derive(Deserialize)]
struct StatusTransitions {
    paid_at: Option<i64>,
}

impl From<RawInvoice> for RemoteInvoice {
    fn from(raw: RawInvoice) -> Self {
        RemoteInvoice {
            external_id: raw.id,
            customer_external_id: raw.customer,
            number: raw.number,
            status: raw.status.unwrap_or_else(|| "draft".to_owned()),
            currency: raw.currency.unwrap_or_else(|| "eur".to_owned()),
            total_cents: raw.total.unwrap_or(0),
            amount_paid_cents: raw.amount_paid.unwrap_or(0),
            issued_on: timestamp(raw.date.or(raw.created)).map(|t| t.date_naive()),
            due_on: timestamp(raw.due_date).map(|t| t.date_naive()),
            paid_at: timestamp(raw.status_transitions.and_then(|s| s.paid_at)),
        }
    }
}

fn timestamp(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
}

impl StripeConnector {
    /// `base_url` is the API root (`https://api.stripe.com`), `api_key` the secret key.
    pub fn new(base_url: &str, api_key: &str, http: HttpClient, page_size: u32) -> Self {
        StripeConnector {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            http,
            // Stripe pages hold 1 to 100 records.
            page_size: page_size.clamp(1, 100),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .reqwest()
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
    }

    /// Sends and reads a JSON answer; Stripe's error message (never a secret) is kept.
    async fn call<T: DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let request = builder
            .build()
            .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()))?;
        let response = self
            .http
            .send_answered(request)
            .await
            .map_err(|error| match error {
                HttpError::Status { status, .. } => {
                    ConnectorError::Unavailable(format!("Stripe answered {status}"))
                }
                other => ConnectorError::from(other),
            })?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| ConnectorError::Protocol(e.without_url().to_string()));
        }
        let message = response
            .json::<ErrorBody>()
            .await
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_default();
        let message = format!("Stripe answered {}: {message}", status.as_u16());
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                ConnectorError::Unauthorized(message)
            }
            s if s.is_client_error() => ConnectorError::Rejected(message),
            _ => ConnectorError::Unavailable(message),
        })
    }

    /// One page of `path` after `starting_after`.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        starting_after: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<List<T>, ConnectorError> {
        let limit = self.page_size.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(after) = starting_after {
            query.push(("starting_after", after));
        }
        query.extend_from_slice(extra);
        self.call(self.request(Method::GET, path).query(&query))
            .await
            .map_err(|error| match error {
                // Stripe refuses a `starting_after` it no longer has (a deleted record).
                ConnectorError::Rejected(_) if starting_after.is_some() => {
                    ConnectorError::InvalidCursor
                }
                other => other,
            })
    }

    /// Where a listing continues: `None` starts it.
    fn listing_position(cursor: Option<&Cursor>) -> Result<Option<&str>, ConnectorError> {
        match cursor.map(|c| c.0.as_str()) {
            None | Some("") => Ok(None),
            // A finished listing: the engine starts a new full one, which reconciles deletions.
            Some(LISTED) => Err(ConnectorError::InvalidCursor),
            Some(after) => Ok(Some(after)),
        }
    }

    /// One page of invoices (newest first at Stripe) with the cursor after it.
    pub async fn list_invoices(
        &self,
        cursor: Option<&Cursor>,
    ) -> Result<Page<RemoteInvoice>, ConnectorError> {
        let after = Self::listing_position(cursor)?;
        let page: List<RawInvoice> = self.list("/v1/invoices", after, &[]).await?;
        let last = page.data.last().map(|i| i.id.clone());
        let records = page.data.into_iter().map(RemoteInvoice::from).collect();
        Ok(next_page(records, page.has_more, last))
    }

    /// Creates an invoice item, sending `item.key` as `Idempotency-Key` and as
    /// `metadata[lexgate_key]`.
    pub async fn create_invoice_item(
        &self,
        item: &OutboundInvoiceItem,
    ) -> Result<RemoteInvoiceItem, ConnectorError> {
        let amount = item.amount_cents.to_string();
        let form = [
            ("customer", item.customer.as_str()),
            ("amount", amount.as_str()),
            ("currency", item.currency.as_str()),
            ("description", item.description.as_str()),
            ("metadata[lexgate_key]", item.key.as_str()),
        ];
        self.call(
            self.request(Method::POST, "/v1/invoiceitems")
                .header("Idempotency-Key", &item.key)
                .form(&form),
        )
        .await
    }

    /// The customer's invoice item carrying `key` in its metadata, if Stripe has one: what a
    /// push whose outcome was never recorded left behind.
    pub async fn find_invoice_item(
        &self,
        customer: &str,
        key: &str,
    ) -> Result<Option<RemoteInvoiceItem>, ConnectorError> {
        let mut after: Option<String> = None;
        loop {
            let page: List<RemoteInvoiceItem> = self
                .list(
                    "/v1/invoiceitems",
                    after.as_deref(),
                    &[("customer", customer)],
                )
                .await?;
            if let Some(found) = page
                .data
                .iter()
                .find(|i| i.metadata.get(PUSH_KEY).map(String::as_str) == Some(key))
            {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
    }

    /// One invoice item by its id: whether an invoice took it.
    pub async fn invoice_item(&self, id: &str) -> Result<RemoteInvoiceItem, ConnectorError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConnectorError::Rejected(
                "not a Stripe invoice item id".to_owned(),
            ));
        }
        self.call(self.request(Method::GET, &format!("/v1/invoiceitems/{id}")))
            .await
    }

    /// Creates an invoice of the customer's pending invoice items, with its own
    /// `Idempotency-Key`; answers the invoice.
    pub async fn create_invoice(
        &self,
        customer: &str,
        key: &str,
    ) -> Result<RemoteInvoice, ConnectorError> {
        let raw: RawInvoice = self
            .call(
                self.request(Method::POST, "/v1/invoices")
                    .header("Idempotency-Key", key)
                    .form(&[("customer", customer)]),
            )
            .await?;
        Ok(raw.into())
    }
}

/// The page and the cursor after it: the last id while Stripe has more, then [`LISTED`].
fn next_page<T>(records: Vec<T>, has_more: bool, last: Option<String>) -> Page<T> {
    match last {
        Some(last) if has_more => Page {
            records,
            cursor: Cursor(last),
            more: true,
        },
        _ => Page {
            records,
            cursor: Cursor(LISTED.to_owned()),
            more: false,
        },
    }
}

/// The partita IVA of a customer: `metadata[partita_iva]`, else an Italian `eu_vat` tax id
/// without its `IT` prefix.
fn partita_iva(customer: &Customer) -> Option<String> {
    if let Some(value) = customer.metadata.get("partita_iva") {
        return Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    }
    customer.tax_ids.as_ref().and_then(|ids| {
        ids.data
            .iter()
            .filter(|t| t.kind == "eu_vat")
            .find_map(|t| t.value.trim().strip_prefix("IT").map(str::to_owned))
    })
}

fn to_contact(customer: Customer) -> RemoteContact {
    let partita_iva = partita_iva(&customer);
    let name = customer
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    // A customer with a partita IVA is a business (a sole trader included): named as a whole.
    let organization =
        partita_iva.is_some() && customer.metadata.get("kind").is_none_or(|k| k != "person");
    let (given_name, family_name, organization_name) = match (&name, organization) {
        (Some(name), true) => (None, None, Some(name.clone())),
        (Some(name), false) => match name.rsplit_once(' ') {
            Some((given, family)) => (Some(given.trim().to_owned()), Some(family.to_owned()), None),
            None => (None, Some(name.clone()), None),
        },
        (None, _) => (None, None, None),
    };
    RemoteContact {
        basis_evidence: Some(format!("Stripe customer {}", customer.id)),
        external_id: customer.id,
        deleted: customer.deleted,
        origin: ContactOrigin::BillingClient,
        organization,
        given_name,
        family_name,
        organization_name,
        emails: customer.email.into_iter().collect(),
        pecs: Vec::new(),
        phones: customer.phone.into_iter().collect(),
        codice_fiscale: customer.metadata.get("codice_fiscale").cloned(),
        partita_iva,
        basis_arose_at: timestamp(customer.created),
    }
}

impl Connector for StripeConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pull_contacts: true,
            pull_billing: true,
            push_time_entries: true,
            ..Capabilities::default()
        }
    }

    fn pull_contacts<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(async move {
            let after = Self::listing_position(cursor)?;
            let page: List<Customer> = self.list("/v1/customers", after, &[]).await?;
            let last = page.data.last().map(|c| c.id.clone());
            let records = page.data.into_iter().map(to_contact).collect();
            Ok(next_page(records, page.has_more, last))
        })
    }

    fn pull_invoices<'a>(
        &'a self,
        cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteInvoice>, ConnectorError>> {
        Box::pin(self.list_invoices(cursor))
    }

    fn push_invoice_item<'a>(
        &'a self,
        item: &'a OutboundInvoiceItem,
    ) -> BoxFuture<'a, Result<RemoteInvoiceItem, ConnectorError>> {
        Box::pin(self.create_invoice_item(item))
    }

    fn find_invoice_item<'a>(
        &'a self,
        customer: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<RemoteInvoiceItem>, ConnectorError>> {
        Box::pin(StripeConnector::find_invoice_item(self, customer, key))
    }

    fn invoice_item<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<RemoteInvoiceItem, ConnectorError>> {
        Box::pin(StripeConnector::invoice_item(self, id))
    }

    fn create_invoice<'a>(
        &'a self,
        customer: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<RemoteInvoice, ConnectorError>> {
        Box::pin(StripeConnector::create_invoice(self, customer, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(json: serde_json::Value) -> Customer {
        serde_json::from_value(json).expect("customer")
    }

    #[test]
    fn a_customer_with_a_partita_iva_is_an_organisation() {
        let contact = to_contact(customer(serde_json::json!({
            "id": "cus_1", "name": "Alfa S.r.l.", "email": "amministrazione@alfa.example",
            "metadata": {}, "created": 1_700_000_000,
            "tax_ids": {"data": [{"type": "eu_vat", "value": "IT12345678903"}], "has_more": false}
        })));
        assert!(contact.organization);
        assert_eq!(contact.organization_name.as_deref(), Some("Alfa S.r.l."));
        assert_eq!(contact.partita_iva.as_deref(), Some("12345678903"));
        assert_eq!(contact.origin, ContactOrigin::BillingClient);
        assert_eq!(contact.emails, ["amministrazione@alfa.example"]);
    }

    #[test]
    fn a_customer_without_one_is_a_person() {
        let contact = to_contact(customer(serde_json::json!({
            "id": "cus_2", "name": "Maria Grazia Bianchi", "email": null,
            "metadata": {"codice_fiscale": "BNCMGR80A41F205X"}
        })));
        assert!(!contact.organization);
        assert_eq!(contact.given_name.as_deref(), Some("Maria Grazia"));
        assert_eq!(contact.family_name.as_deref(), Some("Bianchi"));
        assert_eq!(contact.codice_fiscale.as_deref(), Some("BNCMGR80A41F205X"));
        assert!(contact.emails.is_empty());
    }

    #[test]
    fn a_finished_listing_asks_for_a_new_one() {
        assert!(matches!(
            StripeConnector::listing_position(Some(&Cursor(LISTED.into()))),
            Err(ConnectorError::InvalidCursor)
        ));
        let page = next_page(vec![1], true, Some("cus_9".into()));
        assert_eq!((page.cursor.0.as_str(), page.more), ("cus_9", true));
        let page = next_page(vec![1], false, Some("cus_9".into()));
        assert_eq!((page.cursor.0.as_str(), page.more), (LISTED, false));
    }
}
