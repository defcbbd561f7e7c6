//! Finding contacts recorded twice and merging them into one.

use std::collections::HashSet;

use async_graphql::{Enum, InputObject, ID};
use diesel::dsl::{count, count_star};
use diesel::prelude::*;

use super::history;
use super::model::{ContactKind, ContactRow};
use super::service::{get, names_of};
use crate::db::schema::{
    affiliations, communication_participants, contact_addresses, contact_emails, contact_phones,
    contact_tags, contacts, matter_parties,
};
use crate::db::{now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::catalogue;
use crate::gdpr::requests;
use crate::ids::{self, NodeType};
use crate::listing::group_by_key;

/// Why two contacts look like the same person or organisation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DuplicateReason {
    /// The same email address.
    Email,
    /// The same PEC (certified email) address.
    Pec,
    /// The same phone number (E.164).
    Phone,
    /// The same codice fiscale (Italian tax code).
    CodiceFiscale,
    /// The same partita IVA (Italian VAT number).
    PartitaIva,
}

/// Contacts that share one identifying value.
#[derive(Debug, Clone)]
pub struct DuplicateGroup {
    pub reason: DuplicateReason,
    pub value: String,
    pub contact_ids: Vec<String>,
}

/// Groups of contacts sharing an email, PEC, phone, codice fiscale or partita IVA;
/// restricted to the groups `only_contact` belongs to when given.
pub fn find_duplicates(
    conn: &mut AnyConnection,
    only_contact: Option<&str>,
) -> Result<Vec<DuplicateGroup>> {
    let mut groups = Vec::new();

    let shared_emails: Vec<String> = contact_emails::table
        .group_by(contact_emails::address_key)
        .having(count(contact_emails::contact_id).aggregate_distinct().gt(1))
        .select(contact_emails::address_key)
        .load(conn)?;
    let rows: Vec<(String, String, bool)> = contact_emails::table
        .filter(contact_emails::address_key.eq_any(&shared_emails))
        .select((
            contact_emails::address_key,
            contact_emails::contact_id,
            contact_emails::is_pec,
        ))
        .order_by((contact_emails::address_key, contact_emails::contact_id))
        .load(conn)?;
    for (key, members) in group_by_key(rows, |r| r.0.clone()) {
        let reason = if members.iter().any(|m| m.2) {
            DuplicateReason::Pec
        } else {
            DuplicateReason::Email
        };
        groups.push(group(reason, key, members.into_iter().map(|m| m.1)));
    }

    let shared_phones: Vec<String> = contact_phones::table
        .group_by(contact_phones::number)
        .having(count(contact_phones::contact_id).aggregate_distinct().gt(1))
        .select(contact_phones::number)
        .load(conn)?;
    let rows: Vec<(String, String)> = contact_phones::table
        .filter(contact_phones::number.eq_any(&shared_phones))
        .select((contact_phones::number, contact_phones::contact_id))
        .load(conn)?;
    for (number, members) in group_by_key(rows, |r| r.0.clone()) {
        groups.push(group(
            DuplicateReason::Phone,
            number,
            members.into_iter().map(|m| m.1),
        ));
    }

    let shared: Vec<Option<String>> = contacts::table
        .filter(contacts::codice_fiscale.is_not_null())
        .group_by(contacts::codice_fiscale)
        .having(count_star().gt(1))
        .select(contacts::codice_fiscale)
        .load(conn)?;
    let rows: Vec<(Option<String>, String)> = contacts::table
        .filter(contacts::codice_fiscale.eq_any(shared.into_iter().flatten().collect::<Vec<_>>()))
        .select((contacts::codice_fiscale, contacts::id))
        .load(conn)?;
    for (value, members) in group_by_key(rows, |r| r.0.clone()) {
        groups.push(group(
            DuplicateReason::CodiceFiscale,
            value.unwrap_or_default(),
            members.into_iter().map(|m| m.1),
        ));
    }

    let shared: Vec<Option<String>> = contacts::table
        .filter(contacts::partita_iva.is_not_null())
        .group_by(contacts::partita_iva)
        .having(count_star().gt(1))
        .select(contacts::partita_iva)
        .load(conn)?;
    let rows: Vec<(Option<String>, String)> = contacts::table
        .filter(contacts::partita_iva.eq_any(shared.into_iter().flatten().collect::<Vec<_>>()))
        .select((contacts::partita_iva, contacts::id))
        .load(conn)?;
    for (value, members) in group_by_key(rows, |r| r.0.clone()) {
        groups.push(group(
            DuplicateReason::PartitaIva,
            value.unwrap_or_default(),
            members.into_iter().map(|m| m.1),
        ));
    }

    if let Some(contact) = only_contact {
        groups.retain(|g| g.contact_ids.iter().any(|c| c == contact));
    }
    groups.sort_by(|a, b| (a.reason as u8, &a.value).cmp(&(b.reason as u8, &b.value)));
    Ok(groups)
}

