//! Connectors sync lexgate with a firm's email, calendar, billing and case-file systems.
//!
//! Every connector implements [`Connector`]. A connector only talks to its remote system and
//! returns normalised records with an opaque cursor; it never touches lexgate's database.
//! The sync engine in the server applies provenance and GDPR rules to what it returns.
//!
//! Kinds: [`json_feed`] (lexgate's normalised records over OAuth 2), [`imap`] (a firm
//! mailbox), [`graph_mail`] (a Microsoft 365 mailbox through Microsoft Graph), [`gmail`] (a
//! Google mailbox through the Gmail API), [`caldav`] (a calendar), [`google_calendar`] (a
//! Google calendar through the Calendar API), [`graph_calendar`] (a Microsoft 365 calendar
//! through Graph `calendarView/delta`, pull only), [`webdav`]
//! (a document store, one folder per matter), [`stripe`] (a Stripe account: customers,
//! invoices, time pushed as invoice items) and [`clio`] (a Clio Manage account: contacts,
//! matters, calendar entries and time; deadlines and time pushed).
//!
//! The shared pieces: [`http`] (timeouts, retries with backoff and jitter, `Retry-After`, a
//! rate limiter, tracing without secrets), [`oauth`] (authorization code with PKCE, refresh
//! ahead of expiry, one refresh in flight), [`secrets`] (AEAD for tokens at rest) and
//! [`webhook`] (HMAC signatures of inbound events).

pub mod caldav;
pub mod clio;
mod dav;
#[cfg(feature = "testing")]
pub mod dav_servers;
#[cfg(feature = "testing")]
pub mod dovecot;
pub mod gmail;
pub mod google_calendar;
pub mod graph_calendar;
pub mod graph_mail;
pub mod http;
pub mod imap;
pub mod json_feed;
#[cfg(feature = "testing")]
pub mod localstripe;
pub mod oauth;
pub mod records;
pub mod secrets;
pub mod stripe;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webdav;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use records::*;

/// A boxed future, so connectors of different kinds sit behind one `dyn Connector`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a remote system failed to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("this connector cannot {0}")]
    Unsupported(&'static str),
    #[error("the provider refused the cursor; a full resync is needed")]
    InvalidCursor,
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the provider refused our credentials: {0}")]
    Unauthorized(String),
    #[error("the provider answered something we cannot read: {0}")]
    Protocol(String),
    #[error("the provider refused the record: {0}")]
    Rejected(String),
    /// The provider asked us to slow down (HTTP 429, 503 or Google's 403
    /// `rateLimitExceeded` on every attempt the policy allows, or with a `Retry-After` longer
    /// than the policy waits for; IMAP `NO [LIMIT]`, `[UNAVAILABLE]`, too many connections, or a
    /// `BYE` on overload) and the connector's own retries did not get through. Nothing is
    /// wrong with the instance (not a refused credential): the run stops, keeping every page
    /// it committed, and a later run continues from there.
    #[error("the provider is throttling us: {message}")]
    Throttled {
        message: String,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<std::time::Duration>,
    },
}

impl From<http::HttpError> for ConnectorError {
    fn from(error: http::HttpError) -> Self {
        match error {
            http::HttpError::Status { status, .. } if status == 404 || status == 410 => {
                ConnectorError::InvalidCursor
            }
            http::HttpError::Status { status, .. } if status == 401 || status == 403 => {
                ConnectorError::Unauthorized(format!("status {status}"))
            }
            http::HttpError::Status { status, .. } if (400..500).contains(&status) => {
                ConnectorError::Rejected(format!("status {status}"))
            }
            http::HttpError::Auth(e) => ConnectorError::Unauthorized(e.to_string()),
            http::HttpError::RetryAfterTooLong { target, wait } => ConnectorError::Throttled {
                message: format!("{target} asked to wait {}s", wait.as_secs()),
                retry_after: Some(wait),
            },
            http::HttpError::Throttled {
                target,
                attempts,
                retry_after,
            } => ConnectorError::Throttled {
                message: format!(
                    "{target} answered every one of {attempts} attempts with a throttle"
                ),
                retry_after,
            },
            other => ConnectorError::Unavailable(other.to_string()),
        }
    }
}

