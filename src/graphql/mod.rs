//! The GraphQL API: a thin layer of object types and resolvers over the domain services.

pub mod campaigns;
pub mod communications;
pub mod contacts;
pub mod context;
pub mod deadlines;
pub mod directory;
pub mod loaders;
pub mod matters;
pub mod pagination;
pub mod reports;

use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, InputObject, Interface, MergedObject, Object, Schema, SimpleObject,
    ID,
};

use crate::error::{Error, GraphqlResult};
use crate::ids::{self, NodeType};

pub use context::AppState;
use loaders::*;

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Anything with a global ID that `node(id:)` can fetch.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Contact(contacts::Contact),
    Matter(matters::Matter),
    Communication(communications::Communication),
    Deadline(deadlines::Deadline),
    User(directory::User),
    Team(directory::Team),
    Campaign(campaigns::Campaign),
}

/// Decodes an ID argument of a known type, as a typed BAD_USER_INPUT error.
pub fn decode_id(expected: NodeType, id: &ID) -> async_graphql::Result<String> {
    ids::decode(expected, id, "id").gql()
}

/// Loads rows by key in the order of `keys`, skipping those that no longer exist.
pub async fn load_many<K, R, N>(
    ctx: &Context<'_>,
    keys: Vec<String>,
    key: fn(String) -> K,
    wrap: fn(R) -> N,
) -> async_graphql::Result<Vec<N>>
where
    DbLoader: Loader<K, Value = R, Error = async_graphql::Error>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
    R: Clone + Send + Sync + 'static,
{
    let keys: Vec<K> = keys.into_iter().map(key).collect();
    let found = context::loader(ctx).load_many(keys.iter().cloned()).await?;
    Ok(keys
        .iter()
        .filter_map(|k| found.get(k).cloned().map(wrap))
        .collect())
}

/// Names one object by its ID.
#[derive(InputObject)]
pub struct DeleteInput {
    pub id: ID,
}

impl DeleteInput {
    fn key(&self, expected: NodeType) -> async_graphql::Result<String> {
        ids::decode(expected, &self.id, "input.id").gql()
    }
}

#[derive(SimpleObject)]
pub struct DeletePayload {
    pub deleted_id: ID,
}

async fn load_node(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let Some((node_type, key)) = ids::parse(id) else {
        return Err(Error::invalid(
            "id",
            format!("`{}` is not a valid ID", id.as_str()),
        ))
        .gql();
    };
    let loader = context::loader(ctx);
    Ok(match node_type {
        NodeType::Contact => loader
            .load_one(ContactById(key))
            .await?
            .map(|r| Node::Contact(r.into())),
        NodeType::Matter => loader
            .load_one(MatterById(key))
            .await?
            .map(|r| Node::Matter(r.into())),
        NodeType::Communication => loader
            .load_one(CommunicationById(key))
            .await?
            .map(|r| Node::Communication(r.into())),
        NodeType::Deadline => loader
            .load_one(DeadlineById(key))
            .await?
            .map(|r| Node::Deadline(r.into())),
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
    })
}

/// At most this many IDs in one `nodes` call.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQueries;

#[Object]
impl NodeQueries {
    /// Fetches any object by its global ID.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        load_node(ctx, &id).await
    }

    /// Fetches several objects by global ID, in the order given (null where none exists).
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
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
    async fn reports(&self) -> reports::Reports {
        reports::Reports
    }
}

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQueries,
    contacts::ContactQueries,
    matters::MatterQueries,
    communications::CommunicationQueries,
    deadlines::DeadlineQueries,
    directory::DirectoryQueries,
    campaigns::CampaignQueries,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    contacts::ContactMutations,
    matters::MatterMutations,
    communications::CommunicationMutations,
    deadlines::DeadlineMutations,
    directory::DirectoryMutations,
    campaigns::CampaignMutations,
);

/// The schema without per-process data: enough to print the SDL.
fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

pub fn build_schema(state: AppState) -> AppSchema {
    builder().data(state).finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Per-request data: a fresh DataLoader, so its cache never outlives one request.
pub fn request_loader(state: &AppState) -> DataLoader<DbLoader> {
    DataLoader::new(DbLoader::new(state.db.clone()), tokio::spawn)
}
