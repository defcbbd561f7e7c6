//! The suppression list: addresses and numbers that must not receive marketing, kept as keyed
//! hashes so the list outlives the contact's erasure without keeping the address itself.

use std::collections::HashSet;

use async_graphql::InputObject;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Actor, HashDomain, KeyedHasher};
use crate::db::schema::{contact_changes, contact_emails, contact_phones, purposes, suppressions};
use crate::db::{new_id, now, text_enum, AnyConnection};
use crate::error::{Error, Result};
use crate::listing::Page;
use crate::validation::{email_key, normalize_email, normalize_phone};

text_enum! {
    /// What kind of value is suppressed.
    SuppressionChannel {
        /// An email address.
        Email => "email",
        /// A phone number.
        Phone => "phone",
    }
}

text_enum! {
    /// Why a value is on the list.
    SuppressionReason {
        /// The person withdrew consent to marketing.
        Withdrawal => "withdrawal",
        /// The person objected to marketing.
        Objection => "objection",
        /// The person's data was erased; the hash keeps them from being contacted again.
        Erasure => "erasure",
        /// Entered by hand: a request received outside the CRM, a bounce, a complaint.
        Request => "request",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = suppressions)]
pub struct SuppressionRow {
    pub id: String,
    pub channel: String,
    pub value_hash: String,
    pub purpose_id: Option<String>,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

/// An address or number to put on the suppression list, for `suppressAddress`.
#[derive(Debug, Clone, InputObject)]
pub struct SuppressAddressInput {
    /// An e-mail address or a phone number; exactly one.
    pub email: Option<String>,
    /// A phone number (any common notation); exactly one of `email` and `phone`.
    pub phone: Option<String>,
    /// The purpose's key; all direct marketing when left out.
    pub purpose: Option<String>,
}

/// The hash a value is suppressed under: emails by their case-folded key, phones in E.164.
pub fn hash_email(hasher: &KeyedHasher, address: &str) -> String {
    hasher.hash(HashDomain::Email, &email_key(address.trim()))
}

pub fn hash_phone(hasher: &KeyedHasher, e164: &str) -> String {
    hasher.hash(HashDomain::Phone, e164.trim())
}

/// Adds one hash, unless the same entry is already there.
fn add(
    conn: &mut AnyConnection,
    channel: SuppressionChannel,
    value_hash: String,
    purpose_id: Option<&str>,
    reason: SuppressionReason,
    created_by: &str,
) -> Result<()> {
    let mut existing = suppressions::table
        .filter(suppressions::channel.eq(channel.as_str()))
        .filter(suppressions::value_hash.eq(&value_hash))
        .into_boxed();
    existing = match purpose_id {
        Some(p) => existing.filter(suppressions::purpose_id.eq(p.to_owned())),
        None => existing.filter(suppressions::purpose_id.is_null()),
    };
    let present: i64 = existing.count().get_result(conn)?;
    if present > 0 {
        return Ok(());
    }
    diesel::insert_into(suppressions::table)
        .values(&SuppressionRow {
            id: new_id(),
            channel: channel.as_str().to_owned(),
            value_hash,
            purpose_id: purpose_id.map(str::to_owned),
            reason: reason.as_str().to_owned(),
            created_at: now(),
            created_by: Some(created_by.to_owned()),
        })
        .execute(conn)?;
    Ok(())
}

/// Puts every e-mail address and phone number of a contact on the list.
pub fn suppress_contact(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
    purpose_id: Option<&str>,
    reason: SuppressionReason,
    actor: &Actor,
) -> Result<()> {
    let emails: Vec<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .select(contact_emails::address)
        .load(conn)?;
    let phones: Vec<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .select(contact_phones::number)
        .load(conn)?;
    suppress_values(
        conn,
        hasher,
        &emails,
        &phones,
        purpose_id,
        reason,
        &actor.label,
    )
}

/// Puts these e-mail addresses and phone numbers on the list (those already there stay as
/// they are).
pub(crate) fn suppress_values(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    emails: &[String],
    phones: &[String],
    purpose_id: Option<&str>,
    reason: SuppressionReason,
    created_by: &str,
) -> Result<()> {
    for email in emails {
        let hash = hash_email(hasher, email);
        add(
            conn,
            SuppressionChannel::Email,
            hash,
            purpose_id,
            reason,
            created_by,
        )?;
    }
    for phone in phones {
        let hash = hash_phone(hasher, phone);
        add(
            conn,
            SuppressionChannel::Phone,
            hash,
            purpose_id,
            reason,
            created_by,
        )?;
    }
    Ok(())
}

/// Suppresses one address or number given by hand (it need not belong to a contact).
pub fn suppress_value(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    input: &SuppressAddressInput,
    purpose_id: Option<&str>,
    phone_region: &str,
    actor: &Actor,
) -> Result<SuppressionRow> {
    let (channel, hash) = match (&input.email, &input.phone) {
        (Some(email), None) => {
            let address =
                normalize_email(email).map_err(|e| Error::invalid("input.email", e.to_string()))?;
            (SuppressionChannel::Email, hash_email(hasher, &address))
        }
        (None, Some(phone)) => {
            let number = normalize_phone(phone, phone_region)
                .map_err(|e| Error::invalid("input.phone", e.to_string()))?;
            (SuppressionChannel::Phone, hash_phone(hasher, &number))
        }
        _ => {
            return Err(Error::invalid(
                "input",
                "give either an e-mail address or a phone number",
            ))
        }
    };
    add(
        conn,
        channel,
        hash.clone(),
        purpose_id,
        SuppressionReason::Request,
        &actor.label,
    )?;
    let mut query = suppressions::table
        .filter(suppressions::channel.eq(channel.as_str()))
        .filter(suppressions::value_hash.eq(hash))
        .into_boxed();
    query = match purpose_id {
        Some(p) => query.filter(suppressions::purpose_id.eq(p.to_owned())),
        None => query.filter(suppressions::purpose_id.is_null()),
    };
    Ok(query.select(SuppressionRow::as_select()).first(conn)?)
}

/// The hashes suppressed for a purpose (entries for all marketing included).
pub fn suppressed_for(
    conn: &mut AnyConnection,
    purpose_id: &str,
) -> Result<HashSet<(String, String)>> {
    let rows: Vec<(String, String)> = suppressions::table
        .filter(
            suppressions::purpose_id
                .eq(purpose_id)
                .or(suppressions::purpose_id.is_null()),
        )
        .select((suppressions::channel, suppressions::value_hash))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Warnings for a contact's addresses and numbers on the suppression list: written again
/// (a new contact, an update), they still receive no marketing the entries cover.
pub fn warnings_for_contact(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
) -> Result<Vec<String>> {
    let emails: Vec<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .order_by(contact_emails::position)
        .select(contact_emails::address)
        .load(conn)?;
    let phones: Vec<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .order_by(contact_phones::position)
        .select(contact_phones::number)
        .load(conn)?;
    let values = emails
        .iter()
        .map(|e| (SuppressionChannel::Email, e, hash_email(hasher, e)))
        .chain(
            phones
                .iter()
                .map(|p| (SuppressionChannel::Phone, p, hash_phone(hasher, p))),
        );
    let mut warnings = Vec::new();
    for (channel, value, hash) in values {
        let entries: Vec<(Option<String>, String)> = suppressions::table
            .left_join(purposes::table)
            .filter(suppressions::channel.eq(channel.as_str()))
            .filter(suppressions::value_hash.eq(&hash))
            .order_by(purposes::key.asc())
            .select((purposes::key.nullable(), suppressions::reason))
            .load(conn)?;
        for (purpose, reason) in entries {
            let scope = purpose.map_or("all direct marketing".to_owned(), |p| format!("`{p}`"));
            warnings.push(format!(
                "{value} is on the suppression list for {scope} ({reason}): it receives no such \
                 marketing until the person consents again"
            ));
        }
    }
    Ok(warnings)
}

/// Lifts the suppression of a contact's addresses and numbers for one purpose, after a
/// confirmed re-consent (`consent_id`) for it: entries for that purpose go; an entry for all
/// direct marketing becomes one entry per other marketing purpose, so those stay suppressed.
/// The lift is written to the contact's change history. Returns the entries lifted.
pub fn lift_for_purpose(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact_id: &str,
    purpose_id: &str,
    consent_id: &str,
) -> Result<usize> {
    let emails: Vec<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .select(contact_emails::address)
        .load(conn)?;
    let phones: Vec<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .select(contact_phones::number)
        .load(conn)?;
    let hashes: Vec<String> = emails
        .iter()
        .map(|e| hash_email(hasher, e))
        .chain(phones.iter().map(|p| hash_phone(hasher, p)))
        .collect();
    let entries: Vec<SuppressionRow> = suppressions::table
        .filter(suppressions::value_hash.eq_any(&hashes))
        .filter(
            suppressions::purpose_id
                .eq(purpose_id)
                .or(suppressions::purpose_id.is_null()),
        )
        .select(SuppressionRow::as_select())
        .load(conn)?;
    if entries.is_empty() {
        return Ok(0);
    }
    let other_marketing: Vec<String> = purposes::table
        .filter(purposes::marketing.eq(true))
        .filter(purposes::id.ne(purpose_id))
        .select(purposes::id)
        .load(conn)?;
    let by = format!("consent:{consent_id}");
    let mut scopes = Vec::new();
    for entry in &entries {
        diesel::delete(suppressions::table.find(&entry.id)).execute(conn)?;
        if entry.purpose_id.is_none() {
            scopes.push("all direct marketing".to_owned());
            let channel = SuppressionChannel::from_db(&entry.channel)?;
            let reason = SuppressionReason::from_db(&entry.reason)?;
            for other in &other_marketing {
                add(
                    conn,
                    channel,
                    entry.value_hash.clone(),
                    Some(other),
                    reason,
                    entry.created_by.as_deref().unwrap_or(&by),
                )?;
            }
        } else {
            scopes.push("this purpose".to_owned());
        }
    }
    let purpose_key: String = purposes::table
        .find(purpose_id)
        .select(purposes::key)
        .first(conn)?;
    scopes.sort();
    scopes.dedup();
    diesel::insert_into(contact_changes::table)
        .values((
            contact_changes::id.eq(new_id()),
            contact_changes::contact_id.eq(contact_id),
            contact_changes::changed_at.eq(now()),
            contact_changes::changed_by.eq(&by),
            contact_changes::field.eq("suppression"),
            contact_changes::old_value.eq(format!("suppressed for {}", scopes.join(" and "))),
            contact_changes::new_value.eq(format!(
                "lifted for `{purpose_key}` by the confirmed re-consent; other purposes stay \
                 suppressed"
            )),
        ))
        .execute(conn)?;
    tracing::info!(
        contact = contact_id,
        purpose = purpose_key,
        consent = consent_id,
        entries = entries.len(),
        "suppression lifted for one purpose by a confirmed re-consent"
    );
    Ok(entries.len())
}

pub fn list(conn: &mut AnyConnection, page: Page) -> Result<Vec<SuppressionRow>> {
    Ok(suppressions::table
        .order_by((suppressions::created_at.desc(), suppressions::id.desc()))
        .offset(page.offset)
        .limit(page.limit)
        .select(SuppressionRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(suppressions::table.count().get_result(conn)?)
}
