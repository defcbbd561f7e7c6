//! The sync engine as the server and the CLI use it: syncs by instance, scheduled syncs,
//! pushes, the OAuth authorisation of an instance, and inbound webhooks.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use lexgate_connectors::clio;
use lexgate_connectors::http::HttpPolicy;
use lexgate_connectors::secrets::SecretBox;
use lexgate_connectors::webhook::{self, SignatureError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::billing::{self, Billed};
use super::erasure::ErasureRegister;
use super::instances::{self, InstanceRow};
use super::remote_webhooks::{self, ClaimedWebhook, HookToken};
use super::runs::{self, Counts, RunRow};
use super::{folders, push, webhooks, ConnectorRuntime, SyncEngine, SyncError};
use crate::audit::ChangeLog;
use crate::contacts::ContactRules;
use crate::db::schema::oauth_pending;
use crate::db::{now, Database};
use crate::error::{Error, Result};

/// How long an authorisation may take between start and callback.
const AUTHORIZATION_TTL_MINUTES: i64 = 10;

/// How often the scheduler looks for instances due.
const SCHEDULER_TICK: Duration = Duration::from_secs(30);

pub struct SyncService {
    db: Database,
    engine: SyncEngine,
    runtime: ConnectorRuntime,
    rules: ContactRules,
    erasure: Arc<dyn ErasureRegister>,
    webhook_tolerance_seconds: i64,
    access_log: bool,
    /// `public_url` when configured: the base of the URLs of webhooks registered at providers.
    public_url: Option<String>,
}

/// What became of a webhook delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A sync of the changes was started.
    Accepted,
    /// The event was delivered before; nothing to do.
    Duplicate,
    /// A provider's handshake (Clio's `X-Hook-Secret`) activated a webhook of ours: the
    /// answer echoes the secret, as the provider requires.
    Handshake(EchoedSecret),
}

/// The query of a webhook's URL (Clio's): the model the webhook announces and the token it
/// was created with. No `Debug`: the token is a credential.
#[derive(Clone, Copy)]
pub struct HookAddress<'a> {
    pub model: Option<&'a str>,
    pub token: Option<&'a str>,
}

/// A handshake's secret, to echo once; never printed.
#[derive(PartialEq, Eq)]
pub struct EchoedSecret(pub String);

