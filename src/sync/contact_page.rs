//! Importing a page of contact records with a handful of statements instead of about fifteen
//! per record: the links of the page's external ids, the erasure register, and the contacts
//! holding the page's emails, phones and tax codes are each read with one query (per
//! thousand values) before any record is decided; the records are then decided in order, in
//! memory, exactly as [`upsert::apply`] decides each alone (what one record creates or adds
//! is seen by the records after it); and the page's contacts, emails, phones, sources,
//! grounds and links are written with multi-row inserts at the end. A linked record whose
//! hash is the one its link stored is unchanged: its link is marked seen, its contact not
//! read.
//!
//! What the page cannot decide in memory (a deletion, a record for review, a provenance rule
//! whose ground must be checked contact by contact or that fails its checks) is applied by
//! [`upsert::apply`] itself, in a savepoint, after what the page decided before it was
//! written; the lookups it may have changed are read again. A record that fails validation
//! fails alone and writes nothing. Runs in the caller's transaction: on an error the caller
//! rolls the page back and applies its records one by one.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use lexgate_connectors::RemoteContact;

use super::erasure::Identities;
use super::provenance::RecordOrigin;
use super::upsert::{
    self, contact_input, identities, importer, insert_links, insert_sources, record_hash,
    ImportedGround, NewLink, NewSource, Outcome, PageScope, GROUND_FIELD,
};
use crate::contacts::{self as contact_service, ContactRow, EmailRow, PhoneRow};
use crate::db::schema::{
    contact_emails, contact_phones, contacts, processing_grounds, sync_links, sync_review_items,
};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::grounds::{self, GroundPlan, GroundRow};
use crate::ids::{self, NodeType};
use crate::validation::{email_key, normalize_email, normalize_phone};

/// Values per `IN (...)` list: well under SQLite's bound-parameter limit.
const LOOKUP_CHUNK: usize = 1000;

/// Applies a page of records; one outcome per record, in order.
pub fn apply_page(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    records: &[RemoteContact],
) -> Result<Vec<Result<Outcome>>> {
    let hashes: Vec<String> = records.iter().map(|r| record_hash(scope, r)).collect();
    let mut page = PageState::load(conn, scope, records, &hashes)?;
    let mut outcomes = Vec::with_capacity(records.len());
    for ((record, erased), hash) in records.iter().zip(page.erased.clone()).zip(hashes) {
        if record.external_id.trim().is_empty() {
            outcomes.push(Err(Error::invalid(
                "externalId",
                "a record needs the provider's id",
            )));
            continue;
        }
        let outcome = match page.decide(conn, record, erased, hash)? {
            Decision::Done(outcome) => outcome,
            Decision::Alone => page.apply_alone(conn, record)?,
        };
        outcomes.push(outcome);
    }
    page.write(conn)?;
    Ok(outcomes)
}

/// A stored link: external id, contact, when it ended, the hash of its record.
type LinkColumns = (
    String,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Option<String>,
);

