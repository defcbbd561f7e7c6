//! Reading and changing contacts. Every change is validated first, then written in the
//! caller's transaction; every list is one filtered query.

use std::collections::{HashMap, HashSet};

use async_graphql::MaybeUndefined;
use diesel::prelude::*;

use super::minimisation::{check_birth_date, refuse_if_disabled, OptionalContactField};
use super::model::*;
use crate::access_policy::scope::{affiliation_links, AffiliationOrganizations, AffiliationPeople};
use crate::access_policy::Scope;
use crate::contacts::history;
use crate::db::schema::processing_grounds;
use crate::db::schema::{
    affiliations, contact_addresses, contact_emails, contact_phones, contact_tags, contacts,
};
use crate::db::{insert_batch, new_id, now, AnyConnection, Db};
use crate::directory;
use crate::error::{Error, Result, Validator};
use crate::gdpr::tombstones::{self, Identifiers};
use crate::gdpr::{grounds, provenance, Actor, BasisRules, KeyedHasher};
use crate::ids::{self, NodeType};
use crate::listing::{contains_pattern, group_by_key, group_pairs, lower, Page, SortDirection};
use crate::validation::{
    apply_change, email_key, non_blank, normalize_codice_fiscale, normalize_email,
    normalize_partita_iva, normalize_phone,
};

/// Settings that shape contact validation.
#[derive(Debug, Clone)]
pub struct ContactRules {
    /// Region used to read national phone numbers (ISO 3166-1, e.g. "IT").
    pub phone_region: String,
    /// Optional fields switched off by data minimisation: refused on write, null on read.
    pub disabled_fields: Vec<OptionalContactField>,
}

impl ContactRules {
    /// Whether the firm collects this optional field.
    pub fn collects(&self, field: OptionalContactField) -> bool {
        !self.disabled_fields.contains(&field)
    }
}

impl Default for ContactRules {
    fn default() -> Self {
        ContactRules {
            phone_region: "IT".to_owned(),
            disabled_fields: Vec::new(),
        }
    }
}

/// The scalar fields of a contact, validated as a whole (on create and after an update).
struct Draft {
    kind: ContactKind,
    given_name: Option<String>,
    family_name: Option<String>,
    organization_name: Option<String>,
    category: ContactCategory,
    codice_fiscale: Option<String>,
    partita_iva: Option<String>,
    notes: Option<String>,
    responsible_user_id: Option<String>,
    birth_date: Option<chrono::NaiveDate>,
    personal_interests: Option<String>,
    family_details: Option<String>,
}

/// Child lists, validated; `None` leaves a list as it is.
#[derive(Default)]
struct Children {
    emails: Option<Vec<EmailRow>>,
    phones: Option<Vec<PhoneRow>>,
    addresses: Option<Vec<AddressRow>>,
    tags: Option<Vec<String>>,
    affiliations: Option<Vec<AffiliationRow>>,
}

fn validate_draft(v: &mut Validator, mut d: Draft) -> Draft {
    d.given_name = non_blank(d.given_name);
    d.family_name = non_blank(d.family_name);
    d.organization_name = non_blank(d.organization_name);
    d.notes = non_blank(d.notes);
    d.personal_interests = non_blank(d.personal_interests);
    d.family_details = non_blank(d.family_details);
    d.birth_date = check_birth_date(v, d.birth_date);
    match d.kind {
        ContactKind::Person => {
            if d.family_name.is_none() {
                v.add("input.familyName", "a person needs a family name");
            }
            if d.organization_name.is_some() {
                v.add(
                    "input.organizationName",
                    "a person has no organisation name; link the person to an organisation instead",
                );
            }
        }
        ContactKind::Organization => {
            if d.organization_name.is_none() {
                v.add("input.organizationName", "an organisation needs a name");
            }
            if d.given_name.is_some() || d.family_name.is_some() {
                v.add(
                    "input.givenName",
                    "an organisation has no given or family name",
                );
            }
        }
    }
    d.codice_fiscale = non_blank(d.codice_fiscale).and_then(|cf| {
        let normalized = v.check("input.codiceFiscale", normalize_codice_fiscale(&cf))?;
        // Organisations may carry an 11-digit code or, for sole traders, a personal one.
        if d.kind == ContactKind::Person && normalized.len() != 16 {
            v.add(
                "input.codiceFiscale",
                "a person's codice fiscale has 16 characters",
            );
        }
        Some(normalized)
    });
    d.partita_iva = non_blank(d.partita_iva)
        .and_then(|piva| v.check("input.partitaIva", normalize_partita_iva(&piva)));
    d
}

fn validate_emails(v: &mut Validator, inputs: &[EmailInput]) -> Vec<EmailRow> {
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let field = format!("input.emails[{i}].address");
        let Some(address) = v.check(&field, normalize_email(&input.address)) else {
            continue;
        };
        let key = email_key(&address);
        if !seen.insert(key.clone()) {
            v.add(&field, "the same address is listed twice");
            continue;
        }
        rows.push(EmailRow {
            id: new_id(),
            contact_id: String::new(),
            position: i as i32,
            address,
            address_key: key,
            label: non_blank(input.label.clone()),
            is_pec: input.is_pec,
        });
    }
    rows
}

