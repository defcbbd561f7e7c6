//! Applying one provider record: idempotent by (instance, external id), linked to an existing
//! contact when an identity matches (email, PEC, phone, tax id) instead of duplicating it,
//! created with its source and legal basis when the provenance rules give one, queued for
//! review when they do not, and never for a person who was erased.

use diesel::prelude::*;
use lexgate_connectors::RemoteContact;
use sha2::{Digest, Sha256};

use super::erasure::{ErasureRegister, Identities};
use super::provenance::{Provenance, RecordOrigin};
use crate::contacts::{
    self as contact_service, ContactCategory, ContactKind, ContactRules, CreateContactInput,
    EmailInput, EmailRow, PhoneInput, PhoneRow,
};
use crate::db::schema::{
    contact_emails, contact_phones, contact_sources, contacts, processing_grounds, purposes,
    sync_links, sync_review_items,
};
use crate::db::{insert_batch, new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::grounds::{self, LegalBasis, ProcessingGroundInput};
use crate::gdpr::provenance::{ContactSourceInput, SourceKind};
use crate::gdpr::{Actor, BasisRules};
use crate::ids::{self, NodeType};
use crate::validation::{
    email_key, normalize_codice_fiscale, normalize_email, normalize_partita_iva, normalize_phone,
};

/// The source kind of every imported contact.
pub const SOURCE_KIND: &str = "connector_import";

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// An already linked contact got new identifiers.
    Updated,
    /// Linked to an existing contact that matched.
    Linked,
    /// The provider deleted it; the link ends (the contact stays, it may be in matters).
    Deleted,
    /// Nothing to do: unchanged, erased, restricted, or an unknown deletion.
    Skipped,
    /// Queued for review: no legal basis, or several contacts match.
    Review,
}

/// What every record of a page shares.
pub struct PageScope<'a> {
    pub instance_id: &'a str,
    pub instance_name: &'a str,
    pub provenance: &'a Provenance,
    pub generation: i32,
    pub rules: &'a ContactRules,
    pub erasure: &'a dyn ErasureRegister,
    /// The contacts the page's records changed, for the page's access-log entry.
    pub changed: &'a ChangedContacts,
}

/// The contacts a page changed. A record that fails rolls back to its savepoint, and the
/// contacts it noted are forgotten with it ([`ChangedContacts::mark`], [`ChangedContacts::undo_to`]).
#[derive(Debug, Default)]
pub struct ChangedContacts(std::cell::RefCell<Vec<String>>);

impl ChangedContacts {
    pub fn note(&self, contact_id: &str) {
        self.0.borrow_mut().push(contact_id.to_owned());
    }

    /// Where the list stands before a record is applied.
    pub fn mark(&self) -> usize {
        self.0.borrow().len()
    }

    /// Forgets what was noted since `mark`.
    pub fn undo_to(&self, mark: usize) {
        self.0.borrow_mut().truncate(mark);
    }

    /// The contacts noted so far, sorted and once each; the list starts empty again.
    pub fn take(&self) -> Vec<String> {
        let mut contacts = std::mem::take(&mut *self.0.borrow_mut());
        contacts.sort_unstable();
        contacts.dedup();
        contacts
    }
}

