//! Sending a campaign: the audience is computed when `send` runs, with every GDPR rule of
//! `campaigns::audience` (grounds, consents and their double opt-in, objections, suppression,
//! restriction), never taken from a list computed earlier. Each recipient gets one message
//! through the mail outbox, keyed `campaign:{campaign}:{contact}`, and a send record naming
//! the basis it rested on.
//!
//! Exactly once per recipient: a send first takes the campaign's row (a lock on PostgreSQL,
//! the one writer on SQLite), so a second send of the same campaign, from this process or
//! another, waits and then finds the recipients already recorded; contacts with a send record
//! are skipped and the outbox's unique key keeps a message from being queued twice anyway.
//! Sending again later (a resumed or repeated send) reaches only the contacts who qualify now
//! and have not been sent the campaign: new subscribers get it, nobody gets it twice.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{get, CampaignRow, CampaignStatus};
use crate::access_policy::Scope;
use crate::campaigns::audience::{self, AudienceBasis};
use crate::contacts::ContactRules;
use crate::db::schema::{campaign_deliveries, campaigns, outbox_messages};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::unsubscribe::UnsubscribeLinks;
use crate::gdpr::{purposes, GdprContext};
use crate::listing::Page;
use crate::mail::outbox::{self, MessageKind, MessageStatus, NewMessage, OutboxRow};

/// One recipient's copy of a campaign and what it rested on.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub campaign_id: String,
    pub contact_id: String,
    pub outbox_message_id: String,
    pub recipient: String,
    /// An `AudienceBasis`.
    pub basis: String,
    pub ground_id: Option<String>,
    pub consent_id: Option<String>,
    pub assessment_id: Option<String>,
    pub queued_at: NaiveDateTime,
    pub unsubscribed_at: Option<NaiveDateTime>,
}

/// What one `send` did.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub campaign: CampaignRow,
    /// Messages queued by this send.
    pub queued: usize,
    /// Recipients who qualify but were sent the campaign before.
    pub already_sent: usize,
    /// The contacts queued (for the access log).
    pub contacts: Vec<String>,
}

