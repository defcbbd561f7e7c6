//! Row-level need-to-know in the resolvers, over the caller's [`Scope`]: lists leave out what
//! the caller may not see (the scope's SQL predicate is part of the page query), a lookup by
//! ID finds nothing, and a reference from a row they can see to one they cannot answers
//! `null` with `FORBIDDEN`. A relation through a link table reads whether the caller may see
//! each of its rows in its own statement (see `loaders::PartiesOfMatter` and its kind); other
//! single rows are checked through the `Visible` DataLoader: one
//! `SELECT id … WHERE id IN (…) AND <predicate>` per kind and level of the query, never a
//! set of IDs loaded up front.

use async_graphql::{Context, ID};

use crate::access_policy::{RowKind, Scope};
use crate::error::{Error, GraphqlResult};
use crate::graphql::campaigns::Campaign;
use crate::graphql::communications::Communication;
use crate::graphql::contacts::Contact;
use crate::graphql::context::loader;
use crate::graphql::deadlines::Deadline;
use crate::graphql::directory::{Team, User};
use crate::graphql::documents::Document;
use crate::graphql::field_guard::{access, forbid};
use crate::graphql::loaders::{
    CommunicationById, DocumentById, ReferencedContact, ReferencedMatter, TimeEntryById, Visible,
};
use crate::graphql::matters::Matter;
use crate::graphql::subject_rights::SubjectRequest;
use crate::ids::{self, NodeType};

/// A GraphQL object whose row a caller may or may not see.
pub trait Row {
    /// The need-to-know kind and key of the row; `None` for a firm-wide record.
    fn row_key(&self) -> Option<(RowKind, &str)>;
}

impl Row for Contact {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::Contact, self.key()))
    }
}

impl Row for Matter {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::Matter, &self.0.id))
    }
}

/// Visible with its matter, or to the user who logged it.
impl Row for Communication {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::Communication, &self.0.id))
    }
}

/// A document is visible with its matter.
impl Row for Document {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::Document, &self.0.id))
    }
}

impl Row for Deadline {
    fn row_key(&self) -> Option<(RowKind, &str)> {
        Some((RowKind::Deadline, &self.0.id))
    }
}

/// The firm's directory and its campaigns are not need-to-know by row.
macro_rules! firm_wide {
    ($($ty:ty),*) => {$(
        impl Row for $ty {
            fn row_key(&self) -> Option<(RowKind, &str)> {
                None
            }
        }
    )*};
}

firm_wide!(User, Team, Campaign, SubjectRequest);

/// What the caller may see of the firm's client work.
pub fn scope<'a>(ctx: &Context<'a>) -> &'a Scope {
    access(ctx).scope()
}

/// Whether the caller may see row `key` of kind `kind` (false when there is none, unless
/// the caller sees everything: then nothing is checked).
pub async fn sees(ctx: &Context<'_>, kind: RowKind, key: &str) -> async_graphql::Result<bool> {
    if scope(ctx).is_unrestricted() {
        return Ok(true);
    }
    Ok(loader(ctx)
        .load_one(Visible(kind, key.to_owned()))
        .await?
        .is_some())
}

async fn visible<N: Row>(ctx: &Context<'_>, row: &N) -> async_graphql::Result<bool> {
    match row.row_key() {
        None => Ok(true),
        Some((kind, key)) => sees(ctx, kind, key).await,
    }
}

/// Keeps the rows the caller may see (one batched check per kind).
pub async fn visible_only<N: Row>(
    ctx: &Context<'_>,
    rows: Vec<N>,
) -> async_graphql::Result<Vec<N>> {
    if scope(ctx).is_unrestricted() {
        return Ok(rows);
    }
    let keys = rows
        .iter()
        .filter_map(|r| r.row_key())
        .map(|(kind, key)| Visible(kind, key.to_owned()));
    let seen = loader(ctx).load_many(keys).await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.row_key()
                .is_none_or(|(kind, key)| seen.contains_key(&Visible(kind, key.to_owned())))
        })
        .collect())
}

/// A row looked up by ID: one the caller may not see is not there for them.
pub async fn lookup<N: Row>(ctx: &Context<'_>, row: Option<N>) -> async_graphql::Result<Option<N>> {
    match row {
        Some(r) if !visible(ctx, &r).await? => Ok(None),
        other => Ok(other),
    }
}

/// Why a reference to a row the caller may not see answers `null`.
pub const WITHHELD: &str = "this record belongs to matters you are not on";

