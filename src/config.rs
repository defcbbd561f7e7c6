//! Settings: defaults, overridden by an optional TOML file, overridden by environment
//! variables and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mail::{MailSettings, Password, SmtpTls, SMTP_PASSWORD_ENV};
use crate::telemetry::LogFormat;

/// The file read when `--config` / `LEXGATE_CONFIG` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "lexgate.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub bind: Option<SocketAddr>,
    pub migrate: Option<bool>,
    pub pool_size: Option<usize>,
    pub phone_region: Option<String>,
    pub max_page_size: Option<usize>,
    pub default_page_size: Option<usize>,
    pub body_limit_bytes: Option<usize>,
    pub log: Option<String>,
    pub auth_secret: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_audience: Option<String>,
    pub oidc_role_claim: Option<String>,
    pub oidc_jwks_cache_seconds: Option<u64>,
    pub access_token_ttl_seconds: Option<i64>,
    pub refresh_token_ttl_days: Option<i64>,
    pub max_query_depth: Option<usize>,
    pub max_query_complexity: Option<usize>,
    pub max_aliases: Option<usize>,
    pub max_directives: Option<usize>,
    pub max_batch_size: Option<usize>,
    pub request_timeout_ms: Option<u64>,
    pub introspection: Option<bool>,
    pub access_log: Option<bool>,
    pub gdpr_key: Option<String>,
    pub marketing_job_titles: Option<Vec<String>>,
    pub soft_spam: Option<bool>,
    pub retention_interval_hours: Option<u64>,
    pub profile: Option<Profile>,
    pub cors_allowed_origins: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub disabled_contact_fields: Option<Vec<String>>,
    pub secrets_keys: Option<std::collections::HashMap<String, String>>,
    pub secrets_key_id: Option<String>,
    pub public_url: Option<String>,
    pub webhook_tolerance_seconds: Option<i64>,
    pub sync_scheduler: Option<bool>,
    pub connectors: Option<Vec<crate::sync::config::ConnectorConfig>>,
    pub header_read_timeout_seconds: Option<u64>,
    pub body_read_timeout_seconds: Option<u64>,
    pub shutdown_timeout_seconds: Option<u64>,
    pub metrics_token: Option<String>,
    pub log_format: Option<LogFormat>,
    pub otlp_endpoint: Option<String>,
    pub otlp_service_name: Option<String>,
    pub courts: Option<Vec<crate::deadlines::courts::Court>>,
    pub firm: Option<crate::billing::firm::FirmProfile>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<SmtpTls>,
    pub smtp_username: Option<String>,
    pub mail_from: Option<String>,
    pub mail_interval_seconds: Option<u64>,
    pub mail_retry_seconds: Option<u64>,
    pub mail_max_attempts: Option<u32>,
    pub double_opt_in_purposes: Option<Vec<String>>,
}