fn validate_phones(v: &mut Validator, inputs: &[PhoneInput], region: &str) -> Vec<PhoneRow> {
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let field = format!("input.phones[{i}].number");
        let Some(number) = v.check(&field, normalize_phone(&input.number, region)) else {
            continue;
        };
        if !seen.insert(number.clone()) {
            v.add(&field, "the same number is listed twice");
            continue;
        }
        rows.push(PhoneRow {
            id: new_id(),
            contact_id: String::new(),
            position: i as i32,
            number,
            label: non_blank(input.label.clone()),
        });
    }
    rows
}

fn validate_addresses(v: &mut Validator, inputs: &[AddressInput]) -> Vec<AddressRow> {
    let mut rows = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let street = v.required(&format!("input.addresses[{i}].street"), &input.street);
        let city = v.required(&format!("input.addresses[{i}].city"), &input.city);
        let country = input
            .country
            .as_deref()
            .map(|c| c.trim().to_uppercase())
            .unwrap_or_else(|| "IT".to_owned());
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            v.add(
                format!("input.addresses[{i}].country"),
                "use a two-letter ISO 3166-1 country code such as IT",
            );
        }
        rows.push(AddressRow {
            id: new_id(),
            contact_id: String::new(),
            position: i as i32,
            label: non_blank(input.label.clone()),
            street,
            postal_code: non_blank(input.postal_code.clone()),
            city,
            province: non_blank(input.province.clone()).map(|p| p.to_uppercase()),
            country,
        });
    }
    rows
}

