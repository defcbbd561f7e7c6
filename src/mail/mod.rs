//! Mail lexgate sends: the outbox every message is written to first ([`outbox`]), the SMTP
//! client that delivers it ([`smtp`]), and the loop in `serve` that fills the outbox with what
//! is due and sends what it holds ([`worker`]). Each kind of message (deadline reminders,
//! double-opt-in confirmations, campaign messages) only builds its messages and enqueues them;
//! claiming, sending, retrying and recording outcomes happen here, once.

pub mod outbox;
pub mod settings;
pub mod smtp;
pub mod worker;

pub use outbox::{MessageKind, MessageStatus, NewMessage, OutboxRow};
pub use settings::{MailSettings, Password, SmtpTls, SMTP_PASSWORD_ENV};
pub use smtp::{Mailer, SendError};
pub use worker::MailWorker;
