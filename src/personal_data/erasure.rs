//! Erasure (Art. 17) in one transaction: what a legal hold needs stays (the identity the case
//! file needs, the held matters' links and communications, processing restricted); everything
//! else about the person is deleted, tombstones and suppressions remember their identifiers as
//! keyed hashes, and the erasure log records which categories went and which stayed, and why.

use async_graphql::{InputObject, ID};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::holds::{self, ContactHolds};
use crate::contacts::{self, ContactRow};
use crate::db::schema::{
    contact_emails, contact_phones, contact_sources, contacts as contacts_table, erasure_log,
    processing_grounds,
};
use crate::db::{new_id, now, AnyConnection};
use crate::error::{Error, Result};
use crate::gdpr::catalogue;
use crate::gdpr::requests::{self, SubjectRequestKind, SubjectRequestRow};
use crate::gdpr::suppression::{self, SuppressionReason};
use crate::gdpr::tombstones::{self, ExternalId, Identifiers};
use crate::gdpr::KeyedHasher;
use crate::ids::{self, NodeType};

/// The purpose whose processing a professional-retention hold continues.
const MATTER_HANDLING_PURPOSE: &str = "purpose-matter-handling";

/// Why a held contact's remainder is restricted.
const HELD_RESTRICTION: &str =
    "erasure requested: kept only as far as a legal hold requires (Art. 17(3), 18)";

/// An erasure request to execute, for `executeErasure`.
#[derive(Debug, Clone, InputObject)]
pub struct ExecuteErasureInput {
    /// An erasure request whose requester's identity is verified and whose contact is named.
    pub request_id: ID,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = erasure_log)]
pub struct ErasureLogRow {
    pub id: String,
    pub request_id: Option<String>,
    /// The retention policy whose period expired, for erasures nobody asked for.
    pub retention_policy_id: Option<String>,
    pub contact_id: String,
    pub executed_at: NaiveDateTime,
    pub executed_by: String,
    pub contact_deleted: bool,
    /// JSON arrays of category names and reasons.
    pub erased_categories: String,
    pub kept_categories: String,
    pub hold_reasons: String,
}

impl ErasureLogRow {
    pub fn list(text: &str) -> Vec<String> {
        serde_json::from_str(text).unwrap_or_default()
    }
}

pub struct ErasureOutcome {
    pub request: SubjectRequestRow,
    pub log: ErasureLogRow,
}

/// Checks the request and erases its contact; all in the caller's transaction.
pub fn execute(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    input: ExecuteErasureInput,
    by: &str,
) -> Result<ErasureOutcome> {
    let request_id = ids::decode(
        NodeType::SubjectRequest,
        &input.request_id,
        "input.requestId",
    )?;
    let request = requests::get(conn, &request_id)
        .map_err(|e| e.as_bad_reference("input.requestId", "no subject request with this ID"))?;
    if request.kind()? != SubjectRequestKind::Erasure {
        return Err(Error::invalid(
            "input.requestId",
            format!("this is a {} request, not an erasure request", request.kind),
        ));
    }
    requests::require_verified(&request).map_err(|e| match e {
        Error::Conflict { message, .. } => Error::Conflict {
            field: Some("input.requestId".to_owned()),
            message,
        },
        other => other,
    })?;
    let Some(contact_id) = request.contact_id.clone() else {
        return Err(Error::invalid(
            "input.requestId",
            "the request names no contact yet: identify the person first (updateSubjectRequest)",
        ));
    };
    let contact = contacts::get(conn, &contact_id).map_err(|e| {
        e.as_bad_reference("input.requestId", "the request's contact no longer exists")
    })?;
    let log = erase_contact(
        conn,
        hasher,
        &contact,
        ErasureCause::Request(&request.id),
        by,
    )?;
    // The request's personal details go with the rest (erase_contact cleared them in the
    // table; this row, loaded before, must not write them back).
    let mut request = request;
    (
        request.requester_name,
        request.requester_contact,
        request.identity_method,
        request.extension_reason,
        request.refusal_reason,
        request.notes,
    ) = (None, None, None, None, None, None);
    let request = requests::mark_executed(conn, request, by)?;
    Ok(ErasureOutcome { request, log })
}

