//! Turning a configured instance into a working connector: its secrets opened, one HTTP
//! client (and so one rate limiter) and one token manager (one refresh in flight) per
//! instance for the life of the process, rotated tokens sealed back into the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lexgate_connectors::caldav::{self, CalDavConfig, CalDavConnector};
use lexgate_connectors::clio::{self, ClioConnector};
use lexgate_connectors::gmail::{self, GmailConnector};
use lexgate_connectors::google_calendar::{self, GoogleCalendarConnector};
use lexgate_connectors::graph_calendar::{self, GraphCalendarConnector};
use lexgate_connectors::graph_mail::{self, GraphMailConnector};
use lexgate_connectors::http::{HttpClient, HttpPolicy};
use lexgate_connectors::imap::{self, ImapConnector, ImapLogin, ImapSettings};
use lexgate_connectors::json_feed::{self, JsonFeedConnector};
use lexgate_connectors::oauth::{AuthorizedClient, TokenManager, TokenSet, TokenStore};
use lexgate_connectors::secrets::SecretBox;
use lexgate_connectors::stripe::{self, StripeConnector};
use lexgate_connectors::webdav::{self, WebDavConfig, WebDavConnector};
use lexgate_connectors::{BoxFuture, Connector};

use super::instances::{self, ConnectorLogin, InstanceRow};
use super::SyncError;
use crate::db::Database;

/// Seals refreshed (possibly rotated) tokens into the instance's credentials, and reads
/// back those another process refreshed.
struct DbTokenStore {
    db: Database,
    secrets: SecretBox,
    instance_id: String,
}

