//! The GraphQL API: a thin layer of object types and resolvers over the domain services.

pub mod access_log;
pub mod auth;
pub mod authorization;
pub mod billing;
pub mod calendar_feeds;
pub mod campaigns;
pub mod communications;
pub mod connectors;
pub mod contacts;
pub mod context;
pub mod deadlines;
pub mod digests;
pub mod directory;
pub mod documents;
pub mod gdpr;
pub mod input_text;
pub mod limits;
pub mod loaders;
pub mod matters;
pub mod pagination;
pub mod registers;
pub mod reports;
pub mod retention;
pub mod roles;
pub mod rows;
pub mod schema_map;
pub mod subject_rights;
pub mod telemetry;

use std::hash::Hash;

use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, InputObject, Interface, MergedObject, Object, Schema, SimpleObject,
    ID,
};
use async_graphql::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::error::{Error, GraphqlResult};
use crate::ids::{self, NodeType};
use async_graphql::ErrorExtensions;

use context::read;
use crate::app::AppState;
use loaders::*;

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

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

/// Decodes an ID argument of a known type, as a typed BAD_USER_INPUT error.
pub fn decode_id(expected: NodeType, id: &ID) -> async_graphql::Result<String> {
    ids::decode(expected, id, "id").gql()
}

/// Loads rows by key in the order of `keys`, skipping those that no longer exist and those
/// the caller may not see.
pub async fn load_many<K, R, N: rows::Row>(
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
    rows::visible_only(ctx, rows).await
}

/// Names one object by its ID.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The global ID of the object.
    pub id: ID,
}

impl DeleteInput {
    fn key(&self, expected: NodeType) -> async_graphql::Result<String> {
        ids::decode(expected, &self.id, "input.id").gql()
    }
}

/// The answer to a delete mutation.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of the deleted object.
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
    // A type the caller's role may not read at all is refused outright; the policy entry
    // for its `id` says who may.
    if !authorization::access(ctx)
        .grant
        .allows(node_type.name(), "id")
    {
        return Ok(authorization::forbid(
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
                .map(contacts::Contact);
            rows::lookup(ctx, row).await?.map(Node::Contact)
        }
        NodeType::Matter => {
            let row = loader.load_one(MatterById(key)).await?.map(matters::Matter);
            rows::lookup(ctx, row).await?.map(Node::Matter)
        }
        NodeType::Communication => {
            let row = loader
                .load_one(CommunicationById(key))
                .await?
                .map(communications::Communication);
            rows::lookup(ctx, row).await?.map(Node::Communication)
        }
        NodeType::Deadline => {
            let row = loader
                .load_one(DeadlineById(key))
                .await?
                .map(deadlines::Deadline);
            rows::lookup(ctx, row).await?.map(Node::Deadline)
        }
        NodeType::Document => {
            let row = loader
                .load_one(DocumentById(key))
                .await?
                .map(documents::Document);
            rows::lookup(ctx, row).await?.map(Node::Document)
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
            crate::gdpr::rights::requests::get(c, &key)
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
            rows::lookup(ctx, row).await?.map(Node::TimeEntry)
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

/// What a client can read. Each field says who may read it where not everyone signed in may;
/// lists are Relay connections.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQueries,
    auth::AuthQueries,
    contacts::ContactQueries,
    matters::MatterQueries,
    communications::CommunicationQueries,
    deadlines::DeadlineQueries,
    documents::DocumentQueries,
    directory::DirectoryQueries,
    campaigns::CampaignQueries,
    roles::RoleQueries,
    access_log::AccessLogQueries,
    registers::RegisterQueries,
    gdpr::GdprQueries,
    retention::RetentionQueries,
    subject_rights::SubjectRightsQueries,
    connectors::ConnectorQueries,
    calendar_feeds::CalendarFeedQueries,
    digests::DailyDigestQueries,
    billing::BillingQueries,
);

/// What a client can change. Each field says who may call it where not everyone signed in
/// may; bad input gets a typed error naming the field (`extensions.code`, `extensions.field`)
/// and changes nothing.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutations,
    contacts::ContactMutations,
    matters::MatterMutations,
    communications::CommunicationMutations,
    deadlines::DeadlineMutations,
    directory::DirectoryMutations,
    campaigns::CampaignMutations,
    roles::RoleMutations,
    registers::RegisterMutations,
    gdpr::GdprMutations,
    retention::RetentionMutations,
    subject_rights::SubjectRightsMutations,
    connectors::ConnectorMutations,
    calendar_feeds::CalendarFeedMutations,
    digests::DailyDigestMutations,
    billing::BillingMutations,
);

/// The schema without per-process data: enough to print the SDL.
fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

/// The served schema: the process's state, and the limits every query must keep within;
/// `traced` adds the spans of the GraphQL phases (only when traces are exported).
pub fn build_schema(state: AppState, limits: &limits::Limits, traced: bool) -> AppSchema {
    let mut builder = limits::apply(builder(), limits).extension(authorization::Authorization);
    if traced {
        builder = builder.extension(telemetry::Spans);
    }
    builder.data(state).finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Who sent a request: the principal its credentials stand for (none before logging in),
/// and from where.
pub struct Caller {
    pub principal: Option<crate::auth::Principal>,
    pub client: authorization::ClientInfo,
}

/// Runs one request with a fresh DataLoader whose batches run on the request's own task.
///
/// A batch is flushed only when the request has stalled: every resolver that can run has run
/// and is waiting for data. So each query level collects all its keys before one statement
/// loads them, and a nested query costs one statement per relation level however many rows
/// it returns, on a slow or busy machine too (a timer-based flush would split batches).
pub async fn execute(
    schema: &AppSchema,
    state: &AppState,
    request: Request,
    caller: Caller,
) -> Response {
    let grant = match &caller.principal {
        Some(principal) => match state.roles.grant(&principal.role).await {
            Ok(grant) => grant,
            Err(e) => {
                return Response::from_errors(vec![e
                    .extend()
                    .into_server_error(Default::default())])
            }
        },
        None => Arc::new(crate::authz::RoleGrant::anonymous()),
    };
    let access = Arc::new(authorization::RequestAccess::new(
        state.db.clone(),
        caller.principal,
        grant,
        caller.client,
    ));
    let queue = BatchQueue::default();
    let spawn_into = queue.clone();
    let loader = DataLoader::new(DbLoader::new(state.db.clone()), move |batch| {
        spawn_into.push(batch);
    })
    .delay(Duration::ZERO);
    let operation_name = request.operation_name.clone();
    let execution = std::pin::pin!(schema.execute(request.data(loader).data(access.clone())));
    let response = UntilStalled {
        execution,
        queue,
        running: FuturesUnordered::new(),
    }
    .await;
    log_access(state, &access, operation_name, response).await
}

/// Appends the request's access-log entries and releases the response only once they are
/// durable. If they cannot be written, the response is withheld: no personal data leaves
/// without its log entry.
async fn log_access(
    state: &AppState,
    access: &authorization::RequestAccess,
    operation_name: Option<String>,
    response: Response,
) -> Response {
    let Some(log) = &state.access_log else {
        return response;
    };
    let entries = access.entries(operation_name);
    if entries.is_empty() {
        return response;
    }
    match log.append(entries).await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!(error = %e, "access log write failed; response withheld");
            let error = Error::Unavailable(
                "the access could not be logged, so nothing is returned; try again".to_owned(),
            );
            Response::from_errors(vec![error.extend().into_server_error(Default::default())])
        }
    }
}