/// A link as the page knows it, and what the page must write of it.
#[derive(Debug, Clone)]
struct Link {
    contact_id: Option<String>,
    deleted: bool,
    hash: Option<String>,
    write: LinkWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkWrite {
    Nothing,
    /// Seen in this generation, nothing else changed.
    Seen,
    /// Contact, hash, seen and revival, as [`Link`] holds them.
    Update,
    /// A new link.
    Insert,
}

/// What the page knows of a contact a record reaches.
#[derive(Debug, Clone, Default)]
struct Known {
    restricted: bool,
    email_keys: Vec<String>,
    phones: Vec<String>,
    /// Purposes with an open ground.
    open_purposes: HashSet<String>,
}

/// The ground an origin's rule gives new and matched contacts.
enum RuleGround {
    /// The rule gives none (no rule, or no basis or purpose).
    None,
    Plan(GroundPlan),
    /// Checked contact by contact, or failing its checks: such records are applied alone.
    Alone,
}

enum Decision {
    Done(Result<Outcome>),
    /// Applied by [`upsert::apply`] in a savepoint of its own.
    Alone,
}

/// Rows to write at the end of the page (or before a record applied alone).
#[derive(Default)]
struct Pending {
    contacts: Vec<ContactRow>,
    emails: Vec<EmailRow>,
    phones: Vec<PhoneRow>,
    sources: Vec<NewSource>,
    grounds: Vec<GroundRow>,
    /// Existing contacts that got identifiers.
    touched: Vec<String>,
    /// Erased records: their review items go.
    unreviewed: Vec<String>,
}

struct PageState<'s, 'a> {
    scope: &'s PageScope<'a>,
    /// One flag per record.
    erased: Vec<bool>,
    /// By external id; `None`: no link. A missing entry is read on use.
    links: HashMap<String, Option<Link>>,
    /// The contacts holding an email key, a phone number, a tax code. A missing entry is
    /// read on use.
    by_email: HashMap<String, Vec<String>>,
    by_phone: HashMap<String, Vec<String>>,
    by_tax_code: HashMap<String, Vec<String>>,
    /// A missing entry is read on use.
    known: HashMap<String, Known>,
    grounds: HashMap<RecordOrigin, RuleGround>,
    pending: Pending,
}

impl<'s, 'a> PageState<'s, 'a> {
    /// `hashes`: one per record.
    fn load(
        conn: &mut AnyConnection,
        scope: &'s PageScope<'a>,
        records: &[RemoteContact],
        hashes: &[String],
    ) -> Result<PageState<'s, 'a>> {
        let mut page = PageState {
            scope,
            erased: vec![false; records.len()],
            links: HashMap::new(),
            by_email: HashMap::new(),
            by_phone: HashMap::new(),
            by_tax_code: HashMap::new(),
            known: HashMap::new(),
            grounds: HashMap::new(),
            pending: Pending::default(),
        };
        let external_ids: Vec<String> = records
            .iter()
            .filter(|r| !r.external_id.trim().is_empty())
            .map(|r| r.external_id.clone())
            .collect();
        page.read_links(conn, &external_ids)?;

        let (indices, people): (Vec<usize>, Vec<Identities>) = records
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.deleted && !r.external_id.trim().is_empty())
            .map(|(i, r)| (i, identities(scope, r)))
            .unzip();
        let flags = scope.erasure.erased_each(conn, &people)?;
        // Who holds the identities of every record that is not unchanged: matching and
        // adding identifiers read and extend these lists.
        let mut ids = Identities::default();
        let mut changed_links = Vec::new();
        for ((i, person), flag) in indices.into_iter().zip(people).zip(flags) {
            page.erased[i] = flag;
            let link = page.links.get(&records[i].external_id).cloned().flatten();
            if let Some(link) = link {
                if !link.deleted && link.hash.as_deref() == Some(hashes[i].as_str()) {
                    continue;
                }
                changed_links.extend(link.contact_id);
            }
            ids.emails.extend(person.emails);
            ids.phones.extend(person.phones);
            ids.tax_codes.extend(person.tax_codes);
        }
        page.read_holders(conn, &ids)?;

        // The contacts the records reach: those linked whose record changed, and those
        // holding the records' identities.
        let mut reached: Vec<String> = changed_links
            .into_iter()
            .chain(
                [&page.by_email, &page.by_phone, &page.by_tax_code]
                    .into_iter()
                    .flat_map(|held| held.values().flatten().cloned()),
            )
            .collect();
        reached.sort_unstable();
        reached.dedup();
        page.read_known(conn, &reached)?;
        Ok(page)
    }

