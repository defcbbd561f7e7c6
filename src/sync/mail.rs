//! Importing one mail message as a communication: keyed by its Message-ID (a message seen
//! again, in another folder, mailbox or after a full resync, is the same communication),
//! channel EMAIL or PEC, direction from the firm's own domains, participants by address,
//! the body only where the instance stores bodies (otherwise a short summary), attachments
//! as metadata, and a matter when its reference is in the subject or all external
//! participants share one matter. Unknown correspondents go through the contact import (its
//! provenance rule, erasure and review checks); the firm's own addresses, automated senders
//! and the instance's ignore list never become contacts; an erased person is neither
//! re-created nor re-linked, and a restricted contact is not linked.

use std::collections::{BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use lexgate_connectors::{
    ContactOrigin, MailAddress, RemoteChannel, RemoteCommunication, RemoteContact,
};
use sha2::{Digest, Sha256};

use super::erasure::Identities;
use super::instances::InstanceSettings;
use super::upsert::{self, ChangedContacts, Outcome, PageScope};
use crate::communications::{
    insert_prepared, Channel, CommunicationRow, Direction, PreparedCommunication,
};
use crate::db::schema::{
    communication_attachments, communication_imports, communication_participants, communications,
    contact_emails, contacts, matter_parties, matters, sync_message_links,
};
use crate::db::{insert_batch, new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::validation::{email_key, normalize_email};

/// The length of the summary kept instead of a body.
const SUMMARY_CHARS: usize = 200;

/// Local parts of automated senders that never become contacts.
const AUTOMATED_LOCAL_PARTS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "mailer-daemon",
    "postmaster",
    "newsletter",
    "notifications",
    "posta-certificata",
];

/// What every message of a page shares: the instance's mail settings and the matters'
/// references.
pub struct MailScope {
    own_domains: Vec<String>,
    ignore: Vec<String>,
    store_bodies: bool,
    /// (matter id, lower-cased reference), longest reference first.
    matters: Vec<(String, String)>,
}

impl MailScope {
    pub fn load(conn: &mut AnyConnection, settings: &InstanceSettings) -> Result<MailScope> {
        let mut references: Vec<(String, String)> = matters::table
            .select((matters::id, matters::reference))
            .load::<(String, String)>(conn)?
            .into_iter()
            .map(|(id, reference)| (id, reference.trim().to_lowercase()))
            .filter(|(_, reference)| !reference.is_empty())
            .collect();
        references.sort_by_key(|(_, reference)| std::cmp::Reverse(reference.len()));
        Ok(MailScope {
            own_domains: settings.own_domains.clone(),
            ignore: settings.ignore_addresses.clone(),
            store_bodies: settings.store_bodies,
            matters: references,
        })
    }

    pub fn stores_bodies(&self) -> bool {
        self.store_bodies
    }

    fn is_own(&self, key: &str) -> bool {
        let domain = key.rsplit_once('@').map_or("", |(_, d)| d);
        self.own_domains
            .iter()
            .any(|own| domain == own || domain.ends_with(&format!(".{own}")))
    }

    /// Whether the address may never become a contact (it may still be linked when known).
    fn is_ignored(&self, key: &str) -> bool {
        let (local, domain) = key.rsplit_once('@').unwrap_or((key, ""));
        AUTOMATED_LOCAL_PARTS.contains(&local)
            || self.ignore.iter().any(|pattern| {
                if let Some(ignored_domain) = pattern.strip_prefix('@') {
                    domain == ignored_domain
                } else if let Some(prefix) = pattern.strip_suffix('*') {
                    key.starts_with(prefix)
                } else {
                    key == pattern
                }
            })
    }
}

/// Applies one message (or the deletion of one) in the caller's transaction.
pub fn apply(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mail: &MailScope,
    record: &RemoteCommunication,
) -> Result<Outcome> {
    if record.external_id.trim().is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    if record.deleted {
        return Ok(
            match remove_location(conn, scope.instance_id, &record.external_id, scope.changed)? {
                true => Outcome::Deleted,
                false => Outcome::Skipped,
            },
        );
    }
    let seen =
        diesel::update(sync_message_links::table.find((scope.instance_id, &record.external_id)))
            .set(sync_message_links::seen_generation.eq(scope.generation))
            .execute(conn)?;
    if seen > 0 {
        return Ok(Outcome::Skipped);
    }
    let message_id = natural_key(record);
    let known: Option<String> = communication_imports::table
        .filter(communication_imports::message_id.eq(&message_id))
        .select(communication_imports::communication_id)
        .first(conn)
        .optional()?;
    if let Some(communication_id) = known {
        insert_link(conn, scope, &record.external_id, &communication_id)?;
        return Ok(Outcome::Linked);
    }
    match import(conn, scope, mail, record, &message_id, &mut Direct)? {
        Some(message) => {
            let communication_id = message.communication.row.id.clone();
            write(conn, vec![message])?;
            insert_link(conn, scope, &record.external_id, &communication_id)?;
            Ok(Outcome::Created)
        }
        None => Ok(Outcome::Skipped),
    }
}

/// The Message-ID, or for a message without one a hash of what identifies it.
fn natural_key(record: &RemoteCommunication) -> String {
    if let Some(id) = record.message_id.as_deref().filter(|id| !id.is_empty()) {
        return id.to_owned();
    }
    let mut hash = Sha256::new();
    for address in &record.from {
        hash.update(address.address.to_lowercase().as_bytes());
    }
    hash.update(record.occurred_at.to_rfc3339().as_bytes());
    hash.update(record.subject.as_deref().unwrap_or_default().as_bytes());
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{digest}")
}

fn insert_link(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    external_id: &str,
    communication_id: &str,
) -> Result<()> {
    let link = LinkRow::new(scope, external_id, communication_id);
    insert_batch(conn, sync_message_links::table, &[link], LINK_COLUMNS)?;
    Ok(())
}

/// A message location, for multi-row inserts.
#[derive(Insertable)]
#[diesel(table_name = sync_message_links, treat_none_as_default_value = false)]
struct LinkRow {
    instance_id: String,
    external_id: String,
    communication_id: Option<String>,
    seen_generation: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

const LINK_COLUMNS: usize = 6;

impl LinkRow {
    fn new(scope: &PageScope<'_>, external_id: &str, communication_id: &str) -> LinkRow {
        let at = now();
        LinkRow {
            instance_id: scope.instance_id.to_owned(),
            external_id: external_id.to_owned(),
            communication_id: Some(communication_id.to_owned()),
            seen_generation: scope.generation,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Where a message was imported from, for multi-row inserts.
#[derive(Insertable)]
#[diesel(table_name = communication_imports, treat_none_as_default_value = false)]
struct ImportRow {
    communication_id: String,
    message_id: String,
    instance_id: Option<String>,
    body: Option<String>,
    imported_at: chrono::NaiveDateTime,
}

const IMPORT_COLUMNS: usize = 5;

/// An attachment's metadata, for multi-row inserts.
#[derive(Insertable)]
#[diesel(table_name = communication_attachments, treat_none_as_default_value = false)]
struct AttachmentRow {
    id: String,
    communication_id: String,
    position: i32,
    name: Option<String>,
    content_type: String,
    size_bytes: i64,
    sha256: String,
}

const ATTACHMENT_COLUMNS: usize = 7;

/// A message ready to be written: the communication with its participants, where it came
/// from, its attachments.
struct NewMessage {
    communication: PreparedCommunication,
    import: ImportRow,
    attachments: Vec<AttachmentRow>,
}

/// Writes messages with one multi-row insert per table (chunked under the bound-parameter
/// limit).
fn write(conn: &mut AnyConnection, messages: Vec<NewMessage>) -> Result<()> {
    let mut communications = Vec::with_capacity(messages.len());
    let mut imports = Vec::with_capacity(messages.len());
    let mut attachments = Vec::new();
    for message in messages {
        communications.push(message.communication);
        imports.push(message.import);
        attachments.extend(message.attachments);
    }
    insert_prepared(conn, communications)?;
    insert_batch(conn, communication_imports::table, &imports, IMPORT_COLUMNS)?;
    insert_batch(
        conn,
        communication_attachments::table,
        &attachments,
        ATTACHMENT_COLUMNS,
    )?;
    Ok(())
}

/// Where [`import`] reads what it decides on: the database, one message at a time
/// ([`Direct`]), or what a page fetched for all its messages at once ([`PageLookups`]).
trait Lookups {
    fn erased(
        &mut self,
        conn: &mut AnyConnection,
        scope: &PageScope<'_>,
        identities: &Identities,
    ) -> Result<bool>;
    /// The contacts holding the address (by its key), with when each was restricted.
    fn contacts_with(&mut self, conn: &mut AnyConnection, key: &str) -> Result<Vec<Holder>>;
    /// The matters the contact is a party of.
    fn matters_of(&mut self, conn: &mut AnyConnection, contact: &str) -> Result<BTreeSet<String>>;
    /// The contact import is about to run for `key`: what is known of it may change.
    fn forget_address(&mut self, key: &str);
}

/// A contact holding an address: its id and when it was restricted (Art. 18).
type Holder = (String, Option<chrono::NaiveDateTime>);

/// Each lookup is a query.
struct Direct;

impl Lookups for Direct {
    fn erased(
        &mut self,
        conn: &mut AnyConnection,
        scope: &PageScope<'_>,
        identities: &Identities,
    ) -> Result<bool> {
        scope.erasure.is_erased(conn, identities)
    }

    fn contacts_with(&mut self, conn: &mut AnyConnection, key: &str) -> Result<Vec<Holder>> {
        Ok(contact_emails::table
            .inner_join(contacts::table)
            .filter(contact_emails::address_key.eq(key))
            .select((contacts::id, contacts::restricted_at))
            .distinct()
            .load(conn)?)
    }

    fn matters_of(&mut self, conn: &mut AnyConnection, contact: &str) -> Result<BTreeSet<String>> {
        Ok(matter_parties::table
            .filter(matter_parties::contact_id.eq(contact))
            .select(matter_parties::matter_id)
            .distinct()
            .load::<String>(conn)?
            .into_iter()
            .collect())
    }

    fn forget_address(&mut self, _key: &str) {}
}

/// What a page's messages need, fetched with one query per kind (and per thousand values)
/// before any message is decided. A miss (an address whose contacts the contact import may
/// have changed, a contact created during the page) falls back to a query, whose answer is
/// kept.
#[derive(Default)]
struct PageLookups {
    /// Erased or not, by the correspondent's external id (message and address).
    erased: HashMap<String, bool>,
    contacts: HashMap<String, Vec<Holder>>,
    matters: HashMap<String, BTreeSet<String>>,
}

/// Values per `IN (...)` list: well under SQLite's bound-parameter limit.
const LOOKUP_CHUNK: usize = 1000;

impl PageLookups {
    fn load(
        conn: &mut AnyConnection,
        scope: &PageScope<'_>,
        mail: &MailScope,
        records: &[(&RemoteCommunication, String)],
    ) -> Result<PageLookups> {
        let mut people: Vec<Identities> = Vec::new();
        let mut keys: BTreeSet<String> = BTreeSet::new();
        for (record, message_id) in records {
            for party in parties(&record.from)
                .into_iter()
                .chain(parties(&record.recipients))
                .filter(|p| !mail.is_own(&p.key))
            {
                people.push(identities(scope, message_id, &party.key));
                keys.insert(party.key);
            }
        }
        let flags = scope.erasure.erased_each(conn, &people)?;
        let erased = people
            .into_iter()
            .zip(flags)
            .map(|(person, flag)| (person.external_id, flag))
            .collect();
        let keys: Vec<String> = keys.into_iter().collect();
        let mut contacts: HashMap<String, Vec<Holder>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, String, Option<chrono::NaiveDateTime>)> = contact_emails::table
                .inner_join(contacts::table)
                .filter(contact_emails::address_key.eq_any(chunk))
                .select((
                    contact_emails::address_key,
                    contacts::id,
                    contacts::restricted_at,
                ))
                .distinct()
                .load(conn)?;
            for (key, id, restricted_at) in rows {
                let holders = contacts.entry(key).or_default();
                if !holders.iter().any(|(held, _)| held == &id) {
                    holders.push((id, restricted_at));
                }
            }
        }
        let ids: Vec<String> = contacts
            .values()
            .flatten()
            .map(|(id, _)| id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut matters: HashMap<String, BTreeSet<String>> =
            ids.iter().map(|id| (id.clone(), BTreeSet::new())).collect();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, String)> = matter_parties::table
                .filter(matter_parties::contact_id.eq_any(chunk))
                .select((matter_parties::contact_id, matter_parties::matter_id))
                .load(conn)?;
            for (contact, matter) in rows {
                matters.entry(contact).or_default().insert(matter);
            }
        }
        Ok(PageLookups {
            erased,
            contacts,
            matters,
        })
    }
}

impl Lookups for PageLookups {
    fn erased(
        &mut self,
        conn: &mut AnyConnection,
        scope: &PageScope<'_>,
        identities: &Identities,
    ) -> Result<bool> {
        if let Some(flag) = self.erased.get(&identities.external_id) {
            return Ok(*flag);
        }
        let flag = Direct.erased(conn, scope, identities)?;
        self.erased.insert(identities.external_id.clone(), flag);
        Ok(flag)
    }

    fn contacts_with(&mut self, conn: &mut AnyConnection, key: &str) -> Result<Vec<Holder>> {
        if let Some(holders) = self.contacts.get(key) {
            return Ok(holders.clone());
        }
        let holders = Direct.contacts_with(conn, key)?;
        self.contacts.insert(key.to_owned(), holders.clone());
        Ok(holders)
    }

    fn matters_of(&mut self, conn: &mut AnyConnection, contact: &str) -> Result<BTreeSet<String>> {
        if let Some(matters) = self.matters.get(contact) {
            return Ok(matters.clone());
        }
        let matters = Direct.matters_of(conn, contact)?;
        self.matters.insert(contact.to_owned(), matters.clone());
        Ok(matters)
    }

    fn forget_address(&mut self, key: &str) {
        self.contacts.remove(key);
    }
}

/// Imports a page of messages with a handful of statements instead of a dozen per message:
/// which locations are known, which Message-IDs were imported, the erasure register, the
/// correspondents' contacts and their matters are each fetched once for the page, and the
/// new communications, participants, imports, attachments and locations are written with
/// multi-row inserts at the end. Each message is decided exactly as [`apply`] decides it
/// alone (the same [`import`], reading from the page's lookups); the contact import of an
/// unknown correspondent still runs per message, in a savepoint, so a message that fails
/// fails alone. `None` for a page that deletes messages: those go one by one.
///
/// Runs in the caller's transaction; on an error the caller rolls the page back and applies
/// its messages one by one.
pub fn apply_page(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mail: &MailScope,
    records: &[RemoteCommunication],
) -> Result<Option<Vec<Result<Outcome>>>> {
    if records.iter().any(|r| r.deleted) {
        return Ok(None);
    }
    let external_ids: Vec<&str> = records.iter().map(|r| r.external_id.as_str()).collect();
    let mut seen: HashSet<String> = HashSet::new();
    for chunk in external_ids.chunks(LOOKUP_CHUNK) {
        let known: Vec<String> = sync_message_links::table
            .filter(sync_message_links::instance_id.eq(scope.instance_id))
            .filter(sync_message_links::external_id.eq_any(chunk))
            .select(sync_message_links::external_id)
            .load(conn)?;
        if !known.is_empty() {
            diesel::update(
                sync_message_links::table
                    .filter(sync_message_links::instance_id.eq(scope.instance_id))
                    .filter(sync_message_links::external_id.eq_any(&known)),
            )
            .set(sync_message_links::seen_generation.eq(scope.generation))
            .execute(conn)?;
        }
        seen.extend(known);
    }
    let keyed: Vec<(&RemoteCommunication, String)> = records
        .iter()
        .filter(|r| !seen.contains(&r.external_id))
        .map(|r| (r, natural_key(r)))
        .collect();
    let message_ids: Vec<&str> = keyed.iter().map(|(_, id)| id.as_str()).collect();
    let mut imported: HashMap<String, String> = HashMap::new();
    for chunk in message_ids.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(String, String)> = communication_imports::table
            .filter(communication_imports::message_id.eq_any(chunk))
            .select((
                communication_imports::message_id,
                communication_imports::communication_id,
            ))
            .load(conn)?;
        imported.extend(rows);
    }
    let mut lookups = PageLookups::load(conn, scope, mail, &keyed)?;

    let mut outcomes = Vec::with_capacity(records.len());
    let mut messages = Vec::new();
    let mut links = Vec::new();
    for record in records {
        if record.external_id.trim().is_empty() {
            outcomes.push(Err(Error::invalid(
                "externalId",
                "a record needs the provider's id",
            )));
            continue;
        }
        // Seen before, or twice in this page.
        if !seen.insert(record.external_id.clone()) {
            outcomes.push(Ok(Outcome::Skipped));
            continue;
        }
        let message_id = natural_key(record);
        if let Some(communication_id) = imported.get(&message_id) {
            links.push(LinkRow::new(scope, &record.external_id, communication_id));
            outcomes.push(Ok(Outcome::Linked));
            continue;
        }
        let mark = scope.changed.mark();
        match import(conn, scope, mail, record, &message_id, &mut lookups) {
            Ok(Some(message)) => {
                let communication_id = message.communication.row.id.clone();
                links.push(LinkRow::new(scope, &record.external_id, &communication_id));
                imported.insert(message_id, communication_id);
                messages.push(message);
                outcomes.push(Ok(Outcome::Created));
            }
            Ok(None) => outcomes.push(Ok(Outcome::Skipped)),
            Err(error) => {
                scope.changed.undo_to(mark);
                outcomes.push(Err(error));
            }
        }
    }
    write(conn, messages)?;
    insert_batch(conn, sync_message_links::table, &links, LINK_COLUMNS)?;
    Ok(Some(outcomes))
}

/// Forgets a message location; the communication goes with its last location (the mailbox
/// is the source of imported mail). Returns whether a communication was removed.
pub(super) fn remove_location(
    conn: &mut AnyConnection,
    instance_id: &str,
    external_id: &str,
    changed: &ChangedContacts,
) -> Result<bool> {
    let link: Option<Option<String>> = sync_message_links::table
        .find((instance_id, external_id))
        .select(sync_message_links::communication_id)
        .first(conn)
        .optional()?;
    let Some(communication_id) = link.flatten() else {
        diesel::delete(sync_message_links::table.find((instance_id, external_id))).execute(conn)?;
        return Ok(false);
    };
    diesel::delete(sync_message_links::table.find((instance_id, external_id))).execute(conn)?;
    let remaining: i64 = sync_message_links::table
        .filter(sync_message_links::communication_id.eq(&communication_id))
        .count()
        .get_result(conn)?;
    if remaining > 0 {
        return Ok(false);
    }
    let imported: i64 = communication_imports::table
        .filter(communication_imports::communication_id.eq(&communication_id))
        .count()
        .get_result(conn)?;
    if imported == 0 {
        return Ok(false);
    }
    note_participants(conn, changed, &communication_id)?;
    diesel::delete(communications::table.find(&communication_id)).execute(conn)?;
    Ok(true)
}

/// At the end of a full listing: locations not seen in this generation were deleted at the
/// provider. Returns how many communications went with them.
pub fn reconcile_deletions(
    conn: &mut AnyConnection,
    instance_id: &str,
    generation: i32,
    changed: &ChangedContacts,
) -> Result<i32> {
    let stale: Vec<String> = sync_message_links::table
        .filter(sync_message_links::instance_id.eq(instance_id))
        .filter(sync_message_links::seen_generation.lt(generation))
        .select(sync_message_links::external_id)
        .load(conn)?;
    let mut removed = 0;
    for external_id in stale {
        if remove_location(conn, instance_id, &external_id, changed)? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// One address of the message, normalised.
struct Party {
    key: String,
    address: MailAddress,
}

fn parties(addresses: &[MailAddress]) -> Vec<Party> {
    addresses
        .iter()
        .filter_map(|a| {
            let normalised = normalize_email(&a.address).ok()?;
            Some(Party {
                key: email_key(&normalised),
                address: MailAddress {
                    address: normalised,
                    name: a.name.clone(),
                },
            })
        })
        .collect()
}

/// Creates the communication; `None` when nothing of it may be kept (every external party
/// erased, or the sender erased).
fn import(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    mail: &MailScope,
    record: &RemoteCommunication,
    message_id: &str,
    lookups: &mut dyn Lookups,
) -> Result<Option<NewMessage>> {
    let senders = parties(&record.from);
    let mut seen = HashSet::new();
    let everyone: Vec<Party> = senders
        .iter()
        .map(|p| Party {
            key: p.key.clone(),
            address: p.address.clone(),
        })
        .chain(parties(&record.recipients))
        .filter(|p| seen.insert(p.key.clone()))
        .collect();
    // A meeting without an organiser was put in the firm's own calendar.
    let from_own = senders
        .first()
        .map_or(record.channel == RemoteChannel::Meeting, |p| {
            mail.is_own(&p.key)
        });
    let mut external: Vec<Party> = everyone
        .into_iter()
        .filter(|p| !mail.is_own(&p.key))
        .collect();
    let direction = match (from_own, external.is_empty()) {
        (true, true) => Direction::Internal,
        (true, false) => Direction::Outbound,
        (false, _) => Direction::Inbound,
    };
    let had_external = !external.is_empty();
    let mut erased = Vec::new();
    for party in &external {
        if lookups.erased(conn, scope, &identities(scope, message_id, &party.key))? {
            erased.push(party.key.clone());
        }
    }
    let sender_erased = senders.first().is_some_and(|p| erased.contains(&p.key));
    external.retain(|p| !erased.contains(&p.key));
    if sender_erased || (had_external && external.is_empty()) {
        return Ok(None);
    }

    // Known correspondents first: a matter shared by all of them links the message.
    let mut participants: BTreeSet<String> = BTreeSet::new();
    let mut unknown: Vec<&Party> = Vec::new();
    let mut all_known = true;
    for party in &external {
        let found = lookups.contacts_with(conn, &party.key)?;
        match found.as_slice() {
            [(id, None)] => {
                participants.insert(id.clone());
            }
            // Restricted (Art. 18): stored, not further processed, so not linked.
            [(_, Some(_))] => all_known = false,
            [] => {
                all_known = false;
                unknown.push(party);
            }
            // Several contacts share the address: which one is meant is not ours to guess.
            _ => all_known = false,
        }
    }
    // Mail names its matter in the subject; a meeting in its title or description.
    let mut named = record.subject.as_deref().unwrap_or_default().to_lowercase();
    if let (RemoteChannel::Meeting, Some(description)) = (record.channel, &record.body) {
        named.push('\n');
        named.push_str(&description.to_lowercase());
    }
    let mut matter_id = mail
        .matters
        .iter()
        .find(|(_, reference)| named.contains(reference.as_str()))
        .map(|(id, _)| id.clone());
    if matter_id.is_none() && all_known && !participants.is_empty() {
        matter_id = shared_matter(conn, lookups, &participants)?;
    }

    let automated_sender =
        |party: &Party| record.automated && senders.first().is_some_and(|s| s.key == party.key);
    let origin = if matter_id.is_some() {
        ContactOrigin::MatterCorrespondent
    } else {
        ContactOrigin::UnknownCorrespondent
    };
    let to_import: Vec<&Party> = unknown
        .into_iter()
        .filter(|party| !mail.is_ignored(&party.key) && !automated_sender(party))
        .collect();
    if !to_import.is_empty() {
        to_import
            .iter()
            .for_each(|party| lookups.forget_address(&party.key));
        // A savepoint of its own: the caller may import a page without one per message.
        let imported = crate::db::transaction(conn, |conn| {
            let mut linked_contacts = Vec::new();
            for party in &to_import {
                let contact = correspondent(message_id, record.occurred_at, party, origin);
                let (_, linked) = upsert::apply_linked(conn, scope, &contact)?;
                linked_contacts.extend(linked);
            }
            Ok::<_, Error>(linked_contacts)
        })?;
        participants.extend(imported);
    }

    let timestamp = now();
    let body = record
        .body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let row = CommunicationRow {
        id: new_id(),
        channel: match record.channel {
            RemoteChannel::Email => Channel::Email,
            RemoteChannel::Pec => Channel::Pec,
            RemoteChannel::Meeting => Channel::Meeting,
        }
        .as_str()
        .to_owned(),
        direction: direction.as_str().to_owned(),
        occurred_at: record.occurred_at.naive_utc(),
        subject: record
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        summary: body.map(summary),
        matter_id,
        author_user_id: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    let id = row.id.clone();
    participants
        .iter()
        .for_each(|contact| scope.changed.note(contact));
    let attachments = record
        .attachments
        .iter()
        .enumerate()
        .map(|(position, attachment)| AttachmentRow {
            id: new_id(),
            communication_id: id.clone(),
            position: position as i32,
            name: attachment.name.clone(),
            content_type: attachment.content_type.clone(),
            size_bytes: i64::try_from(attachment.size).unwrap_or(i64::MAX),
            sha256: attachment.sha256.clone(),
        })
        .collect();
    Ok(Some(NewMessage {
        communication: PreparedCommunication::new(row, participants.into_iter().collect()),
        import: ImportRow {
            communication_id: id,
            message_id: message_id.to_owned(),
            instance_id: Some(scope.instance_id.to_owned()),
            body: body.filter(|_| mail.store_bodies).map(str::to_owned),
            imported_at: timestamp,
        },
        attachments,
    }))
}

fn identities(scope: &PageScope<'_>, message_id: &str, key: &str) -> Identities {
    Identities {
        emails: vec![key.to_owned()],
        phones: Vec::new(),
        tax_codes: Vec::new(),
        connector: scope.instance_name.to_owned(),
        external_id: correspondent_id(message_id, key),
    }
}

/// The provider id of a correspondent first met in a message: the source names the message.
fn correspondent_id(message_id: &str, key: &str) -> String {
    format!("{message_id}#{key}")
}

/// An unknown correspondent as a contact record: names from the display name (or the
/// address's local part); the basis for processing their data arose when they wrote.
fn correspondent(
    message_id: &str,
    sent_at: chrono::DateTime<chrono::Utc>,
    party: &Party,
    origin: ContactOrigin,
) -> RemoteContact {
    let display = party
        .address
        .name
        .as_deref()
        .map(|n| n.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace()))
        .filter(|n| !n.is_empty() && !n.contains('@'));
    let (given_name, family_name) = match display {
        Some(name) => match name.rsplit_once(' ') {
            Some((given, family)) => (Some(given.trim().to_owned()), family.trim().to_owned()),
            None => (None, name.to_owned()),
        },
        None => (
            None,
            party.key.split('@').next().unwrap_or_default().to_owned(),
        ),
    };
    RemoteContact {
        external_id: correspondent_id(message_id, &party.key),
        origin,
        given_name,
        family_name: Some(family_name),
        emails: vec![party.address.address.clone()],
        basis_arose_at: Some(sent_at),
        basis_evidence: Some(format!("message <{message_id}>")),
        ..RemoteContact::default()
    }
}

/// The one matter every contact is a party of, if exactly one.
fn shared_matter(
    conn: &mut AnyConnection,
    lookups: &mut dyn Lookups,
    contacts: &BTreeSet<String>,
) -> Result<Option<String>> {
    let mut shared: Option<BTreeSet<String>> = None;
    for contact in contacts {
        let of_contact = lookups.matters_of(conn, contact)?;
        shared = Some(match shared {
            None => of_contact,
            Some(so_far) => so_far.intersection(&of_contact).cloned().collect(),
        });
    }
    Ok(match shared {
        Some(set) if set.len() == 1 => set.into_iter().next(),
        _ => None,
    })
}

/// Notes the participants of a communication as changed (it is being changed or removed).
pub(super) fn note_participants(
    conn: &mut AnyConnection,
    changed: &ChangedContacts,
    communication_id: &str,
) -> Result<()> {
    let participants: Vec<String> = communication_participants::table
        .filter(communication_participants::communication_id.eq(communication_id))
        .select(communication_participants::contact_id)
        .load(conn)?;
    participants
        .iter()
        .for_each(|contact| changed.note(contact));
    Ok(())
}

/// The first characters of the body, whitespace collapsed.
pub(super) fn summary(body: &str) -> String {
    let collapsed = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(SUMMARY_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}
