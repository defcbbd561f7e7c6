//! `node(id:)` and `nodes(ids:)`: the Node interface, and fetching any object by its global
//! ID with the same field policy and row-level need-to-know as the object's own lists.

use async_graphql::{Context, Interface, Object, ID};

use super::context::{self, read};
use super::loaders::*;
use super::{
    billing, campaigns, communications, contacts, deadlines, directory, documents, field_guard,
    gdpr, matters, registers, reports, subject_rights, visibility,
};
use crate::error::{Error, GraphqlResult};
use crate::ids::{self, NodeType};

/// Anything with a global ID that `node(id:)` can fetch.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The object's global ID, opaque and stable."
))]
pub enum Node {
    Contact(contacts::Contact),
    Matter(matters::Matter),
    Communication(communications::Communication),
    Deadline(deadlines::Deadline),
    User(directory::User),
    Team(directory::Team),
    Campaign(campaigns::Campaign),
    ProcessingActivity(registers::ProcessingActivity),
    Breach(registers::Breach),
    Assessment(gdpr::Assessment),
    SubjectRequest(subject_rights::SubjectRequest),
    Document(documents::Document),
    TimeEntry(billing::TimeEntry),
    Invoice(billing::Invoice),
}

async fn load_node(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let Some((node_type, key)) = ids::parse(id) else {
        return Err(Error::invalid(
            "id",
            format!("`{}` is not a valid ID", id.as_str()),
        ))
        .gql();
    };
    // A type the caller's role may not read at all is refused outright; the policy entry
    // for its `id` says who may.
    if !field_guard::access(ctx)
        .grant
        .allows(node_type.name(), "id")
    {
        return Ok(field_guard::forbid(
            ctx,
            &format!("your role may not read {} records", node_type.name()),
        ));
    }
    let loader = context::loader(ctx);
    Ok(match node_type {
        NodeType::Contact => {
            let row = loader
                .load_one(ContactById(key))
                .await?
                .map(contacts::Contact::from);
            visibility::lookup(ctx, row).await?.map(Node::Contact)
        }
        NodeType::Matter => {
            let row = loader.load_one(MatterById(key)).await?.map(matters::Matter);
            visibility::lookup(ctx, row).await?.map(Node::Matter)
        }
        NodeType::Communication => {
            let row = loader
                .load_one(CommunicationById(key))
                .await?
                .map(communications::Communication);
            visibility::lookup(ctx, row).await?.map(Node::Communication)
        }
        NodeType::Deadline => {
            let row = loader
                .load_one(DeadlineById(key))
                .await?
                .map(deadlines::Deadline);
            visibility::lookup(ctx, row).await?.map(Node::Deadline)
        }
        NodeType::Document => {
            let row = loader
                .load_one(DocumentById(key))
                .await?
                .map(documents::Document);
            visibility::lookup(ctx, row).await?.map(Node::Document)
        }
        NodeType::User => loader
            .load_one(UserById(key))
            .await?
            .map(|r| Node::User(r.into())),
        NodeType::Team => loader
            .load_one(TeamById(key))
            .await?
            .map(|r| Node::Team(r.into())),
        NodeType::Campaign => loader
            .load_one(CampaignById(key))
            .await?
            .map(|r| Node::Campaign(r.into())),
        NodeType::Assessment => loader
            .load_one(AssessmentById(key))
            .await?
            .map(|r| Node::Assessment(r.into())),
        NodeType::SubjectRequest => read(ctx, move |c| {
            crate::gdpr::requests::get(c, &key)
                .map(Some)
                .or_else(|e| match e {
                    Error::NotFound { .. } => Ok(None),
                    other => Err(other),
                })
        })
        .await?
        .map(|r| Node::SubjectRequest(r.into())),
        NodeType::ApiKey
        | NodeType::LegalHold
        | NodeType::RetentionPolicy
        | NodeType::ProcessingGround
        | NodeType::Consent
        | NodeType::Objection
        | NodeType::ConnectorInstance
        | NodeType::SyncRun
        | NodeType::SyncReviewItem
        | NodeType::CalendarFeed
        | NodeType::InvoicePayment => None,
        NodeType::TimeEntry => {
            let row = loader
                .load_one(TimeEntryById(key))
                .await?
                .map(billing::TimeEntry);
            visibility::lookup(ctx, row).await?.map(Node::TimeEntry)
        }
        NodeType::Invoice => {
            let row = loader.load_one(InvoiceById(key.clone())).await?;
            match row {
                Some(row) if billing::invoice_visible(ctx, &key).await? => {
                    Some(Node::Invoice(billing::Invoice(row)))
                }
                _ => None,
            }
        }
        NodeType::ProcessingActivity => {
            let found = context::read(ctx, move |c| {
                crate::gdpr::registers::activities::get_many(c, &[key])
            })
            .await?;
            found
                .into_values()
                .next()
                .map(|a| Node::ProcessingActivity(registers::ProcessingActivity(a)))
        }
        NodeType::Breach => {
            let found = context::read(ctx, move |c| {
                crate::gdpr::registers::breaches::get_many(c, &[key])
            })
            .await?;
            found
                .into_values()
                .next()
                .map(|b| Node::Breach(registers::Breach(b)))
        }
    })
}

/// At most this many IDs in one `nodes` call.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQueries;

#[Object]
impl NodeQueries {
    /// Fetches any object by its global ID.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID, as any object's `id` field gives it.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        load_node(ctx, &id).await
    }

    /// Fetches several objects by global ID, in the order given (null where none exists).
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global IDs, at most 100.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(Error::invalid(
                "ids",
                format!("ask for at most {MAX_NODES} IDs at once"),
            ))
            .gql();
        }
        let lookups = ids.iter().map(|id| load_node(ctx, id));
        futures_util::future::try_join_all(lookups).await
    }

    /// Aggregate figures on matters, deadlines, communications and contacts.
    async fn reports(&self) -> Option<reports::Reports> {
        Some(reports::Reports)
    }
}