fn validate_tags(v: &mut Validator, inputs: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(inputs.len());
    for (i, tag) in inputs.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 64 {
            v.add(format!("input.tags[{i}]"), "a tag has 1 to 64 characters");
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn validate_affiliations(
    v: &mut Validator,
    kind: ContactKind,
    inputs: &[AffiliationInput],
) -> Vec<AffiliationRow> {
    if kind == ContactKind::Organization && !inputs.is_empty() {
        v.add(
            "input.affiliations",
            "only people are affiliated with organisations",
        );
        return Vec::new();
    }
    let mut rows: Vec<AffiliationRow> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let field = format!("input.affiliations[{i}].organizationId");
        let Some(org) = v.check(
            &field,
            ids::decode(NodeType::Contact, &input.organization_id, &field),
        ) else {
            continue;
        };
        if rows.iter().any(|r| r.organization_id == org) {
            v.add(&field, "the same organisation is listed twice");
            continue;
        }
        rows.push(AffiliationRow {
            id: new_id(),
            person_id: String::new(),
            organization_id: org,
            job_title: non_blank(input.job_title.clone()),
        });
    }
    rows
}

fn display_and_sort_name(d: &Draft) -> (String, String) {
    names_of(
        d.kind,
        d.given_name.as_deref(),
        d.family_name.as_deref(),
        d.organization_name.as_deref(),
    )
}

/// The display name ("Given Family", or the organisation's name) and the sort key
/// ("family given", lower-cased) of a contact.
pub(super) fn names_of(
    kind: ContactKind,
    given_name: Option<&str>,
    family_name: Option<&str>,
    organization_name: Option<&str>,
) -> (String, String) {
    match kind {
        ContactKind::Person => {
            let given = given_name.unwrap_or("");
            let family = family_name.unwrap_or("");
            let display = format!("{given} {family}").trim().to_owned();
            let sort = format!("{family} {given}").trim().to_lowercase();
            (display, sort)
        }
        ContactKind::Organization => {
            let name = organization_name.unwrap_or_default().to_owned();
            let sort = name.to_lowercase();
            (name, sort)
        }
    }
}

/// Refuses references to people or organisations that do not exist.
fn check_references(conn: &mut AnyConnection, d: &Draft, children: &Children) -> Result<()> {
    if let Some(user) = &d.responsible_user_id {
        directory::ensure_users_exist(conn, std::slice::from_ref(user), "input.responsibleUserId")?;
    }
    if let Some(links) = children.affiliations.as_ref().filter(|l| !l.is_empty()) {
        let wanted: Vec<String> = links.iter().map(|a| a.organization_id.clone()).collect();
        let found: HashSet<String> = contacts::table
            .filter(contacts::id.eq_any(&wanted))
            .filter(contacts::kind.eq(ContactKind::Organization.as_str()))
            .select(contacts::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        if let Some(i) = wanted.iter().position(|id| !found.contains(id)) {
            return Err(Error::invalid(
                format!("input.affiliations[{i}].organizationId"),
                "no organisation with this ID",
            ));
        }
    }
    Ok(())
}

/// Writes the lists `children` names, replacing the stored ones; a contact inserted in this
/// transaction (`fresh`) has none, so nothing is deleted first (a statement per list saved on
/// every import).
fn write_children(
    conn: &mut AnyConnection,
    contact_id: &str,
    children: Children,
    fresh: bool,
) -> Result<()> {
    if let Some(mut rows) = children.emails {
        if !fresh {
            diesel::delete(contact_emails::table.filter(contact_emails::contact_id.eq(contact_id)))
                .execute(conn)?;
        }
        rows.iter_mut()
            .for_each(|r| r.contact_id = contact_id.to_owned());
        for row in &rows {
            diesel::insert_into(contact_emails::table)
                .values(row)
                .execute(conn)?;
        }
    }
    if let Some(mut rows) = children.phones {
        if !fresh {
            diesel::delete(contact_phones::table.filter(contact_phones::contact_id.eq(contact_id)))
                .execute(conn)?;
        }
        rows.iter_mut()
            .for_each(|r| r.contact_id = contact_id.to_owned());
        for row in &rows {
            diesel::insert_into(contact_phones::table)
                .values(row)
                .execute(conn)?;
        }
    }
    if let Some(mut rows) = children.addresses {
        if !fresh {
            diesel::delete(
                contact_addresses::table.filter(contact_addresses::contact_id.eq(contact_id)),
            )
            .execute(conn)?;
        }
        rows.iter_mut()
            .for_each(|r| r.contact_id = contact_id.to_owned());
        for row in &rows {
            diesel::insert_into(contact_addresses::table)
                .values(row)
                .execute(conn)?;
        }
    }
    if let Some(tags) = children.tags {
        set_tags(conn, contact_id, &tags, fresh)?;
    }
    if let Some(mut rows) = children.affiliations {
        if !fresh {
            diesel::delete(affiliations::table.filter(affiliations::person_id.eq(contact_id)))
                .execute(conn)?;
        }
        rows.iter_mut()
            .for_each(|r| r.person_id = contact_id.to_owned());
        for row in &rows {
            diesel::insert_into(affiliations::table)
                .values(row)
                .execute(conn)?;
        }
    }
    Ok(())
}

fn set_tags(
    conn: &mut AnyConnection,
    contact_id: &str,
    tags: &[String],
    fresh: bool,
) -> Result<()> {
    if !fresh {
        diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq(contact_id)))
            .execute(conn)?;
    }
    let rows: Vec<_> = tags
        .iter()
        .map(|tag| {
            (
                contact_tags::contact_id.eq(contact_id),
                contact_tags::tag.eq(tag),
            )
        })
        .collect();
    for row in &rows {
        diesel::insert_into(contact_tags::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Refuses values for the optional fields data minimisation switched off; `given` follows
/// [`OptionalContactField::ALL`]. Clearing one (null) stays allowed, to purge what was kept.
fn refuse_disabled_fields(v: &mut Validator, rules: &ContactRules, given: [bool; 3]) {
    for (field, given) in OptionalContactField::ALL.into_iter().zip(given) {
        refuse_if_disabled(v, &rules.disabled_fields, field, given);
    }
}

fn decode_optional_user(v: &mut Validator, id: Option<&async_graphql::ID>) -> Option<String> {
    let id = id?;
    v.check(
        "input.responsibleUserId",
        ids::decode(NodeType::User, id, "input.responsibleUserId"),
    )
}

/// Creates a contact with its child records.
/// Creates a contact with its acquisition source and at least one processing ground: no
/// personal data without knowing where it came from and on what basis it is held.
///
/// `tombstones` checks the identifiers against the erased people's; only the seed, which
/// invents its people, goes without.
pub fn create(
    conn: &mut AnyConnection,
    input: CreateContactInput,
    rules: &ContactRules,
    basis_rules: &BasisRules,
    actor: &Actor,
    tombstones: Option<&KeyedHasher>,
) -> Result<ContactRow> {
    insert_new(conn, input, rules, Some((basis_rules, actor, tombstones)))
}

/// For the sync engine, which records the connector source and its provenance rule's basis
/// itself, in the same transaction, or puts the record in the review queue instead: the
/// input's `source` and `grounds` are not used.
pub(crate) fn create_imported(
    conn: &mut AnyConnection,
    input: CreateContactInput,
    rules: &ContactRules,
) -> Result<ContactRow> {
    insert_new(conn, input, rules, None)
}

/// The identifiers tombstones remember, from validated values.
fn identifiers<'a>(
    emails: impl IntoIterator<Item = &'a EmailRow>,
    phones: impl IntoIterator<Item = &'a PhoneRow>,
    tax_codes: impl IntoIterator<Item = &'a String>,
) -> Identifiers {
    Identifiers {
        emails: emails.into_iter().map(|e| e.address.clone()).collect(),
        phones: phones.into_iter().map(|p| p.number.clone()).collect(),
        tax_codes: tax_codes.into_iter().cloned().collect(),
        external_ids: Vec::new(),
    }
}

/// Validates a new contact's fields and lists (the input's `source` and `grounds` are the
/// caller's); objections go to `v`.
fn validate_new(
    v: &mut Validator,
    input: &CreateContactInput,
    rules: &ContactRules,
) -> (Draft, Children) {
    let responsible_user_id = decode_optional_user(v, input.responsible_user_id.as_ref());
    refuse_disabled_fields(
        v,
        rules,
        [
            input.birth_date.is_some(),
            input.personal_interests.is_some(),
            input.family_details.is_some(),
        ],
    );
    let draft = validate_draft(
        v,
        Draft {
            kind: input.kind,
            given_name: input.given_name.clone(),
            family_name: input.family_name.clone(),
            organization_name: input.organization_name.clone(),
            category: input.category,
            codice_fiscale: input.codice_fiscale.clone(),
            partita_iva: input.partita_iva.clone(),
            notes: input.notes.clone(),
            responsible_user_id,
            birth_date: input.birth_date,
            personal_interests: input.personal_interests.clone(),
            family_details: input.family_details.clone(),
        },
    );
    let children = Children {
        emails: Some(validate_emails(v, &input.emails)),
        phones: Some(validate_phones(v, &input.phones, &rules.phone_region)),
        addresses: Some(validate_addresses(v, &input.addresses)),
        tags: Some(validate_tags(v, &input.tags)),
        affiliations: Some(validate_affiliations(v, draft.kind, &input.affiliations)),
    };
    (draft, children)
}

/// The row of a new contact.
fn new_row(draft: Draft) -> ContactRow {
    let (display_name, sort_name) = display_and_sort_name(&draft);
    let timestamp = now();
    ContactRow {
        id: new_id(),
        kind: draft.kind.as_str().to_owned(),
        given_name: draft.given_name,
        family_name: draft.family_name,
        organization_name: draft.organization_name,
        display_name,
        sort_name,
        category: draft.category.as_str().to_owned(),
        codice_fiscale: draft.codice_fiscale,
        partita_iva: draft.partita_iva,
        notes: draft.notes,
        responsible_user_id: draft.responsible_user_id,
        created_at: timestamp,
        updated_at: timestamp,
        restricted_at: None,
        restriction_reason: None,
        birth_date: draft.birth_date,
        personal_interests: draft.personal_interests,
        family_details: draft.family_details,
    }
}

/// An imported contact, validated as [`create_imported`] validates it and not yet written:
/// the sync engine writes a page's contacts together ([`insert_imported`]).
pub(crate) struct PreparedContact {
    pub row: ContactRow,
    pub emails: Vec<EmailRow>,
    pub phones: Vec<PhoneRow>,
}

/// Validates an imported contact without writing it. Only names, emails, phones and tax
/// codes are taken: an import has no addresses, tags, affiliations or responsible user, so
/// nothing is looked up (those inputs are refused here rather than silently dropped).
pub(crate) fn prepare_imported(
    input: CreateContactInput,
    rules: &ContactRules,
) -> Result<PreparedContact> {
    let mut v = Validator::new();
    let (draft, children) = validate_new(&mut v, &input, rules);
    v.finish()?;
    let referring = draft.responsible_user_id.is_some()
        || children.addresses.as_ref().is_some_and(|a| !a.is_empty())
        || children.tags.as_ref().is_some_and(|t| !t.is_empty())
        || children
            .affiliations
            .as_ref()
            .is_some_and(|a| !a.is_empty());
    if referring {
        return Err(Error::Internal(
            "an imported contact carries only names, emails, phones and tax codes".into(),
        ));
    }
    let row = new_row(draft);
    let mut emails = children.emails.unwrap_or_default();
    emails
        .iter_mut()
        .for_each(|e| e.contact_id = row.id.clone());
    let mut phones = children.phones.unwrap_or_default();
    phones
        .iter_mut()
        .for_each(|p| p.contact_id = row.id.clone());
    Ok(PreparedContact {
        row,
        emails,
        phones,
    })
}

/// Writes prepared contacts, and emails and phones added to any contact, with one multi-row
/// insert per table (chunked under the bound-parameter limit).
pub(crate) fn insert_imported(
    conn: &mut AnyConnection,
    contacts: &[ContactRow],
    emails: &[EmailRow],
    phones: &[PhoneRow],
) -> Result<()> {
    insert_batch(conn, contacts::table, contacts, CONTACT_COLUMNS)?;
    insert_batch(conn, contact_emails::table, emails, EMAIL_COLUMNS)?;
    insert_batch(conn, contact_phones::table, phones, PHONE_COLUMNS)?;
    Ok(())
}

/// The columns of [`ContactRow`], [`EmailRow`] and [`PhoneRow`], for the bound-parameter
/// limit of multi-row inserts.
const CONTACT_COLUMNS: usize = 19;
const EMAIL_COLUMNS: usize = 7;
const PHONE_COLUMNS: usize = 5;

fn insert_new(
    conn: &mut AnyConnection,
    input: CreateContactInput,
    rules: &ContactRules,
    provenance_rules: Option<(&BasisRules, &Actor, Option<&KeyedHasher>)>,
) -> Result<ContactRow> {
    let mut v = Validator::new();
    let source = provenance_rules.and_then(|(_, actor, _)| {
        provenance::validate(&mut v, "input.source", input.source.clone(), actor)
    });
    if provenance_rules.is_some() && input.grounds.is_empty() {
        v.add(
            "input.grounds",
            "a contact needs at least one legal basis for processing its data (purpose and basis)",
        );
    }
    let (draft, children) = validate_new(&mut v, &input, rules);
    v.finish()?;
    check_references(conn, &draft, &children)?;
    // The sync engine checks its records against the same tombstones before it creates.
    let returning = match provenance_rules {
        Some((_, _, Some(hasher))) => {
            let ids = identifiers(
                children.emails.iter().flatten(),
                children.phones.iter().flatten(),
                [&draft.codice_fiscale, &draft.partita_iva]
                    .into_iter()
                    .flatten(),
            );
            tombstones::check_returning(
                conn,
                hasher,
                &ids,
                input.confirm_returning_subject,
                "input.confirmReturningSubject",
            )?
        }
        _ => false,
    };

    let row = new_row(draft);
    diesel::insert_into(contacts::table)
        .values(&row)
        .execute(conn)?;
    write_children(conn, &row.id, children, true)?;
    if let Some((basis_rules, actor, _)) = provenance_rules {
        if let Some(source) = source {
            let source = if returning {
                source.noting(tombstones::RETURNING_SUBJECT_NOTE)
            } else {
                source
            };
            provenance::record(conn, "input.source", &row.id, source, actor)?;
        }
        for (i, ground) in input.grounds.into_iter().enumerate() {
            let at = format!("input.grounds[{i}]");
            grounds::record(conn, &at, &row.id, ground, basis_rules, actor)?;
        }
    }
    Ok(row)
}

/// Changes the fields the input names; lists given replace the stored ones. Every changed
/// field goes to the rectification history under `author` (a principal ID). Emails, phones
/// and tax codes it adds are checked against the erased people's tombstones.
pub fn update(
    conn: &mut AnyConnection,
    input: UpdateContactInput,
    rules: &ContactRules,
    author: &str,
    actor: &Actor,
    hasher: &KeyedHasher,
) -> Result<ContactRow> {
    let id = ids::decode(NodeType::Contact, &input.id, "input.id")?;
    let current = get(conn, &id)?;
    let before = history::snapshot(conn, &id)?;
    let kind = ContactKind::from_db(&current.kind)?;
    let mut v = Validator::new();
    let responsible_user_id = match &input.responsible_user_id {
        MaybeUndefined::Undefined => current.responsible_user_id.clone(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(user) => decode_optional_user(&mut v, Some(user)),
    };
    refuse_disabled_fields(
        &mut v,
        rules,
        [
            input.birth_date.is_value(),
            input.personal_interests.is_value(),
            input.family_details.is_value(),
        ],
    );
    let draft = validate_draft(
        &mut v,
        Draft {
            kind,
            given_name: apply_change(current.given_name.clone(), input.given_name),
            family_name: apply_change(current.family_name.clone(), input.family_name),
            organization_name: apply_change(
                current.organization_name.clone(),
                input.organization_name,
            ),
            category: match input.category {
                Some(category) => category,
                None => ContactCategory::from_db(&current.category)?,
            },
            codice_fiscale: apply_change(current.codice_fiscale.clone(), input.codice_fiscale),
            partita_iva: apply_change(current.partita_iva.clone(), input.partita_iva),
            notes: apply_change(current.notes.clone(), input.notes),
            responsible_user_id,
            birth_date: apply_change(current.birth_date, input.birth_date),
            personal_interests: apply_change(
                current.personal_interests.clone(),
                input.personal_interests,
            ),
            family_details: apply_change(current.family_details.clone(), input.family_details),
        },
    );
    let returning_source = input.returning_subject_source.and_then(|source| {
        provenance::validate(&mut v, "input.returningSubjectSource", source, actor)
    });
    let children = Children {
        emails: input.emails.map(|e| validate_emails(&mut v, &e)),
        phones: input
            .phones
            .map(|p| validate_phones(&mut v, &p, &rules.phone_region)),
        addresses: input.addresses.map(|a| validate_addresses(&mut v, &a)),
        tags: input.tags.map(|t| validate_tags(&mut v, &t)),
        affiliations: input
            .affiliations
            .map(|a| validate_affiliations(&mut v, kind, &a)),
    };
    v.finish()?;
    check_references(conn, &draft, &children)?;
    let added = added_identifiers(conn, &current, &draft, &children)?;
    let returning = tombstones::check_returning(
        conn,
        hasher,
        &added,
        returning_source.is_some(),
        "input.returningSubjectSource",
    )?;
    if returning {
        let active: i64 = processing_grounds::table
            .filter(processing_grounds::contact_id.eq(&id))
            .filter(processing_grounds::ended_at.is_null())
            .count()
            .get_result(conn)?;
        if active == 0 {
            return Err(Error::invalid(
                "input.returningSubjectSource",
                "the contact has no active processing ground: record the legal basis for \
                 processing their data again first",
            ));
        }
    }

    let (display_name, sort_name) = display_and_sort_name(&draft);
    let row = ContactRow {
        id: current.id,
        kind: current.kind,
        given_name: draft.given_name,
        family_name: draft.family_name,
        organization_name: draft.organization_name,
        display_name,
        sort_name,
        category: draft.category.as_str().to_owned(),
        codice_fiscale: draft.codice_fiscale,
        partita_iva: draft.partita_iva,
        notes: draft.notes,
        responsible_user_id: draft.responsible_user_id,
        created_at: current.created_at,
        updated_at: now(),
        restricted_at: current.restricted_at,
        restriction_reason: current.restriction_reason,
        birth_date: draft.birth_date,
        personal_interests: draft.personal_interests,
        family_details: draft.family_details,
    };
    diesel::update(contacts::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    write_children(conn, &row.id, children, false)?;
    history::record_changes(conn, &row.id, &before, author)?;
    if let Some(source) = returning_source {
        let source = if returning {
            source.noting(tombstones::RETURNING_SUBJECT_NOTE)
        } else {
            source
        };
        provenance::record(conn, "input.returningSubjectSource", &row.id, source, actor)?;
    }
    Ok(row)
}

/// The emails, phones and tax codes an update adds to what the contact holds.
fn added_identifiers<'a>(
    conn: &mut AnyConnection,
    current: &ContactRow,
    draft: &'a Draft,
    children: &'a Children,
) -> Result<Identifiers> {
    let held_emails: HashSet<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(&current.id))
        .select(contact_emails::address)
        .load::<String>(conn)?
        .iter()
        .map(|a| email_key(a))
        .collect();
    let held_phones: HashSet<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(&current.id))
        .select(contact_phones::number)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let changed =
        |new: &'a Option<String>, old: &Option<String>| new.as_ref().filter(|_| new != old);
    Ok(identifiers(
        children
            .emails
            .iter()
            .flatten()
            .filter(|e| !held_emails.contains(&email_key(&e.address))),
        children
            .phones
            .iter()
            .flatten()
            .filter(|p| !held_phones.contains(&p.number)),
        [
            changed(&draft.codice_fiscale, &current.codice_fiscale),
            changed(&draft.partita_iva, &current.partita_iva),
        ]
        .into_iter()
        .flatten(),
    ))
}

/// Deletes a contact and everything that only describes it (emails, phones, links, tags).
/// Its rectification history keeps which field changed when, not the values.
pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let deleted = diesel::delete(contacts::table.find(id)).execute(conn)?;
    if deleted == 0 {
        return Err(Error::not_found("Contact", id));
    }
    history::erase_values(conn, id)?;
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<ContactRow> {
    contacts::table
        .find(id)
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("Contact", id))
}

pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, ContactRow>> {
    Ok(contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(ContactRow::as_select())
        .load::<ContactRow>(conn)?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect())
}

/// The contacts of `ids`, each with whether `scope` lets the caller see it: one statement for
/// rows other rows refer to, which the caller is shown or told are withheld.
pub fn get_many_seen(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, (ContactRow, bool)>> {
    let rows: Vec<(ContactRow, bool)> = contacts::table
        .filter(contacts::id.eq_any(ids))
        .select((
            ContactRow::as_select(),
            scope.sees_contacts::<contacts::table>(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, seen)| (row.id.clone(), (row, seen)))
        .collect())
}

/// A contact filter with its IDs decoded and text normalised: ready to become SQL.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    pub filter: ContactFilter,
    responsible_user_id: Option<String>,
    organization_id: Option<String>,
    text_scope: TextSearchScope,
}

/// The fields a text search may match. A caller's search covers only what it may read, so a
/// match cannot reveal a phone number or tax code the caller is not allowed to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSearchScope {
    pub emails: bool,
    pub phones: bool,
    pub codice_fiscale: bool,
    pub partita_iva: bool,
}

impl Default for TextSearchScope {
    fn default() -> Self {
        TextSearchScope::EVERYTHING
    }
}

impl TextSearchScope {
    pub const EVERYTHING: TextSearchScope = TextSearchScope {
        emails: true,
        phones: true,
        codice_fiscale: true,
        partita_iva: true,
    };
    /// Names and email addresses: what a campaign audience may select on.
    pub const NAMES_AND_EMAILS: TextSearchScope = TextSearchScope {
        emails: true,
        phones: false,
        codice_fiscale: false,
        partita_iva: false,
    };
}