/// The contact `id` another row refers to, read with whether the caller may see it (one
/// statement): if they may not, the field answers `null` with a `FORBIDDEN` error, so that
/// they know something is withheld.
pub async fn referenced_contact(
    ctx: &Context<'_>,
    id: &str,
) -> async_graphql::Result<Option<Contact>> {
    let found = loader(ctx)
        .load_one(ReferencedContact(id.to_owned()))
        .await?;
    Ok(shown_or_withheld(ctx, found, Contact::from))
}

/// The matter `id` another row refers to, as [`referenced_contact`].
pub async fn referenced_matter(
    ctx: &Context<'_>,
    id: &str,
) -> async_graphql::Result<Option<Matter>> {
    let found = loader(ctx)
        .load_one(ReferencedMatter(id.to_owned()))
        .await?;
    Ok(shown_or_withheld(ctx, found, Matter))
}

/// A row read with whether the caller may see it: the row, or `null` with `FORBIDDEN`.
pub fn shown_or_withheld<R, N>(
    ctx: &Context<'_>,
    found: Option<(R, bool)>,
    wrap: fn(R) -> N,
) -> Option<N> {
    match found {
        Some((row, true)) => Some(wrap(row)),
        Some((_, false)) => forbid(ctx, WITHHELD),
        None => None,
    }
}

/// The need-to-know kind of the records of `node_type`; `None` for firm-wide ones, which
/// the policy alone guards.
fn row_kind(node_type: NodeType) -> Option<RowKind> {
    match node_type {
        NodeType::Contact => Some(RowKind::Contact),
        NodeType::Matter => Some(RowKind::Matter),
        NodeType::Deadline => Some(RowKind::Deadline),
        NodeType::Document => Some(RowKind::Document),
        NodeType::Communication => Some(RowKind::Communication),
        NodeType::TimeEntry => Some(RowKind::TimeEntry),
        NodeType::Invoice => Some(RowKind::Invoice),
        NodeType::User
        | NodeType::Team
        | NodeType::Campaign
        | NodeType::ApiKey
        | NodeType::ProcessingActivity
        | NodeType::Breach
        | NodeType::Assessment
        | NodeType::ProcessingGround
        | NodeType::Consent
        | NodeType::Objection
        | NodeType::SubjectRequest
        | NodeType::LegalHold
        | NodeType::RetentionPolicy
        | NodeType::ConnectorInstance
        | NodeType::SyncRun
        | NodeType::SyncReviewItem
        | NodeType::CalendarFeed
        | NodeType::InvoicePayment => None,
    }
}

/// Refuses a change to a row the caller may not see, as if it did not exist.
pub async fn require_visible(
    ctx: &Context<'_>,
    node_type: NodeType,
    id: &ID,
    field: &str,
) -> async_graphql::Result<()> {
    // A malformed ID is the service's to report, together with the rest of the input.
    let Ok(key) = ids::decode(node_type, id, field) else {
        return Ok(());
    };
    let Some(kind) = row_kind(node_type) else {
        return Ok(());
    };
    if sees(ctx, kind, &key).await? {
        return Ok(());
    }
    // A document, communication or time entry that does not exist is the service's to
    // report; a contact, matter, deadline or invoice is simply not found.
    let missing = match kind {
        RowKind::Document => loader(ctx)
            .load_one(DocumentById(key.clone()))
            .await?
            .is_none(),
        RowKind::Communication => loader(ctx)
            .load_one(CommunicationById(key.clone()))
            .await?
            .is_none(),
        RowKind::TimeEntry => loader(ctx)
            .load_one(TimeEntryById(key.clone()))
            .await?
            .is_none(),
        RowKind::Contact | RowKind::Matter | RowKind::Deadline | RowKind::Invoice => false,
    };
    if missing {
        Ok(())
    } else {
        Err(Error::not_found(node_type.name(), key)).gql()
    }
}

/// `require_visible` for every ID of a list a write references, naming `field[i]`: a write
/// must not link the caller's work to a row they cannot see (and so come to see it).
pub async fn require_all_visible(
    ctx: &Context<'_>,
    node_type: NodeType,
    ids: &[ID],
    field: &str,
) -> async_graphql::Result<()> {
    for (i, id) in ids.iter().enumerate() {
        require_visible(ctx, node_type, id, &format!("{field}[{i}]")).await?;
    }
    Ok(())
}

/// `require_visible` for an optional reference.
pub async fn require_visible_opt(
    ctx: &Context<'_>,
    node_type: NodeType,
    id: Option<&ID>,
    field: &str,
) -> async_graphql::Result<()> {
    match id {
        Some(id) => require_visible(ctx, node_type, id, field).await,
        None => Ok(()),
    }
}