fn group(
    reason: DuplicateReason,
    value: String,
    members: impl Iterator<Item = String>,
) -> DuplicateGroup {
    let mut contact_ids: Vec<String> = members.collect();
    contact_ids.sort();
    contact_ids.dedup();
    DuplicateGroup {
        reason,
        value,
        contact_ids,
    }
}

/// Duplicates to fold into one contact, for `mergeContacts`: the merged contacts' emails, phones,
/// addresses, tags, links, matter roles, communications and deadlines move to the survivor, then
/// they are deleted.
#[derive(Debug, Clone, InputObject)]
pub struct MergeContactsInput {
    /// The contact that remains.
    pub survivor_id: ID,
    /// Contacts folded into the survivor and then deleted.
    pub merged_ids: Vec<ID>,
}

/// Folds `merged_ids` into the survivor: their emails, phones, addresses, tags, links,
/// matter roles, communications and deadlines move over; then they are deleted.
/// The survivor's own values win; its empty fields are filled from the merged contacts.
/// What the survivor gains goes to its rectification history under `author`.
pub fn merge(
    conn: &mut AnyConnection,
    input: MergeContactsInput,
    author: &str,
) -> Result<ContactRow> {
    let survivor_id = ids::decode(NodeType::Contact, &input.survivor_id, "input.survivorId")?;
    let merged_ids = ids::decode_all(NodeType::Contact, &input.merged_ids, "input.mergedIds")?;
    if merged_ids.is_empty() {
        return Err(Error::invalid(
            "input.mergedIds",
            "name at least one contact to merge",
        ));
    }
    if let Some(i) = merged_ids.iter().position(|id| *id == survivor_id) {
        return Err(Error::invalid(
            format!("input.mergedIds[{i}]"),
            "a contact cannot be merged into itself",
        ));
    }
    let mut survivor = get(conn, &survivor_id)?;
    let before = history::snapshot(conn, &survivor_id)?;
    let merged: Vec<ContactRow> = contacts::table
        .filter(contacts::id.eq_any(&merged_ids))
        .select(ContactRow::as_select())
        .load(conn)?;
    let found: HashSet<&str> = merged.iter().map(|c| c.id.as_str()).collect();
    if let Some(i) = merged_ids
        .iter()
        .position(|id| !found.contains(id.as_str()))
    {
        return Err(Error::invalid(
            format!("input.mergedIds[{i}]"),
            "no contact with this ID",
        ));
    }
    if let Some(i) = merged_ids.iter().position(|id| {
        merged
            .iter()
            .any(|c| c.id == *id && c.kind != survivor.kind)
    }) {
        return Err(Error::invalid(
            format!("input.mergedIds[{i}]"),
            "a person and an organisation cannot be merged",
        ));
    }

    move_emails(conn, &survivor_id, &merged_ids)?;
    move_phones(conn, &survivor_id, &merged_ids)?;
    move_addresses(conn, &survivor_id, &merged_ids)?;
    move_tags(conn, &survivor_id, &merged_ids)?;
    move_affiliations(conn, &survivor_id, &merged_ids, &survivor.kind)?;
    move_matter_parties(conn, &survivor_id, &merged_ids)?;
    move_participants(conn, &survivor_id, &merged_ids)?;
    // Deadlines, sources, consents, grounds, objections, holds, connector links: whatever the
    // catalogue says simply follows the person.
    catalogue::ops::move_to_survivor(conn, &merged_ids, &survivor_id)?;

    for other in &merged {
        fill(&mut survivor.given_name, &other.given_name);
        fill(&mut survivor.codice_fiscale, &other.codice_fiscale);
        fill(&mut survivor.partita_iva, &other.partita_iva);
        fill(&mut survivor.notes, &other.notes);
        fill(&mut survivor.birth_date, &other.birth_date);
        fill(&mut survivor.personal_interests, &other.personal_interests);
        fill(&mut survivor.family_details, &other.family_details);
        fill(
            &mut survivor.responsible_user_id,
            &other.responsible_user_id,
        );
        survivor.created_at = survivor.created_at.min(other.created_at);
    }
    // A filled-in given name changes how the survivor is shown, found and sorted.
    (survivor.display_name, survivor.sort_name) = names_of(
        ContactKind::from_db(&survivor.kind)?,
        survivor.given_name.as_deref(),
        survivor.family_name.as_deref(),
        survivor.organization_name.as_deref(),
    );
    survivor.updated_at = now();
    diesel::update(contacts::table.find(&survivor_id))
        .set(&survivor)
        .execute(conn)?;
    diesel::delete(contacts::table.filter(contacts::id.eq_any(&merged_ids))).execute(conn)?;
    history::move_to(conn, &merged_ids, &survivor_id)?;
    requests::move_to(conn, &merged_ids, &survivor_id)?;
    history::record_changes(conn, &survivor_id, &before, author)?;
    Ok(survivor)
}

