//! Connectors in the GraphQL API, for admins: connector instances (secrets write-only),
//! their OAuth authorisation, sync runs, the review queue of imports without a legal basis,
//! and pushing a contact to a provider.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::error::GraphqlResult;
use crate::graphql::context::{read, state, write, write_about};
use crate::graphql::field_guard::{access, SubjectRead};
use crate::graphql::{DeleteInput, DeletePayload};
use crate::ids::{self, NodeType};
use crate::sync::instances::{
    self, ConnectorLogin, CreateConnectorInstanceInput, InstanceRow, UpdateConnectorInstanceInput,
};
use crate::sync::provenance::{ProvenanceRule, RecordOrigin};
use crate::sync::remote_webhooks::{self, ConnectorWebhookStatus, WebhookRow};
use crate::sync::review::{self, ResolveSyncReviewItemInput, ReviewRow};
use crate::sync::runs::{self, RunError, RunRow, SyncRunStatus};
use crate::sync::SyncError;

/// A configured connection to a provider. Its secrets are never returned, only whether
/// they are set.
pub struct ConnectorInstance(InstanceRow);

/// A configured connection to a provider (a practice-management system's feed, a mailbox) that
/// lexgate syncs contacts and mail from. Its secrets are never returned, only whether they are set.
/// Admins only.
#[Object]
impl ConnectorInstance {
    /// The instance's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::ConnectorInstance, &self.0.id)
    }

    /// The instance's name, unique in the firm.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The connector it runs: `json_feed`, `imap`, `graph_mail`, `gmail`, `caldav`,
    /// `google_calendar`, `graph_calendar` or `webdav`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The provider's address: an HTTP(S) URL for feeds, an `imap://` or `imaps://` URL for mail.
    async fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// The OAuth client ID; empty for kinds without OAuth.
    async fn client_id(&self) -> async_graphql::Result<String> {
        Ok(self.0.settings().gql()?.client_id)
    }

    /// The provider's OAuth authorisation endpoint; empty for kinds without OAuth.
    async fn auth_url(&self) -> async_graphql::Result<String> {
        Ok(self.0.settings().gql()?.auth_url)
    }

    /// The provider's OAuth token endpoint; empty for kinds without OAuth.
    async fn token_url(&self) -> async_graphql::Result<String> {
        Ok(self.0.settings().gql()?.token_url)
    }

    /// The OAuth scopes requested.
    async fn scopes(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.settings().gql()?.scopes)
    }

    /// How many records the connector asks the provider for per page.
    async fn page_size(&self) -> async_graphql::Result<i32> {
        Ok(self.0.settings().gql()?.page_size as i32)
    }

    /// Mail kinds: the login name.
    async fn username(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.0.settings().gql()?.username)
    }

    /// Mail kinds: how the connector logs in.
    async fn login(&self) -> async_graphql::Result<ConnectorLogin> {
        Ok(self.0.settings().gql()?.login)
    }

    /// Mail kinds: whether the connection goes without TLS (loopback only).
    async fn plaintext(&self) -> async_graphql::Result<bool> {
        Ok(self.0.settings().gql()?.plaintext)
    }

    /// IMAP, CalDAV and WebDAV: the certificate authority (PEM) trusted besides the public
    /// web roots, if any.
    async fn ca_certificate(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.0.settings().gql()?.ca_certificate)
    }

    /// Mail kinds: the folders synced.
    async fn folders(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.settings().gql()?.folders)
    }

    /// Mail kinds: the firm's own domains.
    async fn own_domains(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.settings().gql()?.own_domains)
    }

    /// Mail kinds: whether message bodies are stored.
    async fn store_bodies(&self) -> async_graphql::Result<bool> {
        Ok(self.0.settings().gql()?.store_bodies)
    }

    /// Mail kinds: senders that never become contacts, besides the built-in ones.
    async fn ignore_addresses(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.settings().gql()?.ignore_addresses)
    }

    /// caldav and google_calendar: the users (by email) whose deadlines and hearings are
    /// pushed to the calendar.
    async fn deadline_users(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.settings().gql()?.deadline_users)
    }

    /// Whether a password is stored (its value is never shown).
    async fn has_password(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.credentials(ctx)?.is_some_and(|c| c.password.is_some()))
    }

    /// Whether a secret API key is stored (kind stripe; its value is never shown).
    async fn has_api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.credentials(ctx)?.is_some_and(|c| c.api_key.is_some()))
    }

    /// Minutes between scheduled syncs; null when the instance syncs only on demand or by webhook.
    async fn schedule_minutes(&self) -> Option<i32> {
        self.0.schedule_minutes
    }

    /// Whether the instance syncs at all; a disabled one refuses runs.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Whether a client secret is stored (its value is never shown).
    async fn has_client_secret(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self
            .credentials(ctx)?
            .is_some_and(|c| c.client_secret.is_some()))
    }

    /// Whether the provider granted tokens (the OAuth authorisation was completed).
    async fn authorized(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.credentials(ctx)?.is_some_and(|c| c.tokens.is_some()))
    }

    /// Whether inbound webhooks are accepted (a signing secret is stored).
    async fn has_webhook_secret(&self) -> bool {
        self.0.webhook_secret.is_some()
    }

    /// Recorded as the source detail of every contact this instance imports.
    async fn source_detail(&self) -> async_graphql::Result<String> {
        Ok(self.0.provenance().gql()?.source_detail)
    }

    /// The legal basis per record origin; origins without one go to review.
    async fn provenance(&self) -> async_graphql::Result<Vec<ProvenanceRule>> {
        Ok(self.0.provenance().gql()?.rules)
    }

    /// The latest sync runs, newest first.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = 20,
            desc = "How many runs to return: 1 to 100, 20 by default."
        )]
        first: i32,
    ) -> async_graphql::Result<Vec<SyncRun>> {
        let id = self.0.id.clone();
        let limit = i64::from(first.clamp(1, 100));
        let rows = read(ctx, move |c| runs::latest(c, &id, limit)).await?;
        Ok(rows.into_iter().map(SyncRun).collect())
    }

    /// The webhooks lexgate keeps at the provider (clio: one per model it pulls), registered
    /// once the instance is enabled and authorised and `public_url` is configured, and renewed
    /// before they expire. Their secrets are never shown.
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ConnectorWebhook>> {
        let id = self.0.id.clone();
        let rows = read(ctx, move |c| remote_webhooks::of_instance(c, &id)).await?;
        Ok(rows.into_iter().map(ConnectorWebhook).collect())
    }

    /// When the instance was configured (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When its configuration last changed (UTC, ISO 8601).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }
}

