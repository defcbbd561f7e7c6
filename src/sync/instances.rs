//! Connector instances: what an admin configures (kind, endpoint, OAuth registration,
//! schedule, provenance rules) and the sealed secrets (client secret, tokens, webhook secret)
//! that never leave the server.

use async_graphql::InputObject;
use diesel::prelude::*;
use lexgate_connectors::oauth::{OAuthApp, TokenSet};
use lexgate_connectors::secrets::SecretBox;
use serde::{Deserialize, Serialize};

use super::provenance::{Provenance, ProvenanceRuleInput};
use crate::db::schema::{connector_instances, users};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result, Validator};
use crate::listing::lower;
use crate::validation::non_blank;

/// The connector kinds this build can run.
pub const KINDS: &[&str] = &[
    lexgate_connectors::json_feed::KIND,
    lexgate_connectors::imap::KIND,
    lexgate_connectors::caldav::KIND,
    lexgate_connectors::graph_mail::KIND,
    lexgate_connectors::gmail::KIND,
    lexgate_connectors::webdav::KIND,
    lexgate_connectors::google_calendar::KIND,
    lexgate_connectors::graph_calendar::KIND,
    lexgate_connectors::clio::KIND,
    lexgate_connectors::stripe::KIND,
];

/// Where the `stripe` kind reaches Stripe unless the instance names another root.
pub const STRIPE_API_ROOT: &str = "https://api.stripe.com";

/// The calendar window of the calendar kinds by default, in days before and after now.
const DEFAULT_PAST_DAYS: u32 = 90;
const DEFAULT_FUTURE_DAYS: u32 = 365;

/// How a mail connector logs in.
#[derive(
    async_graphql::Enum, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorLogin {
    /// User name and password (or app password), sealed like every secret.
    #[default]
    Password,
    /// SASL XOAUTH2 with an access token of the instance's OAuth authorisation.
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with an access token of the instance's OAuth authorisation.
    Oauthbearer,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = connector_instances, treat_none_as_null = true)]
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub settings: String,
    pub credentials: Option<String>,
    pub webhook_secret: Option<String>,
    pub provenance: String,
    pub schedule_minutes: Option<i32>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// The non-secret settings of an instance: its OAuth registration (kinds that use OAuth),
/// paging, and the mail settings of mail kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InstanceSettings {
    pub client_id: String,
    pub auth_url: String,
    pub token_url: String,
    pub scopes: Vec<String>,
    pub page_size: u32,
    /// Requests per second to the provider.
    pub rate_limit: Option<f64>,
    /// The login of mail kinds.
    pub username: Option<String>,
    pub login: ConnectorLogin,
    /// No TLS at all: only ever allowed towards a loopback address (tests, local relays).
    pub plaintext: bool,
    /// IMAP, CalDAV and WebDAV: a certificate authority (PEM) trusted besides the public web
    /// roots, for a server whose certificate a firm's own CA issued.
    pub ca_certificate: Option<String>,
    /// The mail folders synced.
    pub folders: Vec<String>,
    /// The firm's own mail domains: they decide a message's direction and never become
    /// contacts.
    pub own_domains: Vec<String>,
    /// Whether message bodies are stored (otherwise a short summary).
    pub store_bodies: bool,
    /// Senders that never become contacts besides the built-in ones (no-reply addresses,
    /// mailing lists): addresses, `@domain`, or local parts ending in `*`.
    pub ignore_addresses: Vec<String>,
    /// The calendar kinds (`caldav`, `google_calendar`, `graph_calendar`): the window events
    /// are imported from, in days before and after the sync (recurring events are expanded
    /// in it).
    pub past_days: u32,
    pub future_days: u32,
    /// The `caldav` and `google_calendar` kinds: the users (by email, lower-case) whose
    /// deadlines and hearings are pushed to the calendar (see `deadline_push`); none: nothing is pushed.
    pub deadline_users: Vec<String>,
    /// The `webdav` kind: make a folder (with the matter's reference as a dead property)
    /// for each matter when it is opened (see `folders`), and for every open matter the store
    /// lacks at each sync.
    pub matter_folders: bool,
}

impl InstanceSettings {
    /// Whether the kind authenticates through the instance's OAuth authorisation.
    pub fn uses_oauth(&self, kind: &str) -> bool {
        match kind {
            lexgate_connectors::imap::KIND
            | lexgate_connectors::caldav::KIND
            | lexgate_connectors::webdav::KIND => self.login != ConnectorLogin::Password,
            lexgate_connectors::stripe::KIND => false,
            _ => true,
        }
    }
}

/// The sealed secrets of an instance.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Credentials {
    pub client_secret: Option<String>,
    pub tokens: Option<TokenSet>,
    /// The password (or app password) of kinds that log in with one.
    #[serde(default)]
    pub password: Option<String>,
    /// The secret API key of kinds that take one (`stripe`: `sk_…` or a restricted `rk_…`).
    #[serde(default)]
    pub api_key: Option<String>,
}

impl InstanceRow {
    pub fn settings(&self) -> Result<InstanceSettings> {
        serde_json::from_str(&self.settings)
            .map_err(|e| Error::Internal(format!("stored connector settings unreadable: {e}")))
    }

    pub fn provenance(&self) -> Result<Provenance> {
        serde_json::from_str(&self.provenance)
            .map_err(|e| Error::Internal(format!("stored provenance rules unreadable: {e}")))
    }

    /// The associated data binding a sealed secret to this instance and column.
    fn context(&self, column: &str) -> String {
        format!("connector_instances:{}:{column}", self.id)
    }

