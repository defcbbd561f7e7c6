//! What every resolver reaches through the GraphQL context: the database, the rules,
//! the per-request DataLoader.

use async_graphql::dataloader::DataLoader;
use async_graphql::Context;

use crate::auth::AuthConfig;
use crate::contacts::ContactRules;
use crate::db::{AnyConnection, Database};
use crate::error::{GraphqlResult, Result};
use crate::graphql::loaders::DbLoader;

/// Shared, per-process state the schema carries.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub contact_rules: ContactRules,
    /// The largest `first` / `last` a list accepts.
    pub max_page_size: usize,
    /// The page size when neither `first` nor `last` is given.
    pub default_page_size: usize,
    pub auth: AuthConfig,
    pub roles: crate::authz::RoleCatalog,
    /// `None` only when the access log is switched off (for measuring what it costs).
    pub access_log: Option<crate::audit::AccessLog>,
    /// The GDPR hasher and basis rules.
    pub gdpr: crate::gdpr::GdprContext,
    /// Connectors and the sync engine.
    pub sync: std::sync::Arc<crate::sync::SyncService>,
    /// The courts procedural terms can be computed for.
    pub courts: crate::deadlines::courts::Courts,
}

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

pub fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<DbLoader> {
    ctx.data_unchecked::<DataLoader<DbLoader>>()
}

/// Runs a read on a pooled connection.
pub async fn read<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    state(ctx).db.run(work).await.gql()
}

/// Runs a change in one transaction.
pub async fn write<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    state(ctx).db.transaction(work).await.gql()
}