impl ConnectorInstance {
    fn credentials(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<instances::Credentials>> {
        if self.0.credentials.is_none() {
            return Ok(None);
        }
        let Some(secrets) = state(ctx).sync.secrets() else {
            return Ok(None);
        };
        Ok(Some(self.0.credentials(secrets).gql()?))
    }
}

/// One run of a connector instance's sync.
pub struct SyncRun(RunRow);

/// One run of a connector instance's sync, with what it did to each record.
#[Object]
impl SyncRun {
    /// The run's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::SyncRun, &self.0.id)
    }

    /// `schedule`, `webhook`, `manual` or `cli`.
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }

    /// Whether the run is going, finished, failed or was abandoned.
    async fn status(&self) -> async_graphql::Result<SyncRunStatus> {
        self.0.status().gql()
    }

    /// Whether the run listed everything (first sync, or after the provider refused the cursor).
    async fn full_sync(&self) -> bool {
        self.0.full_sync
    }

    /// When the run started (UTC, ISO 8601).
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at.and_utc()
    }

    /// When the run ended (UTC, ISO 8601); null while it runs.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(|t| t.and_utc())
    }

    /// Records that created a new contact.
    async fn created(&self) -> i32 {
        self.0.created
    }

    /// Records that gave an already linked contact new identifiers.
    async fn updated(&self) -> i32 {
        self.0.updated
    }

    /// Records linked to an existing contact that matched.
    async fn linked(&self) -> i32 {
        self.0.linked
    }

    /// Records the provider deleted: their links end, the contacts stay.
    async fn deleted(&self) -> i32 {
        self.0.deleted
    }

    /// Records with nothing to do: unchanged, erased, restricted, or an unknown deletion.
    async fn skipped(&self) -> i32 {
        self.0.skipped
    }

    /// Records sent to the review queue (no legal basis for their origin, or several matching
    /// contacts).
    async fn review(&self) -> i32 {
        self.0.review
    }

    /// Records that could not be handled; see `errors`.
    async fn failed(&self) -> i32 {
        self.0.failed
    }

    /// Failed records by the provider's id; messages name fields, never values.
    async fn errors(&self) -> Vec<RunError> {
        self.0.errors()
    }

    /// Deadline events the run created or updated, and time entries it created, at the
    /// provider.
    async fn pushed(&self) -> i32 {
        self.0.pushed
    }

    /// Deadline events the run removed at the provider (the deadline was completed,
    /// cancelled, deleted or reassigned).
    async fn push_removed(&self) -> i32 {
        self.0.push_removed
    }

    /// Deadline events edited at the provider that the run left as they were.
    async fn push_conflicts(&self) -> i32 {
        self.0.push_conflicts
    }
}