/// An opaque position in a provider's change stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// One page of records and the cursor just after it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub records: Vec<T>,
    /// Where the next pull starts; stored with the page so a crash neither loses nor repeats.
    pub cursor: Cursor,
    /// Whether the provider has more changes right now.
    pub more: bool,
}

/// What a connector can do; the engine only calls what is offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub pull_contacts: bool,
    pub pull_communications: bool,
    pub pull_events: bool,
    pub pull_matters: bool,
    pub pull_billing: bool,
    pub push_deadlines: bool,
    pub push_time_entries: bool,
    pub push_contacts: bool,
    /// Documents of matters' case files (metadata).
    pub pull_documents: bool,
    /// Makes a folder per matter in a document store.
    pub make_matter_folders: bool,
    /// Dated entries of matters' calendars (hearings, filings) kept as deadlines.
    pub pull_deadlines: bool,
    /// Time recorded at the provider.
    pub pull_time_entries: bool,
}

/// A webhook registered at a provider: lexgate's subscription to one model's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWebhook {
    /// The provider's id of the webhook.
    pub id: String,
    /// The provider's status, e.g. `pending` until the handshake and `enabled` after.
    pub status: String,
    /// When the provider stops delivering unless the webhook is renewed.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A connection to one remote system. Every capability has a default that refuses, so a
