//! One-click unsubscribe (RFC 8058) from a campaign's messages. Each message carries a link
//! whose token names the campaign and the contact, signed with the instance's key under
//! `HashDomain::Unsubscribe`: good for nothing else (a double-opt-in token is not an
//! unsubscribe token, nor the other way round), and altering either ID breaks the signature.
//! It does not expire: an opt-out must keep working.
//!
//! Using it records an objection (Art. 21) to the campaign's purpose, which ends the
//! contact's grounds for it and, for a marketing purpose, suppresses their addresses for it;
//! the address the message went to is suppressed for the purpose in any case. Using it again
//! changes nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::objections::{self, RecordObjectionInput};
use super::suppression::{self, SuppressionReason};
use super::{Actor, GdprContext, HashDomain, KeyedHasher};
use crate::db::schema::{campaign_deliveries, campaigns, purposes};
use crate::db::{now, AnyConnection};
use crate::error::Result;
use crate::ids::{self, NodeType};

/// Where the links point: `public_url`, without a trailing slash.
#[derive(Debug, Clone)]
pub struct UnsubscribeLinks {
    pub hasher: KeyedHasher,
    pub base_url: String,
}

impl UnsubscribeLinks {
    /// The absolute one-click URL for `contact_id` in `campaign_id`.
    pub fn url(&self, campaign_id: &str, contact_id: &str) -> String {
        format!(
            "{}/unsubscribe/{}",
            self.base_url,
            token(&self.hasher, campaign_id, contact_id)
        )
    }
}

/// The token naming the contact and the campaign.
pub fn token(hasher: &KeyedHasher, campaign_id: &str, contact_id: &str) -> String {
    let claims = format!("{campaign_id}.{contact_id}");
    let mac = hasher.hash(HashDomain::Unsubscribe, &claims);
    format!("{claims}.{mac}")
}

/// The campaign and contact a genuine token names; `None` for anything else.
pub fn verify(hasher: &KeyedHasher, token: &str) -> Option<(String, String)> {
    let (claims, mac) = token.rsplit_once('.')?;
    if !hasher.verify(HashDomain::Unsubscribe, claims, mac) {
        return None;
    }
    let (campaign, contact) = claims.split_once('.')?;
    Some((campaign.to_owned(), contact.to_owned()))
}

/// What a genuine link finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not used yet: using it unsubscribes from this purpose.
    Subscribed { purpose_name: String },
    /// Used before.
    Unsubscribed { purpose_name: String },
    /// No such send any more (the person's data was erased).
    Gone,
}

/// The send the link belongs to: its delivery, the campaign's purpose key, id and name.
#[derive(Debug, Clone, Queryable)]
struct Send {
    delivery_id: String,
    recipient: String,
    unsubscribed_at: Option<NaiveDateTime>,
    campaign_name: String,
    purpose_key: String,
    purpose_name: String,
}

fn find(conn: &mut AnyConnection, campaign_id: &str, contact_id: &str) -> Result<Vec<Send>> {
    Ok(campaign_deliveries::table
        .inner_join(campaigns::table)
        .inner_join(purposes::table.on(purposes::key.eq(campaigns::purpose)))
        .filter(campaign_deliveries::campaign_id.eq(campaign_id))
        .filter(campaign_deliveries::contact_id.eq(contact_id))
        .order_by(campaign_deliveries::queued_at.asc())
        .select((
            campaign_deliveries::id,
            campaign_deliveries::recipient,
            campaign_deliveries::unsubscribed_at,
            campaigns::name,
            purposes::key,
            purposes::name,
        ))
        .load(conn)?)
}

/// What the link would do, without doing it.
pub fn state(conn: &mut AnyConnection, campaign_id: &str, contact_id: &str) -> Result<LinkState> {
    let sends = find(conn, campaign_id, contact_id)?;
    let Some(first) = sends.first() else {
        return Ok(LinkState::Gone);
    };
    let purpose_name = first.purpose_name.clone();
    Ok(if sends.iter().any(|s| s.unsubscribed_at.is_some()) {
        LinkState::Unsubscribed { purpose_name }
    } else {
        LinkState::Subscribed { purpose_name }
    })
}

/// Unsubscribes: the objection to the campaign's purpose, the suppression of the address it
/// went to, the time on the send record. Answers the state before; a link used before
/// changes nothing.
pub fn unsubscribe(
    conn: &mut AnyConnection,
    gdpr: &GdprContext,
    campaign_id: &str,
    contact_id: &str,
) -> Result<LinkState> {
    let before = state(conn, campaign_id, contact_id)?;
    if !matches!(before, LinkState::Subscribed { .. }) {
        return Ok(before);
    }
    let sends = find(conn, campaign_id, contact_id)?;
    let Some(send) = sends.first() else {
        return Ok(LinkState::Gone);
    };
    let at = now();
    // Marked first: of two clicks at once, only the one that marks it records the objection.
    let marked = diesel::update(
        campaign_deliveries::table
            .filter(campaign_deliveries::campaign_id.eq(campaign_id))
            .filter(campaign_deliveries::contact_id.eq(contact_id))
            .filter(campaign_deliveries::unsubscribed_at.is_null()),
    )
    .set(campaign_deliveries::unsubscribed_at.eq(at))
    .execute(conn)?;
    if marked == 0 {
        return state(conn, campaign_id, contact_id);
    }
    let actor = Actor::system("unsubscribe-link");
    objections::record(
        conn,
        gdpr,
        RecordObjectionInput {
            contact_id: ids::encode(NodeType::Contact, contact_id),
            purpose: Some(send.purpose_key.clone()),
            received_at: at.and_utc(),
            method: "unsubscribe link (one-click)".to_owned(),
            note: Some(format!("campaign \"{}\"", send.campaign_name)),
        },
        &actor,
    )?;
    let purpose_id: String = purposes::table
        .filter(purposes::key.eq(&send.purpose_key))
        .select(purposes::id)
        .first(conn)?;
    let addresses: Vec<String> = sends.iter().map(|s| s.recipient.clone()).collect();
    suppression::suppress_values(
        conn,
        &gdpr.hasher,
        &addresses,
        &[],
        Some(&purpose_id),
        SuppressionReason::Objection,
        &actor.label,
    )?;
    tracing::debug!(delivery = %send.delivery_id, "unsubscribed through the one-click link");
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_campaign_and_contact_and_nothing_else_verifies() {
        let hasher = KeyedHasher::new(b"instance key of the test");
        let token = token(&hasher, "campaign-1", "contact-1");
        assert_eq!(
            verify(&hasher, &token),
            Some(("campaign-1".to_owned(), "contact-1".to_owned()))
        );
        let other_contact = token.replacen("contact-1", "contact-2", 1);
        assert_eq!(verify(&hasher, &other_contact), None);
        let other_key = KeyedHasher::new(b"another instance");
        assert_eq!(verify(&other_key, &token), None);
        // A double-opt-in token (another domain) does not unsubscribe, nor the other way.
        let confirmation = crate::gdpr::double_opt_in::token(&hasher, "campaign-1", now());
        assert_eq!(verify(&hasher, &confirmation), None);
        assert!(crate::gdpr::double_opt_in::verify(&hasher, &token, now()).is_err());
        let claims = token.rsplit_once('.').map(|(c, _)| c).unwrap_or_default();
        let forged = format!("{claims}.{}", hasher.hash(HashDomain::Email, claims));
        assert_eq!(verify(&hasher, &forged), None);
        assert_eq!(verify(&hasher, "garbage"), None);
    }
}
