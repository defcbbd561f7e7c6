//! Types and helpers the object types of several modules share: ID arguments, the delete
//! mutations' input and payload, and loading rows by key with their visibility.

use std::hash::Hash;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, InputObject, SimpleObject, ID};

use super::context;
use super::loaders::DbLoader;
use super::visibility;
use crate::error::GraphqlResult;
use crate::ids::{self, NodeType};

/// Decodes an ID argument of a known type, as a typed BAD_USER_INPUT error.
pub fn decode_id(expected: NodeType, id: &ID) -> async_graphql::Result<String> {
    ids::decode(expected, id, "id").gql()
}

/// Loads rows by key in the order of `keys`, skipping those that no longer exist and those
/// the caller may not see.
pub async fn load_many<K, R, N: visibility::Row>(
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
    let rows = keys
        .iter()
        .filter_map(|k| found.get(k).cloned().map(wrap))
        .collect();
    visibility::visible_only(ctx, rows).await
}

/// Names one object by its ID.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The global ID of the object.
    pub id: ID,
}

impl DeleteInput {
    pub(crate) fn key(&self, expected: NodeType) -> async_graphql::Result<String> {
        ids::decode(expected, &self.id, "input.id").gql()
    }
}

/// The answer to a delete mutation.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of the deleted object.
    pub deleted_id: ID,
}
