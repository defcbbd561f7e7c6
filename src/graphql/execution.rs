//! Building and running the schema: the merged Query and Mutation roots, the served schema
//! with its limits and extensions, the SDL, and executing one request with its DataLoader and
//! its access-log entries.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    EmptySubscription, ErrorExtensions, MergedObject, Request, Response, Schema, ServerError,
    ServerResult, ValidationMode, ValidationResult, Value, Variables,
};
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::admission::Admitted;
use super::loaders::DbLoader;
use super::node::NodeQueries;
use super::query_cache::QueryCache;
use super::{
    access_log, billing, calendar_feeds, campaigns, communications, connectors, contacts,
    deadlines, digests, directory, documents, field_guard, gdpr, identity, limits, matters,
    registers, retention, roles, subject_rights, telemetry,
};
use crate::access_policy::RoleGrant;
use crate::app::AppState;
use crate::error::Error;

type GraphqlSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The served schema, built twice over the same types: `checked` decides every field as it
/// resolves (the policy's extension), `in_advance` runs operations whose fields were all
/// decided for the caller's role before they ran (`admission`), with no extension at all.
#[derive(Clone)]
pub struct AppSchema {
    checked: GraphqlSchema,
    /// `None` while traces are exported: their spans come from an extension.
    in_advance: Option<GraphqlSchema>,
    queries: Arc<QueryCache>,
}

/// What a client can read. Each field says who may read it where not everyone signed in may;
/// lists are Relay connections.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQueries,
    identity::AuthQueries,
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
    identity::AuthMutations,
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
/// `queries` keeps this schema's parsed documents (`QueryCache::parse` before executing).
pub fn build_schema(
    state: AppState,
    limits: &limits::Limits,
    traced: bool,
    queries: Arc<QueryCache>,
) -> AppSchema {
    let mut checked = limits::apply(builder(), limits).extension(Checks {
        limits: limits::LimitCodes::new(limits, queries.clone()),
    });
    if traced {
        checked = checked.extension(telemetry::Spans);
    }
    // It runs only documents that passed `checked`'s checks and validation before, without
    // variables (`Prepared::admitted`), so they would pass again: the fast mode skips the
    // rules, and depth and complexity are not counted twice (the page sizes a list's cost
    // depends on are known to `checked`'s validation only).
    let in_advance = (!traced).then(|| {
        limits::apply_to_parsing(builder(), limits)
            .validation_mode(ValidationMode::Fast)
            .data(state.clone())
            .finish()
    });
    AppSchema {
        checked: checked.data(state).finish(),
        in_advance,
        queries,
    }
}

impl AppSchema {
    /// The request's operation decided in advance for `grant`, when it can be: a query
    /// sent before in this process (the same text, no variables) whose every field the
    /// role may read.
    fn admitted(&self, request: &Request, grant: &Arc<RoleGrant>) -> Option<Arc<Admitted>> {
        self.in_advance.as_ref()?;
        if !request.variables.is_empty() {
            return None;
        }
        self.queries
            .get(&request.query)?
            .admitted(request.operation_name.as_deref(), grant)
    }
}

/// The schema's extension: the limits' hooks and the policy's, in one extension because
/// async-graphql runs every installed extension's `resolve` on every field (a boxed future
/// each), and the limits have nothing to do there.
struct Checks {
    limits: limits::LimitCodes,
}

impl ExtensionFactory for Checks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestChecks {
            limits: self.limits.check(),
            policy: field_guard::Authorization::default(),
        })
    }
}

struct RequestChecks {
    limits: limits::LimitCheck,
    policy: field_guard::Authorization,
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestChecks {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.limits.prepare(&request);
        self.policy.prepare(&request);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        self.limits.parse_query(ctx, query, variables, next).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        self.limits.validation(ctx, next).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.policy.execute(ctx, operation_name, next).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if self.policy.admits(ctx, &info) {
            next.run(ctx, info).await
        } else {
            Ok(None)
        }
    }
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Who sent a request: the principal its credentials stand for (none before logging in),
/// and from where.
pub struct Caller {
    pub principal: Option<crate::identity::Principal>,
    /// The roles' generation read while authenticating, when it was (then the role catalogue
    /// does not read it again).
    pub roles_generation: Option<i64>,
    pub client: field_guard::ClientInfo,
}

/// The grant of every anonymous request, compiled once.
static ANONYMOUS: LazyLock<Arc<RoleGrant>> = LazyLock::new(|| Arc::new(RoleGrant::anonymous()));

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
        Some(principal) => match state
            .roles
            .grant_at(&principal.role, caller.roles_generation)
            .await
        {
            Ok(grant) => grant,
            Err(e) => {
                return Response::from_errors(vec![e
                    .extend()
                    .into_server_error(Default::default())])
            }
        },
        None => ANONYMOUS.clone(),
    };
    let access = Arc::new(field_guard::RequestAccess::new(
        caller.principal,
        grant,
        caller.client,
    ));
    let queue = BatchQueue::default();
    let spawn_into = queue.clone();
    let loader = DbLoader::new(
        state.db.clone(),
        access.scope().clone(),
        access.user_id().map(str::to_owned),
    );
    let loader = DataLoader::new(loader, move |batch| {
        spawn_into.push(batch);
    })
    .delay(Duration::ZERO);
    let operation_name = request.operation_name.clone();
    let admitted = schema.admitted(&request, &access.grant);
    let executor = match (&admitted, &schema.in_advance) {
        (Some(admitted), Some(in_advance)) => {
            access.running(admitted.operation.as_deref());
            crate::metrics::checked_in_advance(admitted.operation.as_deref());
            in_advance
        }
        _ => &schema.checked,
    };
    let execution = std::pin::pin!(executor.execute(request.data(loader).data(access.clone())));
    let mut response = UntilStalled {
        execution,
        queue,
        running: FuturesUnordered::new(),
    }
    .await;
    if let Some(admitted) = admitted {
        // What the policy's extension does around and during execution on the other path.
        for field in admitted.personal_fields_in(&response.data) {
            access.trail.read_field(field);
        }
        response.errors = field_guard::fold_denials(std::mem::take(&mut response.errors));
    }
    log_access(state, &access, operation_name, response).await
}

/// Appends the request's access-log entries and releases the response only once they are
/// durable. If they cannot be written, the response is withheld: no personal data leaves
/// without its log entry.
async fn log_access(
    state: &AppState,
    access: &field_guard::RequestAccess,
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