impl ContactQuery {
    /// Narrows what `filter.text` matches (names always: reading a contact at all shows them).
    pub fn searching(mut self, scope: TextSearchScope) -> ContactQuery {
        self.text_scope = scope;
        self
    }

    pub fn new(filter: ContactFilter) -> Result<ContactQuery> {
        let responsible_user_id = filter
            .responsible_user_id
            .as_ref()
            .map(|id| ids::decode(NodeType::User, id, "filter.responsibleUserId"))
            .transpose()?;
        let organization_id = filter
            .organization_id
            .as_ref()
            .map(|id| ids::decode(NodeType::Contact, id, "filter.organizationId"))
            .transpose()?;
        Ok(ContactQuery {
            filter,
            responsible_user_id,
            organization_id,
            text_scope: TextSearchScope::EVERYTHING,
        })
    }

    /// Part of the name or of an email address, or a whole phone number, codice fiscale or
    /// partita IVA, each only where the scope allows.
    fn text_match(
        &self,
        text: &str,
        rules: &ContactRules,
    ) -> Box<dyn BoxableExpression<contacts::table, Db, SqlType = diesel::sql_types::Bool>> {
        let scope = self.text_scope;
        let pattern = contains_pattern(&text.to_lowercase());
        let mut matched: Box<
            dyn BoxableExpression<contacts::table, Db, SqlType = diesel::sql_types::Bool>,
        > = Box::new(
            lower(contacts::display_name)
                .like(pattern.clone())
                .escape('\\'),
        );
        if scope.emails {
            let by_email = contact_emails::table
                .filter(contact_emails::address_key.like(pattern).escape('\\'))
                .select(contact_emails::contact_id);
            matched = Box::new(matched.or(contacts::id.eq_any(by_email)));
        }
        if scope.phones {
            let phone = normalize_phone(text, &rules.phone_region).unwrap_or_default();
            let by_phone = contact_phones::table
                .filter(contact_phones::number.eq(phone))
                .select(contact_phones::contact_id);
            matched = Box::new(matched.or(contacts::id.eq_any(by_phone)));
        }
        let compact = text.replace(' ', "").to_uppercase();
        if scope.codice_fiscale {
            matched = Box::new(
                matched.or(contacts::codice_fiscale
                    .eq(compact.clone())
                    .assume_not_null()),
            );
        }
        if scope.partita_iva {
            let tax_id = compact.strip_prefix("IT").unwrap_or(&compact).to_owned();
            matched = Box::new(matched.or(contacts::partita_iva.eq(tax_id).assume_not_null()));
        }
        matched
    }

