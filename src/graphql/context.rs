//! What every resolver reaches through the GraphQL context: the database, the rules,
//! the per-request DataLoader.

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::Context;

use crate::app::AppState;
use crate::db::AnyConnection;
use crate::error::{GraphqlResult, Result};
use crate::graphql::field_guard::RequestAccess;
use crate::graphql::loaders::DbLoader;

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

/// Runs a change in one transaction, with its access-log entry: the entry commits with the
/// change or neither does.
pub async fn write<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    write_about(ctx, work, |_| Vec::new()).await
}

/// Like [`write`], for a change that touches contacts its input does not name (one it
/// creates, the subject of a request): `subjects` names them from the change's result.
pub async fn write_about<T, F, S>(
    ctx: &Context<'_>,
    work: F,
    subjects: S,
) -> async_graphql::Result<T>
where
    F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    S: FnOnce(&T) -> Vec<String> + Send + 'static,
    T: Send + 'static,
{
    let logged = state(ctx)
        .access_log
        .as_ref()
        .and(ctx.data_opt::<Arc<RequestAccess>>())
        .cloned();
    let access = logged.clone();
    let value = state(ctx)
        .db
        .transaction(move |c| {
            let value = work(c)?;
            if let Some(entry) = access.and_then(|a| a.change_entry(subjects(&value))) {
                crate::audit::append_within(c, vec![entry])?;
            }
            Ok(value)
        })
        .await
        .gql()?;
    if let Some(access) = logged {
        access.change_logged();
    }
    Ok(value)
}

/// The change log of a mutation that commits its changes itself, in transactions of its own
/// (a retention run, a sync's pages, a push): each appends its Write entry with it. `None`
/// when the access log is off. Hand the log to the work, then call [`change_log_done`].
pub fn change_log(ctx: &Context<'_>) -> Option<crate::audit::ChangeLog> {
    let access = state(ctx)
        .access_log
        .as_ref()
        .and(ctx.data_opt::<Arc<RequestAccess>>())
        .cloned()?;
    Some(crate::audit::ChangeLog::new(move |subjects| {
        access.change_entry(subjects)
    }))
}

/// After the work of [`change_log`]: once one of its transactions committed with its entry,
/// the request's end does not write another for the same change. (When none did, the
/// mutation is logged at the end of the request, as a failed change is.)
pub fn change_log_done(ctx: &Context<'_>, log: Option<&crate::audit::ChangeLog>) {
    if log.is_some_and(|l| l.any_committed()) {
        if let Some(access) = ctx.data_opt::<Arc<RequestAccess>>() {
            access.change_logged();
        }
    }
}