/// What the server is deployed for: production hides what helps explore the schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Development,
    Production,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub migrate: bool,
    pub pool_size: usize,
    pub phone_region: String,
    pub max_page_size: usize,
    pub default_page_size: usize,
    pub body_limit_bytes: usize,
    pub log: String,
    /// Signs access tokens; at least 32 characters. Without it a random one is made at
    /// start-up, so tokens do not survive a restart (fine for development only).
    pub auth_secret: Option<String>,
    /// Accept bearer tokens from this OpenID Connect issuer (with `oidc_audience`).
    pub oidc_issuer: Option<String>,
    pub oidc_audience: Option<String>,
    /// The token claim that carries the lexgate role.
    pub oidc_role_claim: String,
    pub oidc_jwks_cache_seconds: u64,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    /// The deepest nesting of fields a query may have.
    pub max_query_depth: usize,
    /// The largest complexity a query may have; a list's page size multiplies its children.
    pub max_query_complexity: usize,
    /// The most aliased fields one document may contain.
    pub max_aliases: usize,
    /// The most directives one field may carry.
    pub max_directives: usize,
    /// The most operations one HTTP batch may hold.
    pub max_batch_size: usize,
    /// How long one HTTP request may execute before it is stopped.
    pub request_timeout_ms: u64,
    /// Introspection on or off; `None` leaves it to the profile.
    /// Whether reads and writes of personal data are logged (GDPR); off only to measure
    /// what the log costs.
    pub access_log: bool,
    /// Key for the keyed hashes of the suppression list and of erased people's tombstones; at
    /// least 32 characters. Without it a key is generated once and kept in the database.
    pub gdpr_key: Option<String>,
    /// Job titles of business contacts that marketing may address on legitimate interest.
    pub marketing_job_titles: Vec<String>,
    /// Clients may receive campaigns about analogous services without consent unless they
    /// objected (art. 130(4) Codice Privacy).
    pub soft_spam: bool,
    /// How often the server applies the retention policies; 0 leaves it to `lexgate retention run`.
    pub retention_interval_hours: u64,
    pub introspection: Option<bool>,
    pub profile: Profile,
    /// Browser origins allowed to call the API; empty sends no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// Optional personal contact fields the firm does not collect (data minimisation):
    /// `birthDate`, `personalInterests`, `familyDetails`.
    pub disabled_contact_fields: Vec<String>,
    /// Keys (id → base64 of 32 bytes) that seal connector secrets at rest.
    pub secrets_keys: std::collections::HashMap<String, String>,
    /// The key new secrets are sealed with; the others only open older secrets.
    pub secrets_key_id: Option<String>,
    /// The address browsers and providers reach this server at (OAuth redirect URI).
    pub public_url: Option<String>,
    /// How far a webhook signature's timestamp may be from now.
    pub webhook_tolerance_seconds: i64,
    /// Whether `serve` runs the connector instances' scheduled syncs.
    pub sync_scheduler: bool,
    /// Connector instances configured in the file (created or updated at start-up).
    pub connectors: Vec<crate::sync::config::ConnectorConfig>,
    /// How long a client may take to send a request's headers before the connection is
    /// closed (slow or stalled clients must not hold connections open).
    pub header_read_timeout_seconds: u64,
    /// How long a client may take to send a request's body (408 after that).
    pub body_read_timeout_seconds: u64,
    /// After SIGTERM, how long requests in flight may take before the connections left are
    /// dropped and the process exits.
    pub shutdown_timeout_seconds: u64,
    /// The bearer token Prometheus scrapes `GET /metrics` with (at least 32 characters);
    /// without it `/metrics` is not served.
    pub metrics_token: Option<String>,
    pub log_format: LogFormat,
    /// The OTLP/HTTP base URL of an OpenTelemetry collector (e.g. `http://collector:4318`);
    /// traces are exported to `<it>/v1/traces`. Without it nothing is traced.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` the traces carry.
    pub otlp_service_name: String,
    /// The courts procedural terms can be computed for, with their patron saint days.
    pub courts: Vec<crate::deadlines::courts::Court>,
    /// The firm's invoicing details (`[firm]`): FatturaPA and LEDES exports.
    pub firm: crate::billing::firm::FirmProfile,
    /// SMTP and the outbox.
    pub mail: MailSettings,
    /// Purposes (keys) whose consents need the person's confirmation through a mailed link
    /// before they count (double opt-in); the link points at `public_url`.
    pub double_opt_in_purposes: Vec<String>,
}

/// The default of `max_page_size`: the largest `first`/`last` a list accepts.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The default of `default_page_size`: the page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: usize = 50;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://lexgate.db".to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            migrate: true,
            pool_size: 8,
            phone_region: "IT".to_owned(),
            max_page_size: MAX_PAGE_SIZE,
            default_page_size: DEFAULT_PAGE_SIZE,
            body_limit_bytes: 1024 * 1024,
            log: "info".to_owned(),
            auth_secret: None,
            oidc_issuer: None,
            oidc_audience: None,
            oidc_role_claim: "roles".to_owned(),
            oidc_jwks_cache_seconds: 300,
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_days: 30,
            max_query_depth: 15,
            max_query_complexity: 25_000,
            max_aliases: 30,
            max_directives: 50,
            max_batch_size: 10,
            request_timeout_ms: 10_000,
            introspection: None,
            access_log: true,
            gdpr_key: None,
            marketing_job_titles: crate::gdpr::BasisRules::default().marketing_job_titles,
            soft_spam: true,
            retention_interval_hours: 24,
            profile: Profile::Development,
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            disabled_contact_fields: Vec::new(),
            secrets_keys: std::collections::HashMap::new(),
            secrets_key_id: None,
            public_url: None,
            webhook_tolerance_seconds: 300,
            sync_scheduler: true,
            connectors: Vec::new(),
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            shutdown_timeout_seconds: 30,
            metrics_token: None,
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            otlp_service_name: "lexgate".to_owned(),
            courts: Vec::new(),
            firm: Default::default(),
            mail: MailSettings::default(),
            double_opt_in_purposes: Vec::new(),
        }
    }
}