    fn boxed(&self, scope: &Scope, rules: &ContactRules) -> contacts::BoxedQuery<'static, Db> {
        let f = &self.filter;
        let mut query = contacts::table.into_boxed();
        if let Some(visible) = scope.contacts() {
            query = query.filter(visible);
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            query = query.filter(self.text_match(text, rules));
        }
        if let Some(kind) = f.kind {
            query = query.filter(contacts::kind.eq(kind.as_str()));
        }
        if let Some(categories) = &f.categories {
            let values: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
            query = query.filter(contacts::category.eq_any(values));
        }
        if let Some(tags) = &f.tags {
            let tags: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
            let tagged = contact_tags::table
                .filter(contact_tags::tag.eq_any(tags))
                .select(contact_tags::contact_id);
            query = query.filter(contacts::id.eq_any(tagged));
        }
        if let Some(user) = &self.responsible_user_id {
            query = query.filter(contacts::responsible_user_id.eq(user.clone()));
        }
        if let Some(org) = &self.organization_id {
            let members = affiliations::table
                .filter(affiliations::organization_id.eq(org.clone()))
                .select(affiliations::person_id);
            query = query.filter(contacts::id.eq_any(members));
        }
        if let Some(from) = f.created_from {
            query = query.filter(contacts::created_at.ge(from.naive_utc()));
        }
        if let Some(to) = f.created_to {
            query = query.filter(contacts::created_at.lt(to.naive_utc()));
        }
        query
    }
}

