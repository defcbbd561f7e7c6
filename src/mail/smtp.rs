//! Delivery over SMTP (lettre): one transport per process, messages as plain text, failures
//! told apart by the server's reply: 5xx is permanent (the address does not exist, the
//! message is refused), anything else (4xx, no connection, a timeout) is worth retrying.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail::settings::{MailSettings, SmtpTls};

/// How long one SMTP exchange may take: well within the outbox lease, so a message is never
/// still being sent when another process may claim it.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later.
    Transient(String),
    /// Trying again will not help.
    Permanent(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The mailer the settings describe; `None` when no SMTP server is configured.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Option<Mailer>> {
        let (Some(host), Some(from)) = (&settings.smtp_host, &settings.from) else {
            return Ok(None);
        };
        let builder = match settings.smtp_tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(
                settings
                    .smtp_port
                    .unwrap_or_else(|| settings.smtp_tls.default_port()),
            )
            .timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (&settings.smtp_username, &settings.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from: from.parse()?,
        }))
    }

    /// Sends one plain-text message; with `list_unsubscribe`, it carries that URL as its
    /// one-click unsubscribe link (`List-Unsubscribe` and `List-Unsubscribe-Post`, RFC 8058).
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        list_unsubscribe: Option<&str>,
    ) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid recipient address: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .body(body.to_owned())
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}