/// An imported record waiting for a decision: it would have created a contact without a
/// legal basis, or it matches several contacts.
pub struct SyncReviewItem(ReviewRow);

// What a record says is about the contact it was linked to or imported as, if any; an
// unmatched record names no contact yet.
/// An imported record waiting for a decision: it would have created a contact without a legal
/// basis, or it matches several contacts. Holds personal data of people not yet imported: admins
/// and the DPO only.
#[Object(guard = "SubjectRead::new(\"SyncReviewItem\", self.0.contact_id.as_deref())")]
impl SyncReviewItem {
    /// The item's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::SyncReviewItem, &self.0.id)
    }

    /// The `ConnectorInstance` that found the record.
    async fn instance_id(&self) -> ID {
        ids::encode(NodeType::ConnectorInstance, &self.0.instance_id)
    }

    /// The provider's id of the record.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    /// What the record is to the provider, which decides the legal basis an import rests on.
    async fn origin(&self) -> async_graphql::Result<RecordOrigin> {
        lexgate_connectors::ContactOrigin::parse(&self.0.origin)
            .map(RecordOrigin::from)
            .ok_or_else(|| async_graphql::Error::new("unknown record origin"))
    }

    /// Why it waits: "no legal basis for this origin" or "matches several contacts".
    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The name the provider gives the person or organisation.
    async fn name(&self) -> async_graphql::Result<String> {
        let record = self.0.record().gql()?;
        let parts = [
            record.given_name,
            record.family_name,
            record.organization_name,
        ];
        Ok(parts.into_iter().flatten().collect::<Vec<_>>().join(" "))
    }

    /// The record's email and PEC addresses.
    async fn emails(&self) -> async_graphql::Result<Vec<String>> {
        let record = self.0.record().gql()?;
        Ok(record.emails.into_iter().chain(record.pecs).collect())
    }

    /// The record's phone numbers, as the provider gives them.
    async fn phones(&self) -> async_graphql::Result<Vec<String>> {
        Ok(self.0.record().gql()?.phones)
    }

    /// When the record was queued (UTC, ISO 8601).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    /// When it was decided (UTC, ISO 8601); null while it waits.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at.map(|t| t.and_utc())
    }

    /// `imported`, `dismissed`, or `erased` (the person was erased before the decision).
    async fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }

    /// The contact created by an import decision.
    async fn contact_id(&self) -> Option<ID> {
        self.0
            .contact_id
            .as_deref()
            .map(|id| ids::encode(NodeType::Contact, id))
    }
}

/// A webhook kept at a provider.
pub struct ConnectorWebhook(WebhookRow);

/// A webhook lexgate keeps at a connector instance's provider, announcing the changes of one
/// of its models so that they are synced at once. Admins only.
#[Object]
impl ConnectorWebhook {
    /// The provider's model it announces, e.g. `contact` or `calendar_entry`.
    async fn model(&self) -> Option<&str> {
        Some(&self.0.model)
    }

    /// Whether it delivers: PENDING until the provider's handshake, ACTIVE after it.
    async fn status(&self) -> Option<ConnectorWebhookStatus> {
        Some(self.0.status())
    }

    /// When the provider stops delivering unless it is renewed (UTC, ISO 8601); it is
    /// renewed three days before.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(|at| at.and_utc())
    }

    /// Why the last attempt to create or renew it failed (the provider's answer, no secrets).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}