impl TokenStore for DbTokenStore {
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), String>> {
        let (secrets, id, tokens) = (
            self.secrets.clone(),
            self.instance_id.clone(),
            tokens.clone(),
        );
        Box::pin(async move {
            self.db
                .transaction(move |conn| instances::save_tokens(conn, &secrets, &id, &tokens))
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, String>> {
        let (secrets, id) = (self.secrets.clone(), self.instance_id.clone());
        Box::pin(async move {
            self.db
                .run(move |conn| Ok(instances::get(conn, &id)?.credentials(&secrets)?.tokens))
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A built connector and the configuration stamp (`updated_at`) it was built from.
type Built = (chrono::NaiveDateTime, Arc<dyn Connector>);

/// The connectors of this process, built on first use and rebuilt when their configuration
/// changes.
pub struct ConnectorRuntime {
    db: Database,
    secrets: Option<SecretBox>,
    policy: HttpPolicy,
    /// The OAuth redirect URI of this server (`{public_url}/oauth/callback`).
    redirect_url: String,
    built: Mutex<HashMap<String, Built>>,
}

impl ConnectorRuntime {
    pub fn new(
        db: Database,
        secrets: Option<SecretBox>,
        policy: HttpPolicy,
        redirect_url: String,
    ) -> ConnectorRuntime {
        ConnectorRuntime {
            db,
            secrets,
            policy,
            redirect_url,
            built: Mutex::new(HashMap::new()),
        }
    }

    pub fn secrets(&self) -> Option<&SecretBox> {
        self.secrets.as_ref()
    }

    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    /// The instance's connector, reused while its configuration is unchanged.
    pub fn connector(&self, instance: &InstanceRow) -> Result<Arc<dyn Connector>, SyncError> {
        let mut built = self
            .built
            .lock()
            .map_err(|_| SyncError::Setup("connector cache poisoned".into()))?;
        if let Some((stamp, connector)) = built.get(&instance.id) {
            if *stamp == instance.updated_at {
                return Ok(connector.clone());
            }
        }
        let connector = self.build(instance)?;
        built.insert(
            instance.id.clone(),
            (instance.updated_at, connector.clone()),
        );
        Ok(connector)
    }

    /// Drops the built connector (after new tokens were stored by an authorisation).
    pub fn forget(&self, instance_id: &str) {
        if let Ok(mut built) = self.built.lock() {
            built.remove(instance_id);
        }
    }

    fn build(&self, instance: &InstanceRow) -> Result<Arc<dyn Connector>, SyncError> {
        let secrets = self.secrets.clone().ok_or_else(|| {
            SyncError::Setup("no secrets key is configured (secrets_keys, secrets_key_id)".into())
        })?;
        let credentials = instance.credentials(&secrets)?;
        let settings = instance.settings()?;
        let tokens = if settings.uses_oauth(&instance.kind) {
            let Some(tokens) = credentials.tokens.clone() else {
                return Err(SyncError::Setup(
                    "the connector is not authorised yet (start its OAuth authorisation)".into(),
                ));
            };
            let app = instance.oauth_app(&credentials, &self.redirect_url)?;
            let store = Arc::new(DbTokenStore {
                db: self.db.clone(),
                secrets,
                instance_id: instance.id.clone(),
            });
            Some(Arc::new(
                TokenManager::new(app, tokens, store)
                    .map_err(|e| SyncError::Setup(e.to_string()))?,
            ))
        } else {
            None
        };
        if instance.kind == imap::KIND {
            let login = match (settings.login, tokens) {
                (ConnectorLogin::Password, _) => {
                    ImapLogin::Password(credentials.password.clone().ok_or_else(|| {
                        SyncError::Setup("no password is stored for this instance".into())
                    })?)
                }
                (ConnectorLogin::Xoauth2, Some(tokens)) => ImapLogin::Xoauth2(tokens),
                (ConnectorLogin::Oauthbearer, Some(tokens)) => ImapLogin::OauthBearer(tokens),
                (_, None) => return Err(SyncError::Setup("no OAuth tokens".into())),
            };
            let (host, port, security) =
                ImapSettings::endpoint(&instance.base_url, settings.plaintext)
                    .map_err(SyncError::Setup)?;
            let extra_roots = match &settings.ca_certificate {
                Some(pem) => imap::certificates_from_pem(pem).map_err(SyncError::Setup)?,
                None => Vec::new(),
            };
            let connector = ImapConnector::new(ImapSettings {
                host,
                port,
                security,
                username: settings.username.clone().unwrap_or_default(),
                login,
                folders: settings.folders.clone(),
                page_size: settings.page_size,
                extra_roots,
                max_connections: imap::DEFAULT_MAX_CONNECTIONS,
                // A throttled pull is retried like a throttled HTTP request.
                retries: self.policy.max_retries,
                base_backoff: self.policy.base_backoff,
                max_backoff: self.policy.max_backoff,
            })
            .map_err(SyncError::Setup)?;
            return Ok(Arc::new(connector));
        }
        let mut policy = self.policy.clone();
        if let Some(rate) = settings.rate_limit {
            policy.requests_per_second = Some(rate);
        }
        if instance.kind == caldav::KIND {
            let password = credentials.password.clone().ok_or_else(|| {
                SyncError::Setup("no password is stored for this instance".into())
            })?;
            let connector = CalDavConnector::new(
                CalDavConfig {
                    calendar_url: instance.base_url.clone(),
                    username: settings.username.clone(),
                    password: Some(password),
                    past_days: settings.past_days,
                    future_days: settings.future_days,
                    batch_size: settings.page_size as usize,
                },
                dav_client(policy, &settings)?,
            )
            .map_err(|e| SyncError::Setup(e.to_string()))?;
            return Ok(Arc::new(connector));
        }
        if instance.kind == webdav::KIND {
            let password = credentials.password.clone().ok_or_else(|| {
                SyncError::Setup("no password is stored for this instance".into())
            })?;
            let connector = WebDavConnector::new(
                WebDavConfig {
                    root_url: instance.base_url.clone(),
                    username: settings.username.clone(),
                    password: Some(password),
                },
                dav_client(policy, &settings)?,
            )
            .map_err(|e| SyncError::Setup(e.to_string()))?;
            return Ok(Arc::new(connector));
        }
        if instance.kind == stripe::KIND {
            let api_key = credentials
                .api_key
                .clone()
                .ok_or_else(|| SyncError::Setup("no API key is stored for this instance".into()))?;
            let http = HttpClient::new(policy).map_err(|e| SyncError::Setup(e.to_string()))?;
            return Ok(Arc::new(StripeConnector::new(
                &instance.base_url,
                &api_key,
                http,
                settings.page_size,
            )));
        }
        let tokens = tokens.ok_or_else(|| SyncError::Setup("no OAuth tokens".into()))?;
        let client = AuthorizedClient {
            http: HttpClient::new(policy).map_err(|e| SyncError::Setup(e.to_string()))?,
            tokens,
        };
        match instance.kind.as_str() {
            json_feed::KIND => Ok(Arc::new(JsonFeedConnector::new(
                &instance.base_url,
                client,
                settings.page_size,
            ))),
            graph_mail::KIND => Ok(Arc::new(
                GraphMailConnector::new(
                    &instance.base_url,
                    client,
                    settings.folders.clone(),
                    settings.page_size,
                )
                .map_err(|e| SyncError::Setup(e.to_string()))?,
            )),
            gmail::KIND => Ok(Arc::new(
                GmailConnector::new(
                    &instance.base_url,
                    client,
                    settings.folders.clone(),
                    settings.page_size,
                )
                .map_err(|e| SyncError::Setup(e.to_string()))?,
            )),
            google_calendar::KIND => {
                let (root, calendar) = google_calendar::split_calendar_url(&instance.base_url)
                    .map_err(SyncError::Setup)?;
                Ok(Arc::new(
                    GoogleCalendarConnector::new(&root, &calendar, client, settings.page_size)
                        .with_window(settings.past_days, settings.future_days),
                ))
            }
            graph_calendar::KIND => Ok(Arc::new(
                GraphCalendarConnector::new(
                    &instance.base_url,
                    client,
                    settings.page_size,
                    settings.past_days,
                    settings.future_days,
                )
                .map_err(|e| SyncError::Setup(e.to_string()))?,
            )),
            clio::KIND => Ok(Arc::new(
                ClioConnector::new(&instance.base_url, client, settings.page_size)
                    .map_err(|e| SyncError::Setup(e.to_string()))?
                    // Clio's listings omit deletions: a daily full listing finds them.
                    .relist_after(chrono::Duration::days(1)),
            )),
            other => Err(SyncError::Setup(format!("unknown connector kind {other}"))),
        }
    }
}

/// The HTTP client of a DAV kind: the public web roots, and the instance's own certificate
/// authority when it names one.
fn dav_client(
    policy: HttpPolicy,
    settings: &super::instances::InstanceSettings,
) -> Result<HttpClient, SyncError> {
    HttpClient::with_extra_roots(policy, settings.ca_certificate.as_deref())
        .map_err(|e| SyncError::Setup(e.to_string()))
}