fn fill<T: Clone>(target: &mut Option<T>, source: &Option<T>) {
    if target.is_none() {
        target.clone_from(source);
    }
}

fn next_position(positions: &[i32]) -> i32 {
    positions.iter().max().map_or(0, |p| p + 1)
}

fn move_emails(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let own: Vec<(String, i32)> = contact_emails::table
        .filter(contact_emails::contact_id.eq(survivor))
        .select((contact_emails::address_key, contact_emails::position))
        .load(conn)?;
    let mut keys: HashSet<String> = own.iter().map(|o| o.0.clone()).collect();
    let mut position = next_position(&own.iter().map(|o| o.1).collect::<Vec<_>>());
    let theirs: Vec<(String, String)> = contact_emails::table
        .filter(contact_emails::contact_id.eq_any(merged))
        .order_by((contact_emails::contact_id, contact_emails::position))
        .select((contact_emails::id, contact_emails::address_key))
        .load(conn)?;
    for (id, key) in theirs {
        if keys.insert(key) {
            diesel::update(contact_emails::table.find(id))
                .set((
                    contact_emails::contact_id.eq(survivor),
                    contact_emails::position.eq(position),
                ))
                .execute(conn)?;
            position += 1;
        }
    }
    Ok(())
}

fn move_phones(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let own: Vec<(String, i32)> = contact_phones::table
        .filter(contact_phones::contact_id.eq(survivor))
        .select((contact_phones::number, contact_phones::position))
        .load(conn)?;
    let mut numbers: HashSet<String> = own.iter().map(|o| o.0.clone()).collect();
    let mut position = next_position(&own.iter().map(|o| o.1).collect::<Vec<_>>());
    let theirs: Vec<(String, String)> = contact_phones::table
        .filter(contact_phones::contact_id.eq_any(merged))
        .order_by((contact_phones::contact_id, contact_phones::position))
        .select((contact_phones::id, contact_phones::number))
        .load(conn)?;
    for (id, number) in theirs {
        if numbers.insert(number) {
            diesel::update(contact_phones::table.find(id))
                .set((
                    contact_phones::contact_id.eq(survivor),
                    contact_phones::position.eq(position),
                ))
                .execute(conn)?;
            position += 1;
        }
    }
    Ok(())
}

