//! The mail settings: where and how lexgate sends mail. They live with the mail code that
//! uses them; `config` reads them from the settings file and the environment.

use serde::Deserialize;

/// The environment variable holding the SMTP password: never in the settings file, so the
/// file can be shared and logged.
pub const SMTP_PASSWORD_ENV: &str = "LEXGATE_SMTP_PASSWORD";

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or in tests.
    None,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

/// A password that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Where and how lexgate sends mail (the outbox, `crate::mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// The SMTP server; without it nothing is sent (messages wait in the outbox).
    pub smtp_host: Option<String>,
    /// Defaults to the TLS mode's port.
    pub smtp_port: Option<u16>,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    /// From `LEXGATE_SMTP_PASSWORD`.
    pub smtp_password: Option<Password>,
    /// The sender of every message, e.g. `Studio Legale Rossi <noreply@studiorossi.it>`.
    pub from: Option<String>,
    /// How often `serve` enqueues due reminders and sends what the outbox holds; 0: never.
    pub interval_seconds: u64,
    /// The wait before the first retry after a transient failure; it doubles with each
    /// further attempt (at most an hour).
    pub retry_seconds: u64,
    /// Attempts before a message that keeps failing transiently is given up as failed.
    pub max_attempts: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::default(),
            smtp_username: None,
            smtp_password: None,
            from: None,
            interval_seconds: 60,
            retry_seconds: 60,
            max_attempts: 8,
        }
    }
}