    fn read_links(&mut self, conn: &mut AnyConnection, external_ids: &[String]) -> Result<()> {
        for chunk in external_ids.chunks(LOOKUP_CHUNK) {
            for id in chunk {
                self.links.insert(id.clone(), None);
            }
            let rows: Vec<LinkColumns> = sync_links::table
                .filter(sync_links::instance_id.eq(self.scope.instance_id))
                .filter(sync_links::external_id.eq_any(chunk))
                .select((
                    sync_links::external_id,
                    sync_links::contact_id,
                    sync_links::deleted_at,
                    sync_links::record_hash,
                ))
                .load(conn)?;
            for (external_id, contact_id, deleted_at, hash) in rows {
                let link = Link {
                    contact_id,
                    deleted: deleted_at.is_some(),
                    hash,
                    write: LinkWrite::Nothing,
                };
                self.links.insert(external_id, Some(link));
            }
        }
        Ok(())
    }

    /// Reads which contacts hold these identities (each list once per thousand values).
    fn read_holders(&mut self, conn: &mut AnyConnection, ids: &Identities) -> Result<()> {
        let unread = |held: &HashMap<String, Vec<String>>, values: &[String]| -> Vec<String> {
            let mut values: Vec<String> = values
                .iter()
                .filter(|v| !held.contains_key(*v))
                .cloned()
                .collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        let emails = unread(&self.by_email, &ids.emails);
        for chunk in emails.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, String)> = contact_emails::table
                .filter(contact_emails::address_key.eq_any(chunk))
                .select((contact_emails::address_key, contact_emails::contact_id))
                .load(conn)?;
            hold(&mut self.by_email, chunk, rows);
        }
        let phones = unread(&self.by_phone, &ids.phones);
        for chunk in phones.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, String)> = contact_phones::table
                .filter(contact_phones::number.eq_any(chunk))
                .select((contact_phones::number, contact_phones::contact_id))
                .load(conn)?;
            hold(&mut self.by_phone, chunk, rows);
        }
        let tax_codes = unread(&self.by_tax_code, &ids.tax_codes);
        for chunk in tax_codes.chunks(LOOKUP_CHUNK / 2) {
            let rows: Vec<(String, Option<String>, Option<String>)> = contacts::table
                .filter(
                    contacts::codice_fiscale
                        .eq_any(chunk)
                        .or(contacts::partita_iva.eq_any(chunk)),
                )
                .select((
                    contacts::id,
                    contacts::codice_fiscale,
                    contacts::partita_iva,
                ))
                .load(conn)?;
            let rows = rows.into_iter().flat_map(|(id, cf, piva)| {
                [cf, piva]
                    .into_iter()
                    .flatten()
                    .map(move |code| (code, id.clone()))
            });
            hold(&mut self.by_tax_code, chunk, rows.collect());
        }
        Ok(())
    }

    /// Reads what the page needs of these contacts: restriction, identifiers, open grounds.
    fn read_known(&mut self, conn: &mut AnyConnection, contact_ids: &[String]) -> Result<()> {
        for chunk in contact_ids.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, Option<chrono::NaiveDateTime>)> = contacts::table
                .filter(contacts::id.eq_any(chunk))
                .select((contacts::id, contacts::restricted_at))
                .load(conn)?;
            for (id, restricted_at) in rows {
                self.known.insert(
                    id,
                    Known {
                        restricted: restricted_at.is_some(),
                        ..Known::default()
                    },
                );
            }
            let emails: Vec<(String, String)> = contact_emails::table
                .filter(contact_emails::contact_id.eq_any(chunk))
                .order((contact_emails::contact_id, contact_emails::position))
                .select((contact_emails::contact_id, contact_emails::address_key))
                .load(conn)?;
            for (id, key) in emails {
                if let Some(known) = self.known.get_mut(&id) {
                    known.email_keys.push(key);
                }
            }
            let phones: Vec<(String, String)> = contact_phones::table
                .filter(contact_phones::contact_id.eq_any(chunk))
                .order((contact_phones::contact_id, contact_phones::position))
                .select((contact_phones::contact_id, contact_phones::number))
                .load(conn)?;
            for (id, number) in phones {
                if let Some(known) = self.known.get_mut(&id) {
                    known.phones.push(number);
                }
            }
            let open: Vec<(String, String)> = processing_grounds::table
                .filter(processing_grounds::contact_id.eq_any(chunk))
                .filter(processing_grounds::ended_at.is_null())
                .select((
                    processing_grounds::contact_id,
                    processing_grounds::purpose_id,
                ))
                .load(conn)?;
            for (id, purpose) in open {
                if let Some(known) = self.known.get_mut(&id) {
                    known.open_purposes.insert(purpose);
                }
            }
        }
        Ok(())
    }

    fn link(&mut self, conn: &mut AnyConnection, external_id: &str) -> Result<Option<Link>> {
        if !self.links.contains_key(external_id) {
            self.read_links(conn, &[external_id.to_owned()])?;
        }
        Ok(self.links.get(external_id).cloned().flatten())
    }

    fn known(&mut self, conn: &mut AnyConnection, contact_id: &str) -> Result<Known> {
        if !self.known.contains_key(contact_id) {
            self.read_known(conn, &[contact_id.to_owned()])?;
        }
        self.known
            .get(contact_id)
            .cloned()
            .ok_or_else(|| Error::not_found("Contact", contact_id))
    }

    /// The distinct contacts one of the identities (read before) belongs to, as `upsert`'s
    /// matching finds them.
    fn matching(&self, ids: &Identities) -> Vec<String> {
        let mut found: Vec<String> = [
            (&self.by_email, &ids.emails),
            (&self.by_phone, &ids.phones),
            (&self.by_tax_code, &ids.tax_codes),
        ]
        .into_iter()
        .flat_map(|(held, values)| values.iter().filter_map(|v| held.get(v)).flatten())
        .cloned()
        .collect();
        found.sort();
        found.dedup();
        found
    }

    fn rule_ground(&mut self, conn: &mut AnyConnection, origin: RecordOrigin) -> Result<()> {
        if self.grounds.contains_key(&origin) {
            return Ok(());
        }
        let scope = self.scope;
        let rule = scope.provenance.rule(origin);
        let ground = match rule.and_then(|r| Some((r.basis?, r.purpose_key.as_ref()?, r))) {
            None => RuleGround::None,
            Some((basis, purpose_key, rule)) => {
                let assessment = rule
                    .assessment
                    .as_deref()
                    .map(|key| ids::encode(NodeType::Assessment, key));
                let planned = GroundPlan::new(
                    conn,
                    GROUND_FIELD,
                    purpose_key,
                    basis.legal_basis(),
                    assessment.as_ref(),
                );
                // A failing check fails each record alone, with the error it gives there.
                match planned {
                    Ok(Some(plan)) => RuleGround::Plan(plan),
                    Ok(None) | Err(Error::Validation(_)) => RuleGround::Alone,
                    Err(other) => return Err(other),
                }
            }
        };
        self.grounds.insert(origin, ground);
        Ok(())
    }

    /// The ground a record gives `contact_id` under its origin's rule, if it has no open
    /// one for the purpose; `Err(None)`: the record must be applied alone.
    fn ground_for(
        &self,
        record: &RemoteContact,
        origin: RecordOrigin,
        contact_id: &str,
        known: &Known,
    ) -> std::result::Result<Option<GroundRow>, Option<Error>> {
        match self.grounds.get(&origin) {
            Some(RuleGround::None) => Ok(None),
            Some(RuleGround::Plan(plan)) if known.open_purposes.contains(plan.purpose_id()) => {
                Ok(None)
            }
            Some(RuleGround::Plan(plan)) => {
                let imported = ImportedGround::new(self.scope, record, origin, plan.basis());
                plan.row(
                    GROUND_FIELD,
                    contact_id,
                    Some(imported.note),
                    imported.basis_arose_at,
                    imported.basis_evidence,
                    &importer(self.scope),
                )
                .map(Some)
                .map_err(Some)
            }
            Some(RuleGround::Alone) | None => Err(None),
        }
    }

    fn decide(
        &mut self,
        conn: &mut AnyConnection,
        record: &RemoteContact,
        erased: bool,
        hash: String,
    ) -> Result<Decision> {
        if record.deleted {
            return Ok(Decision::Alone);
        }
        if erased {
            // Nothing of an erased person is kept, not even a link or a review item.
            self.pending.unreviewed.push(record.external_id.clone());
            return Ok(Decision::Done(Ok(Outcome::Skipped)));
        }
        let link = self.link(conn, &record.external_id)?;
        let linked_contact = link
            .as_ref()
            .and_then(|l| Some((l.deleted, l.hash.clone(), l.contact_id.clone()?)));
        if let Some((deleted, stored_hash, contact_id)) = linked_contact {
            if !deleted && stored_hash.as_deref() == Some(hash.as_str()) {
                self.set_link(&record.external_id, LinkWrite::Seen, |_| {});
                return Ok(Decision::Done(Ok(Outcome::Skipped)));
            }
            self.read_holders(conn, &identities(self.scope, record))?;
            let added = self.add_identifiers(conn, &contact_id, record)?;
            let stored_hash = added.map(|_| hash);
            self.set_link(&record.external_id, LinkWrite::Update, |l| {
                l.deleted = false;
                l.hash = stored_hash;
            });
            if added == Some(true) || deleted {
                self.scope.changed.note(&contact_id);
                return Ok(Decision::Done(Ok(Outcome::Updated)));
            }
            return Ok(Decision::Done(Ok(Outcome::Skipped)));
        }
        let linked = link.is_some();
        let origin = RecordOrigin::from(record.origin);
        // Who holds the record's identities is known before anything adds to them (read
        // with the page, or again after a record applied alone).
        let ids = identities(self.scope, record);
        self.read_holders(conn, &ids)?;
        let matches = self.matching(&ids);
        match matches.as_slice() {
            [contact_id] => {
                self.rule_ground(conn, origin)?;
                let known = self.known(conn, contact_id)?;
                let ground = match self.ground_for(record, origin, contact_id, &known) {
                    Ok(ground) => ground,
                    Err(None) => return Ok(Decision::Alone),
                    Err(Some(error)) => return Ok(Decision::Done(Err(error))),
                };
                self.pending
                    .sources
                    .push(NewSource::new(self.scope, contact_id, record));
                self.note_ground(contact_id, ground);
                let added = self.add_identifiers(conn, contact_id, record)?;
                self.link_to(record, contact_id, linked, added.map(|_| hash));
                self.scope.changed.note(contact_id);
                Ok(Decision::Done(Ok(Outcome::Linked)))
            }
            [] => {
                let creates = self
                    .scope
                    .provenance
                    .rule(origin)
                    .is_some_and(|r| r.basis.is_some());
                if !creates {
                    return Ok(Decision::Alone);
                }
                self.rule_ground(conn, origin)?;
                let input = contact_input(self.scope, record, origin);
                let contact = match contact_service::prepare_imported(input, self.scope.rules) {
                    Ok(contact) => contact,
                    Err(error) => return Ok(Decision::Done(Err(error))),
                };
                let contact_id = contact.row.id.clone();
                let known = Known::default();
                let ground = match self.ground_for(record, origin, &contact_id, &known) {
                    Ok(ground) => ground,
                    Err(None) => return Ok(Decision::Alone),
                    Err(Some(error)) => return Ok(Decision::Done(Err(error))),
                };
                self.hold_new(&contact);
                self.pending.contacts.push(contact.row);
                self.pending.emails.extend(contact.emails);
                self.pending.phones.extend(contact.phones);
                self.pending
                    .sources
                    .push(NewSource::new(self.scope, &contact_id, record));
                self.note_ground(&contact_id, ground);
                self.link_to(record, &contact_id, linked, Some(hash));
                self.scope.changed.note(&contact_id);
                Ok(Decision::Done(Ok(Outcome::Created)))
            }
            _ => Ok(Decision::Alone),
        }
    }

    /// A contact created in the page: what it holds and that it has no ground yet.
    fn hold_new(&mut self, contact: &contact_service::PreparedContact) {
        let id = &contact.row.id;
        for email in &contact.emails {
            hold_one(&mut self.by_email, &email.address_key, id);
        }
        for phone in &contact.phones {
            hold_one(&mut self.by_phone, &phone.number, id);
        }
        for code in [&contact.row.codice_fiscale, &contact.row.partita_iva]
            .into_iter()
            .flatten()
        {
            hold_one(&mut self.by_tax_code, code, id);
        }
        self.known.insert(
            id.clone(),
            Known {
                restricted: false,
                email_keys: contact
                    .emails
                    .iter()
                    .map(|e| e.address_key.clone())
                    .collect(),
                phones: contact.phones.iter().map(|p| p.number.clone()).collect(),
                open_purposes: HashSet::new(),
            },
        );
    }

    fn note_ground(&mut self, contact_id: &str, ground: Option<GroundRow>) {
        if let Some(ground) = ground {
            if let Some(known) = self.known.get_mut(contact_id) {
                known.open_purposes.insert(ground.purpose_id.clone());
            }
            self.pending.grounds.push(ground);
        }
    }

    /// The record's emails and phones the contact lacks, as `upsert`'s `add_identifiers`
    /// adds them: whether any was added, `None` for a restricted contact.
    fn add_identifiers(
        &mut self,
        conn: &mut AnyConnection,
        contact_id: &str,
        record: &RemoteContact,
    ) -> Result<Option<bool>> {
        let mut known = self.known(conn, contact_id)?;
        if known.restricted {
            return Ok(None);
        }
        let mut changed = false;
        let emails = record.emails.iter().map(|e| (e, false));
        let pecs = record.pecs.iter().map(|e| (e, true));
        for (raw, is_pec) in emails.chain(pecs) {
            let Ok(address) = normalize_email(raw) else {
                continue;
            };
            let key = email_key(&address);
            if known.email_keys.contains(&key) {
                continue;
            }
            self.pending.emails.push(EmailRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                position: known.email_keys.len() as i32,
                address,
                address_key: key.clone(),
                label: None,
                is_pec,
            });
            hold_one(&mut self.by_email, &key, contact_id);
            known.email_keys.push(key);
            changed = true;
        }
        for raw in &record.phones {
            let Ok(number) = normalize_phone(raw, &self.scope.rules.phone_region) else {
                continue;
            };
            if known.phones.contains(&number) {
                continue;
            }
            self.pending.phones.push(PhoneRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                position: known.phones.len() as i32,
                number: number.clone(),
                label: None,
            });
            hold_one(&mut self.by_phone, &number, contact_id);
            known.phones.push(number);
            changed = true;
        }
        if changed {
            self.pending.touched.push(contact_id.to_owned());
        }
        self.known.insert(contact_id.to_owned(), known);
        Ok(Some(changed))
    }

    /// Links the record to the contact: a new link, or the existing one (without a contact)
    /// updated.
    fn link_to(
        &mut self,
        record: &RemoteContact,
        contact_id: &str,
        linked: bool,
        hash: Option<String>,
    ) {
        let write = if linked {
            LinkWrite::Update
        } else {
            LinkWrite::Insert
        };
        let link = Link {
            contact_id: Some(contact_id.to_owned()),
            deleted: false,
            hash,
            write,
        };
        self.links.insert(record.external_id.clone(), Some(link));
    }

    /// Changes a known link; a link to be inserted stays one to insert, and one to update is
    /// not demoted to one only seen.
    fn set_link(&mut self, external_id: &str, write: LinkWrite, change: impl FnOnce(&mut Link)) {
        if let Some(Some(link)) = self.links.get_mut(external_id) {
            change(link);
            link.write = match (link.write, write) {
                (LinkWrite::Insert, _) => LinkWrite::Insert,
                (LinkWrite::Update, LinkWrite::Seen) => LinkWrite::Update,
                (_, write) => write,
            };
        }
    }

    /// A record the page does not decide: what the page decided so far is written, the
    /// record applied by `upsert` in a savepoint, and what it may have changed read again.
    fn apply_alone(
        &mut self,
        conn: &mut AnyConnection,
        record: &RemoteContact,
    ) -> Result<Result<Outcome>> {
        self.write(conn)?;
        let mark = self.scope.changed.mark();
        let applied = crate::db::transaction(conn, |c| upsert::apply_linked(c, self.scope, record));
        if applied.is_err() {
            self.scope.changed.undo_to(mark);
        }
        self.links.remove(&record.external_id);
        if let Ok((_, Some(contact_id))) = &applied {
            self.known.remove(contact_id);
        }
        let ids = identities(self.scope, record);
        for email in &ids.emails {
            self.by_email.remove(email);
        }
        for phone in &ids.phones {
            self.by_phone.remove(phone);
        }
        for code in &ids.tax_codes {
            self.by_tax_code.remove(code);
        }
        Ok(applied.map(|(outcome, _)| outcome))
    }

    /// Writes what the page decided so far: multi-row inserts, and one statement per
    /// thousand links only seen.
    fn write(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        contact_service::insert_imported(
            conn,
            &pending.contacts,
            &pending.emails,
            &pending.phones,
        )?;
        insert_sources(conn, &pending.sources)?;
        grounds::insert_rows(conn, &pending.grounds)?;
        let mut touched = pending.touched;
        touched.sort_unstable();
        touched.dedup();
        for chunk in touched.chunks(LOOKUP_CHUNK) {
            diesel::update(contacts::table.filter(contacts::id.eq_any(chunk)))
                .set(contacts::updated_at.eq(now()))
                .execute(conn)?;
        }
        for chunk in pending.unreviewed.chunks(LOOKUP_CHUNK) {
            diesel::delete(
                sync_review_items::table
                    .filter(sync_review_items::instance_id.eq(self.scope.instance_id))
                    .filter(sync_review_items::external_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        self.write_links(conn)
    }

    fn write_links(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let scope = self.scope;
        let mut inserted = Vec::new();
        let mut seen = Vec::new();
        let mut updated = Vec::new();
        for (external_id, link) in self.links.iter_mut() {
            let Some(link) = link else { continue };
            match std::mem::replace(&mut link.write, LinkWrite::Nothing) {
                LinkWrite::Nothing => {}
                LinkWrite::Seen => seen.push(external_id.clone()),
                LinkWrite::Insert => inserted.push(NewLink::new(
                    scope,
                    external_id,
                    link.contact_id.as_deref(),
                    link.hash.clone(),
                )),
                LinkWrite::Update => updated.push((external_id.clone(), link.clone())),
            }
        }
        insert_links(conn, &inserted)?;
        for chunk in seen.chunks(LOOKUP_CHUNK) {
            diesel::update(
                sync_links::table
                    .filter(sync_links::instance_id.eq(scope.instance_id))
                    .filter(sync_links::external_id.eq_any(chunk)),
            )
            .set((
                sync_links::seen_generation.eq(scope.generation),
                sync_links::updated_at.eq(now()),
            ))
            .execute(conn)?;
        }
        // Changed records only: one statement each.
        for (external_id, link) in updated {
            diesel::update(sync_links::table.find((scope.instance_id, &external_id)))
                .set((
                    sync_links::contact_id.eq(&link.contact_id),
                    sync_links::seen_generation.eq(scope.generation),
                    sync_links::deleted_at.eq(None::<chrono::NaiveDateTime>),
                    sync_links::record_hash.eq(&link.hash),
                    sync_links::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        Ok(())
    }
}

/// Records who holds each value of `chunk` (none for those without rows).
fn hold(held: &mut HashMap<String, Vec<String>>, chunk: &[String], rows: Vec<(String, String)>) {
    for value in chunk {
        held.entry(value.clone()).or_default();
    }
    for (value, contact_id) in rows {
        hold_one(held, &value, &contact_id);
    }
}

fn hold_one(held: &mut HashMap<String, Vec<String>>, value: &str, contact_id: &str) {
    let holders = held.entry(value.to_owned()).or_default();
    if !holders.iter().any(|h| h == contact_id) {
        holders.push(contact_id.to_owned());
    }
}