fn move_addresses(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let own: Vec<i32> = contact_addresses::table
        .filter(contact_addresses::contact_id.eq(survivor))
        .select(contact_addresses::position)
        .load(conn)?;
    let theirs: Vec<String> = contact_addresses::table
        .filter(contact_addresses::contact_id.eq_any(merged))
        .order_by((contact_addresses::contact_id, contact_addresses::position))
        .select(contact_addresses::id)
        .load(conn)?;
    for (position, id) in (next_position(&own)..).zip(theirs) {
        diesel::update(contact_addresses::table.find(id))
            .set((
                contact_addresses::contact_id.eq(survivor),
                contact_addresses::position.eq(position),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn move_tags(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let all: Vec<String> = contact_tags::table
        .filter(
            contact_tags::contact_id
                .eq_any(merged)
                .or(contact_tags::contact_id.eq(survivor)),
        )
        .select(contact_tags::tag)
        .distinct()
        .load(conn)?;
    let own: HashSet<String> = contact_tags::table
        .filter(contact_tags::contact_id.eq(survivor))
        .select(contact_tags::tag)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let new: Vec<_> = all
        .iter()
        .filter(|t| !own.contains(*t))
        .map(|t| {
            (
                contact_tags::contact_id.eq(survivor),
                contact_tags::tag.eq(t),
            )
        })
        .collect();
    for row in &new {
        diesel::insert_into(contact_tags::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

fn move_affiliations(
    conn: &mut AnyConnection,
    survivor: &str,
    merged: &[String],
    kind: &str,
) -> Result<()> {
    let rows: Vec<super::model::AffiliationRow> = affiliations::table
        .filter(
            affiliations::person_id
                .eq_any(merged)
                .or(affiliations::organization_id.eq_any(merged))
                .or(affiliations::person_id.eq(survivor))
                .or(affiliations::organization_id.eq(survivor)),
        )
        .select(super::model::AffiliationRow::as_select())
        .load(conn)?;
    let is_person = kind == ContactKind::Person.as_str();
    let rewrite = |id: &str| {
        if merged.iter().any(|m| m == id) {
            survivor.to_owned()
        } else {
            id.to_owned()
        }
    };
    let mut kept: HashSet<(String, String)> = HashSet::new();
    // The survivor's own links first, so they win over the merged contacts' ones.
    let (own, theirs): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| {
        if is_person {
            r.person_id == survivor
        } else {
            r.organization_id == survivor
        }
    });
    for row in own {
        kept.insert((row.person_id, row.organization_id));
    }
    for row in theirs {
        let pair = (rewrite(&row.person_id), rewrite(&row.organization_id));
        if pair.0 == pair.1 || !kept.insert(pair.clone()) {
            diesel::delete(affiliations::table.find(&row.id)).execute(conn)?;
        } else {
            diesel::update(affiliations::table.find(&row.id))
                .set((
                    affiliations::person_id.eq(&pair.0),
                    affiliations::organization_id.eq(&pair.1),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn move_matter_parties(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let own: HashSet<(String, String)> = matter_parties::table
        .filter(matter_parties::contact_id.eq(survivor))
        .select((matter_parties::matter_id, matter_parties::role))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let theirs: HashSet<(String, String)> = matter_parties::table
        .filter(matter_parties::contact_id.eq_any(merged))
        .select((matter_parties::matter_id, matter_parties::role))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let new: Vec<_> = theirs
        .difference(&own)
        .map(|(matter, role)| {
            (
                matter_parties::matter_id.eq(matter),
                matter_parties::contact_id.eq(survivor),
                matter_parties::role.eq(role),
            )
        })
        .collect();
    for row in &new {
        diesel::insert_into(matter_parties::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

fn move_participants(conn: &mut AnyConnection, survivor: &str, merged: &[String]) -> Result<()> {
    let own: HashSet<String> = communication_participants::table
        .filter(communication_participants::contact_id.eq(survivor))
        .select(communication_participants::communication_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let theirs: HashSet<String> = communication_participants::table
        .filter(communication_participants::contact_id.eq_any(merged))
        .select(communication_participants::communication_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let new: Vec<_> = theirs
        .difference(&own)
        .map(|communication| {
            (
                communication_participants::communication_id.eq(communication),
                communication_participants::contact_id.eq(survivor),
            )
        })
        .collect();
    for row in &new {
        diesel::insert_into(communication_participants::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