    pub fn credentials(&self, secrets: &SecretBox) -> Result<Credentials> {
        let Some(sealed) = &self.credentials else {
            return Ok(Credentials::default());
        };
        let plain = secrets
            .open(sealed, &self.context("credentials"))
            .map_err(|e| Error::Internal(format!("connector credentials: {e}")))?;
        serde_json::from_slice(&plain)
            .map_err(|e| Error::Internal(format!("connector credentials unreadable: {e}")))
    }

    pub fn seal_credentials(
        &self,
        secrets: &SecretBox,
        credentials: &Credentials,
    ) -> Result<String> {
        let plain = serde_json::to_vec(credentials)
            .map_err(|e| Error::Internal(format!("connector credentials: {e}")))?;
        secrets
            .seal(&plain, &self.context("credentials"))
            .map_err(|e| Error::Internal(format!("connector credentials: {e}")))
    }

    pub fn webhook_secret(&self, secrets: &SecretBox) -> Result<Option<Vec<u8>>> {
        self.webhook_secret
            .as_deref()
            .map(|sealed| {
                secrets
                    .open(sealed, &self.context("webhook_secret"))
                    .map_err(|e| Error::Internal(format!("webhook secret: {e}")))
            })
            .transpose()
    }

    fn seal_webhook_secret(&self, secrets: &SecretBox, secret: &[u8]) -> Result<String> {
        secrets
            .seal(secret, &self.context("webhook_secret"))
            .map_err(|e| Error::Internal(format!("webhook secret: {e}")))
    }

    /// The OAuth registration, with the redirect URI of this server's callback.
    pub fn oauth_app(&self, credentials: &Credentials, redirect_url: &str) -> Result<OAuthApp> {
        let settings = self.settings()?;
        Ok(OAuthApp {
            client_id: settings.client_id,
            client_secret: credentials.client_secret.clone(),
            auth_url: settings.auth_url,
            token_url: settings.token_url,
            redirect_url: redirect_url.to_owned(),
            scopes: settings.scopes,
        })
    }
}

/// An instance as created from GraphQL or the config file. Secrets are write-only.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CreateConnectorInstanceInput {
    /// Unique; used in webhook URLs and on the command line.
    pub name: String,
    /// The connector kind, e.g. `json_feed`.
    pub kind: String,
    /// `https://…` for HTTP kinds; `imaps://host[:port]` (TLS) or `imap://host[:port]`
    /// (STARTTLS, or no TLS with `plaintext` on loopback) for IMAP; the calendar
    /// collection's `https://` URL for CalDAV, the root collection holding one folder per
    /// matter for WebDAV (`http://` only on loopback); the API root for graph_mail and
    /// graph_calendar (`https://graph.microsoft.com/v1.0`) and gmail
    /// (`https://gmail.googleapis.com`); the calendar's URL for google_calendar
    /// (`https://www.googleapis.com/calendar/v3/calendars/{calendarId}`, e.g. `primary`); the
    /// API root for stripe (left out: `https://api.stripe.com`).
    #[graphql(default)]
    pub base_url: String,
    /// The OAuth registration: required by kinds that use OAuth (json_feed, graph_mail,
    /// gmail, google_calendar, graph_calendar; IMAP with an XOAUTH2 or OAUTHBEARER login).
    pub client_id: Option<String>,
    /// The OAuth client secret; stored sealed and never returned.
    #[graphql(secret)]
    pub client_secret: Option<String>,
    /// The provider's OAuth authorisation endpoint.
    pub auth_url: Option<String>,
    /// The provider's OAuth token endpoint.
    pub token_url: Option<String>,
    /// The OAuth scopes to request.
    #[graphql(default)]
    pub scopes: Vec<String>,
    /// Mail kinds: the login name.
    pub username: Option<String>,
    /// Mail kinds with a PASSWORD login: the password or app password (sealed).
    #[graphql(secret)]
    pub password: Option<String>,
    /// Mail kinds: how to log in (PASSWORD by default).
    pub login: Option<ConnectorLogin>,
    /// stripe: the secret API key (`sk_live_…`, `sk_test_…`, or a restricted `rk_…`); stored
    /// sealed and never returned.
    #[graphql(secret)]
    pub api_key: Option<String>,
    /// IMAP without TLS: only towards a loopback address.
    pub plaintext: Option<bool>,
    /// IMAP, CalDAV and WebDAV: a certificate authority (PEM, `BEGIN CERTIFICATE`) trusted
    /// besides the public web roots, for a server whose certificate the firm's own CA issued.
    pub ca_certificate: Option<String>,
    /// Mail kinds: the folders synced (INBOX by default; graph_mail: folder names such as
    /// `inbox`, `sentitems` or ids; gmail: label ids such as `INBOX`, `SENT`).
    pub folders: Option<Vec<String>>,
    /// Mail and calendar kinds: the firm's own domains (at least one).
    pub own_domains: Option<Vec<String>>,
    /// Mail kinds: store message bodies (default false: a short summary only).
    pub store_bodies: Option<bool>,
    /// Mail kinds: senders that never become contacts, besides no-reply addresses and
    /// mailing lists: addresses, `@domain`, or local parts ending in `*`.
    pub ignore_addresses: Option<Vec<String>>,
    /// Calendar kinds: days before now from which events are imported (default 90).
    pub past_days: Option<i32>,
    /// Calendar kinds: days after now up to which events are imported (default 365).
    pub future_days: Option<i32>,
    /// caldav and google_calendar: the email addresses of the users whose open court
    /// deadlines, hearings and filings are pushed to this calendar (assigned to them, to a
    /// team of theirs, or of a matter they are responsible for); none: nothing is pushed.
    pub deadline_users: Option<Vec<String>>,
    /// WebDAV: make a folder for each matter when it is opened, and for every open matter the
    /// store lacks at each sync (default false); `Matter.caseFileFolders` shows how it went.
    pub matter_folders: Option<bool>,
    /// Shared secret of inbound webhook signatures (stripe: the endpoint's signing secret,
    /// `whsec_…`).
    #[graphql(secret)]
    pub webhook_secret: Option<String>,
    /// Minutes between scheduled syncs; none for no schedule.
    pub schedule_minutes: Option<i32>,
    /// Records per page requested from the provider (default 100).
    pub page_size: Option<i32>,
    /// Recorded as the source detail of every imported contact.
    pub source_detail: Option<String>,
    /// Provenance rules; the defaults when left out.
    pub provenance: Option<Vec<ProvenanceRuleInput>>,
}

