//! Row-level need-to-know in the resolvers, over the sets `access_policy::visibility` works
//! out: lists leave out what the caller may not see, a lookup by ID finds nothing, and a
//! reference from a row they can see to one they cannot answers `null` with `FORBIDDEN`.

use async_graphql::{Context, ID};

use crate::access_policy::Visibility;
use crate::error::{Error, GraphqlResult};
use crate::graphql::campaigns::Campaign;
use crate::graphql::communications::Communication;
use crate::graphql::contacts::Contact;
use crate::graphql::context::loader;
use crate::graphql::deadlines::Deadline;
use crate::graphql::directory::{Team, User};
use crate::graphql::documents::Document;
use crate::graphql::field_guard::{access, forbid};
use crate::graphql::loaders::{CommunicationById, DocumentById, TimeEntryById};
use crate::graphql::matters::Matter;
use crate::graphql::subject_rights::SubjectRequest;
use crate::ids::{self, NodeType};

/// A GraphQL object whose row a caller may or may not see.
pub trait Row {
    fn visible(&self, visibility: &Visibility) -> bool;
}

impl Row for Contact {
    fn visible(&self, visibility: &Visibility) -> bool {
        visibility.contact(&self.0.id)
    }
}

impl Row for Matter {
    fn visible(&self, visibility: &Visibility) -> bool {
        visibility.matter(&self.0.id)
    }
}

impl Row for Communication {
    fn visible(&self, visibility: &Visibility) -> bool {
        visibility.communication(
            self.0.matter_id.as_deref(),
            self.0.author_user_id.as_deref(),
        )
    }
}

/// A document is visible with its matter.
impl Row for Document {
    fn visible(&self, visibility: &Visibility) -> bool {
        visibility.matter(&self.0.matter_id)
    }
}

impl Row for Deadline {
    fn visible(&self, visibility: &Visibility) -> bool {
        visibility.deadline(&self.0.id)
    }
}

/// The firm's directory and its campaigns are not need-to-know by row.
macro_rules! firm_wide {
    ($($ty:ty),*) => {$(
        impl Row for $ty {
            fn visible(&self, _: &Visibility) -> bool {
                true
            }
        }
    )*};
}

firm_wide!(User, Team, Campaign, SubjectRequest);

pub async fn visibility(ctx: &Context<'_>) -> async_graphql::Result<std::sync::Arc<Visibility>> {
    access(ctx).visibility().await.gql()
}

/// Keeps the rows the caller may see.
pub async fn visible_only<N: Row>(
    ctx: &Context<'_>,
    rows: Vec<N>,
) -> async_graphql::Result<Vec<N>> {
    let visibility = visibility(ctx).await?;
    if visibility.is_firm_wide() {
        return Ok(rows);
    }
    Ok(rows
        .into_iter()
        .filter(|r| r.visible(&visibility))
        .collect())
}

/// A row looked up by ID: one the caller may not see is not there for them.
pub async fn lookup<N: Row>(ctx: &Context<'_>, row: Option<N>) -> async_graphql::Result<Option<N>> {
    let visibility = visibility(ctx).await?;
    Ok(row.filter(|r| r.visible(&visibility)))
}

/// A row another row refers to: if the caller may not see it, the field answers `null` with
/// a `FORBIDDEN` error, so that they know something is withheld.
pub async fn reference<N: Row>(
    ctx: &Context<'_>,
    row: Option<N>,
) -> async_graphql::Result<Option<N>> {
    let visibility = visibility(ctx).await?;
    Ok(match row {
        Some(r) if !r.visible(&visibility) => {
            forbid(ctx, "this record belongs to matters you are not on")
        }
        other => other,
    })
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
    let visibility = visibility(ctx).await?;
    let visible = match node_type {
        NodeType::Contact => visibility.contact(&key),
        NodeType::Matter => visibility.matter(&key),
        NodeType::Deadline => visibility.deadline(&key),
        NodeType::Document => {
            let row = loader(ctx).load_one(DocumentById(key.clone())).await?;
            row.is_none_or(|r| visibility.matter(&r.matter_id))
        }
        NodeType::Communication => {
            let row = loader(ctx).load_one(CommunicationById(key.clone())).await?;
            row.is_none_or(|r| {
                visibility.communication(r.matter_id.as_deref(), r.author_user_id.as_deref())
            })
        }
        // Firm-wide records: the policy alone decides who reaches them.
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
        | NodeType::InvoicePayment => true,
        NodeType::TimeEntry => {
            let row = loader(ctx).load_one(TimeEntryById(key.clone())).await?;
            row.is_none_or(|r| {
                visibility.matter(&r.matter_id)
                    || (r.user_id.is_some() && r.user_id == visibility.author())
            })
        }
        NodeType::Invoice => crate::graphql::billing::invoice_visible(ctx, &key).await?,
    };
    if visible {
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