/// Sends the campaign to its audience as it is now; see the module's notes. `scope` is the
/// sender's: the whole firm for a user who may send campaigns, `Scope::system()` for the mail
/// loop sending a scheduled one.
pub fn send(
    conn: &mut AnyConnection,
    scope: &Scope,
    gdpr: &GdprContext,
    rules: &ContactRules,
    links: &UnsubscribeLinks,
    id: &str,
) -> Result<SendOutcome> {
    let row = get(conn, id)?;
    if row.status == CampaignStatus::Cancelled.as_str() {
        return Err(Error::Conflict {
            field: Some("id".to_owned()),
            message: "a cancelled campaign cannot be sent".to_owned(),
        });
    }
    let Some(text) = row.description.clone() else {
        return Err(Error::invalid(
            "id",
            "the campaign has no description: it is the message's text",
        ));
    };
    // The campaign's row first: a concurrent send of it waits here until this one commits.
    diesel::update(campaigns::table.find(id))
        .set((
            campaigns::status.eq(CampaignStatus::Sending.as_str()),
            campaigns::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let row = get(conn, id)?;
    let purpose_name = purposes::find(conn, &row.purpose)?
        .map(|p| p.name)
        .unwrap_or_else(|| row.purpose.clone());
    let recipients = audience::recipients(conn, scope, gdpr, &row, rules)?;
    let sent_before: HashSet<String> = campaign_deliveries::table
        .filter(campaign_deliveries::campaign_id.eq(id))
        .select(campaign_deliveries::contact_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut outcome = SendOutcome {
        campaign: row.clone(),
        queued: 0,
        already_sent: 0,
        contacts: Vec::new(),
    };
    for recipient in recipients {
        if sent_before.contains(&recipient.contact_id) {
            outcome.already_sent += 1;
            continue;
        }
        let Some(address) = recipient.emails.first().cloned() else {
            continue;
        };
        let url = links.url(id, &recipient.contact_id);
        let message = NewMessage {
            kind: MessageKind::Campaign,
            dedup_key: format!("campaign:{id}:{}", recipient.contact_id),
            reference_id: Some(id.to_owned()),
            recipient: address.clone(),
            user_id: None,
            contact_id: Some(recipient.contact_id.clone()),
            subject: row.name.clone(),
            body: body(&text, &purpose_name, &url),
        };
        let Some(message_id) = outbox::enqueue_with(conn, message, Some(url))? else {
            outcome.already_sent += 1;
            continue;
        };
        diesel::insert_into(campaign_deliveries::table)
            .values(&DeliveryRow {
                id: new_id(),
                campaign_id: id.to_owned(),
                contact_id: recipient.contact_id.clone(),
                outbox_message_id: message_id,
                recipient: address,
                basis: recipient.basis.as_str().to_owned(),
                ground_id: recipient.ground_id.clone(),
                consent_id: recipient.consent_id.clone(),
                assessment_id: recipient.assessment_id.clone(),
                queued_at: now(),
                unsubscribed_at: None,
            })
            .execute(conn)?;
        outcome.queued += 1;
        outcome.contacts.push(recipient.contact_id);
    }
    settle(conn, id)?;
    outcome.campaign = get(conn, id)?;
    Ok(outcome)
}

/// The text of one message: the campaign's, then the opt-out every message must offer.
fn body(text: &str, purpose_name: &str, url: &str) -> String {
    format!(
        "{text}\n\n--\nYou receive this message as \"{purpose_name}\" communications. To stop \
         receiving them, open this link and press the button, or use your mail program's \
         unsubscribe button:\n{url}\n"
    )
}

/// A sending campaign whose messages are all sent or failed is sent.
fn settle(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let pending: i64 = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::Campaign.as_str()))
        .filter(outbox_messages::reference_id.eq(id))
        .filter(outbox_messages::status.eq(MessageStatus::Pending.as_str()))
        .count()
        .get_result(conn)?;
    if pending > 0 {
        return Ok(false);
    }
    let updated = diesel::update(
        campaigns::table
            .filter(campaigns::id.eq(id))
            .filter(campaigns::status.eq(CampaignStatus::Sending.as_str())),
    )
    .set((
        campaigns::status.eq(CampaignStatus::Sent.as_str()),
        campaigns::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks sent the sending campaigns whose messages have all been sent (or given up); a
/// producer of the mail loop, so it enqueues nothing.
pub fn settle_sending(conn: &mut AnyConnection) -> Result<usize> {
    let sending: Vec<String> = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Sending.as_str()))
        .select(campaigns::id)
        .load(conn)?;
    for id in sending {
        settle(conn, &id)?;
    }
    Ok(0)
}

/// Sends the scheduled campaigns whose `scheduledAt` has passed, each to its audience as it
/// is now; a producer of the mail loop, returning the messages it queued. Each campaign is
/// first claimed by moving it from scheduled to sending on its row: a second process doing
/// the same waits on that row and then finds it no longer scheduled, so a campaign is sent
/// once (and the send records and outbox keys keep any recipient from getting it twice).
/// A due campaign without a description (its text) is left scheduled and reported.
pub fn send_due(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    rules: &ContactRules,
    links: &UnsubscribeLinks,
) -> Result<usize> {
    let due: Vec<(String, Option<String>)> = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Scheduled.as_str()))
        .filter(campaigns::scheduled_at.le(now()))
        .select((campaigns::id, campaigns::description))
        .load(conn)?;
    let mut queued = 0;
    for (id, description) in due {
        if description.is_none() {
            tracing::warn!(campaign = %id, "scheduled campaign is due but has no description: not sent");
            continue;
        }
        // Each campaign in its own savepoint: one that cannot be sent is rolled back and
        // logged, and does not hold up the other campaigns or the rest of the mail loop.
        match crate::db::transaction(conn, |conn| claim_and_send(conn, gdpr, rules, links, &id)) {
            Ok(Some(sent)) => {
                tracing::info!(campaign = %id, queued = sent, "scheduled campaign sent");
                queued += sent;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(campaign = %id, %error, "scheduled campaign could not be sent")
            }
        }
    }
    Ok(queued)
}