/// The contact the instance's contacts stream linked to the provider's record `external_id`,
/// if any (none for a record not imported, e.g. an erased person's, or one in review).
pub fn linked_contact(
    conn: &mut AnyConnection,
    instance_id: &str,
    external_id: &str,
) -> Result<Option<String>> {
    Ok(sync_links::table
        .find((instance_id, external_id))
        .filter(sync_links::deleted_at.is_null())
        .select(sync_links::contact_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

#[derive(Debug, Queryable)]
struct LinkRow {
    contact_id: Option<String>,
    deleted_at: Option<chrono::NaiveDateTime>,
}

/// The record's identities, normalised as lexgate stores them; unreadable values are left out
/// of matching (they fail validation if the record creates a contact).
pub(super) fn identities(scope: &PageScope<'_>, record: &RemoteContact) -> Identities {
    let emails = record
        .emails
        .iter()
        .chain(&record.pecs)
        .filter_map(|e| normalize_email(e).ok())
        .map(|e| email_key(&e))
        .collect();
    let phones = record
        .phones
        .iter()
        .filter_map(|p| normalize_phone(p, &scope.rules.phone_region).ok())
        .collect();
    let tax_codes = record
        .codice_fiscale
        .iter()
        .filter_map(|cf| normalize_codice_fiscale(cf).ok())
        .chain(
            record
                .partita_iva
                .iter()
                .filter_map(|p| normalize_partita_iva(p).ok()),
        )
        .collect();
    Identities {
        emails,
        phones,
        tax_codes,
        connector: scope.instance_name.to_owned(),
        external_id: record.external_id.clone(),
    }
}

/// Applies one record in the caller's transaction.
pub fn apply(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
) -> Result<Outcome> {
    Ok(apply_linked(conn, scope, record)?.0)
}

/// Like [`apply`], with the contact the record is now linked to when it created, linked or
/// updated one (the mail import adds it to the message's participants without reading the
/// link back).
pub fn apply_linked(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
) -> Result<(Outcome, Option<String>)> {
    if record.external_id.trim().is_empty() {
        return Err(Error::invalid(
            "externalId",
            "a record needs the provider's id",
        ));
    }
    let link: Option<LinkRow> = sync_links::table
        .find((scope.instance_id, &record.external_id))
        .select((sync_links::contact_id, sync_links::deleted_at))
        .first(conn)
        .optional()?;
    if record.deleted {
        return Ok((apply_deletion(conn, scope, record, link)?, None));
    }
    let ids = identities(scope, record);
    if scope.erasure.is_erased(conn, &ids)? {
        // Nothing of an erased person is kept, not even a link or a review item.
        diesel::delete(
            sync_review_items::table
                .filter(sync_review_items::instance_id.eq(scope.instance_id))
                .filter(sync_review_items::external_id.eq(&record.external_id)),
        )
        .execute(conn)?;
        return Ok((Outcome::Skipped, None));
    }
    if let Some(contact_id) = link.as_ref().and_then(|l| l.contact_id.clone()) {
        let revived = link.as_ref().is_some_and(|l| l.deleted_at.is_some());
        let added = add_identifiers(conn, scope, &contact_id, record)?;
        let hash = added.map(|_| record_hash(scope, record));
        touch_link(conn, scope, record, Some(&contact_id), true, hash)?;
        if added == Some(true) || revived {
            scope.changed.note(&contact_id);
            return Ok((Outcome::Updated, Some(contact_id)));
        }
        return Ok((Outcome::Skipped, None));
    }
    // Read above in this transaction: a link to insert, or one without a contact to update.
    let linked = link.is_some();
    let origin = RecordOrigin::from(record.origin);
    let matches = matching_contacts(conn, &ids)?;
    match matches.as_slice() {
        [contact_id] => {
            record_provenance(conn, scope, contact_id, record, origin, false)?;
            let added = add_identifiers(conn, scope, contact_id, record)?;
            let hash = added.map(|_| record_hash(scope, record));
            touch_link(conn, scope, record, Some(contact_id), linked, hash)?;
            scope.changed.note(contact_id);
            Ok((Outcome::Linked, Some(contact_id.clone())))
        }
        [] => match scope.provenance.rule(origin).filter(|r| r.basis.is_some()) {
            Some(_) => {
                let contact_id = create_contact(conn, scope, record, origin)?;
                let hash = Some(record_hash(scope, record));
                touch_link(conn, scope, record, Some(&contact_id), linked, hash)?;
                scope.changed.note(&contact_id);
                Ok((Outcome::Created, Some(contact_id)))
            }
            None => Ok((
                queue_review(conn, scope, record, "no legal basis for this origin")?,
                None,
            )),
        },
        _ => Ok((
            queue_review(conn, scope, record, "matches several contacts")?,
            None,
        )),
    }
}

fn apply_deletion(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
    link: Option<LinkRow>,
) -> Result<Outcome> {
    diesel::delete(
        sync_review_items::table
            .filter(sync_review_items::instance_id.eq(scope.instance_id))
            .filter(sync_review_items::external_id.eq(&record.external_id))
            .filter(sync_review_items::resolved_at.is_null()),
    )
    .execute(conn)?;
    match link {
        Some(link) if link.deleted_at.is_none() => {
            diesel::update(sync_links::table.find((scope.instance_id, &record.external_id)))
                .set((
                    sync_links::deleted_at.eq(now()),
                    sync_links::updated_at.eq(now()),
                ))
                .execute(conn)?;
            if let Some(contact_id) = &link.contact_id {
                scope.changed.note(contact_id);
            }
            Ok(Outcome::Deleted)
        }
        _ => Ok(Outcome::Skipped),
    }
}

/// Creates the contact of a reviewed record under the rule the reviewer chose (the scope's
/// provenance holds it), unless the person was erased meanwhile.
pub fn create_reviewed(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
) -> Result<Option<String>> {
    if scope.erasure.is_erased(conn, &identities(scope, record))? {
        return Ok(None);
    }
    let contact_id = create_contact(conn, scope, record, RecordOrigin::from(record.origin))?;
    let hash = Some(record_hash(scope, record));
    touch_link(conn, scope, record, Some(&contact_id), true, hash)?;
    scope.changed.note(&contact_id);
    Ok(Some(contact_id))
}

/// Creates or refreshes the link, marking it seen in this generation, with the hash of the
/// record it now reflects (`None` when the record was not applied in full, e.g. to a
/// restricted contact, so the next sync looks at it again). `maybe_linked: false` says the
/// caller read in this transaction that there is no link: it is inserted without first
/// trying an update.
fn touch_link(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
    contact_id: Option<&str>,
    maybe_linked: bool,
    hash: Option<String>,
) -> Result<()> {
    let updated = if !maybe_linked {
        0
    } else {
        diesel::update(sync_links::table.find((scope.instance_id, &record.external_id)))
            .set((
                sync_links::contact_id.eq(contact_id),
                sync_links::seen_generation.eq(scope.generation),
                sync_links::deleted_at.eq(None::<chrono::NaiveDateTime>),
                sync_links::record_hash.eq(&hash),
                sync_links::updated_at.eq(now()),
            ))
            .execute(conn)?
    };
    if updated == 0 {
        let link = NewLink::new(scope, &record.external_id, contact_id, hash);
        insert_links(conn, std::slice::from_ref(&link))?;
    }
    Ok(())
}

/// A new link, for multi-row inserts.
#[derive(Insertable)]
#[diesel(table_name = sync_links, treat_none_as_default_value = false)]
pub(super) struct NewLink {
    instance_id: String,
    external_id: String,
    contact_id: Option<String>,
    seen_generation: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    record_hash: Option<String>,
}

impl NewLink {
    pub(super) fn new(
        scope: &PageScope<'_>,
        external_id: &str,
        contact_id: Option<&str>,
        record_hash: Option<String>,
    ) -> NewLink {
        let at = now();
        NewLink {
            instance_id: scope.instance_id.to_owned(),
            external_id: external_id.to_owned(),
            contact_id: contact_id.map(str::to_owned),
            seen_generation: scope.generation,
            created_at: at,
            updated_at: at,
            record_hash,
        }
    }
}

pub(super) fn insert_links(conn: &mut AnyConnection, links: &[NewLink]) -> Result<()> {
    insert_batch(conn, sync_links::table, links, 7)?;
    Ok(())
}

/// What a record looked like (every field, and the phone region its numbers are read in):
/// a linked record whose hash is unchanged has nothing new to apply.
pub(super) fn record_hash(scope: &PageScope<'_>, record: &RemoteContact) -> String {
    let mut hash = Sha256::new();
    hash.update(scope.rules.phone_region.as_bytes());
    hash.update(b"\n");
    // Serialising a struct of strings, flags and dates cannot fail; were it to, the hash of
    // an empty body only costs the skip.
    hash.update(serde_json::to_vec(record).unwrap_or_default());
    hex::encode(hash.finalize())
}

/// The distinct contacts one of the identities belongs to.
fn matching_contacts(conn: &mut AnyConnection, ids: &Identities) -> Result<Vec<String>> {
    let mut found: Vec<String> = Vec::new();
    if !ids.emails.is_empty() {
        found.extend(
            contact_emails::table
                .filter(contact_emails::address_key.eq_any(&ids.emails))
                .select(contact_emails::contact_id)
                .load::<String>(conn)?,
        );
    }
    if !ids.phones.is_empty() {
        found.extend(
            contact_phones::table
                .filter(contact_phones::number.eq_any(&ids.phones))
                .select(contact_phones::contact_id)
                .load::<String>(conn)?,
        );
    }
    if !ids.tax_codes.is_empty() {
        found.extend(
            contacts::table
                .filter(
                    contacts::codice_fiscale
                        .eq_any(&ids.tax_codes)
                        .or(contacts::partita_iva.eq_any(&ids.tax_codes)),
                )
                .select(contacts::id)
                .load::<String>(conn)?,
        );
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Adds the record's emails and phones the contact lacks; a restricted contact is left as
/// it is (Art. 18: stored, not further processed). Returns whether anything was added, or
/// `None` for a restricted contact.
fn add_identifiers(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    contact_id: &str,
    record: &RemoteContact,
) -> Result<Option<bool>> {
    let restricted: Option<chrono::NaiveDateTime> = contacts::table
        .find(contact_id)
        .select(contacts::restricted_at)
        .first(conn)?;
    if restricted.is_some() {
        return Ok(None);
    }
    let mut changed = false;
    let existing_emails: Vec<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .select(contact_emails::address_key)
        .load(conn)?;
    let mut position = existing_emails.len() as i32;
    let mut known = existing_emails;
    let emails = record.emails.iter().map(|e| (e, false));
    let pecs = record.pecs.iter().map(|e| (e, true));
    for (raw, is_pec) in emails.chain(pecs) {
        let Ok(address) = normalize_email(raw) else {
            continue;
        };
        let key = email_key(&address);
        if known.contains(&key) {
            continue;
        }
        diesel::insert_into(contact_emails::table)
            .values(&EmailRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                position,
                address,
                address_key: key.clone(),
                label: None,
                is_pec,
            })
            .execute(conn)?;
        known.push(key);
        position += 1;
        changed = true;
    }
    let mut numbers: Vec<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .select(contact_phones::number)
        .load(conn)?;
    let mut position = numbers.len() as i32;
    for raw in &record.phones {
        let Ok(number) = normalize_phone(raw, &scope.rules.phone_region) else {
            continue;
        };
        if numbers.contains(&number) {
            continue;
        }
        diesel::insert_into(contact_phones::table)
            .values(&PhoneRow {
                id: new_id(),
                contact_id: contact_id.to_owned(),
                position,
                number: number.clone(),
                label: None,
            })
            .execute(conn)?;
        numbers.push(number);
        position += 1;
        changed = true;
    }
    if changed {
        diesel::update(contacts::table.find(contact_id))
            .set(contacts::updated_at.eq(now()))
            .execute(conn)?;
    }
    Ok(Some(changed))
}

fn create_contact(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
    origin: RecordOrigin,
) -> Result<String> {
    let input = contact_input(scope, record, origin);
    let contact = contact_service::create_imported(conn, input, scope.rules)?;
    record_provenance(conn, scope, &contact.id, record, origin, true)?;
    Ok(contact.id)
}

/// The contact a record creates; its source and ground are recorded apart (see
/// [`record_provenance`]).
pub(super) fn contact_input(
    scope: &PageScope<'_>,
    record: &RemoteContact,
    origin: RecordOrigin,
) -> CreateContactInput {
    let category = scope
        .provenance
        .rule(origin)
        .map_or(ContactCategory::Other, |r| r.category);
    let emails = record.emails.iter().map(|e| (e, false));
    let pecs = record.pecs.iter().map(|e| (e, true));
    CreateContactInput {
        kind: if record.organization {
            ContactKind::Organization
        } else {
            ContactKind::Person
        },
        given_name: record.given_name.clone(),
        family_name: record.family_name.clone(),
        organization_name: record.organization_name.clone(),
        category,
        emails: emails
            .chain(pecs)
            .map(|(address, is_pec)| EmailInput {
                address: address.clone(),
                label: None,
                is_pec,
            })
            .collect(),
        phones: record
            .phones
            .iter()
            .map(|number| PhoneInput {
                number: number.clone(),
                label: None,
            })
            .collect(),
        addresses: vec![],
        tags: vec![],
        codice_fiscale: record.codice_fiscale.clone(),
        partita_iva: record.partita_iva.clone(),
        notes: None,
        responsible_user_id: None,
        affiliations: vec![],
        birth_date: None,
        personal_interests: None,
        family_details: None,
        // Recorded by `record_provenance` below, from the instance's rule.
        source: ContactSourceInput {
            kind: SourceKind::ConnectorImport,
            detail: scope.provenance.source_detail.clone(),
            connector: Some(scope.instance_name.to_owned()),
            external_id: Some(record.external_id.clone()),
            acquired_at: chrono::Utc::now(),
            acquired_by_id: None,
        },
        grounds: Vec::new(),
        confirm_returning_subject: false,
    }
}

/// The source row every imported contact carries, and the processing ground its origin's
/// rule gives (unless the contact already has an open one for that purpose; a contact
/// created in this transaction, `fresh`, has none).
fn record_provenance(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    contact_id: &str,
    record: &RemoteContact,
    origin: RecordOrigin,
    fresh: bool,
) -> Result<()> {
    insert_sources(conn, &[NewSource::new(scope, contact_id, record)])?;
    let Some(rule) = scope.provenance.rule(origin) else {
        return Ok(());
    };
    let (Some(basis), Some(purpose_key)) = (rule.basis, &rule.purpose_key) else {
        return Ok(());
    };
    let purpose_id: String = purposes::table
        .filter(purposes::key.eq(purpose_key))
        .select(purposes::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::Internal(format!("purpose {purpose_key} no longer exists")))?;
    if !fresh {
        let open: i64 = processing_grounds::table
            .filter(processing_grounds::contact_id.eq(contact_id))
            .filter(processing_grounds::purpose_id.eq(&purpose_id))
            .filter(processing_grounds::ended_at.is_null())
            .count()
            .get_result(conn)?;
        if open > 0 {
            return Ok(());
        }
    }
    // Through the same checks as a ground entered by hand: an assessment withdrawn or
    // rejected since the rule was configured fails the record instead of creating a ground
    // nobody can justify.
    let ground = ImportedGround::new(scope, record, origin, basis.legal_basis());
    let input = ProcessingGroundInput {
        purpose: purpose_key.clone(),
        legal_basis: basis.legal_basis(),
        consent: None,
        assessment_id: rule
            .assessment
            .as_deref()
            .map(|key| ids::encode(NodeType::Assessment, key)),
        note: Some(ground.note),
        basis_arose_at: ground.basis_arose_at,
        basis_evidence: ground.basis_evidence,
    };
    // Import rules never name marketing purposes, so the marketing rules do not apply here.
    grounds::record(
        conn,
        GROUND_FIELD,
        contact_id,
        input,
        &BasisRules::default(),
        &importer(scope),
    )?;
    Ok(())
}

/// Where a failed ground's errors point.
pub(super) const GROUND_FIELD: &str = "provenance";

/// Who records an import's sources and grounds.
pub(super) fn importer(scope: &PageScope<'_>) -> Actor {
    Actor {
        user_id: None,
        label: format!("connector:{}", scope.instance_name),
    }
}

/// What a record's ground says beyond its rule: a note naming the connector and origin, and
/// when the basis arose.
pub(super) struct ImportedGround {
    pub note: String,
    pub basis_arose_at: Option<chrono::DateTime<chrono::Utc>>,
    pub basis_evidence: Option<String>,
}

impl ImportedGround {
    pub(super) fn new(
        scope: &PageScope<'_>,
        record: &RemoteContact,
        origin: RecordOrigin,
        basis: LegalBasis,
    ) -> ImportedGround {
        // The clock starts when the basis arose at the source, if the record says (a consent
        // basis arises with its consent, which imports do not carry); a date in the future is
        // the source's error and is not believed.
        let basis_arose_at = record
            .basis_arose_at
            .filter(|at| *at <= chrono::Utc::now() && basis != LegalBasis::Consent);
        let basis_evidence = basis_arose_at.map(|_| {
            record
                .basis_evidence
                .clone()
                .filter(|e| !e.trim().is_empty())
                .map_or_else(
                    || {
                        format!(
                            "record {} of connector {}",
                            record.external_id, scope.instance_name
                        )
                    },
                    |e| format!("{e} (connector {})", scope.instance_name),
                )
        });
        ImportedGround {
            note: format!(
                "Imported by connector {} as {}",
                scope.instance_name,
                origin.as_str()
            ),
            basis_arose_at,
            basis_evidence,
        }
    }
}

/// The source of an imported contact, for multi-row inserts.
#[derive(Insertable)]
#[diesel(table_name = contact_sources, treat_none_as_default_value = false)]
pub(super) struct NewSource {
    id: String,
    contact_id: String,
    kind: &'static str,
    detail: String,
    connector: Option<String>,
    external_id: Option<String>,
    acquired_at: chrono::NaiveDateTime,
    recorded_by: Option<String>,
    recorded_at: chrono::NaiveDateTime,
}

impl NewSource {
    pub(super) fn new(
        scope: &PageScope<'_>,
        contact_id: &str,
        record: &RemoteContact,
    ) -> NewSource {
        let at = now();
        NewSource {
            id: new_id(),
            contact_id: contact_id.to_owned(),
            kind: SOURCE_KIND,
            detail: scope.provenance.source_detail.clone(),
            connector: Some(scope.instance_name.to_owned()),
            external_id: Some(record.external_id.clone()),
            acquired_at: at,
            recorded_by: Some(importer(scope).label),
            recorded_at: at,
        }
    }
}

pub(super) fn insert_sources(conn: &mut AnyConnection, sources: &[NewSource]) -> Result<()> {
    insert_batch(conn, contact_sources::table, sources, 9)?;
    Ok(())
}

/// Queues (or refreshes) the record for review; nothing is created.
fn queue_review(
    conn: &mut AnyConnection,
    scope: &PageScope<'_>,
    record: &RemoteContact,
    reason: &str,
) -> Result<Outcome> {
    let at = now();
    let json = serde_json::to_string(record).map_err(|e| Error::Internal(format!("json: {e}")))?;
    let origin = RecordOrigin::from(record.origin).as_str();
    let updated = diesel::update(
        sync_review_items::table
            .filter(sync_review_items::instance_id.eq(scope.instance_id))
            .filter(sync_review_items::external_id.eq(&record.external_id)),
    )
    .set((
        sync_review_items::record.eq(&json),
        sync_review_items::origin.eq(origin),
        sync_review_items::reason.eq(reason),
        sync_review_items::updated_at.eq(at),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sync_review_items::table)
            .values((
                sync_review_items::id.eq(new_id()),
                sync_review_items::instance_id.eq(scope.instance_id),
                sync_review_items::external_id.eq(&record.external_id),
                sync_review_items::origin.eq(origin),
                sync_review_items::record.eq(&json),
                sync_review_items::reason.eq(reason),
                sync_review_items::created_at.eq(at),
                sync_review_items::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(Outcome::Review)
}