impl Settings {
    /// Where `telemetry::init` sends logs and traces.
    pub fn telemetry_outputs(&self) -> crate::telemetry::Outputs<'_> {
        crate::telemetry::Outputs {
            log: &self.log,
            log_format: self.log_format,
            otlp_endpoint: self.otlp_endpoint.as_deref(),
            otlp_service_name: &self.otlp_service_name,
        }
    }

    /// Reads `path` (or `lexgate.toml` if present) over the defaults.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let default_path = Path::new(DEFAULT_CONFIG_FILE);
        let file = match path {
            Some(path) => Some(read_file(path)?),
            None if default_path.exists() => Some(read_file(default_path)?),
            None => None,
        };
        let mut settings = Settings::default();
        if let Some(file) = file {
            settings.apply(file);
        }
        settings.mail.smtp_password = std::env::var(SMTP_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Password);
        settings.validate()?;
        Ok(settings)
    }

    fn apply(&mut self, f: FileSettings) {
        self.apply_limits(&f);
        let s = self;
        if let Some(v) = f.database_url {
            s.database_url = v;
        }
        if let Some(v) = f.bind {
            s.bind = v;
        }
        if let Some(v) = f.migrate {
            s.migrate = v;
        }
        if let Some(v) = f.pool_size {
            s.pool_size = v;
        }
        if let Some(v) = f.phone_region {
            s.phone_region = v;
        }
        if let Some(v) = f.max_page_size {
            s.max_page_size = v;
        }
        if let Some(v) = f.default_page_size {
            s.default_page_size = v;
        }
        if let Some(v) = f.body_limit_bytes {
            s.body_limit_bytes = v;
        }
        if let Some(v) = f.auth_secret {
            s.auth_secret = Some(v);
        }
        if let Some(v) = f.oidc_issuer {
            s.oidc_issuer = Some(v);
        }
        if let Some(v) = f.oidc_audience {
            s.oidc_audience = Some(v);
        }
        if let Some(v) = f.oidc_role_claim {
            s.oidc_role_claim = v;
        }
        if let Some(v) = f.oidc_jwks_cache_seconds {
            s.oidc_jwks_cache_seconds = v;
        }
        if let Some(v) = f.access_token_ttl_seconds {
            s.access_token_ttl_seconds = v;
        }
        if let Some(v) = f.refresh_token_ttl_days {
            s.refresh_token_ttl_days = v;
        }
        if let Some(v) = f.log {
            s.log = v;
        }
        s.apply_connectors(f.secrets_keys, f.secrets_key_id, f.public_url, f.connectors);
        if let Some(v) = f.webhook_tolerance_seconds {
            s.webhook_tolerance_seconds = v;
        }
        if let Some(v) = f.sync_scheduler {
            s.sync_scheduler = v;
        }
        if let Some(v) = f.metrics_token {
            s.metrics_token = Some(v);
        }
        if let Some(v) = f.log_format {
            s.log_format = v;
        }
        if let Some(v) = f.otlp_endpoint {
            s.otlp_endpoint = Some(v);
        }
        if let Some(v) = f.otlp_service_name {
            s.otlp_service_name = v;
        }
        if let Some(v) = f.courts {
            s.courts = v;
        }
        if let Some(v) = f.firm {
            s.firm = v;
        }
        s.apply_mail(
            f.smtp_host,
            f.smtp_port,
            f.smtp_tls,
            f.smtp_username,
            f.mail_from,
        );
        if let Some(v) = f.mail_interval_seconds {
            s.mail.interval_seconds = v;
        }
        if let Some(v) = f.mail_retry_seconds {
            s.mail.retry_seconds = v;
        }
        if let Some(v) = f.mail_max_attempts {
            s.mail.max_attempts = v;
        }
        if let Some(v) = f.double_opt_in_purposes {
            s.double_opt_in_purposes = v;
        }
    }

    fn apply_mail(
        &mut self,
        host: Option<String>,
        port: Option<u16>,
        tls: Option<SmtpTls>,
        username: Option<String>,
        from: Option<String>,
    ) {
        let mail = &mut self.mail;
        mail.smtp_host = host.or(mail.smtp_host.take());
        mail.smtp_port = port.or(mail.smtp_port);
        mail.smtp_tls = tls.unwrap_or(mail.smtp_tls);
        mail.smtp_username = username.or(mail.smtp_username.take());
        mail.from = from.or(mail.from.take());
    }

    fn apply_connectors(
        &mut self,
        keys: Option<std::collections::HashMap<String, String>>,
        key_id: Option<String>,
        public_url: Option<String>,
        connectors: Option<Vec<crate::sync::config::ConnectorConfig>>,
    ) {
        if let Some(v) = keys {
            self.secrets_keys = v;
        }
        if let Some(v) = key_id {
            self.secrets_key_id = Some(v);
        }
        if let Some(v) = public_url {
            self.public_url = Some(v);
        }
        if let Some(v) = connectors {
            self.connectors = v;
        }
    }

    /// The box that seals connector secrets, when keys are configured.
    pub fn secret_box(
        &self,
    ) -> Result<Option<lexgate_connectors::secrets::SecretBox>, ConfigError> {
        let Some(current) = &self.secrets_key_id else {
            return Ok(None);
        };
        lexgate_connectors::secrets::SecretBox::new(&self.secrets_keys, current)
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                name: "secrets_keys",
                message: e.to_string(),
            })
    }

    /// The address this server is reached at: `public_url`, else the address it binds.
    pub fn public_base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The OAuth redirect URI of this server.
    pub fn oauth_redirect_url(&self) -> String {
        format!("{}/oauth/callback", self.public_base_url())
    }

    fn apply_limits(&mut self, f: &FileSettings) {
        let s = self;
        if let Some(v) = f.max_query_depth {
            s.max_query_depth = v;
        }
        if let Some(v) = f.max_query_complexity {
            s.max_query_complexity = v;
        }
        if let Some(v) = f.max_aliases {
            s.max_aliases = v;
        }
        if let Some(v) = f.max_directives {
            s.max_directives = v;
        }
        if let Some(v) = f.max_batch_size {
            s.max_batch_size = v;
        }
        if let Some(v) = f.request_timeout_ms {
            s.request_timeout_ms = v;
        }
        if let Some(v) = f.introspection {
            s.introspection = Some(v);
        }
        if let Some(v) = f.access_log {
            s.access_log = v;
        }
        if let Some(v) = &f.gdpr_key {
            s.gdpr_key = Some(v.clone());
        }
        if let Some(v) = &f.marketing_job_titles {
            s.marketing_job_titles.clone_from(v);
        }
        if let Some(v) = f.soft_spam {
            s.soft_spam = v;
        }
        if let Some(v) = f.retention_interval_hours {
            s.retention_interval_hours = v;
        }
        if let Some(v) = f.profile {
            s.profile = v;
        }
        if let Some(v) = &f.cors_allowed_origins {
            s.cors_allowed_origins.clone_from(v);
        }
        if let Some(v) = &f.trusted_proxies {
            s.trusted_proxies.clone_from(v);
        }
        if let Some(v) = &f.disabled_contact_fields {
            s.disabled_contact_fields.clone_from(v);
        }
        if let Some(v) = f.header_read_timeout_seconds {
            s.header_read_timeout_seconds = v;
        }
        if let Some(v) = f.body_read_timeout_seconds {
            s.body_read_timeout_seconds = v;
        }
        if let Some(v) = f.shutdown_timeout_seconds {
            s.shutdown_timeout_seconds = v;
        }
    }

    /// The trusted proxies as networks (entries that do not parse are refused by `validate`).
    pub fn trusted_proxy_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_proxy(p))
            .collect()
    }

    /// Whether introspection is served: as set, else on in development only.
    pub fn introspection_enabled(&self) -> bool {
        self.introspection
            .unwrap_or(self.profile == Profile::Development)
    }

    /// Whether validation errors suggest field names ("Did you mean"): development only,
    /// since they let a client map the schema piece by piece without introspection.
    pub fn suggestions_enabled(&self) -> bool {
        self.profile == Profile::Development
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| ConfigError::Invalid {
            name,
            message: message.to_owned(),
        };
        if self.pool_size == 0 {
            return Err(invalid("pool_size", "must be at least 1"));
        }
        let mut court_codes = std::collections::HashSet::new();
        if let Some(court) = self
            .courts
            .iter()
            .find(|c| !court_codes.insert(c.code.to_ascii_lowercase()))
        {
            return Err(invalid(
                "courts",
                &format!("the court code `{}` is used twice", court.code),
            ));
        }
        if self.header_read_timeout_seconds == 0 || self.body_read_timeout_seconds == 0 {
            return Err(invalid(
                "header_read_timeout_seconds",
                "read timeouts must be at least a second",
            ));
        }
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|p| parse_proxy(p).is_none())
        {
            return Err(invalid(
                "trusted_proxies",
                &format!("`{bad}` is neither an IP address nor a CIDR range"),
            ));
        }
        if self.auth_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid("auth_secret", "must have at least 32 characters"));
        }
        if self.metrics_token.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid("metrics_token", "must have at least 32 characters"));
        }
        if self.gdpr_key.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid("gdpr_key", "must have at least 32 characters"));
        }
        if self
            .marketing_job_titles
            .iter()
            .any(|t| t.trim().is_empty())
        {
            return Err(invalid(
                "marketing_job_titles",
                "must not contain blank titles",
            ));
        }
        if self.oidc_issuer.is_some() != self.oidc_audience.is_some() {
            return Err(invalid(
                "oidc_issuer",
                "set oidc_issuer and oidc_audience together",
            ));
        }
        if self.access_token_ttl_seconds < 60 || self.refresh_token_ttl_days < 1 {
            return Err(invalid(
                "access_token_ttl_seconds",
                "tokens must live at least a minute (refresh tokens a day)",
            ));
        }
        if self.max_page_size == 0 {
            return Err(invalid("max_page_size", "must be at least 1"));
        }
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return Err(invalid(
                "default_page_size",
                "must be between 1 and max_page_size",
            ));
        }
        self.secret_box()?;
        if self.webhook_tolerance_seconds < 1 {
            return Err(invalid("webhook_tolerance_seconds", "must be at least 1"));
        }
        if self.phone_region.len() != 2 {
            return Err(invalid(
                "phone_region",
                "must be a two-letter region such as IT",
            ));
        }
        if self
            .otlp_endpoint
            .as_deref()
            .is_some_and(|e| !e.starts_with("http://") && !e.starts_with("https://"))
        {
            return Err(invalid(
                "otlp_endpoint",
                "must be an http:// or https:// URL such as http://collector:4318",
            ));
        }
        if self.otlp_service_name.trim().is_empty() {
            return Err(invalid("otlp_service_name", "must not be blank"));
        }
        self.validate_limits()?;
        self.validate_mail()?;
        self.disabled_contact_fields()?;
        validate_origins(&self.cors_allowed_origins)
    }

    /// The optional contact fields switched off, each a known field name.
    pub fn disabled_contact_fields(
        &self,
    ) -> Result<Vec<crate::contacts::OptionalContactField>, ConfigError> {
        use crate::contacts::OptionalContactField;
        self.disabled_contact_fields
            .iter()
            .map(|name| {
                OptionalContactField::parse(name).ok_or_else(|| ConfigError::Invalid {
                    name: "disabled_contact_fields",
                    message: format!(
                        "`{name}` is not an optional contact field; use {}",
                        OptionalContactField::ALL.map(|f| f.name()).join(", ")
                    ),
                })
            })
            .collect()
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let mail = &self.mail;
        let invalid = |name, message: &str| ConfigError::Invalid {
            name,
            message: message.to_owned(),
        };
        if mail.smtp_host.is_some() {
            match &mail.from {
                None => return Err(invalid("mail_from", "set the sender with smtp_host")),
                Some(from) if from.parse::<lettre::message::Mailbox>().is_err() => {
                    return Err(invalid(
                        "mail_from",
                        "must be an address such as `Studio Rossi <noreply@studiorossi.it>`",
                    ))
                }
                Some(_) => {}
            }
        }
        if mail.smtp_username.is_some() != mail.smtp_password.is_some() {
            return Err(invalid(
                "smtp_username",
                "set smtp_username in the file and the password in LEXGATE_SMTP_PASSWORD together",
            ));
        }
        if mail.retry_seconds == 0 || mail.max_attempts == 0 {
            return Err(invalid(
                "mail_retry_seconds",
                "retries wait at least a second, and a message gets at least one attempt",
            ));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_query_depth", self.max_query_depth as u64),
            ("max_query_complexity", self.max_query_complexity as u64),
            ("max_directives", self.max_directives as u64),
            ("max_batch_size", self.max_batch_size as u64),
            ("request_timeout_ms", self.request_timeout_ms),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(ConfigError::Invalid {
                name,
                message: "must be at least 1".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// Each origin must be `scheme://host[:port]` as browsers send it in `Origin`.
fn validate_origins(origins: &[String]) -> Result<(), ConfigError> {
    let bad = origins.iter().find(|o| {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        let well_formed = rest.is_some_and(|r| !r.is_empty() && !r.contains('/'));
        !well_formed || axum::http::HeaderValue::from_str(o).is_err()
    });
    match bad {
        Some(origin) => Err(ConfigError::Invalid {
            name: "cors_allowed_origins",
            message: format!("`{origin}` is not an origin such as https://crm.example.it"),
        }),
        None => Ok(()),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// `10.0.0.0/8` or a single address (`10.0.0.7`, `::1`).
fn parse_proxy(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        std::fs::write(&path, "database_url = \"postgres://db/x\"\npool_size = 3\n")
            .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.database_url, "postgres://db/x");
        assert_eq!(s.pool_size, 3);
        assert_eq!(s.bind, Settings::default().bind);

        std::fs::write(&path, "databse_url = \"typo\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Parse { .. })
        ));

        std::fs::write(&path, "pool_size = 0\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "pool_size",
                ..
            })
        ));
    }

    #[test]
    fn courts_and_their_patron_days_come_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        let court = |code: &str, day: &str| {
            format!("[[courts]]\ncode = \"{code}\"\nname = \"Tribunale\"\npatron_day = \"{day}\"\n")
        };
        std::fs::write(&path, court("milano", "12-07") + &court("roma", "06-29")).expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.courts.len(), 2);
        assert_eq!(
            s.courts[0].patron_day,
            crate::deadlines::holidays::MonthDay { month: 12, day: 7 }
        );
        // Not a day of the year, and one code twice: refused at start-up.
        std::fs::write(&path, court("milano", "31-12")).expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::write(&path, court("milano", "12-07") + &court("Milano", "12-08")).expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid { name: "courts", .. })
        ));
    }

    #[test]
    fn connector_keys_and_instances_come_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        std::fs::write(
            &path,
            "secrets_key_id = \"k2\"\npublic_url = \"https://crm.example.it/\"\n\
             [secrets_keys]\nk1 = \"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"\n\
             k2 = \"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"\n\
             [[connectors]]\nname = \"billing\"\nkind = \"json_feed\"\n\
             base_url = \"https://billing.example.it/api\"\nclient_id = \"lexgate\"\n\
             auth_url = \"https://billing.example.it/authorize\"\n\
             token_url = \"https://billing.example.it/token\"\nschedule_minutes = 15\n\
             [[connectors.provenance]]\norigin = \"billing_client\"\nbasis = \"contract\"\n\
             purpose_key = \"client_relationship\"\ncategory = \"client\"\n",
        )
        .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        let secrets = s.secret_box().expect("valid keys").expect("configured");
        assert_eq!(secrets.current_key_id(), "k2");
        assert_eq!(
            s.oauth_redirect_url(),
            "https://crm.example.it/oauth/callback"
        );
        assert_eq!(s.connectors.len(), 1);
        assert_eq!(s.connectors[0].schedule_minutes, Some(15));
        let rules = s.connectors[0].provenance.as_ref().expect("rules");
        assert_eq!(rules[0].purpose_key.as_deref(), Some("client_relationship"));

        std::fs::write(&path, "secrets_key_id = \"k9\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "secrets_keys",
                ..
            })
        ));
    }

    #[test]
    fn log_format_and_otlp_come_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        assert_eq!(Settings::default().log_format, LogFormat::Text);
        assert_eq!(Settings::default().otlp_endpoint, None);
        std::fs::write(
            &path,
            "log_format = \"json\"\notlp_endpoint = \"http://127.0.0.1:4318\"\n\
             otlp_service_name = \"lexgate-studio-rossi\"\n",
        )
        .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318"));
        assert_eq!(s.otlp_service_name, "lexgate-studio-rossi");

        std::fs::write(&path, "log_format = \"xml\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::write(&path, "otlp_endpoint = \"collector:4318\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "otlp_endpoint",
                ..
            })
        ));
    }

    #[test]
    fn mail_settings_come_from_the_file_and_the_password_never_shows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        std::fs::write(
            &path,
            "smtp_host = \"mail.example.it\"\nsmtp_tls = \"tls\"\n\
             mail_from = \"Studio Rossi <noreply@studiorossi.it>\"\nmail_interval_seconds = 5\n",
        )
        .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.mail.smtp_host.as_deref(), Some("mail.example.it"));
        assert_eq!(s.mail.smtp_tls, SmtpTls::Tls);
        assert_eq!(s.mail.smtp_tls.default_port(), 465);
        assert_eq!(s.mail.interval_seconds, 5);

        std::fs::write(&path, "smtp_host = \"mail.example.it\"\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "mail_from",
                ..
            })
        ));
        std::fs::write(
            &path,
            "smtp_host = \"mail.example.it\"\nmail_from = \"not an address\"\n",
        )
        .expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "mail_from",
                ..
            })
        ));

        let mail = MailSettings {
            smtp_password: Some(Password("hunter2-smtp".to_owned())),
            ..MailSettings::default()
        };
        assert!(!format!("{mail:?}").contains("hunter2"));
    }

    #[test]
    fn limits_and_profile_come_from_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lexgate.toml");
        std::fs::write(
            &path,
            "max_query_depth = 7\nmax_batch_size = 2\nprofile = \"production\"\n\
             cors_allowed_origins = [\"https://crm.example.it\"]\n",
        )
        .expect("write");
        let s = Settings::load(Some(&path)).expect("loads");
        assert_eq!(s.max_query_depth, 7);
        assert_eq!(s.max_batch_size, 2);
        assert_eq!(s.max_aliases, Settings::default().max_aliases);
        assert_eq!(s.profile, Profile::Production);
        assert!(!s.introspection_enabled());
        assert!(!s.suggestions_enabled());
        assert_eq!(s.cors_allowed_origins, ["https://crm.example.it"]);

        std::fs::write(&path, "profile = \"production\"\nintrospection = true\n").expect("write");
        assert!(Settings::load(Some(&path))
            .expect("loads")
            .introspection_enabled());
        assert!(Settings::default().introspection_enabled());

        std::fs::write(&path, "request_timeout_ms = 0\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "request_timeout_ms",
                ..
            })
        ));
        std::fs::write(&path, "disabled_contact_fields = [\"birthDate\"]\n").expect("write");
        assert_eq!(
            Settings::load(Some(&path))
                .expect("loads")
                .disabled_contact_fields()
                .expect("known fields"),
            [crate::contacts::OptionalContactField::BirthDate]
        );
        std::fs::write(&path, "disabled_contact_fields = [\"shoeSize\"]\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "disabled_contact_fields",
                ..
            })
        ));
        std::fs::write(&path, "cors_allowed_origins = [\"crm.example.it/app\"]\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path)),
            Err(ConfigError::Invalid {
                name: "cors_allowed_origins",
                ..
            })
        ));
    }
}