/// Takes a due campaign from SCHEDULED to SENDING (unless another process already did) and
/// sends it; the number of messages queued, or none when it was not ours to send.
fn claim_and_send(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    rules: &ContactRules,
    links: &UnsubscribeLinks,
    id: &str,
) -> Result<Option<usize>> {
    let claimed = diesel::update(
        campaigns::table
            .filter(campaigns::id.eq(id))
            .filter(campaigns::status.eq(CampaignStatus::Scheduled.as_str())),
    )
    .set((
        campaigns::status.eq(CampaignStatus::Sending.as_str()),
        campaigns::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Some(
        send(conn, &Scope::system(), gdpr, rules, links, id)?.queued,
    ))
}

/// Removes the campaign's messages still waiting, and their send records (a cancelled
/// campaign sends nothing more).
pub fn discard_pending(conn: &mut AnyConnection, id: &str) -> Result<usize> {
    let waiting: Vec<String> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::Campaign.as_str()))
        .filter(outbox_messages::reference_id.eq(id))
        .filter(outbox_messages::status.eq(MessageStatus::Pending.as_str()))
        .select(outbox_messages::id)
        .load(conn)?;
    diesel::delete(
        campaign_deliveries::table.filter(campaign_deliveries::outbox_message_id.eq_any(&waiting)),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        outbox_messages::table
            .filter(outbox_messages::id.eq_any(&waiting))
            .filter(outbox_messages::status.eq(MessageStatus::Pending.as_str())),
    )
    .execute(conn)?)
}

/// Whether the campaign has been sent to anyone (it then cannot be deleted).
pub fn has_deliveries(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let count: i64 = campaign_deliveries::table
        .filter(campaign_deliveries::campaign_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Messages of a campaign per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Recipients who used the unsubscribe link.
    pub unsubscribed: i64,
}

pub fn counts(conn: &mut AnyConnection, id: &str) -> Result<DeliveryCounts> {
    let statuses: Vec<String> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::Campaign.as_str()))
        .filter(outbox_messages::reference_id.eq(id))
        .select(outbox_messages::status)
        .load(conn)?;
    let mut counts = DeliveryCounts::default();
    for status in statuses {
        match MessageStatus::from_db(&status) {
            Ok(MessageStatus::Pending) => counts.pending += 1,
            Ok(MessageStatus::Sent) => counts.sent += 1,
            Ok(MessageStatus::Failed) => counts.failed += 1,
            Err(_) => {}
        }
    }
    counts.unsubscribed = campaign_deliveries::table
        .filter(campaign_deliveries::campaign_id.eq(id))
        .filter(campaign_deliveries::unsubscribed_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(counts)
}

/// A send record with its message (absent only if the message was removed).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub row: DeliveryRow,
    pub message: Option<OutboxRow>,
}

impl Delivery {
    pub fn basis(&self) -> Result<AudienceBasis> {
        AudienceBasis::from_db(&self.row.basis)
            .map_err(|e| Error::Internal(format!("stored basis unreadable: {e}")))
    }
}

pub fn count_deliveries(conn: &mut AnyConnection, id: &str) -> Result<i64> {
    Ok(campaign_deliveries::table
        .filter(campaign_deliveries::campaign_id.eq(id))
        .count()
        .get_result(conn)?)
}

/// The campaign's send records, oldest first.
pub fn deliveries(conn: &mut AnyConnection, id: &str, page: Page) -> Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = campaign_deliveries::table
        .filter(campaign_deliveries::campaign_id.eq(id))
        .order_by((
            campaign_deliveries::queued_at.asc(),
            campaign_deliveries::id.asc(),
        ))
        .offset(page.offset)
        .limit(page.limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let message_ids: Vec<&String> = rows.iter().map(|r| &r.outbox_message_id).collect();
    let mut messages: HashMap<String, OutboxRow> = outbox_messages::table
        .filter(outbox_messages::id.eq_any(message_ids))
        .select(OutboxRow::as_select())
        .load::<OutboxRow>(conn)?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Delivery {
            message: messages.remove(&row.outbox_message_id),
            row,
        })
        .collect())
}