/// DataLoader batches waiting to run.
#[derive(Clone, Default)]
struct BatchQueue(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl BatchQueue {
    fn push(&self, batch: BoxFuture<'static, ()>) {
        self.lock().push(batch);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<BoxFuture<'static, ()>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Polls the request until it stalls, then runs the batches it queued, one wave at a time.
struct UntilStalled<F> {
    execution: F,
    queue: BatchQueue,
    running: FuturesUnordered<BoxFuture<'static, ()>>,
}

/// Re-polls a request that keeps asking to run at most this often before letting other
/// tasks have the thread; the request then continues on its next turn.
const MAX_POLLS_PER_TURN: usize = 4096;

/// A waker that notes it was woken, so we know the request asked to run again.
struct NotingWaker {
    woken: AtomicBool,
    inner: Waker,
}

impl Wake for NotingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

impl<F: Future<Output = Response> + Unpin> Future for UntilStalled<F> {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Response> {
        let noting = Arc::new(NotingWaker {
            woken: AtomicBool::new(false),
            inner: cx.waker().clone(),
        });
        let waker = Waker::from(noting.clone());
        for _ in 0..MAX_POLLS_PER_TURN {
            noting.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(response) =
                Pin::new(&mut self.execution).poll(&mut TaskContext::from_waker(&waker))
            {
                return Poll::Ready(response);
            }
            if noting.woken.load(Ordering::SeqCst) {
                continue;
            }
            // Stalled. Loads in flight finish before new ones start, so the keys a level
            // asks for never split between batches, whichever load happens to end first.
            let mut finished = false;
            while let Poll::Ready(Some(())) = self.running.poll_next_unpin(cx) {
                finished = true;
            }
            if finished {
                continue; // their results let resolvers go on
            }
            if !self.running.is_empty() {
                return Poll::Pending;
            }
            let queued: Vec<_> = self.queue.lock().drain(..).collect();
            if queued.is_empty() {
                return Poll::Pending;
            }
            self.running.extend(queued);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
