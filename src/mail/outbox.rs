//! The outbox table: messages to send, enqueued once per deduplication key, claimed by one
//! process at a time with a lease, retried with backoff, with attempts and the last error
//! recorded.
//!
//! Exactly once: enqueueing is idempotent (the key is unique), a claim is a lease that only
//! one process holds (rows are picked with `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has
//! one writer), and a message is marked sent by its holder right after the SMTP server
//! accepts it. Only a crash between the server's acceptance and that mark sends a message
//! again, once the lease has expired.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::schema::outbox_messages;
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::Result;
use crate::listing::group_by_key;

text_enum! {
    /// What a message is for.
    MessageKind {
        DeadlineReminder => "deadline_reminder",
        ConsentConfirmation => "consent_confirmation",
        /// One recipient's copy of a campaign.
        Campaign => "campaign",
        /// A user's daily digest of their deadlines and tasks.
        DailyDigest => "daily_digest",
    }
}

text_enum! {
    /// Where an outgoing message stands.
    MessageStatus {
        /// Waiting for its (next) attempt.
        Pending => "pending",
        /// Accepted by the SMTP server.
        Sent => "sent",
        /// Refused for good (a permanent SMTP reply, or too many attempts).
        Failed => "failed",
    }
}

/// The longest wait between two attempts.
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_messages)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub dedup_key: String,
    pub reference_id: Option<String>,
    pub recipient: String,
    pub user_id: Option<String>,
    pub contact_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The one-click unsubscribe URL the message carries in `List-Unsubscribe` (RFC 8058),
    /// for campaign messages.
    pub list_unsubscribe: Option<String>,
}

/// A message to enqueue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageKind,
    /// The same key is enqueued once, whoever enqueues it and however often.
    pub dedup_key: String,
    /// The record the message is about (a deadline, a consent).
    pub reference_id: Option<String>,
    pub recipient: String,
    /// The firm's user it goes to, if any.
    pub user_id: Option<String>,
    /// The contact it goes to, if any (so erasure and the access export find it).
    pub contact_id: Option<String>,
    pub subject: String,
    pub body: String,
}

/// Enqueues a message unless one with its key exists; `true` when it was added.
pub fn enqueue(conn: &mut AnyConnection, message: NewMessage) -> Result<bool> {
    Ok(enqueue_with(conn, message, None)?.is_some())
}

/// Like [`enqueue`], for a message that carries a one-click unsubscribe URL
/// (`List-Unsubscribe` and `List-Unsubscribe-Post`, RFC 8058); the new message's ID when it
/// was added.
pub fn enqueue_with(
    conn: &mut AnyConnection,
    message: NewMessage,
    list_unsubscribe: Option<String>,
) -> Result<Option<String>> {
    let at = now();
    let row = OutboxRow {
        id: new_id(),
        kind: message.kind.as_str().to_owned(),
        dedup_key: message.dedup_key,
        reference_id: message.reference_id,
        recipient: message.recipient,
        user_id: message.user_id,
        contact_id: message.contact_id,
        subject: message.subject,
        body: message.body,
        status: MessageStatus::Pending.as_str().to_owned(),
        attempts: 0,
        next_attempt_at: at,
        claimed_by: None,
        claimed_until: None,
        last_error: None,
        created_at: at,
        sent_at: None,
        list_unsubscribe,
    };
    let id = row.id.clone();
    let insert = diesel::insert_into(outbox_messages::table).values(&row);
    // Two processes enqueueing the same message at once: the unique key keeps one.
    let added = match conn {
        AnyConnection::Postgresql(pg) => insert.on_conflict_do_nothing().execute(pg)?,
        AnyConnection::Sqlite(sqlite) => insert.on_conflict_do_nothing().execute(sqlite)?,
    };
    Ok((added == 1).then_some(id))
}