/// Why a contact is erased: a data subject asked, or a retention period expired.
#[derive(Debug, Clone, Copy)]
pub enum ErasureCause<'a> {
    Request(&'a str),
    RetentionPolicy(&'a str),
}

/// Erases a contact in the caller's transaction: tombstones and suppressions remember its
/// identifiers as keyed hashes; what a legal hold needs stays (restricted), the rest goes;
/// the erasure log says which categories went, which stayed and why.
pub fn erase_contact(
    conn: &mut AnyConnection,
    hasher: &KeyedHasher,
    contact: &ContactRow,
    cause: ErasureCause<'_>,
    by: &str,
) -> Result<ErasureLogRow> {
    let contact_id = contact.id.clone();
    let holds = holds::of_contact(conn, &contact_id, requests::today())?;
    let (request_id, retention_policy_id) = match cause {
        ErasureCause::Request(id) => (Some(id.to_owned()), None),
        ErasureCause::RetentionPolicy(id) => (None, Some(id.to_owned())),
    };
    let identifiers = identifiers_of(conn, contact)?;
    tombstones::bury(conn, hasher, &identifiers, request_id.as_deref())?;
    // Erased addresses are suppressed for all marketing.
    suppression::suppress_values(
        conn,
        hasher,
        &identifiers.emails,
        &identifiers.phones,
        None,
        SuppressionReason::Erasure,
        by,
    )?;
    let (erased, kept) = if holds.any() {
        erase_unheld_parts(conn, contact, &holds)?
    } else {
        catalogue::ops::erase(conn, &contact_id, None)?;
        (
            ALL_CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
            Vec::new(),
        )
    };
    let log = ErasureLogRow {
        id: new_id(),
        request_id,
        retention_policy_id,
        contact_id,
        executed_at: now(),
        executed_by: by.to_owned(),
        contact_deleted: !holds.any(),
        erased_categories: json_list(&erased),
        kept_categories: json_list(&kept),
        hold_reasons: json_list(&holds.reasons()),
    };
    diesel::insert_into(erasure_log::table)
        .values(&log)
        .execute(conn)?;
    Ok(log)
}

/// Every category an erasure without a hold removes (with the contact row).
const ALL_CATEGORIES: &[&str] = &[
    "identity",
    "emails",
    "phones",
    "addresses",
    "tags",
    "notes",
    "affiliations",
    "matter links",
    "communication participation",
    "deadline links",
    "sources",
    "consents",
    "processing grounds",
    "objections",
    "change history values",
    "requester details",
];

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn identifiers_of(conn: &mut AnyConnection, contact: &ContactRow) -> Result<Identifiers> {
    let emails = contact_emails::table
        .filter(contact_emails::contact_id.eq(&contact.id))
        .select(contact_emails::address)
        .load::<String>(conn)?;
    let phones = contact_phones::table
        .filter(contact_phones::contact_id.eq(&contact.id))
        .select(contact_phones::number)
        .load::<String>(conn)?;
    let external_ids = contact_sources::table
        .filter(contact_sources::contact_id.eq(&contact.id))
        .select((contact_sources::connector, contact_sources::external_id))
        .load::<(Option<String>, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(connector, id)| {
            Some(ExternalId {
                connector: connector?,
                id: id?,
            })
        })
        .collect();
    Ok(Identifiers {
        emails,
        phones,
        tax_codes: [&contact.codice_fiscale, &contact.partita_iva]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        external_ids,
    })
}

/// Erases what no hold needs from a held contact, as the catalogue declares; returns
/// (erased, kept) categories.
fn erase_unheld_parts(
    conn: &mut AnyConnection,
    contact: &ContactRow,
    holds: &ContactHolds,
) -> Result<(Vec<String>, Vec<String>)> {
    let id = contact.id.as_str();
    let held: Vec<String> = holds.matters.keys().cloned().collect();
    // The grounds keep no consent evidence, which goes (before the consents themselves).
    diesel::update(processing_grounds::table.filter(processing_grounds::contact_id.eq(id)))
        .set(processing_grounds::consent_id.eq(None::<String>))
        .execute(conn)?;
    catalogue::ops::erase(conn, id, Some(&held))?;
    // The hold continues the matter-handling basis; every other ground ends.
    diesel::update(
        processing_grounds::table
            .filter(processing_grounds::contact_id.eq(id))
            .filter(processing_grounds::purpose_id.ne(MATTER_HANDLING_PURPOSE))
            .filter(processing_grounds::ended_at.is_null()),
    )
    .set((
        processing_grounds::ended_at.eq(Some(now())),
        processing_grounds::end_reason.eq("erasure"),
    ))
    .execute(conn)?;
    diesel::update(contacts_table::table.find(id))
        .set((
            contacts_table::responsible_user_id.eq(None::<String>),
            contacts_table::restricted_at.eq(Some(now())),
            contacts_table::restriction_reason.eq(HELD_RESTRICTION),
            contacts_table::updated_at.eq(now()),
        ))
        .execute(conn)?;

    Ok(held_outcome(!held.is_empty()))
}

/// The erasure log's account of a held erasure: each category once, either erased or kept
/// with what of it stayed (a category partly kept is not also listed as erased).
fn held_outcome(held_matters: bool) -> (Vec<String>, Vec<String>) {
    let mut kept: Vec<(&str, &str)> = vec![
        ("identity", "identity (names, codice fiscale, partita IVA)"),
        (
            "processing grounds",
            "processing grounds (matter handling continues for the hold; the others ended)",
        ),
    ];
    if held_matters {
        kept.extend([
            (
                "matter links",
                "matter links (links to held matters kept; the others erased)",
            ),
            (
                "communication participation",
                "communication participation (in held matters' communications kept; the others erased)",
            ),
            (
                "deadline links",
                "deadline links (to held matters' deadlines kept; the others unlinked)",
            ),
        ]);
    }
    let erased = ALL_CATEGORIES
        .iter()
        .filter(|c| !kept.iter().any(|(category, _)| category == *c))
        .map(|c| (*c).to_owned())
        .collect();
    (
        erased,
        kept.into_iter().map(|(_, what)| what.to_owned()).collect(),
    )
}

/// A page of the erasure log, newest first.
pub fn list_log(
    conn: &mut AnyConnection,
    page: crate::listing::Page,
) -> Result<Vec<ErasureLogRow>> {
    Ok(erasure_log::table
        .order_by((erasure_log::executed_at.desc(), erasure_log::id))
        .offset(page.offset)
        .limit(page.limit)
        .select(ErasureLogRow::as_select())
        .load(conn)?)
}

pub fn count_log(conn: &mut AnyConnection) -> Result<i64> {
    Ok(erasure_log::table.count().get_result(conn)?)
}