/// Changes to an instance; fields left out stay as they are. Secrets given replace the
/// stored ones.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateConnectorInstanceInput {
    /// The `ConnectorInstance` to change.
    pub id: async_graphql::ID,
    /// The provider's address.
    pub base_url: Option<String>,
    /// A new OAuth client secret; replaces the stored one.
    #[graphql(secret)]
    pub client_secret: Option<String>,
    /// Replaces the stored password of a PASSWORD login.
    #[graphql(secret)]
    pub password: Option<String>,
    /// stripe: a new secret API key; replaces the stored one.
    #[graphql(secret)]
    pub api_key: Option<String>,
    /// A new webhook signing secret; replaces the stored one.
    #[graphql(secret)]
    pub webhook_secret: Option<String>,
    /// Minutes between scheduled syncs; null for no schedule.
    pub schedule_minutes: async_graphql::MaybeUndefined<i32>,
    /// Whether the instance syncs at all.
    pub enabled: Option<bool>,
    /// Recorded as the source detail of every contact the instance imports.
    pub source_detail: Option<String>,
    /// The legal basis per record origin; replaces the old rules.
    pub provenance: Option<Vec<ProvenanceRuleInput>>,
    /// caldav and google_calendar: replaces the users whose deadlines are pushed; the events
    /// of deadlines no longer covered are removed at the next sync (an empty list removes
    /// them all).
    pub deadline_users: Option<Vec<String>>,
    /// IMAP, CalDAV and WebDAV: replaces the certificate authority (PEM) trusted besides
    /// the public web roots; null removes it.
    pub ca_certificate: async_graphql::MaybeUndefined<String>,
}

fn check_url(v: &mut Validator, field: &str, url: &str) -> String {
    let url = url.trim().to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {}
        _ => v.add(field, "an http(s) URL"),
    }
    url
}

/// An IMAP server URL: `imaps://` (TLS from the first byte) or `imap://` (STARTTLS, or no
/// TLS at all when `plaintext`, which only a loopback host may use).
fn check_imap_url(v: &mut Validator, url: &str, plaintext: bool) -> String {
    let url = url.trim().to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "imap" | "imaps") && parsed.host().is_some() => {
            if plaintext && (parsed.scheme() != "imap" || !is_loopback(&parsed)) {
                v.add(
                    "input.plaintext",
                    "only an imap:// URL to a loopback address may go without TLS",
                );
            }
        }
        _ => v.add("input.baseUrl", "an imaps:// or imap:// URL with a host"),
    }
    url
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The OAuth kinds take no user name or password.
fn refuse_password_login(v: &mut Validator, input: &CreateConnectorInstanceInput, kind: &str) {
    if input.login.is_some() {
        v.add(
            "input.login",
            format!("kind {kind} logs in with OAuth: leave login out"),
        );
    }
    if input.password.is_some() {
        v.add(
            "input.password",
            format!("kind {kind} logs in with OAuth, not a password"),
        );
    }
}

/// The OAuth registration, each field required.
fn check_oauth(v: &mut Validator, input: &CreateConnectorInstanceInput, why: &str) -> [String; 3] {
    let mut field = |name: &str, value: &Option<String>, url: bool| match value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(value) if url => check_url(v, &format!("input.{name}"), value),
        Some(value) => value.to_owned(),
        None => {
            v.add(format!("input.{name}"), format!("required {why}"));
            String::new()
        }
    };
    [
        field("clientId", &input.client_id, false),
        field("authUrl", &input.auth_url, true),
        field("tokenUrl", &input.token_url, true),
    ]
}

