//! The normalised records connectors exchange with the sync engine, whatever the provider.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Why the provider knows a contact: the provenance rules choose the legal basis from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactOrigin {
    /// A party the firm invoices (billing systems).
    BillingClient,
    /// Someone who corresponds about a known matter.
    MatterCorrespondent,
    /// Someone who wrote or called without a known matter.
    #[default]
    UnknownCorrespondent,
    /// An entry of an address book.
    AddressBook,
}

impl ContactOrigin {
    pub const ALL: [ContactOrigin; 4] = [
        ContactOrigin::BillingClient,
        ContactOrigin::MatterCorrespondent,
        ContactOrigin::UnknownCorrespondent,
        ContactOrigin::AddressBook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactOrigin::BillingClient => "billing_client",
            ContactOrigin::MatterCorrespondent => "matter_correspondent",
            ContactOrigin::UnknownCorrespondent => "unknown_correspondent",
            ContactOrigin::AddressBook => "address_book",
        }
    }

    pub fn parse(text: &str) -> Option<ContactOrigin> {
        ContactOrigin::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// A person or organisation as the provider knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteContact {
    /// The provider's stable identifier, the key of idempotent upserts.
    pub external_id: String,
    /// The provider deleted the record.
    pub deleted: bool,
    pub origin: ContactOrigin,
    /// An organisation rather than a person.
    pub organization: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub organization_name: Option<String>,
    pub emails: Vec<String>,
    pub pecs: Vec<String>,
    pub phones: Vec<String>,
    pub codice_fiscale: Option<String>,
    pub partita_iva: Option<String>,
    /// When the basis for processing arose at the source (a client's contract date, the
    /// date of the mail a correspondent wrote): the imported ground's retention clock starts
    /// then. Unknown: the import time.
    pub basis_arose_at: Option<DateTime<Utc>>,
    /// What shows that date, e.g. "contract 2019/044"; the import names the record when left
    /// out.
    pub basis_evidence: Option<String>,
}

/// A mail (or PEC message) as the provider holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteCommunication {
    /// Where the message lies at the provider (e.g. folder, UIDVALIDITY and UID): the key
    /// of deletions and of the full-resync reconciliation.
    pub external_id: String,
    /// The provider no longer holds the message at `external_id`.
    pub deleted: bool,
    /// The Message-ID without angle brackets: the natural key across folders and resyncs.
    pub message_id: Option<String>,
    pub channel: RemoteChannel,
    pub occurred_at: DateTime<Utc>,
    pub subject: Option<String>,
    pub from: Vec<MailAddress>,
    /// To, Cc and Bcc.
    pub recipients: Vec<MailAddress>,
    /// The plain-text body (or the HTML one stripped of its tags).
    pub body: Option<String>,
    pub attachments: Vec<RemoteAttachment>,
    /// Sent by a mailing list (`List-Id`) or another automated sender (`Auto-Submitted`,
    /// `Precedence: bulk`): its senders never become contacts.
    pub automated: bool,
}

impl Default for RemoteCommunication {
    fn default() -> Self {
        RemoteCommunication {
            external_id: String::new(),
            deleted: false,
            message_id: None,
            channel: RemoteChannel::Email,
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            subject: None,
            from: Vec::new(),
            recipients: Vec::new(),
            body: None,
            attachments: Vec::new(),
            automated: false,
        }
    }
}

/// How a message travelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteChannel {
    #[default]
    Email,
    /// Posta elettronica certificata: a certified message or one of its receipts.
    Pec,
    /// A calendar event: the organiser is the sender, the attendees the recipients.
    Meeting,
}

/// An address with its display name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAddress {
    pub address: String,
    pub name: Option<String>,
}

/// What is kept of an attachment: never its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteAttachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the decoded content.
    pub sha256: String,
}

/// A calendar event as one resource of the provider (a recurring event is one resource with
/// many occurrences).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteEvent {
    /// The provider's stable identifier of the resource (a CalDAV href).
    pub external_id: String,
    /// The provider deleted the resource: every occurrence is gone.
    pub deleted: bool,
    /// The occurrences inside the synced window; an update replaces all of them.
    pub occurrences: Vec<EventOccurrence>,
}

/// One occurrence of an event, recurrences already expanded by the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOccurrence {
    /// Stable across syncs: the event's UID and, for a recurrence, its original start.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The organiser: address lower-case without `mailto:`, name from its `CN`.
    pub organizer: Option<MailAddress>,
    /// The attendees: addresses lower-case without `mailto:`, names from their `CN`.
    pub attendees: Vec<MailAddress>,
}

/// A matter of a case-file or practice-management system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteMatter {
    pub external_id: String,
    /// The provider deleted the matter.
    pub deleted: bool,
    /// The matter's number (Clio's `display_number`): the key that matches it to lexgate's
    /// matter of that reference.
    pub reference: String,
    pub title: String,
    /// The client, by the provider's id of the contact (a record of `pull_contacts`).
    pub client_external_id: Option<String>,
    pub status: Option<RemoteMatterStatus>,
    pub practice_area: Option<String>,
    /// The responsible lawyer's login email, lower-case: matched to a lexgate user.
    pub responsible_email: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

/// Where a matter stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteMatterStatus {
    Pending,
    Open,
    Closed,
}

/// A dated entry of a matter's calendar at a practice-management system (a hearing, a
/// filing date): lexgate keeps it as a deadline of the matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteDeadline {
    pub external_id: String,
    /// The provider deleted the entry.
    pub deleted: bool,
    /// The matter, by the provider's id (a record of `pull_matters`): it stays right when the
    /// matter's number changes.
    pub matter_external_id: Option<String>,
    /// The matter, by its reference.
    pub matter_reference: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub due_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub all_day: bool,
}