/// connector implements only what its system offers (and says so in [`Capabilities`]).
pub trait Connector: Send + Sync {
    /// The connector's kind, e.g. "json_feed".
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Contacts changed since `cursor` (all of them when `None`).
    fn pull_contacts<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull contacts")) })
    }

    /// Mail and calls since `cursor`.
    fn pull_communications<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteCommunication>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull communications")) })
    }

    /// Calendar events since `cursor`.
    fn pull_events<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteEvent>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull calendar events")) })
    }

    /// Matters (case files) since `cursor`.
    fn pull_matters<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteMatter>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull matters")) })
    }

    /// Matters' dated calendar entries (hearings, filings) since `cursor`.
    fn pull_deadlines<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteDeadline>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull deadlines")) })
    }

    /// Time entries since `cursor`.
    fn pull_time_entries<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteTimeEntry>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull time entries")) })
    }

    /// Documents of matters' case files changed, moved or deleted since `cursor`.
    fn pull_documents<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteDocument>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull documents")) })
    }

    /// Makes the folders of `matters` the store lacks; answers how many it made.
    fn ensure_matter_folders<'a>(
        &'a self,
        _matters: &'a [MatterFolder],
    ) -> BoxFuture<'a, Result<usize, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("make matter folders")) })
    }

    /// Makes the folder of one matter (whether or not the store has it already) and sets its
    /// matter reference: idempotent, so a retry after a partial failure completes it.
    fn make_matter_folder<'a>(
        &'a self,
        _matter: &'a MatterFolder,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("make a matter folder")) })
    }

    /// Invoices (with their paid state) since `cursor`.
    fn pull_invoices<'a>(
        &'a self,
        _cursor: Option<&'a Cursor>,
    ) -> BoxFuture<'a, Result<Page<RemoteInvoice>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("pull invoices")) })
    }

    /// Creates or updates a deadline remotely, never overwriting a change made there.
    fn push_deadline<'a>(
        &'a self,
        _deadline: &'a OutboundDeadline,
    ) -> BoxFuture<'a, Result<DeadlinePush, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("push deadlines")) })
    }

    /// Removes an event an earlier push left (its deadline was completed, cancelled or
    /// deleted), never one edited at the provider since `pushed.version`.
    fn remove_deadline<'a>(
        &'a self,
        _pushed: &'a PushedEvent,
    ) -> BoxFuture<'a, Result<RemoveOutcome, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("remove deadlines")) })
    }

    /// Creates an invoice item (a time entry's amount) for a customer, sending `item.key` as
    /// the `Idempotency-Key` and keeping it on the item.
    fn push_invoice_item<'a>(
        &'a self,
        _item: &'a OutboundInvoiceItem,
    ) -> BoxFuture<'a, Result<RemoteInvoiceItem, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("push invoice items")) })
    }

    /// The customer's pending invoice item carrying `key`: what a push whose outcome was never
    /// recorded left behind.
    fn find_invoice_item<'a>(
        &'a self,
        _customer: &'a str,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<Option<RemoteInvoiceItem>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("find invoice items")) })
    }

    /// One invoice item by its id (whether an invoice took it).
    fn invoice_item<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFuture<'a, Result<RemoteInvoiceItem, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("read invoice items")) })
    }

    /// Creates an invoice of the customer's pending invoice items, with `key` as its
    /// `Idempotency-Key`.
    fn create_invoice<'a>(
        &'a self,
        _customer: &'a str,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<RemoteInvoice, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("create invoices")) })
    }

    /// Records a time entry at a practice-management system with lexgate's id as its
    /// reference; returns the provider's id for it.
    fn push_time_entry<'a>(
        &'a self,
        _entry: &'a OutboundTimeEntry,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("push time entries")) })
    }

    /// Creates or updates a contact remotely; returns the provider's id for it.
    fn push_contact<'a>(
        &'a self,
        _contact: &'a OutboundContact,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("push contacts")) })
    }

    /// The models the provider can announce changes of by webhook (one webhook each); none
    /// when it has no webhooks.
    fn webhook_models(&self) -> &'static [&'static str] {
        &[]
    }

    /// Registers a webhook announcing created, updated and deleted records of `model` to
    /// `url`, until `expires_at`.
    fn create_webhook<'a>(
        &'a self,
        _url: &'a str,
        _model: &'a str,
        _expires_at: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<RemoteWebhook, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("register webhooks")) })
    }

    /// Moves a webhook's expiry to `expires_at`.
    fn renew_webhook<'a>(
        &'a self,
        _id: &'a str,
        _expires_at: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<RemoteWebhook, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("renew webhooks")) })
    }

    /// Deletes a webhook (one the provider no longer has counts as deleted).
    fn delete_webhook<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("delete webhooks")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider with two contacts, delivered one per page.
    struct TwoPages;

    impl Connector for TwoPages {
        fn kind(&self) -> &'static str {
            "two-pages"
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities {
                pull_contacts: true,
                ..Capabilities::default()
            }
        }

        fn pull_contacts<'a>(
            &'a self,
            cursor: Option<&'a Cursor>,
        ) -> BoxFuture<'a, Result<Page<RemoteContact>, ConnectorError>> {
            Box::pin(async move {
                let index = match cursor.map(|c| c.0.as_str()) {
                    None => 0,
                    Some("1") => 1,
                    Some(_) => return Err(ConnectorError::InvalidCursor),
                };
                let contact = RemoteContact {
                    external_id: format!("ext-{index}"),
                    family_name: Some(format!("Contact {index}")),
                    ..RemoteContact::default()
                };
                Ok(Page {
                    records: vec![contact],
                    cursor: Cursor((index + 1).to_string()),
                    more: index == 0,
                })
            })
        }
    }

    #[tokio::test]
    async fn a_pull_follows_cursors_to_the_end() {
        let connector = TwoPages;
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = connector
                .pull_contacts(cursor.as_ref())
                .await
                .expect("page");
            seen.extend(page.records.into_iter().map(|r| r.external_id));
            cursor = Some(page.cursor);
            if !page.more {
                break;
            }
        }
        assert_eq!(seen, ["ext-0", "ext-1"]);
        assert!(matches!(
            connector.pull_contacts(Some(&Cursor("bogus".into()))).await,
            Err(ConnectorError::InvalidCursor)
        ));
    }

    #[tokio::test]
    async fn capabilities_not_offered_are_refused() {
        let connector = TwoPages;
        assert!(!connector.capabilities().push_contacts);
        let outbound = OutboundContact::default();
        assert!(matches!(
            connector.push_contact(&outbound).await,
            Err(ConnectorError::Unsupported("push contacts"))
        ));
        assert!(matches!(
            connector.pull_events(None).await,
            Err(ConnectorError::Unsupported(_))
        ));
    }
}