/// The answer to `createConnectorInstance` and `updateConnectorInstance`.
#[derive(SimpleObject)]
pub struct ConnectorInstancePayload {
    /// The instance as saved.
    pub connector_instance: ConnectorInstance,
}

/// The answer to `startConnectorAuthorization`.
#[derive(SimpleObject)]
pub struct ConnectorAuthorizationPayload {
    /// Send the admin's browser here; the provider redirects back to `/oauth/callback`.
    pub authorization_url: String,
}

/// The answer to `runConnectorSync`.
#[derive(SimpleObject)]
pub struct SyncRunPayload {
    /// The run, as it ended.
    pub run: SyncRun,
}

/// The answer to `resolveSyncReviewItem`.
#[derive(SimpleObject)]
pub struct SyncReviewItemPayload {
    /// The item, now resolved.
    pub item: SyncReviewItem,
}

/// The answer to `pushContactToConnector`.
#[derive(SimpleObject)]
pub struct PushContactPayload {
    /// The provider's id of the contact.
    pub external_id: String,
}

/// Names a connector instance, for `startConnectorAuthorization` and `runConnectorSync`.
#[derive(InputObject)]
pub struct ConnectorInstanceRefInput {
    /// The `ConnectorInstance` ID.
    pub id: ID,
}

/// A contact to send to a connector instance's provider, for `pushContactToConnector`.
#[derive(InputObject)]
pub struct PushContactToConnectorInput {
    /// The `ConnectorInstance` ID.
    pub instance_id: ID,
    /// The `Contact` ID.
    pub contact_id: ID,
}

fn instance_key(id: &ID, field: &str) -> async_graphql::Result<String> {
    ids::decode(NodeType::ConnectorInstance, id, field).gql()
}

#[derive(Default)]
pub struct ConnectorQueries;

#[Object]
impl ConnectorQueries {
    /// Every configured connector instance. Admins only.
    async fn connector_instances(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ConnectorInstance>>> {
        let rows = read(ctx, instances::list).await?;
        Ok(Some(rows.into_iter().map(ConnectorInstance).collect()))
    }

    /// One connector instance by ID. Admins only.
    async fn connector_instance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `ConnectorInstance` ID.")] id: ID,
    ) -> async_graphql::Result<Option<ConnectorInstance>> {
        let key = instance_key(&id, "id")?;
        let row = read(ctx, move |c| instances::get(c, &key)).await?;
        Ok(Some(ConnectorInstance(row)))
    }

    /// Imports waiting for a decision (with `includeResolved`, the decided ones too).
    async fn sync_review_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only items found by this `ConnectorInstance`.")] instance_id: Option<ID>,
        #[graphql(default, desc = "Also list decided items (default false).")]
        include_resolved: bool,
    ) -> async_graphql::Result<Option<Vec<SyncReviewItem>>> {
        let key = instance_id
            .map(|id| instance_key(&id, "instanceId"))
            .transpose()?;
        let rows = read(ctx, move |c| {
            review::list(c, key.as_deref(), include_resolved)
        })
        .await?;
        Ok(Some(rows.into_iter().map(SyncReviewItem).collect()))
    }
}

#[derive(Default)]
pub struct ConnectorMutations;