impl std::fmt::Debug for EchoedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EchoedSecret(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no connector instance takes webhooks here")]
    Unknown,
    #[error("invalid signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("the event has no id")]
    Malformed,
    #[error("no webhook of this instance awaits a handshake")]
    NoHandshakeAwaited,
    #[error("the webhook URL's token is missing or wrong")]
    Token,
    #[error(transparent)]
    Database(#[from] Error),
}

/// An inbound event: lexgate's own format names it `event_id`, Stripe's `id`.
#[derive(Deserialize)]
struct WebhookEvent {
    event_id: Option<String>,
    id: Option<String>,
}

pub struct SyncSetup {
    pub rules: ContactRules,
    pub erasure: Arc<dyn ErasureRegister>,
    pub secrets: Option<SecretBox>,
    pub redirect_url: String,
    pub webhook_tolerance_seconds: i64,
    pub policy: HttpPolicy,
    /// Whether the access log is kept: syncs without a request then log each page's changes
    /// as a `system` principal naming the trigger and the instance.
    pub access_log: bool,
    /// `public_url`, when configured: webhooks are registered at providers (Clio) only then,
    /// as `{public_url}/webhooks/{instance}?model={model}&token={token}`.
    pub public_url: Option<String>,
}

impl SyncService {
    pub fn new(db: Database, setup: SyncSetup) -> SyncService {
        SyncService {
            engine: SyncEngine::new(db.clone(), setup.rules.clone(), setup.erasure.clone()),
            runtime: ConnectorRuntime::new(
                db.clone(),
                setup.secrets,
                setup.policy,
                setup.redirect_url,
            ),
            db,
            rules: setup.rules,
            erasure: setup.erasure,
            webhook_tolerance_seconds: setup.webhook_tolerance_seconds,
            access_log: setup.access_log,
            public_url: setup
                .public_url
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
        }
    }

    pub fn rules(&self) -> &ContactRules {
        &self.rules
    }

    pub fn erasure(&self) -> Arc<dyn ErasureRegister> {
        self.erasure.clone()
    }

    pub fn secrets(&self) -> Option<&SecretBox> {
        self.runtime.secrets()
    }

    /// Syncs the instance with this id; `log`, when given, appends each page's access-log
    /// entry in the page's transaction.
    pub async fn sync(
        &self,
        instance_id: &str,
        trigger: &str,
        progress: &(dyn Fn(&Counts) + Send + Sync),
        log: Option<&ChangeLog>,
    ) -> Result<RunRow, SyncError> {
        let id = instance_id.to_owned();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let connector = self.runtime.connector(&instance)?;
        self.engine
            .run_logged(&instance, connector.as_ref(), trigger, progress, log)
            .await
    }

    /// Syncs `instance` for no request (`trigger`: `"schedule"`, `"webhook"`, `"cli"`): each
    /// page's access-log entry names the `system` principal `"<trigger>:<instance name>"`.
    pub async fn sync_instance(
        &self,
        instance: &InstanceRow,
        trigger: &str,
        progress: &(dyn Fn(&Counts) + Send + Sync),
    ) -> Result<RunRow, SyncError> {
        let connector = self.runtime.connector(instance)?;
        let log = self.access_log.then(|| {
            ChangeLog::system(
                format!("{trigger}:{}", instance.name),
                &format!("{trigger} sync"),
                "Mutation.runConnectorSync",
            )
        });
        self.engine
            .run_logged(
                instance,
                connector.as_ref(),
                trigger,
                progress,
                log.as_ref(),
            )
            .await
    }

    /// Pushes a contact to the instance's provider (recording the disclosure, with its
    /// access-log entry when `log` is given).
    pub async fn push_contact(
        &self,
        instance_id: &str,
        contact_id: &str,
        log: Option<&ChangeLog>,
    ) -> Result<String> {
        let id = instance_id.to_owned();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let connector = self
            .runtime
            .connector(&instance)
            .map_err(|e| Error::invalid("input.instanceId", e.to_string()))?;
        push::push_contact_logged(&self.db, &instance, connector.as_ref(), contact_id, log).await
    }

    /// Pushes the matter's unbilled billable time to the instance's billing system as invoice
    /// items and an invoice (resuming an unfinished bill of the matter first), holding the
    /// instance's lease so that no sync or other bill runs meanwhile.
    pub async fn bill_matter(&self, instance_id: &str, matter_id: &str) -> Result<Billed> {
        let id = instance_id.to_owned();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let connector = self
            .runtime
            .connector(&instance)
            .map_err(|e| Error::invalid("input.instanceId", e.to_string()))?;
        billing::bill_matter(
            &self.db,
            &instance,
            connector.as_ref(),
            matter_id,
            self.engine.holder(),
            self.engine.lease_ttl(),
        )
        .await
    }

    /// Starts the instance's OAuth authorisation: the URL to send the admin to. The state
    /// is kept hashed and the PKCE verifier sealed until the callback.
    pub async fn start_authorization(
        &self,
        instance_id: &str,
        started_by: Option<String>,
    ) -> Result<String> {
        let secrets = self.secrets().cloned().ok_or_else(|| {
            Error::invalid(
                "input.id",
                "configure secrets_keys and secrets_key_id first",
            )
        })?;
        let id = instance_id.to_owned();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let credentials = instance.credentials(&secrets)?;
        let app = instance.oauth_app(&credentials, self.runtime.redirect_url())?;
        let start = app
            .start()
            .map_err(|e| Error::invalid("input.id", e.to_string()))?;
        let state_hash = hash_state(&start.state);
        let sealed = secrets
            .seal(
                start.pkce_verifier.as_bytes(),
                &format!("oauth_pending:{state_hash}"),
            )
            .map_err(|e| Error::Internal(e.to_string()))?;
        let instance_id = instance.id.clone();
        self.db
            .transaction(move |conn| {
                diesel::delete(oauth_pending::table.filter(oauth_pending::expires_at.lt(now())))
                    .execute(conn)?;
                diesel::insert_into(oauth_pending::table)
                    .values((
                        oauth_pending::state_hash.eq(&state_hash),
                        oauth_pending::instance_id.eq(&instance_id),
                        oauth_pending::pkce_verifier.eq(&sealed),
                        oauth_pending::started_by.eq(&started_by),
                        oauth_pending::expires_at
                            .eq(now() + chrono::Duration::minutes(AUTHORIZATION_TTL_MINUTES)),
                    ))
                    .execute(conn)?;
                Ok(())
            })
            .await?;
        Ok(start.url)
    }

    /// The provider's callback: checks the state (once), exchanges the code with the kept
    /// verifier and seals the tokens into the instance.
    pub async fn finish_authorization(&self, state: &str, code: &str) -> Result<InstanceRow> {
        let secrets = self
            .secrets()
            .cloned()
            .ok_or_else(|| Error::Unavailable("connector secrets are not configured".into()))?;
        let state_hash = hash_state(state);
        let lookup = state_hash.clone();
        // Taken and deleted in one transaction: a state works once.
        let pending = self
            .db
            .transaction(move |conn| {
                let row: Option<(String, String, chrono::NaiveDateTime)> = oauth_pending::table
                    .find(&lookup)
                    .select((
                        oauth_pending::instance_id,
                        oauth_pending::pkce_verifier,
                        oauth_pending::expires_at,
                    ))
                    .first(conn)
                    .optional()?;
                diesel::delete(oauth_pending::table.find(&lookup)).execute(conn)?;
                Ok(row)
            })
            .await?;
        let Some((instance_id, sealed, _)) = pending.filter(|(_, _, expires)| *expires > now())
        else {
            return Err(Error::invalid("state", "unknown or expired authorisation"));
        };
        let verifier = secrets
            .open(&sealed, &format!("oauth_pending:{state_hash}"))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let verifier = String::from_utf8(verifier).map_err(|e| Error::Internal(e.to_string()))?;
        let id = instance_id.clone();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let credentials = instance.credentials(&secrets)?;
        let app = instance.oauth_app(&credentials, self.runtime.redirect_url())?;
        let http = lexgate_connectors::oauth::token_http_client()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let tokens = app
            .exchange(&http, code, &verifier)
            .await
            .map_err(|e| Error::invalid("code", e.to_string()))?;
        let id = instance_id.clone();
        let row = self
            .db
            .transaction(move |conn| {
                instances::save_tokens(conn, &secrets, &id, &tokens)?;
                instances::get(conn, &id)
            })
            .await?;
        self.runtime.forget(&instance_id);
        Ok(row)
    }

    /// The URL a provider's webhook for `model` created with `token` posts to, when
    /// `public_url` is configured.
    fn webhook_url(
        &self,
        instance: &InstanceRow,
        model: &str,
        token: &HookToken,
    ) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let mut url = reqwest::Url::parse(&format!("{base}/webhooks/")).ok()?;
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .push(&instance.name);
        url.query_pairs_mut()
            .append_pair("model", model)
            .append_pair("token", token.as_str());
        Some(url.to_string())
    }

    /// One round of webhook upkeep at `at` (of `instance_id` only, when given): adds the
    /// webhooks enabled, authorised instances lack, then creates or renews those due that
    /// this replica claims. Needs `public_url`. Answers how many were created or renewed;
    /// failures are recorded on their webhook, which a later round retries.
    pub async fn maintain_webhooks(
        &self,
        at: chrono::NaiveDateTime,
        instance_id: Option<String>,
    ) -> Result<usize> {
        if self.public_url.is_none() {
            return Ok(0);
        }
        let wanted = instance_id.clone();
        let instances = self
            .db
            .run(move |c| {
                Ok(instances::list(c)?
                    .into_iter()
                    .filter(|i| i.enabled && wanted.as_ref().is_none_or(|w| *w == i.id))
                    .collect::<Vec<_>>())
            })
            .await?;
        for instance in &instances {
            // Not authorised yet, or no webhooks: nothing to keep.
            let Ok(connector) = self.runtime.connector(instance) else {
                continue;
            };
            let models = connector.webhook_models();
            if models.is_empty() {
                continue;
            }
            let id = instance.id.clone();
            let added = self
                .db
                .transaction(move |c| remote_webhooks::ensure(c, &id, models, at))
                .await;
            if let Err(error) = added {
                // Another replica added them at the same moment.
                tracing::debug!(instance = %instance.name, %error, "webhooks not added");
            }
        }
        let holder = self.engine.holder().to_owned();
        let claimed = self
            .db
            .run(move |c| remote_webhooks::claim_due(c, &holder, instance_id.as_deref(), at))
            .await?;
        let mut done = 0;
        for claim in claimed {
            let Some(instance) = instances.iter().find(|i| i.id == claim.row.instance_id) else {
                continue;
            };
            if self.keep_webhook(instance, &claim, at).await? {
                done += 1;
            }
        }
        Ok(done)
    }

    /// Creates (again) or renews one claimed webhook and records the outcome; answers whether
    /// it succeeded.
    async fn keep_webhook(
        &self,
        instance: &InstanceRow,
        claim: &ClaimedWebhook,
        at: chrono::NaiveDateTime,
    ) -> Result<bool> {
        let row = &claim.row;
        let expires_at = (at + remote_webhooks::LIFETIME).and_utc();
        let outcome = match self.runtime.connector(instance) {
            Err(error) => Err((error.to_string(), false)),
            Ok(connector) => match (&claim.token, &row.remote_id) {
                (Some(token), stale) => {
                    if let Some(stale) = stale {
                        // Its handshake never came: replaced by a new one.
                        if let Err(error) = connector.delete_webhook(stale).await {
                            tracing::warn!(instance = %instance.name, %error, "stale webhook not deleted");
                        }
                    }
                    match self.webhook_url(instance, &row.model, token) {
                        Some(url) => connector
                            .create_webhook(&url, &row.model, expires_at)
                            .await
                            .map_err(|e| (e.to_string(), false)),
                        None => Err(("the webhook URL cannot be built".to_owned(), false)),
                    }
                }
                (None, Some(id)) => connector.renew_webhook(id, expires_at).await.map_err(|e| {
                    // Clio no longer has it: the next attempt creates one.
                    let gone = matches!(e, lexgate_connectors::ConnectorError::Rejected(_));
                    (e.to_string(), gone)
                }),
                // Claimed for a renewal without an id: cannot happen (`renewable`); forget it
                // so that it is created again.
                (None, None) => Err(("the webhook has no id to renew".to_owned(), true)),
            },
        };
        let (id, model, renewal) = (
            row.instance_id.clone(),
            row.model.clone(),
            claim.token.is_none(),
        );
        match outcome {
            Ok(remote) => {
                self.db
                    .run(move |c| {
                        if renewal {
                            remote_webhooks::renewed(c, &id, &model, &remote, at)
                        } else {
                            remote_webhooks::created(c, &id, &model, &remote, at)
                        }
                    })
                    .await?;
                Ok(true)
            }
            Err((error, forget)) => {
                tracing::warn!(instance = %instance.name, model = %row.model, %error, "webhook not kept; it will be retried");
                self.db
                    .run(move |c| remote_webhooks::failed(c, &id, &model, &error, forget, at))
                    .await?;
                Ok(false)
            }
        }
    }

    /// Deletes a (disabled) instance's webhooks at the provider and forgets them.
    pub async fn drop_webhooks(&self, instance_id: &str) -> Result<()> {
        let id = instance_id.to_owned();
        let instance = self.db.run(move |c| instances::get(c, &id)).await?;
        let id = instance_id.to_owned();
        let remote = self
            .db
            .transaction(move |c| remote_webhooks::forget_all(c, &id))
            .await?;
        if remote.is_empty() {
            return Ok(());
        }
        let connector = self
            .runtime
            .connector(&instance)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        for id in remote {
            if let Err(error) = connector.delete_webhook(&id).await {
                tracing::warn!(instance = %instance.name, %error, "webhook not deleted at the provider; it ends at its expiry");
            }
        }
        Ok(())
    }

    /// After an instance was created, changed or authorised: registers its webhooks at the
    /// provider when it is enabled, or deletes them there when it is not. Never fails the
    /// caller: a failure is logged, and recorded on the webhook for the scheduler to retry.
    pub async fn webhooks_changed(&self, instance: &InstanceRow) {
        let outcome = if instance.enabled {
            self.maintain_webhooks(now(), Some(instance.id.clone()))
                .await
                .map(|_| ())
        } else {
            self.drop_webhooks(&instance.id).await
        };
        if let Err(error) = outcome {
            tracing::warn!(instance = %instance.name, %error, "cannot bring the instance's webhooks up to date");
        }
    }

    /// An inbound webhook: the signature is checked on the raw body before anything parses
    /// it; a first delivery starts an incremental sync in the background. `header` reads a
    /// request header by its (lower-case) name: the signature's header depends on the
    /// instance's kind (`Stripe-Signature` for stripe).
    pub async fn receive_webhook(
        self: &Arc<Self>,
        instance_name: &str,
        address: &HookAddress<'_>,
        header: &(dyn Fn(&str) -> Option<String> + Send + Sync),
        body: &[u8],
    ) -> Result<WebhookOutcome, WebhookError> {
        let name = instance_name.to_owned();
        let instance = match self.db.run(move |c| instances::by_name(c, &name)).await {
            Ok(instance) => instance,
            Err(Error::NotFound { .. }) => return Err(WebhookError::Unknown),
            Err(other) => return Err(other.into()),
        };
        if instance.kind == clio::KIND {
            return self.receive_clio(instance, address, header, body).await;
        }
        let secret = match self.secrets() {
            Some(secrets) => instance.webhook_secret(secrets)?,
            None => None,
        };
        let Some(secret) = secret.filter(|_| instance.enabled) else {
            return Err(WebhookError::Unknown);
        };
        let stripe = instance.kind == lexgate_connectors::stripe::KIND;
        let signature = header(if stripe {
            webhook::STRIPE_SIGNATURE_HEADER
        } else {
            webhook::SIGNATURE_HEADER
        })
        .ok_or(SignatureError::Malformed)?;
        webhook::verify(
            &secret,
            &signature,
            body,
            chrono::Utc::now().timestamp(),
            self.webhook_tolerance_seconds,
        )?;
        let event: WebhookEvent =
            serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
        let event_id = if stripe { event.id } else { event.event_id };
        let Some(event_id) = event_id.filter(|e| !e.trim().is_empty()) else {
            return Err(WebhookError::Malformed);
        };
        self.first_delivery_syncs(instance, event_id).await
    }

    /// Records the event once per instance; a first delivery starts a sync in the background.
    async fn first_delivery_syncs(
        self: &Arc<Self>,
        instance: InstanceRow,
        event_id: String,
    ) -> Result<WebhookOutcome, WebhookError> {
        let id = instance.id.clone();
        let first = self
            .db
            .transaction(move |c| webhooks::first_delivery(c, &id, &event_id))
            .await?;
        if !first {
            return Ok(WebhookOutcome::Duplicate);
        }
        let service = self.clone();
        tokio::spawn(async move {
            service.sync_when_free(&instance, "webhook").await;
        });
        Ok(WebhookOutcome::Accepted)
    }

    /// Clio: the handshake (`X-Hook-Secret`) of a webhook of ours that awaits one, its secret
    /// sealed; or a delivery, its `X-Hook-Signature` checked in constant time on the raw body
    /// under that secret before anything parses it. The URL's query names the webhook
    /// (`model`) and must carry the token it was created with (`token`), or nothing is
    /// accepted.
    async fn receive_clio(
        self: &Arc<Self>,
        instance: InstanceRow,
        address: &HookAddress<'_>,
        header: &(dyn Fn(&str) -> Option<String> + Send + Sync),
        body: &[u8],
    ) -> Result<WebhookOutcome, WebhookError> {
        let secrets = self.secrets().cloned().ok_or(WebhookError::Unknown)?;
        let Some(model) = address
            .model
            .filter(|m| clio::HOOK_MODELS.contains(m) && instance.enabled)
        else {
            return Err(WebhookError::Unknown);
        };
        let context = remote_webhooks::secret_context(&instance.id, model);
        let (id, model) = (instance.id.clone(), model.to_owned());
        let keys = {
            let (id, model) = (id.clone(), model.clone());
            self.db
                .run(move |c| remote_webhooks::keys(c, &id, &model))
                .await?
                .ok_or(WebhookError::Unknown)?
        };
        if !keys.token_matches(address.token) {
            return Err(WebhookError::Token);
        }
        if let Some(secret) = header(clio::HOOK_SECRET_HEADER) {
            if secret.trim().is_empty() || secret.len() > 1024 {
                return Err(WebhookError::Malformed);
            }
            let sealed = secrets
                .seal(secret.as_bytes(), &context)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let activated = self
                .db
                .run(move |c| remote_webhooks::activate(c, &id, &model, &keys, &sealed, now()))
                .await?;
            return if activated {
                Ok(WebhookOutcome::Handshake(EchoedSecret(secret)))
            } else {
                Err(WebhookError::NoHandshakeAwaited)
            };
        }
        let signature = header(clio::HOOK_SIGNATURE_HEADER).ok_or(SignatureError::Malformed)?;
        let sealed = keys.secret.ok_or(WebhookError::Unknown)?;
        let secret = secrets
            .open(&sealed, &context)
            .map_err(|e| Error::Internal(e.to_string()))?;
        if !clio::verify_hook_signature(&secret, &signature, body) {
            return Err(SignatureError::Mismatch.into());
        }
        let event = clio::parse_hook(body).ok_or(WebhookError::Malformed)?;
        self.first_delivery_syncs(instance, event.delivery_id).await
    }

    /// Syncs, waiting a little for a sync already running elsewhere to end (its last page
    /// may predate the change that was announced).
    async fn sync_when_free(&self, instance: &InstanceRow, trigger: &str) {
        for attempt in 0..6u32 {
            match self.sync_instance(instance, trigger, &|_| {}).await {
                Err(SyncError::Busy) => {
                    tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await
                }
                Err(error) => {
                    tracing::warn!(instance = %instance.name, %error, "sync failed");
                    return;
                }
                Ok(_) => return,
            }
        }
        tracing::warn!(instance = %instance.name, "another sync of the instance kept running; the change waits for the next sync");
    }

    /// Makes the case-file folders due (only `matter_id`'s, right after that matter was
    /// opened); answers how many were made. A failure is recorded on its request, which a
    /// later round retries; it never fails the caller.
    pub async fn make_due_folders(&self, matter_id: Option<String>) -> Result<usize> {
        let holder = self.engine.holder().to_owned();
        let claimed = self
            .db
            .run(move |c| folders::claim_due(c, &holder, matter_id.as_deref()))
            .await?;
        let mut made = 0;
        for request in claimed {
            let outcome = self.make_folder(&request).await;
            let folders::ClaimedFolder {
                instance_id,
                matter_id,
                folder,
            } = request;
            match outcome {
                Ok(()) => {
                    self.db
                        .run(move |c| folders::made(c, &instance_id, &matter_id))
                        .await?;
                    made += 1;
                }
                Err(error) => {
                    tracing::warn!(instance = %instance_id, matter = %folder.reference, %error, "matter folder not made; it will be retried");
                    self.db
                        .run(move |c| folders::failed(c, &instance_id, &matter_id, &error))
                        .await?;
                }
            }
        }
        Ok(made)
    }

    async fn make_folder(&self, request: &folders::ClaimedFolder) -> Result<(), String> {
        let id = request.instance_id.clone();
        let instance = self
            .db
            .run(move |c| instances::get(c, &id))
            .await
            .map_err(|e| e.to_string())?;
        let connector = self
            .runtime
            .connector(&instance)
            .map_err(|e| e.to_string())?;
        let span =
            crate::sync::connector_span(connector.as_ref(), &instance.name, "push", "folders");
        connector
            .make_matter_folder(&request.folder)
            .instrument(span)
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs the scheduled syncs of every enabled instance with a schedule, for the life of
    /// the process.
    pub fn spawn_scheduler(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SCHEDULER_TICK);
            loop {
                tick.tick().await;
                let service = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = service.make_due_folders(None).await {
                        tracing::warn!(%error, "cannot make the matter folders due");
                    }
                });
                let service = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = service.maintain_webhooks(now(), None).await {
                        tracing::warn!(%error, "cannot keep the providers' webhooks");
                    }
                });
                match self.due_instances().await {
                    Ok(due) => {
                        for instance in due {
                            let service = self.clone();
                            tokio::spawn(async move {
                                match service.sync_instance(&instance, "schedule", &|_| {}).await {
                                    Ok(_) | Err(SyncError::Busy) => {}
                                    Err(error) => {
                                        tracing::warn!(instance = %instance.name, %error, "scheduled sync failed")
                                    }
                                }
                            });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot read the sync schedule"),
                }
            }
        })
    }

    /// Enabled instances whose last run started longer ago than their schedule.
    async fn due_instances(&self) -> Result<Vec<InstanceRow>> {
        self.db
            .run(|conn| {
                let mut due = Vec::new();
                for instance in instances::list(conn)? {
                    let Some(minutes) = instance.schedule_minutes.filter(|_| instance.enabled)
                    else {
                        continue;
                    };
                    let last = runs::latest(conn, &instance.id, 1)?;
                    let next = last
                        .first()
                        .map(|r| r.started_at + chrono::Duration::minutes(minutes.into()));
                    if next.is_none_or(|at| at <= now()) {
                        due.push(instance);
                    }
                }
                Ok(due)
            })
            .await
    }
}

fn hash_state(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}