/// Claims up to `limit` messages due now for `holder` until `lease` has passed, and returns
/// them. Run it in a transaction: on PostgreSQL the rows are locked while claimed, and rows
/// another process is claiming are skipped rather than waited for.
pub fn claim(
    conn: &mut AnyConnection,
    holder: &str,
    lease: TimeDelta,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    let at = now();
    let due = outbox_messages::table
        .filter(outbox_messages::status.eq(MessageStatus::Pending.as_str()))
        .filter(outbox_messages::next_attempt_at.le(at))
        .filter(
            outbox_messages::claimed_until
                .is_null()
                .or(outbox_messages::claimed_until.lt(at)),
        )
        .order_by((
            outbox_messages::next_attempt_at.asc(),
            outbox_messages::id.asc(),
        ))
        .limit(limit)
        .select(outbox_messages::id);
    let ids: Vec<String> = match conn {
        AnyConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
        AnyConnection::Sqlite(sqlite) => due.load(sqlite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = at + lease;
    // The claim conditions again: a row claimed meanwhile is not taken over.
    diesel::update(
        outbox_messages::table
            .filter(outbox_messages::id.eq_any(&ids))
            .filter(outbox_messages::status.eq(MessageStatus::Pending.as_str()))
            .filter(
                outbox_messages::claimed_until
                    .is_null()
                    .or(outbox_messages::claimed_until.lt(at)),
            ),
    )
    .set((
        outbox_messages::claimed_by.eq(holder),
        outbox_messages::claimed_until.eq(until),
    ))
    .execute(conn)?;
    Ok(outbox_messages::table
        .filter(outbox_messages::id.eq_any(&ids))
        .filter(outbox_messages::claimed_by.eq(holder))
        .filter(outbox_messages::claimed_until.eq(until))
        .order_by((
            outbox_messages::next_attempt_at.asc(),
            outbox_messages::id.asc(),
        ))
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// The message was accepted: marked sent, if `holder` still holds it.
pub fn mark_sent(conn: &mut AnyConnection, id: &str, holder: &str) -> Result<bool> {
    let at = now();
    let updated = diesel::update(held(id, holder))
        .set((
            outbox_messages::status.eq(MessageStatus::Sent.as_str()),
            outbox_messages::attempts.eq(outbox_messages::attempts + 1),
            outbox_messages::sent_at.eq(at),
            outbox_messages::last_error.eq(None::<String>),
            outbox_messages::claimed_by.eq(None::<String>),
            outbox_messages::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Records a failed attempt: a permanent failure, or the last attempt allowed, fails the
/// message for good; otherwise it waits `retry` doubled per earlier attempt (at most an hour).
pub fn mark_failed(
    conn: &mut AnyConnection,
    message: &OutboxRow,
    holder: &str,
    error: &str,
    permanent: bool,
    retry: TimeDelta,
    max_attempts: u32,
) -> Result<MessageStatus> {
    let attempts = message.attempts + 1;
    let give_up = permanent || i64::from(attempts) >= i64::from(max_attempts);
    let status = if give_up {
        MessageStatus::Failed
    } else {
        MessageStatus::Pending
    };
    diesel::update(held(&message.id, holder))
        .set((
            outbox_messages::status.eq(status.as_str()),
            outbox_messages::attempts.eq(attempts),
            outbox_messages::next_attempt_at.eq(now() + backoff(retry, attempts)),
            outbox_messages::last_error.eq(error),
            outbox_messages::claimed_by.eq(None::<String>),
            outbox_messages::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(status)
}

/// The wait after the `attempts`-th failed attempt: `retry`, doubled for each earlier one.
fn backoff(retry: TimeDelta, attempts: i32) -> TimeDelta {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    retry
        .checked_mul(1 << doublings)
        .map_or(MAX_BACKOFF, |wait| wait.min(MAX_BACKOFF))
}

/// The message `id` while `holder` holds its claim.
type Held<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<outbox_messages::table, diesel::dsl::Eq<outbox_messages::id, &'a str>>,
    diesel::dsl::Eq<outbox_messages::claimed_by, &'a str>,
>;

fn held<'a>(id: &'a str, holder: &'a str) -> Held<'a> {
    outbox_messages::table
        .filter(outbox_messages::id.eq(id))
        .filter(outbox_messages::claimed_by.eq(holder))
}

/// Removes the messages of `kind` about a record that is deleted.
pub fn discard_about(
    conn: &mut AnyConnection,
    kind: MessageKind,
    reference_id: &str,
) -> Result<()> {
    diesel::delete(
        outbox_messages::table
            .filter(outbox_messages::kind.eq(kind.as_str()))
            .filter(outbox_messages::reference_id.eq(reference_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The messages of `kind` about each of the records, oldest first.
pub fn about(
    conn: &mut AnyConnection,
    kind: MessageKind,
    reference_ids: &[String],
) -> Result<HashMap<String, Vec<OutboxRow>>> {
    let rows = outbox_messages::table
        .filter(outbox_messages::kind.eq(kind.as_str()))
        .filter(outbox_messages::reference_id.eq_any(reference_ids))
        .order_by((outbox_messages::created_at.asc(), outbox_messages::id.asc()))
        .select(OutboxRow::as_select())
        .load::<OutboxRow>(conn)?;
    Ok(group_by_key(rows, |r| {
        r.reference_id.clone().unwrap_or_default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_per_attempt_up_to_an_hour() {
        let retry = TimeDelta::seconds(60);
        assert_eq!(backoff(retry, 1), TimeDelta::seconds(60));
        assert_eq!(backoff(retry, 2), TimeDelta::seconds(120));
        assert_eq!(backoff(retry, 4), TimeDelta::seconds(480));
        assert_eq!(backoff(retry, 10), MAX_BACKOFF);
        assert_eq!(backoff(retry, 1000), MAX_BACKOFF);
    }
}