/// Time recorded at a practice-management system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteTimeEntry {
    pub external_id: String,
    /// The provider deleted the entry.
    pub deleted: bool,
    /// The matter, by the provider's id (a record of `pull_matters`).
    pub matter_external_id: Option<String>,
    /// The matter, by its reference.
    pub matter_reference: Option<String>,
    pub worked_on: NaiveDate,
    pub minutes: i32,
    pub description: String,
    /// The timekeeper's login email, lower-case.
    pub timekeeper_email: Option<String>,
    /// The time is not charged to the client.
    pub non_billable: bool,
    /// The hourly rate, in cents of the provider's currency.
    pub rate_cents: Option<i64>,
}

/// A document of a matter's case file as a document store holds it: metadata only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteDocument {
    /// Where the document lies now (a WebDAV path): the key of updates and deletions.
    pub external_id: String,
    /// The store no longer holds the document at `external_id`.
    pub deleted: bool,
    /// The document was moved here from this `external_id`.
    pub moved_from: Option<String>,
    /// The matter whose folder holds it, by its reference.
    pub matter_reference: Option<String>,
    /// The file name.
    pub title: String,
    /// The sub-folder of the matter folder it lies in, relative to the matter folder
    /// (`Atti/Primo grado`); `None` directly in the matter folder.
    pub folder: Option<String>,
    pub content_type: Option<String>,
    /// The store's version (an ETag without `W/` and quotes).
    pub etag: Option<String>,
    pub size: Option<u64>,
    /// Lower-case hex SHA-256 of the content, when the store tells.
    pub sha256: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
}

/// A matter a document store should have a folder for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterFolder {
    pub reference: String,
    pub title: String,
}

/// An invoice of a billing system, with the paid state of its payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteInvoice {
    pub external_id: String,
    /// The provider's id of the billed party: a contact its contacts stream imports.
    pub customer_external_id: String,
    /// The number as the provider prints it (none for a draft).
    pub number: Option<String>,
    /// The provider's word for where it stands (Stripe: `draft`, `open`, `paid`,
    /// `uncollectible`, `void`).
    pub status: String,
    /// ISO 4217, lower-case (`eur`).
    pub currency: String,
    pub total_cents: i64,
    pub amount_paid_cents: i64,
    pub issued_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// A deadline or hearing lexgate sends to a calendar or case-file system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundDeadline {
    /// lexgate's id: the remote event's UID derives from it, so it never changes.
    pub id: String,
    /// "court_deadline", "hearing", "filing" or "internal_task".
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub due_at: DateTime<Utc>,
    pub matter_reference: Option<String>,
    /// What the last push of this deadline left at the provider, if any.
    pub previous: Option<PushedEvent>,
}

/// What a push left at the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedEvent {
    /// The provider's id of the event (a CalDAV href).
    pub external_id: String,
    /// The provider's version of it (an ETag), for conditional updates.
    pub version: Option<String>,
    /// A digest of what lexgate sent, to know when there is nothing new to send.
    pub digest: String,
}

/// What became of a pushed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    Created,
    Updated,
    /// The provider already had exactly this.
    Unchanged,
    /// Someone changed the event at the provider: lexgate's version was not written over it.
    Conflict,
}

/// What became of an event lexgate asked the provider to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveOutcome {
    /// Removed, or already gone.
    Removed,
    /// Edited at the provider since lexgate's version (one lexgate has not seen): kept.
    Kept,
}

/// The result of pushing a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePush {
    pub outcome: PushOutcome,
    /// What is at the provider now. For a conflict: the provider's version (ETag) with the
    /// digest of what lexgate wanted to send, so the same deadline is not sent again until it
    /// changes in lexgate, and then only conditionally on the version seen.
    pub pushed: PushedEvent,
}

/// One invoice item lexgate sends to a billing system (a time entry's amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundInvoiceItem {
    /// The provider's id of the billed party.
    pub customer: String,
    pub amount_cents: i64,
    /// ISO 4217, lower-case (`eur`).
    pub currency: String,
    pub description: String,
    /// The push's own key, recorded before the call: sent as the `Idempotency-Key` and kept
    /// on the item, so an item whose creation was never recorded can be found again.
    pub key: String,
}

/// An invoice item as the billing system holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RemoteInvoiceItem {
    pub id: String,
    pub customer: String,
    pub amount: i64,
    /// The invoice that took the item; none while it is pending.
    pub invoice: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Time worked that lexgate sends to a practice-management system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundTimeEntry {
    pub id: String,
    pub matter_reference: String,
    pub minutes: i32,
    pub description: String,
    /// The day worked; the provider's today when unknown.
    #[serde(default)]
    pub worked_on: Option<NaiveDate>,
}

/// A contact lexgate sends to a remote address book (personal data: the engine records the
/// recipient for the data subject's access request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundContact {
    pub id: String,
    /// The provider's id when the contact was linked or pushed before.
    pub external_id: Option<String>,
    pub display_name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
}

impl OutboundContact {
    /// The names of the personal fields this push discloses, for the recipients register.
    pub fn disclosed_fields(&self) -> Vec<&'static str> {
        let mut fields = vec!["displayName"];
        if !self.emails.is_empty() {
            fields.push("emails");
        }
        if !self.phones.is_empty() {
            fields.push("phones");
        }
        fields
    }
}