/// Every contact the query matches that may still be processed (not restricted), as
/// (id, kind, category), in name order: the candidates of a campaign audience.
pub fn unrestricted_matches(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &ContactQuery,
    rules: &ContactRules,
) -> Result<Vec<(String, String, String)>> {
    Ok(query
        .boxed(scope, rules)
        .filter(crate::contacts::restriction::not_restricted())
        .order_by((contacts::sort_name.asc(), contacts::id.asc()))
        .select((contacts::id, contacts::kind, contacts::category))
        .load(conn)?)
}

/// One page of the contacts the query matches, with the columns asked for.
#[allow(clippy::too_many_arguments)]
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &ContactQuery,
    order: ContactOrder,
    page: Page,
    rules: &ContactRules,
    columns: ContactColumns,
) -> Result<Vec<ContactRecord>> {
    let mut q = query.boxed(scope, rules);
    q = match (order.field, order.direction) {
        (ContactOrderField::Name, SortDirection::Asc) => q.order_by(contacts::sort_name.asc()),
        (ContactOrderField::Name, SortDirection::Desc) => q.order_by(contacts::sort_name.desc()),
        (ContactOrderField::CreatedAt, SortDirection::Asc) => {
            q.order_by(contacts::created_at.asc())
        }
        (ContactOrderField::CreatedAt, SortDirection::Desc) => {
            q.order_by(contacts::created_at.desc())
        }
        (ContactOrderField::UpdatedAt, SortDirection::Asc) => {
            q.order_by(contacts::updated_at.asc())
        }
        (ContactOrderField::UpdatedAt, SortDirection::Desc) => {
            q.order_by(contacts::updated_at.desc())
        }
    };
    let q = q
        .then_order_by(contacts::id.asc())
        .offset(page.offset)
        .limit(page.limit);
    Ok(with_contact_columns!(columns, Row => q
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(ContactRecord::from)
        .collect()))
}

