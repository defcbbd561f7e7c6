//! The mail loop of `serve`: every interval it lets each producer enqueue what is due (deadline
//! reminders, confirmations), then claims what the outbox holds, sends it and records each
//! outcome. Several processes may run it on one database: the outbox's claims keep every
//! message with one of them.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::outbox::{self, MessageStatus};
use super::smtp::{Mailer, SendError, SMTP_TIMEOUT};
use crate::db::{AnyConnection, Database};
use crate::error::Result;
use crate::mail::settings::MailSettings;

/// Messages claimed at once.
const BATCH: i64 = 10;
/// Batches sent per round at most, so a long queue does not keep one round going for ever.
const BATCHES_PER_ROUND: usize = 50;

/// Enqueues messages that are due; returns how many it added.
pub type Producer = Arc<dyn Fn(&mut AnyConnection) -> Result<usize> + Send + Sync>;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundSummary {
    pub enqueued: usize,
    pub sent: usize,
    /// Failed attempts that will be retried.
    pub retrying: usize,
    /// Messages given up.
    pub failed: usize,
}

#[derive(Clone)]
pub struct MailWorker {
    db: Database,
    mailer: Option<Mailer>,
    producers: Vec<Producer>,
    /// This process, as the holder of its claims.
    holder: String,
    retry: TimeDelta,
    max_attempts: u32,
}

impl MailWorker {
    pub fn new(
        db: Database,
        settings: &MailSettings,
        producers: Vec<Producer>,
    ) -> anyhow::Result<MailWorker> {
        Ok(MailWorker {
            db,
            mailer: Mailer::from_settings(settings)?,
            producers,
            holder: format!("mail:{}", uuid::Uuid::new_v4()),
            retry: TimeDelta::seconds(i64::try_from(settings.retry_seconds).unwrap_or(i64::MAX)),
            max_attempts: settings.max_attempts,
        })
    }

    /// Enqueues what is due, then sends what the outbox holds (when SMTP is configured).
    pub async fn round(&self) -> Result<RoundSummary> {
        let mut summary = RoundSummary::default();
        for producer in &self.producers {
            let producer = producer.clone();
            summary.enqueued += self.db.transaction(move |c| producer(c)).await?;
        }
        let Some(mailer) = &self.mailer else {
            return Ok(summary);
        };
        // A claim outlasts the sending of its whole batch, each exchange bounded by the
        // SMTP timeout, with a margin.
        let lease = TimeDelta::from_std(SMTP_TIMEOUT * (BATCH as u32 + 2))
            .unwrap_or(TimeDelta::minutes(10));
        for _ in 0..BATCHES_PER_ROUND {
            let holder = self.holder.clone();
            let claimed = self
                .db
                .transaction(move |c| outbox::claim(c, &holder, lease, BATCH))
                .await?;
            if claimed.is_empty() {
                break;
            }
            for message in claimed {
                let outcome = mailer
                    .send(
                        &message.recipient,
                        &message.subject,
                        &message.body,
                        message.list_unsubscribe.as_deref(),
                    )
                    .await;
                let holder = self.holder.clone();
                let (retry, max_attempts) = (self.retry, self.max_attempts);
                let status =
                    self.db
                        .transaction(move |c| match outcome {
                            Ok(()) => outbox::mark_sent(c, &message.id, &holder)
                                .map(|_| MessageStatus::Sent),
                            Err(SendError::Transient(error)) => outbox::mark_failed(
                                c,
                                &message,
                                &holder,
                                &error,
                                false,
                                retry,
                                max_attempts,
                            ),
                            Err(SendError::Permanent(error)) => outbox::mark_failed(
                                c,
                                &message,
                                &holder,
                                &error,
                                true,
                                retry,
                                max_attempts,
                            ),
                        })
                        .await?;
                match status {
                    MessageStatus::Sent => summary.sent += 1,
                    MessageStatus::Pending => summary.retrying += 1,
                    MessageStatus::Failed => summary.failed += 1,
                }
            }
        }
        Ok(summary)
    }

    /// Runs a round every `interval`, the first at once.
    pub fn spawn(self, interval: Duration) -> tokio::task::JoinHandle<()> {
        if self.mailer.is_none() {
            tracing::info!("no smtp_host configured: messages wait in the outbox unsent");
        }
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match self.round().await {
                    Ok(summary) if summary != RoundSummary::default() => {
                        tracing::info!(?summary, "mail round")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "mail round failed"),
                }
            }
        })
    }
}
