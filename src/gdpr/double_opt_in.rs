//! Double opt-in: a consent for a purpose that requires it (`double_opt_in_purposes`), or a
//! re-consent of someone on the suppression list, counts only once the person confirms it
//! through a link mailed to them. The link carries a token signed with the instance's key
//! (`HashDomain::ConsentConfirmation`: good for nothing else), naming the consent and when the
//! link expires. Opening the link changes nothing (mail scanners follow links); the button on
//! that page confirms, recording the time, the client's address and user agent. A forged,
//! expired or used link changes nothing.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::suppression;
use super::{HashDomain, KeyedHasher};
use crate::db::schema::{consents, contact_emails, contacts, outbox_messages, purposes};
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result};
use crate::mail::outbox::{self, MessageKind, NewMessage};

/// How long a confirmation link works.
pub const LINK_VALIDITY: TimeDelta = TimeDelta::days(7);

/// What the confirmation messages need: the key that signs links and where lexgate is reached.
#[derive(Debug, Clone)]
pub struct ConfirmationLinks {
    pub hasher: KeyedHasher,
    /// `public_url`, without a trailing slash.
    pub base_url: String,
}

impl ConfirmationLinks {
    pub fn url(&self, token: &str) -> String {
        format!("{}/consent/confirm/{token}", self.base_url)
    }
}

/// The token of a consent's confirmation link, valid until `expires_at`.
pub fn token(hasher: &KeyedHasher, consent_id: &str, expires_at: NaiveDateTime) -> String {
    let claims = format!("{consent_id}.{}", expires_at.and_utc().timestamp());
    let mac = hasher.hash(HashDomain::ConsentConfirmation, &claims);
    format!("{claims}.{mac}")
}

/// Why a link does not confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Not signed by this instance, or altered.
    Invalid,
    Expired,
    /// Confirmed before: the link is used up.
    AlreadyConfirmed,
    /// The consent was withdrawn (or no longer exists).
    Withdrawn,
}

/// The consent a token names, if it is genuine and unexpired.
pub fn verify(hasher: &KeyedHasher, token: &str, at: NaiveDateTime) -> Result<String, LinkProblem> {
    let mut parts = token.rsplitn(2, '.');
    let (Some(mac), Some(claims)) = (parts.next(), parts.next()) else {
        return Err(LinkProblem::Invalid);
    };
    if !hasher.verify(HashDomain::ConsentConfirmation, claims, mac) {
        return Err(LinkProblem::Invalid);
    }
    let Some((consent_id, expires)) = claims.rsplit_once('.') else {
        return Err(LinkProblem::Invalid);
    };
    let expires = expires
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .ok_or(LinkProblem::Invalid)?;
    if expires.naive_utc() < at {
        return Err(LinkProblem::Expired);
    }
    Ok(consent_id.to_owned())
}

/// A consent waiting for its confirmation, as the confirmation page shows it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub consent_id: String,
    pub purpose_name: String,
}

/// The consent's state: waiting (and for what purpose), or why the link cannot confirm it.
pub fn pending(conn: &mut AnyConnection, consent_id: &str) -> Result<Result<Pending, LinkProblem>> {
    let found: Option<(Option<NaiveDateTime>, Option<NaiveDateTime>, String)> = consents::table
        .inner_join(purposes::table)
        .filter(consents::id.eq(consent_id))
        .select((
            consents::double_opt_in_at,
            consents::withdrawn_at,
            purposes::name,
        ))
        .first(conn)
        .optional()?;
    Ok(match found {
        None | Some((_, Some(_), _)) => Err(LinkProblem::Withdrawn),
        Some((Some(_), None, _)) => Err(LinkProblem::AlreadyConfirmed),
        Some((None, None, purpose_name)) => Ok(Pending {
            consent_id: consent_id.to_owned(),
            purpose_name,
        }),
    })
}

/// The evidence of a confirming click.
#[derive(Debug, Clone)]
pub struct ClickEvidence {
    pub client_address: String,
    pub user_agent: Option<String>,
}

/// Confirms a consent waiting for it: records the time and evidence and, for a re-consent,
/// lifts the suppression for its purpose. A consent confirmed or withdrawn meanwhile is left
/// as it is.
pub fn confirm(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    consent_id: &str,
    evidence: ClickEvidence,
) -> Result<Result<Pending, LinkProblem>> {
    let state = pending(conn, consent_id)?;
    let Ok(waiting) = state else {
        return Ok(state);
    };
    let at = now();
    let confirmed = diesel::update(
        consents::table
            .filter(consents::id.eq(consent_id))
            .filter(consents::double_opt_in_at.is_null())
            .filter(consents::withdrawn_at.is_null()),
    )
    .set((
        consents::double_opt_in_at.eq(at),
        consents::double_opt_in_client_address.eq(&evidence.client_address),
        consents::double_opt_in_user_agent.eq(&evidence.user_agent),
    ))
    .execute(conn)?;
    if confirmed == 0 {
        return pending(conn, consent_id);
    }
    let (contact_id, purpose_id, lifts): (String, String, bool) = consents::table
        .find(consent_id)
        .select((
            consents::contact_id,
            consents::purpose_id,
            consents::lifts_suppression,
        ))
        .first(conn)?;
    if lifts {
        suppression::lift_for_purpose(conn, hasher, &contact_id, &purpose_id, consent_id)?;
    }
    Ok(Ok(waiting))
}