/// Each kind's own settings: what it requires is named when missing. Returns the base URL
/// and the settings (page size left to the caller).
fn check_kind_settings(
    v: &mut Validator,
    kind: &str,
    input: &CreateConnectorInstanceInput,
    has_password: bool,
    has_api_key: bool,
) -> (String, InstanceSettings) {
    if kind == lexgate_connectors::imap::KIND {
        return check_mail_settings(v, input, has_password);
    }
    if kind == lexgate_connectors::caldav::KIND {
        return check_calendar_settings(v, input, has_password);
    }
    if kind == lexgate_connectors::graph_mail::KIND || kind == lexgate_connectors::gmail::KIND {
        return check_mail_api_settings(v, kind, input);
    }
    if kind == lexgate_connectors::webdav::KIND {
        return check_document_store_settings(v, input, has_password);
    }
    if kind == lexgate_connectors::google_calendar::KIND
        || kind == lexgate_connectors::graph_calendar::KIND
    {
        return check_calendar_api_settings(v, kind, input);
    }
    if kind == lexgate_connectors::clio::KIND {
        return check_clio_settings(v, input);
    }
    if kind == lexgate_connectors::stripe::KIND {
        return check_stripe_settings(v, input, has_api_key);
    }
    let base_url = check_url(v, "input.baseUrl", &input.base_url);
    let [client_id, auth_url, token_url] = check_oauth(v, input, &format!("by kind {kind}"));
    let settings = InstanceSettings {
        client_id,
        auth_url,
        token_url,
        scopes: input.scopes.clone(),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

/// The `clio` kind: the API root of the account's region (which also gives the OAuth
/// endpoints when they are left out), the OAuth registration, and the users whose deadlines
/// are pushed.
fn check_clio_settings(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
) -> (String, InstanceSettings) {
    use lexgate_connectors::clio::Region;
    let roots: Vec<String> = Region::ALL.iter().map(|r| r.api_root()).collect();
    let base_url = input.base_url.trim().trim_end_matches('/').to_owned();
    let region = Region::ALL.into_iter().find(|r| r.api_root() == base_url);
    let loopback =
        reqwest::Url::parse(&base_url).is_ok_and(|url| url.scheme() == "http" && is_loopback(&url));
    if region.is_none() && !loopback {
        v.add(
            "input.baseUrl",
            format!(
                "the API root of the account's region: one of {}",
                roots.join(", ")
            ),
        );
    }
    refuse_password_login(v, input, lexgate_connectors::clio::KIND);
    // A token of one region is refused by the others: the endpoints follow the region.
    let endpoint = |given: &Option<String>, region_url: Option<String>| {
        non_blank(given.clone()).or(region_url)
    };
    let input = CreateConnectorInstanceInput {
        auth_url: endpoint(&input.auth_url, region.map(Region::auth_url)),
        token_url: endpoint(&input.token_url, region.map(Region::token_url)),
        ..input.clone()
    };
    let [client_id, auth_url, token_url] = check_oauth(v, &input, "by kind clio");
    // The push covers deadlines due from `past_days` ago.
    let (past_days, future_days) = check_window(v, &input);
    let settings = InstanceSettings {
        past_days,
        future_days,
        client_id,
        auth_url,
        token_url,
        scopes: input.scopes.clone(),
        deadline_users: deadline_users(&input),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

/// The `stripe` kind: the API root (Stripe's own by default), the secret API key (its only
/// login: no OAuth registration, no password) and, for webhooks, the endpoint's signing
/// secret. Neither secret is ever quoted in an error.
fn check_stripe_settings(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    has_api_key: bool,
) -> (String, InstanceSettings) {
    let base_url = if input.base_url.trim().is_empty() {
        STRIPE_API_ROOT.to_owned()
    } else {
        check_api_url(
            v,
            &input.base_url,
            "the API root, e.g. https://api.stripe.com",
        )
    };
    refuse_password_login(v, input, lexgate_connectors::stripe::KIND);
    for (field, value) in [
        ("clientId", &input.client_id),
        ("clientSecret", &input.client_secret),
        ("authUrl", &input.auth_url),
        ("tokenUrl", &input.token_url),
    ] {
        if value.is_some() {
            v.add(
                format!("input.{field}"),
                "kind stripe logs in with its API key, not OAuth: leave it out",
            );
        }
    }
    match &input.api_key {
        Some(key) => check_stripe_api_key(v, "input.apiKey", key),
        None if !has_api_key => v.add("input.apiKey", "required by kind stripe"),
        None => {}
    }
    if let Some(secret) = &input.webhook_secret {
        check_stripe_webhook_secret(v, "input.webhookSecret", secret);
    }
    (base_url, InstanceSettings::default())
}

/// A Stripe secret key (`sk_…`) or restricted key (`rk_…`); a publishable key (`pk_…`)
/// cannot read customers.
fn check_stripe_api_key(v: &mut Validator, field: &str, key: &str) {
    let well_formed = (key.starts_with("sk_") || key.starts_with("rk_"))
        && key.len() > 8
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        v.add(
            field,
            "a Stripe secret key (sk_live_…, sk_test_…) or restricted key (rk_…)",
        );
    }
}

/// A Stripe webhook endpoint's signing secret (`whsec_…`).
fn check_stripe_webhook_secret(v: &mut Validator, field: &str, secret: &str) {
    if !secret.starts_with("whsec_") || secret.len() <= "whsec_".len() {
        v.add(field, "a Stripe endpoint's signing secret (whsec_…)");
    }
}

fn check_mail_settings(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    has_password: bool,
) -> (String, InstanceSettings) {
    let plaintext = input.plaintext.unwrap_or(false);
    let base_url = check_imap_url(v, &input.base_url, plaintext);
    let username = non_blank(input.username.clone());
    if username.is_none() {
        v.add("input.username", "required by kind imap");
    }
    let ca_certificate = check_ca_certificate(v, input.ca_certificate.as_deref());
    let login = input.login.unwrap_or_default();
    let mut settings = InstanceSettings::default();
    match login {
        ConnectorLogin::Password if !has_password => v.add(
            "input.password",
            "required by kind imap with a PASSWORD login",
        ),
        ConnectorLogin::Password => {}
        ConnectorLogin::Xoauth2 | ConnectorLogin::Oauthbearer => {
            let [client_id, auth_url, token_url] =
                check_oauth(v, input, "by an XOAUTH2 or OAUTHBEARER login");
            settings.client_id = client_id;
            settings.auth_url = auth_url;
            settings.token_url = token_url;
            settings.scopes = input.scopes.clone();
        }
    }
    let folders = check_folders(v, input, "INBOX");
    let own_domains = check_own_domains(v, input, "imap");
    let ignore_addresses = ignore_addresses(input);
    let settings = InstanceSettings {
        username,
        login,
        plaintext,
        ca_certificate,
        folders,
        own_domains,
        store_bodies: input.store_bodies.unwrap_or(false),
        ignore_addresses,
        ..settings
    };
    (base_url, settings)
}

/// The mail API kinds, `graph_mail` (Microsoft Graph) and `gmail` (Gmail API): the API
/// root, the OAuth registration (their only login), the folders (Graph folder names or ids,
/// Gmail label ids) and the firm's own domains.
fn check_mail_api_settings(
    v: &mut Validator,
    kind: &str,
    input: &CreateConnectorInstanceInput,
) -> (String, InstanceSettings) {
    let (root, default_folder) = if kind == lexgate_connectors::gmail::KIND {
        ("the API root, e.g. https://gmail.googleapis.com", "INBOX")
    } else {
        (
            "the Graph root, e.g. https://graph.microsoft.com/v1.0",
            "inbox",
        )
    };
    let base_url = check_api_url(v, &input.base_url, root);
    refuse_password_login(v, input, kind);
    let [client_id, auth_url, token_url] = check_oauth(v, input, &format!("by kind {kind}"));
    let folders = check_folders(v, input, default_folder);
    let settings = InstanceSettings {
        client_id,
        auth_url,
        token_url,
        scopes: input.scopes.clone(),
        folders,
        own_domains: check_own_domains(v, input, kind),
        store_bodies: input.store_bodies.unwrap_or(false),
        ignore_addresses: ignore_addresses(input),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

/// The folders synced, `default` when left out; each a name.
fn check_folders(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    default: &str,
) -> Vec<String> {
    let folders: Vec<String> = match &input.folders {
        None => vec![default.to_owned()],
        Some(folders) => folders.iter().map(|f| f.trim().to_owned()).collect(),
    };
    if folders.is_empty() {
        v.add("input.folders", "at least one folder");
    }
    for (i, folder) in folders.iter().enumerate() {
        if folder.is_empty() || folder.chars().any(char::is_control) {
            v.add(format!("input.folders[{i}]"), "a folder name");
        }
    }
    folders
}

/// A mail API's root: `https://`, or `http://` towards a loopback address (tests).
fn check_api_url(v: &mut Validator, url: &str, what: &str) -> String {
    let url = url.trim().to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
        Ok(parsed) if parsed.scheme() == "http" && is_loopback(&parsed) => {}
        _ => v.add(
            "input.baseUrl",
            format!("{what} (http:// only to a loopback address)"),
        ),
    }
    url
}

/// A CalDAV calendar collection: `https://`, or `http://` towards a loopback address.
fn check_caldav_url(v: &mut Validator, url: &str) -> String {
    check_dav_url(v, url, "the calendar collection's")
}

/// A WebDAV collection (`what` names it in the error): `https://`, or `http://` towards a
/// loopback address.
fn check_dav_url(v: &mut Validator, url: &str, what: &str) -> String {
    let url = url.trim().to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
        Ok(parsed) if parsed.scheme() == "http" && is_loopback(&parsed) => {}
        _ => v.add(
            "input.baseUrl",
            format!("{what} https:// URL (http:// only to a loopback address)"),
        ),
    }
    url
}

/// A certificate authority (PEM) trusted besides the public web roots: one or more `BEGIN
/// CERTIFICATE` blocks, each a certificate rustls can read.
fn check_ca_certificate(v: &mut Validator, pem: Option<&str>) -> Option<String> {
    let pem = non_blank(pem.map(str::to_owned))?;
    if let Err(why) = lexgate_connectors::imap::certificates_from_pem(&pem) {
        v.add("input.caCertificate", &why);
    }
    Some(pem)
}

/// The kinds that take a `caCertificate`.
const TAKES_CA_CERTIFICATE: &[&str] = &[
    lexgate_connectors::imap::KIND,
    lexgate_connectors::caldav::KIND,
    lexgate_connectors::webdav::KIND,
];

/// The `caldav` kind: a calendar collection, a user name and password, the firm's own
/// domains (whose addresses never become contacts) and the window events are imported from.
fn check_calendar_settings(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    has_password: bool,
) -> (String, InstanceSettings) {
    let base_url = check_caldav_url(v, &input.base_url);
    if input.login.is_some_and(|l| l != ConnectorLogin::Password) {
        v.add("input.login", "kind caldav logs in with PASSWORD only");
    }
    let username = non_blank(input.username.clone());
    if username.is_none() {
        v.add("input.username", "required by kind caldav");
    }
    if !has_password {
        v.add("input.password", "required by kind caldav");
    }
    let own_domains = check_own_domains(v, input, "caldav");
    let (past_days, future_days) = check_window(v, input);
    let settings = InstanceSettings {
        username,
        ca_certificate: check_ca_certificate(v, input.ca_certificate.as_deref()),
        own_domains,
        store_bodies: input.store_bodies.unwrap_or(false),
        ignore_addresses: ignore_addresses(input),
        past_days,
        future_days,
        deadline_users: deadline_users(input),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

/// The window a calendar kind imports events from (and pushes deadlines from), in days
/// before and after the sync.
fn check_window(v: &mut Validator, input: &CreateConnectorInstanceInput) -> (u32, u32) {
    let mut days = |field: &str, value: Option<i32>, default: u32| match value {
        None => default,
        Some(days) if (0..=3650).contains(&days) => days as u32,
        Some(_) => {
            v.add(format!("input.{field}"), "between 0 and 3650 days");
            default
        }
    };
    (
        days("pastDays", input.past_days, DEFAULT_PAST_DAYS),
        days("futureDays", input.future_days, DEFAULT_FUTURE_DAYS),
    )
}

/// The users whose deadlines are pushed, by email, lower-case (checked against the users
/// by [`check_deadline_users`]).
fn deadline_users(input: &CreateConnectorInstanceInput) -> Vec<String> {
    input
        .deadline_users
        .iter()
        .flatten()
        .map(|e| e.trim().to_lowercase())
        .collect()
}

/// The calendar API kinds, `google_calendar` (the Calendar API v3: the base URL names the
/// calendar, `…/calendar/v3/calendars/{calendarId}`) and `graph_calendar` (Microsoft Graph
/// `calendarView/delta` of the signed-in user's calendar: the base URL is the Graph root):
/// the OAuth registration (their only login), the firm's own domains, the window, and for
/// `google_calendar` the users whose deadlines are pushed.
fn check_calendar_api_settings(
    v: &mut Validator,
    kind: &str,
    input: &CreateConnectorInstanceInput,
) -> (String, InstanceSettings) {
    let base_url = if kind == lexgate_connectors::google_calendar::KIND {
        let url = check_api_url(
            v,
            &input.base_url,
            "the calendar's URL, e.g. https://www.googleapis.com/calendar/v3/calendars/primary",
        );
        if reqwest::Url::parse(&url).is_ok() {
            if let Err(why) = lexgate_connectors::google_calendar::split_calendar_url(&url) {
                v.add("input.baseUrl", why);
            }
        }
        url
    } else {
        check_api_url(
            v,
            &input.base_url,
            "the Graph root, e.g. https://graph.microsoft.com/v1.0",
        )
    };
    refuse_password_login(v, input, kind);
    let [client_id, auth_url, token_url] = check_oauth(v, input, &format!("by kind {kind}"));
    let (past_days, future_days) = check_window(v, input);
    let settings = InstanceSettings {
        client_id,
        auth_url,
        token_url,
        scopes: input.scopes.clone(),
        own_domains: check_own_domains(v, input, kind),
        store_bodies: input.store_bodies.unwrap_or(false),
        ignore_addresses: ignore_addresses(input),
        past_days,
        future_days,
        deadline_users: deadline_users(input),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

/// The kinds whose connector pushes deadlines.
const PUSHES_DEADLINES: &[&str] = &[
    lexgate_connectors::caldav::KIND,
    lexgate_connectors::google_calendar::KIND,
    lexgate_connectors::clio::KIND,
];

/// Pushing deadlines is for calendar kinds, to users lexgate knows.
fn check_deadline_users(
    conn: &mut AnyConnection,
    v: &mut Validator,
    kind: &str,
    settings: &InstanceSettings,
) -> Result<()> {
    if settings.deadline_users.is_empty() {
        return Ok(());
    }
    if !PUSHES_DEADLINES.contains(&kind) {
        v.add(
            "input.deadlineUsers",
            format!(
                "only the kinds {} push deadlines",
                PUSHES_DEADLINES.join(" and ")
            ),
        );
        return Ok(());
    }
    let known: Vec<String> = users::table
        .filter(lower(users::email).eq_any(&settings.deadline_users))
        .select(lower(users::email))
        .load(conn)?;
    for (i, email) in settings.deadline_users.iter().enumerate() {
        if !known.contains(email) {
            v.add(
                format!("input.deadlineUsers[{i}]"),
                "no user has this email",
            );
        }
    }
    Ok(())
}

/// The `webdav` kind: the root collection of the matter folders, a user name and password,
/// and whether folders are made for open matters.
fn check_document_store_settings(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    has_password: bool,
) -> (String, InstanceSettings) {
    let base_url = check_dav_url(v, &input.base_url, "the matter folders' root collection's");
    if input.login.is_some_and(|l| l != ConnectorLogin::Password) {
        v.add("input.login", "kind webdav logs in with PASSWORD only");
    }
    let username = non_blank(input.username.clone());
    if username.is_none() {
        v.add("input.username", "required by kind webdav");
    }
    if !has_password {
        v.add("input.password", "required by kind webdav");
    }
    let settings = InstanceSettings {
        username,
        ca_certificate: check_ca_certificate(v, input.ca_certificate.as_deref()),
        matter_folders: input.matter_folders.unwrap_or(false),
        ..InstanceSettings::default()
    };
    (base_url, settings)
}

fn check_own_domains(
    v: &mut Validator,
    input: &CreateConnectorInstanceInput,
    kind: &str,
) -> Vec<String> {
    let own_domains: Vec<String> = input
        .own_domains
        .iter()
        .flatten()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .collect();
    if own_domains.is_empty() {
        v.add(
            "input.ownDomains",
            format!("required by kind {kind}: the firm's own mail domains (they decide direction)"),
        );
    }
    for (i, domain) in own_domains.iter().enumerate() {
        if !domain.contains('.') || domain.chars().any(|c| c.is_whitespace() || c == '@') {
            v.add(format!("input.ownDomains[{i}]"), "a domain name");
        }
    }
    own_domains
}

fn ignore_addresses(input: &CreateConnectorInstanceInput) -> Vec<String> {
    input
        .ignore_addresses
        .iter()
        .flatten()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect()
}

fn check_schedule(v: &mut Validator, minutes: Option<i32>) {
    if minutes.is_some_and(|m| !(1..=10_080).contains(&m)) {
        v.add(
            "input.scheduleMinutes",
            "between 1 minute and one week (10080)",
        );
    }
}

fn require_secrets<'a>(secrets: Option<&'a SecretBox>, field: &str) -> Result<&'a SecretBox> {
    secrets.ok_or_else(|| {
        Error::invalid(
            field,
            "secrets cannot be stored: configure secrets_keys and secrets_key_id first",
        )
    })
}

pub fn create(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
    input: CreateConnectorInstanceInput,
) -> Result<InstanceRow> {
    let row = build(conn, secrets, input, None)?;
    diesel::insert_into(connector_instances::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Error::Conflict {
                field: Some("input.name".into()),
                message: "a connector instance has this name".into(),
            },
            other => other.into(),
        })?;
    Ok(row)
}

/// Creates the instance the config file describes, or brings the one of that name in line
/// with it (keeping its tokens, links, cursors and runs).
pub fn configure(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
    input: CreateConnectorInstanceInput,
) -> Result<InstanceRow> {
    let existing = connector_instances::table
        .filter(connector_instances::name.eq(input.name.trim()))
        .select(InstanceRow::as_select())
        .first(conn)
        .optional()?;
    let Some(existing) = existing else {
        return create(conn, secrets, input);
    };
    let row = build(conn, secrets, input, Some(&existing))?;
    let unchanged = row.kind == existing.kind
        && row.base_url == existing.base_url
        && row.settings == existing.settings
        && row.provenance == existing.provenance
        && row.schedule_minutes == existing.schedule_minutes
        && secrets_unchanged(secrets, &row, &existing)?;
    if unchanged {
        return Ok(existing);
    }
    diesel::update(connector_instances::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

fn secrets_unchanged(
    secrets: Option<&SecretBox>,
    row: &InstanceRow,
    existing: &InstanceRow,
) -> Result<bool> {
    let Some(secrets) = secrets else {
        return Ok(true);
    };
    Ok({
        let (new, old) = (row.credentials(secrets)?, existing.credentials(secrets)?);
        new.client_secret == old.client_secret
            && new.password == old.password
            && new.api_key == old.api_key
    } && row.webhook_secret(secrets)? == existing.webhook_secret(secrets)?)
}

/// The validated row of `input`; over `existing`, its id, creation time and tokens stay.
fn build(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
    input: CreateConnectorInstanceInput,
    existing: Option<&InstanceRow>,
) -> Result<InstanceRow> {
    let mut v = Validator::new();
    let name = v.required("input.name", &input.name);
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.len() > 64
    {
        v.add(
            "input.name",
            "letters, digits, '-' and '_' only, at most 64",
        );
    }
    let kind = input.kind.trim().to_owned();
    if !KINDS.contains(&kind.as_str()) {
        v.add("input.kind", format!("one of: {}", KINDS.join(", ")));
    }
    let has_password = input.password.is_some()
        || match (secrets, existing) {
            (Some(secrets), Some(existing)) => existing.credentials(secrets)?.password.is_some(),
            _ => false,
        };
    let has_api_key = match (secrets, existing) {
        (Some(secrets), Some(existing)) => existing.credentials(secrets)?.api_key.is_some(),
        _ => false,
    };
    let kind_settings = check_kind_settings(&mut v, &kind, &input, has_password, has_api_key);
    if input.api_key.is_some() && kind != lexgate_connectors::stripe::KIND {
        v.add("input.apiKey", "only kind stripe takes an API key");
    }
    if non_blank(input.ca_certificate.clone()).is_some()
        && !TAKES_CA_CERTIFICATE.contains(&kind.as_str())
    {
        v.add(
            "input.caCertificate",
            format!(
                "only the kinds {} take one",
                TAKES_CA_CERTIFICATE.join(", ")
            ),
        );
    }
    check_deadline_users(conn, &mut v, &kind, &kind_settings.1)?;
    check_schedule(&mut v, input.schedule_minutes);
    let page_size = input.page_size.unwrap_or(100);
    if !(1..=1000).contains(&page_size) {
        v.add("input.pageSize", "between 1 and 1000");
    }
    let source_detail =
        non_blank(input.source_detail).unwrap_or_else(|| format!("Imported by connector {name}"));
    let provenance = match input.provenance {
        Some(rules) => {
            Provenance::from_input(conn, &mut v, "input.provenance", source_detail, rules)?
        }
        None => Provenance::defaults(conn, &source_detail)?,
    };
    v.finish()?;

    let timestamp = now();
    let (base_url, settings) = kind_settings;
    let settings = InstanceSettings {
        page_size: page_size as u32,
        ..settings
    };
    let mut row = InstanceRow {
        id: existing.map_or_else(new_id, |e| e.id.clone()),
        name,
        kind,
        base_url,
        settings: to_json(&settings)?,
        credentials: existing.and_then(|e| e.credentials.clone()),
        webhook_secret: existing.and_then(|e| e.webhook_secret.clone()),
        provenance: to_json(&provenance)?,
        schedule_minutes: input.schedule_minutes,
        enabled: existing.is_none_or(|e| e.enabled),
        created_at: existing.map_or(timestamp, |e| e.created_at),
        updated_at: timestamp,
    };
    if let Some(secret) = input.client_secret {
        let secrets = require_secrets(secrets, "input.clientSecret")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.client_secret = Some(secret);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(password) = input.password {
        let secrets = require_secrets(secrets, "input.password")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.password = Some(password);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(key) = input.api_key {
        let secrets = require_secrets(secrets, "input.apiKey")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.api_key = Some(key);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(secret) = &input.webhook_secret {
        let secrets = require_secrets(secrets, "input.webhookSecret")?;
        row.webhook_secret = Some(row.seal_webhook_secret(secrets, secret.as_bytes())?);
    }
    Ok(row)
}

pub fn update(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
    id: &str,
    input: UpdateConnectorInstanceInput,
) -> Result<InstanceRow> {
    let mut row = get(conn, id)?;
    let mut v = Validator::new();
    if let Some(url) = &input.base_url {
        row.base_url = if row.kind == lexgate_connectors::imap::KIND {
            check_imap_url(&mut v, url, row.settings()?.plaintext)
        } else if row.kind == lexgate_connectors::caldav::KIND {
            check_caldav_url(&mut v, url)
        } else if row.kind == lexgate_connectors::graph_mail::KIND
            || row.kind == lexgate_connectors::gmail::KIND
            || row.kind == lexgate_connectors::graph_calendar::KIND
            || row.kind == lexgate_connectors::stripe::KIND
        {
            check_api_url(&mut v, url, "the API root")
        } else if row.kind == lexgate_connectors::google_calendar::KIND {
            let url = check_api_url(&mut v, url, "the calendar's URL");
            if let Err(why) = lexgate_connectors::google_calendar::split_calendar_url(&url) {
                v.add("input.baseUrl", why);
            }
            url
        } else if row.kind == lexgate_connectors::webdav::KIND {
            check_dav_url(&mut v, url, "the matter folders' root collection's")
        } else {
            check_url(&mut v, "input.baseUrl", url)
        };
    }
    if let async_graphql::MaybeUndefined::Value(minutes) = input.schedule_minutes {
        check_schedule(&mut v, Some(minutes));
        row.schedule_minutes = Some(minutes);
    } else if input.schedule_minutes.is_null() {
        row.schedule_minutes = None;
    }
    if let Some(enabled) = input.enabled {
        row.enabled = enabled;
    }
    if row.kind == lexgate_connectors::stripe::KIND {
        if let Some(key) = &input.api_key {
            check_stripe_api_key(&mut v, "input.apiKey", key);
        }
        if let Some(secret) = &input.webhook_secret {
            check_stripe_webhook_secret(&mut v, "input.webhookSecret", secret);
        }
    } else if input.api_key.is_some() {
        v.add("input.apiKey", "only kind stripe takes an API key");
    }
    let mut settings = row.settings()?;
    if let Some(users) = &input.deadline_users {
        settings.deadline_users = users.iter().map(|e| e.trim().to_lowercase()).collect();
        check_deadline_users(conn, &mut v, &row.kind, &settings)?;
    }
    match &input.ca_certificate {
        async_graphql::MaybeUndefined::Undefined => {}
        async_graphql::MaybeUndefined::Null => settings.ca_certificate = None,
        async_graphql::MaybeUndefined::Value(pem) => {
            if !TAKES_CA_CERTIFICATE.contains(&row.kind.as_str()) {
                v.add(
                    "input.caCertificate",
                    format!(
                        "only the kinds {} take one",
                        TAKES_CA_CERTIFICATE.join(", ")
                    ),
                );
            }
            settings.ca_certificate = check_ca_certificate(&mut v, Some(pem));
        }
    }
    row.settings = to_json(&settings)?;
    if input.provenance.is_some() || input.source_detail.is_some() {
        let current = row.provenance()?;
        let detail = non_blank(input.source_detail).unwrap_or(current.source_detail.clone());
        let provenance = match input.provenance {
            Some(rules) => Provenance::from_input(conn, &mut v, "input.provenance", detail, rules)?,
            None => Provenance {
                source_detail: detail,
                ..current
            },
        };
        row.provenance = to_json(&provenance)?;
    }
    v.finish()?;
    if let Some(secret) = input.client_secret {
        let secrets = require_secrets(secrets, "input.clientSecret")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.client_secret = Some(secret);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(password) = input.password {
        let secrets = require_secrets(secrets, "input.password")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.password = Some(password);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(key) = input.api_key {
        let secrets = require_secrets(secrets, "input.apiKey")?;
        let mut credentials = row.credentials(secrets)?;
        credentials.api_key = Some(key);
        row.credentials = Some(row.seal_credentials(secrets, &credentials)?);
    }
    if let Some(secret) = input.webhook_secret {
        let secrets = require_secrets(secrets, "input.webhookSecret")?;
        row.webhook_secret = Some(row.seal_webhook_secret(secrets, secret.as_bytes())?);
    }
    row.updated_at = now();
    diesel::update(connector_instances::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

/// Stores fresh tokens (after an authorisation or a refresh with rotation).
pub fn save_tokens(
    conn: &mut AnyConnection,
    secrets: &SecretBox,
    id: &str,
    tokens: &TokenSet,
) -> Result<()> {
    let row = get(conn, id)?;
    let mut credentials = row.credentials(secrets)?;
    credentials.tokens = Some(tokens.clone());
    let sealed = row.seal_credentials(secrets, &credentials)?;
    // updated_at stays: a token refresh is not a configuration change.
    diesel::update(connector_instances::table.find(id))
        .set(connector_instances::credentials.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// Re-seals every connector secret still under a key other than the current one, so that an
/// old key can be retired after a rotation. Returns how many instances changed.
pub fn reseal(conn: &mut AnyConnection, secrets: &SecretBox) -> Result<usize> {
    let current = secrets.current_key_id();
    let stale = |sealed: &Option<String>| {
        sealed
            .as_deref()
            .is_some_and(|s| SecretBox::key_id_of(s) != Some(current))
    };
    let mut changed = 0;
    for row in list(conn)? {
        if !stale(&row.credentials) && !stale(&row.webhook_secret) {
            continue;
        }
        let credentials = match &row.credentials {
            Some(_) => Some(row.seal_credentials(secrets, &row.credentials(secrets)?)?),
            None => None,
        };
        let webhook_secret = match row.webhook_secret(secrets)? {
            Some(plain) => Some(row.seal_webhook_secret(secrets, &plain)?),
            None => None,
        };
        diesel::update(connector_instances::table.find(&row.id))
            .set((
                connector_instances::credentials.eq(credentials),
                connector_instances::webhook_secret.eq(webhook_secret),
            ))
            .execute(conn)?;
        changed += 1;
    }
    Ok(changed)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let deleted = diesel::delete(connector_instances::table.find(id)).execute(conn)?;
    if deleted == 0 {
        return Err(Error::not_found("ConnectorInstance", id));
    }
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<InstanceRow> {
    connector_instances::table
        .find(id)
        .select(InstanceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ConnectorInstance", id))
}

pub fn by_name(conn: &mut AnyConnection, name: &str) -> Result<InstanceRow> {
    connector_instances::table
        .filter(connector_instances::name.eq(name))
        .select(InstanceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("ConnectorInstance", name))
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<InstanceRow>> {
    Ok(connector_instances::table
        .order(connector_instances::name)
        .select(InstanceRow::as_select())
        .load(conn)?)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("json: {e}")))
}
