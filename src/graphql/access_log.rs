//! The access log in the GraphQL API, for the DPO: who touched whose personal data, and the
//! scope of a breach. Reading it is itself logged.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::audit::{self, AccessAction, AccessLogFilter, StoredAccessEntry};
use crate::error::GraphqlResult;
use crate::graphql::context::read;
use crate::graphql::decode_id;
use crate::graphql::field_guard::{access, note_read_subjects};
use crate::graphql::pagination::{paginate_db, PageArgs, Paged};
use crate::ids::{self, NodeType};

/// One request's access to personal data.
pub struct AccessLogEntry(StoredAccessEntry);

impl From<StoredAccessEntry> for AccessLogEntry {
    fn from(row: StoredAccessEntry) -> Self {
        AccessLogEntry(row)
    }
}

/// One request's access to personal data, as the hash-chained access log records it. Only the DPO
/// reads the log.
#[Object]
impl AccessLogEntry {
    /// The entry's place in the hash chain.
    async fn seq(&self) -> i64 {
        self.0.seq
    }

    /// When the request ran (UTC, ISO 8601).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.entry.occurred_at.and_utc()
    }

    /// `user`, `api_key` or `external`.
    async fn principal_kind(&self) -> &str {
        &self.0.entry.principal_kind
    }

    /// The user's or API key's global ID, `issuer#subject` for a provider token, the
    /// account name for a command-line run.
    async fn principal_id(&self) -> String {
        audit::principal_global_id(&self.0.entry.principal_kind, &self.0.entry.principal_id)
    }

    /// The role the principal acted in (a built-in role such as `lawyer`, or a custom role's name).
    async fn role(&self) -> &str {
        &self.0.entry.role
    }

    /// The GraphQL operation name the client sent; null for an anonymous operation.
    async fn operation_name(&self) -> Option<&str> {
        self.0.entry.operation_name.as_deref()
    }

    /// The client's IP address as the server saw it; null when unknown.
    async fn client_address(&self) -> Option<&str> {
        self.0.entry.client_address.as_deref()
    }

    /// The client's `User-Agent` header; null when not sent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.entry.user_agent.as_deref()
    }

    /// Whether the request read the personal data or changed it.
    async fn action(&self) -> AccessAction {
        self.0.entry.action
    }

    /// `Type.field` names read or written: never their values.
    async fn fields(&self) -> &[String] {
        &self.0.entry.fields
    }

    /// The contacts whose data was touched (IDs only: still there after an erasure).
    // Reading them is a read of those contacts: who was touched, when, is about them.
    async fn subjects(&self, ctx: &Context<'_>) -> Vec<ID> {
        note_read_subjects(ctx, self.0.entry.subjects.iter().map(String::as_str));
        contact_ids(&self.0.entry.subjects)
    }

    /// SHA-256 over the entry and the previous entry's hash.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

/// What a set of entries touched: whom to notify and about what (Art. 33, 34 GDPR).
#[derive(SimpleObject)]
pub struct BreachScope {
    /// How many access-log entries match the principal and time window.
    entry_count: i64,
    /// How many distinct contacts those entries touched.
    subject_count: i64,
    /// The contacts whose data was touched.
    subjects: Vec<ID>,
    /// `Type.field` names touched.
    fields: Vec<String>,
    /// The principals that touched them, named as `AccessLogEntry.principalId` names them.
    principals: Vec<String>,
}

fn contact_ids(keys: &[String]) -> Vec<ID> {
    keys.iter()
        .map(|k| ids::encode(NodeType::Contact, k))
        .collect()
}

/// The filter both queries share; notes in the caller's own log entry what they looked at.
fn filter(
    ctx: &Context<'_>,
    subject: Option<ID>,
    principal: Option<ID>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> async_graphql::Result<AccessLogFilter> {
    let subject = subject
        .map(|id| decode_id(NodeType::Contact, &id))
        .transpose()?;
    if let Some(subject) = &subject {
        access(ctx).trail.read_subject(subject);
    }
    Ok(AccessLogFilter {
        subject,
        principal_id: principal
            .map(|p| audit::principal_key(&p, "principal"))
            .transpose()
            .gql()?,
        from: from.map(|t| t.naive_utc()),
        to: to.map(|t| t.naive_utc()),
    })
}

#[derive(Default)]
pub struct AccessLogQueries;

#[Object]
impl AccessLogQueries {
    /// Access-log entries, newest first: by data subject, principal and `[from, to)`.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::graphql::pagination::page_complexity(first, last, child_complexity)"
    )]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only entries that touched this contact (a `Contact` ID).")]
        subject: Option<ID>,
        #[graphql(
            desc = "Only entries of this principal, named as `AccessLogEntry.principalId` names it."
        )]
        principal: Option<ID>,
        #[graphql(desc = "Only entries at or after this instant (ISO 8601).")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(
            desc = "Only entries before this instant (ISO 8601); the window is `[from, to)`."
        )]
        to: Option<DateTime<Utc>>,
        #[graphql(
            desc = "Return the items after this cursor (an `endCursor` or edge cursor of this list)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Return the items before this cursor (a `startCursor` or edge cursor of this list)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Return the first N items (after `after`, if given), N at most `max_page_size` (1000 unless configured). Without `first` and `last`, a page holds `default_page_size` items (50 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the last N items (before `before`, if given), N at most `max_page_size` (1000 unless configured)."
        )]
        last: Option<i32>,
    ) -> async_graphql::Result<Option<Paged<AccessLogEntry>>> {
        let filter = filter(ctx, subject, principal, from, to)?;
        let count_filter = filter.clone();
        paginate_db(
            ctx,
            PageArgs::new(after, before, first, last),
            move |c| audit::count_entries(c, &count_filter),
            move |c, page| audit::list_entries(c, &filter, page.offset, page.limit),
        )
        .await
        .map(Some)
    }

    /// The distinct data subjects and fields a principal and/or a time window touched.
    async fn breach_scope(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only what this principal touched, named as `AccessLogEntry.principalId` names it."
        )]
        principal: Option<ID>,
        #[graphql(desc = "Start of the window to examine (ISO 8601, inclusive).")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "End of the window to examine (ISO 8601, exclusive).")] to: Option<
            DateTime<Utc>,
        >,
    ) -> async_graphql::Result<Option<BreachScope>> {
        let filter = filter(ctx, None, principal, from, to)?;
        let scope = read(ctx, move |c| audit::breach_scope(c, &filter)).await?;
        if ctx.look_ahead().field("subjects").exists() {
            note_read_subjects(ctx, scope.subjects.iter().map(String::as_str));
        }
        Ok(Some(BreachScope {
            entry_count: scope.entry_count,
            subject_count: scope.subjects.len() as i64,
            subjects: contact_ids(&scope.subjects),
            fields: scope.fields,
            principals: scope
                .principals
                .iter()
                .map(|(kind, id)| audit::principal_global_id(kind, id))
                .collect(),
        }))
    }
}