/// Enqueues a confirmation message for every consent waiting for one that has none yet;
/// returns how many. Consents of contacts without an e-mail address wait.
pub fn enqueue_confirmations(conn: &mut AnyConnection, links: &ConfirmationLinks) -> Result<usize> {
    let waiting: Vec<(String, String, NaiveDateTime, String, String)> = consents::table
        .inner_join(purposes::table)
        .inner_join(contacts::table)
        .filter(consents::double_opt_in_requested_at.is_not_null())
        .filter(consents::double_opt_in_at.is_null())
        .filter(consents::withdrawn_at.is_null())
        .select((
            consents::id,
            consents::contact_id,
            consents::recorded_at,
            purposes::name,
            contacts::display_name,
        ))
        .load(conn)?;
    let ids: Vec<&String> = waiting.iter().map(|w| &w.0).collect();
    let asked: std::collections::HashSet<Option<String>> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MessageKind::ConsentConfirmation.as_str()))
        .filter(outbox_messages::reference_id.eq_any(ids))
        .select(outbox_messages::reference_id)
        .load(conn)?
        .into_iter()
        .collect();
    let waiting = waiting
        .into_iter()
        .filter(|w| !asked.contains(&Some(w.0.clone())));
    let mut added = 0;
    for (consent_id, contact_id, recorded_at, purpose_name, name) in waiting {
        let address: Option<String> = contact_emails::table
            .filter(contact_emails::contact_id.eq(&contact_id))
            .order_by(contact_emails::position)
            .select(contact_emails::address)
            .first(conn)
            .optional()?;
        let Some(address) = address else {
            continue;
        };
        let link = links.url(&token(
            &links.hasher,
            &consent_id,
            recorded_at + LINK_VALIDITY,
        ));
        let message = NewMessage {
            kind: MessageKind::ConsentConfirmation,
            dedup_key: format!("consent-confirmation:{consent_id}"),
            reference_id: Some(consent_id),
            recipient: address,
            user_id: None,
            contact_id: Some(contact_id),
            subject: format!("Please confirm: {purpose_name}"),
            body: format!(
                "Dear {name},\n\nyou agreed to receive communications for \"{purpose_name}\". \
                 Please confirm that this address is yours and that you agree, by opening this \
                 link and pressing the button on the page:\n\n{link}\n\nThe link works for {} \
                 days. If you did not ask for this, ignore this message: nothing will be sent \
                 to you.\n",
                LINK_VALIDITY.num_days()
            ),
        };
        if outbox::enqueue(conn, message)? {
            added += 1;
        }
    }
    Ok(added)
}

/// Refuses a consent input that claims a confirmation lexgate is to collect itself.
pub fn refuse_claimed_confirmation(field: &str) -> Error {
    Error::invalid(
        field,
        "the person confirms this consent through the link lexgate mails them: leave \
         doubleOptInAt out",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_confirms_only_its_consent_until_it_expires() {
        let hasher = KeyedHasher::new(b"instance key of the test");
        let at = now();
        let token = token(&hasher, "consent-1", at + TimeDelta::hours(1));
        assert_eq!(verify(&hasher, &token, at), Ok("consent-1".to_owned()));
        assert_eq!(
            verify(&hasher, &token, at + TimeDelta::hours(2)),
            Err(LinkProblem::Expired)
        );
        let other_key = KeyedHasher::new(b"another instance");
        assert_eq!(verify(&other_key, &token, at), Err(LinkProblem::Invalid));
        let renamed = token.replacen("consent-1", "consent-2", 1);
        assert_eq!(verify(&hasher, &renamed, at), Err(LinkProblem::Invalid));
        // A signature of another domain (a suppression hash of the same text) is no token.
        let claims = token.rsplit_once('.').map(|(c, _)| c).unwrap_or_default();
        let forged = format!("{claims}.{}", hasher.hash(HashDomain::Email, claims));
        assert_eq!(verify(&hasher, &forged, at), Err(LinkProblem::Invalid));
        assert_eq!(verify(&hasher, "garbage", at), Err(LinkProblem::Invalid));
    }
}