#[Object]
impl ConnectorMutations {
    /// Configures a new connector instance. Admins only.
    async fn create_connector_instance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instance's kind, provider, credentials and provenance rules.")]
        input: CreateConnectorInstanceInput,
    ) -> async_graphql::Result<Option<ConnectorInstancePayload>> {
        let secrets = state(ctx).sync.secrets().cloned();
        let row = write(ctx, move |c| instances::create(c, secrets.as_ref(), input)).await?;
        state(ctx).sync.webhooks_changed(&row).await;
        Ok(Some(ConnectorInstancePayload {
            connector_instance: ConnectorInstance(row),
        }))
    }

    /// Fields left out stay; secrets given replace the stored ones.
    async fn update_connector_instance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instance's ID and the fields to change.")]
        input: UpdateConnectorInstanceInput,
    ) -> async_graphql::Result<Option<ConnectorInstancePayload>> {
        let key = instance_key(&input.id, "input.id")?;
        let secrets = state(ctx).sync.secrets().cloned();
        let row = write(ctx, move |c| {
            instances::update(c, secrets.as_ref(), &key, input)
        })
        .await?;
        state(ctx).sync.webhooks_changed(&row).await;
        Ok(Some(ConnectorInstancePayload {
            connector_instance: ConnectorInstance(row),
        }))
    }

    /// Deletes the instance with its links, cursors and runs; imported contacts stay.
    async fn delete_connector_instance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `ConnectorInstance` ID.")] input: DeleteInput,
    ) -> async_graphql::Result<Option<DeletePayload>> {
        let key = instance_key(&input.id, "input.id")?;
        write(ctx, move |c| instances::delete(c, &key)).await?;
        Ok(Some(DeletePayload {
            deleted_id: input.id,
        }))
    }

    /// Starts the OAuth authorisation of the instance (code flow with PKCE and state).
    async fn start_connector_authorization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instance to authorise.")] input: ConnectorInstanceRefInput,
    ) -> async_graphql::Result<Option<ConnectorAuthorizationPayload>> {
        let key = instance_key(&input.id, "input.id")?;
        let started_by = access(ctx).user_id().map(str::to_owned);
        let url = state(ctx)
            .sync
            .start_authorization(&key, started_by)
            .await
            .gql()?;
        Ok(Some(ConnectorAuthorizationPayload {
            authorization_url: url,
        }))
    }

    /// Runs a sync of the instance now and returns its run.
    async fn run_connector_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instance to sync.")] input: ConnectorInstanceRefInput,
    ) -> async_graphql::Result<Option<SyncRunPayload>> {
        let key = instance_key(&input.id, "input.id")?;
        let log = crate::graphql::context::change_log(ctx);
        let run = state(ctx)
            .sync
            .sync(&key, "manual", &|_| {}, log.as_ref())
            .await;
        crate::graphql::context::change_log_done(ctx, log.as_ref());
        let run = run.map_err(sync_error)?;
        Ok(Some(SyncRunPayload { run: SyncRun(run) }))
    }

    /// Sends a contact to the instance's provider and records the disclosure; restricted
    /// contacts are refused.
    async fn push_contact_to_connector(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instance and the contact.")] input: PushContactToConnectorInput,
    ) -> async_graphql::Result<Option<PushContactPayload>> {
        let instance = instance_key(&input.instance_id, "input.instanceId")?;
        let contact = ids::decode(NodeType::Contact, &input.contact_id, "input.contactId").gql()?;
        let log = crate::graphql::context::change_log(ctx);
        let pushed = state(ctx)
            .sync
            .push_contact(&instance, &contact, log.as_ref())
            .await;
        crate::graphql::context::change_log_done(ctx, log.as_ref());
        if pushed.is_err() {
            // Logged at the end of the request, as a failed change is.
            access(ctx).trail.wrote_subject(&contact);
        }
        let external_id = pushed.gql()?;
        Ok(Some(PushContactPayload { external_id }))
    }

    /// Decides a review item: import it on the basis given, or dismiss it.
    async fn resolve_sync_review_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item, the decision and, to import, the basis.")]
        input: ResolveSyncReviewItemInput,
    ) -> async_graphql::Result<Option<SyncReviewItemPayload>> {
        let key = ids::decode(NodeType::SyncReviewItem, &input.id, "input.id").gql()?;
        let sync = state(ctx).sync.clone();
        let reviewer = access(ctx).user_id().map(str::to_owned);
        let row = write_about(
            ctx,
            move |c| {
                review::resolve(
                    c,
                    sync.rules(),
                    sync.erasure().as_ref(),
                    &key,
                    input,
                    reviewer.as_deref(),
                )
            },
            |row: &ReviewRow| row.contact_id.iter().cloned().collect(),
        )
        .await?;
        Ok(Some(SyncReviewItemPayload {
            item: SyncReviewItem(row),
        }))
    }
}

/// A sync that could not start is the caller's problem when busy or disabled.
fn sync_error(error: SyncError) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    match error {
        SyncError::Database(error) => error.extend(),
        SyncError::Busy => crate::error::Error::Conflict {
            field: Some("input.id".into()),
            message: error.to_string(),
        }
        .extend(),
        SyncError::Disabled | SyncError::Setup(_) => {
            crate::error::Error::invalid("input.id", error.to_string()).extend()
        }
    }
}