pub fn count(
    conn: &mut AnyConnection,
    scope: &Scope,
    query: &ContactQuery,
    rules: &ContactRules,
) -> Result<i64> {
    Ok(query.boxed(scope, rules).count().get_result(conn)?)
}

pub fn emails_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<EmailRow>>> {
    let rows = contact_emails::table
        .filter(contact_emails::contact_id.eq_any(ids))
        .order_by((contact_emails::contact_id, contact_emails::position))
        .select(EmailRow::as_select())
        .load::<EmailRow>(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}

pub fn phones_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<PhoneRow>>> {
    let rows = contact_phones::table
        .filter(contact_phones::contact_id.eq_any(ids))
        .order_by((contact_phones::contact_id, contact_phones::position))
        .select(PhoneRow::as_select())
        .load::<PhoneRow>(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}

pub fn addresses_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<AddressRow>>> {
    let rows = contact_addresses::table
        .filter(contact_addresses::contact_id.eq_any(ids))
        .order_by((contact_addresses::contact_id, contact_addresses::position))
        .select(AddressRow::as_select())
        .load::<AddressRow>(conn)?;
    Ok(group_by_key(rows, |r| r.contact_id.clone()))
}

pub fn tags_of(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
    let rows = contact_tags::table
        .filter(contact_tags::contact_id.eq_any(ids))
        .order_by((contact_tags::contact_id, contact_tags::tag))
        .load::<(String, String)>(conn)?;
    Ok(group_pairs(rows))
}

/// The organisations each person works for.
pub fn affiliations_of_people(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<AffiliationRow>>> {
    let rows = affiliations::table
        .filter(affiliations::person_id.eq_any(ids))
        .order_by((affiliations::person_id, affiliations::id))
        .select(AffiliationRow::as_select())
        .load::<AffiliationRow>(conn)?;
    Ok(group_by_key(rows, |r| r.person_id.clone()))
}

/// An affiliation with the contact row at its other end (the organisation of a person's, the
/// person of an organisation's), and whether the scope it was read under lets the caller see
/// that contact.
#[derive(Debug, Clone)]
pub struct AffiliatedContact {
    pub affiliation: AffiliationRow,
    pub contact: ContactRecord,
    pub visible: bool,
}

/// The affiliations whose `$from` end is one of `$ids`, each with the contact at its `$to`
/// end (the `$columns` asked for), in the order of [`affiliations_of_people`]: one statement
/// joining the affiliations to the contacts, which also says which of them `$scope` keeps
/// (over the join `$source`).
macro_rules! affiliated_contacts {
    ($conn:expr, $scope:expr, $ids:expr, $columns:expr, from: $from:ident, to: $to:ident, $source:ty) => {{
        let rows: Vec<(AffiliationRow, ContactRecord, bool)> = with_contact_columns!($columns, Row => contacts::table
            .inner_join(
                affiliation_links.on(affiliation_links.field(affiliations::$to).eq(contacts::id)),
            )
            .filter(affiliation_links.field(affiliations::$from).eq_any($ids))
            .order_by((
                affiliation_links.field(affiliations::$from),
                affiliation_links.field(affiliations::id),
            ))
            .select((
                affiliation_links.fields((
                    affiliations::id,
                    affiliations::person_id,
                    affiliations::organization_id,
                    affiliations::job_title,
                )),
                Row::as_select(),
                $scope.sees_contacts::<$source>(),
            ))
            .load::<(AffiliationRow, Row, bool)>($conn)?
            .into_iter()
            .map(|(affiliation, contact, visible)| (affiliation, contact.into(), visible))
            .collect());
        Ok(group_by_key(
            rows.into_iter()
                .map(|(affiliation, contact, visible)| AffiliatedContact {
                    affiliation,
                    contact,
                    visible,
                }),
            |a| a.affiliation.$from.clone(),
        ))
    }};
}

/// The organisations each person works for, with their rows.
pub fn employers_of_people(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    columns: ContactColumns,
) -> Result<HashMap<String, Vec<AffiliatedContact>>> {
    affiliated_contacts!(conn, scope, ids, columns, from: person_id, to: organization_id, AffiliationOrganizations)
}

/// The people each organisation has on record, with their rows.
pub fn members_of_organizations(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
    columns: ContactColumns,
) -> Result<HashMap<String, Vec<AffiliatedContact>>> {
    affiliated_contacts!(conn, scope, ids, columns, from: organization_id, to: person_id, AffiliationPeople)
}
